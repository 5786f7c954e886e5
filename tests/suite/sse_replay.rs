//! Recorded backend streams (`tests/fixtures/sse/*.sse`) replayed through the production SSE
//! parser (`upstream::sse`) into typed [`ResponsesEvent`]s (the event sequence of each
//! is an inline snapshot), and through the production reader (`upstream::events`) and each
//! API's translator (the frames are file snapshots).
//!
//! [`replay`] is the one entry point: a translator test feeds its events on
//! (`replay(path).into_iter().flat_map(|e| translator.push(&e))`).
//!
//! The fixtures were recorded from the fake backend by
//! `record_the_sse_fixtures_from_the_fake_backend` (ignored; run it with `--ignored` to
//! record them again after the fake's streams change, then review the diff).

use std::path::{Path, PathBuf};
use std::time::Duration;

use codexia::{
    ChatStream, MessagesStream, ResponseObject, ResponsesEvent, ResponsesRelay, StreamTranslator,
    ToolNameMap, sse_events, until_terminal,
};
use futures_util::StreamExt;
use insta::assert_snapshot;
use pretty_assertions::assert_eq;
use serde_json::json;

use crate::support::fake_backend::{FakeUpstream, Reply};

/// `tests/fixtures/sse/NAME`.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sse")
        .join(name)
}

/// The typed events of a recorded stream, read by the production parser as the gateway reads
/// a backend body. Panics on a stream error or an event that does not parse.
async fn replay(path: &Path) -> Vec<ResponsesEvent> {
    let bytes =
        std::fs::read(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    replay_chunks(vec![bytes]).await
}

/// [`replay`] of a body arriving in these chunks.
async fn replay_chunks(chunks: Vec<Vec<u8>>) -> Vec<ResponsesEvent> {
    let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
    sse_events(body, Duration::from_secs(5))
        .map(|event| {
            let event = event.expect("a readable event stream");
            ResponsesEvent::parse(&event.data)
                .unwrap_or_else(|err| panic!("{}: {err}: {}", event.event, event.data))
        })
        .collect()
        .await
}

/// One line per event: its variant, and what it carries that the translators read.
fn sequence(events: &[ResponsesEvent]) -> String {
    events
        .iter()
        .map(|event| {
            let debug = format!("{event:?}");
            let variant = debug
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned();
            let detail = match event {
                ResponsesEvent::OutputTextDelta { delta, .. }
                | ResponsesEvent::ReasoningSummaryTextDelta { delta, .. }
                | ResponsesEvent::FunctionCallArgumentsDelta { delta, .. } => format!("{delta:?}"),
                ResponsesEvent::OutputTextDone { text, .. }
                | ResponsesEvent::ReasoningSummaryTextDone { text, .. } => format!("{text:?}"),
                ResponsesEvent::FunctionCallArgumentsDone { arguments, .. } => {
                    format!("{arguments:?}")
                }
                ResponsesEvent::OutputItemAdded { item, .. }
                | ResponsesEvent::OutputItemDone { item, .. } => {
                    let item = format!("{item:?}");
                    item.split([' ', '{']).next().unwrap_or_default().to_owned()
                }
                ResponsesEvent::Created { response }
                | ResponsesEvent::Completed { response }
                | ResponsesEvent::Incomplete { response }
                | ResponsesEvent::Failed { response } => outcome(response),
                _ => String::new(),
            };
            format!("{variant} {detail}").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A response object's status, item count, usage and error code.
fn outcome(response: &ResponseObject) -> String {
    let mut parts = vec![
        format!("status={}", response.status.as_deref().unwrap_or("-")),
        format!("output={}", response.output.len()),
    ];
    if let Some(usage) = &response.usage {
        parts.push(format!(
            "tokens={}+{}",
            usage.input_tokens, usage.output_tokens
        ));
    }
    if let Some(error) = &response.error {
        parts.push(format!("error={}", error.code.as_deref().unwrap_or("-")));
    }
    parts.join(" ")
}

/// Replays `name` whole, then in chunks of 1, 7 and 64 bytes (splitting lines and UTF-8
/// characters), and checks every split gives the same events.
async fn replay_every_way(name: &str) -> Vec<ResponsesEvent> {
    let path = fixture(name);
    let whole = replay(&path).await;
    let bytes = std::fs::read(&path).unwrap();
    for size in [1, 7, 64] {
        let chunks = bytes.chunks(size).map(<[u8]>::to_vec).collect();
        assert_eq!(
            replay_chunks(chunks).await,
            whole,
            "{name} in {size}-byte chunks"
        );
    }
    whole
}

#[tokio::test]
async fn a_text_answer_replays_as_deltas_then_completed() {
    let events = replay_every_way("text.sse").await;
    assert_snapshot!(sequence(&events), @r#"
    Created status=in_progress output=0
    InProgress
    OutputItemAdded Message
    ContentPartAdded
    OutputTextDelta "Hello"
    OutputTextDelta ", wor"
    OutputTextDelta "ld! "
    OutputTextDelta "👋"
    OutputTextDone "Hello, world! 👋"
    ContentPartDone
    OutputItemDone Message
    Completed status=completed output=1 tokens=28+5
    "#);
}

#[tokio::test]
async fn a_tool_call_replays_as_argument_deltas_then_the_item() {
    let events = replay_every_way("tool_call.sse").await;
    assert_snapshot!(sequence(&events), @r#"
    Created status=in_progress output=0
    InProgress
    OutputItemAdded FunctionCall
    FunctionCallArgumentsDelta "{\"command\":\"ls -"
    FunctionCallArgumentsDelta "la\",\"description"
    FunctionCallArgumentsDelta "\":\"List files\"}"
    FunctionCallArgumentsDone "{\"command\":\"ls -la\",\"description\":\"List files\"}"
    OutputItemDone FunctionCall
    Completed status=completed output=1 tokens=28+13
    "#);
}

#[tokio::test]
async fn reasoning_then_text_replays_summary_before_the_message() {
    let events = replay_every_way("reasoning_text.sse").await;
    assert_snapshot!(sequence(&events), @r#"
    Created status=in_progress output=0
    InProgress
    OutputItemAdded Reasoning
    ReasoningSummaryPartAdded
    ReasoningSummaryTextDelta "**Planni"
    ReasoningSummaryTextDelta "ng** the"
    ReasoningSummaryTextDelta " answer"
    ReasoningSummaryTextDone "**Planning** the answer"
    ReasoningSummaryPartDone
    OutputItemDone Reasoning
    OutputItemAdded Message
    ContentPartAdded
    OutputTextDelta "Here "
    OutputTextDelta "is th"
    OutputTextDelta "e pla"
    OutputTextDelta "n."
    OutputTextDone "Here is the plan."
    ContentPartDone
    OutputItemDone Message
    Completed status=completed output=2 tokens=28+69
    "#);
}

#[tokio::test]
async fn a_failed_response_replays_its_error_code_last() {
    let events = replay_every_way("failed.sse").await;
    assert_snapshot!(sequence(&events), @r#"
    Created status=in_progress output=0
    InProgress
    OutputItemAdded Message
    ContentPartAdded
    OutputTextDelta "pa"
    OutputTextDelta "rt"
    OutputTextDelta "ia"
    OutputTextDelta "l"
    OutputTextDone "partial"
    ContentPartDone
    OutputItemDone Message
    Failed status=failed output=1 error=server_error
    "#);
}

/// Records the fixtures above: one request per reply to the fake backend, its body saved as
/// it arrived.
#[tokio::test]
#[ignore = "rewrites tests/fixtures/sse/*.sse; run it with --ignored after the fake's streams change"]
async fn record_the_sse_fixtures_from_the_fake_backend() {
    let fake = FakeUpstream::start().await;
    let tokens = fake.mint_tokens(3600);
    let replies = [
        (
            "text.sse",
            Reply::text_deltas(&["Hello", ", wor", "ld! ", "👋"]),
        ),
        (
            "tool_call.sse",
            Reply::function_call_with_id(
                "call_replay1",
                "Bash",
                r#"{"command":"ls -la","description":"List files"}"#,
            ),
        ),
        (
            "reasoning_text.sse",
            Reply::reasoning("**Planning** the answer").with_text("Here is the plan."),
        ),
        (
            "failed.sse",
            Reply::failed("server_error", "The backend broke.").with_text("partial"),
        ),
    ];
    let body = json!({
        "model": "gpt-5.5",
        "instructions": "You are a helpful assistant.",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}],
        "tools": [{"type": "function", "name": "Bash", "description": "Run a command", "strict": false,
                   "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "medium", "summary": "auto"},
    });
    std::fs::create_dir_all(fixture("")).unwrap();
    for (name, reply) in replies {
        fake.push_reply(reply);
        let response = reqwest::Client::new()
            .post(fake.responses_url())
            .bearer_auth(&tokens.access_token)
            .header("chatgpt-account-id", &tokens.account_id)
            .header("accept", "text/event-stream")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let recorded = response.bytes().await.unwrap();
        std::fs::write(fixture(name), &recorded).unwrap();
    }
    fake.assert_all_responses_requests_valid();
}

// -------------------------------------------------------------------------------------------
// The same recordings through the production reader (events parsed once, ending at the
// terminal event, failures mapped) and each API's translator.
// -------------------------------------------------------------------------------------------

/// The frames each translator writes for a recorded stream read by the upstream reader:
/// `(event name or "data", data)` with the data compacted to what the client reads.
async fn translated<T: StreamTranslator>(name: &str, mut translator: T) -> Vec<String> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes)]);
    let mut events = until_terminal::<T::Event>(sse_events(body, Duration::from_secs(5)));
    let mut frames = Vec::new();
    while !translator.is_finished() {
        frames.extend(match events.next().await {
            Some(Ok(event)) => translator.push(&event),
            Some(Err(error)) => translator.fail(&error),
            None => translator.finish(),
        });
    }
    frames
        .iter()
        .map(|frame| {
            let data: serde_json::Value =
                serde_json::from_str(&frame.data).unwrap_or_else(|_| json!(frame.data));
            let shown = match frame.event.as_deref() {
                Some("message_start") => json!({}),
                Some("response.failed") => json!({"error": data.pointer("/response/error")}),
                Some(name) if name.starts_with("response.") => json!({
                    "sequence_number": data["sequence_number"],
                    "delta": data.get("delta"),
                    "model": data.pointer("/response/model"),
                }),
                Some(_) => data,
                None => data.pointer("/choices/0").cloned().unwrap_or(data),
            };
            format!("{} {shown}", frame.event.as_deref().unwrap_or("data"))
        })
        .collect()
}

fn messages_translator() -> MessagesStream {
    MessagesStream::new("claude-sonnet-4-5", ToolNameMap::default(), 12)
}

fn chat_translator() -> ChatStream {
    ChatStream::new("gpt-5.5".into(), "chatcmpl-1".into(), 1, false)
}

#[tokio::test]
async fn recorded_streams_translate_to_anthropic_events() {
    let mut all = Vec::new();
    for name in ["text.sse", "tool_call.sse", "failed.sse"] {
        all.push(format!("# {name}"));
        all.extend(translated(name, messages_translator()).await);
    }
    assert_snapshot!(all.join("\n"));
}

#[tokio::test]
async fn recorded_streams_translate_to_chat_chunks() {
    let mut all = Vec::new();
    for name in ["text.sse", "tool_call.sse", "failed.sse"] {
        all.push(format!("# {name}"));
        all.extend(translated(name, chat_translator()).await);
    }
    assert_snapshot!(all.join("\n"));
}

#[tokio::test]
async fn recorded_streams_relay_as_responses_events() {
    let mut all = Vec::new();
    for name in ["reasoning_text.sse", "failed.sse"] {
        all.push(format!("# {name}"));
        all.extend(translated(name, ResponsesRelay::new("gpt-5.5".into())).await);
    }
    assert_snapshot!(all.join("\n"));
}
