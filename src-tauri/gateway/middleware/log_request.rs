//! One log line per request: method, path (no query), status, duration, and the error message
//! for failures; and a record in the recent-requests ring. Headers and bodies are never logged,
//! so keys and tokens cannot leak here.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::gateway::error::{ApiError, ErrorKind};
use crate::gateway::recent::{RequestInfo, RequestRecord};
use crate::gateway::state::AppState;
use crate::protocol::error::Cause;

/// Middleware: logs the request once it is answered and remembers it.
pub(crate) async fn log_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
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
    if path != "/health" {
        let info = response.extensions().get::<RequestInfo>();
        state.0.recent.push(
            RequestRecord {
                at: chrono::Local::now(),
                route: format!("{method} {path}"),
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
    }
    response
}
