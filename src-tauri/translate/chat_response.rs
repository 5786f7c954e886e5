//! The non-streaming `chat.completion` (docs/compatibility.md §5.3): the backend only streams, so
//! the same [`ChatStream`] state machine runs over the whole upstream stream and its assembled
//! answer is the response. Streaming and non-streaming clients therefore get the same text, tool
//! calls, refusal, finish reason and usage. Pure.

use super::assemble;
use super::chat_stream::ChatStream;
use crate::protocol::error::ApiError;
use crate::protocol::openai_chat::ChatCompletion;
use crate::protocol::responses::ResponsesEvent;

/// Assembles an answer from a complete list of events.
pub(crate) fn assemble_completion<'a>(
    stream: ChatStream,
    events: impl IntoIterator<Item = &'a ResponsesEvent>,
) -> Result<ChatCompletion, ApiError> {
    assemble(stream, events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    fn events(values: &[Value]) -> Vec<ResponsesEvent> {
        values
            .iter()
            .map(|v| serde_json::from_value(v.clone()).unwrap())
            .collect()
    }

    #[test]
    fn a_tool_call_answer_is_one_completion_with_usage() {
        let events = events(&[
            json!({"type": "response.created", "response": {"id": "resp_1"}}),
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA"}}),
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_abc", "name": "lookup", "arguments": ""}}),
            json!({"type": "response.function_call_arguments.delta", "output_index": 1, "delta": "{\"q\":\"x\"}"}),
            json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_abc", "name": "lookup", "arguments": "{\"q\":\"x\"}"}}),
            json!({"type": "response.completed", "response": {"id": "resp_1", "usage": {
                "input_tokens": 120, "input_tokens_details": {"cached_tokens": 64}, "output_tokens": 30,
                "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 150}}}),
        ]);
        let stream = ChatStream::new("gpt-5.5".into(), "chatcmpl-x".into(), 1_767_000_000, false);
        let completion = assemble_completion(stream, &events).unwrap();
        assert_eq!(
            serde_json::to_value(completion).unwrap(),
            json!({"id": "chatcmpl-x", "object": "chat.completion", "created": 1_767_000_000, "model": "gpt-5.5",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "refusal": null,
                     "tool_calls": [{"id": "call_abc", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}]},
                     "logprobs": null, "finish_reason": "tool_calls"}],
                   "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                             "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 12}}})
        );
    }

    #[test]
    fn a_stream_without_terminal_event_is_an_error() {
        let events = events(&[
            json!({"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"}),
        ]);
        let stream = ChatStream::new("m".into(), "chatcmpl-x".into(), 1, false);
        let err = assemble_completion(stream, &events).unwrap_err();
        assert_eq!(
            err.message,
            "The ChatGPT backend ended the stream before the response was complete."
        );
    }
}
