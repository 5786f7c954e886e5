//! Stop sequences, emulated by codexia (the backend has no such parameter), driven by the
//! official Python SDKs: Anthropic `stop_sequences` and OpenAI chat `stop`, streaming and not.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::support::codexia::{TestHome, text};
use crate::support::fake_backend::{FakeUpstream, Gate, Reply, python_for_tests};

/// The text of each reply: the stop sequence `Observation:` is split across the two deltas.
const DELTAS: [&str; 2] = [
    "Thought: check the weather\nObser",
    "vation: sunny\nFinal answer",
];

/// The index of the event after the two text deltas (created, in_progress, item added, part
/// added, delta, delta): the rest of each reply is held there.
const AFTER_THE_DELTAS: usize = 6;

#[tokio::test]
async fn stop_sequences_cut_the_answer_and_close_the_upstream_request_for_both_apis() {
    let fake = FakeUpstream::start().await;
    let home = TestHome::new();
    let auth_file = home.codexia_home().join("auth.json");
    let tokens = fake.mint_tokens(3600);
    std::fs::write(
        &auth_file,
        json!({
            "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "id_token": tokens.id_token, "expires_at": tokens.expires_at, "account_id": tokens.account_id,
        })
        .to_string(),
    )
    .unwrap();
    let home = home
        .env("CODEXIA_BACKEND_URL", fake.backend_url())
        .env("CODEXIA_AUTH_URL", fake.auth_url())
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_AUTH_FILE", auth_file.display().to_string());
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;

    // Four answers whose end never comes: each call can only finish if codexia ends it at the
    // stop sequence and stops reading.
    let held = Gate::new();
    for _ in 0..4 {
        fake.push_reply(
            Reply::text_deltas(&DELTAS).gate_before_event(AFTER_THE_DELTAS, held.clone()),
        );
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/stop_sequences_client.py");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python_for_tests())
            .arg(&script)
            .arg(&server.url)
            .output(),
    )
    .await
    .expect("the SDK script finished in time")
    .expect("the SDK script ran");
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(fake.responses_requests().len(), 4);
    // The backend saw every connection end although its answers were still held.
    tokio::time::timeout(Duration::from_secs(10), fake.wait_for_open_streams(0))
        .await
        .expect("codexia closed every upstream request at the stop sequence");
    fake.assert_all_responses_requests_valid();
}
