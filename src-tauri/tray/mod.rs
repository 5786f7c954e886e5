//! The desktop tray application (feature `tray`): a thin shell that runs the same gateway as
//! `codexia serve` in-process (or attaches to a running one), reads its status over HTTP, and
//! sends commands. Nothing outside this module knows a tray exists.

mod commands;
mod gateway;
mod ipc;
mod menu;
mod signin;
mod status;
mod usage;
mod window_app;
mod windows;

pub(crate) use ipc::WindowKind;
pub(crate) use window_app::run as run_window;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_clipboard_manager::ClipboardExt as _;
use tauri_plugin_notification::NotificationExt as _;

use crate::claude_env::ClaudeEnv;
use crate::local::{LocalError, LocalGateway};
use crate::logging::{self, Loudness};
use crate::models::{BUILTIN_MODELS, ModelMap};
use crate::settings::{Env, Overrides, Settings};
use gateway::GatewayControl;
use menu::{GatewayLine, Item};
use status::{AccountState, TrayView};

/// How often the tray asks its own gateway for its status when nothing else prompts it (every
/// backend answer already updates the menu at once).
const STATUS_POLL: Duration = Duration::from_secs(60);
/// The same when attached to a daemon's gateway, whose answers the tray does not see: its
/// `/v1/status` is local and cheap (the backend is asked at most every few minutes), so the
/// menu follows the daemon's traffic within seconds.
const ATTACHED_STATUS_POLL: Duration = Duration::from_secs(10);
/// How long the gateway may take to answer its status (it may ask the backend first).
const STATUS_TIMEOUT: Duration = Duration::from_secs(30);

/// State shared by the menu, the windows and the background tasks.
pub(crate) struct TrayApp {
    pub(crate) gateway: GatewayControl,
    view: Mutex<(TrayView, GatewayLine)>,
    /// The menu currently attached to the tray icon.
    shown: Mutex<Option<menu::BuiltMenu>>,
    /// Wakes the status task (after sign-in, settings, a live header change).
    pub(crate) refresh: tokio::sync::Notify,
    /// `$CODEXIA_HOME`, where the usage ledger lives.
    home: PathBuf,
    /// The usage lines of the menu (today's tokens, the forecast).
    usage: Mutex<Vec<String>>,
    /// Per window, the reset of the period whose early run-out was already announced.
    forecast_notified: Mutex<HashMap<crate::ledger::WindowKind, Option<i64>>>,
}

impl TrayApp {
    fn set_gateway_line(&self, line: GatewayLine) {
        if let Ok(mut view) = self.view.lock() {
            view.1 = line;
        }
    }

    fn usage_lines(&self) -> Vec<String> {
        self.usage.lock().map(|u| u.clone()).unwrap_or_default()
    }

    fn current(&self) -> (TrayView, GatewayLine) {
        self.view.lock().map_or_else(
            |_| (TrayView::unknown(), GatewayLine::Starting),
            |v| v.clone(),
        )
    }
}

/// Runs the tray app on the main thread until Quit; the gateway runs on `runtime`.
pub(crate) fn run(runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    without_gdk_gl();
    // One tokio runtime for the whole process, shared with Tauri.
    tauri::async_runtime::set(runtime.handle().clone());
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    // Its drop writes the last lines to `logs/tray.log`: at the app's exit event, since the
    // event loop ends the process without returning here.
    let mut log = Some(logging::init_with_file(
        &settings,
        Loudness::Configured,
        0,
        "tray",
    ));
    let open_at_start = std::env::var("CODEXIA_TRAY_OPEN").ok();

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            // A second launch: bring the running instance forward.
            tracing::info!("another launch was redirected to this instance");
            windows::open(app, WindowKind::Settings);
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .setup(move |app| {
            let tray_app = Arc::new(TrayApp {
                gateway: GatewayControl::default(),
                view: Mutex::new((TrayView::unknown(), GatewayLine::Starting)),
                shown: Mutex::new(None),
                refresh: tokio::sync::Notify::new(),
                home: settings.home.clone(),
                usage: Mutex::new(vec![usage::NO_REQUESTS.to_owned()]),
                forecast_notified: Mutex::new(HashMap::new()),
            });
            app.manage(Arc::clone(&tray_app));
            app.manage(Arc::new(signin::SignIn::default()));
            app.manage(Arc::new(windows::WindowHost::default()));
            let handle = app.handle().clone();
            let entries = menu::entries(
                &TrayView::unknown(),
                &[usage::NO_REQUESTS.to_owned()],
                &GatewayLine::Starting,
                autostart_enabled(&handle),
            );
            let built = menu::build(&handle, &entries)?;
            let tray_menu = built.menu.clone();
            if let Ok(mut shown) = tray_app.shown.lock() {
                *shown = Some(built);
            }
            let mut builder = tauri::tray::TrayIconBuilder::with_id("main")
                .tooltip("codexia")
                .menu(&tray_menu)
                .show_menu_on_left_click(true)
                .on_menu_event(|app, event| on_menu_event(app, event.id().as_ref()));
            if let Some(icon) = handle.default_window_icon() {
                builder = builder.icon(icon.clone());
            }
            builder.build(app)?;
            tauri::async_runtime::spawn(start(handle.clone(), settings, tray_app));
            if let Some(which) = &open_at_start {
                windows::open_named(&handle, which);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("cannot start the tray app")?;

    app.run(move |_app, event| match event {
        // Closing the last window keeps the app in the tray; only Quit exits.
        RunEvent::ExitRequested { api, code, .. } if code.is_none() => api.prevent_exit(),
        RunEvent::Exit => drop(log.take()),
        _ => {}
    });
    Ok(())
}

/// Starts this process again with GDK's OpenGL support turned off, unless it already is.
///
/// The tray draws no window of its own (windows are separate processes), but GDK opening the
/// display probes OpenGL, which loads the Mesa driver and LLVM: about 45 MB of the tray's
/// resident memory, for nothing. `GDK_GL` must be set before GTK starts, and the environment
/// of a running process is not changed safely, so the process replaces itself (same pid, same
/// arguments); window processes get the variable removed again.
#[cfg(target_os = "linux")]
fn without_gdk_gl() {
    use std::os::unix::process::CommandExt as _;
    if std::env::var_os("GDK_GL").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env("GDK_GL", "disable")
        .env(GL_OFF_MARKER, "1")
        .exec();
    tracing::debug!("cannot restart without GDK's OpenGL ({err}); going on with it");
}

#[cfg(not(target_os = "linux"))]
fn without_gdk_gl() {}

/// Set in the tray's environment when [`without_gdk_gl`] turned GDK's GL off.
const GL_OFF_MARKER: &str = "CODEXIA_TRAY_GL_OFF";

/// Gives a program the tray starts (a window process, the browser) the environment the tray
/// was started with, without the GDK setting it gave itself.
pub(crate) fn restore_gdk_gl(command: &mut std::process::Command) {
    if std::env::var_os(GL_OFF_MARKER).is_some() {
        command.env_remove("GDK_GL").env_remove(GL_OFF_MARKER);
    }
}

/// Starts (or attaches to) the gateway, then keeps the menu in step with its status.
async fn start(app: AppHandle, settings: Settings, tray: Arc<TrayApp>) {
    match tray.gateway.start(settings).await {
        Ok((url, attached)) => tray.set_gateway_line(GatewayLine::Running { url, attached }),
        Err(err) => {
            let reason = err.message;
            tracing::error!("the gateway cannot start: {reason}");
            tray.set_gateway_line(GatewayLine::Failed { reason });
        }
    }
    render(&app);
    let mut limits: Option<tokio::sync::watch::Receiver<u64>> = None;
    loop {
        // Subscribe before reading, so that no change between the two is missed. A restarted
        // gateway has a new state: its old channel closes and is replaced here.
        if limits.is_none() {
            limits = tray
                .gateway
                .state()
                .await
                .map(|state| state.subscribe_limits());
        }
        refresh_status(&app, &tray).await;
        let poll = if limits.is_some() {
            STATUS_POLL
        } else {
            ATTACHED_STATUS_POLL
        };
        // In-process, every backend answer with rate-limit headers updates the menu at once.
        let live_change = async {
            match limits.as_mut() {
                Some(receiver) => receiver.changed().await.is_ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tray.refresh.notified() => {},
            open = live_change => if !open { limits = None; },
            () = tokio::time::sleep(poll) => {},
        }
    }
}

/// Fetches the status and updates menu, tooltip and notifications.
async fn refresh_status(app: &AppHandle, tray: &TrayApp) {
    let Some((url, key)) = tray.gateway.endpoint().await else {
        return;
    };
    let new_view = match LocalGateway::new(url, key).status(STATUS_TIMEOUT).await {
        Ok(json) => status::view_from_status(&json, chrono::Local::now()),
        Err(LocalError::Unauthorized { body }) => TrayView {
            account: if body.to_ascii_lowercase().contains("again") {
                AccountState::SignInAgain
            } else {
                AccountState::SignedOut
            },
            limits: Vec::new(),
            accounts: Vec::new(),
        },
        Err(err) => {
            tracing::warn!("no status from the gateway: {err}");
            return;
        }
    };
    let previous = tray.current().0;
    for note in status::crossed_thresholds(&previous, &new_view) {
        let _ = app
            .notification()
            .builder()
            .title("codexia")
            .body(note)
            .show();
    }
    if new_view.account == AccountState::SignInAgain
        && previous.account != AccountState::SignInAgain
    {
        let _ = app
            .notification()
            .builder()
            .title("codexia")
            .body("Your ChatGPT sign-in expired. Choose \"Sign in…\" in the codexia menu.")
            .show();
    }
    if let Ok(mut view) = tray.view.lock() {
        view.0 = new_view;
    }
    refresh_usage(app, tray).await;
    render(app);
}

/// Reads today's usage from the ledger (off the async threads) into the menu's usage lines,
/// and announces a window forecast to run out before its reset, once per window period.
async fn refresh_usage(app: &AppHandle, tray: &TrayApp) {
    let path = tray.home.join(crate::ledger::FILE_NAME);
    let now = chrono::Local::now();
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(chrono::Local).earliest())
        .map_or(now.timestamp_millis(), |t| t.timestamp_millis());
    let now_ms = now.timestamp_millis();
    let read = tokio::task::spawn_blocking(move || {
        crate::ledger::query::report_from_file(&path, midnight, None, now_ms)
    })
    .await;
    let report = match read {
        Ok(Ok(report)) => report,
        Ok(Err(err)) => {
            tracing::debug!("no usage for the menu: {err}");
            return;
        }
        Err(_) => return,
    };
    if let Ok(mut lines) = tray.usage.lock() {
        *lines = usage::usage_lines(&report);
    }
    let notices = tray
        .forecast_notified
        .lock()
        .map(|mut seen| usage::forecast_notices(&report, &mut seen))
        .unwrap_or_default();
    for note in notices {
        let _ = app
            .notification()
            .builder()
            .title("codexia")
            .body(note)
            .show();
    }
}

fn autostart_enabled(app: &AppHandle) -> bool {
    app.autolaunch().is_enabled().unwrap_or(false)
}

/// Brings the menu and tooltip up to date with the current view: item texts change in place;
/// the menu is rebuilt only when its shape changes (a limit line appears, sign-in state flips),
/// so a panel showing it does not flicker.
pub(crate) fn render(app: &AppHandle) {
    let Some(tray_app) = app.try_state::<Arc<TrayApp>>() else {
        return;
    };
    let (view, gateway) = tray_app.current();
    let usage = tray_app.usage_lines();
    let entries = menu::entries(&view, &usage, &gateway, autostart_enabled(app));
    let Some(tray) = app.tray_by_id("main") else {
        return;
    };
    let Ok(mut shown) = tray_app.shown.lock() else {
        return;
    };
    let result = match shown.as_mut() {
        Some(current) if current.same_shape(&entries) => current.update(&entries),
        Some(current) => current.replace(app, &entries),
        None => menu::build(app, &entries).and_then(|built| {
            tray.set_menu(Some(built.menu.clone()))?;
            *shown = Some(built);
            Ok(())
        }),
    };
    if let Err(err) = result {
        tracing::warn!("cannot update the tray menu: {err}");
    }
    drop(shown);
    let _ = tray.set_tooltip(Some(view.tooltip()));
}

/// The `export` lines that point Claude Code at the gateway, with the models `codexia claude`
/// would choose.
fn claude_setup(url: &str, key: Option<&str>) -> String {
    let models = match Settings::resolve(&Overrides::default(), &Env::from_process()) {
        Ok(settings) => ModelMap::from_settings(&settings, None),
        Err(err) => {
            tracing::warn!(
                "the settings are unreadable ({err}); the setup names the built-in models"
            );
            ModelMap::new(
                BUILTIN_MODELS.iter().map(|m| (*m).to_owned()),
                std::collections::BTreeMap::new(),
                None,
            )
        }
    };
    // A setup to paste sets every variable.
    ClaudeEnv::new(url, key, &models)
        .vars(|_| false)
        .map(|(name, value)| format!("export {name}={}\n", shell_word(value)))
        .collect()
}

/// `value` as one shell word: as is when it holds only safe characters, else single-quoted.
fn shell_word(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

fn on_menu_event(app: &AppHandle, id: &str) {
    let Some(tray) = app.try_state::<Arc<TrayApp>>().map(|s| Arc::clone(&s)) else {
        return;
    };
    let app = app.clone();
    if let Some(name) = Item::account_of(id) {
        let name = name.to_owned();
        tauri::async_runtime::spawn(async move {
            commands::use_account(&tray, &name).await;
            tray.refresh.notify_one();
        });
        return;
    }
    let Some(item) = Item::from_id(id) else {
        return;
    };
    match item {
        Item::Gateway | Item::CopySetup => {
            tauri::async_runtime::spawn(async move {
                if let Some((url, key)) = tray.gateway.endpoint().await {
                    let text = if item == Item::Gateway {
                        url
                    } else {
                        claude_setup(&url, key.as_deref())
                    };
                    if let Err(err) = app.clipboard().write_text(text) {
                        tracing::warn!("cannot copy to the clipboard: {err}");
                    }
                }
            });
        }
        Item::Settings => windows::open(&app, WindowKind::Settings),
        // Signing in with an account already signed in adds the new one (and makes it active).
        Item::SignIn | Item::AddAccount => windows::open(&app, WindowKind::SignIn),
        Item::SignOut => {
            tauri::async_runtime::spawn(async move {
                commands::sign_out(&tray).await;
                tray.refresh.notify_one();
            });
        }
        Item::Autostart => {
            let launcher = app.autolaunch();
            let result = if launcher.is_enabled().unwrap_or(false) {
                launcher.disable()
            } else {
                launcher.enable()
            };
            if let Err(err) = result {
                tracing::warn!("cannot change start at login: {err}");
            }
            render(&app);
        }
        Item::Quit => {
            tauri::async_runtime::spawn(async move {
                tray.gateway.stop().await;
                app.exit(0);
            });
        }
        Item::Account | Item::Limit | Item::Usage | Item::Accounts | Item::UseAccount => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_values_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(
            shell_word("http://127.0.0.1:14550"),
            "http://127.0.0.1:14550"
        );
        assert_eq!(shell_word("gpt-5.4-mini"), "gpt-5.4-mini");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
