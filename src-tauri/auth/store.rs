//! Where credentials live, behind one small interface: the OS keychain (crate `keyring`,
//! service `codexia`; Secret Service on Linux), a private file (0600 in a 0700 directory,
//! replaced atomically), or memory (unit tests).
//!
//! Selection (docs/architecture.md §7), decided once per process in [`select_store`]:
//! `--auth-file`/`CODEXIA_AUTH_FILE` → that file; `CODEXIA_CREDENTIAL_STORE=file` →
//! `$CODEXIA_HOME/auth.json`; `keychain` → the keychain or a clear error; `auto` → the keychain
//! when it answers, else the file with a one-line warning.
//!
//! A refreshed token set is the only usable one the moment it arrives (refresh tokens are
//! single-use), so every store makes a save durable before it returns and never leaves a
//! half-written set: the file store writes a temporary file, syncs it and renames it over the
//! old one (a complete leftover of a crash is adopted at start-up, [`FileStore::recover`]); the
//! keychain store first writes the set to a private recovery file in `$CODEXIA_HOME`, then to
//! the keychain, then deletes the file (see [`KeychainStore`]).
//!
//! Store operations are blocking (D-Bus, file system); async callers use `spawn_blocking`.
//! Each keychain call runs on a thread of its own (see [`on_own_thread`]), so the keychain
//! store can be used from any thread, inside a tokio runtime or not.

use std::path::{Path, PathBuf};
use std::sync::Arc;
#[cfg(test)]
use std::sync::Mutex;

use super::tokens::StoredAuth;
use crate::settings::{CredentialStoreKind, Settings, Source};

/// The default keychain service name (`CODEXIA_KEYCHAIN_SERVICE` changes it).
#[cfg(test)]
pub(crate) const KEYCHAIN_SERVICE: &str = crate::settings::DEFAULT_KEYCHAIN_SERVICE;
/// The keychain account (user) name of the one ChatGPT sign-in.
pub(crate) const KEYCHAIN_USER: &str = "chatgpt";
/// File name of the default credentials file in `$CODEXIA_HOME`.
pub(crate) const AUTH_FILE_NAME: &str = "auth.json";

/// A store could not be used. Messages never contain secrets.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the OS keychain is not available: {0}")]
    KeychainUnavailable(String),
    #[error("the OS keychain failed: {0}")]
    Keychain(String),
    #[error("cannot read or write {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("the stored credentials in {place} are damaged: {message}")]
    Corrupt { place: String, message: String },
}

/// One place to keep credentials.
pub(crate) trait CredentialStore: Send + Sync + std::fmt::Debug {
    /// The stored credentials, `None` when nothing is stored.
    fn load(&self) -> Result<Option<StoredAuth>, StoreError>;
    /// Replaces the stored credentials.
    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError>;
    /// Deletes them; `false` when there was nothing to delete.
    fn delete(&self) -> Result<bool, StoreError>;
    /// Where they live, for people: `the OS keychain (service "codexia")` or a path.
    fn describe(&self) -> String;
    /// The store of another account beside this one: same kind, same place, its own slot
    /// (`auth-SLOT.json` beside the file, keychain user `chatgpt-SLOT`). No I/O.
    fn slot(&self, slot: &str) -> Result<Arc<dyn CredentialStore>, StoreError>;
    /// Repairs what a save interrupted by a crash left behind. Called once per process, under
    /// the cross-process lock (no other process is saving meanwhile).
    fn recover(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The OS keychain, with a recovery file for the moments the keychain cannot be trusted with
/// the only copy of a token set.
///
/// A keychain write is a D-Bus conversation of several round trips (session, key exchange,
/// search, create-or-replace). The Secret Service applies an item as a whole — it never holds
/// half a secret — but a process killed during the conversation, or a keychain that refuses or
/// is locked, would lose a set whose refresh token the issuer has already rotated. So a save:
///
/// 1. writes the set to `$CODEXIA_HOME/keychain-SERVICE-USER.recovery.json` through
///    [`crate::files::write_private`] (0600, temporary file, fsync, rename, fsync of the
///    directory): from here on the set survives `kill -9`;
/// 2. writes it to the keychain;
/// 3. deletes the recovery file.
///
/// When the keychain write fails, the recovery file stays and the save still succeeds (with a
/// warning): the set is on disk, private, and [`KeychainStore::load`] serves it. While a
/// recovery file exists it is the newest set (saves run one at a time under the process lock
/// and each writes the file first), so `load` prefers it; [`KeychainStore::recover`], run once
/// per process at start-up, moves it into the keychain and deletes it.
pub(crate) struct KeychainStore {
    entry: keyring::Entry,
    service: String,
    /// Where recovery files go (`None` for a bare entry).
    home: Option<PathBuf>,
    /// The recovery file; `None` only for a bare entry (the keychain probe, unit tests).
    recovery: Option<FileStore>,
}

impl std::fmt::Debug for KeychainStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeychainStore")
    }
}

fn keychain_message(err: &keyring::Error) -> String {
    // keyring's Display carries platform text only (never the password).
    err.to_string()
}

/// Runs one keychain call on a fresh thread and waits for it.
///
/// On Linux keyring talks to the Secret Service through zbus on tokio, and its blocking API
/// drives each call with `block_on` on a private current-thread runtime. That panics on a
/// thread that is already driving async tasks ("Cannot start a runtime from within a
/// runtime"). A new thread has no runtime context, so the store works wherever it is called
/// from: a `spawn_blocking` thread (the usual caller), the tray's main thread, a plain test.
/// The extra thread costs microseconds next to a D-Bus round trip.
///
/// Calls are made one at a time per process: each opens its own Secret Service session, and
/// gnome-keyring was seen to fail or stall one of two sessions opened at the same moment by
/// one process (two accounts refreshing together, or two tests). Keychain calls are rare
/// (start-up, a refresh every few hours), so queueing them costs nothing a user sees.
fn on_own_thread<T: Send>(
    call: impl FnOnce() -> Result<T, StoreError> + Send,
) -> Result<T, StoreError> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // The guard protects no data: a panicked call leaves nothing inconsistent.
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::thread::scope(|scope| {
        scope.spawn(call).join().unwrap_or_else(|_| {
            Err(StoreError::Keychain(
                "the keychain call panicked".to_owned(),
            ))
        })
    })
}

impl KeychainStore {
    /// The entry for `service`/`user`. On Linux the Secret Service credential is built
    /// explicitly, so no process-global default builder is involved. No I/O.
    pub(crate) fn new(service: &str, user: &str) -> Result<Self, StoreError> {
        #[cfg(target_os = "linux")]
        let entry = {
            let credential =
                keyring::secret_service::SsCredential::new_with_target(None, service, user)
                    .map_err(|e| StoreError::KeychainUnavailable(keychain_message(&e)))?;
            keyring::Entry::new_with_credential(Box::new(credential))
        };
        #[cfg(not(target_os = "linux"))]
        let entry = keyring::Entry::new(service, user)
            .map_err(|e| StoreError::KeychainUnavailable(keychain_message(&e)))?;
        Ok(Self {
            entry,
            service: service.to_owned(),
            home: None,
            recovery: None,
        })
    }

    /// The same entry, with its recovery file in `home` (codexia's own directory, kept 0700).
    pub(crate) fn with_recovery_in(mut self, home: &Path, service: &str, user: &str) -> Self {
        self.recovery = Some(FileStore::in_home_named(
            home,
            &recovery_file_name(service, user),
        ));
        self.home = Some(home.to_owned());
        self
    }

    fn set(&self, text: &str) -> Result<(), StoreError> {
        on_own_thread(|| {
            self.entry
                .set_password(text)
                .map_err(|err| StoreError::Keychain(keychain_message(&err)))
        })
    }

    fn load_entry(&self) -> Result<Option<StoredAuth>, StoreError> {
        let text = on_own_thread(|| match self.entry.get_password() {
            Ok(text) => Ok(Some(text)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(StoreError::Keychain(keychain_message(&err))),
        })?;
        text.map(|text| {
            StoredAuth::from_json(&text).map_err(|message| StoreError::Corrupt {
                place: self.describe(),
                message,
            })
        })
        .transpose()
    }

    /// The set in the recovery file; a damaged one (it cannot be: it is renamed into place
    /// whole) is deleted rather than trusted.
    fn load_recovery(&self) -> Option<StoredAuth> {
        let recovery = self.recovery.as_ref()?;
        match recovery.load() {
            Ok(found) => found,
            Err(err) => {
                tracing::warn!("ignoring a damaged keychain recovery file: {err}");
                let _ = recovery.delete();
                None
            }
        }
    }

    /// Whether the keychain answers (an empty keychain answers too).
    pub(crate) fn probe(&self) -> Result<(), StoreError> {
        on_own_thread(|| match self.entry.get_password() {
            Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(StoreError::KeychainUnavailable(keychain_message(&err))),
        })
    }
}

/// `keychain-SERVICE-USER.recovery.json`, with anything but `[A-Za-z0-9_-]` replaced.
fn recovery_file_name(service: &str, user: &str) -> String {
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("keychain-{}-{}.recovery.json", clean(service), clean(user))
}

impl CredentialStore for KeychainStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        if let Some(pending) = self.load_recovery() {
            return Ok(Some(pending));
        }
        self.load_entry()
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        let text = auth.to_json();
        let Some(recovery) = &self.recovery else {
            return self.set(&text);
        };
        // 1. Durable on disk first: from here on a crash cannot lose the set.
        let on_disk = recovery.save(auth);
        if let Err(err) = &on_disk {
            tracing::warn!("cannot write the keychain recovery file: {err}");
        }
        // 2. The keychain.
        match (self.set(&text), on_disk) {
            // 3. The keychain has it: the recovery file has done its job.
            (Ok(()), _) => {
                if let Err(err) = recovery.delete() {
                    tracing::warn!("cannot delete the keychain recovery file: {err}");
                }
                Ok(())
            }
            (Err(err), Ok(())) => {
                tracing::warn!(
                    "the OS keychain did not take the credentials ({err}); they are kept in {} (mode 0600) until it does",
                    recovery.describe()
                );
                Ok(())
            }
            (Err(err), Err(_)) => Err(err),
        }
    }

    fn delete(&self) -> Result<bool, StoreError> {
        let pending = match &self.recovery {
            Some(recovery) => recovery.delete()?,
            None => false,
        };
        let entry = on_own_thread(|| match self.entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(StoreError::Keychain(keychain_message(&err))),
        })?;
        Ok(pending || entry)
    }

    /// Finishes a save that a crash (or a failing keychain) interrupted: a complete leftover
    /// of the recovery file's own write is adopted first, then the recovery file, if any, is
    /// written to the keychain and deleted. If the keychain still refuses, the file stays and
    /// `load` keeps serving it.
    fn recover(&self) -> Result<(), StoreError> {
        let Some(recovery) = &self.recovery else {
            return Ok(());
        };
        recovery.recover()?;
        let Some(pending) = self.load_recovery() else {
            return Ok(());
        };
        self.set(&pending.to_json())?;
        recovery.delete()?;
        tracing::warn!(
            "moved credentials saved by an interrupted run from {} into the OS keychain",
            recovery.describe()
        );
        Ok(())
    }

    fn describe(&self) -> String {
        format!("the OS keychain (service \"{}\")", self.service)
    }

    fn slot(&self, slot: &str) -> Result<Arc<dyn CredentialStore>, StoreError> {
        let user = format!("{KEYCHAIN_USER}-{slot}");
        let store = KeychainStore::new(&self.service, &user)?;
        Ok(Arc::new(match &self.home {
            Some(home) => store.with_recovery_in(home, &self.service, &user),
            None => store,
        }))
    }
}

/// The keychain store from every kind of thread codexia calls it from. Only in a session
/// with an unlocked Secret Service (scripts/in-session.sh sets CODEXIA_TEST_SECRET_SERVICE);
/// elsewhere it returns at once, so a developer's own keychain is never touched.
#[cfg(test)]
mod keychain_tests {
    use super::*;
    use crate::auth::tokens::Credentials;

    fn session_keychain(user: &str) -> Option<KeychainStore> {
        if std::env::var("CODEXIA_TEST_SECRET_SERVICE").as_deref() != Ok("1") {
            eprintln!("skipped: no unlocked Secret Service (run under scripts/in-session.sh)");
            return None;
        }
        Some(KeychainStore::new("codexia-unit-test", user).unwrap())
    }

    fn round_trip(store: &KeychainStore) {
        let auth = StoredAuth::new(Credentials {
            access_token: "a".into(),
            refresh_token: "r".into(),
            id_token: String::new(),
            expires_at: 5,
            account_id: "acc".into(),
        });
        store.delete().unwrap();
        store.probe().unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.save(&auth).unwrap();
        assert_eq!(store.load().unwrap(), Some(auth));
        assert!(store.delete().unwrap());
        assert!(!store.delete().unwrap());
    }

    #[test]
    fn the_keychain_store_works_on_a_plain_thread() {
        if let Some(store) = session_keychain("plain-thread") {
            round_trip(&store);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_keychain_store_works_inside_an_async_task_and_in_spawn_blocking() {
        let Some(store) = session_keychain("async-task") else {
            return;
        };
        // Directly on a runtime worker (blocking it briefly): the case that would panic
        // without on_own_thread.
        round_trip(&store);
        tokio::task::spawn_blocking(move || round_trip(&store))
            .await
            .unwrap();
    }
}

/// A private JSON file, written by [`crate::files::write_private`] (never through a symbolic
/// link).
#[derive(Debug, Clone)]
pub(crate) struct FileStore {
    path: PathBuf,
    /// The parent is codexia's own home: checked and kept at 0700 ([`crate::files::prepare_home`]).
    own_dir: bool,
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or_else(|| Path::new(""))
}

impl FileStore {
    /// A file at `path`; a missing parent directory is created 0700.
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            own_dir: false,
        }
    }

    /// `$CODEXIA_HOME/auth.json`; the home directory is kept at 0700.
    pub(crate) fn in_home(home: &Path) -> Self {
        Self::in_home_named(home, AUTH_FILE_NAME)
    }

    /// `$CODEXIA_HOME/NAME`; the home directory is kept at 0700.
    pub(crate) fn in_home_named(home: &Path, name: &str) -> Self {
        Self {
            path: home.join(name),
            own_dir: true,
        }
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, err: &std::io::Error) -> StoreError {
        StoreError::File {
            path: self.path.clone(),
            message: err.to_string(),
        }
    }
}

impl CredentialStore for FileStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.error(&err)),
        };
        if text.trim().is_empty() {
            return Ok(None);
        }
        StoredAuth::from_json(&text)
            .map(Some)
            .map_err(|message| StoreError::Corrupt {
                place: self.path.display().to_string(),
                message,
            })
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        let mut text = auth.to_json();
        text.push('\n');
        if self.own_dir {
            crate::files::prepare_home(parent(&self.path)).map_err(|err| self.error(&err))?;
        }
        crate::files::write_private(&self.path, text.as_bytes()).map_err(|err| self.error(&err))
    }

    fn delete(&self) -> Result<bool, StoreError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(self.error(&err)),
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn slot(&self, slot: &str) -> Result<Arc<dyn CredentialStore>, StoreError> {
        let stem = self
            .path
            .file_stem()
            .map_or_else(|| "auth".into(), |s| s.to_string_lossy().into_owned());
        Ok(Arc::new(Self {
            path: self.path.with_file_name(format!("{stem}-{slot}.json")),
            own_dir: self.own_dir,
        }))
    }

    /// A process killed between writing its temporary file and renaming it leaves a complete
    /// `.auth.json.RANDOM.tmp`: with single-use refresh tokens that file may hold the only
    /// usable set. The newest complete set that is not older than the stored one (expiry at
    /// least as late, no sign-in-again mark) takes its place; every other leftover is deleted.
    ///
    /// A tie goes to the leftover: saves and this recovery all run under the cross-process
    /// lock, and recovery runs before a process's first save, so a leftover always comes from
    /// a save later than the stored file. Expiries have one-second resolution, and two
    /// refreshes within a second (a refresh, then one after a 401) are ordinary: the rule used
    /// to be "strictly later" and lost exactly those sets (found by `tests/suite/crash.rs`).
    fn recover(&self) -> Result<(), StoreError> {
        let dir = match parent(&self.path) {
            dir if dir.as_os_str().is_empty() => Path::new("."),
            dir => dir,
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(self.error(&err)),
        };
        let leftovers: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| crate::files::is_temp_of(&self.path, path))
            .collect();
        if leftovers.is_empty() {
            return Ok(());
        }
        // A damaged stored file loses to any complete leftover.
        let stored_expiry = self
            .load()
            .ok()
            .flatten()
            .map(|auth| auth.credentials.expires_at);
        // Ranked by expiry, then by modification time.
        let mut best: Option<((i64, std::time::SystemTime), &PathBuf)> = None;
        for path in &leftovers {
            let Some(meta) = std::fs::symlink_metadata(path)
                .ok()
                .filter(|m| m.file_type().is_file())
            else {
                continue;
            };
            let Some(auth) = std::fs::read_to_string(path)
                .ok()
                .and_then(|text| StoredAuth::from_json(&text).ok())
            else {
                continue;
            };
            let rank = (
                auth.credentials.expires_at,
                meta.modified().unwrap_or(std::time::UNIX_EPOCH),
            );
            if auth.sign_in_again.is_none()
                && stored_expiry.is_none_or(|stored| rank.0 >= stored)
                && best.is_none_or(|(best, _)| rank > best)
            {
                best = Some((rank, path));
            }
        }
        if let Some((_, path)) = best {
            crate::files::promote(path, &self.path).map_err(|err| self.error(&err))?;
            tracing::warn!(
                "recovered credentials from a save interrupted by a crash ({})",
                self.path.display()
            );
        }
        for path in leftovers
            .iter()
            .filter(|p| best.is_none_or(|(_, b)| b != *p))
        {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    }
}

/// Credentials in memory, for unit tests.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct MemoryStore {
    value: Mutex<Option<StoredAuth>>,
}

#[cfg(test)]
impl MemoryStore {
    pub(crate) fn new(initial: Option<StoredAuth>) -> Self {
        Self {
            value: Mutex::new(initial),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<StoredAuth>> {
        self.value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
impl CredentialStore for MemoryStore {
    fn load(&self) -> Result<Option<StoredAuth>, StoreError> {
        Ok(self.slot().clone())
    }

    fn save(&self, auth: &StoredAuth) -> Result<(), StoreError> {
        *self.slot() = Some(auth.clone());
        Ok(())
    }

    fn delete(&self) -> Result<bool, StoreError> {
        Ok(self.slot().take().is_some())
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }

    fn slot(&self, _slot: &str) -> Result<Arc<dyn CredentialStore>, StoreError> {
        Ok(Arc::new(Self::default()))
    }
}

/// The inputs of store selection, taken from [`Settings`].
#[derive(Debug, Clone)]
pub(crate) struct StoreSpec {
    pub home: PathBuf,
    pub auth_file: Option<PathBuf>,
    pub kind: CredentialStoreKind,
    /// Where `kind` came from (for the error message of a forced keychain).
    pub kind_source: Source,
    /// The keychain service name ([`KEYCHAIN_SERVICE`] unless `CODEXIA_KEYCHAIN_SERVICE`).
    pub keychain_service: String,
}

impl StoreSpec {
    pub(crate) fn from_settings(settings: &Settings) -> Self {
        Self {
            home: settings.home.clone(),
            auth_file: settings.auth_file.value.clone(),
            kind: settings.credential_store.value,
            kind_source: settings.credential_store.source,
            keychain_service: settings.keychain_service.value.clone(),
        }
    }
}

/// The chosen store, and the warning to show once when `auto` fell back to the file.
#[derive(Debug, Clone)]
pub(crate) struct StoreChoice {
    pub store: Arc<dyn CredentialStore>,
    pub fallback_warning: Option<String>,
}

/// Picks the store (blocking: it may ask the keychain whether it answers).
pub(crate) fn select_store(spec: &StoreSpec) -> Result<StoreChoice, StoreError> {
    if let Some(path) = &spec.auth_file {
        return Ok(StoreChoice {
            store: Arc::new(FileStore::new(path)),
            fallback_warning: None,
        });
    }
    let file = || Arc::new(FileStore::in_home(&spec.home));
    let keychain = || {
        let service = &spec.keychain_service;
        KeychainStore::new(service, KEYCHAIN_USER)
            .and_then(|k| k.probe().map(|()| k))
            .map(|k| k.with_recovery_in(&spec.home, service, KEYCHAIN_USER))
    };
    match spec.kind {
        CredentialStoreKind::File => Ok(StoreChoice {
            store: file(),
            fallback_warning: None,
        }),
        CredentialStoreKind::Keychain => {
            let keychain = keychain().map_err(|err| {
                let from = match spec.kind_source {
                    Source::File => "credential_store in config.json",
                    _ => "CODEXIA_CREDENTIAL_STORE",
                };
                let reason = match err {
                    StoreError::KeychainUnavailable(reason) => reason,
                    other => other.to_string(),
                };
                StoreError::KeychainUnavailable(format!(
                    "{from} asks for the keychain, but no OS keychain answers ({reason})"
                ))
            })?;
            Ok(StoreChoice {
                store: Arc::new(keychain),
                fallback_warning: None,
            })
        }
        CredentialStoreKind::Auto => {
            if let Ok(keychain) = keychain() {
                return Ok(StoreChoice {
                    store: Arc::new(keychain),
                    fallback_warning: None,
                });
            }
            let store = file();
            let warning = format!(
                "no OS keychain answers; keeping credentials in {} instead (mode 0600)",
                store.describe()
            );
            Ok(StoreChoice {
                store,
                fallback_warning: Some(warning),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::tokens::Credentials;

    fn sample(token: &str) -> StoredAuth {
        StoredAuth::new(Credentials {
            access_token: token.into(),
            refresh_token: "r".into(),
            id_token: String::new(),
            expires_at: 5,
            account_id: "acc".into(),
        })
    }

    #[cfg(unix)]
    #[test]
    fn the_file_store_writes_0600_in_a_0700_directory_and_replaces_atomically() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let store = FileStore::in_home(&home);
        assert_eq!(store.load().unwrap(), None);
        store.save(&sample("one")).unwrap();
        let first = std::fs::metadata(store.path()).unwrap();
        assert_eq!(first.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
            0o700
        );
        store.save(&sample("two")).unwrap();
        let second = std::fs::metadata(store.path()).unwrap();
        assert_ne!(
            first.ino(),
            second.ino(),
            "a new file was renamed into place"
        );
        assert_eq!(store.load().unwrap(), Some(sample("two")));
        let leftovers: Vec<_> = std::fs::read_dir(&home)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        assert!(store.delete().unwrap());
        assert!(!store.delete().unwrap());
    }

    #[test]
    fn recovery_adopts_the_newest_complete_leftover_newer_than_the_stored_set_and_deletes_the_rest()
    {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::in_home(dir.path());
        let at = |expires_at: i64, token: &str| {
            let mut auth = sample(token);
            auth.credentials.expires_at = expires_at;
            auth
        };
        store.save(&at(10, "stored")).unwrap();
        let leftover = |name: &str, text: String| {
            std::fs::write(dir.path().join(format!(".auth.json.{name}.tmp")), text).unwrap();
        };
        leftover("older", at(5, "older").to_json());
        leftover("newest", at(30, "newest").to_json());
        leftover("newer", at(20, "newer").to_json());
        leftover("partial", at(40, "partial").to_json()[..20].to_owned());
        let mut refused = at(50, "refused");
        refused.sign_in_again = Some("invalid_grant".into());
        leftover("refused", refused.to_json());
        std::fs::write(dir.path().join("unrelated.tmp"), "keep").unwrap();

        store.recover().unwrap();
        assert_eq!(store.load().unwrap(), Some(at(30, "newest")));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["auth.json", "unrelated.tmp"]);

        // Only older leftovers: the stored set stays, the leftovers go.
        leftover("stale", at(1, "stale").to_json());
        store.recover().unwrap();
        assert_eq!(store.load().unwrap(), Some(at(30, "newest")));
        assert!(!dir.path().join(".auth.json.stale.tmp").exists());

        // Two refreshes within one second expire in the same second: the leftover is the
        // later save (saves and recovery run under the process lock) and wins the tie.
        leftover("same-second", at(30, "same-second").to_json());
        store.recover().unwrap();
        assert_eq!(store.load().unwrap(), Some(at(30, "same-second")));
    }

    #[test]
    fn a_damaged_file_is_reported_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.json");
        std::fs::write(&path, "{\"access_token\": \"sekrit\"").unwrap();
        let err = FileStore::new(&path).load().unwrap_err().to_string();
        assert!(err.contains("damaged") && !err.contains("sekrit"), "{err}");
    }

    #[test]
    fn an_auth_file_overrides_the_store_kind() {
        let spec = StoreSpec {
            home: "/h".into(),
            auth_file: Some("/x/creds.json".into()),
            kind: CredentialStoreKind::Keychain,
            kind_source: Source::Env,
            keychain_service: KEYCHAIN_SERVICE.to_owned(),
        };
        let choice = select_store(&spec).unwrap();
        assert_eq!(choice.store.describe(), "/x/creds.json");
        let spec = StoreSpec {
            auth_file: None,
            kind: CredentialStoreKind::File,
            ..spec
        };
        assert_eq!(
            select_store(&spec).unwrap().store.describe(),
            "/h/auth.json"
        );
    }
}
