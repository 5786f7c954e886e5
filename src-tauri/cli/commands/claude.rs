//! `codexia claude [ARGS…]`: runs Claude Code against the gateway — the running one, or one
//! started inside this process — with the model and context-window variables set and the
//! served models described to Claude Code (`--settings`, see `claude_env.rs`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::claude_env::{ClaudeEnv, statusline_setting};
use crate::cli::UserError;
use crate::gateway::Gateway;
use crate::local;
use crate::logging::{self, Loudness};
use crate::models::ModelMap;
use crate::settings::{ApiKey, Env, Overrides, Settings};

pub(crate) async fn run(args: &[String], verbose: u8) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    let claude = find_on_path("claude", env.get("PATH").unwrap_or_default()).ok_or_else(|| {
        UserError::with_hint(
            "Claude Code is not installed (there is no `claude` on PATH)",
            "install it with `npm install -g @anthropic-ai/claude-code`, then run `codexia claude` again",
        )
    })?;
    let settings = Settings::resolve(&Overrides::default(), &env)?;
    logging::init(&settings, Loudness::Quiet, verbose);

    let (base_url, _gateway_task) = session_gateway(&settings).await?;

    let api_key = settings.api_key.value.as_ref().map(ApiKey::expose);
    let claude_env = ClaudeEnv::new(
        &base_url,
        api_key,
        &ModelMap::from_settings(&settings, None),
    );
    let mut command = tokio::process::Command::new(&claude);
    // Our settings first: a `--settings` of the user's, later on the line, applies over them.
    let mut settings = claude_env.settings();
    // codexia's status line (windows left, this session's tokens), unless the user has one.
    if !user_has_statusline(args, &env)
        && let Ok(exe) = std::env::current_exe()
    {
        settings["statusLine"] = statusline_setting(&exe.to_string_lossy());
    }
    command
        .arg("--settings")
        .arg(settings.to_string())
        .args(args)
        .env_remove("ANTHROPIC_API_KEY");
    // A model the user set on purpose wins.
    command.envs(claude_env.vars(|name| env.get(name).is_some()));
    let status = command
        .status()
        .await
        .with_context(|| format!("cannot start {}", claude.display()))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

/// Whether the user chose their own settings (`--settings`) or status line (`statusLine` in
/// Claude Code's user, project or local settings file).
fn user_has_statusline(args: &[String], env: &Env) -> bool {
    if args
        .iter()
        .any(|a| a == "--settings" || a.starts_with("--settings="))
    {
        return true;
    }
    let user_dir = env
        .get("CLAUDE_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| env.get("HOME").map(|home| Path::new(home).join(".claude")));
    let project = std::env::current_dir().ok().map(|dir| dir.join(".claude"));
    let files = user_dir
        .map(|dir| dir.join("settings.json"))
        .into_iter()
        .chain(
            project
                .into_iter()
                .flat_map(|dir| [dir.join("settings.json"), dir.join("settings.local.json")]),
        );
    files
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .any(|settings| settings.get("statusLine").is_some())
}

/// The running gateway's URL (`http://HOST:PORT`), or one served inside this process on a free
/// loopback port for as long as the returned task is kept: what `codexia claude` and `codexia
/// codex` point their tool at.
pub(super) async fn session_gateway(
    settings: &Settings,
) -> anyhow::Result<(String, Option<AbortOnDrop<std::io::Result<()>>>)> {
    let configured = local::gateway_url(settings.bind.value);
    if local::gateway_answers(&configured).await {
        return Ok((configured, None));
    }
    let mut session = settings.clone();
    session.bind.value = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let gateway = Gateway::bind(session).await?;
    let url = format!("http://{}", gateway.local_addr());
    tracing::info!("started a gateway for this session at {url}");
    let task = tokio::spawn(gateway.serve(std::future::pending()));
    Ok((url, Some(AbortOnDrop(task))))
}

/// Stops the in-process gateway when the tool has exited.
pub(super) struct AbortOnDrop<T>(pub(super) tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The first executable `name` in a PATH-style list.
pub(super) fn find_on_path(name: &str, path: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}
