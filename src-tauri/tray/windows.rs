//! The webview windows (`ui/`): Settings and Sign in. Closing one destroys its webview; the
//! app stays in the tray.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

/// Opens the window named by `CODEXIA_TRAY_OPEN` (`settings` or `signin`), for tests and
/// for launching straight into a window.
pub(crate) fn open_named(app: &AppHandle, which: &str) {
    match which {
        "settings" => open_settings(app),
        "signin-auto" => open_sign_in_page(app, "signin.html?auto=1"),
        w if w.starts_with("signin") => open_sign_in(app),
        other => tracing::warn!("unknown window {other:?} in CODEXIA_TRAY_OPEN"),
    }
}

/// Focuses the window if it exists, else builds it.
fn show(app: &AppHandle, label: &str, page: &str, title: &str, size: (f64, f64)) {
    if let Some(window) = app.get_webview_window(label) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, label, WebviewUrl::App(page.into()))
        .title(title)
        .inner_size(size.0, size.1)
        .min_inner_size(480.0, 420.0)
        .center()
        .build();
    if let Err(err) = built {
        tracing::error!("cannot open the {label} window: {err}");
    }
}

pub(crate) fn open_settings(app: &AppHandle) {
    show(
        app,
        "settings",
        "settings.html",
        "codexia Settings",
        (760.0, 720.0),
    );
}

pub(crate) fn open_sign_in(app: &AppHandle) {
    open_sign_in_page(app, "signin.html");
}

/// The Sign in window. Its navigations to the sign-in redirect URL never load: they are
/// handed to the pending sign-in, which exchanges the code itself.
fn open_sign_in_page(app: &AppHandle, page: &str) {
    if let Some(window) = app.get_webview_window("signin") {
        let _ = window.show();
        let _ = window.set_focus();
        return;
    }
    let Some(signin) = app
        .try_state::<std::sync::Arc<super::signin::SignIn>>()
        .map(|s| std::sync::Arc::clone(&s))
    else {
        return;
    };
    let built = WebviewWindowBuilder::new(app, "signin", WebviewUrl::App(page.into()))
        .title("Sign in to ChatGPT — codexia")
        .inner_size(520.0, 640.0)
        .min_inner_size(420.0, 480.0)
        .center()
        .on_navigation(move |url| {
            if !signin.is_redirect(url) {
                return true;
            }
            let signin = std::sync::Arc::clone(&signin);
            let url = url.to_string();
            tauri::async_runtime::spawn(async move {
                if let Err(message) = signin.submit(&url).await {
                    tracing::warn!("sign-in redirect: {message}");
                }
            });
            false
        })
        .build();
    if let Err(err) = built {
        tracing::error!("cannot open the sign-in window: {err}");
    }
}
