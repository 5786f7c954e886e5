//! Connects handlers to the backend: credentials (refreshed when needed, and once after a
//! 401), the POST, the rate-limit headers of every answer, the SSE reader, and the mapping of
//! every upstream failure to an [`ApiError`] (who caused it decides the status).
//!
//! The event stream ends at the terminal event: `response.completed`/`incomplete` end it
//! normally; `response.failed`, an `error` event, an idle upstream and an early end of the body
//! come out as one final `Err(ApiError)`. Translators therefore see a well-formed sequence.

use std::pin::Pin;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use super::error::{ApiError, ErrorKind};
use super::state::AppState;
use crate::protocol::responses::{ErrorBody, ResponsesEvent, ResponsesRequest};
use crate::translate::SseFrame;
use crate::upstream::client::UpstreamError;
use crate::upstream::sse::{self, SseError, SseEvent};

/// Longest silence tolerated from the backend mid-stream. Long reasoning without summaries can
/// be quiet for minutes; a dead connection must still end.
pub const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Parsed backend events, ending at the terminal one.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ResponsesEvent, ApiError>> + Send>>;

/// Parsed events with their raw JSON (for the `/v1/responses` pass-through).
pub type RawEventStream =
    Pin<Box<dyn Stream<Item = Result<(ResponsesEvent, Value), ApiError>> + Send>>;

/// Opens a backend stream for a typed request.
pub async fn open_responses_stream(
    state: &AppState,
    request: &ResponsesRequest,
    session_id: Option<&str>,
) -> Result<EventStream, ApiError> {
    let body = serde_json::to_value(request)
        .map_err(|_| ApiError::internal("The request could not be encoded for the backend."))?;
    let raw = open_raw_stream(state, &body, session_id).await?;
    Ok(Box::pin(raw.map(|item| item.map(|(event, _)| event))))
}

/// Opens a backend stream for a JSON body.
pub async fn open_raw_stream(
    state: &AppState,
    body: &Value,
    session_id: Option<&str>,
) -> Result<RawEventStream, ApiError> {
    let auth = state.auth();
    let credentials = auth.credentials().await?;
    let upstream = &state.0.upstream;
    let first = upstream
        .post_responses(credentials.backend_auth(), session_id, body)
        .await;
    let response = match first {
        Ok(response) => response,
        Err(UpstreamError::Status {
            status: reqwest::StatusCode::UNAUTHORIZED,
            headers,
            ..
        }) => {
            // The token was refused although it looked valid: refresh once and retry once.
            state.observe_upstream_headers(&headers);
            tracing::info!("the backend refused the access token; refreshing it once");
            let fresh = auth
                .refresh_after_unauthorized(&credentials.access_token)
                .await?;
            upstream
                .post_responses(fresh.backend_auth(), session_id, body)
                .await
                .map_err(|err| failed_answer(state, &err))?
        }
        Err(err) => return Err(failed_answer(state, &err)),
    };
    state.observe_upstream_headers(response.headers());
    Ok(until_terminal(sse::response_events(
        response,
        UPSTREAM_IDLE_TIMEOUT,
    )))
}

/// Records the headers of a failed answer and maps it.
fn failed_answer(state: &AppState, err: &UpstreamError) -> ApiError {
    if let UpstreamError::Status { headers, .. } = err {
        state.observe_upstream_headers(headers);
    }
    map_upstream_error(err)
}

/// Parses events and stops at the terminal one.
fn until_terminal(events: sse::SseStream) -> RawEventStream {
    let stream = futures_util::stream::unfold(Some(events), |state| async move {
        let mut events = state?;
        loop {
            let item = match events.next().await {
                None => Err(ApiError::upstream(
                    "The ChatGPT backend ended the stream before the response was complete.",
                )),
                Some(Err(err)) => Err(map_sse_error(&err)),
                Some(Ok(SseEvent { data, .. })) => {
                    let data = data.trim();
                    if data.is_empty() || data == "[DONE]" {
                        continue;
                    }
                    match parse_event(data) {
                        Ok(parsed) => Ok(parsed),
                        Err(()) => Err(ApiError::upstream(
                            "The ChatGPT backend sent an unreadable event.",
                        )),
                    }
                }
            };
            return match item {
                Ok((event, raw)) => match &event {
                    ResponsesEvent::Completed { .. } | ResponsesEvent::Incomplete { .. } => {
                        Some((Ok((event, raw)), None))
                    }
                    ResponsesEvent::Failed { response } => Some((
                        Err(map_stream_failure(
                            response.error.as_ref().unwrap_or(&ErrorBody::default()),
                        )),
                        None,
                    )),
                    ResponsesEvent::Error {
                        code,
                        message,
                        error,
                    } => {
                        let body = error.clone().unwrap_or_else(|| ErrorBody {
                            code: code.clone(),
                            message: message.clone(),
                            ..ErrorBody::default()
                        });
                        Some((Err(map_stream_failure(&body)), None))
                    }
                    _ => Some((Ok((event, raw)), Some(events))),
                },
                Err(err) => Some((Err(err), None)),
            };
        }
    });
    Box::pin(stream)
}

fn parse_event(data: &str) -> Result<(ResponsesEvent, Value), ()> {
    let raw: Value = serde_json::from_str(data).map_err(|_| ())?;
    let event = serde_json::from_value(raw.clone()).map_err(|_| ())?;
    Ok((event, raw))
}

fn map_sse_error(err: &SseError) -> ApiError {
    match err {
        SseError::Idle(after) => ApiError::new(
            ErrorKind::Timeout,
            format!(
                "The ChatGPT backend sent nothing for {} seconds; the response was abandoned.",
                after.as_secs()
            ),
        ),
        SseError::Transport(_) => {
            ApiError::upstream("The connection to the ChatGPT backend broke mid-response.")
        }
        SseError::Parse(_) => {
            ApiError::upstream("The ChatGPT backend sent an unreadable event stream.")
        }
    }
}

/// The phrase Claude Code looks for to compact the conversation.
const PROMPT_TOO_LONG: &str = "prompt is too long";

fn context_too_long(detail: &str) -> ApiError {
    ApiError::invalid_request(format!("{PROMPT_TOO_LONG}: {detail}"))
}

fn usage_limit(resets_in: Option<u64>) -> ApiError {
    let message = match resets_in {
        Some(seconds) => format!(
            "Your ChatGPT usage limit has been reached; it resets in {}. `codexia status` shows your limits.",
            crate::status::countdown(i64::try_from(seconds).unwrap_or(i64::MAX))
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
pub fn parse_try_again(message: &str) -> Option<u64> {
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

/// Maps an in-stream failure (`response.failed`, `error` event).
pub fn map_stream_failure(error: &ErrorBody) -> ApiError {
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
        "context_length_exceeded" => context_too_long(&message),
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

/// Maps a failed HTTP answer (before any stream) or an unreachable backend.
pub fn map_upstream_error(err: &UpstreamError) -> ApiError {
    let UpstreamError::Status {
        status,
        message,
        body,
        headers,
    } = err
    else {
        return ApiError::upstream(
            "The ChatGPT backend cannot be reached; check the network connection.",
        );
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
                    .or_else(|| header_seconds(headers)),
            )
        }
        429 if code == "usage_not_included" => {
            ApiError::new(ErrorKind::QuotaExhausted, message.clone())
        }
        429 => ApiError::rate_limited(
            message.clone(),
            header_seconds(headers).or_else(|| parse_try_again(message)),
        ),
        401 | 403 => ApiError::authentication(
            "The ChatGPT backend refused codexia's sign-in. Run `codexia login` to sign in again.",
        ),
        400 if code == "context_length_exceeded"
            || lower.contains("context window")
            || lower.contains("context length") =>
        {
            context_too_long(message)
        }
        400 if lower.contains("model is not supported") => ApiError::not_found(message.clone()),
        400 => {
            // Our translation produced something the backend refuses: a gateway bug.
            tracing::error!(upstream = %message, "the backend rejected a translated request");
            ApiError::invalid_request(message.clone())
        }
        503 => ApiError::new(
            ErrorKind::Overloaded,
            "The ChatGPT backend is overloaded; try again shortly.",
        ),
        504 => ApiError::new(ErrorKind::Timeout, "The ChatGPT backend timed out."),
        s if (400..500).contains(&s) => ApiError {
            status: StatusCode::from_u16(s).ok(),
            ..ApiError::invalid_request(message.clone())
        },
        s => ApiError::upstream(format!("The ChatGPT backend failed (HTTP {s}): {message}")),
    }
}

fn header_seconds(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// An SSE response whose body is written frame by frame as `frames` yields them; with `ping`,
/// the ping frame is written whenever `ping.0` passes without a frame.
/// Longest wait for the first content before committing the 200 (after that, pings or
/// keep-alive comments cover the silence, and failures are written into the stream).
pub const COMMIT_AFTER: Duration = Duration::from_secs(5);

/// Interval of keep-alive frames while the upstream is silent (Claude Code shows "Waiting for
/// API response" after ~20 s without bytes; LiteLLM pings after 15 s; proxies drop idle
/// connections after 30–60 s).
pub const PING_EVERY: Duration = Duration::from_secs(10);

/// Reads upstream events into `machine` until it has something to show (`ready`) or until
/// [`COMMIT_AFTER`] passes, so that a failure before any content is still a real HTTP error
/// with its status. Answers the frames translated so far, to be sent first.
pub async fn read_ahead<M, T>(
    machine: &mut M,
    events: &mut Pin<Box<dyn Stream<Item = Result<T, ApiError>> + Send>>,
    push: impl Fn(&mut M, &T) -> Vec<SseFrame>,
    ready: impl Fn(&M) -> bool,
) -> Result<Vec<SseFrame>, ApiError> {
    let mut buffered = Vec::new();
    let deadline = tokio::time::Instant::now() + COMMIT_AFTER;
    while !ready(machine) {
        match tokio::time::timeout_at(deadline, events.next()).await {
            // Waited long enough: commit; keep-alive frames cover the silence.
            Err(_) => break,
            // Ended without a terminal event and without content: an HTTP error.
            Ok(None) => {
                return Err(ApiError::upstream(
                    "The ChatGPT backend ended the stream before the response was complete.",
                ));
            }
            Ok(Some(Err(error))) => return Err(error),
            Ok(Some(Ok(event))) => buffered.extend(push(machine, &event)),
        }
    }
    Ok(buffered)
}

/// The SSE comment OpenAI streams carry while the backend is silent (OpenAI's stream has no
/// ping event; every SSE reader, the OpenAI SDKs' included, skips comments).
pub fn keep_alive() -> Option<(Duration, SseFrame)> {
    Some((PING_EVERY, SseFrame::comment("keep-alive")))
}

pub fn sse_response(
    frames: impl Stream<Item = SseFrame> + Send + 'static,
    ping: Option<(Duration, SseFrame)>,
) -> Response {
    let frames = Box::pin(frames);
    let body = futures_util::stream::unfold((frames, ping), |(mut frames, ping)| async move {
        let frame = match &ping {
            None => frames.next().await?,
            Some((every, ping_frame)) => match tokio::time::timeout(*every, frames.next()).await {
                Ok(next) => next?,
                Err(_) => ping_frame.clone(),
            },
        };
        Some((
            Ok::<_, std::convert::Infallible>(frame.to_bytes()),
            (frames, ping),
        ))
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies such as nginx must not buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

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
    #[allow(clippy::unreadable_literal)]
    fn a_usage_limit_is_a_429_with_retry_after_and_the_reset_time() {
        let err = map_upstream_error(&status_error(
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
        let err = map_stream_failure(&ErrorBody {
            code: Some("context_length_exceeded".into()),
            message: Some("Your input exceeds the context window of this model.".into()),
            ..ErrorBody::default()
        });
        assert_eq!(err.kind, ErrorKind::InvalidRequest);
        assert!(err.message.starts_with("prompt is too long: "));
    }

    #[test]
    fn backend_400s_unsupported_models_and_overload_map_by_cause() {
        let err = map_upstream_error(&status_error(
            400,
            json!({"detail":"Unsupported parameter: temperature"}),
        ));
        assert_eq!(
            (err.kind, err.message.as_str()),
            (
                ErrorKind::InvalidRequest,
                "Unsupported parameter: temperature"
            )
        );
        let err = map_upstream_error(&status_error(
            400,
            json!({"detail":"The 'gpt-5.3-codex' model is not supported when using Codex with a ChatGPT account."}),
        ));
        assert_eq!(err.kind, ErrorKind::NotFound);
        let err = map_upstream_error(&status_error(
            503,
            json!({"error":{"code":"server_is_overloaded"}}),
        ));
        assert_eq!(err.kind, ErrorKind::Overloaded);
        let err = map_upstream_error(&status_error(500, json!({"error":{"message":"boom"}})));
        assert_eq!(
            err.status(super::super::error::Dialect::OpenAi),
            StatusCode::BAD_GATEWAY
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

    async fn collect(chunks: &[&str]) -> Vec<Result<ResponsesEvent, ErrorKind>> {
        let owned: Vec<Result<Vec<u8>, std::io::Error>> =
            chunks.iter().map(|c| Ok(c.as_bytes().to_vec())).collect();
        let events = sse::sse_events(futures_util::stream::iter(owned), Duration::from_secs(5));
        until_terminal(events)
            .map(|item| item.map(|(event, _)| event).map_err(|e| e.kind))
            .collect()
            .await
    }

    #[tokio::test]
    async fn the_stream_stops_at_completed_even_if_the_body_stays_open() {
        let items = collect(&[
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\"}}\n\n",
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"late\"}}\n\n",
        ])
        .await;
        assert_eq!(items.len(), 2);
        assert!(matches!(items[1], Ok(ResponsesEvent::Completed { .. })));
    }

    #[tokio::test]
    async fn failures_and_early_ends_become_one_final_error() {
        let failed = collect(&[
            "data: {\"type\":\"response.failed\",\"response\":{\"id\":\"r\",\"error\":{\"code\":\"context_length_exceeded\",\"message\":\"too long\"}}}\n\n",
        ])
        .await;
        assert_eq!(failed, vec![Err(ErrorKind::InvalidRequest)]);
        let cut =
            collect(&["data: {\"type\":\"response.created\",\"response\":{\"id\":\"r\"}}\n\n"])
                .await;
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[1], Err(ErrorKind::Upstream));
        let flat = collect(&[
            "data: {\"type\":\"error\",\"code\":\"server_is_overloaded\",\"message\":\"busy\"}\n\n",
        ])
        .await;
        assert_eq!(flat, vec![Err(ErrorKind::Overloaded)]);
    }
}
