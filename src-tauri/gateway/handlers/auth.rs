//! `POST /v1/auth/refresh`, and how an [`AuthError`] reaches an API caller.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::AuthError;
use crate::gateway::error::{ApiError, ErrorKind};
use crate::gateway::state::AppState;

/// Refreshes the access token now. Answers the account id and the new expiry, never a token.
pub async fn refresh(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
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

/// Not signed in / sign in again → 401 with the sentence; a sign-in server that failed → 502;
/// a credential store that failed → 503.
impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        let message = err.to_string();
        match err {
            AuthError::NotSignedIn | AuthError::SignInAgain { .. } => {
                ApiError::authentication(message)
            }
            AuthError::Transient(_) => {
                ApiError::new(ErrorKind::Upstream, format!("{message} Try again shortly."))
            }
            AuthError::Store(_) => ApiError {
                status: Some(StatusCode::SERVICE_UNAVAILABLE),
                ..ApiError::internal(message)
            },
        }
    }
}
