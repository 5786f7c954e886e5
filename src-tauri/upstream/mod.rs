//! The remote side: one HTTP client for the ChatGPT backend and the OAuth issuer, and an SSE
//! reader that yields events as they arrive.

pub mod client;
pub mod events;
pub mod failure;
pub mod rate_limits;
pub mod sse;

pub use client::UpstreamClient;
