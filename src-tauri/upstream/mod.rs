//! The remote side: one HTTP client for the ChatGPT backend and the OAuth issuer, and an SSE
//! reader that yields events as they arrive.

pub(crate) mod client;
pub(crate) mod events;
pub(crate) mod failure;
pub(crate) mod rate_limits;
pub(crate) mod sse;

pub(crate) use client::UpstreamClient;
