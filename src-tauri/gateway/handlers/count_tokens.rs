//! `POST /v1/messages/count_tokens`: the o200k_base count of the request exactly as
//! `/v1/messages` would translate it (billing line stripped, tools flattened, tool results
//! rendered). Computed locally; never calls the backend.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::messages::prepare;
use crate::gateway::error::{ApiError, request_id_header};
use crate::gateway::extract::ApiJson;
use crate::gateway::state::AppState;
use crate::protocol::anthropic::{CountTokensRequest, CountTokensResponse};
use crate::translate::count_tokens::count_request_tokens;

/// `POST /v1/messages/count_tokens`.
pub async fn count_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CountTokensRequest>,
) -> Result<Response, ApiError> {
    let prepared = prepare(&state, &headers, &request).await?;
    // Large contexts take milliseconds to encode: keep them off the async workers.
    let input_tokens =
        tokio::task::spawn_blocking(move || count_request_tokens(&prepared.upstream))
            .await
            .map_err(|_| ApiError::internal("The token count failed."))?;
    let mut response = Json(CountTokensResponse { input_tokens }).into_response();
    response
        .headers_mut()
        .insert("request-id", request_id_header());
    Ok(response)
}
