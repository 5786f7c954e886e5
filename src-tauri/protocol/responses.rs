//! The ChatGPT Codex backend's Responses wire format (docs/protocol.md §4–§5): the request
//! codexia sends and the stream events it reads. Every event and item type has an `Unknown`
//! variant: the backend adds types over time and an unknown one must never break a stream.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json_text::JsonText;

/// `POST /codex/responses` body. Only the fields the official client sends
/// (`ResponsesApiRequest` in openai/codex): anything else risks `Unsupported parameter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResponsesRequest {
    pub model: String,
    /// Required by the backend even when empty (`Instructions are required`).
    pub instructions: String,
    pub input: Vec<InputItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    pub tool_choice: ToolChoice,
    pub parallel_tool_calls: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// Must be false: the backend stores nothing for ChatGPT accounts.
    pub store: bool,
    /// Must be true: the backend only streams.
    pub stream: bool,
    /// `reasoning.encrypted_content`, so reasoning can be replayed statelessly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextControls>,
    /// Only `priority`, and only when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
}

/// The value of `include` that returns encrypted reasoning.
pub(crate) const INCLUDE_REASONING: &str = "reasoning.encrypted_content";

/// One item of `input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum InputItem {
    Message {
        role: Role,
        content: Vec<ContentPart>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<String>,
    },
    FunctionCall {
        /// Must start with `fc` when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        call_id: String,
        name: String,
        /// A JSON document as a string.
        arguments: String,
    },
    FunctionCallOutput {
        call_id: String,
        output: FunctionOutput,
    },
    Reasoning {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(default)]
        summary: Vec<SummaryPart>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
}

/// Message roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    User,
    Assistant,
    Developer,
    System,
}

/// A content part of an input message. Texts may be the client's literals, written verbatim
/// ([`JsonText`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentPart {
    InputText {
        text: JsonText,
    },
    InputImage {
        /// A data URL or an https URL.
        image_url: String,
        #[serde(default = "detail_auto")]
        detail: String,
    },
    /// A file (e.g. a PDF) as a data URL.
    InputFile {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        file_data: String,
    },
    /// Assistant history.
    OutputText {
        text: JsonText,
        #[serde(default)]
        annotations: Vec<Value>,
    },
    Refusal {
        refusal: String,
    },
}

fn detail_auto() -> String {
    "auto".to_owned()
}

/// `function_call_output.output`: a string or content parts (text and images).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum FunctionOutput {
    Text(JsonText),
    Parts(Vec<ContentPart>),
}

/// A reasoning summary part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryPart {
    #[serde(rename = "type", default = "summary_text")]
    pub kind: String,
    pub text: String,
}

fn summary_text() -> String {
    "summary_text".to_owned()
}

/// A tool: flat function tools (the nested Chat shape is rejected by the backend), or the
/// backend's own web search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Tool {
    Function {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<JsonText>,
        parameters: Value,
        #[serde(default)]
        strict: bool,
    },
    /// Searched by the backend; the results come back as a `web_search_call` item.
    WebSearch {
        /// `{"allowed_domains": [...]}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filters: Option<Value>,
        /// `{"type": "approximate", "city", "region", "country", "timezone"}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_location: Option<Value>,
    },
}

impl Tool {
    /// The name of a function tool.
    pub(crate) fn function_name(&self) -> Option<&str> {
        match self {
            Self::Function { name, .. } => Some(name),
            Self::WebSearch { .. } => None,
        }
    }
}

/// `tool_choice`: a mode, or one named function (flat form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum ToolChoice {
    /// `auto`, `none` or `required`.
    Mode(String),
    Function {
        #[serde(rename = "type")]
        kind: String,
        name: String,
    },
}

impl ToolChoice {
    pub(crate) fn auto() -> Self {
        Self::Mode("auto".to_owned())
    }

    pub(crate) fn function(name: impl Into<String>) -> Self {
        Self::Function {
            kind: "function".to_owned(),
            name: name.into(),
        }
    }
}

/// `reasoning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Reasoning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// `text`: verbosity and structured-output format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TextControls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
}

// ---------------------------------------------------------------------------------------------
// Stream events
// ---------------------------------------------------------------------------------------------

/// One event of the response stream (the `data:` JSON; its `type` equals the `event:` name).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum ResponsesEvent {
    #[serde(rename = "response.created")]
    Created { response: ResponseObject },
    #[serde(rename = "response.in_progress")]
    InProgress {
        #[serde(default)]
        response: Option<ResponseObject>,
    },
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded { output_index: u32, item: OutputItem },
    #[serde(rename = "response.output_item.done")]
    OutputItemDone { output_index: u32, item: OutputItem },
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        content_index: u32,
    },
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        content_index: u32,
    },
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        content_index: u32,
        delta: String,
    },
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        content_index: u32,
        #[serde(default)]
        text: String,
    },
    #[serde(rename = "response.refusal.delta")]
    RefusalDelta {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        content_index: u32,
        delta: String,
    },
    #[serde(rename = "response.refusal.done")]
    RefusalDone {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        refusal: String,
    },
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        delta: String,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        arguments: String,
    },
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        summary_index: u32,
    },
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        summary_index: u32,
    },
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        summary_index: u32,
        delta: String,
    },
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        summary_index: u32,
        #[serde(default)]
        text: String,
    },
    /// Raw reasoning text (some models).
    #[serde(rename = "response.reasoning_text.delta")]
    ReasoningTextDelta {
        #[serde(default)]
        item_id: String,
        output_index: u32,
        #[serde(default)]
        content_index: u32,
        delta: String,
    },
    #[serde(rename = "response.completed", alias = "response.done")]
    Completed { response: ResponseObject },
    #[serde(rename = "response.incomplete")]
    Incomplete { response: ResponseObject },
    #[serde(rename = "response.failed")]
    Failed { response: ResponseObject },
    /// In-stream error, flat (`code`, `message`) or nested (`error: {type, code, message}`).
    #[serde(rename = "error")]
    Error {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        error: Option<ErrorBody>,
    },
    #[serde(other)]
    Unknown,
}

impl ResponsesEvent {
    /// Parses one `data:` payload.
    pub fn parse(data: &str) -> Result<Self, serde_json::Error> {
        parse_event(data)
    }
}

/// One `data:` payload as a [`ResponsesEvent`]. The events that carry the response object are
/// read straight into their variant: the backend echoes the request's instructions and tools in
/// that object (tens of KB a turn, three times), which the derived internally tagged parse would
/// first copy into a buffered tree only to drop it. Here they are skipped unread.
fn parse_event(data: &str) -> Result<ResponsesEvent, serde_json::Error> {
    /// The event's `type`, the rest skipped.
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    #[derive(Deserialize)]
    struct WithResponse {
        response: ResponseObject,
    }
    #[derive(Deserialize)]
    struct WithOptionalResponse {
        #[serde(default)]
        response: Option<ResponseObject>,
    }
    let response = || serde_json::from_str::<WithResponse>(data).map(|event| event.response);
    // The backend writes `type` first: read it there without a pass over the whole event.
    let head;
    let kind = if let Some(kind) = leading_type(data) {
        kind
    } else {
        head = serde_json::from_str::<Head>(data)?;
        head.kind.as_ref()
    };
    Ok(match kind {
        "response.created" => ResponsesEvent::Created {
            response: response()?,
        },
        "response.in_progress" => ResponsesEvent::InProgress {
            response: serde_json::from_str::<WithOptionalResponse>(data)?.response,
        },
        "response.completed" | "response.done" => ResponsesEvent::Completed {
            response: response()?,
        },
        "response.incomplete" => ResponsesEvent::Incomplete {
            response: response()?,
        },
        "response.failed" => ResponsesEvent::Failed {
            response: response()?,
        },
        _ => serde_json::from_str(data)?,
    })
}

/// Where an event leaves the response stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// More events follow.
    Continues,
    /// The terminal event of an answer: `response.completed` (or `done`), `response.incomplete`.
    Ends,
    /// The stream failed: `response.failed` or an `error` event, with its error object.
    Fails(ErrorBody),
}

/// An upstream event in the form a consumer reads it, parsed once from its `data:` JSON: the
/// typed [`ResponsesEvent`] for the translators, or the JSON itself for the `/v1/responses`
/// pass-through, which relays what it does not know.
pub trait BackendEvent: Sized + Send + 'static {
    /// Parses one `data:` payload.
    fn parse(data: &str) -> Result<Self, serde_json::Error>;
    /// Whether this event ends the stream, and how.
    fn end(&self) -> StreamEnd;
}

/// The `type` of an event whose JSON starts with it, when it has no escapes.
fn leading_type(data: &str) -> Option<&str> {
    let rest = data.strip_prefix(r#"{"type":""#)?;
    let kind = &rest[..rest.find('"')?];
    (!kind.contains('\\')).then_some(kind)
}

impl BackendEvent for ResponsesEvent {
    fn parse(data: &str) -> Result<Self, serde_json::Error> {
        parse_event(data)
    }

    fn end(&self) -> StreamEnd {
        match self {
            Self::Completed { .. } | Self::Incomplete { .. } => StreamEnd::Ends,
            Self::Failed { response } => {
                StreamEnd::Fails(response.error.clone().unwrap_or_default())
            }
            Self::Error {
                code,
                message,
                error,
            } => StreamEnd::Fails(error.clone().unwrap_or_else(|| ErrorBody {
                code: code.clone(),
                message: message.clone(),
                ..ErrorBody::default()
            })),
            _ => StreamEnd::Continues,
        }
    }
}

impl BackendEvent for Value {
    fn parse(data: &str) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_str(data)?;
        if value.get("type").and_then(Value::as_str).is_none() {
            return Err(serde::de::Error::custom("an event without a type"));
        }
        Ok(value)
    }

    fn end(&self) -> StreamEnd {
        let error_at = |pointer: &str| {
            self.pointer(pointer)
                .and_then(|error| ErrorBody::deserialize(error).ok())
        };
        match self.get("type").and_then(Value::as_str) {
            Some("response.completed" | "response.done" | "response.incomplete") => StreamEnd::Ends,
            Some("response.failed") => {
                StreamEnd::Fails(error_at("/response/error").unwrap_or_default())
            }
            Some("error") => StreamEnd::Fails(error_at("/error").unwrap_or_else(|| {
                let text = |key: &str| self.get(key).and_then(Value::as_str).map(str::to_owned);
                ErrorBody {
                    code: text("code"),
                    message: text("message"),
                    ..ErrorBody::default()
                }
            })),
            _ => StreamEnd::Continues,
        }
    }
}

/// The `response` object inside created/completed/incomplete/failed events.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ResponseObject {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub created_at: Option<i64>,
    /// May be empty even when items were streamed; rebuild from `output_item.done` then.
    #[serde(default)]
    pub output: Vec<OutputItem>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub error: Option<ErrorBody>,
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
}

/// An output item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    Message {
        #[serde(default)]
        id: String,
        #[serde(default)]
        content: Vec<OutputContent>,
        #[serde(default)]
        status: Option<String>,
    },
    Reasoning {
        #[serde(default)]
        id: String,
        #[serde(default)]
        summary: Vec<SummaryPart>,
        #[serde(default)]
        encrypted_content: Option<String>,
    },
    /// A search the backend ran (`web_search` tool); `action` is `{"type": "search", "query",
    /// "sources"?}` (other action types exist: `open_page`, `find`).
    WebSearchCall {
        #[serde(default)]
        id: String,
        #[serde(default)]
        status: Option<String>,
        #[serde(default)]
        action: Option<Value>,
    },
    FunctionCall {
        #[serde(default)]
        id: String,
        /// `output_item.added` may carry the call before its id and name are known; the
        /// translators wait for them rather than failing the stream.
        #[serde(default)]
        call_id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        arguments: String,
        #[serde(default)]
        status: Option<String>,
    },
    #[serde(other)]
    Unknown,
}

/// Content of an output message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputContent {
    OutputText {
        #[serde(default)]
        text: String,
    },
    Refusal {
        #[serde(default)]
        refusal: String,
    },
    #[serde(other)]
    Unknown,
}

/// Token usage of a response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub input_tokens_details: Option<InputTokensDetails>,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub output_tokens_details: Option<OutputTokensDetails>,
    #[serde(default)]
    pub total_tokens: u64,
}

impl Usage {
    /// Input tokens served from the prompt cache.
    pub fn cached_tokens(&self) -> u64 {
        self.input_tokens_details.map_or(0, |d| d.cached_tokens)
    }

    /// Output tokens spent on reasoning.
    pub fn reasoning_tokens(&self) -> u64 {
        self.output_tokens_details.map_or(0, |d| d.reasoning_tokens)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct InputTokensDetails {
    #[serde(default)]
    pub cached_tokens: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct OutputTokensDetails {
    #[serde(default)]
    pub reasoning_tokens: u64,
}

/// An error object (`response.error`, or the nested `error` of an error event).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorBody {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// `usage_limit_reached`: seconds until the window resets.
    #[serde(default)]
    pub resets_in_seconds: Option<u64>,
    #[serde(default)]
    pub resets_at: Option<i64>,
}

/// Why a response is incomplete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IncompleteDetails {
    #[serde(default)]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn a_request_serialises_in_the_backend_shape() {
        let request = ResponsesRequest {
            model: "gpt-5.5".into(),
            instructions: String::new(),
            input: vec![
                InputItem::Message {
                    role: Role::User,
                    content: vec![ContentPart::InputText { text: "hi".into() }],
                    id: None,
                    status: None,
                },
                InputItem::FunctionCall {
                    id: None,
                    call_id: "call_1".into(),
                    name: "lookup".into(),
                    arguments: "{}".into(),
                },
                InputItem::FunctionCallOutput {
                    call_id: "call_1".into(),
                    output: FunctionOutput::Text("done".into()),
                },
            ],
            tools: vec![Tool::Function {
                name: "lookup".into(),
                description: None,
                parameters: json!({"type": "object"}),
                strict: false,
            }],
            tool_choice: ToolChoice::function("lookup"),
            parallel_tool_calls: true,
            reasoning: Some(Reasoning {
                effort: Some("medium".into()),
                summary: Some("auto".into()),
            }),
            store: false,
            stream: true,
            include: vec![INCLUDE_REASONING.into()],
            prompt_cache_key: None,
            text: None,
            service_tier: None,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({
                "model": "gpt-5.5", "instructions": "",
                "input": [
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                    {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": "done"}
                ],
                "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}, "strict": false}],
                "tool_choice": {"type": "function", "name": "lookup"},
                "parallel_tool_calls": true,
                "reasoning": {"effort": "medium", "summary": "auto"},
                "store": false, "stream": true,
                "include": ["reasoning.encrypted_content"]
            })
        );
    }

    #[test]
    fn stream_events_parse_and_unknown_types_are_tolerated() {
        let delta = ResponsesEvent::parse(
            r#"{"type":"response.output_text.delta","sequence_number":10,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hel","obfuscation":"x"}"#,
        )
        .unwrap();
        assert_eq!(
            delta,
            ResponsesEvent::OutputTextDelta {
                item_id: "msg_1".into(),
                output_index: 1,
                content_index: 0,
                delta: "Hel".into()
            }
        );
        assert_eq!(
            ResponsesEvent::parse(r#"{"type":"response.web_search_call.searching","x":1}"#)
                .unwrap(),
            ResponsesEvent::Unknown
        );
        let done = ResponsesEvent::parse(r#"{"type":"response.done","response":{"id":"r","output":[],"usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5,"input_tokens_details":null}}}"#).unwrap();
        let ResponsesEvent::Completed { response } = done else {
            panic!("not completed")
        };
        assert_eq!(response.usage.unwrap().input_tokens, 3);
    }

    #[test]
    fn response_object_events_parse_as_the_derived_parse_reads_them() {
        let response = json!({"id": "resp_1", "status": "completed", "model": "gpt-5.5",
            "instructions": "Be brief.\n", "tools": [{"type": "function", "name": "Bash", "parameters": {"type": "object"}}],
            "output": [{"type": "message", "id": "msg_1", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}],
            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}, "error": null});
        for event in [
            json!({"type": "response.created", "sequence_number": 0, "response": response}),
            json!({"response": response, "type": "response.in_progress"}),
            json!({"type": "response.in_progress"}),
            json!({"type": "response.completed", "response": response}),
            json!({"type": "response.done", "response": response}),
            json!({"type": "response.incomplete", "response": response}),
            json!({"type": "response.failed", "response": {"id": "r", "error": {"code": "server_error", "message": "boom"}}}),
        ] {
            let data = event.to_string();
            let derived: ResponsesEvent = serde_json::from_str(&data).unwrap();
            assert_eq!(ResponsesEvent::parse(&data).unwrap(), derived, "{data}");
            // `type` not first, or spaced: read by the full pass.
            let spaced = serde_json::to_string_pretty(&event).unwrap();
            assert_eq!(ResponsesEvent::parse(&spaced).unwrap(), derived, "{spaced}");
        }
        let escaped = r#"{"type":"response.\u0063ompleted","response":{"id":"r"}}"#;
        assert!(matches!(
            ResponsesEvent::parse(escaped).unwrap(),
            ResponsesEvent::Completed { .. }
        ));
        for bad in [
            r#"{"type": "response.created"}"#,
            r#"{"response": {}}"#,
            "[DONE]",
        ] {
            assert!(ResponsesEvent::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn both_error_event_shapes_parse() {
        let flat = ResponsesEvent::parse(r#"{"type":"error","code":"context_length_exceeded","message":"too long","sequence_number":2}"#).unwrap();
        assert_eq!(
            flat,
            ResponsesEvent::Error {
                code: Some("context_length_exceeded".into()),
                message: Some("too long".into()),
                error: None
            }
        );
        let nested = ResponsesEvent::parse(r#"{"type":"error","error":{"type":"usage_limit_reached","message":"You've hit your usage limit.","resets_in_seconds":300}}"#).unwrap();
        let ResponsesEvent::Error {
            error: Some(body), ..
        } = nested
        else {
            panic!("no body")
        };
        assert_eq!(body.kind.as_deref(), Some("usage_limit_reached"));
        assert_eq!(body.resets_in_seconds, Some(300));
    }
}
