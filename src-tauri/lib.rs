//! codexia: a local Anthropic Messages and OpenAI API gateway in front of the ChatGPT Codex
//! backend, signed in with Codex OAuth; a CLI and (feature `tray`) a desktop tray application.
//!
//! Everything is private to the crate (docs/architecture.md §2 lists the modules); the binary
//! needs only [`main`], and the benchmarks and the replay tests the stream translators below.

mod auth;
mod bench_api;
mod claude_env;
mod cli;
mod daemon;
mod files;
mod gateway;
mod inspector;
mod ledger;
mod local;
mod logging;
mod models;
mod protocol;
mod redact;
mod settings;
mod status;
mod support;
mod translate;
#[cfg(feature = "tray")]
mod tray;
mod upstream;

pub use cli::main;
#[cfg(feature = "tray")]
pub use cli::window_main;
pub use daemon::{ServiceSpec, launchd_plist};
pub use protocol::responses::{ResponseObject, ResponsesEvent};
pub use translate::chat_stream::ChatStream;
pub use translate::messages_request::ToolNameMap;
pub use translate::messages_stream::MessagesStream;
pub use translate::responses_passthrough::ResponsesRelay;
pub use translate::{SseFrame, StreamTranslator};
pub use upstream::events::{parse as parse_event, until_terminal};
pub use upstream::sse::sse_events;

// The long-conversation benchmark (benches/conversation.rs), through a narrow door.
pub use bench_api::{BenchCounter, BenchRequest, count_text, release_tokenizer_scratch};
// The usage ledger benchmark (benches/ledger.rs): recording per request, queries over 1M rows.
pub use bench_api::{LEDGER_ROWS, LedgerRecorder, ledger_fill, ledger_report};
// The request inspector's cost per request (benches/inspector.rs).
pub use bench_api::{BenchExchange, BenchInspector};
