//! Benchmark, not a test (ignored; `make bench` runs it in release): the time to first byte
//! that codexia adds over calling the backend directly, at 1 and 32 concurrent streams.
//!
//! The same fake backend answers both ways: directly (`POST /backend-api/codex/responses` with
//! the exact headers and body codexia itself sends), and through `codexia serve` on
//! `/v1/messages` and `/v1/chat/completions` with `stream: true`. Each request is timed from
//! sending it to the first body byte and to the first text of the answer (the fake's first text
//! delta, [`FIRST_TEXT`]). The added time is compared at the first text: the gateway writes its
//! first frame only once the answer has content, so its first byte and the backend's are
//! different points of the answer.
//!
//! It only reports (a table on stdout); speed goals are read from the numbers, never asserted.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::codexia::{Server, TestHome};
use crate::support::fake_backend::{FakeUpstream, Reply};
use crate::support::harness::{home_for, seed_credentials};

/// Samples at 1 stream, and rounds of [`CONCURRENT`] streams.
const SEQUENTIAL_SAMPLES: usize = 200;
const CONCURRENT: usize = 32;
const CONCURRENT_ROUNDS: usize = 20;
/// Requests per route before measuring (connection pools, caches, lazy initialisation).
const WARM_UP: usize = 20;

/// The fake's answer starts with this text; its arrival is the "first text" point.
const FIRST_TEXT: &str = "Zebra-7";

/// One timed request: to the first body byte, to the first text of the answer, and to the end
/// of the stream.
#[derive(Clone, Copy)]
struct Sample {
    first_byte: Duration,
    first_text: Duration,
    last_byte: Duration,
}

/// One way of asking for a streamed answer.
#[derive(Clone)]
struct Route {
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Route {
    /// Sends the request and times the first body byte, the first text and the end of the
    /// body (read to the end, so the connection goes back to the pool).
    async fn sample(&self, client: &reqwest::Client) -> Sample {
        let mut request = client.post(&self.url).body(self.body.clone());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let start = Instant::now();
        let mut response = request.send().await.expect("request sent");
        assert!(
            response.status().is_success(),
            "{} answered {}",
            self.url,
            response.status()
        );
        let mut seen = Vec::new();
        let mut first_byte = None;
        let first_text = loop {
            let Some(bytes) = response.chunk().await.expect("body chunk") else {
                panic!("{} ended before {FIRST_TEXT:?}", self.url);
            };
            if !bytes.is_empty() && first_byte.is_none() {
                first_byte = Some(start.elapsed());
            }
            seen.extend_from_slice(&bytes);
            if seen
                .windows(FIRST_TEXT.len())
                .any(|window| window == FIRST_TEXT.as_bytes())
            {
                break start.elapsed();
            }
        };
        while response.chunk().await.expect("body chunk").is_some() {}
        Sample {
            first_byte: first_byte.unwrap_or(first_text),
            first_text,
            last_byte: start.elapsed(),
        }
    }
}

/// Runs `rounds` rounds of `concurrency` simultaneous requests on each route in turn (so the
/// routes see the same background load) and returns the samples per route, in order: sample `i`
/// of one route was taken right next to sample `i` of the others.
async fn measure(
    client: &reqwest::Client,
    routes: &[&Route],
    concurrency: usize,
    rounds: usize,
) -> Vec<Vec<Sample>> {
    let mut samples = vec![Vec::with_capacity(concurrency * rounds); routes.len()];
    for _ in 0..rounds {
        for (route, out) in routes.iter().zip(samples.iter_mut()) {
            let tasks: Vec<_> = (0..concurrency)
                .map(|_| {
                    let route = (*route).clone();
                    let client = client.clone();
                    tokio::spawn(async move { route.sample(&client).await })
                })
                .collect();
            for task in tasks {
                out.push(task.await.expect("request task"));
            }
        }
    }
    samples
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list of samples"
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn millis(samples: &[Sample], pick: fn(&Sample) -> Duration) -> Vec<f64> {
    samples
        .iter()
        .map(|sample| pick(sample).as_secs_f64() * 1000.0)
        .collect()
}

fn row(label: &str, values: &[f64]) {
    println!(
        "  {label:<42} {:>8.3} {:>8.3} {:>5}",
        percentile(values, 0.5),
        percentile(values, 0.9),
        values.len()
    );
}

fn report(concurrency: usize, samples: &[Vec<Sample>]) {
    let [direct, messages, chat] = samples else {
        panic!("three routes");
    };
    let direct_text = millis(direct, |s| s.first_text);
    println!("\n{concurrency} concurrent stream(s), ms:");
    println!("  {:<42} {:>8} {:>8} {:>5}", "", "median", "p90", "n");
    row(
        "fake directly: first byte",
        &millis(direct, |s| s.first_byte),
    );
    row("fake directly: first text (D)", &direct_text);
    row("fake directly: last byte", &millis(direct, |s| s.last_byte));
    for (name, samples) in [("/v1/messages", messages), ("/v1/chat/completions", chat)] {
        let via = millis(samples, |s| s.first_text);
        row(
            &format!("{name}: first byte"),
            &millis(samples, |s| s.first_byte),
        );
        row(&format!("{name}: first text (C)"), &via);
        row(
            &format!("{name}: last byte"),
            &millis(samples, |s| s.last_byte),
        );
        // Sample i of each route was taken right after sample i of the direct route.
        let added: Vec<f64> = via.iter().zip(&direct_text).map(|(v, d)| v - d).collect();
        row("  added by codexia: C - D, paired", &added);
        println!(
            "  {:<42} {:>8.3} {:>8.3}",
            "  added by codexia: stat(C) - stat(D)",
            percentile(&via, 0.5) - percentile(&direct_text, 0.5),
            percentile(&via, 0.9) - percentile(&direct_text, 0.9),
        );
    }
}

/// The fake, a signed-in `codexia serve` in front of it, and the three routes.
struct Setup {
    fake: FakeUpstream,
    _home: TestHome,
    _server: Server,
    direct: Route,
    messages: Route,
    chat: Route,
}

async fn start() -> Setup {
    let fake = FakeUpstream::start().await;
    // Low usage: the fake answers 429 once a window reaches 100%.
    fake.set_usage(1.0, 1.0);
    fake.set_default_reply(Reply::text_deltas(&[FIRST_TEXT, " says OK."]));
    let home = home_for(&fake).env("CODEXIA_CREDENTIAL_STORE", "file");
    seed_credentials(&home, &fake.mint_tokens(3600));
    let mut server = home.serve(&["--bind", "127.0.0.1:0"]).await;
    // Drain the request log: a full stderr pipe would stall the gateway.
    let mut stderr = server.child.stderr.take().expect("stderr piped");
    tokio::spawn(async move { tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await });

    let anthropic = |body: Value| Route {
        url: server.url("/v1/messages"),
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("anthropic-version".to_owned(), "2023-06-01".to_owned()),
        ],
        body: body.to_string(),
    };
    let messages = anthropic(json!({
        "model": "gpt-5.5", "max_tokens": 1024, "stream": true,
        "messages": [{"role": "user", "content": "Say OK."}],
    }));
    let chat = Route {
        url: server.url("/v1/chat/completions"),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: json!({
            "model": "gpt-5.5", "stream": true,
            "messages": [{"role": "user", "content": "Say OK."}],
        })
        .to_string(),
    };

    // The direct route replays exactly what codexia sent upstream for the messages request.
    let client = reqwest::Client::new();
    messages.sample(&client).await;
    let upstream = fake
        .responses_requests()
        .pop()
        .expect("an upstream request");
    assert!(upstream.passed_validation());
    let direct = Route {
        url: fake.responses_url(),
        headers: upstream
            .headers
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "host" | "content-length"))
            .cloned()
            .collect(),
        body: String::from_utf8(upstream.body.to_vec()).expect("a JSON body"),
    };
    Setup {
        fake,
        _home: home,
        _server: server,
        direct,
        messages,
        chat,
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with make bench"]
async fn time_to_first_byte_added_by_the_gateway() {
    let Setup {
        fake,
        _home,
        _server,
        direct,
        messages,
        chat,
    } = start().await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(2 * CONCURRENT)
        .build()
        .expect("client");
    let routes = [&direct, &messages, &chat];
    measure(&client, &routes, 1, WARM_UP).await;

    let sequential = measure(&client, &routes, 1, SEQUENTIAL_SAMPLES).await;
    let concurrent = measure(&client, &routes, CONCURRENT, CONCURRENT_ROUNDS).await;

    println!(
        "\nbuild: {}; the fake backend and codexia share this machine ({} CPUs)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    report(1, &sequential);
    report(CONCURRENT, &concurrent);
    // Every request the gateway made was one the backend accepts.
    fake.assert_all_responses_requests_valid();
}
