//! `ev_*` builders for Codex backend SSE events (docs/protocol.md §5), in the style of
//! openai/codex `core/tests/common/responses.rs`.
//!
//! Every builder returns the event JSON *without* `sequence_number`; [`number_events`] assigns
//! the numbers (0, 1, 2, …) in emission order and [`sse_frame`] renders one event as
//! `event: <type>\ndata: <json>\n\n`. Tests can build their own streams from these helpers and
//! queue them with [`super::Reply::raw`].

use serde_json::{Value, json};

/// `response.created`; `response` is a full response object with `status:"in_progress"`.
pub fn ev_response_created(response: &Value) -> Value {
    json!({"type": "response.created", "response": response})
}

/// `response.in_progress`.
pub fn ev_response_in_progress(response: &Value) -> Value {
    json!({"type": "response.in_progress", "response": response})
}

/// `response.output_item.added`.
pub fn ev_output_item_added(output_index: usize, item: &Value) -> Value {
    json!({"type": "response.output_item.added", "output_index": output_index, "item": item})
}

/// `response.output_item.done`.
pub fn ev_output_item_done(output_index: usize, item: &Value) -> Value {
    json!({"type": "response.output_item.done", "output_index": output_index, "item": item})
}

/// `response.reasoning_summary_part.added` (an empty `summary_text` part).
pub fn ev_reasoning_summary_part_added(
    item_id: &str,
    output_index: usize,
    summary_index: usize,
) -> Value {
    json!({
        "type": "response.reasoning_summary_part.added",
        "item_id": item_id, "output_index": output_index, "summary_index": summary_index,
        "part": {"type": "summary_text", "text": ""},
    })
}

/// `response.reasoning_summary_text.delta`.
pub fn ev_reasoning_summary_text_delta(
    item_id: &str,
    output_index: usize,
    summary_index: usize,
    delta: &str,
) -> Value {
    json!({
        "type": "response.reasoning_summary_text.delta",
        "item_id": item_id, "output_index": output_index, "summary_index": summary_index,
        "delta": delta,
    })
}

/// `response.reasoning_summary_text.done`.
pub fn ev_reasoning_summary_text_done(
    item_id: &str,
    output_index: usize,
    summary_index: usize,
    text: &str,
) -> Value {
    json!({
        "type": "response.reasoning_summary_text.done",
        "item_id": item_id, "output_index": output_index, "summary_index": summary_index,
        "text": text,
    })
}

/// `response.reasoning_summary_part.done`.
pub fn ev_reasoning_summary_part_done(
    item_id: &str,
    output_index: usize,
    summary_index: usize,
    text: &str,
) -> Value {
    json!({
        "type": "response.reasoning_summary_part.done",
        "item_id": item_id, "output_index": output_index, "summary_index": summary_index,
        "part": {"type": "summary_text", "text": text},
    })
}

/// `response.content_part.added` (an empty `output_text` part).
pub fn ev_content_part_added(item_id: &str, output_index: usize, content_index: usize) -> Value {
    json!({
        "type": "response.content_part.added",
        "item_id": item_id, "output_index": output_index, "content_index": content_index,
        "part": {"type": "output_text", "annotations": [], "text": ""},
    })
}

/// `response.output_text.delta`.
pub fn ev_output_text_delta(
    item_id: &str,
    output_index: usize,
    content_index: usize,
    delta: &str,
) -> Value {
    json!({
        "type": "response.output_text.delta",
        "item_id": item_id, "output_index": output_index, "content_index": content_index,
        "delta": delta, "logprobs": [],
    })
}

/// `response.output_text.done`.
pub fn ev_output_text_done(
    item_id: &str,
    output_index: usize,
    content_index: usize,
    text: &str,
) -> Value {
    json!({
        "type": "response.output_text.done",
        "item_id": item_id, "output_index": output_index, "content_index": content_index,
        "text": text, "logprobs": [],
    })
}

/// `response.content_part.done` carrying the final text.
pub fn ev_content_part_done(
    item_id: &str,
    output_index: usize,
    content_index: usize,
    text: &str,
) -> Value {
    json!({
        "type": "response.content_part.done",
        "item_id": item_id, "output_index": output_index, "content_index": content_index,
        "part": {"type": "output_text", "annotations": [], "text": text},
    })
}

/// `response.function_call_arguments.delta`.
pub fn ev_function_call_arguments_delta(item_id: &str, output_index: usize, delta: &str) -> Value {
    json!({
        "type": "response.function_call_arguments.delta",
        "item_id": item_id, "output_index": output_index, "delta": delta,
    })
}

/// `response.function_call_arguments.done`.
pub fn ev_function_call_arguments_done(
    item_id: &str,
    output_index: usize,
    arguments: &str,
) -> Value {
    json!({
        "type": "response.function_call_arguments.done",
        "item_id": item_id, "output_index": output_index, "arguments": arguments,
    })
}

/// `response.completed`; `response` has `status:"completed"`, `output` and `usage`.
pub fn ev_response_completed(response: &Value) -> Value {
    json!({"type": "response.completed", "response": response})
}

/// `response.incomplete`; `response` has `status:"incomplete"` and `incomplete_details`.
pub fn ev_response_incomplete(response: &Value) -> Value {
    json!({"type": "response.incomplete", "response": response})
}

/// `response.failed`; `response` has `status:"failed"` and `error:{code,message}`.
pub fn ev_response_failed(response: &Value) -> Value {
    json!({"type": "response.failed", "response": response})
}

/// The flat in-stream `error` event (docs/protocol.md §6.2):
/// `{"type":"error","code":…,"message":…}`.
pub fn ev_error(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message, "param": null})
}

/// An assistant `message` output item with one `output_text` part.
pub fn message_item(id: &str, text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([{"type": "output_text", "annotations": [], "text": text}])
    };
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

/// A `reasoning` output item; `encrypted_content` is present only when the request asked for
/// it with `include:["reasoning.encrypted_content"]`.
pub fn reasoning_item(id: &str, summary: &[String], encrypted_content: Option<&str>) -> Value {
    let summary: Vec<Value> = summary
        .iter()
        .map(|text| json!({"type": "summary_text", "text": text}))
        .collect();
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let Some(blob) = encrypted_content {
        item["encrypted_content"] = json!(blob);
    }
    item
}

/// A `function_call` output item (`id` is `fc_…`, `call_id` is `call_…`).
pub fn function_call_item(
    id: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
    status: &str,
) -> Value {
    json!({
        "id": id, "type": "function_call", "status": status,
        "call_id": call_id, "name": name, "arguments": arguments,
    })
}

/// A `web_search_call` output item (`ws_…`); `sources` only when the request included them.
pub fn web_search_item(id: &str, status: &str, query: &str, sources: Option<&[String]>) -> Value {
    let mut action = json!({"type": "search", "query": query});
    if let Some(sources) = sources {
        action["sources"] = sources
            .iter()
            .map(|url| json!({"type": "url", "url": url}))
            .collect();
    }
    json!({"id": id, "type": "web_search_call", "status": status, "action": action})
}

/// `response.web_search_call.in_progress` / `.searching` / `.completed`.
pub fn ev_web_search_call(stage: &str, item_id: &str, output_index: usize) -> Value {
    json!({
        "type": format!("response.web_search_call.{stage}"),
        "item_id": item_id, "output_index": output_index,
    })
}

/// Sets `sequence_number` on each event to its position (0, 1, 2, …), as the backend does.
pub fn number_events(events: &mut [Value]) {
    for (index, event) in events.iter_mut().enumerate() {
        if let Some(object) = event.as_object_mut() {
            object.insert("sequence_number".to_owned(), json!(index));
        }
    }
}

/// Renders one event as an SSE frame: `event: <type>\ndata: <one-line json>\n\n`.
pub fn sse_frame(event: &Value) -> String {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    format!("event: {kind}\ndata: {event}\n\n")
}

/// Numbers `events` and renders them as one SSE body.
pub fn sse(events: &[Value]) -> String {
    let mut events = events.to_vec();
    number_events(&mut events);
    events.iter().map(sse_frame).collect()
}

/// One parsed SSE event: the `event:` name (if any) and the joined `data:` lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if the frame had one.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Parses an SSE body (LF or CRLF line ends; comment lines ignored) into events.
pub fn parse_sse(body: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    let mut name: Option<String> = None;
    let mut data: Vec<&str> = Vec::new();
    for line in body.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            if name.is_some() || !data.is_empty() {
                events.push(SseEvent {
                    event: name.take(),
                    data: data.join("\n"),
                });
                data.clear();
            }
        } else if line.starts_with(':') {
            // comment / keep-alive
        } else if let Some(value) = line.strip_prefix("event:") {
            name = Some(value.trim_start().to_owned());
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    if name.is_some() || !data.is_empty() {
        events.push(SseEvent {
            event: name,
            data: data.join("\n"),
        });
    }
    events
}
