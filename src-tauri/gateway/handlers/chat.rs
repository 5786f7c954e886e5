//! `POST /v1/chat/completions`: OpenAI Chat Completions on the Codex backend. This handler only
//! connects the pure translation (`translate::chat_*`) to the network:
//!
//! 1. translate the request (400 naming the field; 404 listing the served models, after one
//!    look at the backend's live catalog);
//! 2. open the backend stream (its HTTP failures come back with their real status and
//!    `retry-after`);
//! 3. streaming: read upstream events until the answer has content (or [`COMMIT_AFTER`](crate::gateway::upstream_call::COMMIT_AFTER)
//!    passes), so that a failure before any content is still a real HTTP error; then commit
//!    200 and write chunks as they come (a later failure is an `{"error":…}` chunk without
//!    `[DONE]`); while the backend is silent, `: keep-alive` SSE comments (OpenAI's stream has
//!    no ping event; SSE readers skip comments);
//! 4. non-streaming: read the whole upstream stream and answer one `chat.completion`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use crate::gateway::catalog::translate_with_catalog;
use crate::gateway::error::ApiError;
use crate::gateway::extract::ApiJson;
use crate::gateway::recent::{RequestInfo, UsageSlot};
use crate::gateway::state::AppState;
use crate::gateway::upstream_call::{
    EventStream, keep_alive, open_responses_stream, read_ahead, sse_response,
};
use crate::protocol::openai_chat::{ChatCompletion, ChatRequest};
use crate::translate::SseFrame;
use crate::translate::chat_request::chat_to_responses;
use crate::translate::chat_response::ChatAssembler;
use crate::translate::chat_stream::ChatStream;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let upstream =
        translate_with_catalog(&state, |models| chat_to_responses(&request, models)).await?;
    let events =
        open_responses_stream(&state, &upstream, upstream.prompt_cache_key.as_deref()).await?;
    let include_usage = request
        .stream_options
        .and_then(|options| options.include_usage)
        .unwrap_or(false);
    let machine = ChatStream::new(
        request.model.clone(),
        random_id("chatcmpl-"),
        chrono::Utc::now().timestamp(),
        include_usage,
    );
    // For the recent-requests table: the model that served it, and its tokens once known.
    let info = RequestInfo::new(upstream.model.clone());
    let mut response = if request.stream.unwrap_or(false) {
        stream_answer(machine, events, info.usage.clone()).await?
    } else {
        Json(collect_answer(machine, events, &info.usage).await?).into_response()
    };
    response.extensions_mut().insert(info);
    Ok(response)
}

fn record_usage(slot: &UsageSlot, usage: Option<crate::protocol::responses::Usage>) {
    if let Some(usage) = usage {
        let _already_set = slot.set((usage.input_tokens, usage.output_tokens));
    }
}

/// Reads the whole upstream stream into one completion.
async fn collect_answer(
    machine: ChatStream,
    mut events: EventStream,
    slot: &UsageSlot,
) -> Result<ChatCompletion, ApiError> {
    let mut assembler = ChatAssembler::new(machine);
    while let Some(event) = events.next().await {
        assembler.push(&event?);
    }
    record_usage(slot, assembler.usage());
    assembler.finish()
}

/// Pre-reads until there is content (or [`COMMIT_AFTER`](crate::gateway::upstream_call::COMMIT_AFTER)), then streams.
async fn stream_answer(
    mut machine: ChatStream,
    mut events: EventStream,
    slot: UsageSlot,
) -> Result<Response, ApiError> {
    let buffered = read_ahead(
        &mut machine,
        &mut events,
        ChatStream::push,
        |m: &ChatStream| m.has_content() || m.is_finished(),
    )
    .await?;
    let head = futures_util::stream::iter(buffered);
    Ok(sse_response(
        head.chain(translated(machine, events, slot)),
        keep_alive(),
    ))
}

/// The rest of the upstream stream, translated; ends after `[DONE]` or an error chunk, then
/// records the usage.
fn translated(
    machine: ChatStream,
    events: EventStream,
    slot: UsageSlot,
) -> impl Stream<Item = SseFrame> + Send + 'static {
    futures_util::stream::unfold(Some((machine, events, slot)), |state| async move {
        let (mut machine, mut events, slot) = state?;
        if machine.is_finished() {
            record_usage(&slot, machine.usage());
            return None;
        }
        let frames = match events.next().await {
            Some(Ok(event)) => machine.push(&event),
            Some(Err(error)) => machine.fail(&error),
            None => machine.finish(),
        };
        Some((
            futures_util::stream::iter(frames),
            Some((machine, events, slot)),
        ))
    })
    .flatten()
}

/// `prefix` + 24 random hex digits (`chatcmpl-…`).
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0_u8; 12];
    // Without randomness the id is still well-formed; it only identifies an answer.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}
