//! `POST /v1/messages/count_tokens`: the o200k_base count of the request exactly as
//! `/v1/messages` would translate it (billing line stripped, tools flattened, tool results
//! rendered). Computed locally; never calls the backend.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::messages::{count_exact, prepare};
use crate::gateway::error::{ApiError, request_id_header};
use crate::gateway::extract::ApiJson;
use crate::gateway::state::AppState;
use crate::protocol::anthropic::{CountTokensRequest, CountTokensResponse};

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CountTokensRequest>,
) -> Result<Response, ApiError> {
    let prepared = prepare(&state, &headers, &request).await?;
    // Large contexts take milliseconds to count: off the async workers, with the memo that
    // `/v1/messages` fills, so counting a conversation before sending it costs once.
    let input_tokens = count_exact(Arc::new(prepared.upstream))
        .await
        .ok_or_else(|| ApiError::internal("The token count failed."))?;
    let mut response = Json(CountTokensResponse { input_tokens }).into_response();
    response
        .headers_mut()
        .insert("request-id", request_id_header());
    Ok(response)
}
