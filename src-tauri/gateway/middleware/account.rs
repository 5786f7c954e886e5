//! Which signed-in account serves a request (issue 18): the account bound to the named API key
//! the request presented (`api_keys` entries with an `account`), else the active account —
//! unless `switch_when_exhausted` is on and the active account reached its usage limit: then a
//! *new* conversation goes to the next account with room. A conversation already under way
//! (its session id was served before) stays on its account, because the prompt cache lives per
//! account; nothing is ever retried on another account, so a started stream never moves.
//!
//! The choice is made once, before the handler runs, and travels with the request's task as a
//! task-local ([`ROUTED`]): the backend call ([`super::super::backend`]) reads it where it picks
//! the credentials, without every handler passing it along. The answer carries the account's
//! short name in `x-codexia-account` (never the email).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api_key::KeyName;
use crate::gateway::error::ApiError;
use crate::gateway::state::AppState;

/// The response header naming the account that served.
pub(crate) const ACCOUNT_HEADER: &str = "x-codexia-account";

tokio::task_local! {
    /// The account chosen for the request being handled (`None`: the active account).
    static ROUTED: Option<String>;
}

/// The account chosen for the current request: its short name, or `None` for the active
/// account (also outside a request).
pub(crate) fn routed_account() -> Option<String> {
    ROUTED.try_with(Clone::clone).ok().flatten()
}

/// Headers that name a conversation (Claude Code's, then the OpenAI clients').
const SESSION_HEADERS: [&str; 2] = ["x-claude-code-session-id", "session_id"];
/// Conversations remembered with their account.
const SESSIONS_KEPT: usize = 4096;

/// What `switch_when_exhausted` remembers: accounts at their usage limit (until when), and
/// which account each recent conversation started on.
#[derive(Debug)]
pub(crate) struct Routing {
    exhausted: Mutex<HashMap<String, i64>>,
    sessions: Mutex<lru::LruCache<String, String>>,
}

impl Default for Routing {
    fn default() -> Self {
        Self {
            exhausted: Mutex::new(HashMap::new()),
            sessions: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(SESSIONS_KEPT).unwrap_or(NonZeroUsize::MIN),
            )),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Routing {
    /// `account` answered "usage limit reached"; its window resets in `seconds`.
    pub(crate) fn mark_exhausted(&self, account: &str, seconds: u64) {
        let until = chrono::Utc::now()
            .timestamp()
            .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX));
        lock(&self.exhausted).insert(account.to_owned(), until);
    }

    fn is_exhausted(&self, account: &str, now: i64) -> bool {
        lock(&self.exhausted)
            .get(account)
            .is_some_and(|until| *until > now)
    }

    /// The account for a request: a known conversation keeps its account; a new one gets
    /// `active` unless it is exhausted, then the next listed account with room.
    fn choose(&self, session: Option<&str>, active: &str, listed: &[String]) -> String {
        if let Some(session) = session
            && let Some(account) = lock(&self.sessions).get(session).cloned()
            && listed.contains(&account)
        {
            return account;
        }
        let now = chrono::Utc::now().timestamp();
        let start = listed.iter().position(|a| a == active).unwrap_or(0);
        let chosen = if self.is_exhausted(active, now) {
            (1..listed.len())
                .map(|step| &listed[(start + step) % listed.len()])
                .find(|a| !self.is_exhausted(a, now))
                .cloned()
                .unwrap_or_else(|| active.to_owned())
        } else {
            active.to_owned()
        };
        if let Some(session) = session {
            lock(&self.sessions).put(session.to_owned(), chosen.clone());
        }
        chosen
    }
}

/// Middleware: picks the account, runs the request with it, names it in the answer.
pub(crate) async fn route_account(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let bound = request
        .extensions()
        .get::<KeyName>()
        .and_then(|name| state.0.settings.key_accounts.get(&name.0))
        .cloned();
    let mut chosen = match state.auth().account(bound.as_deref()).await {
        Ok((entry, _)) => entry.map(|e| e.name),
        // A key bound to an account that is not signed in: say so, in the caller's format.
        Err(err) if bound.is_some() => return ApiError::from(err).into_response(),
        // No account, or a store that fails: the handler reports it as before.
        Err(_) => None,
    };
    if bound.is_none()
        && state.0.settings.switch_when_exhausted.value
        && let Some(active) = &chosen
        && let Ok(index) = state.auth().index().await
    {
        let session = SESSION_HEADERS
            .iter()
            .find_map(|name| request.headers().get(*name)?.to_str().ok());
        let listed: Vec<String> = index.accounts.iter().map(|a| a.name.clone()).collect();
        let account = state.0.routing.choose(session, active, &listed);
        if account != *active {
            tracing::info!(
                "account {active} is at its usage limit; account {account} serves this new conversation"
            );
        }
        chosen = Some(account);
    }
    let mut response = ROUTED.scope(chosen.clone(), next.run(request)).await;
    if let Some(value) = chosen.and_then(|name| HeaderValue::from_str(&name).ok()) {
        response.headers_mut().insert(ACCOUNT_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn new_conversations_leave_an_exhausted_account_and_started_ones_stay() {
        let routing = Routing::default();
        let listed = names(&["plus", "team", "pro"]);
        assert_eq!(routing.choose(Some("s1"), "plus", &listed), "plus");
        routing.mark_exhausted("plus", 3600);
        // A conversation under way keeps its account.
        assert_eq!(routing.choose(Some("s1"), "plus", &listed), "plus");
        // New ones (with or without a session id) go to the next account with room.
        assert_eq!(routing.choose(Some("s2"), "plus", &listed), "team");
        assert_eq!(routing.choose(None, "plus", &listed), "team");
        routing.mark_exhausted("team", 3600);
        assert_eq!(routing.choose(Some("s3"), "plus", &listed), "pro");
        // Every account exhausted: the active one answers (its 429 reaches the caller).
        routing.mark_exhausted("pro", 3600);
        assert_eq!(routing.choose(Some("s4"), "plus", &listed), "plus");
        // A window that has reset counts as room again.
        routing.mark_exhausted("team", 0);
        assert_eq!(routing.choose(Some("s5"), "plus", &listed), "team");
        // A conversation whose account was signed out starts afresh.
        assert_eq!(
            routing.choose(Some("s2"), "plus", &names(&["plus", "pro"])),
            "plus"
        );
    }
}
