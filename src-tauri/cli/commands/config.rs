//! `codexia config show` and `config reset`. (Interactive editing comes with its own issue.)

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::UserError;
use crate::cli::args::ConfigAction;
use crate::cli::output::Printer;
use crate::settings::{Env, ModelList, Overrides, Settings, Sourced};

pub fn run(action: Option<&ConfigAction>) -> anyhow::Result<ExitCode> {
    match action {
        Some(ConfigAction::Show) => show(),
        Some(ConfigAction::Reset { yes }) => reset(*yes),
        None => Err(super::not_yet("config (interactive)")),
    }
}

fn show() -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    let p = Printer;
    p.out(format!("config file: {}", settings.config_file().display()));
    let line = |name: &str, value: String, source: crate::settings::Source| {
        p.out(format!("{name:<18} {value:<40} ({source})"));
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
    show("log", &settings.log);
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
