//! One module per command; shared helpers for them.

pub(crate) mod accounts;
pub(crate) mod claude;
pub(crate) mod codex;
pub(crate) mod config;
pub(crate) mod daemon;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod models;
pub(crate) mod requests;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod statusline;
pub(crate) mod support_bundle;
pub(crate) mod usage;

use std::process::ExitCode;

use super::UserError;
use super::output::Printer;

/// `codexia` without a command: the tray on a desktop build with a display, else help.
pub(crate) fn default_command(runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    if cfg!(feature = "tray") && has_display() {
        return tray(runtime);
    }
    let help = super::Cli::command().render_help();
    Printer.out(help);
    Ok(ExitCode::SUCCESS)
}

/// `codexia tray`.
#[cfg(feature = "tray")]
pub(crate) fn tray(runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    if !has_display() {
        return Err(UserError::with_hint(
            "the tray app needs a graphical session, and none was found (DISPLAY and WAYLAND_DISPLAY are unset)",
            "run `codexia serve` to run the gateway without the tray",
        )
        .into());
    }
    crate::tray::run(runtime)?;
    Ok(ExitCode::SUCCESS)
}

/// `codexia-window NAME`: one window of the tray app, talking to the tray over stdin/stdout.
#[cfg(feature = "tray")]
pub(crate) fn window(runtime: &tokio::runtime::Runtime, name: &str) -> anyhow::Result<ExitCode> {
    let started_by_tray = !std::io::IsTerminal::is_terminal(&std::io::stdin());
    let kind = crate::tray::WindowKind::parse(name).filter(|_| started_by_tray && has_display());
    let Some(kind) = kind else {
        return Err(UserError::with_hint(
            "`codexia-window` is started by the tray app, not by hand",
            "run `codexia` (or `codexia tray`) and open the window from its menu",
        )
        .into());
    };
    crate::tray::run_window(runtime, kind)?;
    Ok(ExitCode::SUCCESS)
}

/// `codexia tray` in a build without the tray feature.
#[cfg(not(feature = "tray"))]
pub(crate) fn tray(_runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    Err(UserError::with_hint(
        "this codexia was built without the tray app",
        "run `codexia serve` for the gateway, or install the desktop build",
    )
    .into())
}

pub(crate) fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
        || cfg!(any(target_os = "macos", target_os = "windows"))
}
