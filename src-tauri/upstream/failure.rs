//! Every mapping from a backend failure to the caller's [`ApiError`], in one place, used the
//! same way by all three APIs: a failed HTTP answer (status + body + headers), an in-stream
//! failure (`response.failed`, an `error` event), and a broken or silent event stream. Who
//! caused the failure decides the status (see `protocol/error.rs`).

use std::time::Duration;

use crate::protocol::error::{ApiError, ErrorKind};
use crate::protocol::responses::{BackendEvent, ErrorBody, StreamEnd};
use crate::upstream::client::UpstreamError;
use crate::upstream::rate_limits::countdown;
use crate::upstream::sse::SseError;

/// The phrase Claude Code looks for to compact the conversation.
const PROMPT_TOO_LONG: &str = "prompt is too long";

/// When a failed HTTP answer says the account's usage limit is reached: seconds until the
/// window resets (an hour when the answer does not say). Used to move new conversations to
/// another account (`switch_when_exhausted`).
pub(crate) fn usage_limit_resets_in(err: &UpstreamError) -> Option<u64> {
    let UpstreamError::Status {
        status,
        message,
        body,
        ..
    } = err
    else {
        return None;
    };
    let error_body: ErrorBody = body
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    let reached = error_body.kind.as_deref() == Some("usage_limit_reached")
        || error_body.code.as_deref() == Some("usage_limit_reached")
        || message.contains("usage_limit_reached");
    (status.as_u16() == 429 && reached).then(|| error_body.resets_in_seconds.unwrap_or(3600))
}

/// A failed HTTP answer (before any stream), or an unreachable backend.
pub(crate) fn from_http(err: &UpstreamError) -> ApiError {
    let (status, message, body, headers) = match err {
        UpstreamError::Status {
            status,
            message,
            body,
            headers,
        } => (status, message, body, headers),
        // The proxy is the user's own configuration and the first thing to check: name it.
        UpstreamError::ProxyUnreachable { proxy, message, .. } => {
            return ApiError::new(
                ErrorKind::BackendUnreachable,
                format!(
                    "The ChatGPT backend cannot be reached through the proxy {proxy}: {message}."
                ),
            );
        }
        UpstreamError::Unreachable { .. } => return ErrorKind::BackendUnreachable.into(),
    };
    let error_body: ErrorBody = body
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(|e| serde_json::from_value(e.clone()).ok())
        .unwrap_or_default();
    let code = error_body
        .kind
        .as_deref()
        .or(error_body.code.as_deref())
        .unwrap_or_default();
    let lower = message.to_ascii_lowercase();
    match status.as_u16() {
        429 | 404 if code == "usage_limit_reached" || lower.contains("usage_limit_reached") => {
            usage_limit(
                error_body
                    .resets_in_seconds
                    .or_else(|| retry_after_header(headers)),
            )
        }
        429 if code == "usage_not_included" => {
            ApiError::new(ErrorKind::QuotaExhausted, message.clone())
        }
        429 => ApiError::rate_limited(
            message.clone(),
            retry_after_header(headers).or_else(|| parse_try_again(message)),
        ),
        401 | 403 => ApiError::sign_in(
            "The ChatGPT backend refused codexia's sign-in. Run `codexia login` to sign in again.",
        ),
        400 if code == "context_length_exceeded"
            || lower.contains("context window")
            || lower.contains("context length") =>
        {
            prompt_too_long(message)
        }
        400 if lower.contains("model is not supported") => ApiError::not_found(message.clone()),
        400 => {
            // The backend refused what codexia translated: codexia's bug, not the caller's.
            tracing::error!(upstream = %message, "the backend rejected a translated request");
            ApiError::translation_rejected(message)
        }
        503 => ApiError::new(
            ErrorKind::Overloaded,
            "The ChatGPT backend is overloaded; try again shortly.",
        ),
        504 => ApiError::new(ErrorKind::Timeout, "The ChatGPT backend timed out."),
        s if (400..500).contains(&s) => {
            ApiError::new(ErrorKind::BackendRefused(s), message.clone())
        }
        s => ApiError::upstream(format!("The ChatGPT backend failed (HTTP {s}): {message}")),
    }
}

/// An in-stream failure: the error object of `response.failed` or of an `error` event.
pub(crate) fn from_stream(error: &ErrorBody) -> ApiError {
    let code = error
        .code
        .as_deref()
        .or(error.kind.as_deref())
        .unwrap_or_default();
    let message = error
        .message
        .clone()
        .unwrap_or_else(|| "The ChatGPT backend could not complete the response.".to_owned());
    match code {
        "context_length_exceeded" => prompt_too_long(&message),
        "usage_limit_reached" => usage_limit(error.resets_in_seconds),
        "rate_limit_exceeded" => ApiError::rate_limited(message.clone(), parse_try_again(&message)),
        "insufficient_quota" | "usage_not_included" => {
            ApiError::new(ErrorKind::QuotaExhausted, message)
        }
        "server_is_overloaded" | "slow_down" => ApiError::new(ErrorKind::Overloaded, message),
        "invalid_request_error"
        | "invalid_prompt"
        | "invalid_value"
        | "invalid_encrypted_content" => ApiError::invalid_request(message),
        _ => ApiError::upstream(message),
    }
}

/// The failure an event carries, if it ends the stream as a failure (`response.failed`, an
/// `error` event); the same reading the upstream reader applies (`BackendEvent::end`).
pub(crate) fn from_event(event: &impl BackendEvent) -> Option<ApiError> {
    match event.end() {
        StreamEnd::Fails(error) => Some(from_stream(&error)),
        StreamEnd::Continues | StreamEnd::Ends => None,
    }
}

/// A broken, silent or unreadable event stream.
pub(crate) fn from_sse(err: &SseError) -> ApiError {
    match err {
        SseError::Idle(after) => idle(*after),
        SseError::Transport(_) => {
            ApiError::upstream("The connection to the ChatGPT backend broke mid-response.")
        }
        SseError::Parse(_) => {
            ApiError::upstream("The ChatGPT backend sent an unreadable event stream.")
        }
    }
}

/// An event whose JSON is not what the backend sends.
pub(crate) fn unreadable_event() -> ApiError {
    ApiError::upstream("The ChatGPT backend sent an unreadable event.")
}

/// The backend said nothing for `after`.
pub(crate) fn idle(after: Duration) -> ApiError {
    ApiError::new(
        ErrorKind::Timeout,
        format!(
            "The ChatGPT backend sent nothing for {} seconds; the response was abandoned.",
            after.as_secs()
        ),
    )
}

fn prompt_too_long(detail: &str) -> ApiError {
    ApiError::new(
        ErrorKind::PromptTooLong,
        format!("{PROMPT_TOO_LONG}: {detail}"),
    )
}

fn usage_limit(resets_in: Option<u64>) -> ApiError {
    let message = match resets_in {
        Some(seconds) => format!(
            "Your ChatGPT usage limit has been reached; it resets in {}. `codexia status` shows your limits.",
            countdown(i64::try_from(seconds).unwrap_or(i64::MAX))
        ),
        None => "Your ChatGPT usage limit has been reached. `codexia status` shows when it resets."
            .to_owned(),
    };
    ApiError {
        // Hours away: tell SDKs not to retry; a short wait is worth retrying.
        no_retry: resets_in.is_none_or(|s| s > 60),
        ..ApiError::rate_limited(message, resets_in.map(|s| s.max(1)))
    }
}

/// Seconds from "… try again in 11.054s" / "in 28ms" / "in 35 seconds".
pub(crate) fn parse_try_again(message: &str) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("try again in ")? + "try again in ".len()..];
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let value: f64 = number.parse().ok()?;
    let unit = rest[number.len()..].trim_start();
    let seconds = if unit.starts_with("ms") {
        value / 1000.0
    } else {
        value
    };
    // Saturating float-to-int conversion of a small positive value.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to 0..=86400"
    )]
    let whole = seconds.ceil().clamp(0.0, 86_400.0) as u64;
    Some(whole.max(1))
}

fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::{Cause, Dialect};
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};

    fn status_error(status: u16, body: Value) -> UpstreamError {
        let message = crate::upstream::client::error_message(&body).unwrap_or_default();
        UpstreamError::Status {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            message,
            body: Some(body),
            headers: reqwest::header::HeaderMap::new(),
        }
    }

    #[test]
    #[expect(clippy::unreadable_literal, reason = "a real timestamp")]
    fn a_usage_limit_is_a_429_with_retry_after_and_the_reset_time() {
        let err = from_http(&status_error(
            429,
            json!({"error":{"type":"usage_limit_reached","message":"The usage limit has been reached","plan_type":"pro","resets_at":1787196550,"resets_in_seconds":8658}}),
        ));
        assert_eq!(err.kind, ErrorKind::RateLimited);
        assert_eq!(err.retry_after, Some(8658));
        assert!(err.no_retry);
        assert_eq!(
            err.message,
            "Your ChatGPT usage limit has been reached; it resets in 2h 24m. `codexia status` shows your limits."
        );
    }

    #[test]
    fn context_length_failures_say_prompt_is_too_long() {
        let err = from_stream(&ErrorBody {
            code: Some("context_length_exceeded".into()),
            message: Some("Your input exceeds the context window of this model.".into()),
            ..ErrorBody::default()
        });
        assert_eq!(err.kind, ErrorKind::PromptTooLong);
        assert_eq!(err.status(Dialect::Anthropic), 400);
        assert!(err.message.starts_with("prompt is too long: "));
    }

    #[test]
    fn a_backend_400_on_a_translated_request_is_a_502_naming_codexia() {
        let err = from_http(&status_error(
            400,
            json!({"detail":"Unsupported parameter: temperature"}),
        ));
        assert_eq!(err.kind, ErrorKind::TranslationRejected);
        assert_eq!(err.cause(), Cause::Codexia);
        assert_eq!(err.status(Dialect::OpenAi), 502);
        assert!(err.message.contains("codexia bug"), "{}", err.message);
        assert!(err.message.ends_with("Unsupported parameter: temperature"));
    }

    #[test]
    fn unsupported_models_overload_and_server_errors_map_by_cause() {
        let err = from_http(&status_error(
            400,
            json!({"detail":"The 'gpt-5.3-codex' model is not supported when using Codex with a ChatGPT account."}),
        ));
        assert_eq!(err.kind, ErrorKind::NotFound);
        let err = from_http(&status_error(
            503,
            json!({"error":{"code":"server_is_overloaded"}}),
        ));
        assert_eq!(err.kind, ErrorKind::Overloaded);
        let err = from_http(&status_error(500, json!({"error":{"message":"boom"}})));
        assert_eq!(err.status(Dialect::OpenAi), 502);
        let err = from_http(&status_error(409, json!({"error":{"message":"conflict"}})));
        assert_eq!(
            (err.status(Dialect::Anthropic), err.cause()),
            (409, Cause::Backend)
        );
    }

    #[test]
    fn retry_delays_are_read_from_the_message() {
        assert_eq!(
            parse_try_again("Please try again in 11.054s. Visit"),
            Some(12)
        );
        assert_eq!(parse_try_again("try again in 28ms"), Some(1));
        assert_eq!(parse_try_again("Try again in 35 seconds"), Some(35));
        assert_eq!(parse_try_again("no hint"), None);
    }
}
