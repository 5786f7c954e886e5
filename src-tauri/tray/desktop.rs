//! The desktop around the tray, without a web engine: the event loop on the main thread (which
//! owns the status icon and its menu), desktop notifications, the clipboard, the autostart
//! entry and the single instance. Windows are other processes (`codexia-window`, see
//! `windows`), so this process never loads WebKit.

use std::sync::{Arc, Mutex, mpsc};

use tao::event_loop::EventLoopProxy;

use super::TrayApp;
use super::signin::SignIn;
use super::windows::WindowHost;

/// What the other threads ask of the main thread.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UiEvent {
    /// Bring the menu and tooltip up to date with the current view.
    Render,
    /// End the event loop, and the process.
    Quit,
}

/// The tray's handle, shared by the menu, the windows, the single-instance listener and the
/// background tasks.
pub(crate) struct Desktop {
    pub(crate) tray: Arc<TrayApp>,
    pub(crate) signin: SignIn,
    pub(crate) windows: WindowHost,
    /// Where background work runs (menu events and D-Bus calls arrive on other threads).
    runtime: tokio::runtime::Handle,
    /// The proxy is `Send` but not `Sync` on every platform.
    ui: Mutex<EventLoopProxy<UiEvent>>,
    /// The notifications, shown one after the other by one thread (each is a D-Bus call).
    notes: mpsc::Sender<String>,
    autostart: Option<auto_launch::AutoLaunch>,
    /// Kept while the app runs: on X11 the copied text is served by its owner.
    clipboard: Mutex<Option<arboard::Clipboard>>,
}

/// The shared handle.
pub(crate) type Handle = Arc<Desktop>;

impl Desktop {
    pub(crate) fn new(
        tray: Arc<TrayApp>,
        runtime: tokio::runtime::Handle,
        ui: EventLoopProxy<UiEvent>,
    ) -> Handle {
        let (notes, pending) = mpsc::channel::<String>();
        let shown = std::thread::Builder::new()
            .name("notifications".to_owned())
            .spawn(move || {
                for body in pending {
                    show_notification(&body);
                }
            });
        if let Err(err) = shown {
            tracing::warn!("no desktop notifications: {err}");
        }
        let autostart = match autostart_entry() {
            Ok(entry) => Some(entry),
            Err(err) => {
                tracing::warn!("start at login is unavailable: {err}");
                None
            }
        };
        Arc::new(Self {
            tray,
            signin: SignIn::default(),
            windows: WindowHost::default(),
            runtime,
            ui: Mutex::new(ui),
            notes,
            autostart,
            clipboard: Mutex::new(None),
        })
    }

    /// Runs `task` on the async runtime (from any thread).
    pub(crate) fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(task);
    }

    fn send(&self, event: UiEvent) {
        if let Ok(ui) = self.ui.lock() {
            let _ = ui.send_event(event);
        }
    }

    /// Brings the menu and tooltip up to date (on the main thread, soon).
    pub(crate) fn render(&self) {
        self.send(UiEvent::Render);
    }

    /// Ends the app.
    pub(crate) fn quit(&self) {
        self.send(UiEvent::Quit);
    }

    /// Shows a desktop notification titled "codexia".
    pub(crate) fn notify(&self, body: String) {
        let _ = self.notes.send(body);
    }

    /// Puts `text` on the clipboard.
    pub(crate) fn copy_text(&self, text: String) -> Result<(), arboard::Error> {
        let mut clipboard = self
            .clipboard
            .lock()
            .map_err(|_| arboard::Error::ClipboardOccupied)?;
        if clipboard.is_none() {
            *clipboard = Some(arboard::Clipboard::new()?);
        }
        match clipboard.as_mut() {
            Some(clipboard) => clipboard.set_text(text),
            None => Err(arboard::Error::ClipboardNotSupported),
        }
    }

    /// Whether codexia starts at login.
    pub(crate) fn autostart_enabled(&self) -> bool {
        self.autostart
            .as_ref()
            .is_some_and(|entry| entry.is_enabled().unwrap_or(false))
    }

    /// Makes codexia start at login, or not.
    pub(crate) fn set_autostart(&self, on: bool) -> Result<(), String> {
        let Some(entry) = &self.autostart else {
            return Err("this system offers no way to start apps at login".to_owned());
        };
        let changed = if on { entry.enable() } else { entry.disable() };
        changed.map_err(|err| err.to_string())
    }
}

fn show_notification(body: &str) {
    let shown = notify_rust::Notification::new()
        .appname("codexia")
        .summary("codexia")
        .body(body)
        .show();
    if let Err(err) = shown {
        tracing::warn!("cannot show a notification: {err}");
    }
}

/// The login item that starts this binary: an XDG autostart entry on Linux
/// (`~/.config/autostart/codexia.desktop`), a LaunchAgent on macOS, the Run key on Windows.
fn autostart_entry() -> Result<auto_launch::AutoLaunch, String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    // An AppImage runs from a temporary mount: start the image itself.
    let path = std::env::var("APPIMAGE")
        .ok()
        .filter(|_| cfg!(target_os = "linux"))
        .unwrap_or_else(|| exe.display().to_string());
    let mut builder = auto_launch::AutoLaunchBuilder::new();
    builder
        .set_app_name("codexia")
        .set_app_path(&path)
        .set_args(&[] as &[&str]);
    #[cfg(target_os = "macos")]
    builder.set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent);
    builder.build().map_err(|err| err.to_string())
}

/// The tray's status icon picture (RGBA).
pub(crate) fn tray_icon_image() -> anyhow::Result<tray_icon::Icon> {
    let bytes: &[u8] = include_bytes!("../../icons/tray@2x.png");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::ALPHA);
    let mut reader = decoder.read_info()?;
    let mut rgba = vec![0; reader.output_buffer_size().unwrap_or_default()];
    let frame = reader.next_frame(&mut rgba)?;
    anyhow::ensure!(
        frame.color_type == png::ColorType::Rgba && frame.bit_depth == png::BitDepth::Eight,
        "the tray icon is not 8-bit RGBA"
    );
    rgba.truncate(frame.buffer_size());
    Ok(tray_icon::Icon::from_rgba(rgba, frame.width, frame.height)?)
}

/// The one tray per desktop session: while it runs, it holds a well-known name on the D-Bus
/// session bus; another launch finds the name taken, asks the running tray to show Settings,
/// and exits.
#[cfg(target_os = "linux")]
pub(crate) mod single {
    use super::Handle;
    use crate::tray::ipc::WindowKind;

    const NAME: &str = "com.codexia.app.SingleInstance";
    const PATH: &str = "/com/codexia/app/SingleInstance";
    const INTERFACE: &str = "com.codexia.app.Tray";

    struct Instance {
        desktop: Handle,
    }

    #[zbus::interface(name = "com.codexia.app.Tray")]
    impl Instance {
        /// Another launch: bring Settings forward.
        fn show_settings(&self) {
            tracing::info!("another launch was redirected to this instance");
            crate::tray::windows::open(&self.desktop, WindowKind::Settings);
        }
    }

    /// What holding the name takes: the connection (the name goes with it).
    pub(crate) struct Held {
        _connection: Option<zbus::blocking::Connection>,
    }

    /// Claims the name. `Ok(None)` when another tray holds it: that one was told, and this
    /// process should end. Without a session bus there is nothing to claim, so the app runs.
    pub(crate) fn claim(desktop: &Handle) -> anyhow::Result<Option<Held>> {
        let builder = match zbus::blocking::connection::Builder::session() {
            Ok(builder) => builder,
            Err(err) => {
                tracing::warn!("no D-Bus session ({err}); not checking for another instance");
                return Ok(Some(Held { _connection: None }));
            }
        };
        let built = builder
            .name(NAME)?
            .replace_existing_names(false)
            .allow_name_replacements(false)
            .serve_at(
                PATH,
                Instance {
                    desktop: desktop.clone(),
                },
            )?
            .build();
        match built {
            Ok(connection) => Ok(Some(Held {
                _connection: Some(connection),
            })),
            Err(zbus::Error::NameTaken) => {
                zbus::blocking::Connection::session()?.call_method(
                    Some(NAME),
                    PATH,
                    Some(INTERFACE),
                    "ShowSettings",
                    &(),
                )?;
                Ok(None)
            }
            Err(err) => {
                tracing::warn!("cannot check for another instance ({err}); starting anyway");
                Ok(Some(Held { _connection: None }))
            }
        }
    }
}

/// Elsewhere, a lock on `$CODEXIA_HOME/tray.lock` held while the tray runs: another launch
/// finds it taken and ends (there is no session bus to ask the running tray to show Settings).
#[cfg(not(target_os = "linux"))]
pub(crate) mod single {
    use super::Handle;

    /// The locked file (the lock goes when it closes).
    pub(crate) struct Held {
        _file: std::fs::File,
    }

    pub(crate) fn claim(desktop: &Handle) -> anyhow::Result<Option<Held>> {
        let file = crate::files::open_lock(&desktop.tray.home.join("tray.lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Held { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::info!("codexia is already running");
                Ok(None)
            }
            Err(std::fs::TryLockError::Error(err)) => Err(err.into()),
        }
    }
}
