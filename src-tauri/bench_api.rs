//! A narrow door for the long-conversation benchmark (benches/conversation.rs): a Claude Code
//! request translated as `/v1/messages` translates it, and the token counts the benchmark
//! compares. The types stay opaque, so the crate's own types stay private to it.

use std::collections::BTreeMap;

use crate::ledger::query::{GroupBy, report_from_file};
use crate::ledger::writer::Store;
use crate::ledger::{Row, WindowObservation, client};
use crate::models::ModelMap;
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::responses::ResponsesRequest;
use crate::translate::count_tokens::{
    CACHE_BUDGET_BYTES, TokenCounter, count_request_tokens, count_request_with,
    count_text_regex_only, estimate_request_tokens,
};
use crate::translate::messages_request::messages_to_responses;

/// A translated `/v1/messages` request, as the backend would receive it.
#[derive(Debug, Clone)]
pub struct BenchRequest(ResponsesRequest);

impl BenchRequest {
    /// Parses a Messages body and translates it for `gpt-5.5`, as the handler does.
    pub fn translate(body: &[u8]) -> Result<Self, String> {
        let request: MessagesRequest =
            serde_json::from_slice(body).map_err(|err| err.to_string())?;
        let models = ModelMap::new(["gpt-5.5".to_owned()], BTreeMap::new(), None);
        messages_to_responses(&request, &models, Some("bench-session"))
            .map(|(upstream, _)| Self(upstream))
            .map_err(|err| err.to_string())
    }

    /// The size of the body written to the backend.
    pub fn write(&self) -> usize {
        serde_json::to_vec(&self.0).map_or(0, |body| body.len())
    }

    /// Its input items.
    pub fn items(&self) -> usize {
        self.0.input.len()
    }

    /// The full o200k count, without a memo.
    pub fn count(&self) -> u64 {
        count_request_tokens(&self.0)
    }

    /// The full o200k count with the pre-tokenizer's regex alone (before the ASCII scanner).
    pub fn count_regex_only(&self) -> u64 {
        count_request_with(&self.0, &mut count_text_regex_only)
    }

    /// The rough estimate sent before the exact count is ready.
    pub fn estimate(&self) -> u64 {
        estimate_request_tokens(&self.0)
    }

    /// The count with another count of each text (another tokenizer).
    pub fn count_with(&self, count: &mut impl FnMut(&str) -> u64) -> u64 {
        count_request_with(&self.0, count)
    }
}

/// The memoizing counter the gateway uses, with its default budget.
#[derive(Debug)]
pub struct BenchCounter(TokenCounter);

impl Default for BenchCounter {
    fn default() -> Self {
        Self(TokenCounter::new(CACHE_BUDGET_BYTES))
    }
}

impl BenchCounter {
    /// The count of a request, counting only texts it has not seen.
    pub fn count(&self, request: &BenchRequest) -> u64 {
        self.0.count_request(&request.0)
    }
}

/// The o200k count of one text.
pub fn count_text(text: &str) -> u64 {
    crate::translate::count_tokens::count_text(text)
}

/// Frees the tokenizer's scratch space, as the gateway does once counting pauses.
pub fn release_tokenizer_scratch() {
    crate::translate::count_tokens::release_tokenizer_scratch();
}

// -- the usage ledger's benchmark (benches/ledger.rs) -------------------------------------------

/// A gateway state with live 5h and weekly windows, recording ledger rows as the request path
/// does.
pub struct LedgerRecorder(crate::gateway::state::AppState);

impl LedgerRecorder {
    /// A state whose ledger lives in `home`.
    pub fn new(home: &std::path::Path) -> Result<Self, String> {
        use crate::settings::{ConfigFile, Env, Overrides, Settings};
        let settings = Settings::resolve_with_file(
            &Overrides::default(),
            &Env::default(),
            home.to_owned(),
            &ConfigFile::default(),
        )
        .map_err(|err| err.to_string())?;
        let upstream = crate::upstream::UpstreamClient::new(&settings);
        let state = crate::gateway::state::AppState::new(
            settings,
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            upstream,
        );
        let mut headers = axum::http::HeaderMap::new();
        for (name, value) in [
            ("x-codex-primary-used-percent", "42"),
            ("x-codex-primary-window-minutes", "300"),
            ("x-codex-primary-reset-after-seconds", "3600"),
            ("x-codex-secondary-used-percent", "17"),
            ("x-codex-secondary-window-minutes", "10080"),
            ("x-codex-secondary-reset-after-seconds", "86400"),
        ] {
            headers.insert(name, axum::http::HeaderValue::from_static(value));
        }
        state.observe_upstream_headers("bench-account", &headers);
        Ok(Self(state))
    }

    /// What the request path does per request: classify the User-Agent, read the live
    /// windows, build the row, hand it to the writer.
    pub fn record(&self, user_agent: &str) {
        let who = client::classify(Some(user_agent));
        let [five_hour, weekly] = self.0.live_windows();
        self.0.ledger().record(Row {
            at_ms: chrono::Utc::now().timestamp_millis(),
            route: "POST /v1/messages".to_owned(),
            client: who.family,
            client_version: who.version,
            session: Some("0b8f6a52-3c1e-4f7e-9d0e-6a3f2b1c9d8e".to_owned()),
            model_asked: Some("claude-sonnet-4-5".to_owned()),
            model_served: Some("gpt-5.5".to_owned()),
            effort: Some("medium".to_owned()),
            input_tokens: 48_000,
            cached_tokens: 44_000,
            output_tokens: 900,
            reasoning_tokens: 300,
            outcome: "ok".to_owned(),
            duration_ms: 5_400,
            first_content_ms: Some(800),
            five_hour,
            weekly,
            account: None,
        });
    }

    /// Waits for the writer; the rows dropped because it fell behind.
    pub fn finish(&self) -> u64 {
        self.0.ledger().flush_blocking();
        self.0.ledger().dropped()
    }
}

/// Rows in the filled database.
pub const LEDGER_ROWS: i64 = 1_000_000;
const DAY_MS: i64 = 86_400_000;

/// Writes [`LEDGER_ROWS`] rows spread over the 30 days before `now_ms` into `path`; the file's
/// size once its WAL is folded in.
pub fn ledger_fill(path: &std::path::Path, now_ms: i64) -> Result<u64, String> {
    let (mut store, _) = Store::open(path).map_err(|err| err.to_string())?;
    let mut batch = Vec::with_capacity(512);
    for i in 0..LEDGER_ROWS {
        batch.push(row(i, now_ms));
        if batch.len() == 512 {
            store.insert(&batch).map_err(|err| err.to_string())?;
            batch.clear();
        }
    }
    store.insert(&batch).map_err(|err| err.to_string())?;
    drop(store);
    let conn = rusqlite::Connection::open(path).map_err(|err| err.to_string())?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(|err| err.to_string())?;
    drop(conn);
    std::fs::metadata(path)
        .map(|meta| meta.len())
        .map_err(|err| err.to_string())
}

/// `codexia usage --since` the 30 days before `now_ms`, by client or in total.
pub fn ledger_report(path: &std::path::Path, now_ms: i64, by_client: bool) -> bool {
    let by = by_client.then_some(GroupBy::Client);
    report_from_file(path, now_ms - 30 * DAY_MS, by, now_ms).is_ok()
}

#[expect(
    clippy::cast_sign_loss,
    clippy::cast_precision_loss,
    reason = "small non-negative benchmark numbers"
)]
/// Row `i` of the million: sessions of 200 requests, each from one client and mostly one model
/// (every tenth request of a session goes to the small model, as Claude Code's background
/// calls do). With `LEDGER_BENCH_MIXED=1` every request has its own client and model instead
/// (a worst case for the hourly totals: a few hundred of them per hour).
fn row(i: i64, now_ms: i64) -> Row {
    let clients = [
        "Claude Code",
        "OpenAI Python SDK",
        "Codex CLI",
        "curl",
        "laptop",
    ];
    let models = ["gpt-5.5", "gpt-5.4-mini", "gpt-5.3-codex"];
    let session = i / 200;
    let (client, model) = if std::env::var_os("LEDGER_BENCH_MIXED").is_some() {
        (i % 5, i % 3)
    } else if i % 10 == 9 {
        (session % 5, 1)
    } else {
        (session % 5, session % 3)
    };
    let at_ms = now_ms - 30 * DAY_MS + i * (30 * DAY_MS / LEDGER_ROWS);
    Row {
        at_ms,
        route: "POST /v1/messages".to_owned(),
        client: clients[usize::try_from(client).unwrap_or(0)].to_owned(),
        client_version: Some("2.0.14".to_owned()),
        session: Some(format!("0b8f6a52-3c1e-4f7e-9d0e-{session:012x}")),
        model_asked: Some("claude-sonnet-4-5".to_owned()),
        model_served: Some(models[usize::try_from(model).unwrap_or(0)].to_owned()),
        effort: Some("medium".to_owned()),
        input_tokens: 40_000 + (i % 9_000) as u64,
        cached_tokens: 36_000 + (i % 4_000) as u64,
        output_tokens: 200 + (i % 1_500) as u64,
        reasoning_tokens: (i % 700) as u64,
        outcome: "ok".to_owned(),
        duration_ms: 3_000 + (i % 10_000) as u64,
        first_content_ms: Some(400 + (i % 2_000) as u64),
        five_hour: Some(WindowObservation {
            used_percent: (i % 1000) as f64 / 10.0,
            reset_at: Some(at_ms / 1000 + 18_000 - (i % 18_000)),
        }),
        weekly: Some(WindowObservation {
            used_percent: (i % 10_000) as f64 / 100.0,
            reset_at: Some(at_ms / 1000 + 600_000),
        }),
        account: None,
    }
}

/// The request inspector as the gateway feeds it, for the inspector benchmark
/// (benches/inspector.rs): one whole small streamed exchange per call.
pub struct BenchInspector(crate::inspector::Inspector);

/// One streamed exchange: what the client sent, what went to the backend, the backend's
/// events and the chunks written back.
pub struct BenchExchange {
    pub request_headers: axum::http::HeaderMap,
    pub request_body: bytes::Bytes,
    pub upstream_headers: axum::http::HeaderMap,
    pub upstream_body: bytes::Bytes,
    pub response_headers: axum::http::HeaderMap,
    pub chunks: Vec<bytes::Bytes>,
}

impl BenchInspector {
    /// An inspector keeping at most `budget_bytes`.
    pub fn new(budget_bytes: usize) -> Self {
        Self(crate::inspector::Inspector::new(budget_bytes, None))
    }

    /// Captures `exchange` with the backend's `events` (`(type, data)`, handed over as the
    /// SSE reader hands them), as the gateway's hooks do.
    pub fn capture(&self, exchange: &BenchExchange, events: Vec<(String, String)>) {
        use crate::inspector::{Headers, Message, Outcome, RequestState};
        let head = Message {
            method: Some("POST".to_owned()),
            url: Some("/v1/messages?beta=true".to_owned()),
            headers: Headers::of(&exchange.request_headers),
            ..Message::default()
        };
        let Some(capture) = self.0.begin(
            "POST /v1/messages".to_owned(),
            "claude-code".to_owned(),
            Some("2.0.14".to_owned()),
            head,
        ) else {
            return;
        };
        capture.request_body(&exchange.request_body);
        capture.upstream_request(Message {
            method: Some("POST".to_owned()),
            url: Some("https://chatgpt.com/backend-api/codex/responses".to_owned()),
            headers: Headers::of(&exchange.upstream_headers),
            body: exchange.upstream_body.clone(),
            ..Message::default()
        });
        capture.upstream_status(200);
        capture.response_head(200, Headers::of(&exchange.response_headers), true);
        for (event, data) in events {
            capture.upstream_event(event, data);
        }
        for chunk in &exchange.chunks {
            capture.client_chunk(chunk);
        }
        capture.finish(Outcome {
            state: RequestState::Ok,
            status: Some(200),
            ..Outcome::default()
        });
    }

    /// Bytes the kept captures count, and how many are kept.
    pub fn memory(&self) -> (u64, u64) {
        let list = self.0.list(0);
        (list.memory.bytes, list.memory.kept)
    }
}
