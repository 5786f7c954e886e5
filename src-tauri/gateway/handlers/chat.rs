//! `POST /v1/chat/completions`: OpenAI Chat Completions on the Codex backend. Translate the
//! request (`translate::chat_request`; 404 listing the served models after one look at the
//! backend's live catalog), open the backend stream, and answer through the one stream pipeline
//! (`gateway/stream.rs`) with the Chat translator: a later failure is an `{"error":…}` chunk
//! without `[DONE]`, and `: keep-alive` comments cover the backend's silences.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::gateway::catalog::translate_with_catalog;
use crate::gateway::error::ApiError;
use crate::gateway::extract::ApiJson;
use crate::gateway::recent::{RequestDetails, RequestInfo};
use crate::gateway::state::AppState;
use crate::gateway::{backend, stream};
use crate::inspector::Capture;
use crate::protocol::openai_chat::{ChatRequest, StopSequences};
use crate::protocol::responses::ResponsesEvent;
use crate::translate::chat_request::chat_to_responses;
use crate::translate::chat_stream::ChatStream;

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    capture: Option<Extension<Arc<Capture>>>,
    ApiJson(request): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let upstream =
        translate_with_catalog(&state, |models| chat_to_responses(&request, models)).await?;
    let info = RequestInfo::new(upstream.model.clone());
    info.describe(RequestDetails::of(&request.model, &upstream));
    let session_id = upstream.prompt_cache_key.clone();
    let opening = backend::open_stream::<ResponsesEvent>(
        state.clone(),
        upstream,
        backend::body_size(&headers),
        session_id,
        capture.map(|Extension(capture)| capture),
    );
    let include_usage = request
        .stream_options
        .and_then(|options| options.include_usage)
        .unwrap_or(false);
    let stop = request.stop.as_ref().map(StopSequences::to_vec);
    let translator = ChatStream::new(
        request.model.clone(),
        crate::gateway::error::random_id("chatcmpl-"),
        chrono::Utc::now().timestamp(),
        include_usage,
    )
    .with_stop_sequences(&stop.unwrap_or_default());
    let how = stream::Answer {
        stream: request.stream.unwrap_or(false),
        first_byte_timeout: state.first_byte_timeout(),
        info,
        on_end: None,
    };
    stream::answer(translator, opening, how).await
}
