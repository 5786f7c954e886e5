//! Opens an answer from the backend for a handler: the signed-in credentials (refreshed when
//! needed, and once more after a 401), the POST, the rate-limit headers of every answer, and the
//! event stream that ends at the terminal event. Failures come back already mapped
//! (`upstream/failure.rs`).
//!
//! The call starts at once, in a task of its own ([`Opening`]), so the handler can prepare its
//! translator meanwhile and the stream pipeline can commit a streaming answer while the backend
//! has not even sent its headers yet.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::error::ApiError;
use super::state::AppState;
use crate::protocol::responses::BackendEvent;
use crate::upstream::client::UpstreamError;
use crate::upstream::events::{EventStream, until_terminal};
use crate::upstream::{failure, sse};

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
) -> Opening<E> {
    Opening(tokio::spawn(async move {
        open(&state, &body, session_id.as_deref()).await
    }))
}

async fn open<E: BackendEvent>(
    state: &AppState,
    body: &(impl serde::Serialize + Sync),
    session_id: Option<&str>,
) -> Result<EventStream<E>, ApiError> {
    let auth = state.auth();
    let credentials = auth.credentials().await?;
    remember_secrets(&credentials);
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

/// Tells the process's redactor the sign-in's secrets (cheap when they are known already), so
/// that no capture, log line or bundle shows them.
fn remember_secrets(credentials: &crate::auth::tokens::Credentials) {
    use crate::redact::{self, SecretKind};
    if redact::current().knows(&credentials.access_token) {
        return;
    }
    let email = credentials.claims().email;
    redact::remember_all(
        [
            (SecretKind::AccessToken, credentials.access_token.as_str()),
            (SecretKind::RefreshToken, credentials.refresh_token.as_str()),
            (SecretKind::IdToken, credentials.id_token.as_str()),
            (SecretKind::AccountId, credentials.account_id.as_str()),
        ]
        .into_iter()
        .chain(email.as_deref().map(|email| (SecretKind::Email, email))),
    );
}

/// Records the headers of a failed answer and maps it.
fn failed_answer(state: &AppState, err: &UpstreamError) -> ApiError {
    if let UpstreamError::Status { headers, .. } = err {
        state.observe_upstream_headers(headers);
    }
    failure::from_http(err)
}
