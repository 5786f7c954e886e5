//! Hardening against hostile and unlucky clients (issue 13, points 4, 5 and 7): the body cap and
//! the shared body budget, work that stops when its client leaves, header and idle timeouts, the
//! connection cap, hyper's own error answers in the caller's format, and client values the
//! backend would refuse.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::harness::{ANTHROPIC, Harness, OPENAI};

/// A safety net for a gateway that never answers or never closes, not a synchronisation device.
const DEADLINE: Duration = Duration::from_secs(30);

async fn connect(h: &Harness) -> TcpStream {
    TcpStream::connect(h.server.addr).await.expect("connect")
}

/// Reads until the gateway closes the connection (or resets it); the bytes read.
async fn read_to_close(tcp: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0_u8; 8192];
    loop {
        match tokio::time::timeout(DEADLINE, tcp.read(&mut buf))
            .await
            .expect("the gateway closed the connection in time")
        {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one response head and its `content-length` body.
async fn read_response(tcp: &mut TcpStream) -> (u16, String, String) {
    let mut data = Vec::new();
    let mut buf = [0_u8; 8192];
    loop {
        if let Some(end) = find(&data, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let status: u16 = head[9..12].parse().unwrap();
            if status == 100 {
                data.drain(..end + 4);
                return (100, head, String::new());
            }
            if data.len() >= end + 4 + length {
                let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).into_owned();
                return (status, head, body);
            }
        }
        let n = tokio::time::timeout(DEADLINE, tcp.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("read");
        assert!(n > 0, "closed before a whole answer: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

// -- point 4: the body cap and the body budget -------------------------------------------------

#[tokio::test]
async fn a_body_over_the_cap_is_413_and_one_over_the_budget_is_503_each_in_the_callers_format() {
    let h = Harness::start_with_env(&[
        ("CODEXIA_MAX_BODY_SIZE", "64KiB"),
        ("CODEXIA_BODY_BUDGET", "100KiB"),
    ])
    .await;
    let big = "x".repeat(70 * 1024);

    let anthropic = h
        .post_raw("/v1/messages?beta=true", big.clone(), ANTHROPIC)
        .await;
    assert_eq!(anthropic.status, 413, "{}", anthropic.body);
    assert_eq!(
        anthropic.json(),
        json!({"type": "error", "error": {"type": "request_too_large",
               "message": "The request body is larger than the gateway accepts (64 KiB)."},
               "request_id": anthropic.header("request-id").unwrap()})
    );
    let openai = h.post_raw("/v1/chat/completions", big, OPENAI).await;
    assert_eq!(openai.status, 413);
    assert_eq!(openai.json()["error"]["code"], "request_too_large");

    // A first request holds 60 KiB of the budget: its headers are in and the gateway has
    // asked for its body (the 100 Continue comes once the body is reserved and being read).
    let held = 60 * 1024;
    let mut first = connect(&h).await;
    first
        .write_all(
            format!(
                "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
                 anthropic-version: 2023-06-01\r\ncontent-length: {held}\r\nexpect: 100-continue\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(read_response(&mut first).await.0, 100);

    // Another 60 KiB does not fit in what is left: 503, retry-after, the caller's envelope.
    let second = "y".repeat(held);
    let busy = h
        .post_raw("/v1/chat/completions", second.clone(), OPENAI)
        .await;
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert_eq!(busy.json()["error"]["type"], "server_error");
    assert_eq!(busy.json()["error"]["code"], "server_is_overloaded");
    let busy = h.post_raw("/v1/messages", second.clone(), ANTHROPIC).await;
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.json()["error"]["type"], "overloaded_error");
    assert!(
        busy.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("memory budget"),
        "{}",
        busy.body
    );

    // Once the first request is answered, its share comes back.
    first.write_all(&vec![b' '; held]).await.unwrap();
    let (status, _, body) = read_response(&mut first).await;
    assert_eq!(status, 400, "{body}");
    let admitted = h.post_raw("/v1/chat/completions", second, OPENAI).await;
    assert_eq!(admitted.status, 400, "read and parsed: {}", admitted.body);
    assert!(h.fake.responses_requests().is_empty());
}

// -- point 5: work and connections that outlive their client -----------------------------------

/// User plus system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Waits until the process's CPU time stops growing (two samples 200 ms apart within a tick
/// or two) and returns it.
async fn cpu_when_quiet(pid: u32) -> u64 {
    let started = Instant::now();
    let mut last = cpu_ticks(pid);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = cpu_ticks(pid);
        if now - last <= 2 {
            return now;
        }
        assert!(started.elapsed() < DEADLINE, "the CPU use never stopped");
        last = now;
    }
}

fn large_count_tokens_body() -> String {
    let vocabulary = [
        "gateway", "counts", "the", "tokens", "of", "every", "message", "step", "by", "step",
    ];
    let mut text = String::with_capacity(24 * 1024 * 1024);
    let mut i = 0_usize;
    while text.len() < 24 * 1024 * 1024 {
        text.push_str(vocabulary[i % vocabulary.len()]);
        text.push_str(if i.is_multiple_of(13) { ".\n" } else { " " });
        i += 1;
    }
    json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": text}]})
        .to_string()
}

#[tokio::test]
async fn a_client_that_leaves_during_a_large_count_tokens_stops_its_cpu_use() {
    let h = Harness::start().await;
    let pid = h.server.child.id().expect("running");
    let body = large_count_tokens_body();

    // What the whole count costs, answered.
    let before = cpu_when_quiet(pid).await;
    let answered = h
        .post_raw("/v1/messages/count_tokens", body.clone(), ANTHROPIC)
        .await;
    assert_eq!(answered.status, 200, "{}", answered.body);
    let full = cpu_when_quiet(pid).await - before;

    // The same request, left once a third of that CPU time is spent.
    let quiet = cpu_when_quiet(pid).await;
    let mut tcp = connect(&h).await;
    tcp.write_all(
        format!(
            "POST /v1/messages/count_tokens HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
             anthropic-version: 2023-06-01\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tcp.write_all(body.as_bytes()).await.unwrap();
    let started = Instant::now();
    while cpu_ticks(pid) - quiet < full / 3 {
        assert!(started.elapsed() < DEADLINE, "the count never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left_at = cpu_ticks(pid);
    drop(tcp);
    let after_leaving = cpu_when_quiet(pid).await - left_at;
    // The figure issue 13 asks about (100 ms): printed, not asserted (CPU time depends on the
    // build and the machine's load).
    eprintln!(
        "count_tokens left by its client: {} ms of CPU after leaving, the whole count {} ms",
        after_leaving * 10,
        full * 10
    );
    // Without cancellation the count would run on for the remaining two thirds; with it only
    // the step under way and the request's teardown remain (a quarter on a quiet machine, more
    // when the whole suite shares the CPUs, never near two thirds).
    assert!(
        after_leaving < full / 2,
        "{after_leaving} ticks after the client left; the whole count takes {full}"
    );
    // The gateway still answers.
    assert_eq!(h.get("/health", &[]).await.status, 200);
}

#[tokio::test]
async fn a_client_sending_its_headers_byte_by_byte_is_cut_off_at_the_header_timeout() {
    let h = Harness::start_with_env(&[
        ("CODEXIA_HEADER_READ_TIMEOUT", "2"),
        ("CODEXIA_IDLE_TIMEOUT", "60"),
    ])
    .await;
    let mut tcp = connect(&h).await;
    let started = Instant::now();
    let trickle = async {
        let head = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ";
        for byte in head.iter().chain(std::iter::repeat(&b'a')) {
            if tcp.write_all(&[*byte]).await.is_err() {
                return;
            }
            // The client's own pace: a byte every 100 ms.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(DEADLINE, trickle)
        .await
        .expect("the gateway cut the trickling client off");
    let cut_after = started.elapsed();
    assert!(
        cut_after >= Duration::from_secs(2),
        "cut off after {cut_after:?}, before the 2 s bound"
    );
    // A client that sends its request at once is served as usual.
    assert_eq!(h.get("/health", &[]).await.status, 200);
}

#[tokio::test]
async fn idle_keep_alive_connections_close_at_the_idle_timeout() {
    let h = Harness::start_with_env(&[
        ("CODEXIA_IDLE_TIMEOUT", "2"),
        ("CODEXIA_HEADER_READ_TIMEOUT", "30"),
    ])
    .await;
    let mut connections = Vec::new();
    for _ in 0..5 {
        let mut tcp = connect(&h).await;
        tcp.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let (status, head, _) = read_response(&mut tcp).await;
        assert_eq!(status, 200);
        assert_ne!(header(&head, "connection"), Some("close"));
        connections.push((tcp, Instant::now()));
    }
    // One more that never sends a request at all.
    connections.push((connect(&h).await, Instant::now()));
    for (mut tcp, idle_from) in connections {
        assert!(read_to_close(&mut tcp).await.is_empty());
        let idle = idle_from.elapsed();
        assert!(
            idle >= Duration::from_millis(1900),
            "closed after {idle:?} idle"
        );
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let h = Harness::start_with_env(&[("CODEXIA_MAX_CONNECTIONS", "2")]).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut tcp = connect(&h).await;
        tcp.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut tcp).await.0, 200);
        open.push(tcp);
    }
    // The kernel queues the third connection; the gateway does not take it.
    let mut third = connect(&h).await;
    third
        .write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0_u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf))
            .await
            .is_err(),
        "a third connection was served while two were open"
    );
    drop(open.pop());
    assert_eq!(read_response(&mut third).await.0, 200);
}

// -- point 7: the smaller points -------------------------------------------------------------

/// Sends raw bytes on a new connection and reads the answer until the gateway closes.
async fn raw_answer(h: &Harness, request: &[u8]) -> (String, String) {
    let mut tcp = connect(h).await;
    tcp.write_all(request).await.unwrap();
    let answer = String::from_utf8(read_to_close(&mut tcp).await).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn hyper_s_own_431_and_414_carry_the_callers_format_or_one_plain_line() {
    let h = Harness::start().await;

    let mut many_headers = String::from(
        "POST /v1/messages?beta=true HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 0\r\n",
    );
    for i in 0..150 {
        many_headers.push_str(&format!("x-header-{i}: v\r\n"));
    }
    many_headers.push_str("\r\n");
    let (head, body) = raw_answer(&h, many_headers.as_bytes()).await;
    assert!(
        head.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{head}"
    );
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The request's headers are larger than the gateway accepts"),
        "{body}"
    );
    assert_eq!(header(&head, "request-id"), body["request_id"].as_str());

    let long_query = "a".repeat(70 * 1024);
    let (head, body) = raw_answer(
        &h,
        format!("GET /v1/models?q={long_query} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 414 URI Too Long"), "{head}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"error": {"message": "The request's URL is longer than the gateway accepts (64 KiB).",
                         "type": "invalid_request_error", "param": null, "code": null}})
    );

    let (head, body) = raw_answer(
        &h,
        format!("GET /{long_query} HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 414"), "{head}");
    assert_eq!(
        header(&head, "content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        body,
        "414 URI Too Long: The request's URL is longer than the gateway accepts (64 KiB).\n"
    );
}

#[tokio::test]
async fn the_bearer_scheme_of_the_api_key_is_case_insensitive() {
    let h = Harness::start_with(&["--api-key", "local-key"]).await;
    for value in ["BEARER local-key", "bearer local-key", "Bearer local-key"] {
        let answer = h.get("/v1/models", &[("authorization", value)]).await;
        assert_eq!(answer.status, 200, "{value}: {}", answer.body);
    }
    let wrong = h
        .get("/v1/models", &[("authorization", "BEARER other")])
        .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn an_over_long_session_id_reaches_the_backend_as_a_short_stable_hash() {
    let h = Harness::start().await;
    let session = "s".repeat(100 * 1024);
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 64,
                      "messages": [{"role": "user", "content": "Hi"}]});
    for _ in 0..2 {
        let answer = h
            .anthropic(
                "/v1/messages",
                &body,
                &[("x-claude-code-session-id", session.as_str())],
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let user = "u".repeat(100 * 1024);
    let answer = h
        .chat(&json!({"model": "gpt-5.5", "user": user, "messages": [{"role": "user", "content": "Hi"}]}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let sent = h.upstream();
    let ids: Vec<&str> = sent
        .iter()
        .map(|r| r.header("session_id").unwrap())
        .collect();
    let keys: Vec<&str> = sent
        .iter()
        .map(|r| r.body_json()["prompt_cache_key"].as_str().unwrap())
        .collect();
    for (id, key) in ids.iter().zip(&keys) {
        assert!(id.starts_with("sha256-") && id.len() <= 64, "{id}");
        assert_eq!(id, key);
    }
    assert_eq!(ids[0], ids[1], "the same session keeps its key");
    assert_ne!(ids[0], ids[2]);
}

#[tokio::test]
async fn ids_and_values_the_backend_refuses_are_refused_naming_the_clients_field_and_not_logged_as_errors()
 {
    let h = Harness::start().await;
    let long_id = "call_".repeat(100);
    let responses = h
        .responses(&json!({"model": "gpt-5.5", "input": [
            {"role": "user", "content": "Run it"},
            {"type": "function_call", "call_id": long_id, "name": "shell", "arguments": "{}"},
            {"type": "function_call_output", "call_id": long_id, "output": "done"}
        ]}))
        .await;
    assert_eq!(responses.status, 400, "{}", responses.body);
    assert_eq!(
        responses.json()["error"]["message"],
        "input[1].call_id: a tool call id must be at most 64 characters (this one has 500)."
    );

    let messages = h
        .messages(&json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [
            {"role": "user", "content": "Run it"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "", "name": "Bash", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "", "content": "ok"}]}
        ]}))
        .await;
    assert_eq!(messages.status, 400, "{}", messages.body);
    assert_eq!(messages.json()["error"]["type"], "invalid_request_error");
    assert_eq!(
        messages.json()["error"]["message"],
        "messages[1].content[0].id: a tool use id must not be empty."
    );

    let chat = h
        .chat(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "maximum"}}]}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]}))
        .await;
    assert_eq!(chat.status, 400, "{}", chat.body);
    assert!(
        chat.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(
                "messages[0].content[0].image_url.detail: \"maximum\" is not an image detail"
            ),
        "{}",
        chat.body
    );

    assert!(
        h.fake.responses_requests().is_empty(),
        "nothing reached the backend"
    );
    let output = h.server.terminate().await;
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("request refused"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
}
