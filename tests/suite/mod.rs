mod auth;
mod bench;
mod claude;
mod config;
mod daemon;
mod fake_backend;
mod login;
mod messages;
mod models;
mod openai;
mod serve;
mod status;
#[cfg(feature = "tray")]
mod tray;
