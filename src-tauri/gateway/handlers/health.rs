//! `GET /health`: liveness, no auth.

use axum::Json;
use serde_json::{Value, json};

/// The health answer; `service` lets `codexia` recognise another codexia on a port.
pub(crate) async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "service": "codexia", "version": env!("CARGO_PKG_VERSION")}))
}
