//! Scripted answers of the fake `/backend-api/codex/responses`: [`Reply`] (what the stream
//! carries and how it is delivered), [`Failure`] (HTTP errors before any stream), [`Gate`]
//! (a test-controlled pause, no sleeps) and the renderer that turns a reply into numbered events.
//!
//! Rendering is a pure function of the reply and the request ([`StreamContext`]) so that the
//! event lifecycle (docs/protocol.md §5.2–§5.3) lives in one place:
//! `response.created` → `response.in_progress` → per item `output_item.added` … `output_item.done`
//! → one terminal event (`response.completed` / `response.incomplete` / `response.failed` / `error`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use tokio::sync::Notify;

use super::events::{
    ev_content_part_added, ev_content_part_done, ev_error, ev_function_call_arguments_delta,
    ev_function_call_arguments_done, ev_output_item_added, ev_output_item_done,
    ev_output_text_delta, ev_output_text_done, ev_reasoning_summary_part_added,
    ev_reasoning_summary_part_done, ev_reasoning_summary_text_delta,
    ev_reasoning_summary_text_done, ev_response_completed, ev_response_created, ev_response_failed,
    ev_response_in_progress, ev_response_incomplete, ev_web_search_call, function_call_item,
    message_item, number_events, reasoning_item, web_search_item,
};

/// The message of a context-window overflow, as openai/codex's tests record it
/// (docs/protocol.md §6.2).
pub const CONTEXT_LENGTH_EXCEEDED_MESSAGE: &str =
    "Your input exceeds the context window of this model. Please adjust your input and try again.";

/// A pause point that the test opens: the fake waits on it without sleeping.
///
/// `wait_reached()` lets the test know the fake has arrived at the gate (e.g. the stream is
/// parked before event 3); `release()` lets it continue. Clones share the same gate.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    inner: Arc<GateInner>,
}

#[derive(Debug, Default)]
struct GateInner {
    open: AtomicBool,
    opened: Notify,
    reached: AtomicBool,
    reached_notify: Notify,
}

impl Gate {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the gate (idempotent); everything waiting on it continues.
    pub fn release(&self) {
        self.inner.open.store(true, Ordering::SeqCst);
        self.inner.opened.notify_waiters();
    }

    /// Whether the fake has arrived at this gate.
    pub fn is_reached(&self) -> bool {
        self.inner.reached.load(Ordering::SeqCst)
    }

    /// Resolves once the fake has arrived at this gate.
    pub async fn wait_reached(&self) {
        loop {
            let notified = self.inner.reached_notify.notified();
            if self.is_reached() {
                return;
            }
            notified.await;
        }
    }

    /// Called by the fake: marks the gate reached and waits until it is released.
    pub(crate) async fn pass(&self) {
        self.inner.reached.store(true, Ordering::SeqCst);
        self.inner.reached_notify.notify_waiters();
        loop {
            let notified = self.inner.opened.notified();
            if self.inner.open.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

/// Token accounting of `response.completed` / `response.incomplete`.
///
/// `input_tokens_details.cache_write_tokens` is always sent because openai SDK 3.x requires it
/// (docs/protocol.md §5.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(
    clippy::struct_field_names,
    reason = "the wire names all end in _tokens"
)]
pub struct Usage {
    /// `input_tokens` (includes the cached ones).
    pub input_tokens: u64,
    /// `input_tokens_details.cached_tokens`.
    pub cached_tokens: u64,
    /// `input_tokens_details.cache_write_tokens`.
    pub cache_write_tokens: u64,
    /// `output_tokens` (includes the reasoning ones).
    pub output_tokens: u64,
    /// `output_tokens_details.reasoning_tokens`.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// The wire JSON, with `total_tokens = input_tokens + output_tokens`.
    pub fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens, "cache_write_tokens": self.cache_write_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        })
    }
}

/// An HTTP-level failure answered instead of a stream (docs/protocol.md §6.1), queued with
/// [`super::FakeUpstream::fail_next`].
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// 429 `usage_limit_reached` with the `x-codex-*` headers showing the primary window at 100 %.
    UsageLimitReached,
    /// 401 `{"detail":"Unauthorized"}` with the token-expired headers.
    Unauthorized,
    /// 503 `{"error":{"code":"server_is_overloaded",…}}`.
    Overloaded,
    /// 500 `{"error":{"code":"server_error",…}}`.
    ServerError,
    /// Any status with a JSON body.
    Status(u16, Value),
}

/// How the stream ends after its events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StreamEnd {
    /// Send every event, then end the body.
    #[default]
    Close,
    /// Send only the first `n` events, then end the body cleanly (no terminal event).
    DropAfter(usize),
    /// Send only the first `n` events, then abort the connection (the body errors).
    AbortAfter(usize),
    /// Send every event, then keep the body open until the client goes away.
    StayOpen,
}

#[derive(Clone, Debug)]
pub(crate) enum ItemSpec {
    Reasoning {
        summary: Vec<String>,
        reasoning_tokens: u64,
    },
    Message {
        deltas: Vec<String>,
    },
    FunctionCall {
        call_id: Option<String>,
        name: String,
        deltas: Vec<String>,
    },
    WebSearch {
        query: String,
        sources: Vec<String>,
    },
}

/// The terminal event of a reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Terminal {
    /// `response.completed` (optionally with an empty `output`, docs/protocol.md §5.3).
    Completed {
        /// Send `response.output: []` although items were streamed.
        empty_output: bool,
    },
    /// `response.incomplete` with `incomplete_details.reason`.
    Incomplete {
        /// e.g. `max_output_tokens`.
        reason: String,
    },
    /// `response.failed` with `response.error.{code,message}`.
    Failed {
        /// e.g. `context_length_exceeded`, `server_error`.
        code: String,
        /// Human text.
        message: String,
    },
    /// The flat `error` event.
    ErrorEvent {
        /// e.g. `context_length_exceeded`.
        code: String,
        /// Human text.
        message: String,
    },
}

/// One scripted answer of the responses endpoint, built fluently:
/// `Reply::text("Hello")`, `Reply::reasoning("**Plan**").with_text("Done")`,
/// `Reply::function_call("lookup", r#"{"q":"x"}"#).with_function_call("other", "{}")`,
/// `Reply::text("cut").drop_after(4)`, `Reply::text("hi").gate_before_event(3, gate.clone())`.
#[derive(Clone, Debug)]
pub struct Reply {
    pub(crate) items: Vec<ItemSpec>,
    pub(crate) terminal: Terminal,
    pub(crate) usage: Option<Usage>,
    pub(crate) raw: Option<Vec<Value>>,
    pub(crate) end: StreamEnd,
    pub(crate) header_gate: Option<Gate>,
    pub(crate) event_gates: Vec<(usize, Gate)>,
    pub(crate) chunk_bytes: Option<usize>,
}

/// Splits `text` into up to `pieces` deltas at character boundaries (never inside a char).
pub fn split_into_deltas(text: &str, pieces: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    let size = chars.len().div_ceil(pieces.max(1));
    chars
        .chunks(size)
        .map(|chunk| chunk.iter().collect())
        .collect()
}

impl Reply {
    fn empty() -> Self {
        Self {
            items: Vec::new(),
            terminal: Terminal::Completed {
                empty_output: false,
            },
            usage: None,
            raw: None,
            end: StreamEnd::Close,
            header_gate: None,
            event_gates: Vec::new(),
            chunk_bytes: None,
        }
    }

    /// An assistant message whose text arrives in several deltas (up to 4).
    pub fn text(text: &str) -> Self {
        Self::empty().with_text(text)
    }

    /// An assistant message streamed exactly as the given deltas.
    pub fn text_deltas(deltas: &[&str]) -> Self {
        Self::empty().with_text_deltas(deltas)
    }

    /// A reasoning item (summary streamed when the request asks for a summary;
    /// `encrypted_content` when it includes `reasoning.encrypted_content`).
    pub fn reasoning(summary: &str) -> Self {
        Self::empty().with_reasoning(summary)
    }

    /// One call of the Codex CLI's shell tool (see [`Reply::with_exec_command`]).
    pub fn exec_command(cmd: &str) -> Self {
        Self::empty().with_exec_command(cmd)
    }

    /// One function call; `arguments` (a JSON string) arrives in several deltas.
    pub fn function_call(name: &str, arguments: &str) -> Self {
        Self::empty().with_function_call(name, arguments)
    }

    /// One function call with a chosen `call_id`.
    pub fn function_call_with_id(call_id: &str, name: &str, arguments: &str) -> Self {
        Self::empty().with_function_call_id(call_id, name, arguments)
    }

    /// One search by the backend's `web_search` tool (see `with_web_search`).
    pub fn web_search(query: &str, sources: &[&str]) -> Self {
        Self::empty().with_web_search(query, sources)
    }

    /// Text streamed, then `response.incomplete` with `reason` (e.g. `max_output_tokens`).
    pub fn incomplete(text: &str, reason: &str) -> Self {
        let mut reply = Self::text(text);
        reply.terminal = Terminal::Incomplete {
            reason: reason.to_owned(),
        };
        reply
    }

    /// `response.failed` with the given error code and message, no output.
    pub fn failed(code: &str, message: &str) -> Self {
        let mut reply = Self::empty();
        reply.terminal = Terminal::Failed {
            code: code.to_owned(),
            message: message.to_owned(),
        };
        reply
    }

    /// `response.failed` with `context_length_exceeded`.
    pub fn context_length_exceeded() -> Self {
        Self::failed("context_length_exceeded", CONTEXT_LENGTH_EXCEEDED_MESSAGE)
    }

    /// The flat `error` event with `context_length_exceeded` (after `response.created`).
    pub fn context_length_exceeded_error_event() -> Self {
        Self::error_event("context_length_exceeded", CONTEXT_LENGTH_EXCEEDED_MESSAGE)
    }

    /// A flat `error` event with the given code and message.
    pub fn error_event(code: &str, message: &str) -> Self {
        let mut reply = Self::empty();
        reply.terminal = Terminal::ErrorEvent {
            code: code.to_owned(),
            message: message.to_owned(),
        };
        reply
    }

    /// Exactly these events (sequence numbers are assigned when missing). For odd streams.
    pub fn raw(events: Vec<Value>) -> Self {
        let mut reply = Self::empty();
        reply.raw = Some(events);
        reply
    }

    /// Appends an assistant message (several deltas).
    #[must_use]
    pub fn with_text(self, text: &str) -> Self {
        let deltas = split_into_deltas(text, 4);
        let deltas: Vec<&str> = deltas.iter().map(String::as_str).collect();
        self.with_text_deltas(&deltas)
    }

    /// Appends an assistant message streamed as exactly these deltas.
    #[must_use]
    pub fn with_text_deltas(mut self, deltas: &[&str]) -> Self {
        self.items.push(ItemSpec::Message {
            deltas: deltas.iter().map(|d| (*d).to_owned()).collect(),
        });
        self
    }

    /// Appends a reasoning item with a one-part summary.
    #[must_use]
    pub fn with_reasoning(mut self, summary: &str) -> Self {
        self.items.push(ItemSpec::Reasoning {
            summary: vec![summary.to_owned()],
            reasoning_tokens: 64,
        });
        self
    }

    /// Appends a function call with a generated `call_…` id.
    #[must_use]
    pub fn with_function_call(mut self, name: &str, arguments: &str) -> Self {
        self.items.push(ItemSpec::FunctionCall {
            call_id: None,
            name: name.to_owned(),
            deltas: split_into_deltas(arguments, 3),
        });
        self
    }

    /// Appends a call of the Codex CLI's shell tool as the CLI expects it: `exec_command` with
    /// the command line in `cmd`, a string (not `command`, the list its old `shell` tool took).
    #[must_use]
    pub fn with_exec_command(self, cmd: &str) -> Self {
        self.with_function_call("exec_command", &json!({ "cmd": cmd }).to_string())
    }

    /// Appends a search by the backend's `web_search` tool (a `web_search_call` item). Its
    /// sources are listed only when the request includes `web_search_call.action.sources`.
    #[must_use]
    pub fn with_web_search(mut self, query: &str, sources: &[&str]) -> Self {
        self.items.push(ItemSpec::WebSearch {
            query: query.to_owned(),
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        });
        self
    }

    /// Appends a function call with a chosen `call_id`.
    #[must_use]
    pub fn with_function_call_id(mut self, call_id: &str, name: &str, arguments: &str) -> Self {
        self.items.push(ItemSpec::FunctionCall {
            call_id: Some(call_id.to_owned()),
            name: name.to_owned(),
            deltas: split_into_deltas(arguments, 3),
        });
        self
    }

    /// `response.completed` carries `output: []` although the items were streamed.
    #[must_use]
    pub fn empty_completed_output(mut self) -> Self {
        self.terminal = Terminal::Completed { empty_output: true };
        self
    }

    /// Uses these numbers instead of the estimated usage.
    #[must_use]
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Sends only the first `n` events, then ends the body without a terminal event.
    #[must_use]
    pub fn drop_after(mut self, n: usize) -> Self {
        self.end = StreamEnd::DropAfter(n);
        self
    }

    /// Sends only the first `n` events, then aborts the connection mid-body.
    #[must_use]
    pub fn abort_after(mut self, n: usize) -> Self {
        self.end = StreamEnd::AbortAfter(n);
        self
    }

    /// Keeps the body open after the terminal event, until the client disconnects.
    #[must_use]
    pub fn stay_open(mut self) -> Self {
        self.end = StreamEnd::StayOpen;
        self
    }

    /// Holds the whole HTTP response (status and headers: a slow first byte) until `gate` opens.
    #[must_use]
    pub fn gate_headers(mut self, gate: Gate) -> Self {
        self.header_gate = Some(gate);
        self
    }

    /// Sends the headers and events `0..index`, then waits for `gate` before event `index`
    /// (`index` may equal the event count: the gate then holds the end of the body).
    #[must_use]
    pub fn gate_before_event(mut self, index: usize, gate: Gate) -> Self {
        self.event_gates.push((index, gate));
        self
    }

    /// Writes the body in chunks of `bytes` bytes (so frames, and UTF-8 characters, are split
    /// across chunks).
    #[must_use]
    pub fn split_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = Some(bytes.max(1));
        self
    }
}

/// What the renderer needs to know about the request.
#[derive(Clone, Debug, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one flag per request field the reply depends on"
)]
pub struct StreamContext {
    /// `resp_…` id of this response.
    pub response_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Echoed request fields.
    pub model: String,
    pub(crate) instructions: Value,
    pub(crate) tools: Value,
    pub(crate) tool_choice: Value,
    pub(crate) parallel_tool_calls: bool,
    pub(crate) reasoning: Value,
    pub(crate) text: Value,
    pub(crate) prompt_cache_key: Value,
    /// The request's `include` has `reasoning.encrypted_content`.
    pub include_encrypted_reasoning: bool,
    /// The request's `include` has `web_search_call.action.sources`.
    pub include_search_sources: bool,
    /// The request's `reasoning.summary` asks for a summary.
    pub wants_reasoning_summary: bool,
    /// Estimated input tokens and the cached part.
    pub input_tokens: u64,
    pub cached_tokens: u64,
}

/// Hands out realistic ids (`msg_…`, `rs_…`, `fc_…`, `call_…`).
pub(crate) trait IdSource {
    fn next_id(&mut self, prefix: &str) -> String;
}

impl StreamContext {
    /// The response object as carried by `response.*` events.
    pub(crate) fn response_object(
        &self,
        status: &str,
        output: &[Value],
        usage: Option<&Value>,
    ) -> Value {
        json!({
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": false,
            "error": null,
            "incomplete_details": null,
            "instructions": self.instructions,
            "max_output_tokens": null,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": self.parallel_tool_calls,
            "previous_response_id": null,
            "prompt_cache_key": self.prompt_cache_key,
            "reasoning": self.reasoning,
            "service_tier": "default",
            "store": false,
            "temperature": 1.0,
            "text": self.text,
            "tool_choice": self.tool_choice,
            "tools": self.tools,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": null,
            "metadata": {},
        })
    }
}

fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4).max(1)
}

/// Renders `reply` for one request into numbered events.
pub(crate) fn render_reply(
    reply: &Reply,
    ctx: &StreamContext,
    ids: &mut dyn IdSource,
) -> Vec<Value> {
    if let Some(raw) = &reply.raw {
        let mut events = raw.clone();
        for (index, event) in events.iter_mut().enumerate() {
            if event.get("sequence_number").is_none() {
                event["sequence_number"] = json!(index);
            }
        }
        return events;
    }
    let mut events = vec![
        ev_response_created(&ctx.response_object("in_progress", &[], None)),
        ev_response_in_progress(&ctx.response_object("in_progress", &[], None)),
    ];
    let incomplete = matches!(reply.terminal, Terminal::Incomplete { .. });
    let mut output: Vec<Value> = Vec::new();
    let mut output_tokens = 0_u64;
    let mut reasoning_tokens = 0_u64;
    let item_count = reply.items.len();
    for (index, spec) in reply.items.iter().enumerate() {
        let oi = output.len();
        match spec {
            ItemSpec::Reasoning {
                summary,
                reasoning_tokens: spent,
            } => {
                let id = ids.next_id("rs");
                let summary: Vec<String> = if ctx.wants_reasoning_summary {
                    summary.clone()
                } else {
                    Vec::new()
                };
                let encrypted = ctx
                    .include_encrypted_reasoning
                    .then(|| fake_encrypted_content(&id));
                events.push(ev_output_item_added(oi, &reasoning_item(&id, &[], None)));
                for (si, text) in summary.iter().enumerate() {
                    events.push(ev_reasoning_summary_part_added(&id, oi, si));
                    for delta in split_into_deltas(text, 3) {
                        events.push(ev_reasoning_summary_text_delta(&id, oi, si, &delta));
                    }
                    events.push(ev_reasoning_summary_text_done(&id, oi, si, text));
                    events.push(ev_reasoning_summary_part_done(&id, oi, si, text));
                }
                let item = reasoning_item(&id, &summary, encrypted.as_deref());
                events.push(ev_output_item_done(oi, &item));
                output.push(item);
                reasoning_tokens += spent;
                output_tokens += spent;
            }
            ItemSpec::Message { deltas } => {
                let id = ids.next_id("msg");
                let text: String = deltas.concat();
                // Only the last message of an incomplete answer is cut off.
                let status = if incomplete && index + 1 == item_count {
                    "incomplete"
                } else {
                    "completed"
                };
                events.push(ev_output_item_added(
                    oi,
                    &message_item(&id, "", "in_progress"),
                ));
                events.push(ev_content_part_added(&id, oi, 0));
                for delta in deltas {
                    events.push(ev_output_text_delta(&id, oi, 0, delta));
                }
                events.push(ev_output_text_done(&id, oi, 0, &text));
                events.push(ev_content_part_done(&id, oi, 0, &text));
                let item = message_item(&id, &text, status);
                events.push(ev_output_item_done(oi, &item));
                output.push(item);
                output_tokens += estimate_tokens(&text);
            }
            ItemSpec::FunctionCall {
                call_id,
                name,
                deltas,
            } => {
                let id = ids.next_id("fc");
                let call_id = call_id.clone().unwrap_or_else(|| ids.next_id("call"));
                let arguments: String = deltas.concat();
                events.push(ev_output_item_added(
                    oi,
                    &function_call_item(&id, &call_id, name, "", "in_progress"),
                ));
                for delta in deltas {
                    events.push(ev_function_call_arguments_delta(&id, oi, delta));
                }
                events.push(ev_function_call_arguments_done(&id, oi, &arguments));
                let item = function_call_item(&id, &call_id, name, &arguments, "completed");
                events.push(ev_output_item_done(oi, &item));
                output.push(item);
                output_tokens += estimate_tokens(&arguments) + estimate_tokens(name);
            }
            ItemSpec::WebSearch { query, sources } => {
                let id = ids.next_id("ws");
                let sources = ctx.include_search_sources.then_some(sources.as_slice());
                events.push(ev_output_item_added(
                    oi,
                    &web_search_item(&id, "in_progress", query, None),
                ));
                for stage in ["in_progress", "searching", "completed"] {
                    events.push(ev_web_search_call(stage, &id, oi));
                }
                let item = web_search_item(&id, "completed", query, sources);
                events.push(ev_output_item_done(oi, &item));
                output.push(item);
            }
        }
    }
    let usage = reply.usage.unwrap_or(Usage {
        input_tokens: ctx.input_tokens,
        cached_tokens: ctx.cached_tokens,
        cache_write_tokens: 0,
        output_tokens,
        reasoning_tokens,
    });
    match &reply.terminal {
        Terminal::Completed { empty_output } => {
            let output = if *empty_output { Vec::new() } else { output };
            let response = ctx.response_object("completed", &output, Some(&usage.to_json()));
            events.push(ev_response_completed(&response));
        }
        Terminal::Incomplete { reason } => {
            let mut response = ctx.response_object("incomplete", &output, Some(&usage.to_json()));
            response["incomplete_details"] = json!({"reason": reason});
            events.push(ev_response_incomplete(&response));
        }
        Terminal::Failed { code, message } => {
            let mut response = ctx.response_object("failed", &output, None);
            response["error"] = json!({"code": code, "message": message});
            events.push(ev_response_failed(&response));
        }
        Terminal::ErrorEvent { code, message } => {
            // The flat error event replaces everything after `response.created` (a recorded
            // example has sequence_number 2 after created/in_progress; docs/protocol.md §5.3).
            events.push(ev_error(code, message));
        }
    }
    number_events(&mut events);
    events
}

/// An opaque blob shaped like the backend's Fernet tokens (`gAAAAB…`).
pub(crate) fn fake_encrypted_content(item_id: &str) -> String {
    use base64::Engine as _;
    let payload =
        base64::engine::general_purpose::URL_SAFE.encode(format!("fake-reasoning:{item_id}"));
    format!("gAAAAB{payload}")
}
