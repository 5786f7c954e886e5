//! The real binary's output, as the person at the terminal sees it: exit code, stdout and
//! stderr in one inline snapshot per run (`[HOME]` and `[PORT]` filtered; values that follow
//! the clock are checked first, then filtered).

use serde_json::Value;

use crate::cli_snapshot;
use crate::support::codexia::{TestHome, text};
use crate::support::fake_backend::FakeUpstream;
use crate::support::harness::{closed_port, home_for, seed_credentials};

/// A home that keeps credentials in a file, finds no running gateway and shows local times
/// in UTC whatever the machine's zone.
fn offline_home(home: TestHome) -> TestHome {
    home.env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_BIND", closed_port())
        .env("TZ", "UTC")
}

/// A signed-in home against the fake; the token expires in 1 h 0 min 30 s, so the readable
/// countdown (in whole minutes) is `1h 0m` for the first 30 seconds of the test.
fn signed_in(fake: &FakeUpstream) -> TestHome {
    let home = offline_home(home_for(fake));
    seed_credentials(&home, &fake.mint_tokens(3630));
    home
}

/// `(regex, replacement)` pairs, owned.
fn filters(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(regex, replacement)| ((*regex).to_owned(), (*replacement).to_owned()))
        .collect()
}

#[tokio::test]
async fn status_shows_the_account_the_token_and_the_limits() {
    let fake = FakeUpstream::start().await;
    let home = signed_in(&fake);
    let output = home.run(&["status"]).await;
    let stdout = text(&output.stdout);
    // The clock-dependent parts, checked before they are filtered: the token's local expiry
    // time, the subscription countdown (to a fixed date), and the 5 h window, which resets in
    // 8658 s and so shows 2h 24m, or 2h 23m once a second has passed.
    assert!(
        stdout.contains("\nToken     expires in 1h 0m (20"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nRenews    in ") && stdout.contains(" (2026-05-11 15:16:00 +00:00)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("resets in 2h 24m\n") || stdout.contains("resets in 2h 23m\n"),
        "{stdout}"
    );
    let clock = filters(&[
        (
            r"expires in 1h 0m \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00\)",
            "expires in 1h 0m ([LOCAL TIME])",
        ),
        (r"Renews    in [^(]+\(", "Renews    in [COUNTDOWN] ("),
        (r"resets in 2h 2[34]m", "resets in [2h 24m]"),
    ]);
    cli_snapshot!(home, output, clock, @"
    success: true
    exit_code: 0
    ----- stdout -----
    Account   user@example.com · chatgptplusplan
    Account ID 6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b
    Token     expires in 1h 0m ([LOCAL TIME])
    Renews    in [COUNTDOWN] (2026-05-11 15:16:00 +00:00)
    Credits   0
    5h      97% left   resets in [2h 24m]
    weekly  68% left   resets in 1d 7h
    ----- stderr -----
    ");
}

#[tokio::test]
async fn status_json_prints_the_whole_report() {
    let fake = FakeUpstream::start().await;
    let home = signed_in(&fake);
    let output = home.run(&["status", "--json"]).await;
    let status: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    // The clock-dependent values, checked before they are filtered.
    let now = chrono::Utc::now().timestamp();
    let expires_at = status["token"]["expires_at"].as_i64().unwrap();
    assert!((now + 3600..=now + 3630).contains(&expires_at), "{status}");
    let remaining = status["token"]["remaining_seconds"].as_i64().unwrap();
    assert!((3600..=3630).contains(&remaining), "{status}");
    assert!(status["account"]["subscription_remaining_seconds"].is_i64());
    for (window, reset_after) in status["rate_limits"]
        .as_array()
        .unwrap()
        .iter()
        .zip([8658, 111_779])
    {
        let reset_in = window["reset_in_seconds"].as_i64().unwrap();
        assert!(
            (reset_after - 30..=reset_after).contains(&reset_in),
            "{window}"
        );
        let reset_at: i64 = window["reset_at"].as_str().unwrap().parse().unwrap();
        assert!((reset_at - now - reset_in).abs() <= 2, "{window}");
    }
    let local = r#""\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00""#;
    let expires_at_local = format!(r#""expires_at_local": {local}"#);
    let reset_at_local = format!(r#""reset_at_local": {local}"#);
    let clock = filters(&[
        (r#""expires_at": \d+"#, r#""expires_at": "[UNIX TIME]""#),
        (&expires_at_local, r#""expires_at_local": "[LOCAL TIME]""#),
        (
            r#""remaining_seconds": \d+"#,
            r#""remaining_seconds": "[SECONDS]""#,
        ),
        (
            r#""subscription_remaining_seconds": -?\d+"#,
            r#""subscription_remaining_seconds": "[SECONDS]""#,
        ),
        (r#""reset_at": "\d+""#, r#""reset_at": "[UNIX TIME]""#),
        (&reset_at_local, r#""reset_at_local": "[LOCAL TIME]""#),
        (
            r#""reset_in_seconds": \d+"#,
            r#""reset_in_seconds": "[SECONDS]""#,
        ),
    ]);
    cli_snapshot!(home, output, clock, @r#"
    success: true
    exit_code: 0
    ----- stdout -----
    {
      "account_id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
      "token": {
        "expires_at": "[UNIX TIME]",
        "remaining_seconds": "[SECONDS]",
        "expires_at_local": "[LOCAL TIME]"
      },
      "account": {
        "name": null,
        "email": "user@example.com",
        "structure": "personal",
        "plan": "chatgptplusplan",
        "has_active_subscription": true,
        "subscription_expires_at": "2026-05-11T15:16:00+00:00",
        "subscription_expires_at_local": "2026-05-11 15:16:00 +00:00",
        "subscription_remaining_seconds": "[SECONDS]"
      },
      "credits_balance": 0.0,
      "rate_limits": [
        {
          "name": "5h",
          "remaining_percent": 97.0,
          "reset_at": "[UNIX TIME]",
          "reset_at_local": "[LOCAL TIME]",
          "reset_in_seconds": "[SECONDS]"
        },
        {
          "name": "weekly",
          "remaining_percent": 68.0,
          "reset_at": "[UNIX TIME]",
          "reset_at_local": "[LOCAL TIME]",
          "reset_in_seconds": "[SECONDS]"
        }
      ],
      "warnings": [],
      "accounts": [
        {
          "name": "plus",
          "account_id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
          "email": "user@example.com",
          "plan": "plus",
          "active": true,
          "signed_in": true,
          "rate_limits": [
            {
              "name": "5h",
              "remaining_percent": 97.0,
              "reset_at": "[UNIX TIME]",
              "reset_at_local": "[LOCAL TIME]",
              "reset_in_seconds": "[SECONDS]"
            },
            {
              "name": "weekly",
              "remaining_percent": 68.0,
              "reset_at": "[UNIX TIME]",
              "reset_at_local": "[LOCAL TIME]",
              "reset_in_seconds": "[SECONDS]"
            }
          ],
          "warnings": []
        }
      ]
    }
    ----- stderr -----
    "#);
}

#[tokio::test]
async fn status_without_credentials_says_to_log_in() {
    let home = offline_home(TestHome::new());
    let output = home.run(&["status"]).await;
    cli_snapshot!(home, output, @"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: codexia is not signed in to ChatGPT. Run `codexia login` to sign in.
    ");
    let output = home.run(&["status", "--json"]).await;
    cli_snapshot!(home, output, @r#"
    success: true
    exit_code: 0
    ----- stdout -----
    {
      "account_id": null,
      "token": null,
      "account": null,
      "credits_balance": null,
      "rate_limits": [],
      "warnings": [
        "codexia is not signed in to ChatGPT. Run `codexia login` to sign in."
      ]
    }
    ----- stderr -----
    "#);
}

#[tokio::test]
async fn usage_errors_show_the_usage_line_and_exit_2() {
    let home = offline_home(TestHome::new());
    let unknown_flag = home.run(&["status", "--bogus"]).await;
    cli_snapshot!(home, unknown_flag, @"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: unexpected argument '--bogus' found

    Usage: codexia status [OPTIONS]

    For more information, try '--help'.
    ");
    let bad_value = home.run(&["status", "--json=yes"]).await;
    cli_snapshot!(home, bad_value, @"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: unexpected value 'yes' for '--json' found; no more were expected

    Usage: codexia status --json

    For more information, try '--help'.
    ");
    let unknown_command = home.run(&["daemon", "frobnicate"]).await;
    cli_snapshot!(home, unknown_command, @"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: unrecognized subcommand 'frobnicate'

    Usage: codexia daemon [OPTIONS] <COMMAND>

    For more information, try '--help'.
    ");
}

#[tokio::test]
async fn models_lists_the_configured_ids_or_the_running_gateways() {
    let home = offline_home(TestHome::new());
    let offline = home.run(&["models"]).await;
    cli_snapshot!(home, offline, @"
    success: true
    exit_code: 0
    ----- stdout -----
    gpt-5.1
    gpt-5.1-codex-max
    gpt-5.1-codex-mini
    gpt-5.2
    gpt-5.2-codex
    gpt-5.3-codex
    gpt-5.3-codex-spark
    gpt-5.4
    gpt-5.4-mini
    gpt-5.5
    gpt-5.5-mini
    ----- stderr -----
    ");
    let only_two = home
        .run_with(&["models"], &[("CODEXIA_MODELS", "gpt-5.5,gpt-5.4-mini")])
        .await;
    cli_snapshot!(home, only_two, @"
    success: true
    exit_code: 0
    ----- stdout -----
    gpt-5.5
    gpt-5.4-mini
    ----- stderr -----
    ");

    // With a gateway answering on the configured address: the backend's live catalog.
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake)
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("TZ", "UTC");
    seed_credentials(&home, &fake.mint_tokens(3600));
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let home = home.env("CODEXIA_BIND", server.addr.to_string());
    let live = home.run(&["models"]).await;
    cli_snapshot!(home, live, @"
    success: true
    exit_code: 0
    ----- stdout -----
    gpt-5.5
    gpt-5.4
    gpt-5.4-mini
    gpt-5.1-codex-max
    gpt-5.3-codex-spark
    ----- stderr -----
    ");
}

#[tokio::test]
async fn user_mistakes_get_an_error_and_a_hint() {
    let home = offline_home(TestHome::new());
    let bad_flag = home.run(&["serve", "--bind", "nonsense"]).await;
    cli_snapshot!(home, bad_flag, @r#"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: --bind is invalid: "nonsense" is not an address (expected HOST:PORT, e.g. 127.0.0.1:14550)
    hint: see `codexia serve --help` for the format of --bind
    "#);

    let bad_env = home
        .run_with(&["models"], &[("CODEXIA_BIND", "localhost")])
        .await;
    cli_snapshot!(home, bad_env, @r#"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: environment variable CODEXIA_BIND is invalid: "localhost" is not an address (expected HOST:PORT, e.g. 127.0.0.1:14550)
    hint: fix or unset CODEXIA_BIND
    "#);

    home.write_config(r#"{"bind": 14550}"#);
    let bad_config = home.run(&["status"]).await;
    cli_snapshot!(home, bad_config, @"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: [HOME]/codexia/config.json is not valid configuration: invalid type: integer `14550`, expected a string at line 1 column 14
    hint: fix or remove [HOME]/codexia/config.json; `codexia config reset` starts over with the defaults
    ");
    home.write_config("{");
    let broken_config = home.run(&["models"]).await;
    cli_snapshot!(home, broken_config, @"
    success: false
    exit_code: 2
    ----- stdout -----
    ----- stderr -----
    error: [HOME]/codexia/config.json is not valid configuration: EOF while parsing an object at line 1 column 1
    hint: fix or remove [HOME]/codexia/config.json; `codexia config reset` starts over with the defaults
    ");
}
