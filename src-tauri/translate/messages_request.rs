//! Anthropic Messages request → Codex Responses request (docs/compatibility.md §3). Pure.
//!
//! Invariants of every request produced here (the backend 400s otherwise, docs/protocol.md §4.4):
//! `store:false`, `stream:true`, non-empty `instructions`, flat function tools with
//! `strict:false`, no replayed item ids, no parameter outside the official client's field set,
//! and every `function_call` paired with a later `function_call_output` (and no output without
//! its call). The bytes of `instructions`, `tools` and `prompt_cache_key` depend only on what is
//! stable across turns of a session (the per-request billing line is removed), so the backend's
//! prefix cache hits.
//!
//! Thinking signatures: a thinking block this gateway emitted carries
//! `cdx1:<reasoning item id>:<encrypted_content>` as its `signature`
//! ([`encode_reasoning_signature`]). On the way back only blocks whose signature decodes become
//! `reasoning` items; a bare Fernet token (`gAAAA…`, what other Codex gateways put there) is
//! accepted too. Anthropic signatures (`Eq…`), empty ones and `redacted_thinking` are dropped.
//! The item id is informational (logs, debugging): with `store:false` a replayed id makes the
//! backend look the item up and fail, so it is never sent.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::effort::clamp_effort;
use crate::models::{ModelMap, UnknownModel};
use crate::protocol::anthropic::{
    ContentBlock, DocumentSource, ImageSource, Message, MessageContent, MessageRole,
    MessagesRequest, SystemPrompt, ThinkingKind, ToolChoice as AnthropicToolChoice,
    ToolResultContent,
};
use crate::protocol::json_text::JsonText;
use crate::protocol::responses::{
    ContentPart, FunctionOutput, INCLUDE_REASONING, InputItem, Reasoning, ResponsesRequest, Role,
    SummaryPart, TextControls, Tool, ToolChoice,
};

/// Sent when the client gave no system prompt: the backend requires non-empty `instructions`.
pub(crate) const DEFAULT_INSTRUCTIONS: &str = "You are a helpful assistant.";
/// Claude Code's per-request attribution line (docs/compatibility.md §3.2), never forwarded.
const BILLING_HEADER_PREFIX: &str = "x-anthropic-billing-header:";
/// Prefix of `function_call_output` text for `is_error:true` results (the format has no flag).
pub(crate) const TOOL_ERROR_PREFIX: &str = "[tool execution error]";
/// Output synthesised for a tool call the history never answered.
pub(crate) const INTERRUPTED_TOOL_OUTPUT: &str = "[no result: tool call was interrupted]";
/// Longest function name / call id the backend accepts.
const MAX_NAME_LEN: usize = 64;
/// Longest client-supplied value sent in a backend header or used as `prompt_cache_key`.
pub(crate) const MAX_KEY_LEN: usize = 64;
/// Image `detail` values the backend accepts.
pub(crate) const IMAGE_DETAILS: &[&str] = &["auto", "low", "high", "original"];
/// Marks signatures this gateway issued.
const SIGNATURE_PREFIX: &str = "cdx1:";
/// Every Fernet token (the backend's `encrypted_content`) starts with this.
const FERNET_PREFIX: &str = "gAAAA";

/// Why a request cannot be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The model is neither served nor mapped (404 `not_found_error`).
    #[error(transparent)]
    UnknownModel(#[from] UnknownModel),
    /// The request asks for something impossible (400 `invalid_request_error`); the message
    /// names the field.
    #[error("{0}")]
    Invalid(String),
}

impl From<TranslateError> for crate::protocol::error::ApiError {
    /// 404 listing the served models, or 400 naming the field.
    fn from(err: TranslateError) -> Self {
        match err {
            TranslateError::UnknownModel(unknown) => Self::not_found(format!(
                "The model {:?} is not served by this gateway. Served models: {}.",
                unknown.requested,
                unknown.served.join(", ")
            )),
            TranslateError::Invalid(message) => Self::invalid_request(message),
        }
    }
}

/// Tool names as sent upstream ↔ as the client knows them (only names over 64 characters
/// differ). Built per request; the stream translation maps names back with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolNameMap {
    to_short: BTreeMap<String, String>,
    to_original: BTreeMap<String, String>,
}

impl ToolNameMap {
    /// Assigns short names for every name over the limit: `mcp__<server>__<tool>` keeps
    /// `mcp__<tool>`, anything else is truncated; `_N` makes them unique.
    pub fn build<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names: Vec<&str> = names.into_iter().collect();
        let mut taken: HashSet<String> = names
            .iter()
            .filter(|n| n.len() <= MAX_NAME_LEN)
            .map(|n| (*n).to_owned())
            .collect();
        let mut map = Self::default();
        for name in names {
            if name.len() <= MAX_NAME_LEN || map.to_short.contains_key(name) {
                continue;
            }
            let base = match name
                .strip_prefix("mcp__")
                .and_then(|rest| rest.rsplit_once("__"))
            {
                Some((_, tool)) => format!("mcp__{tool}"),
                None => name.to_owned(),
            };
            let base = truncate(&base, MAX_NAME_LEN);
            let mut candidate = base.clone();
            let mut n = 1;
            while taken.contains(&candidate) {
                let suffix = format!("_{n}");
                candidate = format!("{}{suffix}", truncate(&base, MAX_NAME_LEN - suffix.len()));
                n += 1;
            }
            taken.insert(candidate.clone());
            map.to_short.insert(name.to_owned(), candidate.clone());
            map.to_original.insert(candidate, name.to_owned());
        }
        map
    }

    /// The name sent upstream for a client name.
    pub fn short<'a>(&'a self, original: &'a str) -> &'a str {
        self.to_short.get(original).map_or(original, String::as_str)
    }

    /// The client's name for a name the backend used.
    pub fn original<'a>(&'a self, short: &'a str) -> &'a str {
        self.to_original.get(short).map_or(short, String::as_str)
    }
}

/// The first `max` bytes of an ASCII-ish name, cut at a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Lower-case hex of bytes.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// A client-supplied session id or cache key made safe to send as a backend header (and as
/// `prompt_cache_key`): kept as it is when it is 1–64 visible ASCII characters (a UUID, a
/// `user` id); otherwise replaced by a hash of the whole value, so an over-long or odd id still
/// gives the same key on every turn. `None` for an empty value.
pub(crate) fn header_safe_key(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.len() <= MAX_KEY_LEN && value.bytes().all(|b| b.is_ascii_graphic()) {
        return Some(value.to_owned());
    }
    Some(format!(
        "sha256-{}",
        hex(&Sha256::digest(value.as_bytes())[..16])
    ))
}

/// Checks a tool-call id the client gave: the backend refuses empty ids and ids over 64
/// characters, so they are refused here naming the client's own `field`.
pub(crate) fn check_call_id(id: &str, field: &str) -> Result<(), TranslateError> {
    if id.is_empty() {
        return Err(TranslateError::Invalid(format!(
            "{field}: a tool call id must not be empty."
        )));
    }
    if id.chars().count() > MAX_NAME_LEN {
        return Err(TranslateError::Invalid(format!(
            "{field}: a tool call id must be at most {MAX_NAME_LEN} characters (this one has {}).",
            id.chars().count()
        )));
    }
    Ok(())
}

/// Checks an image `detail` the client gave, naming its `field`.
pub(crate) fn check_image_detail(detail: &str, field: &str) -> Result<(), TranslateError> {
    if IMAGE_DETAILS.contains(&detail) {
        return Ok(());
    }
    Err(TranslateError::Invalid(format!(
        "{field}: {detail:?} is not an image detail; use one of {}.",
        IMAGE_DETAILS.join(", ")
    )))
}

/// A call id the backend accepts (≤ 64 chars): long ids keep a prefix plus a hash.
fn call_id(id: &str) -> String {
    if id.len() <= MAX_NAME_LEN {
        return id.to_owned();
    }
    let digest = hex(&Sha256::digest(id.as_bytes())[..8]);
    format!("{}_{digest}", truncate(id, MAX_NAME_LEN - 17))
}

/// The signature of a thinking block carrying a reasoning item.
pub(crate) fn encode_reasoning_signature(item_id: &str, encrypted_content: &str) -> String {
    format!("{SIGNATURE_PREFIX}{item_id}:{encrypted_content}")
}

/// The encrypted reasoning a signature carries, when this gateway (or another Codex gateway
/// using the bare token) issued it.
pub(crate) fn decode_reasoning_signature(signature: &str) -> Option<&str> {
    let encrypted = match signature.strip_prefix(SIGNATURE_PREFIX) {
        Some(rest) => rest.split_once(':')?.1,
        None => signature,
    };
    encrypted.starts_with(FERNET_PREFIX).then_some(encrypted)
}

/// The Claude Code session id in `metadata.user_id` (a JSON string), if any.
pub(crate) fn session_id_from_metadata(request: &MessagesRequest) -> Option<String> {
    let user_id = request.metadata.as_ref()?.user_id.as_ref()?;
    let parsed: Value = match user_id {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    parsed
        .get("session_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Translates a Messages request. `session_header` is `X-Claude-Code-Session-Id` when present;
/// it (else `metadata.user_id`'s session id, else a hash of the conversation's stable start)
/// becomes `prompt_cache_key`.
pub(crate) fn messages_to_responses(
    request: &MessagesRequest,
    models: &ModelMap,
    session_header: Option<&str>,
) -> Result<(ResponsesRequest, ToolNameMap), TranslateError> {
    let model = models.resolve(&request.model)?.upstream;
    let names = ToolNameMap::build(tool_names(request));
    let instructions = instructions(request.system.as_ref());
    let mut input = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        translate_message(message, index, &names, &mut input)?;
    }
    let input = pair_tool_calls(input);
    // Client tools become functions; web search is the backend's own; other server tools
    // (code execution, text editor, …) have no equivalent and are left out.
    let tools: Vec<Tool> = request
        .tools
        .iter()
        .filter_map(|tool| {
            if tool.is_custom() {
                Some(Tool::Function {
                    name: names.short(&tool.name).to_owned(),
                    description: tool.description.clone().filter(|d| !d.is_empty()),
                    parameters: clean_schema(tool.input_schema.as_ref()),
                    strict: false,
                })
            } else if tool.is_web_search() {
                Some(Tool::WebSearch {
                    filters: tool
                        .allowed_domains
                        .as_ref()
                        .filter(|d| !d.is_empty())
                        .map(|domains| json!({ "allowed_domains": domains })),
                    user_location: tool.user_location.clone(),
                })
            } else {
                None
            }
        })
        .collect();
    let tool_choice = match &request.tool_choice {
        None | Some(AnthropicToolChoice::Auto { .. } | AnthropicToolChoice::Unknown) => {
            ToolChoice::auto()
        }
        Some(AnthropicToolChoice::Any { .. }) => ToolChoice::Mode("required".to_owned()),
        Some(AnthropicToolChoice::None) => ToolChoice::Mode("none".to_owned()),
        Some(AnthropicToolChoice::Tool { name, .. })
            if request
                .tools
                .iter()
                .any(|t| t.is_web_search() && t.name == *name) =>
        {
            // "Use web search": the backend takes no named hosted tool here, so any tool use
            // is required (Claude Code's WebSearch sends the search tool alone).
            ToolChoice::Mode("required".to_owned())
        }
        Some(AnthropicToolChoice::Tool { name, .. }) => {
            if !tools
                .iter()
                .any(|tool| tool.function_name() == Some(names.short(name)))
            {
                return Err(TranslateError::Invalid(format!(
                    "tool_choice.name: no tool named {name:?} is defined in tools."
                )));
            }
            ToolChoice::function(names.short(name))
        }
    };
    let parallel_tool_calls = !request
        .tool_choice
        .as_ref()
        .is_some_and(AnthropicToolChoice::disables_parallel);
    let prompt_cache_key = session_header
        .and_then(header_safe_key)
        .or_else(|| session_id_from_metadata(request).and_then(|id| header_safe_key(&id)))
        .unwrap_or_else(|| conversation_key(&model, &instructions, &input));
    let reasoning = reasoning_effort(request, &model).map(|effort| Reasoning {
        effort: Some(effort.to_owned()),
        summary: Some("auto".to_owned()),
    });
    let text = structured_output(request).map(|format| TextControls {
        verbosity: None,
        format: Some(format),
    });
    let upstream = ResponsesRequest {
        model,
        instructions,
        input,
        tools,
        tool_choice,
        parallel_tool_calls,
        reasoning,
        store: false,
        stream: true,
        include: vec![INCLUDE_REASONING.to_owned()],
        prompt_cache_key: Some(prompt_cache_key),
        text,
        service_tier: None,
    };
    Ok((upstream, names))
}

/// Every tool name the request mentions: definitions, history and tool_choice.
fn tool_names(request: &MessagesRequest) -> Vec<&str> {
    let mut names: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
    for message in &request.messages {
        if let MessageContent::Blocks(blocks) = &message.content {
            for block in blocks {
                if let ContentBlock::ToolUse { name, .. } = block {
                    names.push(name);
                }
            }
        }
    }
    if let Some(AnthropicToolChoice::Tool { name, .. }) = &request.tool_choice {
        names.push(name);
    }
    names
}

/// `system` → `instructions`: texts joined with a blank line, billing lines removed.
fn instructions(system: Option<&SystemPrompt>) -> String {
    let texts: Vec<&str> = match system {
        None => Vec::new(),
        Some(SystemPrompt::Text(text)) => vec![text],
        Some(SystemPrompt::Blocks(blocks)) => blocks
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text { text } => Some(&**text),
                _ => None,
            })
            .collect(),
    };
    let joined = texts
        .iter()
        .map(|text| strip_billing_lines(text))
        .filter(|text| !text.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    if joined.trim().is_empty() {
        DEFAULT_INSTRUCTIONS.to_owned()
    } else {
        joined
    }
}

/// Removes `x-anthropic-billing-header:` lines (the whole text when it is only that line).
fn strip_billing_lines(text: &str) -> String {
    if !text.contains(BILLING_HEADER_PREFIX) {
        return text.to_owned();
    }
    text.split_inclusive('\n')
        .filter(|line| !line.trim_start().starts_with(BILLING_HEADER_PREFIX))
        .collect()
}

/// An `input_text` part, unless the text is blank.
fn input_text(text: impl Into<JsonText>) -> Option<ContentPart> {
    let text = text.into();
    (!text.is_blank()).then_some(ContentPart::InputText { text })
}

fn message_item(role: Role, content: Vec<ContentPart>) -> InputItem {
    InputItem::Message {
        role,
        content,
        id: None,
        status: None,
    }
}

/// Appends the items of one message.
fn translate_message(
    message: &Message,
    index: usize,
    names: &ToolNameMap,
    out: &mut Vec<InputItem>,
) -> Result<(), TranslateError> {
    let single;
    let blocks: &[ContentBlock] = match &message.content {
        MessageContent::Text(text) => {
            single = [ContentBlock::Text { text: text.clone() }];
            &single
        }
        MessageContent::Blocks(blocks) => blocks,
    };
    match message.role {
        MessageRole::User | MessageRole::System => {
            let role = if message.role == MessageRole::User {
                Role::User
            } else {
                // Claude Code's environment block and notes: kept in place as developer text.
                Role::Developer
            };
            let mut parts = Vec::new();
            for (block_index, block) in blocks.iter().enumerate() {
                match block {
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => {
                        if tool_use_id.is_empty() {
                            return Err(TranslateError::Invalid(format!(
                                "messages[{index}].content[{block_index}].tool_use_id: a tool use id must not be empty."
                            )));
                        }
                        // Outputs go first, right after their calls; the text of the same
                        // message (reminders, the next prompt) follows them.
                        out.push(InputItem::FunctionCallOutput {
                            call_id: call_id(tool_use_id),
                            output: tool_output(content.as_ref(), is_error.unwrap_or(false)),
                        });
                    }
                    other => parts.extend(user_parts(other).map_err(|what| {
                        TranslateError::Invalid(format!(
                            "messages[{index}].content[{block_index}]: {what}"
                        ))
                    })?),
                }
            }
            if !parts.is_empty() {
                out.push(message_item(role, parts));
            }
        }
        MessageRole::Assistant => {
            let mut text = Vec::new();
            let flush = |text: &mut Vec<ContentPart>, out: &mut Vec<InputItem>| {
                if !text.is_empty() {
                    out.push(message_item(Role::Assistant, std::mem::take(text)));
                }
            };
            for (block_index, block) in blocks.iter().enumerate() {
                match block {
                    ContentBlock::ToolUse { id, .. } if id.is_empty() => {
                        return Err(TranslateError::Invalid(format!(
                            "messages[{index}].content[{block_index}].id: a tool use id must not be empty."
                        )));
                    }
                    ContentBlock::Text { text: t } if !t.is_blank() => {
                        text.push(ContentPart::OutputText {
                            text: t.clone(),
                            annotations: Vec::new(),
                        });
                    }
                    ContentBlock::ToolUse { id, name, input } => {
                        flush(&mut text, out);
                        let arguments = match input {
                            Value::Null => "{}".to_owned(),
                            other => other.to_string(),
                        };
                        out.push(InputItem::FunctionCall {
                            id: None,
                            call_id: call_id(id),
                            name: names.short(name).to_owned(),
                            arguments,
                        });
                    }
                    ContentBlock::Thinking {
                        thinking,
                        signature,
                    } => {
                        if let Some(encrypted) = decode_reasoning_signature(signature) {
                            flush(&mut text, out);
                            let summary = if thinking.is_empty() {
                                Vec::new()
                            } else {
                                vec![SummaryPart {
                                    kind: "summary_text".to_owned(),
                                    text: thinking.clone(),
                                }]
                            };
                            out.push(InputItem::Reasoning {
                                id: None,
                                summary,
                                encrypted_content: Some(encrypted.to_owned()),
                            });
                        }
                    }
                    // Empty text, foreign thinking, redacted thinking, server tool blocks,
                    // images in assistant turns: nothing the backend can replay.
                    _ => {}
                }
            }
            flush(&mut text, out);
        }
    }
    Ok(())
}

/// Content parts of a user (or system) block; `Err` names what is wrong.
fn user_parts(block: &ContentBlock) -> Result<Vec<ContentPart>, String> {
    Ok(match block {
        ContentBlock::Text { text } => input_text(text.clone()).into_iter().collect(),
        ContentBlock::Image { source } => vec![image_part(source)?],
        ContentBlock::Document { source, title } => document_parts(source, title.as_deref())?,
        ContentBlock::ToolReference { tool_name } => {
            input_text(format!("[Loaded tool: {tool_name}]"))
                .into_iter()
                .collect()
        }
        // A tool_use in a user turn, thinking, server tool blocks: nothing to send.
        _ => Vec::new(),
    })
}

fn image_part(source: &ImageSource) -> Result<ContentPart, String> {
    let image_url = match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url.clone(),
        ImageSource::Unknown => {
            return Err("this image source type is not supported; send base64 or url.".to_owned());
        }
    };
    Ok(ContentPart::InputImage {
        image_url,
        detail: "auto".to_owned(),
    })
}

fn document_parts(
    source: &DocumentSource,
    title: Option<&str>,
) -> Result<Vec<ContentPart>, String> {
    Ok(match source {
        DocumentSource::Base64 { media_type, data } => {
            let media_type = media_type.as_deref().unwrap_or("application/pdf");
            vec![ContentPart::InputFile {
                filename: Some(title.unwrap_or("document.pdf").to_owned()),
                file_data: format!("data:{media_type};base64,{data}"),
            }]
        }
        DocumentSource::Text { data } => {
            let text = match title {
                Some(title) => format!("{title}\n\n{data}"),
                None => data.clone(),
            };
            input_text(text).into_iter().collect()
        }
        // The backend is not known to fetch URLs (docs/compatibility.md §9.1): name the document.
        DocumentSource::Url { url } => input_text(format!("[Document: {url}]"))
            .into_iter()
            .collect(),
        DocumentSource::Content { content } => match content {
            MessageContent::Text(text) => input_text(text.clone()).into_iter().collect(),
            MessageContent::Blocks(blocks) => {
                let mut parts = Vec::new();
                for block in blocks {
                    parts.extend(user_parts(block)?);
                }
                parts
            }
        },
        DocumentSource::Unknown => {
            return Err(
                "this document source type is not supported; send base64, text, url or content."
                    .to_owned(),
            );
        }
    })
}

/// `tool_result.content` → `function_call_output.output`: a string when it is all text,
/// content parts when it has images or files. Texts stay the client's literals where they were
/// ([`JsonText::join`]).
fn tool_output(content: Option<&ToolResultContent>, is_error: bool) -> FunctionOutput {
    let parts: Vec<ContentPart> = match content {
        None => Vec::new(),
        Some(ToolResultContent::Text(text)) => vec![ContentPart::InputText { text: text.clone() }],
        Some(ToolResultContent::Blocks(blocks)) => blocks
            .iter()
            // An unreadable image in a tool result must not fail the whole turn.
            .flat_map(|block| {
                user_parts(block).unwrap_or_else(|what| {
                    vec![ContentPart::InputText {
                        text: format!("[content omitted: {what}]").into(),
                    }]
                })
            })
            .collect(),
    };
    let all_text = parts
        .iter()
        .all(|p| matches!(p, ContentPart::InputText { .. }));
    if all_text {
        let mut text = JsonText::join(
            parts.iter().filter_map(|p| match p {
                ContentPart::InputText { text } => Some(text),
                _ => None,
            }),
            "\n",
        );
        if is_error {
            text = if text.is_empty() {
                TOOL_ERROR_PREFIX.into()
            } else {
                JsonText::join([&TOOL_ERROR_PREFIX.into(), &text], "\n")
            };
        }
        FunctionOutput::Text(text)
    } else {
        let mut parts = parts;
        if is_error {
            parts.insert(
                0,
                ContentPart::InputText {
                    text: TOOL_ERROR_PREFIX.into(),
                },
            );
        }
        FunctionOutput::Parts(parts)
    }
}

/// Makes calls and outputs pair up: a call without a later output gets a synthetic one right
/// after the run of calls/outputs it belongs to; an output without an earlier call becomes user
/// text (its content is kept, the backend just cannot attach it to a call).
pub(crate) fn pair_tool_calls(items: Vec<InputItem>) -> Vec<InputItem> {
    let answered: HashSet<String> = items
        .iter()
        .filter_map(|item| match item {
            InputItem::FunctionCallOutput { call_id, .. } => Some(call_id.clone()),
            _ => None,
        })
        .collect();
    let mut seen_calls: HashSet<String> = HashSet::new();
    let mut pending: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    let flush = |pending: &mut Vec<String>, out: &mut Vec<InputItem>| {
        for call_id in pending.drain(..) {
            out.push(InputItem::FunctionCallOutput {
                call_id,
                output: FunctionOutput::Text(INTERRUPTED_TOOL_OUTPUT.into()),
            });
        }
    };
    for item in items {
        match item {
            InputItem::FunctionCall { ref call_id, .. } => {
                if !answered.contains(call_id) {
                    pending.push(call_id.clone());
                }
                seen_calls.insert(call_id.clone());
                out.push(item);
            }
            InputItem::FunctionCallOutput { call_id, output } => {
                if seen_calls.contains(&call_id) {
                    out.push(InputItem::FunctionCallOutput { call_id, output });
                } else {
                    flush(&mut pending, &mut out);
                    let content = match output {
                        FunctionOutput::Text(text) => vec![ContentPart::InputText {
                            text: format!("[tool result for {call_id}]\n{}", &*text).into(),
                        }],
                        FunctionOutput::Parts(mut parts) => {
                            parts.insert(
                                0,
                                ContentPart::InputText {
                                    text: format!("[tool result for {call_id}]").into(),
                                },
                            );
                            parts
                        }
                    };
                    out.push(message_item(Role::User, content));
                }
            }
            InputItem::Reasoning { .. } => out.push(item),
            other @ InputItem::Message { .. } => {
                flush(&mut pending, &mut out);
                out.push(other);
            }
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// `input_schema` → `parameters`: `$schema` removed everywhere, an object schema always has
/// `properties`, anything unusable becomes the empty object schema.
fn clean_schema(schema: Option<&Value>) -> Value {
    let Some(Value::Object(object)) = schema else {
        return json!({"type": "object", "properties": {}});
    };
    let mut cleaned = strip_key(&Value::Object(object.clone()), "$schema");
    if let Value::Object(map) = &mut cleaned {
        if !map.contains_key("type") {
            map.insert("type".to_owned(), json!("object"));
        }
        if map.get("type") == Some(&json!("object")) && !map.contains_key("properties") {
            map.insert("properties".to_owned(), json!({}));
        }
    }
    cleaned
}

/// A copy of `value` without `key` in any object (property *names* are left alone).
fn strip_key(value: &Value, key: &str) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                if k == key {
                    continue;
                }
                if k == "properties" && v.is_object() {
                    // Property names are user data: a property may be called `$schema`.
                    let props = v
                        .as_object()
                        .map(|props| {
                            props
                                .iter()
                                .map(|(name, schema)| (name.clone(), strip_key(schema, key)))
                                .collect::<Map<_, _>>()
                        })
                        .unwrap_or_default();
                    out.insert(k.clone(), Value::Object(props));
                } else {
                    out.insert(k.clone(), strip_key(v, key));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| strip_key(v, key)).collect()),
        other => other.clone(),
    }
}

/// `thinking` / `output_config.effort` → `reasoning.effort`, clamped to the model
/// (docs/compatibility.md §3.6).
///
/// An explicit effort wins (`max` → `xhigh`); else a budget maps by CPA's thresholds; adaptive
/// without effort is `high` (Anthropic's default effort); disabled or absent leaves the model's
/// default (no `reasoning`).
fn reasoning_effort(request: &MessagesRequest, model: &str) -> Option<&'static str> {
    let explicit = request
        .output_config
        .as_ref()
        .and_then(|c| c.effort.as_deref())
        .map(|effort| match effort.trim().to_ascii_lowercase().as_str() {
            "max" => "xhigh".to_owned(),
            other => other.to_owned(),
        });
    let wanted = match (explicit, &request.thinking) {
        (Some(effort), _) => effort,
        (None, Some(thinking)) => match thinking.kind {
            ThinkingKind::Enabled => budget_effort(thinking.budget_tokens.unwrap_or(0)).to_owned(),
            ThinkingKind::Adaptive => "high".to_owned(),
            ThinkingKind::Disabled | ThinkingKind::Unknown => return None,
        },
        (None, None) => return None,
    };
    clamp_effort(model, &wanted)
}

/// CLIProxyAPI's budget thresholds (docs/compatibility.md §3.6).
fn budget_effort(budget: u64) -> &'static str {
    match budget {
        0..=512 => "minimal",
        513..=1024 => "low",
        1025..=8192 => "medium",
        8193..=24576 => "high",
        _ => "xhigh",
    }
}

/// Whether the client asked for thinking blocks.
pub(crate) fn thinking_requested(request: &MessagesRequest) -> bool {
    request
        .thinking
        .as_ref()
        .is_some_and(|t| matches!(t.kind, ThinkingKind::Enabled | ThinkingKind::Adaptive))
}

/// `output_config.format` / `output_format` → `text.format`.
fn structured_output(request: &MessagesRequest) -> Option<Value> {
    let format = request
        .output_config
        .as_ref()
        .and_then(|c| c.format.as_ref())
        .or(request.output_format.as_ref())?;
    if format.get("type").and_then(Value::as_str) != Some("json_schema") {
        return None;
    }
    let schema = format.get("schema").cloned().unwrap_or_else(|| json!({}));
    Some(json!({
        "type": "json_schema",
        "name": format.get("name").and_then(Value::as_str).unwrap_or("response"),
        "schema": strip_key(&schema, "$schema"),
        // Anthropic does not require strict-mode schemas (every property required, no
        // optional keywords); strict would reject many of them.
        "strict": false,
    }))
}

/// A stable key for clients without a session id: the same conversation start (model,
/// instructions, first input item) gives the same key on every turn. Of the first item only
/// the first [`KEY_ITEM_BYTES`] of its JSON count, so a huge first message (a hostile
/// count_tokens, a pasted log) costs microseconds here instead of writing and hashing it all.
fn conversation_key(model: &str, instructions: &str, input: &[InputItem]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(model.as_bytes());
    hasher.update([0]);
    hasher.update(instructions.as_bytes());
    hasher.update([0]);
    if let Some(first) = input.first() {
        let mut prefix = HashPrefix {
            hasher: &mut hasher,
            left: KEY_ITEM_BYTES,
        };
        // Stops with an error once the prefix is hashed: that error is the expected end.
        let _ = serde_json::to_writer(&mut prefix, first);
    }
    format!("codexia-{}", hex(&hasher.finalize()[..16]))
}

/// How much of the first input item's JSON [`conversation_key`] hashes.
const KEY_ITEM_BYTES: usize = 64 * 1024;

/// A writer that hashes the first `left` bytes written to it, then refuses more.
struct HashPrefix<'a> {
    hasher: &'a mut Sha256,
    left: usize,
}

impl std::io::Write for HashPrefix<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("prefix hashed"));
        }
        let taken = buf.len().min(self.left);
        self.hasher.update(&buf[..taken]);
        self.left -= taken;
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn models() -> ModelMap {
        ModelMap::new(
            crate::models::BUILTIN_MODELS
                .iter()
                .map(|s| (*s).to_owned()),
            BTreeMap::new(),
            None,
        )
    }

    fn translate(body: Value) -> Value {
        let request: MessagesRequest = serde_json::from_value(body).unwrap();
        let (upstream, _) = messages_to_responses(&request, &models(), None).unwrap();
        serde_json::to_value(upstream).unwrap()
    }

    fn translate_err(body: Value) -> TranslateError {
        let request: MessagesRequest = serde_json::from_value(body).unwrap();
        messages_to_responses(&request, &models(), None).unwrap_err()
    }

    #[test]
    fn a_claude_code_turn_becomes_the_backend_envelope() {
        let body = json!({
            "model": "gpt-5.5",
            "max_tokens": 32000,
            "stream": true,
            "temperature": 1,
            "system": [
                {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.330.db5; cc_entrypoint=sdk-cli;"},
                {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "\nMain prompt.", "cache_control": {"type": "ephemeral"}}
            ],
            "metadata": {"user_id": "{\"device_id\":\"d\",\"account_uuid\":\"\",\"session_id\":\"sess-1\"}"},
            "thinking": {"type": "adaptive", "display": "omitted"},
            "context_management": {"edits": []},
            "output_config": {"effort": "high"},
            "tools": [{
                "name": "Bash", "description": "Run",
                "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                 "properties": {"command": {"type": "string"}}, "required": ["command"], "additionalProperties": false}
            }, {
                "name": "DeferredToolPlaceholder", "description": "p", "defer_loading": true,
                "input_schema": {"type": "object", "properties": {}}
            }],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "<system-reminder>r</system-reminder>"}, {"type": "text", "text": "Run echo hi"}]},
                {"role": "system", "content": [{"type": "text", "text": "# Environment", "cache_control": {"type": "ephemeral"}}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "plan", "signature": encode_reasoning_signature("rs_1", "gAAAA1")},
                    {"type": "text", "text": "Running it."},
                    {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "echo hi"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "hi", "is_error": false, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "next"}
                ]}
            ]
        });
        assert_eq!(
            translate(body),
            json!({
                "model": "gpt-5.5",
                "instructions": "You are a Claude agent.\n\n\nMain prompt.",
                "input": [
                    {"type": "message", "role": "user", "content": [
                        {"type": "input_text", "text": "<system-reminder>r</system-reminder>"},
                        {"type": "input_text", "text": "Run echo hi"}]},
                    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "# Environment"}]},
                    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": "gAAAA1"},
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Running it.", "annotations": []}]},
                    {"type": "function_call", "call_id": "toolu_1", "name": "Bash", "arguments": "{\"command\":\"echo hi\"}"},
                    {"type": "function_call_output", "call_id": "toolu_1", "output": "hi"},
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "next"}]}
                ],
                "tools": [
                    {"type": "function", "name": "Bash", "description": "Run", "strict": false,
                     "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"], "additionalProperties": false}},
                    {"type": "function", "name": "DeferredToolPlaceholder", "description": "p", "strict": false,
                     "parameters": {"type": "object", "properties": {}}}
                ],
                "tool_choice": "auto",
                "parallel_tool_calls": true,
                "reasoning": {"effort": "high", "summary": "auto"},
                "store": false,
                "stream": true,
                "include": ["reasoning.encrypted_content"],
                "prompt_cache_key": "sess-1"
            })
        );
    }

    #[test]
    fn the_session_header_wins_and_the_billing_line_never_changes_the_bytes() {
        let body = |version: &str| {
            json!({
                "model": "gpt-5.5",
                "system": [{"type": "text", "text": format!("x-anthropic-billing-header: cc_version=2.1.330.{version}; cch=abcde;")},
                           {"type": "text", "text": "Prompt"}],
                "messages": [{"role": "user", "content": "hi"}]
            })
        };
        let a: MessagesRequest = serde_json::from_value(body("db5")).unwrap();
        let b: MessagesRequest = serde_json::from_value(body("a17")).unwrap();
        let (a, _) = messages_to_responses(&a, &models(), Some("hdr-1")).unwrap();
        let (b, _) = messages_to_responses(&b, &models(), Some("hdr-1")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.instructions, "Prompt");
        assert_eq!(a.prompt_cache_key.as_deref(), Some("hdr-1"));
        // Without any session id the key is derived from the conversation start, still stable.
        let c: MessagesRequest = serde_json::from_value(body("fff")).unwrap();
        let (c1, _) = messages_to_responses(&c, &models(), None).unwrap();
        let (c2, _) = messages_to_responses(&c, &models(), None).unwrap();
        assert!(
            c1.prompt_cache_key
                .as_deref()
                .unwrap()
                .starts_with("codexia-")
        );
        assert_eq!(c1.prompt_cache_key, c2.prompt_cache_key);
    }

    #[test]
    fn without_a_session_id_the_key_follows_the_start_of_the_conversation() {
        let key = |first: &str, second: &str| {
            let request: MessagesRequest = serde_json::from_value(json!({
                "model": "gpt-5.5",
                "messages": [{"role": "user", "content": first},
                             {"role": "assistant", "content": "ok"},
                             {"role": "user", "content": second}]
            }))
            .unwrap();
            messages_to_responses(&request, &models(), None)
                .unwrap()
                .0
                .prompt_cache_key
                .unwrap()
        };
        // The next turns of a conversation keep its key; another conversation gets another.
        assert_eq!(
            key("Fix the bug", "go on"),
            key("Fix the bug", "and test it")
        );
        assert_ne!(key("Fix the bug", "go on"), key("Write a poem", "go on"));
        // A huge first message is keyed by its beginning: a change at its start is seen, one
        // past the hashed prefix is not (the same conversation, as far as the cache goes).
        let huge = "a".repeat(4 * KEY_ITEM_BYTES);
        let changed_late = format!("{}b", &huge[1..]);
        let changed_early = format!("b{}", &huge[1..]);
        assert_eq!(key(&huge, "go on"), key(&changed_late, "go on"));
        assert_ne!(key(&huge, "go on"), key(&changed_early, "go on"));
    }

    #[test]
    fn tool_results_with_errors_images_and_references() {
        let out = translate(json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}},
                    {"type": "tool_use", "id": "t2", "name": "Read", "input": {}},
                    {"type": "tool_use", "id": "t3", "name": "ToolSearch", "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "touch needs approval", "is_error": true},
                    {"type": "tool_result", "tool_use_id": "t2", "content": [
                        {"type": "text", "text": "the image"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
                    ]},
                    {"type": "tool_result", "tool_use_id": "t3", "content": [{"type": "tool_reference", "tool_name": "WebFetch"}]}
                ]}
            ]
        }));
        assert_eq!(
            out["input"],
            json!([
                {"type": "function_call", "call_id": "t1", "name": "Bash", "arguments": "{}"},
                {"type": "function_call", "call_id": "t2", "name": "Read", "arguments": "{}"},
                {"type": "function_call", "call_id": "t3", "name": "ToolSearch", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "t1", "output": "[tool execution error]\ntouch needs approval"},
                {"type": "function_call_output", "call_id": "t2", "output": [
                    {"type": "input_text", "text": "the image"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"}
                ]},
                {"type": "function_call_output", "call_id": "t3", "output": "[Loaded tool: WebFetch]"}
            ])
        );
    }

    #[test]
    fn user_images_and_documents() {
        let out = translate(json!({
            "model": "gpt-5.5",
            "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
                {"type": "document", "title": "notes", "source": {"type": "text", "media_type": "text/plain", "data": "body"}},
                {"type": "text", "text": "   "}
            ]}]
        }));
        assert_eq!(
            out["input"],
            json!([{"type": "message", "role": "user", "content": [
                {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
                {"type": "input_file", "filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBER"},
                {"type": "input_text", "text": "notes\n\nbody"}
            ]}])
        );
    }

    #[test]
    fn foreign_and_redacted_thinking_is_dropped_and_bare_fernet_tokens_are_kept() {
        let out = translate(json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "x", "signature": "EqQBCkgIAxABGAIiQ"},
                    {"type": "thinking", "thinking": "y", "signature": ""},
                    {"type": "redacted_thinking", "data": "abc"},
                    {"type": "thinking", "thinking": "", "signature": "gAAAAraw"},
                    {"type": "text", "text": "answer"}
                ]}
            ]
        }));
        assert_eq!(
            out["input"],
            json!([
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAraw"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "answer", "annotations": []}]}
            ])
        );
    }

    #[test]
    fn orphaned_calls_get_an_output_and_stray_outputs_become_text() {
        let out = translate(json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "ghost", "content": "late"}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]},
                {"role": "user", "content": "never mind"}
            ]
        }));
        assert_eq!(
            out["input"],
            json!([
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "[tool result for ghost]\nlate"}]},
                {"type": "function_call", "call_id": "t1", "name": "Bash", "arguments": "{\"command\":\"ls\"}"},
                {"type": "function_call_output", "call_id": "t1", "output": "[no result: tool call was interrupted]"},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "never mind"}]}
            ])
        );
    }

    #[test]
    fn long_tool_names_are_shortened_consistently_and_mapped_back() {
        let long = "mcp__some_long_server_name__a_really_long_tool_name_exceeding_limits_xyz";
        assert!(long.len() > 64);
        let request: MessagesRequest = serde_json::from_value(json!({
            "model": "gpt-5.5",
            "tools": [{"name": long, "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": long},
            "messages": [
                {"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": long, "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}
            ]
        }))
        .unwrap();
        let (upstream, names) = messages_to_responses(&request, &models(), None).unwrap();
        let short = "mcp__a_really_long_tool_name_exceeding_limits_xyz";
        let out = serde_json::to_value(&upstream).unwrap();
        assert_eq!(out["tools"][0]["name"], json!(short));
        assert_eq!(
            out["tools"][0]["parameters"],
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            out["tool_choice"],
            json!({"type": "function", "name": short})
        );
        assert_eq!(out["input"][1]["name"], json!(short));
        assert_eq!(names.original(short), long);
        assert_eq!(names.original("Bash"), "Bash");
        // Collisions get a numeric suffix and stay within 64 characters.
        let a = format!("{}a", "x".repeat(70));
        let b = format!("{}b", "x".repeat(70));
        let map = ToolNameMap::build([a.as_str(), b.as_str()]);
        assert_eq!(map.short(&a), "x".repeat(64));
        assert_eq!(map.short(&b), format!("{}_1", "x".repeat(62)));
    }

    #[test]
    fn tool_choice_and_parallel_calls() {
        let base = |choice: Value| {
            translate(json!({
                "model": "gpt-5.5",
                "tools": [{"name": "Bash", "input_schema": {"type": "object", "properties": {}}}],
                "tool_choice": choice,
                "messages": [{"role": "user", "content": "x"}]
            }))
        };
        let out = base(json!({"type": "tool", "name": "Bash", "disable_parallel_tool_use": true}));
        assert_eq!(
            (
                out["tool_choice"].clone(),
                out["parallel_tool_calls"].clone()
            ),
            (json!({"type": "function", "name": "Bash"}), json!(false))
        );
        assert_eq!(
            base(json!({"type": "any"}))["tool_choice"],
            json!("required")
        );
        assert_eq!(base(json!({"type": "none"}))["tool_choice"], json!("none"));
        assert_eq!(
            base(json!({"type": "auto"}))["parallel_tool_calls"],
            json!(true)
        );
        let err = translate_err(json!({
            "model": "gpt-5.5", "tool_choice": {"type": "tool", "name": "Nope"},
            "messages": [{"role": "user", "content": "x"}]
        }));
        assert_eq!(
            err,
            TranslateError::Invalid(
                "tool_choice.name: no tool named \"Nope\" is defined in tools.".into()
            )
        );
    }

    #[test]
    fn effort_follows_budget_or_explicit_effort_clamped_to_the_model() {
        let effort = |model: &str, extra: Value| {
            let mut body = json!({"model": model, "messages": [{"role": "user", "content": "x"}]});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            translate(body).get("reasoning").cloned()
        };
        let r = |e: &str| Some(json!({"effort": e, "summary": "auto"}));
        assert_eq!(
            effort(
                "claude-sonnet-4-5",
                json!({"thinking": {"type": "enabled", "budget_tokens": 31999}})
            ),
            r("xhigh")
        );
        assert_eq!(
            effort(
                "gpt-5.5",
                json!({"thinking": {"type": "enabled", "budget_tokens": 1024}})
            ),
            r("low")
        );
        assert_eq!(
            effort(
                "gpt-5.5",
                json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}})
            ),
            r("xhigh")
        );
        assert_eq!(
            effort(
                "gpt-5.1",
                json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}})
            ),
            r("high")
        );
        assert_eq!(effort("gpt-5.5", json!({})), None);
        assert_eq!(
            effort("gpt-5.5", json!({"thinking": {"type": "disabled"}})),
            None
        );
    }

    #[test]
    fn unknown_models_and_bad_blocks_are_refused() {
        let err = translate_err(json!({"model": "gpt-4o", "messages": []}));
        assert!(matches!(err, TranslateError::UnknownModel(_)));
        let err = translate_err(json!({"model": "gpt-5.5", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image", "source": {"type": "file", "file_id": "f"}}]}
        ]}));
        assert_eq!(
            err,
            TranslateError::Invalid(
                "messages[0].content[1]: this image source type is not supported; send base64 or url.".into()
            )
        );
    }

    #[test]
    fn structured_output_becomes_text_format() {
        let out = translate(json!({
            "model": "gpt-5.5",
            "output_config": {"format": {"type": "json_schema", "schema": {"$schema": "x", "type": "object", "properties": {"title": {"type": "string"}}}}},
            "messages": [{"role": "user", "content": "title?"}]
        }));
        assert_eq!(
            out["text"],
            json!({"format": {"type": "json_schema", "name": "response", "strict": false,
                              "schema": {"type": "object", "properties": {"title": {"type": "string"}}}}})
        );
    }

    #[test]
    fn signatures_round_trip() {
        let sig = encode_reasoning_signature("rs_abc", "gAAAAB-xyz=");
        assert_eq!(sig, "cdx1:rs_abc:gAAAAB-xyz=");
        assert_eq!(decode_reasoning_signature(&sig), Some("gAAAAB-xyz="));
        assert_eq!(decode_reasoning_signature("gAAAAraw"), Some("gAAAAraw"));
        assert_eq!(decode_reasoning_signature("EqQBCkgI"), None);
        assert_eq!(decode_reasoning_signature("cdx1:rs:EqQ"), None);
        assert_eq!(decode_reasoning_signature(""), None);
    }

    #[test]
    fn session_ids_are_kept_when_header_safe_and_hashed_stably_otherwise() {
        let uuid = "0f9c2a4e-6d2b-4b8e-9a51-3c1e2f7d8a90";
        assert_eq!(header_safe_key(uuid).as_deref(), Some(uuid));
        assert_eq!(header_safe_key("  "), None);
        let long = "s".repeat(100_000);
        let hashed = header_safe_key(&long).unwrap();
        assert_eq!(hashed.len(), "sha256-".len() + 32);
        assert_eq!(header_safe_key(&long), Some(hashed.clone()));
        assert_ne!(header_safe_key(&"s".repeat(99_999)), Some(hashed));
        let odd = header_safe_key("a b\u{e9}").unwrap();
        assert!(odd.starts_with("sha256-"), "{odd}");
    }

    #[test]
    fn empty_tool_ids_are_refused_naming_the_block() {
        let err = translate_err(json!({"model": "gpt-5.5", "max_tokens": 10, "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}, {"type": "tool_use", "id": "", "name": "Bash", "input": {}}]}
        ]}));
        assert_eq!(
            err.to_string(),
            "messages[1].content[1].id: a tool use id must not be empty."
        );
        let err = translate_err(json!({"model": "gpt-5.5", "max_tokens": 10, "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "", "content": "x"}]}
        ]}));
        assert_eq!(
            err.to_string(),
            "messages[0].content[0].tool_use_id: a tool use id must not be empty."
        );
    }
}
