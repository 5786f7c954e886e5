//! One `reqwest` client for the ChatGPT backend (`CODEXIA_BACKEND_URL`) and the OAuth issuer
//! (`CODEXIA_AUTH_URL`), sending the headers the official Codex client sends
//! (docs/protocol.md §4.2). Client headers (`x-stainless-*`, `anthropic-*`, the caller's
//! `Authorization`) are never forwarded.
//!
//! Proxies: every call goes through the proxy that [`Settings::proxy`] names for its scheme
//! (the `proxy` setting, else `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`), except hosts that
//! `NO_PROXY` lists. The client never reads the process environment itself, so that decision
//! has one place ([`proxy_for`]) and `codexia config show` tells the truth. As with curl, a
//! loopback destination is not exempt unless `NO_PROXY` lists it: a backend URL on loopback
//! is still a remote side. What must never go through a proxy is the local gateway itself,
//! and this client never calls it (`local.rs` and the clients `codexia claude` starts reach
//! it directly).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::settings::{ProxyUrl, Settings, UpstreamProxy};

/// The `originator` the official Codex CLI sends; the backend knows it.
pub(crate) const ORIGINATOR: &str = "codex_cli_rs";
/// The Codex client version we present (used for `/codex/models?client_version=`).
pub(crate) const CODEX_CLIENT_VERSION: &str = "0.146.0";
/// Idle connections kept open to each host (the backend, the sign-in server), for 90 s: a
/// burst of parallel streams (Claude Code's subagents, several sessions) finds them open again
/// instead of paying a new connection each (a TLS handshake, some 100 ms, to the real backend;
/// with 8 kept, 32 streams on the fake added 1.9–2.1 ms to the first text instead of 0.9–1.2).
/// Each idle one keeps its read buffer: 100–170 KB after long answers (docs/performance.md).
const IDLE_CONNECTIONS: usize = 32;

/// Streamed calls share a connection to the backend (HTTP/2) up to this many at a time; the
/// next ones go to another, up to [`STREAM_CONNECTIONS`] (then to the least busy). One
/// connection's streams all pass through its one task and its lock: 32 streams on one added
/// 1.94 ms (median) to the first text on 2 cores, spread over four 1.55 ms, for the same CPU
/// (docs/performance.md). One person's turns, one at a time, keep using the first; four at
/// eight each did about as well as eight at four.
const STREAMS_PER_CONNECTION: usize = 8;
const STREAM_CONNECTIONS: usize = 4;

/// One of the clients that streamed calls are spread over (each holds its own connections),
/// with how many of its streams are open.
#[derive(Debug)]
struct StreamClient {
    http: reqwest::Client,
    open: Arc<AtomicUsize>,
}

/// A streamed answer of the backend. It holds its place among the streams of the connection
/// that carries it until it is dropped.
#[derive(Debug)]
pub(crate) struct StreamedResponse {
    response: reqwest::Response,
    place: StreamPlace,
}

impl StreamedResponse {
    pub(crate) fn status(&self) -> reqwest::StatusCode {
        self.response.status()
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        self.response.headers()
    }

    /// The body's chunks as they arrive; the stream keeps the place.
    pub(crate) fn bytes_stream(
        self,
    ) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + 'static {
        use futures_util::StreamExt;
        let Self { response, place } = self;
        response.bytes_stream().map(move |chunk| {
            let _held = &place;
            chunk
        })
    }
}

/// One open stream counted on its client; uncounted when dropped.
#[derive(Debug)]
struct StreamPlace(Arc<AtomicUsize>);

impl Drop for StreamPlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Access to the backend for one request: the bearer token and the ChatGPT account id.
#[derive(Clone, Copy)]
pub(crate) struct BackendAuth<'a> {
    pub access_token: &'a str,
    pub account_id: &'a str,
}

impl std::fmt::Debug for BackendAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendAuth")
            .field("access_token", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// A failed call to the remote side, with who caused it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UpstreamError {
    /// No answer: connection refused, DNS, TLS, reset. The message names the host, not secrets.
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    /// No answer through the proxy: the proxy is down, refused the tunnel, or could not reach
    /// the host. Names the proxy (without credentials), since that is what to check first.
    #[error("cannot reach {url} through the proxy {proxy}: {message}")]
    ProxyUnreachable {
        url: String,
        proxy: String,
        message: String,
    },
    /// The backend answered with a non-success status.
    #[error("the backend answered {status}: {message}")]
    Status {
        status: reqwest::StatusCode,
        /// `error.message`, `detail` or `message` from the body, else the raw text (shortened).
        message: String,
        /// The parsed JSON body, when it was JSON.
        body: Option<serde_json::Value>,
        headers: HeaderMap,
    },
}

impl UpstreamError {
    /// Builds a [`UpstreamError::Status`] from a failed response, reading its body.
    pub(crate) async fn from_response(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let message = body
            .as_ref()
            .and_then(error_message)
            .unwrap_or_else(|| shorten(text.trim(), 300));
        Self::Status {
            status,
            message,
            body,
            headers,
        }
    }

    /// A failed call to `url`, made through `proxy` when one applied.
    fn unreachable(url: &str, proxy: Option<&ProxyUrl>, err: &reqwest::Error) -> Self {
        // reqwest's Display may include the URL with a query; keep only the kind of failure.
        let url = url.split('?').next().unwrap_or(url).to_owned();
        let message = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            match (proxy, refused(err)) {
                (Some(_), true) => "the proxy refused the connection (is it running?)".to_owned(),
                (Some(_), false) => "the proxy could not open a connection to the host".to_owned(),
                (None, _) => "connection failed".to_owned(),
            }
        } else {
            "the connection broke".to_owned()
        };
        match proxy {
            Some(proxy) => Self::ProxyUnreachable {
                url,
                proxy: proxy.to_string(),
                message,
            },
            None => Self::Unreachable { url, message },
        }
    }
}

/// Whether a connection was refused (somewhere in the error's chain of causes).
fn refused(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            return true;
        }
        // The SOCKS connector ("SOCKS error: failed to create underlying connection") keeps
        // the refused connection to itself: it has no source.
        if cause
            .to_string()
            .ends_with("failed to create underlying connection")
        {
            return true;
        }
        source = cause.source();
    }
    false
}

/// The proxy a call to `url` goes through, if any: the one for its scheme, unless `NO_PROXY`
/// lists its host.
pub(crate) fn proxy_for<'p>(proxy: &'p UpstreamProxy, url: &url::Url) -> Option<&'p ProxyUrl> {
    let chosen = match url.scheme() {
        "https" => proxy.https.as_ref(),
        "http" => proxy.http.as_ref(),
        _ => None,
    }?;
    let host = url.host()?;
    let exempt = proxy
        .no_proxy
        .iter()
        .any(|entry| no_proxy_matches(entry, &host));
    (!exempt).then_some(chosen)
}

/// One `NO_PROXY` entry against a host, as curl reads it: `*`; an IP address or network
/// (`10.0.0.0/8`); a domain, which covers its subdomains (a leading dot changes nothing).
fn no_proxy_matches(entry: &str, host: &url::Host<&str>) -> bool {
    use std::net::IpAddr;
    let entry = entry.trim();
    if entry == "*" {
        return true;
    }
    let ip = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        url::Host::Domain(_) => None,
    };
    let bare = entry.trim_start_matches('[').trim_end_matches(']');
    if let Ok(listed) = bare.parse::<IpAddr>() {
        return ip == Some(listed);
    }
    if let Some((network, bits)) = bare.split_once('/')
        && let (Ok(network), Ok(bits)) = (network.parse::<IpAddr>(), bits.parse::<u32>())
    {
        return ip.is_some_and(|ip| in_network(ip, network, bits));
    }
    let url::Host::Domain(domain) = host else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    let listed = entry.trim_start_matches('.').to_ascii_lowercase();
    domain == listed || domain.ends_with(&format!(".{listed}"))
}

fn in_network(ip: std::net::IpAddr, network: std::net::IpAddr, bits: u32) -> bool {
    use std::net::IpAddr;
    let (ip, network, width) = match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            (u128::from(u32::from(ip)), u128::from(u32::from(net)), 32)
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => (u128::from(ip), u128::from(net), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    (ip & mask) == (network & mask)
}

/// The human message of an error body: `error.message`, `detail`, or `message`.
pub(crate) fn error_message(body: &serde_json::Value) -> Option<String> {
    let text = body
        .pointer("/error/message")
        .or_else(|| body.get("detail"))
        .or_else(|| body.get("message"))
        .or_else(|| body.get("error"))?;
    match text {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max).collect();
        format!("{head}…")
    }
}

/// The certificate authorities of the PEM file at `path` (`SSL_CERT_FILE`), trusted besides
/// the built-in ones. A file that cannot be read or holds no certificate is logged and left
/// out: calls then trust the built-in authorities only, and a backend signed by the missing
/// one fails with a certificate error that the log explains.
fn extra_roots(path: &std::path::Path) -> Vec<reqwest::Certificate> {
    let found = std::fs::read(path)
        .map_err(|err| err.to_string())
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).map_err(|err| err.to_string()));
    match found {
        Ok(roots) if !roots.is_empty() => roots,
        Ok(_) => {
            tracing::warn!("SSL_CERT_FILE {}: no PEM certificate in it", path.display());
            Vec::new()
        }
        Err(err) => {
            tracing::warn!("SSL_CERT_FILE {}: {err}", path.display());
            Vec::new()
        }
    }
}

/// One `reqwest` client with codexia's settings: its user agent, timeouts, idle connections,
/// extra authorities and proxy rule.
fn build_http(proxy: &Arc<UpstreamProxy>, roots: &[reqwest::Certificate]) -> reqwest::Client {
    // `no_proxy()` first: reqwest would otherwise read the proxy variables itself.
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .user_agent(user_agent())
        .connect_timeout(Duration::from_secs(15))
        // Streams may be silent for long stretches while the model thinks; idle detection
        // is done per read by the SSE reader, not by a whole-request timeout.
        .tcp_keepalive(Duration::from_secs(30))
        // How many idle connections are kept, and what each costs: `IDLE_CONNECTIONS`.
        .pool_max_idle_per_host(IDLE_CONNECTIONS);
    for root in roots {
        builder = builder.add_root_certificate(root.clone());
    }
    if !proxy.is_direct() {
        let rule = Arc::clone(proxy);
        builder = builder.proxy(reqwest::Proxy::custom(move |url| {
            proxy_for(&rule, url).map(|p| p.expose().clone())
        }));
    }
    builder.build().unwrap_or_else(|_| reqwest::Client::new())
}

/// The HTTP client for the remote side.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamClient {
    /// Calls that are not streamed (sign-in, usage, models); also the first of `streams`.
    http: reqwest::Client,
    /// The clients streamed calls are spread over ([`STREAMS_PER_CONNECTION`]).
    streams: Arc<[StreamClient]>,
    backend_url: String,
    auth_url: String,
    proxy: Arc<UpstreamProxy>,
}

impl UpstreamClient {
    /// A client for the configured backend, issuer and proxy.
    pub(crate) fn new(settings: &Settings) -> Self {
        let roots = settings
            .extra_roots
            .as_deref()
            .map(extra_roots)
            .unwrap_or_default();
        Self::with_proxy(
            &settings.backend_url.value,
            &settings.auth_url.value,
            settings.proxy.value.clone(),
            &roots,
        )
    }

    /// A client for explicit base URLs (already normalised), without a proxy.
    #[cfg(test)]
    pub(crate) fn with_urls(backend_url: &str, auth_url: &str) -> Self {
        Self::with_proxy(backend_url, auth_url, UpstreamProxy::default(), &[])
    }

    fn with_proxy(
        backend_url: &str,
        auth_url: &str,
        proxy: UpstreamProxy,
        roots: &[reqwest::Certificate],
    ) -> Self {
        let proxy = Arc::new(proxy);
        let http = build_http(&proxy, roots);
        let streams = (0..STREAM_CONNECTIONS)
            .map(|i| StreamClient {
                http: if i == 0 {
                    http.clone()
                } else {
                    build_http(&proxy, roots)
                },
                open: Arc::default(),
            })
            .collect();
        Self {
            http,
            streams,
            backend_url: backend_url.trim_end_matches('/').to_owned(),
            auth_url: auth_url.trim_end_matches('/').to_owned(),
            proxy,
        }
    }

    /// The client a new stream goes through, and its place there: the first one with room,
    /// else the least busy.
    #[expect(clippy::expect_used, reason = "STREAM_CONNECTIONS is at least one")]
    fn stream_client(&self) -> (&reqwest::Client, StreamPlace) {
        let open = |client: &&StreamClient| client.open.load(Ordering::Relaxed);
        let client = self
            .streams
            .iter()
            .find(|client| open(client) < STREAMS_PER_CONNECTION)
            .or_else(|| self.streams.iter().min_by_key(open))
            .expect("at least one client");
        client.open.fetch_add(1, Ordering::Relaxed);
        (&client.http, StreamPlace(Arc::clone(&client.open)))
    }

    /// The proxy a call to `url` goes through, if any (for error messages).
    pub(crate) fn proxy_for_url(&self, url: &str) -> Option<&ProxyUrl> {
        proxy_for(&self.proxy, &url::Url::parse(url).ok()?)
    }

    /// A failed call to `url`, naming the proxy it went through.
    pub(crate) fn unreachable(&self, url: &str, err: &reqwest::Error) -> UpstreamError {
        UpstreamError::unreachable(url, self.proxy_for_url(url), err)
    }

    /// The underlying client (for the OAuth and status calls).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn responses_url(&self) -> String {
        format!("{}/codex/responses", self.backend_url)
    }

    pub(crate) fn models_url(&self) -> String {
        format!(
            "{}/codex/models?client_version={CODEX_CLIENT_VERSION}",
            self.backend_url
        )
    }

    pub(crate) fn usage_url(&self) -> String {
        format!("{}/wham/usage", self.backend_url)
    }

    pub(crate) fn account_url(&self) -> String {
        format!("{}/accounts/check/v4-2023-04-27", self.backend_url)
    }

    pub(crate) fn authorize_url(&self) -> String {
        format!("{}/oauth/authorize", self.auth_url)
    }

    pub(crate) fn token_url(&self) -> String {
        format!("{}/oauth/token", self.auth_url)
    }

    /// The OAuth issuer base.
    pub(crate) fn auth_url(&self) -> &str {
        &self.auth_url
    }

    /// Headers for a backend call (docs/protocol.md §4.2).
    #[expect(
        clippy::unused_self,
        reason = "the headers belong to this client, whatever they read today"
    )]
    pub(crate) fn backend_headers(
        &self,
        auth: BackendAuth<'_>,
        session_id: Option<&str>,
    ) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", auth.access_token)) {
            let mut value = value;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Ok(value) = HeaderValue::from_str(auth.account_id) {
            headers.insert(HeaderName::from_static("chatgpt-account-id"), value);
        }
        headers.insert(
            HeaderName::from_static("originator"),
            HeaderValue::from_static(ORIGINATOR),
        );
        headers.insert(
            HeaderName::from_static("openai-beta"),
            HeaderValue::from_static("responses=experimental"),
        );
        if let Some(session) = session_id.and_then(|s| HeaderValue::from_str(s).ok()) {
            headers.insert(HeaderName::from_static("session_id"), session);
        }
        headers
    }

    /// The headers of a `POST /codex/responses`: [`UpstreamClient::backend_headers`], and the
    /// JSON body and event stream it sends and asks for.
    pub(crate) fn responses_headers(
        &self,
        auth: BackendAuth<'_>,
        session_id: Option<&str>,
    ) -> HeaderMap {
        let mut headers = self.backend_headers(auth, session_id);
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers
    }

    /// `POST /codex/responses` with `headers` ([`UpstreamClient::responses_headers`]); answers
    /// the streaming response when the status is 2xx.
    pub(crate) async fn post_responses(
        &self,
        headers: HeaderMap,
        body: bytes::Bytes,
    ) -> Result<StreamedResponse, UpstreamError> {
        let url = self.responses_url();
        let (http, place) = self.stream_client();
        let response = http
            .post(&url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|err| self.unreachable(&url, &err))?;
        if response.status().is_success() {
            Ok(StreamedResponse { response, place })
        } else {
            Err(UpstreamError::from_response(response).await)
        }
    }

    /// `GET` a backend JSON endpoint (usage, account, models).
    pub(crate) async fn get_json(
        &self,
        url: &str,
        auth: BackendAuth<'_>,
    ) -> Result<(serde_json::Value, HeaderMap), UpstreamError> {
        let response = self
            .http
            .get(url)
            .headers(self.backend_headers(auth, None))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| self.unreachable(url, &err))?;
        if !response.status().is_success() {
            return Err(UpstreamError::from_response(response).await);
        }
        let headers = response.headers().clone();
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|err| self.unreachable(url, &err))?;
        let value = serde_json::from_str(&text).map_err(|_| UpstreamError::Status {
            status,
            message: "the backend answered something that is not JSON".to_owned(),
            body: None,
            headers: headers.clone(),
        })?;
        Ok((value, headers))
    }
}

/// `codex_cli_rs/<codex version> (<os>; <arch>) codexia/<version>`.
pub(crate) fn user_agent() -> String {
    format!(
        "{ORIGINATOR}/{CODEX_CLIENT_VERSION} ({}; {}) codexia/{}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_are_built_from_the_bases() {
        let client =
            UpstreamClient::with_urls("http://127.0.0.1:9/backend-api/", "http://127.0.0.1:9");
        assert_eq!(
            client.responses_url(),
            "http://127.0.0.1:9/backend-api/codex/responses"
        );
        assert_eq!(
            client.usage_url(),
            "http://127.0.0.1:9/backend-api/wham/usage"
        );
        assert_eq!(
            client.account_url(),
            "http://127.0.0.1:9/backend-api/accounts/check/v4-2023-04-27"
        );
        assert_eq!(client.token_url(), "http://127.0.0.1:9/oauth/token");
        assert!(
            client
                .models_url()
                .ends_with("/backend-api/codex/models?client_version=0.146.0")
        );
    }

    #[test]
    fn streams_spill_over_to_the_next_connection_and_come_back_when_one_ends() {
        let client = UpstreamClient::with_urls("http://x", "http://y");
        let first: *const reqwest::Client = client.stream_client().0;
        let mut held = Vec::new();
        for _ in 0..STREAMS_PER_CONNECTION {
            let (http, place) = client.stream_client();
            assert!(std::ptr::eq(http, first));
            held.push(place);
        }
        let (second, place) = client.stream_client();
        assert!(!std::ptr::eq(second, first));
        drop(place);
        held.pop();
        assert!(std::ptr::eq(client.stream_client().0, first));
        // All full: the least busy one.
        let mut all = Vec::new();
        for _ in 0..STREAM_CONNECTIONS * STREAMS_PER_CONNECTION {
            all.push(client.stream_client().1);
        }
        let busy: Vec<usize> = client
            .streams
            .iter()
            .map(|c| c.open.load(Ordering::Relaxed))
            .collect();
        assert_eq!(busy.iter().sum::<usize>(), held.len() + all.len());
        assert!(
            busy.iter().max().unwrap() - busy.iter().min().unwrap() <= 1,
            "{busy:?}"
        );
    }

    #[test]
    fn backend_headers_carry_token_account_and_originator() {
        let client = UpstreamClient::with_urls("http://x", "http://y");
        let headers = client.backend_headers(
            BackendAuth {
                access_token: "tok",
                account_id: "acc_1",
            },
            Some("sess"),
        );
        assert_eq!(headers["authorization"], "Bearer tok");
        assert!(headers["authorization"].is_sensitive());
        assert_eq!(headers["chatgpt-account-id"], "acc_1");
        assert_eq!(headers["originator"], "codex_cli_rs");
        assert_eq!(headers["openai-beta"], "responses=experimental");
        assert_eq!(headers["session_id"], "sess");
    }

    #[test]
    fn error_messages_come_from_detail_or_error_message() {
        assert_eq!(
            error_message(&json!({"detail":"Store must be set to false"})).unwrap(),
            "Store must be set to false"
        );
        assert_eq!(
            error_message(&json!({"error":{"type":"usage_limit_reached","message":"The usage limit has been reached"}})).unwrap(),
            "The usage limit has been reached"
        );
    }

    fn proxy(no_proxy: &[&str]) -> UpstreamProxy {
        let url = ProxyUrl::parse("socks5h://127.0.0.1:1080").unwrap();
        UpstreamProxy {
            https: Some(url.clone()),
            http: Some(url),
            no_proxy: no_proxy.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn proxied(proxy: &UpstreamProxy, url: &str) -> bool {
        proxy_for(proxy, &url::Url::parse(url).unwrap()).is_some()
    }

    #[test]
    fn no_proxy_lists_hosts_domains_addresses_and_networks() {
        let p = proxy(&[
            "localhost",
            ".internal.example",
            "10.0.0.0/8",
            "::1",
            "192.168.1.7",
        ]);
        for direct in [
            "http://localhost:1/x",
            "https://api.internal.example/",
            "https://internal.example/",
            "http://10.2.3.4/",
            "http://[::1]:9/",
            "http://192.168.1.7/",
        ] {
            assert!(!proxied(&p, direct), "{direct} should be direct");
        }
        for through in [
            "https://chatgpt.com/backend-api",
            "https://auth.openai.com/oauth/token",
            "http://127.0.0.1:9/",
            "http://notinternal.example/",
            "http://11.0.0.1/",
        ] {
            assert!(proxied(&p, through), "{through} should use the proxy");
        }
        assert!(!proxied(&proxy(&["*"]), "https://chatgpt.com/"));
    }

    #[test]
    fn each_scheme_uses_its_own_proxy() {
        let p = UpstreamProxy {
            https: Some(ProxyUrl::parse("http://corp:3128").unwrap()),
            http: None,
            no_proxy: Vec::new(),
        };
        assert!(proxied(&p, "https://chatgpt.com/"));
        assert!(!proxied(&p, "http://chatgpt.com/"));
    }

    #[test]
    fn auth_debug_hides_the_token() {
        let auth = BackendAuth {
            access_token: "secret-token",
            account_id: "acc",
        };
        assert!(!format!("{auth:?}").contains("secret-token"));
    }
}
