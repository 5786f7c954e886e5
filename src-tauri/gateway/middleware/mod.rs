//! Middleware, outermost first: `log_request`, `capture` (the request inspector: it sees the
//! request as it came and the response as the client gets it), then error rendering
//! (`super::error`), `host_guard` (Host and Origin), `api_key`, `account` (which signed-in
//! account serves), `body_limit` (the body cap and the shared body budget; it reads the body,
//! and hands it to the capture).

pub(crate) mod account;
pub(crate) mod api_key;
pub(crate) mod body_limit;
pub(crate) mod capture;
pub(crate) mod host_guard;
pub(crate) mod log_request;
