//! The cost of a long Claude Code conversation (`make bench`, or `cargo bench --bench
//! conversation`): what the gateway computes for one `/v1/messages` and one
//! `/v1/messages/count_tokens` request of about 636 KB and 160,000 tokens
//! (`support/long_conversation.rs`), before and after the token-count memo, with each
//! tokenizer; and the linear-time check of issue 13 point 6 (a 10 MB run of one character costs
//! no more than 10 MB of prose).
//!
//! A plain timing harness rather than criterion: each figure is the median of several runs of
//! calls that take milliseconds to seconds, printed as one table. Wall time on a shared
//! machine; the medians are steady to about 10 %. Nothing is asserted.

#![allow(
    missing_docs,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use codexia::{BenchCounter, BenchRequest, count_text, release_tokenizer_scratch};

#[path = "support/long_conversation.rs"]
mod long_conversation;
#[path = "support/proc_status.rs"]
mod proc_status;

use long_conversation::{READ_TURNS, long_conversation};

/// Runs per figure (the median is reported).
const RUNS: usize = 15;

fn tiktoken(text: &str) -> u64 {
    if text.is_empty() {
        return 0;
    }
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64
}

fn codexia_count(text: &str) -> u64 {
    count_text(text)
}

fn bpe_openai(text: &str) -> u64 {
    bpe_openai::o200k_base().count(text) as u64
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median time of `runs` calls of `f`, each after the tokenizer's scratch space was freed
/// (as the gateway frees it once counting pauses; the freeing is not timed).
fn time_after_pause<T>(runs: usize, mut f: impl FnMut(usize) -> T) -> Duration {
    let samples = (0..runs)
        .map(|run| {
            release_tokenizer_scratch();
            let start = Instant::now();
            black_box(f(run));
            start.elapsed()
        })
        .collect();
    median(samples)
}

/// The median time of `runs` calls of `f` (given the run's index).
fn time<T>(runs: usize, mut f: impl FnMut(usize) -> T) -> Duration {
    let samples = (0..runs)
        .map(|run| {
            let start = Instant::now();
            black_box(f(run));
            start.elapsed()
        })
        .collect();
    median(samples)
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Resident memory of this process, in MB (Linux; 0 elsewhere).
fn rss_mb() -> f64 {
    proc_status::status_mb("self", &["VmRSS:"])[0]
}

/// What the handler does before counting: parse the body, translate it.
fn translate(body: &[u8]) -> BenchRequest {
    BenchRequest::translate(body).expect("a Messages request that translates")
}

/// The upstream body written to the backend.
fn write(upstream: &BenchRequest) -> usize {
    upstream.write()
}

fn row(label: &str, before: &str, regex: &str, after: &str) {
    println!("| {label:<58} | {before:>13} | {regex:>13} | {after:>13} |");
}

fn main() {
    // `cargo bench` passes `--bench`; this harness has no options.

    // Tokenizer tables: load time and resident memory, each loaded on its first count.
    let mut loads = [(Duration::ZERO, 0.0); 3];
    let counters: [&dyn Fn(&str) -> u64; 3] = [&codexia_count, &bpe_openai, &tiktoken];
    for (count, load) in counters.iter().zip(loads.iter_mut()) {
        let rss = rss_mb();
        let start = Instant::now();
        black_box(count("load"));
        *load = (start.elapsed(), rss_mb() - rss);
    }

    // The conversation: turn N, turn N's body grown by one Read turn (the next turn of the same
    // session, a different new turn per run), and other sessions' first turns (for cold runs).
    let turn = serde_json::to_vec(&long_conversation(READ_TURNS, "s0")).unwrap();
    let upstream = translate(&turn);
    let tokens = upstream.count();
    assert_eq!(
        tokens,
        upstream.count_with(&mut tiktoken),
        "both tokenizers count the same"
    );
    let next_turns: Vec<Vec<u8>> = (0..RUNS)
        .map(|run| {
            let mut next = long_conversation(READ_TURNS + 1, "s0");
            // A different newest Read result per run, so each run counts one new block.
            let messages = next["messages"].as_array_mut().unwrap();
            let last = messages.last_mut().unwrap();
            let content = last["content"][0]["content"].as_str().unwrap().to_owned();
            last["content"][0]["content"] = format!("// run {run}\n{content}").into();
            serde_json::to_vec(&next).unwrap()
        })
        .collect();
    let cold_turns: Vec<Vec<u8>> = (0..RUNS)
        .map(|run| serde_json::to_vec(&long_conversation(READ_TURNS, &format!("c{run}"))).unwrap())
        .collect();

    // The parts of a request.
    let parse_translate = time(RUNS, |_| translate(&turn));
    let write_body = time(RUNS, |_| write(&upstream));
    let clone = time(RUNS, |_| upstream.clone());
    let estimate = time(RUNS, |_| upstream.estimate());
    let tiktoken_full = time(RUNS, |_| upstream.count_with(&mut tiktoken));
    let bpe_full = time(RUNS, |_| upstream.count_with(&mut bpe_openai));
    let codexia_full = time(RUNS, |_| upstream.count());
    let regex_full = time(RUNS, |_| upstream.count_regex_only());
    assert_eq!(
        upstream.count_regex_only(),
        tokens,
        "the scanner changes no count"
    );
    let memo_seen = {
        let counter = BenchCounter::default();
        counter.count(&upstream);
        let next: Vec<BenchRequest> = next_turns.iter().map(|body| translate(body)).collect();
        time(RUNS, |run| counter.count(&next[run]))
    };

    // Whole requests, as the gateway computes them (the count runs beside the backend call, but
    // it is CPU of the same process).
    // Before: parse + translate, a copy for the counting task, the body, a full tiktoken count.
    let before_messages = time(RUNS, |run| {
        let upstream = translate(&cold_turns[run]);
        let copy = upstream.clone();
        write(&upstream) as u64 + copy.count_with(&mut tiktoken)
    });
    let before_count_tokens = time(RUNS, |run| {
        let upstream = translate(&cold_turns[run]);
        upstream.count_with(&mut tiktoken)
    });
    // After: the same without the copy, with the rough estimate and the memo; cold = a counter
    // that has seen nothing.
    // The gateway's counter lives as long as the process: make the empty ones outside the
    // timing (a fresh 4 MB cache costs milliseconds to allocate and free, per run).
    let mut empty: Vec<BenchCounter> = (0..3 * RUNS).map(|_| BenchCounter::default()).collect();
    // A whole /v1/messages turn: the body written upstream, the estimate and the memo's count.
    let turn_with = |counter: &BenchCounter, body: &[u8]| {
        let upstream = translate(body);
        write(&upstream) as u64 + upstream.estimate() + counter.count(&upstream)
    };
    let after_cold = time(RUNS, |run| turn_with(&empty[run], &cold_turns[run]));
    let after_seen = {
        let counter = BenchCounter::default();
        counter.count(&upstream);
        time(RUNS, |run| turn_with(&counter, &next_turns[run]))
    };
    // The same two after a pause: the scratch space freed (the usual case between the turns
    // of a person's session, whose answers take seconds).
    let after_seen_paused = {
        let counter = BenchCounter::default();
        counter.count(&upstream);
        time_after_pause(RUNS, |run| turn_with(&counter, &next_turns[run]))
    };
    let after_cold_paused = time_after_pause(RUNS, |run| {
        turn_with(&empty[2 * RUNS + run], &cold_turns[run])
    });
    let after_count_tokens = time(RUNS, |run| {
        let counter = &empty[RUNS + run];
        let upstream = translate(&cold_turns[run]);
        counter.count(&upstream)
    });
    empty.clear();
    // The same with the regex alone cutting the pieces (before the ASCII scanner; a cold memo
    // counts every text, so its own cost, a hash per text, is left out).
    let regex_cold = time(RUNS, |run| {
        let upstream = translate(&cold_turns[run]);
        write(&upstream) as u64 + upstream.estimate() + upstream.count_regex_only()
    });
    let regex_count_tokens = time(RUNS, |run| {
        let upstream = translate(&cold_turns[run]);
        upstream.count_regex_only()
    });

    println!(
        "\nlong Claude Code conversation: {} KB of JSON, {} messages, {tokens} o200k tokens \
         (median of {RUNS} runs, wall time, {} build)\n",
        turn.len() / 1000,
        upstream.items(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );
    // before = tiktoken-rs and no memo (issue 15's starting point); regex = codexia's counter
    // with the pre-tokenizer's regex alone; after = with the ASCII scanner.
    row("", "tiktoken", "regex pieces", "now");
    println!("|{:-<60}|{:-<15}|{:-<15}|{:-<15}|", "", "", "", "");
    row(
        "/v1/messages, first turn (nothing seen)",
        &ms(before_messages),
        &ms(regex_cold),
        &ms(after_cold),
    );
    row(
        "/v1/messages, next turn (earlier messages seen)",
        &ms(before_messages),
        "-",
        &ms(after_seen),
    );
    row(
        "/v1/messages, first turn, after a pause (scratch freed)",
        "-",
        "-",
        &ms(after_cold_paused),
    );
    row(
        "/v1/messages, next turn, after a pause (scratch freed)",
        "-",
        "-",
        &ms(after_seen_paused),
    );
    row(
        "/v1/messages/count_tokens, cold",
        &ms(before_count_tokens),
        &ms(regex_count_tokens),
        &ms(after_count_tokens),
    );
    println!("|{:-<60}|{:-<15}|{:-<15}|{:-<15}|", "", "", "", "");
    let same = ms(parse_translate);
    row("  parse + translate", &same, &same, &same);
    let same = ms(write_body);
    row("  write the upstream body", &same, &same, &same);
    row(
        "  copy of the request for the counting task",
        &ms(clone),
        "-",
        "-",
    );
    row(
        "  rough estimate (bytes / 4)",
        "-",
        &ms(estimate),
        &ms(estimate),
    );
    row(
        "  full o200k count",
        &ms(tiktoken_full),
        &ms(regex_full),
        &ms(codexia_full),
    );
    row(
        "  memo count, earlier messages seen",
        "-",
        "-",
        &ms(memo_seen),
    );

    println!("\ntokenizers (o200k_base; all three give the same counts):\n");
    println!(
        "| {:<44} | {:>13} | {:>13} | {:>13} |",
        "", "codexia o200k", "bpe-openai", "tiktoken-rs"
    );
    println!("|{:-<46}|{:-<15}|{:-<15}|{:-<15}|", "", "", "", "");
    let line = |label: &str, cells: [String; 3]| {
        println!(
            "| {label:<44} | {:>13} | {:>13} | {:>13} |",
            cells[0], cells[1], cells[2]
        );
    };
    line(
        "full count of the conversation",
        [ms(codexia_full), ms(bpe_full), ms(tiktoken_full)],
    );
    line("first load of the tables", loads.map(|(load, _)| ms(load)));
    line(
        "resident memory of the tables",
        loads.map(|(_, mb)| format!("{mb:.1} MB")),
    );

    linear_time();
}

/// The longest prefix of `text` of at most `bytes` bytes.
fn head(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Issue 13 point 6: one character repeated costs no more than prose of the same size.
fn linear_time() {
    const MB: usize = 1 << 20;
    let prose = {
        let turn = serde_json::to_string(&long_conversation(READ_TURNS, "p")).unwrap();
        let mut text = String::with_capacity(10 * MB + turn.len());
        while text.len() < 10 * MB {
            text.push_str(&turn);
        }
        text.truncate(head(&text, 10 * MB).len());
        text
    };
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let letters: String = (0..10 * MB)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            char::from(b'a' + u8::try_from(seed % 26).unwrap())
        })
        .collect();
    let inputs = [
        ("ordinary text (a conversation's JSON)", prose),
        ("one character repeated (\"a\")", "a".repeat(10 * MB)),
        ("one space repeated", " ".repeat(10 * MB)),
        ("random letters, no spaces (one pre-token)", letters),
        (
            "words of 1,023 letters (longest heap merges)",
            format!("{} ", "a".repeat(1_023)).repeat(10 * MB / 1_024),
        ),
    ];
    println!(
        "\ncounting 10 MB (issue 13 point 6; tiktoken-rs on the first 1 MB only: it takes seconds \
         on 10 MB of one character, and fails on long runs of spaces; median of 3 runs):\n"
    );
    println!(
        "| {:<44} | {:>13} | {:>13} | {:>17} |",
        "input", "codexia o200k", "bpe-openai", "tiktoken-rs, 1 MB"
    );
    println!("|{:-<46}|{:-<15}|{:-<15}|{:-<19}|", "", "", "", "");
    for (label, text) in &inputs {
        let ours = time(3, |_| count_text(text));
        let bpe = time(3, |_| bpe_openai(text));
        let start = head(text, MB);
        let tik = std::panic::catch_unwind(|| time(3, |_| tiktoken(start)))
            .map_or_else(|_| "fails".to_owned(), ms);
        println!(
            "| {label:<44} | {:>13} | {:>13} | {tik:>17} |",
            ms(ours),
            ms(bpe)
        );
    }
}
