//! `GET /v1/models`: the OpenAI list shape, or Anthropic's when the request carries
//! `anthropic-version`. The ids come from the backend's live catalog (fetched with the
//! signed-in credentials and cached for [`CATALOG_TTL`]) when it answers, else from the
//! configured / built-in list; the OpenAI shape adds the exact aliases.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::gateway::catalog::{CATALOG_TTL, refresh_catalog_or_serve_stale};
use crate::gateway::state::AppState;

/// A fixed creation time: the backend does not say when a model appeared, and a stable value
/// keeps client caches quiet.
const CREATED_AT: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// Lists the served models (and, in the OpenAI shape, the exact aliases).
pub(crate) async fn list_models(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    refresh_catalog_or_serve_stale(&state, CATALOG_TTL).await;
    let models = state.models();
    if headers.contains_key("anthropic-version") {
        let data: Vec<Value> = models
            .served()
            .iter()
            .map(|id| {
                json!({
                    "type": "model",
                    "id": id,
                    "display_name": display_name(id),
                    "created_at": "2026-01-01T00:00:00Z",
                })
            })
            .collect();
        return Json(json!({
            "data": data,
            "has_more": false,
            "first_id": models.served().first(),
            "last_id": models.served().last(),
        }));
    }
    let aliases = models
        .aliases()
        .keys()
        .filter(|alias| !alias.ends_with('*'));
    let data: Vec<Value> = models
        .served()
        .iter()
        .chain(aliases)
        .map(|id| json!({"id": id, "object": "model", "created": CREATED_AT, "owned_by": "openai"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// `gpt-5.1-codex-max` → `GPT-5.1 Codex Max`.
fn display_name(id: &str) -> String {
    id.split('-')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 && part.eq_ignore_ascii_case("gpt") {
                "GPT".to_owned()
            } else {
                let mut chars = part.chars();
                chars
                    .next()
                    .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replacen("GPT ", "GPT-", 1)
}

#[cfg(test)]
mod tests {
    use super::display_name;

    #[test]
    fn display_names_read_like_product_names() {
        assert_eq!(display_name("gpt-5.1-codex-max"), "GPT-5.1 Codex Max");
        assert_eq!(display_name("gpt-5.5"), "GPT-5.5");
    }
}
