//! `codexia statusline`: one line for Claude Code's `statusLine` command. Claude Code sends a
//! JSON object on stdin (`session_id`, `model`, `workspace`, …); the line says the served model,
//! what is left of the 5h and weekly windows and when the 5h window resets, and this session's
//! tokens and cache hit rate, all from `$CODEXIA_HOME/usage.db` (no network, so it is quick).
//! It never fails: whatever cannot be read is left out of the line.

use std::io::Read;
use std::process::ExitCode;

use serde::Deserialize;

use crate::cli::output::Printer;
use crate::ledger::pace::short_duration;
use crate::ledger::query::{self, Totals};
use crate::ledger::{WindowObservation, schema};
use crate::settings::{Env, Settings};

use super::usage::short_tokens;

/// The part of Claude Code's statusLine JSON that is used.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct StatusInput {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub model: Option<StatusModel>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StatusModel {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "every command answers anyhow::Result; this one never fails (a status line prints what it can)"
)]
pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    let _ = std::io::stdin().take(1 << 20).read_to_string(&mut text);
    let input: StatusInput = serde_json::from_str(&text).unwrap_or_default();
    let asked = input
        .model
        .as_ref()
        .and_then(|m| m.display_name.clone().or_else(|| m.id.clone()));
    let mut model = None;
    let mut windows = [None, None];
    let mut session = None;
    if let Ok(home) = Settings::home_dir(&Env::from_process())
        && let Ok(Some(conn)) = schema::open_read_only(&home.join(crate::ledger::FILE_NAME))
    {
        windows = query::latest_windows(&conn).unwrap_or_default();
        if let Some(id) = &input.session_id {
            model = query::session_model(&conn, id).ok().flatten();
            session = query::session_totals(&conn, id).ok().flatten();
        }
    }
    let line = status_line(
        model.or(asked).as_deref(),
        windows,
        session.as_ref(),
        chrono::Utc::now().timestamp(),
    );
    Printer.out(line);
    Ok(ExitCode::SUCCESS)
}

/// `gpt-5.5 · 5h 62% left, resets 1h10m · weekly 71% left · this session 1.2M tok, cache 91%`.
pub(crate) fn status_line(
    model: Option<&str>,
    [five_hour, weekly]: [Option<WindowObservation>; 2],
    session: Option<&Totals>,
    now: i64,
) -> String {
    let mut parts = Vec::new();
    parts.push(model.unwrap_or("codexia").to_owned());
    if let Some(w) = five_hour {
        let mut part = format!("5h {:.0}% left", 100.0 - w.used_percent);
        if let Some(reset) = w.reset_at.filter(|r| *r > now) {
            part.push_str(&format!(", resets {}", short_duration(reset - now)));
        }
        parts.push(part);
    }
    if let Some(w) = weekly {
        parts.push(format!("weekly {:.0}% left", 100.0 - w.used_percent));
    }
    if let Some(totals) = session {
        let mut part = format!("this session {} tok", short_tokens(totals.tokens()));
        if let Some(cache) = totals.cache_percent {
            part.push_str(&format!(", cache {cache:.0}%"));
        }
        parts.push(part);
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn the_line_names_model_windows_and_session() {
        let now = 1_000;
        let windows = [
            Some(WindowObservation {
                used_percent: 38.0,
                reset_at: Some(now + 4_200),
            }),
            Some(WindowObservation {
                used_percent: 29.0,
                reset_at: None,
            }),
        ];
        let session = Totals {
            input_tokens: 1_100_000,
            cached_tokens: 1_001_000,
            output_tokens: 100_000,
            cache_percent: Some(91.0),
            ..Totals::default()
        };
        assert_eq!(
            status_line(Some("gpt-5.5"), windows, Some(&session), now),
            "gpt-5.5 · 5h 62% left, resets 1h10m · weekly 71% left · this session 1.2M tok, cache 91%"
        );
        assert_eq!(status_line(None, [None, None], None, now), "codexia");
    }
}
