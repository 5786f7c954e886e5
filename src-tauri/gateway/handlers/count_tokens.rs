//! `POST /v1/messages/count_tokens`: the o200k_base count of the request exactly as
//! `/v1/messages` would translate it (billing line stripped, tools flattened, tool results
//! rendered). Computed locally; never calls the backend.
//!
//! A client that leaves stops the work soon. A large body is parsed on the blocking pool
//! (`gateway::extract`): leaving during the parse drops the request once the parse ends,
//! before its translation. Counting a large context takes a while on the blocking pool, and a
//! blocking task cannot be aborted: when the client leaves, hyper drops this handler, which
//! raises a cancellation flag that the count checks between steps. A step is one input item, or
//! a piece of at most [`STEP_BYTES`] of a long text, so the count stops within one small step
//! of the client leaving. Each step is counted by
//! `translate::count_tokens::count_request_tokens` on a one-item request, so the rules stay in
//! that module: the sum of the steps equals the count of the whole request (a unit test checks
//! it), except that a text split into pieces may differ by a token or so per piece.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::messages::prepare;
use crate::gateway::error::{ApiError, request_id_header};
use crate::gateway::extract::ApiJson;
use crate::gateway::scratch;
use crate::gateway::state::AppState;
use crate::protocol::anthropic::{CountTokensRequest, CountTokensResponse};
use crate::protocol::responses::{
    ContentPart, FunctionOutput, InputItem, ResponsesRequest, SummaryPart,
};
use crate::translate::count_tokens::count_request_tokens;

/// The longest text counted in one step (a few milliseconds of encoding).
const STEP_BYTES: usize = 64 * 1024;

/// `POST /v1/messages/count_tokens`.
pub(crate) async fn count_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CountTokensRequest>,
) -> Result<Response, ApiError> {
    let prepared = prepare(&state, &headers, &request).await?;
    drop(request);
    let cancel = CancelOnDrop::default();
    let flag = Arc::clone(&cancel.0);
    // Large contexts take milliseconds to seconds to encode: keep them off the async workers.
    let counted = tokio::task::spawn_blocking(move || count_in_steps(prepared.upstream, &flag))
        .await
        .map_err(|_| ApiError::internal("The token count failed."))?;
    scratch::counted();
    drop(cancel);
    let input_tokens =
        counted.ok_or_else(|| ApiError::internal("The token count was cancelled."))?;
    let mut response = Json(CountTokensResponse { input_tokens }).into_response();
    response
        .headers_mut()
        .insert("request-id", request_id_header());
    Ok(response)
}

/// Raises its flag when dropped: with the handler, when the client goes away.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The count of `request`, one bounded step at a time; `None` once `cancelled` is raised.
fn count_in_steps(mut request: ResponsesRequest, cancelled: &AtomicBool) -> Option<u64> {
    let input = std::mem::take(&mut request.input);
    // Instructions and tools, plus the request's own framing.
    let mut total = count_request_tokens(&request);
    request.instructions = String::new();
    request.tools = Vec::new();
    let base = count_request_tokens(&request);
    let mut count_one = |item: InputItem| {
        request.input = vec![item];
        let count = count_request_tokens(&request).saturating_sub(base);
        request.input = Vec::new();
        count
    };
    for item in input {
        if cancelled.load(Ordering::Relaxed) {
            return None;
        }
        let Some((pieces, shell)) = split(&item) else {
            total += count_one(item);
            continue;
        };
        // Each piece is counted as an item of its own: take away the framing every piece but
        // one adds.
        let framing = count_one(shell);
        let extra = framing * (pieces.len() as u64).saturating_sub(1);
        let mut sum = 0;
        for piece in pieces {
            if cancelled.load(Ordering::Relaxed) {
                return None;
            }
            sum += count_one(piece);
        }
        total += sum.saturating_sub(extra);
    }
    Some(total)
}

/// An item too long for one step as pieces, and the same item with no content (whose count is
/// the framing of one item). `None` when the item is one step.
fn split(item: &InputItem) -> Option<(Vec<InputItem>, InputItem)> {
    match item {
        InputItem::Message {
            role, content, id, ..
        } if parts_len(content) > STEP_BYTES => {
            let message = |content| InputItem::Message {
                role: *role,
                content,
                id: id.clone(),
                status: None,
            };
            let pieces = split_parts(content)
                .into_iter()
                .map(|part| message(vec![part]));
            Some((pieces.collect(), message(Vec::new())))
        }
        InputItem::FunctionCall {
            id,
            call_id,
            name,
            arguments,
        } if arguments.len() > STEP_BYTES => {
            let call = |name: &str, arguments: &str| InputItem::FunctionCall {
                id: id.clone(),
                call_id: call_id.clone(),
                name: name.to_owned(),
                arguments: arguments.to_owned(),
            };
            let pieces = text_pieces(arguments)
                .enumerate()
                .map(|(i, piece)| call(if i == 0 { name } else { "" }, piece));
            Some((pieces.collect(), call("", "")))
        }
        InputItem::FunctionCallOutput { call_id, output } => {
            let output_item = |output| InputItem::FunctionCallOutput {
                call_id: call_id.clone(),
                output,
            };
            let pieces: Vec<InputItem> = match output {
                FunctionOutput::Text(text) if text.len() > STEP_BYTES => text_pieces(text)
                    .map(|piece| output_item(FunctionOutput::Text(piece.into())))
                    .collect(),
                FunctionOutput::Parts(parts) if parts_len(parts) > STEP_BYTES => split_parts(parts)
                    .into_iter()
                    .map(|part| output_item(FunctionOutput::Parts(vec![part])))
                    .collect(),
                _ => return None,
            };
            Some((pieces, output_item(FunctionOutput::Text("".into()))))
        }
        InputItem::Reasoning { id, summary, .. }
            if summary.iter().map(|s| s.text.len()).sum::<usize>() > STEP_BYTES =>
        {
            let reasoning = |summary| InputItem::Reasoning {
                id: id.clone(),
                summary,
                encrypted_content: None,
            };
            let pieces = summary.iter().flat_map(|part| {
                text_pieces(&part.text).map(|piece| SummaryPart {
                    kind: part.kind.clone(),
                    text: piece.to_owned(),
                })
            });
            Some((
                pieces.map(|part| reasoning(vec![part])).collect(),
                reasoning(Vec::new()),
            ))
        }
        _ => None,
    }
}

fn parts_len(parts: &[ContentPart]) -> usize {
    parts
        .iter()
        .map(|part| text_of(part).map_or(0, str::len))
        .sum()
}

fn text_of(part: &ContentPart) -> Option<&str> {
    match part {
        ContentPart::InputText { text } | ContentPart::OutputText { text, .. } => Some(text),
        ContentPart::Refusal { refusal } => Some(refusal),
        ContentPart::InputImage { .. } | ContentPart::InputFile { .. } => None,
    }
}

/// Each part alone, long texts cut into pieces of the same kind.
fn split_parts(parts: &[ContentPart]) -> Vec<ContentPart> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            ContentPart::InputText { text } => {
                out.extend(
                    text_pieces(text).map(|piece| ContentPart::InputText { text: piece.into() }),
                );
            }
            ContentPart::OutputText { text, annotations } => {
                out.extend(text_pieces(text).map(|piece| ContentPart::OutputText {
                    text: piece.into(),
                    annotations: annotations.clone(),
                }));
            }
            ContentPart::Refusal { refusal } => {
                out.extend(text_pieces(refusal).map(|piece| ContentPart::Refusal {
                    refusal: piece.to_owned(),
                }));
            }
            other => out.push(other.clone()),
        }
    }
    out
}

/// `text` in pieces of at most [`STEP_BYTES`], each cut just before a whitespace character
/// where there is one (o200k_base attaches a leading space to the word after it, so a cut there
/// changes no token), else at a character boundary.
fn text_pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if rest.len() <= STEP_BYTES {
            return Some(std::mem::take(&mut rest));
        }
        let mut end = STEP_BYTES;
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let cut = rest[..end]
            .rfind(char::is_whitespace)
            .filter(|&at| at > 0)
            .unwrap_or(end);
        let (piece, tail) = rest.split_at(cut);
        rest = tail;
        Some(piece)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn words(bytes: usize) -> String {
        let vocabulary = [
            "the", "gateway", "counts", "tokens,", "step", "by", "step.\n",
        ];
        let mut text = String::new();
        let mut i = 0;
        while text.len() < bytes {
            text.push_str(vocabulary[i % vocabulary.len()]);
            text.push(' ');
            i += 1;
        }
        text
    }

    fn request(input: &serde_json::Value) -> ResponsesRequest {
        serde_json::from_value(json!({
            "model": "gpt-5.5", "instructions": "Be brief.", "input": input,
            "tools": [{"type": "function", "name": "Bash", "parameters": {"type": "object"}, "strict": false}],
            "tool_choice": "auto", "parallel_tool_calls": true, "store": false, "stream": true,
        }))
        .unwrap()
    }

    #[test]
    fn the_steps_add_up_to_the_count_of_the_whole_request() {
        let long = words(300 * 1024);
        let request = request(&json!([
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Hello"},
                {"type": "input_text", "text": long},
                {"type": "input_image", "image_url": "data:image/png;base64,iVBOR", "detail": "auto"}
            ]},
            {"type": "function_call", "call_id": "c1", "name": "Bash", "arguments": "{\"command\":\"ls\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": long},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done.", "annotations": []}]}
        ]));
        let whole = count_request_tokens(&request);
        assert_eq!(
            count_in_steps(request, &AtomicBool::new(false)),
            Some(whole)
        );
    }

    #[test]
    fn a_raised_flag_stops_the_count() {
        let request = request(
            &json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]),
        );
        assert_eq!(count_in_steps(request, &AtomicBool::new(true)), None);
    }

    #[test]
    fn long_texts_are_cut_before_whitespace_into_bounded_pieces() {
        let text = words(200 * 1024);
        let pieces: Vec<&str> = text_pieces(&text).collect();
        assert!(pieces.len() >= 4, "{}", pieces.len());
        assert!(pieces.iter().all(|p| p.len() <= STEP_BYTES));
        assert!(
            pieces[1..]
                .iter()
                .all(|p| p.starts_with(char::is_whitespace))
        );
        assert_eq!(pieces.concat(), text);
        let one_char = "é".repeat(STEP_BYTES);
        assert_eq!(text_pieces(&one_char).collect::<String>(), one_char);
    }
}
