//! One module per command; shared helpers for them.

pub mod claude;
pub mod codex;
pub mod config;
pub mod daemon;
pub mod login;
pub mod logout;
pub mod models;
pub mod serve;
pub mod status;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use tracing_subscriber::EnvFilter;

use super::UserError;
use super::output::Printer;

/// `codexia` without a command: the tray on a desktop build with a display, else help.
pub fn default_command(runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
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
pub fn tray(runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
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

/// `codexia window NAME`: one window of the tray app, talking to the tray over stdin/stdout.
#[cfg(feature = "tray")]
pub fn window(runtime: &tokio::runtime::Runtime, name: &str) -> anyhow::Result<ExitCode> {
    let started_by_tray = !std::io::IsTerminal::is_terminal(&std::io::stdin());
    let kind = crate::tray::WindowKind::parse(name).filter(|_| started_by_tray && has_display());
    let Some(kind) = kind else {
        return Err(UserError::with_hint(
            "`codexia window` is started by the tray app, not by hand",
            "run `codexia` (or `codexia tray`) and open the window from its menu",
        )
        .into());
    };
    crate::tray::run_window(runtime, kind)?;
    Ok(ExitCode::SUCCESS)
}

/// `codexia window` in a build without the tray feature.
#[cfg(not(feature = "tray"))]
pub fn window(runtime: &tokio::runtime::Runtime, _name: &str) -> anyhow::Result<ExitCode> {
    tray(runtime)
}

/// `codexia tray` in a build without the tray feature.
#[cfg(not(feature = "tray"))]
pub fn tray(_runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
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

/// The error for commands a later release brings.
pub fn not_yet(command: &str) -> anyhow::Error {
    UserError::with_hint(
        format!("`codexia {command}` is not available in this build yet"),
        "`codexia --help` lists what this build can do",
    )
    .into()
}

/// Starts logging to stderr at the configured level (`-v` raises it).
pub fn init_logging(level: &str, verbose: u8) {
    let directive = match verbose {
        0 => level.to_owned(),
        1 => "debug".to_owned(),
        _ => "trace".to_owned(),
    };
    // Our own crate at the asked level; noisy dependencies stay at warn unless named.
    let filter = if directive.contains('=') || directive.contains(',') {
        EnvFilter::try_new(&directive)
    } else {
        EnvFilter::try_new(format!("warn,codexia={directive}"))
    }
    .unwrap_or_else(|_| EnvFilter::new("warn,codexia=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal; logs in files and pipes stay plain.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_target(false)
        .try_init();
}

/// Where a client on this machine reaches a gateway bound at `bind`.
pub fn client_addr(bind: SocketAddr) -> SocketAddr {
    match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bind.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bind.port())
        }
        _ => bind,
    }
}

/// Whether a codexia gateway answers `/health` at `url`.
pub async fn gateway_answers(url: &str) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    let Ok(response) = client.get(format!("{url}/health")).send().await else {
        return false;
    };
    response
        .json::<serde_json::Value>()
        .await
        .is_ok_and(|v| v.get("service").and_then(|s| s.as_str()) == Some("codexia"))
}

/// `http://ADDR` of the codexia gateway answering on the configured address, if one does.
pub async fn running_gateway(settings: &crate::settings::Settings) -> Option<String> {
    let url = format!("http://{}", client_addr(settings.bind.value));
    gateway_answers(&url).await.then_some(url)
}
