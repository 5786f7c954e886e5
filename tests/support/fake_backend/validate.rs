//! The backend's request validation for `POST /backend-api/codex/responses`, as a pure function.
//!
//! Order (docs/protocol.md §4.4): body is JSON → `stream` true → `store` false →
//! `instructions` present → no rejected parameter → model allowed for the account → reasoning
//! effort supported by the model → flat tools → flat `tool_choice` → input item ids and
//! reasoning blobs → paired `function_call` / `function_call_output` → no `previous_response_id`.
//! FastAPI-level checks answer `{"detail":…}`; request-shape checks answer the OpenAI envelope
//! `{"error":{"message","type":"invalid_request_error","param","code"}}`. Messages not quoted in
//! the doc use the public OpenAI API wording (noted per check).

use std::collections::HashSet;

use serde_json::{Value, json};

use super::catalog::FakeModel;

/// A 400 answer: status and exact JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    /// HTTP status (always 400 today).
    pub status: u16,
    /// The exact JSON body.
    pub body: Value,
}

/// Parameters the backend refuses by name (docs/protocol.md §4.4), checked in this order.
pub const REJECTED_PARAMETERS: &[&str] = &[
    "max_output_tokens",
    "temperature",
    "top_p",
    "stream_options",
    "stop",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "top_logprobs",
    "truncation",
    "prompt_cache_retention",
    "safety_identifier",
    "metadata",
    "context_management",
    "user",
    "background",
];

fn detail(message: &str) -> Rejection {
    Rejection {
        status: 400,
        body: json!({ "detail": message }),
    }
}

fn invalid_request(message: &str, param: Option<&str>, code: Option<&str>) -> Rejection {
    Rejection {
        status: 400,
        body: json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}),
    }
}

/// Parses and validates a raw request body.
pub fn validate_responses_body(raw: &[u8], models: &[FakeModel]) -> Result<Value, Rejection> {
    // FastAPI's wording for an unparsable body.
    let body: Value =
        serde_json::from_slice(raw).map_err(|_| detail("There was an error parsing the body"))?;
    validate_responses_request(&body, models)?;
    Ok(body)
}

/// Validates a parsed request body against the account's `models`.
pub fn validate_responses_request(body: &Value, models: &[FakeModel]) -> Result<(), Rejection> {
    let Some(object) = body.as_object() else {
        return Err(detail("There was an error parsing the body"));
    };
    if object.get("stream") != Some(&Value::Bool(true)) {
        return Err(detail("Stream must be set to true"));
    }
    if object.get("store") != Some(&Value::Bool(false)) {
        return Err(detail("Store must be set to false"));
    }
    if !object.get("instructions").is_some_and(Value::is_string) {
        return Err(detail("Instructions are required"));
    }
    if let Some(name) = REJECTED_PARAMETERS
        .iter()
        .find(|name| object.contains_key(**name))
    {
        return Err(detail(&format!("Unsupported parameter: {name}")));
    }
    let model_id = object
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(model) = models.iter().find(|m| m.slug == model_id) else {
        return Err(detail(&format!(
            "The '{model_id}' model is not supported when using Codex with a ChatGPT account."
        )));
    };
    check_reasoning_effort(object.get("reasoning"), model)?;
    check_tools(object.get("tools"))?;
    check_tool_choice(object.get("tool_choice"))?;
    check_input(object.get("input"))?;
    if let Some(previous) = object.get("previous_response_id").filter(|v| !v.is_null()) {
        // Nothing is stored (store:false), so any id is unknown; public API wording.
        let id = previous.as_str().unwrap_or_default();
        return Err(invalid_request(
            &format!("Previous response with id '{id}' not found."),
            Some("previous_response_id"),
            Some("previous_response_not_found"),
        ));
    }
    Ok(())
}

fn check_reasoning_effort(reasoning: Option<&Value>, model: &FakeModel) -> Result<(), Rejection> {
    let Some(effort) = reasoning
        .and_then(|r| r.get("effort"))
        .and_then(Value::as_str)
    else {
        return Ok(());
    };
    if model.reasoning_levels.iter().any(|level| level == effort) {
        return Ok(());
    }
    // The backend's answer is unverified (docs/protocol.md §10.3, §11); this is the public API's
    // unsupported_value text.
    let quoted: Vec<String> = model
        .reasoning_levels
        .iter()
        .map(|l| format!("'{l}'"))
        .collect();
    let supported = match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{}, and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    };
    Err(invalid_request(
        &format!(
            "Unsupported value: 'reasoning.effort' does not support '{effort}' with this model. Supported values are: {supported}."
        ),
        Some("reasoning.effort"),
        Some("unsupported_value"),
    ))
}

fn check_tools(tools: Option<&Value>) -> Result<(), Rejection> {
    let Some(tools) = tools.and_then(Value::as_array) else {
        return Ok(());
    };
    for (index, tool) in tools.iter().enumerate() {
        if tool.get("type").and_then(Value::as_str) == Some("function")
            && !tool.get("name").is_some_and(Value::is_string)
        {
            // A nested Chat Completions tool `{type, function:{name,…}}` lands here.
            let param = format!("tools[{index}].name");
            return Err(invalid_request(
                &format!("Missing required parameter: '{param}'."),
                Some(&param),
                Some("missing_required_parameter"),
            ));
        }
    }
    Ok(())
}

fn check_tool_choice(choice: Option<&Value>) -> Result<(), Rejection> {
    if choice.and_then(|c| c.get("function")).is_some() {
        return Err(invalid_request(
            "Unknown parameter: 'tool_choice.function'.",
            Some("tool_choice.function"),
            Some("unknown_parameter"),
        ));
    }
    Ok(())
}

fn check_input(input: Option<&Value>) -> Result<(), Rejection> {
    let Some(items) = input.and_then(Value::as_array) else {
        return Ok(());
    };
    // Item ids must carry the prefix of their kind ([PI] rewrites ids because the backend rejects
    // others); public API wording.
    for (index, item) in items.iter().enumerate() {
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("message");
        let prefix = match kind {
            "function_call" => "fc",
            "reasoning" => "rs",
            "message" if item.get("role").and_then(Value::as_str) == Some("assistant") => "msg",
            _ => continue,
        };
        if let Some(id) = item.get("id").and_then(Value::as_str)
            && !id.starts_with(prefix)
        {
            return Err(invalid_request(
                &format!(
                    "Invalid 'input[{index}].id': '{id}'. Expected an ID that begins with '{prefix}'."
                ),
                Some(&format!("input[{index}].id")),
                Some("invalid_value"),
            ));
        }
        if kind == "reasoning"
            && let Some(blob) = item.get("encrypted_content").and_then(Value::as_str)
            && !blob.starts_with("gAAAA")
        {
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
            return Err(invalid_request(
                &format!("The encrypted content for item {id} could not be verified."),
                None,
                Some("invalid_encrypted_content"),
            ));
        }
    }
    let mut calls: HashSet<&str> = HashSet::new();
    let mut outputs: HashSet<&str> = HashSet::new();
    for item in items {
        let call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match item.get("type").and_then(Value::as_str) {
            Some("function_call") => {
                calls.insert(call_id);
            }
            Some("function_call_output") => {
                if !calls.contains(call_id) {
                    return Err(invalid_request(
                        &format!(
                            "No tool call found for function call output with call_id {call_id}."
                        ),
                        Some("input"),
                        None,
                    ));
                }
                outputs.insert(call_id);
            }
            _ => {}
        }
    }
    for item in items {
        if item.get("type").and_then(Value::as_str) == Some("function_call") {
            let call_id = item
                .get("call_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !outputs.contains(call_id) {
                return Err(invalid_request(
                    &format!("No tool output found for function call {call_id}."),
                    Some("input"),
                    None,
                ));
            }
        }
    }
    Ok(())
}
