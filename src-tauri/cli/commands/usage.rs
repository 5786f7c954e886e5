//! `codexia usage [--since WHEN] [--by KEY] [--json]`: the usage ledger read straight from
//! `$CODEXIA_HOME/usage.db`, with or without a running gateway. A table of requests, tokens,
//! cache hit rate and the share of the 5h and weekly windows per group, then one pace and
//! forecast line per window.

use std::process::ExitCode;

use anyhow::Context;
use chrono::TimeZone;

use crate::cli::UserError;
use crate::cli::args::UsageArgs;
use crate::cli::output::Printer;
use crate::ledger::pace::{Pace, short_duration};
use crate::ledger::query::{self, GroupBy, Totals, UsageReport};
use crate::settings::{Env, Overrides, Settings};

pub(crate) fn run(args: &UsageArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::resolve(&Overrides::default(), &Env::from_process())?;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let since_text = args.since.as_deref().unwrap_or("24h");
    let since_ms = query::parse_since(since_text, now_ms).ok_or_else(|| {
        UserError::with_hint(
            format!("--since {since_text:?} is not a duration or a date"),
            "use 5h, 24h, 7d, 30d or a date such as 2026-11-30",
        )
    })?;
    let by = args.by.as_deref().and_then(GroupBy::parse);
    let path = settings.home.join(crate::ledger::FILE_NAME);
    let report = query::report_from_file(&path, since_ms, by, now_ms)
        .with_context(|| format!("cannot read the usage history in {}", path.display()))?;
    if args.json {
        Printer.out(serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    for line in render_text(&report, since_text, now_ms / 1000) {
        Printer.out(line);
    }
    Ok(ExitCode::SUCCESS)
}

/// `1234` → `1.2k`, `1_200_000` → `1.2M`.
pub(crate) fn short_tokens(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a display")]
    let f = n as f64;
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", f / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1}M", f / 1e6),
        _ => format!("{:.1}B", f / 1e9),
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}%"))
}

fn table_row(key: &str, t: &Totals) -> String {
    format!(
        "{key:<28} {:>8} {:>8} {:>7} {:>8} {:>8} {:>8}",
        t.requests,
        short_tokens(t.input_tokens),
        percent(t.cache_percent),
        short_tokens(t.output_tokens),
        format!("{:.1}", t.share_5h),
        format!("{:.1}", t.share_weekly),
    )
}

fn clock(unix: i64) -> String {
    chrono::Local
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default()
}

/// The pace and forecast sentence of a window.
pub(crate) fn pace_line(pace: &Pace, now: i64) -> String {
    let mut line = format!("{}: {:.0}% used", pace.window.name(), pace.used_percent);
    if let (Some(verdict), Some(elapsed)) = (pace.verdict, pace.elapsed_percent) {
        line.push_str(&format!(
            ", {} ({elapsed:.0}% of the window elapsed)",
            verdict.text()
        ));
    }
    if let Some(reset) = pace.reset_at {
        line.push_str(&format!(", resets in {}", short_duration(reset - now)));
    }
    if let Some(forecast) = pace.forecast {
        match forecast.before_reset_seconds {
            Some(before) if before > 0 => line.push_str(&format!(
                "; at this pace the {} limit runs out at {}, {} before it resets",
                pace.window.name(),
                clock(forecast.runs_out_at),
                short_duration(before)
            )),
            _ => line.push_str("; at this pace it lasts until the reset"),
        }
    }
    line
}

/// The report as text lines.
pub(crate) fn render_text(report: &UsageReport, since_text: &str, now: i64) -> Vec<String> {
    let mut lines = Vec::new();
    let heading = match report.by {
        Some(by) => format!(
            "Usage since {since_text} ago, by {}",
            serde_json::to_value(by)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        None => format!("Usage since {since_text} ago"),
    };
    lines.push(heading);
    if report.total.requests == 0 {
        lines.push("No requests recorded in this period.".to_owned());
    } else {
        lines.push(format!(
            "{:<28} {:>8} {:>8} {:>7} {:>8} {:>8} {:>8}",
            "", "REQUESTS", "INPUT", "CACHE", "OUTPUT", "5H PTS", "WEEK PTS"
        ));
        for group in &report.groups {
            lines.push(table_row(&group.key, group));
        }
        lines.push(table_row("total", &report.total));
    }
    for pace in &report.windows {
        lines.push(pace_line(pace, now));
    }
    lines
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::ledger::WindowKind;
    use crate::ledger::pace::{Forecast, PaceVerdict};

    #[test]
    fn tokens_are_shortened() {
        assert_eq!(short_tokens(999), "999");
        assert_eq!(short_tokens(1_234), "1.2k");
        assert_eq!(short_tokens(1_250_000), "1.2M");
    }

    #[test]
    fn the_pace_line_says_when_the_window_runs_out_before_its_reset() {
        let now = 1_000_000;
        let pace = Pace {
            window: WindowKind::FiveHour,
            used_percent: 62.0,
            reset_at: Some(now + 2 * 3600),
            elapsed_percent: Some(60.0),
            verdict: Some(PaceVerdict::OnPace),
            forecast: Some(Forecast {
                rate_per_hour: 38.0,
                runs_out_at: now + 3600,
                before_reset_seconds: Some(3600),
            }),
        };
        assert_eq!(
            pace_line(&pace, now),
            format!(
                "5h: 62% used, on pace (60% of the window elapsed), resets in 2h00m; at this pace the 5h limit runs out at {}, 1h00m before it resets",
                clock(now + 3600)
            )
        );
    }
}
