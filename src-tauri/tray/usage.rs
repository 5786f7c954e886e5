//! The tray's usage lines, from the usage ledger: today's tokens and cache hit rate, and the
//! forecast of the tightest window; and the once-per-window notice when a window is forecast
//! to run out before it resets. Pure: the report and `now` are passed in.

use std::collections::HashMap;

use chrono::TimeZone;

use crate::ledger::WindowKind;
use crate::ledger::attribution::RESET_TOLERANCE_SECONDS;
use crate::ledger::pace::{Pace, short_duration};
use crate::ledger::query::UsageReport;

/// The tightest window's forecast when it runs out before its reset: the one that runs out
/// first.
fn tightest(windows: &[Pace]) -> Option<(&Pace, i64, i64)> {
    windows
        .iter()
        .filter_map(|pace| {
            let forecast = pace.forecast?;
            let before = forecast.before_reset_seconds.filter(|s| *s > 0)?;
            Some((pace, forecast.runs_out_at, before))
        })
        .min_by_key(|(_, runs_out, _)| *runs_out)
}

fn clock(unix: i64) -> String {
    chrono::Local
        .timestamp_opt(unix, 0)
        .single()
        .map(|t| t.format("%H:%M").to_string())
        .unwrap_or_default()
}

fn tokens(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a display")]
    let f = n as f64;
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", f / 1e3),
        _ => format!("{:.1}M", f / 1e6),
    }
}

/// The usage line before today's first request.
pub(crate) const NO_REQUESTS: &str = "Today: no requests yet";

/// The menu lines for today's report (since local midnight).
pub(crate) fn usage_lines(today: &UsageReport) -> Vec<String> {
    // Always one line, so that the first request of the day changes a text, not the menu's
    // shape (a rebuilt menu flickers in the panel).
    let mut lines = vec![NO_REQUESTS.to_owned()];
    if today.total.requests > 0 {
        let mut line = format!("Today: {} tokens", tokens(today.total.tokens()));
        if let Some(cache) = today.total.cache_percent {
            line.push_str(&format!(" · cache {cache:.0}%"));
        }
        lines[0] = line;
    }
    if let Some((pace, runs_out, before)) = tightest(&today.windows) {
        lines.push(format!(
            "{} runs out at {} at this pace, {} before it resets",
            pace.window.name(),
            clock(runs_out),
            short_duration(before)
        ));
    }
    lines
}

/// Notices for windows newly forecast to run out before their reset; `announced` remembers, per
/// window, the reset of the period already announced, so each window period is announced once.
///
/// A period is told by its reset time. The backend sends the reset as "seconds from now", so the
/// reset time wobbles from one answer to the next: a reset within
/// [`RESET_TOLERANCE_SECONDS`] of the announced one is the same period, and the remembered
/// reset follows it (a bucket by minute would announce again whenever the wobble crosses a
/// minute).
pub(crate) fn forecast_notices(
    report: &UsageReport,
    announced: &mut HashMap<WindowKind, Option<i64>>,
) -> Vec<String> {
    let mut notices = Vec::new();
    for pace in &report.windows {
        let same_period = announced
            .get(&pace.window)
            .map(|seen| match (*seen, pace.reset_at) {
                (Some(seen), Some(reset)) => (seen - reset).abs() <= RESET_TOLERANCE_SECONDS,
                (seen, reset) => seen == reset,
            });
        if same_period == Some(true) {
            announced.insert(pace.window, pace.reset_at);
            continue;
        }
        let Some(forecast) = pace.forecast else {
            continue;
        };
        let Some(before) = forecast.before_reset_seconds.filter(|s| *s > 0) else {
            continue;
        };
        announced.insert(pace.window, pace.reset_at);
        notices.push(format!(
            "At this pace the {} limit runs out at {}, {} before it resets.",
            pace.window.name(),
            clock(forecast.runs_out_at),
            short_duration(before)
        ));
    }
    notices
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;
    use crate::ledger::pace::Forecast;
    use crate::ledger::query::Totals;

    fn pace(window: WindowKind, runs_out_at: i64, reset_at: i64) -> Pace {
        Pace {
            window,
            used_percent: 50.0,
            reset_at: Some(reset_at),
            elapsed_percent: None,
            verdict: None,
            forecast: Some(Forecast {
                rate_per_hour: 10.0,
                runs_out_at,
                before_reset_seconds: Some(reset_at - runs_out_at),
            }),
        }
    }

    fn report(requests: u64, windows: Vec<Pace>) -> UsageReport {
        UsageReport {
            since_ms: 0,
            by: None,
            groups: Vec::new(),
            total: Totals {
                requests,
                input_tokens: 1_000_000,
                cached_tokens: 910_000,
                output_tokens: 200_000,
                cache_percent: Some(91.0),
                ..Totals::default()
            },
            windows,
        }
    }

    #[test]
    fn the_lines_show_todays_tokens_and_the_window_that_runs_out_first() {
        assert_eq!(usage_lines(&report(0, vec![])), [NO_REQUESTS]);
        let windows = vec![
            pace(WindowKind::FiveHour, 10_000, 14_200),
            // Runs out after its reset: not a warning.
            pace(WindowKind::Weekly, 9_000, 8_000),
        ];
        assert_eq!(
            usage_lines(&report(3, windows)),
            [
                "Today: 1.2M tokens · cache 91%".to_owned(),
                format!(
                    "5h runs out at {} at this pace, 1h10m before it resets",
                    clock(10_000)
                )
            ]
        );
    }

    #[test]
    fn each_window_period_is_announced_once() {
        let mut announced = HashMap::new();
        let first = report(1, vec![pace(WindowKind::FiveHour, 10_000, 14_200)]);
        assert_eq!(
            forecast_notices(&first, &mut announced),
            [format!(
                "At this pace the 5h limit runs out at {}, 1h10m before it resets.",
                clock(10_000)
            )]
        );
        assert!(forecast_notices(&first, &mut announced).is_empty());
        // The reset wobbles across a minute (14_219 → 14_221) and drifts on: the same period.
        for reset in [14_219, 14_221, 14_300, 14_400] {
            let wobbled = report(1, vec![pace(WindowKind::FiveHour, 10_000, reset)]);
            assert!(
                forecast_notices(&wobbled, &mut announced).is_empty(),
                "{reset}"
            );
        }
        // The weekly window is announced on its own.
        let weekly = report(1, vec![pace(WindowKind::Weekly, 100_000, 500_000)]);
        assert_eq!(forecast_notices(&weekly, &mut announced).len(), 1);
        // The next period is announced again.
        let next = report(1, vec![pace(WindowKind::FiveHour, 30_000, 32_200)]);
        assert_eq!(forecast_notices(&next, &mut announced).len(), 1);
    }
}
