//! The Anthropic Messages wire format (docs/compatibility.md §3–§4): the request Claude Code and
//! the SDKs send, the non-streaming `Message`, the stream event payloads and count_tokens.
//!
//! Parsing is lenient on purpose (docs/compatibility.md §1.3): Claude Code adds request fields
//! every few releases (`context_management`, `output_config`, `safeguards`, `defer_loading`,
//! `cache_control` on any block, …) and a strict schema turned whole releases into 400s for other
//! gateways. So: unknown fields are ignored (no `deny_unknown_fields` anywhere), unknown block and
//! choice types parse into `Unknown`, `null` is accepted wherever a value is optional. Only what
//! the translation cannot do without (a model, message roles, a block's own required field) is
//! a 400 naming the field.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Treats `null` like an absent field for collections and other defaults.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

/// `POST /v1/messages` body. Fields not listed (`max_tokens`, `temperature`, `top_p`, `top_k`,
/// `context_management`, `container`, `safeguards`, `service_tier`,
/// `mcp_servers`, `betas`, …) are accepted and ignored: the backend refuses most of them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct MessagesRequest {
    pub model: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<Message>,
    #[serde(default)]
    pub system: Option<SystemPrompt>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tools: Vec<ToolDefinition>,
    #[serde(default)]
    pub tool_choice: Option<ToolChoice>,
    #[serde(default)]
    pub thinking: Option<Thinking>,
    /// `effort` (Claude Code sends it for non-Claude ids) and structured-output `format`.
    #[serde(default)]
    pub output_config: Option<OutputConfig>,
    /// The older structured-output field (`{type:"json_schema", schema}`).
    #[serde(default)]
    pub output_format: Option<Value>,
    /// `user_id` is a JSON *string* holding `device_id`, `account_uuid`, `session_id`.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// Accepted, never forwarded (the backend refuses `max_output_tokens`).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    #[serde(default)]
    pub stream: Option<bool>,
    /// Text that ends the answer: emulated by the translator, never forwarded (the backend has
    /// no such parameter).
    #[serde(default, deserialize_with = "null_as_default")]
    pub stop_sequences: Vec<String>,
}

/// `POST /v1/messages/count_tokens` body: the Messages body minus generation fields, which are
/// all optional above, so the same type serves (Claude Code sends `{model, messages, tools}`).
pub(crate) type CountTokensRequest = MessagesRequest;

/// `system`: a string or a list of text blocks (with `cache_control`, ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum SystemPrompt {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// One entry of `messages`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Message {
    pub role: MessageRole,
    /// Absent or `null` in some stored transcripts (e.g. an empty system message carrying only
    /// `output_config`): treated as empty.
    #[serde(default, deserialize_with = "null_as_default")]
    pub content: MessageContent,
}

/// Message roles. `system` appears inside `messages` for non-Claude model ids
/// (docs/compatibility.md §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MessageRole {
    User,
    Assistant,
    System,
}

/// Message content: a string or blocks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum MessageContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

impl Default for MessageContent {
    fn default() -> Self {
        Self::Blocks(Vec::new())
    }
}

/// A content block of a request message (also the blocks of `system`, of `tool_result.content`
/// and of a `content` document source).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentBlock {
    Text {
        #[serde(default, deserialize_with = "null_as_default")]
        text: String,
    },
    Image {
        source: ImageSource,
    },
    Document {
        source: DocumentSource,
        #[serde(default)]
        title: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        content: Option<ToolResultContent>,
        #[serde(default)]
        is_error: Option<bool>,
    },
    /// `signature` is what a gateway issued; ours carry the backend's encrypted reasoning.
    Thinking {
        #[serde(default, deserialize_with = "null_as_default")]
        thinking: String,
        #[serde(default, deserialize_with = "null_as_default")]
        signature: String,
    },
    RedactedThinking {
        #[serde(default)]
        data: Option<String>,
    },
    /// ToolSearch results inside `tool_result.content`.
    ToolReference {
        #[serde(default, deserialize_with = "null_as_default")]
        tool_name: String,
    },
    /// `server_tool_use`, `web_search_tool_result`, `container_upload`, and whatever comes next.
    #[serde(other)]
    Unknown,
}

/// `image.source`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ImageSource {
    Base64 {
        media_type: String,
        data: String,
    },
    Url {
        url: String,
    },
    /// `file` (Files API ids): nothing the backend can read.
    #[serde(other)]
    Unknown,
}

/// `document.source`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum DocumentSource {
    Base64 {
        #[serde(default)]
        media_type: Option<String>,
        data: String,
    },
    Text {
        data: String,
    },
    Url {
        url: String,
    },
    Content {
        #[serde(default, deserialize_with = "null_as_default")]
        content: MessageContent,
    },
    #[serde(other)]
    Unknown,
}

/// `tool_result.content`: a string or blocks (text, image, document, tool_reference).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum ToolResultContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

/// One entry of `tools`: a custom tool (`type` absent or `custom`) or a server tool
/// (`web_search_20250305`, `bash_20250124`, …). `cache_control` and `defer_loading` are
/// accepted and dropped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ToolDefinition {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub input_schema: Option<Value>,
    /// Web search: only these domains.
    #[serde(default)]
    pub allowed_domains: Option<Vec<String>>,
    /// Web search: `{"type": "approximate", "city", "region", "country", "timezone"}`.
    #[serde(default)]
    pub user_location: Option<Value>,
}

impl ToolDefinition {
    /// Whether this is a client-executed tool (as opposed to an Anthropic server tool).
    pub(crate) fn is_custom(&self) -> bool {
        matches!(self.kind.as_deref(), None | Some("custom"))
    }

    /// Whether this is Anthropic's web search server tool (`web_search_20250305`, …).
    pub(crate) fn is_web_search(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|kind| kind.starts_with("web_search_"))
    }
}

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ToolChoice {
    Auto {
        #[serde(default)]
        disable_parallel_tool_use: Option<bool>,
    },
    Any {
        #[serde(default)]
        disable_parallel_tool_use: Option<bool>,
    },
    Tool {
        name: String,
        #[serde(default)]
        disable_parallel_tool_use: Option<bool>,
    },
    None,
    #[serde(other)]
    Unknown,
}

impl ToolChoice {
    /// `disable_parallel_tool_use`, whichever variant carries it.
    pub(crate) fn disables_parallel(&self) -> bool {
        match self {
            Self::Auto {
                disable_parallel_tool_use,
            }
            | Self::Any {
                disable_parallel_tool_use,
            }
            | Self::Tool {
                disable_parallel_tool_use,
                ..
            } => disable_parallel_tool_use.unwrap_or(false),
            Self::None | Self::Unknown => false,
        }
    }
}

/// `thinking`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Thinking {
    #[serde(rename = "type")]
    pub kind: ThinkingKind,
    #[serde(default)]
    pub budget_tokens: Option<u64>,
    /// `summarized` (default), `omitted` (Claude Code `-p`), `updates` (interactive).
    #[serde(default)]
    pub display: Option<String>,
}

/// `thinking.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ThinkingKind {
    Enabled,
    Adaptive,
    Disabled,
    #[serde(other)]
    Unknown,
}

/// `output_config`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct OutputConfig {
    /// `low`, `medium`, `high`, `max`.
    #[serde(default)]
    pub effort: Option<String>,
    /// `{type:"json_schema", schema}`.
    #[serde(default)]
    pub format: Option<Value>,
}

/// `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct Metadata {
    /// Claude Code: `"{\"device_id\":…,\"account_uuid\":…,\"session_id\":…}"`; others: any string.
    #[serde(default)]
    pub user_id: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// Response (non-streaming) and the blocks of the stream
// ---------------------------------------------------------------------------------------------

/// The non-streaming response, and `message_start.message` (with empty content).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageResponse {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub role: &'static str,
    /// The id the client asked for (not the upstream model).
    pub model: String,
    pub content: Vec<ResponseBlock>,
    pub stop_reason: Option<StopReason>,
    pub stop_sequence: Option<String>,
    pub usage: MessageUsage,
}

/// A content block of a response (and of `content_block_start`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseBlock {
    Text {
        text: String,
    },
    /// `signature` carries the backend's encrypted reasoning (see `translate::messages_request`).
    Thinking {
        thinking: String,
        signature: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// A search the backend ran (Anthropic's server tools are shown this way).
    ServerToolUse {
        id: String,
        name: String,
        input: Value,
    },
    /// The results of the search `tool_use_id`.
    WebSearchToolResult {
        tool_use_id: String,
        content: Vec<WebSearchResult>,
    },
}

/// One result of a web search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebSearchResult {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    pub title: String,
    /// Anthropic's is opaque; the backend gives none.
    pub encrypted_content: String,
    pub page_age: Option<String>,
}

impl WebSearchResult {
    pub fn new(url: String, title: String) -> Self {
        Self {
            kind: "web_search_result",
            url,
            title,
            encrypted_content: String::new(),
            page_age: None,
        }
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    PauseTurn,
    Refusal,
}

/// Usage of a message: `input_tokens` excludes cache reads (docs/compatibility.md §4.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[expect(clippy::struct_field_names, reason = "the wire's field names")]
pub struct MessageUsage {
    pub input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub output_tokens: u64,
}

// ---------------------------------------------------------------------------------------------
// Stream events
// ---------------------------------------------------------------------------------------------

/// One stream event; the SSE `event:` name equals `type` ([`StreamEvent::name`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StreamEvent {
    MessageStart {
        message: MessageResponse,
    },
    ContentBlockStart {
        index: u32,
        content_block: ResponseBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        usage: MessageUsage,
    },
    MessageStop,
    Ping,
    /// The Anthropic error object `{type, message}`.
    Error {
        error: super::error::AnthropicError,
    },
}

impl StreamEvent {
    /// The SSE `event:` name.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Ping => "ping",
            Self::Error { .. } => "error",
        }
    }
}

/// `content_block_delta.delta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[expect(clippy::enum_variant_names, reason = "the wire's type names")]
pub(crate) enum BlockDelta {
    TextDelta { text: String },
    InputJsonDelta { partial_json: String },
    ThinkingDelta { thinking: String },
    SignatureDelta { signature: String },
}

/// `message_delta.delta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MessageDeltaBody {
    pub stop_reason: Option<StopReason>,
    pub stop_sequence: Option<String>,
}

/// `POST /v1/messages/count_tokens` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct CountTokensResponse {
    pub input_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn fields_claude_code_adds_are_ignored_and_unknown_blocks_tolerated() {
        let body = json!({
            "model": "gpt-5.5",
            "max_tokens": 32000,
            "stream": true,
            "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
            "safeguards": [{"type": "dangerous_tool_use"}],
            "container": "c_1",
            "betas": ["x"],
            "output_config": {"effort": "high", "new_knob": 1},
            "thinking": {"type": "adaptive", "display": "omitted", "cache_control": {"type": "ephemeral"}},
            "metadata": {"user_id": "{\"session_id\":\"s-1\"}"},
            "tools": [
                {"name": "Deferred", "input_schema": {"type": "object"}, "defer_loading": true, "cache_control": {"type": "ephemeral"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 8}
            ],
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}, "citations": null},
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
                    {"type": "brand_new_block", "x": 1}
                ], "output_config": {"effort": "low"}},
                {"role": "system", "content": null},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "plan", "signature": "gAAAA1", "cache_control": {"type": "ephemeral"}}
                ]}
            ]
        });
        let request: MessagesRequest = serde_json::from_value(body).unwrap();
        assert_eq!(request.messages.len(), 3);
        assert_eq!(
            request.messages[0].content,
            MessageContent::Blocks(vec![
                ContentBlock::Text { text: "hi".into() },
                ContentBlock::Unknown,
                ContentBlock::Unknown
            ])
        );
        assert_eq!(request.messages[1].content, MessageContent::Blocks(vec![]));
        assert_eq!(request.tools.len(), 2);
        assert!(request.tools[0].is_custom());
        assert!(!request.tools[1].is_custom());
        assert_eq!(
            request.thinking,
            Some(Thinking {
                kind: ThinkingKind::Adaptive,
                budget_tokens: None,
                display: Some("omitted".into())
            })
        );
    }

    #[test]
    fn tool_choice_variants_parse() {
        let choice: ToolChoice = serde_json::from_value(
            json!({"type": "tool", "name": "Bash", "disable_parallel_tool_use": true}),
        )
        .unwrap();
        assert!(choice.disables_parallel());
        let none: ToolChoice = serde_json::from_value(json!({"type": "none"})).unwrap();
        assert_eq!(none, ToolChoice::None);
        let odd: ToolChoice = serde_json::from_value(json!({"type": "something_new"})).unwrap();
        assert_eq!(odd, ToolChoice::Unknown);
    }

    #[test]
    fn stream_events_serialise_in_the_anthropic_shape() {
        let start = StreamEvent::ContentBlockStart {
            index: 2,
            content_block: ResponseBlock::ToolUse {
                id: "call_1".into(),
                name: "Bash".into(),
                input: json!({}),
            },
        };
        assert_eq!(start.name(), "content_block_start");
        assert_eq!(
            serde_json::to_value(&start).unwrap(),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {}}})
        );
        let delta = StreamEvent::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(StopReason::ToolUse),
                stop_sequence: None,
            },
            usage: MessageUsage {
                input_tokens: 20,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 392,
                output_tokens: 57,
            },
        };
        assert_eq!(
            serde_json::to_value(&delta).unwrap(),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                   "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 392, "output_tokens": 57}})
        );
        assert_eq!(
            serde_json::to_value(StreamEvent::MessageStop).unwrap(),
            json!({"type": "message_stop"})
        );
    }
}
