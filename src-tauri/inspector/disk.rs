//! `codexia serve --capture DIR`: each finished capture written to its own private file
//! (`DIR/20261201T130000.123Z-req_12.json`, the JSON of `GET /v1/requests/{id}`, redacted),
//! 0600 in a 0700 directory through `files.rs`. One thread does the rendering and the
//! writing, fed by a bounded channel: the request's end only hands over an `Arc` with a
//! `try_send`, and a full channel drops the file (counted and logged) rather than wait.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use super::Capture;
use crate::files;

/// Finished captures waiting for the disk.
const QUEUE: usize = 256;
/// Longest wait of [`DiskWriter::flush`].
const FLUSH_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

enum Job {
    Write(Arc<Capture>),
    /// Answered once every job queued before it is done.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The handle of the writer thread.
#[derive(Debug, Clone)]
pub(crate) struct DiskWriter(Arc<Writer>);

#[derive(Debug)]
struct Writer {
    dir: PathBuf,
    sender: Mutex<Option<SyncSender<Job>>>,
    dropped: AtomicU64,
}

impl DiskWriter {
    /// Starts the writer thread for `dir` (created 0700 on the first write).
    pub(crate) fn start(dir: PathBuf) -> Self {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
        let thread_dir = dir.clone();
        let started = std::thread::Builder::new()
            .name("codexia-capture".into())
            .spawn(move || {
                for job in receiver {
                    match job {
                        Job::Write(capture) => write(&thread_dir, &capture),
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            });
        let sender = match started {
            Ok(_) => Some(sender),
            Err(err) => {
                tracing::warn!("cannot start the capture writer: {err}; no capture files");
                None
            }
        };
        Self(Arc::new(Writer {
            dir,
            sender: Mutex::new(sender),
            dropped: AtomicU64::new(0),
        }))
    }

    /// Where the files go.
    pub(crate) fn dir(&self) -> &Path {
        &self.0.dir
    }

    /// Queues a finished capture; never waits.
    pub(crate) fn send(&self, capture: Arc<Capture>) {
        let guard = super::lock(&self.0.sender);
        let Some(sender) = guard.as_ref() else { return };
        match sender.try_send(Job::Write(capture)) {
            // Sent; or the writer thread is gone (the process is stopping).
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(job)) => {
                let Job::Write(capture) = job else { return };
                let dropped = self.0.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(
                    "capture writer behind: {} not written ({dropped} dropped so far)",
                    capture.id()
                );
            }
        }
    }
}

impl DiskWriter {
    /// Waits (blocking; call it off the async threads) until every capture queued before the
    /// call is written, so that a caller who saw its answers end finds their files.
    pub(crate) fn flush(&self) {
        let (done, finished) = std::sync::mpsc::channel();
        let sender = super::lock(&self.0.sender).clone();
        let Some(sender) = sender else { return };
        if sender.send(Job::Flush(done)).is_ok() {
            let _ = finished.recv_timeout(FLUSH_WAIT);
        }
    }
}

/// The file name of a capture: its arrival time and id, so that files of several runs sort
/// by time and never overwrite each other.
fn file_name(capture: &Capture) -> String {
    format!(
        "{}-{}.json",
        capture.at.format("%Y%m%dT%H%M%S%.3fZ"),
        capture.id()
    )
}

fn write(dir: &Path, capture: &Capture) {
    let detail = capture.detail();
    let path = dir.join(file_name(capture));
    let written = serde_json::to_vec_pretty(&detail)
        .map_err(std::io::Error::other)
        .and_then(|bytes| files::write_private(&path, &bytes));
    if let Err(err) = written {
        tracing::warn!("cannot write the capture {}: {err}", path.display());
    }
}
