//! `GET /v1/usage?since=24h&by=client`: the usage ledger's report as JSON (the same data as
//! `codexia usage --json`). Rows recorded before the call are written first, so a caller sees
//! its own finished requests.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::gateway::error::{ApiError, ErrorKind};
use crate::gateway::state::AppState;
use crate::ledger::query::{self, GroupBy, UsageReport};

/// The query string.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UsageParams {
    /// `5h`, `24h`, `7d`, `30d` or `YYYY-MM-DD`; default `24h`.
    pub since: Option<String>,
    /// `client`, `session`, `model`, `day` or `hour`.
    pub by: Option<String>,
}

/// `GET /v1/usage`.
pub(crate) async fn usage(
    State(state): State<AppState>,
    Query(params): Query<UsageParams>,
) -> Result<Json<UsageReport>, ApiError> {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let since_text = params.since.as_deref().unwrap_or("24h");
    let since_ms = query::parse_since(since_text, now_ms).ok_or_else(|| {
        ApiError::new(
            ErrorKind::InvalidRequest,
            format!("`since` must be like 5h, 24h, 7d, 30d or YYYY-MM-DD, not {since_text:?}."),
        )
    })?;
    let by = match params.by.as_deref() {
        None => None,
        Some(text) => Some(GroupBy::parse(text).ok_or_else(|| {
            ApiError::new(
                ErrorKind::InvalidRequest,
                format!("`by` must be client, session, model, day or hour, not {text:?}."),
            )
        })?),
    };
    let ledger = state.ledger().clone();
    let report = tokio::task::spawn_blocking(move || {
        ledger.flush_blocking();
        query::report_from_file(ledger.path(), since_ms, by, now_ms)
    })
    .await
    .map_err(|err| ApiError::new(ErrorKind::Internal, err.to_string()))?
    .map_err(|err| {
        tracing::warn!("usage ledger: {err}");
        ApiError::new(ErrorKind::Internal, "The usage database cannot be read.")
    })?;
    Ok(Json(report))
}
