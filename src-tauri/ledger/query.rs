//! Reading the ledger: totals grouped by client, session, model, day or hour since a moment,
//! with cache hit rates, window shares and each window's pace; and one session's totals (for
//! the status line). Sums are done by SQLite over the `at_ms` index; names are looked up once
//! per group.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::pace::{self, Pace, Point, cache_percent};
use super::{WindowKind, WindowObservation};

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum GroupBy {
    Client,
    Session,
    Model,
    Day,
    Hour,
}

impl GroupBy {
    /// Parses `client`, `session`, `model`, `day` or `hour`.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "client" => Self::Client,
            "session" => Self::Session,
            "model" => Self::Model,
            "day" => Self::Day,
            "hour" => Self::Hour,
            _ => return None,
        })
    }
}

/// Parses `5h`, `24h`, `7d`, `30d`, `90m` or a date `YYYY-MM-DD` (local midnight) into unix
/// milliseconds, relative to `now_ms`.
pub(crate) fn parse_since(text: &str, now_ms: i64) -> Option<i64> {
    let text = text.trim();
    if let Some((number, unit)) = text
        .char_indices()
        .last()
        .map(|(i, c)| (&text[..i], c.to_ascii_lowercase()))
        && let Ok(n) = number.parse::<i64>()
    {
        let unit_ms = match unit {
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return None,
        };
        return (n >= 0).then(|| now_ms - n * unit_ms);
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let midnight = date.and_hms_opt(0, 0, 0)?;
    let local = midnight.and_local_timezone(chrono::Local).earliest()?;
    Some(local.timestamp_millis())
}

/// Totals of a group of rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Totals {
    /// The group's name (client, session id, model, `2026-12-01`, `2026-12-01 14:00`); empty
    /// for the overall total, `(none)` for rows without one.
    pub key: String,
    pub requests: u64,
    pub input_tokens: u64,
    pub cached_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    /// Cached / input, in percent.
    pub cache_percent: Option<f64>,
    /// Percentage points of the 5h window attributed to the group.
    pub share_5h: f64,
    /// Percentage points of the weekly window attributed to the group.
    pub share_weekly: f64,
}

impl Totals {
    /// Input plus output tokens.
    pub(crate) fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// The answer of `codexia usage` and `GET /v1/usage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UsageReport {
    /// Unix milliseconds.
    pub since_ms: i64,
    pub by: Option<GroupBy>,
    pub groups: Vec<Totals>,
    pub total: Totals,
    /// Each window's latest observation, pace and forecast.
    pub windows: Vec<Pace>,
}

const SUMS: &str = "count(*), coalesce(sum(input_tokens), 0), coalesce(sum(cached_tokens), 0),
    coalesce(sum(output_tokens), 0), coalesce(sum(reasoning_tokens), 0),
    coalesce(sum(share_5h), 0.0), coalesce(sum(share_weekly), 0.0)";

/// The sums over [`source`]'s columns.
const SOURCE_SUMS: &str = "coalesce(sum(n), 0), coalesce(sum(i), 0), coalesce(sum(c), 0),
    coalesce(sum(o), 0), coalesce(sum(r), 0), coalesce(sum(s5), 0.0), coalesce(sum(sw), 0.0)";

/// The rows since `?1`, as columns `k` (the group key: `key_of_row` on a request,
/// `key_of_hour` on an hourly total), `n`, `i`, `c`, `o`, `r`, `s5`, `sw`: requests of the
/// first, partial hour one by one (`?1` to `?2`), whole hours from `usage_hours` (from hour
/// `?3`). Bind with [`source_params`].
fn source(key_of_row: &str, key_of_hour: &str) -> String {
    format!(
        "SELECT {key_of_row} AS k, 1 AS n, input_tokens AS i, cached_tokens AS c,
                output_tokens AS o, reasoning_tokens AS r, share_5h AS s5, share_weekly AS sw
         FROM requests WHERE at_ms >= ?1 AND at_ms < ?2
         UNION ALL
         SELECT {key_of_hour}, requests, input_tokens, cached_tokens, output_tokens,
                reasoning_tokens, share_5h, share_weekly
         FROM usage_hours WHERE hour >= ?3"
    )
}

fn source_params(since_ms: i64) -> [i64; 3] {
    let first_whole_hour =
        since_ms.div_euclid(3_600_000) + i64::from(since_ms.rem_euclid(3_600_000) != 0);
    [since_ms, first_whole_hour * 3_600_000, first_whole_hour]
}

fn totals_from(row: &rusqlite::Row<'_>, offset: usize, key: String) -> rusqlite::Result<Totals> {
    let count = |i: usize| -> rusqlite::Result<u64> {
        Ok(u64::try_from(row.get::<_, i64>(offset + i)?).unwrap_or(0))
    };
    let input = count(1)?;
    let cached = count(2)?;
    Ok(Totals {
        key,
        requests: count(0)?,
        input_tokens: input,
        cached_tokens: cached,
        output_tokens: count(3)?,
        reasoning_tokens: count(4)?,
        cache_percent: cache_percent(cached, input),
        share_5h: row.get(offset + 5)?,
        share_weekly: row.get(offset + 6)?,
    })
}

/// The usage since `since_ms`, grouped by `by`; `utc_offset_seconds` places day and hour
/// boundaries in local time.
pub(crate) fn report(
    conn: &Connection,
    since_ms: i64,
    by: Option<GroupBy>,
    now_ms: i64,
    utc_offset_seconds: i64,
) -> rusqlite::Result<UsageReport> {
    let total = conn.query_row(
        &format!("SELECT {SOURCE_SUMS} FROM ({})", source("0", "0")),
        source_params(since_ms),
        |r| totals_from(r, 0, String::new()),
    )?;
    let groups = match by {
        None => Vec::new(),
        Some(by) => grouped(conn, since_ms, by, utc_offset_seconds)?,
    };
    let windows = WindowKind::ALL
        .into_iter()
        .filter_map(|window| window_pace(conn, window, now_ms).transpose())
        .collect::<rusqlite::Result<_>>()?;
    Ok(UsageReport {
        since_ms,
        by,
        groups,
        total,
        windows,
    })
}

fn grouped(
    conn: &Connection,
    since_ms: i64,
    by: GroupBy,
    offset: i64,
) -> rusqlite::Result<Vec<Totals>> {
    // Day and hour buckets of an hourly total: its hour's start in local time.
    let (of_row, of_hour) = match by {
        GroupBy::Client => ("client".to_owned(), "client".to_owned()),
        GroupBy::Session => ("coalesce(session, 0)".to_owned(), "session".to_owned()),
        GroupBy::Model => (
            "coalesce(model_served, model_asked, 0)".to_owned(),
            "model".to_owned(),
        ),
        GroupBy::Day => (
            format!("(at_ms / 1000 + {offset}) / 86400"),
            format!("(hour * 3600 + {offset}) / 86400"),
        ),
        GroupBy::Hour => (
            format!("(at_ms / 1000 + {offset}) / 3600"),
            format!("(hour * 3600 + {offset}) / 3600"),
        ),
    };
    let mut statement = conn.prepare(&format!(
        "SELECT k, {SOURCE_SUMS} FROM ({}) GROUP BY k",
        source(&of_row, &of_hour)
    ))?;
    let rows = statement.query_map(source_params(since_ms), |r| {
        let key: Option<i64> = r.get(0)?;
        // 0 is "none" for names (ids start at 1); day and hour numbers are never 0 here.
        let key = key.filter(|k| *k != 0 || matches!(by, GroupBy::Day | GroupBy::Hour));
        Ok((key, totals_from(r, 1, String::new())?))
    })?;
    let mut names = HashMap::new();
    let mut groups = Vec::new();
    for row in rows {
        let (key, mut totals) = row?;
        totals.key = match (by, key) {
            (_, None) => "(none)".to_owned(),
            (GroupBy::Day, Some(day)) => bucket_label(day * 86_400 - offset, "%Y-%m-%d"),
            (GroupBy::Hour, Some(hour)) => bucket_label(hour * 3600 - offset, "%Y-%m-%d %H:00"),
            (_, Some(id)) => name(conn, &mut names, id)?,
        };
        groups.push(totals);
    }
    match by {
        GroupBy::Day | GroupBy::Hour => groups.sort_by(|a, b| a.key.cmp(&b.key)),
        _ => groups.sort_by(|a, b| b.tokens().cmp(&a.tokens()).then(a.key.cmp(&b.key))),
    }
    Ok(groups)
}

fn bucket_label(unix_utc: i64, format: &str) -> String {
    // `unix_utc` is the bucket's start in UTC seconds shifted by the offset used to build it,
    // so formatting it with the same offset gives local wall time.
    chrono::DateTime::from_timestamp(unix_utc, 0)
        .map(|t| t.with_timezone(&chrono::Local).format(format).to_string())
        .unwrap_or_default()
}

fn name(conn: &Connection, cache: &mut HashMap<i64, String>, id: i64) -> rusqlite::Result<String> {
    if let Some(text) = cache.get(&id) {
        return Ok(text.clone());
    }
    let text: String =
        conn.query_row("SELECT text FROM names WHERE id = ?1", [id], |r| r.get(0))?;
    cache.insert(id, text.clone());
    Ok(text)
}

fn columns(window: WindowKind) -> (&'static str, &'static str) {
    match window {
        WindowKind::FiveHour => ("used_5h", "reset_5h"),
        WindowKind::Weekly => ("used_weekly", "reset_weekly"),
    }
}

/// The window's observations of the last hour of use (ending at its latest one), oldest first.
pub(crate) fn window_points(conn: &Connection, window: WindowKind) -> rusqlite::Result<Vec<Point>> {
    let (used, reset) = columns(window);
    let latest: Option<i64> = conn
        .query_row(
            &format!(
                "SELECT at_ms FROM requests WHERE {used} IS NOT NULL ORDER BY at_ms DESC LIMIT 1"
            ),
            [],
            |r| r.get(0),
        )
        .optional()?;
    let Some(latest) = latest else {
        return Ok(Vec::new());
    };
    let mut statement = conn.prepare(&format!(
        "SELECT at_ms, {used}, {reset} FROM requests
         WHERE at_ms >= ?1 AND {used} IS NOT NULL ORDER BY at_ms"
    ))?;
    let points = statement
        .query_map(params![latest - pace::RATE_WINDOW_SECONDS * 1000], |r| {
            Ok(Point {
                at: r.get::<_, i64>(0)? / 1000,
                observed: WindowObservation {
                    used_percent: r.get(1)?,
                    reset_at: r.get(2)?,
                },
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(points)
}

fn window_pace(
    conn: &Connection,
    window: WindowKind,
    now_ms: i64,
) -> rusqlite::Result<Option<Pace>> {
    let points = window_points(conn, window)?;
    Ok(pace::pace(window, &points, now_ms / 1000))
}

/// [`report`] on the database at `path` (read-only); an empty report when there is none yet.
pub(crate) fn report_from_file(
    path: &std::path::Path,
    since_ms: i64,
    by: Option<GroupBy>,
    now_ms: i64,
) -> Result<UsageReport, super::schema::SchemaError> {
    let offset = i64::from(chrono::Local::now().offset().local_minus_utc());
    let sqlite = |source| super::schema::SchemaError::Sqlite {
        path: path.to_owned(),
        source,
    };
    match super::schema::open_read_only(path)? {
        Some(conn) => report(&conn, since_ms, by, now_ms, offset).map_err(sqlite),
        None => Ok(UsageReport {
            since_ms,
            by,
            groups: Vec::new(),
            total: Totals::default(),
            windows: Vec::new(),
        }),
    }
}

/// The newest observation of each window (5h, weekly).
pub(crate) fn latest_windows(
    conn: &Connection,
) -> rusqlite::Result<[Option<WindowObservation>; 2]> {
    let mut out = [None, None];
    for (slot, window) in out.iter_mut().zip(WindowKind::ALL) {
        let (used, reset) = columns(window);
        *slot = conn
            .query_row(
                &format!(
                    "SELECT {used}, {reset} FROM requests WHERE {used} IS NOT NULL
                     ORDER BY at_ms DESC LIMIT 1"
                ),
                [],
                |r| {
                    Ok(WindowObservation {
                        used_percent: r.get(0)?,
                        reset_at: r.get(1)?,
                    })
                },
            )
            .optional()?;
    }
    Ok(out)
}

/// The model that served a session's latest request.
pub(crate) fn session_model(conn: &Connection, session: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT m.text FROM requests r JOIN names s ON s.id = r.session
         JOIN names m ON m.id = r.model_served
         WHERE s.text = ?1 ORDER BY r.at_ms DESC LIMIT 1",
        [session],
        |r| r.get(0),
    )
    .optional()
}

/// Tokens (input + output) of one client on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DayTokens {
    /// `2026-12-01`.
    pub day: String,
    pub client: String,
    pub tokens: u64,
}

/// The highest used percent of each window in one hour (resets show as drops).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WindowHour {
    /// Unix seconds of the hour's start.
    pub at: i64,
    pub used_5h: Option<f64>,
    pub used_weekly: Option<f64>,
}

/// Tokens per local day and client since `since_ms`, oldest day first.
pub(crate) fn tokens_per_day(
    conn: &Connection,
    since_ms: i64,
    offset: i64,
) -> rusqlite::Result<Vec<DayTokens>> {
    // The group key packs the day and the client id: day × 2^32 + client.
    let mut statement = conn.prepare(&format!(
        "SELECT k >> 32, k & 4294967295, coalesce(sum(i + o), 0) FROM ({}) GROUP BY k ORDER BY k",
        source(
            &format!("(((at_ms / 1000 + {offset}) / 86400) << 32) + client"),
            &format!("(((hour * 3600 + {offset}) / 86400) << 32) + client"),
        )
    ))?;
    let rows = statement
        .query_map(source_params(since_ms), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut names = HashMap::new();
    rows.into_iter()
        .map(|(day, client, tokens)| {
            Ok(DayTokens {
                day: bucket_label(day * 86_400 - offset, "%Y-%m-%d"),
                client: name(conn, &mut names, client)?,
                tokens: u64::try_from(tokens).unwrap_or(0),
            })
        })
        .collect()
}

/// Each window's used percent per hour since `since_ms`, oldest first.
pub(crate) fn window_history(
    conn: &Connection,
    since_ms: i64,
) -> rusqlite::Result<Vec<WindowHour>> {
    let mut statement = conn.prepare(
        "SELECT at_ms / 3600000, max(used_5h), max(used_weekly) FROM requests
         WHERE at_ms >= ?1 AND (used_5h IS NOT NULL OR used_weekly IS NOT NULL)
         GROUP BY 1 ORDER BY 1",
    )?;
    statement
        .query_map([since_ms], |r| {
            Ok(WindowHour {
                at: r.get::<_, i64>(0)? * 3600,
                used_5h: r.get(1)?,
                used_weekly: r.get(2)?,
            })
        })?
        .collect()
}

/// What the Settings window's Usage page shows: 30 days of tokens per day and client, 7 days
/// of window history, and the 30-day report grouped by `by`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct UsagePage {
    pub days: Vec<DayTokens>,
    pub windows: Vec<WindowHour>,
    pub report: UsageReport,
}

/// [`UsagePage`] from the database at `path` (empty when there is none yet).
#[cfg_attr(
    not(feature = "tray"),
    expect(dead_code, reason = "the tray's Usage page shows it")
)]
pub(crate) fn usage_page_from_file(
    path: &std::path::Path,
    by: GroupBy,
    now_ms: i64,
) -> Result<UsagePage, super::schema::SchemaError> {
    let offset = i64::from(chrono::Local::now().offset().local_minus_utc());
    let since_30d = now_ms - 30 * 86_400_000;
    let report = report_from_file(path, since_30d, Some(by), now_ms)?;
    let sqlite = |source| super::schema::SchemaError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let (days, windows) = match super::schema::open_read_only(path)? {
        Some(conn) => (
            tokens_per_day(&conn, since_30d, offset).map_err(sqlite)?,
            window_history(&conn, now_ms - 7 * 86_400_000).map_err(sqlite)?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(UsagePage {
        days,
        windows,
        report,
    })
}

/// One session's totals (all time).
pub(crate) fn session_totals(conn: &Connection, session: &str) -> rusqlite::Result<Option<Totals>> {
    let id: Option<i64> = conn
        .query_row("SELECT id FROM names WHERE text = ?1", [session], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    conn.query_row(
        &format!("SELECT {SUMS} FROM requests WHERE session = ?1"),
        [id],
        |r| totals_from(r, 0, session.to_owned()),
    )
    .map(Some)
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::super::writer::Store;
    use super::super::{Row, WindowObservation};
    use super::*;

    fn row(
        at_ms: i64,
        client: &str,
        session: Option<&str>,
        input: u64,
        cached: u64,
        used: f64,
    ) -> Row {
        Row {
            at_ms,
            route: "POST /v1/messages".into(),
            client: client.into(),
            session: session.map(str::to_owned),
            model_served: Some("gpt-5.5".into()),
            input_tokens: input,
            cached_tokens: cached,
            output_tokens: 10,
            outcome: "ok".into(),
            five_hour: Some(WindowObservation {
                used_percent: used,
                reset_at: Some(18_000),
            }),
            ..Row::default()
        }
    }

    #[test]
    fn groups_add_up_to_the_total_with_cache_rates_and_shares() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let (mut store, _) = Store::open(&path).unwrap();
        store
            .insert(&[
                row(1_000, "a", Some("s1"), 100, 50, 10.0),
                row(2_000, "b", None, 200, 0, 12.0),
                row(3_000, "a", Some("s2"), 300, 300, 15.0),
            ])
            .unwrap();
        drop(store);
        let conn = super::super::schema::open_read_only(&path)
            .unwrap()
            .unwrap();
        let report = report(&conn, 0, Some(GroupBy::Client), 3_000, 0).unwrap();
        let keys: Vec<_> = report
            .groups
            .iter()
            .map(|g| (g.key.as_str(), g.requests))
            .collect();
        assert_eq!(keys, [("a", 2), ("b", 1)]);
        let a = &report.groups[0];
        assert_eq!((a.input_tokens, a.cached_tokens), (400, 350));
        assert_eq!(a.cache_percent, Some(87.5));
        assert!((a.share_5h - 3.0).abs() < 1e-9 && (report.groups[1].share_5h - 2.0).abs() < 1e-9);
        assert_eq!(report.total.requests, 3);
        assert!((report.total.share_5h - 5.0).abs() < 1e-9);
        let sessions = super::report(&conn, 0, Some(GroupBy::Session), 3_000, 0).unwrap();
        let keys: Vec<_> = sessions.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["s2", "(none)", "s1"]);
        assert_eq!(
            session_totals(&conn, "s1").unwrap().unwrap().input_tokens,
            100
        );
        assert!((report.windows[0].used_percent - 15.0).abs() < 1e-9);
        let days = tokens_per_day(&conn, 0, 0).unwrap();
        assert_eq!(
            days.iter()
                .map(|d| (d.client.as_str(), d.tokens))
                .collect::<Vec<_>>(),
            [("a", 420), ("b", 210)]
        );
        let hours = window_history(&conn, 0).unwrap();
        assert_eq!(hours.len(), 1);
        assert_eq!(hours[0].used_5h, Some(15.0));
        // Since the second request only.
        assert_eq!(
            super::report(&conn, 2_000, None, 3_000, 0)
                .unwrap()
                .total
                .requests,
            2
        );
    }

    #[test]
    fn hourly_totals_give_the_same_sums_as_the_requests_from_any_moment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let (mut store, _) = Store::open(&path).unwrap();
        let hour = 3_600_000;
        let mut rows = Vec::new();
        for i in 0..40_i64 {
            let client = ["a", "b", "c"][usize::try_from(i % 3).unwrap()];
            let session = (i % 4 != 0).then_some("s");
            let mut r = row(
                i * hour / 7,
                client,
                session,
                100 + u64::try_from(i).unwrap(),
                10,
                0.0,
            );
            // Every third answer carries no observation: its share arrives with a later row.
            r.five_hour = (i % 3 != 1).then(|| WindowObservation {
                used_percent: f64::from(u32::try_from(i).unwrap()) * 0.5,
                reset_at: Some(18_000),
            });
            rows.push(r);
        }
        // Two batches, so that some shares reach rows of an earlier transaction.
        store.insert(&rows[..17]).unwrap();
        store.insert(&rows[17..]).unwrap();
        drop(store);
        let conn = super::super::schema::open_read_only(&path)
            .unwrap()
            .unwrap();
        for since in [0, hour / 2, hour, 2 * hour + 1, 5 * hour - 1] {
            let raw = conn
                .query_row(
                    &format!("SELECT {SUMS} FROM requests WHERE at_ms >= ?1"),
                    [since],
                    |r| totals_from(r, 0, String::new()),
                )
                .unwrap();
            let got = report(&conn, since, Some(GroupBy::Session), since, 0).unwrap();
            assert_eq!(
                (
                    got.total.requests,
                    got.total.input_tokens,
                    got.total.cached_tokens
                ),
                (raw.requests, raw.input_tokens, raw.cached_tokens),
                "since {since}"
            );
            assert!(
                (got.total.share_5h - raw.share_5h).abs() < 1e-9,
                "since {since}"
            );
            let grouped: u64 = got.groups.iter().map(|g| g.requests).sum();
            assert_eq!(grouped, raw.requests, "since {since}");
            let shares: f64 = got.groups.iter().map(|g| g.share_5h).sum();
            assert!((shares - raw.share_5h).abs() < 1e-9, "since {since}");
        }
    }

    #[test]
    fn since_accepts_durations_and_dates() {
        let now = 100 * 86_400_000;
        assert_eq!(parse_since("5h", now), Some(now - 5 * 3_600_000));
        assert_eq!(parse_since("30d", now), Some(now - 30 * 86_400_000));
        assert_eq!(parse_since("90m", now), Some(now - 90 * 60_000));
        assert!(parse_since("2026-11-30", now).is_some());
        assert_eq!(parse_since("soon", now), None);
        assert_eq!(parse_since("5x", now), None);
    }
}
