//! Shared state of a running gateway: `AppState(Arc<App>)`, cheap to clone into handlers.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use crate::models::ModelMap;
use crate::settings::{ApiKey, Settings};
use crate::upstream::UpstreamClient;

/// Everything a request handler may need.
#[derive(Debug)]
pub struct App {
    pub settings: Settings,
    /// The address the listener actually bound (port 0 resolved).
    pub bound_ip: IpAddr,
    pub upstream: UpstreamClient,
    /// Replaced when the live catalog arrives; readers clone the `Arc` and drop the lock.
    models: RwLock<Arc<ModelMap>>,
    pub started: Instant,
}

/// The axum state: a handle to [`App`].
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<App>);

impl AppState {
    /// State for a gateway bound at `bound_ip`.
    pub fn new(settings: Settings, bound_ip: IpAddr, upstream: UpstreamClient) -> Self {
        let models = ModelMap::from_settings(&settings, None);
        Self(Arc::new(App {
            settings,
            bound_ip,
            upstream,
            models: RwLock::new(Arc::new(models)),
            started: Instant::now(),
        }))
    }

    pub fn api_key(&self) -> Option<&ApiKey> {
        self.0.settings.api_key.value.as_ref()
    }

    pub fn allowed_origins(&self) -> &[String] {
        &self.0.settings.allowed_origins.value
    }

    pub fn bind_ip(&self) -> IpAddr {
        self.0.bound_ip
    }

    /// The current model map.
    pub fn models(&self) -> Arc<ModelMap> {
        match self.0.models.read() {
            Ok(guard) => Arc::clone(&guard),
            // A panic while holding the lock cannot leave a half-written Arc; keep serving.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the model map (after the live catalog was fetched).
    pub fn set_models(&self, models: ModelMap) {
        let mut guard = match self.0.models.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(models);
    }
}
