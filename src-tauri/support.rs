//! The support bundle (`codexia support-bundle`, and the Settings window's button): one
//! `.tar.gz` a user can attach to a bug report, with what a maintainer asks for first —
//! version, OS and desktop, the configuration, where the credentials live, the status, the
//! last log lines and the recent requests — and nothing that lets anyone act as the user.
//!
//! Invariants:
//! - No credential goes in: the credentials themselves are never read into an entry (only the
//!   store's description); the configuration's keys are replaced; and every entry, whatever
//!   it is, passes [`scrub`] last: the log redactor, then every known secret (the stored
//!   access, refresh and id tokens, the account id, the API keys) replaced wherever it occurs.
//! - Request contents are prompts: only the requests' metadata goes in unless the user asks
//!   for contents (`--include-contents`), and the README inside says which it is.
//! - The archive is written like every private file (0600, never through a symbolic link), and
//!   log files that are symbolic links are not followed into it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::auth::store::{StoreSpec, select_store};
use crate::auth::{AuthManager, Credentials};
use crate::local::LocalGateway;
use crate::logging;
use crate::redact::{self, REDACTED, SecretKind};
use crate::settings::Settings;
use crate::upstream::UpstreamClient;
use crate::{files, status};

/// Lines of each log taken from its end.
pub(crate) const LOG_TAIL_LINES: usize = 1000;
/// The logs looked for in `$CODEXIA_HOME/logs/`.
const LOG_NAMES: [&str; 2] = ["serve", "tray"];
/// How long a running gateway may take to answer.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(20);
/// Known secrets shorter than this are not searched for (they would match ordinary text).
const MIN_SECRET_LEN: usize = 6;

/// What the bundle is asked to hold.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BundleOptions {
    /// Include the bodies and events of recent requests (prompts and answers).
    pub include_contents: bool,
}

/// What was gathered from the running system, before it becomes entries.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    /// `/v1/status` of the running gateway, or the status `codexia status` would print.
    pub status: Option<Value>,
    /// The gateway's address when one was running.
    pub gateway: Option<String>,
    /// Where the credentials live (the store's description), or why that is unknown.
    pub credentials: String,
    /// Whether credentials are stored.
    pub signed_in: Option<bool>,
    /// Every secret the bundle must not contain.
    pub secrets: Vec<(SecretKind, String)>,
    /// `GET /v1/requests` of the running gateway (metadata).
    pub requests: Option<Value>,
    /// `GET /v1/requests/ID` for each request, when contents were asked for.
    pub request_details: Vec<(String, Value)>,
    /// What could not be gathered, said in the README.
    pub notes: Vec<String>,
}

/// The default file name: `codexia-support-YYYYMMDD-HHMMSS.tar.gz`.
pub(crate) fn default_file_name(now: chrono::DateTime<chrono::Local>) -> String {
    format!("codexia-support-{}.tar.gz", now.format("%Y%m%d-%H%M%S"))
}

/// Gathers what the bundle holds from the running system: the status and requests of
/// `gateway` (the running one), else the status read directly (as `codexia status` does); the
/// credential store's description; the secrets to keep out.
pub(crate) async fn gather(
    settings: &Settings,
    gateway: Option<LocalGateway>,
    options: BundleOptions,
) -> Gathered {
    let mut gathered = Gathered::default();
    if let Some(gateway) = gateway {
        gathered.gateway = Some(gateway.url().to_owned());
        match gateway.status::<Value>(GATEWAY_TIMEOUT).await {
            Ok(status) => gathered.status = Some(status),
            Err(err) => gathered
                .notes
                .push(format!("the running gateway gave no status: {err}")),
        }
        gather_requests(&gateway, options, &mut gathered).await;
    } else {
        gathered
            .notes
            .push("no gateway was running: status.json was read directly, and there are no recent requests".to_owned());
    }

    let spec = StoreSpec::from_settings(settings);
    let for_choice = spec.clone();
    let choice = tokio::task::spawn_blocking(move || select_store(&for_choice)).await;
    match choice {
        Ok(Ok(choice)) => {
            let store = std::sync::Arc::clone(&choice.store);
            let auth = AuthManager::with_store(choice, spec, UpstreamClient::new(settings));
            if gathered.status.is_none() {
                let report = status::collect(&auth, &UpstreamClient::new(settings), None).await;
                gathered.status = serde_json::to_value(&report).ok();
            }
            gathered.credentials = store.describe();
            // Read after the status, which may have refreshed them: the newest tokens are the
            // ones to keep out.
            match tokio::task::spawn_blocking(move || store.load()).await {
                Ok(Ok(Some(stored))) => {
                    gathered.signed_in = Some(true);
                    gathered.secrets.extend(secrets_of(&stored.credentials));
                }
                Ok(Ok(None)) => gathered.signed_in = Some(false),
                Ok(Err(err)) => gathered
                    .notes
                    .push(format!("the credentials could not be read: {err}")),
                Err(_) => {}
            }
            // Every other signed-in account's set too (each has its own slot).
            for listed in auth.list().await.unwrap_or_default() {
                let slot = match auth.account(Some(&listed.entry.id)).await {
                    Ok((_, slot)) => slot.store(),
                    Err(_) => continue,
                };
                gathered.signed_in = Some(true);
                if let Some(email) = &listed.entry.email {
                    gathered.secrets.push((SecretKind::Email, email.clone()));
                }
                gathered
                    .secrets
                    .push((SecretKind::AccountId, listed.entry.id.clone()));
                if let Ok(Ok(Some(stored))) = tokio::task::spawn_blocking(move || slot.load()).await
                {
                    gathered.secrets.extend(secrets_of(&stored.credentials));
                }
            }
        }
        Ok(Err(err)) => gathered.credentials = format!("unknown: {err}"),
        Err(_) => "unknown".clone_into(&mut gathered.credentials),
    }
    let keys = settings
        .api_key
        .value
        .iter()
        .chain(settings.api_keys.value.values());
    gathered
        .secrets
        .extend(keys.map(|key| (SecretKind::ApiKey, key.expose().to_owned())));
    // The process's redactor learns them too (its shapes catch what nobody told us about).
    redact::remember_all(
        gathered
            .secrets
            .iter()
            .map(|(kind, value)| (*kind, value.as_str())),
    );
    gathered
}

async fn gather_requests(gateway: &LocalGateway, options: BundleOptions, gathered: &mut Gathered) {
    match gateway.get_json("/v1/requests", GATEWAY_TIMEOUT).await {
        Ok(list) => {
            if options.include_contents {
                for id in request_ids(&list) {
                    match gateway
                        .get_json(&format!("/v1/requests/{id}"), GATEWAY_TIMEOUT)
                        .await
                    {
                        Ok(detail) => gathered.request_details.push((id, detail)),
                        Err(err) => gathered
                            .notes
                            .push(format!("request {id} could not be read: {err}")),
                    }
                }
            }
            gathered.requests = Some(list);
        }
        Err(err) => gathered
            .notes
            .push(format!("the running gateway listed no requests: {err}")),
    }
}

/// The ids of a `/v1/requests` answer: `{"requests": [{"id": …}, …]}` or a bare array.
fn request_ids(list: &Value) -> Vec<String> {
    let items = list
        .get("requests")
        .or_else(|| list.get("data"))
        .unwrap_or(list);
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| match item.get("id")? {
                    Value::String(id) => Some(id.clone()),
                    Value::Number(id) => Some(id.to_string()),
                    _ => None,
                })
                // An id goes into a URL path: only plain ids.
                .filter(|id| {
                    id.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn secrets_of(credentials: &Credentials) -> Vec<(SecretKind, String)> {
    vec![
        (SecretKind::AccessToken, credentials.access_token.clone()),
        (SecretKind::RefreshToken, credentials.refresh_token.clone()),
        (SecretKind::IdToken, credentials.id_token.clone()),
        (SecretKind::AccountId, credentials.account_id.clone()),
    ]
}

/// The bundle's files (name, text), each scrubbed.
pub(crate) fn entries(
    settings: &Settings,
    gathered: &Gathered,
    options: BundleOptions,
    now: chrono::DateTime<chrono::Local>,
) -> Vec<(String, String)> {
    let mut entries = vec![
        ("about.txt".to_owned(), about(now)),
        ("settings.txt".to_owned(), settings_text(settings)),
        ("config.json".to_owned(), config_text(settings)),
        ("credentials.txt".to_owned(), credentials_text(gathered)),
        (
            "status.json".to_owned(),
            gathered
                .status
                .as_ref()
                .map_or_else(|| "null\n".to_owned(), pretty),
        ),
    ];
    for name in LOG_NAMES {
        if let Some(tail) = log_tail(&settings.home, name, LOG_TAIL_LINES) {
            entries.push((format!("logs/{name}.log"), tail));
        }
    }
    // Captures are redacted by the gateway already; the JSON rules run once more here (a member
    // named like a secret loses its value), the text rules below on everything.
    let redactor = redact::current();
    if let Some(requests) = &gathered.requests {
        entries.push((
            "requests.json".to_owned(),
            pretty(&redactor.json_copy(requests)),
        ));
    }
    for (id, detail) in &gathered.request_details {
        entries.push((
            format!("requests/{id}.json"),
            pretty(&redactor.json_copy(detail)),
        ));
    }
    let names: Vec<String> = entries.iter().map(|(name, _)| name.clone()).collect();
    entries.insert(
        0,
        ("README.txt".to_owned(), readme(&names, gathered, options)),
    );
    entries
        .into_iter()
        .map(|(name, text)| {
            let text = scrub(&text, &gathered.secrets);
            (name, text)
        })
        .collect()
}

/// The last line of defence: the process's redactor (known secrets and secret shapes), then
/// every secret of `secrets` replaced once more wherever it still occurs.
pub(crate) fn scrub(text: &str, secrets: &[(SecretKind, String)]) -> String {
    let mut text = redact::current().text(text).into_owned();
    for (kind, secret) in secrets {
        if secret.len() >= MIN_SECRET_LEN && text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), kind.marker());
        }
    }
    text
}

/// A `.tar.gz` of the entries under `codexia-support/`.
pub(crate) fn archive(entries: &[(String, String)], mtime: u64) -> std::io::Result<Vec<u8>> {
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    for (name, text) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(
            &mut header,
            format!("codexia-support/{name}"),
            text.as_bytes(),
        )?;
    }
    let mut gzip = tar.into_inner()?;
    gzip.flush()?;
    gzip.finish()
}

/// Gathers, scrubs and writes the bundle to `out`; answers how many files it holds.
pub(crate) async fn make(
    settings: &Settings,
    gateway: Option<LocalGateway>,
    options: BundleOptions,
    out: &Path,
    now: chrono::DateTime<chrono::Local>,
) -> std::io::Result<usize> {
    let gathered = gather(settings, gateway, options).await;
    let entries = entries(settings, &gathered, options, now);
    let mtime = u64::try_from(now.timestamp()).unwrap_or(0);
    write(out, &entries, mtime)?;
    Ok(entries.len())
}

/// Writes the archive to `out` (0600, never through a symbolic link).
pub(crate) fn write(out: &Path, entries: &[(String, String)], mtime: u64) -> std::io::Result<()> {
    files::write_private(out, &archive(entries, mtime)?)
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn readme(names: &[String], gathered: &Gathered, options: BundleOptions) -> String {
    let mut text = String::from(
        "codexia support bundle\n\
         ======================\n\n\
         Made by `codexia support-bundle` to attach to a bug report. It holds no access token,\n\
         refresh token, id token, API key or account id: the configuration's keys are replaced\n\
         with [redacted], the credentials themselves are not included (only where they live),\n\
         and every file was searched for the stored tokens, the account id and the API keys,\n\
         each replaced with [redacted:KIND], after the log redactor ran over it.\n\n\
         Files:\n",
    );
    for name in names {
        let what = match name.as_str() {
            "about.txt" => "codexia's version, the OS, the desktop environment",
            "settings.txt" => "the settings in effect and where each came from",
            "config.json" => "config.json with its API keys and proxy password removed",
            "credentials.txt" => "where the credentials live, and whether any are stored",
            "status.json" => "the account's plan, token expiry and rate-limit windows",
            "requests.json" => {
                "metadata of the recent requests (time, client, route, model, status, duration, tokens)"
            }
            n if n.starts_with("logs/") => "the last lines of this log",
            n if n.starts_with("requests/") => {
                "one request's contents: both sides and their events"
            }
            _ => "",
        };
        let _ = writeln!(text, "  {name:<24} {what}");
    }
    text.push('\n');
    if options.include_contents && gathered.request_details.is_empty() {
        text.push_str(
            "Request contents were asked for (--include-contents), but there were none to include.\n",
        );
    } else if options.include_contents {
        text.push_str(
            "Request contents ARE included (--include-contents): requests/ holds prompts and answers.\n",
        );
    } else {
        text.push_str(
            "Request contents are NOT included (only metadata); `--include-contents` adds them.\n",
        );
    }
    if let Some(gateway) = &gathered.gateway {
        let _ = writeln!(text, "A gateway was running at {gateway}.");
    }
    for note in &gathered.notes {
        let _ = writeln!(text, "Note: {note}.");
    }
    text
}

fn about(now: chrono::DateTime<chrono::Local>) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "codexia {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        text,
        "build: {}",
        if cfg!(feature = "tray") {
            "desktop (tray)"
        } else {
            "headless"
        }
    );
    let _ = writeln!(
        text,
        "os: {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    if let Some(name) = os_release_name() {
        let _ = writeln!(text, "distribution: {name}");
    }
    if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        let _ = writeln!(text, "kernel: {}", kernel.trim());
    }
    for var in [
        "XDG_CURRENT_DESKTOP",
        "XDG_SESSION_DESKTOP",
        "DESKTOP_SESSION",
        "XDG_SESSION_TYPE",
    ] {
        let value = std::env::var(var).unwrap_or_default();
        let _ = writeln!(text, "{var}: {value}");
    }
    for var in ["DISPLAY", "WAYLAND_DISPLAY"] {
        let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
        let _ = writeln!(text, "{var}: {}", if set { "set" } else { "unset" });
    }
    let _ = writeln!(text, "made: {}", now.to_rfc3339());
    text
}

fn os_release_name() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|name| name.trim_matches('"').to_owned())
}

fn settings_text(settings: &Settings) -> String {
    let mut text = format!("{:<28} {}\n", "home", settings.home.display());
    let mut line = |name: &str, value: String, source: crate::settings::Source| {
        let _ = writeln!(text, "{name:<28} {value}  ({source})");
    };
    line(
        "bind",
        settings.bind.value.to_string(),
        settings.bind.source,
    );
    line(
        "api_key",
        if settings.api_key.value.is_some() {
            "set"
        } else {
            "unset"
        }
        .to_owned(),
        settings.api_key.source,
    );
    line(
        "api_keys",
        settings
            .api_keys
            .value
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        settings.api_keys.source,
    );
    line(
        "credential_store",
        format!("{:?}", settings.credential_store.value).to_ascii_lowercase(),
        settings.credential_store.source,
    );
    line(
        "auth_file",
        settings
            .auth_file
            .value
            .as_ref()
            .map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
        settings.auth_file.source,
    );
    line(
        "auth_url",
        settings.auth_url.value.clone(),
        settings.auth_url.source,
    );
    line(
        "backend_url",
        settings.backend_url.value.clone(),
        settings.backend_url.source,
    );
    line(
        "proxy",
        settings.proxy.value.to_string(),
        settings.proxy.source,
    );
    line("log", settings.log.value.clone(), settings.log.source);
    line(
        "log_file_size",
        settings.log_file_size.value.to_string(),
        settings.log_file_size.source,
    );
    line(
        "model_fallback",
        settings
            .model_fallback
            .value
            .clone()
            .unwrap_or_else(|| "-".to_owned()),
        settings.model_fallback.source,
    );
    line(
        "model_aliases",
        format!("{:?}", settings.model_aliases.value),
        settings.model_aliases.source,
    );
    line(
        "max_body_size",
        settings.max_body_size.value.to_string(),
        settings.max_body_size.source,
    );
    line(
        "usage_retention_days",
        settings.usage_retention_days.value.to_string(),
        settings.usage_retention_days.source,
    );
    text
}

/// `config.json` as it is on disk, with its secrets replaced.
fn config_text(settings: &Settings) -> String {
    let path = settings.home.join("config.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(mut config) => {
                redact_config(&mut config);
                pretty(&config)
            }
            Err(err) => format!("\"config.json is not valid JSON ({err}); not included\"\n"),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => "{}\n".to_owned(),
        Err(err) => format!("\"config.json could not be read: {err}\"\n"),
    }
}

/// Replaces the values of secret-looking keys (`api_key`, each of `api_keys`, anything named
/// like a key, token, secret or password) and the password of a proxy URL.
fn redact_config(value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    for (name, value) in map.iter_mut() {
        let lower = name.to_ascii_lowercase();
        if lower == "api_keys" {
            if let Value::Object(keys) = value {
                for key in keys.values_mut() {
                    *key = Value::String(REDACTED.to_owned());
                }
            } else {
                *value = Value::String(REDACTED.to_owned());
            }
        } else if ["key", "token", "secret", "password"]
            .iter()
            .any(|word| lower.contains(word))
        {
            *value = Value::String(REDACTED.to_owned());
        } else if lower == "proxy"
            && let Value::String(text) = value
            && let Ok(mut url) = url::Url::parse(text)
        {
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                *text = format!("{url} (credentials removed)");
            }
        } else {
            redact_config(value);
        }
    }
}

fn credentials_text(gathered: &Gathered) -> String {
    let stored = match gathered.signed_in {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    format!(
        "The credentials are not in this bundle; this is only where they live.\n\
         store: {}\n\
         credentials stored: {stored}\n",
        gathered.credentials
    )
}

/// The last `lines` lines of `logs/NAME.log` (and of `NAME.log.1` when the current file is
/// short), `None` when there is no such log. Symbolic links are not followed.
fn log_tail(home: &Path, name: &str, lines: usize) -> Option<String> {
    let current = logging::log_path(home, name);
    let mut rotated = current.clone().into_os_string();
    rotated.push(".1");
    let mut text = String::new();
    let mut found = false;
    for path in [PathBuf::from(rotated), current] {
        if let Some(part) = read_regular(&path) {
            found = true;
            text.push_str(&part);
        }
    }
    if !found {
        return None;
    }
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut tail = all[start..].join("\n");
    tail.push('\n');
    Some(tail)
}

fn read_regular(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_file() {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_configuration_loses_its_keys_and_the_proxy_password() {
        let mut config = json!({
            "api_key": "k-main-123456",
            "api_keys": {"ci-box": "k-ci-123456"},
            "proxy": "http://user:hunter22@proxy.local:3128",
            "bind": "127.0.0.1:14550",
            "nested": {"client_secret": "s3cr3t-value"},
        });
        redact_config(&mut config);
        assert_eq!(
            config,
            json!({
                "api_key": "[redacted]",
                "api_keys": {"ci-box": "[redacted]"},
                "proxy": "http://proxy.local:3128/ (credentials removed)",
                "bind": "127.0.0.1:14550",
                "nested": {"client_secret": "[redacted]"},
            })
        );
    }

    #[test]
    fn scrub_replaces_every_known_secret_wherever_it_occurs() {
        let secrets = vec![
            (SecretKind::AccountId, "acct-abcdef-0001".to_owned()),
            (SecretKind::ApiKey, "short".to_owned()),
        ];
        assert_eq!(
            scrub("a acct-abcdef-0001 b acct-abcdef-0001x short", &secrets),
            "a [redacted:account_id] b [redacted:account_id]x short"
        );
    }

    #[test]
    fn request_ids_are_read_from_the_list_and_odd_ones_are_left_out() {
        let list = json!({"requests": [{"id": "r-1"}, {"id": 7}, {"id": "../etc"}]});
        assert_eq!(request_ids(&list), ["r-1", "7"]);
        assert_eq!(request_ids(&json!([{"id": "a"}])), ["a"]);
    }
}
