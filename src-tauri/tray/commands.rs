//! The page commands (`ipc::PageCommand`), answered by the tray: a window process forwards
//! each call (see `ipc`), `dispatch` runs it here, where the gateway and the sign-in live. The
//! work itself is done by the gateway, auth and settings code.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::TrayApp;
use super::desktop::{Desktop, Handle};
use super::ipc::{Outcome, PageCommand, SettingsForm, TrayError};
use super::signin::SignIn;
use crate::settings::{
    ApiKey, ConfigFile, Env, ModelList, Overrides, Settings, parse_bind, parse_model_list,
};

type CommandResult<T> = Result<T, TrayError>;

/// What the settings page shows.
#[derive(Debug, Serialize)]
pub(crate) struct SettingsView {
    host: String,
    port: u16,
    api_key: Option<String>,
    models: String,
    extra_models: String,
    model_fallback: String,
    model_aliases: String,
    /// config.json `proxy` as written there.
    proxy: String,
    /// Whether the gateway keeps a copy of each request on disk, and where (or would).
    capture: bool,
    capture_dir: String,
    autostart: bool,
    credentials: String,
    config_file: String,
    gateway_url: Option<String>,
    attached: bool,
    version: &'static str,
}

/// The outcome of a save.
#[derive(Debug, Serialize)]
pub(crate) struct SaveResult {
    message: String,
    gateway_url: Option<String>,
}

fn load() -> CommandResult<(Settings, ConfigFile, std::path::PathBuf)> {
    let env = Env::from_process();
    let home = Settings::home_dir(&env)?;
    let path = Settings::config_path(&home);
    let file = ConfigFile::load(&path)?;
    let settings = Settings::resolve_with_file(&Overrides::default(), &env, home, &file)?;
    Ok((settings, file, path))
}

fn credentials_location(settings: &Settings) -> String {
    match &settings.auth_file.value {
        Some(path) => format!("File {}", path.display()),
        None => match settings.credential_store.value {
            crate::settings::CredentialStoreKind::File => {
                format!("File {}", settings.home.join("auth.json").display())
            }
            _ => "OS keychain (service \"codexia\"); a 0600 file if no keychain answers".to_owned(),
        },
    }
}

async fn get_settings(app: &Desktop, tray: &TrayApp) -> CommandResult<SettingsView> {
    let (settings, file, path) = load()?;
    let endpoint = tray.gateway.endpoint().await;
    let attached = tray.gateway.state().await.is_none() && endpoint.is_some();
    let models = match &settings.models.value {
        ModelList::Catalog => String::new(),
        ModelList::Explicit(list) => list.join(", "),
    };
    Ok(SettingsView {
        host: settings.bind.value.ip().to_string(),
        port: settings.bind.value.port(),
        api_key: settings
            .api_key
            .value
            .as_ref()
            .map(|k| k.expose().to_owned()),
        models,
        extra_models: settings.extra_models.value.join(", "),
        model_fallback: settings.model_fallback.value.clone().unwrap_or_default(),
        model_aliases: settings
            .model_aliases
            .value
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        proxy: file.proxy.clone().unwrap_or_default(),
        capture: settings.capture_dir.value.is_some(),
        capture_dir: settings
            .capture_dir
            .value
            .clone()
            .unwrap_or_else(|| default_capture_dir(&settings.home))
            .display()
            .to_string(),
        autostart: app.autostart_enabled(),
        credentials: credentials_location(&settings),
        config_file: path.display().to_string(),
        gateway_url: endpoint.map(|(url, _)| url),
        attached,
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Where the Settings switch keeps capture files unless config.json names a directory.
fn default_capture_dir(home: &std::path::Path) -> std::path::PathBuf {
    home.join("captures")
}

/// config.json `capture_dir` for the switch: the directory already there (or the default)
/// when on, none when off.
fn capture_dir_for(
    on: bool,
    written: Option<&std::path::Path>,
    home: &std::path::Path,
) -> Option<std::path::PathBuf> {
    on.then(|| written.map_or_else(|| default_capture_dir(home), std::path::Path::to_path_buf))
}

fn optional_list(text: &str) -> CommandResult<Option<Vec<String>>> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse_model_list(text).map(Some).map_err(TrayError::new)
    }
}

fn parse_aliases(text: &str) -> CommandResult<Option<std::collections::BTreeMap<String, String>>> {
    let mut aliases = std::collections::BTreeMap::new();
    for pair in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (from, to) = pair
            .split_once('=')
            .filter(|(f, t)| !f.trim().is_empty() && !t.trim().is_empty())
            .ok_or_else(|| TrayError::new(format!("Alias \"{pair}\" must look like from=to.")))?;
        aliases.insert(from.trim().to_owned(), to.trim().to_owned());
    }
    Ok(Some(aliases).filter(|a| !a.is_empty()))
}

async fn save_settings(
    app: &Desktop,
    tray: &TrayApp,
    form: SettingsForm,
) -> CommandResult<SaveResult> {
    let (before, mut file, path) = load()?;
    let bind = parse_bind(&format!("{}:{}", form.host.trim(), form.port))
        .map_err(|m| TrayError::new(format!("Bind address: {m}")))?;
    file.bind = Some(bind.to_string());
    file.api_key = form
        .api_key
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty());
    file.models = optional_list(&form.models)?;
    file.extra_models = optional_list(&form.extra_models)?;
    file.model_fallback = Some(form.model_fallback.trim().to_owned()).filter(|f| !f.is_empty());
    file.model_aliases = parse_aliases(&form.model_aliases)?;
    file.proxy = Some(form.proxy.trim().to_owned()).filter(|p| !p.is_empty());
    file.capture_dir = capture_dir_for(form.capture, file.capture_dir.as_deref(), &before.home);
    // Check the result as the gateway will read it before replacing the file.
    let env = Env::from_process();
    let after =
        Settings::resolve_with_file(&Overrides::default(), &env, before.home.clone(), &file)?;
    if after.exposed_without_key().is_some() {
        return Err(TrayError::new(
            "Listening beyond this computer needs an API key: generate one first.",
        ));
    }
    file.save(&path)?;

    if form.autostart != app.autostart_enabled() {
        app.set_autostart(form.autostart)
            .map_err(|e| TrayError::new(format!("Start at login could not be changed: {e}")))?;
    }

    let in_process = tray.gateway.state().await.is_some();
    let needs_restart = in_process
        && (before.bind.value != after.bind.value
            || before.api_key.value != after.api_key.value
            || before.models.value != after.models.value
            || before.extra_models.value != after.extra_models.value
            || before.model_fallback.value != after.model_fallback.value
            || before.model_aliases.value != after.model_aliases.value
            || before.proxy.value != after.proxy.value
            || before.capture_dir.value != after.capture_dir.value);
    // Environment variables outrank config.json: say so rather than pretend.
    let overridden: Vec<&str> = [
        (after.bind.source, crate::settings::EnvVars::BIND),
        (after.api_key.source, crate::settings::EnvVars::API_KEY),
        (after.models.source, crate::settings::EnvVars::MODELS),
        (
            after.model_fallback.source,
            crate::settings::EnvVars::MODEL_FALLBACK,
        ),
        (
            after.capture_dir.source,
            crate::settings::EnvVars::CAPTURE_DIR,
        ),
    ]
    .into_iter()
    // The proxy from the environment outranks config.json only through CODEXIA_PROXY.
    .chain(
        file.proxy
            .is_some()
            .then_some((after.proxy.source, crate::settings::EnvVars::PROXY)),
    )
    .filter(|(source, _)| *source == crate::settings::Source::Env)
    .map(|(_, var)| var)
    .collect();
    let message = if needs_restart {
        match tray.gateway.restart(after).await {
            Ok((url, attached)) => {
                tray.set_gateway_line(super::menu::GatewayLine::Running { url, attached });
                "Saved. The gateway restarted with the new settings.".to_owned()
            }
            Err(err) => {
                let reason = err.message;
                tray.set_gateway_line(super::menu::GatewayLine::Failed {
                    reason: reason.clone(),
                });
                app.render();
                return Err(TrayError::new(format!(
                    "Saved, but the gateway could not restart: {reason}"
                )));
            }
        }
    } else if in_process {
        "Saved.".to_owned()
    } else {
        "Saved. The gateway is run by the background service: `codexia daemon restart` applies the changes."
            .to_owned()
    };
    let message = if overridden.is_empty() {
        message
    } else {
        format!(
            "{message} Note: {} set in the environment still take precedence.",
            overridden.join(", ")
        )
    };
    app.render();
    tray.refresh.notify_one();
    Ok(SaveResult {
        message,
        gateway_url: tray.gateway.endpoint().await.map(|(url, _)| url),
    })
}

fn generate_api_key() -> CommandResult<String> {
    Ok(ApiKey::generate()?.expose().to_owned())
}

fn copy_text(app: &Desktop, text: String) -> CommandResult<()> {
    app.copy_text(text)?;
    Ok(())
}

/// One row of the "last requests" table.
#[derive(Debug, Serialize)]
pub(crate) struct RequestRow {
    time: String,
    route: String,
    model: String,
    status: u16,
    duration_ms: u64,
    tokens: String,
}

async fn recent_requests(tray: &TrayApp) -> CommandResult<Vec<RequestRow>> {
    let Some(state) = tray.gateway.state().await else {
        return Ok(Vec::new());
    };
    Ok(state
        .recent_requests()
        .into_iter()
        .rev()
        .map(|r| RequestRow {
            time: r.at.format("%H:%M:%S").to_string(),
            route: r.route,
            model: r.model.unwrap_or_default(),
            status: r.status,
            duration_ms: r.duration_ms,
            tokens: match (r.input_tokens, r.output_tokens) {
                (Some(i), Some(o)) => format!("{i} in · {o} out"),
                _ => String::new(),
            },
        })
        .collect())
}

/// How long the gateway may take to list its captures.
const INSPECTOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `GET PATH` of the gateway this tray uses (its own or the daemon's): the inspector's JSON,
/// passed to the page as it is (the contract is docs/inspector.md).
async fn inspector_get(tray: &TrayApp, path: &str) -> CommandResult<Value> {
    let Some((url, key)) = tray.gateway.endpoint().await else {
        return Err(TrayError::new(
            "The gateway is not running, so there are no requests to show.",
        ));
    };
    crate::local::LocalGateway::new(url, key)
        .get_json(path, INSPECTOR_TIMEOUT)
        .await
        .map_err(|e| {
            TrayError::new(format!(
                "The gateway did not answer with its requests ({e})."
            ))
        })
}

async fn inspector_requests(tray: &TrayApp, last: Option<u32>) -> CommandResult<Value> {
    inspector_get(tray, &format!("/v1/requests?last={}", last.unwrap_or(50))).await
}

async fn inspector_request(tray: &TrayApp, id: &str) -> CommandResult<Value> {
    // The id goes into a URL path: only the ids the list gives (`req_12`).
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(TrayError::new(format!("{id:?} is not a request id.")));
    }
    inspector_get(tray, &format!("/v1/requests/{id}")).await
}

/// What the Replay button shows: the replay's id and status, and "identical", the changed
/// fields (one line each) or why there is nothing to compare.
#[derive(Debug, Serialize)]
pub(crate) struct ReplayView {
    original: String,
    replay: String,
    status: u16,
    identical: bool,
    changes: Vec<String>,
    problem: Option<String>,
}

/// Characters of a value shown in a changed field (as the CLI).
const SHOWN_VALUE: usize = 120;

async fn replay_request(tray: &TrayApp, id: &str) -> CommandResult<ReplayView> {
    use crate::local::replay::{self, ReplayError};
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(TrayError::new(format!("{id:?} is not a request id.")));
    }
    let Some((url, key)) = tray.gateway.endpoint().await else {
        return Err(TrayError::new(
            "The gateway is not running, so the request cannot be replayed.",
        ));
    };
    let gateway = crate::local::LocalGateway::new(url, key);
    let original = replay::fetch(&gateway, id)
        .await
        .map_err(|e| TrayError::new(format!("The gateway did not answer with {id} ({e}).")))?;
    let replayed = replay::replay(&gateway, &original)
        .await
        .map_err(|err| match err {
            ReplayError::NotWhole { .. } => TrayError::new(format!(
                "{err}: raise inspector_memory_mb to keep larger requests."
            )),
            ReplayError::NotCaptured { .. } => TrayError::new(format!(
                "{err}: capture is off when inspector_memory_mb is 0."
            )),
            other => TrayError::new(format!("The replay failed: {other}.")),
        })?;
    let (changes, problem) = match &replayed.comparison {
        Ok(changes) => (
            changes
                .iter()
                .map(|c| crate::inspector::diff::describe(c, SHOWN_VALUE))
                .collect(),
            None,
        ),
        Err(problem) => (Vec::new(), Some(problem.clone())),
    };
    Ok(ReplayView {
        original: original.summary.id,
        replay: replayed.id,
        status: replayed.status.as_u16(),
        identical: problem.is_none() && changes.is_empty(),
        changes,
        problem,
    })
}

/// Where the Settings button's bundle went.
#[derive(Debug, Serialize)]
pub(crate) struct BundleWritten {
    path: String,
    files: usize,
}

/// "Create support bundle": the same bundle as `codexia support-bundle`, from this tray's
/// gateway (in-process or the daemon's), into the Downloads folder (else the home folder).
async fn create_support_bundle(
    tray: &TrayApp,
    include_contents: bool,
) -> CommandResult<BundleWritten> {
    let (settings, _, _) = load()?;
    let gateway = tray
        .gateway
        .endpoint()
        .await
        .map(|(url, key)| crate::local::LocalGateway::new(url, key));
    let now = chrono::Local::now();
    let dir = dirs::download_dir()
        .filter(|d| d.is_dir())
        .or_else(dirs::home_dir)
        .unwrap_or_else(|| settings.home.clone());
    let path = dir.join(crate::support::default_file_name(now));
    let options = crate::support::BundleOptions { include_contents };
    let files = crate::support::make(&settings, gateway, options, &path, now)
        .await
        .map_err(|e| TrayError::new(format!("The support bundle could not be written: {e}")))?;
    Ok(BundleWritten {
        path: path.display().to_string(),
        files,
    })
}

/// Deletes the stored credentials.
pub(crate) async fn sign_out(tray: &TrayApp) {
    match super::signin::AuthHandle::for_tray(tray).await {
        Ok((auth, _)) => {
            if let Err(err) = auth.manager().sign_out().await {
                tracing::warn!("cannot sign out: {err}");
            }
        }
        Err(err) => tracing::warn!("cannot sign out: {}", err.message),
    }
}

/// Makes the account `name` the active one (the Accounts submenu), as `codexia accounts use`.
pub(crate) async fn use_account(tray: &TrayApp, name: &str) {
    match super::signin::AuthHandle::for_tray(tray).await {
        Ok((auth, _)) => match auth.manager().use_account(name).await {
            Ok(entry) => tracing::info!("account {:?} is now active", entry.name),
            Err(err) => tracing::warn!("cannot switch to account {name:?}: {err}"),
        },
        Err(err) => tracing::warn!("cannot switch accounts: {}", err.message),
    }
}

/// "Continue with ChatGPT": starts (or continues) the attempt and answers the authorize URL,
/// which the Sign in window loads; its navigation to the redirect URL comes back as
/// `submit_redirect_url`.
async fn sign_in_here(app: &Handle, tray: &Arc<TrayApp>, signin: &SignIn) -> CommandResult<String> {
    let pending = signin.begin(app, tray).await?;
    Ok(pending.request.url.clone())
}

/// "Use my browser instead": the system browser, finished through the loopback listener.
async fn sign_in_with_browser(
    app: &Handle,
    tray: &Arc<TrayApp>,
    signin: &SignIn,
) -> CommandResult<Option<String>> {
    let pending = signin.begin(app, tray).await?;
    open_in_browser(&pending.request.url).map_err(|e| {
        TrayError::new(format!(
            "Cannot open a browser ({e}). Open this address yourself: {}",
            pending.request.url
        ))
    })?;
    Ok(Some(
        "Finish signing in in your browser; this window closes by itself.".to_owned(),
    ))
}

/// Opens `url` in the default browser, without the GDK setting the tray gave itself (see
/// `tray::without_gdk_gl`).
fn open_in_browser(url: &str) -> std::io::Result<()> {
    let mut failure = std::io::Error::other("no program to open a browser was found");
    for mut command in open::commands(url) {
        super::restore_gdk_gl(&mut command);
        command
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        match command.spawn() {
            Ok(mut child) => {
                // Reaped when it ends (xdg-open hands over to the browser and exits).
                std::thread::spawn(move || child.wait());
                return Ok(());
            }
            Err(err) => failure = err,
        }
    }
    Err(failure)
}

/// "Paste the redirect URL", and the Sign in window's own navigation to it.
async fn submit_redirect_url(
    app: &Handle,
    tray: &Arc<TrayApp>,
    signin: &SignIn,
    url: &str,
) -> CommandResult<Option<String>> {
    signin.begin(app, tray).await?;
    signin.submit(url).await?;
    Ok(Some("Signing in…".to_owned()))
}

/// The Usage page's data, read from the ledger off the async threads.
async fn usage_page(tray: &TrayApp, by: &str) -> CommandResult<crate::ledger::query::UsagePage> {
    use crate::ledger::query::{GroupBy, usage_page_from_file};
    let by = GroupBy::parse(by).unwrap_or(GroupBy::Client);
    let path = tray.home.join(crate::ledger::FILE_NAME);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let page = tokio::task::spawn_blocking(move || usage_page_from_file(&path, by, now_ms))
        .await
        .map_err(TrayError::from)?;
    page.map_err(|err| TrayError::new(format!("The usage history cannot be read: {err}")))
}

fn answer<T: Serialize>(result: CommandResult<T>) -> CommandResult<Value> {
    result.and_then(|value| serde_json::to_value(value).map_err(TrayError::from))
}

/// Runs one page command forwarded by a window process.
pub(crate) async fn dispatch(app: &Handle, request: PageCommand) -> Outcome {
    let tray = Arc::clone(&app.tray);
    let signin = &app.signin;
    let result = match request {
        PageCommand::GetSettings => answer(get_settings(app, &tray).await),
        PageCommand::SaveSettings { form } => {
            answer(Box::pin(save_settings(app, &tray, form)).await)
        }
        PageCommand::GenerateApiKey => answer(generate_api_key()),
        PageCommand::CopyText { text } => answer(copy_text(app, text)),
        PageCommand::RecentRequests => answer(recent_requests(&tray).await),
        PageCommand::Requests { last } => answer(inspector_requests(&tray, last).await),
        PageCommand::RequestDetail { id } => answer(inspector_request(&tray, &id).await),
        PageCommand::ReplayRequest { id } => answer(Box::pin(replay_request(&tray, &id)).await),
        PageCommand::Usage { by } => answer(usage_page(&tray, &by).await),
        PageCommand::CreateSupportBundle { include_contents } => {
            answer(Box::pin(create_support_bundle(&tray, include_contents)).await)
        }
        PageCommand::SignInHere => answer(sign_in_here(app, &tray, signin).await),
        PageCommand::SignInWithBrowser => answer(sign_in_with_browser(app, &tray, signin).await),
        PageCommand::SubmitRedirectUrl { url } => {
            answer(submit_redirect_url(app, &tray, signin, &url).await)
        }
    };
    match result {
        Ok(value) => Outcome::Ok(value),
        Err(err) => Outcome::Error(err),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn the_capture_switch_writes_the_directory_it_shows() {
        let home = Path::new("/h/.codexia");
        // On: the directory config.json names, else $CODEXIA_HOME/captures.
        assert_eq!(
            capture_dir_for(true, None, home),
            Some(PathBuf::from("/h/.codexia/captures"))
        );
        assert_eq!(
            capture_dir_for(true, Some(Path::new("/tmp/caps")), home),
            Some(PathBuf::from("/tmp/caps"))
        );
        // Off: none, whatever was there.
        assert_eq!(
            capture_dir_for(false, Some(Path::new("/tmp/caps")), home),
            None
        );
        assert_eq!(capture_dir_for(false, None, home), None);
    }

    #[test]
    fn the_saved_capture_dir_is_read_back_as_the_gateway_s_setting() {
        // What save_settings writes, through config.json, is what the gateway is started with.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let file = ConfigFile {
            capture_dir: capture_dir_for(true, None, dir.path()),
            ..ConfigFile::default()
        };
        file.save(&path).unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expected = dir.path().join("captures");
        assert_eq!(written["capture_dir"], expected.display().to_string());
        let settings = Settings::resolve_with_file(
            &Overrides::default(),
            &Env::default(),
            dir.path().to_path_buf(),
            &ConfigFile::load(&path).unwrap(),
        )
        .unwrap();
        assert_eq!(settings.capture_dir.value, Some(expected));
    }
}
