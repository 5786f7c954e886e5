//! Shared state of a running gateway: `AppState(Arc<App>)`, cheap to clone into handlers.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use super::recent::{RecentRequests, RequestRecord};
use crate::auth::AuthManager;
use crate::auth::store::StoreSpec;
use crate::ledger::{Ledger, WindowKind, WindowObservation};
use crate::models::ModelMap;
use crate::settings::{ApiKey, Settings};
use crate::upstream::UpstreamClient;
use crate::upstream::rate_limits::{self, RateLimitSnapshot};

/// Everything a request handler may need.
#[derive(Debug)]
pub(crate) struct App {
    pub settings: Settings,
    /// The address the listener actually bound (port 0 resolved).
    pub bound_ip: IpAddr,
    pub upstream: UpstreamClient,
    /// Replaced when the live catalog arrives; readers clone the `Arc` and drop the lock.
    models: RwLock<Arc<ModelMap>>,
    /// Signed-in credentials; refreshes one at a time.
    pub auth: AuthManager,
    /// The `x-codex-*` limits of the latest backend answer that carried them.
    /// The latest live rate limits and the account whose answer carried them.
    live_limits: RwLock<Option<(String, RateLimitSnapshot)>>,
    /// The last requests answered (for the tray).
    pub recent: RecentRequests,
    /// Account and usage answers reused by `/v1/status` for a few minutes.
    pub status_cache: crate::status::StatusCache,
    /// Bumped whenever a backend answer carried rate-limit headers (the tray listens).
    limits_seen: tokio::sync::watch::Sender<u64>,
    /// Recent `/v1/responses` answers, for `previous_response_id`.
    pub responses: super::response_store::ResponseStore,
    /// When the backend's model catalog was last fetched.
    pub catalog: super::catalog::CatalogCache,
    /// The usage ledger (`$CODEXIA_HOME/usage.db`), written off the request path.
    pub ledger: Ledger,
    /// Exhausted accounts and conversations' accounts (`switch_when_exhausted`).
    pub routing: super::middleware::account::Routing,
    /// Both sides of recent requests, within `inspector_memory_mb`.
    pub inspector: crate::inspector::Inspector,
}

/// The axum state: a handle to [`App`].
#[derive(Debug, Clone)]
pub(crate) struct AppState(pub Arc<App>);

impl AppState {
    /// State for a gateway bound at `bound_ip`.
    pub(crate) fn new(settings: Settings, bound_ip: IpAddr, upstream: UpstreamClient) -> Self {
        let models = ModelMap::from_settings(&settings, None);
        crate::logging::remember_configured_keys(&settings);
        let auth = AuthManager::new(StoreSpec::from_settings(&settings), upstream.clone());
        let settings_home = settings.home.clone();
        let retention_days = settings.usage_retention_days.value;
        let inspector_memory = settings.inspector_memory.value;
        let capture_dir = settings.capture_dir.value.clone();
        Self(Arc::new(App {
            settings,
            bound_ip,
            upstream,
            models: RwLock::new(Arc::new(models)),
            auth,
            live_limits: RwLock::new(None),
            recent: RecentRequests::default(),
            status_cache: crate::status::StatusCache::default(),
            limits_seen: tokio::sync::watch::Sender::new(0),
            responses: super::response_store::ResponseStore::default(),
            catalog: super::catalog::CatalogCache::default(),
            ledger: Ledger::start(&settings_home, retention_days),
            routing: super::middleware::account::Routing::default(),
            inspector: crate::inspector::Inspector::new(inspector_memory, capture_dir),
        }))
    }

    /// The usage ledger.
    pub(crate) fn ledger(&self) -> &Ledger {
        &self.0.ledger
    }

    pub(crate) fn api_key(&self) -> Option<&ApiKey> {
        self.0.settings.api_key.value.as_ref()
    }

    /// Longest wait for the backend's headers (`upstream_first_byte_timeout`).
    pub(crate) fn first_byte_timeout(&self) -> std::time::Duration {
        self.0.settings.upstream_first_byte_timeout.value
    }

    pub(crate) fn allowed_origins(&self) -> &[String] {
        &self.0.settings.allowed_origins.value
    }

    pub(crate) fn bind_ip(&self) -> IpAddr {
        self.0.bound_ip
    }

    /// The last requests answered, oldest first.
    #[cfg_attr(
        not(feature = "tray"),
        expect(dead_code, reason = "the tray's Settings window lists them")
    )]
    pub(crate) fn recent_requests(&self) -> Vec<RequestRecord> {
        self.0.recent.snapshot()
    }

    /// The current model map.
    pub(crate) fn models(&self) -> Arc<ModelMap> {
        match self.0.models.read() {
            Ok(guard) => Arc::clone(&guard),
            // A panic while holding the lock cannot leave a half-written Arc; keep serving.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the model map (after the live catalog was fetched).
    pub(crate) fn set_models(&self, models: ModelMap) {
        let mut guard = match self.0.models.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(models);
    }
}

/// Credentials and live rate limits (the sign-in half of the state).
impl AppState {
    /// The credentials manager.
    pub(crate) fn auth(&self) -> &AuthManager {
        &self.0.auth
    }

    /// Keeps the `x-codex-*` rate limits of a backend answer (call it on every answer,
    /// successful or not); answers without them change nothing.
    pub(crate) fn observe_upstream_headers(
        &self,
        account_id: &str,
        headers: &axum::http::HeaderMap,
    ) {
        let Some(snapshot) = rate_limits::from_headers(headers, chrono::Utc::now().timestamp())
        else {
            return;
        };
        let mut guard = match self.0.live_limits.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some((account_id.to_owned(), snapshot));
        drop(guard);
        self.0.limits_seen.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Changes whenever a backend answer carried rate-limit headers.
    #[cfg_attr(
        not(feature = "tray"),
        expect(dead_code, reason = "the tray's menu follows the limits")
    )]
    pub(crate) fn subscribe_limits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.limits_seen.subscribe()
    }

    /// The main limit's 5h and weekly windows of the latest live rate limits, for the usage
    /// ledger.
    pub(crate) fn live_windows(&self) -> [Option<WindowObservation>; 2] {
        let Some((_, snapshot)) = self.live_rate_limits() else {
            return [None, None];
        };
        WindowKind::ALL.map(|kind| {
            snapshot
                .windows
                .iter()
                .find(|w| w.limit_name.is_none() && w.name() == kind.name())
                .map(|w| WindowObservation {
                    used_percent: 100.0 - w.remaining_percent,
                    reset_at: w.reset_at,
                })
        })
    }

    /// The latest live rate limits, if any backend answer carried them, with the id of the
    /// account that answer served.
    pub(crate) fn live_rate_limits(&self) -> Option<(String, RateLimitSnapshot)> {
        match self.0.live_limits.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}
