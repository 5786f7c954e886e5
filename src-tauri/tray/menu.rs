//! The tray menu: one table of ids and labels, and the handle that updates them.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Wry};

/// Menu item ids.
mod ids {
    pub(super) const ACCOUNT: &str = "account";
    pub(super) const GATEWAY: &str = "gateway";
    pub(super) const QUIT: &str = "quit";
}

/// The live parts of the tray menu.
#[derive(Clone)]
pub(super) struct TrayMenu {
    gateway: MenuItem<Wry>,
}

impl TrayMenu {
    /// Builds the tray icon and its menu.
    pub(super) fn build(app: &AppHandle) -> tauri::Result<Self> {
        let account = MenuItem::with_id(app, ids::ACCOUNT, "Not signed in", false, None::<&str>)?;
        let gateway =
            MenuItem::with_id(app, ids::GATEWAY, "Gateway: starting…", false, None::<&str>)?;
        let quit = MenuItem::with_id(app, ids::QUIT, "Quit", true, None::<&str>)?;
        let separator = PredefinedMenuItem::separator(app)?;
        let menu = Menu::with_items(app, &[&account, &separator, &gateway, &separator, &quit])?;
        let mut builder = TrayIconBuilder::with_id("main")
            .tooltip("codexia")
            .menu(&menu)
            .on_menu_event(|app, event| {
                if event.id().as_ref() == ids::QUIT {
                    app.exit(0);
                }
            });
        if let Some(icon) = app.default_window_icon() {
            builder = builder.icon(icon.clone());
        }
        builder.build(app)?;
        Ok(Self { gateway })
    }

    /// Replaces the gateway line.
    pub(super) fn set_gateway_line(&self, text: &str) {
        if let Err(err) = self.gateway.set_text(text) {
            tracing::warn!("cannot update the tray menu: {err}");
        }
    }
}
