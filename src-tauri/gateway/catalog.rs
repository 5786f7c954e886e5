//! The backend's live model catalog (`GET /codex/models`, docs/protocol.md §10.1), fetched with
//! the signed-in credentials and cached: it decides which ids `/v1/models` lists and which GPT ids
//! requests may name (unless the configuration lists the models explicitly). When the backend
//! does not answer, or nobody is signed in, the configured / built-in list stays in use.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::error::ApiError;
use super::state::AppState;
use crate::models::ModelMap;
use crate::translate::messages_request::TranslateError;

/// How long a fetched catalog is used before `/v1/models` asks again.
pub(crate) const CATALOG_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a failed fetch (or no sign-in) is remembered before trying again.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// How old the catalog may be when a request names an id the map does not know.
pub(crate) const UNKNOWN_MODEL_MAX_AGE: Duration = Duration::from_secs(60);
/// Longest wait for the catalog endpoint (the list is an optimisation, not worth a hang).
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// When the catalog was last asked for, and whether it answered.
#[derive(Debug, Default)]
pub(crate) struct CatalogCache {
    last: std::sync::Mutex<Option<(Instant, bool)>>,
    /// One fetch at a time; others wait and reuse its result.
    fetching: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    fn last(&self) -> Option<(Instant, bool)> {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn record(&self, ok: bool) {
        *self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((Instant::now(), ok));
    }

    /// Whether a fetch ever succeeded (the map then holds a catalog, perhaps an old one).
    fn has_catalog(&self) -> bool {
        self.last().is_some_and(|(_, ok)| ok)
    }

    /// Whether the last attempt is recent enough: a success within `max_age`, a failure within
    /// [`RETRY_AFTER_FAILURE`].
    fn is_fresh(&self, max_age: Duration) -> bool {
        self.last().is_some_and(|(at, ok)| {
            let age = at.elapsed();
            if ok {
                age < max_age
            } else {
                age < RETRY_AFTER_FAILURE.min(max_age)
            }
        })
    }
}

/// The listed model ids of a catalog answer (`{"models":[{"slug","visibility",…}]}`), in the
/// backend's order; hidden entries (`visibility:"hide"`) are left out.
pub(crate) fn catalog_slugs(answer: &Value) -> Vec<String> {
    answer
        .get("models")
        .and_then(Value::as_array)
        .map(|models| {
            models
                .iter()
                .filter(|m| m.get("visibility").and_then(Value::as_str) != Some("hide"))
                .filter_map(|m| m.get("slug").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Fetches the catalog unless the last attempt is fresh (see [`CatalogCache`]); on success the
/// served model map is rebuilt from it. Failures are logged, never returned: the current list
/// stays in use.
pub(crate) async fn refresh_catalog(state: &AppState, max_age: Duration) {
    let cache = &state.0.catalog;
    if cache.is_fresh(max_age) {
        return;
    }
    let _one_at_a_time = cache.fetching.lock().await;
    if cache.is_fresh(max_age) {
        return;
    }
    let ok = fetch(state).await;
    cache.record(ok);
}

/// Like [`refresh_catalog`], but once a catalog was fetched an old one is served while a
/// background task fetches the new one, so listing models never waits on the backend twice.
pub(crate) async fn refresh_catalog_or_serve_stale(state: &AppState, max_age: Duration) {
    let cache = &state.0.catalog;
    if cache.is_fresh(max_age) {
        return;
    }
    if cache.has_catalog() {
        let state = state.clone();
        tokio::spawn(async move { refresh_catalog(&state, max_age).await });
    } else {
        refresh_catalog(state, max_age).await;
    }
}

async fn fetch(state: &AppState) -> bool {
    let credentials = match state.auth().credentials().await {
        Ok(credentials) => credentials,
        Err(err) => {
            tracing::debug!("model catalog not fetched: {err}");
            return false;
        }
    };
    let upstream = &state.0.upstream;
    let url = upstream.models_url();
    let answer = tokio::time::timeout(
        FETCH_TIMEOUT,
        upstream.get_json(&url, credentials.backend_auth()),
    )
    .await;
    match answer {
        Ok(Ok((body, headers))) => {
            state.observe_upstream_headers(&credentials.account_id, &headers);
            let slugs = catalog_slugs(&body);
            if slugs.is_empty() {
                tracing::warn!(
                    "the backend's model catalog lists no models; keeping the current list"
                );
                return false;
            }
            state.set_models(ModelMap::from_settings(&state.0.settings, Some(&slugs)));
            tracing::debug!(count = slugs.len(), "model catalog fetched");
            true
        }
        Ok(Err(err)) => {
            if let crate::upstream::client::UpstreamError::Status { headers, .. } = &err {
                state.observe_upstream_headers(&credentials.account_id, headers);
            }
            tracing::warn!("could not fetch the backend's model catalog: {err}");
            false
        }
        Err(_) => {
            tracing::warn!("the backend's model catalog did not answer in time");
            false
        }
    }
}

/// Runs a translation with the current model map; when it names a model the map does not know,
/// refreshes the catalog (at most once a minute) and tries once more.
pub(crate) async fn translate_with_catalog<T>(
    state: &AppState,
    translate: impl Fn(&ModelMap) -> Result<T, TranslateError>,
) -> Result<T, ApiError> {
    match translate(&state.models()) {
        Err(TranslateError::UnknownModel(_)) => {
            refresh_catalog(state, UNKNOWN_MODEL_MAX_AGE).await;
            translate(&state.models()).map_err(ApiError::from)
        }
        other => other.map_err(ApiError::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hidden_catalog_entries_are_not_listed() {
        let answer = json!({"models": [
            {"slug": "gpt-5.5", "visibility": "list"},
            {"slug": "codex-auto-review", "visibility": "hide"},
            {"slug": "gpt-5.6-sol"},
            {"display_name": "no slug"}
        ]});
        assert_eq!(catalog_slugs(&answer), vec!["gpt-5.5", "gpt-5.6-sol"]);
        assert!(catalog_slugs(&json!({"detail": "nope"})).is_empty());
    }

    #[test]
    fn a_failed_attempt_is_retried_sooner_than_a_success() {
        let cache = CatalogCache::default();
        assert!(!cache.is_fresh(CATALOG_TTL));
        cache.record(true);
        assert!(cache.is_fresh(CATALOG_TTL));
        assert!(!cache.is_fresh(Duration::ZERO));
        cache.record(false);
        assert!(cache.is_fresh(CATALOG_TTL));
        let long_ago = Instant::now().checked_sub(RETRY_AFTER_FAILURE).unwrap();
        *cache.last.lock().unwrap() = Some((long_ago, false));
        assert!(!cache.is_fresh(CATALOG_TTL));
    }
}
