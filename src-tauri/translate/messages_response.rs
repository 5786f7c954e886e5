//! The non-streaming Anthropic `Message` (docs/compatibility.md §4.6): the backend only streams, so
//! the same [`MessagesStream`] state machine runs over the whole upstream stream and its
//! assembled message is the answer. Streaming and non-streaming clients therefore get the same
//! blocks, stop reason and usage. Pure.

use super::assemble;
use super::messages_stream::MessagesStream;
use crate::protocol::anthropic::MessageResponse;
use crate::protocol::error::ApiError;
use crate::protocol::responses::ResponsesEvent;

/// Assembles an answer from a complete list of events.
pub(crate) fn assemble_message<'a>(
    stream: MessagesStream,
    events: impl IntoIterator<Item = &'a ResponsesEvent>,
) -> Result<MessageResponse, ApiError> {
    assemble(stream, events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::messages_request::ToolNameMap;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    fn ev(value: Value) -> ResponsesEvent {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn reasoning_text_and_a_call_become_one_message() {
        let events = [
            ev(json!({"type": "response.created", "response": {"id": "resp_9"}})),
            ev(
                json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1"}}),
            ),
            ev(
                json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}], "encrypted_content": "gAAAx"}}),
            ),
            ev(
                json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "message"}}),
            ),
            ev(
                json!({"type": "response.output_text.delta", "output_index": 1, "delta": "Running it."}),
            ),
            ev(
                json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message", "content": [{"type": "output_text", "text": "Running it."}]}}),
            ),
            ev(
                json!({"type": "response.output_item.added", "output_index": 2, "item": {"type": "function_call", "call_id": "call_abc", "name": "Bash", "arguments": ""}}),
            ),
            ev(
                json!({"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "{\"command\":\"echo hi\"}"}),
            ),
            ev(
                json!({"type": "response.output_item.done", "output_index": 2, "item": {"type": "function_call", "call_id": "call_abc", "name": "Bash", "arguments": "{\"command\":\"echo hi\"}"}}),
            ),
            ev(
                json!({"type": "response.completed", "response": {"id": "resp_9", "usage": {"input_tokens": 412, "input_tokens_details": {"cached_tokens": 392}, "output_tokens": 57}}}),
            ),
        ];
        let message = assemble_message(
            MessagesStream::new("gpt-5.5", ToolNameMap::default(), 400),
            &events,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(message).unwrap(),
            json!({"id": "msg_9", "type": "message", "role": "assistant", "model": "gpt-5.5",
                "content": [
                    {"type": "thinking", "thinking": "think", "signature": "cdx1:rs_1:gAAAx"},
                    {"type": "text", "text": "Running it."},
                    {"type": "tool_use", "id": "call_abc", "name": "Bash", "input": {"command": "echo hi"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 392, "output_tokens": 57}})
        );
    }

    #[test]
    fn a_stream_without_its_terminal_event_is_an_error() {
        let events = [
            ev(json!({"type": "response.created", "response": {"id": "resp_9"}})),
            ev(
                json!({"type": "response.output_text.delta", "output_index": 0, "delta": "partial"}),
            ),
        ];
        let err = assemble_message(
            MessagesStream::new("gpt-5.5", ToolNameMap::default(), 1),
            &events,
        )
        .unwrap_err();
        assert_eq!(
            err.kind,
            crate::protocol::error::ErrorKind::StreamEndedEarly
        );
    }
}
