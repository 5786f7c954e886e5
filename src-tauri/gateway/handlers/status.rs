//! `GET /v1/status`: the status JSON (docs/compatibility.md §11). Account and usage answers are
//! reused for a few minutes; the live `x-codex-*` limits of later backend answers replace their
//! windows, and stand in when the usage call fails.

use axum::Json;
use axum::extract::State;

use crate::gateway::state::AppState;
use crate::status::{self, StatusReport};

/// Always 200: parts that failed are `null` with a sentence in `warnings` (including "sign in
/// again"), so that the tray and scripts read one shape.
pub(crate) async fn status(State(state): State<AppState>) -> Json<StatusReport> {
    let live = state.live_rate_limits();
    Json(
        status::collect_cached(
            state.auth(),
            &state.0.upstream,
            live.as_ref().map(|(id, snapshot)| (id.as_str(), snapshot)),
            &state.0.status_cache,
        )
        .await,
    )
}
