//! `codexia codex [ARGS…]`: runs the OpenAI Codex CLI against the gateway — the running one, or
//! one started inside this process — as a custom model provider speaking `/v1/responses`.
//!
//! The Codex CLI reads its settings from `$CODEX_HOME/config.toml` (default `~/.codex`). Here
//! `CODEX_HOME` is a private directory made for this session under `$CODEXIA_HOME/codex/`,
//! holding only a `config.toml` that selects codexia as the model provider; it is removed when
//! Codex exits. So the user's own `~/.codex` (config, sessions, sign-in) is neither read nor
//! changed, and no ChatGPT sign-in of Codex's own is needed: a custom provider sends only the
//! gateway's API key, when one is configured. The directory is not under the system temp dir
//! because Codex refuses to create its helper links there and prints a warning.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::UserError;
use crate::logging::{self, Loudness};
use crate::models::{DEFAULT_LARGE_MODEL, ModelMap};
use crate::settings::{Env, EnvVars, Overrides, Settings};

/// The provider id in the generated `config.toml`.
const PROVIDER_ID: &str = "codexia";

pub(crate) async fn run(args: &[String], verbose: u8) -> anyhow::Result<ExitCode> {
    let env = Env::from_process();
    let codex = super::claude::find_on_path("codex", env.get("PATH").unwrap_or_default())
        .ok_or_else(|| {
            UserError::with_hint(
                "the Codex CLI is not installed (there is no `codex` on PATH)",
                "install it with `npm install -g @openai/codex`, then run `codexia codex` again",
            )
        })?;
    let settings = Settings::resolve(&Overrides::default(), &env)?;
    logging::init(&settings, Loudness::Quiet, verbose);
    let (base_url, _gateway_task) = super::claude::session_gateway(&settings).await?;
    let host = url::Url::parse(&base_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "127.0.0.1".to_owned());

    let models = ModelMap::from_settings(&settings, None);
    let model = models
        .resolve(DEFAULT_LARGE_MODEL)
        .map(|r| r.upstream)
        .ok()
        .or_else(|| models.served().first().cloned())
        .unwrap_or_else(|| DEFAULT_LARGE_MODEL.to_owned());
    let api_key = settings
        .api_key
        .value
        .as_ref()
        .map(|k| k.expose().to_owned());

    let home = SessionHome::create(&settings.home.join("codex")).with_context(|| {
        format!(
            "cannot create a configuration directory for Codex in {}",
            settings.home.display()
        )
    })?;
    let config = provider_config(&format!("{base_url}/v1"), &model, api_key.is_some());
    std::fs::write(home.path().join("config.toml"), config)
        .with_context(|| format!("cannot write {}", home.path().join("config.toml").display()))?;

    let mut command = tokio::process::Command::new(&codex);
    command.args(args).env("CODEX_HOME", home.path());
    if let Some(key) = api_key {
        command.env(EnvVars::API_KEY, key);
    }
    // A proxy set for the internet must not carry the requests to the gateway.
    for var in ["NO_PROXY", "no_proxy"] {
        command.env(var, no_proxy_with(env.get(var), &host));
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", codex.display()))?;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            // Ctrl-C reaches Codex too (same process group): wait for it to finish, then clean up.
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    .with_context(|| format!("waiting for {}", codex.display()))?;
    drop(home);
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .map_or(ExitCode::FAILURE, ExitCode::from))
}

/// `$CODEX_HOME/config.toml` selecting the gateway at `base_url` (`http://ADDR/v1`) as the model
/// provider, with `model` as the default model; with `with_key`, Codex sends the key found in
/// `CODEXIA_API_KEY` as `Authorization: Bearer`.
fn provider_config(base_url: &str, model: &str, with_key: bool) -> String {
    let mut text = format!(
        "# Written by `codexia codex` for one session; removed when Codex exits.\n\
         model = {model}\n\
         model_provider = {id}\n\
         \n\
         [model_providers.{PROVIDER_ID}]\n\
         name = {id}\n\
         base_url = {base_url}\n\
         wire_api = \"responses\"\n",
        model = toml_string(model),
        id = toml_string(PROVIDER_ID),
        base_url = toml_string(base_url),
    );
    if with_key {
        text.push_str(&format!("env_key = {}\n", toml_string(EnvVars::API_KEY)));
    }
    text
}

/// A TOML basic string. JSON string syntax is a subset of it (the same `\"`, `\\` and `\uXXXX`
/// escapes), so serde_json's quoting is valid TOML.
fn toml_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// `NO_PROXY` with `host` added (comma-separated, as curl and reqwest read it).
fn no_proxy_with(existing: Option<&str>, host: &str) -> String {
    match existing.map(str::trim).filter(|v| !v.is_empty()) {
        Some(list) if list.split(',').any(|entry| entry.trim() == host) => list.to_owned(),
        Some(list) => format!("{list},{host}"),
        None => host.to_owned(),
    }
}

/// A private directory used as `CODEX_HOME` for one session; removed on drop.
struct SessionHome(PathBuf);

impl SessionHome {
    fn create(parent: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(parent)?;
        let path = parent.join(format!("session-{}", std::process::id()));
        // A directory with this process's id can only be left over by a run that crashed.
        match std::fs::remove_dir_all(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
            _ => {}
        }
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SessionHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_config_selects_the_gateway_as_a_responses_provider() {
        assert_eq!(
            provider_config("http://127.0.0.1:14550/v1", "gpt-5.5", false),
            "# Written by `codexia codex` for one session; removed when Codex exits.\n\
             model = \"gpt-5.5\"\n\
             model_provider = \"codexia\"\n\
             \n\
             [model_providers.codexia]\n\
             name = \"codexia\"\n\
             base_url = \"http://127.0.0.1:14550/v1\"\n\
             wire_api = \"responses\"\n"
        );
    }

    #[test]
    fn with_an_api_key_codex_reads_it_from_codexia_api_key() {
        let config = provider_config("http://[::1]:9/v1", "gpt-5.4", true);
        assert!(
            config.ends_with("wire_api = \"responses\"\nenv_key = \"CODEXIA_API_KEY\"\n"),
            "{config}"
        );
        assert!(
            config.contains("base_url = \"http://[::1]:9/v1\"\n"),
            "{config}"
        );
    }

    #[test]
    fn toml_strings_escape_quotes_and_backslashes() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn no_proxy_gains_the_gateway_host_once() {
        assert_eq!(no_proxy_with(None, "127.0.0.1"), "127.0.0.1");
        assert_eq!(
            no_proxy_with(Some("example.com"), "127.0.0.1"),
            "example.com,127.0.0.1"
        );
        assert_eq!(
            no_proxy_with(Some("localhost, 127.0.0.1"), "127.0.0.1"),
            "localhost, 127.0.0.1"
        );
    }

    #[test]
    fn a_session_home_is_private_and_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let home = SessionHome::create(&parent.path().join("codex")).unwrap();
        let path = home.path().to_owned();
        assert!(path.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(path.metadata().unwrap().permissions().mode() & 0o777, 0o700);
        }
        drop(home);
        assert!(!path.exists());
    }
}
