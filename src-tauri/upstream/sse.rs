//! Server-sent events from a byte stream, yielded as each event completes (no buffering of the
//! whole body), with an idle timeout so a dead upstream ends with an error.
//!
//! The decoder ([`Decoder`]) follows the WHATWG event-stream rules that matter here: CRLF, LF or
//! CR line ends, multi-line `data:`, comments, a leading BOM, events split across chunks at any
//! byte (including inside a UTF-8 character). It looks at each byte once: the backend's
//! `response.*` events carry the request's instructions and tools (tens of KB on one line), and
//! the general-purpose parser used before re-scanned a partial line from its start on every
//! chunk and copied the rest of its buffer after every line.

use std::pin::Pin;
use std::time::Duration;

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

/// Turns a byte stream into events; waiting `idle` for the next event ends it with
/// [`SseError::Idle`].
pub fn sse_events<S, B, E>(bytes: S, idle: Duration) -> SseStream
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let state = (Box::pin(bytes), Decoder::default());
    let stream = futures_util::stream::unfold(Some(state), move |state| async move {
        let (mut bytes, mut decoder) = state?;
        let next = async {
            loop {
                if let Some(event) = decoder.next_event().transpose() {
                    return Some(event);
                }
                match bytes.next().await? {
                    Ok(chunk) => decoder.push(chunk.as_ref()),
                    Err(err) => return Some(Err(SseError::Transport(err.to_string()))),
                }
            }
        };
        match tokio::time::timeout(idle, next).await {
            Err(_) => Some((Err(SseError::Idle(idle)), None)),
            Ok(None) => None,
            Ok(Some(Ok(event))) => Some((Ok(event), Some((bytes, decoder)))),
            Ok(Some(Err(err))) => Some((Err(err), None)),
        }
    });
    Box::pin(stream)
}

/// Events of a streamed backend answer.
pub(crate) fn response_events(
    response: super::client::StreamedResponse,
    idle: Duration,
) -> SseStream {
    sse_events(response.bytes_stream(), idle)
}

/// The UTF-8 byte order mark, skipped at the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An incremental event-stream decoder: bytes in ([`Decoder::push`]), complete events out
/// ([`Decoder::next_event`]). An event still incomplete when the bytes end is dropped.
#[derive(Debug, Default)]
struct Decoder {
    /// Bytes received; those before `start` are consumed.
    buffer: Vec<u8>,
    start: usize,
    /// Where the search for the next line end resumes (the bytes before it hold none).
    searched: usize,
    /// Whether the start of the stream was checked for a BOM.
    bom_checked: bool,
    /// The event being read: its `event:` name and its `data:` lines joined by `\n` (each
    /// event's data gets a buffer of its own, sized exactly for a one-line event, so that the
    /// request inspector can keep it as it is).
    event: Vec<u8>,
    data: Vec<u8>,
    /// How many `data:` lines the event has (one with an empty value still counts).
    data_lines: usize,
}

impl Decoder {
    fn push(&mut self, chunk: &[u8]) {
        if self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
            self.searched = 0;
        } else if self.start > self.buffer.len() / 2 {
            // Amortised: what is moved is less than what was consumed since the last move.
            self.buffer.drain(..self.start);
            self.searched -= self.start;
            self.start = 0;
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete event the bytes received hold, if any.
    fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        if !self.bom_checked {
            let head = &self.buffer[self.start..];
            if head.len() < BOM.len() && BOM.starts_with(head) {
                return Ok(None);
            }
            if head.starts_with(BOM) {
                self.start += BOM.len();
                self.searched = self.start;
            }
            self.bom_checked = true;
        }
        loop {
            let from = self.searched.max(self.start);
            let Some(offset) = self.buffer[from..]
                .iter()
                .position(|&b| b == b'\n' || b == b'\r')
            else {
                self.searched = self.buffer.len();
                return Ok(None);
            };
            let end = from + offset;
            let next = match (self.buffer[end], self.buffer.get(end + 1)) {
                (b'\r', Some(b'\n')) => end + 2,
                // A CR at the end of what arrived: an LF may follow in the next chunk.
                (b'\r', None) => {
                    self.searched = end;
                    return Ok(None);
                }
                _ => end + 1,
            };
            let line = &self.buffer[self.start..end];
            self.start = next;
            self.searched = next;
            if line.is_empty() {
                let data = std::mem::take(&mut self.data);
                let lines = std::mem::take(&mut self.data_lines);
                let name = std::mem::take(&mut self.event);
                if lines == 0 {
                    continue;
                }
                return dispatch(name, data).map(Some);
            }
            if line[0] == b':' {
                continue;
            }
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (line, &[][..]),
            };
            match field {
                b"event" => {
                    self.event.clear();
                    self.event.extend_from_slice(value);
                }
                b"data" => {
                    if self.data_lines > 0 {
                        self.data.push(b'\n');
                    } else {
                        self.data.reserve_exact(value.len());
                    }
                    self.data.extend_from_slice(value);
                    self.data_lines += 1;
                }
                // `id`, `retry` and unknown fields: nothing codexia uses.
                _ => {}
            }
        }
    }
}

/// The event a blank line ends (one with data lines); named `message` without a name.
fn dispatch(name: Vec<u8>, data: Vec<u8>) -> Result<SseEvent, SseError> {
    let text = |bytes: Vec<u8>| {
        String::from_utf8(bytes).map_err(|_| SseError::Parse("invalid UTF-8".to_owned()))
    };
    let event = if name.is_empty() {
        "message".to_owned()
    } else {
        text(name)?
    };
    Ok(SseEvent {
        event,
        data: text(data)?,
    })
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

    /// The decoder alone, fed `chunks` in turn.
    fn decode(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, SseError> {
        let mut decoder = Decoder::default();
        let mut events = Vec::new();
        for chunk in chunks {
            decoder.push(chunk);
            while let Some(event) = decoder.next_event()? {
                events.push(event);
            }
        }
        Ok(events)
    }

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: name.into(),
            data: data.into(),
        }
    }

    #[test]
    fn cr_line_ends_a_bom_fields_without_values_and_events_without_data() {
        let stream =
            b"\xEF\xBB\xBFevent: a\rdata:x\r\rid: 7\nretry: 10\nevent: ignored\n\ndata\ndata\n\n";
        let expected = vec![event("a", "x"), event("message", "\n")];
        assert_eq!(decode(&[stream]).unwrap(), expected);
        for at in 1..stream.len() {
            let (head, tail) = stream.split_at(at);
            assert_eq!(decode(&[head, tail]).unwrap(), expected, "split at {at}");
        }
        // A CR and its LF in two chunks are one line end, not two.
        assert_eq!(
            decode(&[b"data: 1\r", b"\ndata: 2\r\n\r\n"]).unwrap(),
            vec![event("message", "1\n2")]
        );
    }

    #[test]
    fn a_one_line_event_s_data_is_held_in_a_buffer_of_its_own_size() {
        // The request inspector keeps it as it is and counts its length.
        let events = decode(&[b"event: a\ndata: {\"x\":", b"1}\n\n"]).unwrap();
        assert_eq!(events, vec![event("a", "{\"x\":1}")]);
        assert_eq!(events[0].data.capacity(), events[0].data.len());
    }

    #[test]
    fn invalid_utf8_in_an_event_is_an_error_and_a_last_unended_event_is_dropped() {
        assert_eq!(
            decode(&[b"data: \xFF\n\n"]),
            Err(SseError::Parse("invalid UTF-8".into()))
        );
        assert_eq!(
            decode(&[b"data: 1\n\ndata: 2\n"]).unwrap(),
            vec![event("message", "1")]
        );
    }

    #[test]
    fn a_long_line_in_many_chunks_is_read_whole() {
        let data = "x".repeat(100_000);
        let stream = format!("event: big\ndata: {data}\n\n");
        let chunks: Vec<&[u8]> = stream.as_bytes().chunks(1000).collect();
        assert_eq!(decode(&chunks).unwrap(), vec![event("big", &data)]);
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
