//! The one place that writes to the terminal: command output to stdout, messages and errors
//! to stderr, in uv's `error:` / `Caused by:` / `hint:` shape.
#![expect(
    clippy::print_stderr,
    reason = "the one module that writes to the terminal (stdout through a lock)"
)]

use std::io::Write;

/// Writes the CLI's output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer;

impl Printer {
    /// A line of command output (stdout), flushed at once so that scripts and tests waiting
    /// for it (e.g. `listening on …`) see it immediately.
    pub fn out(self, line: impl std::fmt::Display) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }

    /// A message for the person at the terminal (stderr).
    pub fn note(self, line: impl std::fmt::Display) {
        eprintln!("{line}");
    }

    /// A warning (stderr).
    pub fn warn(self, line: impl std::fmt::Display) {
        eprintln!("warning: {line}");
    }

    /// An error with its causes and an optional hint (stderr).
    pub fn error(self, error: &anyhow::Error, hint: Option<&str>) {
        eprintln!("error: {error}");
        let mut last = error.to_string();
        for cause in error.chain().skip(1) {
            let text = cause.to_string();
            // Error types that repeat their source in their own message would print it twice.
            if !last.contains(&text) {
                eprintln!("  Caused by: {text}");
            }
            last = text;
        }
        if let Some(hint) = hint {
            eprintln!("hint: {hint}");
        }
    }

    /// Reads a line from stdin after a prompt on stderr; `None` at end of input.
    pub fn ask(self, prompt: &str) -> Option<String> {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim().to_owned()),
        }
    }
}
