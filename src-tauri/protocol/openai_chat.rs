//! OpenAI Chat Completions wire format (docs/compatibility.md §5): the request a client sends to
//! `POST /v1/chat/completions`, and the `chat.completion` / `chat.completion.chunk` objects the
//! gateway answers.
//!
//! Requests are parsed leniently (docs/compatibility.md §1.3): unknown fields are ignored, and the
//! parameters the backend rejects (`temperature`, `max_tokens`, `stop`, …) are accepted here and
//! never forwarded. Only what the translation needs is typed.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/chat/completions` body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub tools: Vec<ChatTool>,
    #[serde(default)]
    pub tool_choice: Option<ChatToolChoice>,
    #[serde(default)]
    pub parallel_tool_calls: Option<bool>,
    #[serde(default)]
    pub response_format: Option<ResponseFormat>,
    /// `none | minimal | low | medium | high | xhigh`; clamped to what the model allows.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// `low | medium | high` → `text.verbosity`.
    #[serde(default)]
    pub verbosity: Option<String>,
    #[serde(default)]
    pub stream: Option<bool>,
    /// Only decides whether a final usage chunk is written; never forwarded.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Responses always produce one answer: `n > 1` is refused.
    #[serde(default)]
    pub n: Option<u32>,
    /// The backend cannot produce log probabilities: `true` is refused.
    #[serde(default)]
    pub logprobs: Option<bool>,
    #[serde(default)]
    pub top_logprobs: Option<u32>,
    #[serde(default)]
    pub prompt_cache_key: Option<String>,
    /// Used as the prompt cache key when none is given (stable per end user).
    #[serde(default)]
    pub user: Option<String>,
    /// Up to four sequences that end the answer: emulated by the translator, never forwarded
    /// (the backend has no such parameter).
    #[serde(default)]
    pub stop: Option<StopSequences>,
}

/// `stop`: one string or a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum StopSequences {
    One(String),
    Many(Vec<String>),
}

impl StopSequences {
    /// The sequences as a list.
    pub(crate) fn to_vec(&self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one.clone()],
            Self::Many(many) => many.clone(),
        }
    }
}

// Request parameters such as `temperature`, `max_tokens`, `seed` or `logit_bias` are accepted
// and dropped: the backend refuses them by name (docs/protocol.md §4.4) or has no equivalent.
// Serde ignores unknown fields, so they need no field (docs/compatibility.md §5.1 lists them).

/// `stream_options`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(crate) struct StreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
}

/// One message of `messages`, by role.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub(crate) enum ChatMessage {
    System {
        content: ChatContent,
    },
    Developer {
        content: ChatContent,
    },
    User {
        content: ChatContent,
    },
    Assistant {
        /// `null` when the turn only called tools.
        #[serde(default)]
        content: Option<ChatContent>,
        #[serde(default)]
        refusal: Option<String>,
        #[serde(default)]
        tool_calls: Vec<ChatToolCall>,
    },
    Tool {
        content: ChatContent,
        tool_call_id: String,
    },
}

/// Message content: a string or a list of parts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum ChatContent {
    Text(String),
    Parts(Vec<ChatContentPart>),
}

/// A content part.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ChatContentPart {
    Text {
        text: String,
    },
    ImageUrl {
        image_url: ImageUrl,
    },
    /// Audio input: the backend takes none (refused with a 400).
    InputAudio {
        #[serde(default)]
        input_audio: Option<IgnoredAny>,
    },
    File {
        file: FileData,
    },
    /// Assistant history only.
    Refusal {
        refusal: String,
    },
    #[serde(other)]
    Unknown,
}

/// `image_url` of an image part: a data URL or an https URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ImageUrl {
    pub url: String,
    /// `auto | low | high`.
    #[serde(default)]
    pub detail: Option<String>,
}

/// `file` of a file part. Only inline data can be sent upstream (no Files API).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[expect(clippy::struct_field_names, reason = "the wire's field names")]
pub(crate) struct FileData {
    #[serde(default)]
    pub file_data: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub file_id: Option<String>,
}

/// An assistant's tool call in history.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ChatToolCall {
    pub id: String,
    pub function: ChatFunctionCall,
}

/// `function` of a tool call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ChatFunctionCall {
    pub name: String,
    /// A JSON document as a string; some clients send an object (stringified upstream).
    #[serde(default)]
    pub arguments: Value,
}

/// A tool definition: `{type:"function", function:{name, description, parameters, strict}}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ChatTool {
    Function {
        function: ChatFunctionDef,
    },
    /// Custom (grammar) tools and anything newer: refused with a 400 naming the tool.
    #[serde(other)]
    Unsupported,
}

/// `function` of a tool definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ChatFunctionDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `tool_choice`: a mode, or one named function (nested chat form).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum ChatToolChoice {
    /// `auto`, `none` or `required`.
    Mode(String),
    Named {
        function: NamedFunction,
    },
}

/// `tool_choice.function`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct NamedFunction {
    pub name: String,
}

/// `response_format`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaFormat },
}

/// `response_format.json_schema`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct JsonSchemaFormat {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub strict: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------

/// The non-streaming answer (`object: "chat.completion"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCompletion {
    pub id: String,
    /// Always `chat.completion`.
    pub object: &'static str,
    pub created: i64,
    /// The model the client asked for (not the upstream id it was mapped to).
    pub model: String,
    pub choices: Vec<ChatChoice>,
    pub usage: ChatUsage,
}

/// One choice of a [`ChatCompletion`] (always exactly one, index 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatChoice {
    pub index: u32,
    pub message: ChatResponseMessage,
    /// Always `null`: the backend gives no log probabilities.
    pub logprobs: Option<Value>,
    pub finish_reason: FinishReason,
}

/// The assistant message of a [`ChatChoice`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatResponseMessage {
    /// Always `assistant`.
    pub role: &'static str,
    /// `null` when the answer is only tool calls (or only a refusal).
    pub content: Option<String>,
    pub refusal: Option<String>,
    /// Reasoning summary text (the DeepSeek-style extension many clients read); omitted when
    /// there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Omitted when there are none (as OpenAI does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ChatResponseToolCall>,
}

/// A complete tool call of a non-streaming answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatResponseToolCall {
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: ChatResponseFunction,
}

/// `function` of a [`ChatResponseToolCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatResponseFunction {
    pub name: String,
    pub arguments: String,
}

/// Why the answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

/// Token usage, OpenAI convention: `prompt_tokens` includes the cached ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChatUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptTokensDetails,
    pub completion_tokens_details: CompletionTokensDetails,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PromptTokensDetails {
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CompletionTokensDetails {
    pub reasoning_tokens: u64,
}

/// One streamed chunk (`object: "chat.completion.chunk"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChatCompletionChunk {
    pub id: String,
    /// Always `chat.completion.chunk`.
    pub object: &'static str,
    /// The same on every chunk of a stream.
    pub created: i64,
    pub model: String,
    /// Empty on the final usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Absent unless `stream_options.include_usage`; then `null` on every chunk but the last
    /// (`Some(None)` serialises as `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[expect(
        clippy::option_option,
        reason = "the wire has three states: absent, null and a usage object"
    )]
    pub usage: Option<Option<ChatUsage>>,
}

/// The choice of a chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChunkChoice {
    pub index: u32,
    pub delta: ChunkDelta,
    /// Always `null`.
    pub logprobs: Option<Value>,
    pub finish_reason: Option<FinishReason>,
}

/// What a chunk adds; absent fields add nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ChunkDelta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ChunkToolCall>,
}

/// A piece of a tool call: the first carries `id`, `type` and the name, later ones only
/// argument text. `index` numbers the calls 0, 1, … in order of appearance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ChunkToolCall {
    pub index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    pub function: ChunkFunction,
}

/// `function` of a [`ChunkToolCall`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ChunkFunction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn a_request_with_every_role_and_rejected_parameters_parses() {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "found"}
            ],
            "temperature": "not even a number", "max_tokens": 100, "stop": ["\n"], "seed": 1,
            "stream": true, "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
            "tool_choice": {"type": "function", "function": {"name": "lookup"}},
            "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}},
            "some_future_field": {"x": 1}
        }))
        .unwrap();
        assert_eq!(request.messages.len(), 4);
        assert_eq!(
            request.tool_choice,
            Some(ChatToolChoice::Named {
                function: NamedFunction {
                    name: "lookup".into()
                }
            })
        );
        assert_eq!(
            request.stream_options.and_then(|o| o.include_usage),
            Some(true)
        );
        let ChatMessage::User {
            content: ChatContent::Parts(parts),
        } = &request.messages[1]
        else {
            panic!("user parts")
        };
        assert_eq!(
            parts[1],
            ChatContentPart::ImageUrl {
                image_url: ImageUrl {
                    url: "data:image/png;base64,AAAA".into(),
                    detail: Some("low".into())
                }
            }
        );
    }

    #[test]
    fn chunks_write_null_usage_only_when_asked_and_omit_empty_delta_fields() {
        let chunk = ChatCompletionChunk {
            id: "chatcmpl-1".into(),
            object: "chat.completion.chunk",
            created: 7,
            model: "gpt-5.5".into(),
            choices: vec![ChunkChoice {
                index: 0,
                delta: ChunkDelta {
                    content: Some("Hi".into()),
                    ..ChunkDelta::default()
                },
                logprobs: None,
                finish_reason: None,
            }],
            usage: Some(None),
        };
        assert_eq!(
            serde_json::to_value(&chunk).unwrap(),
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 7, "model": "gpt-5.5",
                   "choices": [{"index": 0, "delta": {"content": "Hi"}, "logprobs": null, "finish_reason": null}],
                   "usage": null})
        );
    }
}
