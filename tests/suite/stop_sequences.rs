//! Stop sequences, emulated by codexia (the backend has no such parameter), driven by the
//! official Python SDKs: Anthropic `stop_sequences` and OpenAI chat `stop`, streaming and not.

use std::path::PathBuf;
use std::time::Duration;

use crate::support::codexia::text;
use crate::support::fake_backend::{Gate, Reply, python_for_tests};
use crate::support::harness::Harness;

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
    let h = Harness::start().await;
    let (fake, server) = (&h.fake, &h.server);

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
