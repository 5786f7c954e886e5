//! Local token count of a translated request with the o200k_base encoding, for
//! `POST /v1/messages/count_tokens` and the `message_start` estimate (docs/compatibility.md §7).
//! Never calls the backend (it has no counting endpoint and every call costs quota). Pure.
//!
//! Counted: `instructions`, every text part, function call names and arguments, function call
//! outputs, reasoning summaries, and each tool's name, description and JSON schema; plus a small
//! framing overhead per item and per tool, and a fixed cost per image and per file (their real
//! cost depends on sizes the gateway does not decode). Encrypted reasoning is opaque and not
//! counted.

use tiktoken_rs::CoreBPE;

use crate::protocol::responses::{ContentPart, FunctionOutput, InputItem, ResponsesRequest, Tool};

/// Framing tokens per input item (role, separators), as OpenAI's chat accounting does.
const PER_ITEM: u64 = 4;
/// Framing tokens per tool definition.
const PER_TOOL: u64 = 8;
/// A typical image (OpenAI: 85 base + 170 per 512-px tile; ~4 tiles for screenshots).
const PER_IMAGE: u64 = 765;
/// A file part without decoding it: a fixed base plus its size.
const PER_FILE: u64 = 1_000;

fn encoder() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

/// o200k_base tokens of a text.
pub(crate) fn count_text(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    encoder().encode_ordinary(text).len() as u64
}

fn count_parts(parts: &[ContentPart]) -> u64 {
    parts
        .iter()
        .map(|part| match part {
            ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => {
                count_text(text)
            }
            ContentPart::Refusal { refusal } => count_text(refusal),
            ContentPart::InputImage { .. } => PER_IMAGE,
            // Base64 is 4 characters per 3 bytes; ~4 bytes of document text per token.
            ContentPart::InputFile { file_data, .. } => {
                PER_FILE + (file_data.len() as u64) * 3 / 16
            }
        })
        .sum()
}

/// Input tokens of a translated request.
pub(crate) fn count_request_tokens(request: &ResponsesRequest) -> u64 {
    let mut total = count_text(&request.instructions) + PER_ITEM;
    for item in &request.input {
        total += PER_ITEM;
        total += match item {
            InputItem::Message { content, .. } => count_parts(content),
            InputItem::FunctionCall {
                name, arguments, ..
            } => count_text(name) + count_text(arguments),
            InputItem::FunctionCallOutput { output, .. } => match output {
                FunctionOutput::Text(text) => count_text(text),
                FunctionOutput::Parts(parts) => count_parts(parts),
            },
            InputItem::Reasoning { summary, .. } => {
                summary.iter().map(|part| count_text(&part.text)).sum()
            }
        };
    }
    for tool in &request.tools {
        let Tool::Function {
            name,
            description,
            parameters,
            ..
        } = tool
        else {
            total += PER_TOOL;
            continue;
        };
        total += PER_TOOL
            + count_text(name)
            + description.as_deref().map_or(0, count_text)
            + count_text(&parameters.to_string());
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::responses::{Role, ToolChoice};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn request(input: Vec<InputItem>, tools: Vec<Tool>) -> ResponsesRequest {
        ResponsesRequest {
            model: "gpt-5.5".into(),
            instructions: "You are terse.".into(),
            input,
            tools,
            tool_choice: ToolChoice::auto(),
            parallel_tool_calls: true,
            reasoning: None,
            store: false,
            stream: true,
            include: Vec::new(),
            prompt_cache_key: None,
            text: None,
            service_tier: None,
        }
    }

    #[test]
    fn text_is_counted_with_o200k() {
        assert_eq!(count_text("hello world"), 2);
        assert_eq!(count_text(""), 0);
    }

    #[test]
    fn every_part_of_the_request_counts() {
        let bare = count_request_tokens(&request(Vec::new(), Vec::new()));
        assert_eq!(bare, count_text("You are terse.") + PER_ITEM);
        let with_tools = count_request_tokens(&request(
            vec![
                InputItem::Message {
                    role: Role::User,
                    content: vec![ContentPart::InputText {
                        text: "hello world".into(),
                    }],
                    id: None,
                    status: None,
                },
                InputItem::FunctionCall {
                    id: None,
                    call_id: "c".into(),
                    name: "Bash".into(),
                    arguments: "{\"command\":\"ls\"}".into(),
                },
                InputItem::FunctionCallOutput {
                    call_id: "c".into(),
                    output: FunctionOutput::Parts(vec![ContentPart::InputImage {
                        image_url: "data:image/png;base64,AAAA".into(),
                        detail: "auto".into(),
                    }]),
                },
            ],
            vec![Tool::Function {
                name: "Bash".into(),
                description: Some("Run a command".into()),
                parameters: json!({"type": "object"}),
                strict: false,
            }],
        ));
        let expected = bare
            + 3 * PER_ITEM
            + 2
            + count_text("Bash")
            + count_text("{\"command\":\"ls\"}")
            + PER_IMAGE
            + PER_TOOL
            + count_text("Bash")
            + count_text("Run a command")
            + count_text("{\"type\":\"object\"}");
        assert_eq!(with_tools, expected);
    }
}
