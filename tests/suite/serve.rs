//! `codexia serve` end to end: the built binary on loopback, real HTTP.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::codexia::{TestHome, text};

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Value, reqwest::header::HeaderMap) {
    let client = reqwest::Client::new();
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

#[tokio::test]
async fn serve_prints_the_listening_line_and_health_answers() {
    let home = TestHome::new();
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    assert_ne!(server.addr.port(), 0, "the real port is printed, not 0");
    let (status, body, _) = get(&server.url("/health"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": "ok", "service": "codexia", "version": env!("CARGO_PKG_VERSION")})
    );
}

#[tokio::test]
async fn sigterm_stops_the_gateway_cleanly() {
    let home = TestHome::new();
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let addr = server.addr;
    let output = server.terminate().await;
    assert!(
        output.status.success(),
        "exit status {:?}, stderr {}",
        output.status,
        text(&output.stderr)
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after the exit"
    );
}

#[tokio::test]
async fn with_an_api_key_models_needs_it_as_bearer_or_x_api_key() {
    let home = TestHome::new();
    let server = home
        .serve(&["--bind", "127.0.0.1:0", "--api-key", "sekrit-123"])
        .await;
    let url = server.url("/v1/models");

    let (status, body, _) = get(&url, &[]).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"error": {
            "message": "Missing or invalid API key: send the gateway's key as `Authorization: Bearer KEY` or `x-api-key: KEY`.",
            "type": "authentication_error", "param": null, "code": "invalid_api_key"}})
    );
    let (status, _, _) = get(&url, &[("authorization", "Bearer wrong")]).await;
    assert_eq!(status, 401);

    let (status, body, _) = get(&url, &[("authorization", "Bearer sekrit-123")]).await;
    assert_eq!(status, 200);
    assert_eq!(body["object"], "list");
    let (status, _, _) = get(&url, &[("x-api-key", "sekrit-123")]).await;
    assert_eq!(status, 200);

    // /health stays open.
    let (status, _, _) = get(&server.url("/health"), &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn anthropic_callers_get_errors_in_the_anthropic_envelope() {
    let home = TestHome::new();
    let server = home
        .serve(&["--bind", "127.0.0.1:0", "--api-key", "k"])
        .await;
    let (status, body, _) = get(
        &server.url("/v1/models"),
        &[("anthropic-version", "2023-06-01")],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let response = reqwest::Client::new()
        .post(server.url("/v1/messages?beta=true"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn a_foreign_host_header_is_refused() {
    let home = TestHome::new();
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let (status, body, _) = get(&server.url("/v1/models"), &[("host", "evil.example")]).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["type"], "permission_error");
    let (status, _, _) = get(
        &server.url("/health"),
        &[("host", &format!("localhost:{}", server.addr.port()))],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_browser_origin_is_refused_unless_allowed_in_config() {
    let home = TestHome::new();
    home.write_config(r#"{"allowed_origins": ["http://localhost:3000"]}"#);
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let (status, body, _) = get(
        &server.url("/v1/models"),
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowed_origins")
    );

    let (status, _, headers) = get(
        &server.url("/v1/models"),
        &[("origin", "http://localhost:3000")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://localhost:3000"
    );
}

#[tokio::test]
async fn binding_beyond_loopback_without_a_key_refuses_to_start() {
    let home = TestHome::new();
    let output = home.run(&["serve", "--bind", "0.0.0.0:14550"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no listening line");
    assert_eq!(
        text(&output.stderr),
        "error: refusing to listen on 0.0.0.0:14550 without an API key: anyone on the network could use your ChatGPT account\n\
         hint: add --api-key KEY (or CODEXIA_API_KEY), or bind to 127.0.0.1\n"
    );
}

#[tokio::test]
async fn models_lists_both_shapes() {
    let home = TestHome::new();
    let server = home
        .serve(&["--bind", "127.0.0.1:0", "--models", "gpt-5.5,gpt-5.4-mini"])
        .await;
    let (_, openai, _) = get(&server.url("/v1/models"), &[]).await;
    let ids: Vec<&str> = openai["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gpt-5.5", "gpt-5.4-mini"]);
    assert_eq!(openai["data"][0]["object"], "model");

    let (_, anthropic, _) = get(
        &server.url("/v1/models"),
        &[("anthropic-version", "2023-06-01")],
    )
    .await;
    assert_eq!(
        anthropic,
        json!({
            "data": [
                {"type": "model", "id": "gpt-5.5", "display_name": "GPT-5.5", "created_at": "2026-01-01T00:00:00Z"},
                {"type": "model", "id": "gpt-5.4-mini", "display_name": "GPT-5.4 Mini", "created_at": "2026-01-01T00:00:00Z"}
            ],
            "has_more": false, "first_id": "gpt-5.5", "last_id": "gpt-5.4-mini"
        })
    );
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_callers_format() {
    let home = TestHome::new();
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let (status, body, _) = get(&server.url("/v1/nothing"), &[]).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"]["message"],
        "There is no route GET /v1/nothing."
    );
    let (status, body, _) = get(
        &server.url("/v1/nothing"),
        &[("anthropic-version", "2023-06-01")],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn an_api_key_never_appears_in_the_logs() {
    let home = TestHome::new().env("CODEXIA_LOG", "trace");
    let server = home
        .serve(&["--bind", "127.0.0.1:0", "--api-key", "do-not-log-me-42"])
        .await;
    get(
        &server.url("/v1/models"),
        &[("authorization", "Bearer do-not-log-me-42")],
    )
    .await;
    get(
        &server.url("/v1/models"),
        &[("x-api-key", "wrong-key-also-secret")],
    )
    .await;
    let output = server.terminate().await;
    let logs = text(&output.stderr);
    assert!(logs.contains("/v1/models"), "requests are logged: {logs}");
    assert!(!logs.contains("do-not-log-me-42"), "{logs}");
    assert!(!logs.contains("wrong-key-also-secret"), "{logs}");
}
