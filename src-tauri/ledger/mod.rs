//! The usage ledger: one row per request that reached the backend, kept in
//! `$CODEXIA_HOME/usage.db` (SQLite, WAL), for `codexia usage`, `GET /v1/usage`, the status line
//! and the tray.
//!
//! Invariants:
//! - **Nothing on the request path waits for disk.** [`Ledger::record`] hands the row to a
//!   bounded channel with `try_send`; one writer thread ([`writer`]) drains it and inserts rows in
//!   batches. When the channel is full the row is counted in [`Ledger::dropped`] and forgotten.
//! - **Never content.** A row holds names, counts, times and percentages: no prompt, no answer,
//!   no header value but the client family and the session id.
//! - **An aid, never a reason to fail.** A missing or unwritable directory, a locked or corrupt
//!   file: the writer says once what is wrong (a `warn` log line), moves a corrupt file aside and
//!   starts a new one; the gateway keeps serving either way.
//!
//! Below the gateway: it imports nothing of the crate but `files.rs`; the gateway fills rows
//! from its own types ([`Row`], [`WindowObservation`]).

pub(crate) mod attribution;
pub(crate) mod client;
pub(crate) mod pace;
pub(crate) mod query;
pub(crate) mod schema;
pub(crate) mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};

use serde::Serialize;

/// The database's file name inside `$CODEXIA_HOME`.
pub(crate) const FILE_NAME: &str = "usage.db";

/// Rows waiting for the writer, at most. A burst larger than this between two batches is
/// dropped (and counted): the writer inserts thousands of rows per second, so only a stuck
/// disk fills it.
pub(crate) const CHANNEL_CAPACITY: usize = 4096;

/// The two windows of the main Codex limit, as the ledger stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum WindowKind {
    /// The 5-hour window.
    #[serde(rename = "5h")]
    FiveHour,
    /// The weekly window.
    Weekly,
}

impl WindowKind {
    pub(crate) const ALL: [Self; 2] = [Self::FiveHour, Self::Weekly];

    /// `5h` or `weekly`, as `upstream/rate_limits.rs` names them.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::FiveHour => "5h",
            Self::Weekly => "weekly",
        }
    }

    /// The window's length in seconds.
    pub(crate) fn seconds(self) -> i64 {
        match self {
            Self::FiveHour => 5 * 3600,
            Self::Weekly => 7 * 86_400,
        }
    }
}

/// One window as seen after an answer: how much of it is used, and when it resets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct WindowObservation {
    /// 0..=100.
    pub used_percent: f64,
    /// Unix seconds.
    pub reset_at: Option<i64>,
}

/// One request, as recorded. Token counts are the backend's final usage (0 when the answer
/// ended without one).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Row {
    /// Unix milliseconds when the answer ended.
    pub at_ms: i64,
    /// `POST /v1/messages`.
    pub route: String,
    /// The API key's name, else the client family from the User-Agent ([`client::classify`]).
    pub client: String,
    /// The client's version, when the User-Agent says it.
    pub client_version: Option<String>,
    /// Claude Code's session id, a `prompt_cache_key` or a conversation key.
    pub session: Option<String>,
    pub model_asked: Option<String>,
    pub model_served: Option<String>,
    pub effort: Option<String>,
    pub input_tokens: u64,
    pub cached_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// `ok`, `incomplete` (the stream ended without usage), `cancelled` (the caller left), or
    /// the error kind.
    pub outcome: String,
    pub duration_ms: u64,
    /// Time to the first content.
    pub first_content_ms: Option<u64>,
    /// The 5-hour window after the answer.
    pub five_hour: Option<WindowObservation>,
    /// The weekly window after the answer.
    pub weekly: Option<WindowObservation>,
    /// The short name of the signed-in account that served (`x-codexia-account`).
    pub account: Option<String>,
}

impl Row {}

/// What goes through the writer's channel.
#[derive(Debug)]
pub(crate) enum Message {
    Row(Box<Row>),
    /// Answered once every message sent before it is written (or dropped).
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// A handle to the ledger; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    sender: Option<SyncSender<Message>>,
    /// The writer thread, woken by a flush from the wait in which it gathers rows.
    writer: Option<std::thread::Thread>,
    dropped: Arc<AtomicU64>,
    path: PathBuf,
}

impl Ledger {
    /// Starts the writer thread for `$home/usage.db`, keeping `retention_days` of rows. Returns
    /// at once: the file is opened (and repaired, and migrated) by the writer.
    pub(crate) fn start(home: &Path, retention_days: u32) -> Self {
        let path = home.join(FILE_NAME);
        let (sender, receiver) = std::sync::mpsc::sync_channel(CHANNEL_CAPACITY);
        let dropped = Arc::new(AtomicU64::new(0));
        let config = writer::WriterConfig {
            path: path.clone(),
            retention_days,
        };
        let spawned = std::thread::Builder::new()
            .name("codexia-ledger".into())
            .spawn({
                let dropped = Arc::clone(&dropped);
                move || writer::run(&config, &receiver, &dropped)
            });
        let (sender, writer) = match spawned {
            Ok(handle) => (Some(sender), Some(handle.thread().clone())),
            Err(err) => {
                tracing::warn!("usage ledger disabled: cannot start its writer thread: {err}");
                (None, None)
            }
        };
        Self {
            sender,
            writer,
            dropped,
            path,
        }
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Hands a row to the writer without waiting; a full channel drops it (counted).
    pub(crate) fn record(&self, row: Row) {
        let Some(sender) = &self.sender else { return };
        match sender.try_send(Message::Row(Box::new(row))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Rows dropped because the channel was full (or the writer had stopped).
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits (blocking; call it off the async runtime) until every row recorded before this
    /// call is written. Used before reading the database in the same process.
    pub(crate) fn flush_blocking(&self) {
        let Some(sender) = &self.sender else { return };
        let (done, wait) = std::sync::mpsc::sync_channel(1);
        // A full channel: wait for room; this is never on the request path.
        if sender.send(Message::Flush(done)).is_ok() {
            if let Some(writer) = &self.writer {
                writer.unpark();
            }
            let _ = wait.recv();
        }
    }
}
