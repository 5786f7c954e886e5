//! codexia: a local Anthropic Messages and OpenAI API gateway in front of the ChatGPT Codex
//! backend, signed in with Codex OAuth; a CLI and (feature `tray`) a desktop tray application.

pub mod auth;
mod claude_env;
pub mod cli;
pub mod daemon;
pub mod files;
pub mod gateway;
pub mod ledger;
mod local;
mod logging;
pub mod models;
pub mod protocol;
pub mod settings;
pub mod status;
pub mod translate;
#[cfg(feature = "tray")]
pub mod tray;
pub mod upstream;

pub use settings::Settings;
