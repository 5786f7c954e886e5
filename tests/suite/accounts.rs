//! Several ChatGPT accounts (issue 18), end to end: the built binary against the fake issuer
//! and backend with two accounts on different plans and windows.

use std::path::Path;
use std::process::Stdio;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use crate::support::codexia::{Server, TestHome, text};
use crate::support::fake_backend::{
    FakeAccount, FakeUpstream, Gate, RESPONSES_PATH, RateLimits, RecordedRequest, Reply, Window,
    decode_jwt_claims,
};
use crate::support::harness::{closed_port, home_for, seed_credentials};

pub(super) fn work_account() -> FakeAccount {
    FakeAccount {
        account_id: "0b7e1d2c-3f4a-4b5c-9d6e-7f8091a2b3c4".to_owned(),
        user_id: "user-W0RKu53r1d0000000000".to_owned(),
        email: "me@work.example".to_owned(),
        plan_type: "team".to_owned(),
    }
}

pub(super) fn work_limits() -> RateLimits {
    RateLimits {
        primary: Some(Window {
            used_percent: 60.0,
            length_minutes: 300,
            reset_after_seconds: 3_600,
        }),
        ..RateLimits::default()
    }
}

/// The fake with the default Plus account and a Team account on other windows.
async fn two_account_fake() -> FakeUpstream {
    let fake = FakeUpstream::start().await;
    fake.add_account(work_account(), work_limits());
    fake
}

/// Runs a CLI command that must find no gateway; answers stdout, after checking success.
async fn cli(home: &TestHome, args: &[&str]) -> String {
    let output = home
        .command(args)
        .env("CODEXIA_BIND", closed_port())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

async fn accounts_json(home: &TestHome) -> Vec<Value> {
    serde_json::from_str::<Value>(&cli(home, &["accounts", "--json"]).await)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub(super) async fn sign_in(
    fake: &FakeUpstream,
    home: &TestHome,
    account_id: Option<&str>,
) -> String {
    fake.sign_in_as(account_id);
    let (ok, stdout, stderr) = super::auth::paste_login(home).await;
    assert!(ok, "{stderr}");
    stdout
}

async fn ask(server: &Server, key: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(server.url("/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .json(&json!({
            "model": "gpt-5.5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}],
        }));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send().await.unwrap()
}

/// The account whose token a backend request carried, and its `chatgpt-account-id` header.
fn served_by(request: &RecordedRequest) -> (String, String) {
    let token = request
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let claims = decode_jwt_claims(token).unwrap();
    (
        claims["https://api.openai.com/auth"]["chatgpt_account_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        request.header("chatgpt-account-id").unwrap().to_owned(),
    )
}

/// A window's remaining percentage as printed (the fake's are whole numbers).
fn remaining(account: &Value, window: &str) -> String {
    account["rate_limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == window)
        .unwrap_or_else(|| panic!("no {window} window in {account}"))["remaining_percent"]
        .as_f64()
        .unwrap()
        .to_string()
}

/// Acceptance 1: sign in twice (paste flow), list both with their plans and windows, switch,
/// and every request goes out with the active account's token and `chatgpt-account-id` and
/// says which account served in `x-codexia-account`.
#[tokio::test]
async fn two_sign_ins_are_listed_and_the_active_account_serves_with_its_own_token() {
    let fake = two_account_fake().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let personal = fake.account().account_id;
    let work = work_account().account_id;

    sign_in(&fake, &home, None).await;
    let second = sign_in(&fake, &home, Some(&work)).await;
    assert!(
        second.contains("Account \"team\" is now active (2 signed in;"),
        "{second}"
    );
    let dir = home.codexia_home();
    // The first account kept the single-account file; the second has its own, both 0600.
    assert!(dir.join("auth.json").exists());
    let own = dir.join(format!("auth-{work}.json"));
    assert!(own.exists());
    for path in [dir.join("auth.json"), own, dir.join("accounts.json")] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }

    let accounts = accounts_json(&home).await;
    let summary: Vec<(String, String, String, bool, bool)> = accounts
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["email"].as_str().unwrap().to_owned(),
                a["plan"].as_str().unwrap().to_owned(),
                a["active"].as_bool().unwrap(),
                a["signed_in"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "plus".to_owned(),
                "user@example.com".to_owned(),
                "plus".to_owned(),
                false,
                true
            ),
            (
                "team".to_owned(),
                "me@work.example".to_owned(),
                "team".to_owned(),
                true,
                true
            ),
        ]
    );
    assert_eq!(remaining(&accounts[0], "5h"), "97");
    assert_eq!(remaining(&accounts[1], "5h"), "40");

    let listing = cli(&home, &["accounts"]).await;
    assert!(
        listing.contains("* team  me@work.example · team  5h 40% left"),
        "{listing}"
    );
    assert!(
        listing.contains("  plus  user@example.com · plus  5h 97% left"),
        "{listing}"
    );

    // The active account (the last signed in) serves.
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let answer = ask(&server, None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-codexia-account"], "team");
    let last = fake.responses_requests().pop().unwrap();
    assert_eq!(served_by(&last), (work.clone(), work.clone()));

    // `accounts use` (by email) in another process moves the running gateway.
    let switched = cli(&home, &["accounts", "use", "USER@example.com"]).await;
    assert!(
        switched.contains("Account \"plus\" (user@example.com) is now active"),
        "{switched}"
    );
    let answer = ask(&server, None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-codexia-account"], "plus");
    let last = fake.responses_requests().pop().unwrap();
    assert_eq!(served_by(&last), (personal.clone(), personal.clone()));

    // A short name of one's own.
    let renamed = cli(&home, &["accounts", "rename", "team", "work"]).await;
    assert_eq!(renamed, format!("Account {work} is now called \"work\".\n"));
    cli(&home, &["accounts", "use", "work"]).await;
    let answer = ask(&server, None).await;
    assert_eq!(answer.headers()["x-codexia-account"], "work");
    fake.assert_all_responses_requests_valid();

    // Mistakes get a sentence.
    let output = home
        .command(&["accounts", "use", "nobody"])
        .env("CODEXIA_BIND", closed_port())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert_eq!(
        text(&output.stderr),
        "error: No signed-in ChatGPT account is called \"nobody\". Run `codexia accounts` to list them.\n"
    );

    // Sign out of one: the other stays and becomes active; then of all.
    let out = cli(&home, &["logout", "work"]).await;
    assert!(
        out.contains("Signed out of \"work\" (me@work.example)"),
        "{out}"
    );
    assert!(out.contains("Account \"plus\" is now active."), "{out}");
    assert!(!dir.join(format!("auth-{work}.json")).exists());
    let answer = ask(&server, None).await;
    assert_eq!(answer.headers()["x-codexia-account"], "plus");
    cli(&home, &["logout", "--all"]).await;
    assert!(accounts_json(&home).await.is_empty());
    assert!(!dir.join("auth.json").exists());
    server.terminate().await;
}

/// The request inspector (issue 17) with two accounts: each capture holds the backend request
/// the fake received, sent with the serving account's `chatgpt-account-id` — shown redacted —
/// and no capture shows either account's id, email or token.
#[tokio::test]
async fn captures_show_the_serving_accounts_request_with_its_secrets_redacted() {
    let fake = two_account_fake().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let personal = fake.account();
    let work = work_account();
    sign_in(&fake, &home, None).await;
    sign_in(&fake, &home, Some(&work.account_id)).await;
    // On the home's own address: `codexia requests` finds it there.
    let server = home.serve(&[]).await;

    let mut captures = Vec::new();
    for (account, name) in [(&work, "team"), (&personal, "plus")] {
        cli(&home, &["accounts", "use", name]).await;
        let answer = ask(&server, None).await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["x-codexia-account"], name);
        let id = answer.headers()["x-codexia-request"]
            .to_str()
            .unwrap()
            .to_owned();
        answer.bytes().await.unwrap();
        let received = fake.responses_requests().pop().unwrap();
        assert_eq!(
            served_by(&received),
            (account.account_id.clone(), account.account_id.clone())
        );
        captures.push((id, received));
    }

    let mut secrets = vec![
        personal.account_id.clone(),
        personal.email.clone(),
        work.account_id.clone(),
        work.email.clone(),
    ];
    for (_, received) in &captures {
        let token = received.header("authorization").unwrap();
        secrets.push(token.strip_prefix("Bearer ").unwrap().to_owned());
    }
    for (id, received) in &captures {
        let output = home.run(&["requests", "show", id, "--json"]).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
        let shown = text(&output.stdout);
        let detail: Value = serde_json::from_str(&shown).unwrap();
        let upstream = &detail["upstream_request"];
        assert_eq!(&upstream["body"], received.body_json(), "{id}");
        let headers = upstream["headers"].to_string();
        assert!(
            headers.contains(r#"["chatgpt-account-id","[redacted]"]"#),
            "{headers}"
        );
        for secret in &secrets {
            assert!(!shown.contains(secret.as_str()), "{id} shows {secret}");
        }
    }
    server.terminate().await;
}

/// The live `x-codex-*` limits of a backend answer belong to the account that answer served:
/// after a switch, `/v1/status` shows each account its own windows, not the other one's.
#[tokio::test]
async fn live_limits_stay_with_the_account_that_served_after_a_switch() {
    let fake = two_account_fake().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    sign_in(&fake, &home, None).await;
    sign_in(&fake, &home, Some(&work_account().account_id)).await;
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let status = || async {
        reqwest::get(server.url("/v1/status"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    // The work account serves: its answer's headers are the live limits.
    assert_eq!(
        ask(&server, None).await.headers()["x-codexia-account"],
        "team"
    );
    let before = status().await;
    assert_eq!(remaining(&before["accounts"][1], "5h"), "40");

    cli(&home, &["accounts", "use", "plus"]).await;
    let after = status().await;
    assert_eq!(after["accounts"][0]["active"], true);
    assert_eq!(remaining(&after["accounts"][0], "5h"), "97");
    assert_eq!(remaining(&after["accounts"][1], "5h"), "40");
    assert_eq!(
        after["rate_limits"][0]["remaining_percent"].as_f64(),
        Some(97.0),
        "{after}"
    );
    server.terminate().await;
}

/// Acceptance 6: a home signed in by a single-account version keeps its account: it is listed,
/// active, and serves, without a new sign-in; its file stays where it was.
#[tokio::test]
async fn a_single_account_store_is_upgraded_without_signing_in_again() {
    let fake = two_account_fake().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let tokens = fake.mint_tokens(3600);
    seed_credentials(&home, &tokens);
    let before = std::fs::read_to_string(home.codexia_home().join("auth.json")).unwrap();

    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let answer = ask(&server, None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-codexia-account"], "plus");
    let accounts = accounts_json(&home).await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["account_id"], tokens.account_id.as_str());
    assert_eq!(accounts[0]["active"], true);
    assert_eq!(
        std::fs::read_to_string(home.codexia_home().join("auth.json")).unwrap(),
        before,
        "the tokens stay where they were"
    );
    assert_eq!(fake.token_requests().len(), 0, "no sign-in, no refresh");

    // A second sign-in adds an account beside it.
    sign_in(&fake, &home, Some(&work_account().account_id)).await;
    assert_eq!(accounts_json(&home).await.len(), 2);
    assert_eq!(
        std::fs::read_to_string(home.codexia_home().join("auth.json")).unwrap(),
        before
    );
    server.terminate().await;
}

/// Acceptance 2 and 3: keys bound to each account; 50 concurrent requests with expired tokens
/// refresh each account exactly once, each request served by its key's account; revoking one
/// account makes only that one ask to sign in again.
#[tokio::test]
async fn each_account_refreshes_once_under_fifty_requests_and_a_revoked_one_fails_alone() {
    let fake = two_account_fake().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let personal = fake.account().account_id;
    let work = work_account().account_id;
    sign_in(&fake, &home, None).await;
    sign_in(&fake, &home, Some(&work)).await;
    cli(&home, &["accounts", "use", "plus"]).await;
    home.write_config(
        &json!({"api_keys": {
            "me": "key-personal-0001",
            "lan": {"key": "key-work-0000002", "account": "team"},
        }})
        .to_string(),
    );
    // Expire both accounts' access tokens (as stored), so that every request needs a refresh.
    for (path, account_id) in [
        ("auth.json".to_owned(), &personal),
        (format!("auth-{work}.json"), &work),
    ] {
        let tokens = fake.mint_tokens_for(account_id, -30);
        let path = home.codexia_home().join(path);
        let mut stored: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        stored["access_token"] = json!(tokens.access_token);
        stored["refresh_token"] = json!(tokens.refresh_token);
        stored["expires_at"] = json!(chrono::Utc::now().timestamp() - 30);
        std::fs::write(&path, stored.to_string()).unwrap();
    }
    let gate = Gate::new();
    fake.gate_next_token(gate.clone());
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;

    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..50)
        .map(|i| {
            let key = if i % 2 == 0 {
                "key-personal-0001"
            } else {
                "key-work-0000002"
            };
            let request = client
                .post(server.url("/v1/messages"))
                .header("anthropic-version", "2023-06-01")
                .header("x-api-key", key)
                .json(&json!({
                    "model": "gpt-5.5",
                    "max_tokens": 16,
                    "messages": [{"role": "user", "content": format!("hi {i}")}],
                }))
                .send();
            tokio::spawn(async move {
                let response = request.await.unwrap();
                let account = response.headers()["x-codexia-account"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                (i, response.status().as_u16(), account)
            })
        })
        .collect();
    gate.wait_reached().await;
    gate.release();
    for request in requests {
        let (i, status, account) = request.await.unwrap();
        assert_eq!(status, 200, "request {i}");
        assert_eq!(
            account,
            if i % 2 == 0 { "plus" } else { "team" },
            "request {i}"
        );
    }
    assert_eq!(fake.refresh_count_for(&personal), 1);
    assert_eq!(fake.refresh_count_for(&work), 1);
    let mut by_account = std::collections::BTreeMap::<String, usize>::new();
    for request in fake.requests_to(RESPONSES_PATH) {
        let (token_account, header) = served_by(&request);
        assert_eq!(token_account, header);
        *by_account.entry(token_account).or_default() += 1;
    }
    assert_eq!(
        by_account,
        std::collections::BTreeMap::from([(personal.clone(), 25), (work.clone(), 25)])
    );

    // Revoke the work account: it alone says sign in again; the personal one keeps serving.
    fake.revoke_account(&work);
    let answer = ask(&server, Some("key-work-0000002")).await;
    assert_eq!(answer.status(), 401);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "The ChatGPT sign-in of account \"team\" is no longer valid (the sign-in server refused to refresh it); the other accounts still serve. Run `codexia login` and sign in to that account again."
    );
    let answer = ask(&server, Some("key-personal-0001")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-codexia-account"], "plus");
    let accounts = accounts_json(&home).await;
    let signed_in: Vec<(String, bool)> = accounts
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["signed_in"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        signed_in,
        [("plus".to_owned(), true), ("team".to_owned(), false)]
    );
    server.terminate().await;
}

async fn ask_in(server: &Server, session: &str, stream: bool) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .post(server.url("/v1/messages"))
        .header("anthropic-version", "2023-06-01")
        .header("x-claude-code-session-id", session)
        .json(&json!({
            "model": "gpt-5.5",
            "max_tokens": 16,
            "stream": stream,
            "messages": [{"role": "user", "content": "hi"}],
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let account = response
        .headers()
        .get("x-codexia-account")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, account, response.text().await.unwrap())
}

/// Two signed-in accounts, the personal one active and at its usage limit (its 5h window at
/// 100 %: the fake answers 429 usage_limit_reached).
async fn exhausted_personal_account(switch: bool) -> (FakeUpstream, TestHome, Server) {
    let fake = two_account_fake().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    sign_in(&fake, &home, None).await;
    sign_in(&fake, &home, Some(&work_account().account_id)).await;
    cli(&home, &["accounts", "use", "plus"]).await;
    if switch {
        home.write_config(&json!({"switch_when_exhausted": true}).to_string());
    }
    fake.set_usage(100.0, 50.0);
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    (fake, home, server)
}

fn backend_accounts(fake: &FakeUpstream) -> Vec<String> {
    fake.responses_requests()
        .iter()
        .map(|r| r.header("chatgpt-account-id").unwrap().to_owned())
        .collect()
}

/// Acceptance 4: with `switch_when_exhausted`, a 429 usage_limit_reached on the active account
/// reaches its caller (never retried elsewhere) and sends the next *new* conversation to the
/// other account; a conversation under way stays where it started; a streaming request that
/// reached the backend is not retried.
#[tokio::test]
async fn when_the_active_account_is_exhausted_new_conversations_move_to_the_other_one() {
    let (fake, home, server) = exhausted_personal_account(true).await;
    let personal = fake.account().account_id;
    let work = work_account().account_id;

    let (status, account, body) = ask_in(&server, "conversation-1", false).await;
    assert_eq!((status, account.as_str()), (429, "plus"), "{body}");
    assert!(body.contains("usage limit"), "{body}");
    assert_eq!(backend_accounts(&fake), std::slice::from_ref(&personal));

    // A new conversation goes to the account with room.
    let (status, account, body) = ask_in(&server, "conversation-2", false).await;
    assert_eq!((status, account.as_str()), (200, "team"), "{body}");
    // The conversation under way stays on its account (its prompt cache lives there).
    let (status, account, _) = ask_in(&server, "conversation-1", false).await;
    assert_eq!((status, account.as_str()), (429, "plus"));
    assert_eq!(
        backend_accounts(&fake),
        [personal.clone(), work.clone(), personal.clone()]
    );

    // A stream that fails at the backend is answered as it failed, never retried.
    fake.push_reply(Reply::error_event(
        "usage_limit_reached",
        "The usage limit has been reached",
    ));
    let before = fake.responses_requests().len();
    let (status, account, body) = ask_in(&server, "conversation-3", true).await;
    assert_eq!(account, "team");
    assert!(
        status == 429 || body.contains("usage limit"),
        "{status} {body}"
    );
    assert_eq!(fake.responses_requests().len(), before + 1, "not retried");
    server.terminate().await;

    // The usage ledger records which account served each request.
    let conn = rusqlite::Connection::open(home.codexia_home().join("usage.db")).unwrap();
    let accounts: Vec<String> = conn
        .prepare("SELECT a.text FROM requests r JOIN names a ON a.id = r.account ORDER BY r.id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(accounts, ["plus", "team", "plus", "team"]);
}

/// Acceptance 4, option off (the default): the 429 reaches the client and the next new
/// conversation still goes to the active account.
#[tokio::test]
async fn without_switch_when_exhausted_every_conversation_stays_on_the_active_account() {
    let (fake, _home, server) = exhausted_personal_account(false).await;
    let personal = fake.account().account_id;
    for session in ["conversation-1", "conversation-2"] {
        let (status, account, body) = ask_in(&server, session, false).await;
        assert_eq!((status, account.as_str()), (429, "plus"), "{body}");
    }
    assert_eq!(backend_accounts(&fake), [personal.clone(), personal]);
    server.terminate().await;
}

fn keychain_entry(service: &str, user: &str) -> Option<Value> {
    let output = std::process::Command::new("secret-tool")
        .args(["lookup", "service", service, "username", user])
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).ok())
        .flatten()
}

/// With the keychain, each account has its own entry (the first keeps the single-account
/// entry `chatgpt`), no token lands in a file, and `logout --all` deletes every entry.
#[tokio::test]
async fn with_the_keychain_each_account_has_its_own_entry() {
    const SERVICE: &str = "codexia-accounts-test";
    if !crate::support::secret_service_available() {
        return;
    }
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("a session bus");
    let fake = two_account_fake().await;
    let home = home_for(&fake)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("CODEXIA_CREDENTIAL_STORE", "keychain")
        .env("CODEXIA_KEYCHAIN_SERVICE", SERVICE);
    let work = work_account().account_id;
    sign_in(&fake, &home, None).await;
    sign_in(&fake, &home, Some(&work)).await;

    let first = keychain_entry(SERVICE, "chatgpt").expect("the first account's entry");
    assert_eq!(first["account_id"], fake.account().account_id.as_str());
    let second = keychain_entry(SERVICE, &format!("chatgpt-{work}")).expect("its own entry");
    assert_eq!(second["account_id"], work.as_str());
    let files: Vec<String> = std::fs::read_dir(home.codexia_home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let json = Path::new(n).extension().is_some_and(|e| e == "json");
            (n.starts_with("auth") && json) || n.contains("recovery")
        })
        .collect();
    assert_eq!(files, Vec::<String>::new(), "no token in a file");

    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let answer = ask(&server, None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["x-codexia-account"], "team");
    server.terminate().await;

    cli(&home, &["logout", "--all"]).await;
    assert_eq!(keychain_entry(SERVICE, "chatgpt"), None);
    assert_eq!(keychain_entry(SERVICE, &format!("chatgpt-{work}")), None);
}
