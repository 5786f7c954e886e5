//! `POST /v1/messages` (also `?beta=true`, which Claude Code always adds): the Anthropic
//! Messages API on the Codex backend. This handler only connects the pure translation
//! (`translate::messages_*`) to the network:
//!
//! 1. translate the request (400 naming the field / 404 listing the served models);
//! 2. open the backend stream (its HTTP failures come back with their real status) while the
//!    input-token estimate is computed on the blocking pool (it is only needed for
//!    `message_start`, so it adds no latency before the upstream call);
//! 3. streaming: read upstream events until the answer has content (or [`COMMIT_AFTER`](crate::gateway::upstream_call::COMMIT_AFTER)
//!    passes), so that a failure before any content is still a real HTTP error
//!    (docs/compatibility.md §1.5); then commit 200 and write frames as they come, with `ping`
//!    frames while the upstream is silent (the upstream idle timeout still ends a dead stream
//!    with an `error` event);
//! 4. non-streaming: read the whole upstream stream and answer one `Message`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use crate::gateway::error::ApiError;
use crate::gateway::extract::ApiJson;
use crate::gateway::state::AppState;
use crate::gateway::upstream_call::{
    EventStream, PING_EVERY, open_responses_stream, read_ahead, sse_response,
};
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::responses::ResponsesRequest;
use crate::translate::SseFrame;
use crate::translate::count_tokens::count_request_tokens;
use crate::translate::messages_request::{
    ToolNameMap, TranslateError, messages_to_responses, session_id_from_metadata,
    thinking_requested,
};
use crate::translate::messages_response::MessageAssembler;
use crate::translate::messages_stream::{MessagesStream, ping_frame};

/// The header Claude Code sends with its session id (stable across a session's turns).
pub const SESSION_HEADER: &str = "x-claude-code-session-id";

/// A translated request ready to be sent.
pub struct PreparedRequest {
    pub upstream: ResponsesRequest,
    pub names: ToolNameMap,
    /// For the upstream `session_id` header.
    pub session_id: Option<String>,
}

/// Maps a translation failure to the client's error.
pub fn translate_error(err: TranslateError) -> ApiError {
    match err {
        TranslateError::UnknownModel(unknown) => ApiError::not_found(format!(
            "The model {:?} is not served by this gateway. Served models: {}.",
            unknown.requested,
            unknown.served.join(", ")
        )),
        TranslateError::Invalid(message) => ApiError::invalid_request(message),
    }
}

/// Translates a Messages request (also used by count_tokens, so both see the same bytes).
pub fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    request: &MessagesRequest,
) -> Result<PreparedRequest, ApiError> {
    let header_session = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let models = state.models();
    let (upstream, names) =
        messages_to_responses(request, &models, header_session).map_err(translate_error)?;
    let session_id = header_session
        .map(str::to_owned)
        .or_else(|| session_id_from_metadata(request));
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
    let prepared = prepare(&state, &headers, &request)?;
    let for_count = prepared.upstream.clone();
    let estimate = tokio::task::spawn_blocking(move || count_request_tokens(&for_count));
    let events =
        open_responses_stream(&state, &prepared.upstream, prepared.session_id.as_deref()).await?;
    // A failed count only loses the estimate; the real usage arrives with the answer.
    let estimate = estimate.await.unwrap_or(0);
    let machine = MessagesStream::new(request.model.clone(), prepared.names, estimate)
        .with_thinking(thinking_requested(&request));
    let mut response = if request.stream.unwrap_or(false) {
        stream_answer(machine, events).await?
    } else {
        Json(collect_answer(machine, events).await?).into_response()
    };
    response
        .headers_mut()
        .insert("request-id", request_id_header());
    Ok(response)
}

/// Reads the whole upstream stream into one message.
async fn collect_answer(
    machine: MessagesStream,
    mut events: EventStream,
) -> Result<crate::protocol::anthropic::MessageResponse, ApiError> {
    let mut assembler = MessageAssembler::new(machine);
    while let Some(event) = events.next().await {
        assembler.push(&event?);
    }
    assembler.finish()
}

/// Pre-reads until there is content (or [`COMMIT_AFTER`](crate::gateway::upstream_call::COMMIT_AFTER)), then streams.
async fn stream_answer(
    mut machine: MessagesStream,
    mut events: EventStream,
) -> Result<Response, ApiError> {
    let mut buffered = read_ahead(
        &mut machine,
        &mut events,
        MessagesStream::push,
        |m: &MessagesStream| m.has_content() || m.is_finished(),
    )
    .await?;
    // Commit with message_start even if the upstream has not said anything yet.
    buffered.extend(machine.start());
    let head = futures_util::stream::iter(buffered);
    let tail = translated(machine, events);
    Ok(sse_response(
        head.chain(tail),
        Some((PING_EVERY, ping_frame())),
    ))
}

/// The rest of the upstream stream, translated; ends after `message_stop` or `error`.
fn translated(
    machine: MessagesStream,
    events: EventStream,
) -> impl Stream<Item = SseFrame> + Send + 'static {
    futures_util::stream::unfold(Some((machine, events)), |state| async move {
        let (mut machine, mut events) = state?;
        if machine.is_finished() {
            return None;
        }
        let frames = match events.next().await {
            Some(Ok(event)) => machine.push(&event),
            Some(Err(error)) => machine.fail(&error),
            None => machine.finish(),
        };
        Some((futures_util::stream::iter(frames), Some((machine, events))))
    })
    .flatten()
}

/// `request-id: req_…` (Anthropic sends one on every response; SDKs expose it).
pub fn request_id_header() -> HeaderValue {
    HeaderValue::from_str(&crate::gateway::error::request_id())
        .unwrap_or(HeaderValue::from_static("req_codexia"))
}
