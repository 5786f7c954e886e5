//! Opens an answer from the backend for a handler: the signed-in credentials (refreshed when
//! needed, and once more after a 401), the POST, the rate-limit headers of every answer, and the
//! event stream that ends at the terminal event. Failures come back already mapped
//! (`upstream/failure.rs`).
//!
//! The call is a future the handler awaits ([`Opening`]); the stream pipeline can commit a
//! streaming answer while the backend has not even sent its headers yet, and go on awaiting
//! the call inside the answer's body.
//!
//! The body is serialised once and sent as those bytes (again after a 401). When the request is
//! being captured (the request inspector), the capture keeps the same bytes (a shared
//! reference, not a copy) as its upstream request with its headers, and each
//! backend event, once parsed, is handed to the capture as it arrived (not copied).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::Credentials;
use crate::inspector::{Capture, Headers, Message};
use crate::protocol::responses::BackendEvent;
use crate::upstream::client::{StreamedResponse, UpstreamError};
use crate::upstream::events::{EventStream, until_terminal, until_terminal_tapped};
use crate::upstream::{failure, sse};
use bytes::Bytes;
use futures_util::FutureExt;

/// Longest silence tolerated from the backend mid-stream. Long reasoning without summaries can
/// be quiet for minutes; a dead connection must still end.
pub(crate) const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// A backend call under way: resolves to its event stream once the backend's headers arrived.
/// Dropping it cancels the call.
///
/// It is polled by whoever awaits it (the handler, then the answer's body), not spawned: a task
/// of its own waited in its worker's LIFO slot until the handler awaited it anyway, and cost
/// about one thread switch a request more (11k against 9.4k over a first-byte run). A panic in
/// it is still an answer (500), as a lost task's was.
pub(crate) struct Opening<E>(
    Pin<Box<dyn Future<Output = Result<EventStream<E>, ApiError>> + Send>>,
);

impl<E> Future for Opening<E> {
    type Output = Result<EventStream<E>, ApiError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

/// Starts a Responses call (typed, or the pass-through's JSON) now; each event of its stream
/// will be parsed once into the form `E` its translator reads.
pub(crate) fn open_stream<E: BackendEvent>(
    state: AppState,
    body: impl serde::Serialize + Send + Sync + 'static,
    size_hint: usize,
    session_id: Option<String>,
    capture: Option<Arc<Capture>>,
) -> Opening<E> {
    // The account chosen for this request lives in the handler's task: read it now, while
    // the handler is running.
    let account = super::middleware::account::routed_account();
    let call = async move {
        open(
            &state,
            account.as_deref(),
            &body,
            size_hint,
            session_id.as_deref(),
            capture,
        )
        .await
    };
    Opening(Box::pin(
        std::panic::AssertUnwindSafe(call)
            .catch_unwind()
            .map(|done| {
                done.unwrap_or_else(|_| Err(ApiError::internal("The backend call was lost.")))
            }),
    ))
}

async fn open<E: BackendEvent>(
    state: &AppState,
    account: Option<&str>,
    body: &(impl serde::Serialize + Sync),
    size_hint: usize,
    session_id: Option<&str>,
    capture: Option<Arc<Capture>>,
) -> Result<EventStream<E>, ApiError> {
    let (entry, auth) = state.auth().account(account).await?;
    // With several accounts, a sign-in that must be renewed names its account.
    let name = entry.map(|e| e.name).filter(|_| state.auth().several());
    let label = |err: crate::auth::AuthError| match &name {
        Some(name) => err.for_account(name),
        None => err,
    };
    let credentials = auth.credentials().await.map_err(label)?;
    // Each account's secrets enter here: the capture and the logs show none of them.
    credentials.remember_secrets();
    let call = Call {
        state,
        auth: &auth,
        account,
        name: name.as_deref(),
        session_id,
    };
    // Written once: the same bytes are sent (again after a 401) and, shared, kept by the
    // capture; nothing copies or parses them again.
    let json = write_body(body, size_hint)?;
    let Some(capture) = capture else {
        let response = call.post(&credentials, &json, None).await?;
        return Ok(until_terminal(sse::response_events(
            response,
            UPSTREAM_IDLE_TIMEOUT,
        )));
    };
    let response = call.post(&credentials, &json, Some(&capture)).await?;
    let events = sse::response_events(response, UPSTREAM_IDLE_TIMEOUT);
    Ok(until_terminal_tapped(events, move |event| {
        capture.upstream_event(event.event, event.data);
    }))
}

/// The backend request's JSON body, written into a buffer of about the size expected (the
/// client's body, plus an eighth): a long conversation's buffer, grown by doubling from 128
/// bytes, would touch about twice its size in fresh pages. The buffer is then cut to its
/// length, since the capture may keep it and counts only its length.
fn write_body(body: &impl serde::Serialize, size_hint: usize) -> Result<Bytes, ApiError> {
    let mut json = Vec::with_capacity(size_hint.saturating_add(size_hint / 8).max(1024));
    serde_json::to_writer(&mut json, body).map_err(|err| {
        ApiError::internal(format!("The backend request cannot be written: {err}"))
    })?;
    json.shrink_to_fit();
    Ok(Bytes::from(json))
}

/// The size of the client's body as it declared it (`Content-Length`), for [`open_stream`]'s
/// `size_hint`; 0 for a chunked body.
pub(crate) fn body_size(headers: &axum::http::HeaderMap) -> usize {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse().ok())
        .unwrap_or(0)
}

/// One backend call's account: who serves it and how its errors are named.
struct Call<'a> {
    state: &'a AppState,
    auth: &'a crate::auth::manager::AccountAuth,
    /// The account the router chose (`None`: the active one).
    account: Option<&'a str>,
    /// The account's short name when several are signed in (errors name it).
    name: Option<&'a str>,
    session_id: Option<&'a str>,
}

impl Call<'_> {
    fn label(&self, err: crate::auth::AuthError) -> crate::auth::AuthError {
        match self.name {
            Some(name) => err.for_account(name),
            None => err,
        }
    }

    /// The POST, refreshed and sent once more after a 401; the capture learns the request as
    /// first sent and the backend's status.
    async fn post(
        &self,
        credentials: &Credentials,
        body: &Bytes,
        capture: Option<&Capture>,
    ) -> Result<StreamedResponse, ApiError> {
        let Self {
            state,
            auth,
            account,
            session_id,
            ..
        } = *self;
        let upstream = &state.0.upstream;
        let note = |answer: &Result<StreamedResponse, UpstreamError>| {
            let status = match answer {
                Ok(response) => Some(response.status()),
                Err(UpstreamError::Status { status, .. }) => Some(*status),
                Err(_) => None,
            };
            if let (Some(capture), Some(status)) = (capture, status) {
                capture.upstream_status(status.as_u16());
            }
        };
        let headers = upstream.responses_headers(credentials.backend_auth(), session_id);
        if let Some(capture) = capture {
            // The request as first sent, with the headers of the account that serves it.
            capture.upstream_request(Message {
                method: Some("POST".to_owned()),
                url: Some(upstream.responses_url()),
                headers: Headers::of(&headers),
                body: body.clone(),
                ..Message::default()
            });
        }
        let first = upstream.post_responses(headers, body.clone()).await;
        note(&first);
        let response = match first {
            Ok(response) => response,
            Err(UpstreamError::Status {
                status: reqwest::StatusCode::UNAUTHORIZED,
                headers,
                ..
            }) => {
                // The token was refused although it looked valid: refresh once and retry once.
                state.observe_upstream_headers(&credentials.account_id, &headers);
                tracing::info!("the backend refused the access token; refreshing it once");
                let fresh = auth
                    .refresh_after_unauthorized(&credentials.access_token)
                    .await
                    .map_err(|err| self.label(err))?;
                fresh.remember_secrets();
                let headers = upstream.responses_headers(fresh.backend_auth(), session_id);
                let second = upstream.post_responses(headers, body.clone()).await;
                note(&second);
                second.map_err(|err| failed_answer(state, account, &fresh.account_id, &err))?
            }
            Err(err) => {
                return Err(failed_answer(state, account, &credentials.account_id, &err));
            }
        };
        state.observe_upstream_headers(&credentials.account_id, response.headers());
        Ok(response)
    }
}

/// Records the headers of a failed answer (and an account at its usage limit) and maps it.
fn failed_answer(
    state: &AppState,
    account: Option<&str>,
    account_id: &str,
    err: &UpstreamError,
) -> ApiError {
    if let UpstreamError::Status { headers, .. } = err {
        state.observe_upstream_headers(account_id, headers);
    }
    if let (Some(account), Some(seconds)) = (account, failure::usage_limit_resets_in(err)) {
        state.0.routing.mark_exhausted(account, seconds);
    }
    failure::from_http(err)
}
