//! What the backend receives for each Claude Code turn captured in
//! `tests/fixtures/claude_code/`: the translated request as the fake recorded it, one JSON
//! snapshot per turn.
//!
//! These snapshots live in files (`snapshots/`), not inline: each holds Claude Code's whole
//! system prompt and tool list, 50–90 KB of JSON that would bury the test.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::support::harness::{Harness, claude_code_fixture};

/// The request headers that carry translation facts (the rest is transport: the signed-in
/// token, lengths, the client library's user agent).
const HEADERS: &[&str] = &[
    "accept",
    "chatgpt-account-id",
    "content-type",
    "originator",
    "session_id",
];

/// The captured requests, by file name.
fn captured() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude_code");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| Path::new(name).extension().is_some_and(|e| e == "json"))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn each_captured_claude_code_turn_reaches_the_backend_as_snapshotted() {
    let h = Harness::start().await;
    let mut turns = 0;
    for name in captured() {
        let (body, session) = claude_code_fixture(&name);
        let session = session.expect("a session header");
        let headers = [("x-claude-code-session-id", session.as_str())];
        let sent_before = h.fake.responses_requests().len();
        if name.ends_with("_count_tokens.json") {
            // Counting is local: nothing reaches the backend.
            let answer = h
                .anthropic("/v1/messages/count_tokens?beta=true", &body, &headers)
                .await;
            assert_eq!(answer.status, 200, "{name}: {}", answer.body);
            assert_eq!(h.fake.responses_requests().len(), sent_before, "{name}");
            continue;
        }
        h.anthropic("/v1/messages?beta=true", &body, &headers)
            .await
            .anthropic_events();
        let sent = h.upstream();
        assert_eq!(sent.len(), sent_before + 1, "{name}: one backend request");
        let request = sent.last().unwrap();
        assert!(
            request
                .header("authorization")
                .is_some_and(|v| v.starts_with("Bearer ey")),
            "{name}: the signed-in token"
        );
        let headers: Map<String, Value> = HEADERS
            .iter()
            .map(|name| ((*name).to_owned(), json!(request.header(name))))
            .collect();
        let snapshot = json!({
            "method": request.method,
            "path": request.path,
            "headers": headers,
            "body": request.body_json(),
        });
        insta::assert_json_snapshot!(name.trim_end_matches(".json"), snapshot);
        turns += 1;
    }
    assert_eq!(turns, 4, "a captured turn was not snapshotted");
}
