//! The local API key: when one is configured, every route but `/health` needs
//! `Authorization: Bearer KEY` or `x-api-key: KEY`, compared in constant time. The scheme
//! name is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` work too.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::gateway::error::ApiError;
use crate::gateway::state::AppState;

/// Whether the request carries the key.
pub(crate) fn presents_key(headers: &HeaderMap, key: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let x_api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    [bearer, x_api_key]
        .into_iter()
        .flatten()
        .any(|given| bool::from(given.as_bytes().ct_eq(key.as_bytes())))
}

/// The token of `Bearer TOKEN`, whatever the case of the scheme and however many spaces
/// follow it.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: refuses requests without the configured key.
pub(crate) async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(key) = state.api_key()
        && request.uri().path() != "/health"
        && !presents_key(request.headers(), key.expose())
    {
        return ApiError::authentication(
            "Missing or invalid API key: send the gateway's key as `Authorization: Bearer KEY` or `x-api-key: KEY`.",
        )
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_and_x_api_key_are_both_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!presents_key(&headers, "k1"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k1"));
        assert!(presents_key(&headers, "k1"));
        assert!(!presents_key(&headers, "k2"));
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k2"));
        assert!(presents_key(&headers, "k2"));
        assert!(!presents_key(&headers, "k"));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["BEARER k1", "bearer k1", "BeArEr   k1", "Bearer\tk1"] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert!(presents_key(&headers, "k1"), "{value}");
        }
        for value in ["Basic k1", "Bearerk1", "k1"] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert!(!presents_key(&headers, "k1"), "{value}");
        }
    }
}
