//! The `codexia` binary: one tokio runtime, parse the command line, dispatch.

use std::process::ExitCode;

fn main() -> ExitCode {
    codexia::main()
}
