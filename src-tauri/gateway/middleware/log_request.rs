//! One log line per request: method, path (no query), status, duration, and the error message
//! for failures; a record in the recent-requests ring; and a row in the usage ledger for every
//! request that reached the backend. Headers and bodies are never logged, so keys and tokens
//! cannot leak here; the ledger keeps the client family and the session id, never content.
//!
//! A streamed answer's tokens arrive at its end, after this middleware has handed the response
//! on: its body is wrapped so that the ledger row is recorded when the stream ends (before the
//! last bytes go out, so a caller that saw the end finds its row) or, if the caller leaves
//! first, when the body is dropped. Recording is a `try_send`: nothing here waits for disk.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;

use crate::gateway::error::{ApiError, ErrorKind};
use crate::gateway::middleware::api_key::KeyName;
use crate::gateway::recent::{RequestInfo, RequestRecord};
use crate::gateway::state::AppState;
use crate::ledger::{Row, client};
use crate::protocol::error::Cause;

/// Headers that carry a session or conversation key: Claude Code's, then the Codex CLI's.
const SESSION_HEADERS: [&str; 3] = ["x-claude-code-session-id", "session_id", "conversation_id"];

/// Middleware: logs the request once it is answered and remembers it.
pub(crate) async fn log_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let caller = Caller::from_headers(request.headers());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let ms = elapsed.as_millis();
    match response.extensions().get::<ApiError>() {
        // A full body budget is load, not a fault: a warning, not an error.
        Some(error) if error.cause() == Cause::Codexia && error.kind != ErrorKind::Busy => {
            tracing::error!(%method, %path, status, ms, error = %error.message, "request failed");
        }
        Some(error) if status >= 500 => {
            tracing::warn!(%method, %path, status, ms, error = %error.message, "request failed");
        }
        Some(error) => {
            tracing::info!(%method, %path, status, ms, error = %error.message, "request refused");
        }
        None => tracing::info!(%method, %path, status, ms, "request"),
    }
    if path == "/health" {
        return response;
    }
    let info = response.extensions().get::<RequestInfo>();
    let route = format!("{method} {path}");
    state.0.recent.push(
        RequestRecord {
            at: chrono::Local::now(),
            route: route.clone(),
            model: info.map(|i| i.model.clone()),
            status,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            input_tokens: None,
            cached_tokens: None,
            output_tokens: None,
            first_content_ms: None,
        },
        info.cloned(),
    );
    let error = response.extensions().get::<ApiError>();
    // Requests that reached the backend: answered by a handler, or failed by the backend.
    let reached_backend = info.is_some() || error.is_some_and(|e| e.cause() == Cause::Backend);
    if !reached_backend {
        return response;
    }
    let pending = PendingRow {
        state: state.clone(),
        started,
        info: info.cloned(),
        row: Row {
            // The account that served (gateway/middleware/account.rs names it in the answer).
            account: response
                .headers()
                .get(super::account::ACCOUNT_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ..caller.row(
                route,
                response.extensions().get::<KeyName>(),
                error.map(outcome_of_error),
            )
        },
    };
    let streamed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !streamed {
        // A whole answer: its usage is known already.
        pending.finish(Ended::Normally);
        return response;
    }
    response.map(|body| record_at_end(body, pending))
}

/// What the request's headers say about its sender.
struct Caller {
    client: client::Client,
    session: Option<String>,
}

impl Caller {
    fn from_headers(headers: &HeaderMap) -> Self {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let session = SESSION_HEADERS
            .iter()
            .find_map(|name| headers.get(*name)?.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        Self {
            client: client::classify(user_agent),
            session,
        }
    }

    fn row(self, route: String, key: Option<&KeyName>, outcome: Option<String>) -> Row {
        let (client, client_version) = match key {
            // A named key is the client: that is what the user named it for.
            Some(KeyName(name)) => (name.clone(), None),
            None => (self.client.family, self.client.version),
        };
        Row {
            route,
            client,
            client_version,
            session: self.session,
            outcome: outcome.unwrap_or_default(),
            ..Row::default()
        }
    }
}

/// The error's kind in snake case: `rate_limited`, `backend_refused_400`.
pub(crate) fn outcome_of_error(error: &ApiError) -> String {
    let kind = format!("{:?}", error.kind);
    // `BackendRefused(400)` → `backend_refused_400`, `RateLimited` → `rate_limited`.
    let mut out = String::with_capacity(kind.len() + 4);
    for (i, c) in kind.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c == '(' {
            out.push('_');
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Normally,
    CallerLeft,
}

/// A ledger row waiting for the end of its answer.
struct PendingRow {
    state: AppState,
    started: Instant,
    info: Option<RequestInfo>,
    row: Row,
}

impl PendingRow {
    fn finish(self, ended: Ended) {
        let Self {
            state,
            started,
            info,
            mut row,
        } = self;
        row.at_ms = chrono::Utc::now().timestamp_millis();
        row.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let tokens = info.as_ref().and_then(RequestInfo::tokens);
        if let Some(info) = &info {
            row.model_served = Some(info.model.clone());
            row.first_content_ms = info
                .first_content()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            row.reasoning_tokens = info.reasoning_tokens().unwrap_or(0);
            if let Some(details) = info.details() {
                row.model_asked.clone_from(&details.model_asked);
                row.effort.clone_from(&details.effort);
                if row.session.is_none() {
                    row.session.clone_from(&details.session);
                }
            }
        }
        if let Some(tokens) = tokens {
            row.input_tokens = tokens.input;
            row.cached_tokens = tokens.cached;
            row.output_tokens = tokens.output;
        }
        if row.outcome.is_empty() {
            row.outcome.push_str(match (tokens.is_some(), ended) {
                (true, _) => "ok",
                (false, Ended::Normally) => "incomplete",
                (false, Ended::CallerLeft) => "cancelled",
            });
        }
        [row.five_hour, row.weekly] = state.live_windows();
        state.ledger().record(row);
    }
}

/// Records the row once, when `pending` is finished or dropped.
struct Once(Option<PendingRow>);

impl Once {
    fn finish(&mut self, ended: Ended) {
        if let Some(pending) = self.0.take() {
            pending.finish(ended);
        }
    }
}

impl Drop for Once {
    fn drop(&mut self) {
        self.finish(Ended::CallerLeft);
    }
}

/// The same body, recording the row when it ends (or is dropped before).
fn record_at_end(body: Body, pending: PendingRow) -> Body {
    let mut once = Once(Some(pending));
    let mut data = body.into_data_stream();
    Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        let next = futures_util::ready!(data.poll_next_unpin(cx));
        if next.is_none() {
            once.finish(Ended::Normally);
        }
        std::task::Poll::Ready(next)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::ErrorKind;

    #[test]
    fn outcomes_name_the_error_kind_in_snake_case() {
        let cases = [
            (ErrorKind::RateLimited, "rate_limited"),
            (ErrorKind::BackendRefused(400), "backend_refused_400"),
            (ErrorKind::StreamEndedEarly, "stream_ended_early"),
        ];
        for (kind, expected) in cases {
            assert_eq!(outcome_of_error(&ApiError::new(kind, "x")), expected);
        }
    }
}
