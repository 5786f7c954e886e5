//! Opens an answer from the backend for a handler: the signed-in credentials (refreshed when
//! needed, and once more after a 401), the POST, the rate-limit headers of every answer, and the
//! event stream that ends at the terminal event. Failures come back already mapped
//! (`upstream/failure.rs`).
//!
//! The call starts at once, in a task of its own ([`Opening`]), so the handler can prepare its
//! translator meanwhile and the stream pipeline can commit a streaming answer while the backend
//! has not even sent its headers yet.
//!
//! When the request is being captured (the request inspector), the body is serialised once,
//! kept as the capture's upstream request and sent as those same bytes; the headers are kept
//! redacted, and each backend event is copied into the capture as it passes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::Credentials;
use crate::inspector::{Capture, Message};
use crate::protocol::responses::BackendEvent;
use crate::upstream::client::UpstreamError;
use crate::upstream::events::{EventStream, until_terminal};
use crate::upstream::{failure, sse};
use futures_util::StreamExt;

/// Longest silence tolerated from the backend mid-stream. Long reasoning without summaries can
/// be quiet for minutes; a dead connection must still end.
pub(crate) const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// A backend call under way: resolves to its event stream once the backend's headers arrived.
/// Dropping it cancels the call.
pub(crate) struct Opening<E>(tokio::task::JoinHandle<Result<EventStream<E>, ApiError>>);

impl<E> Drop for Opening<E> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<E> Future for Opening<E> {
    type Output = Result<EventStream<E>, ApiError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.unwrap_or_else(|_| Err(ApiError::internal("The backend call was lost.")))
        })
    }
}

/// Starts a Responses call (typed, or the pass-through's JSON) now; each event of its stream
/// will be parsed once into the form `E` its translator reads.
pub(crate) fn open_stream<E: BackendEvent>(
    state: AppState,
    body: impl serde::Serialize + Send + Sync + 'static,
    session_id: Option<String>,
    capture: Option<Arc<Capture>>,
) -> Opening<E> {
    Opening(tokio::spawn(async move {
        open(&state, &body, session_id.as_deref(), capture).await
    }))
}

async fn open<E: BackendEvent>(
    state: &AppState,
    body: &(impl serde::Serialize + Sync),
    session_id: Option<&str>,
    capture: Option<Arc<Capture>>,
) -> Result<EventStream<E>, ApiError> {
    let credentials = state.auth().credentials().await?;
    credentials.remember_secrets();
    let Some(capture) = capture else {
        let response = post(state, &credentials, body, session_id, None).await?;
        return Ok(until_terminal(sse::response_events(
            response,
            UPSTREAM_IDLE_TIMEOUT,
        )));
    };
    let json = serde_json::to_string(body).map_err(|err| {
        ApiError::internal(format!("The backend request cannot be written: {err}"))
    })?;
    capture.upstream_request(upstream_message(state, &credentials, session_id, &json));
    let raw = serde_json::value::RawValue::from_string(json).map_err(|err| {
        ApiError::internal(format!("The backend request cannot be written: {err}"))
    })?;
    let response = post(state, &credentials, &raw, session_id, Some(&capture)).await?;
    let events = sse::response_events(response, UPSTREAM_IDLE_TIMEOUT);
    let tapped = events.inspect(move |event| {
        if let Ok(event) = event {
            capture.upstream_event(&event.event, &event.data);
        }
    });
    Ok(until_terminal(Box::pin(tapped)))
}

/// The backend request as the inspector keeps it: URL, headers redacted, the body as sent.
fn upstream_message(
    state: &AppState,
    credentials: &Credentials,
    session_id: Option<&str>,
    json: &str,
) -> Message {
    let upstream = &state.0.upstream;
    let mut headers = upstream.backend_headers(credentials.backend_auth(), session_id);
    headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/json"),
    );
    Message {
        method: Some("POST".to_owned()),
        url: Some(upstream.responses_url()),
        headers: crate::redact::current().headers(&headers),
        body: bytes::Bytes::from(json.to_owned()),
        ..Message::default()
    }
}

/// The POST, refreshed and sent once more after a 401; the capture learns the backend's
/// status.
async fn post(
    state: &AppState,
    credentials: &Credentials,
    body: &(impl serde::Serialize + Sync),
    session_id: Option<&str>,
    capture: Option<&Capture>,
) -> Result<reqwest::Response, ApiError> {
    let auth = state.auth();
    let upstream = &state.0.upstream;
    let note = |answer: &Result<reqwest::Response, UpstreamError>| {
        let status = match answer {
            Ok(response) => Some(response.status()),
            Err(UpstreamError::Status { status, .. }) => Some(*status),
            Err(_) => None,
        };
        if let (Some(capture), Some(status)) = (capture, status) {
            capture.upstream_status(status.as_u16());
        }
    };
    let first = upstream
        .post_responses(credentials.backend_auth(), session_id, body)
        .await;
    note(&first);
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
            fresh.remember_secrets();
            let second = upstream
                .post_responses(fresh.backend_auth(), session_id, body)
                .await;
            note(&second);
            second.map_err(|err| failed_answer(state, &err))?
        }
        Err(err) => return Err(failed_answer(state, &err)),
    };
    state.observe_upstream_headers(response.headers());
    Ok(response)
}

/// Records the headers of a failed answer and maps it.
fn failed_answer(state: &AppState, err: &UpstreamError) -> ApiError {
    if let UpstreamError::Status { headers, .. } = err {
        state.observe_upstream_headers(headers);
    }
    failure::from_http(err)
}
