//! One faithful fake of the remote side: the OpenAI OAuth issuer **and** the ChatGPT Codex
//! backend, on one axum server at `127.0.0.1:<random port>`, following docs/protocol.md.
//!
//! ```ignore
//! let fake = FakeUpstream::start().await;
//! fake.push_reply(Reply::reasoning("**Plan**").with_text("Hello!"));
//! // point codexia at fake.auth_url() / fake.backend_url(), seed credentials:
//! let tokens = fake.mint_tokens(3600);
//! // … drive codexia …
//! fake.assert_all_responses_requests_valid();
//! assert_eq!(fake.responses_requests()[0].header("chatgpt-account-id"), Some(tokens.account_id.as_str()));
//! ```
//!
//! Routes (all requests are recorded, see [`RecordedRequest`]):
//! - `GET /oauth/authorize`, `POST /oauth/token` (§3): PKCE S256, single-use codes, rotating
//!   single-use refresh tokens (`refresh_token_reused` on reuse), form or JSON bodies.
//! - Device code flow, modelled on the official Codex CLI (`codex-rs/login/src/device_code_auth.rs`)
//!   (docs/protocol.md §3.5): `POST /api/accounts/deviceauth/usercode` `{client_id}` →
//!   `{device_auth_id, user_code, interval}` (interval is a *string*, as the CLI parses it);
//!   `POST /api/accounts/deviceauth/token` `{device_auth_id, user_code}` → 403 while pending, then
//!   200 `{authorization_code, code_challenge, code_verifier}`; the client exchanges that code at
//!   `/oauth/token` with `redirect_uri = {issuer}/deviceauth/callback`. The user approves at
//!   `{issuer}/codex/device` (a tiny form) or the test calls [`FakeUpstream::approve_device_code`].
//! - `POST /backend-api/codex/responses` (§4–§7): auth, validation in the documented order
//!   ([`validate`]), scripted SSE replies ([`Reply`]), injected failures ([`Failure`]),
//!   `x-codex-*` rate-limit headers.
//! - `GET /backend-api/wham/usage`, `GET /backend-api/accounts/check/v4-2023-04-27`,
//!   `GET /backend-api/codex/models`.
//!
//! Invariants: state lives behind one `std::sync::Mutex`, never held across `.await`; no sleeps —
//! pauses are [`Gate`]s the test opens, and waits are on `Notify`.
#![allow(
    clippy::expect_used,
    reason = "test support: a fake that cannot start must fail the test loudly"
)]

mod backend;
mod catalog;
mod events;
mod jwt;
mod oauth;
mod python;
mod reply;
mod tls;
pub mod validate;

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

// Re-exports are the test-support API; not every test build uses every item.
#[allow(unused_imports)]
pub use catalog::{FakeAccount, FakeModel, RateLimits, Window, default_models, format_percent};
#[allow(unused_imports)]
pub use events::*;
#[allow(unused_imports)]
pub use jwt::{decode_jwt_claims, encode_jwt};
#[allow(unused_imports)]
pub use python::{assert_valid_openai_stream_events, python_for_tests, validate_with_openai_sdk};
#[allow(unused_imports)]
pub use reply::{
    CONTEXT_LENGTH_EXCEEDED_MESSAGE, Failure, Gate, Reply, StreamEnd, Terminal, Usage,
    split_into_deltas,
};
pub use tls::test_ca_file;
#[allow(unused_imports)]
pub use validate::{
    ACCEPTED_TOOL_TYPES, REJECTED_PARAMETERS, Rejection, validate_responses_request,
};

use reply::IdSource;

/// The Codex CLI's OAuth client id (§3.1); the only one the fake issuer accepts.
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// Default access-token lifetime (`expires_in`, §3.3: 10 days).
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 864_000;
/// The exact body of a reused refresh token (§3.4), answered with 401.
pub const REFRESH_TOKEN_REUSED_BODY: &str = r#"{"error":{"message":"Your refresh token has already been used to generate a new access token. Please try signing in again.","type":"invalid_request_error","param":null,"code":"refresh_token_reused"}}"#;
/// Scopes the authorize endpoint requires (in any order, §3.1).
pub const REQUIRED_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Path of the responses endpoint.
pub const RESPONSES_PATH: &str = "/backend-api/codex/responses";
/// Path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";

/// Tokens minted by [`FakeUpstream::mint_tokens`] or returned by the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MintedTokens {
    /// JWT access token.
    pub access_token: String,
    /// Registered, unused refresh token.
    pub refresh_token: String,
    /// JWT id token.
    pub id_token: String,
    /// Seconds of validity at minting time (negative: already expired).
    pub expires_in: i64,
    /// Unix seconds (`exp` claim).
    pub expires_at: i64,
    /// `chatgpt_account_id` claim.
    pub account_id: String,
}

/// One request the fake received, as it arrived.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The HTTP version it came over (HTTP/2 only from [`FakeUpstream::start_tls`]).
    pub version: axum::http::Version,
    /// `GET`, `POST`, …
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers with lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Bytes,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    /// The body parsed as `application/x-www-form-urlencoded`, when it is a form.
    pub form: Option<Vec<(String, String)>>,
    /// For `POST /backend-api/codex/responses`: the strict validation result of the body
    /// (independent of auth and injected failures).
    pub validation: Option<Result<(), Rejection>>,
}

impl RecordedRequest {
    /// First value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A decoded form field, or a string field of a JSON body.
    pub fn param(&self, name: &str) -> Option<String> {
        if let Some(form) = &self.form {
            return form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        }
        self.json.as_ref()?.get(name)?.as_str().map(str::to_owned)
    }

    /// The JSON body; panics when the body was not JSON.
    pub fn body_json(&self) -> &Value {
        self.json
            .as_ref()
            .unwrap_or_else(|| panic!("{} {} had no JSON body", self.method, self.path))
    }

    /// Whether this responses request passed strict validation (false for other requests).
    pub fn passed_validation(&self) -> bool {
        matches!(self.validation, Some(Ok(())))
    }
}

/// One refresh-token grant the token endpoint processed, as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// The refresh token the client presented.
    pub presented: String,
    /// HTTP status answered.
    pub status: u16,
    /// The new refresh token, when the grant succeeded (the presented one is then spent).
    pub issued: Option<String>,
    /// The new access token, when the grant succeeded.
    pub issued_access: Option<String>,
    /// Whether the whole response was handed to the connection (the body's last byte taken).
    pub delivered: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum RefreshState {
    Active,
    Consumed,
}

#[derive(Clone, Debug)]
struct AuthCode {
    code_challenge: String,
    redirect_uri: String,
    used: bool,
}

#[derive(Clone, Debug)]
struct DeviceAuth {
    user_code: String,
    approved: bool,
    code_verifier: String,
}

struct FakeState {
    /// The first account: the one `mint_tokens` and sign-ins use unless told otherwise.
    account: FakeAccount,
    /// Further accounts (account id → account and its windows), see [`FakeUpstream::add_account`].
    others: HashMap<String, (FakeAccount, RateLimits)>,
    /// Whose sign-in the authorize flow completes next (`None`: the first account).
    signing_in: Option<String>,
    /// Which account each refresh token belongs to.
    refresh_owner: HashMap<String, String>,
    /// Accounts whose sign-in was revoked: refresh tokens refused, access tokens 401.
    revoked: std::collections::HashSet<String>,
    models: Vec<FakeModel>,
    rate_limits: RateLimits,
    token_lifetime: i64,
    next_id: u64,
    requests: Vec<RecordedRequest>,
    replies: VecDeque<Reply>,
    default_reply: Reply,
    failures: VecDeque<Failure>,
    token_failures: VecDeque<(u16, Value)>,
    token_gates: VecDeque<Gate>,
    token_response_gates: VecDeque<Gate>,
    refresh_outcomes: Vec<RefreshOutcome>,
    abandoned_token_requests: usize,
    authorize_denials: usize,
    auth_codes: HashMap<String, AuthCode>,
    refresh_tokens: HashMap<String, RefreshState>,
    refresh_count: usize,
    devices: HashMap<String, DeviceAuth>,
    device_interval: u64,
    device_auto_approve: bool,
    cache_prefixes: HashMap<String, u64>,
    usage_failure: Option<(u16, Value)>,
    /// Access tokens carry the generation they were minted in; the responses endpoint refuses
    /// older ones ([`FakeUpstream::revoke_access_tokens`]).
    token_generation: u64,
}

impl FakeState {
    /// An account and its windows (the first account's for an unknown id).
    fn view(&self, account_id: &str) -> (FakeAccount, RateLimits) {
        match self.others.get(account_id) {
            Some((account, limits)) => (account.clone(), limits.clone()),
            None => (self.account.clone(), self.rate_limits.clone()),
        }
    }

    fn account_by_id(&self, account_id: &str) -> FakeAccount {
        self.view(account_id).0
    }
}

impl IdSource for FakeState {
    fn next_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        let digest = Sha256::digest(format!("{prefix}:{}", self.next_id));
        format!("{prefix}_{}", hex(&digest[..12]))
    }
}

struct Shared {
    base_url: String,
    state: Mutex<FakeState>,
    recorded: Notify,
    open_streams: AtomicUsize,
    streams_changed: Notify,
    /// For each streamed answer, how long the fake itself took to its first text delta.
    first_text_times: Mutex<Vec<std::time::Duration>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The running fake. Dropping it stops accepting connections.
pub struct FakeUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `base64url(SHA-256(verifier))`, the S256 PKCE challenge.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

impl FakeUpstream {
    /// Starts the fake with the default account ([`FakeAccount::default`], plan `plus`).
    pub async fn start() -> Self {
        Self::start_with_account(FakeAccount::default()).await
    }

    /// Starts the fake for the given account.
    pub async fn start_with_account(account: FakeAccount) -> Self {
        Self::start_inner(account, false).await
    }

    /// Starts the fake over TLS, as the real backend serves: HTTP/2 when the client offers it
    /// (ALPN `h2`, as reqwest does), else HTTP/1.1. Its certificate is for 127.0.0.1, signed by
    /// the test authority [`test_ca_file`], which clients must trust (codexia reads
    /// `SSL_CERT_FILE`). The benchmarks use it with `CODEXIA_BENCH_FAKE=tls`: against the real
    /// backend a gateway holds one HTTP/2 connection, not one HTTP/1.1 connection per stream.
    pub async fn start_tls() -> Self {
        Self::start_inner(FakeAccount::default(), true).await
    }

    async fn start_inner(account: FakeAccount, tls: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake upstream");
        let addr = listener.local_addr().expect("fake upstream address");
        let shared = Arc::new(Shared {
            base_url: format!("{}://{addr}", if tls { "https" } else { "http" }),
            state: Mutex::new(FakeState {
                account,
                others: HashMap::new(),
                signing_in: None,
                refresh_owner: HashMap::new(),
                revoked: std::collections::HashSet::new(),
                models: default_models(),
                rate_limits: RateLimits::default(),
                token_lifetime: DEFAULT_TOKEN_LIFETIME_SECS,
                next_id: 0,
                requests: Vec::new(),
                replies: VecDeque::new(),
                default_reply: Reply::text("OK"),
                failures: VecDeque::new(),
                token_failures: VecDeque::new(),
                token_gates: VecDeque::new(),
                token_response_gates: VecDeque::new(),
                refresh_outcomes: Vec::new(),
                abandoned_token_requests: 0,
                authorize_denials: 0,
                auth_codes: HashMap::new(),
                refresh_tokens: HashMap::new(),
                refresh_count: 0,
                devices: HashMap::new(),
                device_interval: 5,
                device_auto_approve: false,
                cache_prefixes: HashMap::new(),
                usage_failure: None,
                token_generation: 0,
            }),
            recorded: Notify::new(),
            open_streams: AtomicUsize::new(0),
            streams_changed: Notify::new(),
            first_text_times: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&shared));
        // No Nagle: the fake writes one small SSE event at a time, and on loopback each write
        // after the first would wait for the client's delayed ACK (~40 ms) — a stall the real
        // backend does not have and that would swamp every latency measured through the fake.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = if tls {
            tokio::spawn(tls::serve(listener, app))
        } else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            })
        };
        Self {
            addr,
            shared,
            server,
        }
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`Self::start_tls`]).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The OAuth issuer base (what `CODEXIA_AUTH_URL` should be): same as [`Self::base_url`].
    pub fn auth_url(&self) -> String {
        self.base_url()
    }

    /// The ChatGPT backend base (what `CODEXIA_BACKEND_URL` should be): `base_url + "/backend-api"`.
    pub fn backend_url(&self) -> String {
        format!("{}/backend-api", self.base_url())
    }

    /// `backend_url + "/codex/responses"`.
    pub fn responses_url(&self) -> String {
        format!("{}{RESPONSES_PATH}", self.base_url())
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The signed-in account.
    pub fn account(&self) -> FakeAccount {
        self.shared.lock().account.clone()
    }

    /// Replaces the model catalog (and so the models requests may name).
    pub fn set_models(&self, models: Vec<FakeModel>) {
        self.shared.lock().models = models;
    }

    /// The model catalog.
    pub fn models(&self) -> Vec<FakeModel> {
        self.shared.lock().models.clone()
    }

    /// Replaces the rate-limit windows and credits (headers and `wham/usage`).
    pub fn set_rate_limits(&self, limits: RateLimits) {
        self.shared.lock().rate_limits = limits;
    }

    /// The current rate-limit windows and credits.
    pub fn rate_limits(&self) -> RateLimits {
        self.shared.lock().rate_limits.clone()
    }

    /// Sets the used percentages of the primary and secondary windows (creating default
    /// 5 h / weekly windows when absent). A window at 100 % makes responses answer 429.
    pub fn set_usage(&self, primary_used_percent: f64, secondary_used_percent: f64) {
        let mut state = self.shared.lock();
        let defaults = RateLimits::default();
        let limits = &mut state.rate_limits;
        let primary = limits
            .primary
            .get_or_insert(defaults.primary.expect("default primary"));
        primary.used_percent = primary_used_percent;
        let secondary = limits
            .secondary
            .get_or_insert(defaults.secondary.expect("default secondary"));
        secondary.used_percent = secondary_used_percent;
    }

    /// Makes every `GET /backend-api/wham/usage` answer `status` with `body` (`None`: normal).
    pub fn set_usage_failure(&self, failure: Option<(u16, Value)>) {
        self.shared.lock().usage_failure = failure;
    }

    /// `expires_in` of tokens issued by the token endpoint from now on.
    pub fn set_token_lifetime(&self, seconds: i64) {
        self.shared.lock().token_lifetime = seconds;
    }

    /// Adds another account with its own plan and windows: tokens minted or signed in for it
    /// carry its id, and the backend answers its requests with its windows.
    pub fn add_account(&self, account: FakeAccount, limits: RateLimits) {
        let mut state = self.shared.lock();
        state
            .others
            .insert(account.account_id.clone(), (account, limits));
    }

    /// Replaces the windows of an account added with [`Self::add_account`].
    pub fn set_account_rate_limits(&self, account_id: &str, limits: RateLimits) {
        if let Some(entry) = self.shared.lock().others.get_mut(account_id) {
            entry.1 = limits;
        }
    }

    /// Makes the browser or device sign-ins that follow complete as `account_id` (as if another
    /// person signed in at the issuer's page); `None`: the first account.
    pub fn sign_in_as(&self, account_id: Option<&str>) {
        self.shared.lock().signing_in = account_id.map(str::to_owned);
    }

    /// Revokes an account's sign-in: its refresh tokens get `invalid_grant`, its access tokens
    /// 401 at the backend. The other accounts are untouched.
    pub fn revoke_account(&self, account_id: &str) {
        self.shared.lock().revoked.insert(account_id.to_owned());
    }

    /// Successful refresh grants so far for one account.
    pub fn refresh_count_for(&self, account_id: &str) -> usize {
        let state = self.shared.lock();
        state
            .refresh_outcomes
            .iter()
            .filter(|o| {
                o.issued.is_some()
                    && state.refresh_owner.get(&o.presented).map(String::as_str) == Some(account_id)
            })
            .count()
    }

    /// Seeds credentials for `account_id` (see [`Self::mint_tokens`]).
    pub fn mint_tokens_for(&self, account_id: &str, expires_in: i64) -> MintedTokens {
        let mut state = self.shared.lock();
        let account = state.account_by_id(account_id);
        issue_tokens_for(&mut state, &account, expires_in)
    }

    /// Seeds credentials without the browser flow: a signed access token expiring in
    /// `expires_in` seconds (negative = already expired), an id token, and a registered,
    /// unused refresh token.
    pub fn mint_tokens(&self, expires_in: i64) -> MintedTokens {
        let mut state = self.shared.lock();
        issue_tokens(&mut state, expires_in)
    }

    /// Queues a scripted reply for the next responses request that passes auth and validation.
    pub fn push_reply(&self, reply: Reply) {
        self.shared.lock().replies.push_back(reply);
    }

    /// The reply used when the queue is empty (initially `Reply::text("OK")`).
    pub fn set_default_reply(&self, reply: Reply) {
        self.shared.lock().default_reply = reply;
    }

    /// How many pushed replies are still queued.
    pub fn pending_replies(&self) -> usize {
        self.shared.lock().replies.len()
    }

    /// Queued failures not yet answered ([`FakeUpstream::fail_next`]).
    pub fn pending_failures(&self) -> usize {
        self.shared.lock().failures.len()
    }

    /// Makes the next responses request that passes auth and validation fail with `failure`
    /// (queued; one failure per request).
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().failures.push_back(failure);
    }

    /// Makes the next token-endpoint request answer `status` with `body` (e.g. a transient 500).
    pub fn fail_next_token(&self, status: u16, body: Value) {
        self.shared.lock().token_failures.push_back((status, body));
    }

    /// Holds the next token-endpoint request until `gate` opens (before it is processed).
    pub fn gate_next_token(&self, gate: Gate) {
        self.shared.lock().token_gates.push_back(gate);
    }

    /// Holds the response of the next token-endpoint request until `gate` opens: the grant is
    /// processed first (a refresh token is spent and the new set issued), then the answer
    /// waits — the moment a crashed client loses a set for good.
    pub fn gate_next_token_response(&self, gate: Gate) {
        self.shared.lock().token_response_gates.push_back(gate);
    }

    /// Every refresh-token grant processed so far, oldest first.
    pub fn refresh_outcomes(&self) -> Vec<RefreshOutcome> {
        self.shared.lock().refresh_outcomes.clone()
    }

    /// Resolves once `check` holds for the refresh grants processed so far.
    pub async fn wait_for_refresh_outcomes(&self, check: impl Fn(&[RefreshOutcome]) -> bool) {
        loop {
            let notified = self.shared.recorded.notified();
            if check(&self.shared.lock().refresh_outcomes) {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once `count` token requests held by a gate (see [`Self::gate_next_token`])
    /// have been dropped unanswered because their client went away.
    pub async fn wait_for_abandoned_token_requests(&self, count: usize) {
        loop {
            let notified = self.shared.recorded.notified();
            if self.shared.lock().abandoned_token_requests >= count {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once `check` holds for the requests recorded so far.
    pub async fn wait_for(&self, check: impl Fn(&[RecordedRequest]) -> bool) {
        loop {
            let notified = self.shared.recorded.notified();
            if check(&self.shared.lock().requests) {
                return;
            }
            notified.await;
        }
    }

    /// Makes the next authorize request redirect with `error=access_denied`.
    pub fn deny_next_authorize(&self) {
        self.shared.lock().authorize_denials += 1;
    }

    /// Approves a pending device code (as if the user entered it); false if unknown.
    pub fn approve_device_code(&self, user_code: &str) -> bool {
        let mut state = self.shared.lock();
        let found = state
            .devices
            .values_mut()
            .find(|d| d.user_code == user_code);
        found.map(|d| d.approved = true).is_some()
    }

    /// Approve every device code as soon as it is issued.
    pub fn auto_approve_device_codes(&self, on: bool) {
        self.shared.lock().device_auto_approve = on;
    }

    /// The `interval` (seconds) handed out with device codes (default 5).
    pub fn set_device_poll_interval(&self, seconds: u64) {
        self.shared.lock().device_interval = seconds;
    }

    /// User codes issued so far, oldest first.
    pub fn device_user_codes(&self) -> Vec<String> {
        let state = self.shared.lock();
        let mut codes: Vec<(String, String)> = state
            .devices
            .iter()
            .map(|(id, d)| (id.clone(), d.user_code.clone()))
            .collect();
        codes.sort();
        codes.into_iter().map(|(_, code)| code).collect()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests to one path.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// `POST /backend-api/codex/responses` requests.
    pub fn responses_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(RESPONSES_PATH)
    }

    /// `POST /oauth/token` requests.
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(TOKEN_PATH)
    }

    /// Successful refresh-token grants so far.
    pub fn token_refresh_count(&self) -> usize {
        self.shared.lock().refresh_count
    }

    /// The fake's own time for each streamed answer since the last call: from the start of
    /// its handling of the request (before the body is read) to handing its first
    /// `response.output_text.delta` to the connection. The benchmark takes it out of the time
    /// a client waits, so that what the fake itself spends is not counted as the gateway's.
    pub fn take_first_text_times(&self) -> Vec<std::time::Duration> {
        std::mem::take(
            &mut self
                .shared
                .first_text_times
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Panics, listing the failures, unless every recorded responses request passed strict
    /// validation.
    pub fn assert_all_responses_requests_valid(&self) {
        let failures: Vec<String> = self
            .responses_requests()
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match &r.validation {
                Some(Err(rejection)) => Some(format!(
                    "request #{i}: {} {}",
                    rejection.status, rejection.body
                )),
                _ => None,
            })
            .collect();
        assert!(
            failures.is_empty(),
            "responses requests failed upstream validation:\n{}",
            failures.join("\n")
        );
    }

    /// Revokes every access token minted so far: the responses endpoint answers them 401 (as
    /// for a tampered token) until the client refreshes.
    pub fn revoke_access_tokens(&self) {
        self.shared.lock().token_generation += 1;
    }

    /// Forgets the recorded requests (a long soak would otherwise keep millions of them);
    /// counters such as [`FakeUpstream::token_refresh_count`] are kept.
    pub fn forget_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Resolves once at least `count` requests to `path` have been recorded.
    pub async fn wait_for_requests(&self, path: &str, count: usize) {
        loop {
            let notified = self.shared.recorded.notified();
            if self
                .shared
                .lock()
                .requests
                .iter()
                .filter(|r| r.path == path)
                .count()
                >= count
            {
                return;
            }
            notified.await;
        }
    }

    /// SSE bodies currently being written (including ones held open after completion).
    pub fn open_streams(&self) -> usize {
        self.shared.open_streams.load(Ordering::SeqCst)
    }

    /// Resolves once exactly `count` SSE bodies are open.
    pub async fn wait_for_open_streams(&self, count: usize) {
        loop {
            let notified = self.shared.streams_changed.notified();
            if self.open_streams() == count {
                return;
            }
            notified.await;
        }
    }

    /// An authorize URL for this issuer with the documented parameters (§3.2).
    pub fn authorize_url(&self, redirect_uri: &str, code_challenge: &str, state: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", CLIENT_ID)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &REQUIRED_SCOPES.join(" "))
            .append_pair("code_challenge", code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", state)
            .append_pair("id_token_add_organizations", "true")
            .append_pair("codex_cli_simplified_flow", "true")
            .append_pair("originator", "codexia")
            .finish();
        format!("{}/oauth/authorize?{query}", self.base_url())
    }
}

fn issue_tokens(state: &mut FakeState, expires_in: i64) -> MintedTokens {
    let account = state.account.clone();
    issue_tokens_for(state, &account, expires_in)
}

fn issue_tokens_for(state: &mut FakeState, account: &FakeAccount, expires_in: i64) -> MintedTokens {
    let iat = now();
    let exp = iat + expires_in;
    let account = account.clone();
    let auth_claim = json!({
        "chatgpt_account_id": account.account_id,
        "chatgpt_plan_type": account.plan_type,
        "chatgpt_user_id": account.user_id,
        "user_id": account.user_id,
    });
    let access_claims = json!({
        "aud": ["https://api.openai.com/v1"],
        "client_id": CLIENT_ID,
        "exp": exp,
        "iat": iat,
        "iss": "https://auth.openai.com",
        "jti": state.next_id("jti"),
        "fake_generation": state.token_generation,
        "scp": REQUIRED_SCOPES,
        "sub": account.user_id,
        "https://api.openai.com/auth": auth_claim,
        "https://api.openai.com/profile": {"email": account.email, "email_verified": true},
    });
    let mut id_auth_claim = auth_claim.clone();
    id_auth_claim["chatgpt_subscription_active_until"] = json!("2026-05-11T15:16:00+00:00");
    id_auth_claim["organizations"] =
        json!([{"id": "org-fake0001", "is_default": true, "role": "owner", "title": "Personal"}]);
    let id_claims = json!({
        "aud": [CLIENT_ID],
        "auth_provider": "password",
        "auth_time": iat,
        "email": account.email,
        "email_verified": true,
        "exp": exp,
        "iat": iat,
        "iss": "https://auth.openai.com",
        "jti": state.next_id("jti"),
        "sub": account.user_id,
        "https://api.openai.com/auth": id_auth_claim,
        "https://api.openai.com/profile": {"email": account.email, "email_verified": true},
    });
    let refresh_token = state.next_id("rt");
    state
        .refresh_tokens
        .insert(refresh_token.clone(), RefreshState::Active);
    state
        .refresh_owner
        .insert(refresh_token.clone(), account.account_id.clone());
    MintedTokens {
        access_token: encode_jwt(&access_claims),
        refresh_token,
        id_token: encode_jwt(&id_claims),
        expires_in,
        expires_at: exp,
        account_id: account.account_id,
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn parse_form(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn record(parts: &axum::http::request::Parts, body: &Bytes) -> RecordedRequest {
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json = serde_json::from_slice::<Value>(body).ok();
    let form = content_type
        .starts_with("application/x-www-form-urlencoded")
        .then(|| parse_form(body));
    RecordedRequest {
        version: parts.version,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body: body.clone(),
        json,
        form,
        validation: None,
    }
}

async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let arrived = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut recorded = record(&parts, &body);
    let route = (parts.method.clone(), parts.uri.path().to_owned());
    if route.0 == Method::POST && route.1 == RESPONSES_PATH {
        let models = shared.lock().models.clone();
        recorded.validation = Some(validate::validate_responses_body(&body, &models).map(|_| ()));
    }
    shared.lock().requests.push(recorded.clone());
    shared.recorded.notify_waiters();

    match (route.0, route.1.as_str()) {
        (Method::GET, "/oauth/authorize") => oauth::authorize(&shared, &recorded),
        (Method::POST, TOKEN_PATH) => oauth::token(&shared, &recorded).await,
        (Method::POST, "/api/accounts/deviceauth/usercode") => {
            oauth::device_usercode(&shared, &recorded)
        }
        (Method::POST, "/api/accounts/deviceauth/token") => oauth::device_token(&shared, &recorded),
        (Method::GET | Method::POST, "/codex/device") => oauth::device_page(&shared, &recorded),
        (Method::POST, RESPONSES_PATH) => {
            backend::responses(&shared, &parts.headers, &recorded, arrived).await
        }
        (Method::GET, "/backend-api/wham/usage") => backend::with_auth(
            &shared,
            &parts.headers,
            |state, account, limits| match &state.usage_failure {
                Some((status, body)) => json_response(*status, body),
                None => json_response(200, &limits.usage_json(account, now())),
            },
        ),
        (Method::GET, "/backend-api/accounts/check/v4-2023-04-27") => {
            backend::with_auth(&shared, &parts.headers, |_, account, _| {
                json_response(
                    200,
                    &catalog::accounts_check_json(account, "2026-05-11T15:16:00+00:00"),
                )
            })
        }
        (Method::GET, "/backend-api/codex/models") => {
            backend::with_auth(&shared, &parts.headers, |state, _, _| {
                let models: Vec<Value> = state
                    .models
                    .iter()
                    .enumerate()
                    .map(|(i, m)| m.to_json(i))
                    .collect();
                let mut response = json_response(200, &json!({ "models": models }));
                response.headers_mut().insert(
                    "x-models-etag",
                    HeaderValue::from_static("W/\"fake-models-1\""),
                );
                response.headers_mut().insert(
                    header::ETAG,
                    HeaderValue::from_static("W/\"fake-models-1\""),
                );
                response
            })
        }
        _ => json_response(404, &json!({"detail": "Not Found"})),
    }
}
