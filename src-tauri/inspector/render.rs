//! A capture turned into the JSON views (`view.rs`): bodies and event data parsed (JSON when
//! they parse, else text), the client's chunks split back into server-sent events, and every
//! string through the process's redactor. Run when someone reads a capture, or on the disk
//! writer's thread — never on the streaming path.

use bytes::Bytes;
use serde_json::Value;

use super::view::{EventView, HttpMessage, RequestDetail, RequestSummary};
use super::{Capture, Message, lock};
use crate::redact::{self, Redactor};

impl Capture {
    /// The list entry.
    pub(crate) fn summary(&self) -> RequestSummary {
        let data = lock(&self.data);
        let outcome = &data.outcome;
        RequestSummary {
            id: self.id(),
            at: self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            client: data.client.clone(),
            client_version: data.client_version.clone(),
            route: data.route.clone(),
            model: outcome.model.clone(),
            model_asked: outcome.model_asked.clone(),
            stream: outcome.stream,
            status: outcome.status,
            state: outcome.state.as_str().to_owned(),
            error: outcome.error.clone().map(|mut error| {
                error.message = redact::current().text(&error.message).into_owned();
                error
            }),
            duration_ms: outcome.duration_ms,
            first_content_ms: outcome.first_content_ms,
            tokens: outcome.tokens,
            bytes: self.bytes.load(std::sync::atomic::Ordering::Relaxed) as u64,
            truncated: data.truncated,
        }
    }

    /// Both sides, redacted.
    pub(crate) fn detail(&self) -> RequestDetail {
        let summary = self.summary();
        let redactor = redact::current();
        let data = lock(&self.data);
        let upstream_events = data
            .upstream_events
            .iter()
            .map(|e| EventView {
                ms: e.ms,
                event: Some(e.event.clone()),
                data: body_value(&redactor, &e.contents(), false),
                comment: false,
            })
            .collect();
        let (client_response, client_events) = if data.streamed_response {
            let events = client_events(&redactor, &data.client_chunks);
            (http_message(&redactor, &data.client_response), events)
        } else {
            let mut response = data.client_response.clone();
            let body: Vec<u8> = data
                .client_chunks
                .iter()
                .flat_map(|(_, chunk)| chunk.iter().copied())
                .collect();
            response.body_len = body.len() as u64 + data.client_chunks_cut;
            response.body = Bytes::from(body);
            (http_message(&redactor, &response), Vec::new())
        };
        RequestDetail {
            summary,
            client_request: http_message(&redactor, &data.client_request),
            upstream_request: data
                .upstream_request
                .as_ref()
                .map(|m| http_message(&redactor, m)),
            upstream_status: data.upstream_status,
            upstream_events,
            client_response,
            client_events,
        }
    }
}

fn http_message(redactor: &Redactor, message: &Message) -> HttpMessage {
    let contents = message.contents();
    let truncated = message.body_len > contents.len() as u64;
    HttpMessage {
        method: message.method.clone(),
        url: message
            .url
            .as_deref()
            .map(|u| redactor.text(u).into_owned()),
        status: message.status,
        headers: message
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), redactor.header(n, v).into_owned()))
            .collect(),
        body: if contents.is_empty() && !truncated {
            Value::Null
        } else {
            let mut body = body_value(redactor, &contents, truncated);
            if truncated && let Value::String(text) = &mut body {
                let missing = message.body_len - contents.len() as u64;
                text.push_str(&format!("[truncated: {missing} bytes not kept]"));
            }
            body
        },
        body_bytes: message.body_len,
        truncated,
    }
}

/// JSON when `bytes` parse (and were not cut), else the text; redacted either way.
fn body_value(redactor: &Redactor, bytes: &[u8], cut: bool) -> Value {
    if !cut && let Ok(mut value) = serde_json::from_slice::<Value>(bytes) {
        redactor.json(&mut value);
        return value;
    }
    Value::String(redactor.text(&String::from_utf8_lossy(bytes)).into_owned())
}

/// One parsed server-sent event frame.
#[derive(Debug, Clone, PartialEq)]
struct Frame {
    pub event: Option<String>,
    pub data: Value,
    pub comment: bool,
}

/// Parses one frame (`event: x\ndata: {…}\n\n`, or `: comment\n\n`); `None` when empty.
fn parse_frame(bytes: &[u8]) -> Option<Frame> {
    let text = String::from_utf8_lossy(bytes);
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    let mut comment = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            comment.get_or_insert(rest.trim());
        } else if let Some(rest) = line.strip_prefix("event:") {
            event = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.strip_prefix("data:") {
            data.push(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    if data.is_empty() {
        let comment = comment?;
        return Some(Frame {
            event: None,
            data: Value::String(comment.to_owned()),
            comment: true,
        });
    }
    let data = data.join("\n");
    Some(Frame {
        event,
        data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
        comment: false,
    })
}

/// The client's chunks split into events (a frame may span chunks; its time is the time of
/// the chunk that completed it).
fn client_events(redactor: &Redactor, chunks: &[(u64, Bytes)]) -> Vec<EventView> {
    let mut events = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    for (ms, chunk) in chunks {
        pending.extend_from_slice(chunk);
        while let Some(end) = frame_end(&pending) {
            let frame: Vec<u8> = pending.drain(..end).collect();
            if let Some(frame) = parse_frame(&frame) {
                let mut data = frame.data;
                redactor.json(&mut data);
                events.push(EventView {
                    ms: *ms,
                    event: frame.event,
                    data,
                    comment: frame.comment,
                });
            }
        }
    }
    events
}

/// The end of the first complete frame (after its blank line).
fn frame_end(bytes: &[u8]) -> Option<usize> {
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|at| at + 2);
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4);
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn chunks_are_split_back_into_events_with_their_times() {
        let chunks = [
            (
                5,
                Bytes::from_static(
                    b"event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: ping\n",
                ),
            ),
            (
                9,
                Bytes::from_static(b"data: {\"type\":\"ping\"}\n\n: keep-alive\n\n"),
            ),
            (12, Bytes::from_static(b"data: [DONE]\n\n")),
        ];
        let events = client_events(&Redactor::new(), &chunks);
        let got: Vec<_> = events
            .iter()
            .map(|e| (e.ms, e.event.clone(), e.data.clone(), e.comment))
            .collect();
        assert_eq!(
            got,
            [
                (
                    5,
                    Some("message_start".into()),
                    json!({"type": "message_start"}),
                    false
                ),
                (9, Some("ping".into()), json!({"type": "ping"}), false),
                (9, None, json!("keep-alive"), true),
                (12, None, json!("[DONE]"), false),
            ]
        );
    }
}
