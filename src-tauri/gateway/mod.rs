//! The local HTTP gateway: Anthropic Messages and OpenAI routes translated to the ChatGPT
//! Codex backend. Loopback by default; Host/Origin guards always on; an API key is required
//! before it may listen on a non-loopback address.

pub(crate) mod backend;
pub(crate) mod catalog;
pub(crate) mod connections;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod handlers;
pub(crate) mod middleware;
pub(crate) mod recent;
pub(crate) mod response_store;
pub(crate) mod scratch;
pub(crate) mod state;
pub(crate) mod stream;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::get;

use crate::settings::Settings;
use crate::upstream::UpstreamClient;
use error::{ApiError, ErrorKind};
use middleware::body_limit::BodyLimits;
use state::AppState;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    #[error(
        "refusing to listen on {addr} without an API key: anyone on the network could use your ChatGPT account"
    )]
    ExposedWithoutKey { addr: SocketAddr },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Builds the router with every route and middleware.
pub(crate) fn router(state: AppState) -> Router {
    use axum::middleware::{from_fn, from_fn_with_state};

    Router::new()
        .route("/health", get(handlers::health::health))
        .route("/v1/models", get(handlers::models::list_models))
        .route("/v1/status", get(handlers::status::status))
        .route("/v1/usage", get(handlers::usage::usage))
        .route("/v1/requests", get(handlers::requests::list_requests))
        .route("/v1/requests/{id}", get(handlers::requests::request_detail))
        .route(
            "/v1/messages",
            axum::routing::post(handlers::messages::create_message),
        )
        .route(
            "/v1/messages/count_tokens",
            axum::routing::post(handlers::count_tokens::count_tokens),
        )
        .route(
            "/v1/chat/completions",
            axum::routing::post(handlers::chat::chat_completions),
        )
        .route(
            "/v1/responses",
            axum::routing::post(handlers::responses::create_response),
        )
        .route(
            "/v1/auth/refresh",
            axum::routing::post(handlers::auth::refresh),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // `body_limit` reads every body under the cap and the shared budget, so axum's own
        // limit (2 MB by default) must not apply as well.
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn_with_state(
            BodyLimits::from_settings(&state.0.settings),
            middleware::body_limit::limit_bodies,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::account::route_account,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::api_key::require_api_key,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::host_guard::host_guard,
        ))
        .layer(from_fn(error::render_in_dialect))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::capture::capture_exchange,
        ))
        .layer(from_fn_with_state(
            state.clone(),
            middleware::log_request::log_request,
        ))
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("There is no route {method} {}.", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        format!("{method} is not allowed on {}.", uri.path()),
    )
}

/// How long a stopping gateway waits for the usage ledger to write its last rows.
const LEDGER_FLUSH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A gateway whose listener is bound and accepting connections.
pub(crate) struct Gateway {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Gateway {
    /// Checks the settings and binds the listener. Connections queue from this point on.
    pub(crate) async fn bind(settings: Settings) -> Result<Self, GatewayError> {
        let addr = settings.bind.value;
        if settings.exposed_without_key().is_some() {
            return Err(GatewayError::ExposedWithoutKey { addr });
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| GatewayError::Bind { addr, source })?;
        let upstream = UpstreamClient::new(&settings);
        let state = AppState::new(settings, local.ip(), upstream);
        // Choose the credential store now, off the start-up path: the keychain probe may take
        // a moment, and its fallback warning (or failure) belongs in the start-up log.
        let auth_state = state.clone();
        tokio::spawn(async move {
            if let Err(err) = auth_state.auth().store().await {
                tracing::warn!("{err}");
            }
        });
        Ok(Self { listener, state })
    }

    /// The bound address (with the real port when 0 was asked for).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.0.settings.bind.value)
    }

    /// The shared state (for in-process callers such as the tray).
    pub(crate) fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish. Connections
    /// are capped and timed out as `connections.rs` says.
    pub(crate) async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = connections::ConnectionLimits::from_settings(&self.state.0.settings);
        let ledger = self.state.ledger().clone();
        let app = router(self.state);
        let served = connections::serve(self.listener, app, limits, shutdown).await;
        // The ledger's writer gathers rows for a moment before writing them: the last requests'
        // rows reach the file before the process goes.
        let flushed = tokio::task::spawn_blocking(move || ledger.flush_blocking());
        if tokio::time::timeout(LEDGER_FLUSH_TIMEOUT, flushed)
            .await
            .is_err()
        {
            tracing::warn!("the usage ledger did not write its last rows in time");
        }
        served
    }
}
