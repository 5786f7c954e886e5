//! Server-sent events from a byte stream, yielded as each event completes (no buffering of the
//! whole body), with an idle timeout between reads so a dead upstream ends with an error.
//!
//! Parsing is done by `eventsource-stream` (CRLF/LF, multi-line `data:`, comments, events split
//! across chunks at any byte, including inside a UTF-8 character).

use std::pin::Pin;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name (`message` when the event had none).
    pub event: String,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// Why an event stream ended abnormally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("the upstream sent nothing for {} seconds", .0.as_secs())]
    Idle(Duration),
    #[error("the upstream stream broke: {0}")]
    Transport(String),
    #[error("the upstream sent an unreadable event stream: {0}")]
    Parse(String),
}

/// A boxed stream of events.
pub(crate) type SseStream = Pin<Box<dyn Stream<Item = Result<SseEvent, SseError>> + Send>>;

/// Turns a byte stream into events; an `idle` gap between two reads ends it with [`SseError::Idle`].
pub fn sse_events<S, B, E>(bytes: S, idle: Duration) -> SseStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let events = bytes
        .map(|chunk| {
            chunk
                .map(|b| bytes::Bytes::copy_from_slice(b.as_ref()))
                .map_err(|e| e.to_string())
        })
        .eventsource();
    let stream = futures_util::stream::unfold(Some(Box::pin(events)), move |state| async move {
        let mut events = state?;
        match tokio::time::timeout(idle, events.next()).await {
            Err(_) => Some((Err(SseError::Idle(idle)), None)),
            Ok(None) => None,
            Ok(Some(Ok(event))) => Some((
                Ok(SseEvent {
                    event: event.event,
                    data: event.data,
                }),
                Some(events),
            )),
            Ok(Some(Err(err))) => {
                let error = match err {
                    eventsource_stream::EventStreamError::Transport(message) => {
                        SseError::Transport(message)
                    }
                    other => SseError::Parse(other.to_string()),
                };
                Some((Err(error), None))
            }
        }
    });
    Box::pin(stream)
}

/// Events of a `reqwest` response body.
pub(crate) fn response_events(response: reqwest::Response, idle: Duration) -> SseStream {
    sse_events(response.bytes_stream(), idle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const STREAM: &str = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n\
: keep-alive comment\n\n\
event: response.output_text.delta\r\ndata: {\"delta\":\"你好\"}\r\n\r\n\
data: line one\ndata: line two\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                event: "response.created".into(),
                data: r#"{"type":"response.created","sequence_number":0}"#.into(),
            },
            SseEvent {
                event: "response.output_text.delta".into(),
                data: r#"{"delta":"你好"}"#.into(),
            },
            SseEvent {
                event: "message".into(),
                data: "line one\nline two".into(),
            },
        ]
    }

    async fn collect(chunks: Vec<Vec<u8>>) -> Vec<SseEvent> {
        let bytes = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        sse_events(bytes, Duration::from_secs(5))
            .map(|event| event.unwrap())
            .collect()
            .await
    }

    #[tokio::test]
    async fn events_are_parsed_whatever_the_chunking() {
        let all = STREAM.as_bytes();
        assert_eq!(collect(vec![all.to_vec()]).await, expected());
        // Split at every byte boundary, including inside the multi-byte characters.
        for at in 1..all.len() {
            let chunks = vec![all[..at].to_vec(), all[at..].to_vec()];
            assert_eq!(collect(chunks).await, expected(), "split at {at}");
        }
        // One byte at a time.
        assert_eq!(
            collect(all.iter().map(|b| vec![*b]).collect()).await,
            expected()
        );
    }

    #[tokio::test]
    async fn each_event_is_yielded_before_the_body_ends() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Vec<u8>, std::io::Error>>();
        let mut events = sse_events(tokio_stream_from(rx), Duration::from_secs(5));
        tx.send(Ok(b"event: a\ndata: 1\n\n".to_vec())).unwrap();
        // The body is still open: the first event must arrive anyway.
        assert_eq!(events.next().await.unwrap().unwrap().data, "1");
        tx.send(Ok(b"event: b\ndata: 2\n\n".to_vec())).unwrap();
        assert_eq!(events.next().await.unwrap().unwrap().event, "b");
        drop(tx);
        assert!(events.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_upstream_ends_with_an_idle_error() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Vec<u8>, std::io::Error>>();
        let mut events = sse_events(tokio_stream_from(rx), Duration::from_secs(30));
        tx.send(Ok(b"data: x\n\n".to_vec())).unwrap();
        assert!(events.next().await.unwrap().is_ok());
        // Paused time auto-advances when every task is idle: no real waiting.
        assert_eq!(
            events.next().await.unwrap(),
            Err(SseError::Idle(Duration::from_secs(30)))
        );
        assert!(events.next().await.is_none());
        drop(tx);
    }

    fn tokio_stream_from<T: Send + 'static>(
        mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
    ) -> impl Stream<Item = T> + Send + 'static {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
