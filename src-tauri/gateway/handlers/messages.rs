//! `POST /v1/messages` (also `?beta=true`, which Claude Code always adds): the Anthropic
//! Messages API on the Codex backend. Translate the request (`translate::messages_request`),
//! open the backend stream while the input-token estimate for `message_start` is counted on the
//! blocking pool, and answer through the one stream pipeline (`gateway/stream.rs`) with the
//! Messages translator.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::gateway::catalog::translate_with_catalog;
use crate::gateway::error::{ApiError, request_id_header};
use crate::gateway::extract::ApiJson;
use crate::gateway::recent::{RequestDetails, RequestInfo};
use crate::gateway::state::AppState;
use crate::gateway::{backend, stream};
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::responses::{ResponsesEvent, ResponsesRequest};
use crate::translate::count_tokens::count_request_tokens;
use crate::translate::messages_request::{
    ToolNameMap, header_safe_key, messages_to_responses, session_id_from_metadata,
    thinking_requested,
};
use crate::translate::messages_stream::MessagesStream;

/// The header Claude Code sends with its session id (stable across a session's turns).
pub const SESSION_HEADER: &str = "x-claude-code-session-id";

/// A translated request ready to be sent.
pub struct PreparedRequest {
    pub upstream: ResponsesRequest,
    pub names: ToolNameMap,
    /// For the upstream `session_id` header.
    pub session_id: Option<String>,
}

/// Translates a Messages request (also used by count_tokens, so both see the same bytes).
pub async fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    request: &MessagesRequest,
) -> Result<PreparedRequest, ApiError> {
    let header_session = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let (upstream, names) = translate_with_catalog(state, |models| {
        messages_to_responses(request, models, header_session)
    })
    .await?;
    // Capped and hashed when over-long: it becomes a backend header (a 100 KB id made the
    // backend answer an HTML 431 page).
    let session_id = header_session
        .and_then(header_safe_key)
        .or_else(|| session_id_from_metadata(request).and_then(|id| header_safe_key(&id)));
    Ok(PreparedRequest {
        upstream,
        names,
        session_id,
    })
}

/// `POST /v1/messages`.
pub async fn create_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<MessagesRequest>,
) -> Result<Response, ApiError> {
    let prepared = prepare(&state, &headers, &request).await?;
    let info = RequestInfo::new(prepared.upstream.model.clone());
    info.describe(RequestDetails::of(&request.model, &prepared.upstream));
    let for_count = prepared.upstream.clone();
    let estimate = tokio::task::spawn_blocking(move || count_request_tokens(&for_count));
    let opening = backend::open_stream::<ResponsesEvent>(
        state.clone(),
        prepared.upstream,
        prepared.session_id,
    );
    // A failed count only loses the estimate; the real usage arrives with the answer.
    let estimate = estimate.await.unwrap_or(0);
    let translator = MessagesStream::new(request.model.clone(), prepared.names, estimate)
        .with_thinking(thinking_requested(&request))
        .with_stop_sequences(&request.stop_sequences);
    let how = stream::Answer {
        stream: request.stream.unwrap_or(false),
        first_byte_timeout: state.first_byte_timeout(),
        info,
        on_end: None,
    };
    let mut response = stream::answer(translator, opening, how).await?;
    response
        .headers_mut()
        .insert("request-id", request_id_header());
    Ok(response)
}
