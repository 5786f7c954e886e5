//! Middleware, outermost first: `log_request`, then error rendering (`super::error`),
//! `host_guard` (Host and Origin), `api_key`.

pub mod api_key;
pub mod host_guard;
pub mod log_request;
