//! `codexia config` (interactive), `config show` and `config reset`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::UserError;
use crate::cli::args::ConfigAction;
use crate::cli::output::Printer;
use crate::settings::{ConfigFile, Env, ModelList, Overrides, Settings, Sourced};

pub(crate) fn run(action: Option<&ConfigAction>) -> anyhow::Result<ExitCode> {
    match action {
        Some(ConfigAction::Show) => show(),
        Some(ConfigAction::Reset { yes }) => reset(*yes),
        None => interactive(),
    }
}

fn show() -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    let p = Printer;
    p.out(format!("config file: {}", settings.config_file().display()));
    let line = |name: &str, value: String, source: crate::settings::Source| {
        p.out(format!("{name:<27} {value:<40} ({source})"));
    };
    let show = |name: &str, s: &Sourced<String>| line(name, s.value.clone(), s.source);
    line(
        "bind",
        settings.bind.value.to_string(),
        settings.bind.source,
    );
    line(
        "api_key",
        settings
            .api_key
            .value
            .as_ref()
            .map_or_else(|| "none".to_owned(), crate::settings::ApiKey::masked),
        settings.api_key.source,
    );
    let models = match &settings.models.value {
        ModelList::Catalog => "the backend's catalog (built-in list offline)".to_owned(),
        ModelList::Explicit(list) => list.join(","),
    };
    line("models", models, settings.models.source);
    line(
        "extra_models",
        none_if_empty(settings.extra_models.value.join(",")),
        settings.extra_models.source,
    );
    line(
        "model_fallback",
        settings
            .model_fallback
            .value
            .clone()
            .unwrap_or_else(|| "opus/sonnet → gpt-5.5, haiku → gpt-5.4-mini".to_owned()),
        settings.model_fallback.source,
    );
    let aliases: Vec<String> = settings
        .model_aliases
        .value
        .iter()
        .map(|(from, to)| format!("{from}={to}"))
        .collect();
    line(
        "model_aliases",
        none_if_empty(aliases.join(",")),
        settings.model_aliases.source,
    );
    line(
        "allowed_origins",
        none_if_empty(settings.allowed_origins.value.join(",")),
        settings.allowed_origins.source,
    );
    line(
        "auth_file",
        settings.auth_file.value.as_ref().map_or_else(
            || "none (OS keychain)".to_owned(),
            |p| p.display().to_string(),
        ),
        settings.auth_file.source,
    );
    line(
        "credential_store",
        format!("{:?}", settings.credential_store.value).to_lowercase(),
        settings.credential_store.source,
    );
    show("auth_url", &settings.auth_url);
    show("backend_url", &settings.backend_url);
    // The proxy without its credentials, and the hosts NO_PROXY sends around it.
    line(
        "proxy",
        settings.proxy.value.to_string(),
        settings.proxy.source,
    );
    show("log", &settings.log);
    let secs = |d: &Sourced<std::time::Duration>| format!("{} s", d.value.as_secs());
    let mib = |bytes: usize| format!("{} MiB", bytes / (1024 * 1024));
    let limits = [
        (
            "upstream_first_byte_timeout",
            secs(&settings.upstream_first_byte_timeout),
            settings.upstream_first_byte_timeout.source,
        ),
        (
            "header_read_timeout",
            secs(&settings.header_read_timeout),
            settings.header_read_timeout.source,
        ),
        (
            "idle_timeout",
            secs(&settings.idle_timeout),
            settings.idle_timeout.source,
        ),
        (
            "max_connections",
            settings.max_connections.value.to_string(),
            settings.max_connections.source,
        ),
        (
            "max_body_size",
            mib(settings.max_body_size.value),
            settings.max_body_size.source,
        ),
        (
            "body_budget",
            mib(settings.body_budget.value),
            settings.body_budget.source,
        ),
        (
            "usage_retention_days",
            settings.usage_retention_days.value.to_string(),
            settings.usage_retention_days.source,
        ),
        (
            "inspector_memory_mb",
            mib(settings.inspector_memory.value),
            settings.inspector_memory.source,
        ),
        (
            "capture_dir",
            settings
                .capture_dir
                .value
                .as_ref()
                .map_or_else(|| "none".to_owned(), |d| d.display().to_string()),
            settings.capture_dir.source,
        ),
        (
            "log_file_size",
            format!("{} KiB", settings.log_file_size.value / 1024),
            settings.log_file_size.source,
        ),
    ];
    for (name, value, source) in limits {
        line(name, value, source);
    }
    Ok(ExitCode::SUCCESS)
}

fn none_if_empty(text: String) -> String {
    if text.is_empty() {
        "none".to_owned()
    } else {
        text
    }
}

fn reset(yes: bool) -> anyhow::Result<ExitCode> {
    let home = Settings::home_dir(&Env::from_process())?;
    let path = Settings::config_path(&home);
    if !path.exists() {
        Printer.note(format!(
            "{} does not exist; the defaults are already in effect.",
            path.display()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(UserError::with_hint(
                "refusing to reset the configuration without confirmation",
                "run `codexia config reset --yes`",
            )
            .into());
        }
        let answer = Printer.ask(&format!("Reset {} to the defaults? [y/N] ", path.display()));
        if !matches!(answer.as_deref(), Some("y" | "Y" | "yes" | "Yes")) {
            Printer.note("Nothing changed.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let backup = path.with_extension("json.bak");
    std::fs::rename(&path, &backup)
        .with_context(|| format!("cannot move {} aside", path.display()))?;
    Printer.note(format!(
        "Configuration reset to the defaults; the old file is {}.",
        backup.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `codexia config`: asks for each setting with the current value as the default and writes
/// config.json atomically.
fn interactive() -> anyhow::Result<ExitCode> {
    use dialoguer::{Input, Select};

    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(UserError::with_hint(
            "`codexia config` asks questions and needs a terminal",
            "use `codexia config show` to print the configuration, or edit config.json directly",
        )
        .into());
    }
    let env = Env::from_process();
    let home = Settings::home_dir(&env)?;
    let path = Settings::config_path(&home);
    let mut file = ConfigFile::load(&path)?;
    let theme = dialoguer::theme::SimpleTheme;
    Printer.note(format!(
        "Editing {} (Enter keeps the value shown).",
        path.display()
    ));

    let bind: String = Input::with_theme(&theme)
        .with_prompt("Bind address")
        .default(
            file.bind
                .clone()
                .unwrap_or_else(|| crate::settings::DEFAULT_BIND.to_string()),
        )
        .validate_with(|text: &String| crate::settings::parse_bind(text).map(drop))
        .interact_text()?;
    file.bind = Some(bind).filter(|b| b != &crate::settings::DEFAULT_BIND.to_string());

    let current_key = file.api_key.clone();
    let mut choices = Vec::new();
    if let Some(key) = &current_key {
        choices.push(format!(
            "Keep the current key ({})",
            crate::settings::ApiKey::new(key.clone()).masked()
        ));
    }
    choices.extend([
        "No key (only this computer can connect)".to_owned(),
        "Generate a new key".to_owned(),
        "Enter a key".to_owned(),
    ]);
    let picked = Select::with_theme(&theme)
        .with_prompt("API key")
        .items(&choices)
        .default(0)
        .interact()?;
    let offset = usize::from(current_key.is_some());
    file.api_key = match picked.checked_sub(offset) {
        None => current_key,
        Some(0) => None,
        Some(1) => {
            let key = crate::settings::ApiKey::generate().context("cannot generate a key")?;
            Printer.note(format!("New API key: {}", key.expose()));
            Some(key.expose().to_owned())
        }
        Some(_) => Some(
            Input::<String>::with_theme(&theme)
                .with_prompt("Key")
                .validate_with(|text: &String| {
                    if text.trim().is_empty() || text.chars().any(char::is_whitespace) {
                        Err("a key has no spaces and is not empty")
                    } else {
                        Ok(())
                    }
                })
                .interact_text()?,
        ),
    };

    let models: String = Input::with_theme(&theme)
        .with_prompt("Served models, comma-separated (empty: the backend's catalog)")
        .default(file.models.clone().map(|m| m.join(",")).unwrap_or_default())
        .allow_empty(true)
        .validate_with(|text: &String| {
            if text.trim().is_empty() {
                Ok(())
            } else {
                crate::settings::parse_model_list(text).map(drop)
            }
        })
        .interact_text()?;
    file.models = if models.trim().is_empty() {
        None
    } else {
        Some(crate::settings::parse_model_list(&models).map_err(UserError::new)?)
    };

    let fallback: String = Input::with_theme(&theme)
        .with_prompt("Model for claude-* ids (empty: opus/sonnet → gpt-5.5, haiku → gpt-5.4-mini)")
        .default(file.model_fallback.clone().unwrap_or_default())
        .allow_empty(true)
        .interact_text()?;
    file.model_fallback = Some(fallback.trim().to_owned()).filter(|f| !f.is_empty());

    let aliases_text = file
        .model_aliases
        .as_ref()
        .map(|a| {
            a.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let aliases: String = Input::with_theme(&theme)
        .with_prompt("Model aliases as from=to, comma-separated (empty: none)")
        .default(aliases_text)
        .allow_empty(true)
        .validate_with(|text: &String| parse_aliases(text).map(drop))
        .interact_text()?;
    let aliases = parse_aliases(&aliases).map_err(UserError::new)?;
    file.model_aliases = Some(aliases).filter(|a| !a.is_empty());

    // Validate the whole file as the gateway will read it before replacing the old one.
    Settings::resolve_with_file(
        &crate::settings::Overrides::default(),
        &Env::default(),
        home,
        &file,
    )?;
    file.save(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Printer.note(format!(
        "Saved {}. A running gateway picks it up when restarted (`codexia daemon restart`).",
        path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

/// `a=b, c=d` → {a: b, c: d}.
fn parse_aliases(text: &str) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut aliases = std::collections::BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not from=to"))?;
        let (from, to) = (from.trim(), to.trim());
        if from.is_empty() || to.is_empty() {
            return Err(format!("{pair:?} is not from=to"));
        }
        aliases.insert(from.to_owned(), to.to_owned());
    }
    Ok(aliases)
}
