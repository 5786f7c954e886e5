//! A long Claude Code conversation for the benchmarks (`benches/translate.rs` and the ignored
//! `tests/suite/bench.rs`): a captured Claude Code turn (`tests/fixtures/claude_code/`, its
//! system prompt and tool list as Claude Code sends them) grown with Read tool turns whose
//! results are this repository's own sources in Claude Code's numbered-line format, to about
//! 636 KB of JSON and 160,000 o200k tokens, the size issue 15 measured.
//!
//! Each conversation carries a `nonce` in every tool result, so two nonces share nothing but
//! the system prompt and the tools (two sessions of the same user), while one nonce grown by a
//! turn repeats everything before it (the next turn of the same session).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Read tool turns of the benchmark conversation.
pub(crate) const READ_TURNS: usize = 60;
/// Bytes of source text per Read result (about 2,500 tokens).
const READ_BYTES: usize = 9_600;

/// The captured turn the conversation starts from.
pub(crate) fn captured_turn() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude_code/10_tool_use_turn2.json");
    let text = std::fs::read_to_string(&path).expect("the captured Claude Code turn");
    let mut capture: Value = serde_json::from_str(&text).expect("a JSON capture");
    capture["body"].take()
}

/// The Rust sources under `src-tauri/`, in a fixed order, as lines.
fn source_lines() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("a source directory")
            .map(|entry| entry.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src-tauri"),
        &mut files,
    );
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).expect("a source file");
            text.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

/// The captured turn followed by `read_turns` Read tool calls and their results, as Claude Code
/// would send the next request (`stream: true`, the cache mark on the last block).
pub(crate) fn long_conversation(read_turns: usize, nonce: &str) -> Value {
    let lines = source_lines();
    let mut body = captured_turn();
    body["stream"] = json!(true);
    let messages = body["messages"].as_array_mut().expect("messages");
    // Claude Code marks only the newest block for caching.
    for message in messages.iter_mut() {
        if let Some(blocks) = message["content"].as_array_mut() {
            for block in blocks {
                if let Some(block) = block.as_object_mut() {
                    block.remove("cache_control");
                }
            }
        }
    }
    let mut next_line = 0;
    for turn in 0..read_turns {
        let id = format!("toolu_read_{nonce}_{turn:03}");
        let path = format!("/home/user/project/{nonce}/src/file_{turn:03}.rs");
        let mut result = format!("{:>6}\t// {path}\n", 1);
        let mut number = 2;
        while result.len() < READ_BYTES {
            let line = &lines[next_line % lines.len()];
            next_line += 1;
            result.push_str(&format!("{number:>6}\t{line}\n"));
            number += 1;
        }
        messages.push(json!({"role": "assistant", "content": [
            {"type": "text", "text": format!("Let me read {path}.")},
            {"type": "tool_use", "id": id, "name": "Read", "input": {"file_path": path}},
        ]}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": result},
        ]}));
    }
    let last = messages.last_mut().expect("a last message");
    if let Some(block) = last["content"]
        .as_array_mut()
        .and_then(|blocks| blocks.last_mut())
    {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
    body
}
