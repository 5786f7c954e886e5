//! The tray's side of the windows: each window runs in its own process (`codexia-window
//! NAME`, see `window_app`), started here with piped stdin and stdout. The tray answers the
//! page commands a window forwards and sends it events; when the window closes, its process
//! ends and the web engine's memory goes with it.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::desktop::Handle;
use super::ipc::{self, FromWindow, ToWindow, WindowKind};

/// The open windows, by label.
#[derive(Default)]
pub(crate) struct WindowHost {
    open: Mutex<HashMap<&'static str, Open>>,
    generation: AtomicU64,
}

struct Open {
    generation: u64,
    events: mpsc::UnboundedSender<ToWindow>,
}

impl WindowHost {
    /// Sends an event to the window with this label; false when it is not open.
    pub(crate) fn send(&self, label: &str, event: ToWindow) -> bool {
        self.open.lock().is_ok_and(|open| {
            open.get(label)
                .is_some_and(|w| w.events.send(event).is_ok())
        })
    }

    fn forget(&self, label: &str, generation: u64) {
        if let Ok(mut open) = self.open.lock()
            && open.get(label).is_some_and(|w| w.generation == generation)
        {
            open.remove(label);
        }
    }

    /// Brings the window forward, or starts its process and the two tasks that talk to it.
    /// Runs on the async runtime (the process pipes need its reactor).
    fn open(&self, app: &Handle, kind: WindowKind) -> std::io::Result<()> {
        let label = kind.label();
        // Held from the check to the insert, so two quick clicks open one window.
        let Ok(mut open) = self.open.lock() else {
            return Err(std::io::Error::other("the window list is unusable"));
        };
        if open
            .get(label)
            .is_some_and(|w| w.events.send(ToWindow::Focus).is_ok())
        {
            return Ok(());
        }
        let mut command = tokio::process::Command::new(window_binary()?);
        command
            .arg(kind.arg())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env_remove("CODEXIA_TRAY_OPEN")
            .kill_on_drop(true);
        super::restore_gdk_gl(command.as_std_mut());
        let mut child = command.spawn()?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other("the window process has no pipes"));
        };
        let (events, mut outgoing) = mpsc::unbounded_channel::<ToWindow>();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        open.insert(
            label,
            Open {
                generation,
                events: events.clone(),
            },
        );
        drop(open);

        tokio::spawn(async move {
            while let Some(event) = outgoing.recv().await {
                let line = ipc::encode(&event);
                if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });

        let app = app.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(FromWindow { id, request }) = serde_json::from_str(&line) else {
                    tracing::debug!("the {label} window wrote: {line}");
                    continue;
                };
                let app = app.clone();
                let events = events.clone();
                tokio::spawn(async move {
                    let outcome = super::commands::dispatch(&app, request).await;
                    let _ = events.send(ToWindow::Reply { id, outcome });
                });
            }
            app.windows.forget(label, generation);
            match child.wait().await {
                Ok(status) if !status.success() => {
                    tracing::warn!("the {label} window ended with {status}");
                }
                Err(err) => tracing::warn!("the {label} window: {err}"),
                Ok(_) => tracing::debug!("the {label} window closed"),
            }
        });
        Ok(())
    }
}

/// The windows' program: `codexia-window`, next to this one.
fn window_binary() -> std::io::Result<std::path::PathBuf> {
    let name = format!("codexia-window{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::current_exe()?.with_file_name(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is missing; install it beside codexia", path.display()),
        ))
    }
}

/// Opens a window, or brings it forward when it is open.
pub(crate) fn open(app: &Handle, kind: WindowKind) {
    let handle = app.clone();
    app.spawn(async move {
        if let Err(err) = handle.windows.open(&handle, kind) {
            tracing::error!("cannot open the {} window: {err}", kind.label());
            // The tray has nowhere else to say it.
            handle.notify(format!("The {} window cannot open: {err}.", kind.title()));
        }
    });
}

/// Opens the window named by `CODEXIA_TRAY_OPEN` (`settings`, `signin` or `signin-auto`),
/// for tests and for launching straight into a window.
pub(crate) fn open_named(app: &Handle, which: &str) {
    if let Some(kind) = WindowKind::parse(which) {
        open(app, kind);
    } else {
        tracing::warn!("unknown window {which:?} in CODEXIA_TRAY_OPEN");
    }
}

/// Sends an event to an open window (nothing happens when it is closed).
pub(crate) fn send(app: &Handle, label: &str, event: ToWindow) {
    app.windows.send(label, event);
}
