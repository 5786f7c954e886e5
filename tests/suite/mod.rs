mod auth;
mod bench;
mod claude;
mod claude_code_turns;
mod cli;
mod client_errors;
mod config;
mod daemon;
mod fake_backend;
mod files;
mod messages;
mod openai;
mod serve;
mod sse_replay;
mod status;
mod stop_sequences;
#[cfg(feature = "tray")]
mod tray;
