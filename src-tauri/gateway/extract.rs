//! A JSON body extractor whose rejections are [`ApiError`]s, so a malformed body gets a 400 in
//! the caller's own envelope naming the offending field.
//!
//! A large body takes tens of milliseconds to parse (much of it the first touch of fresh memory
//! for its strings), so bodies over [`PARSE_INLINE_MAX`] are parsed on the blocking pool: the
//! async workers keep serving other connections meanwhile, and the request, waiting on the
//! parse, still sees its client leave. hyper then drops the request, so nothing after the parse
//! runs (no translation, no count); the parse itself runs to its end, bounded by
//! `max_body_size`, and its result is thrown away.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// Bodies up to this size are parsed in place: a hop to the blocking pool costs more than they
/// take.
const PARSE_INLINE_MAX: usize = 1024 * 1024;

/// `Json<T>` for request bodies, with errors like
/// `invalid request body: messages[0].content: invalid type: integer `3`, expected …`.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        super::error::ErrorKind::RequestTooLarge,
                        "The request body is larger than the gateway accepts.",
                    )
                } else {
                    ApiError::invalid_request(format!(
                        "Could not read the request body: {}",
                        rejection.body_text()
                    ))
                }
            })?;
        if bytes.len() <= PARSE_INLINE_MAX {
            return parse_body(&bytes).map(ApiJson);
        }
        tokio::task::spawn_blocking(move || parse_body(&bytes))
            .await
            .map_err(|_| ApiError::internal("Reading the request body failed."))?
            .map(ApiJson)
    }
}

/// Parses a JSON body, naming the path of the first bad field.
pub(crate) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid_request(
            "The request body is empty; a JSON object is required.",
        ));
    }
    // Tracking the path costs about a fifth of the parse of a long conversation: it is done only
    // for a body that failed, parsed again (the same bytes fail at the same field).
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path.is_empty() || path == "." {
            ApiError::invalid_request(format!("invalid request body: {inner}"))
        } else {
            ApiError::invalid_request(format!("invalid request body: {path}: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "only deserialised, to provoke errors")]
    struct Body {
        messages: Vec<Message>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "only deserialised, to provoke errors")]
    struct Message {
        role: String,
    }

    #[test]
    fn a_bad_field_is_named_by_its_path() {
        let err = parse_body::<Body>(br#"{"messages":[{"role":"user"},{"role":3}]}"#).unwrap_err();
        assert!(
            err.message
                .starts_with("invalid request body: messages[1].role: invalid type: integer `3`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_bad_block_of_a_request_is_named_by_its_path_and_field() {
        let err = parse_body::<crate::protocol::anthropic::MessagesRequest>(
            br#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ok"},{"type":"tool_result","content":"x","tool_use_id":7}]}]}"#,
        )
        .unwrap_err();
        assert!(
            err.message.starts_with(
                "invalid request body: messages[0].content[1]: tool_use_id: invalid type: integer `7`, expected a string"
            ),
            "{}",
            err.message
        );
    }

    #[test]
    fn an_empty_body_says_so() {
        let err = parse_body::<Body>(b"  ").unwrap_err();
        assert_eq!(
            err.message,
            "The request body is empty; a JSON object is required."
        );
    }
}
