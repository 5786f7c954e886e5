//! `codexia requests [--last N] [--json]`, `codexia requests show ID` and
//! `codexia requests replay ID`: the running gateway's request inspector (`GET /v1/requests…`,
//! docs/inspector.md), read through `local.rs`.
//!
//! Replay (`local/replay.rs`, shared with the tray's Requests page) sends the captured client
//! request (body and the headers that are not secrets) to the same route again, with this
//! machine's key; the gateway captures the replay too and names it in the `x-codexia-request`
//! response header, so the two backend requests can be compared field by field.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use crate::cli::UserError;
use crate::cli::args::{RequestIdArgs, RequestsAction, RequestsArgs};
use crate::cli::output::Printer;
use crate::inspector::diff;
use crate::inspector::view::{EventView, HttpMessage, RequestDetail, RequestList, RequestSummary};
use crate::local::replay::{self, READ_TIMEOUT, ReplayError, Replayed};
use crate::local::{LocalError, LocalGateway};
use crate::settings::{Env, Overrides, Settings};

/// How many requests the list shows by default.
const DEFAULT_LAST: usize = 20;
/// Characters of a value shown in a changed field.
const SHOWN_VALUE: usize = 120;

pub(crate) async fn run(args: &RequestsArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    crate::logging::init(
        &settings,
        crate::logging::Loudness::QuietUnlessConfigured,
        0,
    );
    let Some(gateway) = LocalGateway::find(&settings).await else {
        return Err(UserError::with_hint(
            format!(
                "no codexia gateway answers on {}",
                crate::local::gateway_url(settings.bind.value)
            ),
            "captured requests live in the running gateway's memory: start it with `codexia serve` (or the tray app) and send requests through it",
        )
        .into());
    };
    match &args.action {
        None => list(&gateway, args.last.unwrap_or(DEFAULT_LAST), args.json).await,
        Some(RequestsAction::Show(id)) => show(&gateway, id).await,
        Some(RequestsAction::Replay(id)) => replay(&gateway, id).await,
    }
}

async fn list(gateway: &LocalGateway, last: usize, json: bool) -> anyhow::Result<ExitCode> {
    let captured: RequestList = gateway
        .get_json(&format!("/v1/requests?last={last}"), READ_TIMEOUT)
        .await
        .map_err(|err| refused(err, None))?;
    if json {
        Printer.out(serde_json::to_string_pretty(&captured)?);
        return Ok(ExitCode::SUCCESS);
    }
    if captured.data.is_empty() {
        Printer.out("No requests captured yet.");
        return Ok(ExitCode::SUCCESS);
    }
    Printer.out(format!(
        "{:<9} {:<8} {:<16} {:<28} {:<16} {:>6} {:<11} {:>8} {:>14}",
        "ID", "TIME", "CLIENT", "ROUTE", "MODEL", "STATUS", "STATE", "DURATION", "TOKENS IN/OUT"
    ));
    for request in &captured.data {
        Printer.out(list_row(request));
    }
    let memory = captured.memory;
    Printer.note(format!(
        "{} kept in {} of {} ({} dropped to stay within inspector_memory_mb)",
        memory.kept,
        human_bytes(memory.bytes),
        human_bytes(memory.budget_bytes),
        memory.dropped
    ));
    Ok(ExitCode::SUCCESS)
}

fn list_row(r: &RequestSummary) -> String {
    let time = local_time(&r.at, "%H:%M:%S");
    let tokens = r.tokens.map_or_else(
        || "-".to_owned(),
        |t| {
            format!(
                "{}/{}",
                super::usage::short_tokens(t.input),
                super::usage::short_tokens(t.output)
            )
        },
    );
    format!(
        "{:<9} {:<8} {:<16} {:<28} {:<16} {:>6} {:<11} {:>8} {:>14}",
        r.id,
        time,
        clip(&r.client, 16),
        clip(&r.route, 28),
        clip(r.model.as_deref().unwrap_or("-"), 16),
        r.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
        r.state,
        r.duration_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms")),
        tokens
    )
}

async fn show(gateway: &LocalGateway, args: &RequestIdArgs) -> anyhow::Result<ExitCode> {
    let detail = fetch(gateway, &args.id).await?;
    if args.json {
        Printer.out(serde_json::to_string_pretty(&detail)?);
        return Ok(ExitCode::SUCCESS);
    }
    for line in render_detail(&detail) {
        Printer.out(line);
    }
    Ok(ExitCode::SUCCESS)
}

async fn fetch(gateway: &LocalGateway, id: &str) -> anyhow::Result<RequestDetail> {
    let id = normal_id(id);
    replay::fetch(gateway, &id)
        .await
        .map_err(|err| refused(err, Some(&id)))
}

/// The capture to replay: from the running gateway, or a capture file of `serve --capture`
/// (which outlives a restart, e.g. after an upgrade or a configuration change).
async fn original(gateway: &LocalGateway, id: &str) -> anyhow::Result<RequestDetail> {
    let path = std::path::Path::new(id);
    if !path.is_file() {
        return fetch(gateway, id).await;
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the capture file {}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| {
        UserError::with_hint(
            format!("{} is not a capture file: {err}", path.display()),
            "give an id from `codexia requests`, or a file written by `codexia serve --capture DIR`",
        )
        .into()
    })
}

/// `12` → `req_12`.
fn normal_id(id: &str) -> String {
    let id = id.trim();
    if id.chars().all(|c| c.is_ascii_digit()) {
        format!("req_{id}")
    } else {
        id.to_owned()
    }
}

/// A refusal of the gateway in one or two sentences.
fn refused(err: LocalError, id: Option<&str>) -> anyhow::Error {
    match err {
        LocalError::Refused { status, .. } if status == reqwest::StatusCode::FORBIDDEN => {
            UserError::with_hint(
                "the gateway refused to show captured requests",
                "they contain prompts: only a client on the gateway's machine, or a key marked \"admin\": true in api_keys, may read them",
            )
            .into()
        }
        LocalError::Refused { status, .. } if status == reqwest::StatusCode::NOT_FOUND => {
            UserError::with_hint(
                format!(
                    "there is no captured request {}",
                    id.unwrap_or("with this id")
                ),
                "`codexia requests` lists the ones kept; older ones are dropped to stay within inspector_memory_mb",
            )
            .into()
        }
        LocalError::Refused { status, .. } if status == reqwest::StatusCode::UNAUTHORIZED => {
            UserError::with_hint(
                "the gateway refused this machine's API key",
                "set the same api_key here as the running gateway uses (`codexia config show`)",
            )
            .into()
        }
        other => anyhow::Error::new(other).context("cannot read the captured requests"),
    }
}

/// The readable form of both sides.
fn render_detail(d: &RequestDetail) -> Vec<String> {
    let s = &d.summary;
    let mut lines = vec![format!(
        "{}  {}  {}{}  {}  → {} {}{}",
        s.id,
        local_time(&s.at, "%Y-%m-%d %H:%M:%S"),
        s.client,
        s.client_version
            .as_deref()
            .map(|v| format!(" {v}"))
            .unwrap_or_default(),
        s.route,
        s.status.map_or_else(|| "-".to_owned(), |st| st.to_string()),
        s.state,
        s.duration_ms
            .map(|ms| format!("  {ms} ms"))
            .unwrap_or_default(),
    )];
    match (&s.model_asked, &s.model) {
        (Some(asked), Some(served)) if asked != served => {
            lines.push(format!("model: {asked} → {served}"));
        }
        (_, Some(served)) => lines.push(format!("model: {served}")),
        _ => {}
    }
    if let Some(t) = s.tokens {
        lines.push(format!(
            "tokens: {} in ({} cached), {} out ({} reasoning){}",
            t.input,
            t.cached,
            t.output,
            t.reasoning,
            s.first_content_ms
                .map(|ms| format!("; first content after {ms} ms"))
                .unwrap_or_default()
        ));
    }
    if let Some(error) = &s.error {
        lines.push(format!("error: {}: {}", error.kind, error.message));
    }
    if s.truncated {
        lines.push("(part of this request was cut to fit inspector_memory_mb)".to_owned());
    }
    section(&mut lines, "Client request");
    message_lines(&mut lines, &d.client_request);
    section(&mut lines, "Upstream request");
    match &d.upstream_request {
        Some(request) => message_lines(&mut lines, request),
        None => lines.push("(none: the request did not reach the backend)".to_owned()),
    }
    section(
        &mut lines,
        &format!(
            "Upstream response: {}",
            d.upstream_status
                .map_or_else(|| "no answer".to_owned(), |st| st.to_string())
        ),
    );
    event_lines(&mut lines, &d.upstream_events);
    section(
        &mut lines,
        &format!(
            "Client response: {}",
            d.client_response
                .status
                .map_or_else(|| "-".to_owned(), |st| st.to_string())
        ),
    );
    message_lines(&mut lines, &d.client_response);
    event_lines(&mut lines, &d.client_events);
    lines
}

fn section(lines: &mut Vec<String>, title: &str) {
    lines.push(String::new());
    lines.push(format!("── {title} ──"));
}

fn message_lines(lines: &mut Vec<String>, m: &HttpMessage) {
    if let (Some(method), Some(url)) = (&m.method, &m.url) {
        lines.push(format!("{method} {url}"));
    }
    for (name, value) in &m.headers {
        lines.push(format!("{name}: {value}"));
    }
    if !m.body.is_null() {
        lines.push(String::new());
        let body = match &m.body {
            Value::String(text) => text.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_default(),
        };
        lines.extend(body.lines().map(str::to_owned));
    }
}

fn event_lines(lines: &mut Vec<String>, events: &[EventView]) {
    for e in events {
        let data = match &e.data {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let name = match (&e.event, e.comment) {
            (_, true) => ":".to_owned(),
            (Some(name), false) => name.clone(),
            (None, false) => "data".to_owned(),
        };
        lines.push(format!("{:>8} ms  {name}  {data}", e.ms));
    }
}

async fn replay(gateway: &LocalGateway, args: &RequestIdArgs) -> anyhow::Result<ExitCode> {
    let original = original(gateway, &args.id).await?;
    let Replayed {
        id: new_id,
        status,
        answer,
        comparison,
    } = replay::replay(gateway, &original)
        .await
        .map_err(replay_failed)?;
    if args.json {
        let changes: Vec<Value> = comparison
            .as_ref()
            .map(|changes| {
                changes
                    .iter()
                    .map(|c| json!({"path": c.path, "before": c.before, "after": c.after}))
                    .collect()
            })
            .unwrap_or_default();
        Printer.out(serde_json::to_string_pretty(&json!({
            "original": original.summary.id,
            "replay": new_id,
            "status": status.as_u16(),
            "identical": comparison.as_ref().is_ok_and(Vec::is_empty),
            "changes": changes,
            "problem": comparison.as_ref().err(),
        }))?);
        return Ok(ExitCode::SUCCESS);
    }
    Printer.note(format!(
        "Replayed {} as {new_id}: the gateway answered {status}.",
        original.summary.id
    ));
    match comparison {
        Err(problem) => {
            Printer.out(problem);
            if !status.is_success() {
                Printer.out(clip(&answer, 400));
            }
        }
        Ok(changes) if changes.is_empty() => Printer.out("identical"),
        Ok(changes) => {
            for change in &changes {
                Printer.out(diff::describe(change, SHOWN_VALUE));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A failed replay in one or two sentences.
fn replay_failed(err: ReplayError) -> anyhow::Error {
    match err {
        ReplayError::NotWhole { id } => UserError::with_hint(
            format!("{id} cannot be replayed: its body was not kept whole"),
            "raise inspector_memory_mb to keep larger requests",
        )
        .into(),
        ReplayError::Send(err) => anyhow::Error::new(err).context("cannot send the request again"),
        ReplayError::NotCaptured { status } => UserError::with_hint(
            format!("the gateway answered {status} but did not capture the replay"),
            "capture is off when inspector_memory_mb is 0",
        )
        .into(),
        ReplayError::Fetch { id, err } => refused(err, Some(&id)),
    }
}

fn local_time(rfc3339: &str, format: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_owned(),
        |t| t.with_timezone(&chrono::Local).format(format).to_string(),
    )
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{head}…")
}

fn human_bytes(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a display")]
    let b = bytes as f64;
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", b / 1024.0),
        _ => format!("{:.1} MiB", b / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_number_is_an_id() {
        assert_eq!(normal_id(" 12 "), "req_12");
        assert_eq!(normal_id("req_3"), "req_3");
    }
}
