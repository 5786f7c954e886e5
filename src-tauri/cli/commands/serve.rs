//! `codexia serve`: the gateway in the foreground until SIGINT or SIGTERM.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::args::GatewayArgs;
use crate::cli::output::Printer;
use crate::gateway::Gateway;
use crate::local;
use crate::logging::{self, Loudness};
use crate::settings::{Env, Settings};

pub async fn run(args: &GatewayArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&args.overrides(), &Env::from_process())?;
    logging::init(&settings, Loudness::Configured, verbose);
    let shutdown = shutdown_signal().context("cannot install the signal handlers")?;
    let gateway = Gateway::bind(settings).await?;
    let addr = gateway.local_addr();
    // The listener is bound: connections are accepted (queued) from here on.
    Printer.out(format!("listening on http://{addr}"));
    tracing::info!(
        "Claude Code: ANTHROPIC_BASE_URL={} claude",
        local::gateway_url(addr)
    );
    gateway
        .serve(shutdown)
        .await
        .context("the gateway stopped")?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is called,
/// not when the future is first polled, so a signal right after start-up is never missed.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static>
{
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
