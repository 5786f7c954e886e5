//! Cost of the usage ledger (`cargo bench --bench ledger`), against issue 16's budgets:
//!
//! - `record`: what the request path does per request — classify the User-Agent, read the live
//!   windows, build the row, `try_send` it to the writer — with the real writer thread running.
//!   Budget: ≤ 20 µs of CPU; nothing in it waits for disk.
//! - `usage_30d_by_client`: `codexia usage --since 30d --by client` over 1,000,000 rows spread
//!   over 30 days. Budget: ≤ 100 ms.
//! - The database's size per row is printed once (budget: ≤ 300 bytes per request).
//!
//! The million rows are written once per run into a temporary directory (it takes a while).

// Benchmark code, not shipped: criterion's macros generate undocumented items, and a broken
// fixture should fail loudly.
#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use axum::http::{HeaderMap, HeaderValue};
use codexia::gateway::state::AppState;
use codexia::ledger::query::{GroupBy, report_from_file};
use codexia::ledger::writer::Store;
use codexia::ledger::{Row, WindowObservation, client};
use codexia::settings::{ConfigFile, Env, Overrides, Settings};
use codexia::upstream::UpstreamClient;
use criterion::{Criterion, criterion_group, criterion_main};

const ROWS: i64 = 1_000_000;
const DAY_MS: i64 = 86_400_000;

fn state(home: &std::path::Path) -> AppState {
    let settings = Settings::resolve_with_file(
        &Overrides::default(),
        &Env::default(),
        home.to_owned(),
        &ConfigFile::default(),
    )
    .unwrap();
    let upstream = UpstreamClient::new(&settings);
    let state = AppState::new(settings, IpAddr::V4(Ipv4Addr::LOCALHOST), upstream);
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("x-codex-primary-used-percent", "42"),
        ("x-codex-primary-window-minutes", "300"),
        ("x-codex-primary-reset-after-seconds", "3600"),
        ("x-codex-secondary-used-percent", "17"),
        ("x-codex-secondary-window-minutes", "10080"),
        ("x-codex-secondary-reset-after-seconds", "86400"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    state.observe_upstream_headers(&headers);
    state
}

fn bench_record(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    c.bench_function("record", |b| {
        b.iter(|| {
            let who = client::classify(Some(black_box("claude-cli/2.0.14 (external, cli)")));
            let [five_hour, weekly] = state.live_windows();
            let row = Row {
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
            };
            state.ledger().record(row);
        });
    });
    state.ledger().flush_blocking();
    println!(
        "(record: rows dropped because the writer fell behind: {})",
        state.ledger().dropped()
    );
}

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
    let at_ms = now_ms - 30 * DAY_MS + i * (30 * DAY_MS / ROWS);
    Row {
        at_ms,
        route: "POST /v1/messages".to_owned(),
        client: clients[client as usize].to_owned(),
        client_version: Some("2.0.14".to_owned()),
        session: Some(format!("0b8f6a52-3c1e-4f7e-9d0e-{session:012x}")),
        model_asked: Some("claude-sonnet-4-5".to_owned()),
        model_served: Some(models[model as usize].to_owned()),
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
    }
}

fn bench_query(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let now_ms = chrono::Utc::now().timestamp_millis();
    {
        let (mut store, _) = Store::open(&path).unwrap();
        let mut batch = Vec::with_capacity(512);
        for i in 0..ROWS {
            batch.push(row(i, now_ms));
            if batch.len() == 512 {
                store.insert(&batch).unwrap();
                batch.clear();
            }
        }
        store.insert(&batch).unwrap();
    }
    // Fold the WAL into the file so that its size is the database's.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    drop(conn);
    let bytes = std::fs::metadata(&path).unwrap().len();
    println!(
        "(usage.db: {bytes} bytes for {ROWS} rows = {:.0} bytes per request)",
        bytes as f64 / ROWS as f64
    );
    let since = now_ms - 30 * DAY_MS;
    c.bench_function("usage_30d_by_client", |b| {
        b.iter(|| report_from_file(&path, since, Some(GroupBy::Client), now_ms).unwrap());
    });
    c.bench_function("usage_30d_total", |b| {
        b.iter(|| report_from_file(&path, since, None, now_ms).unwrap());
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_record, bench_query
}
criterion_main!(benches);
