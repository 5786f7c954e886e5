//! `codexia serve`: the gateway in the foreground until SIGINT or SIGTERM.
//!
//! At start it says whether someone is signed in: the account in the log, or one warning line
//! with the command to run, so that a first run does not look like a working gateway that
//! answers every request with 401.

use std::process::ExitCode;

use anyhow::Context;

use crate::auth::{AuthError, AuthManager};
use crate::cli::args::GatewayArgs;
use crate::cli::output::Printer;
use crate::gateway::Gateway;
use crate::local;
use crate::logging::{self, Loudness};
use crate::settings::{Env, Settings};

pub(crate) async fn run(args: &GatewayArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&args.overrides(), &Env::from_process())?;
    // Kept to the end: its drop writes the last lines to `logs/serve.log`.
    let _log = logging::init_with_file(&settings, Loudness::Configured, verbose, "serve");
    let shutdown = shutdown_signal().context("cannot install the signal handlers")?;
    let gateway = Gateway::bind(settings).await?;
    let addr = gateway.local_addr();
    // The listener is bound: connections are accepted (queued) from here on.
    Printer.out(format!("listening on http://{addr}"));
    tracing::info!(
        "Claude Code: ANTHROPIC_BASE_URL={} claude",
        local::gateway_url(addr)
    );
    // Off the start-up path: the store may be the keychain, whose first use can take a moment.
    let state = gateway.state().clone();
    tokio::spawn(async move { report_sign_in(state.auth()).await });
    gateway
        .serve(shutdown)
        .await
        .context("the gateway stopped")?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Says who is signed in, or how to sign in. Reads the store, never refreshes.
async fn report_sign_in(auth: &AuthManager) {
    match auth.current().await {
        // The account id is a secret of the log (the redactor would hide it): name the plan.
        Ok(credentials) => {
            let plan = credentials.claims().plan;
            let plan = plan.map(|plan| format!(" ({plan} plan)")).unwrap_or_default();
            tracing::info!("signed in to ChatGPT{plan}");
        }
        Err(AuthError::NotSignedIn) => Printer.warn(
            "not signed in to ChatGPT: run `codexia login` to sign in (API requests get 401 until then)",
        ),
        Err(err) if err.needs_sign_in() => Printer.warn(err),
        // A store that fails is reported where it is opened (`Gateway::bind`) and to every
        // request; once is enough here.
        Err(err) => tracing::debug!("cannot read the credentials at start: {err}"),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled, so a signal right after start-up is never missed.
pub(crate) fn shutdown_signal()
-> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
    }
}
