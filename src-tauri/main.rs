//! The `codexia` binary: one tokio runtime, parse the command line, dispatch.

use std::process::ExitCode;

/// mimalloc instead of the system's malloc: after a burst of large requests it hands the memory
/// back to the system within about a second (its purge delay), where glibc's malloc keeps most
/// of it for good (figures in the README's Performance section, `make soak`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    codexia::main()
}
