//! Reliability under a misbehaving backend: a backend that never sends its response headers.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::fake_backend::{Gate, Reply};
use crate::support::harness::Harness;

/// The keep-alive interval of streams (`gateway::stream::PING_EVERY`).
const PING_EVERY: Duration = Duration::from_secs(10);

/// The first-byte bound the tests configure.
const BOUND_SECONDS: &str = "7";

/// A streaming request whose answer is read as it arrives: the bytes up to the keep-alive
/// `marker` (which must come within the ping interval) and then everything up to the end.
async fn stream_first_and_rest(
    h: &Harness,
    path: &str,
    body: Value,
    marker: &str,
) -> (u16, String, String) {
    let request = reqwest::Client::new()
        .post(h.server.url(path))
        .header("content-type", "application/json")
        .header("anthropic-version", "2023-06-01")
        .body(body.to_string());
    let response = tokio::time::timeout(PING_EVERY, request.send())
        .await
        .expect("the headers arrived within the ping interval")
        .expect("a response");
    let status = response.status().as_u16();
    let mut body = response.bytes_stream();
    let mut first = Vec::new();
    tokio::time::timeout(PING_EVERY, async {
        while !String::from_utf8_lossy(&first).contains(marker) {
            let chunk = body.next().await.expect("more bytes").expect("readable");
            first.extend_from_slice(&chunk);
        }
    })
    .await
    .expect("a keep-alive arrived within the ping interval");
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(chunk) = body.next().await {
            rest.extend_from_slice(&chunk.expect("readable"));
        }
    })
    .await
    .expect("the stream ended at the first-byte bound");
    (
        status,
        String::from_utf8_lossy(&first).into_owned(),
        String::from_utf8_lossy(&rest).into_owned(),
    )
}

#[tokio::test]
async fn a_backend_silent_before_its_headers_gets_keep_alives_then_a_timeout_in_the_callers_format()
{
    let h =
        Harness::start_with_env(&[("CODEXIA_UPSTREAM_FIRST_BYTE_TIMEOUT", BOUND_SECONDS)]).await;
    // The backend never sends its headers.
    let never = Gate::new();
    for _ in 0..3 {
        h.fake
            .push_reply(Reply::text("never").gate_headers(never.clone()));
    }
    let prompt = json!([{"role": "user", "content": "Hi"}]);
    let messages = stream_first_and_rest(
        &h,
        "/v1/messages",
        json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": true, "messages": prompt}),
        "event: ping",
    );
    let chat = stream_first_and_rest(
        &h,
        "/v1/chat/completions",
        json!({"model": "gpt-5.5", "stream": true, "messages": prompt}),
        ": keep-alive",
    );
    let plain_body = json!({"model": "gpt-5.5", "messages": prompt});
    let not_streaming = h.chat(&plain_body);
    let ((m_status, m_first, m_rest), (c_status, c_first, c_rest), plain) =
        tokio::join!(messages, chat, not_streaming);

    // Anthropic: committed with message_start and a ping, then an `error` event.
    assert_eq!(m_status, 200);
    assert!(m_first.contains("event: message_start"), "{m_first}");
    assert!(m_first.contains("event: ping"), "{m_first}");
    let error = m_rest
        .split("\n\n")
        .find_map(|frame| frame.strip_prefix("event: error\ndata: "))
        .unwrap_or_else(|| panic!("no error event in {m_rest}"));
    let error: Value = serde_json::from_str(error).unwrap();
    assert_eq!(error["error"]["type"], "timeout_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not start answering within 7 seconds"),
        "{error}"
    );

    // OpenAI chat: committed with a keep-alive comment, then an error chunk and no [DONE].
    assert_eq!(c_status, 200);
    assert!(c_first.starts_with(": keep-alive"), "{c_first}");
    let chunk = c_rest
        .split("\n\n")
        .find_map(|frame| frame.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no error chunk in {c_rest}"));
    let chunk: Value = serde_json::from_str(chunk).unwrap();
    assert_eq!(
        (&chunk["error"]["type"], &chunk["error"]["code"]),
        (&json!("server_error"), &json!("timeout"))
    );
    assert!(!c_rest.contains("[DONE]"));

    // Not streaming: the timeout is the HTTP status.
    assert_eq!(plain.status, 504, "{}", plain.body);
    assert_eq!(plain.json()["error"]["code"], "timeout");
}
