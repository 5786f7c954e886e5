//! The gateway's one error type, rendered in the caller's dialect.
//!
//! Handlers and middleware return [`ApiError`]; its `IntoResponse` writes the OpenAI envelope
//! and keeps the error in the response extensions. [`render_in_dialect`] (a middleware wrapping
//! every route) rewrites the body in the Anthropic envelope for Anthropic callers, and
//! `log_request` logs the message from the same extension. Bodies never carry internal detail.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The API format a caller speaks, which decides the error envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Anthropic,
    OpenAi,
}

impl Dialect {
    /// Anthropic for `/v1/messages…` and for any request carrying `anthropic-version`.
    pub fn for_request(path: &str, headers: &HeaderMap) -> Self {
        if path.starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
            Self::Anthropic
        } else {
            Self::OpenAi
        }
    }
}

/// What went wrong, which decides the status and the error `type` in both dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or asks for something impossible (400).
    InvalidRequest,
    /// Missing or wrong local API key, or the account must sign in again (401).
    Authentication,
    /// Refused by a guard (403).
    PermissionDenied,
    /// No such route or model (404).
    NotFound,
    /// Wrong method for the route (405).
    MethodNotAllowed,
    /// Body over the limit (413).
    RequestTooLarge,
    /// Usage or rate limit (429).
    RateLimited,
    /// The plan does not include this use, or credits ran out (Anthropic 402, OpenAI 429).
    QuotaExhausted,
    /// The backend is overloaded (529 for Anthropic callers, 503 for OpenAI callers).
    Overloaded,
    /// The backend failed or answered something unusable (502).
    Upstream,
    /// The backend did not answer in time (504).
    Timeout,
    /// A bug or local failure (500).
    Internal,
}

/// An error answered to an API caller.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    /// One or two sentences for the caller; never secrets or internal detail.
    pub message: String,
    /// Seconds for the `retry-after` header (429).
    pub retry_after: Option<u64>,
    /// Overrides the status derived from `kind` (e.g. an upstream 4xx passed through).
    pub status: Option<StatusCode>,
    /// `x-should-retry: false` for errors that retrying cannot fix soon (a usage limit that
    /// resets in hours), so SDK retry loops stop at once.
    pub no_retry: bool,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retry_after: None,
            status: None,
            no_retry: false,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    pub fn authentication(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Authentication, message)
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn rate_limited(message: impl Into<String>, retry_after: Option<u64>) -> Self {
        Self {
            retry_after,
            ..Self::new(ErrorKind::RateLimited, message)
        }
    }

    pub fn upstream(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Upstream, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// The HTTP status for a dialect.
    pub fn status(&self, dialect: Dialect) -> StatusCode {
        if let Some(status) = self.status {
            return status;
        }
        match self.kind {
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Authentication => StatusCode::UNAUTHORIZED,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::QuotaExhausted => match dialect {
                Dialect::Anthropic => StatusCode::PAYMENT_REQUIRED,
                Dialect::OpenAi => StatusCode::TOO_MANY_REQUESTS,
            },
            ErrorKind::Overloaded => match dialect {
                // Anthropic's own overload status; Claude Code retries it.
                Dialect::Anthropic => {
                    StatusCode::from_u16(529).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
                }
                Dialect::OpenAi => StatusCode::SERVICE_UNAVAILABLE,
            },
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The Anthropic error `type`.
    fn anthropic_type(&self) -> &'static str {
        match self.kind {
            ErrorKind::InvalidRequest | ErrorKind::MethodNotAllowed => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::QuotaExhausted => "billing_error",
            ErrorKind::Overloaded => "overloaded_error",
            ErrorKind::Timeout => "timeout_error",
            ErrorKind::Upstream | ErrorKind::Internal => "api_error",
        }
    }

    /// The OpenAI error `type` and `code`.
    fn openai_type_and_code(&self) -> (&'static str, Option<&'static str>) {
        match self.kind {
            ErrorKind::InvalidRequest => ("invalid_request_error", None),
            ErrorKind::MethodNotAllowed => ("invalid_request_error", Some("method_not_allowed")),
            ErrorKind::Authentication => ("authentication_error", Some("invalid_api_key")),
            ErrorKind::PermissionDenied => ("permission_error", Some("forbidden")),
            ErrorKind::NotFound => ("invalid_request_error", Some("not_found")),
            ErrorKind::RequestTooLarge => ("invalid_request_error", Some("request_too_large")),
            ErrorKind::RateLimited => ("rate_limit_error", Some("rate_limit_exceeded")),
            ErrorKind::QuotaExhausted => ("insufficient_quota", Some("insufficient_quota")),
            ErrorKind::Overloaded => ("server_error", Some("server_is_overloaded")),
            ErrorKind::Timeout => ("server_error", Some("timeout")),
            ErrorKind::Upstream | ErrorKind::Internal => ("server_error", None),
        }
    }

    /// The JSON body in a dialect.
    pub fn body(&self, dialect: Dialect) -> serde_json::Value {
        match dialect {
            Dialect::Anthropic => json!({
                "type": "error",
                "error": {"type": self.anthropic_type(), "message": self.message},
            }),
            Dialect::OpenAi => {
                let (kind, code) = self.openai_type_and_code();
                json!({"error": {"message": self.message, "type": kind, "param": null, "code": code}})
            }
        }
    }

    /// The full response in a dialect. Anthropic errors carry a request id, in the body and
    /// in the `request-id` header, as Anthropic's do (the SDKs show it).
    pub fn to_response(&self, dialect: Dialect) -> Response {
        let mut body = self.body(dialect);
        let request_id = (dialect == Dialect::Anthropic).then(request_id);
        if let (Some(id), Some(object)) = (&request_id, body.as_object_mut()) {
            object.insert("request_id".to_owned(), json!(id));
        }
        let mut response = (self.status(dialect), axum::Json(body)).into_response();
        if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            response.headers_mut().insert("request-id", value);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.no_retry {
            response
                .headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        if dialect == Dialect::Anthropic && self.kind == ErrorKind::RateLimited {
            // Claude Code reads this to stop its retry loop on a subscription quota.
            response.headers_mut().insert(
                "anthropic-ratelimit-unified-status",
                HeaderValue::from_static("rejected"),
            );
        }
        response.extensions_mut().insert(self.clone());
        response
    }
}

/// A fresh `req_…` id (Anthropic sends one on every response).
pub fn request_id() -> String {
    let mut bytes = [0_u8; 12];
    // Without randomness the id is still well-formed; it only identifies a request in logs.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("req_{hex}")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The OpenAI envelope by default; `render_in_dialect` rewrites it for Anthropic callers.
        self.to_response(Dialect::OpenAi)
    }
}

/// Middleware: renders any [`ApiError`] produced further in (handler, extractor, guard,
/// fallback) in the caller's dialect.
pub async fn render_in_dialect(request: Request, next: Next) -> Response {
    let dialect = Dialect::for_request(request.uri().path(), request.headers());
    let response = next.run(request).await;
    if dialect == Dialect::OpenAi {
        return response;
    }
    match response.extensions().get::<ApiError>() {
        Some(error) => error.to_response(dialect),
        None => response,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn anthropic_errors_use_the_anthropic_envelope() {
        let err = ApiError::rate_limited("Usage limit reached; resets at 21:41.", Some(60));
        assert_eq!(
            err.body(Dialect::Anthropic),
            json!({"type":"error","error":{"type":"rate_limit_error","message":"Usage limit reached; resets at 21:41."}})
        );
        let response = err.to_response(Dialect::Anthropic);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "60");
        let id = response.headers()["request-id"].to_str().unwrap();
        assert!(id.starts_with("req_") && id.len() == 28, "{id}");
    }

    #[test]
    fn openai_errors_use_the_openai_envelope() {
        let err = ApiError::authentication("Invalid API key.");
        assert_eq!(
            err.body(Dialect::OpenAi),
            json!({"error":{"message":"Invalid API key.","type":"authentication_error","param":null,"code":"invalid_api_key"}})
        );
        assert_eq!(err.status(Dialect::OpenAi), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn overload_is_529_for_anthropic_and_503_for_openai() {
        let err = ApiError::new(ErrorKind::Overloaded, "busy");
        assert_eq!(err.status(Dialect::Anthropic).as_u16(), 529);
        assert_eq!(err.status(Dialect::OpenAi).as_u16(), 503);
    }

    #[test]
    fn dialect_follows_the_route_and_the_anthropic_version_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            Dialect::for_request("/v1/messages/count_tokens", &headers),
            Dialect::Anthropic
        );
        assert_eq!(
            Dialect::for_request("/v1/models", &headers),
            Dialect::OpenAi
        );
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        assert_eq!(
            Dialect::for_request("/v1/models", &headers),
            Dialect::Anthropic
        );
    }
}
