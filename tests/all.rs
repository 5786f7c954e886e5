//! The one integration-test binary: end-to-end tests of the built `codexia` binary against a
//! faithful fake of the remote side (OAuth issuer + ChatGPT Codex backend).
//!
//! `support/` holds the fake upstream and helpers to run the binary; `suite/` holds the tests.

// Test code may panic on broken expectations; that is how a test fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod suite;
mod support;
