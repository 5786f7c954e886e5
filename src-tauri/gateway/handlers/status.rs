//! `GET /v1/status`: the status JSON of PRODUCT.md, with the live `x-codex-*` limits of the
//! latest backend answer as the fallback when the usage call fails.

use axum::Json;
use axum::extract::State;

use crate::gateway::state::AppState;
use crate::status::{self, StatusReport};

/// Always 200: parts that failed are `null` with a sentence in `warnings` (including "sign in
/// again"), so that the tray and scripts read one shape.
pub async fn status(State(state): State<AppState>) -> Json<StatusReport> {
    let live = state.live_rate_limits();
    Json(status::collect(state.auth(), &state.0.upstream, live.as_ref()).await)
}
