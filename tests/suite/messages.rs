//! `POST /v1/messages` and `/v1/messages/count_tokens` end to end: the built binary against the
//! fake backend, one test per scenario of docs/compatibility.md §10 (what the fake received
//! upstream and what the client got), then the real clients (Claude Code, the Python and Node
//! Anthropic SDKs). Every upstream request recorded in these tests must pass the fake's strict
//! validation.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::codexia::text;
use crate::support::fake_backend::{
    CONTEXT_LENGTH_EXCEEDED_MESSAGE, Failure, Gate, Reply, Usage, ev_content_part_added,
    ev_function_call_arguments_done, ev_output_item_added, ev_output_item_done,
    ev_output_text_delta, ev_response_completed, ev_response_created, function_call_item,
    message_item, python_for_tests, reasoning_item,
};
use crate::support::harness::{Harness, claude_code_fixture, node_modules, node_script};
use crate::support::snapshot::error_answer;

const HOW_TO_FIX: &str = "run `make test` (scripts/setup.sh test installs Claude Code, the Node SDK in tests/node and the Python SDK in .venv)";

fn blocks(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .map(|e| e["content_block"].clone())
        .collect()
}

fn deltas(events: &[Value], kind: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["type"] == "content_block_delta" && e["delta"]["type"] == kind)
        .map(|e| e["delta"].clone())
        .collect()
}

fn joined(events: &[Value], kind: &str, field: &str) -> String {
    deltas(events, kind)
        .iter()
        .map(|d| d[field].as_str().unwrap().to_owned())
        .collect()
}

fn message_delta(events: &[Value]) -> Value {
    events
        .iter()
        .find(|e| e["type"] == "message_delta")
        .cloned()
        .expect("a message_delta")
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn simple(model: &str) -> Value {
    json!({"model": model, "max_tokens": 100, "stream": true, "messages": [user("hi")]})
}

fn bash_tool() -> Value {
    json!({"name": "Bash", "description": "Run a command",
           "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}})
}

/// Runs the Anthropic SDK event validator over the stream's data lines.
async fn assert_valid_anthropic_events(events: &[Value]) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    std::io::Write::write_all(&mut file, lines.join("\n").as_bytes()).unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/validate_anthropic_events.py");
    let python = python_for_tests();
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(file.path())
        .output()
        .await
        .unwrap_or_else(|err| panic!("cannot run {}: {err}; {HOW_TO_FIX}", python.display()));
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!(
            "{} has no usable anthropic package: {}; {HOW_TO_FIX}",
            python.display(),
            text(&output.stderr)
        ),
        _ => panic!(
            "events do not validate against the anthropic SDK types:\n{}{}",
            text(&output.stdout),
            text(&output.stderr)
        ),
    }
}

/// Every key anywhere in a JSON value.
fn all_keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                all_keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| all_keys(v, out)),
        _ => {}
    }
}

fn has_key(value: &Value, key: &str) -> bool {
    let mut keys = Vec::new();
    all_keys(value, &mut keys);
    keys.iter().any(|k| k == key)
}

/// A hand-made stream (for shapes the reply builder does not produce).
fn raw(events: Vec<Value>) -> Reply {
    let response =
        json!({"id": "resp_raw", "object": "response", "status": "in_progress", "output": []});
    let mut all = vec![ev_response_created(&response)];
    all.extend(events);
    Reply::raw(all)
}

fn completed_with(usage: &Value) -> Value {
    ev_response_completed(
        &json!({"id": "resp_raw", "object": "response", "status": "completed", "output": [], "usage": usage}),
    )
}

fn small_usage() -> Value {
    json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 2,
           "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12})
}

// ---------------------------------------------------------------------------------------------
// Scenarios s01–s35 (docs/compatibility.md §10)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn s01_a_claude_code_turn_is_translated_and_streams_thinking_then_text() {
    let h = Harness::start().await;
    let (body, session) = claude_code_fixture("01_basic_turn.json");
    let session = session.unwrap();
    h.fake.push_reply(
        Reply::reasoning("Checking")
            .with_text("OK")
            .with_usage(Usage {
                input_tokens: 1000,
                cached_tokens: 800,
                output_tokens: 5,
                ..Usage::default()
            }),
    );
    let answer = h
        .anthropic(
            "/v1/messages?beta=true",
            &body,
            &[("x-claude-code-session-id", &session)],
        )
        .await;
    let events = answer.anthropic_events();
    assert!(answer.header("request-id").unwrap().starts_with("req_"));

    let up = h.last_upstream();
    assert_eq!(up["model"], "gpt-5.5");
    let instructions = up["instructions"].as_str().unwrap();
    assert!(!instructions.contains("x-anthropic-billing-header"));
    assert!(instructions.starts_with("You are a Claude agent"));
    let roles: Vec<&str> = up["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["user", "developer"]);
    assert_eq!(up["tools"].as_array().unwrap().len(), 12);
    assert!(
        up["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["strict"] == false && t["type"] == "function")
    );
    for key in [
        "$schema",
        "defer_loading",
        "cache_control",
        "max_output_tokens",
        "temperature",
        "metadata",
        "context_management",
        "id",
    ] {
        assert!(!has_key(&up, key), "{key} was forwarded");
    }
    assert_eq!(
        up["reasoning"],
        json!({"effort": "high", "summary": "auto"})
    );
    assert_eq!(up["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(
        (up["store"].clone(), up["stream"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(up["prompt_cache_key"], json!(session));
    assert_eq!(h.upstream()[0].header("session_id"), Some(session.as_str()));

    assert_eq!(events[0]["message"]["model"], "gpt-5.5");
    assert!(
        events[0]["message"]["usage"]["input_tokens"]
            .as_u64()
            .unwrap()
            > 1000,
        "o200k estimate"
    );
    let kinds: Vec<Value> = blocks(&events).iter().map(|b| b["type"].clone()).collect();
    assert_eq!(kinds, [json!("thinking"), json!("text")]);
    assert_eq!(joined(&events, "thinking_delta", "thinking"), "Checking");
    let signature = joined(&events, "signature_delta", "signature");
    assert!(
        signature.starts_with("cdx1:rs_") && signature.contains(":gAAAA"),
        "{signature}"
    );
    assert_eq!(joined(&events, "text_delta", "text"), "OK");
    assert_eq!(
        message_delta(&events),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"input_tokens": 200, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 800, "output_tokens": 5}})
    );
    assert_valid_anthropic_events(&events).await;
}

#[tokio::test]
async fn s02_an_empty_summary_still_gives_a_signed_thinking_block() {
    let h = Harness::start().await;
    h.fake.push_reply(raw(vec![
        ev_output_item_added(0, &reasoning_item("rs_2", &[], None)),
        ev_output_item_done(0, &reasoning_item("rs_2", &[], Some("gAAAA2"))),
        ev_output_item_added(1, &message_item("msg_2", "", "in_progress")),
        ev_output_text_delta("msg_2", 1, 0, "hi"),
        ev_output_item_done(1, &message_item("msg_2", "hi", "completed")),
        completed_with(&small_usage()),
    ]));
    let mut body = simple("gpt-5.5");
    body["thinking"] = json!({"type": "adaptive", "display": "omitted"});
    let events = h.messages(&body).await.anthropic_events();
    assert_eq!(
        blocks(&events),
        [
            json!({"type": "thinking", "thinking": "", "signature": ""}),
            json!({"type": "text", "text": ""})
        ]
    );
    assert_eq!(deltas(&events, "thinking_delta"), Vec::<Value>::new());
    assert_eq!(
        joined(&events, "signature_delta", "signature"),
        "cdx1:rs_2:gAAAA2"
    );
    assert_eq!(h.last_upstream()["reasoning"]["summary"], "auto");
    assert_valid_anthropic_events(&events).await;
}

#[tokio::test]
async fn s03_a_tool_call_streams_its_arguments_exactly_once() {
    let h = Harness::start().await;
    h.fake.push_reply(Reply::function_call(
        "Bash",
        r#"{"command":"echo hi","description":"Print hi"}"#,
    ));
    // Spark-style: no argument deltas, only `.done`.
    h.fake.push_reply(raw(vec![
        ev_output_item_added(
            0,
            &function_call_item("fc_2", "call_2", "Bash", "", "in_progress"),
        ),
        ev_function_call_arguments_done("fc_2", 0, r#"{"command":"echo hi"}"#),
        ev_output_item_done(
            0,
            &function_call_item(
                "fc_2",
                "call_2",
                "Bash",
                r#"{"command":"echo hi"}"#,
                "completed",
            ),
        ),
        completed_with(&small_usage()),
    ]));
    let mut body = simple("gpt-5.5");
    body["tools"] = json!([bash_tool()]);
    for (call_id, expected_deltas) in [(None, 3), (Some("call_2"), 1)] {
        let events = h.messages(&body).await.anthropic_events();
        let started = blocks(&events);
        let id = started[0]["id"].as_str().unwrap().to_owned();
        assert!(
            id.starts_with("call_") && call_id.is_none_or(|c| c == id),
            "{id}"
        );
        assert_eq!(
            started,
            [json!({"type": "tool_use", "id": id, "name": "Bash", "input": {}})]
        );
        assert_eq!(deltas(&events, "input_json_delta").len(), expected_deltas);
        let input: Value =
            serde_json::from_str(&joined(&events, "input_json_delta", "partial_json")).unwrap();
        assert_eq!(input["command"], "echo hi");
        assert_eq!(message_delta(&events)["delta"]["stop_reason"], "tool_use");
        assert_valid_anthropic_events(&events).await;
    }
}

#[tokio::test]
async fn s04_the_tool_round_trip_turn_pairs_call_and_output() {
    let h = Harness::start().await;
    let (body, session) = claude_code_fixture("10_tool_use_turn2.json");
    h.fake.push_reply(Reply::text("done"));
    let answer = h
        .anthropic(
            "/v1/messages?beta=true",
            &body,
            &[("x-claude-code-session-id", &session.unwrap())],
        )
        .await;
    let events = answer.anthropic_events();
    let up = h.last_upstream();
    let input = up["input"].as_array().unwrap();
    let summary: Vec<String> = input
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["type"].as_str().unwrap(),
                i["role"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "message:user",
            "message:developer",
            "message:assistant",
            "function_call:",
            "function_call_output:"
        ]
    );
    assert_eq!(
        input[2]["content"],
        json!([{"type": "output_text", "text": "Running it.", "annotations": []}])
    );
    assert_eq!(
        input[3],
        json!({"type": "function_call", "call_id": "toolu_probe_5e7d08c8ad30", "name": "Bash",
               "arguments": "{\"command\":\"echo hi\",\"description\":\"Print hi\"}"})
    );
    assert_eq!(
        input[4],
        json!({"type": "function_call_output", "call_id": "toolu_probe_5e7d08c8ad30", "output": "hi"})
    );
    assert!(!has_key(&up, "cache_control") && !has_key(&up, "id"));
    assert_eq!(joined(&events, "text_delta", "text"), "done");
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "end_turn");
}

#[tokio::test]
async fn s05_parallel_calls_become_consecutive_blocks_and_outputs_follow_in_order() {
    let h = Harness::start().await;
    h.fake.push_reply(
        Reply::function_call("Read", r#"{"file_path":"/a"}"#).with_function_call_id(
            "call_b",
            "Read",
            r#"{"file_path":"/b"}"#,
        ),
    );
    let mut body = simple("gpt-5.5");
    body["tools"] = json!([{"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}]);
    let events = h.messages(&body).await.anthropic_events();
    let started = blocks(&events);
    assert_eq!(started.len(), 2);
    assert!(started[0]["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(started[1]["id"], "call_b");
    for (index, expected) in [(0, r#"{"file_path":"/a"}"#), (1, r#"{"file_path":"/b"}"#)] {
        let input: String = events
            .iter()
            .filter(|e| e["type"] == "content_block_delta" && e["index"] == index)
            .map(|e| e["delta"]["partial_json"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(input, expected);
    }
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "tool_use");
    assert_eq!(h.last_upstream()["parallel_tool_calls"], true);

    body["messages"] = json!([
        user("read both"),
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_a", "name": "Read", "input": {"file_path": "/a"}},
            {"type": "tool_use", "id": "call_b", "name": "Read", "input": {"file_path": "/b"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_a", "content": "A"},
            {"type": "tool_result", "tool_use_id": "call_b", "content": "B"}]}
    ]);
    h.messages(&body).await.anthropic_events();
    let types: Vec<String> = h.last_upstream()["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}{}",
                i["type"].as_str().unwrap(),
                i["call_id"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            "message",
            "function_callcall_a",
            "function_callcall_b",
            "function_call_outputcall_a",
            "function_call_outputcall_b"
        ]
    );
}

#[tokio::test]
async fn s06_tool_choice_and_disable_parallel_tool_use_map_to_flat_forms() {
    let h = Harness::start().await;
    let mut body = simple("gpt-5.5");
    body["tools"] = json!([bash_tool()]);
    let cases = [
        (
            json!({"type": "tool", "name": "Bash", "disable_parallel_tool_use": true}),
            json!({"type": "function", "name": "Bash"}),
            false,
        ),
        (json!({"type": "any"}), json!("required"), true),
        (json!({"type": "none"}), json!("none"), true),
    ];
    for (choice, expected, parallel) in cases {
        body["tool_choice"] = choice;
        let answer = h.messages(&body).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let up = h.last_upstream();
        assert_eq!(
            (up["tool_choice"].clone(), up["parallel_tool_calls"].clone()),
            (expected, json!(parallel))
        );
    }
}

#[tokio::test]
async fn s07_a_denied_tool_result_is_marked_as_an_error() {
    let h = Harness::start().await;
    let (body, _) = claude_code_fixture("14_tool_denied_turn2.json");
    h.fake.push_reply(Reply::text("It needs approval."));
    let events = h.messages(&body).await.anthropic_events();
    let up = h.last_upstream();
    let output = up["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .unwrap()["output"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        output.starts_with("[tool execution error]\ntouch in "),
        "{output}"
    );
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "end_turn");
}

#[tokio::test]
async fn s08_s09_images_and_documents_reach_the_backend_as_input_parts() {
    let h = Harness::start().await;
    let mut body = simple("gpt-5.5");
    body["messages"] = json!([
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}},
            {"type": "text", "text": "Describe these"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_img", "name": "Read", "input": {"file_path": "/x.png"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_img", "content": [
            {"type": "text", "text": "Image read"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}]}
    ]);
    let answer = h.messages(&body).await;
    answer.anthropic_events();
    let input = h.last_upstream()["input"].clone();
    assert_eq!(
        input[0]["content"],
        json!([
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
            {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
            {"type": "input_file", "filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBERi0xLjQ="},
            {"type": "input_text", "text": "Describe these"}
        ])
    );
    assert_eq!(
        input[2]["output"],
        json!([
            {"type": "input_text", "text": "Image read"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}
        ])
    );
}

#[tokio::test]
async fn s10_s11_own_thinking_is_replayed_and_foreign_thinking_dropped() {
    let h = Harness::start().await;
    let mut body = simple("gpt-5.5");
    body["tools"] = json!([bash_tool()]);
    body["messages"] = json!([
        user("go"),
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "plan", "signature": "cdx1:rs_1:gAAAA1"},
            {"type": "thinking", "thinking": "anthropic", "signature": "EqQBCkgIAxABGAIiQ"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}]}
    ]);
    h.messages(&body).await.anthropic_events();
    let input = h.last_upstream()["input"].clone();
    assert_eq!(
        input[1],
        json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": "plan"}], "encrypted_content": "gAAAA1"})
    );
    assert_eq!(input[2]["type"], "function_call");
    assert_eq!(
        input
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "reasoning")
            .count(),
        1
    );
}

#[tokio::test]
async fn s12_billing_lines_never_change_the_cached_prefix() {
    let h = Harness::start().await;
    let (mut body, session) = claude_code_fixture("01_basic_turn.json");
    let session = session.unwrap();
    h.fake.push_reply(Reply::text("one"));
    h.fake.push_reply(Reply::text("two").with_usage(Usage {
        input_tokens: 1000,
        cached_tokens: 900,
        output_tokens: 3,
        ..Usage::default()
    }));
    let headers = [("x-claude-code-session-id", session.as_str())];
    h.anthropic("/v1/messages?beta=true", &body, &headers)
        .await
        .anthropic_events();
    body["system"][0]["text"] = json!(
        "x-anthropic-billing-header: cc_version=2.1.330.a17; cc_entrypoint=sdk-cli; cch=1f2e3;"
    );
    let events = h
        .anthropic("/v1/messages?beta=true", &body, &headers)
        .await
        .anthropic_events();
    let up = h.upstream();
    let (a, b) = (up[0].body_json(), up[1].body_json());
    for key in ["instructions", "tools", "prompt_cache_key"] {
        assert_eq!(a[key], b[key], "{key} differs between turns");
    }
    assert_eq!(
        message_delta(&events)["usage"]["cache_read_input_tokens"],
        900
    );
    assert_eq!(message_delta(&events)["usage"]["input_tokens"], 100);
}

#[tokio::test]
async fn s13_fields_claude_code_adds_are_accepted_and_never_forwarded() {
    let h = Harness::start().await;
    let body = json!({
        "model": "gpt-5.5", "max_tokens": 100, "stream": true, "temperature": 0.5, "top_k": 3,
        "stop_sequences": ["X"],
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"}, "safeguards": [{"type": "dangerous_tool_use", "classifier_context": {}}],
        "container": "c_1", "betas": ["x"], "service_tier": "auto", "mcp_servers": [],
        "thinking": {"type": "adaptive", "display": "updates"},
        "tools": [{"name": "Bash", "input_schema": {"type": "object", "properties": {}}, "defer_loading": true, "cache_control": {"type": "ephemeral"}}],
        "messages": [
            user("hi"),
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "cdx1:rs_1:gAAAAx", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "hello"}], "output_config": {"effort": "low"}},
            {"role": "system", "content": []},
            user("again")
        ]
    });
    let answer = h.messages(&body).await;
    answer.anthropic_events();
    let up = h.last_upstream();
    for key in [
        "context_management",
        "safeguards",
        "container",
        "betas",
        "service_tier",
        "mcp_servers",
        "temperature",
        "top_k",
        "stop_sequences",
        "defer_loading",
        "cache_control",
        "output_config",
        "max_output_tokens",
    ] {
        assert!(!has_key(&up, key), "{key} was forwarded");
    }
    let roles: Vec<&str> = up["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["role"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        roles,
        ["user", "-", "assistant", "user"],
        "the empty system message is skipped"
    );
    assert_eq!(up["reasoning"]["effort"], "medium");
}

#[tokio::test]
async fn s14_long_mcp_tool_names_are_shortened_and_mapped_back() {
    let h = Harness::start().await;
    let long = "mcp__some_long_server_name__a_really_long_tool_name_exceeding_limits_xyz";
    let short = "mcp__a_really_long_tool_name_exceeding_limits_xyz";
    h.fake.push_reply(Reply::function_call(short, "{}"));
    let mut body = simple("gpt-5.5");
    body["tools"] = json!([{"name": long, "input_schema": {"type": "object"}}]);
    body["tool_choice"] = json!({"type": "tool", "name": long});
    body["messages"] = json!([
        user("use it"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_m", "name": long, "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_m", "content": "ok"}]}
    ]);
    let events = h.messages(&body).await.anthropic_events();
    let up = h.last_upstream();
    assert_eq!(up["tools"][0]["name"], short);
    assert_eq!(
        up["tool_choice"],
        json!({"type": "function", "name": short})
    );
    assert_eq!(up["input"][1]["name"], short);
    assert_eq!(blocks(&events)[0]["name"], long);
}

#[tokio::test]
async fn s15_deferred_tools_and_tool_references() {
    let h = Harness::start().await;
    let mut body = simple("gpt-5.5");
    body["tools"] = json!([
        {"name": "ToolSearch", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
        {"name": "DeferredToolPlaceholder", "description": "placeholder", "defer_loading": true, "input_schema": {"type": "object", "properties": {}}}
    ]);
    body["messages"] = json!([
        user("find a fetch tool"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_s", "name": "ToolSearch", "input": {"query": "fetch"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_s", "content": [{"type": "tool_reference", "tool_name": "WebFetch"}]}]}
    ]);
    h.messages(&body).await.anthropic_events();
    let up = h.last_upstream();
    assert_eq!(
        up["tools"][1],
        json!({"type": "function", "name": "DeferredToolPlaceholder", "description": "placeholder", "parameters": {"type": "object", "properties": {}}, "strict": false})
    );
    assert_eq!(up["input"][2]["output"], "[Loaded tool: WebFetch]");
}

#[tokio::test]
async fn s16_thinking_budgets_and_effort_map_to_reasoning_effort() {
    let h = Harness::start().await;
    let (sonnet, _) = claude_code_fixture("02_sonnet_turn.json");
    h.messages(&sonnet).await.anthropic_events();
    assert_eq!(h.last_upstream()["reasoning"]["effort"], "xhigh");
    let cases = [
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 1024}}),
            json!("low"),
        ),
        (
            json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}),
            json!("xhigh"),
        ),
        (json!({}), Value::Null),
    ];
    for (extra, effort) in cases {
        let mut body = simple("gpt-5.5");
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        h.messages(&body).await.anthropic_events();
        assert_eq!(h.last_upstream()["reasoning"]["effort"], effort, "{extra}");
    }
}

#[tokio::test]
async fn s17_claude_ids_and_aliases_map_and_unknown_ids_are_404() {
    let h = Harness::start().await;
    for (requested, upstream) in [
        ("claude-haiku-4-5-20251001", "gpt-5.4-mini"),
        ("haiku", "gpt-5.4-mini"),
        ("claude-sonnet-4-5", "gpt-5.5"),
        ("claude-opus-4-1-20250805", "gpt-5.5"),
        ("gpt-5.4-mini", "gpt-5.4-mini"),
    ] {
        let events = h.messages(&simple(requested)).await.anthropic_events();
        assert_eq!(events[0]["message"]["model"], requested);
        assert_eq!(h.last_upstream()["model"], upstream);
    }
    let answer = h.messages(&simple("gpt-4o")).await;
    assert_eq!(answer.status, 404);
    let body = answer.json();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"gpt-4o\"") && message.contains("gpt-5.5"),
        "{message}"
    );
    assert_eq!(
        h.upstream().len(),
        5,
        "no upstream call for an unknown model"
    );
}

#[tokio::test]
async fn s18_non_streaming_requests_read_the_whole_stream_into_one_message() {
    let h = Harness::start().await;
    h.fake.push_reply(
        Reply::reasoning("Plan")
            .with_text("Running it.")
            .with_function_call_id("call_abc", "Bash", r#"{"command":"echo hi"}"#)
            .with_usage(Usage {
                input_tokens: 412,
                cached_tokens: 392,
                output_tokens: 57,
                ..Usage::default()
            }),
    );
    let mut body = simple("claude-sonnet-4-5");
    body["stream"] = json!(false);
    body["tools"] = json!([bash_tool()]);
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 4096});
    let answer = h.messages(&body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.header("request-id").unwrap().starts_with("req_"));
    let mut message = answer.json();
    let signature = message["content"][0]["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(signature.starts_with("cdx1:rs_"), "{signature}");
    message["content"][0]["signature"] = json!("<sig>");
    message["id"] = json!("<id>");
    assert_eq!(
        message,
        json!({"id": "<id>", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "Plan", "signature": "<sig>"},
                {"type": "text", "text": "Running it."},
                {"type": "tool_use", "id": "call_abc", "name": "Bash", "input": {"command": "echo hi"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 392, "output_tokens": 57}})
    );
    assert_eq!(h.last_upstream()["stream"], true);
}

#[tokio::test]
async fn s19_s20_max_output_tokens_and_refusals_set_the_stop_reason() {
    let h = Harness::start().await;
    h.fake
        .push_reply(Reply::incomplete("cut off", "max_output_tokens"));
    h.fake.push_reply(raw(vec![
        ev_output_item_added(0, &message_item("msg_r", "", "in_progress")),
        json!({"type": "response.refusal.delta", "item_id": "msg_r", "output_index": 0, "content_index": 0, "delta": "I can't help with that."}),
        ev_output_item_done(0, &json!({"id": "msg_r", "type": "message", "status": "completed", "role": "assistant", "content": [{"type": "refusal", "refusal": "I can't help with that."}]})),
        completed_with(&small_usage()),
    ]));
    let events = h.messages(&simple("gpt-5.5")).await.anthropic_events();
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "max_tokens");
    assert!(!has_key(&h.last_upstream(), "max_output_tokens"));
    let events = h.messages(&simple("gpt-5.5")).await.anthropic_events();
    assert_eq!(
        joined(&events, "text_delta", "text"),
        "I can't help with that."
    );
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "refusal");
}

#[tokio::test]
async fn s21_no_empty_text_blocks_and_no_tool_block_before_its_name() {
    let h = Harness::start().await;
    h.fake.push_reply(raw(vec![
        ev_output_item_added(0, &message_item("msg_e", "", "in_progress")),
        ev_content_part_added("msg_e", 0, 0),
        ev_output_text_delta("msg_e", 0, 0, ""),
        ev_output_item_done(0, &message_item("msg_e", "", "completed")),
        completed_with(&small_usage()),
    ]));
    let events = h.messages(&simple("gpt-5.5")).await.anthropic_events();
    assert_eq!(blocks(&events), Vec::<Value>::new());
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "end_turn");
}

#[tokio::test]
async fn s22_to_s27_upstream_failures_map_to_anthropic_errors() {
    let h = Harness::start().await;
    // 22: context overflow before the stream.
    h.fake.fail_next(Failure::Status(400, json!({"error": {"code": "context_length_exceeded", "message": CONTEXT_LENGTH_EXCEEDED_MESSAGE}})));
    let answer = h.messages(&simple("gpt-5.5")).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["type"], "invalid_request_error");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("prompt is too long")
    );
    // 23: in-stream before any content: still an HTTP error (nothing was committed).
    h.fake.push_reply(Reply::context_length_exceeded());
    let answer = h.messages(&simple("gpt-5.5")).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prompt is too long")
    );
    // 24: usage limit.
    h.fake.fail_next(Failure::UsageLimitReached);
    let answer = h.messages(&simple("gpt-5.5")).await;
    assert_eq!(answer.status, 429);
    assert_eq!(answer.json()["error"]["type"], "rate_limit_error");
    assert!(
        answer
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 60
    );
    assert_eq!(
        answer.header("anthropic-ratelimit-unified-status"),
        Some("rejected")
    );
    // 25: a transient rate limit in-stream before content.
    h.fake.push_reply(Reply::failed(
        "rate_limit_exceeded",
        "Rate limit reached for requests. Please try again in 1.5s.",
    ));
    let answer = h.messages(&simple("gpt-5.5")).await;
    assert_eq!(
        (answer.status, answer.header("retry-after")),
        (429, Some("2"))
    );
    // 26: overload and server errors.
    h.fake.fail_next(Failure::Overloaded);
    let answer = h.messages(&simple("gpt-5.5")).await;
    assert_eq!(
        (answer.status, answer.json()["error"]["type"].clone()),
        (529, json!("overloaded_error"))
    );
    h.fake.fail_next(Failure::ServerError);
    let answer = h.messages(&simple("gpt-5.5")).await;
    assert_eq!(answer.json()["error"]["type"], "api_error");
    assert!(answer.status >= 500);
    // 27: the backend keeps refusing the token (after one refresh and retry).
    h.fake.fail_next(Failure::Unauthorized);
    h.fake.fail_next(Failure::Unauthorized);
    let answer = h.messages(&simple("gpt-5.5")).await;
    assert_ne!(answer.status, 200);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("codexia login"),
        "{}",
        answer.body
    );
    h.fake.assert_all_responses_requests_valid();
}

#[tokio::test]
async fn s23_s28_failures_after_content_end_with_an_error_event() {
    let h = Harness::start().await;
    h.fake.push_reply(raw(vec![
        ev_output_item_added(0, &message_item("msg_f", "", "in_progress")),
        ev_output_text_delta("msg_f", 0, 0, "partial"),
        json!({"type": "response.failed", "response": {"id": "resp_raw", "object": "response", "status": "failed", "output": [],
               "error": {"code": "context_length_exceeded", "message": CONTEXT_LENGTH_EXCEEDED_MESSAGE}}}),
    ]));
    let events = h.messages(&simple("gpt-5.5")).await.anthropic_events();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["error"]["type"], "invalid_request_error");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("prompt is too long")
    );
    assert_eq!(
        events[events.len() - 2],
        json!({"type": "content_block_stop", "index": 0})
    );
    assert_valid_anthropic_events(&events).await;

    // 28: the stream ends after some text, without a terminal event.
    h.fake
        .push_reply(Reply::text("partial text here").drop_after(6));
    let events = h.messages(&simple("gpt-5.5")).await.anthropic_events();
    assert_eq!(events.last().unwrap()["error"]["type"], "api_error");
    assert!(!events.iter().any(|e| e["type"] == "message_stop"));
}

#[tokio::test]
async fn s29_pings_flow_while_the_backend_is_silent() {
    let h = Harness::start().await;
    let gate = Gate::new();
    // created + in_progress, then silence until the gate opens.
    h.fake
        .push_reply(Reply::text("late").gate_before_event(2, gate.clone()));
    let client = reqwest::Client::new();
    let mut response = client
        .post(h.server.url("/v1/messages"))
        .header("content-type", "application/json")
        .body(simple("gpt-5.5").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut seen = String::new();
    while !seen.contains("event: ping") {
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .expect("a ping within 30 s")
            .unwrap()
            .expect("the stream is still open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.starts_with("event: message_start"), "{seen}");
    gate.release();
    while let Some(chunk) = response.chunk().await.unwrap() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: message_stop"), "{seen}");
}

#[tokio::test]
async fn s30_the_api_key_is_accepted_as_bearer_or_x_api_key() {
    let h = Harness::start_with(&["--api-key", "sekrit-1"]).await;
    let body = simple("gpt-5.5");
    let bearer = h
        .anthropic(
            "/v1/messages",
            &body,
            &[("authorization", "Bearer sekrit-1")],
        )
        .await;
    assert_eq!(bearer.status, 200);
    let x_api_key = h
        .anthropic("/v1/messages", &body, &[("x-api-key", "sekrit-1")])
        .await;
    assert_eq!(x_api_key.status, 200);
    let wrong = h
        .anthropic("/v1/messages", &body, &[("x-api-key", "nope")])
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["type"], "error");
    assert_eq!(wrong.json()["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn s31_count_tokens_counts_the_translated_request_locally() {
    let h = Harness::start().await;
    let (body, _) = claude_code_fixture("15_count_tokens.json");
    let answer = h
        .anthropic("/v1/messages/count_tokens?beta=true", &body, &[])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let counted = answer.json()["input_tokens"].as_u64().unwrap();
    let text = body["messages"][0]["content"].as_str().unwrap();
    let direct = tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64;
    assert!(
        counted.abs_diff(direct) * 10 <= direct,
        "{counted} vs o200k {direct}"
    );

    let plain = json!({"model": "gpt-5.5", "messages": [user("read it")], "tools": []});
    let with_tools = json!({"model": "gpt-5.5", "tools": [bash_tool()], "messages": [
        user("read it"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cat notes.txt"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
            {"type": "text", "text": "the notes say hello"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}]}
    ]});
    let plain = h
        .anthropic("/v1/messages/count_tokens", &plain, &[])
        .await
        .json()["input_tokens"]
        .as_u64()
        .unwrap();
    let full = h
        .anthropic("/v1/messages/count_tokens", &with_tools, &[])
        .await
        .json()["input_tokens"]
        .as_u64()
        .unwrap();
    assert!(
        full > plain + 700,
        "tools, tool blocks and the image count: {full} vs {plain}"
    );
    let unknown = h
        .anthropic(
            "/v1/messages/count_tokens",
            &json!({"model": "nope", "messages": []}),
            &[],
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        h.fake.responses_requests().len(),
        0,
        "count_tokens never calls the backend"
    );
}

#[tokio::test]
async fn s33_web_search_runs_on_the_backend_and_shows_as_server_tool_blocks() {
    let h = Harness::start().await;
    let reply = || {
        Reply::reasoning("**Searching**")
            .with_web_search("rust 1.95 release date", &["https://blog.rust-lang.org/"])
            .with_text("Rust 1.95 was released in November.")
    };
    h.fake.push_reply(reply());
    // What Claude Code's WebSearch tool sends: the server tool alone, chosen by name.
    let mut body = simple("claude-sonnet-4-5");
    body["tools"] = json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 8,
        "allowed_domains": ["rust-lang.org"],
        "user_location": {"type": "approximate", "city": "Berlin", "country": "DE"}}]);
    body["tool_choice"] = json!({"type": "tool", "name": "web_search"});
    let events = h.messages(&body).await.anthropic_events();

    let upstream = h.last_upstream();
    assert_eq!(
        upstream["tools"],
        json!([{"type": "web_search", "filters": {"allowed_domains": ["rust-lang.org"]},
                "user_location": {"type": "approximate", "city": "Berlin", "country": "DE"}}])
    );
    assert_eq!(upstream["tool_choice"], "required");

    let started = blocks(&events);
    let kinds: Vec<&str> = started
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["server_tool_use", "web_search_tool_result", "text"]);
    let search_id = started[0]["id"].as_str().unwrap();
    assert!(search_id.starts_with("srvtoolu_"), "{search_id}");
    assert_eq!(started[0]["name"], "web_search");
    let query: Value =
        serde_json::from_str(&joined(&events, "input_json_delta", "partial_json")).unwrap();
    assert_eq!(query, json!({"query": "rust 1.95 release date"}));
    // codexia does not ask for the source list, so the result block names none.
    assert_eq!(
        started[1],
        json!({"type": "web_search_tool_result", "tool_use_id": search_id, "content": []})
    );
    assert_eq!(
        joined(&events, "text_delta", "text"),
        "Rust 1.95 was released in November."
    );
    assert_eq!(message_delta(&events)["delta"]["stop_reason"], "end_turn");
    assert_valid_anthropic_events(&events).await;

    // Non-streaming: the same blocks, the search input parsed.
    h.fake.push_reply(reply());
    body["stream"] = json!(false);
    let message = h.messages(&body).await.json();
    assert_eq!(
        message["content"][0],
        json!({"type": "server_tool_use", "id": message["content"][0]["id"], "name": "web_search",
               "input": {"query": "rust 1.95 release date"}})
    );
    assert_eq!(message["content"][1]["type"], "web_search_tool_result");
    assert_eq!(message["stop_reason"], "end_turn");

    // Other server tools have no backend counterpart and are left out.
    h.fake.push_reply(Reply::text("ok"));
    body["stream"] = json!(true);
    body["tools"] =
        json!([bash_tool(), {"type": "code_execution_20250522", "name": "code_execution"}]);
    body.as_object_mut().unwrap().remove("tool_choice");
    h.messages(&body).await.anthropic_events();
    let tools = h.last_upstream()["tools"].clone();
    assert_eq!(tools.as_array().unwrap().len(), 1, "{tools}");
    assert_eq!(tools[0]["name"], "Bash");
}

#[tokio::test]
async fn s34_s35_structured_output_and_orphaned_calls() {
    let h = Harness::start().await;
    let mut body = simple("claude-haiku-4-5");
    body["output_config"] = json!({"format": {"type": "json_schema", "schema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}});
    h.messages(&body).await.anthropic_events();
    assert_eq!(
        h.last_upstream()["text"],
        json!({"format": {"type": "json_schema", "name": "response", "strict": false,
               "schema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}}})
    );
    let mut body = simple("gpt-5.5");
    body["messages"] = json!([
        user("run it"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_x", "name": "Bash", "input": {"command": "sleep 100"}}]},
        user("[Request interrupted by user] never mind")
    ]);
    h.messages(&body).await.anthropic_events();
    assert_eq!(
        h.last_upstream()["input"][2],
        json!({"type": "function_call_output", "call_id": "toolu_x", "output": "[no result: tool call was interrupted]"})
    );
}

#[tokio::test]
async fn a_malformed_body_is_a_400_naming_the_field() {
    let h = Harness::start().await;
    let answer = h
        .messages(&json!({"model": "gpt-5.5", "messages": [{"role": "robot", "content": "x"}]}))
        .await;
    // Like Anthropic's errors: a request id in the body and the `request-id` header (checked
    // by `error_answer`, then redacted).
    insta::assert_json_snapshot!(error_answer(&answer), @r#"
    {
      "body": {
        "error": {
          "message": "invalid request body: messages[0].role: unknown variant `robot`, expected one of `user`, `assistant`, `system` at line 1 column 42",
          "type": "invalid_request_error"
        },
        "request_id": "[request-id]",
        "type": "error"
      },
      "status": 400
    }
    "#);
}

// ---------------------------------------------------------------------------------------------
// Real clients
// ---------------------------------------------------------------------------------------------

/// Runs `claude -p ARGS` as a strict stream validator against the harness.
async fn claude(h: &Harness, args: &[&str]) -> (i32, String, String) {
    let bin = node_modules().join(".bin/claude");
    assert!(
        bin.exists(),
        "Claude Code is not installed at {}; {HOW_TO_FIX}",
        bin.display()
    );
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(&bin);
    command
        .arg("-p")
        .args(args)
        .current_dir(project.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TERM", "dumb")
        .env("LANG", "C.UTF-8")
        .env("ANTHROPIC_BASE_URL", &h.server.url)
        .env("ANTHROPIC_AUTH_TOKEN", "local-secret")
        .env("CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK", "1")
        .env("CLAUDE_CODE_MAX_RETRIES", "0")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("claude finished in time")
        .expect("run claude");
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[tokio::test]
async fn claude_code_prints_a_plain_text_answer() {
    let h = Harness::start().await;
    h.fake
        .push_reply(Reply::reasoning("Answering").with_text("OK"));
    let (rc, stdout, stderr) =
        claude(&h, &["--model", "gpt-5.5", "Reply with the single word OK"]).await;
    assert_eq!((rc, stdout.trim()), (0, "OK"), "stderr: {stderr}");
    let up = h.upstream();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].body_json()["model"], "gpt-5.5");
}

#[tokio::test]
async fn claude_code_runs_a_bash_tool_round_trip_with_replayed_thinking() {
    let h = Harness::start().await;
    h.fake
        .push_reply(Reply::reasoning("I should run echo").with_function_call_id(
            "call_bash1",
            "Bash",
            r#"{"command":"echo hi","description":"Print hi"}"#,
        ));
    h.fake
        .push_reply(Reply::reasoning("It printed hi").with_text("The command printed: hi"));
    let (rc, stdout, stderr) = claude(
        &h,
        &[
            "--model",
            "gpt-5.5",
            "Run echo hi with the Bash tool",
            "--allowedTools",
            "Bash(echo:*)",
        ],
    )
    .await;
    assert_eq!(rc, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("The command printed: hi"), "{stdout}");
    let up = h.upstream();
    assert_eq!(up.len(), 2, "one turn for the call, one with its result");
    let input = up[1].body_json()["input"].as_array().unwrap().clone();
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .expect("the tool output");
    assert_eq!(output["call_id"], "call_bash1");
    assert!(
        output["output"].as_str().unwrap().contains("hi"),
        "{output}"
    );
    // The thinking block Claude Code stored came back as the reasoning item it was.
    let reasoning = input
        .iter()
        .find(|i| i["type"] == "reasoning")
        .expect("replayed reasoning");
    assert!(
        reasoning["encrypted_content"]
            .as_str()
            .unwrap()
            .starts_with("gAAAA")
    );
    assert!(reasoning.get("id").is_none());
}

#[tokio::test]
async fn claude_code_web_search_runs_through_the_backend_search() {
    let h = Harness::start().await;
    // The model asks for WebSearch; Claude Code runs it as a request with the web_search server
    // tool; the search result goes back to the model.
    h.fake.push_reply(Reply::function_call_with_id(
        "call_ws1",
        "WebSearch",
        r#"{"query":"rust 1.95 release date"}"#,
    ));
    h.fake.push_reply(
        Reply::web_search("rust 1.95 release date", &[])
            .with_text("Rust 1.95 was released on 2026-11-20."),
    );
    h.fake.push_reply(Reply::text(
        "The search says Rust 1.95 came out on 2026-11-20.",
    ));
    let (rc, stdout, stderr) = claude(
        &h,
        &[
            "--model",
            "gpt-5.5",
            "When was Rust 1.95 released? Search the web.",
            "--allowedTools",
            "WebSearch",
        ],
    )
    .await;
    assert_eq!(rc, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("came out on 2026-11-20"), "{stdout}");
    let up = h.upstream();
    assert_eq!(up.len(), 3, "the call, the search, the answer");
    assert!(
        up[1].body_json()["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["type"] == "web_search"),
        "{}",
        up[1].body_json()["tools"]
    );
    let input = up[2].body_json()["input"].as_array().unwrap().clone();
    let output = input
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .expect("the tool output");
    assert_eq!(output["call_id"], "call_ws1");
    assert!(
        output["output"].to_string().contains("2026-11-20"),
        "{output}"
    );
}

#[tokio::test]
async fn claude_code_accepts_a_turn_with_thinking_summaries() {
    let h = Harness::start().await;
    h.fake.push_reply(
        Reply::reasoning("**Planning** the answer step by step")
            .with_reasoning("Second thought")
            .with_text("Thought it through."),
    );
    let (rc, stdout, stderr) = claude(
        &h,
        &[
            "--model",
            "gpt-5.5",
            "--output-format",
            "json",
            "Think, then answer",
        ],
    )
    .await;
    assert_eq!(rc, 0, "stdout: {stdout}\nstderr: {stderr}");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("{stdout}"));
    assert_eq!(result["result"], "Thought it through.");
}

#[tokio::test]
async fn claude_code_with_a_claude_sonnet_id_goes_through_the_aliases() {
    let h = Harness::start().await;
    h.fake.push_reply(Reply::text("OK"));
    let (rc, stdout, stderr) = claude(
        &h,
        &[
            "--model",
            "claude-sonnet-4-5",
            "Reply with the single word OK",
        ],
    )
    .await;
    assert_eq!((rc, stdout.trim()), (0, "OK"), "stderr: {stderr}");
    let up = h.upstream();
    assert_eq!(up[0].body_json()["model"], "gpt-5.5");
    assert_eq!(up[0].body_json()["reasoning"]["effort"], "xhigh");
}

#[tokio::test]
async fn the_python_anthropic_sdk_streams_creates_and_counts() {
    let h = Harness::start().await;
    let text_reply = || Reply::reasoning("Thinking").with_text("Hello from codexia");
    h.fake.push_reply(text_reply());
    h.fake
        .push_reply(Reply::function_call("lookup", r#"{"q":"weather"}"#));
    h.fake.push_reply(text_reply());
    h.fake.push_reply(
        Reply::reasoning("Thinking")
            .with_text("Let me look.")
            .with_function_call("lookup", r#"{"q":"weather"}"#),
    );
    let python = python_for_tests();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/anthropic_sdk_client.py");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .arg(&script)
            .arg(&h.server.url)
            .output(),
    )
    .await
    .expect("the SDK script finished in time")
    .unwrap_or_else(|err| panic!("cannot run {}: {err}; {HOW_TO_FIX}", python.display()));
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}\n(if the anthropic package is missing: {HOW_TO_FIX})",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(
        h.upstream().len(),
        4,
        "count_tokens did not call the backend"
    );
}

#[tokio::test]
async fn the_node_anthropic_sdk_stream_helper_accepts_the_streams() {
    let h = Harness::start().await;
    h.fake
        .push_reply(Reply::reasoning("Thinking").with_text("Hello from codexia"));
    h.fake
        .push_reply(Reply::function_call("lookup", r#"{"q":"weather"}"#));
    let modules = node_modules();
    assert!(
        modules.join("@anthropic-ai/sdk").exists(),
        "the Node Anthropic SDK is not installed in {}; {HOW_TO_FIX}",
        modules.display()
    );
    let (dir, script) = node_script("anthropic_stream.mjs");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(&script)
            .arg(&h.server.url)
            .current_dir(dir.path())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node finished in time")
    .unwrap_or_else(|err| panic!("cannot run node: {err}; {HOW_TO_FIX}"));
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    h.upstream();
}
