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

use codexia::{LEDGER_ROWS, LedgerRecorder, ledger_fill, ledger_report};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench_record(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let recorder = LedgerRecorder::new(dir.path()).unwrap();
    c.bench_function("record", |b| {
        b.iter(|| recorder.record(black_box("claude-cli/2.0.14 (external, cli)")));
    });
    println!(
        "(record: rows dropped because the writer fell behind: {})",
        recorder.finish()
    );
}

fn bench_query(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.db");
    let now_ms = chrono::Utc::now().timestamp_millis();
    let bytes = ledger_fill(&path, now_ms).unwrap();
    println!(
        "(usage.db: {bytes} bytes for {LEDGER_ROWS} rows = {:.0} bytes per request)",
        bytes as f64 / LEDGER_ROWS as f64
    );
    c.bench_function("usage_30d_by_client", |b| {
        b.iter(|| assert!(ledger_report(&path, now_ms, true)));
    });
    c.bench_function("usage_30d_total", |b| {
        b.iter(|| assert!(ledger_report(&path, now_ms, false)));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_record, bench_query
}
criterion_main!(benches);
