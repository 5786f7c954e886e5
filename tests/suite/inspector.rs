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
fn home(fake: &FakeUpstream, tokens: Option<&MintedTokens>, config: &Value) -> TestHome {
    let home = TestHome::new();
    if let Some(tokens) = tokens {
        seed_credentials(&home, tokens);
    }
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
    let home = home(&fake, Some(&tokens), &json!({}));
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
        let mut on_disk: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        // Except the memory the capture counts: a later turn that repeats its bodies may have
        // taken them over since it was written.
        let mut live = detail.clone();
        for side in [&mut on_disk, &mut live] {
            side.as_object_mut().unwrap().remove("bytes").unwrap();
        }
        assert_eq!(on_disk, live, "{}", file.display());
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
        table.contains(ids[0]) && table.contains(ids[1]) && !table.contains(ids[2]),
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

/// The capture file of `id` in `dir`.
fn capture_file(dir: &Path, id: &str) -> std::path::PathBuf {
    files_in(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(&format!("-{id}.json")))
        .unwrap_or_else(|| panic!("no capture file for {id}"))
}

#[tokio::test]
async fn replay_is_identical_until_a_config_change_and_then_names_the_changed_field() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let home = home(&fake, Some(&tokens), &json!({}));
    let capture_dir = tempfile::tempdir().expect("temp dir");
    let server = serve(&home, capture_dir.path()).await;
    let (mut turn, session) = claude_code_fixture("01_basic_turn.json");
    turn["model"] = json!("claude-sonnet-4-5");
    let answer = claude_code(&server, &turn, session.as_deref()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let id = answer.capture.expect("x-codexia-request");

    // Nothing changed: the same backend request.
    let output = home.run(&["requests", "replay", &id]).await;
    assert_eq!(
        (output.status.code(), text(&output.stdout)),
        (Some(0), "identical\n".to_owned()),
        "{}",
        text(&output.stderr)
    );
    assert!(text(&output.stderr).contains(&format!("Replayed {id} as req_")));
    let replayed = cli_json(&home, &["requests", "replay", &id, "--json"]).await;
    assert_eq!(
        (&replayed["identical"], &replayed["changes"]),
        (&json!(true), &json!([]))
    );
    let sent = fake.responses_requests();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1].body_json(), sent[0].body_json());
    let model_served = sent[0].body_json()["model"].as_str().unwrap().to_owned();
    assert_ne!(model_served, "gpt-5.4");
    drop(cli_json(&home, &["requests", "--json"]).await);

    // A configuration change needs a restart; the capture file outlives it.
    server.terminate().await;
    let file = capture_file(capture_dir.path(), &id);
    home.write_config(
        &json!({"api_key": MAIN_KEY, "model_aliases": {"claude-sonnet-4-5": "gpt-5.4"}})
            .to_string(),
    );
    let _server = serve(&home, capture_dir.path()).await;
    let output = home
        .run(&["requests", "replay", &file.display().to_string()])
        .await;
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        stdout
            .lines()
            .any(|line| line == format!(r#"model: "{model_served}" → "gpt-5.4""#)),
        "{stdout}"
    );
    assert!(!stdout.contains("identical"), "{stdout}");
    assert_eq!(
        fake.responses_requests().last().unwrap().body_json()["model"],
        "gpt-5.4"
    );
}

/// The tokens `auth.json` holds now.
fn stored_tokens(home: &TestHome) -> Vec<String> {
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(home.codexia_home().join("auth.json")).expect("auth.json"),
    )
    .expect("auth.json is JSON");
    ["access_token", "refresh_token", "id_token"]
        .iter()
        .map(|field| stored[*field].as_str().expect(field).to_owned())
        .collect()
}

/// Every secret of the session: the tokens of the sign-in (`signed_in`), the ones each refresh
/// returned as seen on the backend requests and in the token requests, the final stored ones,
/// the account id, the email of the claims and both API keys.
fn session_secrets(fake: &FakeUpstream, signed_in: &[String], home: &TestHome) -> Vec<String> {
    let mut secrets = signed_in.to_vec();
    secrets.extend([
        fake.account().account_id,
        fake.account().email,
        MAIN_KEY.to_owned(),
        CI_KEY.to_owned(),
    ]);
    for request in fake.requests() {
        if let Some(bearer) = request
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            secrets.push(bearer.to_owned());
        }
        if let Some(refresh) = request.param("refresh_token") {
            secrets.push(refresh);
        }
    }
    secrets.extend(stored_tokens(home));
    secrets.sort();
    secrets.dedup();
    secrets
}

#[tokio::test]
async fn no_secret_of_a_session_that_signed_in_refreshed_and_served_reaches_a_capture_or_log() {
    let fake = FakeUpstream::start().await;
    // Signed in with the device flow; the tokens expire within the refresh margin, so the
    // first request refreshes first.
    fake.set_token_lifetime(30);
    fake.set_device_poll_interval(1);
    fake.auto_approve_device_codes(true);
    let home =
        home(&fake, None, &json!({"api_keys": {"ci-box": CI_KEY}})).env("CODEXIA_LOG", "trace");
    let login = home.run(&["login", "--device"]).await;
    assert!(login.status.success(), "{}", text(&login.stderr));
    let signed_in = stored_tokens(&home);
    let tokens = MintedTokens {
        access_token: signed_in[0].clone(),
        refresh_token: signed_in[1].clone(),
        id_token: signed_in[2].clone(),
        expires_in: 30,
        expires_at: 0,
        account_id: fake.account().account_id,
    };
    let capture_dir = tempfile::tempdir().expect("temp dir");
    let server = serve(&home, capture_dir.path()).await;

    // Secrets pasted into a prompt and sent as headers.
    let (mut turn, session) = claude_code_fixture("01_basic_turn.json");
    turn["messages"][0]["content"]
        .as_array_mut()
        .expect("content blocks")
        .push(json!({"type": "text", "text": format!(
            "my key is {MAIN_KEY}, my token {} and account {}",
            tokens.access_token, tokens.account_id
        )}));
    let answer = claude_code(&server, &turn, session.as_deref()).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let refreshed = reqwest::Client::new()
        .post(server.url("/v1/auth/refresh"))
        .bearer_auth(MAIN_KEY)
        .send()
        .await
        .expect("POST /v1/auth/refresh");
    assert_eq!(refreshed.status(), 200);
    let chat = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .bearer_auth(CI_KEY)
        .json(&json!({"model": "gpt-5.5", "stream": true, "messages": [
            {"role": "user", "content": format!("refresh token {}", tokens.refresh_token)}
        ]}))
        .send()
        .await
        .expect("POST /v1/chat/completions");
    assert_eq!(chat.status(), 200);
    drop(chat.text().await);
    assert!(fake.token_refresh_count() >= 2, "two refreshes");
    let list = cli_json(&home, &["requests", "--json"]).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
    assert_eq!(list["data"][0]["client"], "ci-box");

    let output = server.terminate().await;
    let secrets = session_secrets(&fake, &signed_in, &home);
    assert!(secrets.len() >= 13, "{} secrets", secrets.len());
    let mut searched = vec![
        ("serve stdout".to_owned(), output.stdout.clone()),
        ("serve stderr (log)".to_owned(), output.stderr.clone()),
    ];
    for file in files_in(capture_dir.path()) {
        searched.push((file.display().to_string(), std::fs::read(&file).unwrap()));
    }
    assert_eq!(searched.len(), 5);
    // `login`'s log (its stdout is the answer to the user, who may see their own account).
    searched.push(("login stderr".to_owned(), login.stderr.clone()));
    assert!(
        text(&output.stderr).contains("refreshing the ChatGPT access token"),
        "the log covers the refresh"
    );
    for (name, bytes) in &searched {
        let haystack = String::from_utf8_lossy(bytes);
        for secret in &secrets {
            assert!(
                !haystack.contains(secret.as_str()),
                "{name} contains a secret ({}…)",
                &secret[..8]
            );
        }
    }
    // The pasted secrets are named, not dropped.
    let first = String::from_utf8_lossy(&searched[2].1).into_owned();
    assert!(
        first.contains(
            "my key is [redacted:api_key], my token [redacted:access_token] and account [redacted:account_id]"
        ),
        "{}",
        &first[..200]
    );
}

/// GET `path` from `base` with `key` and extra headers: status and JSON body.
async fn get(base: &str, path: &str, key: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{base}{path}"))
        .header("x-api-key", key);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A non-loopback IPv4 address of this machine (`hostname -I`), if it has one.
fn other_address() -> Option<String> {
    let output = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    text(&output.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .map(str::to_owned)
}

#[tokio::test]
async fn inspector_routes_refuse_non_admin_keys_and_clients_on_other_machines() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let port = closed_port().rsplit(':').next().unwrap().to_owned();
    let home = home(
        &fake,
        Some(&tokens),
        &json!({"api_keys": {"ci-box": CI_KEY, "me": {"key": ADMIN_KEY, "admin": true}}}),
    )
    .env("CODEXIA_BIND", format!("0.0.0.0:{port}"));
    let capture_dir = tempfile::tempdir().expect("temp dir");
    let server = serve(&home, capture_dir.path()).await;
    let (turn, session) = claude_code_fixture("01_basic_turn.json");
    let id = claude_code(&server, &turn, session.as_deref())
        .await
        .capture
        .expect("captured");
    let detail = format!("/v1/requests/{id}");
    let loopback = format!("http://127.0.0.1:{port}");

    // On this machine: the main key and the admin key read; a named key given to one client
    // does not, in the caller's format.
    for key in [MAIN_KEY, ADMIN_KEY] {
        assert_eq!(get(&loopback, "/v1/requests", key, &[]).await.0, 200);
        assert_eq!(get(&loopback, &detail, key, &[]).await.0, 200);
    }
    let (status, body) = get(&loopback, "/v1/requests", CI_KEY, &[]).await;
    assert_eq!(
        (status, &body["error"]["type"]),
        (403, &json!("permission_error"))
    );
    let (status, body) = get(
        &loopback,
        &detail,
        CI_KEY,
        &[("anthropic-version", "2023-06-01")],
    )
    .await;
    assert_eq!(
        (status, &body["type"], &body["error"]["type"]),
        (403, &json!("error"), &json!("permission_error"))
    );
    assert_eq!(get(&loopback, "/v1/requests", "wrong", &[]).await.0, 401);

    // From another address of this machine (what a LAN client looks like): only the admin key.
    let Some(address) = other_address() else {
        eprintln!("this machine has no non-loopback address: the LAN part is not run");
        return;
    };
    let lan = format!("http://{address}:{port}");
    assert_eq!(get(&lan, "/health", MAIN_KEY, &[]).await.0, 200);
    for key in [MAIN_KEY, CI_KEY] {
        let (status, body) = get(&lan, "/v1/requests", key, &[]).await;
        assert_eq!(
            (status, &body["error"]["type"]),
            (403, &json!("permission_error"))
        );
        assert_eq!(get(&lan, &detail, key, &[]).await.0, 403);
    }
    let (status, body) = get(&lan, "/v1/requests", ADMIN_KEY, &[]).await;
    assert_eq!((status, &body["data"][0]["id"]), (200, &json!(id)));
    assert_eq!(get(&lan, &detail, ADMIN_KEY, &[]).await.0, 200);
}

/// Resident memory of a process in KiB (`VmRSS` of /proc/PID/status).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A Claude Code turn of about 170 KB (the fixture and 120 KB of pasted text).
/// A Claude Code turn with 120 KB of text of its own (`round` in every word, so that no two
/// rounds share the text and the inspector keeps each whole).
fn large_turn(round: usize) -> (Value, Option<String>) {
    let (mut turn, session) = claude_code_fixture("01_basic_turn.json");
    turn["messages"][0]["content"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "text", "text": format!("lorem {round:>5} ").repeat(10_000)}));
    (turn, session)
}

/// Sends `n` large turns; the gateway's resident memory before and after, in KiB.
async fn send_large_turns(server: &Server, n: usize, mut each: impl FnMut(usize)) -> (u64, u64) {
    let pid = server.child.id().expect("running");
    let before = rss_kib(pid);
    for round in 0..n {
        let (turn, session) = large_turn(round);
        let answer = claude_code(server, &turn, session.as_deref()).await;
        assert_eq!(answer.status, 200, "round {round}");
        each(round);
    }
    (before, rss_kib(pid))
}

#[tokio::test]
async fn the_store_stays_within_its_byte_budget_under_200_large_requests() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let home = home(&fake, Some(&tokens), &json!({"inspector_memory_mb": 2}));
    let server = home.serve(&[]).await;
    let budget = 2 * 1024 * 1024;
    let mut checkpoints = Vec::new();
    let (before, after) = send_large_turns(&server, 200, |round| {
        if round % 50 == 49 {
            checkpoints.push(round);
        }
    })
    .await;
    assert_eq!(checkpoints.len(), 4);
    let list = cli_json(&home, &["requests", "--json", "--last", "1000"]).await;
    let memory = &list["memory"];
    let kept = memory["kept"].as_u64().unwrap();
    assert_eq!(memory["budget_bytes"], budget);
    assert!(memory["bytes"].as_u64().unwrap() <= budget, "{memory}");
    assert_eq!(kept + memory["dropped"].as_u64().unwrap(), 200);
    assert!((1..200).contains(&kept), "{memory}");
    assert_eq!(list["data"].as_array().unwrap().len() as u64, kept);
    eprintln!(
        "inspector budget {} KiB: {kept} of 200 requests of {} KiB kept in {} KiB; serve RSS {before} KiB before, {after} KiB after",
        budget / 1024,
        serde_json::to_vec(&large_turn(0).0).unwrap().len() / 1024,
        memory["bytes"].as_u64().unwrap() / 1024,
    );

    // One body larger than the whole budget: kept cut, with a marker.
    let (mut turn, session) = large_turn(200);
    turn["messages"][0]["content"][0]["text"] = json!("x".repeat(3 * 1024 * 1024));
    let big = claude_code(&server, &turn, session.as_deref()).await;
    let detail = cli_json(
        &home,
        &[
            "requests",
            "show",
            big.capture.as_deref().unwrap(),
            "--json",
        ],
    )
    .await;
    assert_eq!(detail["truncated"], true);
    assert_eq!(detail["client_request"]["truncated"], true);
    assert_eq!(
        detail["client_request"]["body_bytes"],
        serde_json::to_vec(&turn).unwrap().len()
    );
    assert!(
        detail["client_request"]["body"]
            .as_str()
            .unwrap()
            .ends_with(" bytes not kept]")
    );
    let memory = cli_json(&home, &["requests", "--json"]).await["memory"].clone();
    assert!(memory["bytes"].as_u64().unwrap() <= budget, "{memory}");
}

#[tokio::test]
async fn a_conversation_sent_again_each_turn_is_kept_once_and_shown_whole() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let home = home(&fake, Some(&tokens), &json!({"inspector_memory_mb": 3}));
    let server = home.serve(&[]).await;
    // 30 turns of one conversation, each adding a 10 KB tool result: about 9 MB of client
    // and backend bodies in all, the last ones 300 KB each, and 3.5 MB of backend events
    // (three events of each turn repeat the instructions and tools).
    let (mut turn, session) = claude_code_fixture("01_basic_turn.json");
    let mut sent = Vec::new();
    for round in 0..30 {
        let messages = turn["messages"].as_array_mut().unwrap();
        let file = format!("file {round}:\n{}", "fn main() {}\n".repeat(800));
        messages.push(json!({"role": "assistant", "content": format!("Reading file {round}.")}));
        messages.push(json!({"role": "user", "content": file}));
        let answer = claude_code(&server, &turn, session.as_deref()).await;
        assert_eq!(answer.status, 200, "round {round}");
        sent.push((answer.capture.unwrap(), turn.clone()));
    }
    let list = cli_json(&home, &["requests", "--json", "--last", "100"]).await;
    let memory = &list["memory"];
    assert_eq!(memory["kept"], 30, "{memory}");
    assert!(
        memory["bytes"].as_u64().unwrap() <= 3 * 1024 * 1024,
        "{memory}"
    );
    for round in [0, 14, 29] {
        let (id, body) = &sent[round];
        let detail = cli_json(&home, &["requests", "show", id, "--json"]).await;
        assert_eq!(detail["client_request"]["truncated"], false, "{id}");
        assert_eq!(&detail["client_request"]["body"], body, "{id}");
        // The backend request, whole: its last input is this round's tool result.
        assert_eq!(detail["upstream_request"]["truncated"], false, "{id}");
        let input = detail["upstream_request"]["body"]["input"]
            .as_array()
            .unwrap();
        let newest = input.last().unwrap().to_string();
        assert!(
            newest.contains(&format!("file {round}:")),
            "{id}: {newest:.200}"
        );
    }
}

/// A measurement, not a check: the gateway's resident memory after 200 large turns with the
/// default budget (8 MiB) and with capture off. Run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement; prints figures"]
async fn resident_memory_with_and_without_capture_after_200_large_requests() {
    for mb in [0, 32] {
        let fake = FakeUpstream::start().await;
        let tokens = fake.mint_tokens(3600);
        let home = home(&fake, Some(&tokens), &json!({"inspector_memory_mb": mb}));
        let server = home.serve(&[]).await;
        let (before, after) = send_large_turns(&server, 200, |_| {}).await;
        let held = if mb == 0 {
            0
        } else {
            cli_json(&home, &["requests", "--json"]).await["memory"]["bytes"]
                .as_u64()
                .unwrap()
                / 1024
        };
        eprintln!(
            "inspector_memory_mb={mb}: serve RSS {before} KiB before, {after} KiB after 200 turns; captures hold {held} KiB"
        );
    }
}

/// A measurement, not a check: the time to stream a long answer (5 000 text deltas) with
/// capture off and on, best of 5 each. Run with `--ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement; prints figures"]
async fn streaming_time_with_and_without_capture() {
    let deltas: Vec<String> = (0..5_000).map(|i| format!("word{i} ")).collect();
    let deltas: Vec<&str> = deltas.iter().map(String::as_str).collect();
    let (turn, session) = claude_code_fixture("01_basic_turn.json");
    for mb in [0, 32] {
        let fake = FakeUpstream::start().await;
        let tokens = fake.mint_tokens(3600);
        let home = home(&fake, Some(&tokens), &json!({"inspector_memory_mb": mb}));
        let server = home.serve(&[]).await;
        let mut best = std::time::Duration::MAX;
        for _ in 0..5 {
            fake.push_reply(Reply::text_deltas(&deltas));
            let started = std::time::Instant::now();
            let answer = claude_code(&server, &turn, session.as_deref()).await;
            best = best.min(started.elapsed());
            assert_eq!(answer.status, 200);
            assert!(answer.body.contains("word4999"));
        }
        eprintln!(
            "inspector_memory_mb={mb}: 5000-delta Claude Code answer streamed in {} ms (best of 5)",
            best.as_millis()
        );
    }
}
