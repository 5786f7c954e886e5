//! Per-event cost of the stream translation (`make bench`, or `cargo bench --bench translate`).
//!
//! One recorded-style backend stream (reasoning summary, ~200 text deltas, a tool call with
//! streamed arguments, `response.completed` with usage), built with the fake backend's `ev_*`
//! helpers, is fed through what the gateway does for every upstream event: parse the `data:`
//! JSON once into its typed form (`upstream::events::parse`, the upstream reader's own
//! function), push it through the translator, render the frames as wire bytes. Throughput is reported in events, so criterion's `thrpt` is events per second
//! and `time / events` is the cost per streamed event.

// Benchmark code, not shipped: criterion's macros generate undocumented items, and a broken
// fixture should fail loudly.
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout
)]

use std::hint::black_box;

use codexia::{
    ChatStream, MessagesStream, ResponsesEvent, SseFrame, StreamTranslator, ToolNameMap,
    parse_event as parse,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

// The fake backend's event builders, shared with the integration tests.
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/fake_backend/events.rs"]
mod events;

use events::{
    ev_content_part_added, ev_content_part_done, ev_function_call_arguments_delta,
    ev_function_call_arguments_done, ev_output_item_added, ev_output_item_done,
    ev_output_text_delta, ev_output_text_done, ev_reasoning_summary_part_added,
    ev_reasoning_summary_part_done, ev_reasoning_summary_text_delta,
    ev_reasoning_summary_text_done, ev_response_completed, ev_response_created,
    ev_response_in_progress, function_call_item, message_item, number_events, reasoning_item,
};

const TEXT_DELTAS: usize = 200;
const REASONING_DELTAS: usize = 30;
const ARGUMENT_DELTAS: usize = 12;

fn response(status: &str, output: &Value, usage: &Value) -> Value {
    json!({
        "id": "resp_0a1b2c3d4e5f", "object": "response", "created_at": 1_767_000_000,
        "status": status, "model": "gpt-5.5", "output": output, "usage": usage,
        "instructions": "You are Claude Code, Anthropic's official CLI for Claude.",
        "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
        "reasoning": {"effort": "medium", "summary": "auto"},
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "prompt_cache_key": "0196f5c2-7c1e-7d3a-9c1e-3f1b2a4c5d6e",
    })
}

/// The `data:` payloads of one realistic answer: reasoning, text, then a tool call.
fn recorded_stream() -> Vec<String> {
    let words = [
        "The ", "build ", "fails ", "because ", "`serde` ", "is ", "pinned ", "to ", "an ",
        "older ", "minor; ", "bump ", "it ", "and ", "re-run ", "the ", "tests.\n",
    ];
    let text_deltas: Vec<&str> = words.iter().copied().cycle().take(TEXT_DELTAS).collect();
    let text: String = text_deltas.concat();
    let thought_deltas: Vec<&str> = words
        .iter()
        .copied()
        .cycle()
        .take(REASONING_DELTAS)
        .collect();
    let thought = format!("**Planning the fix**\n\n{}", thought_deltas.concat());
    let arguments = r#"{"command":"cargo update -p serde && cargo test --workspace","description":"Bump serde and run the tests","timeout":120000}"#;
    let argument_deltas: Vec<String> = arguments
        .as_bytes()
        .chunks(arguments.len().div_ceil(ARGUMENT_DELTAS))
        .map(|chunk| String::from_utf8(chunk.to_vec()).unwrap())
        .collect();

    let reasoning_id = "rs_0a1b2c3d4e5f";
    let message_id = "msg_0a1b2c3d4e5f";
    let call_item_id = "fc_0a1b2c3d4e5f";
    let call_id = "call_Xy12Ab34Cd56";
    let usage = json!({
        "input_tokens": 18_432, "input_tokens_details": {"cached_tokens": 17_920},
        "output_tokens": 512, "output_tokens_details": {"reasoning_tokens": 128},
        "total_tokens": 18_944,
    });
    let reasoning_done = reasoning_item(
        reasoning_id,
        std::slice::from_ref(&thought),
        Some("gAAAAABo…"),
    );
    let message_done = message_item(message_id, &text, "completed");
    let call_done = function_call_item(call_item_id, call_id, "Bash", arguments, "completed");

    let mut events = vec![
        ev_response_created(&response("in_progress", &json!([]), &Value::Null)),
        ev_response_in_progress(&response("in_progress", &json!([]), &Value::Null)),
        ev_output_item_added(0, &reasoning_item(reasoning_id, &[], None)),
        ev_reasoning_summary_part_added(reasoning_id, 0, 0),
        ev_reasoning_summary_text_delta(reasoning_id, 0, 0, "**Planning the fix**\n\n"),
    ];
    for delta in &thought_deltas {
        events.push(ev_reasoning_summary_text_delta(reasoning_id, 0, 0, delta));
    }
    events.extend([
        ev_reasoning_summary_text_done(reasoning_id, 0, 0, &thought),
        ev_reasoning_summary_part_done(reasoning_id, 0, 0, &thought),
        ev_output_item_done(0, &reasoning_done),
        ev_output_item_added(1, &message_item(message_id, "", "in_progress")),
        ev_content_part_added(message_id, 1, 0),
    ]);
    for delta in &text_deltas {
        events.push(ev_output_text_delta(message_id, 1, 0, delta));
    }
    events.extend([
        ev_output_text_done(message_id, 1, 0, &text),
        ev_content_part_done(message_id, 1, 0, &text),
        ev_output_item_done(1, &message_done),
        ev_output_item_added(
            2,
            &function_call_item(call_item_id, call_id, "Bash", "", "in_progress"),
        ),
    ]);
    for delta in &argument_deltas {
        events.push(ev_function_call_arguments_delta(call_item_id, 2, delta));
    }
    events.extend([
        ev_function_call_arguments_done(call_item_id, 2, arguments),
        ev_output_item_done(2, &call_done),
        ev_response_completed(&response(
            "completed",
            &json!([reasoning_done, message_done, call_done]),
            &usage,
        )),
    ]);
    number_events(&mut events);
    events.iter().map(Value::to_string).collect()
}

/// What the handler writes: the frames' wire bytes (their total length, so nothing is optimised
/// away).
fn write(frames: &[SseFrame]) -> usize {
    frames.iter().map(|frame| frame.to_bytes().len()).sum()
}

/// The upstream reader's parse of one `data:` payload.
fn parse_one(data: &str) -> ResponsesEvent {
    parse::<ResponsesEvent>(data)
        .expect("a payload")
        .expect("a recorded event parses")
}

/// Parses every recorded event, translates it with `push` and writes the frames; the bytes
/// written.
fn translate_all(
    stream: &[String],
    mut push: impl FnMut(&ResponsesEvent) -> Vec<SseFrame>,
) -> usize {
    stream
        .iter()
        .map(|data| write(&push(&parse_one(black_box(data)))))
        .sum()
}

fn bench_translate(c: &mut Criterion) {
    let stream = recorded_stream();
    let count = u64::try_from(stream.len()).unwrap();
    // Sanity: every payload parses to a known event and both translators finish cleanly.
    for data in &stream {
        let event = parse_one(data);
        assert!(!matches!(event, ResponsesEvent::Unknown), "{data}");
    }

    let mut group = c.benchmark_group("stream_per_event");
    group.throughput(Throughput::Elements(count));

    group.bench_function("parse", |b| {
        b.iter(|| {
            for data in &stream {
                black_box(parse_one(black_box(data)));
            }
        });
    });

    group.bench_function("parse+messages_stream", |b| {
        b.iter(|| {
            let mut machine =
                MessagesStream::new("claude-sonnet-4-5", ToolNameMap::default(), 18_000);
            let bytes =
                translate_all(&stream, |event| machine.push(event)) + write(&machine.finish());
            assert!(machine.is_finished());
            black_box(bytes)
        });
    });

    group.bench_function("parse+chat_stream", |b| {
        b.iter(|| {
            let mut machine = ChatStream::new(
                "gpt-5.5".to_owned(),
                "chatcmpl-0a1b2c3d".to_owned(),
                1_767_000_000,
                true,
            );
            let bytes =
                translate_all(&stream, |event| machine.push(event)) + write(&machine.finish());
            assert!(machine.is_finished());
            black_box(bytes)
        });
    });

    group.finish();
    println!("(one stream = {count} upstream events; time per event = time / {count})");
}

criterion_group!(benches, bench_translate);
criterion_main!(benches);
