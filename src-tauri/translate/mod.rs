//! Pure translation between the client formats and the backend's Responses format: request
//! functions (`X -> ResponsesRequest`) and stream state machines fed one upstream event at a
//! time (`push(event) -> Vec<SseFrame>`, `fail(error)`, `finish()`). No I/O, no clock.

pub(crate) mod chat_request;
#[cfg(test)]
mod chat_response;
pub(crate) mod chat_stream;
pub(crate) mod count_tokens;
pub(crate) mod effort;
pub(crate) mod messages_request;
#[cfg(test)]
mod messages_response;
pub(crate) mod messages_stream;
mod o200k;
pub(crate) mod responses_passthrough;
pub(crate) mod stop_sequences;

use crate::protocol::error::ApiError;
use crate::protocol::responses::{BackendEvent, Usage};

/// A stream translator: a synchronous state machine fed one upstream event at a time, turning
/// the backend's answer into the caller's stream, and keeping the whole answer for callers that
/// did not ask for a stream. Implemented by the Messages, Chat and Responses translators; the
/// gateway's one stream pipeline drives any of them.
pub trait StreamTranslator: Send + 'static {
    /// The form of upstream event it reads (parsed once, by the upstream reader).
    type Event: BackendEvent;
    /// The whole answer of a non-streaming call.
    type Answer: serde::Serialize + Send;

    /// Translates one upstream event.
    fn push(&mut self, event: &Self::Event) -> Vec<SseFrame>;
    /// Ends the stream with an error in the caller's format; nothing is produced after it.
    fn fail(&mut self, error: &ApiError) -> Vec<SseFrame>;
    /// Whether the caller has seen part of the answer (after that, a failure can only be
    /// reported inside the stream, no longer as an HTTP status).
    fn has_content(&self) -> bool;
    /// Whether the stream is over (terminal frames or an error produced).
    fn is_finished(&self) -> bool;
    /// The frame written while the backend is silent.
    fn keep_alive(&self) -> SseFrame;
    /// The backend's token usage, once the answer ended normally.
    fn usage(&self) -> Option<Usage>;
    /// The whole answer, once the stream ended normally.
    fn into_answer(self) -> Option<Self::Answer>;

    /// The frames that commit a stream before any content (Anthropic's `message_start`).
    fn commit(&mut self) -> Vec<SseFrame> {
        Vec::new()
    }

    /// The end of the upstream stream: nothing after a terminal event, otherwise the error of a
    /// stream that ended early.
    fn finish(&mut self) -> Vec<SseFrame> {
        if self.is_finished() {
            Vec::new()
        } else {
            self.fail(&ApiError::stream_ended_early())
        }
    }
}

/// Runs a translator over a whole upstream answer for a non-streaming caller.
#[derive(Debug)]
pub(crate) struct Assembler<T>(T);

impl<T: StreamTranslator> Assembler<T> {
    pub(crate) fn new(translator: T) -> Self {
        Self(translator)
    }

    /// Feeds one upstream event (the frames are not needed: the translator keeps the answer in
    /// step with them).
    pub(crate) fn push(&mut self, event: &T::Event) {
        let _frames = self.0.push(event);
    }

    /// The translator, e.g. for its usage.
    pub(crate) fn translator(&self) -> &T {
        &self.0
    }

    /// The answer, once the upstream reached its terminal event; otherwise the error to answer
    /// (no HTTP status has been sent yet).
    pub(crate) fn finish(self) -> Result<T::Answer, ApiError> {
        self.0
            .into_answer()
            .ok_or_else(ApiError::stream_ended_early)
    }
}

/// Assembles an answer from a complete list of events.
#[cfg(test)]
pub(crate) fn assemble<'a, T: StreamTranslator>(
    translator: T,
    events: impl IntoIterator<Item = &'a T::Event>,
) -> Result<T::Answer, ApiError> {
    let mut assembler = Assembler::new(translator);
    for event in events {
        assembler.push(event);
    }
    assembler.finish()
}

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
        Self::join(std::slice::from_ref(self))
    }

    /// The bytes of several frames on the wire, one after the other.
    pub fn join(frames: &[Self]) -> bytes::Bytes {
        let mut out = String::with_capacity(frames.iter().map(Self::wire_len).sum());
        for frame in frames {
            frame.write_to(&mut out);
        }
        bytes::Bytes::from(out)
    }

    fn wire_len(&self) -> usize {
        self.data.len() + self.event.as_ref().map_or(0, String::len) + 16
    }

    fn write_to(&self, out: &mut String) {
        if self.comment {
            out.push_str(": ");
        } else {
            if let Some(event) = &self.event {
                out.push_str("event: ");
                out.push_str(event);
                out.push('\n');
            }
            out.push_str("data: ");
        }
        out.push_str(&self.data);
        out.push_str("\n\n");
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
