//! The desktop tray application (feature `tray`): a thin shell that runs the same gateway as
//! `codexia serve` in-process (or attaches to a running one), reads its status over HTTP, and
//! sends commands. Nothing outside this module knows a tray exists.

mod commands;
mod desktop;
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

use tao::event::{Event, StartCause};
use tao::event_loop::{ControlFlow, EventLoopBuilder};
use tray_icon::menu::MenuEvent;

use crate::claude_env::ClaudeEnv;
use crate::local::{LocalError, LocalGateway};
use crate::logging::{self, Loudness};
use crate::models::{BUILTIN_MODELS, ModelMap};
use crate::settings::{Env, Overrides, Settings};
use desktop::{Desktop, Handle, UiEvent};
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

/// Runs the tray app on the main thread until Quit (the event loop ends the process); the
/// gateway and every background task run on `runtime`.
pub(crate) fn run(runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    without_gdk_gl();
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    // Its drop writes the last lines to `logs/tray.log`: when the event loop ends, since it
    // ends the process without returning here.
    let mut log = Some(logging::init_with_file(
        &settings,
        Loudness::Configured,
        0,
        "tray",
    ));
    let open_at_start = std::env::var("CODEXIA_TRAY_OPEN").ok();
    // Menu events arrive on this thread: `tokio::spawn` works from it.
    let _entered = runtime.enter();
    let event_loop = EventLoopBuilder::<UiEvent>::with_user_event().build();
    let tray_app = Arc::new(TrayApp {
        gateway: GatewayControl::default(),
        view: Mutex::new((TrayView::unknown(), GatewayLine::Starting)),
        refresh: tokio::sync::Notify::new(),
        home: settings.home.clone(),
        usage: Mutex::new(vec![usage::NO_REQUESTS.to_owned()]),
        forecast_notified: Mutex::new(HashMap::new()),
    });
    let app = Desktop::new(
        Arc::clone(&tray_app),
        runtime.handle().clone(),
        event_loop.create_proxy(),
    );
    let Some(instance) = desktop::single::claim(&app)? else {
        // Another tray runs in this session and was asked to show Settings.
        return Ok(());
    };
    let mut instance = Some(instance);
    {
        let app = app.clone();
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            on_menu_event(&app, event.id().as_ref());
        }));
    }
    let mut shown: Option<Shown> = None;
    event_loop.run(move |event, _, control_flow| {
        *control_flow = ControlFlow::Wait;
        match event {
            // The icon is made once the loop runs (macOS needs it so).
            Event::NewEvents(StartCause::Init) => match show_icon(&app) {
                Ok(icon) => {
                    shown = Some(icon);
                    app.spawn(start(app.clone(), settings.clone(), Arc::clone(&tray_app)));
                    if let Some(which) = &open_at_start {
                        windows::open_named(&app, which);
                    }
                }
                Err(err) => {
                    tracing::error!("cannot show the tray icon: {err:#}");
                    *control_flow = ControlFlow::ExitWithCode(1);
                }
            },
            Event::UserEvent(UiEvent::Render) => {
                if let Some(shown) = shown.as_mut() {
                    render_now(&app, shown);
                }
            }
            Event::UserEvent(UiEvent::Quit) => *control_flow = ControlFlow::Exit,
            Event::LoopDestroyed => {
                drop(shown.take());
                drop(instance.take());
                drop(log.take());
            }
            _ => {}
        }
    })
}

/// The status icon and the menu attached to it (main thread only).
struct Shown {
    icon: tray_icon::TrayIcon,
    menu: menu::BuiltMenu,
}

/// Builds the first menu and the icon showing it.
fn show_icon(app: &Desktop) -> anyhow::Result<Shown> {
    let entries = menu::entries(
        &TrayView::unknown(),
        &[usage::NO_REQUESTS.to_owned()],
        &GatewayLine::Starting,
        app.autostart_enabled(),
    );
    let menu = menu::build(&entries)?;
    let icon = tray_icon::TrayIconBuilder::new()
        .with_id("main")
        .with_tooltip("codexia")
        .with_menu(Box::new(menu.menu.clone()))
        .with_menu_on_left_click(true)
        .with_icon(desktop::tray_icon_image()?)
        .build()?;
    Ok(Shown { icon, menu })
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
async fn start(app: Handle, settings: Settings, tray: Arc<TrayApp>) {
    match tray.gateway.start(settings).await {
        Ok((url, attached)) => tray.set_gateway_line(GatewayLine::Running { url, attached }),
        Err(err) => {
            let reason = err.message;
            tracing::error!("the gateway cannot start: {reason}");
            tray.set_gateway_line(GatewayLine::Failed { reason });
        }
    }
    app.render();
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
async fn refresh_status(app: &Desktop, tray: &TrayApp) {
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
        app.notify(note);
    }
    if new_view.account == AccountState::SignInAgain
        && previous.account != AccountState::SignInAgain
    {
        app.notify(
            "Your ChatGPT sign-in expired. Choose \"Sign in…\" in the codexia menu.".to_owned(),
        );
    }
    if let Ok(mut view) = tray.view.lock() {
        view.0 = new_view;
    }
    refresh_usage(app, tray).await;
    app.render();
}

/// Reads today's usage from the ledger (off the async threads) into the menu's usage lines,
/// and announces a window forecast to run out before its reset, once per window period.
async fn refresh_usage(app: &Desktop, tray: &TrayApp) {
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
        app.notify(note);
    }
}

/// Brings the menu and tooltip up to date with the current view (main thread): item texts
/// change in place; the menu is rebuilt only when its shape changes (a limit line appears,
/// sign-in state flips), so a panel showing it does not flicker.
fn render_now(app: &Desktop, shown: &mut Shown) {
    let (view, gateway) = app.tray.current();
    let usage = app.tray.usage_lines();
    let entries = menu::entries(&view, &usage, &gateway, app.autostart_enabled());
    if shown.menu.same_shape(&entries) {
        shown.menu.update(&entries);
    } else if let Err(err) = shown.menu.replace(&entries) {
        tracing::warn!("cannot update the tray menu: {err}");
    }
    if let Err(err) = shown.icon.set_tooltip(Some(view.tooltip())) {
        tracing::debug!("cannot set the tray tooltip: {err}");
    }
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

fn on_menu_event(app: &Handle, id: &str) {
    let tray = Arc::clone(&app.tray);
    if let Some(name) = Item::account_of(id) {
        let name = name.to_owned();
        app.spawn(async move {
            commands::use_account(&tray, &name).await;
            tray.refresh.notify_one();
        });
        return;
    }
    let Some(item) = Item::from_id(id) else {
        return;
    };
    let app = app.clone();
    match item {
        Item::Gateway | Item::CopySetup => {
            let desktop = app.clone();
            app.spawn(async move {
                if let Some((url, key)) = tray.gateway.endpoint().await {
                    let text = if item == Item::Gateway {
                        url
                    } else {
                        claude_setup(&url, key.as_deref())
                    };
                    if let Err(err) = desktop.copy_text(text) {
                        tracing::warn!("cannot copy to the clipboard: {err}");
                    }
                }
            });
        }
        Item::Settings => windows::open(&app, WindowKind::Settings),
        // Signing in with an account already signed in adds the new one (and makes it active).
        Item::SignIn | Item::AddAccount => windows::open(&app, WindowKind::SignIn),
        Item::SignOut => {
            app.spawn(async move {
                commands::sign_out(&tray).await;
                tray.refresh.notify_one();
            });
        }
        Item::Autostart => {
            if let Err(err) = app.set_autostart(!app.autostart_enabled()) {
                tracing::warn!("cannot change start at login: {err}");
            }
            app.render();
        }
        Item::Quit => {
            let desktop = app.clone();
            app.spawn(async move {
                tray.gateway.stop().await;
                desktop.quit();
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
