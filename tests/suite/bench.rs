//! Benchmark, not a test (ignored; `make bench` runs it in release): the time to first byte
//! that codexia adds over calling the backend directly, at 1 and 32 concurrent streams.
//!
//! The same fake backend answers both ways: directly (`POST /backend-api/codex/responses` with
//! the exact headers and body codexia itself sends), and through `codexia serve` on
//! `/v1/messages` and `/v1/chat/completions` with `stream: true`. Each request is timed from
//! sending it to the first body byte and to the first text of the answer (the fake's first text
//! delta, [`FIRST_TEXT`]). The added time is compared at the first text: the gateway writes its
//! first frame only once the answer has content, so its first byte and the backend's are
//! different points of the answer. The fake also reports its own time to each answer's first
//! text (from the request's arrival), and the report shows the added time with it taken out,
//! so that a fake slowed by the load is not counted as the gateway's time.
//!
//! Also here: the CPU a long Claude Code conversation costs per request, and the resident
//! memory of `codexia serve` idle and after load ([`serve_cpu_and_memory_under_load`]).
//!
//! It only reports (a table on stdout); speed goals are read from the numbers, never asserted.
//! `CODEXIA_BENCH_BINARY` runs another build of codexia instead of this one (e.g. an older
//! commit's, to compare in one run), and `CODEXIA_BENCH_PRELOAD` is passed to it as
//! `LD_PRELOAD` (to try another malloc without rebuilding).
//!
//! The fake serves plain HTTP/1.1, as in every earlier round (the figures of issue 15 and the
//! README compare with those). `CODEXIA_BENCH_FAKE=tls` serves TLS with HTTP/2 instead, as the
//! real backend does: a gateway then holds one connection to it, not one per concurrent stream.
//! `make bench` and `make memory-serve` run both (docs/performance.md has both sets of figures).
//! `CODEXIA_BENCH_PIN=1` gives the gateway a CPU of its own, away from the fake and the clients
//! (`make bench` runs the first-byte benchmark so once more, over TLS): on a machine of two
//! cores, the fake's TLS and HTTP/2 otherwise take the gateway's CPU at 32 streams, and the
//! fake's own time to the first text grows about sevenfold.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::support::codexia::TestHome;
use crate::support::fake_backend::{FakeUpstream, Reply, test_ca_file};
use crate::support::harness::{home_for, seed_credentials};

#[path = "../../benches/support/long_conversation.rs"]
pub(super) mod long_conversation;
#[path = "../../benches/support/proc_status.rs"]
mod proc_status;

use long_conversation::{READ_TURNS, long_conversation};

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

/// What [`measure`] took on each route.
struct Measured {
    /// The client's samples, in order: sample `i` of one route was taken in the same round as
    /// sample `i` of the others.
    samples: Vec<Sample>,
    /// The fake's own time to the first text of each answer, ms (in the order they were done).
    fake_first_text: Vec<f64>,
}

/// Runs `rounds` rounds of `concurrency` simultaneous requests on each route in turn (so the
/// routes see the same background load) and returns what was measured per route. The first
/// route opens every round; the others take turns at following it. With a fixed order the
/// route right after the direct one always found the gateway idle and the next one always
/// found it warm, which widened the gap between the two routes at 32 streams
/// (docs/performance.md).
async fn measure(
    fake: &FakeUpstream,
    client: &reqwest::Client,
    routes: &[&Route],
    concurrency: usize,
    rounds: usize,
) -> Vec<Measured> {
    let mut measured: Vec<Measured> = routes
        .iter()
        .map(|_| Measured {
            samples: Vec::with_capacity(concurrency * rounds),
            fake_first_text: Vec::with_capacity(concurrency * rounds),
        })
        .collect();
    fake.take_first_text_times();
    for round in 0..rounds {
        // The direct route first, then the others in turn (see above).
        let mut order: Vec<usize> = (0..routes.len()).collect();
        order[1..].rotate_left(round % (routes.len() - 1).max(1));
        for index in order {
            let (route, out) = (routes[index], &mut measured[index]);
            let tasks: Vec<_> = (0..concurrency)
                .map(|_| {
                    let route = (*route).clone();
                    let client = client.clone();
                    tokio::spawn(async move { route.sample(&client).await })
                })
                .collect();
            for task in tasks {
                out.samples.push(task.await.expect("request task"));
            }
            let fake_times = fake.take_first_text_times();
            out.fake_first_text
                .extend(fake_times.iter().map(|took| took.as_secs_f64() * 1000.0));
        }
    }
    measured
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

fn report(concurrency: usize, measured: &[Measured]) {
    let [direct, messages, chat] = measured else {
        panic!("three routes");
    };
    let direct_fake = &direct.fake_first_text;
    let direct = &direct.samples;
    let direct_text = millis(direct, |s| s.first_text);
    println!("\n{concurrency} concurrent stream(s), ms:");
    println!("  {:<42} {:>8} {:>8} {:>5}", "", "median", "p90", "n");
    row(
        "fake directly: first byte",
        &millis(direct, |s| s.first_byte),
    );
    row("fake directly: first text (D)", &direct_text);
    row("fake directly: last byte", &millis(direct, |s| s.last_byte));
    row("  the fake's own time to first text (Fd)", direct_fake);
    for (name, measured) in [("/v1/messages", messages), ("/v1/chat/completions", chat)] {
        let samples = &measured.samples;
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
        // Sample i of each route was taken in the same round as sample i of the direct route.
        let added: Vec<f64> = via.iter().zip(&direct_text).map(|(v, d)| v - d).collect();
        row("  added by codexia: C - D, paired", &added);
        println!(
            "  {:<42} {:>8.3} {:>8.3}",
            "  added by codexia: stat(C) - stat(D)",
            percentile(&via, 0.5) - percentile(&direct_text, 0.5),
            percentile(&via, 0.9) - percentile(&direct_text, 0.9),
        );
        // What the client waited outside the fake's own work, through codexia and directly.
        let fake = &measured.fake_first_text;
        row("  the fake's own time to first text (F)", fake);
        let outside = |p| {
            percentile(&via, p)
                - percentile(fake, p)
                - (percentile(&direct_text, p) - percentile(direct_fake, p))
        };
        println!(
            "  {:<42} {:>8.3} {:>8.3}",
            "  added, the fake's own time out: (C-F)-(D-Fd)",
            outside(0.5),
            outside(0.9),
        );
    }
}

/// The fake, a signed-in `codexia serve` in front of it, and the three routes.
struct Setup {
    fake: FakeUpstream,
    _home: TestHome,
    _server: Gateway,
    direct: Route,
    messages: Route,
    chat: Route,
}

/// A `codexia serve` of the binary under test ([`CODEXIA_BENCH_BINARY`], else this build),
/// whose request log is drained.
pub(super) struct Gateway {
    child: Child,
    url: String,
}

/// Another codexia binary to measure instead of this build.
const BENCH_BINARY: &str = "CODEXIA_BENCH_BINARY";

/// A library to preload into the gateway (`LD_PRELOAD`), e.g. another malloc.
const BENCH_PRELOAD: &str = "CODEXIA_BENCH_PRELOAD";

/// `1` gives the gateway a CPU of its own: it runs on the last CPU, and this process (the fake
/// backend and the clients) on the others, as when the backend's work happens on other machines
/// and cannot take the gateway's CPU. Needs two CPUs or more and `taskset` (util-linux).
const BENCH_PIN: &str = "CODEXIA_BENCH_PIN";

/// The CPUs this process could use when it started (pinning it changes what it is told later).
fn machine_cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// The CPUs of this process and of the gateway when [`BENCH_PIN`] asks for them.
fn pinned_cpus() -> Option<(String, String)> {
    if !std::env::var(BENCH_PIN).is_ok_and(|v| v == "1") {
        return None;
    }
    let cpus = machine_cpus();
    assert!(
        cpus >= 2,
        "{BENCH_PIN}=1 needs two CPUs or more; this machine has {cpus}"
    );
    Some((format!("0-{}", cpus - 2), (cpus - 1).to_string()))
}

/// Moves every thread of this process to `cpus`.
fn pin_this_process(cpus: &str) {
    let pinned = std::process::Command::new("taskset")
        .args(["-a", "-c", "-p", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status();
    assert!(
        pinned.is_ok_and(|status| status.success()),
        "{BENCH_PIN}=1 needs taskset (util-linux)"
    );
}

/// jemalloc options for the gateway (its `_RJEM_MALLOC_CONF`), over those built into it.
const BENCH_MALLOC_CONF: &str = "CODEXIA_BENCH_MALLOC_CONF";

/// Whether the benchmarks' fake serves TLS with HTTP/2 (`CODEXIA_BENCH_FAKE=tls`) rather than
/// plain HTTP/1.1.
fn bench_fake_is_tls() -> bool {
    std::env::var("CODEXIA_BENCH_FAKE").is_ok_and(|v| v == "tls")
}

/// The fake backend of the benchmarks: see [`bench_fake_is_tls`].
async fn bench_fake() -> FakeUpstream {
    if bench_fake_is_tls() {
        FakeUpstream::start_tls().await
    } else {
        FakeUpstream::start().await
    }
}

/// A home for `codexia serve` against `fake`, trusting the fake's test authority.
fn bench_home(fake: &FakeUpstream) -> TestHome {
    home_for(fake).env("CODEXIA_CREDENTIAL_STORE", "file").env(
        "SSL_CERT_FILE",
        test_ca_file().to_string_lossy().into_owned(),
    )
}

/// A client of the benchmarks, trusting the fake's test authority.
fn bench_client(idle: usize) -> reqwest::Client {
    let ca = std::fs::read(test_ca_file()).expect("the test authority's certificate");
    reqwest::Client::builder()
        .pool_max_idle_per_host(idle)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM certificate"))
        .build()
        .expect("client")
}

impl Gateway {
    pub(super) async fn start(home: &TestHome) -> Self {
        let binary = std::env::var(BENCH_BINARY)
            .unwrap_or_else(|_| crate::support::codexia::binary().to_owned());
        drop_from_page_cache(&binary);
        let mut command = match pinned_cpus() {
            Some((own, gateway)) => {
                pin_this_process(&own);
                let mut command = tokio::process::Command::new("taskset");
                command.args(["-c", gateway.as_str(), binary.as_str()]);
                command
            }
            None => tokio::process::Command::new(&binary),
        };
        command
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.home())
            .env("CODEXIA_HOME", home.codexia_home())
            .env("NO_COLOR", "1")
            .envs(home.extra_env().iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Ok(preload) = std::env::var(BENCH_PRELOAD) {
            command.env("LD_PRELOAD", preload);
        }
        // The inspector's budget and an allocator tuning reach the measured gateway, so one
        // build can be measured with several. The tuning has its own variable: this process's
        // `_RJEM_MALLOC_CONF` tunes the fake backend and the clients, whose speed alone moves
        // the gateway's memory after load by 1-2 MB (docs/performance.md).
        command.envs(std::env::vars().filter(|(name, _)| {
            name == "CODEXIA_INSPECTOR_MEMORY_MB" || name == "DUMP_HEAPTRACK_OUTPUT"
        }));
        if let Ok(conf) = std::env::var(BENCH_MALLOC_CONF) {
            command.env("_RJEM_MALLOC_CONF", conf);
        }
        let mut child = command.spawn().expect("spawn codexia serve");
        // Drain the request log: a full stderr pipe would stall the gateway.
        let mut stderr = child.stderr.take().expect("stderr piped");
        tokio::spawn(async move { tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await });
        let stdout = child.stdout.take().expect("stdout");
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .expect("read stdout")
            .expect("a listening line");
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, url }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Resident memory now and at its peak, in MB.
    pub(super) fn rss_mb(&self) -> (f64, f64) {
        let status = status_mb(self.pid(), &["VmRSS:", "VmHWM:"]);
        (status[0], status[1])
    }

    /// Resident memory now split into anonymous (the heap, stacks) and file-backed (the
    /// binary's pages it touched), in MB.
    pub(super) fn rss_split_mb(&self) -> (f64, f64) {
        let status = status_mb(self.pid(), &["RssAnon:", "RssFile:"]);
        (status[0], status[1])
    }

    /// Waits until resident memory has stopped changing ([`settled_rss`]).
    pub(super) async fn settled_rss(&self) -> f64 {
        settled_rss(self.pid()).await
    }

    /// Open sockets of the gateway (the listener, connections from clients and to the backend).
    pub(super) fn sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| {
                    std::fs::read_link(entry.path())
                        .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
    }

    /// Waits (up to 10 s) until the gateway holds fewer than `count` sockets.
    pub(super) async fn wait_for_sockets_below(&self, count: usize) {
        for _ in 0..100 {
            if self.sockets() < count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// CPU time used so far (user + system, all threads).
    pub(super) fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("/proc stat (Linux)");
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
            .split(' ')
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // USER_HZ is 100 on Linux.
        Duration::from_millis(ticks * 10)
    }

    /// CPU time once background work (a count still under way after its answer) has ended:
    /// read until two readings 100 ms apart agree.
    pub(super) async fn settled_cpu(&self) -> Duration {
        let mut last = self.cpu();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.cpu();
            if now == last {
                break;
            }
            last = now;
        }
        last
    }
}

/// Takes `binary`'s pages out of the page cache, so that it starts as after a reboot, whatever
/// wrote it: pages a build or a copy has just written are mapped in larger blocks than pages
/// read back from disk, and made a fresh build 0.4-0.9 MB larger idle than the same bytes read
/// back (docs/performance.md). Best effort: without `dd`, the binary starts as it is.
fn drop_from_page_cache(binary: &str) {
    // Written pages must reach the disk before they can be dropped.
    let _ = std::fs::File::open(binary).and_then(|file| file.sync_all());
    // GNU dd: with count=0, `nocache` drops the whole file's cached pages.
    let _ = std::process::Command::new("dd")
        .args([format!("if={binary}").as_str(), "iflag=nocache", "count=0"])
        .stderr(Stdio::null())
        .status();
}

/// Fields of `/proc/PID/status` given in kB, in MB (0 where missing).
pub(super) fn status_mb(pid: u32, names: &[&str]) -> Vec<f64> {
    proc_status::status_mb(&pid.to_string(), names)
}

/// The resident memory of `pid` in MB once it has stopped changing (two readings a second
/// apart within 0.2 MB; at most 8 s): memory an allocator hands back after its delay is counted
/// as handed back, memory it keeps is counted as kept.
pub(super) async fn settled_rss(pid: u32) -> f64 {
    let rss = || status_mb(pid, &["VmRSS:"])[0];
    let mut last = rss();
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = rss();
        if (now - last).abs() < 0.2 {
            return now;
        }
        last = now;
    }
    last
}

async fn start() -> Setup {
    let fake = bench_fake().await;
    // Low usage: the fake answers 429 once a window reaches 100%.
    fake.set_usage(1.0, 1.0);
    fake.set_default_reply(Reply::text_deltas(&[FIRST_TEXT, " says OK."]));
    let home = bench_home(&fake);
    seed_credentials(&home, &fake.mint_tokens(3600));
    let server = Gateway::start(&home).await;

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
    let client = bench_client(2 * CONCURRENT);
    let routes = [&direct, &messages, &chat];
    measure(&fake, &client, &routes, 1, WARM_UP).await;

    let sequential = measure(&fake, &client, &routes, 1, SEQUENTIAL_SAMPLES).await;
    let concurrent = measure(&fake, &client, &routes, CONCURRENT, CONCURRENT_ROUNDS).await;

    print_build();
    report(1, &sequential);
    report(CONCURRENT, &concurrent);
    // Every request the gateway made was one the backend accepts.
    fake.assert_all_responses_requests_valid();
}

fn print_build() {
    println!(
        "\nbuild: {}{}{}{}; the fake backend ({}) and codexia {} ({} CPUs)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::env::var(BENCH_BINARY).map_or(String::new(), |b| format!(", binary {b}")),
        std::env::var(BENCH_PRELOAD).map_or(String::new(), |p| format!(", LD_PRELOAD={p}")),
        std::env::var(BENCH_MALLOC_CONF)
            .map_or(String::new(), |c| format!(", _RJEM_MALLOC_CONF={c}")),
        if bench_fake_is_tls() {
            "TLS with HTTP/2, as the real backend"
        } else {
            "plain HTTP/1.1"
        },
        pinned_cpus().map_or_else(
            || "share this machine".to_owned(),
            |(own, gateway)| format!("on CPUs {own} and CPU {gateway}, each its own"),
        ),
        machine_cpus()
    );
}

/// One request of the load: its path and body.
#[derive(Clone)]
struct Call {
    path: &'static str,
    body: Arc<Vec<u8>>,
}

impl Call {
    fn messages(body: &Value) -> Self {
        Self {
            path: "/v1/messages?beta=true",
            body: Arc::new(serde_json::to_vec(body).expect("a body")),
        }
    }

    fn count_tokens(body: &Value) -> Self {
        let mut body = body.clone();
        body.as_object_mut().expect("an object").remove("stream");
        Self {
            path: "/v1/messages/count_tokens?beta=true",
            body: Arc::new(serde_json::to_vec(&body).expect("a body")),
        }
    }

    fn chat(body: &Value) -> Self {
        Self {
            path: "/v1/chat/completions",
            body: Arc::new(serde_json::to_vec(body).expect("a body")),
        }
    }

    /// Sends it and reads the answer to its end.
    async fn run(&self, client: &reqwest::Client, gateway_url: &str) {
        let mut response = client
            .post(format!("{gateway_url}{}", self.path))
            .header("content-type", "application/json")
            .header("anthropic-version", "2023-06-01")
            .body(self.body.as_ref().clone())
            .send()
            .await
            .expect("request sent");
        assert!(
            response.status().is_success(),
            "{} answered {}",
            self.path,
            response.status()
        );
        while response.chunk().await.expect("body chunk").is_some() {}
    }
}

/// Runs `calls` with `concurrency` requests in flight.
async fn run_all(client: &reqwest::Client, url: &str, calls: &Arc<Vec<Call>>, concurrency: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, url, calls, next) = (
                client.clone(),
                url.to_owned(),
                Arc::clone(calls),
                Arc::clone(&next),
            );
            tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(call) = calls.get(index) else { break };
                    call.run(&client, &url).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
}

/// CPU per request of `calls`, run one at a time.
async fn cpu_per_request(gateway: &Gateway, client: &reqwest::Client, calls: &[Call]) -> f64 {
    let before = gateway.settled_cpu().await;
    for call in calls {
        call.run(client, &gateway.url).await;
    }
    let used = gateway.settled_cpu().await.saturating_sub(before);
    #[allow(clippy::cast_precision_loss, reason = "a few dozen requests")]
    let per = used.as_secs_f64() * 1000.0 / calls.len() as f64;
    per
}

/// Long conversations, and the memory load of issue 15: requests of each kind, the gateway's
/// CPU time per request (from `/proc`, 10 ms ticks over many requests), then its resident
/// memory idle, after the first count, after 1,000 requests (100 long conversation turns of 10
/// sessions and 900 small streams, 32 at a time) and after the same 1,000 again.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with make bench or make memory-serve"]
async fn serve_cpu_and_memory_under_load() {
    // CPU time comes from /proc in 10 ms ticks: 100 requests make a tick 0.1 ms per request.
    const SAMPLES: usize = 100;
    const CONCURRENT_CALLS: usize = 32;
    let fake = bench_fake().await;
    fake.set_usage(1.0, 1.0);
    fake.set_default_reply(Reply::text_deltas(&[FIRST_TEXT, " says OK."]));
    let home = bench_home(&fake);
    seed_credentials(&home, &fake.mint_tokens(3600));
    let gateway = Gateway::start(&home).await;
    let client = bench_client(2 * CONCURRENT_CALLS);
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut memory = |label: &str, gateway: &Gateway| {
        let (rss, peak) = gateway.rss_mb();
        let (anon, file) = gateway.rss_split_mb();
        rows.push((
            label.to_owned(),
            format!("{rss:>6.1} MB  (peak {peak:.1} MB; heap {anon:.1}, binary {file:.1})"),
        ));
    };

    let small = json!({
        "model": "gpt-5.5", "max_tokens": 1024, "stream": true,
        "messages": [{"role": "user", "content": "Say OK."}],
    });
    gateway.settled_cpu().await;
    memory("idle, after start", &gateway);
    Call::count_tokens(&small).run(&client, &gateway.url).await;
    gateway.settled_cpu().await;
    memory("after the first count (tokenizer loaded)", &gateway);

    // CPU per request on the long conversation.
    let first = long_conversation(READ_TURNS, "cpu");
    let size_kb = serde_json::to_vec(&first).expect("a body").len() / 1000;
    Call::messages(&first).run(&client, &gateway.url).await;
    let next_turns: Vec<Call> = (0..SAMPLES)
        .map(|run| {
            let mut next = long_conversation(READ_TURNS + 1, "cpu");
            let messages = next["messages"].as_array_mut().expect("messages");
            let last = messages.last_mut().expect("a message");
            let content = last["content"][0]["content"]
                .as_str()
                .expect("a result")
                .to_owned();
            last["content"][0]["content"] = format!("// run {run}\n{content}").into();
            Call::messages(&next)
        })
        .collect();
    let new_sessions: Vec<Value> = (0..SAMPLES)
        .map(|run| long_conversation(READ_TURNS, &format!("new{run}")))
        .collect();
    let counts: Vec<Value> = (0..SAMPLES)
        .map(|run| long_conversation(READ_TURNS, &format!("count{run}")))
        .collect();
    let seen = cpu_per_request(&gateway, &client, &next_turns).await;
    let cold: Vec<Call> = new_sessions.iter().map(Call::messages).collect();
    let cold = cpu_per_request(&gateway, &client, &cold).await;
    let count: Vec<Call> = counts.iter().map(Call::count_tokens).collect();
    let count = cpu_per_request(&gateway, &client, &count).await;
    let small_cpu: Vec<Call> = (0..SAMPLES * 4).map(|_| Call::messages(&small)).collect();
    let small_cpu = cpu_per_request(&gateway, &client, &small_cpu).await;

    // The memory load: 10 sessions of 10 growing turns, and 900 small streams, mixed.
    let long: Vec<Call> = (0..100)
        .map(|i| {
            Call::messages(&long_conversation(
                READ_TURNS - 10 + i % 10,
                &format!("m{}", i / 10),
            ))
        })
        .collect();
    let chat = json!({"model": "gpt-5.5", "stream": true,
        "messages": [{"role": "user", "content": "Say OK."}]});
    let mut calls = Vec::with_capacity(1000);
    let mut long = long.into_iter();
    for i in 0..900 {
        if i % 9 == 0 {
            calls.extend(long.next());
        }
        calls.push(if i % 2 == 0 {
            Call::messages(&small)
        } else {
            Call::chat(&chat)
        });
    }
    let calls = Arc::new(calls);
    memory("after the CPU runs above", &gateway);
    run_all(&client, &gateway.url, &calls, CONCURRENT_CALLS).await;
    gateway.settled_cpu().await;
    gateway.settled_rss().await;
    memory("after 1,000 requests (100 long), 32 at a time", &gateway);
    run_all(&client, &gateway.url, &calls, CONCURRENT_CALLS).await;
    gateway.settled_cpu().await;
    gateway.settled_rss().await;
    memory("after the same 1,000 again", &gateway);
    drop(client);
    gateway.wait_for_sockets_below(8).await;
    gateway.settled_cpu().await;
    gateway.settled_rss().await;
    memory("after the clients' connections closed", &gateway);

    print_build();
    println!("\nCPU of codexia serve per request, ms (the long conversation: {size_kb} KB):");
    for (label, value) in [
        ("/v1/messages, next turn (earlier messages seen)", seen),
        (
            "/v1/messages, a new session's turn (system prompt and tools seen)",
            cold,
        ),
        (
            "/v1/messages/count_tokens, a new session's conversation",
            count,
        ),
        ("/v1/messages, a small request", small_cpu),
    ] {
        println!("  {label:<68} {value:>7.2}");
    }
    println!("\nresident memory of codexia serve:");
    for (label, value) in rows {
        println!("  {label:<68} {value}");
    }
    fake.assert_all_responses_requests_valid();
}
