//! The fake ChatGPT backend (docs/protocol.md §4–§7): auth of backend calls, injected
//! failures, and the SSE writer of `POST /backend-api/codex/responses`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::reply::{IdSource as _, StreamContext, render_reply};
use super::{
    Failure, FakeAccount, FakeState, RateLimits, RecordedRequest, Reply, Shared, StreamEnd, Window,
    hex, json_response, jwt, now, sse_frame,
};

fn unauthorized(reason: &str, error_code: &str) -> Response {
    let error_json = STANDARD.encode(json!({"error": {"code": error_code}}).to_string());
    let mut response = json_response(401, &json!({"detail": "Unauthorized"}));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::try_from(reason) {
        headers.insert("x-openai-authorization-error", value);
    }
    if let Ok(value) = HeaderValue::try_from(error_json) {
        headers.insert("x-error-json", value);
    }
    response
}

/// Checks `Authorization: Bearer <jwt>` (signed by this fake, not expired) and, when present
/// (required for responses), that `chatgpt-account-id` matches the token's account claim.
#[allow(
    clippy::result_large_err,
    reason = "the Err is the finished HTTP answer; this is a test fake"
)]
fn check_auth(headers: &HeaderMap, require_account_header: bool) -> Result<Value, Response> {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Err(unauthorized(
            "missing_authorization_header",
            "missing_authorization_header",
        ));
    };
    // Unknown and tampered tokens: inferred headers (only the expired case is documented).
    let Some(claims) = jwt::decode_verified(token.trim()) else {
        return Err(unauthorized(
            "invalid_authorization_header",
            "invalid_token",
        ));
    };
    if claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_none_or(|exp| exp <= now())
    {
        // Exactly the documented pair (docs/protocol.md §6.1; openai/codex api_bridge_tests.rs).
        return Err(unauthorized(
            "missing_authorization_header",
            "token_expired",
        ));
    }
    let account_id = claims["https://api.openai.com/auth"]["chatgpt_account_id"]
        .as_str()
        .unwrap_or_default();
    match headers
        .get("chatgpt-account-id")
        .and_then(|v| v.to_str().ok())
    {
        Some(sent) if sent == account_id => Ok(claims),
        None if !require_account_header => Ok(claims),
        // Behaviour of a missing/mismatching header is unverified (docs/protocol.md §11); the
        // fake refuses it.
        _ => Err(unauthorized("account_mismatch", "account_mismatch")),
    }
}

/// The account a token's claims name.
fn claimed_account(claims: &Value) -> String {
    claims["https://api.openai.com/auth"]["chatgpt_account_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Answers with the state and the account the token belongs to (its plan and windows).
pub(super) fn with_auth(
    shared: &Shared,
    headers: &HeaderMap,
    answer: impl FnOnce(&FakeState, &FakeAccount, &RateLimits) -> Response,
) -> Response {
    match check_auth(headers, false) {
        Ok(claims) => {
            let state = shared.lock();
            let (account, limits) = state.view(&claimed_account(&claims));
            answer(&state, &account, &limits)
        }
        Err(response) => response,
    }
}

fn failure_response(failure: &Failure, account: &FakeAccount, limits: &RateLimits) -> Response {
    let now = now();
    match failure {
        Failure::UsageLimitReached => {
            let mut limits = limits.clone();
            let reached = limits.reached().or(limits.primary).unwrap_or(Window {
                used_percent: 100.0,
                length_minutes: 300,
                reset_after_seconds: 18_000,
            });
            if limits.reached().is_none() {
                let primary = limits.primary.get_or_insert(reached);
                primary.used_percent = 100.0;
            }
            let resets_in = i64::try_from(reached.reset_after_seconds).unwrap_or(0);
            let mut response = json_response(
                429,
                &json!({"error": {
                    "type": "usage_limit_reached",
                    "message": "The usage limit has been reached",
                    "plan_type": account.plan_type,
                    "resets_at": now + resets_in,
                    "resets_in_seconds": resets_in,
                }}),
            );
            limits.write_headers(response.headers_mut(), &account.plan_type, now);
            response
        }
        Failure::Unauthorized => unauthorized("missing_authorization_header", "token_expired"),
        Failure::Overloaded => json_response(
            503,
            &json!({"error": {"code": "server_is_overloaded", "message": "Our servers are currently overloaded. Please try again later.", "type": "service_unavailable_error"}}),
        ),
        Failure::ServerError => json_response(
            500,
            &json!({"error": {"code": "server_error", "message": "The server had an error while processing your request.", "type": "server_error"}}),
        ),
        Failure::Status(status, body) => json_response(*status, body),
    }
}

fn stream_context(state: &mut FakeState, body: &Value) -> StreamContext {
    let include_encrypted = body["include"]
        .as_array()
        .is_some_and(|list| list.iter().any(|v| v == "reasoning.encrypted_content"));
    let include_search_sources = body["include"]
        .as_array()
        .is_some_and(|list| list.iter().any(|v| v == "web_search_call.action.sources"));
    let summary = body["reasoning"]["summary"].as_str();
    let reasoning = match body.get("reasoning") {
        Some(r) if r.is_object() => {
            json!({"effort": r.get("effort").cloned().unwrap_or(Value::Null), "summary": r.get("summary").cloned().unwrap_or(Value::Null)})
        }
        _ => json!({"effort": null, "summary": null}),
    };
    let mut text = json!({"format": {"type": "text"}, "verbosity": "medium"});
    if let Some(requested) = body.get("text").and_then(Value::as_object) {
        for (key, value) in requested {
            text[key] = value.clone();
        }
    }
    let prefix = format!("{}{}", body["instructions"], body["input"]);
    let input_tokens = (prefix.len() as u64).div_ceil(4).max(1);
    // docs/protocol.md §4.6: a repeated prompt_cache_key reports the previous prompt as cached.
    let cached_tokens = match body.get("prompt_cache_key").and_then(Value::as_str) {
        Some(key) => {
            let previous = state
                .cache_prefixes
                .insert(key.to_owned(), input_tokens)
                .unwrap_or(0);
            previous.min(input_tokens)
        }
        None => 0,
    };
    StreamContext {
        response_id: state.next_id("resp"),
        created_at: now(),
        model: body["model"].as_str().unwrap_or_default().to_owned(),
        instructions: body.get("instructions").cloned().unwrap_or(Value::Null),
        tools: body.get("tools").cloned().unwrap_or_else(|| json!([])),
        tool_choice: body
            .get("tool_choice")
            .cloned()
            .unwrap_or_else(|| json!("auto")),
        parallel_tool_calls: body
            .get("parallel_tool_calls")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        reasoning,
        text,
        prompt_cache_key: body.get("prompt_cache_key").cloned().unwrap_or(Value::Null),
        include_encrypted_reasoning: include_encrypted,
        include_search_sources,
        wants_reasoning_summary: summary.is_some_and(|s| s != "none"),
        input_tokens,
        cached_tokens,
    }
}

pub(super) async fn responses(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    request: &RecordedRequest,
    arrived: std::time::Instant,
) -> Response {
    let claims = match check_auth(headers, true) {
        Ok(claims) => claims,
        Err(response) => return response,
    };
    let account_id = claimed_account(&claims);
    if shared.lock().revoked.contains(&account_id) {
        // A revoked sign-in: its access tokens stop working too.
        return unauthorized("missing_authorization_header", "token_expired");
    }
    let generation = claims["fake_generation"].as_u64().unwrap_or(0);
    if generation < shared.lock().token_generation {
        return unauthorized("invalid_authorization_header", "invalid_token");
    }
    if let Some(Err(rejection)) = &request.validation {
        return json_response(rejection.status, &rejection.body);
    }
    let body = request.body_json();
    let (reply, events, limits, plan_type) = {
        let mut state = shared.lock();
        let (account, limits) = state.view(&account_id);
        let failure = state
            .failures
            .pop_front()
            .or_else(|| limits.reached().map(|_| Failure::UsageLimitReached));
        if let Some(failure) = failure {
            return failure_response(&failure, &account, &limits);
        }
        let reply = state
            .replies
            .pop_front()
            .unwrap_or_else(|| state.default_reply.clone());
        let ctx = stream_context(&mut state, body);
        let events = render_reply(&reply, &ctx, &mut *state);
        (reply, events, limits, account.plan_type)
    };
    if let Some(gate) = &reply.header_gate {
        gate.pass().await;
    }
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    shared.open_streams.fetch_add(1, Ordering::SeqCst);
    shared.streams_changed.notify_waiters();
    let guard = OpenStreamGuard(Arc::clone(shared));
    tokio::spawn(write_stream(reply, events, tx, guard, arrived));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let mut response = Response::new(body);
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response_headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response_headers.insert(
        "x-models-etag",
        HeaderValue::from_static("W/\"fake-models-1\""),
    );
    if let Ok(value) = HeaderValue::try_from(request_id(request)) {
        response_headers.insert("x-oai-request-id", value);
    }
    limits.write_headers(response_headers, &plan_type, now());
    response
}

fn request_id(request: &RecordedRequest) -> String {
    let digest = Sha256::digest(&request.body);
    let hex = hex(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Decrements the open-stream count when the writer task ends (normally or cancelled).
struct OpenStreamGuard(Arc<Shared>);

impl Drop for OpenStreamGuard {
    fn drop(&mut self) {
        self.0.open_streams.fetch_sub(1, Ordering::SeqCst);
        self.0.streams_changed.notify_waiters();
    }
}

async fn write_stream(
    reply: Reply,
    events: Vec<Value>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    guard: OpenStreamGuard,
    arrived: std::time::Instant,
) {
    let mut first_text = true;
    let limit = match reply.end {
        StreamEnd::DropAfter(n) | StreamEnd::AbortAfter(n) => n.min(events.len()),
        StreamEnd::Close | StreamEnd::StayOpen => events.len(),
    };
    for index in 0..=limit {
        for (_, gate) in reply.event_gates.iter().filter(|(at, _)| *at == index) {
            // A client that hung up while the stream was held ends the stream (and so counts as
            // a closed stream in `open_streams`).
            tokio::select! {
                () = gate.pass() => {}
                () = tx.closed() => return,
            }
        }
        let Some(event) = events.get(index).filter(|_| index < limit) else {
            break;
        };
        let frame = sse_frame(event).into_bytes();
        let chunk = reply.chunk_bytes.unwrap_or(frame.len());
        for piece in frame.chunks(chunk) {
            if tx.send(Ok(Bytes::copy_from_slice(piece))).await.is_err() {
                return;
            }
        }
        if first_text && event["type"] == "response.output_text.delta" {
            first_text = false;
            let took = arrived.elapsed();
            guard
                .0
                .first_text_times
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(took);
        }
    }
    match reply.end {
        StreamEnd::AbortAfter(_) => {
            let _ = tx
                .send(Err(std::io::Error::other(
                    "fake upstream aborted the stream",
                )))
                .await;
        }
        StreamEnd::StayOpen => tx.closed().await,
        StreamEnd::Close | StreamEnd::DropAfter(_) => {}
    }
}
