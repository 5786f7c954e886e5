mod auth;
mod bench;
mod claude;
mod config;
mod daemon;
mod fake_backend;
mod files;
mod messages;
mod openai;
mod serve;
mod status;
mod stop_sequences;
#[cfg(feature = "tray")]
mod tray;
