//! The desktop tray application (feature `tray`): a thin shell that runs the same gateway as
//! `codexia serve` in-process and shows its state in the tray menu. Nothing outside this
//! module knows a tray exists.

mod menu;

use anyhow::Context;
use tauri::{Manager, RunEvent};

use crate::gateway::Gateway;
use crate::settings::{Env, Overrides, Settings};

/// Runs the tray app on the main thread until Quit; the gateway runs on `runtime`.
pub fn run(runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    // One tokio runtime for the whole process, shared with Tauri.
    tauri::async_runtime::set(runtime.handle().clone());
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    crate::cli::commands::init_logging(&settings.log.value, 0);

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch: focus an open window of the running instance, if any.
            if let Some(window) = app.webview_windows().values().next() {
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .setup(move |app| {
            let tray = menu::TrayMenu::build(app.handle())?;
            app.manage(tray.clone());
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                match Gateway::bind(settings).await {
                    Ok(gateway) => {
                        let url = format!(
                            "http://{}",
                            crate::cli::commands::client_addr(gateway.local_addr())
                        );
                        tracing::info!("gateway listening on {url}");
                        tray.set_gateway_line(&format!("Gateway: {url} · running"));
                        let shutdown = async move {
                            // The gateway lives as long as the app.
                            std::future::pending::<()>().await;
                        };
                        if let Err(err) = gateway.serve(shutdown).await {
                            tracing::error!("gateway stopped: {err}");
                            tray.set_gateway_line("Gateway: stopped");
                        }
                    }
                    Err(err) => {
                        tracing::error!("gateway cannot start: {err}");
                        tray.set_gateway_line("Gateway: not running (see logs)");
                    }
                }
                drop(handle);
            });
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("cannot start the tray app")?;

    app.run(|_app, event| {
        // Closing the last window keeps the app in the tray; only Quit exits.
        if let RunEvent::ExitRequested { api, code, .. } = event
            && code.is_none()
        {
            api.prevent_exit();
        }
    });
    Ok(())
}
