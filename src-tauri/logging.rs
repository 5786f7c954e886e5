//! Logging, set up in one place: to stderr, at a level taken from [`Settings`] (`--log`,
//! `CODEXIA_LOG`, `config.json`), how loud the program is by default, and `-v`; the programs
//! that run unattended (`codexia serve`, which the daemon runs, and the tray app) also keep
//! their log in `$CODEXIA_HOME/logs/NAME.log`.
//!
//! Every line, to stderr or a file, passes through the one redactor (`redact.rs`) on its way out
//! ([`Redacting`]), so a token that reached a log message by mistake is still not written.
//!
//! Log files, because they are handed over in support bundles and may sit for months:
//! - Files are created 0600 through [`files::open_private_append`]: a symbolic link at a log
//!   path (or at `logs/`) is refused, never written through; the program then logs to stderr
//!   only and says so once.
//! - Rotation by size: past `log_file_size` (default 5 MiB) `NAME.log` becomes `NAME.log.1`,
//!   `.1` becomes `.2`, … and the oldest beyond [`LOG_FILES_KEPT`] is dropped.
//! - Nothing waits for the disk: a log line is handed to one writer thread through a bounded
//!   queue; when the queue is full the line is dropped and counted, and the count is written
//!   when there is room again. The thread wakes for the first line and then writes all that
//!   came within [`BATCH_WAIT`], so a busy gateway does not wake it once per request.
//! - Without colours (stderr not a terminal, or `NO_COLOR`) that thread writes stderr too, all
//!   the lines of a batch in one write: a request does not make a system call for its log
//!   line, nor wake whatever reads the pipe (a terminal gets colours, and its lines at once).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::settings::{Settings, Source};
use crate::{files, redact};

/// The directory of log files in `$CODEXIA_HOME`.
pub(crate) const LOG_DIR: &str = "logs";
/// Files kept per log: the current one and four rotated ones.
pub(crate) const LOG_FILES_KEPT: usize = 5;
/// The smallest size a log file is rotated at (a smaller setting is raised to it).
const MIN_FILE_SIZE: u64 = 1024;
/// Lines waiting for the writer thread before new ones are dropped.
const QUEUE_LINES: usize = 4096;
/// How long the writer thread lets lines gather once one has arrived: a line reaches the file
/// at most this much later.
const BATCH_WAIT: Duration = Duration::from_millis(20);
/// How long the end of a program waits for its last lines to reach the file.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// How loud a program is before `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loudness {
    /// The configured level (default `info`): `serve`, the tray and its windows.
    Configured,
    /// `warn` unless a level was configured: commands whose output is the answer.
    QuietUnlessConfigured,
    /// `warn` whatever is configured: `codexia claude`, which shares the terminal with
    /// Claude Code.
    Quiet,
}

/// Starts logging to stderr; later calls in the same process change nothing.
pub(crate) fn init(settings: &Settings, loudness: Loudness, verbose: u8) {
    install(settings, loudness, verbose, None);
}

/// Starts logging to stderr and to `$CODEXIA_HOME/logs/NAME.log` (see the module comment).
/// Keep the guard until the program ends: dropping it writes the lines still queued.
pub(crate) fn init_with_file(
    settings: &Settings,
    loudness: Loudness,
    verbose: u8,
    name: &str,
) -> LogGuard {
    let path = log_path(&settings.home, name);
    let max = u64::try_from(settings.log_file_size.value)
        .unwrap_or(u64::MAX)
        .max(MIN_FILE_SIZE);
    match RotatingFile::open(path.clone(), max, LOG_FILES_KEPT) {
        Ok(file) => {
            let (writer, guard) = FileWriter::spawn(file);
            install(settings, loudness, verbose, Some(writer));
            guard
        }
        Err(err) => {
            install(settings, loudness, verbose, None);
            tracing::warn!("logging to stderr only: {}: {err}", path.display());
            LogGuard { queue: None }
        }
    }
}

/// `$CODEXIA_HOME/logs/NAME.log`.
pub(crate) fn log_path(home: &Path, name: &str) -> PathBuf {
    home.join(LOG_DIR).join(format!("{name}.log"))
}

fn install(settings: &Settings, loudness: Loudness, verbose: u8, file: Option<FileWriter>) {
    remember_configured_keys(settings);
    let filter = EnvFilter::try_new(directive(settings, loudness, verbose))
        .unwrap_or_else(|_| EnvFilter::new("warn,codexia=info"));
    // Colours only for a person at a terminal; logs in files and pipes stay plain.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    // Without colours both outputs get the same line: formatted and redacted once, written
    // to each (a gateway's request log runs once per request).
    let (both, stderr, file) = match file {
        Some(writer) if !ansi => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(Redacting(writer.echoing_to_stderr()))
                    .with_ansi(false)
                    .with_target(false),
            ),
            None,
            None,
        ),
        file => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(Redacting(std::io::stderr))
                    .with_ansi(ansi)
                    .with_target(false),
            ),
            file.map(|writer| {
                tracing_subscriber::fmt::layer()
                    .with_writer(Redacting(writer))
                    .with_ansi(false)
                    .with_target(false)
            }),
        ),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(both)
        .with(stderr)
        .with(file)
        .try_init();
}

/// Tells the process's redactor the configured API keys, so that no log line, capture or
/// bundle shows them.
pub(crate) fn remember_configured_keys(settings: &Settings) {
    let single = settings.api_key.value.iter();
    let named = settings.api_keys.value.values();
    redact::remember_all(
        single
            .chain(named)
            .map(|key| (redact::SecretKind::ApiKey, key.expose())),
    );
}

/// A log writer whose every event is redacted before it reaches the inner writer: the event
/// is collected (one `make_writer` per event) and written, redacted, when the writer drops.
/// Wraps stderr and the log file alike.
#[derive(Debug, Clone)]
pub(crate) struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactedEvent<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedEvent {
            line: Vec::new(),
            inner: self.0.make_writer(),
        }
    }
}

/// One log event on its way through [`Redacting`].
pub(crate) struct RedactedEvent<W: Write> {
    line: Vec<u8>,
    inner: W,
}

impl<W: Write> Write for RedactedEvent<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactedEvent<W> {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let redacted = redact::current().text(&text).into_owned();
        // A log line that cannot be written has nowhere else to go.
        let _ = self.inner.write_all(redacted.as_bytes());
        let _ = self.inner.flush();
    }
}

/// A log file rotated by size: `NAME.log`, `NAME.log.1` (the newest rotated), … up to
/// `kept` files.
struct RotatingFile {
    path: PathBuf,
    max: u64,
    kept: usize,
    file: Option<File>,
    size: u64,
}

impl RotatingFile {
    fn open(path: PathBuf, max: u64, kept: usize) -> io::Result<RotatingFile> {
        if let Some(dir) = path.parent() {
            files::create_private_subdir(dir)?;
        }
        let file = files::open_private_append(&path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path,
            max,
            kept,
            file: Some(file),
            size,
        })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Appends one line, rotating first when it would pass the size. After a failure (the
    /// file could not be reopened: say a link was planted at its name) nothing more is written.
    fn append(&mut self, line: &[u8]) {
        let len = line.len() as u64;
        if self.size > 0 && self.size + len > self.max {
            self.rotate();
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        if file.write_all(line).is_ok() {
            self.size += len;
        }
    }

    fn rotate(&mut self) {
        self.file = None;
        // Renames move directory entries: a link planted at a rotated name is moved or
        // replaced, never written through.
        for n in (1..self.kept.saturating_sub(1)).rev() {
            let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
        }
        if self.kept > 1 {
            let _ = std::fs::rename(&self.path, self.rotated(1));
        } else {
            let _ = std::fs::remove_file(&self.path);
        }
        self.size = 0;
        self.file = files::open_private_append(&self.path).ok();
    }
}

enum Message {
    /// A whole line for the file, and for stderr when `echo`.
    Line {
        line: Vec<u8>,
        echo: bool,
    },
    Flush(SyncSender<()>),
}

/// The `MakeWriter` of the file layer (inside [`Redacting`]): hands each line to the writer
/// thread.
#[derive(Clone)]
struct FileWriter {
    queue: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
    /// Whether the writer thread also writes these lines to stderr.
    echo: bool,
}

impl FileWriter {
    fn spawn(file: RotatingFile) -> (FileWriter, LogGuard) {
        let (queue, lines) = sync_channel(QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        let spawned = std::thread::Builder::new()
            .name("codexia-log".to_owned())
            .spawn(move || write_lines(file, &lines, &counter));
        let guard = LogGuard {
            queue: spawned.is_ok().then(|| queue.clone()),
        };
        let writer = FileWriter {
            queue,
            dropped,
            echo: false,
        };
        (writer, guard)
    }

    /// The same file, with each line also written to stderr by the writer thread.
    fn echoing_to_stderr(self) -> Self {
        Self { echo: true, ..self }
    }
}

fn write_lines(mut file: RotatingFile, lines: &Receiver<Message>, dropped: &AtomicU64) {
    // The batch's lines for stderr, written in one call.
    let mut echoed = Vec::new();
    while let Ok(first) = lines.recv() {
        // Lines sent while this thread sleeps wait in the queue without waking it: under load
        // one wake-up per [`BATCH_WAIT`] instead of one per line (a wake-up is a futex call for
        // the request that logs, and a switch to this thread; both were a tenth of the CPU of
        // a small request).
        std::thread::sleep(BATCH_WAIT);
        for message in std::iter::once(first).chain(lines.try_iter()) {
            match message {
                Message::Line { line, echo } => {
                    let lost = dropped.swap(0, Ordering::Relaxed);
                    if lost > 0 {
                        let note = format!("({lost} log lines dropped: the disk was slow)\n");
                        file.append(note.as_bytes());
                        if echo {
                            echoed.extend_from_slice(note.as_bytes());
                        }
                    }
                    file.append(&line);
                    if echo {
                        echoed.extend_from_slice(&line);
                    }
                }
                Message::Flush(done) => {
                    write_stderr(&mut echoed);
                    if let Some(f) = file.file.as_mut() {
                        let _ = f.flush();
                    }
                    let _ = done.send(());
                }
            }
        }
        write_stderr(&mut echoed);
    }
}

/// Writes and empties `lines` (a log line that cannot be written has nowhere else to go).
fn write_stderr(lines: &mut Vec<u8>) {
    if !lines.is_empty() {
        let _ = io::stderr().lock().write_all(lines);
        lines.clear();
    }
    // A burst's worth is not kept for the life of the process.
    if lines.capacity() > QUEUE_LINES * 16 {
        *lines = Vec::new();
    }
}

impl io::Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // [`RedactedEvent`] writes one whole, redacted event per call.
        let line = Message::Line {
            line: buf.to_vec(),
            echo: self.echo,
        };
        if let Err(TrySendError::Full(_)) = self.queue.try_send(line) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for FileWriter {
    type Writer = FileWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Writes the lines still queued when dropped (bounded by [`FLUSH_TIMEOUT`]).
#[must_use = "dropping the guard ends file logging's last flush"]
pub(crate) struct LogGuard {
    queue: Option<SyncSender<Message>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let Some(queue) = self.queue.take() else {
            return;
        };
        let (done, wait) = sync_channel(1);
        if queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(FLUSH_TIMEOUT);
        }
    }
}

/// The filter directive: our own crate at the chosen level and noisy dependencies at `warn`,
/// unless the configured value is a whole directive (`codexia=debug,hyper=info`).
fn directive(settings: &Settings, loudness: Loudness, verbose: u8) -> String {
    let configured = &settings.log;
    let level = match verbose {
        0 => match loudness {
            Loudness::Configured => configured.value.as_str(),
            Loudness::QuietUnlessConfigured if configured.source != Source::Default => {
                configured.value.as_str()
            }
            Loudness::QuietUnlessConfigured | Loudness::Quiet => "warn",
        },
        1 => "debug",
        _ => "trace",
    };
    if level.contains('=') || level.contains(',') {
        level.to_owned()
    } else {
        format!("warn,codexia={level}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_log_file_rotates_by_size_keeps_five_files_and_never_follows_a_link() {
        use std::os::unix::fs::{PermissionsExt as _, symlink};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs").join("serve.log");
        let mut file = RotatingFile::open(path.clone(), 100, LOG_FILES_KEPT).unwrap();
        for n in 0..40 {
            file.append(format!("line {n:02} ..............................\n").as_bytes());
        }
        let mut names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "serve.log",
                "serve.log.1",
                "serve.log.2",
                "serve.log.3",
                "serve.log.4"
            ]
        );
        for name in &names {
            let meta = std::fs::metadata(path.with_file_name(name)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
            assert!(meta.len() <= 100, "{name}");
        }
        // The newest lines are in the current file, the ones before in `.1`.
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.ends_with("line 39 ..............................\n"));
        let previous = std::fs::read_to_string(path.with_file_name("serve.log.1")).unwrap();
        assert!(previous.contains("line 37"), "{previous}");
        drop(file);

        // A link planted at the log path is refused, and the target stays untouched.
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "mine").unwrap();
        std::fs::remove_file(&path).unwrap();
        symlink(&target, &path).unwrap();
        let err = RotatingFile::open(path.clone(), 100, LOG_FILES_KEPT)
            .err()
            .expect("a link at the log path is refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
    }
    use crate::settings::{ConfigFile, Env, Overrides};

    fn settings(env: &[(&str, &str)]) -> Settings {
        Settings::resolve_with_file(
            &Overrides::default(),
            &Env::from_pairs(env.iter().copied()),
            "/nonexistent".into(),
            &ConfigFile::default(),
        )
        .unwrap()
    }

    #[test]
    fn log_events_are_redacted_on_their_way_out() {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = Redacting({
            let sink = sink.clone();
            move || sink.clone()
        });
        {
            let mut event = writer.make_writer();
            event
                .write_all(b"refreshed: Authorization: Bearer ")
                .unwrap();
            event
                .write_all(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\n")
                .unwrap();
        }
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "refreshed: Authorization: Bearer [redacted:jwt]\n");
    }

    #[test]
    fn the_level_follows_the_settings_the_loudness_and_verbosity() {
        let default = settings(&[]);
        let set = settings(&[("CODEXIA_LOG", "error")]);
        let whole = settings(&[("CODEXIA_LOG", "codexia=debug,hyper=info")]);
        assert_eq!(
            [
                directive(&default, Loudness::Configured, 0),
                directive(&default, Loudness::QuietUnlessConfigured, 0),
                directive(&set, Loudness::QuietUnlessConfigured, 0),
                directive(&set, Loudness::Quiet, 0),
                directive(&whole, Loudness::Configured, 0),
                directive(&set, Loudness::Quiet, 1),
                directive(&default, Loudness::Configured, 2),
            ],
            [
                "warn,codexia=info",
                "warn,codexia=warn",
                "warn,codexia=error",
                "warn,codexia=warn",
                "codexia=debug,hyper=info",
                "warn,codexia=debug",
                "warn,codexia=trace",
            ]
        );
    }
}
