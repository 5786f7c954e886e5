//! The test harness the API suites share: the fake backend, a codexia home signed in against
//! it and a running `codexia serve` ([`Harness`]), and one client answer read in full
//! ([`Answer`]) with checked readers for each dialect's stream.
//!
//! ```ignore
//! let h = Harness::start().await;
//! h.fake.push_reply(Reply::text("OK"));
//! let events = h.messages(&json!({"model": "gpt-5.5", …})).await.anthropic_events();
//! assert_eq!(h.last_upstream()["model"], "gpt-5.5");
//! ```

use std::path::PathBuf;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::codexia::{Server, TestHome};
use super::fake_backend::{FakeUpstream, MintedTokens, RecordedRequest, parse_sse};

/// A safety net for a hung gateway, not a synchronisation device.
const ANSWER_DEADLINE: Duration = Duration::from_secs(60);

/// The header every Anthropic client sends.
pub const ANTHROPIC: &[(&str, &str)] = &[("anthropic-version", "2023-06-01")];
/// The bearer key the OpenAI suites send (ignored by a gateway without `--api-key`).
pub const OPENAI: &[(&str, &str)] = &[("authorization", "Bearer test-key")];

/// A home pointed at the fake's issuer and backend (credentials wherever the home's
/// environment says; see [`seed_credentials`]).
pub fn home_for(fake: &FakeUpstream) -> TestHome {
    TestHome::new()
        .env("CODEXIA_AUTH_URL", fake.auth_url())
        .env("CODEXIA_BACKEND_URL", fake.backend_url())
        .env("CODEXIA_LOGIN_PORT", "0")
}

/// Writes `$CODEXIA_HOME/auth.json` as codexia stores it.
pub fn seed_credentials(home: &TestHome, tokens: &MintedTokens) {
    let path = home.codexia_home().join("auth.json");
    let body = json!({
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "id_token": tokens.id_token,
        "expires_at": chrono::Utc::now().timestamp() + tokens.expires_in,
        "account_id": tokens.account_id,
    });
    std::fs::write(&path, body.to_string()).expect("write auth.json");
}

/// A loopback address nothing listens on (so the CLI finds no running gateway).
pub fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("127.0.0.1:{port}")
}

/// A request Claude Code sent, captured in `tests/fixtures/claude_code/NAME`: its body and
/// its `x-claude-code-session-id` header.
pub fn claude_code_fixture(name: &str) -> (Value, Option<String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude_code")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let record: Value = serde_json::from_str(&text).expect("fixture JSON");
    (
        record["body"].clone(),
        record["session_header"].as_str().map(str::to_owned),
    )
}

/// Where the Node test clients (Claude Code, the Anthropic and OpenAI SDKs) are installed:
/// `$CODEXIA_TEST_NODE_MODULES`, else `tests/node/node_modules`.
pub fn node_modules() -> PathBuf {
    std::env::var_os("CODEXIA_TEST_NODE_MODULES")
        .filter(|v| !v.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node/node_modules"),
            PathBuf::from,
        )
}

/// A copy of `tests/node/NAME` in a temporary directory next to a link to [`node_modules`]:
/// ES modules resolve packages from the script's own directory, wherever the modules are.
/// Run it with that directory as the working directory.
pub fn node_script(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(node_modules(), dir.path().join("node_modules"))
        .expect("link node_modules");
    let script = dir.path().join(name);
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/node")
            .join(name),
        &script,
    )
    .expect("copy the script");
    (dir, script)
}

/// The fake backend, a codexia home (signed in unless asked otherwise) and a running
/// `codexia serve --bind 127.0.0.1:0`.
pub struct Harness {
    pub fake: FakeUpstream,
    pub home: TestHome,
    pub server: Server,
}

impl Harness {
    /// Signed in, default options.
    pub async fn start() -> Self {
        Self::launch(true, &[], &[]).await
    }

    /// Signed in, with extra `serve` arguments (e.g. `--api-key`).
    pub async fn start_with(args: &[&str]) -> Self {
        Self::launch(true, args, &[]).await
    }

    /// Signed in, with extra environment variables for `serve`.
    pub async fn start_with_env(env: &[(&str, &str)]) -> Self {
        Self::launch(true, &[], env).await
    }

    /// Signed in, against the fake served over TLS ([`FakeUpstream::start_tls`]), with these
    /// environment variables.
    pub async fn start_tls_with_env(env: &[(&str, &str)]) -> Self {
        Self::launch_against(FakeUpstream::start_tls().await, true, &[], env).await
    }

    /// Never signed in: the credentials file does not exist.
    pub async fn signed_out() -> Self {
        Self::launch(false, &[], &[]).await
    }

    async fn launch(signed_in: bool, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::launch_against(FakeUpstream::start().await, signed_in, args, env).await
    }

    async fn launch_against(
        fake: FakeUpstream,
        signed_in: bool,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let home = TestHome::new();
        let auth_file = home.codexia_home().join("auth.json");
        if signed_in {
            seed_credentials(&home, &fake.mint_tokens(3600));
        }
        let home = home
            .env("CODEXIA_BACKEND_URL", fake.backend_url())
            .env("CODEXIA_AUTH_URL", fake.auth_url())
            .env("CODEXIA_CREDENTIAL_STORE", "file")
            .env("CODEXIA_AUTH_FILE", auth_file.display().to_string());
        let home = env
            .iter()
            .fold(home, |home, (name, value)| home.env(name, *value));
        let mut full = vec!["--bind", "127.0.0.1:0"];
        full.extend_from_slice(args);
        let server = home.serve(&full).await;
        Self { fake, home, server }
    }

    /// Sends `request` and reads the whole answer.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = tokio::time::timeout(ANSWER_DEADLINE, request.send())
            .await
            .expect("codexia answered in time")
            .expect("request");
        Answer::read(response).await
    }

    /// `POST PATH` with a JSON body and these headers only.
    pub async fn post(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
        self.post_raw(path, body.to_string(), headers).await
    }

    /// `POST PATH` with `body` sent as it is (for bodies that are not valid JSON).
    pub async fn post_raw(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Answer {
        let mut request = reqwest::Client::new()
            .post(self.server.url(path))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// `GET PATH` with these headers.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = reqwest::Client::new().get(self.server.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// An Anthropic client's `POST PATH` (`anthropic-version` plus `headers`).
    pub async fn anthropic(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
        let all: Vec<(&str, &str)> = ANTHROPIC.iter().chain(headers).copied().collect();
        self.post(path, body, &all).await
    }

    /// `POST /v1/messages?beta=true` as Claude Code sends it.
    pub async fn messages(&self, body: &Value) -> Answer {
        self.anthropic("/v1/messages?beta=true", body, &[]).await
    }

    /// `POST /v1/chat/completions` as an OpenAI client sends it.
    pub async fn chat(&self, body: &Value) -> Answer {
        self.post("/v1/chat/completions", body, OPENAI).await
    }

    /// `POST /v1/responses` as an OpenAI client sends it.
    pub async fn responses(&self, body: &Value) -> Answer {
        self.post("/v1/responses", body, OPENAI).await
    }

    /// The upstream requests so far (after checking each passed strict validation).
    pub fn upstream(&self) -> Vec<RecordedRequest> {
        self.fake.assert_all_responses_requests_valid();
        self.fake.responses_requests()
    }

    /// The body of the last upstream request.
    pub fn last_upstream(&self) -> Value {
        self.upstream()
            .last()
            .expect("an upstream request")
            .body_json()
            .clone()
    }

    /// `http://ADDR/v1`, the base URL of the OpenAI SDKs.
    pub fn base_url(&self) -> String {
        self.server.url("/v1")
    }
}

/// A whole answer of the gateway.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Answer {
    /// Reads the status, headers and the whole body.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(ANSWER_DEADLINE, response.text())
            .await
            .expect("body in time")
            .expect("body");
        Self {
            status,
            headers,
            body,
        }
    }

    /// The body as JSON; panics (showing it) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, self.body))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Checks a 200 `text/event-stream` answer.
    pub fn assert_event_stream(&self) {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(
            self.header("content-type")
                .is_some_and(|v| v.starts_with("text/event-stream")),
            "content-type {:?}",
            self.header("content-type")
        );
    }

    /// The Anthropic SSE events (data JSON, pings left out), after checking the Anthropic
    /// stream grammar: an `event:` line equal to `type` on every frame, `message_start` first,
    /// blocks numbered in order and never interleaved, deltas matching their block, and
    /// `message_stop` or `error` last.
    pub fn anthropic_events(&self) -> Vec<Value> {
        self.assert_event_stream();
        let events: Vec<Value> = parse_sse(&self.body)
            .into_iter()
            .map(|frame| {
                let data: Value = serde_json::from_str(&frame.data).expect("data is JSON");
                assert_eq!(
                    frame.event.as_deref(),
                    data["type"].as_str(),
                    "event name = type"
                );
                data
            })
            .filter(|data| data["type"] != "ping")
            .collect();
        check_anthropic_grammar(&events);
        events
    }

    /// The chat chunks (data-only frames) and whether the stream ended with `[DONE]`; checks
    /// that nothing follows `[DONE]` and that no frame has an `event:` line.
    pub fn chat_chunks(&self) -> (Vec<Value>, bool) {
        self.assert_event_stream();
        let mut chunks = Vec::new();
        let mut done = false;
        for event in parse_sse(&self.body) {
            assert_eq!(event.event, None, "chat chunks are data-only");
            assert!(!done, "a frame after [DONE]: {}", self.body);
            if event.data == "[DONE]" {
                done = true;
            } else {
                chunks.push(serde_json::from_str(&event.data).expect("chunk JSON"));
            }
        }
        (chunks, done)
    }

    /// The Responses events (after checking `event:` = `type`) and their raw data lines.
    pub fn responses_events(&self) -> (Vec<Value>, Vec<String>) {
        self.assert_event_stream();
        let mut events = Vec::new();
        let mut lines = Vec::new();
        for event in parse_sse(&self.body) {
            let data: Value = serde_json::from_str(&event.data).expect("event JSON");
            assert_eq!(event.event.as_deref(), data["type"].as_str());
            lines.push(event.data.clone());
            events.push(data);
        }
        (events, lines)
    }
}

/// The Anthropic stream grammar (see [`Answer::anthropic_events`]).
fn check_anthropic_grammar(events: &[Value]) {
    assert_eq!(events[0]["type"], "message_start", "{events:#?}");
    let mut open: Option<(u64, String)> = None;
    let mut next = 0_u64;
    for (position, event) in events.iter().enumerate().skip(1) {
        let kind = event["type"].as_str().unwrap();
        match kind {
            "content_block_start" => {
                assert!(
                    open.is_none(),
                    "block opened while another is open: {events:#?}"
                );
                assert_eq!(event["index"], json!(next), "{events:#?}");
                open = Some((
                    next,
                    event["content_block"]["type"].as_str().unwrap().to_owned(),
                ));
                next += 1;
            }
            "content_block_delta" => {
                let (index, block) = open.clone().expect("delta outside a block");
                assert_eq!(event["index"], json!(index));
                let allowed: &[&str] = match block.as_str() {
                    "text" => &["text_delta"],
                    "tool_use" | "server_tool_use" => &["input_json_delta"],
                    "thinking" => &["thinking_delta", "signature_delta"],
                    other => panic!("unexpected block {other}"),
                };
                assert!(
                    allowed.contains(&event["delta"]["type"].as_str().unwrap()),
                    "{event}"
                );
            }
            "content_block_stop" => {
                let (index, _) = open.take().expect("stop without a block");
                assert_eq!(event["index"], json!(index));
            }
            "message_delta" => assert!(open.is_none(), "message_delta with an open block"),
            "message_stop" | "error" => {
                assert_eq!(
                    position,
                    events.len() - 1,
                    "{kind} is not last: {events:#?}"
                );
            }
            other => panic!("unexpected event {other}"),
        }
    }
    let last = events.last().unwrap()["type"].as_str().unwrap();
    assert!(
        last == "message_stop" || last == "error",
        "ends with {last}"
    );
}
