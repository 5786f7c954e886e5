//! `codexia models`: the ids a running gateway serves, else the ones this configuration serves.

use std::process::ExitCode;

use crate::cli::output::Printer;
use crate::local::LocalGateway;
use crate::models::ModelMap;
use crate::settings::{Env, Overrides, Settings};

pub(crate) async fn run() -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    let ids = match running_gateway_models(&settings).await {
        Some(ids) => ids,
        None => ModelMap::from_settings(&settings, None).served().to_vec(),
    };
    for id in ids {
        Printer.out(id);
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks a codexia gateway on the configured address, if one answers.
async fn running_gateway_models(settings: &Settings) -> Option<Vec<String>> {
    LocalGateway::find(settings).await?.models().await.ok()
}
