//! Rate-limit windows and credits, from the `x-codex-*` headers of every backend answer
//! (docs/protocol.md §7) and from `GET /wham/usage` (§8), in one shape.
//!
//! Windows are named by their length, not their position (§7: Free/Plus accounts carry a
//! lone 7-day window in `primary_window`): 18000 s → `5h`, 604800 s → `weekly`, other lengths
//! `<n>d` / `<n>h`; additional limits are prefixed with their `limit_name`. Pure functions: the
//! caller passes `now`.

use reqwest::header::HeaderMap;
use serde_json::Value;

/// Which slot a window came from (used only when its length is unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Primary,
    Secondary,
}

/// One rate-limit window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LimitWindow {
    /// `None` for the main Codex limit; else the additional limit's display name.
    pub limit_name: Option<String>,
    pub slot: Slot,
    /// The window's length, when known.
    pub window_seconds: Option<u64>,
    /// 0..=100.
    pub remaining_percent: f64,
    /// Unix seconds.
    pub reset_at: Option<i64>,
}

impl LimitWindow {
    /// `5h`, `weekly`, `GPT-5.3-Codex-Spark 5h`, …
    pub(crate) fn name(&self) -> String {
        let base = window_name(self.window_seconds, self.slot);
        match &self.limit_name {
            Some(limit) => format!("{limit} {base}"),
            None => base,
        }
    }
}

/// The name of a window of `seconds` (positional when unknown).
pub(crate) fn window_name(seconds: Option<u64>, slot: Slot) -> String {
    match seconds {
        Some(18_000) => "5h".to_owned(),
        Some(604_800) => "weekly".to_owned(),
        Some(s) if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        Some(s) if s > 0 => format!("{}h", s.div_ceil(3_600)),
        _ => match slot {
            Slot::Primary => "5h".to_owned(),
            Slot::Secondary => "weekly".to_owned(),
        },
    }
}

/// Windows and credits at one moment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RateLimitSnapshot {
    pub windows: Vec<LimitWindow>,
    pub credits_balance: Option<f64>,
    pub plan_type: Option<String>,
    /// Unix seconds when it was observed.
    pub observed_at: i64,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn clamp_percent(value: f64) -> f64 {
    value.clamp(0.0, 100.0)
}

/// Parses the `x-codex-*` headers; `None` when the answer carried none.
pub(crate) fn from_headers(headers: &HeaderMap, now: i64) -> Option<RateLimitSnapshot> {
    // Families: `x-codex` (the main limit) and `x-<limit id>` for others (docs/protocol.md §7).
    let mut families: Vec<String> = headers
        .keys()
        .filter_map(|name| {
            let name = name.as_str();
            name.strip_suffix("-primary-used-percent")
                .or_else(|| name.strip_suffix("-secondary-used-percent"))
                .filter(|prefix| prefix.starts_with("x-"))
                .map(str::to_owned)
        })
        .collect();
    families.sort_by_key(|f| (f != "x-codex", f.clone()));
    families.dedup();
    let mut windows = Vec::new();
    for family in &families {
        let limit_name = if family == "x-codex" {
            None
        } else {
            Some(
                header(headers, &format!("{family}-limit-name"))
                    .map_or_else(|| family.trim_start_matches("x-").to_owned(), str::to_owned),
            )
        };
        for (slot, label) in [(Slot::Primary, "primary"), (Slot::Secondary, "secondary")] {
            let get = |field: &str| header(headers, &format!("{family}-{label}-{field}"));
            let Some(used) = get("used-percent").and_then(|v| v.parse::<f64>().ok()) else {
                continue;
            };
            let minutes = get("window-minutes").and_then(|v| v.parse::<u64>().ok());
            // `0` minutes marks an absent window (ICE#65: secondary 0/0/empty).
            if minutes == Some(0) {
                continue;
            }
            let reset_at = get("reset-at")
                .and_then(|v| v.parse::<i64>().ok())
                .or_else(|| {
                    get("reset-after-seconds")
                        .and_then(|v| v.parse::<i64>().ok())
                        .map(|after| now + after)
                });
            windows.push(LimitWindow {
                limit_name: limit_name.clone(),
                slot,
                window_seconds: minutes.map(|m| m * 60),
                remaining_percent: clamp_percent(100.0 - used),
                reset_at,
            });
        }
    }
    let credits_balance =
        header(headers, "x-codex-credits-balance").and_then(|v| v.parse::<f64>().ok());
    let plan_type = header(headers, "x-codex-plan-type").map(str::to_owned);
    if windows.is_empty() && credits_balance.is_none() && plan_type.is_none() {
        return None;
    }
    Some(RateLimitSnapshot {
        windows,
        credits_balance,
        plan_type,
        observed_at: now,
    })
}

/// Unix seconds from a number, an integer string, or an RFC 3339 string.
pub(crate) fn parse_time(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            #[expect(clippy::cast_possible_truncation, reason = "unix seconds fit in i64")]
            n.as_f64().map(|f| f as i64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .ok()
                    .map(|t| t.timestamp())
            })
        }
        _ => None,
    }
}

fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn usage_window(
    value: Option<&Value>,
    limit_name: Option<&str>,
    slot: Slot,
    now: i64,
) -> Option<LimitWindow> {
    let window = value.filter(|v| v.is_object())?;
    let remaining = number(window.get("remaining_percent"))
        .or_else(|| number(window.get("used_percent")).map(|used| 100.0 - used))?;
    let reset_at = window.get("reset_at").and_then(parse_time).or_else(|| {
        window
            .get("reset_after_seconds")
            .and_then(Value::as_i64)
            .map(|after| now + after)
    });
    Some(LimitWindow {
        limit_name: limit_name.map(str::to_owned),
        slot,
        window_seconds: window
            .get("limit_window_seconds")
            .and_then(Value::as_u64)
            .filter(|s| *s > 0),
        remaining_percent: clamp_percent(remaining),
        reset_at,
    })
}

fn rate_limit_windows(
    rate_limit: Option<&Value>,
    limit_name: Option<&str>,
    now: i64,
) -> Vec<LimitWindow> {
    let Some(rate_limit) = rate_limit else {
        return Vec::new();
    };
    [
        usage_window(
            rate_limit.get("primary_window"),
            limit_name,
            Slot::Primary,
            now,
        ),
        usage_window(
            rate_limit.get("secondary_window"),
            limit_name,
            Slot::Secondary,
            now,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Parses a `wham/usage` body.
pub(crate) fn from_usage(body: &Value, now: i64) -> RateLimitSnapshot {
    let mut windows = rate_limit_windows(body.get("rate_limit"), None, now);
    for extra in body
        .get("additional_rate_limits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = extra
            .get("limit_name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("additional");
        windows.extend(rate_limit_windows(extra.get("rate_limit"), Some(name), now));
    }
    RateLimitSnapshot {
        windows,
        credits_balance: number(body.pointer("/credits/balance")),
        plan_type: body
            .get("plan_type")
            .and_then(Value::as_str)
            .map(str::to_owned),
        observed_at: now,
    }
}

/// `2h 24m`, `5m 3s`, `40s`, `1d 7h` (negative values count as 0).
pub(crate) fn countdown(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn windows_are_named_by_length_not_position() {
        assert_eq!(window_name(Some(18_000), Slot::Secondary), "5h");
        assert_eq!(window_name(Some(604_800), Slot::Primary), "weekly");
        assert_eq!(window_name(Some(86_400 * 30), Slot::Primary), "30d");
        assert_eq!(window_name(Some(3_600), Slot::Primary), "1h");
        assert_eq!(window_name(Some(5_400), Slot::Primary), "2h");
        assert_eq!(window_name(None, Slot::Secondary), "weekly");
    }

    #[test]
    fn the_recorded_429_headers_give_one_weekly_window() {
        // icebear0828/codex-proxy#65, verbatim values.
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("x-codex-primary-used-percent", "100"),
            ("x-codex-secondary-used-percent", "0"),
            ("x-codex-primary-window-minutes", "10080"),
            ("x-codex-secondary-window-minutes", "0"),
            ("x-codex-primary-reset-after-seconds", "471285"),
            ("x-codex-secondary-reset-after-seconds", "0"),
            ("x-codex-primary-reset-at", "1773860656"),
            ("x-codex-secondary-reset-at", ""),
            ("x-codex-credits-has-credits", "False"),
            ("x-codex-credits-balance", ""),
            ("x-codex-plan-type", "free"),
            ("x-codex-bengalfox-primary-used-percent", "25"),
            ("x-codex-bengalfox-primary-window-minutes", "300"),
            ("x-codex-bengalfox-primary-reset-after-seconds", "60"),
            ("x-codex-bengalfox-limit-name", "GPT-5.3-Codex-Spark"),
        ] {
            headers.insert(
                reqwest::header::HeaderName::from_static(k),
                v.parse().unwrap(),
            );
        }
        let snapshot = from_headers(&headers, 1_000).unwrap();
        let named: Vec<(String, f64, Option<i64>)> = snapshot
            .windows
            .iter()
            .map(|w| (w.name(), w.remaining_percent, w.reset_at))
            .collect();
        assert_eq!(
            named,
            vec![
                ("weekly".to_owned(), 0.0, Some(1_773_860_656)),
                ("GPT-5.3-Codex-Spark 5h".to_owned(), 75.0, Some(1_060)),
            ]
        );
        assert_eq!(snapshot.credits_balance, None);
        assert_eq!(snapshot.plan_type.as_deref(), Some("free"));
        assert_eq!(from_headers(&HeaderMap::new(), 0), None);
    }

    #[test]
    fn usage_windows_and_additional_limits_are_read() {
        let body = json!({
            "plan_type": "plus",
            "rate_limit": {
                "primary_window": {"used_percent": 16, "limit_window_seconds": 604_800, "reset_after_seconds": 511_006, "reset_at": 1_784_792_381},
                "secondary_window": null
            },
            "additional_rate_limits": [
                {"limit_name": "GPT-5.3-Codex-Spark", "rate_limit": {
                    "primary_window": {"used_percent": 0, "limit_window_seconds": 18_000, "reset_after_seconds": 18_000},
                    "secondary_window": {"used_percent": 0, "limit_window_seconds": 604_800, "reset_at": "2026-05-11T15:16:00+00:00"}}}
            ],
            "credits": {"balance": "12.5"}
        });
        let snapshot = from_usage(&body, 100);
        let named: Vec<(String, f64, Option<i64>)> = snapshot
            .windows
            .iter()
            .map(|w| (w.name(), w.remaining_percent, w.reset_at))
            .collect();
        assert_eq!(
            named,
            vec![
                ("weekly".to_owned(), 84.0, Some(1_784_792_381)),
                ("GPT-5.3-Codex-Spark 5h".to_owned(), 100.0, Some(18_100)),
                (
                    "GPT-5.3-Codex-Spark weekly".to_owned(),
                    100.0,
                    Some(1_778_512_560)
                ),
            ]
        );
        assert_eq!(snapshot.credits_balance, Some(12.5));
    }
}
