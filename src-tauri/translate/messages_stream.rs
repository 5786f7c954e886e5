//! Codex Responses stream → Anthropic Messages stream (docs/compatibility.md §4.1–§4.4): a
//! synchronous state machine fed one upstream event at a time. No I/O, no clock.
//!
//! Guarantees of the frames it produces (what Claude Code and the SDKs check):
//! - `message_start` first (with the local input-token estimate: the exact count, or a rough one
//!   when the count was not ready yet), `message_delta` with the stop reason and the real usage
//!   (or the latest estimate, when the backend sent none), then `message_stop` last; or an `error` event last, after which
//!   nothing is written.
//! - Content blocks are numbered 0, 1, 2… in order, never interleave (a block is stopped before
//!   the next starts), and each delta matches its block's type.
//! - No empty text blocks. A `tool_use` block starts only once the tool's name is known; its
//!   `input_json_delta`s concatenate to exactly the arguments once (the `.done` event's copy is
//!   sent only when no delta was).
//! - `stop_reason` is `tool_use` exactly when a tool_use block was emitted.
//!
//! State is kept per upstream `output_index`, so late events of an item find their block.
//! Ping frames are the handler's business ([`ping_frame`]): they depend on time.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::messages_request::{ToolNameMap, encode_reasoning_signature};
use super::stop_sequences::{Scan, StopScanner};
use super::{SseFrame, StreamTranslator};
use crate::protocol::anthropic::{
    BlockDelta, MessageDeltaBody, MessageResponse, MessageUsage, ResponseBlock, StopReason,
    StreamEvent, WebSearchResult,
};
use crate::protocol::error::ApiError;
use crate::protocol::responses::{
    OutputContent, OutputItem, ResponseObject, ResponsesEvent, Usage,
};
use crate::upstream::failure;

/// The Anthropic keep-alive frame.
pub(crate) fn ping_frame() -> SseFrame {
    frame(&StreamEvent::Ping)
}

fn frame(event: &StreamEvent) -> SseFrame {
    SseFrame {
        event: Some(event.name().to_owned()),
        // Serialising these plain structs cannot fail; an empty object keeps the frame valid SSE.
        data: serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned()),
        comment: false,
    }
}

/// Per upstream output item.
#[derive(Debug)]
enum Item {
    Reasoning {
        block: Option<u32>,
        parts: u32,
    },
    Message {
        text_seen: bool,
    },
    Call {
        call_id: String,
        name: String,
        block: Option<u32>,
        /// Arguments already written as `input_json_delta`.
        args_sent: bool,
        /// Arguments received before the name was known.
        pending: String,
        done: bool,
    },
    /// A web search, shown once it is done.
    WebSearch,
}

/// The block currently open.
#[derive(Debug, Clone, Copy)]
struct Open {
    index: u32,
    output_index: u32,
}

/// The stream translator for one response.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about the answer so far, not one state"
)]
pub struct MessagesStream {
    names: ToolNameMap,
    input_estimate: u64,
    emit_thinking: bool,
    started: bool,
    finished: bool,
    next_index: u32,
    open: Option<Open>,
    items: BTreeMap<u32, Item>,
    tool_emitted: bool,
    refusal: bool,
    /// The message as a non-streaming client would get it, kept in step with the frames.
    message: MessageResponse,
    /// Concatenated `partial_json` per tool block index.
    tool_json: BTreeMap<u32, String>,
    /// The backend's usage, once the answer ended normally.
    upstream_usage: Option<Usage>,
    /// The client's `stop_sequences`, emulated on text blocks.
    stop: Option<StopScanner>,
}

impl MessagesStream {
    /// `model` is echoed to the client (the id it asked for); `input_estimate` goes into
    /// `message_start` until the real usage arrives.
    pub fn new(model: impl Into<String>, names: ToolNameMap, input_estimate: u64) -> Self {
        Self {
            names,
            input_estimate,
            emit_thinking: true,
            started: false,
            finished: false,
            next_index: 0,
            open: None,
            items: BTreeMap::new(),
            tool_emitted: false,
            refusal: false,
            message: MessageResponse {
                id: "msg_codexia".to_owned(),
                kind: "message",
                role: "assistant",
                model: model.into(),
                content: Vec::new(),
                stop_reason: None,
                stop_sequence: None,
                usage: MessageUsage {
                    input_tokens: input_estimate,
                    cache_creation_input_tokens: 0,
                    cache_read_input_tokens: 0,
                    output_tokens: 1,
                },
            },
            tool_json: BTreeMap::new(),
            upstream_usage: None,
            stop: None,
        }
    }

    /// Cuts text at the first of `sequences` and ends the message there with
    /// `stop_reason: "stop_sequence"` (the backend has no stop parameter).
    #[must_use]
    pub fn with_stop_sequences(mut self, sequences: &[String]) -> Self {
        self.stop = StopScanner::new(sequences);
        self
    }

    /// Whether reasoning items become thinking blocks (default true). Clients that did not ask
    /// for thinking get none.
    #[must_use]
    pub fn with_thinking(mut self, emit: bool) -> Self {
        self.emit_thinking = emit;
        self
    }

    /// Replaces the input-token estimate, e.g. with the exact count that was not ready when the
    /// stream began: `message_start` carries it if it has not been written yet, and
    /// `message_delta` does when the backend reports no usage of its own (with usage, the
    /// backend's own input count is sent there, as always).
    pub fn set_input_estimate(&mut self, tokens: u64) {
        self.input_estimate = tokens;
        if !self.finished {
            self.message.usage.input_tokens = tokens;
        }
    }

    /// The message assembled so far (complete once the stream finished normally).
    pub fn message(&self) -> &MessageResponse {
        &self.message
    }

    /// Translates one upstream event.
    fn translate(&mut self, event: &ResponsesEvent) -> Vec<SseFrame> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        match event {
            ResponsesEvent::Created { response } => {
                if !self.started && !response.id.is_empty() {
                    let id = response.id.strip_prefix("resp_").unwrap_or(&response.id);
                    self.message.id = format!("msg_{}", sanitize_id(id));
                }
                self.ensure_started(&mut out);
            }
            ResponsesEvent::OutputItemAdded { output_index, item } => {
                self.ensure_started(&mut out);
                self.item_added(*output_index, item, &mut out);
            }
            ResponsesEvent::ReasoningSummaryPartAdded { output_index, .. } => {
                self.ensure_started(&mut out);
                self.summary_part(*output_index, &mut out);
            }
            ResponsesEvent::ReasoningSummaryTextDelta {
                output_index,
                delta,
                ..
            } => {
                self.ensure_started(&mut out);
                self.thinking_delta(*output_index, delta, &mut out);
            }
            ResponsesEvent::OutputTextDelta {
                output_index,
                delta,
                ..
            } => {
                self.ensure_started(&mut out);
                self.text_delta(*output_index, delta, &mut out);
            }
            ResponsesEvent::RefusalDelta {
                output_index,
                delta,
                ..
            } => {
                self.ensure_started(&mut out);
                if !delta.is_empty() {
                    self.refusal = true;
                }
                self.text_delta(*output_index, delta, &mut out);
            }
            ResponsesEvent::FunctionCallArgumentsDelta {
                output_index,
                delta,
                ..
            } => {
                self.ensure_started(&mut out);
                self.arguments_delta(*output_index, delta, &mut out);
            }
            ResponsesEvent::FunctionCallArgumentsDone {
                output_index,
                arguments,
                ..
            } => {
                self.ensure_started(&mut out);
                self.arguments_done(*output_index, arguments, &mut out);
            }
            ResponsesEvent::OutputItemDone { output_index, item } => {
                self.ensure_started(&mut out);
                self.item_done(*output_index, item, &mut out);
            }
            ResponsesEvent::Completed { response } => {
                self.complete(response, None, &mut out);
            }
            ResponsesEvent::Incomplete { response } => {
                let reason = response
                    .incomplete_details
                    .as_ref()
                    .and_then(|d| d.reason.clone())
                    .unwrap_or_default();
                self.complete(response, Some(&reason), &mut out);
            }
            // The upstream reader turns failures into errors before they get here; stay correct
            // if one slips through, with the same mapping.
            ResponsesEvent::Failed { .. } | ResponsesEvent::Error { .. } => {
                if let Some(error) = failure::from_event(event) {
                    out.extend(self.fail(&error));
                }
            }
            // Liveness only: in_progress, content_part.*, output_text.done, summary_part.done,
            // summary_text.done, raw reasoning text (the summary is what clients are shown),
            // refusal.done, and types added later.
            _ => {}
        }
        out
    }

    // -- helpers --------------------------------------------------------------------------

    fn ensure_started(&mut self, out: &mut Vec<SseFrame>) {
        if self.started {
            return;
        }
        self.started = true;
        let mut message = self.message.clone();
        message.content = Vec::new();
        self.emit(out, &StreamEvent::MessageStart { message });
    }

    /// Writes a frame and applies it to the assembled message.
    fn emit(&mut self, out: &mut Vec<SseFrame>, event: &StreamEvent) {
        match event {
            StreamEvent::ContentBlockStart { content_block, .. } => {
                self.message.content.push(content_block.clone());
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                let block = self.message.content.get_mut(*index as usize);
                match (block, delta) {
                    (Some(ResponseBlock::Text { text }), BlockDelta::TextDelta { text: d }) => {
                        text.push_str(d);
                    }
                    (
                        Some(ResponseBlock::Thinking { thinking, .. }),
                        BlockDelta::ThinkingDelta { thinking: d },
                    ) => thinking.push_str(d),
                    (
                        Some(ResponseBlock::Thinking { signature, .. }),
                        BlockDelta::SignatureDelta { signature: s },
                    ) => signature.clone_from(s),
                    (
                        Some(ResponseBlock::ToolUse { .. } | ResponseBlock::ServerToolUse { .. }),
                        BlockDelta::InputJsonDelta { partial_json },
                    ) => {
                        self.tool_json
                            .entry(*index)
                            .or_default()
                            .push_str(partial_json);
                    }
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                if let Some(
                    ResponseBlock::ToolUse { input, .. }
                    | ResponseBlock::ServerToolUse { input, .. },
                ) = self.message.content.get_mut(*index as usize)
                {
                    let json = self.tool_json.get(index).map_or("", String::as_str);
                    *input = if json.trim().is_empty() {
                        json!({})
                    } else {
                        // Unparsable arguments: an empty input rather than a broken message.
                        serde_json::from_str::<Value>(json)
                            .ok()
                            .filter(Value::is_object)
                            .unwrap_or_else(|| json!({}))
                    };
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.message.stop_reason = delta.stop_reason;
                self.message.stop_sequence.clone_from(&delta.stop_sequence);
                self.message.usage = *usage;
            }
            _ => {}
        }
        out.push(frame(event));
    }

    fn close_open(&mut self, out: &mut Vec<SseFrame>) {
        // Text held back for a possible stop sequence belongs to the block being closed.
        if let (Some(open), Some(held)) = (self.open, self.stop.as_mut().map(StopScanner::flush))
            && !held.is_empty()
        {
            self.delta(open.index, BlockDelta::TextDelta { text: held }, out);
        }
        if let Some(open) = self.open.take() {
            self.emit(out, &StreamEvent::ContentBlockStop { index: open.index });
        }
    }

    fn open_block(
        &mut self,
        output_index: u32,
        block: ResponseBlock,
        out: &mut Vec<SseFrame>,
    ) -> u32 {
        self.close_open(out);
        let index = self.next_index;
        self.next_index += 1;
        if matches!(block, ResponseBlock::ToolUse { .. }) {
            self.tool_emitted = true;
        }
        self.emit(
            out,
            &StreamEvent::ContentBlockStart {
                index,
                content_block: block,
            },
        );
        self.open = Some(Open {
            index,
            output_index,
        });
        index
    }

    /// The open block's index when it belongs to `output_index`.
    fn open_for(&self, output_index: u32) -> Option<u32> {
        self.open
            .filter(|open| open.output_index == output_index)
            .map(|open| open.index)
    }

    fn delta(&mut self, index: u32, delta: BlockDelta, out: &mut Vec<SseFrame>) {
        self.emit(out, &StreamEvent::ContentBlockDelta { index, delta });
    }

    fn item_added(&mut self, output_index: u32, item: &OutputItem, out: &mut Vec<SseFrame>) {
        match item {
            OutputItem::Reasoning { .. } => {
                self.items.entry(output_index).or_insert(Item::Reasoning {
                    block: None,
                    parts: 0,
                });
            }
            OutputItem::Message { .. } => {
                // Close a thinking block now; the text block opens on the first real delta.
                if self.open.is_some_and(|o| o.output_index != output_index) {
                    self.close_open(out);
                }
                self.items
                    .entry(output_index)
                    .or_insert(Item::Message { text_seen: false });
            }
            OutputItem::FunctionCall { call_id, name, .. } => {
                if self.items.contains_key(&output_index) {
                    return;
                }
                self.items.insert(
                    output_index,
                    Item::Call {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        block: None,
                        args_sent: false,
                        pending: String::new(),
                        done: false,
                    },
                );
                if !name.is_empty() {
                    self.open_tool(output_index, out);
                }
            }
            OutputItem::WebSearchCall { .. } => {
                // Shown when done; what was streamed before it ends here.
                if self.open.is_some_and(|o| o.output_index != output_index) {
                    self.close_open(out);
                }
            }
            OutputItem::Unknown => {}
        }
    }

    /// Opens the tool_use block of a call whose name is known, flushing buffered arguments.
    fn open_tool(&mut self, output_index: u32, out: &mut Vec<SseFrame>) {
        let Some(Item::Call { call_id, name, .. }) = self.items.get(&output_index) else {
            return;
        };
        let block = ResponseBlock::ToolUse {
            id: sanitize_id(call_id),
            name: self.names.original(name).to_owned(),
            input: json!({}),
        };
        let index = self.open_block(output_index, block, out);
        let pending = match self.items.get_mut(&output_index) {
            Some(Item::Call {
                block,
                pending,
                args_sent,
                ..
            }) => {
                *block = Some(index);
                if !pending.is_empty() {
                    *args_sent = true;
                }
                std::mem::take(pending)
            }
            _ => String::new(),
        };
        if !pending.is_empty() {
            self.delta(
                index,
                BlockDelta::InputJsonDelta {
                    partial_json: pending,
                },
                out,
            );
        }
    }

    fn summary_part(&mut self, output_index: u32, out: &mut Vec<SseFrame>) {
        if !self.emit_thinking {
            return;
        }
        let (block, parts) = match self.items.entry(output_index).or_insert(Item::Reasoning {
            block: None,
            parts: 0,
        }) {
            Item::Reasoning { block, parts } => {
                *parts += 1;
                (*block, *parts)
            }
            _ => return,
        };
        match block {
            None => self.open_thinking(output_index, out),
            // One thinking block per reasoning item: later parts are separated by a blank line.
            Some(index) if parts > 1 && self.open_for(output_index) == Some(index) => {
                self.delta(
                    index,
                    BlockDelta::ThinkingDelta {
                        thinking: "\n\n".to_owned(),
                    },
                    out,
                );
            }
            Some(_) => {}
        }
    }

    fn open_thinking(&mut self, output_index: u32, out: &mut Vec<SseFrame>) {
        let block = ResponseBlock::Thinking {
            thinking: String::new(),
            signature: String::new(),
        };
        let index = self.open_block(output_index, block, out);
        if let Some(Item::Reasoning { block, .. }) = self.items.get_mut(&output_index) {
            *block = Some(index);
        }
    }

    fn thinking_delta(&mut self, output_index: u32, delta: &str, out: &mut Vec<SseFrame>) {
        if !self.emit_thinking || delta.is_empty() {
            return;
        }
        let block = match self.items.entry(output_index).or_insert(Item::Reasoning {
            block: None,
            parts: 0,
        }) {
            Item::Reasoning { block, .. } => *block,
            _ => return,
        };
        if block.is_none() {
            self.open_thinking(output_index, out);
        }
        if let Some(index) = self.open_for(output_index) {
            self.delta(
                index,
                BlockDelta::ThinkingDelta {
                    thinking: delta.to_owned(),
                },
                out,
            );
        }
    }

    fn text_delta(&mut self, output_index: u32, delta: &str, out: &mut Vec<SseFrame>) {
        if delta.is_empty() {
            return;
        }
        match self
            .items
            .entry(output_index)
            .or_insert(Item::Message { text_seen: false })
        {
            Item::Message { text_seen } => *text_seen = true,
            _ => return,
        }
        let index = match self.open_for(output_index) {
            Some(index) => index,
            None => self.open_block(
                output_index,
                ResponseBlock::Text {
                    text: String::new(),
                },
                out,
            ),
        };
        self.text_out(index, delta, out);
    }

    /// Writes text into block `index`, cut at a stop sequence.
    fn text_out(&mut self, index: u32, text: &str, out: &mut Vec<SseFrame>) {
        let (text, stop) = match self.stop.as_mut().map(|stop| stop.feed(text)) {
            None => (text.to_owned(), None),
            Some(Scan::Pass(text)) => (text, None),
            Some(Scan::Stop { before, sequence }) => (before, Some(sequence)),
        };
        if !text.is_empty() {
            self.delta(index, BlockDelta::TextDelta { text }, out);
        }
        if let Some(sequence) = stop {
            self.stop_at(sequence, out);
        }
    }

    /// Ends the message at a stop sequence: the rest of the answer is not wanted, so the
    /// pipeline stops reading the backend. Its usage never arrives; the output count is an
    /// estimate (about four characters a token).
    fn stop_at(&mut self, sequence: String, out: &mut Vec<SseFrame>) {
        self.close_open(out);
        let characters: usize = self
            .message
            .content
            .iter()
            .map(|block| match block {
                ResponseBlock::Text { text } => text.chars().count(),
                _ => 0,
            })
            .sum();
        let usage = MessageUsage {
            input_tokens: self.input_estimate,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: u64::try_from(characters.div_ceil(4)).unwrap_or(u64::MAX),
        };
        self.emit(
            out,
            &StreamEvent::MessageDelta {
                delta: MessageDeltaBody {
                    stop_reason: Some(StopReason::StopSequence),
                    stop_sequence: Some(sequence),
                },
                usage,
            },
        );
        self.emit(out, &StreamEvent::MessageStop);
        self.finished = true;
    }

    fn arguments_delta(&mut self, output_index: u32, delta: &str, out: &mut Vec<SseFrame>) {
        if delta.is_empty() {
            return;
        }
        let open = self.open_for(output_index);
        let Some(Item::Call {
            block,
            args_sent,
            pending,
            ..
        }) = self.items.get_mut(&output_index)
        else {
            return;
        };
        match (*block, open) {
            (Some(index), Some(open)) if index == open => {
                *args_sent = true;
                self.delta(
                    index,
                    BlockDelta::InputJsonDelta {
                        partial_json: delta.to_owned(),
                    },
                    out,
                );
            }
            // Name not known yet: keep the arguments for when the block opens.
            (None, _) => pending.push_str(delta),
            // The block was closed by another item: these arguments cannot be placed.
            _ => {}
        }
    }

    fn arguments_done(&mut self, output_index: u32, arguments: &str, out: &mut Vec<SseFrame>) {
        let open = self.open_for(output_index);
        let Some(Item::Call {
            block,
            args_sent,
            pending,
            ..
        }) = self.items.get_mut(&output_index)
        else {
            return;
        };
        match (*block, open) {
            // Only when no delta carried them: sending both doubles the JSON.
            (Some(index), Some(open)) if index == open && !*args_sent && !arguments.is_empty() => {
                *args_sent = true;
                self.delta(
                    index,
                    BlockDelta::InputJsonDelta {
                        partial_json: arguments.to_owned(),
                    },
                    out,
                );
            }
            (None, _) if !arguments.is_empty() => arguments.clone_into(pending),
            _ => {}
        }
    }

    fn item_done(&mut self, output_index: u32, item: &OutputItem, out: &mut Vec<SseFrame>) {
        match item {
            OutputItem::Reasoning {
                id,
                summary,
                encrypted_content,
            } => self.reasoning_done(output_index, id, summary, encrypted_content.as_deref(), out),
            OutputItem::Message { content, .. } => {
                let text_seen = matches!(
                    self.items.get(&output_index),
                    Some(Item::Message { text_seen: true })
                );
                self.items
                    .insert(output_index, Item::Message { text_seen: true });
                if !text_seen {
                    // No deltas were streamed: the item carries the whole text.
                    let mut text = String::new();
                    for part in content {
                        match part {
                            OutputContent::OutputText { text: t } => text.push_str(t),
                            OutputContent::Refusal { refusal } => {
                                if !refusal.is_empty() {
                                    self.refusal = true;
                                }
                                text.push_str(refusal);
                            }
                            OutputContent::Unknown => {}
                        }
                    }
                    if !text.is_empty() {
                        let index = self.open_block(
                            output_index,
                            ResponseBlock::Text {
                                text: String::new(),
                            },
                            out,
                        );
                        self.text_out(index, &text, out);
                        if self.finished {
                            return;
                        }
                    }
                }
                if self.open_for(output_index).is_some() {
                    self.close_open(out);
                }
            }
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
                ..
            } => self.call_done(output_index, call_id, name, arguments, out),
            OutputItem::WebSearchCall { id, action, .. } => {
                if !matches!(self.items.get(&output_index), Some(Item::WebSearch)) {
                    self.items.insert(output_index, Item::WebSearch);
                    self.web_search_done(output_index, id, action.as_ref(), out);
                }
            }
            OutputItem::Unknown => {}
        }
    }

    /// A finished backend search as Anthropic shows its own: a `server_tool_use` block with the
    /// query, then a `web_search_tool_result` block with the sources the backend named (none
    /// unless it lists them; the answer's text cites them too). Not a client tool call: the
    /// stop reason stays `end_turn`.
    fn web_search_done(
        &mut self,
        output_index: u32,
        id: &str,
        action: Option<&Value>,
        out: &mut Vec<SseFrame>,
    ) {
        let field = |name: &str| action.and_then(|a| a.get(name));
        // Opening a page or finding in it has no Anthropic counterpart: only searches show.
        if field("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "search")
        {
            return;
        }
        let query = field("query")
            .and_then(Value::as_str)
            .or_else(|| field("queries")?.get(0)?.as_str())
            .unwrap_or_default();
        let tool_use_id = format!("srvtoolu_{}", sanitize_id(id));
        let index = self.open_block(
            output_index,
            ResponseBlock::ServerToolUse {
                id: tool_use_id.clone(),
                name: "web_search".to_owned(),
                input: json!({}),
            },
            out,
        );
        self.delta(
            index,
            BlockDelta::InputJsonDelta {
                partial_json: json!({ "query": query }).to_string(),
            },
            out,
        );
        let content = field("sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|source| {
                let url = source.get("url")?.as_str()?;
                let title = source.get("title").and_then(Value::as_str).unwrap_or(url);
                Some(WebSearchResult::new(url.to_owned(), title.to_owned()))
            })
            .collect();
        self.open_block(
            output_index,
            ResponseBlock::WebSearchToolResult {
                tool_use_id,
                content,
            },
            out,
        );
        self.close_open(out);
    }

    fn reasoning_done(
        &mut self,
        output_index: u32,
        id: &str,
        summary: &[crate::protocol::responses::SummaryPart],
        encrypted: Option<&str>,
        out: &mut Vec<SseFrame>,
    ) {
        let block = match self.items.entry(output_index).or_insert(Item::Reasoning {
            block: None,
            parts: 0,
        }) {
            Item::Reasoning { block, .. } => *block,
            _ => return,
        };
        if !self.emit_thinking {
            return;
        }
        let signature = encrypted
            .filter(|e| !e.is_empty())
            .map(|e| encode_reasoning_signature(id, e));
        let index = match (block, self.open_for(output_index)) {
            (Some(index), Some(open)) if index == open => index,
            // Opened and already closed by another item: the signature has nowhere to go.
            (Some(_), _) => return,
            (None, _) => {
                let text = summary
                    .iter()
                    .map(|p| p.text.as_str())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                if text.is_empty() && signature.is_none() {
                    return;
                }
                self.open_thinking(output_index, out);
                let Some(index) = self.open_for(output_index) else {
                    return;
                };
                if !text.is_empty() {
                    self.delta(index, BlockDelta::ThinkingDelta { thinking: text }, out);
                }
                index
            }
        };
        if let Some(signature) = signature {
            self.delta(index, BlockDelta::SignatureDelta { signature }, out);
        }
        self.close_open(out);
    }

    fn call_done(
        &mut self,
        output_index: u32,
        call_id: &str,
        name: &str,
        arguments: &str,
        out: &mut Vec<SseFrame>,
    ) {
        let entry = self
            .items
            .entry(output_index)
            .or_insert_with(|| Item::Call {
                call_id: call_id.to_owned(),
                name: String::new(),
                block: None,
                args_sent: false,
                pending: String::new(),
                done: false,
            });
        let Item::Call {
            call_id: known_id,
            name: known_name,
            block,
            pending,
            done,
            ..
        } = entry
        else {
            return;
        };
        if *done {
            return;
        }
        *done = true;
        if known_name.is_empty() {
            name.clone_into(known_name);
        }
        if known_id.is_empty() {
            call_id.clone_into(known_id);
        }
        if block.is_none() {
            if known_name.is_empty() {
                // A call without a name cannot be offered to the client.
                return;
            }
            if pending.is_empty() {
                arguments.clone_into(pending);
            }
            self.open_tool(output_index, out);
        } else if let Some(index) = self.open_for(output_index) {
            let sent = matches!(
                self.items.get(&output_index),
                Some(Item::Call {
                    args_sent: true,
                    ..
                })
            );
            if !sent && !arguments.is_empty() {
                self.delta(
                    index,
                    BlockDelta::InputJsonDelta {
                        partial_json: arguments.to_owned(),
                    },
                    out,
                );
            }
        }
        if self.open_for(output_index).is_some() {
            self.close_open(out);
        }
    }

    fn complete(
        &mut self,
        response: &ResponseObject,
        incomplete: Option<&str>,
        out: &mut Vec<SseFrame>,
    ) {
        self.ensure_started(out);
        // Items the stream never finished (or never showed): take them from the final output.
        for (position, item) in response.output.iter().enumerate() {
            let Ok(output_index) = u32::try_from(position) else {
                break;
            };
            let unfinished = match self.items.get(&output_index) {
                None => true,
                Some(Item::Call { done, .. }) => !done,
                Some(_) => false,
            };
            if unfinished {
                self.item_done(output_index, item, out);
            }
        }
        // Calls still pending without a matching output entry.
        let pending: Vec<(u32, String, String)> = self
            .items
            .iter()
            .filter_map(|(oi, item)| match item {
                Item::Call {
                    call_id,
                    name,
                    done: false,
                    ..
                } => Some((*oi, call_id.clone(), name.clone())),
                _ => None,
            })
            .collect();
        for (output_index, call_id, name) in pending {
            self.call_done(output_index, &call_id, &name, "", out);
        }
        self.close_open(out);
        let stop_reason = match incomplete {
            Some("max_output_tokens" | "max_tokens") => StopReason::MaxTokens,
            Some("content_filter") => StopReason::Refusal,
            _ if self.tool_emitted => StopReason::ToolUse,
            _ if self.refusal => StopReason::Refusal,
            _ => StopReason::EndTurn,
        };
        self.upstream_usage = response.usage;
        let usage = match &response.usage {
            Some(usage) => {
                let cached = usage.cached_tokens();
                MessageUsage {
                    input_tokens: usage.input_tokens.saturating_sub(cached),
                    cache_creation_input_tokens: 0,
                    cache_read_input_tokens: cached,
                    output_tokens: usage.output_tokens,
                }
            }
            None => MessageUsage {
                input_tokens: self.input_estimate,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 0,
                output_tokens: 0,
            },
        };
        self.emit(
            out,
            &StreamEvent::MessageDelta {
                delta: MessageDeltaBody {
                    stop_reason: Some(stop_reason),
                    stop_sequence: None,
                },
                usage,
            },
        );
        self.emit(out, &StreamEvent::MessageStop);
        self.finished = true;
    }
}

impl StreamTranslator for MessagesStream {
    type Event = ResponsesEvent;
    type Answer = MessageResponse;

    fn push(&mut self, event: &ResponsesEvent) -> Vec<SseFrame> {
        self.translate(event)
    }

    /// An `error` event (after closing an open block); nothing is produced after it.
    fn fail(&mut self, error: &ApiError) -> Vec<SseFrame> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        self.close_open(&mut out);
        self.emit(
            &mut out,
            &StreamEvent::Error {
                error: error.anthropic_error(),
            },
        );
        self.finished = true;
        out
    }

    /// Whether a content block has been produced (the client has seen part of the answer).
    fn has_content(&self) -> bool {
        self.next_index > 0
    }

    /// Whether the stream is over (`message_stop` or `error` produced).
    fn is_finished(&self) -> bool {
        self.finished
    }

    fn keep_alive(&self) -> SseFrame {
        ping_frame()
    }

    fn usage(&self) -> Option<Usage> {
        self.upstream_usage
    }

    /// The message, once the upstream reached `response.completed` / `response.incomplete`.
    fn into_answer(self) -> Option<MessageResponse> {
        (self.finished && self.message.stop_reason.is_some()).then_some(self.message)
    }

    /// `message_start`, unless it was already produced (to commit a stream before the
    /// upstream said anything).
    fn commit(&mut self) -> Vec<SseFrame> {
        let mut out = Vec::new();
        if !self.finished {
            self.ensure_started(&mut out);
        }
        out
    }
}

/// Tool-use and message ids must match `^[a-zA-Z0-9_-]+$` for Anthropic clients.
fn sanitize_id(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "call_codexia".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::ErrorKind;
    use pretty_assertions::assert_eq;

    fn ev(value: Value) -> ResponsesEvent {
        serde_json::from_value(value).unwrap()
    }

    fn created() -> ResponsesEvent {
        ev(json!({"type": "response.created", "response": {"id": "resp_abc"}}))
    }

    fn completed(usage: &Value) -> ResponsesEvent {
        ev(
            json!({"type": "response.completed", "response": {"id": "resp_abc", "output": [], "usage": usage}}),
        )
    }

    /// Runs events through a fresh machine and returns every frame as `(event, data JSON)`.
    fn run(machine: &mut MessagesStream, events: &[ResponsesEvent]) -> Vec<Value> {
        let mut frames = Vec::new();
        for event in events {
            frames.extend(machine.push(event));
        }
        frames.extend(machine.finish());
        frames
            .into_iter()
            .map(|f| {
                let data: Value = serde_json::from_str(&f.data).unwrap();
                assert_eq!(
                    f.event.as_deref(),
                    data["type"].as_str(),
                    "event name equals type"
                );
                data
            })
            .collect()
    }

    fn start(input: u64) -> Value {
        json!({"type": "message_start", "message": {"id": "msg_abc", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1}}})
    }

    fn machine() -> MessagesStream {
        MessagesStream::new("claude-sonnet-4-5", ToolNameMap::default(), 42)
    }

    #[test]
    fn reasoning_then_text_becomes_thinking_and_text_blocks_with_mapped_usage() {
        let mut m = machine();
        let frames = run(
            &mut m,
            &[
                created(),
                ev(json!({"type": "response.in_progress", "response": {"id": "resp_abc"}})),
                ev(
                    json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
                ),
                ev(
                    json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 0}),
                ),
                ev(
                    json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "Plan"}),
                ),
                ev(
                    json!({"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 1}),
                ),
                ev(
                    json!({"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 1, "delta": "More"}),
                ),
                ev(
                    json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1",
                    "summary": [{"type": "summary_text", "text": "Plan"}, {"type": "summary_text", "text": "More"}], "encrypted_content": "gAAA1"}}),
                ),
                ev(
                    json!({"type": "response.output_item.added", "output_index": 1, "item": {"type": "message", "id": "msg_1", "content": []}}),
                ),
                ev(
                    json!({"type": "response.content_part.added", "output_index": 1, "content_index": 0}),
                ),
                ev(json!({"type": "response.output_text.delta", "output_index": 1, "delta": ""})),
                ev(json!({"type": "response.output_text.delta", "output_index": 1, "delta": "O"})),
                ev(json!({"type": "response.output_text.delta", "output_index": 1, "delta": "K"})),
                ev(json!({"type": "response.output_text.done", "output_index": 1, "text": "OK"})),
                ev(
                    json!({"type": "response.output_item.done", "output_index": 1, "item": {"type": "message", "id": "msg_1",
                    "content": [{"type": "output_text", "text": "OK"}]}}),
                ),
                completed(
                    &json!({"input_tokens": 1000, "input_tokens_details": {"cached_tokens": 800}, "output_tokens": 5}),
                ),
            ],
        );
        assert_eq!(
            frames,
            vec![
                start(42),
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Plan"}}),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "\n\n"}}),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "More"}}),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "cdx1:rs_1:gAAA1"}}),
                json!({"type": "content_block_stop", "index": 0}),
                json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "O"}}),
                json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "K"}}),
                json!({"type": "content_block_stop", "index": 1}),
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                       "usage": {"input_tokens": 200, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 800, "output_tokens": 5}}),
                json!({"type": "message_stop"}),
            ]
        );
        assert_eq!(
            serde_json::to_value(m.message()).unwrap(),
            json!({"id": "msg_abc", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "thinking", "thinking": "Plan\n\nMore", "signature": "cdx1:rs_1:gAAA1"}, {"type": "text", "text": "OK"}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 200, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 800, "output_tokens": 5}})
        );
    }

    #[test]
    fn a_late_input_count_reaches_message_start_if_unsent_and_message_delta_without_usage() {
        let text =
            ev(json!({"type": "response.output_text.delta", "output_index": 0, "delta": "hi"}));
        let no_usage =
            ev(json!({"type": "response.completed", "response": {"id": "resp_abc", "output": []}}));
        let delta = |input: u64| {
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"input_tokens": input, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}})
        };

        // Ready before the first event: message_start has the exact count.
        let mut m = machine();
        m.set_input_estimate(1234);
        let frames = run(&mut m, &[created(), text.clone(), no_usage.clone()]);
        assert_eq!(frames[0], start(1234));
        assert_eq!(frames[frames.len() - 2], delta(1234));

        // Ready after message_start was written: message_delta corrects it.
        let mut m = machine();
        let mut frames = m.push(&created());
        frames.extend(m.push(&text));
        m.set_input_estimate(1234);
        frames.extend(m.push(&no_usage));
        let data: Vec<Value> = frames
            .iter()
            .map(|f| serde_json::from_str(&f.data).unwrap())
            .collect();
        assert_eq!(data[0], start(42));
        assert_eq!(data[data.len() - 2], delta(1234));
        assert_eq!(m.message().usage.input_tokens, 1234);

        // The backend's own usage wins over any estimate.
        let mut m = machine();
        let frames = run(
            &mut m,
            &[
                created(),
                text,
                completed(&json!({"input_tokens": 7, "output_tokens": 1})),
            ],
        );
        m.set_input_estimate(1234);
        assert_eq!(frames[frames.len() - 2]["usage"]["input_tokens"], 7);
        assert_eq!(m.message().usage.input_tokens, 7);
    }

    #[test]
    fn omitted_summary_still_carries_the_signature_and_no_thinking_when_not_asked() {
        let events = [
            created(),
            ev(
                json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_2"}}),
            ),
            ev(
                json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAA2"}}),
            ),
            ev(json!({"type": "response.output_text.delta", "output_index": 1, "delta": "hi"})),
            completed(&json!({"input_tokens": 3, "output_tokens": 1})),
        ];
        let frames = run(&mut machine(), &events);
        assert_eq!(
            frames[1..4].to_vec(),
            vec![
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "cdx1:rs_2:gAAA2"}}),
                json!({"type": "content_block_stop", "index": 0}),
            ]
        );
        assert_eq!(frames[4]["index"], json!(1));
        let without = run(&mut machine().with_thinking(false), &events);
        assert_eq!(
            without[1],
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        );
    }

    fn call_events(with_deltas: bool) -> Vec<ResponsesEvent> {
        let mut events = vec![
            created(),
            ev(
                json!({"type": "response.output_item.added", "output_index": 0,
                "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "Bash", "arguments": ""}}),
            ),
        ];
        if with_deltas {
            for delta in ["{\"command\":", "\"echo ", "hi\"}"] {
                events.push(ev(json!({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": delta})));
            }
        }
        events.push(ev(json!({"type": "response.function_call_arguments.done", "output_index": 0, "arguments": "{\"command\":\"echo hi\"}"})));
        events.push(ev(json!({"type": "response.output_item.done", "output_index": 0,
            "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "Bash", "arguments": "{\"command\":\"echo hi\"}"}})));
        events.push(completed(&json!({"input_tokens": 10, "output_tokens": 7})));
        events
    }

    #[test]
    fn tool_arguments_stream_once_from_deltas_or_once_from_done() {
        let tool_start = json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {}}});
        let json_delta = |s: &str| json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": s}});
        let tail = vec![
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                   "usage": {"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 7}}),
            json!({"type": "message_stop"}),
        ];
        let mut m = machine();
        let mut expected = vec![
            start(42),
            tool_start.clone(),
            json_delta("{\"command\":"),
            json_delta("\"echo "),
            json_delta("hi\"}"),
        ];
        expected.extend(tail.clone());
        assert_eq!(run(&mut m, &call_events(true)), expected);
        assert_eq!(
            serde_json::to_value(&m.message().content).unwrap(),
            json!([{"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "echo hi"}}])
        );
        let mut expected = vec![
            start(42),
            tool_start,
            json_delta("{\"command\":\"echo hi\"}"),
        ];
        expected.extend(tail);
        assert_eq!(run(&mut machine(), &call_events(false)), expected);
    }

    #[test]
    fn a_call_without_a_name_opens_only_when_the_name_arrives() {
        let long = "mcp__server__".to_owned() + &"t".repeat(70);
        let names = ToolNameMap::build([long.as_str()]);
        let short = names.short(&long).to_owned();
        let mut m = MessagesStream::new("gpt-5.5", names, 1);
        let frames = run(
            &mut m,
            &[
                created(),
                ev(
                    json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "call_id": "call_9", "name": "", "arguments": ""}}),
                ),
                ev(
                    json!({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "{\"a\":"}),
                ),
                ev(
                    json!({"type": "response.function_call_arguments.delta", "output_index": 0, "delta": "1}"}),
                ),
                ev(
                    json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "function_call", "call_id": "call_9", "name": short, "arguments": "{\"a\":1}"}}),
                ),
                completed(&json!({"input_tokens": 1, "output_tokens": 1})),
            ],
        );
        assert_eq!(
            frames[1..4].to_vec(),
            vec![
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "call_9", "name": long, "input": {}}}),
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}}),
                json!({"type": "content_block_stop", "index": 0}),
            ]
        );
        assert_eq!(frames[4]["delta"]["stop_reason"], json!("tool_use"));
    }

    #[test]
    fn parallel_calls_get_consecutive_blocks() {
        let mut events = vec![created()];
        for (oi, id) in [(1, "call_a"), (2, "call_b")] {
            events.push(ev(json!({"type": "response.output_item.added", "output_index": oi, "item": {"type": "function_call", "call_id": id, "name": "Read", "arguments": ""}})));
            events.push(ev(json!({"type": "response.function_call_arguments.delta", "output_index": oi, "delta": "{}"})));
            events.push(ev(json!({"type": "response.output_item.done", "output_index": oi, "item": {"type": "function_call", "call_id": id, "name": "Read", "arguments": "{}"}})));
        }
        events.push(completed(&json!({"input_tokens": 1, "output_tokens": 1})));
        let frames = run(&mut machine(), &events);
        let kinds: Vec<String> = frames
            .iter()
            .map(|f| format!("{}:{}", f["type"].as_str().unwrap(), f["index"]))
            .collect();
        assert_eq!(
            kinds,
            [
                "message_start:null",
                "content_block_start:0",
                "content_block_delta:0",
                "content_block_stop:0",
                "content_block_start:1",
                "content_block_delta:1",
                "content_block_stop:1",
                "message_delta:null",
                "message_stop:null"
            ]
        );
        assert_eq!(frames[4]["content_block"]["id"], json!("call_b"));
    }

    #[test]
    fn stop_reasons_for_incomplete_refusal_and_empty_text() {
        let incomplete = run(
            &mut machine(),
            &[
                created(),
                ev(
                    json!({"type": "response.output_text.delta", "output_index": 0, "delta": "cut"}),
                ),
                ev(
                    json!({"type": "response.incomplete", "response": {"id": "r", "incomplete_details": {"reason": "max_output_tokens"}, "usage": {"input_tokens": 1, "output_tokens": 9}}}),
                ),
            ],
        );
        assert_eq!(
            incomplete[incomplete.len() - 2]["delta"]["stop_reason"],
            json!("max_tokens")
        );
        let refusal = run(
            &mut machine(),
            &[
                created(),
                ev(
                    json!({"type": "response.refusal.delta", "output_index": 0, "delta": "I can't help with that."}),
                ),
                completed(&json!({"input_tokens": 1, "output_tokens": 1})),
            ],
        );
        assert_eq!(
            refusal[1]["content_block"],
            json!({"type": "text", "text": ""})
        );
        assert_eq!(
            refusal[2]["delta"],
            json!({"type": "text_delta", "text": "I can't help with that."})
        );
        assert_eq!(refusal[4]["delta"]["stop_reason"], json!("refusal"));
        let empty = run(
            &mut machine(),
            &[
                created(),
                ev(
                    json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "content": []}}),
                ),
                ev(json!({"type": "response.output_text.delta", "output_index": 0, "delta": ""})),
                ev(
                    json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "message", "content": [{"type": "output_text", "text": ""}]}}),
                ),
                completed(&json!({"input_tokens": 1, "output_tokens": 0})),
            ],
        );
        let types: Vec<&str> = empty.iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["message_start", "message_delta", "message_stop"]);
        assert_eq!(empty[1]["delta"]["stop_reason"], json!("end_turn"));
    }

    #[test]
    fn text_only_in_the_done_item_is_emitted_once() {
        let frames = run(
            &mut machine(),
            &[
                created(),
                ev(
                    json!({"type": "response.output_item.done", "output_index": 0, "item": {"type": "message", "content": [{"type": "output_text", "text": "whole"}]}}),
                ),
                completed(&json!({"input_tokens": 1, "output_tokens": 1})),
            ],
        );
        assert_eq!(
            frames[2]["delta"],
            json!({"type": "text_delta", "text": "whole"})
        );
        assert_eq!(frames.len(), 6);
    }

    #[test]
    fn a_failure_closes_the_open_block_and_ends_with_an_error_event() {
        let mut m = machine();
        let mut frames = Vec::new();
        for event in [
            created(),
            ev(json!({"type": "response.output_text.delta", "output_index": 0, "delta": "part"})),
        ] {
            frames.extend(m.push(&event));
        }
        assert!(m.has_content());
        frames.extend(m.fail(&ApiError::new(
            ErrorKind::InvalidRequest,
            "prompt is too long: x",
        )));
        frames.extend(m.finish());
        frames.extend(m.push(&completed(&json!({}))));
        let data: Vec<Value> = frames
            .iter()
            .map(|f| serde_json::from_str(&f.data).unwrap())
            .collect();
        assert_eq!(
            data[3..].to_vec(),
            vec![
                json!({"type": "content_block_stop", "index": 0}),
                json!({"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: x"}}),
            ]
        );
        // An upstream end without a terminal event is an api_error.
        let mut cut = machine();
        cut.push(&created());
        let end = cut.finish();
        assert_eq!(end[0].event.as_deref(), Some("error"));
        assert!(end[0].data.contains("api_error"));
    }

    #[test]
    fn pending_calls_are_resolved_from_the_completed_output() {
        let frames = run(
            &mut machine(),
            &[
                created(),
                ev(
                    json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "function_call", "call_id": "call_x", "name": "Bash", "arguments": ""}}),
                ),
                ev(
                    json!({"type": "response.completed", "response": {"id": "r", "usage": {"input_tokens": 1, "output_tokens": 1},
                    "output": [{"type": "function_call", "call_id": "call_x", "name": "Bash", "arguments": "{\"command\":\"ls\"}"}]}}),
                ),
            ],
        );
        assert_eq!(
            frames[2]["delta"],
            json!({"type": "input_json_delta", "partial_json": "{\"command\":\"ls\"}"})
        );
        assert_eq!(frames[3], json!({"type": "content_block_stop", "index": 0}));
        assert_eq!(frames[4]["delta"]["stop_reason"], json!("tool_use"));
    }

    #[test]
    fn the_ping_frame_is_the_anthropic_ping() {
        assert_eq!(
            &ping_frame().to_bytes()[..],
            b"event: ping\ndata: {\"type\":\"ping\"}\n\n"
        );
    }

    #[test]
    fn a_stop_sequence_ends_the_message_with_stop_reason_and_sequence() {
        let mut machine = MessagesStream::new("claude-sonnet-4-5", ToolNameMap::default(), 10)
            .with_stop_sequences(&["K".to_owned()]);
        let frames = run(
            &mut machine,
            &[
                ev(json!({"type": "response.created", "response": {"id": "resp_abc"}})),
                ev(
                    json!({"type": "response.output_item.added", "output_index": 0, "item": {"type": "message", "id": "m", "content": []}}),
                ),
                ev(
                    json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "m", "delta": "O"}),
                ),
                ev(
                    json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "m", "delta": "K, done"}),
                ),
                ev(
                    json!({"type": "response.output_text.delta", "output_index": 0, "item_id": "m", "delta": "never sent"}),
                ),
            ],
        );
        let types: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(frames[2]["delta"]["text"], "O");
        assert_eq!(
            frames[4]["delta"],
            json!({"stop_reason": "stop_sequence", "stop_sequence": "K"})
        );
        let message = machine.into_answer().unwrap();
        assert_eq!(message.stop_sequence.as_deref(), Some("K"));
    }
}
