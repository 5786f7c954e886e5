//! The `codexia` binary: one tokio runtime, parse the command line, dispatch.

use std::process::ExitCode;

/// jemalloc instead of the system's malloc on Unix: its background thread hands the memory of a
/// burst of large requests back to the system about a second later, even when the gateway then
/// sits idle, where glibc's malloc keeps most of it for good (settings in .cargo/config.toml;
/// figures in the README's Performance section, `make soak`).
#[cfg(unix)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    codexia::main()
}
