//! The one writer: a thread that drains the ledger's channel and inserts rows in batches (one
//! transaction per batch, gathered for up to [`LINGER`]), assigns window shares
//! ([`super::attribution`]) as rows arrive, and prunes rows older than the retention when the
//! file is first needed and then hourly. The file is opened at the first message (a row, or a
//! flush before a report), not at start: a gateway that serves nothing never loads SQLite's
//! code and caches.
//!
//! Faults never reach the gateway: when the file cannot be opened or written, the writer says
//! so once (a `warn` line), counts the rows it could not keep as dropped, and tries to open the
//! file again at most once a minute. A file found corrupt, at start or later, is moved aside
//! and a new one started.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use super::attribution::{Attributor, weight};
use super::{Message, Row, WindowKind, WindowObservation, schema};

/// Rows written in one transaction, at most.
pub(crate) const BATCH: usize = 512;
/// How long the writer waits after a row for more before writing: the requests of a busy
/// moment then share a transaction (one write of the file, one wake of this thread) instead of
/// taking one each. Rows sent meanwhile wait in the channel without waking the thread (each
/// wake was a futex call for the request and a switch to this thread). A flush ends the wait
/// (`Ledger::flush_blocking` unparks the thread); a killed process loses at most this much more.
pub(crate) const LINGER: Duration = Duration::from_millis(50);
/// How often old rows are pruned.
pub(crate) const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Wait before trying a file that could not be opened again.
pub(crate) const REOPEN_AFTER: Duration = Duration::from_secs(60);

/// What the writer needs to know.
#[derive(Debug, Clone)]
pub(crate) struct WriterConfig {
    pub path: PathBuf,
    pub retention_days: u32,
}

/// An open database with its name cache and sharing state.
pub(crate) struct Store {
    conn: Connection,
    names: HashMap<String, i64>,
    attributor: Attributor<Option<i64>>,
}

/// The writer loop; returns when every [`super::Ledger`] handle is gone.
pub(crate) fn run(config: &WriterConfig, receiver: &Receiver<Message>, dropped: &AtomicU64) {
    let mut writer = Writer {
        config: config.clone(),
        store: None,
        warned: false,
        last_open_attempt: None,
        next_prune: None,
    };
    loop {
        writer.prune_if_due();
        let first = match writer.next_prune {
            Some(due) => receiver.recv_timeout(due.saturating_duration_since(Instant::now())),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let first = match first {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if writer.next_prune.is_none() {
            // The first message: open the file, and prune before anything is written or read.
            writer.next_prune = Some(Instant::now());
            writer.prune_if_due();
        }
        if matches!(first, Message::Row(_)) {
            // Woken early by a flush (or spuriously): what is queued then is the batch.
            std::thread::park_timeout(LINGER);
        }
        let mut rows = Vec::new();
        let mut flushes: Vec<SyncSender<()>> = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Row(row) => rows.push(*row),
                Message::Flush(done) => flushes.push(done),
            }
            // Gone senders end the batch (Disconnected); the loop above then returns.
            next = if rows.len() >= BATCH {
                None
            } else {
                receiver.try_recv().ok()
            };
        }
        if !rows.is_empty() {
            let lost = writer.write(&rows);
            dropped.fetch_add(lost, Ordering::Relaxed);
        }
        for done in flushes {
            let _ = done.try_send(());
        }
    }
}

struct Writer {
    config: WriterConfig,
    store: Option<Store>,
    warned: bool,
    last_open_attempt: Option<Instant>,
    /// None until the first message.
    next_prune: Option<Instant>,
}

impl Writer {
    fn warn_once(&mut self, message: &str) {
        if !self.warned {
            self.warned = true;
            tracing::warn!("usage ledger: {message}; requests are served as usual");
        }
    }

    fn ensure_open(&mut self) {
        if self.store.is_some()
            || self
                .last_open_attempt
                .is_some_and(|at| at.elapsed() < REOPEN_AFTER)
        {
            return;
        }
        self.last_open_attempt = Some(Instant::now());
        match Store::open(&self.config.path) {
            Ok((store, repairs)) => {
                if let Some(aside) = repairs.moved_aside {
                    tracing::warn!(
                        "usage ledger: {} was damaged; moved it to {} and started a new one",
                        self.config.path.display(),
                        aside.display()
                    );
                }
                self.store = Some(store);
            }
            Err(err) => self.warn_once(&format!("cannot open the usage database: {err}")),
        }
    }

    /// Writes rows; answers how many were lost.
    fn write(&mut self, rows: &[Row]) -> u64 {
        self.ensure_open();
        let Some(store) = &mut self.store else {
            return rows.len() as u64;
        };
        match store.insert(rows) {
            Ok(()) => 0,
            Err(err) => {
                let corrupt = schema::is_corrupt(&err);
                // Ids cached during a rolled-back transaction are not in the file.
                store.names.clear();
                if corrupt {
                    self.store = None;
                    self.last_open_attempt = None;
                    self.ensure_open();
                } else {
                    self.warn_once(&format!("cannot write to the usage database: {err}"));
                }
                rows.len() as u64
            }
        }
    }

    fn prune_if_due(&mut self) {
        if self.next_prune.is_none_or(|due| Instant::now() < due) {
            return;
        }
        self.next_prune = Some(Instant::now() + PRUNE_EVERY);
        self.ensure_open();
        let retention = self.config.retention_days;
        if let Some(store) = &mut self.store {
            let now_ms = chrono::Utc::now().timestamp_millis();
            match store.prune(now_ms, retention) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!("usage ledger: pruned {n} rows older than {retention} days");
                }
                Err(err) => self.warn_once(&format!("cannot prune the usage database: {err}")),
            }
        }
    }
}

impl Store {
    /// Opens (repairing and migrating) the database and resumes sharing from its newest
    /// observations.
    pub(crate) fn open(
        path: &std::path::Path,
    ) -> Result<(Self, schema::Repairs), schema::SchemaError> {
        let (conn, repairs) = schema::open(path, chrono::Utc::now().timestamp())?;
        let last = |used: &str, reset: &str| -> Option<WindowObservation> {
            conn.query_row(
                &format!(
                    "SELECT {used}, {reset} FROM requests WHERE {used} IS NOT NULL ORDER BY id DESC LIMIT 1"
                ),
                [],
                |r| {
                    Ok(WindowObservation {
                        used_percent: r.get(0)?,
                        reset_at: r.get(1)?,
                    })
                },
            )
            .optional()
            .ok()
            .flatten()
        };
        let attributor = Attributor::resume(
            last("used_5h", "reset_5h"),
            last("used_weekly", "reset_weekly"),
        );
        Ok((
            Self {
                conn,
                names: HashMap::new(),
                attributor,
            },
            repairs,
        ))
    }

    fn name_id(
        conn: &Connection,
        names: &mut HashMap<String, i64>,
        text: &str,
    ) -> rusqlite::Result<i64> {
        if let Some(id) = names.get(text) {
            return Ok(*id);
        }
        conn.prepare_cached("INSERT OR IGNORE INTO names (text) VALUES (?1)")?
            .execute([text])?;
        let id: i64 = conn
            .prepare_cached("SELECT id FROM names WHERE text = ?1")?
            .query_row([text], |r| r.get(0))?;
        names.insert(text.to_owned(), id);
        Ok(id)
    }

    /// Inserts rows in one transaction, with their window shares.
    pub(crate) fn insert(&mut self, rows: &[Row]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        // Sharing state changes only if the transaction commits.
        let mut attributor = self.attributor.clone();
        for row in rows {
            let mut name = |text: &str| Self::name_id(&tx, &mut self.names, text);
            let route = name(&row.route)?;
            let client = name(&row.client)?;
            let outcome = name(&row.outcome)?;
            let optional = |text: &Option<String>,
                            name: &mut dyn FnMut(&str) -> rusqlite::Result<i64>|
             -> rusqlite::Result<Option<i64>> {
                text.as_deref().map(name).transpose()
            };
            let client_version = optional(&row.client_version, &mut name)?;
            let session = optional(&row.session, &mut name)?;
            let model_asked = optional(&row.model_asked, &mut name)?;
            let model_served = optional(&row.model_served, &mut name)?;
            let effort = optional(&row.effort, &mut name)?;
            let account = optional(&row.account, &mut name)?;
            let shares = attributor.push(
                &None,
                weight(row.input_tokens, row.cached_tokens, row.output_tokens),
                row.five_hour,
                row.weekly,
            );
            let own = |window| {
                shares
                    .iter()
                    .filter(|s| s.key.is_none() && s.window == window)
                    .map(|s| s.percent)
                    .sum::<f64>()
            };
            tx.prepare_cached(
                "INSERT INTO requests (at_ms, route, client, client_version, session, model_asked,
                    model_served, effort, input_tokens, cached_tokens, output_tokens,
                    reasoning_tokens, outcome, duration_ms, first_content_ms, used_5h, reset_5h,
                    used_weekly, reset_weekly, share_5h, share_weekly, account)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21, ?22)",
            )?
            .execute(params![
                row.at_ms,
                route,
                client,
                client_version,
                session,
                model_asked,
                model_served,
                effort,
                sql_u64(row.input_tokens),
                sql_u64(row.cached_tokens),
                sql_u64(row.output_tokens),
                sql_u64(row.reasoning_tokens),
                outcome,
                sql_u64(row.duration_ms),
                row.first_content_ms.map(sql_u64),
                row.five_hour.map(|w| w.used_percent),
                row.five_hour.and_then(|w| w.reset_at),
                row.weekly.map(|w| w.used_percent),
                row.weekly.and_then(|w| w.reset_at),
                own(WindowKind::FiveHour),
                own(WindowKind::Weekly),
                account,
            ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO usage_hours (hour, client, session, model, requests, input_tokens,
                    cached_tokens, output_tokens, reasoning_tokens, share_5h, share_weekly)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (hour, client, session, model) DO UPDATE SET
                    requests = requests + 1,
                    input_tokens = input_tokens + excluded.input_tokens,
                    cached_tokens = cached_tokens + excluded.cached_tokens,
                    output_tokens = output_tokens + excluded.output_tokens,
                    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
                    share_5h = share_5h + excluded.share_5h,
                    share_weekly = share_weekly + excluded.share_weekly",
            )?
            .execute(params![
                row.at_ms.div_euclid(3_600_000),
                client,
                session.unwrap_or(0),
                model_served.or(model_asked).unwrap_or(0),
                sql_u64(row.input_tokens),
                sql_u64(row.cached_tokens),
                sql_u64(row.output_tokens),
                sql_u64(row.reasoning_tokens),
                own(WindowKind::FiveHour),
                own(WindowKind::Weekly),
            ])?;
            attributor.rekey(&None, &Some(id));
            for share in shares {
                let Some(earlier) = share.key else { continue };
                let column = match share.window {
                    WindowKind::FiveHour => "share_5h",
                    WindowKind::Weekly => "share_weekly",
                };
                tx.prepare_cached(&format!(
                    "UPDATE requests SET {column} = {column} + ?1 WHERE id = ?2"
                ))?
                .execute(params![share.percent, earlier])?;
                tx.prepare_cached(&format!(
                    "UPDATE usage_hours SET {column} = {column} + ?1
                     WHERE (hour, client, session, model) = (
                        SELECT at_ms / 3600000, client, coalesce(session, 0),
                               coalesce(model_served, model_asked, 0)
                        FROM requests WHERE id = ?2)"
                ))?
                .execute(params![share.percent, earlier])?;
            }
        }
        tx.commit()?;
        self.attributor = attributor;
        Ok(())
    }

    /// Deletes rows older than `retention_days` before `now_ms`; answers how many.
    pub(crate) fn prune(&mut self, now_ms: i64, retention_days: u32) -> rusqlite::Result<usize> {
        let cutoff = now_ms - i64::from(retention_days) * 86_400_000;
        self.conn.execute(
            "DELETE FROM usage_hours WHERE hour < ?1",
            [cutoff.div_euclid(3_600_000)],
        )?;
        self.conn
            .execute("DELETE FROM requests WHERE at_ms < ?1", [cutoff])
    }
}

/// SQLite integers are signed; counts beyond `i64::MAX` do not occur but must not wrap.
fn sql_u64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at_ms: i64, client: &str, used_5h: Option<f64>) -> Row {
        Row {
            at_ms,
            route: "POST /v1/messages".into(),
            client: client.into(),
            input_tokens: 100,
            outcome: "ok".into(),
            five_hour: used_5h.map(|used_percent| WindowObservation {
                used_percent,
                reset_at: Some(10_000),
            }),
            ..Row::default()
        }
    }

    fn shares(conn: &Connection) -> Vec<(i64, f64)> {
        conn.prepare("SELECT id, share_5h FROM requests ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn shares_reach_rows_written_in_an_earlier_batch_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let (mut store, _) = Store::open(&path).unwrap();
        store.insert(&[row(1, "a", Some(10.0))]).unwrap();
        store.insert(&[row(2, "a", None)]).unwrap();
        store.insert(&[row(3, "b", Some(14.0))]).unwrap();
        assert_eq!(shares(&store.conn), vec![(1, 0.0), (2, 2.0), (3, 2.0)]);
        drop(store);
        // After a restart the sharing continues from the newest stored observation.
        let (mut store, _) = Store::open(&path).unwrap();
        store.insert(&[row(4, "b", Some(15.0))]).unwrap();
        assert_eq!(shares(&store.conn).last(), Some(&(4, 1.0)));
    }

    #[test]
    fn rows_older_than_the_retention_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = Store::open(&dir.path().join("usage.db")).unwrap();
        let day = 86_400_000;
        let now = 100 * day;
        store
            .insert(&[
                row(now - 91 * day, "old", None),
                row(now - 89 * day, "new", None),
            ])
            .unwrap();
        assert_eq!(store.prune(now, 90).unwrap(), 1);
        let left: i64 = store
            .conn
            .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1);
    }

    #[test]
    fn the_writer_thread_writes_every_recorded_row_before_a_flush_returns() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = super::super::Ledger::start(dir.path(), 90);
        for i in 0..10 {
            ledger.record(row(i, "a", None));
        }
        ledger.flush_blocking();
        let conn = schema::open_read_only(&dir.path().join("usage.db"))
            .unwrap()
            .unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 10);
        assert_eq!(ledger.dropped(), 0);
    }
}
