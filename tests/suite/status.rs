//! `GET /v1/status` and `codexia status` end to end (issue 3, acceptance point 5).

use std::process::Stdio;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::codexia::text;
use crate::support::fake_backend::{FakeUpstream, RateLimits, Window};
use crate::support::harness::{closed_port, home_for, seed_credentials};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn is_string_or_null(value: &Value) -> bool {
    value.is_string() || value.is_null()
}

#[tokio::test]
async fn the_status_json_has_the_documented_fields_and_types() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let tokens = fake.mint_tokens(3600);
    seed_credentials(&home, &tokens);
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let status: Value = reqwest::get(server.url("/v1/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(
        keys(&status),
        [
            "account",
            "account_id",
            "accounts",
            "credits_balance",
            "rate_limits",
            "token",
            "warnings"
        ]
    );
    assert_eq!(status["account_id"], tokens.account_id.as_str());
    // Every signed-in account (issue 18): here the one of the single-account store.
    assert_eq!(
        keys(&status["accounts"][0]),
        [
            "account_id",
            "active",
            "email",
            "name",
            "plan",
            "rate_limits",
            "signed_in",
            "warnings"
        ]
    );
    assert_eq!(
        keys(&status["token"]),
        ["expires_at", "expires_at_local", "remaining_seconds"]
    );
    assert!(status["token"]["expires_at"].is_i64());
    let remaining = status["token"]["remaining_seconds"].as_i64().unwrap();
    assert!((3500..=3600).contains(&remaining), "{remaining}");
    let local = status["token"]["expires_at_local"].as_str().unwrap();
    // `%Y-%m-%d %H:%M:%S %:z`
    assert!(
        chrono::DateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S %:z").is_ok(),
        "{local}"
    );

    let account = &status["account"];
    assert_eq!(
        keys(account),
        [
            "email",
            "has_active_subscription",
            "name",
            "plan",
            "structure",
            "subscription_expires_at",
            "subscription_expires_at_local",
            "subscription_remaining_seconds"
        ]
    );
    assert_eq!(account["email"], "user@example.com");
    assert_eq!(account["plan"], "chatgptplusplan");
    assert_eq!(account["structure"], "personal");
    assert_eq!(account["has_active_subscription"], true);
    assert_eq!(
        account["subscription_expires_at"],
        "2026-05-11T15:16:00+00:00"
    );
    assert!(is_string_or_null(&account["name"]));
    assert!(account["subscription_remaining_seconds"].is_i64());
    assert!(account["subscription_expires_at_local"].is_string());
    assert!(status["credits_balance"].is_number());

    let limits = status["rate_limits"].as_array().unwrap();
    let names: Vec<&str> = limits.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["5h", "weekly"]);
    for window in limits {
        assert_eq!(
            keys(window),
            [
                "name",
                "remaining_percent",
                "reset_at",
                "reset_at_local",
                "reset_in_seconds"
            ]
        );
        assert!(window["remaining_percent"].is_f64());
        let reset_at: i64 = window["reset_at"].as_str().unwrap().parse().unwrap();
        let reset_in = window["reset_in_seconds"].as_i64().unwrap();
        assert!((reset_at - chrono::Utc::now().timestamp() - reset_in).abs() <= 2);
        assert!(window["reset_at_local"].is_string());
    }
    assert_eq!(limits[0]["remaining_percent"], 97.0);
    assert_eq!(limits[1]["remaining_percent"], 68.0);
    assert_eq!(status["warnings"], json!([]));
    server.terminate().await;
}

#[tokio::test]
async fn a_weekly_only_account_has_one_window_named_weekly() {
    let fake = FakeUpstream::start().await;
    fake.set_rate_limits(RateLimits {
        primary: Some(Window {
            used_percent: 16.0,
            length_minutes: 10_080,
            reset_after_seconds: 511_006,
        }),
        secondary: None,
        ..RateLimits::default()
    });
    let home = home_for(&fake)
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_BIND", closed_port());
    seed_credentials(&home, &fake.mint_tokens(3600));
    let output = home.run(&["status", "--json"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let limits = status["rate_limits"].as_array().unwrap();
    assert_eq!(limits.len(), 1, "{status}");
    assert_eq!(limits[0]["name"], "weekly");
    assert_eq!(limits[0]["remaining_percent"], 84.0);
}

#[tokio::test]
async fn a_failing_usage_call_gives_empty_rate_limits_and_a_warning() {
    let fake = FakeUpstream::start().await;
    fake.set_usage_failure(Some((
        500,
        json!({"error": {"code": "server_error", "message": "The server had an error."}}),
    )));
    let home = home_for(&fake)
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_BIND", closed_port());
    seed_credentials(&home, &fake.mint_tokens(3600));
    let output = home.run(&["status", "--json"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["rate_limits"], json!([]));
    assert_eq!(status["credits_balance"], Value::Null);
    assert_eq!(
        status["warnings"],
        json!([
            "The rate limits could not be fetched: the backend answered 500: The server had an error."
        ])
    );
    // The rest is still there.
    assert_eq!(status["account"]["email"], "user@example.com");
    assert!(status["token"]["expires_at"].is_i64());
}

#[tokio::test]
async fn the_readable_status_shows_countdowns_per_window() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake)
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_BIND", closed_port());
    seed_credentials(&home, &fake.mint_tokens(3600));
    let output = home
        .command(&["status"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("Account   user@example.com · chatgptplusplan"),
        "{stdout}"
    );
    // The fake's windows reset in 8658 s and 111779 s; a second may pass.
    let five = lines.iter().find(|l| l.starts_with("5h ")).unwrap();
    assert!(
        [
            "5h      97% left   resets in 2h 24m",
            "5h      97% left   resets in 2h 23m"
        ]
        .contains(five),
        "{stdout}"
    );
    let weekly = lines.iter().find(|l| l.starts_with("weekly ")).unwrap();
    assert_eq!(*weekly, "weekly  68% left   resets in 1d 7h");
}

#[tokio::test]
async fn the_gateway_status_follows_the_rate_limit_headers_of_later_answers() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake);
    seed_credentials(&home, &fake.mint_tokens(3600));
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let remaining = |status: &Value, name: &str| {
        status["rate_limits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == name)
            .map(|w| w["remaining_percent"].as_f64().unwrap())
    };
    let first: Value = reqwest::get(server.url("/v1/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(remaining(&first, "5h"), Some(97.0));

    fake.set_usage(55.0, 81.0);
    let answer = reqwest::Client::new()
        .post(server.url("/v1/chat/completions"))
        .json(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let second: Value = reqwest::get(server.url("/v1/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(remaining(&second, "5h"), Some(45.0), "{second}");
    assert_eq!(remaining(&second, "weekly"), Some(19.0), "{second}");
    assert_eq!(
        fake.requests_to("/backend-api/wham/usage").len(),
        1,
        "the usage answer was reused"
    );
}
