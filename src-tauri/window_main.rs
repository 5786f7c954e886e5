//! The `codexia-window` binary: one window of the tray app (Settings or Sign in), started by
//! the tray with piped stdin and stdout. It is a binary of its own so that only it links the
//! web engine: the tray process (`codexia`) stays small.

use std::process::ExitCode;

/// The same allocator as `codexia` (see main.rs).
#[cfg(unix)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    codexia::window_main()
}
