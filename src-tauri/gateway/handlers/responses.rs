//! `POST /v1/responses`: the OpenAI Responses API, passed through to the Codex backend after
//! normalisation (`translate::responses_passthrough`). Streaming clients get the backend's
//! events relayed (ending with a terminal event in every case); non-streaming clients get the
//! assembled response object. Answers are remembered in the bounded in-memory
//! [`ResponseStore`](crate::gateway::response_store::ResponseStore) so that a later
//! `previous_response_id` can continue them (the backend stores nothing).
//!
//! As for chat, the 200 is committed only once the answer has content (or after
//! [`COMMIT_AFTER`](crate::gateway::upstream_call::COMMIT_AFTER)), so an early failure is a real HTTP error with its status.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::gateway::catalog::translate_with_catalog;
use crate::gateway::error::ApiError;
use crate::gateway::extract::ApiJson;
use crate::gateway::recent::{RequestInfo, UsageSlot};
use crate::gateway::state::AppState;
use crate::gateway::upstream_call::{
    RawEventStream, keep_alive, open_raw_stream, read_ahead, sse_response,
};
use crate::protocol::responses::ResponsesEvent;
use crate::translate::SseFrame;
use crate::translate::responses_passthrough::{ResponsesRelay, normalise_responses_request};

/// `POST /v1/responses`.
pub async fn create_response(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let prepared = translate_with_catalog(&state, |models| {
        normalise_responses_request(&body, models, |id| state.0.responses.get(id))
    })
    .await?;
    let events = open_raw_stream(&state, &prepared.upstream, prepared.session_id()).await?;
    let relay = ResponsesRelay::new(prepared.requested_model.clone());
    // For the recent-requests table: the model that served it, and its tokens once known.
    let info = RequestInfo::new(
        prepared
            .upstream
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    let memory = Memory {
        store: prepared.remember.then(|| (state.clone(), prepared.input())),
        usage: info.usage.clone(),
    };
    let mut response = if prepared.stream {
        stream_answer(relay, events, Some(memory)).await?
    } else {
        let response = collect_answer(relay, events).await?;
        memory.keep(&response);
        Json(response).into_response()
    };
    response.extensions_mut().insert(info);
    Ok(response)
}

/// What happens to a finished answer: its usage is recorded and, unless the client said
/// `store: false`, it is remembered with the input that produced it.
struct Memory {
    store: Option<(AppState, Vec<Value>)>,
    usage: UsageSlot,
}

impl Memory {
    fn keep(self, response: &Value) {
        let tokens = |field: &str| {
            response
                .pointer(&format!("/usage/{field}"))
                .and_then(Value::as_u64)
        };
        if let (Some(input), Some(output)) = (tokens("input_tokens"), tokens("output_tokens")) {
            let _already_set = self.usage.set((input, output));
        }
        let (Some((state, mut items)), Some(id)) =
            (self.store, response.get("id").and_then(Value::as_str))
        else {
            return;
        };
        if let Some(output) = response.get("output").and_then(Value::as_array) {
            items.extend(output.iter().cloned());
        }
        state.0.responses.insert(id, items);
    }
}

/// Reads the whole upstream stream into the final response object.
async fn collect_answer(
    mut relay: ResponsesRelay,
    mut events: RawEventStream,
) -> Result<Value, ApiError> {
    while let Some(item) = events.next().await {
        let (_, raw) = item?;
        let _frames = relay.push(&raw);
        if relay.is_finished() {
            break;
        }
    }
    relay.into_final_response()
}

/// Pre-reads until there is content (or [`COMMIT_AFTER`](crate::gateway::upstream_call::COMMIT_AFTER)), then relays.
async fn stream_answer(
    mut relay: ResponsesRelay,
    mut events: RawEventStream,
    mut memory: Option<Memory>,
) -> Result<Response, ApiError> {
    let buffered = read_ahead(
        &mut relay,
        &mut events,
        |relay: &mut ResponsesRelay, (_, raw): &(ResponsesEvent, Value)| relay.push(raw),
        |relay: &ResponsesRelay| relay.has_content() || relay.is_finished(),
    )
    .await?;
    remember_if_finished(&relay, &mut memory);
    let head = futures_util::stream::iter(buffered);
    Ok(sse_response(
        head.chain(relayed(relay, events, memory)),
        keep_alive(),
    ))
}

fn remember_if_finished(relay: &ResponsesRelay, memory: &mut Option<Memory>) {
    if let Some(response) = relay.final_response()
        && let Some(memory) = memory.take()
    {
        memory.keep(response);
    }
}

/// The rest of the upstream stream, relayed; ends after the terminal event.
fn relayed(
    relay: ResponsesRelay,
    events: RawEventStream,
    memory: Option<Memory>,
) -> impl Stream<Item = SseFrame> + Send + 'static {
    futures_util::stream::unfold(Some((relay, events, memory)), |state| async move {
        let (mut relay, mut events, mut memory) = state?;
        if relay.is_finished() {
            return None;
        }
        let frames = match events.next().await {
            Some(Ok((_, raw))) => relay.push(&raw),
            Some(Err(error)) => relay.fail(&error),
            None => relay.finish(),
        };
        remember_if_finished(&relay, &mut memory);
        Some((
            futures_util::stream::iter(frames),
            Some((relay, events, memory)),
        ))
    })
    .flatten()
}
