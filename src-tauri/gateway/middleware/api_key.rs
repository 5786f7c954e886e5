//! The local API key: when one is configured (the single `api_key`, or named `api_keys`), every
//! route but `/health` needs `Authorization: Bearer KEY` or `x-api-key: KEY`, compared in
//! constant time. A named key's name goes into the response extensions ([`KeyName`]), where
//! the request log finds the client of the usage ledger. The scheme name is case-insensitive
//! (RFC 9110 §11.1): `bearer` and `BEARER` work too.

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

/// The name of the named API key a request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyName(pub String);

/// Which configured key the request presents: `Some(None)` the single key, `Some(Some(name))`
/// a named one, `None` none of them. Every key is compared, so the time does not tell which.
#[expect(
    clippy::option_option,
    reason = "no key presented, the single key (no name), or a named key"
)]
pub(crate) fn presented_key<'a>(
    headers: &HeaderMap,
    single: Option<&str>,
    named: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<Option<&'a str>> {
    let mut found = single
        .filter(|key| presents_key(headers, key))
        .map(|_| None);
    for (name, key) in named {
        if presents_key(headers, key) && found.is_none() {
            found = Some(Some(name));
        }
    }
    found
}

/// The token of `Bearer TOKEN`, whatever the case of the scheme and however many spaces
/// follow it.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Middleware: refuses requests without a configured key.
pub(crate) async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let settings = &state.0.settings;
    if !settings.requires_key() || request.uri().path() == "/health" {
        return next.run(request).await;
    }
    let named = settings
        .api_keys
        .value
        .iter()
        .map(|(name, key)| (name.as_str(), key.expose()));
    let Some(presented) = presented_key(
        request.headers(),
        state.api_key().map(crate::settings::ApiKey::expose),
        named,
    ) else {
        return ApiError::authentication(
            "Missing or invalid API key: send the gateway's key as `Authorization: Bearer KEY` or `x-api-key: KEY`.",
        )
        .into_response();
    };
    let name = presented.map(|name| KeyName(name.to_owned()));
    let mut request = request;
    if let Some(name) = &name {
        // For what depends on the key: the account router (a named key may be bound to an
        // account) and the inspector's admin check.
        request.extensions_mut().insert(name.clone());
    }
    let mut response = next.run(request).await;
    if let Some(name) = name {
        response.extensions_mut().insert(name);
    }
    response
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
    fn a_named_key_is_told_apart_from_the_single_key() {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("k-laptop"));
        let named = [("laptop", "k-laptop"), ("phone", "k-phone")];
        assert_eq!(
            presented_key(&headers, Some("k-main"), named),
            Some(Some("laptop"))
        );
        headers.insert("x-api-key", HeaderValue::from_static("k-main"));
        assert_eq!(presented_key(&headers, Some("k-main"), named), Some(None));
        headers.insert("x-api-key", HeaderValue::from_static("k-other"));
        assert_eq!(presented_key(&headers, Some("k-main"), named), None);
        assert_eq!(presented_key(&headers, None, []), None);
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
