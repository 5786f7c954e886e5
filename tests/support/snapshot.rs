//! Helpers for insta snapshots: the real binary's output as one text (exit code, stdout,
//! stderr) with the run's home directory and ports filtered out, and error answers with their
//! request ids checked and then redacted.
//!
//! ```ignore
//! let output = home.run(&["status"]).await;
//! cli_snapshot!(home, output, @"…");
//! ```

use std::process::Output;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::codexia::{TestHome, text};
use super::harness::Answer;

/// The output of one run, as uv's snapshots show it.
pub fn cli_output(output: &Output) -> String {
    format!(
        "success: {}\nexit_code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output.status.success(),
        output
            .status
            .code()
            .map_or_else(|| "none (killed by a signal)".to_owned(), |c| c.to_string()),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// Filters for everything that differs between runs of one CLI test: the temporary home
/// (`[HOME]`, which also covers `$CODEXIA_HOME` = `[HOME]/codexia`) and the loopback ports the
/// system hands out for port 0 (Linux's ephemeral range, 32768–60999; fixed ports such as the
/// default 14550 stay, they are part of the text).
pub fn cli_filters(home: &TestHome) -> Vec<(String, String)> {
    let home = home.home().display().to_string();
    vec![
        (regex_escape(&home), "[HOME]".to_owned()),
        (
            r"127\.0\.0\.1:(?:3[2-9]\d{3}|[45]\d{4}|60\d{3})\b".to_owned(),
            "127.0.0.1:[PORT]".to_owned(),
        ),
    ]
}

/// A regex matching `literal` exactly.
pub fn regex_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Snapshots a run of the binary ([`cli_output`]) with [`cli_filters`] and any extra
/// `(regex, replacement)` filters.
#[macro_export]
macro_rules! cli_snapshot {
    ($home:expr, $output:expr, $extra:expr, @$snapshot:literal) => {{
        let mut settings = insta::Settings::clone_current();
        let filters: Vec<(String, String)> = $crate::support::snapshot::cli_filters(&$home)
            .into_iter()
            .chain($extra)
            .collect();
        for (regex, replacement) in &filters {
            settings.add_filter(regex, replacement.as_str());
        }
        settings.bind(|| {
            insta::assert_snapshot!($crate::support::snapshot::cli_output(&$output), @$snapshot);
        });
    }};
    ($home:expr, $output:expr, @$snapshot:literal) => {
        $crate::cli_snapshot!($home, $output, Vec::<(String, String)>::new(), @$snapshot)
    };
}

/// An error answer as `{"status", "body"}` for a JSON snapshot, after checking that it is
/// JSON and, for the Anthropic envelope, that its `request_id` is a `req_` + 24 hex digits id
/// equal to the `request-id` header; that id is then redacted to `[request-id]`.
pub fn error_answer(answer: &Answer) -> Value {
    assert!(
        answer
            .header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "content-type {:?}: {}",
        answer.header("content-type"),
        answer.body
    );
    let mut body = answer.json();
    if let Some(id) = body.get("request_id") {
        let id = id.as_str().expect("request_id is a string").to_owned();
        assert_eq!(answer.header("request-id"), Some(id.as_str()));
        let hex = id.strip_prefix("req_").expect("req_ prefix");
        assert!(
            hex.len() == 24 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        body["request_id"] = json!("[request-id]");
    } else {
        assert_eq!(answer.header("request-id"), None, "{}", answer.body);
    }
    json!({"status": answer.status, "body": body})
}
