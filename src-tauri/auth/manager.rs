//! One account's credentials ([`AccountAuth`]): a snapshot, and refresh that runs exactly once
//! at a time across all tasks (a tokio mutex) and all codexia processes (an exclusive lock on
//! the account's lock file: `$CODEXIA_HOME/auth.lock` for the first account, `auth-SLOT.lock`
//! for the others, so that accounts refresh independently).
//!
//! A refresh takes both locks, **re-reads the store**, and refreshes only if the stored token is
//! still the one that needed replacing; another task or process may have done it meanwhile
//! (refresh tokens are single-use, so refreshing twice would burn the account's sign-in).
//!
//! When: 60 s before expiry ([`AccountAuth::credentials`]), once after a backend 401
//! ([`AccountAuth::refresh_after_unauthorized`]), and on demand ([`AccountAuth::refresh_now`]).
//! A permanent refusal (`refresh_token_reused`, `invalid_grant`, …) is written into the store
//! as a "sign in again" marker, so every process stops at once: no retry loop anywhere.
//! Transient failures change nothing; the next request tries again.
//!
//! Tokens never appear in logs or errors (`Credentials`' `Debug` redacts them).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::{Mutex, OnceCell};

use super::oauth::{self, OAuthError};
use super::store::{CredentialStore, StoreError};
use super::tokens::{Credentials, StoredAuth};
use crate::upstream::UpstreamClient;

/// Refresh this long before the stored expiry.
pub(crate) const REFRESH_SKEW_SECS: i64 = 60;
/// The cross-process lock file in `$CODEXIA_HOME`.
pub(crate) const LOCK_FILE_NAME: &str = "auth.lock";

/// Why no usable credentials could be produced. Messages are whole sentences for people and
/// never contain tokens.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// Nothing is stored.
    #[error("codexia is not signed in to ChatGPT. Run `codexia login` to sign in.")]
    NotSignedIn,
    /// The refresh token was refused for good.
    #[error("{}", sign_in_again_message(.code, .account.as_deref()))]
    SignInAgain {
        code: String,
        /// The account's short name, when several are signed in ([`AuthError::for_account`]).
        account: Option<String>,
    },
    /// The sign-in server could not be reached or failed; retrying later may work.
    #[error("Could not refresh the ChatGPT access token: {0}.")]
    Transient(String),
    /// The credential store failed.
    #[error("Cannot use the stored ChatGPT credentials: {0}.")]
    Store(#[from] StoreError),
    /// No signed-in account has this name, email or id.
    #[error("No signed-in ChatGPT account is called {0:?}. Run `codexia accounts` to list them.")]
    UnknownAccount(String),
    /// A short name that cannot be used.
    #[error("Cannot use that account name: {0}.")]
    BadAccountName(String),
}

impl AuthError {
    /// The same error naming the account it concerns (for callers that serve several).
    #[must_use]
    pub(crate) fn for_account(self, name: &str) -> Self {
        match self {
            Self::SignInAgain { code, .. } => Self::SignInAgain {
                code,
                account: Some(name.to_owned()),
            },
            other => other,
        }
    }

    /// Whether only a new `codexia login` helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, Self::NotSignedIn | Self::SignInAgain { .. })
    }
}

/// How a sign-in failure reaches an API caller: not signed in / sign in again → 401 with the
/// sentence; a sign-in server that failed → 502; a credential store that failed → 503.
impl From<AuthError> for crate::protocol::error::ApiError {
    fn from(err: AuthError) -> Self {
        use crate::protocol::error::ErrorKind;
        let message = err.to_string();
        match err {
            AuthError::NotSignedIn
            | AuthError::SignInAgain { .. }
            | AuthError::UnknownAccount(_)
            | AuthError::BadAccountName(_) => Self::sign_in(message),
            AuthError::Transient(_) => Self::upstream(format!("{message} Try again shortly.")),
            AuthError::Store(_) => Self::new(ErrorKind::CredentialStore, message),
        }
    }
}

/// The sentence shown in `status`, API errors and the tray after a permanent refresh failure.
pub(crate) fn sign_in_again_message(code: &str, account: Option<&str>) -> String {
    let why = match code {
        "refresh_token_reused" => {
            "its refresh token was already used, perhaps by another program signed in with the same tokens"
        }
        "refresh_token_expired" => "its refresh token expired",
        "refresh_token_invalidated" => "it was signed out or revoked",
        _ => "the sign-in server refused to refresh it",
    };
    match account {
        Some(name) => format!(
            "The ChatGPT sign-in of account {name:?} is no longer valid ({why}); the other accounts still serve. Run `codexia login` and sign in to that account again."
        ),
        None => format!(
            "The ChatGPT sign-in is no longer valid ({why}). Run `codexia login` to sign in again."
        ),
    }
}

/// What the manager currently knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthSnapshot {
    /// The store was not read yet.
    Unknown,
    /// Nothing is stored.
    SignedOut,
    SignedIn(Credentials),
    /// The refresh token was refused for good; `account_id` is the account that was signed in.
    SignInAgain {
        code: String,
        account_id: String,
    },
}

/// Which refresh a caller needs.
enum Need {
    /// The token expires within the skew.
    NearExpiry,
    /// This access token must be replaced (a 401, or an explicit refresh).
    Replace(String),
}

impl Need {
    fn requires_refresh(&self, credentials: &Credentials, now: i64) -> bool {
        match self {
            Self::NearExpiry => credentials.needs_refresh(now, REFRESH_SKEW_SECS),
            Self::Replace(old) => credentials.access_token == *old,
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Holds the cross-process lock until dropped (closing the file releases it).
struct ProcessLock(#[expect(dead_code, reason = "held for its Drop")] std::fs::File);

/// One account's credentials for every task of a process: its store slot, its snapshot and
/// its refresh, one at a time across tasks (a mutex) and processes (its lock file). The
/// [`super::AuthManager`] holds one per signed-in account.
#[derive(Debug)]
pub(crate) struct AccountAuth {
    store: Arc<dyn CredentialStore>,
    upstream: UpstreamClient,
    lock_path: PathBuf,
    snapshot: RwLock<AuthSnapshot>,
    refresh_lock: Mutex<()>,
    /// Set once the store has recovered what an interrupted save left behind (done the first
    /// time the process lock is taken, under it, so that no other process is mid-save).
    recovered: OnceCell<()>,
}

impl AccountAuth {
    /// The account whose tokens live in `store`, refreshed under the lock file `lock_path`.
    pub(crate) fn new(
        store: Arc<dyn CredentialStore>,
        lock_path: PathBuf,
        upstream: UpstreamClient,
    ) -> Self {
        Self {
            store,
            upstream,
            lock_path,
            snapshot: RwLock::new(AuthSnapshot::Unknown),
            refresh_lock: Mutex::new(()),
            recovered: OnceCell::new(),
        }
    }

    /// The store slot of this account.
    pub(crate) fn store(&self) -> Arc<dyn CredentialStore> {
        Arc::clone(&self.store)
    }

    /// Where the credentials are kept, for people.
    pub(crate) fn store_description(&self) -> String {
        self.store.describe()
    }

    /// The current snapshot (no I/O).
    pub(crate) fn snapshot(&self) -> AuthSnapshot {
        match self.snapshot.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_snapshot(&self, value: AuthSnapshot) {
        // Every credential the process holds passes here (or through `load`): from now on no
        // log line, capture or bundle shows it.
        match &value {
            AuthSnapshot::SignedIn(credentials) => credentials.remember_secrets(),
            AuthSnapshot::SignInAgain { account_id, .. } => crate::redact::remember_all([(
                crate::redact::SecretKind::AccountId,
                account_id.as_str(),
            )]),
            AuthSnapshot::SignedOut | AuthSnapshot::Unknown => {}
        }
        let mut guard = match self.snapshot.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = value;
    }

    /// Adopts what the store holds, unless the snapshot already has newer credentials.
    fn adopt(&self, stored: Option<StoredAuth>) -> AuthSnapshot {
        let next = match stored {
            None => AuthSnapshot::SignedOut,
            Some(StoredAuth {
                credentials,
                sign_in_again: Some(code),
            }) => AuthSnapshot::SignInAgain {
                code,
                account_id: credentials.account_id,
            },
            Some(StoredAuth {
                credentials,
                sign_in_again: None,
            }) => {
                if let AuthSnapshot::SignedIn(current) = self.snapshot()
                    && current.expires_at > credentials.expires_at
                    && current.account_id == credentials.account_id
                {
                    return AuthSnapshot::SignedIn(current);
                }
                AuthSnapshot::SignedIn(credentials)
            }
        };
        self.set_snapshot(next.clone());
        next
    }

    async fn load(&self) -> Result<Option<StoredAuth>, AuthError> {
        if !self.recovered.initialized() {
            // Taking the lock once runs the recovery (see `lock_processes`).
            drop(self.lock_processes().await?);
        }
        let store = self.store();
        let stored = run_blocking(move || store.load()).await?;
        if let Some(stored) = &stored {
            stored.credentials.remember_secrets();
        }
        Ok(stored)
    }

    async fn save(&self, auth: StoredAuth) -> Result<(), AuthError> {
        let store = self.store();
        Ok(run_blocking(move || store.save(&auth)).await?)
    }

    async fn lock_processes(&self) -> Result<ProcessLock, AuthError> {
        let path = self.lock_path.clone();
        let file = run_blocking(move || {
            let io = |err: std::io::Error| StoreError::File {
                path: path.clone(),
                message: err.to_string(),
            };
            // O_NOFOLLOW: a link planted at auth.lock is refused, not followed.
            let file = crate::files::open_lock(&path).map_err(io)?;
            file.lock().map_err(io)?;
            Ok(file)
        })
        .await?;
        let lock = ProcessLock(file);
        if !self.recovered.initialized() {
            let store = self.store();
            if let Err(err) = run_blocking(move || store.recover()).await {
                tracing::warn!("cannot recover from an interrupted save: {err}");
            }
            let _ = self.recovered.set(());
        }
        Ok(lock)
    }

    /// The stored credentials as they are, without refreshing (reads the store when the
    /// snapshot has nothing usable, because another process may have signed in).
    pub(crate) async fn current(&self) -> Result<Credentials, AuthError> {
        if let AuthSnapshot::SignedIn(credentials) = self.snapshot() {
            return Ok(credentials);
        }
        let stored = self.load().await?;
        let snapshot = self.adopt(stored);
        match snapshot {
            AuthSnapshot::SignedIn(credentials) => Ok(credentials),
            AuthSnapshot::SignInAgain { code, .. } => Err(AuthError::SignInAgain {
                code,
                account: None,
            }),
            AuthSnapshot::SignedOut | AuthSnapshot::Unknown => Err(AuthError::NotSignedIn),
        }
    }

    /// Fresh credentials: refreshed first when they expire within 60 s.
    pub(crate) async fn credentials(&self) -> Result<Credentials, AuthError> {
        let credentials = self.current().await?;
        if !credentials.needs_refresh(now(), REFRESH_SKEW_SECS) {
            return Ok(credentials);
        }
        self.refresh(Need::NearExpiry).await
    }

    /// After the backend refused `stale_access_token` with 401: refresh once, unless another
    /// task or process already replaced that token.
    pub(crate) async fn refresh_after_unauthorized(
        &self,
        stale_access_token: &str,
    ) -> Result<Credentials, AuthError> {
        self.refresh(Need::Replace(stale_access_token.to_owned()))
            .await
    }

    /// Refreshes now (`POST /v1/auth/refresh`); if another process refreshed meanwhile, its
    /// result is used instead of refreshing twice.
    pub(crate) async fn refresh_now(&self) -> Result<Credentials, AuthError> {
        let current = self.current().await?;
        self.refresh(Need::Replace(current.access_token)).await
    }

    async fn refresh(&self, need: Need) -> Result<Credentials, AuthError> {
        let _task = self.refresh_lock.lock().await;
        // Another task may have refreshed while this one waited.
        if let AuthSnapshot::SignedIn(credentials) = self.snapshot()
            && !need.requires_refresh(&credentials, now())
        {
            return Ok(credentials);
        }
        let _process = self.lock_processes().await?;
        // Another process may have refreshed (or signed in, or failed) meanwhile.
        let stored = self.load().await?;
        let Some(stored) = stored else {
            self.set_snapshot(AuthSnapshot::SignedOut);
            return Err(AuthError::NotSignedIn);
        };
        if let Some(code) = stored.sign_in_again {
            self.set_snapshot(AuthSnapshot::SignInAgain {
                code: code.clone(),
                account_id: stored.credentials.account_id,
            });
            return Err(AuthError::SignInAgain {
                code,
                account: None,
            });
        }
        let mut current = stored.credentials;
        // A set this process refreshed but could not store (see below) is newer than the
        // stored one, whose refresh token is spent: refresh from the newer one.
        if let AuthSnapshot::SignedIn(mine) = self.snapshot()
            && mine.account_id == current.account_id
            && mine.expires_at > current.expires_at
        {
            current = mine;
        }
        if !need.requires_refresh(&current, now()) {
            self.set_snapshot(AuthSnapshot::SignedIn(current.clone()));
            return Ok(current);
        }
        // No account id in the log: logs go into support bundles (see logging.rs).
        tracing::info!("refreshing the ChatGPT access token");
        match oauth::refresh(&self.upstream, &current).await {
            Ok(fresh) => {
                // Stored at once, before anything uses it: the issuer has already spent the
                // old refresh token, so this set is the only one that works. Each store makes
                // the save durable before returning (auth/store.rs). If even that fails, the
                // set still serves this process rather than being dropped.
                if let Err(err) = self.save(StoredAuth::new(fresh.clone())).await {
                    tracing::error!(
                        "the refreshed credentials could not be stored ({err}); they serve this process only"
                    );
                }
                self.set_snapshot(AuthSnapshot::SignedIn(fresh.clone()));
                tracing::info!(
                    expires_at = fresh.expires_at,
                    "the access token was refreshed"
                );
                Ok(fresh)
            }
            Err(OAuthError::Refused { code }) => {
                tracing::warn!(%code, "the refresh token was refused; the user must sign in again");
                let account_id = current.account_id.clone();
                let marked = StoredAuth {
                    credentials: current,
                    sign_in_again: Some(code.clone()),
                };
                if let Err(err) = self.save(marked).await {
                    tracing::warn!("cannot record the failed refresh in the store: {err}");
                }
                self.set_snapshot(AuthSnapshot::SignInAgain {
                    code: code.clone(),
                    account_id,
                });
                Err(AuthError::SignInAgain {
                    code,
                    account: None,
                })
            }
            Err(OAuthError::Transient(message)) => {
                tracing::warn!("the access token could not be refreshed: {message}");
                self.set_snapshot(AuthSnapshot::SignedIn(current.clone()));
                // Still valid for a little while: use it rather than fail the request.
                if matches!(need, Need::NearExpiry) && current.remaining_seconds(now()) > 0 {
                    return Ok(current);
                }
                Err(AuthError::Transient(message))
            }
        }
    }

    /// Stores new credentials after a sign-in (under both locks, so that no refresh running
    /// elsewhere overwrites them with a refresh of the old ones).
    pub(crate) async fn replace(&self, credentials: Credentials) -> Result<(), AuthError> {
        let _task = self.refresh_lock.lock().await;
        let _process = self.lock_processes().await?;
        self.save(StoredAuth::new(credentials.clone())).await?;
        self.set_snapshot(AuthSnapshot::SignedIn(credentials));
        Ok(())
    }

    /// Deletes the stored credentials; `false` when nothing was stored.
    pub(crate) async fn sign_out(&self) -> Result<bool, AuthError> {
        let _task = self.refresh_lock.lock().await;
        let _process = self.lock_processes().await?;
        let store = self.store();
        let deleted = run_blocking(move || store.delete()).await?;
        self.set_snapshot(AuthSnapshot::SignedOut);
        Ok(deleted)
    }
}

/// Runs a blocking store or index operation off the async threads.
pub(super) async fn run_blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|_| StoreError::File {
            path: PathBuf::from("(credential store)"),
            message: "the store operation was interrupted".to_owned(),
        })?
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::auth::store::MemoryStore;

    fn manager(stored: Option<StoredAuth>, home: &Path) -> AccountAuth {
        // The issuer is unreachable: any refresh attempt is a transient failure.
        let upstream = UpstreamClient::with_urls("http://127.0.0.1:9", "http://127.0.0.1:9");
        AccountAuth::new(
            Arc::new(MemoryStore::new(stored)),
            home.join(LOCK_FILE_NAME),
            upstream,
        )
    }

    fn credentials(expires_in: i64) -> Credentials {
        Credentials {
            access_token: "a".into(),
            refresh_token: "r".into(),
            id_token: String::new(),
            expires_at: now() + expires_in,
            account_id: "acc".into(),
        }
    }

    #[tokio::test]
    async fn fresh_credentials_come_from_the_store_without_a_refresh() {
        let home = tempfile::tempdir().unwrap();
        let fresh = credentials(3600);
        let auth = manager(Some(StoredAuth::new(fresh.clone())), home.path());
        assert_eq!(auth.credentials().await.unwrap(), fresh);
        assert!(matches!(auth.snapshot(), AuthSnapshot::SignedIn(_)));
    }

    #[tokio::test]
    async fn nothing_stored_means_not_signed_in() {
        let home = tempfile::tempdir().unwrap();
        let err = manager(None, home.path()).credentials().await.unwrap_err();
        assert!(matches!(err, AuthError::NotSignedIn));
        assert!(err.to_string().contains("Run `codexia login`"));
    }

    #[tokio::test]
    async fn a_recorded_permanent_failure_asks_to_sign_in_again_without_calling_out() {
        let home = tempfile::tempdir().unwrap();
        let stored = StoredAuth {
            credentials: credentials(-10),
            sign_in_again: Some("refresh_token_reused".into()),
        };
        let err = manager(Some(stored), home.path())
            .credentials()
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "The ChatGPT sign-in is no longer valid (its refresh token was already used, perhaps by another program signed in with the same tokens). Run `codexia login` to sign in again."
        );
    }

    #[tokio::test]
    async fn a_transient_failure_keeps_a_token_that_is_still_valid() {
        let home = tempfile::tempdir().unwrap();
        let soon = credentials(30);
        let auth = manager(Some(StoredAuth::new(soon.clone())), home.path());
        assert_eq!(auth.credentials().await.unwrap(), soon);
        let expired = manager(Some(StoredAuth::new(credentials(-30))), home.path());
        assert!(matches!(
            expired.credentials().await.unwrap_err(),
            AuthError::Transient(_)
        ));
    }
}
