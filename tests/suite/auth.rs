//! Sign-in, credential stores and safe refresh, end to end: the built binary against the fake
//! issuer and backend (issue 3, acceptance points 1–4).

use std::path::Path;
use std::process::Stdio;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, ChildStdout};

use crate::support::codexia::{TestHome, text};
use crate::support::fake_backend::{FakeUpstream, Gate};
use crate::support::harness::{closed_port, home_for, seed_credentials};

pub(super) fn stored(home: &TestHome) -> Value {
    serde_json::from_str(&std::fs::read_to_string(home.codexia_home().join("auth.json")).unwrap())
        .unwrap()
}

/// A running `codexia login`, read line by line.
struct Login {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Lines<BufReader<ChildStderr>>,
}

impl Login {
    fn start(home: &TestHome, args: &[&str]) -> Self {
        let mut child = home.spawn(args);
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        Self {
            child,
            stdout,
            stderr,
        }
    }

    async fn stdout_line(&mut self) -> String {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.stdout.next_line())
            .await
            .expect("a stdout line in time")
            .unwrap()
            .expect("stdout ended")
    }

    /// Reads stderr until a line contains `needle`.
    async fn stderr_until(&mut self, needle: &str) -> String {
        loop {
            let line =
                tokio::time::timeout(std::time::Duration::from_secs(60), self.stderr.next_line())
                    .await
                    .expect("a stderr line in time")
                    .unwrap()
                    .unwrap_or_else(|| panic!("stderr ended before {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    async fn paste(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// Waits for the exit; answers (success, rest of stdout, rest of stderr).
    async fn finish(mut self) -> (bool, String, String) {
        let status = tokio::time::timeout(std::time::Duration::from_secs(60), self.child.wait())
            .await
            .expect("login did not finish")
            .unwrap();
        let mut out = String::new();
        while let Ok(Some(line)) = self.stdout.next_line().await {
            out.push_str(&line);
            out.push('\n');
        }
        let mut err = String::new();
        while let Ok(Some(line)) = self.stderr.next_line().await {
            err.push_str(&line);
            err.push('\n');
        }
        (status.success(), out, err)
    }
}

pub(super) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Follows the authorize URL at the fake issuer; answers the redirect `Location`.
pub(super) async fn authorize(url: &str) -> String {
    let response = no_redirects().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302, "authorize answered");
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn with_state(location: &str, state: &str) -> String {
    let mut url = url::Url::parse(location).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                state.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn assert_signed_in(home: &TestHome, fake: &FakeUpstream, stdout: &str) {
    let account = fake.account();
    assert!(
        stdout.contains(&format!(
            "Signed in as {} (plan: {}, account {}).",
            account.email, account.plan_type, account.account_id
        )),
        "{stdout}"
    );
    let path = home.codexia_home().join("auth.json");
    assert!(
        stdout.contains(&format!("Credentials stored in {}.", path.display())),
        "{stdout}"
    );
    assert_eq!(stored(home)["account_id"], account.account_id.as_str());
}

#[tokio::test]
async fn the_paste_flow_signs_in_after_refusing_a_wrong_state() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let mut login = Login::start(&home, &["login", "--no-browser"]);
    let url = login.stdout_line().await;
    assert!(
        url.starts_with(&format!("{}/oauth/authorize?", fake.auth_url())),
        "{url}"
    );
    let location = authorize(&url).await;

    login
        .paste(&with_state(&location, "someone-elses-state"))
        .await;
    let refusal = login.stderr_until("different sign-in attempt").await;
    assert!(refusal.starts_with("warning: "), "{refusal}");
    // Still waiting: the right URL now signs in.
    login.paste(&location).await;
    let (ok, stdout, stderr) = login.finish().await;
    assert!(ok, "{stderr}");
    assert_signed_in(&home, &fake, &stdout);
    let exchanges = fake.token_requests();
    assert_eq!(exchanges.len(), 1);
    assert_eq!(
        exchanges[0].param("grant_type").as_deref(),
        Some("authorization_code")
    );
}

#[tokio::test]
async fn the_loopback_flow_signs_in_and_shows_a_page_after_refusing_a_wrong_state() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let mut login = Login::start(&home, &["login", "--no-browser"]);
    let url = login.stdout_line().await;
    let redirect_uri = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    assert!(
        redirect_uri.starts_with("http://localhost:") && redirect_uri.ends_with("/auth/callback"),
        "{redirect_uri}"
    );
    let location = authorize(&url).await.replace("localhost", "127.0.0.1");

    let wrong = no_redirects()
        .get(with_state(&location, "stale"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 400);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("older sign-in attempt")
    );
    login.stderr_until("different sign-in attempt").await;

    let page = no_redirects().get(&location).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Signed in to codexia"), "{html}");
    assert!(html.contains("You can close this tab"), "{html}");
    let (ok, stdout, stderr) = login.finish().await;
    assert!(ok, "{stderr}");
    assert_signed_in(&home, &fake, &stdout);
}

#[tokio::test]
async fn the_device_flow_prints_a_code_and_signs_in_once_it_is_approved() {
    let fake = FakeUpstream::start().await;
    fake.set_device_poll_interval(1);
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let mut login = Login::start(&home, &["login", "--device"]);
    assert_eq!(
        login.stdout_line().await,
        format!("{}/codex/device", fake.auth_url())
    );
    let code_line = login.stdout_line().await;
    let codes = fake.device_user_codes();
    assert_eq!(code_line, format!("Code: {}", codes[0]));
    // One pending poll, then the user approves.
    fake.wait_for_requests("/api/accounts/deviceauth/token", 1)
        .await;
    assert!(fake.approve_device_code(&codes[0]));
    let (ok, stdout, stderr) = login.finish().await;
    assert!(ok, "{stderr}");
    assert_signed_in(&home, &fake, &stdout);
    let exchange = &fake.token_requests()[0];
    assert_eq!(
        exchange.param("redirect_uri"),
        Some(format!("{}/deviceauth/callback", fake.auth_url()))
    );
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_file_store_is_private_replaced_atomically_and_readable_by_another_process() {
    use std::os::unix::fs::MetadataExt;
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let tokens = fake.mint_tokens(3600);
    seed_credentials(&home, &tokens);
    let path = home.codexia_home().join("auth.json");
    let before = std::fs::metadata(&path).unwrap().ino();

    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let response = reqwest::Client::new()
        .post(server.url("/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    let after = stored(&home);
    // The answer names the account and the expiry, never a token.
    assert_eq!(body["account_id"], tokens.account_id.as_str());
    assert_eq!(body["expires_at"], after["expires_at"]);
    let text_body = body.to_string();
    for token in ["access_token", "refresh_token", "id_token"] {
        assert!(
            !text_body.contains(after[token].as_str().unwrap()),
            "{text_body}"
        );
        assert!(!text_body.contains(token), "{text_body}");
    }
    assert_ne!(after["refresh_token"], tokens.refresh_token.as_str());
    assert_eq!(fake.token_refresh_count(), 1);

    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&home.codexia_home()), 0o700);
    assert_ne!(
        std::fs::metadata(&path).unwrap().ino(),
        before,
        "renamed into place"
    );
    let leftovers: Vec<String> = std::fs::read_dir(home.codexia_home())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());

    // A second process reads what the gateway wrote (and needs no refresh of its own).
    let output = home
        .command(&["status", "--json"])
        .env("CODEXIA_BIND", closed_port())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["account_id"], tokens.account_id.as_str());
    assert_eq!(status["token"]["expires_at"], after["expires_at"]);
    assert_eq!(fake.token_refresh_count(), 1);
    server.terminate().await;
}

#[tokio::test]
async fn without_a_secret_service_auto_falls_back_to_the_file_and_keychain_fails_clearly() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/codexia-test-bus",
    );
    let tokens = fake.mint_tokens(3600);
    seed_credentials(&home, &tokens);

    let output = home.run(&["logout"]).await;
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let file = home.codexia_home().join("auth.json");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [format!(
            "warning: no OS keychain answers; keeping credentials in {} instead (mode 0600)",
            file.display()
        )]
    );
    assert_eq!(
        text(&output.stdout),
        format!(
            "Signed out: deleted the credentials from {}.\n",
            file.display()
        )
    );
    assert!(!file.exists());

    let forced = home.command(&["logout"]);
    let output = {
        let mut forced = forced;
        forced
            .env("CODEXIA_CREDENTIAL_STORE", "keychain")
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap()
    };
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    let first = stderr.lines().next().unwrap();
    assert!(
        first.starts_with(
            "error: CODEXIA_CREDENTIAL_STORE asks for the keychain, but no OS keychain answers ("
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: start a Secret Service"), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("Backtrace"));
}

/// Steps against a real Secret Service (gnome-keyring under dbus-run-session, set up by
/// scripts/in-session.sh), in one test so that they run in series.
#[tokio::test]
async fn the_keychain_store_keeps_reads_and_deletes_credentials_in_the_secret_service() {
    if !crate::support::secret_service_available() {
        return;
    }
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("a session bus");
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .env("CODEXIA_CREDENTIAL_STORE", "keychain")
        .env("CODEXIA_BIND", closed_port());
    // Start clean (an earlier run in this session may have left an entry).
    let output = home.run(&["logout"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));

    // Store: sign in with the paste flow.
    let mut login = Login::start(&home, &["login", "--no-browser"]);
    let url = login.stdout_line().await;
    let location = authorize(&url).await;
    login.paste(&location).await;
    let (ok, stdout, stderr) = login.finish().await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("Credentials stored in the OS keychain (service \"codexia\")."),
        "{stdout}"
    );
    assert!(!home.codexia_home().join("auth.json").exists());

    // Read: another process finds them.
    let output = home.run(&["status", "--json"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["account_id"], fake.account().account_id.as_str());
    assert_eq!(status["warnings"], json!([]));

    // Delete.
    let output = home.run(&["logout"]).await;
    assert_eq!(
        text(&output.stdout),
        "Signed out: deleted the credentials from the OS keychain (service \"codexia\").\n"
    );
    let output = home.run(&["status", "--json"]).await;
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["token"], Value::Null);
    assert!(
        status["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not signed in"),
        "{status}"
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_exactly_once_for_fifty_requests_and_another_process() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let tokens = fake.mint_tokens(-30);
    seed_credentials(&home, &tokens);
    // Hold the first refresh at the issuer until everyone is queued behind it.
    let gate = Gate::new();
    fake.gate_next_token(gate.clone());
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;

    let client = reqwest::Client::new();
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let request = client.get(server.url("/v1/status")).send();
            tokio::spawn(async move {
                let response = request.await.unwrap();
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap(),
                )
            })
        })
        .collect();
    // A separate `codexia status` that finds no gateway and refreshes on its own if it must.
    let cli = home
        .command(&["status", "--json"])
        .env("CODEXIA_BIND", closed_port())
        .stdin(Stdio::null())
        .output();
    let cli = tokio::spawn(cli);

    gate.wait_reached().await;
    gate.release();
    for request in requests {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["warnings"], json!([]), "{body}");
        assert!(
            body["token"]["remaining_seconds"].as_i64().unwrap() > 0,
            "{body}"
        );
    }
    let output = cli.await.unwrap().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["warnings"], json!([]), "{status}");
    assert!(status["token"]["remaining_seconds"].as_i64().unwrap() > 0);

    assert_eq!(fake.token_refresh_count(), 1);
    assert_eq!(fake.token_requests().len(), 1);
    server.terminate().await;
}

#[tokio::test]
async fn a_reused_refresh_token_asks_to_sign_in_again_everywhere_after_one_attempt() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let tokens = fake.mint_tokens(-30);
    // Someone else already used this refresh token.
    let used = reqwest::Client::new()
        .post(format!("{}/oauth/token", fake.auth_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "app_EMoamEEZ73f0CkXaXp7hrann"),
            ("refresh_token", tokens.refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(used.status().as_u16(), 200);
    seed_credentials(&home, &tokens);
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let sentence = "Run `codexia login` to sign in again.";

    let status: Value = reqwest::get(server.url("/v1/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["token"], Value::Null);
    assert_eq!(status["account_id"], tokens.account_id.as_str());
    let warning = status["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("refresh token was already used") && warning.ends_with(sentence),
        "{warning}"
    );

    let client = reqwest::Client::new();
    // OpenAI dialect.
    let response = client
        .post(server.url("/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with(sentence),
        "{body}"
    );
    // Anthropic dialect.
    let response = client
        .post(server.url("/v1/auth/refresh"))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .ends_with(sentence),
        "{body}"
    );

    // The CLI, through the gateway and on its own, says the same without trying again.
    for bind in [server.addr.to_string(), closed_port()] {
        let output = home
            .command(&["status"])
            .env("CODEXIA_BIND", bind)
            .stdin(Stdio::null())
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with("error: The ChatGPT sign-in is no longer valid"),
            "{stderr}"
        );
        assert!(stderr.contains(sentence), "{stderr}");
    }

    // Ours, plus exactly one attempt by codexia.
    let refreshes: Vec<_> = fake
        .token_requests()
        .into_iter()
        .filter(|r| r.param("grant_type").as_deref() == Some("refresh_token"))
        .collect();
    assert_eq!(refreshes.len(), 2);
    assert_eq!(stored(&home)["sign_in_again"], "refresh_token_reused");
    server.terminate().await;
}

#[tokio::test]
async fn a_login_that_gets_no_answer_times_out_with_a_clear_message() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake)
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_LOGIN_TIMEOUT", "1");
    let output = home.run(&["login", "--no-browser"]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("error: the sign-in timed out: no redirect arrived within 1 seconds"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: run `codexia login` again"),
        "{stderr}"
    );
    assert!(!home.codexia_home().join("auth.json").exists());
}

/// Signs in through the paste flow; answers (success, stdout, stderr).
pub(super) async fn paste_login(home: &TestHome) -> (bool, String, String) {
    let mut login = Login::start(home, &["login", "--no-browser"]);
    let url = login.stdout_line().await;
    let location = authorize(&url).await;
    login.paste(&location).await;
    login.finish().await
}

#[cfg(unix)]
#[tokio::test]
async fn a_login_writes_through_no_planted_symlink_at_the_credentials_or_the_lock() {
    use std::os::unix::fs::symlink;
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let victim = home.home().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let auth = home.codexia_home().join("auth.json");
    let lock = home.codexia_home().join("auth.lock");

    symlink(&victim, &auth).unwrap();
    let (ok, _, stderr) = paste_login(&home).await;
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot read or write {}: it is a symbolic link, and codexia never writes through one",
            auth.display()
        )),
        "{stderr}"
    );
    assert!(std::fs::symlink_metadata(&auth).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

    std::fs::remove_file(&auth).unwrap();
    let _ = std::fs::remove_file(&lock);
    symlink(&victim, &lock).unwrap();
    let (ok, _, stderr) = paste_login(&home).await;
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot read or write {}: it is a symbolic link",
            lock.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!auth.exists());

    std::fs::remove_file(&lock).unwrap();
    let (ok, stdout, stderr) = paste_login(&home).await;
    assert!(ok, "{stderr}");
    assert_signed_in(&home, &fake, &stdout);
    assert_eq!(mode(&auth), 0o600);
    assert_eq!(mode(&lock), 0o600);
    assert_eq!(mode(&home.codexia_home()), 0o700);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

#[tokio::test]
async fn a_complete_token_set_left_by_a_crash_mid_save_is_recovered_at_start_up() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    let old = fake.mint_tokens(600);
    seed_credentials(&home, &old);
    // What a process killed between writing its temporary file and renaming it leaves.
    let new = fake.mint_tokens(7200);
    let expires_at = chrono::Utc::now().timestamp() + new.expires_in;
    let leftover = json!({
        "access_token": new.access_token,
        "refresh_token": new.refresh_token,
        "id_token": new.id_token,
        "expires_at": expires_at,
        "account_id": new.account_id,
    });
    let dir = home.codexia_home();
    std::fs::write(
        dir.join(".auth.json.0123456789abcdef.tmp"),
        leftover.to_string(),
    )
    .unwrap();
    std::fs::write(dir.join(".auth.json.fedcba9876543210.tmp"), "{\"access_tok").unwrap();

    let output = home
        .command(&["status", "--json"])
        .env("CODEXIA_BIND", closed_port())
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["token"]["expires_at"], expires_at);
    assert_eq!(stored(&home)["refresh_token"], new.refresh_token.as_str());
    assert_eq!(mode(&dir.join("auth.json")), 0o600);
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| Path::new(n).extension().is_some_and(|e| e == "tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
    assert_eq!(fake.token_refresh_count(), 0);
}
