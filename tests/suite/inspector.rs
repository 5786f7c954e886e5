//! The request inspector end to end (issue 17): the real binary with `--capture DIR` against
//! the fake backend; requests shaped like Claude Code's (captured fixtures), then `codexia
//! requests --json`, `show` and `replay` compared with what the fake received and what the
//! client received; every byte of the capture files and the log searched for the secrets of
//! the session; the inspector's refusals; the byte budget under 200 large requests.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::codexia::{Server, TestHome, text};
use crate::support::fake_backend::{Failure, FakeUpstream, MintedTokens, Reply};
use crate::support::harness::{claude_code_fixture, closed_port, seed_credentials};

const MAIN_KEY: &str = "cdx-inspector-main-key-0123456789abcdef";
const CI_KEY: &str = "cdx-inspector-ci-key-0123456789abcdef01";
const ADMIN_KEY: &str = "cdx-inspector-admin-key-0123456789abcdef";
const CLAUDE_UA: &str = "claude-cli/2.0.14 (external, cli)";

/// A signed-in home (credentials in a file) on a fixed free port, so the CLI finds the
/// gateway, with the main key and `config` merged into `config.json`.
fn home(fake: &FakeUpstream, tokens: &MintedTokens, config: &Value) -> TestHome {
    let home = TestHome::new();
    seed_credentials(&home, tokens);
    let auth_file = home.codexia_home().join("auth.json");
    let home = home
        .env("CODEXIA_BACKEND_URL", fake.backend_url())
        .env("CODEXIA_AUTH_URL", fake.auth_url())
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_AUTH_FILE", auth_file.display().to_string())
        .env("CODEXIA_BIND", closed_port());
    let mut file = json!({"api_key": MAIN_KEY});
    for (key, value) in config.as_object().into_iter().flatten() {
        file[key] = value.clone();
    }
    home.write_config(&file.to_string());
    home
}

async fn serve(home: &TestHome, capture: &Path) -> Server {
    home.serve(&["--capture", &capture.display().to_string()])
        .await
}

/// A client answer read whole.
struct Answer {
    status: u16,
    capture: Option<String>,
    body: String,
}

/// Sends a Claude Code request (body, query and session header of a captured fixture).
async fn claude_code(server: &Server, body: &Value, session: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new()
        .post(server.url("/v1/messages?beta=true"))
        .header("x-api-key", MAIN_KEY)
        .header("anthropic-version", "2023-06-01")
        .header("user-agent", CLAUDE_UA)
        .json(body);
    if let Some(session) = session {
        request = request.header("x-claude-code-session-id", session);
    }
    let response = request.send().await.expect("POST /v1/messages");
    let status = response.status().as_u16();
    let capture = response
        .headers()
        .get("x-codexia-request")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.expect("body");
    Answer {
        status,
        capture,
        body,
    }
}

/// `codexia ARGS` with JSON on stdout.
async fn cli_json(home: &TestHome, args: &[&str]) -> Value {
    let output = home.run(args).await;
    assert!(
        output.status.success(),
        "{args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{args:?} printed no JSON: {}", text(&output.stdout)))
}

/// The frames of an SSE body as the inspector shows them: event name, data (JSON when it
/// parses) and whether it is a comment.
fn frames(body: &str) -> Vec<(Option<String>, Value, bool)> {
    body.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut event = None;
            let mut data = Vec::new();
            let mut comment = None;
            for line in frame.lines() {
                if let Some(rest) = line.strip_prefix(':') {
                    comment.get_or_insert(rest.trim().to_owned());
                } else if let Some(rest) = line.strip_prefix("event:") {
                    event = Some(rest.trim().to_owned());
                } else if let Some(rest) = line.strip_prefix("data:") {
                    data.push(rest.strip_prefix(' ').unwrap_or(rest).to_owned());
                }
            }
            if data.is_empty() {
                return (None, Value::String(comment.unwrap_or_default()), true);
            }
            let data = data.join("\n");
            (
                event,
                serde_json::from_str(&data).unwrap_or(Value::String(data)),
                false,
            )
        })
        .collect()
}

fn captured_frames(detail: &Value) -> Vec<(Option<String>, Value, bool)> {
    detail["client_events"]
        .as_array()
        .expect("client_events")
        .iter()
        .map(|e| {
            (
                e["event"].as_str().map(str::to_owned),
                e["data"].clone(),
                e["comment"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test]
async fn both_sides_of_claude_code_turns_a_tool_round_trip_and_failures_are_captured() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let home = home(&fake, &tokens, &json!({}));
    let capture_dir = tempfile::tempdir().expect("temp dir");
    let dir = capture_dir.path().join("captures");
    let server = serve(&home, &dir).await;

    let (turn, session) = claude_code_fixture("01_basic_turn.json");
    let (tool_turn2, tool_session) = claude_code_fixture("10_tool_use_turn2.json");
    let mut tool_turn1 = tool_turn2.clone();
    tool_turn1["messages"]
        .as_array_mut()
        .expect("messages")
        .truncate(2);

    fake.push_reply(Reply::text("Hello from the fake."));
    fake.push_reply(Reply::function_call(
        "Bash",
        r#"{"command":"echo hi","description":"Print hi"}"#,
    ));
    fake.push_reply(Reply::text("It printed hi."));
    let answers = [
        claude_code(&server, &turn, session.as_deref()).await,
        claude_code(&server, &tool_turn1, tool_session.as_deref()).await,
        claude_code(&server, &tool_turn2, tool_session.as_deref()).await,
        {
            fake.fail_next(Failure::UsageLimitReached);
            claude_code(&server, &turn, session.as_deref()).await
        },
        {
            fake.push_reply(Reply::text("partial text here").drop_after(6));
            claude_code(&server, &turn, session.as_deref()).await
        },
    ];
    assert_eq!(
        answers.iter().map(|a| a.status).collect::<Vec<_>>(),
        [200, 200, 200, 429, 200]
    );
    assert!(
        answers[1].body.contains("\"tool_use\""),
        "{}",
        answers[1].body
    );
    assert!(
        answers[4].body.contains("event: error"),
        "{}",
        answers[4].body
    );

    // The list: newest first, each with its status and outcome.
    let list = cli_json(&home, &["requests", "--json"]).await;
    let listed = list["data"].as_array().expect("data");
    let ids: Vec<&str> = answers
        .iter()
        .rev()
        .map(|a| a.capture.as_deref().expect("x-codexia-request"))
        .collect();
    assert_eq!(
        listed
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ids
    );
    let summary: Vec<Value> = listed
        .iter()
        .map(|r| {
            json!([
                r["route"],
                r["client"],
                r["model"],
                r["status"],
                r["state"],
                r["error"]["kind"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        [
            json!([
                "POST /v1/messages",
                "Claude Code",
                "gpt-5.5",
                200,
                "error",
                "stream_ended_early"
            ]),
            json!([
                "POST /v1/messages",
                "Claude Code",
                null,
                429,
                "error",
                "rate_limited"
            ]),
            json!([
                "POST /v1/messages",
                "Claude Code",
                "gpt-5.5",
                200,
                "ok",
                null
            ]),
            json!([
                "POST /v1/messages",
                "Claude Code",
                "gpt-5.5",
                200,
                "ok",
                null
            ]),
            json!([
                "POST /v1/messages",
                "Claude Code",
                "gpt-5.5",
                200,
                "ok",
                null
            ]),
        ]
    );
    assert!(listed[4]["tokens"]["input"].as_u64().unwrap() > 0);

    // Both sides of each: the backend request is what the fake received, the client events
    // what the client received.
    let received = fake.responses_requests();
    assert_eq!(received.len(), 5);
    for (i, answer) in answers.iter().enumerate() {
        let id = answer.capture.as_deref().unwrap();
        let detail = cli_json(&home, &["requests", "show", id, "--json"]).await;
        let upstream = &detail["upstream_request"];
        assert_eq!(&upstream["body"], received[i].body_json(), "{id}");
        assert!(
            upstream["url"]
                .as_str()
                .unwrap()
                .ends_with("/codex/responses")
        );
        for pair in upstream["headers"].as_array().unwrap() {
            let (name, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            if value.contains("[redacted") {
                assert!(received[i].header(name).is_some(), "{name}");
            } else {
                assert_eq!(received[i].header(name), Some(value), "{id} header {name}");
            }
        }
        let headers = upstream["headers"].to_string();
        assert!(
            headers.contains(r#"["authorization","Bearer [redacted]"]"#),
            "{headers}"
        );
        assert!(
            headers.contains(r#"["chatgpt-account-id","[redacted]"]"#),
            "{headers}"
        );
        assert_eq!(
            detail["client_request"]["body"],
            [&turn, &tool_turn1, &tool_turn2, &turn, &turn][i].clone()
        );
        assert_eq!(detail["client_request"]["url"], "/v1/messages?beta=true");
        let client_headers = detail["client_request"]["headers"].to_string();
        assert!(
            client_headers.contains(r#"["x-api-key","[redacted]"]"#),
            "{client_headers}"
        );
        assert_eq!(detail["client_response"]["status"], answer.status);
        if answer.status == 200 {
            assert_eq!(captured_frames(&detail), frames(&answer.body), "{id}");
            assert_eq!(detail["upstream_status"], 200);
        } else {
            assert_eq!(
                detail["client_response"]["body"],
                serde_json::from_str::<Value>(&answer.body).unwrap()
            );
            assert_eq!(detail["upstream_status"], 429);
            assert_eq!(detail["upstream_events"], json!([]));
        }
        let upstream_events: Vec<&str> = detail["upstream_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        match i {
            0..=2 => assert_eq!(upstream_events.last(), Some(&"response.completed")),
            4 => {
                assert_eq!(upstream_events.len(), 6, "{upstream_events:?}");
                assert!(!upstream_events.contains(&"response.completed"));
            }
            _ => {}
        }
        // The times are relative and in order.
        let times: Vec<u64> = detail["upstream_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["ms"].as_u64().unwrap())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

        // The capture file is the same JSON, private.
        let file = files_in(&dir)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(&format!("-{id}.json")))
            .unwrap_or_else(|| panic!("no capture file for {id}"));
        let on_disk: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(on_disk, detail, "{}", file.display());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    assert_eq!(files_in(&dir).len(), 5);

    // The readable forms name both sides.
    let table = home.run(&["requests", "--last", "2"]).await;
    let table = text(&table.stdout);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        table.contains(ids[0]) && table.contains("rate_limited") == false,
        "{table}"
    );
    let shown = home.run(&["requests", "show", ids[4]]).await;
    let shown = text(&shown.stdout);
    for part in [
        "── Client request ──",
        "POST /v1/messages?beta=true",
        "── Upstream request ──",
        "── Upstream response: 200 ──",
        "response.completed",
        "── Client response: 200 ──",
        "message_start",
    ] {
        assert!(shown.contains(part), "{part} missing from:\n{shown}");
    }
}
