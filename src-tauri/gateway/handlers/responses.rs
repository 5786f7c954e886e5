//! `POST /v1/responses`: the OpenAI Responses API, passed through to the Codex backend after
//! normalisation (`translate::responses_passthrough`) and answered through the one stream
//! pipeline (`gateway/stream.rs`) with the relay. Finished answers are remembered in the bounded
//! in-memory [`ResponseStore`](crate::gateway::response_store::ResponseStore) so that a later
//! `previous_response_id` can continue them (the backend stores nothing).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use crate::gateway::catalog::translate_with_catalog;
use crate::gateway::error::ApiError;
use crate::gateway::extract::ApiJson;
use crate::gateway::recent::{RequestDetails, RequestInfo};
use crate::gateway::state::AppState;
use crate::gateway::{backend, stream};
use crate::inspector::Capture;
use crate::translate::responses_passthrough::{ResponsesRelay, normalise_responses_request};

/// `POST /v1/responses`.
pub(crate) async fn create_response(
    State(state): State<AppState>,
    headers: HeaderMap,
    capture: Option<Extension<Arc<Capture>>>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let prepared = translate_with_catalog(&state, |models| {
        normalise_responses_request(&body, models, |id| state.0.responses.get(id))
    })
    .await?;
    let served = prepared.upstream.get("model").and_then(Value::as_str);
    let info = RequestInfo::new(served.unwrap_or_default());
    info.describe(RequestDetails::of_json(
        Some(&prepared.requested_model),
        &prepared.upstream,
    ));
    let session_id = prepared.session_id().map(str::to_owned);
    let opening = backend::open_stream::<Value>(
        state.clone(),
        prepared.upstream.clone(),
        backend::body_size(&headers),
        session_id,
        capture.map(|Extension(capture)| capture),
    );
    // Unless the client said `store: false`, a finished answer is remembered with the input
    // that produced it.
    let remember = prepared.remember.then(|| {
        let (state, mut items) = (state.clone(), prepared.input());
        let on_end: stream::OnEnd<ResponsesRelay> = Box::new(move |relay| {
            let Some(response) = relay.final_response() else {
                return;
            };
            let Some(id) = response.get("id").and_then(Value::as_str) else {
                return;
            };
            if let Some(output) = response.get("output").and_then(Value::as_array) {
                items.extend(output.iter().cloned());
            }
            state.0.responses.insert(id, items);
        });
        on_end
    });
    let relay = ResponsesRelay::new(prepared.requested_model.clone());
    let how = stream::Answer {
        stream: prepared.stream,
        first_byte_timeout: state.first_byte_timeout(),
        info,
        on_end: remember,
    };
    stream::answer(relay, opening, how).await
}
