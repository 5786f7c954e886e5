//! `codexia status [--json]`: asks a running gateway's `/v1/status` first (it has the live
//! limits and the freshest token), otherwise calls the backend itself.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::UserError;
use crate::cli::args::StatusArgs;
use crate::cli::output::Printer;
use crate::local::LocalGateway;
use crate::settings::Settings;
use crate::status::{self, StatusReport};
use crate::upstream::UpstreamClient;

use super::login::{open_auth, settings_with_auth_file};

/// How long a running gateway may take to answer (it may ask the backend first).
const STATUS_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) async fn run(args: &StatusArgs, verbose: u8) -> anyhow::Result<ExitCode> {
    let settings = settings_with_auth_file(args.auth.auth_file.as_deref(), verbose)?;
    // An explicit credentials file means "this file", not whatever a gateway uses.
    let from_gateway = if args.auth.auth_file.is_none() {
        running_gateway_status(&settings).await
    } else {
        None
    };
    let report = if let Some(report) = from_gateway {
        report
    } else {
        let auth = open_auth(&settings).await?;
        status::collect(&auth, &UpstreamClient::new(&settings), None).await
    };
    if args.json {
        Printer.out(serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    if report.token.is_none() {
        // Not signed in, or must sign in again: the first warning says which.
        let message = report
            .warnings
            .first()
            .cloned()
            .unwrap_or_else(|| "codexia is not signed in to ChatGPT.".to_owned());
        return Err(UserError::new(message).into());
    }
    for line in status::render_text(&report) {
        Printer.out(line);
    }
    for warning in &report.warnings {
        Printer.warn(warning);
    }
    Ok(ExitCode::SUCCESS)
}

/// The status of a codexia gateway on the configured address, if one answers.
async fn running_gateway_status(settings: &Settings) -> Option<StatusReport> {
    let gateway = LocalGateway::find(settings).await?;
    let report = gateway.status(STATUS_TIMEOUT).await.ok()?;
    tracing::debug!(url = gateway.url(), "status from the running gateway");
    Some(report)
}
