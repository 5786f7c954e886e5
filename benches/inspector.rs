//! The request inspector's cost per request (`cargo bench --bench inspector`): one small
//! streamed `/v1/messages` exchange captured as the gateway's hooks capture it (the client's
//! request, the backend request, ten backend events, eight chunks written back, the end), in
//! an inspector of the default 8 MiB budget that has filled up, so that each capture also drops
//! the oldest ones. What the capture is handed is built outside the timed part; the backend's
//! events are copied for each run, as the SSE reader makes them.

// Benchmark code, not shipped: criterion's macros generate undocumented items, and a broken
// fixture should fail loudly.
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout
)]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use codexia::{BenchExchange, BenchInspector};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn headers(pairs: &[(&str, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// A ChatGPT access token is a JWT of about 1.9 KB.
fn token() -> String {
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{}",
        "a".repeat(1400),
        "s".repeat(342)
    )
}

fn exchange() -> (BenchExchange, Vec<(String, String)>) {
    let request_body = br#"{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Say OK."}]}"#;
    let upstream_body = format!(
        r#"{{"model":"gpt-5.5","instructions":"{}","input":[{{"type":"message","role":"user","content":[{{"type":"input_text","text":"Say OK."}}]}}],"tools":[],"tool_choice":"auto","parallel_tool_calls":true,"reasoning":{{"effort":"medium","summary":"auto"}},"store":false,"stream":true,"include":["reasoning.encrypted_content"],"prompt_cache_key":"0b8f6a52-3c1e-4f7e-9d0e-6a3f2b1c9d8e"}}"#,
        "You are a coding agent. ".repeat(20)
    );
    let request_headers = headers(&[
        ("host", "127.0.0.1:8765".into()),
        ("user-agent", "claude-cli/2.0.14 (external, cli)".into()),
        ("content-type", "application/json".into()),
        ("accept", "application/json".into()),
        ("anthropic-version", "2023-06-01".into()),
        (
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14".into(),
        ),
        ("x-api-key", "cdx-0123456789abcdefghijklmnop".into()),
        ("x-app", "cli".into()),
        ("x-stainless-lang", "js".into()),
        ("x-stainless-package-version", "0.60.0".into()),
        ("content-length", request_body.len().to_string()),
    ]);
    let upstream_headers = headers(&[
        ("authorization", format!("Bearer {}", token())),
        (
            "chatgpt-account-id",
            "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f".into(),
        ),
        ("originator", "codex_cli_rs".into()),
        ("openai-beta", "responses=experimental".into()),
        ("session_id", "0b8f6a52-3c1e-4f7e-9d0e-6a3f2b1c9d8e".into()),
        ("accept", "text/event-stream".into()),
        ("content-type", "application/json".into()),
    ]);
    let response_headers = headers(&[
        ("content-type", "text/event-stream".into()),
        ("cache-control", "no-cache".into()),
        ("request-id", "req_0123456789".into()),
    ]);
    let response = r#"{"id":"resp_1","object":"response","created_at":1764590000,"status":"in_progress","model":"gpt-5.5","output":[],"parallel_tool_calls":true,"reasoning":{"effort":"medium","summary":"auto"},"store":false,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"usage":null}"#;
    let events = vec![
        ("response.created".to_owned(), format!(r#"{{"type":"response.created","sequence_number":0,"response":{response}}}"#)),
        ("response.in_progress".to_owned(), format!(r#"{{"type":"response.in_progress","sequence_number":1,"response":{response}}}"#)),
        ("response.output_item.added".to_owned(), r#"{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_1","type":"message","status":"in_progress","content":[],"role":"assistant"}}"#.to_owned()),
        ("response.content_part.added".to_owned(), r#"{"type":"response.content_part.added","sequence_number":3,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"text":""}}"#.to_owned()),
        ("response.output_text.delta".to_owned(), r#"{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"Zebra-7"}"#.to_owned()),
        ("response.output_text.delta".to_owned(), r#"{"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_1","output_index":0,"content_index":0,"delta":" says OK."}"#.to_owned()),
        ("response.output_text.done".to_owned(), r#"{"type":"response.output_text.done","sequence_number":6,"item_id":"msg_1","output_index":0,"content_index":0,"text":"Zebra-7 says OK."}"#.to_owned()),
        ("response.content_part.done".to_owned(), r#"{"type":"response.content_part.done","sequence_number":7,"item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"text":"Zebra-7 says OK."}}"#.to_owned()),
        ("response.output_item.done".to_owned(), r#"{"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_1","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"Zebra-7 says OK."}],"role":"assistant"}}"#.to_owned()),
        ("response.completed".to_owned(), format!(r#"{{"type":"response.completed","sequence_number":9,"response":{}}}"#, response.replace("in_progress", "completed").replace("\"usage\":null", "\"usage\":{\"input_tokens\":120,\"output_tokens\":8,\"total_tokens\":128}"))),
    ];
    let chunks = [
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}"#,
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Zebra-7"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" says OK."}}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":12,"output_tokens":8}}"#,
        r#"{"type":"message_stop"}"#,
        r#"{"type":"ping"}"#,
    ]
    .iter()
    .map(|data| {
        let kind = data.split('"').nth(3).unwrap();
        Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
    })
    .collect();
    (
        BenchExchange {
            request_headers,
            request_body: Bytes::from_static(request_body),
            upstream_headers,
            upstream_body: Bytes::from(upstream_body),
            response_headers,
            chunks,
        },
        events,
    )
}

fn bench_capture(c: &mut Criterion) {
    let (exchange, events) = exchange();
    let inspector = BenchInspector::new(8 << 20);
    // Fill the budget first: from then on each capture drops old ones, as in a long session.
    let mut filled = 0;
    while filled < 2 {
        let before = inspector.memory().1;
        inspector.capture(&exchange, events.clone());
        if inspector.memory().1 <= before {
            filled += 1;
        }
    }
    let (bytes, kept) = inspector.memory();
    println!(
        "(a capture counts {} bytes; {kept} kept in 8 MiB)",
        bytes / kept
    );
    c.bench_function("capture_small_stream", |b| {
        b.iter_batched(
            || events.clone(),
            |events| inspector.capture(&exchange, events),
            BatchSize::SmallInput,
        );
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench_capture
}
criterion_main!(benches);
