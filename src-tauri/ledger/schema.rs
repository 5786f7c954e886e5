//! The database file: opening it (WAL, a busy timeout), repairing it (a corrupt file is moved
//! aside) and the versioned schema, migrated forward one step at a time.
//!
//! `PRAGMA user_version` holds the number of [`MIGRATIONS`] applied. Each migration runs in its
//! own transaction together with the version bump, so a crash leaves the file at a whole
//! version. A file from a newer codexia (a version above ours) is left alone.
//!
//! Strings that repeat on every row (route, client, session, model, effort, outcome) are kept
//! once in `names` and referenced by id, which keeps a row near 130 bytes with its indexes.
//! `usage_hours` holds the same rows summed per hour, client, session and model, for queries
//! over long periods.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

/// The schema, one step per entry; never edit a released step, add one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: requests and interned names.
    "CREATE TABLE names (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL UNIQUE
    );
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        route INTEGER NOT NULL REFERENCES names(id),
        client INTEGER NOT NULL REFERENCES names(id),
        client_version INTEGER REFERENCES names(id),
        session INTEGER REFERENCES names(id),
        model_asked INTEGER REFERENCES names(id),
        model_served INTEGER REFERENCES names(id),
        effort INTEGER REFERENCES names(id),
        input_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        outcome INTEGER NOT NULL REFERENCES names(id),
        duration_ms INTEGER NOT NULL,
        first_content_ms INTEGER,
        used_5h REAL,
        reset_5h INTEGER,
        used_weekly REAL,
        reset_weekly INTEGER,
        share_5h REAL NOT NULL DEFAULT 0,
        share_weekly REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX requests_at ON requests(at_ms);
    CREATE INDEX requests_session ON requests(session) WHERE session IS NOT NULL;",
    // 2: hourly totals per client, session and model, kept by the writer beside each insert, so
    // that a month of history is summed from a few thousand rows instead of every request.
    // 0 stands for "none" (a NULL would never conflict in the key).
    "CREATE TABLE usage_hours (
        hour INTEGER NOT NULL,
        client INTEGER NOT NULL,
        session INTEGER NOT NULL,
        model INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        share_5h REAL NOT NULL,
        share_weekly REAL NOT NULL,
        PRIMARY KEY (hour, client, session, model)
    ) WITHOUT ROWID;
    INSERT INTO usage_hours
        SELECT at_ms / 3600000, client, coalesce(session, 0),
               coalesce(model_served, model_asked, 0), count(*), sum(input_tokens),
               sum(cached_tokens), sum(output_tokens), sum(reasoning_tokens), sum(share_5h),
               sum(share_weekly)
        FROM requests GROUP BY 1, 2, 3, 4;",
    // 3: which signed-in account served each request (its short name; NULL before several
    // accounts existed).
    "ALTER TABLE requests ADD COLUMN account INTEGER REFERENCES names(id);",
];

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    #[error("cannot create the directory {}: {source}", dir.display())]
    Dir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} was written by a newer codexia (schema {found}, this one knows {known})", path.display())]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot move the damaged {} aside: {source}", path.display())]
    MoveAside {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// What [`open`] had to do besides opening.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Repairs {
    /// Where a corrupt file was moved.
    pub moved_aside: Option<PathBuf>,
}

/// Opens (creating it and its directory when missing) the database for writing, migrated to the
/// current schema. A file that is not a database or is damaged is moved aside to
/// `usage.db.corrupt-<unix seconds>` and a new one started.
pub(crate) fn open(path: &Path, now_unix: i64) -> Result<(Connection, Repairs), SchemaError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::create_private_dir(dir).map_err(|source| SchemaError::Dir {
            dir: dir.to_owned(),
            source,
        })?;
    }
    match open_and_migrate(path) {
        Ok(conn) => Ok((conn, Repairs::default())),
        Err(SchemaError::Sqlite { source, .. }) if is_corrupt(&source) => {
            let aside = move_aside(path, now_unix)?;
            let conn = open_and_migrate(path)?;
            Ok((
                conn,
                Repairs {
                    moved_aside: Some(aside),
                },
            ))
        }
        Err(err) => Err(err),
    }
}

/// Opens an existing database for reading only; `None` when there is none yet.
pub(crate) fn open_read_only(path: &Path) -> Result<Option<Connection>, SchemaError> {
    if !path.exists() {
        return Ok(None);
    }
    let sqlite = |source| SchemaError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.busy_timeout(Duration::from_secs(2)).map_err(sqlite)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite)?;
    if version == 0 {
        // Created but not yet migrated: nothing recorded.
        return Ok(None);
    }
    if version > current_version() {
        return Err(SchemaError::Newer {
            path: path.to_owned(),
            found: version,
            known: current_version(),
        });
    }
    Ok(Some(conn))
}

fn open_and_migrate(path: &Path) -> Result<Connection, SchemaError> {
    let sqlite = |source| SchemaError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let mut conn = Connection::open(path).map_err(sqlite)?;
    // Another process (a second gateway) may hold the write lock for a moment.
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
    // WAL: readers (`codexia usage`) never block the writer; NORMAL: a power cut may lose the
    // last transactions, never the file.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(sqlite)?;
    migrate(&mut conn).map_err(|err| match err {
        MigrateError::Sqlite(source) => sqlite(source),
        MigrateError::Newer(found) => SchemaError::Newer {
            path: path.to_owned(),
            found,
            known: current_version(),
        },
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Usage history is private: the file is the user's alone, like everything in the home.
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(conn)
}

enum MigrateError {
    Sqlite(rusqlite::Error),
    Newer(i64),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sqlite(err)
    }
}

/// Applies the missing migrations, each with its version bump in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > current_version() {
        return Err(MigrateError::Newer(version));
    }
    for (index, step) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(index + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Whether SQLite says the file is not a database or is damaged.
pub(crate) fn is_corrupt(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Renames the file (and its `-wal` / `-shm` companions) to `….corrupt-<now>`.
fn move_aside(path: &Path, now_unix: i64) -> Result<PathBuf, SchemaError> {
    let aside = with_suffix(path, &format!(".corrupt-{now_unix}"));
    std::fs::rename(path, &aside).map_err(|source| SchemaError::MoveAside {
        path: path.to_owned(),
        source,
    })?;
    for companion in ["-wal", "-shm"] {
        let from = with_suffix(path, companion);
        if from.exists() {
            let _ = std::fs::rename(&from, with_suffix(&aside, companion));
        }
    }
    Ok(aside)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_migrated_to_the_current_version_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("usage.db");
        let (conn, repairs) = open(&path, 1).unwrap();
        assert_eq!(repairs, Repairs::default());
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, current_version());
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        // Opening again applies nothing and keeps the version.
        let (conn, _) = open(&path, 2).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, current_version());
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_a_new_one_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        std::fs::write(&path, b"this is not a database, not even close to one....").unwrap();
        let (_conn, repairs) = open(&path, 77).unwrap();
        let aside = dir.path().join("usage.db.corrupt-77");
        assert_eq!(repairs.moved_aside, Some(aside.clone()));
        assert!(aside.exists());
        assert!(open_read_only(&path).unwrap().is_some());
    }

    #[test]
    fn a_file_from_a_newer_codexia_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            open(&path, 1),
            Err(SchemaError::Newer { found: 99, .. })
        ));
        assert!(!dir.path().join("usage.db.corrupt-1").exists());
    }
}
