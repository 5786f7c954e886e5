//! The backend's answer as a stream of parsed events that ends at the terminal one.
//!
//! `response.completed`/`incomplete` end it normally; `response.failed`, an `error` event, an
//! idle upstream, an unreadable event and an early end of the body come out as one final
//! `Err(ApiError)` (mapped in [`failure`](super::failure)). Consumers therefore see a
//! well-formed sequence, and each event is parsed once, into the form its consumer reads.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};

use super::failure;
use super::sse::{SseEvent, SseStream};
use crate::protocol::error::ApiError;
use crate::protocol::responses::{BackendEvent, StreamEnd};

/// Parsed backend events, ending at the terminal one.
pub(crate) type EventStream<E> = Pin<Box<dyn Stream<Item = Result<E, ApiError>> + Send>>;

/// Parses one `data:` payload; `None` for the payloads that carry no event (empty, `[DONE]`).
pub fn parse<E: BackendEvent>(data: &str) -> Option<Result<E, ApiError>> {
    let data = data.trim();
    if data.is_empty() || data == "[DONE]" {
        return None;
    }
    Some(E::parse(data).map_err(|_| failure::unreadable_event()))
}

/// Parses events and stops at the terminal one.
pub fn until_terminal<E: BackendEvent>(events: SseStream) -> EventStream<E> {
    until_terminal_tapped(events, |_| {})
}

/// [`until_terminal`], handing each event as it arrived to `tap` once it is parsed (also the
/// events that parse to nothing or fail to parse): the request inspector keeps them without a
/// copy.
pub(crate) fn until_terminal_tapped<E: BackendEvent>(
    events: SseStream,
    tap: impl FnMut(SseEvent) + Send + 'static,
) -> EventStream<E> {
    let stream = futures_util::stream::unfold(Some((events, tap)), |state| async move {
        let (mut events, mut tap) = state?;
        loop {
            let item = match events.next().await {
                None => Err(ApiError::stream_ended_early()),
                Some(Err(err)) => Err(failure::from_sse(&err)),
                Some(Ok(event)) => {
                    let parsed = parse::<E>(&event.data);
                    tap(event);
                    match parsed {
                        None => continue,
                        Some(item) => item,
                    }
                }
            };
            return match item {
                Ok(event) => match event.end() {
                    StreamEnd::Continues => Some((Ok(event), Some((events, tap)))),
                    StreamEnd::Ends => Some((Ok(event), None)),
                    StreamEnd::Fails(error) => Some((Err(failure::from_stream(&error)), None)),
                },
                Err(err) => Some((Err(err), None)),
            };
        }
    });
    Box::pin(stream)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::protocol::error::ErrorKind;
    use crate::protocol::responses::ResponsesEvent;
    use pretty_assertions::assert_eq;
    use serde_json::Value;

    async fn collect<E: BackendEvent>(chunks: &[&str]) -> Vec<Result<E, ErrorKind>> {
        let owned: Vec<Result<Vec<u8>, std::io::Error>> =
            chunks.iter().map(|c| Ok(c.as_bytes().to_vec())).collect();
        let events = super::super::sse::sse_events(
            futures_util::stream::iter(owned),
            Duration::from_secs(5),
        );
        until_terminal::<E>(events)
            .map(|item| item.map_err(|e| e.kind))
            .collect()
            .await
    }

    #[tokio::test]
    async fn the_stream_stops_at_completed_even_if_the_body_stays_open() {
        let chunks = [
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\"}}\n\n",
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"late\"}}\n\n",
        ];
        let items = collect::<ResponsesEvent>(&chunks).await;
        assert_eq!(items.len(), 2);
        assert!(matches!(items[1], Ok(ResponsesEvent::Completed { .. })));
        assert_eq!(collect::<Value>(&chunks).await.len(), 2);
    }

    #[tokio::test]
    async fn failures_and_early_ends_become_one_final_error_for_both_forms() {
        let failed = [
            "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"error\":{\"code\":\"context_length_exceeded\",\"message\":\"too long\"}}}\n\n",
        ];
        assert_eq!(
            collect::<ResponsesEvent>(&failed).await,
            vec![Err(ErrorKind::PromptTooLong)]
        );
        assert_eq!(
            collect::<Value>(&failed).await,
            vec![Err(ErrorKind::PromptTooLong)]
        );
        let cut = ["data: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n"];
        let items = collect::<ResponsesEvent>(&cut).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(ErrorKind::StreamEndedEarly));
        let flat = [
            "data: {\"type\":\"error\",\"code\":\"server_is_overloaded\",\"message\":\"busy\"}\n\n",
        ];
        assert_eq!(
            collect::<ResponsesEvent>(&flat).await,
            vec![Err(ErrorKind::Overloaded)]
        );
        assert_eq!(
            collect::<Value>(&flat).await,
            vec![Err(ErrorKind::Overloaded)]
        );
    }
}
