//! Pure translation between the client formats and the backend's Responses format: request
//! functions (`X -> ResponsesRequest`) and stream state machines fed one upstream event at a
//! time (`push(event) -> Vec<SseFrame>`, `fail(error)`, `finish()`). No I/O, no clock.

pub mod chat_request;
pub mod chat_response;
pub mod chat_stream;
pub mod count_tokens;
pub mod effort;
pub mod messages_request;
pub mod messages_response;
pub mod messages_stream;
pub mod responses_passthrough;

/// One server-sent event to write to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseFrame {
    /// The `event:` line; `None` writes a data-only event (OpenAI chat chunks).
    pub event: Option<String>,
    /// The `data:` payload (one line of JSON, or `[DONE]`); the text of a comment.
    pub data: String,
    /// An SSE comment (`: text`) rather than an event: every SSE reader skips it, and it keeps
    /// a silent connection from looking dead.
    pub comment: bool,
}

impl SseFrame {
    /// A named event with a JSON payload.
    pub fn named(event: impl Into<String>, data: &serde_json::Value) -> Self {
        Self {
            event: Some(event.into()),
            data: data.to_string(),
            comment: false,
        }
    }

    /// A comment line (`: text`).
    pub fn comment(text: impl Into<String>) -> Self {
        Self {
            event: None,
            data: text.into(),
            comment: true,
        }
    }

    /// A data-only event.
    pub fn data(data: impl Into<String>) -> Self {
        Self {
            event: None,
            data: data.into(),
            comment: false,
        }
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> bytes::Bytes {
        if self.comment {
            return bytes::Bytes::from(format!(": {}\n\n", self.data));
        }
        let mut out = String::with_capacity(self.data.len() + 32);
        if let Some(event) = &self.event {
            out.push_str("event: ");
            out.push_str(event);
            out.push('\n');
        }
        out.push_str("data: ");
        out.push_str(&self.data);
        out.push_str("\n\n");
        bytes::Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_written_in_sse_framing() {
        let frame = SseFrame::named("ping", &serde_json::json!({"type": "ping"}));
        assert_eq!(
            &frame.to_bytes()[..],
            b"event: ping\ndata: {\"type\":\"ping\"}\n\n"
        );
        assert_eq!(
            &SseFrame::data("[DONE]").to_bytes()[..],
            b"data: [DONE]\n\n"
        );
    }
}
