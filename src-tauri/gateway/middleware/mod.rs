//! Middleware, outermost first: `log_request`, then error rendering (`super::error`),
//! `host_guard` (Host and Origin), `api_key`, `body_limit` (the body cap and the shared body
//! budget; it reads the body).

pub mod api_key;
pub mod body_limit;
pub mod host_guard;
pub mod log_request;
