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

use serde::de::{self, DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::json_text::{JsonText, parse_raw};

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
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SystemPrompt {
    Text(JsonText),
    Blocks(Vec<ContentBlock>),
}

impl<'de> Deserialize<'de> for SystemPrompt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match deserializer.deserialize_any(TextOrBlocksVisitor)? {
            TextOrBlocks::Text(text) => Self::Text(text),
            TextOrBlocks::Blocks(blocks) => Self::Blocks(blocks),
        })
    }
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
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MessageContent {
    Text(JsonText),
    Blocks(Vec<ContentBlock>),
}

impl Default for MessageContent {
    fn default() -> Self {
        Self::Blocks(Vec::new())
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match deserializer.deserialize_any(TextOrBlocksVisitor)? {
            TextOrBlocks::Text(text) => Self::Text(text),
            TextOrBlocks::Blocks(blocks) => Self::Blocks(blocks),
        })
    }
}

/// A string or an array of content blocks, the shape of `system`, `content` and
/// `tool_result.content`.
enum TextOrBlocks {
    Text(JsonText),
    Blocks(Vec<ContentBlock>),
}

/// Reads [`TextOrBlocks`] in one pass. (An untagged enum would buffer the whole value first,
/// and a buffered value can no longer keep the literals of its texts.) A string here is read as
/// text: only block fields keep their literals (see [`ContentBlock`]).
struct TextOrBlocksVisitor;

impl<'de> Visitor<'de> for TextOrBlocksVisitor {
    type Value = TextOrBlocks;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an array of content blocks")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(TextOrBlocks::Text(text.into()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(TextOrBlocks::Text(text.into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut blocks = Vec::new();
        while let Some(block) = seq.next_element()? {
            blocks.push(block);
        }
        Ok(TextOrBlocks::Blocks(blocks))
    }
}

/// A content block of a request message (also the blocks of `system`, of `tool_result.content`
/// and of a `content` document source).
///
/// Read through [`BlockFields`], not as an internally tagged enum: serde would buffer each
/// block to find its `type` (which may come last), and a buffered string has lost its JSON
/// literal. The long strings (`text`, a string `tool_result.content`) keep their literals
/// ([`JsonText`]), to be written to the backend as they came.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ContentBlock {
    Text {
        text: JsonText,
    },
    Image {
        source: ImageSource,
    },
    Document {
        source: DocumentSource,
        title: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Option<ToolResultContent>,
        is_error: Option<bool>,
    },
    /// `signature` is what a gateway issued; ours carry the backend's encrypted reasoning.
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: Option<String>,
    },
    /// ToolSearch results inside `tool_result.content`.
    ToolReference {
        tool_name: String,
    },
    /// `server_tool_use`, `web_search_tool_result`, `container_upload`, and whatever comes next.
    Unknown,
}

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BlockFields::deserialize(deserializer)?
            .into_block()
            .map_err(de::Error::custom)
    }
}

/// `type` of a content block.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum BlockKind {
    Text,
    Image,
    Document,
    ToolUse,
    ToolResult,
    Thinking,
    RedactedThinking,
    ToolReference,
    #[serde(other)]
    Unknown,
}

/// Every field a known block type has, each kept as raw JSON until `type` is known (their
/// types depend on it, and a type unknown to codexia may use the same names otherwise).
/// Unknown fields (`cache_control`, `citations`, …) are skipped.
#[derive(Deserialize)]
#[serde(expecting = "a content block object")]
struct BlockFields {
    #[serde(rename = "type")]
    kind: BlockKind,
    text: Option<Box<RawValue>>,
    source: Option<Box<RawValue>>,
    title: Option<Box<RawValue>>,
    id: Option<Box<RawValue>>,
    name: Option<Box<RawValue>>,
    input: Option<Box<RawValue>>,
    tool_use_id: Option<Box<RawValue>>,
    content: Option<Box<RawValue>>,
    is_error: Option<Box<RawValue>>,
    thinking: Option<Box<RawValue>>,
    signature: Option<Box<RawValue>>,
    data: Option<Box<RawValue>>,
    tool_name: Option<Box<RawValue>>,
}

impl BlockFields {
    /// The block of this `type`; `Err` names the bad field. `null` is an absent field.
    fn into_block(self) -> Result<ContentBlock, String> {
        Ok(match self.kind {
            BlockKind::Text => ContentBlock::Text {
                text: self
                    .text
                    .map(JsonText::from_raw)
                    .transpose()
                    .map_err(|err| format!("text: {err}"))?
                    .unwrap_or_default(),
            },
            BlockKind::Image => ContentBlock::Image {
                source: required(self.source, "source")?,
            },
            BlockKind::Document => ContentBlock::Document {
                source: required(self.source, "source")?,
                title: optional(self.title, "title")?,
            },
            BlockKind::ToolUse => ContentBlock::ToolUse {
                id: required(self.id, "id")?,
                name: required(self.name, "name")?,
                input: optional(self.input, "input")?.unwrap_or_default(),
            },
            BlockKind::ToolResult => ContentBlock::ToolResult {
                tool_use_id: required(self.tool_use_id, "tool_use_id")?,
                content: self
                    .content
                    .map(ToolResultContent::from_raw)
                    .transpose()
                    .map_err(|err| format!("content: {err}"))?
                    .flatten(),
                is_error: optional(self.is_error, "is_error")?,
            },
            BlockKind::Thinking => ContentBlock::Thinking {
                thinking: optional(self.thinking, "thinking")?.unwrap_or_default(),
                signature: optional(self.signature, "signature")?.unwrap_or_default(),
            },
            BlockKind::RedactedThinking => ContentBlock::RedactedThinking {
                data: optional(self.data, "data")?,
            },
            BlockKind::ToolReference => ContentBlock::ToolReference {
                tool_name: optional(self.tool_name, "tool_name")?.unwrap_or_default(),
            },
            BlockKind::Unknown => ContentBlock::Unknown,
        })
    }
}

/// A field the block needs, parsed from its raw JSON.
fn required<T: DeserializeOwned>(raw: Option<Box<RawValue>>, field: &str) -> Result<T, String> {
    let raw = raw.ok_or_else(|| format!("missing field `{field}`"))?;
    parse_raw(&raw).map_err(|err| format!("{field}: {err}"))
}

/// An optional field, parsed from its raw JSON (`null` was already `None`).
fn optional<T: DeserializeOwned>(
    raw: Option<Box<RawValue>>,
    field: &str,
) -> Result<Option<T>, String> {
    raw.map(|raw| parse_raw(&raw).map_err(|err| format!("{field}: {err}")))
        .transpose()
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

/// `document.source`. Read through [`SourceFields`], not as an internally tagged enum: its
/// `content` holds blocks, which must not be buffered (see [`ContentBlock`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DocumentSource {
    Base64 {
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
        content: MessageContent,
    },
    Unknown,
}

impl<'de> Deserialize<'de> for DocumentSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SourceFields::deserialize(deserializer)?
            .into_source()
            .map_err(de::Error::custom)
    }
}

/// `type` of a document source.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SourceKind {
    Base64,
    Text,
    Url,
    Content,
    #[serde(other)]
    Unknown,
}

/// Every field of a known document source, raw until `type` is known (as [`BlockFields`]).
#[derive(Deserialize)]
#[serde(expecting = "a document source object")]
struct SourceFields {
    #[serde(rename = "type")]
    kind: SourceKind,
    media_type: Option<Box<RawValue>>,
    data: Option<Box<RawValue>>,
    url: Option<Box<RawValue>>,
    content: Option<Box<RawValue>>,
}

impl SourceFields {
    fn into_source(self) -> Result<DocumentSource, String> {
        Ok(match self.kind {
            SourceKind::Base64 => DocumentSource::Base64 {
                media_type: optional(self.media_type, "media_type")?,
                data: required(self.data, "data")?,
            },
            SourceKind::Text => DocumentSource::Text {
                data: required(self.data, "data")?,
            },
            SourceKind::Url => DocumentSource::Url {
                url: required(self.url, "url")?,
            },
            SourceKind::Content => DocumentSource::Content {
                content: optional(self.content, "content")?.unwrap_or_default(),
            },
            SourceKind::Unknown => DocumentSource::Unknown,
        })
    }
}

/// `tool_result.content`: a string or blocks (text, image, document, tool_reference).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ToolResultContent {
    Text(JsonText),
    Blocks(Vec<ContentBlock>),
}

impl ToolResultContent {
    /// The content of its raw JSON: a string keeps its literal (a long tool result is written
    /// to the backend as it came), blocks are parsed, `null` is none.
    fn from_raw(raw: Box<RawValue>) -> Result<Option<Self>, String> {
        match raw.get().as_bytes().first() {
            Some(b'"') => JsonText::from_raw(raw).map(|text| Some(Self::Text(text))),
            Some(b'[') => parse_raw(&raw).map(|blocks| Some(Self::Blocks(blocks))),
            _ if raw.get() == "null" => Ok(None),
            _ => Err("expected a string or an array of content blocks".to_owned()),
        }
    }
}

/// One entry of `tools`: a custom tool (`type` absent or `custom`) or a server tool
/// (`web_search_20250305`, `bash_20250124`, …). `cache_control` and `defer_loading` are
/// accepted and dropped.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ToolDefinition {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub name: String,
    /// Kept as its literal: Claude Code's tool descriptions are long and the same every turn.
    #[serde(default, deserialize_with = "JsonText::deserialize_optional_literal")]
    pub description: Option<JsonText>,
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
    fn blocks_parse_whatever_the_order_of_their_fields_and_keep_their_literals() {
        let body = r#"{"model": "gpt-5.5", "system": [{"text": "Be \u0062rief.", "type": "text"}],
            "messages": [
            {"role": "user", "content": [
                {"content": "line 1\n\"two\"", "tool_use_id": "toolu_1", "type": "tool_result"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": true,
                 "content": [{"text": "a\tb", "type": "text"}, {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
                {"type": "tool_result", "tool_use_id": "toolu_3", "content": null},
                {"type": "text", "text": null},
                {"type": "document", "title": null, "source": {"content": [{"type": "text", "text": "doc"}], "type": "content"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": {"type": "web_search_tool_result_error", "error_code": "unavailable"}},
                {"type": "search_result", "source": "https://example.com", "title": 3, "content": [{"type": "text", "text": "x"}]}
            ]},
            {"role": "assistant", "content": [{"input": {"command": "ls"}, "name": "Bash", "id": "toolu_4", "type": "tool_use"}]}
        ]}"#;
        let request: MessagesRequest = serde_json::from_str(body).unwrap();
        let Some(SystemPrompt::Blocks(system)) = &request.system else {
            panic!("{:?}", request.system)
        };
        assert_eq!(
            system,
            &vec![ContentBlock::Text {
                text: "Be brief.".into()
            }]
        );
        let MessageContent::Blocks(blocks) = &request.messages[0].content else {
            panic!("blocks")
        };
        let ContentBlock::ToolResult {
            content: Some(ToolResultContent::Text(result)),
            ..
        } = &blocks[0]
        else {
            panic!("{:?}", blocks[0])
        };
        assert_eq!(&**result, "line 1\n\"two\"");
        assert_eq!(
            serde_json::to_string(result).unwrap(),
            r#""line 1\n\"two\"""#,
            "the literal, verbatim"
        );
        assert_eq!(
            blocks[1..],
            [
                ContentBlock::ToolResult {
                    tool_use_id: "toolu_2".into(),
                    content: Some(ToolResultContent::Blocks(vec![
                        ContentBlock::Text {
                            text: "a\tb".into()
                        },
                        ContentBlock::Image {
                            source: ImageSource::Url {
                                url: "https://x/y.png".into()
                            }
                        }
                    ])),
                    is_error: Some(true),
                },
                ContentBlock::ToolResult {
                    tool_use_id: "toolu_3".into(),
                    content: None,
                    is_error: None,
                },
                ContentBlock::Text { text: "".into() },
                ContentBlock::Document {
                    source: DocumentSource::Content {
                        content: MessageContent::Blocks(vec![ContentBlock::Text {
                            text: "doc".into()
                        }])
                    },
                    title: None,
                },
                ContentBlock::Unknown,
                ContentBlock::Unknown,
            ]
        );
        assert_eq!(
            request.messages[1].content,
            MessageContent::Blocks(vec![ContentBlock::ToolUse {
                id: "toolu_4".into(),
                name: "Bash".into(),
                input: json!({"command": "ls"}),
            }])
        );
    }

    #[test]
    fn bad_blocks_are_refused_naming_the_field() {
        let refuse = |block: &str| {
            let body = format!(
                r#"{{"model": "m", "messages": [{{"role": "user", "content": [{block}]}}]}}"#
            );
            serde_json::from_str::<MessagesRequest>(&body)
                .unwrap_err()
                .to_string()
        };
        for (block, message) in [
            (r#"{"type": "tool_result"}"#, "missing field `tool_use_id`"),
            (
                r#"{"tool_use_id": 3, "type": "tool_result"}"#,
                "tool_use_id: invalid type: integer `3`, expected a string",
            ),
            (
                r#"{"type": "tool_result", "tool_use_id": "t", "content": 3}"#,
                "content: expected a string or an array of content blocks",
            ),
            (
                r#"{"type": "text", "text": ["x"]}"#,
                "text: invalid type: sequence, expected a string",
            ),
            (r#"{"text": "x"}"#, "missing field `type`"),
            (r#""x""#, "expected a content block object"),
        ] {
            let error = refuse(block);
            assert!(error.contains(message), "{block}: {error}");
        }
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
