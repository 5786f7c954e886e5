//! The backend's request validation for `POST /backend-api/codex/responses`, as a pure function.
//!
//! Order (docs/protocol.md §4.4): body is JSON → `stream` true → `store` false →
//! `instructions` present → no rejected parameter → model allowed for the account → reasoning
//! effort supported by the model → known tool types, flat tools → flat `tool_choice` → input item
//! ids and reasoning blobs → paired calls and outputs → no `previous_response_id`.
//!
//! Tool types: the backend accepts what the official Codex CLI sends — `function`, `custom`,
//! `namespace` (grouped function/custom tools), `tool_search`, `web_search`, `local_shell`,
//! `image_generation` ([`ACCEPTED_TOOL_TYPES`]); any other type is refused.
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

/// Tool types the backend accepts (docs/protocol.md §4.3): flat function tools, and the hosted
/// types the official Codex CLI sends (`codex-rs/tools/src/tool_spec.rs`; `local_shell` from
/// its older versions).
pub const ACCEPTED_TOOL_TYPES: &[&str] = &[
    "function",
    "custom",
    "namespace",
    "tool_search",
    "web_search",
    "local_shell",
    "image_generation",
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
        let at = format!("tools[{index}]");
        let Some(kind) = tool.get("type").and_then(Value::as_str) else {
            return Err(missing_parameter(&format!("{at}.type")));
        };
        if !ACCEPTED_TOOL_TYPES.contains(&kind) {
            // Public API wording for an unknown enum value.
            let supported: Vec<String> = ACCEPTED_TOOL_TYPES
                .iter()
                .map(|t| format!("'{t}'"))
                .collect();
            let param = format!("{at}.type");
            return Err(invalid_request(
                &format!(
                    "Invalid value: '{kind}'. Supported values are: {}.",
                    supported.join(", ")
                ),
                Some(&param),
                Some("invalid_value"),
            ));
        }
        match kind {
            // A nested Chat Completions tool `{type, function:{name,…}}` lands here.
            "function" | "custom" => check_named(tool, &at)?,
            "namespace" => {
                check_named(tool, &at)?;
                let Some(members) = tool.get("tools").and_then(Value::as_array) else {
                    return Err(missing_parameter(&format!("{at}.tools")));
                };
                // A namespace groups function and custom tools, each flat and named.
                for (inner, member) in members.iter().enumerate() {
                    let member_at = format!("{at}.tools[{inner}]");
                    match member.get("type").and_then(Value::as_str) {
                        Some("function" | "custom") => check_named(member, &member_at)?,
                        Some(other) => {
                            let param = format!("{member_at}.type");
                            return Err(invalid_request(
                                &format!(
                                    "Invalid value: '{other}'. Supported values are: 'function' and 'custom'."
                                ),
                                Some(&param),
                                Some("invalid_value"),
                            ));
                        }
                        None => return Err(missing_parameter(&format!("{member_at}.type"))),
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A function or custom tool needs a top-level string `name`.
fn check_named(tool: &Value, at: &str) -> Result<(), Rejection> {
    if tool.get("name").is_some_and(Value::is_string) {
        Ok(())
    } else {
        Err(missing_parameter(&format!("{at}.name")))
    }
}

fn missing_parameter(param: &str) -> Rejection {
    invalid_request(
        &format!("Missing required parameter: '{param}'."),
        Some(param),
        Some("missing_required_parameter"),
    )
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

/// Call item type, the output item type that answers it, and the call's name in messages.
const CALL_PAIRS: &[(&str, &str, &str)] = &[
    ("function_call", "function_call_output", "function call"),
    // The Codex CLI answers a `local_shell_call` with a `function_call_output`.
    ("local_shell_call", "function_call_output", "function call"),
    (
        "custom_tool_call",
        "custom_tool_call_output",
        "custom tool call",
    ),
];

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
    // Outputs must follow their call and every call needs its output (public API wording).
    let mut calls: HashSet<(&str, &str)> = HashSet::new();
    let mut outputs: HashSet<(&str, &str)> = HashSet::new();
    for item in items {
        let call_id = item
            .get("call_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        if let Some((_, output, _)) = CALL_PAIRS.iter().find(|(call, _, _)| *call == kind) {
            calls.insert((output, call_id));
        } else if let Some((_, output, label)) =
            CALL_PAIRS.iter().find(|(_, output, _)| *output == kind)
        {
            if !calls.contains(&(output, call_id)) {
                return Err(invalid_request(
                    &format!("No tool call found for {label} output with call_id {call_id}."),
                    Some("input"),
                    None,
                ));
            }
            outputs.insert((output, call_id));
        }
    }
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        if let Some((_, output, label)) = CALL_PAIRS.iter().find(|(call, _, _)| *call == kind) {
            let call_id = item
                .get("call_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !outputs.contains(&(*output, call_id)) {
                return Err(invalid_request(
                    &format!("No tool output found for {label} {call_id}."),
                    Some("input"),
                    None,
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    use super::super::catalog::default_models;
    use super::{Rejection, validate_responses_request};

    fn body_with(tools: &Value, extra_input: &[Value]) -> Value {
        let mut input = vec![
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}),
        ];
        input.extend_from_slice(extra_input);
        json!({
            "model": "gpt-5.5",
            "instructions": "You are a helpful assistant.",
            "input": input,
            "tools": tools,
            "tool_choice": "auto",
            "parallel_tool_calls": true,
            "store": false,
            "stream": true,
            "include": ["reasoning.encrypted_content"],
        })
    }

    fn check(body: &Value) -> Result<(), Value> {
        validate_responses_request(body, &default_models()).map_err(|r: Rejection| r.body)
    }

    fn invalid(message: &str, param: &str, code: Option<&str>) -> Value {
        json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})
    }

    /// The tool list of the Codex CLI (0.171 sends function, custom, tool_search and
    /// web_search; namespace with multi-agent or MCP tools; older versions local_shell).
    fn codex_cli_tools() -> Value {
        json!([
            {"type": "function", "name": "exec_command", "description": "d", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "custom", "name": "apply_patch", "description": "d",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}},
            {"type": "namespace", "name": "collaboration", "description": "d", "tools": [
                {"type": "function", "name": "spawn_agent", "description": "d", "strict": false,
                 "parameters": {"type": "object", "properties": {}}},
            ]},
            {"type": "tool_search", "execution": "client", "description": "d",
             "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
            {"type": "web_search", "external_web_access": true, "search_content_types": ["text", "image"]},
            {"type": "local_shell"},
            {"type": "image_generation", "output_format": "png"},
        ])
    }

    #[test]
    fn every_tool_type_the_codex_cli_sends_is_accepted() {
        assert_eq!(check(&body_with(&codex_cli_tools(), &[])), Ok(()));
    }

    #[test]
    fn an_unknown_tool_type_is_refused_naming_the_supported_ones() {
        let body = body_with(
            &json!([{"type": "function", "name": "f"}, {"type": "teleport"}]),
            &[],
        );
        assert_eq!(
            check(&body),
            Err(invalid(
                "Invalid value: 'teleport'. Supported values are: 'function', 'custom', 'namespace', 'tool_search', 'web_search', 'local_shell', 'image_generation'.",
                "tools[1].type",
                Some("invalid_value"),
            ))
        );
    }

    #[test]
    fn custom_and_namespaced_tools_need_names_and_namespaces_hold_only_functions() {
        let cases = [
            (
                json!([{"type": "custom", "custom": {"name": "x"}}]),
                invalid(
                    "Missing required parameter: 'tools[0].name'.",
                    "tools[0].name",
                    Some("missing_required_parameter"),
                ),
            ),
            (
                json!([{"type": "namespace", "name": "n", "tools": [{"type": "function", "name": "a"}, {"type": "function", "function": {"name": "b"}}]}]),
                invalid(
                    "Missing required parameter: 'tools[0].tools[1].name'.",
                    "tools[0].tools[1].name",
                    Some("missing_required_parameter"),
                ),
            ),
            (
                json!([{"type": "namespace", "name": "n"}]),
                invalid(
                    "Missing required parameter: 'tools[0].tools'.",
                    "tools[0].tools",
                    Some("missing_required_parameter"),
                ),
            ),
            (
                json!([{"type": "namespace", "name": "n", "tools": [{"type": "web_search"}]}]),
                invalid(
                    "Invalid value: 'web_search'. Supported values are: 'function' and 'custom'.",
                    "tools[0].tools[0].type",
                    Some("invalid_value"),
                ),
            ),
        ];
        for (tools, expected) in cases {
            assert_eq!(check(&body_with(&tools, &[])), Err(expected), "{tools}");
        }
    }

    #[test]
    fn custom_and_local_shell_calls_are_paired_with_their_outputs() {
        let custom_call = json!({"type": "custom_tool_call", "call_id": "call_C", "name": "apply_patch", "input": "*** Begin Patch"});
        let custom_output =
            json!({"type": "custom_tool_call_output", "call_id": "call_C", "output": "done"});
        let shell_call = json!({"type": "local_shell_call", "call_id": "call_S", "status": "completed",
            "action": {"type": "exec", "command": ["echo", "hi"]}});
        // The Codex CLI answers a local_shell_call with a function_call_output.
        let shell_output =
            json!({"type": "function_call_output", "call_id": "call_S", "output": "hi\n"});
        let all = [
            custom_call.clone(),
            custom_output.clone(),
            shell_call.clone(),
            shell_output,
        ];
        assert_eq!(check(&body_with(&json!([]), &all)), Ok(()));
        assert_eq!(
            check(&body_with(&json!([]), &[custom_call])),
            Err(invalid(
                "No tool output found for custom tool call call_C.",
                "input",
                None
            ))
        );
        assert_eq!(
            check(&body_with(&json!([]), &[custom_output])),
            Err(invalid(
                "No tool call found for custom tool call output with call_id call_C.",
                "input",
                None
            ))
        );
        assert_eq!(
            check(&body_with(&json!([]), &[shell_call])),
            Err(invalid(
                "No tool output found for function call call_S.",
                "input",
                None
            ))
        );
    }
}
