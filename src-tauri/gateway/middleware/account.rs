//! Which signed-in account serves a request (issue 18): the account bound to the named API key
//! the request presented (`api_keys` entries with an `account`), else the active account.
//!
//! The choice is made once, before the handler runs, and travels with the request's task as a
//! task-local ([`ROUTED`]): the backend call ([`super::super::backend`]) reads it where it picks
//! the credentials, without every handler passing it along. The answer carries the account's
//! short name in `x-codexia-account` (never the email).

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
    let chosen = match state.auth().account(bound.as_deref()).await {
        Ok((entry, _)) => entry.map(|e| e.name),
        // A key bound to an account that is not signed in: say so, in the caller's format.
        Err(err) if bound.is_some() => return ApiError::from(err).into_response(),
        // No account, or a store that fails: the handler reports it as before.
        Err(_) => None,
    };
    let mut response = ROUTED.scope(chosen.clone(), next.run(request)).await;
    if let Some(value) = chosen.and_then(|name| HeaderValue::from_str(&name).ok()) {
        response.headers_mut().insert(ACCOUNT_HEADER, value);
    }
    response
}
