//! Runs `tests/py/validate_openai_events.py` to check SSE `data:` JSON lines against the official
//! `openai` Python SDK's pydantic event types (docs/compatibility.md §1.4).
//!
//! The interpreter is `$CODEXIA_TEST_PYTHON`, else `<repo>/.venv/bin/python` when it exists, else
//! `python3`. A missing interpreter or a missing `openai` package is a test failure, not a skip.

use std::path::PathBuf;

const HOW_TO_FIX: &str = "run `make test` (it creates the venv), or create it by hand: \
    python3 -m venv .venv && .venv/bin/pip install anthropic openai \
    (or point CODEXIA_TEST_PYTHON at a Python that has the openai package)";

/// The Python interpreter the tests use.
pub fn python_for_tests() -> PathBuf {
    if let Some(explicit) = std::env::var_os("CODEXIA_TEST_PYTHON").filter(|v| !v.is_empty()) {
        return PathBuf::from(explicit);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Validates each line (one event JSON per line) with the SDK's discriminated union.
/// `Ok` carries the script's summary; `Err` carries its report (pydantic error and the line).
/// Panics when Python or the `openai` package is missing.
pub async fn validate_with_openai_sdk(data_lines: &[String]) -> Result<String, String> {
    let mut file = tempfile::NamedTempFile::new().expect("temp file for SSE lines");
    std::io::Write::write_all(&mut file, data_lines.join("\n").as_bytes())
        .expect("write SSE lines");
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/validate_openai_events.py");
    let python = python_for_tests();
    let output = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(file.path())
        .output()
        .await
        .unwrap_or_else(|err| panic!("cannot run {}: {err}; {HOW_TO_FIX}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match output.status.code() {
        Some(0) => Ok(format!("{stdout}{stderr}")),
        // Exit code 3: the script could not import openai/pydantic.
        Some(3) => panic!(
            "{} has no usable openai package: {stderr}; {HOW_TO_FIX}",
            python.display()
        ),
        _ => Err(format!("{stdout}{stderr}")),
    }
}

/// Panics with the pydantic report unless every line validates.
pub async fn assert_valid_openai_stream_events(data_lines: &[String]) {
    if let Err(report) = validate_with_openai_sdk(data_lines).await {
        panic!("SSE events do not validate against the openai SDK types:\n{report}");
    }
}
