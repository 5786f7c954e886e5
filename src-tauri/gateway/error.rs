//! Renders the one error model ([`ApiError`], `protocol/error.rs`) as an HTTP response in the
//! caller's dialect. Nothing here decides a status or a message.
//!
//! Handlers and middleware return [`ApiError`]; its `IntoResponse` writes the OpenAI envelope
//! and keeps the error in the response extensions. [`render_in_dialect`] (a middleware wrapping
//! every route) rewrites the body in the Anthropic envelope for Anthropic callers, and
//! `log_request` logs the message from the same extension.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub(crate) use crate::protocol::error::{ApiError, Dialect, ErrorKind};

/// Anthropic for `/v1/messages…` and for any request carrying `anthropic-version`.
pub(crate) fn dialect_of(path: &str, headers: &HeaderMap) -> Dialect {
    if path.starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

/// The full response in a dialect. Anthropic errors carry a request id, in the body and in the
/// `request-id` header, as Anthropic's do (the SDKs show it).
pub(crate) fn render(error: &ApiError, dialect: Dialect) -> Response {
    let request_id = (dialect == Dialect::Anthropic).then(request_id);
    let body = error.body_json(dialect, request_id.clone());
    let status =
        StatusCode::from_u16(error.status(dialect)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert("request-id", value);
    }
    if let Some(seconds) = error.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if error.no_retry {
        headers.insert("x-should-retry", HeaderValue::from_static("false"));
    }
    if dialect == Dialect::Anthropic && error.kind == ErrorKind::RateLimited {
        // Claude Code reads this to stop its retry loop on a subscription quota.
        headers.insert(
            "anthropic-ratelimit-unified-status",
            HeaderValue::from_static("rejected"),
        );
    }
    response.extensions_mut().insert(error.clone());
    response
}

/// A fresh `req_…` id (Anthropic sends one on every response).
pub(crate) fn request_id() -> String {
    let mut bytes = [0_u8; 12];
    // Without randomness the id is still well-formed; it only identifies a request in logs.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("req_{hex}")
}

/// `request-id: req_…` for successful Anthropic answers.
pub(crate) fn request_id_header() -> HeaderValue {
    HeaderValue::from_str(&request_id()).unwrap_or(HeaderValue::from_static("req_codexia"))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The OpenAI envelope by default; `render_in_dialect` rewrites it for Anthropic callers.
        render(&self, Dialect::OpenAi)
    }
}

/// Middleware: renders any [`ApiError`] produced further in (handler, extractor, guard,
/// fallback) in the caller's dialect.
pub(crate) async fn render_in_dialect(request: Request, next: Next) -> Response {
    let dialect = dialect_of(request.uri().path(), request.headers());
    let response = next.run(request).await;
    if dialect == Dialect::OpenAi {
        return response;
    }
    let Some(error) = response.extensions().get::<ApiError>() else {
        return response;
    };
    let mut rendered = render(error, dialect);
    // What codexia says about the request (`x-codexia-account`) survives the rendering.
    for (name, value) in response.headers() {
        if name.as_str().starts_with("x-codexia-") {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn an_anthropic_rate_limit_carries_retry_after_a_request_id_and_the_rejected_status() {
        let err = ApiError::rate_limited("Usage limit reached; resets at 21:41.", Some(60));
        let response = render(&err, Dialect::Anthropic);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "60");
        assert_eq!(
            response.headers()["anthropic-ratelimit-unified-status"],
            "rejected"
        );
        let id = response.headers()["request-id"].to_str().unwrap();
        assert!(id.starts_with("req_") && id.len() == 28, "{id}");
    }

    #[test]
    fn openai_errors_carry_no_request_id() {
        let response = render(
            &ApiError::authentication("Invalid API key."),
            Dialect::OpenAi,
        );
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(!response.headers().contains_key("request-id"));
    }

    #[test]
    fn dialect_follows_the_route_and_the_anthropic_version_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            dialect_of("/v1/messages/count_tokens", &headers),
            Dialect::Anthropic
        );
        assert_eq!(dialect_of("/v1/models", &headers), Dialect::OpenAi);
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        assert_eq!(dialect_of("/v1/models", &headers), Dialect::Anthropic);
    }
}
