//! `GET /v1/requests` and `GET /v1/requests/{id}`: the request inspector's captures as JSON
//! (the same data as `codexia requests --json` and the Settings window's Requests page).
//!
//! Request contents are prompts: these routes answer only a client on the loopback interface,
//! or a request presenting a key marked `"admin": true` in `api_keys`; anyone else gets 403 in
//! the caller's format. Headers are redacted when captured and bodies when shown
//! (`redact.rs`): no token, API key or account id is in either answer.
//!
//! ## `GET /v1/requests?last=N`
//!
//! The `N` most recent captures (default 50), **newest first**, and the store's memory. With
//! `serve --capture DIR`, the files of the requests finished before the call are written first.
//!
//! ```json
//! {
//!   "object": "list",
//!   "data": [{
//!     "id": "req_12", "at": "2026-12-01T13:00:00.123Z",
//!     "client": "Claude Code", "client_version": "2.0.14",
//!     "route": "POST /v1/messages", "model": "gpt-5.1", "model_asked": "claude-sonnet-4-5",
//!     "stream": true, "status": 200,
//!     "state": "ok",                // in_progress | ok | error | incomplete | cancelled
//!     "error": null,                // or {"kind": "rate_limited", "message": "…"}
//!     "duration_ms": 812, "first_content_ms": 240,
//!     "tokens": {"input": 1200, "cached": 1024, "output": 35, "reasoning": 0},  // or null
//!     "bytes": 18211,               // memory this capture holds
//!     "truncated": false            // a part was cut to fit the budget
//!   }],
//!   "memory": {"bytes": 18211, "budget_bytes": 8388608, "kept": 1, "dropped": 0},
//!   "capture_dir": null             // or the `serve --capture DIR` directory
//! }
//! ```
//!
//! ## `GET /v1/requests/{id}`
//!
//! The same summary fields, and both sides:
//!
//! ```json
//! {
//!   "id": "req_12", "…": "…the summary fields above…",
//!   "client_request": {"method": "POST", "url": "/v1/messages?beta=true",
//!                      "headers": [["x-api-key", "[redacted]"], ["user-agent", "claude-cli/2.0.14"]],
//!                      "body": {"model": "claude-sonnet-4-5", "messages": []},
//!                      "body_bytes": 5120, "truncated": false},
//!   "upstream_request": {"method": "POST", "url": "https://chatgpt.com/backend-api/codex/responses",
//!                        "headers": [["authorization", "Bearer [redacted]"], ["chatgpt-account-id", "[redacted]"]],
//!                        "body": {"model": "gpt-5.1", "input": []},
//!                        "body_bytes": 4810, "truncated": false},      // null: never reached the backend
//!   "upstream_status": 200,                                             // null: no answer came
//!   "upstream_events": [{"ms": 230, "event": "response.created", "data": {"type": "response.created"}}],
//!   "client_response": {"status": 200, "headers": [["content-type", "text/event-stream; charset=utf-8"]],
//!                       "body": null, "body_bytes": 0, "truncated": false},  // body: a whole (non-streamed) answer
//!   "client_events": [{"ms": 241, "event": "message_start", "data": {"type": "message_start"}},
//!                     {"ms": 10241, "event": null, "data": "keep-alive", "comment": true}]
//! }
//! ```
//!
//! Bodies and event data are JSON when they parse, else strings; a part cut to fit the budget
//! is a string ending in `[truncated: N bytes not kept]`. `ms` counts from the request's
//! arrival. An unknown id is a 404 (it may have been dropped to stay within the budget).

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::gateway::error::{ApiError, ErrorKind};
use crate::gateway::middleware::api_key::KeyName;
use crate::gateway::state::AppState;
use crate::inspector::view::{RequestDetail, RequestList};

/// How many captures the list shows when `last` is not given.
pub(crate) const DEFAULT_LAST: usize = 50;

/// The query string of the list.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    /// How many of the most recent requests.
    pub last: Option<String>,
}

/// `GET /v1/requests`.
pub(crate) async fn list_requests(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    key: Option<Extension<KeyName>>,
    Query(params): Query<ListParams>,
) -> Result<Json<RequestList>, ApiError> {
    may_inspect(&state, peer, key.as_ref().map(|Extension(key)| key))?;
    let last = match params.last.as_deref() {
        None => DEFAULT_LAST,
        Some(text) => text.trim().parse::<usize>().map_err(|_| {
            ApiError::new(
                ErrorKind::InvalidRequest,
                format!("`last` must be a whole number of requests, not {text:?}."),
            )
        })?,
    };
    // Requests that ended before this call are on disk first (like `/v1/usage` and the
    // ledger): a caller that saw its answers end finds their capture files.
    let inspector = state.0.inspector.clone();
    let captured = tokio::task::spawn_blocking(move || {
        inspector.flush_disk();
        inspector.list(last)
    })
    .await
    .map_err(|err| ApiError::new(ErrorKind::Internal, err.to_string()))?;
    Ok(Json(captured))
}

/// `GET /v1/requests/{id}`.
pub(crate) async fn request_detail(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    key: Option<Extension<KeyName>>,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    may_inspect(&state, peer, key.as_ref().map(|Extension(key)| key))?;
    state.0.inspector.detail(&id).map(Json).ok_or_else(|| {
        ApiError::not_found(format!(
            "There is no captured request {id:?}: it may have been dropped to stay within \
             inspector_memory_mb. `GET /v1/requests` lists those kept."
        ))
    })
}

/// Whether this caller may see captured requests: a key marked admin from anywhere; a client
/// on the loopback interface unless it presented a named key that is not admin (that key was
/// handed to one client, which must not read the others' prompts).
fn may_inspect(
    state: &AppState,
    peer: std::net::SocketAddr,
    key: Option<&KeyName>,
) -> Result<(), ApiError> {
    let allowed = match key {
        Some(KeyName(name)) => state.0.settings.admin_keys.value.contains(name),
        None => peer.ip().is_loopback(),
    };
    if allowed {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::PermissionDenied,
        "Captured requests contain other clients' prompts: only a client on this machine \
         (loopback) or a key marked \"admin\": true in api_keys may read them.",
    ))
}
