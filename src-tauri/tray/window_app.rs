//! A window process (`codexia-window NAME`, its own binary): one webview window from `ui/`, started by the
//! tray app. The page's commands are forwarded to the tray over stdin/stdout (see `ipc`), so
//! this process holds no state of its own; it ends when its window closes or the tray goes.

use std::collections::HashMap;
use std::io::{BufRead as _, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::Value;
use tauri::{AppHandle, Manager, State, WebviewUrl, WebviewWindow, WebviewWindowBuilder};
use tokio::sync::oneshot;

use super::ipc::{
    self, FromWindow, Outcome, PageCommand, ToWindow, TrayError, WindowKind, sign_in_error_url,
};
use crate::logging::{self, Loudness};
use crate::settings::{Env, Overrides, Settings};

/// How long a page waits for the tray to answer (a gateway restart takes a few seconds).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The connection to the tray: requests out on stdout, answers in on stdin.
#[derive(Default)]
struct Tray {
    next_id: AtomicU64,
    waiting: Mutex<HashMap<u64, oneshot::Sender<Outcome>>>,
}

impl Tray {
    async fn call(&self, request: PageCommand) -> Result<Value, TrayError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(id, answer);
        }
        let line = ipc::encode(&FromWindow { id, request });
        let written = write_line(&line);
        let gone = || TrayError::new("The codexia tray app is not running; start it again.");
        if written.is_err() {
            return Err(gone());
        }
        match tokio::time::timeout(ANSWER_TIMEOUT, answered).await {
            Ok(Ok(Outcome::Ok(value))) => Ok(value),
            Ok(Ok(Outcome::Error(err))) => Err(err),
            Ok(Err(_)) => Err(gone()),
            Err(_) => {
                if let Ok(mut waiting) = self.waiting.lock() {
                    waiting.remove(&id);
                }
                Err(TrayError::new(
                    "The codexia tray app did not answer in time; try again.",
                ))
            }
        }
    }

    fn answer(&self, id: u64, outcome: Outcome) {
        let waiting = self.waiting.lock().ok().and_then(|mut w| w.remove(&id));
        if let Some(waiting) = waiting {
            let _ = waiting.send(outcome);
        }
    }
}

/// Writes one whole line to the tray (the stdout lock is held for the write).
fn write_line(line: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(line.as_bytes())?;
    stdout.flush()
}

/// The one command of the pages: a [`PageCommand`], forwarded to the tray as it is.
/// "Continue with ChatGPT" also loads the answered authorize page in this window.
#[tauri::command]
async fn page(
    window: WebviewWindow,
    tray: State<'_, Arc<Tray>>,
    request: PageCommand,
) -> Result<Value, TrayError> {
    let load_answer = request == PageCommand::SignInHere;
    let answer = tray.call(request).await?;
    if !load_answer {
        return Ok(answer);
    }
    let url = answer
        .as_str()
        .and_then(|u| u.parse().ok())
        .ok_or_else(|| TrayError::new("The sign-in address is invalid."))?;
    window.navigate(url)?;
    Ok(Value::Null)
}

/// Runs the window named `kind` until it closes or the tray goes away.
pub(crate) fn run(runtime: &tokio::runtime::Runtime, kind: WindowKind) -> anyhow::Result<()> {
    tauri::async_runtime::set(runtime.handle().clone());
    // The tray checked the settings when it started; a window logs as it does.
    if let Ok(settings) = Settings::resolve(&Overrides::default(), &Env::from_process()) {
        logging::init(&settings, Loudness::Configured, 0);
    }
    let tray = Arc::new(Tray::default());
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![page])
        .setup(move |app| {
            app.manage(Arc::clone(&tray));
            build_window(app.handle(), kind, &tray)?;
            let handle = app.handle().clone();
            std::thread::Builder::new()
                .name("tray-link".to_owned())
                .spawn(move || listen(&handle, &tray))?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("cannot open the window")?;
    // The process ends with its window (the default when the last window closes).
    app.run(|_, _| {});
    Ok(())
}

/// Reads the tray's messages until it goes away, then ends this process.
fn listen(app: &AppHandle, tray: &Tray) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<ToWindow>(&line) else {
            tracing::debug!("unreadable message from the tray: {line}");
            continue;
        };
        let window = app.webview_windows().into_values().next();
        match message {
            ToWindow::Reply { id, outcome } => tray.answer(id, outcome),
            ToWindow::Focus => {
                if let Some(window) = window {
                    let _ = window.unminimize();
                    let _ = window.show();
                    let _ = window.set_focus();
                }
            }
            ToWindow::Navigate { url } => {
                if let (Some(window), Ok(url)) = (window, url.parse()) {
                    let _ = window.navigate(url);
                }
            }
            ToWindow::Close => {
                if let Some(window) = window {
                    let _ = window.close();
                }
            }
        }
    }
    app.exit(0);
}

/// Whether a navigation goes to the sign-in redirect URI on this machine.
fn is_sign_in_redirect(url: &url::Url) -> bool {
    url.scheme() == "http"
        && matches!(url.host_str(), Some("localhost" | "127.0.0.1"))
        && url.path() == crate::auth::callback::CALLBACK_PATH
}

fn build_window(app: &AppHandle, kind: WindowKind, tray: &Arc<Tray>) -> tauri::Result<()> {
    match kind {
        WindowKind::Settings => {
            WebviewWindowBuilder::new(app, kind.label(), WebviewUrl::App("settings.html".into()))
                .title("codexia Settings")
                .inner_size(760.0, 720.0)
                .min_inner_size(480.0, 420.0)
                .center()
                .build()?;
        }
        WindowKind::SignIn | WindowKind::SignInAuto => {
            let page = if kind == WindowKind::SignInAuto {
                "signin.html?auto=1"
            } else {
                "signin.html"
            };
            let tray = Arc::clone(tray);
            let handle = app.clone();
            // The redirect never loads: it is handed to the tray's pending sign-in, which
            // exchanges the code itself.
            WebviewWindowBuilder::new(app, kind.label(), WebviewUrl::App(page.into()))
                .title("Sign in to ChatGPT — codexia")
                .inner_size(520.0, 640.0)
                .min_inner_size(420.0, 480.0)
                .center()
                .on_navigation(move |url| {
                    if !is_sign_in_redirect(url) {
                        return true;
                    }
                    let tray = Arc::clone(&tray);
                    let handle = handle.clone();
                    let url = url.to_string();
                    tauri::async_runtime::spawn(async move {
                        if let Err(err) = tray.call(PageCommand::SubmitRedirectUrl { url }).await {
                            show_sign_in_error(&handle, &err.message);
                        }
                    });
                    false
                })
                .build()?;
        }
    }
    Ok(())
}

/// Back to the Sign in page, with a message.
fn show_sign_in_error(app: &AppHandle, message: &str) {
    if let Some(window) = app.get_webview_window(WindowKind::SignIn.label())
        && let Ok(url) = sign_in_error_url(message).parse()
    {
        let _ = window.navigate(url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_loopback_callback_counts_as_the_sign_in_redirect() {
        let yes = |u: &str| is_sign_in_redirect(&u.parse().unwrap());
        assert!(yes("http://localhost:1455/auth/callback?code=a&state=b"));
        assert!(yes(
            "http://127.0.0.1:1457/auth/callback?error=access_denied"
        ));
        assert!(!yes("https://auth.openai.com/oauth/authorize?x=1"));
        assert!(!yes("http://localhost:1455/other"));
        assert!(!yes("http://example.com/auth/callback"));
    }
}
