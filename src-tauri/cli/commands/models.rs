//! `codexia models`: the ids a running gateway serves, else the ones this configuration serves.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::output::Printer;
use crate::models::ModelMap;
use crate::settings::{Env, Overrides, Settings};

pub async fn run() -> anyhow::Result<ExitCode> {
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
    let url = super::running_gateway(settings).await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .ok()?;
    let mut request = client.get(format!("{url}/v1/models"));
    if let Some(key) = &settings.api_key.value {
        request = request.bearer_auth(key.expose());
    }
    let list: serde_json::Value = request
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()?;
    let ids = list
        .get("data")?
        .as_array()?
        .iter()
        .filter_map(|m| m.get("id")?.as_str().map(str::to_owned))
        .collect();
    Some(ids)
}
