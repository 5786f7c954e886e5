//! `codexia claude [ARGS…]`: runs Claude Code against the gateway — the running one, or one
//! started inside this process — with the model and context-window variables set.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::UserError;
use crate::gateway::Gateway;
use crate::models::{ModelMap, context_window};
use crate::settings::{Env, Overrides, Settings};

pub async fn run(args: &[String], verbose: u8) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    let claude = find_on_path("claude", env.get("PATH").unwrap_or_default()).ok_or_else(|| {
        UserError::with_hint(
            "Claude Code is not installed (there is no `claude` on PATH)",
            "install it with `npm install -g @anthropic-ai/claude-code`, then run `codexia claude` again",
        )
    })?;
    let settings = Settings::resolve(&Overrides::default(), &env)?;
    super::init_logging(if verbose > 0 { "debug" } else { "warn" }, verbose);

    let configured = format!("http://{}", super::client_addr(settings.bind.value));
    let (base_url, _gateway_task) = if super::gateway_answers(&configured).await {
        (configured, None)
    } else {
        // No gateway answers: serve one inside this process, on a free loopback port.
        let mut local = settings.clone();
        local.bind.value = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let gateway = Gateway::bind(local).await?;
        let url = format!("http://{}", gateway.local_addr());
        tracing::info!("started a gateway for this session at {url}");
        let task = tokio::spawn(gateway.serve(std::future::pending()));
        (url, Some(AbortOnDrop(task)))
    };

    let models = ModelMap::from_settings(&settings, None);
    let pick = |id: &str| models.resolve(id).map(|r| r.upstream).ok();
    let main_model =
        pick("claude-sonnet-4-5").unwrap_or_else(|| crate::models::DEFAULT_LARGE_MODEL.to_owned());
    let mut vars: Vec<(&str, String)> = vec![
        ("ANTHROPIC_BASE_URL", base_url),
        (
            "ANTHROPIC_AUTH_TOKEN",
            settings
                .api_key
                .value
                .as_ref()
                .map_or_else(|| "codexia".to_owned(), |k| k.expose().to_owned()),
        ),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
    ];
    let model_vars = [
        ("ANTHROPIC_MODEL", Some(main_model.clone())),
        ("ANTHROPIC_DEFAULT_OPUS_MODEL", pick("claude-opus-4-1")),
        ("ANTHROPIC_DEFAULT_SONNET_MODEL", pick("claude-sonnet-4-5")),
        ("ANTHROPIC_DEFAULT_HAIKU_MODEL", pick("claude-haiku-4-5")),
        ("ANTHROPIC_SMALL_FAST_MODEL", pick("claude-haiku-4-5")),
        (
            "CLAUDE_CODE_AUTO_COMPACT_WINDOW",
            Some(context_window(&main_model).to_string()),
        ),
    ];
    for (name, value) in model_vars {
        // A value the user set on purpose wins.
        if env.get(name).is_none()
            && let Some(value) = value
        {
            vars.push((name, value));
        }
    }

    let mut command = tokio::process::Command::new(&claude);
    command.args(args).env_remove("ANTHROPIC_API_KEY");
    for (name, value) in &vars {
        command.env(name, value);
    }
    let status = command
        .status()
        .await
        .with_context(|| format!("cannot start {}", claude.display()))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

/// Stops the in-process gateway when Claude Code has exited.
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
