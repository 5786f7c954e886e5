//! One log line per request: method, path (no query), status, duration, and the error message
//! for failures. Headers and bodies are never logged, so keys and tokens cannot leak here.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::gateway::error::ApiError;

/// Middleware: logs the request once it is answered.
pub async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_millis();
    match response.extensions().get::<ApiError>() {
        Some(error) if status >= 500 => {
            tracing::warn!(%method, %path, status, ms, error = %error.message, "request failed");
        }
        Some(error) => {
            tracing::info!(%method, %path, status, ms, error = %error.message, "request refused");
        }
        None => tracing::info!(%method, %path, status, ms, "request"),
    }
    response
}
