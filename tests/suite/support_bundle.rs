//! Log files (`$CODEXIA_HOME/logs/`) and the support bundle (`codexia support-bundle`), for
//! real: the built binary, a real sign-in against the fake issuer, a refresh, requests, and the
//! archive unpacked with the system's `tar`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::codexia::{TestHome, text};
use crate::support::fake_backend::FakeUpstream;
use crate::support::harness::{home_for, seed_credentials};

/// The keys of the gateway: long enough to be searched for.
const MAIN_KEY: &str = "sk-codexia-main-5f1e2d3c";
const CI_KEY: &str = "sk-codexia-ci-9a8b7c6d";

/// The smallest rotation size codexia accepts (smaller settings are raised to it).
const SMALL_LOG: u64 = 1024;

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

fn log_dir(home: &TestHome) -> PathBuf {
    home.codexia_home().join("logs")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

async fn chat(url: &str, key: Option<&str>) {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        response.text().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn serve_logs_to_rotated_private_files_and_never_writes_through_a_planted_link() {
    let fake = FakeUpstream::start().await;
    let home = home_for(&fake)
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_LOG_FILE_SIZE", SMALL_LOG.to_string())
        .env("CODEXIA_LOG", "debug");
    seed_credentials(&home, &fake.mint_tokens(3600));
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    // Requests until the log has rotated past its five files (each request logs lines).
    let oldest = log_dir(&home).join("serve.log.4");
    let mut sent = 0;
    while !oldest.exists() {
        assert!(sent < 300, "no fifth log file after {sent} requests");
        chat(&server.url, None).await;
        sent += 1;
    }
    // More, so that the oldest file is dropped at least once.
    for _ in 0..sent {
        chat(&server.url, None).await;
    }
    let output = server.terminate().await;
    assert!(output.status.success(), "{}", text(&output.stderr));

    let dir = log_dir(&home);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(
        names_in(&dir),
        [
            "serve.log",
            "serve.log.1",
            "serve.log.2",
            "serve.log.3",
            "serve.log.4"
        ]
    );
    for name in names_in(&dir) {
        let path = dir.join(&name);
        assert_eq!(mode(&path), 0o600, "{name}");
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= SMALL_LOG, "{name}: {size} bytes");
    }
    // The end of the run is in the current file (the last lines are written at exit).
    let current = std::fs::read_to_string(dir.join("serve.log")).unwrap();
    assert!(current.contains("stopped"), "{current}");

    // A link planted at the log path: serve says so and logs to stderr only.
    let victim = home.home().join("victim.txt");
    std::fs::write(&victim, "untouched").unwrap();
    let log = dir.join("serve.log");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    chat(&server.url, None).await;
    let output = server.terminate().await;
    assert!(output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("logging to stderr only") && stderr.contains("symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert!(
        std::fs::symlink_metadata(&log)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn stored_tokens(home: &TestHome) -> Vec<String> {
    let stored: Value =
        serde_json::from_slice(&std::fs::read(home.codexia_home().join("auth.json")).unwrap())
            .unwrap();
    ["access_token", "refresh_token", "id_token", "account_id"]
        .iter()
        .map(|field| stored[field].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that no byte sequence of `secrets` occurs in any file under `dir`.
fn assert_no_secret_in(dir: &Path, secrets: &[String]) {
    let files = files_under(dir);
    assert!(!files.is_empty(), "nothing under {}", dir.display());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        for secret in secrets {
            assert!(
                !bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{} contains the secret {}…",
                path.display(),
                &secret[..8]
            );
        }
    }
}

#[tokio::test]
async fn the_support_bundle_after_a_sign_in_a_refresh_and_requests_holds_no_secret() {
    let fake = FakeUpstream::start().await;
    fake.set_device_poll_interval(1);
    fake.auto_approve_device_codes(true);
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    // A fixed port in config.json, so that `support-bundle` finds the running gateway.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    home.write_config(&format!(
        r#"{{"bind": "127.0.0.1:{port}", "api_key": "{MAIN_KEY}", "api_keys": {{"ci-box": "{CI_KEY}"}}, "log": "debug"}}"#
    ));

    // Sign in for real (the device flow, approved at once by the fake issuer).
    let login = home.run(&["login", "--device"]).await;
    assert!(login.status.success(), "{}", text(&login.stderr));
    let mut secrets = stored_tokens(&home);
    // Make the access token stale, so that the gateway refreshes it.
    let path = home.codexia_home().join("auth.json");
    let mut stored: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    stored["expires_at"] = json!(chrono::Utc::now().timestamp() - 30);
    std::fs::write(&path, stored.to_string()).unwrap();

    let server = home.serve(&[]).await;
    assert_eq!(server.url, format!("http://127.0.0.1:{port}"));
    for key in [MAIN_KEY, CI_KEY, MAIN_KEY] {
        chat(&server.url, Some(key)).await;
    }
    assert_eq!(fake.token_refresh_count(), 1);
    let refreshed = stored_tokens(&home);
    assert_ne!(refreshed[0], secrets[0], "the access token was refreshed");
    secrets.extend(refreshed);
    secrets.extend([MAIN_KEY.to_owned(), CI_KEY.to_owned()]);
    secrets.push(fake.account().account_id);
    secrets.sort();
    secrets.dedup();

    let out = home.home().join("bundle.tar.gz");
    let made = home
        .run(&[
            "support-bundle",
            "--out",
            out.to_str().unwrap(),
            "--include-contents",
        ])
        .await;
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert!(
        text(&made.stdout).starts_with(&format!("wrote {}", out.display())),
        "{}",
        text(&made.stdout)
    );
    assert_eq!(mode(&out), 0o600);
    server.terminate().await;

    let unpacked = tempfile::tempdir().unwrap();
    let tar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&out)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(tar.success());
    let root = unpacked.path().join("codexia-support");
    let mut names: Vec<String> = files_under(&root)
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    names.sort();
    for expected in [
        "README.txt",
        "about.txt",
        "config.json",
        "credentials.txt",
        "logs/serve.log",
        "settings.txt",
        "status.json",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected}: {names:?}");
    }

    // Not one byte of any secret, in the bundle or in the log files.
    assert_no_secret_in(&root, &secrets);
    assert_no_secret_in(&log_dir(&home), &secrets);

    // And it holds what a maintainer needs.
    let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap();
    let readme = read("README.txt");
    for name in &names {
        assert!(
            name == "README.txt" || readme.contains(name.as_str()),
            "{name}: {readme}"
        );
    }
    assert!(readme.contains("Request contents ARE included"), "{readme}");
    assert!(readme.contains("A gateway was running at"), "{readme}");
    let config: Value = serde_json::from_str(&read("config.json")).unwrap();
    assert_eq!(config["api_keys"], json!({"ci-box": "[redacted]"}));
    assert_eq!(config["api_key"], "[redacted]");
    let credentials = read("credentials.txt");
    assert!(
        credentials.contains(&home.codexia_home().join("auth.json").display().to_string())
            && credentials.contains("credentials stored: yes"),
        "{credentials}"
    );
    let about = read("about.txt");
    assert!(
        about.starts_with(&format!("codexia {}", env!("CARGO_PKG_VERSION"))),
        "{about}"
    );
    let status: Value = serde_json::from_str(&read("status.json")).unwrap();
    assert!(
        status["token"]["remaining_seconds"].as_i64().unwrap() > 0,
        "{status}"
    );
    // The running gateway's captures: the list, and (asked for) each request's contents.
    assert!(names.iter().any(|n| n == "requests.json"), "{readme}");
    let requests: Value = serde_json::from_str(&read("requests.json")).unwrap();
    assert_eq!(requests["data"].as_array().unwrap().len(), 3, "{requests}");
    let contents: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("requests/req_"))
        .collect();
    assert_eq!(contents.len(), 3, "{names:?}");
    let detail: Value = serde_json::from_str(&read(contents[0])).unwrap();
    assert_eq!(
        detail["client_request"]["body"]["messages"][0]["content"],
        "hi"
    );
    let log = read("logs/serve.log");
    assert!(log.contains("refreshing the ChatGPT access token"), "{log}");
    assert!(log.contains("/v1/chat/completions"), "{log}");
}
