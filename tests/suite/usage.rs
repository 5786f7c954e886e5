//! The usage ledger end to end (issue 16): real clients through one `codexia serve` against the
//! fake backend, whose rate-limit headers change between requests, then `codexia usage` and
//! `GET /v1/usage`; restarts, a corrupt database, retention; `codexia statusline`; `codexia
//! claude` passing the status line.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::codexia::{Server, TestHome, text};
use crate::support::fake_backend::{FakeUpstream, Reply, Usage, python_for_tests};
use crate::support::harness::{closed_port, node_modules, seed_credentials};

const MAIN_KEY: &str = "k-main";
const CI_KEY: &str = "k-ci";

fn usage(input: u64, cached: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        cached_tokens: cached,
        cache_write_tokens: 0,
        output_tokens: output,
        reasoning_tokens: 0,
    }
}

/// A signed-in home on a fixed free port (so `codexia claude` finds the running gateway), with
/// the main key and one named key.
fn home(fake: &FakeUpstream) -> TestHome {
    let home = TestHome::new();
    seed_credentials(&home, &fake.mint_tokens(3600));
    let auth_file = home.codexia_home().join("auth.json");
    let bin = node_modules().join(".bin");
    let home = home
        .env("CODEXIA_BACKEND_URL", fake.backend_url())
        .env("CODEXIA_AUTH_URL", fake.auth_url())
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_AUTH_FILE", auth_file.display().to_string())
        .env("CODEXIA_BIND", closed_port())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("TERM", "dumb")
        .env("LANG", "C.UTF-8")
        .env("CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK", "1")
        .env("CLAUDE_CODE_MAX_RETRIES", "0");
    home.write_config(&format!(
        r#"{{"api_key": "{MAIN_KEY}", "api_keys": {{"ci-box": "{CI_KEY}"}}}}"#
    ));
    home
}

/// `GET /v1/usage?QUERY` with the main key: every row recorded before it is written first.
async fn http_usage(server: &Server, query: &str) -> Value {
    let response = reqwest::Client::new()
        .get(server.url(&format!("/v1/usage?{query}")))
        .bearer_auth(MAIN_KEY)
        .send()
        .await
        .expect("GET /v1/usage");
    assert_eq!(response.status(), 200);
    response.json().await.expect("usage JSON")
}

async fn cli_usage(home: &TestHome, args: &[&str]) -> Value {
    let mut full = vec!["usage", "--json"];
    full.extend_from_slice(args);
    let output = home.run(&full).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("usage --json")
}

async fn claude_turn(home: &TestHome) {
    let output = home
        .run(&["claude", "-p", "Reply with the single word OK"])
        .await;
    assert_eq!(
        (output.status.code(), text(&output.stdout).trim()),
        (Some(0), "OK"),
        "stderr: {}",
        text(&output.stderr)
    );
}

async fn python_chat(server: &Server) {
    let script = format!(
        "import openai\n\
         c = openai.OpenAI(base_url='{}', api_key='{MAIN_KEY}', max_retries=0)\n\
         r = c.chat.completions.create(model='gpt-5.5', messages=[{{'role': 'user', 'content': 'hi'}}])\n\
         print(r.choices[0].message.content)\n",
        server.url("/v1")
    );
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(python_for_tests())
            .args(["-c", &script])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Python client finished in time")
    .expect("run python");
    assert!(
        output.status.success(),
        "python: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

async fn curl_stream(server: &Server, key: &str) {
    let body = json!({"model": "gpt-5.5", "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]});
    let output = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "-H",
            &format!("Authorization: Bearer {key}"),
        ])
        .args([
            "-H",
            "content-type: application/json",
            "-d",
            &body.to_string(),
        ])
        .arg(server.url("/v1/chat/completions"))
        .kill_on_drop(true)
        .output()
        .await
        .expect("run curl");
    assert!(output.status.success(), "curl: {}", text(&output.stderr));
    assert!(text(&output.stdout).contains("[DONE]"));
}

fn group<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key} in {report:#}"))
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-6
}

#[tokio::test]
async fn three_clients_through_one_gateway_are_told_apart_with_tokens_cache_and_window_shares() {
    let fake = FakeUpstream::start().await;
    let home = home(&fake);
    let server = home.serve(&[]).await;

    // (5h used %, weekly used %) observed with each answer, and each answer's usage.
    fake.set_usage(10.0, 5.0);
    fake.push_reply(Reply::text("OK").with_usage(usage(1000, 800, 50)));
    claude_turn(&home).await;
    fake.set_usage(14.0, 6.0);
    fake.push_reply(Reply::text("OK").with_usage(usage(2000, 1500, 100)));
    claude_turn(&home).await;
    fake.set_usage(20.0, 8.0);
    fake.push_reply(Reply::text("Hello").with_usage(usage(500, 0, 40)));
    python_chat(&server).await;
    fake.set_usage(23.0, 9.0);
    fake.push_reply(Reply::text("Hi").with_usage(usage(300, 100, 20)));
    curl_stream(&server, CI_KEY).await;
    assert_eq!(fake.responses_requests().len(), 4);

    let over_http = http_usage(&server, "since=1h&by=client").await;
    let report = cli_usage(&home, &["--since", "1h", "--by", "client"]).await;
    assert_eq!(report["groups"], over_http["groups"]);
    assert_eq!(report["groups"].as_array().unwrap().len(), 3, "{report:#}");
    // (client, requests, input, cached, output, 5h share, weekly share): the first answer
    // is the first observation and shares nothing; each later one takes its own increase.
    let expected = [
        ("Claude Code", 2, 3000, 2300, 150, 4.0, 1.0),
        ("OpenAI Python SDK", 1, 500, 0, 40, 6.0, 2.0),
        ("ci-box", 1, 300, 100, 20, 3.0, 1.0),
    ];
    for (client, requests, input, cached, output, five, weekly) in expected {
        let g = group(&report, client);
        assert_eq!(
            (
                &g["requests"],
                &g["input_tokens"],
                &g["cached_tokens"],
                &g["output_tokens"]
            ),
            (
                &json!(requests),
                &json!(input),
                &json!(cached),
                &json!(output)
            ),
            "{client}"
        );
        let cache = json!(f64::from(cached) / f64::from(input) * 100.0);
        assert_eq!(g["cache_percent"], cache, "{client}");
        assert!(close(&g["share_5h"], five), "{client}: {g}");
        assert!(close(&g["share_weekly"], weekly), "{client}: {g}");
    }
    // The shares add up to each window's observed increase.
    assert!(close(&report["total"]["share_5h"], 23.0 - 10.0));
    assert!(close(&report["total"]["share_weekly"], 9.0 - 5.0));
    assert!(close(&report["windows"][0]["used_percent"], 23.0));

    // Two Claude Code sessions, each its own group, with the ids Claude Code sent.
    let sessions = cli_usage(&home, &["--since", "1h", "--by", "session"]).await;
    let sent: Vec<String> = fake.responses_requests()[..2]
        .iter()
        .map(|r| r.header("session_id").expect("session header").to_owned())
        .collect();
    assert_ne!(sent[0], sent[1]);
    for id in &sent {
        assert_eq!(group(&sessions, id)["requests"], 1);
    }
    assert_eq!(group(&sessions, "(none)")["requests"], 2);
    server.terminate().await;

    // Each row names the model asked for and served, the outcome and the client's version.
    let conn = rusqlite::Connection::open(home.codexia_home().join("usage.db")).unwrap();
    let rows: Vec<(String, String, String, String)> = conn
        .prepare(
            "SELECT c.text, a.text, s.text, o.text FROM requests r
             JOIN names c ON c.id = r.client JOIN names a ON a.id = r.model_asked
             JOIN names s ON s.id = r.model_served JOIN names o ON o.id = r.outcome
             ORDER BY r.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let row_of = |client: &str| {
        (
            client.to_owned(),
            "gpt-5.5".to_owned(),
            "gpt-5.5".to_owned(),
            "ok".to_owned(),
        )
    };
    assert_eq!(
        rows,
        [
            row_of("Claude Code"),
            row_of("Claude Code"),
            row_of("OpenAI Python SDK"),
            row_of("ci-box")
        ]
    );
}

#[tokio::test]
async fn history_survives_a_restart_and_sharing_resumes_from_the_last_observation() {
    let fake = FakeUpstream::start().await;
    let home = home(&fake);
    let server = home.serve(&[]).await;
    fake.set_usage(30.0, 10.0);
    fake.push_reply(Reply::text("one").with_usage(usage(100, 0, 10)));
    curl_stream(&server, CI_KEY).await;
    assert_eq!(
        http_usage(&server, "since=1h").await["total"]["requests"],
        1
    );
    server.terminate().await;

    let server = home.serve(&[]).await;
    fake.set_usage(35.0, 11.0);
    fake.push_reply(Reply::text("two").with_usage(usage(100, 0, 10)));
    curl_stream(&server, MAIN_KEY).await;
    let report = http_usage(&server, "since=1h").await;
    assert_eq!(report["total"]["requests"], 2);
    // The second answer's increase is measured against the first run's observation.
    assert!(close(&report["total"]["share_5h"], 5.0), "{report:#}");
    server.terminate().await;
}

#[tokio::test]
async fn a_corrupt_usage_db_is_moved_aside_with_one_warning_and_serving_continues() {
    let fake = FakeUpstream::start().await;
    let home = home(&fake);
    let db = home.codexia_home().join("usage.db");
    std::fs::write(&db, vec![b'x'; 8192]).unwrap();
    let server = home.serve(&[]).await;
    fake.push_reply(Reply::text("still here").with_usage(usage(10, 0, 1)));
    curl_stream(&server, CI_KEY).await;
    assert_eq!(
        http_usage(&server, "since=1h").await["total"]["requests"],
        1
    );
    let output = server.terminate().await;
    let stderr = text(&output.stderr);
    assert_eq!(stderr.matches("was damaged").count(), 1, "{stderr}");
    let aside: Vec<PathBuf> = std::fs::read_dir(home.codexia_home())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("usage.db.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(std::fs::read(&aside[0]).unwrap(), vec![b'x'; 8192]);
}

#[tokio::test]
async fn rows_older_than_the_retention_are_pruned_when_the_gateway_starts() {
    let fake = FakeUpstream::start().await;
    let home = home(&fake);
    home.write_config(&format!(
        r#"{{"api_key": "{MAIN_KEY}", "api_keys": {{"ci-box": "{CI_KEY}"}}, "usage_retention_days": 30}}"#
    ));
    let server = home.serve(&[]).await;
    for key in [MAIN_KEY, CI_KEY] {
        fake.push_reply(Reply::text("x").with_usage(usage(10, 0, 1)));
        curl_stream(&server, key).await;
    }
    assert_eq!(
        http_usage(&server, "since=1h").await["total"]["requests"],
        2
    );
    server.terminate().await;
    // Age curl's request (and its hour's totals) by 31 days, as if it had been recorded then.
    let conn = rusqlite::Connection::open(home.codexia_home().join("usage.db")).unwrap();
    let curl = "(SELECT id FROM names WHERE text = 'curl')";
    let aged = conn
        .execute(
            &format!("UPDATE requests SET at_ms = at_ms - 31 * 86400000 WHERE client = {curl}"),
            [],
        )
        .unwrap();
    assert_eq!(aged, 1);
    let aged = conn
        .execute(
            &format!("UPDATE usage_hours SET hour = hour - 31 * 24 WHERE client = {curl}"),
            [],
        )
        .unwrap();
    assert_eq!(aged, 1);
    drop(conn);

    let server = home.serve(&[]).await;
    let report = http_usage(&server, "since=365d&by=client").await;
    assert_eq!(report["total"]["requests"], 1, "{report:#}");
    assert_eq!(report["groups"][0]["key"], "ci-box", "{report:#}");
    server.terminate().await;
    let conn = rusqlite::Connection::open(home.codexia_home().join("usage.db")).unwrap();
    let left: i64 = conn
        .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 1);
}

#[tokio::test]
async fn the_forecast_extends_a_steadily_filling_window_to_when_it_runs_out() {
    let fake = FakeUpstream::start().await;
    let home = home(&fake);
    let server = home.serve(&[]).await;
    for used in [10.0, 20.0, 30.0] {
        fake.set_usage(used, 5.0);
        fake.push_reply(Reply::text("x").with_usage(usage(100, 0, 10)));
        curl_stream(&server, MAIN_KEY).await;
    }
    http_usage(&server, "since=1h").await;
    server.terminate().await;
    // Spread the three answers ten minutes apart: 10 points per 10 minutes.
    let conn = rusqlite::Connection::open(home.codexia_home().join("usage.db")).unwrap();
    let last_ms: i64 = conn
        .query_row("SELECT max(at_ms) FROM requests", [], |r| r.get(0))
        .unwrap();
    conn.execute(
        "UPDATE requests SET at_ms = ?1 - (3 - id) * 600000",
        [last_ms],
    )
    .unwrap();
    drop(conn);
    let report = cli_usage(&home, &["--since", "1h"]).await;
    let five_hour = &report["windows"][0];
    assert_eq!(five_hour["window"], "5h");
    // 70 points left at 1 point per minute: 70 minutes after the last answer.
    let expected = last_ms / 1000 + 70 * 60;
    let predicted = five_hour["forecast"]["runs_out_at"].as_i64().unwrap();
    assert!((predicted - expected).abs() <= 60, "{five_hour:#}");
    assert!(
        close(&five_hour["forecast"]["rate_per_hour"], 60.0),
        "{five_hour:#}"
    );
    // The fake's window resets 8658 s (2h24m) after the answers: it runs out first.
    let before = five_hour["forecast"]["before_reset_seconds"]
        .as_i64()
        .unwrap();
    assert!((before - (8658 - 70 * 60)).abs() <= 60, "{five_hour:#}");
    let text_report = home.run(&["usage", "--since", "1h"]).await;
    assert!(
        text(&text_report.stdout).contains("at this pace the 5h limit runs out at"),
        "{}",
        text(&text_report.stdout)
    );
}

#[tokio::test]
async fn a_killed_gateway_loses_at_most_unwritten_rows_and_the_database_opens_cleanly() {
    let fake = FakeUpstream::start().await;
    let home = home(&fake);
    let mut server = home.serve(&[]).await;
    for _ in 0..5 {
        fake.push_reply(Reply::text("x").with_usage(usage(10, 0, 1)));
        curl_stream(&server, MAIN_KEY).await;
    }
    // Written for sure: the flush of /v1/usage.
    assert_eq!(
        http_usage(&server, "since=1h").await["total"]["requests"],
        5
    );
    for _ in 0..3 {
        fake.push_reply(Reply::text("x").with_usage(usage(10, 0, 1)));
        curl_stream(&server, MAIN_KEY).await;
    }
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    let report = cli_usage(&home, &["--since", "1h"]).await;
    let kept = report["total"]["requests"].as_u64().unwrap();
    assert!((5..=8).contains(&kept), "{kept}");
    let conn = rusqlite::Connection::open(home.codexia_home().join("usage.db")).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    // And the next gateway writes to it again.
    let server = home.serve(&[]).await;
    fake.push_reply(Reply::text("x").with_usage(usage(10, 0, 1)));
    curl_stream(&server, MAIN_KEY).await;
    assert_eq!(
        http_usage(&server, "since=1h").await["total"]["requests"],
        kept + 1
    );
    server.terminate().await;
}

#[tokio::test]
async fn statusline_prints_the_model_windows_and_this_sessions_tokens() {
    let fake = FakeUpstream::start().await;
    let home = home(&fake);
    let server = home.serve(&[]).await;
    fake.set_usage(38.0, 29.0);
    fake.push_reply(Reply::text("OK").with_usage(usage(1_000_000, 910_000, 200_000)));
    let response = reqwest::Client::new()
        .post(server.url("/v1/messages"))
        .bearer_auth(MAIN_KEY)
        .header("anthropic-version", "2023-06-01")
        .header("x-claude-code-session-id", "sess-1")
        .json(&json!({"model": "gpt-5.5", "max_tokens": 10,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    http_usage(&server, "since=1h").await;
    server.terminate().await;

    let input = json!({"session_id": "sess-1", "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet"},
                       "workspace": {"current_dir": "/tmp"}});
    let mut child = home.spawn(&["statusline"]);
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, input.to_string().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    let line = text(&output.stdout);
    // The fake's 5h window resets 8658 s after the answer: 2h24m (2h23m if a second passed).
    let (head, reset) = line.trim().split_once(", resets ").unwrap();
    assert_eq!(head, "gpt-5.5 · 5h 62% left");
    assert!(
        reset.starts_with("2h24m · ") || reset.starts_with("2h23m · "),
        "{line}"
    );
    assert!(
        line.trim()
            .ends_with(" · weekly 71% left · this session 1.2M tok, cache 91%"),
        "{line}"
    );
}

#[tokio::test]
async fn codexia_claude_passes_the_status_line_unless_the_user_has_one() {
    let home = TestHome::new();
    let bin = home.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let stub = bin.join("claude");
    std::fs::write(&stub, "#!/bin/sh\nprintf '%s\\n' \"$@\"\n").unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = home
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("CODEXIA_BIND", "127.0.0.1:1");
    let output = home.run(&["claude", "-p", "hi"]).await;
    let stdout = text(&output.stdout);
    let args: Vec<&str> = stdout.lines().collect();
    assert_eq!(args[0], "--settings", "{stdout}");
    let settings: Value = serde_json::from_str(args[1]).unwrap();
    let command = settings["statusLine"]["command"].as_str().unwrap();
    assert!(command.ends_with("codexia statusline"), "{command}");
    assert_eq!(settings["statusLine"]["type"], "command");
    assert_eq!(&args[2..], ["-p", "hi"]);

    // A status line in the user's Claude Code settings wins.
    let claude_dir = home.home().join(".claude");
    std::fs::create_dir_all(&claude_dir).unwrap();
    std::fs::write(
        claude_dir.join("settings.json"),
        r#"{"statusLine": {"type": "command", "command": "mine"}}"#,
    )
    .unwrap();
    let output = home.run(&["claude", "-p", "hi"]).await;
    let stdout = text(&output.stdout);
    let args: Vec<&str> = stdout.lines().collect();
    let settings: Value = serde_json::from_str(args[1]).unwrap();
    assert_eq!(settings.get("statusLine"), None, "{stdout}");
    assert_eq!(&args[2..], ["-p", "hi"]);
}
