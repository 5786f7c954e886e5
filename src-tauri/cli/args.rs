//! The command line, as clap definitions only. Values are resolved against the environment
//! and `config.json` in `crate::settings`, never here.
//!
//! Options that an environment variable can also set name it with clap's `env` attribute, so
//! `--help` shows it from the same constant `crate::settings` reads. The environment itself is
//! still resolved in `crate::settings` (from an `Env` value, with its source recorded):
//! [`Cli::parse_flags`] drops every value clap took from the environment, so a parsed field is
//! always something typed on the command line.

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::settings::{EnvVars, Overrides};

/// Use your ChatGPT subscription from Claude Code and OpenAI clients.
///
/// codexia signs in with your ChatGPT account and serves the Anthropic Messages API and the
/// OpenAI API on 127.0.0.1:14550, translated to the ChatGPT Codex backend. Run without a
/// command on a desktop to start the tray app.
#[derive(Debug, Parser)]
#[command(name = "codexia", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// More log output (-v debug, -vv trace); CODEXIA_LOG or RUST_LOG set a log filter instead.
    // Not clap's `env`: those variables hold filters such as `debug`, not a count.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the tray app (the default on a desktop).
    Tray,
    /// Sign in with a ChatGPT account and store its credentials (adds an account; signing in
    /// to a known one replaces its tokens); the account becomes the active one.
    Login(LoginArgs),
    /// Sign out of the active account, of ACCOUNT, or of every account with `--all`.
    Logout(LogoutArgs),
    /// List the signed-in accounts, or pick the active one / rename one.
    Accounts(AccountsArgs),
    /// Run the gateway in the foreground.
    Serve(GatewayArgs),
    /// Show the account, token expiry, credits and rate-limit windows.
    Status(StatusArgs),
    /// List the model ids the gateway serves.
    Models,
    /// Edit, show or reset the configuration ($CODEXIA_HOME/config.json).
    Config(ConfigArgs),
    /// Install and control the per-user background service running `codexia serve`.
    Daemon(DaemonArgs),
    /// Start Claude Code wired to the gateway; arguments are passed to `claude`.
    Claude(ClaudeArgs),
    /// Start the OpenAI Codex CLI wired to the gateway; arguments are passed to `codex`.
    Codex(CodexArgs),
    /// Show where the subscription went: tokens, cache hit rate and window shares by client,
    /// session, model, day or hour, with each window's pace (reads $CODEXIA_HOME/usage.db).
    Usage(UsageArgs),
    /// Print one status line for Claude Code's `statusLine` (reads its JSON on stdin).
    Statusline,
    /// Show what recent requests sent and got, on both sides of the gateway (from the running
    /// gateway's request inspector; secrets removed).
    Requests(RequestsArgs),
    /// Write a support bundle to attach to a bug report: version, OS, settings, status, the
    /// last log lines and recent requests, without tokens or keys (README.txt inside says what
    /// it holds).
    SupportBundle(SupportBundleArgs),
}

impl Cli {
    /// Parses the process's command line, keeping only values typed on it (see the module
    /// comment).
    pub(crate) fn parse_flags() -> Result<Self, clap::Error> {
        Self::parse_flags_from(std::env::args_os())
    }

    /// [`Cli::parse_flags`] for the given arguments.
    pub(crate) fn parse_flags_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut command = Self::command();
        let matches = command.try_get_matches_from_mut(args)?;
        let mut cli = Self::from_arg_matches(&matches).map_err(|err| err.format(&mut command))?;
        cli.forget_env(&matches);
        Ok(cli)
    }

    fn forget_env(&mut self, matches: &ArgMatches) {
        let Some((_, sub)) = matches.subcommand() else {
            return;
        };
        match &mut self.command {
            Some(Command::Serve(args)) => args.forget_env(sub),
            Some(
                Command::Login(LoginArgs { auth, .. }) | Command::Status(StatusArgs { auth, .. }),
            ) => {
                auth.forget_env(sub);
            }
            Some(
                Command::Logout(LogoutArgs { auth, .. })
                | Command::Accounts(AccountsArgs { auth, .. }),
            ) => auth.forget_env(sub),
            Some(Command::Daemon(DaemonArgs {
                action: DaemonAction::Install(args) | DaemonAction::Reinstall(args),
            })) => {
                if let Some((_, leaf)) = sub.subcommand() {
                    args.forget_env(leaf);
                }
            }
            _ => {}
        }
    }
}

/// Clears a value that clap took from the environment rather than the command line.
fn forget_env<T>(matches: &ArgMatches, id: &str, value: &mut Option<T>) {
    if matches.value_source(id) == Some(ValueSource::EnvVariable) {
        *value = None;
    }
}

/// Options of `codexia login`.
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Use the device-code flow (enter a code on another device).
    #[arg(long)]
    pub device: bool,
    #[command(flatten)]
    pub auth: AuthFileArgs,
}

/// Options of `codexia logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    /// The account to sign out of (short name, email or account id); default: the active one.
    #[arg(value_name = "ACCOUNT", conflicts_with = "all")]
    pub account: Option<String>,
    /// Sign out of every account.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub auth: AuthFileArgs,
}

/// `codexia accounts [--json] [use ACCOUNT | rename ACCOUNT NAME]`.
#[derive(Debug, Args)]
pub(crate) struct AccountsArgs {
    #[command(subcommand)]
    pub action: Option<AccountsAction>,
    /// Print the accounts as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: AuthFileArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AccountsAction {
    /// Make ACCOUNT (short name, email or account id) the one that serves by default.
    Use {
        #[arg(value_name = "ACCOUNT")]
        account: String,
    },
    /// Give ACCOUNT a short name (letters, digits, `-`, `_`, `.`), shown in
    /// `x-codexia-account` and accepted wherever an account is named.
    Rename {
        #[arg(value_name = "ACCOUNT")]
        account: String,
        #[arg(value_name = "NAME")]
        name: String,
    },
}

/// Where credentials live.
#[derive(Debug, Args)]
pub(crate) struct AuthFileArgs {
    /// Keep credentials in this file instead of the OS keychain.
    #[arg(long, value_name = "PATH", env = EnvVars::AUTH_FILE, hide_env_values = true)]
    pub auth_file: Option<PathBuf>,
}

impl AuthFileArgs {
    fn forget_env(&mut self, matches: &ArgMatches) {
        forget_env(matches, "auth_file", &mut self.auth_file);
    }
}

/// Options of the gateway (`serve`, `daemon install`).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct GatewayArgs {
    // The defaults are written in the help only: a clap `default_value` would look like a flag
    // and outrank the environment and config.json.
    /// Address to listen on; `127.0.0.1:0` picks a free port. [default: 127.0.0.1:14550]
    #[arg(long, value_name = "ADDR", env = EnvVars::BIND, hide_env_values = true)]
    pub bind: Option<String>,
    /// Require this key from clients (`Authorization: Bearer KEY` or `x-api-key`); needed to listen beyond loopback.
    #[arg(long, value_name = "KEY", env = EnvVars::API_KEY, hide_env_values = true)]
    pub api_key: Option<String>,
    /// Serve exactly these models, comma-separated. [default: the backend's catalog]
    #[arg(long, value_name = "LIST", env = EnvVars::MODELS, hide_env_values = true)]
    pub models: Option<String>,
    /// Send every claude-* model id to this model.
    #[arg(long, value_name = "ID", env = EnvVars::MODEL_FALLBACK, hide_env_values = true)]
    pub model_fallback: Option<String>,
    /// Keep credentials in this file instead of the OS keychain.
    #[arg(long, value_name = "PATH", env = EnvVars::AUTH_FILE, hide_env_values = true)]
    pub auth_file: Option<PathBuf>,
    /// Reach the backend and the sign-in server through this proxy (http://, https://, socks5://, socks5h://; `none`: no proxy). [default: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY]
    #[arg(long, value_name = "URL", env = EnvVars::PROXY, hide_env_values = true)]
    pub proxy: Option<String>,
    /// Also write each request the gateway answers to this directory, one private JSON file per request, secrets removed (see `codexia requests`).
    #[arg(long, value_name = "DIR", env = EnvVars::CAPTURE_DIR, hide_env_values = true)]
    pub capture: Option<PathBuf>,
}

impl GatewayArgs {
    fn forget_env(&mut self, matches: &ArgMatches) {
        forget_env(matches, "bind", &mut self.bind);
        forget_env(matches, "api_key", &mut self.api_key);
        forget_env(matches, "models", &mut self.models);
        forget_env(matches, "model_fallback", &mut self.model_fallback);
        forget_env(matches, "auth_file", &mut self.auth_file);
        forget_env(matches, "proxy", &mut self.proxy);
        forget_env(matches, "capture", &mut self.capture);
    }

    /// The values given on the command line, for `Settings::resolve`.
    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            bind: self.bind.clone(),
            api_key: self.api_key.clone(),
            models: self.models.clone(),
            model_fallback: self.model_fallback.clone(),
            auth_file: self.auth_file.clone(),
            log: None,
            proxy: self.proxy.clone(),
            capture_dir: self.capture.clone(),
        }
    }
}

/// Options of `codexia status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print the status JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: AuthFileArgs,
}

/// `codexia config [show|reset]`.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigAction {
    /// Print the effective configuration and where each value comes from.
    Show,
    /// Reset config.json to the defaults (the old file is kept as config.json.bak).
    Reset {
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// `codexia daemon VERB`.
#[derive(Debug, Args)]
pub(crate) struct DaemonArgs {
    #[command(subcommand)]
    pub action: DaemonAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DaemonAction {
    /// Write the service definition and start it at login.
    Install(GatewayArgs),
    /// Rewrite the service definition with new options and restart it.
    Reinstall(GatewayArgs),
    /// Start the service.
    Start,
    /// Stop the service.
    Stop,
    /// Restart the service.
    Restart,
    /// Show whether the service runs and its gateway answers.
    Status,
    /// Stop the service and remove its definition.
    Uninstall,
}

/// Options of `codexia usage`.
#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// From when: 5h, 24h, 7d, 30d, or a date YYYY-MM-DD. [default: 24h]
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Group rows by client, session, model, day or hour.
    #[arg(long, value_name = "KEY", value_parser = ["client", "session", "model", "day", "hour"])]
    pub by: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `codexia requests`.
#[derive(Debug, Args)]
pub(crate) struct RequestsArgs {
    #[command(subcommand)]
    pub action: Option<RequestsAction>,
    /// How many of the most recent requests to list. [default: 20]
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Print the list as JSON (the answer of `GET /v1/requests`).
    #[arg(long)]
    pub json: bool,
}

/// `codexia requests show|replay ID`.
#[derive(Debug, Subcommand)]
pub(crate) enum RequestsAction {
    /// Both sides of one request: the client's request, the backend request, the backend's
    /// events and what the client got, with their times.
    Show(RequestIdArgs),
    /// Send a captured request again through the running gateway and show how the backend
    /// request differs from the captured one (after an upgrade or a configuration change); ID
    /// may also be a file written by `codexia serve --capture DIR`.
    Replay(RequestIdArgs),
}

/// A captured request's id.
#[derive(Debug, Args)]
pub(crate) struct RequestIdArgs {
    /// The id from `codexia requests` (`req_12`, or just `12`).
    pub id: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `codexia support-bundle`.
#[derive(Debug, Args)]
pub(crate) struct SupportBundleArgs {
    /// Where to write the archive [default: ./codexia-support-DATE-TIME.tar.gz].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also include the contents of recent requests (prompts and answers); without it only
    /// their metadata goes in.
    #[arg(long)]
    pub include_contents: bool,
}

/// `codexia claude [ARGS…]`.
#[derive(Debug, Args)]
pub(crate) struct ClaudeArgs {
    /// Arguments for `claude`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

/// `codexia codex [ARGS…]`.
#[derive(Debug, Args)]
pub(crate) struct CodexArgs {
    /// Arguments for `codex`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn claude_passes_hyphenated_arguments_through() {
        let cli =
            Cli::parse_flags_from(["codexia", "claude", "-p", "--model", "x", "hello"]).unwrap();
        let Some(Command::Claude(args)) = cli.command else {
            panic!("not claude")
        };
        assert_eq!(args.args, ["-p", "--model", "x", "hello"]);
    }
}
