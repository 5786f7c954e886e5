//! Pace and forecast of a window, and the cache hit rate. Pure: observations and `now` are
//! passed in.
//!
//! **Pace** compares the used percent with the elapsed percent of the window period (the period
//! ends at the reset): within [`PACE_TOLERANCE`] points it is on pace, above ahead of pace, below
//! behind pace.
//!
//! **Forecast**: the rate of the last hour of use is the rise of the used percent between the
//! first and the last observation of the last hour in the current period, over the time between
//! them; at that rate the window reaches 100 % at `last + (100 − used) / rate`, before or after
//! its reset. No rise, fewer than two observations, or less than a minute between them: no
//! forecast.

use serde::Serialize;

use super::{WindowKind, WindowObservation};

/// Points of difference still counted as on pace.
pub(crate) const PACE_TOLERANCE: f64 = 5.0;
/// The stretch of use the forecast's rate is taken from.
pub(crate) const RATE_WINDOW_SECONDS: i64 = 3600;

/// How the used percent compares with the elapsed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[expect(
    clippy::enum_variant_names,
    reason = "the words the CLI and the API print"
)]
pub(crate) enum PaceVerdict {
    OnPace,
    AheadOfPace,
    BehindPace,
}

impl PaceVerdict {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::OnPace => "on pace",
            Self::AheadOfPace => "ahead of pace",
            Self::BehindPace => "behind pace",
        }
    }
}

/// When the window would be used up at the recent rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Forecast {
    /// Percentage points per hour over the last hour of use.
    pub rate_per_hour: f64,
    /// Unix seconds when it reaches 100 %.
    pub runs_out_at: i64,
    /// Seconds between running out and the reset (positive: it runs out first).
    pub before_reset_seconds: Option<i64>,
}

/// A window's pace and forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Pace {
    pub window: WindowKind,
    pub used_percent: f64,
    pub reset_at: Option<i64>,
    /// How much of the period has passed, when the reset is known.
    pub elapsed_percent: Option<f64>,
    pub verdict: Option<PaceVerdict>,
    pub forecast: Option<Forecast>,
}

/// A point of a window's history: when (unix seconds) and what was observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub at: i64,
    pub observed: WindowObservation,
}

/// The pace of `window` from its observations (oldest first; the last is the latest).
#[expect(clippy::cast_precision_loss, reason = "seconds within a week")]
#[expect(clippy::cast_possible_truncation, reason = "seconds within a week")]
pub(crate) fn pace(window: WindowKind, points: &[Point], now: i64) -> Option<Pace> {
    let latest = points.last()?;
    let used = latest.observed.used_percent;
    let reset_at = latest.observed.reset_at;
    let elapsed_percent = reset_at.map(|reset| {
        let start = reset - window.seconds();
        ((now - start) as f64 / window.seconds() as f64 * 100.0).clamp(0.0, 100.0)
    });
    let verdict = elapsed_percent.map(|elapsed| {
        if used > elapsed + PACE_TOLERANCE {
            PaceVerdict::AheadOfPace
        } else if used < elapsed - PACE_TOLERANCE {
            PaceVerdict::BehindPace
        } else {
            PaceVerdict::OnPace
        }
    });
    let same_period = |p: &&Point| match (p.observed.reset_at, reset_at) {
        (Some(a), Some(b)) => (a - b).abs() <= super::attribution::RESET_TOLERANCE_SECONDS,
        _ => true,
    };
    let first = points
        .iter()
        .filter(|p| p.at >= latest.at - RATE_WINDOW_SECONDS)
        .find(same_period)?;
    let seconds = latest.at - first.at;
    let rise = used - first.observed.used_percent;
    let forecast = (seconds >= 60 && rise > 0.0).then(|| {
        let rate = rise / seconds as f64;
        let runs_out_at = latest.at + ((100.0 - used).max(0.0) / rate).round() as i64;
        Forecast {
            rate_per_hour: rate * 3600.0,
            runs_out_at,
            before_reset_seconds: reset_at.map(|reset| reset - runs_out_at),
        }
    });
    Some(Pace {
        window,
        used_percent: used,
        reset_at,
        elapsed_percent,
        verdict,
        forecast,
    })
}

/// Cached input tokens as a percentage of input tokens; `None` without input.
#[expect(
    clippy::cast_precision_loss,
    reason = "token counts are far below 2^52"
)]
pub(crate) fn cache_percent(cached: u64, input: u64) -> Option<f64> {
    (input > 0).then(|| cached.min(input) as f64 / input as f64 * 100.0)
}

/// `1h10m`, `45m`, `2d3h`: a short duration for one-line displays.
pub(crate) fn short_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h{minutes:02}m"),
        _ => format!("{days}d{hours}h"),
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn point(at: i64, used: f64, reset_at: i64) -> Point {
        Point {
            at,
            observed: WindowObservation {
                used_percent: used,
                reset_at: Some(reset_at),
            },
        }
    }

    #[test]
    #[expect(clippy::cast_possible_truncation, reason = "seconds")]
    fn the_forecast_extends_the_last_hour_of_use() {
        // A 5h window resetting at t = 18000, i.e. it started at 0; now is 2h in.
        let reset = 18_000;
        let points = [
            point(3_000, 10.0, reset),
            point(4_000, 20.0, reset),
            point(7_200, 40.0, reset),
        ];
        let got = pace(WindowKind::FiveHour, &points, 7_200).unwrap();
        // The last hour starts at 3600: from 20 % at 4000 to 40 % at 7200, 20 points in 3200 s.
        let rate = 20.0 / 3200.0;
        let runs_out = 7_200 + (60.0_f64 / rate).round() as i64;
        assert_eq!(
            got,
            Pace {
                window: WindowKind::FiveHour,
                used_percent: 40.0,
                reset_at: Some(reset),
                elapsed_percent: Some(40.0),
                verdict: Some(PaceVerdict::OnPace),
                forecast: Some(Forecast {
                    rate_per_hour: rate * 3600.0,
                    runs_out_at: runs_out,
                    before_reset_seconds: Some(reset - runs_out),
                }),
            }
        );
        assert_eq!(runs_out, 16_800);
    }

    #[test]
    fn verdicts_and_missing_forecasts() {
        let reset = 18_000;
        // 80 % used after a fifth of the window: ahead; one point: no rate.
        let ahead = pace(WindowKind::FiveHour, &[point(3_600, 80.0, reset)], 3_600).unwrap();
        assert_eq!(ahead.verdict, Some(PaceVerdict::AheadOfPace));
        assert_eq!(ahead.forecast, None);
        // Falling (a new period began between the points): no forecast from the old period.
        let points = [point(3_000, 90.0, reset - 18_000), point(3_600, 1.0, reset)];
        let fresh = pace(WindowKind::FiveHour, &points, 3_600).unwrap();
        assert_eq!(fresh.verdict, Some(PaceVerdict::BehindPace));
        assert_eq!(fresh.forecast, None);
        assert_eq!(pace(WindowKind::Weekly, &[], 0), None);
    }

    #[test]
    fn cache_percent_and_short_durations() {
        assert_eq!(cache_percent(0, 0), None);
        assert_eq!(cache_percent(91, 100), Some(91.0));
        assert_eq!(short_duration(4_200), "1h10m");
        assert_eq!(short_duration(45 * 60 + 30), "45m");
        assert_eq!(short_duration(2 * 86_400 + 3 * 3600), "2d3h");
    }
}
