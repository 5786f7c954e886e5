//! The JSON of `GET /v1/requests` and `GET /v1/requests/{id}` (documented in
//! `gateway/handlers/requests.rs` and docs/inspector.md): serde types only, built from a
//! capture when a caller asks, never on the streaming path.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /v1/requests`: the most recent captures, newest first, and the store's memory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RequestList {
    /// Always `"list"`.
    pub object: String,
    pub data: Vec<RequestSummary>,
    pub memory: MemoryUse,
    /// Where `serve --capture DIR` writes one file per request, when it does.
    pub capture_dir: Option<String>,
}

/// The store's use of its byte budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemoryUse {
    /// Bytes held by the captures kept now (bodies, headers, events, plus a fixed overhead per
    /// item); never above `budget_bytes`.
    pub bytes: u64,
    /// `inspector_memory_mb` in bytes.
    pub budget_bytes: u64,
    /// Captures kept now.
    pub kept: u64,
    /// Captures dropped (oldest first) to stay within the budget since the gateway started.
    pub dropped: u64,
}

/// One request in the list (and the head of its detail).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RequestSummary {
    /// `req_` and a number, increasing; valid while the gateway runs.
    pub id: String,
    /// When the request arrived (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The client: a named API key's name, else the family of its User-Agent (`claude-code`).
    pub client: String,
    pub client_version: Option<String>,
    /// `POST /v1/messages` (no query).
    pub route: String,
    /// The model that served it (after aliases), once a handler knew it.
    pub model: Option<String>,
    /// The model id the client sent.
    pub model_asked: Option<String>,
    /// Whether the client asked for a stream.
    pub stream: Option<bool>,
    /// The HTTP status the client got; `null` while the answer has not started.
    pub status: Option<u16>,
    /// `in_progress`, `ok`, `error` (an error status or an error written into the stream),
    /// `incomplete` (the stream ended without usage), `cancelled` (the client left first).
    pub state: String,
    pub error: Option<ErrorView>,
    /// From arrival to the end of the answer; `null` while in progress.
    pub duration_ms: Option<u64>,
    /// From arrival to the first content the client could see.
    pub first_content_ms: Option<u64>,
    pub tokens: Option<TokensView>,
    /// Bytes this capture holds in memory.
    pub bytes: u64,
    /// Whether a part was cut to stay within the budget (a `[truncated …]` marker is in it).
    pub truncated: bool,
}

/// An error the client got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErrorView {
    /// The error model's kind in snake case (`rate_limited`, `stream_ended_early`).
    pub kind: String,
    pub message: String,
}

/// The backend's token usage for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokensView {
    pub input: u64,
    pub cached: u64,
    pub output: u64,
    pub reasoning: u64,
}

/// `GET /v1/requests/{id}`: both sides of one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RequestDetail {
    #[serde(flatten)]
    pub summary: RequestSummary,
    /// What the client sent.
    pub client_request: HttpMessage,
    /// What codexia sent to the backend; `null` when the request never reached it.
    pub upstream_request: Option<HttpMessage>,
    /// The backend's answer status (`200`, `429`, …), `null` when none came.
    pub upstream_status: Option<u16>,
    /// The backend's events as they arrived.
    pub upstream_events: Vec<EventView>,
    /// What the client got: status, headers and, for a whole (non-streamed) answer, the body.
    pub client_response: HttpMessage,
    /// The events written to a streaming client, keep-alive comments included.
    pub client_events: Vec<EventView>,
}

/// A request or response: headers redacted, body as JSON when it is JSON, else as text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct HttpMessage {
    /// `POST` (requests only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path and query for the client's request, the full URL for the upstream request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Status (responses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `[name, value]` pairs in order; secret values are `[redacted]`.
    pub headers: Vec<(String, String)>,
    /// The body: JSON when it parses, a string otherwise, `null` when there was none.
    pub body: Value,
    /// Size of the body as sent, in bytes.
    pub body_bytes: u64,
    /// Whether the body kept here was cut (it then is a string ending in a marker).
    pub truncated: bool,
}

/// One server-sent event with its time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct EventView {
    /// Milliseconds since the request arrived: when codexia received it (upstream) or wrote it
    /// (client).
    pub ms: u64,
    /// The `event:` name; `null` for a data-only event or a comment.
    pub event: Option<String>,
    /// The `data:` payload: JSON when it parses, else the text (`[DONE]`, a comment's text).
    pub data: Value,
    /// A comment (`: keep-alive`) rather than an event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub comment: bool,
}
