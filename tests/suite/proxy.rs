//! Upstream calls through a proxy: real proxy processes on loopback (`tests/py/recording_proxy.py`,
//! an HTTP proxy and a SOCKS5 proxy) record every request they receive, and the tests read what
//! passed through them. The fake backend is plain HTTP on loopback, so the HTTP proxy forwards
//! its requests (absolute form) while the real backend's `https://` URL goes through a CONNECT
//! tunnel; the proxies refuse every target that is not on loopback, so nothing reaches the
//! internet.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::codexia::{TestHome, text};
use crate::support::fake_backend::{FakeUpstream, Reply, python_for_tests, test_ca_file};
use crate::support::harness::{Harness, closed_port, seed_credentials};

/// A safety net for a proxy that does not start, not a synchronisation device.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running `recording_proxy.py` and the file it records to.
struct RecordingProxy {
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
    records: PathBuf,
    port: u16,
}

impl RecordingProxy {
    /// `kind` is `http` or `socks5`.
    async fn start(kind: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let records = dir.path().join("records.jsonl");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/recording_proxy.py");
        let mut child = tokio::process::Command::new(python_for_tests())
            .arg(&script)
            .arg(kind)
            .arg(&records)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the recording proxy");
        let stdout = child.stdout.take().expect("stdout");
        let line = tokio::time::timeout(START_DEADLINE, BufReader::new(stdout).lines().next_line())
            .await
            .expect("the proxy started in time")
            .expect("read the proxy's stdout")
            .expect("the proxy printed its port");
        let port = line
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self {
            _child: child,
            _dir: dir,
            records,
            port,
        }
    }

    /// `SCHEME://127.0.0.1:PORT`.
    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Every request the proxy received so far (written before it connected anywhere).
    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.records)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("record JSON"))
            .collect()
    }
}

fn ok_request() -> Value {
    json!({
        "model": "gpt-5.5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Reply with the single word OK"}],
    })
}

/// A turn and a forced refresh through the gateway; both must succeed.
async fn answer_and_refresh(h: &Harness) {
    h.fake.push_reply(Reply::text("OK"));
    let answer = h.anthropic("/v1/messages", &ok_request(), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["content"][0]["text"], "OK");
    let refreshed = h.post("/v1/auth/refresh", &json!({}), &[]).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(h.fake.token_refresh_count(), 1);
}

/// The `(method, path)` of the requests the HTTP proxy forwarded to `port`.
fn forwarded(records: &[Value], port: u16) -> Vec<(String, String)> {
    records
        .iter()
        .filter(|r| r["kind"] == "forward" && r["target"] == format!("127.0.0.1:{port}"))
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn fake_port(fake: &FakeUpstream) -> u16 {
    fake.base_url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port of the fake")
}

#[tokio::test]
async fn requests_and_a_forced_refresh_go_through_the_http_proxy_of_http_proxy() {
    let proxy = RecordingProxy::start("http").await;
    let h = Harness::start_with_env(&[("HTTP_PROXY", &proxy.url("http"))]).await;
    answer_and_refresh(&h).await;

    let through = forwarded(&proxy.records(), fake_port(&h.fake));
    for expected in [
        ("POST", "/backend-api/codex/responses"),
        ("POST", "/oauth/token"),
    ] {
        assert!(
            through
                .iter()
                .any(|(m, p)| (m.as_str(), p.as_str()) == expected),
            "{expected:?} did not pass through the proxy: {through:?}"
        );
    }
    // Every request the fake saw came through the proxy (which records before passing on).
    let fake_saw = h.fake.requests().len();
    assert!(
        through.len() >= fake_saw,
        "{fake_saw} reached the fake: {through:?}"
    );
}

#[tokio::test]
async fn requests_and_a_forced_refresh_go_through_a_socks5h_proxy_that_resolves_the_name() {
    let proxy = RecordingProxy::start("socks5").await;
    let fake = FakeUpstream::start().await;
    // A name, not an address: with socks5h the proxy resolves it, so it records the name.
    let by_name = fake.base_url().replace("127.0.0.1", "localhost");
    let home = TestHome::new()
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_AUTH_URL", &by_name)
        .env("CODEXIA_BACKEND_URL", format!("{by_name}/backend-api"))
        .env("CODEXIA_PROXY", proxy.url("socks5h"));
    seed_credentials(&home, &fake.mint_tokens(3600));
    let server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    let h = Harness { fake, home, server };
    answer_and_refresh(&h).await;

    let records = proxy.records();
    let target = format!("localhost:{}", fake_port(&h.fake));
    let handshakes: Vec<&Value> = records.iter().filter(|r| r["kind"] == "socks5").collect();
    assert!(!handshakes.is_empty(), "{records:?}");
    assert!(
        handshakes
            .iter()
            .all(|r| r["target"] == target.as_str() && r["address_type"] == "domain"),
        "{records:?}"
    );
    assert_tunnelled_turn_and_refresh(&records, &target, h.fake.requests().len());
}

/// The turn and the refresh went through tunnels to `target`, and so did every request the
/// fake received.
fn assert_tunnelled_turn_and_refresh(records: &[Value], target: &str, fake_saw: usize) {
    let through: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["kind"] == "tunnelled" && r["target"] == target)
        .map(|r| (r["method"].as_str().unwrap(), r["path"].as_str().unwrap()))
        .collect();
    for expected in [
        ("POST", "/backend-api/codex/responses"),
        ("POST", "/oauth/token"),
    ] {
        assert!(
            through.contains(&expected),
            "{expected:?} did not pass through the proxy: {records:?}"
        );
    }
    // The proxy records a request before passing it on: it has seen at least all the fake saw.
    assert!(
        through.len() >= fake_saw,
        "{fake_saw} requests reached the fake: {records:?}"
    );
}

#[tokio::test]
async fn all_proxy_with_socks5_resolves_names_here_and_carries_the_address() {
    let proxy = RecordingProxy::start("socks5").await;
    let h = Harness::start_with_env(&[("ALL_PROXY", &proxy.url("socks5"))]).await;
    answer_and_refresh(&h).await;

    let records = proxy.records();
    let target = format!("127.0.0.1:{}", fake_port(&h.fake));
    let handshakes: Vec<&Value> = records.iter().filter(|r| r["kind"] == "socks5").collect();
    assert!(!handshakes.is_empty(), "{records:?}");
    assert!(
        handshakes
            .iter()
            .all(|r| r["target"] == target.as_str() && r["address_type"] == "ipv4"),
        "{records:?}"
    );
    assert_tunnelled_turn_and_refresh(&records, &target, h.fake.requests().len());
}

#[tokio::test]
async fn no_proxy_sends_the_listed_hosts_around_the_proxy() {
    let proxy = RecordingProxy::start("http").await;
    let h = Harness::start_with_env(&[
        ("HTTP_PROXY", &proxy.url("http")),
        ("NO_PROXY", "example.org, 127.0.0.1"),
    ])
    .await;
    answer_and_refresh(&h).await;
    assert_eq!(proxy.records(), Vec::<Value>::new());
}

/// A backend whose certificate an authority of its own signed (as behind a proxy that inspects
/// TLS): `SSL_CERT_FILE` adds that authority, and turns and refreshes work, over HTTP/2;
/// without it the backend is refused and nothing reaches it.
#[tokio::test]
async fn ssl_cert_file_adds_the_authority_of_a_backend_served_over_tls() {
    let ca = test_ca_file();
    let h = Harness::start_tls_with_env(&[("SSL_CERT_FILE", ca.to_str().unwrap())]).await;
    answer_and_refresh(&h).await;
    // Over HTTP/2, which codexia offers by ALPN, as it would to the real backend.
    let versions: Vec<_> = h.fake.requests().iter().map(|r| r.version).collect();
    assert!(!versions.is_empty());
    assert!(
        versions.iter().all(|v| *v == axum::http::Version::HTTP_2),
        "{versions:?}"
    );

    let untrusted = Harness::start_tls_with_env(&[]).await;
    let answer = untrusted
        .anthropic("/v1/messages", &ok_request(), &[])
        .await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert!(untrusted.fake.requests().is_empty());
}

#[tokio::test]
async fn a_dead_proxy_gives_an_error_that_names_it() {
    let dead = format!("socks5://{}", closed_port());
    let h = Harness::start_with_env(&[("CODEXIA_PROXY", &dead)]).await;
    let answer = h.anthropic("/v1/messages", &ok_request(), &[]).await;
    assert_eq!(answer.status, 502, "{}", answer.body);
    assert_eq!(
        answer.json()["error"]["message"],
        format!(
            "The ChatGPT backend cannot be reached through the proxy {dead}: the proxy refused \
             the connection (is it running?)."
        )
    );
    assert!(h.fake.requests().is_empty());
}

#[tokio::test]
async fn the_real_backend_is_reached_through_a_connect_tunnel_of_https_proxy() {
    // The default backend and issuer (https://chatgpt.com, https://auth.openai.com): the
    // proxy records the CONNECT and refuses it, so nothing leaves this machine.
    let proxy = RecordingProxy::start("http").await;
    let fake = FakeUpstream::start().await;
    let home = TestHome::new()
        .env("CODEXIA_CREDENTIAL_STORE", "file")
        .env("CODEXIA_BIND", closed_port())
        .env("HTTPS_PROXY", proxy.url("http"));
    seed_credentials(&home, &fake.mint_tokens(3600));
    let output = home.run(&["status"]).await;
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(
        all.contains(&format!(
            "cannot reach https://chatgpt.com/backend-api/wham/usage through the proxy {}",
            proxy.url("http")
        )),
        "{all}"
    );
    let records = proxy.records();
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|r| r["kind"] == "connect" && r["target"] == "chatgpt.com:443"),
        "{records:?}"
    );
}

#[tokio::test]
async fn the_local_gateway_is_never_reached_through_the_proxy() {
    let proxy = RecordingProxy::start("http").await;
    let h = Harness::start_with_env(&[("HTTP_PROXY", &proxy.url("http"))]).await;
    // `codexia status` finds the running gateway and asks it; the gateway asks the backend.
    let output = h
        .home
        .run_with(
            &["status", "--json"],
            &[
                ("CODEXIA_BIND", &h.server.addr.to_string()),
                ("HTTP_PROXY", &proxy.url("http")),
            ],
        )
        .await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let records = proxy.records();
    let gateway = format!("127.0.0.1:{}", h.server.addr.port());
    assert!(
        records.iter().all(|r| r["target"] != gateway.as_str()),
        "the gateway was reached through the proxy: {records:?}"
    );
    assert!(
        !forwarded(&records, fake_port(&h.fake)).is_empty(),
        "the gateway's own backend calls did go through it: {records:?}"
    );
}

#[tokio::test]
async fn config_show_names_the_proxy_and_its_source_without_credentials() {
    let home = TestHome::new()
        .env("HTTPS_PROXY", "http://corp:3128")
        .env("NO_PROXY", "localhost,.internal");
    home.write_config(r#"{"proxy": "socks5h://user:s3cret@proxy.example:1080"}"#);
    let shown = text(&home.run(&["config", "show"]).await.stdout);
    let line = shown
        .lines()
        .find(|l| l.starts_with("proxy"))
        .unwrap_or_else(|| panic!("no proxy line: {shown}"));
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(
        line.contains("socks5h://proxy.example:1080 (not for localhost,.internal)")
            && line.ends_with("(config.json)"),
        "{line}"
    );
}
