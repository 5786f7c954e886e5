//! The command-line interface: parse, resolve settings, dispatch, and turn errors into one or
//! two sentences with a hint and an exit status (1 unexpected, 2 user mistake).

pub(crate) mod args;
pub(crate) mod commands;
pub(crate) mod output;

use std::process::ExitCode;

pub(crate) use args::Cli;
use args::Command;
use output::Printer;

/// An idle blocking thread (token counts of large bodies, file and keychain work) ends after
/// this, and its allocator heap with it; tokio's default keeps it 10 s. In `make soak`, idle
/// memory right after the burst of large bodies: +95 to +218 MB over the level before it with
/// 10 s (five runs), +80 to +164 MB with 2 s (three runs); 0.5 s did no better than 10 s.
const BLOCKING_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(2);

/// An error caused by the user's input or environment, with advice.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Runs the CLI and returns the exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::parse_flags() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints usage errors and --help/--version itself.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match dispatch(cli, &runtime) {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// The `codexia-window NAME` binary: one window of the tray app, in its own process, started
/// by the tray (`settings`, `signin` or `signin-auto`).
#[cfg(feature = "tray")]
pub fn window_main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_default();
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match commands::window(&runtime, &name) {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// The process's one tokio runtime (the error is printed).
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(BLOCKING_KEEP_ALIVE)
        .build()
        .map_err(|err| {
            Printer.error(
                &anyhow::Error::new(err).context("cannot start the async runtime"),
                None,
            );
            ExitCode::from(1)
        })
}

fn dispatch(cli: Cli, runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let verbose = cli.verbose;
    match cli.command {
        None => commands::default_command(runtime),
        Some(Command::Tray) => commands::tray(runtime),
        Some(Command::Serve(args)) => runtime.block_on(commands::serve::run(&args, verbose)),
        Some(Command::Models) => runtime.block_on(commands::models::run()),
        Some(Command::Config(args)) => commands::config::run(args.action.as_ref()),
        Some(Command::Login(args)) => runtime.block_on(commands::login::run(&args, verbose)),
        Some(Command::Logout(args)) => runtime.block_on(commands::logout::run(&args, verbose)),
        Some(Command::Accounts(args)) => runtime.block_on(commands::accounts::run(&args, verbose)),
        Some(Command::Status(args)) => runtime.block_on(commands::status::run(&args, verbose)),
        Some(Command::Daemon(args)) => runtime.block_on(commands::daemon::run(&args.action)),
        Some(Command::Claude(args)) => runtime.block_on(commands::claude::run(&args.args, verbose)),
        Some(Command::Codex(args)) => runtime.block_on(commands::codex::run(&args.args, verbose)),
        Some(Command::Usage(args)) => commands::usage::run(&args),
        Some(Command::Statusline) => commands::statusline::run(),
        Some(Command::Requests(args)) => runtime.block_on(commands::requests::run(&args)),
        Some(Command::SupportBundle(args)) => {
            runtime.block_on(commands::support_bundle::run(&args, verbose))
        }
    }
}

/// Prints an error and picks the exit status: 2 for user mistakes, 1 otherwise.
fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(user) = err.downcast_ref::<UserError>() {
        Printer.error(err, user.hint.as_deref());
        return ExitCode::from(2);
    }
    if let Some(settings) = err.downcast_ref::<crate::settings::SettingsError>() {
        Printer.error(err, settings_hint(settings).as_deref());
        return ExitCode::from(2);
    }
    if let Some(gateway) = err.downcast_ref::<crate::gateway::GatewayError>() {
        let hint = match gateway {
            crate::gateway::GatewayError::ExposedWithoutKey { .. } => {
                "add --api-key KEY (or CODEXIA_API_KEY), or bind to 127.0.0.1".to_owned()
            }
            crate::gateway::GatewayError::Bind { source, .. }
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                "another program (perhaps codexia itself) uses that port; `codexia status` shows a running gateway, or pick another with --bind".to_owned()
            }
            crate::gateway::GatewayError::Bind { .. } => "pick another address with --bind".to_owned(),
        };
        Printer.error(err, Some(&hint));
        return ExitCode::from(2);
    }
    Printer.error(err, None);
    ExitCode::from(1)
}

fn settings_hint(err: &crate::settings::SettingsError) -> Option<String> {
    use crate::settings::SettingsError;
    Some(match err {
        SettingsError::ConfigFile { path, .. } | SettingsError::ConfigField { path, .. } => {
            format!(
                "fix or remove {}; `codexia config reset` starts over with the defaults",
                path.display()
            )
        }
        SettingsError::Env { var, .. } => format!("fix or unset {var}"),
        SettingsError::Flag { flag, .. } => {
            format!("see `codexia serve --help` for the format of {flag}")
        }
        SettingsError::ModelsFile { var, .. } => format!("fix the file, or unset {var}"),
        SettingsError::NoHome { var } => format!("set {var} to a writable directory"),
        // The message itself is the one sentence that says how to fix it.
        SettingsError::UnsafeHome(_) => return None,
    })
}
