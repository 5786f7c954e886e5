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

// The fake backend and the benchmarks' clients run in this process, beside the gateway under
// test on the same cores: with glibc's allocator they spent a fifth of their CPU in malloc and
// free (the fake builds every event as JSON values), CPU the gateway's own figures then paid
// for in `make bench`. The gateway's allocator, for the same reason the gateway has it.
#[cfg(unix)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod suite;
mod support;
