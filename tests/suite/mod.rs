mod auth;
mod bench;
mod claude;
mod codex;
mod config;
mod daemon;
mod fake_backend;
mod messages;
mod openai;
mod serve;
mod status;
#[cfg(feature = "tray")]
mod tray;
