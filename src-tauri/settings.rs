//! Resolved settings: precedence (command-line flag > environment variable >
//! `$CODEXIA_HOME/config.json` > built-in default) is decided here and nowhere else.
//!
//! The process environment is passed in as an [`Env`] value, so tests never mutate the
//! real environment and every source of a value is recorded for `codexia config show`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Names of every environment variable codexia reads.
pub(crate) struct EnvVars;

impl EnvVars {
    pub(crate) const HOME: &'static str = "CODEXIA_HOME";
    pub(crate) const BIND: &'static str = "CODEXIA_BIND";
    pub(crate) const API_KEY: &'static str = "CODEXIA_API_KEY";
    pub(crate) const MODELS: &'static str = "CODEXIA_MODELS";
    pub(crate) const EXTRA_MODELS: &'static str = "CODEXIA_EXTRA_MODELS";
    pub(crate) const MODELS_FILE: &'static str = "CODEXIA_MODELS_FILE";
    pub(crate) const MODEL_FALLBACK: &'static str = "CODEXIA_MODEL_FALLBACK";
    pub(crate) const AUTH_FILE: &'static str = "CODEXIA_AUTH_FILE";
    pub(crate) const CREDENTIAL_STORE: &'static str = "CODEXIA_CREDENTIAL_STORE";
    pub(crate) const KEYCHAIN_SERVICE: &'static str = "CODEXIA_KEYCHAIN_SERVICE";
    pub(crate) const SWITCH_WHEN_EXHAUSTED: &'static str = "CODEXIA_SWITCH_WHEN_EXHAUSTED";
    pub(crate) const AUTH_URL: &'static str = "CODEXIA_AUTH_URL";
    pub(crate) const BACKEND_URL: &'static str = "CODEXIA_BACKEND_URL";
    pub(crate) const LOG: &'static str = "CODEXIA_LOG";
    pub(crate) const UPSTREAM_FIRST_BYTE_TIMEOUT: &'static str =
        "CODEXIA_UPSTREAM_FIRST_BYTE_TIMEOUT";
    pub(crate) const PROXY: &'static str = "CODEXIA_PROXY";
    pub(crate) const MAX_BODY_SIZE: &'static str = "CODEXIA_MAX_BODY_SIZE";
    pub(crate) const BODY_BUDGET: &'static str = "CODEXIA_BODY_BUDGET";
    pub(crate) const HEADER_READ_TIMEOUT: &'static str = "CODEXIA_HEADER_READ_TIMEOUT";
    pub(crate) const IDLE_TIMEOUT: &'static str = "CODEXIA_IDLE_TIMEOUT";
    pub(crate) const MAX_CONNECTIONS: &'static str = "CODEXIA_MAX_CONNECTIONS";
    pub(crate) const INSPECTOR_MEMORY_MB: &'static str = "CODEXIA_INSPECTOR_MEMORY_MB";
    pub(crate) const CAPTURE_DIR: &'static str = "CODEXIA_CAPTURE_DIR";
    pub(crate) const LOG_FILE_SIZE: &'static str = "CODEXIA_LOG_FILE_SIZE";
    pub(crate) const RUST_LOG: &'static str = "RUST_LOG";
}

/// Default address of the gateway.
pub(crate) const DEFAULT_BIND: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 14550);
/// Default days of usage history kept (`usage_retention_days`).
pub(crate) const DEFAULT_USAGE_RETENTION_DAYS: u32 = 90;
/// Default size of one log file in `$CODEXIA_HOME/logs/` before it is rotated (`log_file_size`).
pub(crate) const DEFAULT_LOG_FILE_SIZE: usize = 5 * 1024 * 1024;
/// Default keychain service name.
pub(crate) const DEFAULT_KEYCHAIN_SERVICE: &str = "codexia";
/// Default OAuth issuer.
pub(crate) const DEFAULT_AUTH_URL: &str = "https://auth.openai.com";
/// Default ChatGPT backend base (responses at `/codex/responses`).
pub(crate) const DEFAULT_BACKEND_URL: &str = "https://chatgpt.com/backend-api";

/// Default longest wait for the backend's response headers: the backend starts its stream
/// within seconds, even before long reasoning, so minutes of silence mean it is stuck.
pub(crate) const DEFAULT_UPSTREAM_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(180);

/// Default largest request body: Anthropic's own limit for a Messages request is 32 MB, so
/// nothing Claude Code can send to Anthropic is larger (a request of 20 images at their 3.75 MB
/// limit, base64-encoded, is ~25 MB; a 32 MB PDF cannot be sent at all). The text of a 1M-token
/// context is ~4 MB.
pub(crate) const DEFAULT_MAX_BODY_SIZE: usize = 32 * 1024 * 1024;
/// Default memory budget for request bodies read or held at once: four of the largest
/// requests, or a hundred ordinary Claude Code turns (~1 MB each).
pub(crate) const DEFAULT_BODY_BUDGET: usize = 128 * 1024 * 1024;
/// Default longest time from a request's first byte to the end of its headers (hyper's own
/// default, and within nginx's and Apache's); real clients send headers in one write.
pub(crate) const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default longest time a keep-alive connection may stay without a request: longer than the
/// clients' own idle limits (Node's 4 s, httpx's 5 s) so they close first, short enough that
/// abandoned connections do not pile up.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on open connections: far above what a few Claude Code sessions with subagents
/// open, far below the usual 1024 file descriptors.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Default memory of the request inspector, in MiB: dozens of ordinary Claude Code turns (both
/// sides), or the last five turns of a 600 KB conversation. It stays resident once filled, so
/// it is kept small; 32 MiB left `codexia serve` ~25 MB larger after load (`make memory-serve`).
pub(crate) const DEFAULT_INSPECTOR_MEMORY_MB: u64 = 8;
/// The largest `inspector_memory_mb` accepted.
pub(crate) const MAX_INSPECTOR_MEMORY_MB: u64 = 4096;

/// A snapshot of environment variables (the process's, or a test's own map).
#[derive(Debug, Clone, Default)]
pub(crate) struct Env(BTreeMap<String, String>);

impl Env {
    /// The environment of this process.
    pub(crate) fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    /// An environment made of the given pairs only.
    #[cfg(test)]
    pub(crate) fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// A variable's value; an empty value counts as unset.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Source {
    Flag,
    Env,
    File,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::File => "config.json",
            Source::Default => "default",
        })
    }
}

/// A value with the source it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Sourced<T> {
    fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

/// The local API key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; blank keys are rejected by the caller.
    pub(crate) fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The secret itself, for comparison and for `codexia claude`.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// A new random key: `cdx-` and 32 random bytes in base64url.
    pub(crate) fn generate() -> std::io::Result<Self> {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self(format!(
            "cdx-{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// A masked form safe to print: the first four characters and the length.
    pub(crate) fn masked(&self) -> String {
        let head: String = self.0.chars().take(4).collect();
        format!("{head}… ({} characters)", self.0.chars().count())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Which models the gateway serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelList {
    /// The backend's live catalog when it answers, else the built-in list.
    Catalog,
    /// Exactly these ids.
    Explicit(Vec<String>),
}

/// Where credentials are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CredentialStoreKind {
    /// The OS keychain when one answers, else the file.
    Auto,
    /// The OS keychain only; fails without one.
    Keychain,
    /// The credentials file only.
    File,
}

impl CredentialStoreKind {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "keychain" | "keyring" => Some(Self::Keychain),
            "file" => Some(Self::File),
            _ => None,
        }
    }
}

/// The contents of `$CODEXIA_HOME/config.json`. Every field is optional; unknown fields are an
/// error so that a typo does not silently do nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_fallback: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_aliases: Option<BTreeMap<String, String>>,
    /// Browser origins allowed to call the gateway (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_store: Option<CredentialStoreKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Seconds to wait for the backend's response headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_first_byte_timeout: Option<u64>,
    /// With several accounts: move new conversations to the next account with room when the
    /// active one reaches its usage limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switch_when_exhausted: Option<bool>,
    /// Named API keys (name → key, or name → `{"key": …, "account": …, "admin": true}`),
    /// accepted besides `api_key`; a request's key name is its client in the usage ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_keys: Option<BTreeMap<String, NamedKeyEntry>>,
    /// Days of usage history kept in `usage.db`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_retention_days: Option<u32>,
    /// The proxy for every call to the backend and the sign-in server (`none`: no proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Largest request body: bytes, or a number with `KiB` / `MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<String>,
    /// Size of one log file before it is rotated: bytes, or a number with `KiB` / `MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file_size: Option<String>,
    /// Request bodies read or held at once: bytes, or a number with `KiB` / `MiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_budget: Option<String>,
    /// Seconds a client may take to send a request's headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_read_timeout: Option<u64>,
    /// Seconds a keep-alive connection may stay without a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u64>,
    /// Connections open at once; more wait to be accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    /// MiB of memory for the request inspector's captures (0: no capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspector_memory_mb: Option<u64>,
    /// Where `serve` writes one capture file per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_dir: Option<PathBuf>,
}

/// One entry of `api_keys`: the key alone, or `{"key": "…", "account": "…", "admin": true}`
/// where `account` (short name, email or account id) serves that key's requests and `admin`
/// lets the key read the request inspector's captures from another machine; both optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum NamedKeyEntry {
    Key(String),
    Full(NamedKeyObject),
}

/// The object form of an `api_keys` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedKeyObject {
    pub key: String,
    /// The signed-in account that serves this key's requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// May read `GET /v1/requests…` from any address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

impl NamedKeyEntry {
    fn key(&self) -> &str {
        match self {
            Self::Key(key) | Self::Full(NamedKeyObject { key, .. }) => key,
        }
    }

    fn is_admin(&self) -> bool {
        matches!(self, Self::Full(NamedKeyObject { admin: true, .. }))
    }

    fn account(&self) -> Option<&str> {
        match self {
            Self::Key(_) => None,
            Self::Full(NamedKeyObject { account, .. }) => account.as_deref(),
        }
    }
}

impl From<&str> for NamedKeyEntry {
    fn from(key: &str) -> Self {
        Self::Key(key.to_owned())
    }
}

impl ConfigFile {
    /// Reads the file; a missing file is an empty configuration.
    pub(crate) fn load(path: &Path) -> Result<Self, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(err) => {
                return Err(SettingsError::ConfigFile {
                    path: path.to_owned(),
                    message: err.to_string(),
                });
            }
        };
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(&text).map_err(|err| SettingsError::ConfigFile {
            path: path.to_owned(),
            message: err.to_string(),
        })
    }
}

impl ConfigFile {
    /// Writes the file with [`crate::files::write_private`] (mode 0600, because it may hold
    /// the API key), after checking the home directory it lives in.
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        if let Some(home) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::files::check_home(home)?;
        }
        crate::files::write_private(path, text.as_bytes())
    }
}

/// Values given on the command line (`serve`, `daemon install`, …). `None` means "not given".
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub bind: Option<String>,
    pub api_key: Option<String>,
    pub models: Option<String>,
    pub model_fallback: Option<String>,
    pub auth_file: Option<PathBuf>,
    pub log: Option<String>,
    pub proxy: Option<String>,
    /// `serve --capture DIR`.
    pub capture_dir: Option<PathBuf>,
}

/// A setting that could not be resolved. The message names where the bad value came from.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SettingsError {
    #[error("{path} is not valid configuration: {message}")]
    ConfigFile { path: PathBuf, message: String },
    #[error("environment variable {var} is invalid: {message}")]
    Env { var: &'static str, message: String },
    #[error("{flag} is invalid: {message}")]
    Flag { flag: &'static str, message: String },
    #[error("the {field} field of {path} is invalid: {message}")]
    ConfigField {
        path: PathBuf,
        field: &'static str,
        message: String,
    },
    #[error("models file {path} (from {var}) is invalid: {message}")]
    ModelsFile {
        path: PathBuf,
        var: &'static str,
        message: String,
    },
    #[error("cannot find a home directory; set {var}")]
    NoHome { var: &'static str },
    #[error(transparent)]
    UnsafeHome(#[from] crate::files::UnsafeHome),
}

/// Every setting, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `$CODEXIA_HOME` (default `~/.codexia`).
    pub home: PathBuf,
    pub bind: Sourced<SocketAddr>,
    pub api_key: Sourced<Option<ApiKey>>,
    pub models: Sourced<ModelList>,
    pub extra_models: Sourced<Vec<String>>,
    pub model_fallback: Sourced<Option<String>>,
    pub model_aliases: Sourced<BTreeMap<String, String>>,
    pub allowed_origins: Sourced<Vec<String>>,
    pub auth_file: Sourced<Option<PathBuf>>,
    pub credential_store: Sourced<CredentialStoreKind>,
    /// The keychain service the credentials are kept under (two setups sharing one keychain
    /// keep apart by giving one of them another name).
    pub keychain_service: Sourced<String>,
    pub auth_url: Sourced<String>,
    pub backend_url: Sourced<String>,
    pub log: Sourced<String>,
    /// Longest wait for the backend's response headers; past it the caller gets a timeout error.
    pub upstream_first_byte_timeout: Sourced<Duration>,
    /// Named API keys (name → key), accepted besides `api_key`.
    pub api_keys: Sourced<BTreeMap<String, ApiKey>>,
    /// The account bound to a named key (key name → short name, email or account id).
    pub key_accounts: BTreeMap<String, String>,
    /// Whether new conversations move to another account when the active one is exhausted.
    pub switch_when_exhausted: Sourced<bool>,
    /// Days of usage history kept in `usage.db`.
    pub usage_retention_days: Sourced<u32>,
    /// How calls to the backend and the sign-in server reach them.
    pub proxy: Sourced<UpstreamProxy>,
    /// Largest request body in bytes; larger ones are answered 413.
    pub max_body_size: Sourced<usize>,
    /// Bytes of request bodies read or held at once; a request that does not fit is answered
    /// 503 with `retry-after`. Never below `max_body_size`.
    pub body_budget: Sourced<usize>,
    /// Longest time from a request's first byte to the end of its headers.
    pub header_read_timeout: Sourced<Duration>,
    /// Longest time a connection may stay open without a request.
    pub idle_timeout: Sourced<Duration>,
    /// Connections open at once.
    pub max_connections: Sourced<usize>,
    /// Names of the `api_keys` marked admin: they may read the inspector from anywhere.
    pub admin_keys: Sourced<std::collections::BTreeSet<String>>,
    /// Bytes of memory for the request inspector's captures (0: off).
    pub inspector_memory: Sourced<usize>,
    /// Where each finished request is also written, one file each.
    pub capture_dir: Sourced<Option<PathBuf>>,
    /// Bytes of one log file in `$CODEXIA_HOME/logs/` before it is rotated.
    pub log_file_size: Sourced<usize>,
    /// More certificate authorities to trust for the backend and the sign-in server, besides
    /// the built-in ones: a PEM file named by `SSL_CERT_FILE`, as curl, git and Python read it
    /// (a proxy that inspects TLS signs with its own authority).
    pub extra_roots: Option<PathBuf>,
}

/// The standard proxy variables, in the order they are read (upper case first, as curl and
/// reqwest do): `ALL_PROXY` applies when the scheme's own variable is unset.
const HTTPS_PROXY_VARS: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];
const HTTP_PROXY_VARS: [&str; 4] = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];
const NO_PROXY_VARS: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// A proxy address: `http://`, `https://`, `socks5://` (names resolved here) or `socks5h://`
/// (names resolved by the proxy). It may carry credentials, so `Display` and `Debug` show
/// only the scheme, host and port.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyUrl(url::Url);

impl ProxyUrl {
    /// Parses a proxy address; one without a scheme is an HTTP proxy (as curl reads it).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let full = if text.contains("://") {
            text.to_owned()
        } else {
            format!("http://{text}")
        };
        let url = url::Url::parse(&full).map_err(|err| format!("{text:?} is not a URL: {err}"))?;
        if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
            return Err(format!(
                "{text:?} is not a proxy URL: the scheme must be http, https, socks5 or socks5h"
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{text:?} names no proxy host"));
        }
        Ok(Self(url))
    }

    /// The whole URL, credentials included (for the HTTP client only).
    pub(crate) fn expose(&self) -> &url::Url {
        &self.0
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        write!(
            f,
            "{}://{}",
            url.scheme(),
            url.host_str().unwrap_or_default()
        )?;
        match url.port_or_known_default() {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// Which proxy, if any, each upstream call goes through. Only these values decide it: the
/// HTTP client never reads the process environment itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UpstreamProxy {
    /// For `https://` destinations (the real backend and issuer).
    pub https: Option<ProxyUrl>,
    /// For `http://` destinations.
    pub http: Option<ProxyUrl>,
    /// `NO_PROXY`: hosts, domains (with their subdomains), IP addresses or networks, or `*`,
    /// comma-separated, that are reached directly.
    pub no_proxy: Vec<String>,
}

impl UpstreamProxy {
    /// One proxy for every destination, except those `NO_PROXY` lists.
    fn single(url: ProxyUrl, env: &Env) -> Self {
        Self {
            https: Some(url.clone()),
            http: Some(url),
            no_proxy: no_proxy_list(env),
        }
    }

    /// The setting (`--proxy`, `CODEXIA_PROXY`, config.json `proxy`): a URL, or `none`.
    fn parse_setting(text: &str, env: &Env) -> Result<Self, String> {
        if matches!(
            text.trim().to_ascii_lowercase().as_str(),
            "none" | "off" | "direct"
        ) {
            return Ok(Self::default());
        }
        ProxyUrl::parse(text).map(|url| Self::single(url, env))
    }

    /// The standard variables, when any of them names a proxy.
    fn from_standard_env(env: &Env) -> Option<Result<Self, SettingsError>> {
        let first = |vars: [&'static str; 4]| {
            vars.into_iter()
                .find_map(|var| env.get(var).map(|value| (var, value)))
        };
        let parse = |found: Option<(&'static str, &str)>| {
            found
                .map(|(var, value)| {
                    ProxyUrl::parse(value).map_err(|message| SettingsError::Env { var, message })
                })
                .transpose()
        };
        let https = first(HTTPS_PROXY_VARS);
        let http = first(HTTP_PROXY_VARS);
        if https.is_none() && http.is_none() {
            return None;
        }
        Some((|| {
            Ok(Self {
                https: parse(https)?,
                http: parse(http)?,
                no_proxy: no_proxy_list(env),
            })
        })())
    }

    /// Whether no destination goes through a proxy.
    pub(crate) fn is_direct(&self) -> bool {
        self.https.is_none() && self.http.is_none()
    }
}

impl fmt::Display for UpstreamProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.https, &self.http) {
            (None, None) => f.write_str("none")?,
            (Some(https), Some(http)) if https == http => write!(f, "{https}")?,
            (https, http) => {
                let show = |p: &Option<ProxyUrl>| {
                    p.as_ref().map_or("none".to_owned(), ToString::to_string)
                };
                write!(f, "https: {}, http: {}", show(https), show(http))?;
            }
        }
        if !self.is_direct() && !self.no_proxy.is_empty() {
            write!(f, " (not for {})", self.no_proxy.join(","))?;
        }
        Ok(())
    }
}

fn no_proxy_list(env: &Env) -> Vec<String> {
    NO_PROXY_VARS
        .into_iter()
        .find_map(|var| env.get(var))
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One setting resolved by precedence. Each layer is offered in order (flag, environment,
/// config.json); the first that holds a value is parsed and wins, later layers are not even
/// parsed, and a bad value is reported naming its layer. Nothing held: the default.
#[must_use]
struct Pick<'p, T> {
    config_path: &'p Path,
    found: Option<Result<Sourced<T>, SettingsError>>,
}

impl<'p, T> Pick<'p, T> {
    fn new(config_path: &'p Path) -> Self {
        Self {
            config_path,
            found: None,
        }
    }

    fn offer<V>(
        mut self,
        value: Option<V>,
        source: Source,
        parse: impl FnOnce(V) -> Result<T, String>,
        error: impl FnOnce(String) -> SettingsError,
    ) -> Self {
        if self.found.is_none()
            && let Some(value) = value
        {
            self.found = Some(
                parse(value)
                    .map(|value| Sourced::new(value, source))
                    .map_err(error),
            );
        }
        self
    }

    /// A command-line flag (`flag` names it in errors).
    fn flag<V>(
        self,
        flag: &'static str,
        value: Option<V>,
        parse: impl FnOnce(V) -> Result<T, String>,
    ) -> Self {
        self.offer(value, Source::Flag, parse, |message| SettingsError::Flag {
            flag,
            message,
        })
    }

    /// An environment variable; an empty one counts as unset.
    fn env(
        self,
        env: &Env,
        var: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Self {
        self.offer(env.get(var), Source::Env, parse, |message| {
            SettingsError::Env { var, message }
        })
    }

    /// A value that an environment variable led to and that is already checked (the lists of
    /// `CODEXIA_MODELS_FILE`).
    fn env_checked(self, value: Option<T>) -> Self {
        self.offer(value, Source::Env, Ok, |message| SettingsError::Env {
            var: EnvVars::MODELS_FILE,
            message,
        })
    }

    /// A value read from several variables that is already parsed (the standard proxy
    /// variables, whose errors name their own variable).
    fn env_parsed(self, value: Option<Result<T, SettingsError>>) -> Self {
        match value {
            Some(Err(err)) if self.found.is_none() => Self {
                found: Some(Err(err)),
                ..self
            },
            Some(Ok(value)) => {
                self.offer(Some(value), Source::Env, Ok, |message| SettingsError::Env {
                    var: "HTTPS_PROXY",
                    message,
                })
            }
            _ => self,
        }
    }

    /// A field of config.json.
    fn file<V>(
        self,
        field: &'static str,
        value: Option<V>,
        parse: impl FnOnce(V) -> Result<T, String>,
    ) -> Self {
        let path = self.config_path.to_owned();
        self.offer(value, Source::File, parse, |message| {
            SettingsError::ConfigField {
                path,
                field,
                message,
            }
        })
    }

    fn or(self, default: T) -> Result<Sourced<T>, SettingsError> {
        self.found
            .unwrap_or_else(|| Ok(Sourced::new(default, Source::Default)))
    }
}

impl Settings {
    /// `$CODEXIA_HOME`, or `~/.codexia`.
    pub(crate) fn home_dir(env: &Env) -> Result<PathBuf, SettingsError> {
        if let Some(home) = env.get(EnvVars::HOME) {
            return Ok(PathBuf::from(home));
        }
        env.get("HOME")
            .map(PathBuf::from)
            .or_else(dirs::home_dir)
            .map(|home| home.join(".codexia"))
            .ok_or(SettingsError::NoHome { var: EnvVars::HOME })
    }

    /// Path of `config.json` for a home directory.
    pub(crate) fn config_path(home: &Path) -> PathBuf {
        home.join("config.json")
    }

    /// Path of `config.json` of these settings.
    pub(crate) fn config_file(&self) -> PathBuf {
        Self::config_path(&self.home)
    }

    /// Resolves every setting from flags, environment and `config.json`, after checking that
    /// the home directory is safe to read from ([`crate::files::check_home`]).
    pub(crate) fn resolve(flags: &Overrides, env: &Env) -> Result<Self, SettingsError> {
        let home = Self::home_dir(env)?;
        crate::files::check_home(&home)?;
        let config_path = Self::config_path(&home);
        let file = ConfigFile::load(&config_path)?;
        Self::resolve_with_file(flags, env, home, &file)
    }

    /// Resolves with an already loaded configuration file.
    pub(crate) fn resolve_with_file(
        flags: &Overrides,
        env: &Env,
        home: PathBuf,
        file: &ConfigFile,
    ) -> Result<Self, SettingsError> {
        let config_path = Self::config_path(&home);

        let bind = Pick::new(&config_path)
            .flag("--bind", flags.bind.as_deref(), parse_bind)
            .env(env, EnvVars::BIND, parse_bind)
            .file("bind", file.bind.as_deref(), parse_bind)
            .or(DEFAULT_BIND)?;

        let some_key = |text: &str| parse_api_key(text).map(Some);
        let api_key = Pick::new(&config_path)
            .flag("--api-key", flags.api_key.as_deref(), some_key)
            .env(env, EnvVars::API_KEY, some_key)
            .file("api_key", file.api_key.as_deref(), some_key)
            .or(None)?;

        // Read whenever it is named, so that a broken file is reported even when a flag wins.
        let models_file = match env.get(EnvVars::MODELS_FILE) {
            Some(path) => Some(load_models_file(Path::new(path))?),
            None => None,
        };
        let (file_models, file_extra_models) = models_file
            .map(|f| (f.models, f.extra_models))
            .unwrap_or_default();
        let explicit = |text: &str| parse_model_list(text).map(ModelList::Explicit);
        let models = Pick::new(&config_path)
            .flag("--models", flags.models.as_deref(), explicit)
            .env(env, EnvVars::MODELS, explicit)
            .env_checked(file_models.map(ModelList::Explicit))
            .file("models", file.models.as_ref(), |list| {
                clean_model_ids(list).map(ModelList::Explicit)
            })
            .or(ModelList::Catalog)?;
        let extra_models = Pick::new(&config_path)
            .env(env, EnvVars::EXTRA_MODELS, parse_model_list)
            .env_checked(file_extra_models)
            .file("extra_models", file.extra_models.as_ref(), clean_model_ids)
            .or(Vec::new())?;

        let some_model = |text: &str| parse_model_id(text).map(Some);
        let model_fallback = Pick::new(&config_path)
            .flag(
                "--model-fallback",
                flags.model_fallback.as_deref(),
                some_model,
            )
            .env(env, EnvVars::MODEL_FALLBACK, some_model)
            .file("model_fallback", file.model_fallback.as_deref(), some_model)
            .or(None)?;

        let model_aliases = Pick::new(&config_path)
            .file("model_aliases", file.model_aliases.as_ref(), check_aliases)
            .or(BTreeMap::new())?;

        let allowed_origins = Pick::new(&config_path)
            .file(
                "allowed_origins",
                file.allowed_origins.as_ref(),
                |origins| {
                    Ok(origins
                        .iter()
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .collect())
                },
            )
            .or(Vec::new())?;

        let auth_file = Pick::new(&config_path)
            .flag("--auth-file", flags.auth_file.clone(), |path| {
                Ok(Some(path))
            })
            .env(env, EnvVars::AUTH_FILE, |path| {
                Ok(Some(PathBuf::from(path)))
            })
            .file("auth_file", file.auth_file.clone(), |path| Ok(Some(path)))
            .or(None)?;

        let credential_store = Pick::new(&config_path)
            .env(env, EnvVars::CREDENTIAL_STORE, |text| {
                CredentialStoreKind::parse(text)
                    .ok_or_else(|| format!("{text:?} is not one of auto, keychain, file"))
            })
            .file("credential_store", file.credential_store, Ok)
            .or(CredentialStoreKind::Auto)?;
        let keychain_service = Pick::new(&config_path)
            .env(env, EnvVars::KEYCHAIN_SERVICE, |text| {
                let text = text.trim();
                if text.is_empty() || text.chars().any(char::is_control) {
                    Err("must be a non-empty name without control characters".to_owned())
                } else {
                    Ok(text.to_owned())
                }
            })
            .or(DEFAULT_KEYCHAIN_SERVICE.to_owned())?;

        let auth_url = Pick::new(&config_path)
            .env(env, EnvVars::AUTH_URL, parse_url)
            .or(DEFAULT_AUTH_URL.to_owned())?;
        let backend_url = Pick::new(&config_path)
            .env(env, EnvVars::BACKEND_URL, |text| {
                parse_url(text).map(|url| normalize_backend_url(&url))
            })
            .or(DEFAULT_BACKEND_URL.to_owned())?;

        let log = Pick::new(&config_path)
            .flag("--verbose", flags.log.clone(), Ok)
            .env(env, EnvVars::LOG, |text| Ok(text.to_owned()))
            .env(env, EnvVars::RUST_LOG, |text| Ok(text.to_owned()))
            .file("log", file.log.clone(), Ok)
            .or("info".to_owned())?;

        let upstream_first_byte_timeout = Pick::new(&config_path)
            .env(env, EnvVars::UPSTREAM_FIRST_BYTE_TIMEOUT, parse_seconds)
            .file(
                "upstream_first_byte_timeout",
                file.upstream_first_byte_timeout,
                positive_seconds,
            )
            .or(DEFAULT_UPSTREAM_FIRST_BYTE_TIMEOUT)?;

        let api_keys = Pick::new(&config_path)
            .file("api_keys", file.api_keys.as_ref(), parse_named_keys)
            .or(BTreeMap::new())?;
        let key_accounts = file
            .api_keys
            .iter()
            .flatten()
            .filter_map(|(name, entry)| {
                let account = entry.account()?.trim();
                (!account.is_empty()).then(|| (name.trim().to_owned(), account.to_owned()))
            })
            .collect();

        let switch_when_exhausted = Pick::new(&config_path)
            .env(env, EnvVars::SWITCH_WHEN_EXHAUSTED, |text| {
                match text.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" => Ok(false),
                    _ => Err(format!("{text:?} is not true or false")),
                }
            })
            .file("switch_when_exhausted", file.switch_when_exhausted, Ok)
            .or(false)?;
        let admin_keys = Sourced::new(
            file.api_keys
                .iter()
                .flatten()
                .filter(|(_, entry)| entry.is_admin())
                .map(|(name, _)| name.trim().to_owned())
                .collect(),
            api_keys.source,
        );

        let usage_retention_days = Pick::new(&config_path)
            .file("usage_retention_days", file.usage_retention_days, |days| {
                if days == 0 {
                    Err("must be at least 1 day".to_owned())
                } else {
                    Ok(days)
                }
            })
            .or(DEFAULT_USAGE_RETENTION_DAYS)?;
        // codexia's own setting first (it may be `none`), then the variables every tool reads.
        let proxy_setting = |text: &str| UpstreamProxy::parse_setting(text, env);
        let proxy = Pick::new(&config_path)
            .flag("--proxy", flags.proxy.as_deref(), proxy_setting)
            .env(env, EnvVars::PROXY, proxy_setting)
            .file("proxy", file.proxy.as_deref(), proxy_setting)
            .env_parsed(UpstreamProxy::from_standard_env(env))
            .or(UpstreamProxy::default())?;
        let max_body_size = Pick::new(&config_path)
            .env(env, EnvVars::MAX_BODY_SIZE, parse_size)
            .file("max_body_size", file.max_body_size.as_deref(), parse_size)
            .or(DEFAULT_MAX_BODY_SIZE)?;
        let log_file_size = Pick::new(&config_path)
            .env(env, EnvVars::LOG_FILE_SIZE, parse_size)
            .file("log_file_size", file.log_file_size.as_deref(), parse_size)
            .or(DEFAULT_LOG_FILE_SIZE)?;
        let body_budget = Pick::new(&config_path)
            .env(env, EnvVars::BODY_BUDGET, parse_size)
            .file("body_budget", file.body_budget.as_deref(), parse_size)
            .or(DEFAULT_BODY_BUDGET)?;
        let body_budget = Sourced::new(
            body_budget.value.max(max_body_size.value),
            body_budget.source,
        );
        let header_read_timeout = Pick::new(&config_path)
            .env(env, EnvVars::HEADER_READ_TIMEOUT, parse_seconds)
            .file(
                "header_read_timeout",
                file.header_read_timeout,
                positive_seconds,
            )
            .or(DEFAULT_HEADER_READ_TIMEOUT)?;
        let idle_timeout = Pick::new(&config_path)
            .env(env, EnvVars::IDLE_TIMEOUT, parse_seconds)
            .file("idle_timeout", file.idle_timeout, positive_seconds)
            .or(DEFAULT_IDLE_TIMEOUT)?;
        let max_connections = Pick::new(&config_path)
            .env(env, EnvVars::MAX_CONNECTIONS, |text| {
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{text:?} is not a whole number"))
                    .and_then(positive_count)
            })
            .file("max_connections", file.max_connections, positive_count)
            .or(DEFAULT_MAX_CONNECTIONS)?;
        let inspector_memory = Pick::new(&config_path)
            .env(env, EnvVars::INSPECTOR_MEMORY_MB, |text| {
                text.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{text:?} is not a whole number of MiB"))
                    .and_then(inspector_bytes)
            })
            .file(
                "inspector_memory_mb",
                file.inspector_memory_mb,
                inspector_bytes,
            )
            .or(inspector_bytes(DEFAULT_INSPECTOR_MEMORY_MB).unwrap_or(0))?;
        let capture_dir = Pick::new(&config_path)
            .flag("--capture", flags.capture_dir.clone(), |dir| Ok(Some(dir)))
            .env(env, EnvVars::CAPTURE_DIR, |dir| {
                Ok(Some(PathBuf::from(dir)))
            })
            .file("capture_dir", file.capture_dir.clone(), |dir| Ok(Some(dir)))
            .or(None)?;

        Ok(Self {
            home,
            bind,
            api_key,
            models,
            extra_models,
            model_fallback,
            model_aliases,
            allowed_origins,
            auth_file,
            credential_store,
            keychain_service,
            auth_url,
            backend_url,
            log,
            upstream_first_byte_timeout,
            api_keys,
            key_accounts,
            switch_when_exhausted,
            usage_retention_days,
            proxy,
            max_body_size,
            body_budget,
            header_read_timeout,
            idle_timeout,
            max_connections,
            admin_keys,
            inspector_memory,
            capture_dir,
            log_file_size,
            extra_roots: env.get("SSL_CERT_FILE").map(PathBuf::from),
        })
    }

    /// The one exposure rule: a gateway listening beyond loopback must require an API key.
    /// `Some(address)` when these settings break it; every caller (the gateway, `daemon
    /// install`, the tray's settings page) asks here and words the refusal for its own user.
    pub(crate) fn exposed_without_key(&self) -> Option<SocketAddr> {
        (!self.bind.value.ip().is_loopback()
            && self.api_key.value.is_none()
            && self.api_keys.value.is_empty())
        .then_some(self.bind.value)
    }

    /// Whether clients must present a key (the single one or a named one).
    pub(crate) fn requires_key(&self) -> bool {
        self.api_key.value.is_some() || !self.api_keys.value.is_empty()
    }
}

/// A whole number of seconds, at least one.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of seconds"))?;
    positive_seconds(seconds)
}

fn positive_seconds(seconds: u64) -> Result<Duration, String> {
    if seconds == 0 {
        return Err("must be at least 1 second".to_owned());
    }
    Ok(Duration::from_secs(seconds))
}

/// A number of connections, at least one.
/// `inspector_memory_mb` in bytes: 0 (off) up to [`MAX_INSPECTOR_MEMORY_MB`].
fn inspector_bytes(mb: u64) -> Result<usize, String> {
    if mb > MAX_INSPECTOR_MEMORY_MB {
        return Err(format!(
            "{mb} MiB is more than {MAX_INSPECTOR_MEMORY_MB} MiB"
        ));
    }
    usize::try_from(mb * 1024 * 1024).map_err(|_| format!("{mb} MiB is too large"))
}

fn positive_count(count: u64) -> Result<usize, String> {
    match usize::try_from(count) {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(count) => Ok(count),
        Err(_) => Err(format!("{count} is too large")),
    }
}

/// A size in bytes: `65536`, `64KiB` or `32MiB`, between 1 KiB and 1 GiB (the body budget is
/// counted in bytes by a semaphore, which holds at most 4 GiB of permits).
fn parse_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let (digits, unit) = match trimmed.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let multiplier: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1024,
        "MiB" => 1024 * 1024,
        _ => {
            return Err(format!(
                "{text:?} is not a size such as 65536, 64KiB or 32MiB"
            ));
        }
    };
    let size = digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{text:?} is not a size such as 65536, 64KiB or 32MiB"))?;
    if !(1024..=1024 * 1024 * 1024).contains(&size) {
        return Err(format!("{text:?} must be between 1KiB and 1024MiB"));
    }
    Ok(size)
}

/// Checks every alias of config.json's `model_aliases` (both sides must be model ids).
fn check_aliases(aliases: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    for (from, to) in aliases {
        parse_model_id(from)?;
        parse_model_id(to).map_err(|m| format!("alias {from}: {m}"))?;
    }
    Ok(aliases.clone())
}

/// Parses a bind address: `HOST:PORT`, `[V6]:PORT`, `localhost:PORT`, or a bare port (loopback).
pub(crate) fn parse_bind(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port = port.parse::<u16>().map_err(|_| {
            format!("{text:?} has no valid port (expected HOST:PORT, e.g. 127.0.0.1:14550)")
        })?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if text
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
    {
        // A host name: resolve it once, now, so the error shows up at start-up.
        if let Some(addr) = text
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
        {
            return Ok(addr);
        }
        return Err(format!("cannot resolve the host in {text:?}"));
    }
    Err(format!(
        "{text:?} is not an address (expected HOST:PORT, e.g. 127.0.0.1:14550)"
    ))
}

fn parse_api_key(text: &str) -> Result<ApiKey, String> {
    let key = text.trim();
    if key.is_empty() {
        return Err("the API key is empty".to_owned());
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the API key must not contain spaces or control characters".to_owned());
    }
    Ok(ApiKey::new(key))
}

/// Checks `api_keys`: each name non-empty and printable, each key a valid key, no key twice.
fn parse_named_keys(
    keys: &BTreeMap<String, NamedKeyEntry>,
) -> Result<BTreeMap<String, ApiKey>, String> {
    let mut parsed = BTreeMap::new();
    for (name, entry) in keys {
        let key = entry.key();
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(format!("{name:?} is not a key name"));
        }
        let key = parse_api_key(key).map_err(|m| format!("key {name:?}: {m}"))?;
        if parsed.values().any(|k: &ApiKey| k.expose() == key.expose()) {
            return Err(format!("key {name:?} is the same as another key"));
        }
        parsed.insert(name.to_owned(), key);
    }
    Ok(parsed)
}

fn parse_model_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.is_empty() {
        return Err("a model id is empty".to_owned());
    }
    if id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        return Err(format!("{id:?} is not a model id"));
    }
    Ok(id.to_owned())
}

/// Parses a comma-separated model list (`a,b, c`).
pub(crate) fn parse_model_list(text: &str) -> Result<Vec<String>, String> {
    let ids: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        return Err("the model list is empty".to_owned());
    }
    clean_model_ids(ids)
}

fn clean_model_ids<S: AsRef<str>>(ids: impl IntoIterator<Item = S>) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id = parse_model_id(id.as_ref())?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// The two accepted shapes of `CODEXIA_MODELS_FILE`.
#[derive(Deserialize)]
#[serde(untagged)]
enum ModelsFileShape {
    List(Vec<String>),
    Object {
        #[serde(default)]
        models: Option<Vec<String>>,
        #[serde(default)]
        extra_models: Option<Vec<String>>,
    },
}

struct ModelsFile {
    models: Option<Vec<String>>,
    extra_models: Option<Vec<String>>,
}

fn load_models_file(path: &Path) -> Result<ModelsFile, SettingsError> {
    let error = |message: String| SettingsError::ModelsFile {
        path: path.to_owned(),
        var: EnvVars::MODELS_FILE,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let shape: ModelsFileShape = serde_json::from_str(&text).map_err(|_| {
        error(r#"expected a JSON array of model ids like ["gpt-5.5"] or an object {"models": [...], "extra_models": [...]}"#.to_owned())
    })?;
    let (models, extra_models) = match shape {
        ModelsFileShape::List(models) => (Some(models), None),
        ModelsFileShape::Object {
            models,
            extra_models,
        } => (models, extra_models),
    };
    let models = models.map(clean_model_ids).transpose().map_err(error)?;
    if models.as_ref().is_some_and(Vec::is_empty) {
        return Err(error("the models list is empty".to_owned()));
    }
    let extra_models = extra_models
        .map(clean_model_ids)
        .transpose()
        .map_err(error)?;
    Ok(ModelsFile {
        models,
        extra_models,
    })
}

fn parse_url(text: &str) -> Result<String, String> {
    let url = text.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len()
    {
        return Err(format!("{text:?} is not an http(s) URL"));
    }
    Ok(url.to_owned())
}

/// Accepts the backend base with or without the `/codex` or `/codex/responses` suffix.
fn normalize_backend_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let url = url.strip_suffix("/codex/responses").unwrap_or(url);
    let url = url.strip_suffix("/codex").unwrap_or(url);
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn resolve(
        flags: &Overrides,
        env: &[(&str, &str)],
        file: &ConfigFile,
    ) -> Result<Settings, SettingsError> {
        Settings::resolve_with_file(
            flags,
            &Env::from_pairs(env.iter().copied()),
            "/h".into(),
            file,
        )
    }

    #[test]
    fn bind_accepts_addresses_ports_and_localhost() {
        assert_eq!(
            parse_bind("127.0.0.1:0").unwrap().to_string(),
            "127.0.0.1:0"
        );
        assert_eq!(parse_bind("15000").unwrap().to_string(), "127.0.0.1:15000");
        assert_eq!(
            parse_bind("localhost:9").unwrap().to_string(),
            "127.0.0.1:9"
        );
        assert_eq!(parse_bind("[::1]:8080").unwrap().to_string(), "[::1]:8080");
        assert!(parse_bind("nonsense").unwrap_err().contains("HOST:PORT"));
        assert!(parse_bind("127.0.0.1:99999").is_err());
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = resolve(&Overrides::default(), &[], &ConfigFile::default()).unwrap();
        assert_eq!(s.bind, Sourced::new(DEFAULT_BIND, Source::Default));
        assert_eq!(s.api_key.value, None);
        assert_eq!(s.models.value, ModelList::Catalog);
        assert_eq!(s.backend_url.value, DEFAULT_BACKEND_URL);
        assert_eq!(s.credential_store.value, CredentialStoreKind::Auto);
    }

    #[test]
    fn flag_beats_env_beats_file_for_bind_key_and_models() {
        let file = ConfigFile {
            bind: Some("127.0.0.1:3".into()),
            api_key: Some("file-key".into()),
            models: Some(vec!["file-model".into()]),
            ..ConfigFile::default()
        };
        let env = [
            (EnvVars::BIND, "127.0.0.1:2"),
            (EnvVars::API_KEY, "env-key"),
            (EnvVars::MODELS, "env-model"),
        ];
        let flags = Overrides {
            bind: Some("127.0.0.1:1".into()),
            api_key: Some("flag-key".into()),
            models: Some("flag-model".into()),
            ..Overrides::default()
        };
        let s = resolve(&flags, &env, &file).unwrap();
        assert_eq!((s.bind.value.port(), s.bind.source), (1, Source::Flag));
        assert_eq!(s.api_key.value.unwrap().expose(), "flag-key");
        assert_eq!(
            s.models.value,
            ModelList::Explicit(vec!["flag-model".into()])
        );

        let s = resolve(&Overrides::default(), &env, &file).unwrap();
        assert_eq!((s.bind.value.port(), s.bind.source), (2, Source::Env));
        assert_eq!(s.api_key.value.unwrap().expose(), "env-key");
        assert_eq!(
            s.models,
            Sourced::new(ModelList::Explicit(vec!["env-model".into()]), Source::Env)
        );

        let s = resolve(&Overrides::default(), &[], &file).unwrap();
        assert_eq!((s.bind.value.port(), s.bind.source), (3, Source::File));
        assert_eq!(s.api_key.value.unwrap().expose(), "file-key");
        assert_eq!(
            s.models,
            Sourced::new(ModelList::Explicit(vec!["file-model".into()]), Source::File)
        );
    }

    #[test]
    fn a_bad_value_names_its_source() {
        let err = resolve(
            &Overrides::default(),
            &[(EnvVars::BIND, "what")],
            &ConfigFile::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable CODEXIA_BIND is invalid"),
            "{err}"
        );
        let file = ConfigFile {
            bind: Some("1.2.3.4".into()),
            ..ConfigFile::default()
        };
        let err = resolve(&Overrides::default(), &[], &file).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the bind field of /h/config.json is invalid"),
            "{err}"
        );
        let err = resolve(
            &Overrides {
                api_key: Some("  ".into()),
                ..Overrides::default()
            },
            &[],
            &ConfigFile::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--api-key is invalid: the API key is empty"
        );
    }

    #[test]
    fn the_proxy_setting_beats_the_standard_variables_and_none_turns_them_off() {
        let standard = [
            ("HTTPS_PROXY", "http://corp:3128"),
            ("http_proxy", "corp:8080"),
            ("NO_PROXY", "localhost, .internal"),
        ];
        let s = resolve(&Overrides::default(), &standard, &ConfigFile::default()).unwrap();
        assert_eq!(s.proxy.source, Source::Env);
        assert_eq!(
            s.proxy.value.to_string(),
            "https: http://corp:3128, http: http://corp:8080 (not for localhost,.internal)"
        );

        let file = ConfigFile {
            proxy: Some("socks5h://file:1080".into()),
            ..ConfigFile::default()
        };
        let s = resolve(&Overrides::default(), &standard, &file).unwrap();
        assert_eq!(
            (s.proxy.value.to_string(), s.proxy.source),
            (
                "socks5h://file:1080 (not for localhost,.internal)".to_owned(),
                Source::File
            )
        );
        let env: Vec<_> = standard
            .iter()
            .copied()
            .chain([(EnvVars::PROXY, "socks5://user:secret@env:9050")])
            .collect();
        let s = resolve(&Overrides::default(), &env, &file).unwrap();
        assert_eq!(s.proxy.source, Source::Env);
        assert_eq!(
            s.proxy.value.https.as_ref().unwrap().to_string(),
            "socks5://env:9050",
            "credentials are never shown"
        );
        assert!(!format!("{:?}", s.proxy).contains("secret"));
        let flags = Overrides {
            proxy: Some("none".into()),
            ..Overrides::default()
        };
        let s = resolve(&flags, &env, &file).unwrap();
        assert_eq!(
            s.proxy,
            Sourced::new(UpstreamProxy::default(), Source::Flag)
        );

        let s = resolve(&Overrides::default(), &[], &ConfigFile::default()).unwrap();
        assert_eq!(
            s.proxy,
            Sourced::new(UpstreamProxy::default(), Source::Default)
        );
    }

    #[test]
    fn a_bad_proxy_names_its_variable() {
        let err = resolve(
            &Overrides::default(),
            &[("ALL_PROXY", "ftp://x:21")],
            &ConfigFile::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable ALL_PROXY is invalid: \"ftp://x:21\" is not a proxy URL: the scheme must be http, https, socks5 or socks5h"
        );
    }

    #[test]
    fn backend_url_suffixes_are_normalized() {
        assert_eq!(
            normalize_backend_url("http://x/backend-api/codex/responses"),
            "http://x/backend-api"
        );
        assert_eq!(
            normalize_backend_url("http://x/backend-api/codex/"),
            "http://x/backend-api"
        );
        assert_eq!(
            normalize_backend_url("http://x/backend-api"),
            "http://x/backend-api"
        );
    }

    #[test]
    fn api_key_debug_and_mask_hide_the_secret() {
        let key = ApiKey::new("sk-very-secret-value");
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert_eq!(key.masked(), "sk-v… (20 characters)");
    }

    #[test]
    fn named_keys_and_the_usage_retention_come_from_config_json() {
        let s = resolve(&Overrides::default(), &[], &ConfigFile::default()).unwrap();
        assert!(s.api_keys.value.is_empty());
        assert_eq!(s.usage_retention_days.value, DEFAULT_USAGE_RETENTION_DAYS);
        assert!(!s.requires_key());
        let file = ConfigFile {
            api_keys: Some(BTreeMap::from([
                ("laptop".to_owned(), " k-1 ".into()),
                (
                    "lan".to_owned(),
                    NamedKeyEntry::Full(NamedKeyObject {
                        key: "k-2".to_owned(),
                        account: Some(" work ".to_owned()),
                        admin: false,
                    }),
                ),
                (
                    "me".to_owned(),
                    NamedKeyEntry::Full(NamedKeyObject {
                        key: "k-admin".into(),
                        account: None,
                        admin: true,
                    }),
                ),
            ])),
            usage_retention_days: Some(30),
            bind: Some("0.0.0.0:9".into()),
            ..ConfigFile::default()
        };
        let s = resolve(&Overrides::default(), &[], &file).unwrap();
        assert_eq!(s.api_keys.value["laptop"].expose(), "k-1");
        assert_eq!(s.api_keys.value["lan"].expose(), "k-2");
        assert_eq!(
            s.key_accounts,
            BTreeMap::from([("lan".to_owned(), "work".to_owned())])
        );
        assert_eq!(s.api_keys.value["me"].expose(), "k-admin");
        assert_eq!(
            s.admin_keys.value.iter().collect::<Vec<_>>(),
            [&"me".to_owned()]
        );
        assert_eq!(s.usage_retention_days.value, 30);
        // A named key is enough to listen beyond loopback.
        assert!(s.requires_key());
        assert_eq!(s.exposed_without_key(), None);
        for bad in [
            ConfigFile {
                api_keys: Some(BTreeMap::from([(" ".to_owned(), "k".into())])),
                ..ConfigFile::default()
            },
            ConfigFile {
                api_keys: Some(BTreeMap::from([
                    ("a".to_owned(), "same".into()),
                    ("b".to_owned(), "same".into()),
                ])),
                ..ConfigFile::default()
            },
            ConfigFile {
                usage_retention_days: Some(0),
                ..ConfigFile::default()
            },
        ] {
            assert!(
                matches!(
                    resolve(&Overrides::default(), &[], &bad),
                    Err(SettingsError::ConfigField { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn limits_parse_sizes_and_seconds_and_the_budget_holds_at_least_one_body() {
        let env = [
            (EnvVars::MAX_BODY_SIZE, "64KiB"),
            (EnvVars::BODY_BUDGET, "2048"),
            (EnvVars::HEADER_READ_TIMEOUT, "2"),
            (EnvVars::MAX_CONNECTIONS, "3"),
        ];
        let file = ConfigFile {
            idle_timeout: Some(9),
            ..ConfigFile::default()
        };
        let s = resolve(&Overrides::default(), &env, &file).unwrap();
        assert_eq!(s.max_body_size.value, 64 * 1024);
        // A budget below one body would refuse every large request: raised to the cap.
        assert_eq!(s.body_budget, Sourced::new(64 * 1024, Source::Env));
        assert_eq!(s.header_read_timeout.value, Duration::from_secs(2));
        assert_eq!(
            s.idle_timeout,
            Sourced::new(Duration::from_secs(9), Source::File)
        );
        assert_eq!(s.max_connections.value, 3);
        assert_eq!(parse_size("32MiB"), Ok(32 * 1024 * 1024));
        assert!(parse_size("32MB").is_err());
        assert!(parse_size("12").is_err());
        let bad = resolve(
            &Overrides::default(),
            &[(EnvVars::MAX_CONNECTIONS, "0")],
            &ConfigFile::default(),
        )
        .unwrap_err();
        assert!(bad.to_string().contains("CODEXIA_MAX_CONNECTIONS"), "{bad}");
    }
}
