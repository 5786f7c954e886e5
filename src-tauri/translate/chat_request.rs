//! Chat Completions request → Codex Responses request (docs/compatibility.md §5.1). Pure.
//!
//! | chat | responses |
//! |---|---|
//! | leading `system`/`developer` messages | `instructions` (joined by a blank line; a short default when none) |
//! | later `system`/`developer` messages | `developer` message in place |
//! | `user` text / `image_url` / `file` parts | `input_text` / `input_image` / `input_file` |
//! | `assistant` content, refusal | `assistant` message with `output_text` / `refusal` parts |
//! | `assistant.tool_calls[]` | one `function_call` per call (`arguments` a string, `{}` if empty) |
//! | `tool` message | `function_call_output` (text parts joined; image parts kept as parts) |
//! | nested `tools[].function` | flat function tools (`strict` false unless given) |
//! | `tool_choice` mode / `{function:{name}}` | same mode / `{type:"function",name}` |
//! | `response_format` json_schema / json_object / text | `text.format` / `text.format` / nothing |
//! | `reasoning_effort` | `reasoning {effort (clamped per model), summary:"auto"}` + encrypted reasoning |
//! | `verbosity` | `text.verbosity` |
//! | `prompt_cache_key`, else `user` | `prompt_cache_key` |
//! | `n > 1`, `logprobs: true`, `top_logprobs > 0`, audio input, file ids | 400 naming the field |
//! | `temperature`, `max_tokens`, `seed`, … (docs/compatibility.md §5.1) | dropped |
//! | `stop` | not forwarded; emulated by the stream translator |
//!
//! Every `function_call` sent has a `function_call_output` and the reverse (the backend answers
//! "No tool output found" otherwise): an unanswered call gets a placeholder output, an output
//! without a call becomes user text.
//!

use serde_json::{Value, json};

use super::effort::clamp_effort;
use super::messages_request::{
    DEFAULT_INSTRUCTIONS, TranslateError, check_call_id, check_image_detail, header_safe_key,
    pair_tool_calls,
};
use crate::models::ModelMap;
use crate::protocol::json_text::JsonText;
use crate::protocol::openai_chat::{
    ChatContent, ChatContentPart, ChatMessage, ChatRequest, ChatTool, ChatToolChoice,
    ResponseFormat,
};
use crate::protocol::responses::{
    ContentPart, FunctionOutput, INCLUDE_REASONING, InputItem, Reasoning, ResponsesRequest, Role,
    TextControls, Tool, ToolChoice,
};

/// Translates a Chat Completions request for the backend.
pub(crate) fn chat_to_responses(
    request: &ChatRequest,
    models: &ModelMap,
) -> Result<ResponsesRequest, TranslateError> {
    refuse_unsupported(request)?;
    let model = models.resolve(&request.model)?.upstream;

    let mut instructions: Vec<String> = Vec::new();
    let mut input: Vec<InputItem> = Vec::new();
    let mut leading = true;
    for (index, message) in request.messages.iter().enumerate() {
        match message {
            ChatMessage::System { content } | ChatMessage::Developer { content } => {
                let text = plain_text(content, index)?;
                if leading {
                    if !text.trim().is_empty() {
                        instructions.push(text);
                    }
                } else if !text.is_empty() {
                    input.push(message_item(
                        Role::Developer,
                        vec![ContentPart::InputText { text: text.into() }],
                    ));
                }
            }
            ChatMessage::User { content } => {
                leading = false;
                let parts = user_parts(content, index)?;
                if !parts.is_empty() {
                    input.push(message_item(Role::User, parts));
                }
            }
            ChatMessage::Assistant {
                content,
                refusal,
                tool_calls,
            } => {
                leading = false;
                let mut parts = match content {
                    Some(content) => assistant_parts(content),
                    None => Vec::new(),
                };
                if let Some(refusal) = refusal.as_ref().filter(|r| !r.is_empty()) {
                    parts.push(ContentPart::Refusal {
                        refusal: refusal.clone(),
                    });
                }
                if !parts.is_empty() {
                    input.push(message_item(Role::Assistant, parts));
                }
                for (call_index, call) in tool_calls.iter().enumerate() {
                    check_call_id(
                        &call.id,
                        &format!("messages[{index}].tool_calls[{call_index}].id"),
                    )?;
                    input.push(InputItem::FunctionCall {
                        id: None,
                        call_id: call.id.clone(),
                        name: call.function.name.clone(),
                        arguments: arguments_string(&call.function.arguments),
                    });
                }
            }
            ChatMessage::Tool {
                content,
                tool_call_id,
            } => {
                leading = false;
                check_call_id(tool_call_id, &format!("messages[{index}].tool_call_id"))?;
                input.push(InputItem::FunctionCallOutput {
                    call_id: tool_call_id.clone(),
                    output: tool_output(content, index)?,
                });
            }
        }
    }
    let input = pair_tool_calls(input);

    let tools = tools(request)?;
    let tool_choice = tool_choice(request, &tools)?;
    let reasoning = match request.reasoning_effort.as_deref() {
        None => None,
        Some(requested) => {
            let effort = clamp_effort(&model, requested).ok_or_else(|| {
                TranslateError::Invalid(format!(
                    "reasoning_effort: unknown level {requested:?}; use one of none, minimal, low, medium, high, xhigh."
                ))
            })?;
            Some(Reasoning {
                effort: Some(effort.to_owned()),
                summary: Some("auto".to_owned()),
            })
        }
    };
    let include = if reasoning.is_some() {
        vec![INCLUDE_REASONING.to_owned()]
    } else {
        Vec::new()
    };
    let text = text_controls(request)?;
    let instructions = if instructions.is_empty() {
        DEFAULT_INSTRUCTIONS.to_owned()
    } else {
        instructions.join("\n\n")
    };
    Ok(ResponsesRequest {
        model,
        instructions,
        input,
        tools,
        tool_choice,
        parallel_tool_calls: request.parallel_tool_calls.unwrap_or(true),
        reasoning,
        store: false,
        stream: true,
        include,
        // Capped and hashed when over-long or odd: it is also the backend's `session_id` header.
        prompt_cache_key: request
            .prompt_cache_key
            .as_deref()
            .and_then(header_safe_key)
            .or_else(|| request.user.as_deref().and_then(header_safe_key)),
        text,
        service_tier: None,
    })
}

/// Refuses what the backend cannot do at all, before any upstream call.
fn refuse_unsupported(request: &ChatRequest) -> Result<(), TranslateError> {
    if request.messages.is_empty() {
        return Err(TranslateError::Invalid(
            "messages: at least one message is required.".to_owned(),
        ));
    }
    if request.n.is_some_and(|n| n > 1) {
        return Err(TranslateError::Invalid(
            "n: only n=1 is supported; the ChatGPT backend returns one answer per request. Send several requests instead.".to_owned(),
        ));
    }
    if request.logprobs == Some(true) || request.top_logprobs.is_some_and(|n| n > 0) {
        return Err(TranslateError::Invalid(
            "logprobs: log probabilities are not available from the ChatGPT backend; remove logprobs and top_logprobs.".to_owned(),
        ));
    }
    Ok(())
}

fn message_item(role: Role, content: Vec<ContentPart>) -> InputItem {
    InputItem::Message {
        role,
        content,
        id: None,
        status: None,
    }
}

/// The text of a system/developer message (text parts joined by a newline).
fn plain_text(content: &ChatContent, index: usize) -> Result<String, TranslateError> {
    match content {
        ChatContent::Text(text) => Ok(text.clone()),
        ChatContent::Parts(parts) => {
            let mut texts = Vec::new();
            for part in parts {
                match part {
                    ChatContentPart::Text { text } => texts.push(text.as_str()),
                    _ => {
                        return Err(TranslateError::Invalid(format!(
                            "messages[{index}].content: system and developer messages may only contain text parts."
                        )));
                    }
                }
            }
            Ok(texts.join("\n"))
        }
    }
}

/// User content as input parts (empty text dropped).
fn user_parts(content: &ChatContent, index: usize) -> Result<Vec<ContentPart>, TranslateError> {
    let parts = match content {
        ChatContent::Text(text) => {
            return Ok(if text.is_empty() {
                Vec::new()
            } else {
                vec![ContentPart::InputText {
                    text: text.as_str().into(),
                }]
            });
        }
        ChatContent::Parts(parts) => parts,
    };
    let mut out = Vec::with_capacity(parts.len());
    for (part_index, part) in parts.iter().enumerate() {
        let at = || format!("messages[{index}].content[{part_index}]");
        match part {
            ChatContentPart::Text { text } => {
                if !text.is_empty() {
                    out.push(ContentPart::InputText {
                        text: text.as_str().into(),
                    });
                }
            }
            ChatContentPart::ImageUrl { image_url } => {
                let detail = image_url.detail.as_deref().unwrap_or("auto");
                check_image_detail(detail, &format!("{}.image_url.detail", at()))?;
                out.push(ContentPart::InputImage {
                    image_url: image_url.url.clone(),
                    detail: detail.to_owned(),
                });
            }
            ChatContentPart::File { file } => match &file.file_data {
                Some(data) => out.push(ContentPart::InputFile {
                    filename: file.filename.clone(),
                    file_data: data.clone(),
                }),
                None => {
                    return Err(TranslateError::Invalid(format!(
                        "{}: uploaded file ids cannot be used with the ChatGPT backend; send the file inline as file_data.",
                        at()
                    )));
                }
            },
            ChatContentPart::InputAudio { .. } => {
                return Err(TranslateError::Invalid(format!(
                    "{}: audio input is not supported by the ChatGPT backend.",
                    at()
                )));
            }
            // Only meaningful in assistant history; keep the text.
            ChatContentPart::Refusal { refusal } => out.push(ContentPart::InputText {
                text: refusal.as_str().into(),
            }),
            ChatContentPart::Unknown => {
                return Err(TranslateError::Invalid(format!(
                    "{}: unsupported content part type; use text, image_url or file.",
                    at()
                )));
            }
        }
    }
    Ok(out)
}

/// Assistant history as output parts (empty text skipped).
fn assistant_parts(content: &ChatContent) -> Vec<ContentPart> {
    let texts: Vec<ContentPart> = match content {
        ChatContent::Text(text) => vec![ContentPart::OutputText {
            text: text.as_str().into(),
            annotations: Vec::new(),
        }],
        ChatContent::Parts(parts) => parts
            .iter()
            .filter_map(|part| match part {
                ChatContentPart::Text { text } => Some(ContentPart::OutputText {
                    text: text.as_str().into(),
                    annotations: Vec::new(),
                }),
                ChatContentPart::Refusal { refusal } => Some(ContentPart::Refusal {
                    refusal: refusal.clone(),
                }),
                _ => None,
            })
            .collect(),
    };
    texts
        .into_iter()
        .filter(|part| !matches!(part, ContentPart::OutputText { text, .. } if text.is_empty()))
        .collect()
}

/// Tool-call arguments as the JSON string the backend wants (`{}` when empty).
fn arguments_string(arguments: &Value) -> String {
    match arguments {
        Value::Null => "{}".to_owned(),
        Value::String(text) if text.trim().is_empty() => "{}".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A tool message's content: text parts joined by newlines, or parts when there are images.
fn tool_output(content: &ChatContent, index: usize) -> Result<FunctionOutput, TranslateError> {
    match content {
        ChatContent::Text(text) => Ok(FunctionOutput::Text(text.as_str().into())),
        ChatContent::Parts(parts) => {
            let parts = user_parts(&ChatContent::Parts(parts.clone()), index)?;
            let all_text = parts
                .iter()
                .all(|part| matches!(part, ContentPart::InputText { .. }));
            if all_text {
                let texts: Vec<&str> = parts
                    .iter()
                    .filter_map(|part| match part {
                        ContentPart::InputText { text } => Some(&**text),
                        _ => None,
                    })
                    .collect();
                Ok(FunctionOutput::Text(texts.join("\n").into()))
            } else {
                Ok(FunctionOutput::Parts(parts))
            }
        }
    }
}

fn tools(request: &ChatRequest) -> Result<Vec<Tool>, TranslateError> {
    request
        .tools
        .iter()
        .enumerate()
        .map(|(index, tool)| match tool {
            ChatTool::Function { function } => Ok(Tool::Function {
                name: function.name.clone(),
                description: function.description.clone().map(JsonText::from),
                parameters: match &function.parameters {
                    None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
                    Some(schema @ Value::Object(_)) => schema.clone(),
                    Some(_) => {
                        return Err(TranslateError::Invalid(format!(
                            "tools[{index}].function.parameters: must be a JSON Schema object."
                        )));
                    }
                },
                strict: function.strict.unwrap_or(false),
            }),
            ChatTool::Unsupported => Err(TranslateError::Invalid(format!(
                "tools[{index}]: only function tools are supported."
            ))),
        })
        .collect()
}

fn tool_choice(request: &ChatRequest, tools: &[Tool]) -> Result<ToolChoice, TranslateError> {
    match &request.tool_choice {
        None => Ok(ToolChoice::auto()),
        Some(ChatToolChoice::Mode(mode)) => match mode.as_str() {
            "auto" | "none" | "required" => Ok(ToolChoice::Mode(mode.clone())),
            other => Err(TranslateError::Invalid(format!(
                "tool_choice: unknown mode {other:?}; use auto, none, required or a named function."
            ))),
        },
        Some(ChatToolChoice::Named { function }) => {
            let defined = tools
                .iter()
                .any(|tool| tool.function_name() == Some(function.name.as_str()));
            if defined {
                Ok(ToolChoice::function(function.name.clone()))
            } else {
                Err(TranslateError::Invalid(format!(
                    "tool_choice.function.name: no tool named {:?} is defined in tools.",
                    function.name
                )))
            }
        }
    }
}

fn text_controls(request: &ChatRequest) -> Result<Option<TextControls>, TranslateError> {
    let format = match &request.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(json!({"type": "json_object"})),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.clone().ok_or_else(|| {
                TranslateError::Invalid(
                    "response_format.json_schema.schema: a JSON schema is required.".to_owned(),
                )
            })?;
            let mut format = json!({
                "type": "json_schema",
                "name": json_schema.name,
                "schema": schema,
                "strict": json_schema.strict.unwrap_or(false),
            });
            if let Some(description) = &json_schema.description {
                format["description"] = json!(description);
            }
            Some(format)
        }
    };
    if format.is_none() && request.verbosity.is_none() {
        return Ok(None);
    }
    Ok(Some(TextControls {
        verbosity: request.verbosity.clone(),
        format,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::BUILTIN_MODELS;
    use pretty_assertions::assert_eq;
    use std::collections::BTreeMap;

    fn models() -> ModelMap {
        ModelMap::new(
            BUILTIN_MODELS.iter().map(|s| (*s).to_owned()),
            BTreeMap::from([("fast".to_owned(), "gpt-5.4-mini".to_owned())]),
            None,
        )
    }

    fn translate(body: Value) -> Result<Value, TranslateError> {
        let request: ChatRequest = serde_json::from_value(body).unwrap();
        chat_to_responses(&request, &models()).map(|r| serde_json::to_value(r).unwrap())
    }

    #[test]
    fn system_text_and_rejected_parameters_become_instructions_and_nothing() {
        let upstream = translate(json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
                {"role": "user", "content": "Hello"}
            ],
            "temperature": 0.2, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 100,
            "stop": "\n", "presence_penalty": 0, "frequency_penalty": 0, "seed": 7,
            "metadata": {"a": "b"}, "store": true, "service_tier": "auto",
            "stream": true, "stream_options": {"include_usage": true}
        }))
        .unwrap();
        assert_eq!(
            upstream,
            json!({
                "model": "gpt-5.5",
                "instructions": "Be brief.\n\nAnswer in French.",
                "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hello"}]}],
                "tool_choice": "auto",
                "parallel_tool_calls": true,
                "store": false,
                "stream": true
            })
        );
    }

    #[test]
    fn a_tool_round_trip_becomes_paired_calls_and_outputs_with_flat_tools() {
        let upstream = translate(json!({
            "model": "fast",
            "user": "user-42",
            "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Look at this"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}}
                ]},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}},
                    {"id": "call_b", "type": "function", "function": {"name": "lookup", "arguments": ""}}
                ]},
                {"role": "tool", "tool_call_id": "call_a", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
                {"role": "system", "content": "Late rule."},
                {"role": "tool", "tool_call_id": "call_zzz", "content": "stray"}
            ],
            "tools": [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
            "tool_choice": {"type": "function", "function": {"name": "lookup"}},
            "parallel_tool_calls": false,
            "reasoning_effort": "minimal",
            "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": true}}
        }))
        .unwrap();
        assert_eq!(
            upstream,
            json!({
                "model": "gpt-5.4-mini",
                "instructions": DEFAULT_INSTRUCTIONS,
                "input": [
                    {"type": "message", "role": "user", "content": [
                        {"type": "input_text", "text": "Look at this"},
                        {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"}
                    ]},
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
                    {"type": "function_call", "call_id": "call_a", "name": "lookup", "arguments": "{\"q\":\"x\"}"},
                    {"type": "function_call", "call_id": "call_b", "name": "lookup", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "call_a", "output": "one\ntwo"},
                    {"type": "function_call_output", "call_id": "call_b", "output": super::super::messages_request::INTERRUPTED_TOOL_OUTPUT},
                    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Late rule."}]},
                    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "[tool result for call_zzz]\nstray"}]}
                ],
                "tools": [{"type": "function", "name": "lookup", "description": "Look up",
                           "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}, "strict": false}],
                "tool_choice": {"type": "function", "name": "lookup"},
                "parallel_tool_calls": false,
                "reasoning": {"effort": "low", "summary": "auto"},
                "store": false,
                "stream": true,
                "include": ["reasoning.encrypted_content"],
                "prompt_cache_key": "user-42",
                "text": {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": true}}
            })
        );
    }

    #[test]
    fn json_object_and_verbosity_go_to_text() {
        let upstream = translate(json!({
            "model": "gpt-5.5", "messages": [{"role": "user", "content": "JSON please"}],
            "response_format": {"type": "json_object"}, "verbosity": "low"
        }))
        .unwrap();
        assert_eq!(
            upstream["text"],
            json!({"verbosity": "low", "format": {"type": "json_object"}})
        );
        let plain = translate(json!({
            "model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}],
            "response_format": {"type": "text"}
        }))
        .unwrap();
        assert_eq!(plain.get("text"), None);
    }

    #[test]
    fn impossible_requests_are_refused_naming_the_field() {
        let cases = [
            (json!({"messages": []}), "messages: at least one message"),
            (json!({"n": 2}), "n: only n=1 is supported"),
            (json!({"logprobs": true}), "logprobs: "),
            (
                json!({"reasoning_effort": "huge"}),
                "reasoning_effort: unknown level",
            ),
            (
                json!({"tool_choice": {"type": "function", "function": {"name": "nope"}}}),
                "tool_choice.function.name: no tool named \"nope\"",
            ),
            (
                json!({"tools": [{"type": "custom", "custom": {"name": "x"}}]}),
                "tools[0]: only function tools",
            ),
        ];
        for (extra, expected) in cases {
            let mut body =
                json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]});
            for (key, value) in extra.as_object().unwrap() {
                body[key] = value.clone();
            }
            let err = translate(body).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{err}");
        }
        let audio = translate(
            json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]}]}),
        )
        .unwrap_err();
        assert_eq!(
            audio.to_string(),
            "messages[0].content[0]: audio input is not supported by the ChatGPT backend."
        );
        let unknown =
            translate(json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
                .unwrap_err();
        assert!(matches!(unknown, TranslateError::UnknownModel(_)));
        // n = 1 and logprobs = false are fine.
        assert!(
            translate(json!({"model": "gpt-5.5", "n": 1, "logprobs": false, "messages": [{"role": "user", "content": "hi"}]}))
                .is_ok()
        );
    }

    #[test]
    fn what_the_backend_refuses_as_malformed_is_refused_here_naming_the_clients_field() {
        let long = "c".repeat(500);
        let cases = [
            (
                json!([{"role": "user", "content": "hi"},
                       {"role": "assistant", "tool_calls": [{"id": long, "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]),
                "messages[1].tool_calls[0].id: a tool call id must be at most 64 characters (this one has 500).",
            ),
            (
                json!([{"role": "user", "content": "hi"},
                       {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                       {"role": "tool", "tool_call_id": "", "content": "x"}]),
                "messages[2].tool_call_id: a tool call id must not be empty.",
            ),
            (
                json!([{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "ultra"}}]}]),
                "messages[0].content[0].image_url.detail: \"ultra\" is not an image detail; use one of auto, low, high, original.",
            ),
        ];
        for (messages, expected) in cases {
            let err = translate(json!({"model": "gpt-5.5", "messages": messages})).unwrap_err();
            assert_eq!(err.to_string(), expected);
        }
        let err = translate(json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": "not a schema"}}]}))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "tools[0].function.parameters: must be a JSON Schema object."
        );
    }

    #[test]
    fn an_over_long_user_becomes_a_stable_hashed_cache_key() {
        let user = "u".repeat(100_000);
        let body = json!({"model": "gpt-5.5", "user": user, "messages": [{"role": "user", "content": "hi"}]});
        let first = translate(body.clone()).unwrap()["prompt_cache_key"].clone();
        let key = first.as_str().unwrap();
        assert!(key.starts_with("sha256-") && key.len() <= 64, "{key}");
        assert_eq!(translate(body).unwrap()["prompt_cache_key"], first);
    }
}
