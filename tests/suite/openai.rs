//! The OpenAI API end to end: `POST /v1/chat/completions`, `POST /v1/responses` and
//! `GET /v1/models` of the built binary against the fake backend, one test per
//! docs/compatibility.md §10 scenario (what the fake received upstream and what the client got),
//! then the real clients (the Python and Node `openai` SDKs). Every upstream request recorded in
//! these tests must pass the fake's strict validation.

use std::path::PathBuf;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::codexia::text;
use crate::support::fake_backend::{
    Failure, Gate, Reply, Usage, assert_valid_openai_stream_events, python_for_tests,
};
use crate::support::harness::{Harness, OPENAI, node_modules, node_script};

const HOW_TO_FIX: &str =
    "run `make test` (it installs the Python openai SDK in .venv and the Node SDK in tests/node)";

fn usage() -> Usage {
    Usage {
        input_tokens: 120,
        cached_tokens: 64,
        cache_write_tokens: 0,
        output_tokens: 30,
        reasoning_tokens: 12,
    }
}

fn expected_chat_usage() -> Value {
    json!({"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
           "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 12}})
}

fn deltas(chunks: &[Value]) -> Vec<Value> {
    chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta").cloned())
        .collect()
}

fn lookup_tool() -> Value {
    json!({"type": "function", "function": {"name": "lookup", "description": "Look things up",
           "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}})
}

// ---------------------------------------------------------------------------------------------
// Scenarios s36–s40 (docs/compatibility.md §10)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn s36_a_chat_stream_with_usage_ends_with_a_usage_chunk_and_done() {
    let h = Harness::start().await;
    h.fake
        .push_reply(Reply::text_deltas(&["Hel", "lo"]).with_usage(usage()));
    let answer = h
        .chat(&json!({
            "model": "gpt-5.5",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            "stream": true, "stream_options": {"include_usage": true},
            "temperature": 0.2, "max_tokens": 100
        }))
        .await;

    let upstream = h.last_upstream();
    assert_eq!(upstream["instructions"], "Be brief.");
    assert_eq!(
        upstream["input"],
        json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}])
    );
    for dropped in [
        "temperature",
        "max_output_tokens",
        "max_tokens",
        "stream_options",
    ] {
        assert_eq!(upstream.get(dropped), None, "{dropped} was forwarded");
    }

    let (chunks, done) = answer.chat_chunks();
    assert!(done, "no [DONE]: {}", answer.body);
    assert_eq!(
        deltas(&chunks),
        vec![
            json!({"role": "assistant", "content": ""}),
            json!({"content": "Hel"}),
            json!({"content": "lo"}),
            json!({}),
        ]
    );
    let finish: Vec<Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/finish_reason").cloned())
        .collect();
    assert_eq!(
        finish,
        vec![json!(null), json!(null), json!(null), json!("stop")]
    );
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"], expected_chat_usage());
    for chunk in &chunks[..chunks.len() - 1] {
        assert_eq!(chunk["usage"], Value::Null);
        assert!(chunk.get("usage").is_some(), "usage:null missing");
    }
    let first = &chunks[0];
    assert!(first["id"].as_str().unwrap().starts_with("chatcmpl-"));
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(
            (&chunk["id"], &chunk["created"], &chunk["model"]),
            (&first["id"], &first["created"], &json!("gpt-5.5"))
        );
    }
}

#[tokio::test]
async fn s37_chat_tools_are_flattened_and_calls_stream_by_index_then_round_trip() {
    let h = Harness::start().await;
    h.fake.push_reply(
        Reply::function_call("lookup", r#"{"q":"x"}"#).with_function_call("lookup", r#"{"q":"y"}"#),
    );
    let answer = h
        .chat(&json!({
            "model": "gpt-5.5", "stream": true,
            "messages": [{"role": "user", "content": "Look up x and y"}],
            "tools": [lookup_tool()],
            "tool_choice": {"type": "function", "function": {"name": "lookup"}}
        }))
        .await;
    let upstream = h.last_upstream();
    assert_eq!(
        upstream["tools"],
        json!([{"type": "function", "name": "lookup", "description": "Look things up",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}, "strict": false}])
    );
    assert_eq!(
        upstream["tool_choice"],
        json!({"type": "function", "name": "lookup"})
    );

    let (chunks, done) = answer.chat_chunks();
    assert!(done);
    let calls: Vec<Value> = deltas(&chunks)
        .into_iter()
        .filter_map(|d| d.get("tool_calls").cloned())
        .flat_map(|c| c.as_array().unwrap().clone())
        .collect();
    // The first piece of each call names it; then its argument pieces; then the next call.
    assert_eq!(calls[0]["index"], 0);
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(
        calls[0]["function"],
        json!({"name": "lookup", "arguments": ""})
    );
    let first_id = calls[0]["id"].as_str().unwrap().to_owned();
    let second_start = calls.iter().position(|c| c["index"] == 1).unwrap();
    assert_eq!(
        calls[second_start]["function"],
        json!({"name": "lookup", "arguments": ""})
    );
    let second_id = calls[second_start]["id"].as_str().unwrap().to_owned();
    let args = |index: u64| -> String {
        calls
            .iter()
            .filter(|c| c["index"] == index)
            .filter_map(|c| c["function"]["arguments"].as_str())
            .collect()
    };
    assert_eq!(
        (args(0), args(1)),
        (r#"{"q":"x"}"#.to_owned(), r#"{"q":"y"}"#.to_owned())
    );
    assert!(
        calls[1..second_start]
            .iter()
            .all(|c| c["index"] == 0 && c.get("id").is_none())
    );
    let finish = chunks
        .iter()
        .rev()
        .find_map(|c| {
            c.pointer("/choices/0/finish_reason")
                .filter(|f| !f.is_null())
        })
        .unwrap();
    assert_eq!(finish, "tool_calls");

    // The round trip: the tool results become function_call_output items.
    h.fake.push_reply(Reply::text("x is 1, y is 2"));
    let answer = h
        .chat(&json!({
            "model": "gpt-5.5",
            "messages": [
                {"role": "user", "content": "Look up x and y"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": first_id, "type": "function", "function": {"name": "lookup", "arguments": r#"{"q":"x"}"#}},
                    {"id": second_id, "type": "function", "function": {"name": "lookup", "arguments": r#"{"q":"y"}"#}}
                ]},
                {"role": "tool", "tool_call_id": first_id, "content": "1"},
                {"role": "tool", "tool_call_id": second_id, "content": "2"}
            ],
            "tools": [lookup_tool()]
        }))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["choices"][0]["message"]["content"],
        "x is 1, y is 2"
    );
    assert_eq!(
        h.last_upstream()["input"],
        json!([
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Look up x and y"}]},
            {"type": "function_call", "call_id": first_id, "name": "lookup", "arguments": r#"{"q":"x"}"#},
            {"type": "function_call", "call_id": second_id, "name": "lookup", "arguments": r#"{"q":"y"}"#},
            {"type": "function_call_output", "call_id": first_id, "output": "1"},
            {"type": "function_call_output", "call_id": second_id, "output": "2"}
        ])
    );
}

#[tokio::test]
async fn s38_chat_options_map_to_text_format_and_effort_and_impossible_ones_are_400() {
    let h = Harness::start().await;
    let base =
        json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "Answer in JSON"}]});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };

    h.fake.push_reply(Reply::text(r#"{"a":1}"#));
    let answer = h
        .chat(&with(json!({
            "response_format": {"type": "json_schema", "json_schema": {"name": "out", "strict": true,
                "schema": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false}}},
            "reasoning_effort": "minimal"
        })))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let upstream = h.last_upstream();
    assert_eq!(
        upstream["text"]["format"],
        json!({"type": "json_schema", "name": "out", "strict": true,
               "schema": {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": false}})
    );
    assert_eq!(
        upstream["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
    assert_eq!(upstream["include"], json!(["reasoning.encrypted_content"]));

    h.fake.push_reply(Reply::text(r#"{"b":2}"#));
    let answer = h
        .chat(&with(json!({"response_format": {"type": "json_object"}})))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        h.last_upstream()["text"]["format"],
        json!({"type": "json_object"})
    );

    let before = h.upstream().len();
    for (extra, phrase) in [
        (json!({"n": 2}), "n: only n=1 is supported"),
        (json!({"logprobs": true}), "logprobs: "),
    ] {
        let answer = h.chat(&with(extra)).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        let error = &answer.json()["error"];
        assert_eq!(error["type"], "invalid_request_error");
        assert!(
            error["message"].as_str().unwrap().starts_with(phrase),
            "{error}"
        );
    }
    let answer = h.chat(&with(json!({"model": "gpt-4o"}))).await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-5.5")
    );
    let answer = h
        .chat(&json!({"model": "gpt-5.5", "messages": [{"role": "wizard", "content": "hi"}]}))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("messages[0]")
    );
    assert_eq!(
        h.upstream().len(),
        before,
        "a refused request reached the backend"
    );
}

#[tokio::test]
async fn s39_non_streaming_chat_is_aggregated_and_failures_keep_the_openai_shape() {
    let h = Harness::start().await;
    h.fake.push_reply(
        Reply::reasoning("**Plan**")
            .with_text("Done.")
            .with_function_call_id("call_abc", "lookup", r#"{"q":"x"}"#)
            .with_usage(usage()),
    );
    let answer = h
        .chat(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "Go"}], "tools": [lookup_tool()], "reasoning_effort": "high"}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut completion = answer.json();
    assert!(completion["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(completion["created"].as_i64().unwrap() > 1_700_000_000);
    completion["id"] = json!("[id]");
    completion["created"] = json!(0);
    assert_eq!(
        completion,
        json!({"id": "[id]", "object": "chat.completion", "created": 0, "model": "gpt-5.5",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": "Done.", "refusal": null,
                 "reasoning_content": "**Plan**",
                 "tool_calls": [{"id": "call_abc", "type": "function", "function": {"name": "lookup", "arguments": r#"{"q":"x"}"#}}]},
                 "logprobs": null, "finish_reason": "tool_calls"}],
               "usage": expected_chat_usage()})
    );

    // A failure after content: an error chunk, and no [DONE].
    h.fake.push_reply(
        Reply::failed("server_error", "The backend broke.").with_text_deltas(&["partial"]),
    );
    let answer = h
        .chat(&json!({"model": "gpt-5.5", "stream": true, "messages": [{"role": "user", "content": "Go"}]}))
        .await;
    let (chunks, done) = answer.chat_chunks();
    assert!(!done, "[DONE] after an error: {}", answer.body);
    assert_eq!(
        chunks.last().unwrap(),
        &json!({"error": {"message": "The backend broke.", "type": "server_error", "param": null, "code": null}})
    );
    assert!(deltas(&chunks).contains(&json!({"content": "partial"})));

    // A failure before any content is still an HTTP error, with retry-after on 429.
    h.fake.fail_next(Failure::UsageLimitReached);
    let answer = h
        .chat(&json!({"model": "gpt-5.5", "stream": true, "messages": [{"role": "user", "content": "Go"}]}))
        .await;
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert!(answer.header("retry-after").is_some());
    assert_eq!(answer.json()["error"]["type"], "rate_limit_error");
    h.fake.push_reply(Reply::context_length_exceeded());
    let answer = h
        .chat(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "Go"}]}))
        .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn s40_responses_pass_through_is_normalised_and_previous_response_id_continues() {
    let h = Harness::start().await;
    let input = json!([
        {"role": "system", "content": "Be brief."},
        {"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAAAB_earlier", "summary": []},
        {"type": "message", "id": "msg_1", "role": "assistant", "content": [{"type": "output_text", "text": "Earlier."}]},
        {"role": "user", "content": "Continue"}
    ]);
    let body = json!({"model": "gpt-5.5", "input": input, "store": true, "stream": false,
                      "max_output_tokens": 64, "temperature": 0.5, "metadata": {"k": "v"},
                      "previous_response_id": "resp_x"});
    let answer = h.responses(&body).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"]["type"], "invalid_request_error");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("previous_response_id: no response \"resp_x\" is known here."),
        "{}",
        answer.body
    );
    assert!(
        h.upstream().is_empty(),
        "the refused request reached the backend"
    );

    let mut body = body;
    body.as_object_mut().unwrap().remove("previous_response_id");
    h.fake
        .push_reply(Reply::text("Continued.").with_usage(usage()));
    let answer = h.responses(&body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let upstream = h.last_upstream();
    assert_eq!(
        (
            &upstream["store"],
            &upstream["stream"],
            &upstream["instructions"]
        ),
        (&json!(false), &json!(true), &json!("Be brief."))
    );
    assert_eq!(
        upstream["input"],
        json!([
            {"type": "reasoning", "encrypted_content": "gAAAAB_earlier", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Earlier."}]},
            {"role": "user", "content": [{"type": "input_text", "text": "Continue"}]}
        ])
    );
    for dropped in [
        "max_output_tokens",
        "temperature",
        "metadata",
        "previous_response_id",
    ] {
        assert_eq!(upstream.get(dropped), None, "{dropped} was forwarded");
    }
    let response = answer.json();
    assert_eq!(response["object"], "response");
    assert_eq!(response["status"], "completed");
    assert_eq!(response["output"][0]["content"][0]["text"], "Continued.");
    assert_eq!(response["usage"]["input_tokens"], 120);

    // Continue it: the earlier input and output are sent again before the new turn.
    let id = response["id"].as_str().unwrap().to_owned();
    h.fake.push_reply(Reply::text("Again."));
    let answer = h
        .responses(&json!({"model": "gpt-5.5", "input": "And then?", "previous_response_id": id}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let input = h.last_upstream()["input"].clone();
    let texts: Vec<String> = input
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|item| item.pointer("/content/0/text").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        texts,
        vec!["Earlier.", "Continue", "Continued.", "And then?"]
    );
    assert!(
        input
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item.get("id").is_none())
    );
}

#[tokio::test]
async fn responses_streams_are_relayed_with_backfilled_output_and_a_terminal_event() {
    let h = Harness::start().await;
    h.fake.push_reply(
        Reply::reasoning("**Plan**")
            .with_text("Hello")
            .empty_completed_output(),
    );
    let answer = h
        .responses(&json!({"model": "gpt-5.5", "input": "Hi", "stream": true, "reasoning": {"effort": "minimal", "summary": "auto"}}))
        .await;
    assert_eq!(
        h.last_upstream()["reasoning"],
        json!({"effort": "low", "summary": "auto"})
    );
    let (events, lines) = answer.responses_events();
    assert_eq!(events.first().unwrap()["type"], "response.created");
    let completed = events.last().unwrap();
    assert_eq!(completed["type"], "response.completed");
    let kinds: Vec<&str> = completed["response"]["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["reasoning", "message"],
        "output was not backfilled"
    );
    assert_valid_openai_stream_events(&lines).await;

    // Cut after some text: the stream still ends with a valid response.failed.
    h.fake
        .push_reply(Reply::text("partial text here").drop_after(6));
    let answer = h
        .responses(&json!({"model": "gpt-5.5", "input": "Hi", "stream": true}))
        .await;
    let (events, lines) = answer.responses_events();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["response"]["status"], "failed");
    assert_valid_openai_stream_events(&lines).await;
}

#[tokio::test]
async fn models_come_from_the_live_catalog_and_are_cached() {
    let h = Harness::start().await;
    let answer = h.get("/v1/models", OPENAI).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let list = answer.json();
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "gpt-5.5",
            "gpt-5.4",
            "gpt-5.4-mini",
            "gpt-5.1-codex-max",
            "gpt-5.3-codex-spark"
        ]
    );
    assert_eq!(
        list["data"][0],
        json!({"id": "gpt-5.5", "object": "model", "created": 1_767_225_600, "owned_by": "openai"})
    );
    let again = h.get("/v1/models", OPENAI).await;
    assert_eq!(again.json(), list);
    let catalog = h.fake.requests_to("/backend-api/codex/models");
    assert_eq!(catalog.len(), 1, "the catalog was not cached");
    assert!(
        catalog[0]
            .header("authorization")
            .is_some_and(|v| v.starts_with("Bearer "))
    );
    assert_eq!(
        catalog[0].query_param("client_version").as_deref(),
        Some("0.146.0")
    );
}

#[tokio::test]
async fn without_sign_in_models_fall_back_to_the_built_in_list_and_calls_say_to_log_in() {
    let h = Harness::signed_out().await;
    let answer = h.get("/v1/models", OPENAI).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let ids: Vec<String> = answer.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&"gpt-5.2-codex".to_owned()), "{ids:?}");
    assert!(h.fake.requests_to("/backend-api/codex/models").is_empty());
    let answer = h
        .chat(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("codexia login")
    );
}

// ---------------------------------------------------------------------------------------------
// Real clients
// ---------------------------------------------------------------------------------------------

async fn run_python(h: &Harness, group: &str) -> String {
    let python = python_for_tests();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/openai_sdk_client.py");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&python)
            .arg(&script)
            .arg(h.base_url())
            .arg(group)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finished in time")
    .unwrap_or_else(|err| panic!("cannot run {}: {err}; {HOW_TO_FIX}", python.display()));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "{} has no openai package: {stderr}; {HOW_TO_FIX}",
        python.display()
    );
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

#[tokio::test]
async fn the_python_openai_sdk_drives_chat_completions_and_models() {
    let h = Harness::start().await;
    h.fake
        .push_reply(Reply::text("Hello from codexia").with_usage(usage()));
    h.fake.push_reply(Reply::text("Streaming works"));
    h.fake
        .push_reply(Reply::function_call("get_weather", r#"{"city":"Paris"}"#));
    h.fake.push_reply(Reply::text("Sunny in Paris"));
    h.fake.push_reply(Reply::text("Helper text"));
    h.fake
        .push_reply(Reply::function_call("get_weather", r#"{"city":"Oslo"}"#));
    h.fake
        .push_reply(Reply::failed("server_error", "The backend broke.").with_text("partial"));
    let stdout = run_python(&h, "chat").await;
    assert!(stdout.contains("models.list"), "{stdout}");
    let upstream = h.upstream();
    assert_eq!(upstream.len(), 7);
    // The round trip sent the tool result back as a paired output.
    let input = upstream[3].body_json()["input"].as_array().unwrap().clone();
    let kinds: Vec<&str> = input
        .iter()
        .map(|item| item["type"].as_str().unwrap_or("message"))
        .collect();
    assert_eq!(
        kinds,
        vec!["message", "function_call", "function_call_output"]
    );
    assert_eq!(input[2]["output"], "sunny, 24 C");
    // The strict tool of the stream helper stays strict.
    assert_eq!(upstream[5].body_json()["tools"][0]["strict"], true);
}

#[tokio::test]
async fn the_python_openai_sdk_drives_responses_with_every_raw_event_valid() {
    let h = Harness::start().await;
    h.fake
        .push_reply(Reply::reasoning("**Greeting**").with_text("Hello from responses"));
    h.fake
        .push_reply(Reply::text("Backfilled").empty_completed_output());
    h.fake
        .push_reply(Reply::function_call("get_weather", r#"{"city":"Rome"}"#));
    h.fake.push_reply(Reply::text("First answer"));
    h.fake.push_reply(Reply::text("Second answer"));
    h.fake
        .push_reply(Reply::failed("server_error", "The backend broke.").with_text("partial"));
    run_python(&h, "responses").await;
    let upstream = h.upstream();
    assert_eq!(upstream.len(), 6);
    let continued = upstream[4].body_json()["input"].as_array().unwrap().clone();
    assert_eq!(continued.len(), 3, "{continued:?}");
    assert_eq!(continued[1]["content"][0]["text"], "First answer");
}

#[tokio::test]
async fn the_node_openai_sdk_stream_helpers_accept_the_streams() {
    let modules = node_modules();
    assert!(
        modules.join("openai/package.json").exists(),
        "the Node openai SDK is not installed in {}; {HOW_TO_FIX}",
        modules.display()
    );
    let (dir, script) = node_script("openai_stream.mjs");
    let h = Harness::start().await;
    h.fake.push_reply(Reply::text("Hello from node"));
    h.fake
        .push_reply(Reply::function_call("get_weather", r#"{"city":"Paris"}"#));
    h.fake.push_reply(Reply::text("Responses from node"));
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg(&script)
            .arg(h.base_url())
            .current_dir(dir.path())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Node client finished in time")
    .unwrap_or_else(|err| panic!("cannot run node: {err}; {HOW_TO_FIX}"));
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(h.upstream().len(), 3);
}

/// Reads a raw SSE body until `wanted` shows up (bounded), returning what was read.
async fn read_until(response: &mut reqwest::Response, seen: &mut String, wanted: &str) {
    while !seen.contains(wanted) {
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {wanted:?} within 30 s: {seen}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended before {wanted:?}: {seen}"));
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn streams_keep_the_connection_alive_while_the_backend_is_silent() {
    let h = Harness::start().await;
    let client = reqwest::Client::new();
    let silent_stream = async |path: &str, body: Value| {
        let gate = Gate::new();
        // created + in_progress, then silence until the gate opens.
        h.fake
            .push_reply(Reply::text("late").gate_before_event(2, gate.clone()));
        let mut response = client
            .post(h.server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut seen = String::new();
        // A comment line every SSE reader skips, sent while nothing else is.
        read_until(&mut response, &mut seen, "\n: keep-alive\n\n").await;
        gate.release();
        while let Some(chunk) = response.chunk().await.unwrap() {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        seen
    };
    let chat = silent_stream(
        "/v1/chat/completions",
        json!({"model": "gpt-5.5", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert!(chat.starts_with("data: {"), "{chat}");
    let text: String = chat
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "late", "{chat}");
    assert!(chat.ends_with("data: [DONE]\n\n"), "{chat}");
    let responses = silent_stream(
        "/v1/responses",
        json!({"model": "gpt-5.5", "stream": true, "input": "hi"}),
    )
    .await;
    assert!(
        responses.starts_with("event: response.created"),
        "{responses}"
    );
    assert!(
        responses.contains("event: response.completed"),
        "{responses}"
    );
}
