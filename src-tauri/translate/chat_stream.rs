//! Codex Responses stream → `chat.completion.chunk` stream (docs/compatibility.md §5.2): a
//! synchronous state machine fed one upstream event at a time. No I/O, no clock: the chunk id and
//! `created` are given by the handler.
//!
//! Guarantees of the frames it produces (data-only SSE, what the openai SDKs' stream helpers
//! check):
//! - the first chunk is `delta:{role:"assistant",content:""}`;
//! - every chunk has the same `id`, `created` and `model` (the model the client asked for), and
//!   `usage: null` when `include_usage` is on;
//! - tool calls are numbered 0, 1, … in order of appearance; a call's first chunk carries `id`,
//!   `type` and the name (so it is only written once the name is known), later ones argument
//!   text only; the arguments concatenate to exactly the call's arguments once (the `.done`
//!   copy is written only when no delta was);
//! - exactly one chunk has a `finish_reason`: `tool_calls` when a call was written, otherwise
//!   `stop`, or `length` / `content_filter` for an incomplete response;
//! - then the usage chunk (`choices: []`) when asked, then `data: [DONE]`; or, on failure, one
//!   `{"error":{…}}` chunk and nothing after it (no `[DONE]`: the SDKs raise `APIError`).
//!
//! The assembled answer ([`ChatStream::completion`]) is kept in step with the chunks, so the
//! non-streaming answer is exactly what a streaming client would have accumulated.

use std::collections::{BTreeMap, HashSet};

use super::stop_sequences::{Scan, StopScanner};
use super::{SseFrame, StreamTranslator};
use crate::protocol::error::ApiError;
use crate::protocol::openai_chat::{
    ChatChoice, ChatCompletion, ChatCompletionChunk, ChatResponseFunction, ChatResponseMessage,
    ChatResponseToolCall, ChatUsage, ChunkChoice, ChunkDelta, ChunkFunction, ChunkToolCall,
    CompletionTokensDetails, FinishReason, PromptTokensDetails,
};
use crate::protocol::responses::{
    OutputContent, OutputItem, ResponseObject, ResponsesEvent, Usage,
};

/// The end-of-stream marker.
pub(crate) const DONE: &str = "[DONE]";

/// One upstream function call.
#[derive(Debug, Default)]
struct Call {
    /// The chunk `index`, once announced.
    index: Option<u32>,
    /// The `call_id` (the chunk's tool call `id`).
    id: String,
    name: String,
    /// Argument text received before the call could be announced.
    pending: String,
    /// Whether any argument text was written.
    args_sent: bool,
}

/// An assembled tool call (for the non-streaming answer).
#[derive(Debug, Clone)]
struct Assembled {
    id: String,
    name: String,
    arguments: String,
}

/// The stream translator for one chat completion.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about the stream so far, not one state"
)]
pub struct ChatStream {
    model: String,
    id: String,
    created: i64,
    include_usage: bool,
    started: bool,
    finished: bool,
    failed: bool,
    /// Calls by upstream `output_index`.
    calls: BTreeMap<u32, Call>,
    /// Upstream items whose text arrived as deltas (their `.done` copy is not written again).
    text_seen: HashSet<u32>,
    refusal_seen: HashSet<u32>,
    /// Reasoning summary parts started so far (parts after the first are separated by a
    /// blank line).
    reasoning_parts: u32,
    // The answer so far.
    content: String,
    refusal: String,
    reasoning: String,
    tool_calls: Vec<Assembled>,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    /// The client's `stop` sequences, emulated on the content.
    stop: Option<StopScanner>,
}

impl ChatStream {
    /// A translator answering as `model` (the id the client asked for) with chunk id `id`
    /// (`chatcmpl-…`) and `created` (Unix seconds).
    pub fn new(model: String, id: String, created: i64, include_usage: bool) -> Self {
        Self {
            model,
            id,
            created,
            include_usage,
            started: false,
            finished: false,
            failed: false,
            calls: BTreeMap::new(),
            text_seen: HashSet::new(),
            refusal_seen: HashSet::new(),
            reasoning_parts: 0,
            content: String::new(),
            refusal: String::new(),
            reasoning: String::new(),
            tool_calls: Vec::new(),
            finish_reason: None,
            usage: None,
            stop: None,
        }
    }

    /// Cuts the content at the first of `sequences` and ends the answer there with
    /// `finish_reason: "stop"` (the backend has no stop parameter).
    #[must_use]
    pub fn with_stop_sequences(mut self, sequences: &[String]) -> Self {
        self.stop = StopScanner::new(sequences);
        self
    }

    /// Feeds one upstream event.
    fn translate(&mut self, event: &ResponsesEvent) -> Vec<SseFrame> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        match event {
            ResponsesEvent::Created { .. } | ResponsesEvent::InProgress { .. } => {
                self.ensure_started(&mut out);
            }
            ResponsesEvent::OutputTextDelta {
                output_index,
                delta,
                ..
            } => {
                self.text_seen.insert(*output_index);
                self.write_content(&mut out, delta);
            }
            ResponsesEvent::OutputTextDone {
                output_index, text, ..
            } if !self.text_seen.contains(output_index) => {
                self.text_seen.insert(*output_index);
                self.write_content(&mut out, text);
            }
            ResponsesEvent::RefusalDelta {
                output_index,
                delta,
                ..
            } => {
                self.refusal_seen.insert(*output_index);
                self.write_refusal(&mut out, delta);
            }
            ResponsesEvent::RefusalDone {
                output_index,
                refusal,
                ..
            } if !self.refusal_seen.contains(output_index) => {
                self.refusal_seen.insert(*output_index);
                self.write_refusal(&mut out, refusal);
            }
            ResponsesEvent::ReasoningSummaryPartAdded { .. } => {
                // Parts of one summary read as paragraphs.
                if self.reasoning_parts > 0 && !self.reasoning.is_empty() {
                    self.write_reasoning(&mut out, "\n\n");
                }
                self.reasoning_parts += 1;
            }
            ResponsesEvent::ReasoningSummaryTextDelta { delta, .. } => {
                self.write_reasoning(&mut out, delta);
            }
            ResponsesEvent::OutputItemAdded {
                output_index,
                item: OutputItem::FunctionCall { call_id, name, .. },
            } => {
                let call = self.calls.entry(*output_index).or_default();
                call.id.clone_from(call_id);
                call.name.clone_from(name);
                self.announce(&mut out, *output_index);
            }
            ResponsesEvent::FunctionCallArgumentsDelta {
                output_index,
                delta,
                ..
            } => {
                let call = self.calls.entry(*output_index).or_default();
                call.pending.push_str(delta);
                self.flush_arguments(&mut out, *output_index);
            }
            ResponsesEvent::FunctionCallArgumentsDone {
                output_index,
                arguments,
                ..
            } => {
                let call = self.calls.entry(*output_index).or_default();
                if !call.args_sent && call.pending.is_empty() {
                    call.pending.clone_from(arguments);
                }
                self.flush_arguments(&mut out, *output_index);
            }
            ResponsesEvent::OutputItemDone { output_index, item } => {
                self.item_done(&mut out, *output_index, item);
            }
            ResponsesEvent::Completed { response } => {
                self.backfill(&mut out, response);
                let reason = if self.tool_calls.is_empty() {
                    FinishReason::Stop
                } else {
                    FinishReason::ToolCalls
                };
                self.end(&mut out, reason, response.usage);
            }
            ResponsesEvent::Incomplete { response } => {
                self.backfill(&mut out, response);
                let reason = match response
                    .incomplete_details
                    .as_ref()
                    .and_then(|d| d.reason.as_deref())
                {
                    Some("content_filter") => FinishReason::ContentFilter,
                    _ => FinishReason::Length,
                };
                self.end(&mut out, reason, response.usage);
            }
            // The upstream reader turns failures into errors before they get here; stay correct
            // if one slips through, with the same mapping.
            ResponsesEvent::Failed { .. } | ResponsesEvent::Error { .. } => {
                if let Some(error) = crate::upstream::failure::from_event(event) {
                    out.extend(self.fail(&error));
                }
            }
            _ => {}
        }
        out
    }

    /// The non-streaming answer, once the stream ended normally.
    pub fn completion(&self) -> Option<ChatCompletion> {
        let finish_reason = self.finish_reason.filter(|_| !self.failed)?;
        let tool_calls = self
            .tool_calls
            .iter()
            .map(|call| ChatResponseToolCall {
                id: call.id.clone(),
                kind: "function",
                function: ChatResponseFunction {
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                },
            })
            .collect();
        let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        Some(ChatCompletion {
            id: self.id.clone(),
            object: "chat.completion",
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChatChoice {
                index: 0,
                message: ChatResponseMessage {
                    role: "assistant",
                    content: non_empty(&self.content),
                    refusal: non_empty(&self.refusal),
                    reasoning_content: non_empty(&self.reasoning),
                    tool_calls,
                },
                logprobs: None,
                finish_reason,
            }],
            usage: chat_usage(self.usage.unwrap_or_default()),
        })
    }

    // -- helpers ------------------------------------------------------------------------------

    fn chunk(&self, delta: ChunkDelta, finish_reason: Option<FinishReason>) -> SseFrame {
        frame(&ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk",
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason,
            }],
            usage: self.include_usage.then_some(None),
        })
    }

    fn ensure_started(&mut self, out: &mut Vec<SseFrame>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(self.chunk(
            ChunkDelta {
                role: Some("assistant"),
                content: Some(String::new()),
                ..ChunkDelta::default()
            },
            None,
        ));
    }

    fn write_content(&mut self, out: &mut Vec<SseFrame>, text: &str) {
        self.ensure_started(out);
        match self.stop.as_mut().map(|stop| stop.feed(text)) {
            None => self.send_content(out, text),
            Some(Scan::Pass(text)) => self.send_content(out, &text),
            Some(Scan::Stop { before, .. }) => {
                self.send_content(out, &before);
                // The rest of the answer is not wanted: end here; the pipeline stops reading.
                self.end(out, FinishReason::Stop, None);
            }
        }
    }

    fn send_content(&mut self, out: &mut Vec<SseFrame>, text: &str) {
        if text.is_empty() {
            return;
        }
        self.content.push_str(text);
        out.push(self.chunk(
            ChunkDelta {
                content: Some(text.to_owned()),
                ..ChunkDelta::default()
            },
            None,
        ));
    }

    fn write_refusal(&mut self, out: &mut Vec<SseFrame>, text: &str) {
        self.ensure_started(out);
        if text.is_empty() {
            return;
        }
        self.refusal.push_str(text);
        out.push(self.chunk(
            ChunkDelta {
                refusal: Some(text.to_owned()),
                ..ChunkDelta::default()
            },
            None,
        ));
    }

    fn write_reasoning(&mut self, out: &mut Vec<SseFrame>, text: &str) {
        self.ensure_started(out);
        if text.is_empty() {
            return;
        }
        self.reasoning.push_str(text);
        out.push(self.chunk(
            ChunkDelta {
                reasoning_content: Some(text.to_owned()),
                ..ChunkDelta::default()
            },
            None,
        ));
    }

    /// Writes a call's first chunk once its name is known, then any argument text that waited.
    fn announce(&mut self, out: &mut Vec<SseFrame>, output_index: u32) {
        self.ensure_started(out);
        let next_index = u32::try_from(self.tool_calls.len()).unwrap_or(u32::MAX);
        let Some(call) = self.calls.get_mut(&output_index) else {
            return;
        };
        if call.index.is_some() || call.name.is_empty() {
            return;
        }
        call.index = Some(next_index);
        let (id, name) = (call.id.clone(), call.name.clone());
        self.tool_calls.push(Assembled {
            id: id.clone(),
            name: name.clone(),
            arguments: String::new(),
        });
        out.push(self.chunk(
            ChunkDelta {
                tool_calls: vec![ChunkToolCall {
                    index: next_index,
                    id: Some(id),
                    kind: Some("function"),
                    function: ChunkFunction {
                        name: Some(name),
                        arguments: Some(String::new()),
                    },
                }],
                ..ChunkDelta::default()
            },
            None,
        ));
        self.flush_arguments(out, output_index);
    }

    /// Writes the argument text that waited, if the call is announced.
    fn flush_arguments(&mut self, out: &mut Vec<SseFrame>, output_index: u32) {
        let Some(call) = self.calls.get_mut(&output_index) else {
            return;
        };
        let Some(index) = call.index else {
            return;
        };
        if call.pending.is_empty() {
            return;
        }
        let piece = std::mem::take(&mut call.pending);
        call.args_sent = true;
        if let Some(assembled) = self.tool_calls.get_mut(index as usize) {
            assembled.arguments.push_str(&piece);
        }
        out.push(self.chunk(
            ChunkDelta {
                tool_calls: vec![ChunkToolCall {
                    index,
                    id: None,
                    kind: None,
                    function: ChunkFunction {
                        name: None,
                        arguments: Some(piece),
                    },
                }],
                ..ChunkDelta::default()
            },
            None,
        ));
    }

    fn item_done(&mut self, out: &mut Vec<SseFrame>, output_index: u32, item: &OutputItem) {
        match item {
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
                ..
            } => {
                let call = self.calls.entry(output_index).or_default();
                if call.id.is_empty() {
                    call.id.clone_from(call_id);
                }
                if call.name.is_empty() {
                    call.name.clone_from(name);
                }
                if !call.args_sent && call.pending.is_empty() {
                    call.pending.clone_from(arguments);
                }
                self.announce(out, output_index);
                self.flush_arguments(out, output_index);
            }
            OutputItem::Message { content, .. } => {
                // Text that only arrived in the finished item (no deltas).
                if !self.text_seen.contains(&output_index) {
                    self.text_seen.insert(output_index);
                    let text: String = content
                        .iter()
                        .filter_map(|part| match part {
                            OutputContent::OutputText { text } => Some(text.as_str()),
                            _ => None,
                        })
                        .collect();
                    self.write_content(out, &text);
                }
                if !self.refusal_seen.contains(&output_index) {
                    self.refusal_seen.insert(output_index);
                    let refusal: String = content
                        .iter()
                        .filter_map(|part| match part {
                            OutputContent::Refusal { refusal } => Some(refusal.as_str()),
                            _ => None,
                        })
                        .collect();
                    self.write_refusal(out, &refusal);
                }
            }
            _ => {}
        }
    }

    /// Calls (and, when nothing was streamed, text) that only the terminal response lists.
    fn backfill(&mut self, out: &mut Vec<SseFrame>, response: &ResponseObject) {
        let known: HashSet<String> = self.calls.values().map(|c| c.id.clone()).collect();
        let nothing_streamed = self.content.is_empty() && self.refusal.is_empty();
        let mut next_free = self
            .calls
            .keys()
            .next_back()
            .map_or(0, |k| k + 1)
            .max(u32::try_from(response.output.len()).unwrap_or(u32::MAX));
        for (position, item) in response.output.iter().enumerate() {
            match item {
                OutputItem::FunctionCall { call_id, .. } if !known.contains(call_id) => {
                    // Use a fresh slot: the position may belong to an item already seen.
                    let slot = next_free;
                    next_free = next_free.saturating_add(1);
                    self.item_done(out, slot, item);
                }
                OutputItem::Message { .. } if nothing_streamed => {
                    let slot = u32::try_from(position).unwrap_or(u32::MAX);
                    self.item_done(out, slot, item);
                }
                _ => {}
            }
        }
    }

    fn end(&mut self, out: &mut Vec<SseFrame>, reason: FinishReason, usage: Option<Usage>) {
        self.ensure_started(out);
        if let Some(held) = self.stop.as_mut().map(StopScanner::flush) {
            self.send_content(out, &held);
        }
        self.finish_reason = Some(reason);
        self.usage = usage;
        out.push(self.chunk(ChunkDelta::default(), Some(reason)));
        if self.include_usage {
            let chunk = ChatCompletionChunk {
                id: self.id.clone(),
                object: "chat.completion.chunk",
                created: self.created,
                model: self.model.clone(),
                choices: Vec::new(),
                usage: Some(Some(chat_usage(usage.unwrap_or_default()))),
            };
            out.push(frame(&chunk));
        }
        out.push(SseFrame::data(DONE));
        self.finished = true;
    }
}

impl StreamTranslator for ChatStream {
    type Event = ResponsesEvent;
    type Answer = ChatCompletion;

    fn push(&mut self, event: &ResponsesEvent) -> Vec<SseFrame> {
        self.translate(event)
    }

    /// Ends the stream with an OpenAI error chunk (no `[DONE]` after it).
    fn fail(&mut self, error: &ApiError) -> Vec<SseFrame> {
        if self.finished {
            return Vec::new();
        }
        self.finished = true;
        self.failed = true;
        let body = serde_json::to_string(&error.openai_body()).unwrap_or_else(|_| "{}".to_owned());
        vec![SseFrame::data(body)]
    }

    /// Whether anything beyond the role chunk was written (after that, a failure can only be
    /// reported in the stream, no longer as an HTTP status).
    fn has_content(&self) -> bool {
        !self.content.is_empty()
            || !self.refusal.is_empty()
            || !self.reasoning.is_empty()
            || !self.tool_calls.is_empty()
            || self.finish_reason.is_some()
    }

    /// Whether the stream reached its end (finish + `[DONE]`, or an error chunk).
    fn is_finished(&self) -> bool {
        self.finished
    }

    /// An SSE comment: OpenAI's stream has no ping event, and every SSE reader (the OpenAI
    /// SDKs' included) skips comments.
    fn keep_alive(&self) -> SseFrame {
        SseFrame::comment("keep-alive")
    }

    /// The upstream usage, once the response ended normally.
    fn usage(&self) -> Option<Usage> {
        self.usage
    }

    fn into_answer(self) -> Option<ChatCompletion> {
        self.completion()
    }
}

fn frame(chunk: &ChatCompletionChunk) -> SseFrame {
    // Serialising these plain structs cannot fail; an empty object keeps the frame valid SSE.
    SseFrame::data(serde_json::to_string(chunk).unwrap_or_else(|_| "{}".to_owned()))
}

/// Responses usage → chat usage (`prompt_tokens` includes cached tokens, OpenAI convention).
pub(crate) fn chat_usage(usage: Usage) -> ChatUsage {
    let total = if usage.total_tokens == 0 {
        usage.input_tokens + usage.output_tokens
    } else {
        usage.total_tokens
    };
    ChatUsage {
        prompt_tokens: usage.input_tokens,
        completion_tokens: usage.output_tokens,
        total_tokens: total,
        prompt_tokens_details: PromptTokensDetails {
            cached_tokens: usage.cached_tokens(),
        },
        completion_tokens_details: CompletionTokensDetails {
            reasoning_tokens: usage.reasoning_tokens(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    fn event(value: Value) -> ResponsesEvent {
        serde_json::from_value(value).unwrap()
    }

    fn run(machine: &mut ChatStream, events: &[Value]) -> Vec<Value> {
        let mut frames = Vec::new();
        for value in events {
            frames.extend(machine.push(&event(value.clone())));
        }
        frames.extend(machine.finish());
        frames
            .into_iter()
            .map(|f| {
                assert_eq!(f.event, None, "chat chunks are data-only");
                if f.data == DONE {
                    json!(DONE)
                } else {
                    serde_json::from_str(&f.data).unwrap()
                }
            })
            .collect()
    }

    fn usage() -> Value {
        json!({"input_tokens": 120, "input_tokens_details": {"cached_tokens": 64}, "output_tokens": 30,
               "output_tokens_details": {"reasoning_tokens": 12}, "total_tokens": 150})
    }

    fn chunk(delta: &Value, finish: &Value) -> Value {
        json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_767_000_000, "model": "gpt-5.5",
               "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}], "usage": null})
    }

    #[test]
    fn text_streams_as_role_content_finish_usage_and_done() {
        let mut machine =
            ChatStream::new("gpt-5.5".into(), "chatcmpl-1".into(), 1_767_000_000, true);
        let frames = run(
            &mut machine,
            &[
                json!({"type": "response.created", "response": {"id": "resp_1"}}),
                json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "msg_1", "content": []}}),
                json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "msg_1", "delta": "Hel"}),
                json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "msg_1", "delta": "lo"}),
                json!({"type": "response.output_text.done", "output_index": 0, "item_id": "msg_1", "text": "Hello"}),
                json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "message", "id": "msg_1", "content": [{"type": "output_text", "text": "Hello"}]}}),
                json!({"type": "response.completed", "response": {"id": "resp_1", "usage": usage()}}),
            ],
        );
        assert_eq!(
            frames,
            vec![
                chunk(&json!({"role": "assistant", "content": ""}), &json!(null)),
                chunk(&json!({"content": "Hel"}), &json!(null)),
                chunk(&json!({"content": "lo"}), &json!(null)),
                chunk(&json!({}), &json!("stop")),
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_767_000_000, "model": "gpt-5.5",
                       "choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                       "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 12}}}),
                json!(DONE),
            ]
        );
        assert_eq!(
            serde_json::to_value(machine.completion().unwrap()).unwrap(),
            json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1_767_000_000, "model": "gpt-5.5",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello", "refusal": null},
                                "logprobs": null, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                             "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 12}}})
        );
    }

    #[test]
    fn two_calls_get_indexes_and_arguments_are_written_once() {
        let mut machine =
            ChatStream::new("gpt-5.5".into(), "chatcmpl-1".into(), 1_767_000_000, false);
        let frames = run(
            &mut machine,
            &[
                json!({"type": "response.created", "response": {"id": "resp_1"}}),
                json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "lookup", "arguments": ""}}),
                json!({"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": "{\"q\":"}),
                json!({"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": "\"x\"}"}),
                json!({"type": "response.function_call_arguments.done", "output_index": 0, "item_id": "fc_1", "arguments": "{\"q\":\"x\"}"}),
                json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "lookup", "arguments": "{\"q\":\"x\"}"}}),
                // The second call's name only arrives with its finished item.
                json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "", "arguments": ""}}),
                json!({"type": "response.function_call_arguments.delta", "output_index": 1, "item_id": "fc_2", "delta": "{}"}),
                json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "ping", "arguments": "{}"}}),
                json!({"type": "response.completed", "response": {"id": "resp_1", "output": []}}),
            ],
        );
        let strip = |v: Value| {
            let mut v = v;
            v.as_object_mut().unwrap().remove("usage");
            v
        };
        let call =
            |index: u32, rest: Value| json!({"tool_calls": [{"index": index, "function": rest}]});
        assert_eq!(
            frames,
            vec![
                strip(chunk(
                    &json!({"role": "assistant", "content": ""}),
                    &json!(null)
                )),
                strip(chunk(
                    &json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": ""}}]}),
                    &json!(null)
                )),
                strip(chunk(
                    &call(0, json!({"arguments": "{\"q\":"})),
                    &json!(null)
                )),
                strip(chunk(
                    &call(0, json!({"arguments": "\"x\"}"})),
                    &json!(null)
                )),
                strip(chunk(
                    &json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "ping", "arguments": ""}}]}),
                    &json!(null)
                )),
                strip(chunk(&call(1, json!({"arguments": "{}"})), &json!(null))),
                strip(chunk(&json!({}), &json!("tool_calls"))),
                json!(DONE),
            ]
        );
        let completion = serde_json::to_value(machine.completion().unwrap()).unwrap();
        assert_eq!(
            completion["choices"][0]["message"],
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}},
                {"id": "call_b", "type": "function", "function": {"name": "ping", "arguments": "{}"}}
            ]})
        );
    }

    #[test]
    fn a_call_only_listed_in_completed_is_not_lost_and_done_arguments_are_used_once() {
        let mut machine = ChatStream::new("m".into(), "chatcmpl-1".into(), 1, false);
        run(
            &mut machine,
            &[
                json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "call_id": "call_a", "name": "a"}}),
                json!({"type": "response.function_call_arguments.done", "output_index": 0, "arguments": "{\"k\":1}"}),
                json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call", "call_id": "call_a", "name": "a", "arguments": "{\"k\":1}"}}),
                json!({"type": "response.completed", "response": {"output": [
                    {"type": "function_call", "call_id": "call_a", "name": "a", "arguments": "{\"k\":1}"},
                    {"type": "function_call", "call_id": "call_b", "name": "b", "arguments": "{\"k\":2}"}
                ]}}),
            ],
        );
        let completion = machine.completion().unwrap();
        let calls: Vec<(String, String)> = completion.choices[0]
            .message
            .tool_calls
            .iter()
            .map(|c| (c.id.clone(), c.function.arguments.clone()))
            .collect();
        assert_eq!(
            calls,
            vec![
                ("call_a".to_owned(), "{\"k\":1}".to_owned()),
                ("call_b".to_owned(), "{\"k\":2}".to_owned())
            ]
        );
        assert_eq!(completion.choices[0].finish_reason, FinishReason::ToolCalls);
    }

    #[test]
    fn refusal_reasoning_and_incomplete_map_to_their_fields() {
        let mut machine = ChatStream::new("m".into(), "chatcmpl-1".into(), 1, false);
        let frames = run(
            &mut machine,
            &[
                json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 0}),
                json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "Plan"}),
                json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 1}),
                json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 1, "delta": "More"}),
                json!({"type": "response.refusal.delta", "output_index": 1, "delta": "I can't."}),
                json!({"type": "response.incomplete", "response": {"incomplete_details": {"reason": "max_output_tokens"}}}),
            ],
        );
        let deltas: Vec<Value> = frames
            .iter()
            .filter_map(|f| f.pointer("/choices/0/delta").cloned())
            .collect();
        assert_eq!(
            deltas,
            vec![
                json!({"role": "assistant", "content": ""}),
                json!({"reasoning_content": "Plan"}),
                json!({"reasoning_content": "\n\n"}),
                json!({"reasoning_content": "More"}),
                json!({"refusal": "I can't."}),
                json!({}),
            ]
        );
        let message = &machine.completion().unwrap().choices[0];
        assert_eq!(message.finish_reason, FinishReason::Length);
        assert_eq!(message.message.refusal.as_deref(), Some("I can't."));
        assert_eq!(
            message.message.reasoning_content.as_deref(),
            Some("Plan\n\nMore")
        );
    }

    #[test]
    fn a_failure_is_one_error_chunk_without_done_and_an_early_end_is_a_failure() {
        let mut machine = ChatStream::new("m".into(), "chatcmpl-1".into(), 1, true);
        let frames = run(
            &mut machine,
            &[
                json!({"type": "response.created", "response": {"id": "r"}}),
                json!({"type": "response.output_text.delta", "output_index": 0, "delta": "Hi"}),
            ],
        );
        assert_eq!(
            frames.last().unwrap(),
            &json!({"error": {"message": "The ChatGPT backend ended the stream before the response was complete.",
                              "type": "server_error", "param": null, "code": null}})
        );
        assert!(machine.completion().is_none());
        assert!(
            machine
                .push(&event(
                    json!({"type": "response.completed", "response": {}})
                ))
                .is_empty()
        );

        let mut machine = ChatStream::new("m".into(), "chatcmpl-1".into(), 1, false);
        let frames = machine.fail(&ApiError::rate_limited("slow down", Some(2)));
        assert_eq!(frames.len(), 1);
        assert_eq!(
            (
                frames[0].event.as_deref(),
                serde_json::from_str::<Value>(&frames[0].data).unwrap()
            ),
            (
                None,
                json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": "rate_limit_exceeded"}})
            )
        );
        assert!(machine.finish().is_empty());
    }

    #[test]
    fn a_stop_sequence_split_across_deltas_ends_the_answer_with_finish_reason_stop() {
        let mut machine =
            ChatStream::new("gpt-5.5".into(), "chatcmpl-1".into(), 1_767_000_000, false)
                .with_stop_sequences(&["Observation:".to_owned()]);
        let frames = run(
            &mut machine,
            &[
                json!({"type": "response.created", "response": {"id": "resp_1"}}),
                json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "m", "delta": "Thought: go\nObs"}),
                json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "m", "delta": "ervation: 42"}),
                json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "m", "delta": "never sent"}),
            ],
        );
        let content: String = frames
            .iter()
            .filter_map(|f| {
                f.pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
            })
            .collect();
        assert_eq!(content, "Thought: go\n");
        let reasons: Vec<&Value> = frames
            .iter()
            .filter_map(|f| f.pointer("/choices/0/finish_reason"))
            .filter(|r| !r.is_null())
            .collect();
        assert_eq!(reasons, vec![&json!("stop")]);
        assert_eq!(frames.last(), Some(&json!(DONE)));
        assert!(machine.is_finished());
        assert_eq!(
            machine.into_answer().unwrap().choices[0]
                .message
                .content
                .as_deref(),
            Some("Thought: go\n")
        );
    }

    #[test]
    fn text_held_back_for_a_stop_sequence_is_released_when_the_answer_ends() {
        let mut machine = ChatStream::new("gpt-5.5".into(), "chatcmpl-1".into(), 1, false)
            .with_stop_sequences(&["STOP".to_owned()]);
        let frames = run(
            &mut machine,
            &[
                json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "m", "delta": "Almost ST"}),
                json!({"type": "response.completed", "response": {"id": "r", "usage": usage()}}),
            ],
        );
        let content: String = frames
            .iter()
            .filter_map(|f| {
                f.pointer("/choices/0/delta/content")
                    .and_then(Value::as_str)
            })
            .collect();
        assert_eq!(content, "Almost ST");
    }
}
