//! `POST /v1/auth/refresh`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::gateway::error::ApiError;
use crate::gateway::state::AppState;

/// Refreshes the access token now. Answers the account id and the new expiry, never a token.
pub(crate) async fn refresh(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let credentials = state.auth().refresh_now().await?;
    let now = chrono::Utc::now().timestamp();
    let local =
        chrono::DateTime::<chrono::Utc>::from_timestamp(credentials.expires_at, 0).map(|t| {
            t.with_timezone(&chrono::Local)
                .format(crate::status::LOCAL_TIME_FORMAT)
                .to_string()
        });
    Ok(Json(json!({
        "account_id": credentials.account_id,
        "expires_at": credentials.expires_at,
        "expires_at_local": local,
        "remaining_seconds": credentials.expires_at - now,
    })))
}
