//! `POST /v1/responses` (docs/compatibility.md §6): clients already speak Responses, so the body
//! passes through, normalised to the backend's contract; the answer's events pass through too, with
//! the few repairs the backend's stream needs. Pure: the store of earlier responses is reached
//! through a caller-provided lookup.
//!
//! Request ([`normalise_responses_request`]):
//! - only the official client's field set is sent (`model, instructions, input, tools,
//!   tool_choice, parallel_tool_calls, reasoning, store, stream, include, prompt_cache_key,
//!   text`); everything else (`max_output_tokens`, `temperature`, `top_p`, `truncation`,
//!   `metadata`, `user`, `background`, `stream_options`, …) is dropped; `store:false`,
//!   `stream:true` always;
//! - `role:"system"` input messages are lifted into `instructions`, which is always present;
//! - item ids are stripped (nothing is stored upstream, so ids would dangle), reasoning items
//!   without `encrypted_content` and `item_reference`s are dropped, `function_call.arguments`
//!   becomes a string and `function_call_output.output` a string or a part list;
//! - nested (Chat-shaped) tool definitions and `tool_choice` are flattened; `reasoning.effort`
//!   is clamped to the model;
//! - `previous_response_id` is expanded from the earlier request's input and output (the
//!   caller's lookup), or refused with a 400 that says why.
//!
//! Answer ([`ResponsesRelay`]): events are relayed as they come, with `model` rewritten to the
//! id the client asked for, missing `sequence_number`s filled in, and an empty
//! `response.completed.output` backfilled from the `output_item.done` items (the Python SDK's
//! final response is the completed event's). A failure after the stream started ends it with a
//! `response.failed` event, so SDK helpers never wait for a terminal event that cannot come.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use serde::Deserialize;

use super::effort::clamp_effort;
use super::messages_request::{
    DEFAULT_INSTRUCTIONS, TranslateError, check_call_id, check_image_detail, header_safe_key,
};
use super::{SseFrame, StreamTranslator};
use crate::models::ModelMap;
use crate::protocol::error::{ApiError, ErrorKind};
use crate::protocol::responses::{INCLUDE_REASONING, Usage};

/// Top-level fields forwarded to the backend (the official client's set, docs/protocol.md §4.3).
const FORWARDED_FIELDS: &[&str] = &[
    "model",
    "instructions",
    "input",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning",
    "store",
    "stream",
    "include",
    "prompt_cache_key",
    "text",
];

/// A normalised `/v1/responses` request.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedResponses {
    /// The body sent upstream.
    pub upstream: Value,
    /// The model id the client asked for (echoed in the answer).
    pub requested_model: String,
    /// Whether the client wants an event stream (the upstream always streams).
    pub stream: bool,
    /// Whether the answer should be kept for a later `previous_response_id` (the client did not
    /// say `store: false`).
    pub remember: bool,
}

impl PreparedResponses {
    /// The input items sent upstream (earlier turns included), for the local store.
    pub fn input(&self) -> Vec<Value> {
        self.upstream
            .get("input")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// The session id for the upstream `session_id` header (the prompt cache key).
    pub fn session_id(&self) -> Option<&str> {
        self.upstream
            .get("prompt_cache_key")
            .and_then(Value::as_str)
    }
}

/// Normalises a client's body for the backend. `previous` answers the input+output items of a
/// response this process served earlier, by id.
pub fn normalise_responses_request(
    body: &Value,
    models: &ModelMap,
    previous: impl FnOnce(&str) -> Option<Vec<Value>>,
) -> Result<PreparedResponses, TranslateError> {
    let Some(object) = body.as_object() else {
        return Err(invalid("The request body must be a JSON object."));
    };
    let requested_model = object
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("model: a model id is required."))?
        .to_owned();
    let model = models.resolve(&requested_model)?.upstream;
    let stream = object
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let remember = object.get("store").and_then(Value::as_bool) != Some(false);

    if object.get("conversation").is_some_and(|c| !c.is_null()) {
        return Err(invalid(
            "conversation: conversations are not available through the ChatGPT backend; send the earlier turns in input (or use previous_response_id).",
        ));
    }
    let mut items: Vec<Value> = Vec::new();
    if let Some(id) = object.get("previous_response_id").filter(|v| !v.is_null()) {
        let id = id
            .as_str()
            .ok_or_else(|| invalid("previous_response_id: must be a string."))?;
        let earlier = previous(id).ok_or_else(|| {
            invalid(&format!(
                "previous_response_id: no response {id:?} is known here. The ChatGPT backend stores nothing, so codexia can only continue recent responses it served itself since it started; send the earlier turns in input instead."
            ))
        })?;
        items.extend(earlier);
    }
    match object.get("input") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => items.push(json!({
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}],
        })),
        Some(Value::Array(list)) => {
            check_client_items(list)?;
            items.extend(list.iter().cloned());
        }
        Some(_) => {
            return Err(invalid("input: must be a string or a list of input items."));
        }
    }

    let mut instructions: Vec<String> = match object.get("instructions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![text.clone()],
        Some(_) => return Err(invalid("instructions: must be a string.")),
    };
    let mut input = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        if let Some(item) = normalise_item(item, index, &mut instructions)? {
            input.push(item);
        }
    }
    instructions.retain(|text| !text.trim().is_empty());
    let instructions = if instructions.is_empty() {
        DEFAULT_INSTRUCTIONS.to_owned()
    } else {
        instructions.join("\n\n")
    };

    let mut upstream = Map::new();
    for field in FORWARDED_FIELDS {
        if let Some(value) = object.get(*field).filter(|v| !v.is_null()) {
            upstream.insert((*field).to_owned(), value.clone());
        }
    }
    upstream.insert("model".to_owned(), json!(model));
    upstream.insert("instructions".to_owned(), json!(instructions));
    upstream.insert("input".to_owned(), Value::Array(input));
    upstream.insert("store".to_owned(), json!(false));
    upstream.insert("stream".to_owned(), json!(true));
    if let Some(tools) = upstream.get_mut("tools") {
        flatten_tools(tools)?;
    }
    if let Some(choice) = upstream.get_mut("tool_choice") {
        flatten_tool_choice(choice);
    }
    if let Some(reasoning) = upstream.get_mut("reasoning") {
        clamp_reasoning(reasoning, &model)?;
    }
    let include = upstream
        .entry("include")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = include.as_array_mut()
        && !list.iter().any(|v| v == INCLUDE_REASONING)
    {
        // Reasoning must come back encrypted to be replayable (previous_response_id, or a
        // client echoing output items) without server-side storage.
        list.push(json!(INCLUDE_REASONING));
    }
    // Capped and hashed when over-long or odd: it is also the backend's `session_id` header.
    let cache_key = upstream
        .remove("prompt_cache_key")
        .and_then(|key| key.as_str().and_then(header_safe_key))
        .or_else(|| {
            object
                .get("user")
                .and_then(Value::as_str)
                .and_then(header_safe_key)
        });
    if let Some(key) = cache_key {
        upstream.insert("prompt_cache_key".to_owned(), json!(key));
    }
    Ok(PreparedResponses {
        upstream: Value::Object(upstream),
        requested_model,
        stream,
        remember,
    })
}

/// What the backend refuses in the client's own items, refused here naming the client's field:
/// call ids that are missing, empty or over 64 characters, and unknown image `detail`s.
fn check_client_items(items: &[Value]) -> Result<(), TranslateError> {
    for (index, item) in items.iter().enumerate() {
        let kind = item.get("type").and_then(Value::as_str);
        if matches!(kind, Some("function_call" | "function_call_output")) {
            let field = format!("input[{index}].call_id");
            match item.get("call_id") {
                Some(Value::String(id)) => check_call_id(id, &field)?,
                _ => {
                    return Err(invalid(&format!(
                        "{field}: a tool call id (a string) is required."
                    )));
                }
            }
        }
        for key in ["content", "output"] {
            let Some(parts) = item.get(key).and_then(Value::as_array) else {
                continue;
            };
            for (part_index, part) in parts.iter().enumerate() {
                if part.get("type").and_then(Value::as_str) != Some("input_image") {
                    continue;
                }
                match part.get("detail") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(detail)) => check_image_detail(
                        detail,
                        &format!("input[{index}].{key}[{part_index}].detail"),
                    )?,
                    Some(_) => {
                        return Err(invalid(&format!(
                            "input[{index}].{key}[{part_index}].detail: must be a string."
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

fn invalid(message: &str) -> TranslateError {
    TranslateError::Invalid(message.to_owned())
}

/// Normalises one input item; `None` drops it (system messages go to `instructions`).
fn normalise_item(
    item: Value,
    index: usize,
    instructions: &mut Vec<String>,
) -> Result<Option<Value>, TranslateError> {
    let Value::Object(mut item) = item else {
        return Err(invalid(&format!(
            "input[{index}]: each input item must be an object."
        )));
    };
    let kind = match item.get("type").and_then(Value::as_str) {
        Some(kind) => kind.to_owned(),
        None if item.contains_key("role") => "message".to_owned(),
        None => {
            return Err(invalid(&format!(
                "input[{index}]: an input item needs a type."
            )));
        }
    };
    // Nothing is stored upstream: an id would name an item the backend does not have.
    item.remove("id");
    match kind.as_str() {
        "message" => {
            let role = item
                .get("role")
                .and_then(Value::as_str)
                .unwrap_or("user")
                .to_owned();
            if role == "system" {
                instructions.push(content_text(item.get("content")));
                return Ok(None);
            }
            if let Some(Value::String(text)) = item.get("content") {
                let part = if role == "assistant" {
                    json!({"type": "output_text", "text": text, "annotations": []})
                } else {
                    json!({"type": "input_text", "text": text})
                };
                item.insert("content".to_owned(), json!([part]));
            }
        }
        "reasoning" => {
            let replayable = item
                .get("encrypted_content")
                .and_then(Value::as_str)
                .is_some_and(|blob| !blob.is_empty());
            if !replayable {
                return Ok(None);
            }
        }
        "function_call" => {
            let arguments = match item.get("arguments") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(Value::String(text)) if text.trim().is_empty() => "{}".to_owned(),
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
            };
            item.insert("arguments".to_owned(), json!(arguments));
        }
        "function_call_output" => {
            let output = match item.get("output") {
                None | Some(Value::Null) => json!(""),
                Some(value @ (Value::String(_) | Value::Array(_))) => value.clone(),
                Some(other) => json!(other.to_string()),
            };
            item.insert("output".to_owned(), output);
        }
        // A reference to a stored item: nothing is stored upstream.
        "item_reference" => return Ok(None),
        _ => {}
    }
    Ok(Some(Value::Object(item)))
}

/// The text of a message's content (a string, or the `text` of its parts).
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// `{type:"function", function:{name,…}}` → `{type:"function", name, …}`; a function tool
/// without `parameters` gets an empty object schema.
fn flatten_tools(tools: &mut Value) -> Result<(), TranslateError> {
    let Some(list) = tools.as_array_mut() else {
        return Err(invalid("tools: must be a list."));
    };
    for (index, tool) in list.iter_mut().enumerate() {
        let Some(object) = tool.as_object_mut() else {
            return Err(invalid(&format!("tools[{index}]: must be an object.")));
        };
        if object.get("type").and_then(Value::as_str) != Some("function") {
            continue;
        }
        let mut field = format!("tools[{index}].parameters");
        if let Some(Value::Object(nested)) = object.remove("function") {
            if nested.contains_key("parameters") && !object.contains_key("parameters") {
                field = format!("tools[{index}].function.parameters");
            }
            for (key, value) in nested {
                object.entry(key).or_insert(value);
            }
        }
        match object.get("parameters") {
            None | Some(Value::Object(_)) => {}
            Some(Value::Null) => {
                object.remove("parameters");
            }
            Some(_) => {
                return Err(invalid(&format!("{field}: must be a JSON Schema object.")));
            }
        }
        if !object.get("name").is_some_and(Value::is_string) {
            return Err(invalid(&format!(
                "tools[{index}].name: a function tool needs a name."
            )));
        }
        object
            .entry("parameters")
            .or_insert_with(|| json!({"type": "object", "properties": {}}));
    }
    Ok(())
}

/// `{type:"function", function:{name}}` → `{type:"function", name}`.
fn flatten_tool_choice(choice: &mut Value) {
    let Some(object) = choice.as_object_mut() else {
        return;
    };
    if let Some(nested) = object.remove("function")
        && let Some(name) = nested.get("name").and_then(Value::as_str)
    {
        object.insert("type".to_owned(), json!("function"));
        object.insert("name".to_owned(), json!(name));
    }
}

fn clamp_reasoning(reasoning: &mut Value, model: &str) -> Result<(), TranslateError> {
    let Some(requested) = reasoning.get("effort").and_then(Value::as_str) else {
        return Ok(());
    };
    let effort = clamp_effort(model, requested).ok_or_else(|| {
        invalid(&format!(
            "reasoning.effort: unknown level {requested:?}; use one of none, minimal, low, medium, high, xhigh."
        ))
    })?;
    reasoning["effort"] = json!(effort);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The answer
// ---------------------------------------------------------------------------------------------

/// Relays the backend's events to a `/v1/responses` client and assembles the final response.
#[derive(Debug)]
pub struct ResponsesRelay {
    model: String,
    next_sequence: u64,
    /// The response object of `response.created` (the base of a synthetic `response.failed`).
    base: Option<Value>,
    /// `output_item.done` items by `output_index`.
    done_items: BTreeMap<u64, Value>,
    content_seen: bool,
    final_response: Option<Value>,
    finished: bool,
}

impl ResponsesRelay {
    /// A relay echoing `model` (the id the client asked for).
    pub fn new(model: String) -> Self {
        Self {
            model,
            next_sequence: 0,
            base: None,
            done_items: BTreeMap::new(),
            content_seen: false,
            final_response: None,
            finished: false,
        }
    }

    /// The final response object (after `response.completed` / `response.incomplete`).
    pub fn final_response(&self) -> Option<&Value> {
        self.final_response.as_ref()
    }

    /// Relays one upstream event (its raw `data:` JSON).
    fn relay(&mut self, raw: &Value) -> Vec<SseFrame> {
        if self.finished {
            return Vec::new();
        }
        let mut event = raw.clone();
        let Some(kind) = event.get("type").and_then(Value::as_str).map(str::to_owned) else {
            return Vec::new();
        };
        if let Some(seen) = event.get("sequence_number").and_then(Value::as_u64) {
            self.next_sequence = seen + 1;
        } else {
            event["sequence_number"] = json!(self.next_sequence);
            self.next_sequence += 1;
        }
        if let Some(response) = event.get_mut("response").filter(|r| r.is_object()) {
            response["model"] = json!(self.model);
        }
        match kind.as_str() {
            "response.created" | "response.in_progress" => {
                if let Some(response) = event.get("response") {
                    self.base = Some(response.clone());
                }
            }
            "response.output_item.done" => {
                self.content_seen = true;
                if let (Some(index), Some(item)) = (
                    event.get("output_index").and_then(Value::as_u64),
                    event.get("item"),
                ) {
                    self.done_items.insert(index, item.clone());
                }
            }
            "response.completed" | "response.incomplete" | "response.done" => {
                self.content_seen = true;
                if let Some(response) = event.get_mut("response") {
                    let empty = response
                        .get("output")
                        .and_then(Value::as_array)
                        .is_none_or(Vec::is_empty);
                    if empty && !self.done_items.is_empty() {
                        response["output"] =
                            Value::Array(self.done_items.values().cloned().collect());
                    }
                    self.final_response = Some(response.clone());
                }
                self.finished = true;
            }
            _ => self.content_seen = true,
        }
        vec![SseFrame::named(kind, &event)]
    }
}

impl StreamTranslator for ResponsesRelay {
    type Event = Value;
    type Answer = Value;

    fn push(&mut self, event: &Value) -> Vec<SseFrame> {
        self.relay(event)
    }

    /// Ends the stream with a `response.failed` event built from what was relayed.
    fn fail(&mut self, error: &ApiError) -> Vec<SseFrame> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        let mut response = self.base.clone().unwrap_or_else(|| {
            json!({
                "id": "resp_codexia_failed", "object": "response", "created_at": 0,
                "output": [], "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
            })
        });
        response["model"] = json!(self.model);
        response["status"] = json!("failed");
        response["output"] = Value::Array(self.done_items.values().cloned().collect());
        response["error"] = json!({"code": failed_code(error), "message": error.message});
        let event = json!({
            "type": "response.failed",
            "sequence_number": self.next_sequence,
            "response": response,
        });
        self.next_sequence += 1;
        vec![SseFrame::named("response.failed", &event)]
    }

    /// Whether an event beyond `response.created` / `in_progress` was relayed.
    fn has_content(&self) -> bool {
        self.content_seen
    }

    /// Whether the stream ended (terminal event relayed, or failed).
    fn is_finished(&self) -> bool {
        self.finished
    }

    /// An SSE comment, as for chat: clients skip it.
    fn keep_alive(&self) -> SseFrame {
        SseFrame::comment("keep-alive")
    }

    fn usage(&self) -> Option<Usage> {
        let usage = self.final_response.as_ref()?.get("usage")?;
        Usage::deserialize(usage).ok()
    }

    /// The final response object.
    fn into_answer(self) -> Option<Value> {
        self.final_response
    }
}

/// The `response.error.code` for an error: one the openai SDKs know.
fn failed_code(error: &ApiError) -> &'static str {
    match error.kind {
        ErrorKind::RateLimited => "rate_limit_exceeded",
        ErrorKind::InvalidRequest => "invalid_prompt",
        _ => "server_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::BUILTIN_MODELS;
    use pretty_assertions::assert_eq;

    fn models() -> ModelMap {
        ModelMap::new(
            BUILTIN_MODELS.iter().map(|s| (*s).to_owned()),
            std::collections::BTreeMap::new(),
            None,
        )
    }

    #[test]
    fn a_client_body_is_normalised_to_the_backend_contract() {
        let body = json!({
            "model": "claude-sonnet-4-5",
            "instructions": "Be brief.",
            "input": [
                {"role": "system", "content": "System rule."},
                {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "Second rule."}]},
                {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAA1", "summary": []},
                {"type": "reasoning", "id": "rs_2", "summary": [{"type": "summary_text", "text": "lost"}]},
                {"type": "message", "id": "msg_1", "role": "assistant", "content": "Earlier answer."},
                {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": {"q": "x"}},
                {"type": "function_call_output", "call_id": "call_1", "output": {"ok": true}},
                {"type": "item_reference", "id": "msg_0"},
                {"role": "user", "content": "Next?"}
            ],
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "d"}}, {"type": "web_search"}],
            "tool_choice": {"type": "function", "function": {"name": "lookup"}},
            "reasoning": {"effort": "minimal", "summary": "auto"},
            "store": true, "stream": false, "max_output_tokens": 64, "temperature": 0.1, "top_p": 1,
            "truncation": "auto", "metadata": {"a": "b"}, "user": "u-1", "safety_identifier": "s",
            "prompt_cache_retention": "24h", "background": false, "stream_options": {"include_obfuscation": false},
            "service_tier": "auto", "text": {"verbosity": "low"}
        });
        let prepared = normalise_responses_request(&body, &models(), |_| None).unwrap();
        assert_eq!(
            prepared,
            PreparedResponses {
                upstream: json!({
                    "model": "gpt-5.5",
                    "instructions": "Be brief.\n\nSystem rule.\n\nSecond rule.",
                    "input": [
                        {"type": "reasoning", "encrypted_content": "gAAAA1", "summary": []},
                        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Earlier answer.", "annotations": []}]},
                        {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{\"q\":\"x\"}"},
                        {"type": "function_call_output", "call_id": "call_1", "output": "{\"ok\":true}"},
                        {"role": "user", "content": [{"type": "input_text", "text": "Next?"}]}
                    ],
                    "tools": [
                        {"type": "function", "name": "lookup", "description": "d", "parameters": {"type": "object", "properties": {}}},
                        {"type": "web_search"}
                    ],
                    "tool_choice": {"type": "function", "name": "lookup"},
                    "reasoning": {"effort": "low", "summary": "auto"},
                    "store": false,
                    "stream": true,
                    "include": ["reasoning.encrypted_content"],
                    "prompt_cache_key": "u-1",
                    "text": {"verbosity": "low"}
                }),
                requested_model: "claude-sonnet-4-5".into(),
                stream: false,
                remember: true,
            }
        );
    }

    #[test]
    fn previous_response_id_expands_from_the_lookup_or_is_refused() {
        let body = json!({"model": "gpt-5.5", "input": "And then?", "previous_response_id": "resp_1", "store": false});
        let prepared = normalise_responses_request(&body, &models(), |id| {
            assert_eq!(id, "resp_1");
            Some(vec![
                json!({"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}),
                json!({"type": "message", "id": "msg_9", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": "Hello", "annotations": []}]}),
            ])
        })
        .unwrap();
        assert_eq!(
            prepared.upstream["input"],
            json!([
                {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
                {"type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "Hello", "annotations": []}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And then?"}]}
            ])
        );
        assert_eq!(
            prepared.upstream["instructions"],
            json!(DEFAULT_INSTRUCTIONS)
        );
        assert!(!prepared.remember);
        assert_eq!(prepared.upstream.get("previous_response_id"), None);

        let err = normalise_responses_request(&body, &models(), |_| None).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("previous_response_id: no response \"resp_1\" is known here."),
            "{err}"
        );
    }

    #[test]
    fn bad_bodies_are_refused_naming_the_field() {
        let cases = [
            (json!({"input": "hi"}), "model: a model id is required."),
            (
                json!({"model": "gpt-5.5", "input": 3}),
                "input: must be a string",
            ),
            (
                json!({"model": "gpt-5.5", "input": [1]}),
                "input[0]: each input item",
            ),
            (
                json!({"model": "gpt-5.5", "reasoning": {"effort": "huge"}}),
                "reasoning.effort: unknown level",
            ),
            (
                json!({"model": "gpt-5.5", "conversation": "conv_1"}),
                "conversation: ",
            ),
            (
                json!({"model": "gpt-5.5", "input": [
                    {"role": "user", "content": "hi"},
                    {"type": "function_call", "call_id": "x".repeat(500), "name": "f", "arguments": "{}"}]}),
                "input[1].call_id: a tool call id must be at most 64 characters",
            ),
            (
                json!({"model": "gpt-5.5", "input": [
                    {"type": "function_call_output", "call_id": "", "output": "x"}]}),
                "input[0].call_id: a tool call id must not be empty.",
            ),
            (
                json!({"model": "gpt-5.5", "input": [{"role": "user", "content": [
                    {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "huge"}]}]}),
                "input[0].content[0].detail: \"huge\" is not an image detail",
            ),
            (
                json!({"model": "gpt-5.5", "input": "hi",
                       "tools": [{"type": "function", "name": "f", "parameters": []}]}),
                "tools[0].parameters: must be a JSON Schema object.",
            ),
            (
                json!({"model": "gpt-5.5", "input": "hi",
                       "tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]}),
                "tools[0].function.parameters: must be a JSON Schema object.",
            ),
        ];
        for (body, expected) in cases {
            let err = normalise_responses_request(&body, &models(), |_| None).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{err}");
        }
    }

    fn frames_json(frames: &[SseFrame]) -> Vec<Value> {
        frames
            .iter()
            .map(|f| {
                let data: Value = serde_json::from_str(&f.data).unwrap();
                assert_eq!(
                    f.event.as_deref(),
                    data["type"].as_str(),
                    "event name = type"
                );
                data
            })
            .collect()
    }

    #[test]
    fn the_relay_rewrites_the_model_and_backfills_an_empty_completed_output() {
        let mut relay = ResponsesRelay::new("my-alias".into());
        let message = json!({"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                             "content": [{"type": "output_text", "text": "Hi", "annotations": []}]});
        let mut frames = Vec::new();
        for event in [
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "gpt-5.5", "output": []}}),
            json!({"type": "response.output_item.done", "output_index": 0, "item": message}),
            json!({"type": "response.completed", "sequence_number": 2, "response": {"id": "resp_1", "model": "gpt-5.5", "status": "completed", "output": []}}),
        ] {
            frames.extend(relay.push(&event));
        }
        assert!(
            relay
                .push(&json!({"type": "response.created", "response": {}}))
                .is_empty()
        );
        assert_eq!(
            frames_json(&frames),
            vec![
                json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "my-alias", "output": []}}),
                json!({"type": "response.output_item.done", "sequence_number": 1, "output_index": 0, "item": message}),
                json!({"type": "response.completed", "sequence_number": 2, "response": {"id": "resp_1", "model": "my-alias", "status": "completed", "output": [message]}}),
            ]
        );
        assert_eq!(
            relay.into_answer().unwrap(),
            json!({"id": "resp_1", "model": "my-alias", "status": "completed", "output": [message]})
        );
    }

    #[test]
    fn a_failure_mid_stream_ends_with_response_failed() {
        let mut relay = ResponsesRelay::new("gpt-5.5".into());
        relay.push(&json!({"type": "response.created", "sequence_number": 0, "response": {
            "id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-5.5", "status": "in_progress",
            "output": [], "parallel_tool_calls": true, "tool_choice": "auto", "tools": []}}));
        relay.push(&json!({"type": "response.output_text.delta", "sequence_number": 1, "output_index": 0, "delta": "Hi"}));
        let frames = relay.fail(&ApiError::rate_limited("Slow down.", Some(2)));
        assert_eq!(
            frames_json(&frames),
            vec![
                json!({"type": "response.failed", "sequence_number": 2, "response": {
                "id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-5.5", "status": "failed",
                "output": [], "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
                "error": {"code": "rate_limit_exceeded", "message": "Slow down."}}})
            ]
        );
        assert!(relay.finish().is_empty());
        assert!(relay.into_answer().is_none());
    }
}
