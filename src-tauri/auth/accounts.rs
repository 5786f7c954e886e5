//! Several ChatGPT accounts (issue 18): the account index and [`AuthManager`], the one door
//! through which the gateway, the CLI and the tray reach credentials.
//!
//! The index, `$CODEXIA_HOME/accounts.json` (0600, replaced atomically by
//! [`crate::files::write_private`]; it holds no secret: account id, short name, email, plan,
//! slot), lists the accounts and names the active one. Each account's tokens live in a *slot*
//! of the credential store ([`CredentialStore::slot`]): the first account in the location of
//! the single-account versions (`auth.json`, keychain user `chatgpt`), the others in
//! `auth-SLOT.json` / keychain user `chatgpt-SLOT` — one keychain entry or one file per
//! account, each with the store's guarantees (0600, atomic, never half-written, recovered after
//! a crash). Each account refreshes on its own ([`AccountAuth`], with its own lock file), so a
//! revoked account asks to sign in again for itself only.
//!
//! Upgrade (acceptance 6 of issue 18): an index that lists no account in the default slot
//! adopts the set found there, so a single-account store becomes a one-account index without
//! asking anyone to sign in again, and a user with one account sees the same files as before.
//!
//! Changes to the index run under `$CODEXIA_HOME/accounts.lock`, re-reading it first; readers
//! re-read it whenever its modification time changes, so `codexia accounts use` in a terminal
//! moves a running gateway at its next request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::manager::{AccountAuth, AuthError, AuthSnapshot, LOCK_FILE_NAME, run_blocking};
use super::store::{CredentialStore, StoreChoice, StoreError, StoreSpec, select_store};
use super::tokens::{Credentials, StoredAuth};
use crate::upstream::UpstreamClient;

/// The index file in `$CODEXIA_HOME`.
pub(crate) const INDEX_FILE_NAME: &str = "accounts.json";
/// The lock taken while the index changes.
const INDEX_LOCK_NAME: &str = "accounts.lock";
/// The slot of the single-account versions (`auth.json`, keychain user `chatgpt`).
pub(crate) const DEFAULT_SLOT: &str = "default";
/// Longest short name.
const MAX_NAME_LEN: usize = 32;

/// One signed-in account, as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountEntry {
    /// The ChatGPT account id (`chatgpt-account-id`); signing in to it again replaces its
    /// tokens.
    pub id: String,
    /// The short name: what `x-codexia-account` carries and `accounts use` accepts.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Where its tokens are kept ([`DEFAULT_SLOT`] or a name derived from the id).
    pub slot: String,
}

/// The accounts and which one serves by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountIndex {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    #[serde(default)]
    pub accounts: Vec<AccountEntry>,
}

impl AccountIndex {
    /// The active account (the first one when the recorded one is gone).
    pub(crate) fn active(&self) -> Option<&AccountEntry> {
        let id = self.active.as_deref();
        self.accounts
            .iter()
            .find(|a| Some(a.id.as_str()) == id)
            .or_else(|| self.accounts.first())
    }

    /// The account named by `which` (see [`Self::find`]), or the active one when none is named.
    pub(crate) fn chosen(&self, which: Option<&str>) -> Result<Option<AccountEntry>, AuthError> {
        match which {
            Some(query) => self
                .find(query)
                .cloned()
                .map(Some)
                .ok_or_else(|| AuthError::UnknownAccount(query.to_owned())),
            None => Ok(self.active().cloned()),
        }
    }

    /// The account a person means: by short name, email or account id (names and emails in
    /// any case).
    pub(crate) fn find(&self, query: &str) -> Option<&AccountEntry> {
        let query = query.trim();
        let by_name = self
            .accounts
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(query));
        by_name
            .or_else(|| {
                self.accounts.iter().find(|a| {
                    a.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(query))
                })
            })
            .or_else(|| self.accounts.iter().find(|a| a.id == query))
    }

    /// `base`, or `base-2`, `base-3`… — the first name no other account has.
    fn unique_name(&self, base: &str, except_id: &str) -> String {
        let taken = |name: &str| {
            self.accounts
                .iter()
                .any(|a| a.id != except_id && a.name.eq_ignore_ascii_case(name))
        };
        let base = clean_name(base);
        let base = if base.is_empty() {
            "account".to_owned()
        } else {
            base
        };
        if !taken(&base) {
            return base;
        }
        // More names than accounts: one of them is free.
        (2..=self.accounts.len() + 2)
            .map(|n| format!("{base}-{n}"))
            .find(|name| !taken(name))
            .unwrap_or(base)
    }

    /// Adds the account of `credentials`, or refreshes what the index knows of it; answers
    /// its entry.
    fn upsert(&mut self, credentials: &Credentials) -> AccountEntry {
        let claims = credentials.claims();
        if let Some(entry) = self
            .accounts
            .iter_mut()
            .find(|a| a.id == credentials.account_id)
        {
            if claims.email.is_some() {
                entry.email = claims.email;
            }
            if claims.plan.is_some() {
                entry.plan = claims.plan;
            }
            return entry.clone();
        }
        let slot = if self.accounts.iter().any(|a| a.slot == DEFAULT_SLOT) {
            slot_for(&credentials.account_id)
        } else {
            DEFAULT_SLOT.to_owned()
        };
        let entry = AccountEntry {
            id: credentials.account_id.clone(),
            name: self.unique_name(claims.plan.as_deref().unwrap_or("account"), ""),
            email: claims.email,
            plan: claims.plan,
            slot,
        };
        self.accounts.push(entry.clone());
        entry
    }
}

/// Letters, digits, `-`, `_` and `.` only, at most [`MAX_NAME_LEN`].
fn clean_name(text: &str) -> String {
    text.trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(MAX_NAME_LEN)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// A slot name from an account id: file- and keychain-safe, stable.
fn slot_for(account_id: &str) -> String {
    let clean: String = account_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    if clean.is_empty() {
        "account".to_owned()
    } else {
        clean
    }
}

/// Why a short name cannot be used, or `None`.
pub(crate) fn invalid_name(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Some(format!(
            "an account name has 1 to {MAX_NAME_LEN} characters"
        ));
    }
    if name
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some("an account name may hold only letters, digits, `-`, `_` and `.`".to_owned());
    }
    None
}

/// Holds the index lock until dropped.
struct IndexLock(#[expect(dead_code, reason = "held for its Drop")] std::fs::File);

/// One account as listed by [`AuthManager::list`].
#[derive(Debug, Clone)]
pub(crate) struct ListedAccount {
    pub entry: AccountEntry,
    pub active: bool,
}

/// Every account's credentials for every task of a process (see the module comment).
#[derive(Debug)]
pub(crate) struct AuthManager {
    spec: Option<StoreSpec>,
    choice: OnceCell<StoreChoice>,
    upstream: UpstreamClient,
    home: PathBuf,
    index_path: PathBuf,
    /// The index as last read, with the file's modification time then.
    cache: RwLock<Option<(Option<SystemTime>, Arc<AccountIndex>)>>,
    slots: Mutex<HashMap<String, Arc<AccountAuth>>>,
}

fn index_path(spec: &StoreSpec) -> PathBuf {
    match &spec.auth_file {
        // An explicit credentials file keeps its index beside it.
        Some(file) => {
            let stem = file
                .file_stem()
                .map_or_else(|| "auth".into(), |s| s.to_string_lossy().into_owned());
            file.with_file_name(format!("{stem}.accounts.json"))
        }
        None => spec.home.join(INDEX_FILE_NAME),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Tells the redactor (`redact.rs`) every listed account's id and email, so that no log line,
/// capture or bundle shows them, whichever account is in use.
fn remember_secrets(index: &AccountIndex) {
    use crate::redact::{self, SecretKind};
    redact::remember_all(index.accounts.iter().flat_map(|account| {
        std::iter::once((SecretKind::AccountId, account.id.as_str())).chain(
            account
                .email
                .as_deref()
                .map(|email| (SecretKind::Email, email)),
        )
    }));
}

fn read_index(path: &Path) -> Result<AccountIndex, StoreError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(AccountIndex::default());
        }
        Err(err) => {
            return Err(StoreError::File {
                path: path.to_owned(),
                message: err.to_string(),
            });
        }
    };
    serde_json::from_str(&text).map_err(|err| StoreError::Corrupt {
        place: path.display().to_string(),
        message: format!(
            "not a valid account list (line {}, column {})",
            err.line(),
            err.column()
        ),
    })
}

impl AuthManager {
    /// A manager that picks its store on first use (the gateway, the tray).
    pub(crate) fn new(spec: StoreSpec, upstream: UpstreamClient) -> Self {
        Self::build(spec, OnceCell::new(), upstream)
    }

    /// A manager over an already chosen store (the CLI, which prints the fallback warning).
    pub(crate) fn with_store(
        choice: StoreChoice,
        spec: StoreSpec,
        upstream: UpstreamClient,
    ) -> Self {
        Self::build(spec, OnceCell::new_with(Some(choice)), upstream)
    }

    fn build(spec: StoreSpec, choice: OnceCell<StoreChoice>, upstream: UpstreamClient) -> Self {
        Self {
            home: spec.home.clone(),
            index_path: index_path(&spec),
            spec: Some(spec),
            choice,
            upstream,
            cache: RwLock::new(None),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The store of the default slot, chosen on first use.
    pub(crate) async fn store(&self) -> Result<Arc<dyn CredentialStore>, AuthError> {
        let choice = self
            .choice
            .get_or_try_init(|| async {
                let Some(spec) = self.spec.clone() else {
                    return Err(StoreError::KeychainUnavailable(
                        "no credential store was configured".to_owned(),
                    ));
                };
                let choice = tokio::task::spawn_blocking(move || select_store(&spec))
                    .await
                    .map_err(|_| StoreError::KeychainUnavailable("interrupted".to_owned()))??;
                if let Some(warning) = &choice.fallback_warning {
                    tracing::warn!("{warning}");
                }
                Ok::<_, StoreError>(choice)
            })
            .await?;
        Ok(Arc::clone(&choice.store))
    }

    fn lock_slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<AccountAuth>>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The credentials of one slot.
    async fn slot(&self, slot: &str) -> Result<Arc<AccountAuth>, AuthError> {
        if let Some(found) = self.lock_slots().get(slot) {
            return Ok(Arc::clone(found));
        }
        let base = self.store().await?;
        let (store, lock) = if slot == DEFAULT_SLOT {
            (base, self.home.join(LOCK_FILE_NAME))
        } else {
            (
                base.slot(slot)?,
                self.home.join(format!("auth-{slot}.lock")),
            )
        };
        let auth = Arc::new(AccountAuth::new(store, lock, self.upstream.clone()));
        Ok(Arc::clone(
            self.lock_slots().entry(slot.to_owned()).or_insert(auth),
        ))
    }

    async fn lock_index(&self) -> Result<IndexLock, AuthError> {
        let path = self.home.join(INDEX_LOCK_NAME);
        let own_home = self.spec.as_ref().is_none_or(|s| s.auth_file.is_none());
        let home = self.home.clone();
        let file = run_blocking(move || {
            let io = |err: std::io::Error| StoreError::File {
                path: path.clone(),
                message: err.to_string(),
            };
            if own_home {
                crate::files::prepare_home(&home).map_err(io)?;
            }
            let file = crate::files::open_lock(&path).map_err(io)?;
            file.lock().map_err(io)?;
            Ok(file)
        })
        .await?;
        Ok(IndexLock(file))
    }

    async fn write_index(&self, index: &AccountIndex) -> Result<(), AuthError> {
        let path = self.index_path.clone();
        let mut text = serde_json::to_string_pretty(index).unwrap_or_default();
        text.push('\n');
        let written = run_blocking(move || {
            crate::files::write_private(&path, text.as_bytes()).map_err(|err| {
                StoreError::File {
                    path: path.clone(),
                    message: err.to_string(),
                }
            })?;
            Ok(modified(&path))
        })
        .await?;
        self.set_cache(written, Arc::new(index.clone()));
        Ok(())
    }

    fn set_cache(&self, modified: Option<SystemTime>, index: Arc<AccountIndex>) {
        let mut guard = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = Some((modified, index));
    }

    /// The index as last read, shared (every request reads it; nothing is copied).
    fn cached(&self) -> Option<(Option<SystemTime>, Arc<AccountIndex>)> {
        self.cache
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the index from disk and adopts a set left in the default slot by a
    /// single-account version (under the index lock when it must write).
    async fn load_index(&self) -> Result<AccountIndex, AuthError> {
        let path = self.index_path.clone();
        let index = run_blocking(move || read_index(&path)).await?;
        if index.accounts.iter().any(|a| a.slot == DEFAULT_SLOT) {
            return Ok(index);
        }
        let default = self.slot(DEFAULT_SLOT).await?.store();
        let stored = match run_blocking(move || default.load()).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Ok(index),
            // A damaged or unreadable set is reported where it is used; it lists nothing.
            Err(err) => {
                tracing::debug!("nothing to list from the default slot: {err}");
                return Ok(index);
            }
        };
        let _lock = self.lock_index().await?;
        let path = self.index_path.clone();
        let mut index = run_blocking(move || read_index(&path)).await?;
        if !index.accounts.iter().any(|a| a.slot == DEFAULT_SLOT) {
            adopt_default(&mut index, &stored);
            self.write_index(&index).await?;
            tracing::info!("listed the account signed in before as {}", {
                index.accounts.last().map_or("", |a| a.name.as_str())
            });
        }
        Ok(index)
    }

    /// The account index (re-read when the file changed).
    pub(crate) async fn index(&self) -> Result<Arc<AccountIndex>, AuthError> {
        let now = modified(&self.index_path);
        if let Some((seen, index)) = self.cached()
            && seen.is_some()
            && seen == now
        {
            return Ok(index);
        }
        let index = self.load_index().await?;
        remember_secrets(&index);
        let index = Arc::new(index);
        self.set_cache(modified(&self.index_path), Arc::clone(&index));
        Ok(index)
    }

    /// The account `which` names (short name, email or id), or the active one; with no
    /// account at all, the default slot (which then says "not signed in").
    pub(crate) async fn account(
        &self,
        which: Option<&str>,
    ) -> Result<(Option<AccountEntry>, Arc<AccountAuth>), AuthError> {
        let index = self.index().await?;
        let entry = index.chosen(which)?;
        let slot = entry.as_ref().map_or(DEFAULT_SLOT, |e| e.slot.as_str());
        let auth = self.slot(slot).await?;
        Ok((entry, auth))
    }

    /// The active account's credentials.
    pub(crate) async fn active(&self) -> Result<Arc<AccountAuth>, AuthError> {
        Ok(self.account(None).await?.1)
    }

    /// Whether more than one account was listed at the last read (no I/O).
    pub(crate) fn several(&self) -> bool {
        self.cached()
            .is_some_and(|(_, index)| index.accounts.len() > 1)
    }

    /// The active account's snapshot, as last read (no I/O).
    pub(crate) fn snapshot(&self) -> AuthSnapshot {
        let slot = self
            .cached()
            .and_then(|(_, index)| index.active().map(|a| a.slot.clone()))
            .unwrap_or_else(|| DEFAULT_SLOT.to_owned());
        self.lock_slots()
            .get(&slot)
            .map_or(AuthSnapshot::Unknown, |auth| auth.snapshot())
    }

    /// Where the active account's credentials are kept, for people.
    pub(crate) async fn store_description(&self) -> Result<String, AuthError> {
        Ok(self.active().await?.store_description())
    }

    /// The active account's stored credentials, without refreshing.
    pub(crate) async fn current(&self) -> Result<Credentials, AuthError> {
        self.active().await?.current().await
    }

    /// The active account's credentials, refreshed first when they expire within 60 s.
    pub(crate) async fn credentials(&self) -> Result<Credentials, AuthError> {
        self.active().await?.credentials().await
    }

    /// Refreshes the active account now.
    pub(crate) async fn refresh_now(&self) -> Result<Credentials, AuthError> {
        self.active().await?.refresh_now().await
    }

    /// Stores the credentials of a sign-in: a new account is added, a known one gets the new
    /// tokens; either way it becomes the active account. The tokens are stored before the
    /// index lists the account.
    pub(crate) async fn replace(
        &self,
        credentials: Credentials,
    ) -> Result<AccountEntry, AuthError> {
        // Adopting a single-account store first keeps its account (and its slot).
        self.index().await?;
        let _lock = self.lock_index().await?;
        let path = self.index_path.clone();
        let mut index = run_blocking(move || read_index(&path)).await?;
        let entry = index.upsert(&credentials);
        self.slot(&entry.slot).await?.replace(credentials).await?;
        index.active = Some(entry.id.clone());
        self.write_index(&index).await?;
        Ok(entry)
    }

    /// Makes the account `query` names the active one.
    pub(crate) async fn use_account(&self, query: &str) -> Result<AccountEntry, AuthError> {
        self.index().await?;
        let _lock = self.lock_index().await?;
        let path = self.index_path.clone();
        let mut index = run_blocking(move || read_index(&path)).await?;
        let entry = index
            .find(query)
            .cloned()
            .ok_or_else(|| AuthError::UnknownAccount(query.to_owned()))?;
        index.active = Some(entry.id.clone());
        self.write_index(&index).await?;
        Ok(entry)
    }

    /// Gives the account `query` names the short name `name`.
    pub(crate) async fn rename(&self, query: &str, name: &str) -> Result<AccountEntry, AuthError> {
        if let Some(why) = invalid_name(name) {
            return Err(AuthError::BadAccountName(why));
        }
        self.index().await?;
        let _lock = self.lock_index().await?;
        let path = self.index_path.clone();
        let mut index = run_blocking(move || read_index(&path)).await?;
        let id = index
            .find(query)
            .map(|e| e.id.clone())
            .ok_or_else(|| AuthError::UnknownAccount(query.to_owned()))?;
        if index
            .accounts
            .iter()
            .any(|a| a.id != id && a.name.eq_ignore_ascii_case(name))
        {
            return Err(AuthError::BadAccountName(format!(
                "another account is already called {name:?}"
            )));
        }
        let entry = index
            .accounts
            .iter_mut()
            .find(|a| a.id == id)
            .ok_or_else(|| AuthError::UnknownAccount(query.to_owned()))?;
        name.clone_into(&mut entry.name);
        let entry = entry.clone();
        self.write_index(&index).await?;
        Ok(entry)
    }

    /// Signs out of the account `which` names (the active one when `None`): deletes its
    /// tokens and its line in the index. Answers the removed account, `None` when there was
    /// nothing to remove. When the active account goes, the first remaining one takes over.
    pub(crate) async fn remove(
        &self,
        which: Option<&str>,
    ) -> Result<Option<AccountEntry>, AuthError> {
        self.index().await?;
        let _lock = self.lock_index().await?;
        let path = self.index_path.clone();
        let mut index = run_blocking(move || read_index(&path)).await?;
        let entry = index.chosen(which)?;
        let Some(entry) = entry else {
            // Nothing listed: a stray set in the default slot still goes.
            let deleted = self.slot(DEFAULT_SLOT).await?.sign_out().await?;
            return Ok(deleted.then(|| AccountEntry {
                id: String::new(),
                name: String::new(),
                email: None,
                plan: None,
                slot: DEFAULT_SLOT.to_owned(),
            }));
        };
        self.slot(&entry.slot).await?.sign_out().await?;
        index.accounts.retain(|a| a.id != entry.id);
        if index.active.as_deref() == Some(entry.id.as_str()) || index.active.is_none() {
            index.active = index.accounts.first().map(|a| a.id.clone());
        }
        self.write_index(&index).await?;
        Ok(Some(entry))
    }

    /// Signs out of the active account; `false` when nothing was stored.
    #[cfg_attr(
        not(feature = "tray"),
        expect(dead_code, reason = "the tray's Sign out item")
    )]
    pub(crate) async fn sign_out(&self) -> Result<bool, AuthError> {
        Ok(self.remove(None).await?.is_some())
    }

    /// Every account, and whether it is the active one.
    pub(crate) async fn list(&self) -> Result<Vec<ListedAccount>, AuthError> {
        let index = self.index().await?;
        let active = index.active().map(|a| a.id.clone());
        Ok(index
            .accounts
            .iter()
            .map(|entry| ListedAccount {
                active: active.as_deref() == Some(entry.id.as_str()),
                entry: entry.clone(),
            })
            .collect())
    }
}

/// Lists the account of a set found in the default slot.
fn adopt_default(index: &mut AccountIndex, stored: &StoredAuth) {
    let claims = stored.credentials.claims();
    let entry = AccountEntry {
        id: stored.credentials.account_id.clone(),
        name: index.unique_name(claims.plan.as_deref().unwrap_or("account"), ""),
        email: claims.email,
        plan: claims.plan,
        slot: DEFAULT_SLOT.to_owned(),
    };
    // The same account in another slot (listed by a newer version, then signed in again by
    // an older one): the default slot's set is the newer, so that line moves to it.
    index.accounts.retain(|a| a.id != entry.id);
    if index.active().is_none() {
        index.active = Some(entry.id.clone());
    }
    index.accounts.insert(0, entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(account_id: &str) -> Credentials {
        Credentials {
            access_token: "a".into(),
            refresh_token: "r".into(),
            id_token: String::new(),
            expires_at: 5,
            account_id: account_id.into(),
        }
    }

    #[test]
    fn the_first_account_takes_the_default_slot_and_later_ones_their_own() {
        let mut index = AccountIndex::default();
        let first = index.upsert(&credentials("acc-1"));
        let second = index.upsert(&credentials("acc/2"));
        assert_eq!(first.slot, DEFAULT_SLOT);
        assert_eq!(second.slot, "acc2");
        assert_eq!(
            (first.name.as_str(), second.name.as_str()),
            ("account", "account-2")
        );
        // Signing in to a known account updates it in place.
        let again = index.upsert(&credentials("acc-1"));
        assert_eq!(again, first);
        assert_eq!(index.accounts.len(), 2);
    }

    #[test]
    fn accounts_are_found_by_name_email_or_id() {
        let mut index = AccountIndex::default();
        index.upsert(&credentials("acc-1"));
        index.accounts[0].email = Some("Me@Example.com".into());
        index.accounts[0].name = "work".into();
        for query in ["work", "WORK", "me@example.com", "acc-1"] {
            assert_eq!(
                index.find(query).map(|a| a.id.as_str()),
                Some("acc-1"),
                "{query}"
            );
        }
        assert!(index.find("home").is_none());
        assert_eq!(index.active().map(|a| a.id.as_str()), Some("acc-1"));
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(invalid_name("work-2"), None);
        assert!(invalid_name("").is_some());
        assert!(invalid_name("a b").is_some());
        assert!(invalid_name(&"x".repeat(33)).is_some());
    }
}
