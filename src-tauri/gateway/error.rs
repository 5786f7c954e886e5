//! Renders the one error model ([`ApiError`], `protocol/error.rs`) as an HTTP response in the
//! caller's dialect. Nothing here decides a status or a message.
//!
//! Handlers and middleware return [`ApiError`]; its `IntoResponse` writes the OpenAI envelope
//! and keeps the error in the response extensions. [`render_in_dialect`] (a middleware wrapping
//! every route) rewrites the body in the Anthropic envelope for Anthropic callers, and
//! `log_request` logs the message from the same extension.

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

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
    let request_id = (dialect == Dialect::Anthropic).then(|| random_id("req_"));
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

/// `prefix` and 24 hex digits (`req_…`, `chatcmpl-…`): an id that names a request or an
/// answer in logs, unique in the process and not guessable from the ones before it. Each is
/// a counter mixed (splitmix64) with a seed the OS gave once, so that no request waits for a
/// `getrandom` call (about a microsecond each, a tenth of a small request's setup).
pub(crate) fn random_id(prefix: &str) -> String {
    static SEED: LazyLock<u64> =
        LazyLock::new(|| getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let high = mix(SEED.wrapping_add(n.wrapping_mul(2)));
    let low = mix(SEED.wrapping_add(n.wrapping_mul(2).wrapping_add(1))) >> 32;
    let mut id = String::with_capacity(prefix.len() + 24);
    id.push_str(prefix);
    let _ = write!(id, "{high:016x}{low:08x}");
    id
}

/// `request-id: req_…` for successful Anthropic answers.
pub(crate) fn request_id_header() -> HeaderValue {
    HeaderValue::from_str(&random_id("req_")).unwrap_or(HeaderValue::from_static("req_codexia"))
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
    fn ids_are_24_hex_digits_after_their_prefix_and_never_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| random_id("chatcmpl-")).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let hex = id.strip_prefix("chatcmpl-").unwrap();
            assert!(
                hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
        }
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
