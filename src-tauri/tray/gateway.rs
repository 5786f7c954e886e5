//! The gateway as the tray sees it: started in-process (the same `Gateway` as `codexia serve`),
//! or attached to a codexia gateway (a daemon) that already answers on the configured address.

use std::time::Duration;

use tokio::sync::{Mutex, oneshot};

use super::ipc::TrayError;
use crate::gateway::Gateway;
use crate::gateway::state::AppState;
use crate::local;
use crate::settings::Settings;

/// A gateway the tray uses.
pub(crate) struct Running {
    /// `http://ADDR` for clients on this machine.
    pub(crate) url: String,
    pub(crate) api_key: Option<String>,
    /// `None` when attached to another process's gateway.
    pub(crate) in_process: Option<InProcess>,
}

/// A gateway served by this process.
pub(crate) struct InProcess {
    pub(crate) state: AppState,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts, restarts and stops the tray's gateway.
#[derive(Default)]
pub(crate) struct GatewayControl {
    running: Mutex<Option<Running>>,
}

impl GatewayControl {
    /// Attaches to a running gateway, or starts one in this process.
    pub(crate) async fn start(&self, settings: Settings) -> Result<(String, bool), TrayError> {
        let mut running = self.running.lock().await;
        let url = local::gateway_url(settings.bind.value);
        let api_key = settings
            .api_key
            .value
            .as_ref()
            .map(|k| k.expose().to_owned());
        if local::gateway_answers(&url).await {
            tracing::info!("attached to the codexia gateway at {url}");
            *running = Some(Running {
                url: url.clone(),
                api_key,
                in_process: None,
            });
            return Ok((url, true));
        }
        let gateway = Gateway::bind(settings).await?;
        let url = local::gateway_url(gateway.local_addr());
        let state = gateway.state().clone();
        let (shutdown, stop) = oneshot::channel();
        let task = tokio::spawn(async move {
            let stop = async move {
                let _ = stop.await;
            };
            if let Err(err) = gateway.serve(stop).await {
                tracing::error!("the gateway stopped: {err}");
            }
        });
        tracing::info!("gateway listening on {url}");
        *running = Some(Running {
            url: url.clone(),
            api_key,
            in_process: Some(InProcess {
                state,
                shutdown,
                task,
            }),
        });
        Ok((url, false))
    }

    /// Stops an in-process gateway (waiting briefly for in-flight requests).
    pub(crate) async fn stop(&self) {
        let taken = self.running.lock().await.take();
        if let Some(Running {
            in_process: Some(InProcess { shutdown, task, .. }),
            ..
        }) = taken
        {
            let _ = shutdown.send(());
            // Streams in flight may take long; do not hold Quit hostage.
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }

    /// Stops and starts again with new settings (a changed bind address).
    pub(crate) async fn restart(&self, settings: Settings) -> Result<(String, bool), TrayError> {
        self.stop().await;
        self.start(settings).await
    }

    /// URL and key of the current gateway.
    pub(crate) async fn endpoint(&self) -> Option<(String, Option<String>)> {
        self.running
            .lock()
            .await
            .as_ref()
            .map(|r| (r.url.clone(), r.api_key.clone()))
    }

    /// The in-process state, when this process serves.
    pub(crate) async fn state(&self) -> Option<AppState> {
        self.running
            .lock()
            .await
            .as_ref()
            .and_then(|r| r.in_process.as_ref().map(|p| p.state.clone()))
    }
}
