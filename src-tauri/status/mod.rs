//! The status JSON (docs/compatibility.md §11), served by `GET /v1/status` and printed by
//! `codexia status --json`, and its readable form.
//!
//! [`collect`] does the I/O (credentials, `accounts/check` and `wham/usage` side by side);
//! [`build`] is a pure function of what they returned, the live header snapshot, `now` and a
//! time zone. A part that could not be fetched is `null` with a sentence in `warnings`; a failed
//! usage call gives `rate_limits: []` (or, in a gateway, the windows of the last backend answer)
//! plus a warning, never an error.

use std::collections::HashMap;

use chrono::{TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::manager::AccountAuth;
use crate::auth::{AuthError, AuthManager, AuthSnapshot, Credentials};
use crate::upstream::UpstreamClient;
use crate::upstream::client::UpstreamError;
pub(crate) use crate::upstream::rate_limits::countdown;
use crate::upstream::rate_limits::{self, RateLimitSnapshot};

/// `%Y-%m-%d %H:%M:%S %:z`, e.g. `2026-05-05 12:15:07 +08:00`.
pub(crate) const LOCAL_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S %:z";

/// The whole status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatusReport {
    pub account_id: Option<String>,
    pub token: Option<TokenStatus>,
    pub account: Option<AccountStatus>,
    pub credits_balance: Option<f64>,
    pub rate_limits: Vec<RateLimitStatus>,
    pub warnings: Vec<String>,
    /// Every signed-in account with its windows (issue 18); the fields above describe the
    /// active one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSummary>,
}

/// One signed-in account in the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AccountSummary {
    /// The short name (`x-codexia-account`).
    pub name: String,
    pub account_id: String,
    pub email: Option<String>,
    pub plan: Option<String>,
    /// Serves requests by default.
    pub active: bool,
    /// Has usable credentials (false: not signed in, or must sign in again).
    pub signed_in: bool,
    pub rate_limits: Vec<RateLimitStatus>,
    pub warnings: Vec<String>,
}

/// The access token's expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TokenStatus {
    pub expires_at: i64,
    /// Negative once expired.
    pub remaining_seconds: i64,
    pub expires_at_local: Option<String>,
}

/// The account and subscription (`accounts/check`, email and plan filled from usage/JWT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountStatus {
    pub name: Option<String>,
    pub email: Option<String>,
    pub structure: Option<String>,
    pub plan: Option<String>,
    pub has_active_subscription: Option<bool>,
    pub subscription_expires_at: Option<String>,
    pub subscription_expires_at_local: Option<String>,
    pub subscription_remaining_seconds: Option<i64>,
}

/// One rate-limit window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RateLimitStatus {
    pub name: String,
    pub remaining_percent: f64,
    /// Unix seconds as a string (docs/compatibility.md §11).
    pub reset_at: Option<String>,
    pub reset_at_local: Option<String>,
    pub reset_in_seconds: Option<i64>,
}

/// What the two backend calls returned (an error is a sentence for `warnings`).
#[derive(Debug, Clone)]
#[expect(
    clippy::struct_field_names,
    reason = "`fetched_at` says when the other two were fetched"
)]
pub(crate) struct Fetched {
    pub account: Result<Value, String>,
    pub usage: Result<Value, String>,
    /// Unix seconds of the calls; live headers observed later take precedence.
    pub fetched_at: i64,
}

fn local_time<Tz: TimeZone>(unix: i64, tz: &Tz) -> Option<String>
where
    Tz::Offset: std::fmt::Display,
{
    let utc = chrono::DateTime::<Utc>::from_timestamp(unix, 0)?;
    Some(utc.with_timezone(tz).format(LOCAL_TIME_FORMAT).to_string())
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The status when no usable credentials exist (not signed in, or must sign in again).
pub(crate) fn build_unavailable(snapshot: &AuthSnapshot, error: &AuthError) -> StatusReport {
    let account_id = match snapshot {
        AuthSnapshot::SignedIn(c) => Some(c.account_id.clone()),
        AuthSnapshot::SignInAgain { account_id, .. } => Some(account_id.clone()),
        _ => None,
    }
    .filter(|id| !id.is_empty());
    StatusReport {
        account_id,
        token: None,
        account: None,
        credits_balance: None,
        rate_limits: Vec::new(),
        accounts: Vec::new(),
        warnings: vec![error.to_string()],
    }
}

fn account_status<Tz: TimeZone>(
    entry: &Value,
    usage: Option<&Value>,
    claims: &crate::auth::jwt::TokenClaims,
    now: i64,
    tz: &Tz,
) -> AccountStatus
where
    Tz::Offset: std::fmt::Display,
{
    let expires_unix = entry
        .pointer("/entitlement/expires_at")
        .and_then(rate_limits::parse_time);
    AccountStatus {
        name: text(entry.pointer("/account/name")),
        // The real accounts/check has no email (docs/protocol.md §9): usage, then the token.
        email: text(entry.get("email"))
            .or_else(|| usage.and_then(|u| text(u.get("email"))))
            .or_else(|| claims.email.clone()),
        structure: text(entry.pointer("/account/structure")),
        plan: text(entry.pointer("/entitlement/subscription_plan"))
            .or_else(|| text(entry.pointer("/account/plan_type")))
            .or_else(|| usage.and_then(|u| text(u.get("plan_type"))))
            .or_else(|| claims.plan.clone()),
        has_active_subscription: entry
            .pointer("/entitlement/has_active_subscription")
            .and_then(Value::as_bool),
        subscription_expires_at: text(entry.pointer("/entitlement/expires_at")),
        subscription_expires_at_local: expires_unix.and_then(|t| local_time(t, tz)),
        subscription_remaining_seconds: expires_unix.map(|t| t - now),
    }
}

/// Builds the status from what was fetched.
pub(crate) fn build<Tz: TimeZone>(
    credentials: &Credentials,
    fetched: &Fetched,
    live: Option<&RateLimitSnapshot>,
    now: i64,
    tz: &Tz,
) -> StatusReport
where
    Tz::Offset: std::fmt::Display,
{
    let mut warnings = Vec::new();
    let claims = credentials.claims();
    let token = TokenStatus {
        expires_at: credentials.expires_at,
        remaining_seconds: credentials.remaining_seconds(now),
        expires_at_local: local_time(credentials.expires_at, tz),
    };

    let usage = match &fetched.usage {
        Ok(body) => Some(body),
        Err(err) => {
            warnings.push(match live {
                Some(snapshot) => format!(
                    "The rate limits could not be fetched ({err}); showing those of the last backend answer, {} ago.",
                    countdown(now - snapshot.observed_at)
                ),
                None => format!(
                    "The rate limits could not be fetched: {}.",
                    err.trim_end_matches('.')
                ),
            });
            None
        }
    };
    let usage_limits = usage.map(|body| rate_limits::from_usage(body, now));

    let account = match &fetched.account {
        Ok(body) => {
            let entry = body
                .pointer("/accounts/default")
                .or_else(|| body.get("accounts")?.get(&credentials.account_id));
            if let Some(entry) = entry {
                Some(account_status(entry, usage, &claims, now, tz))
            } else {
                warnings.push(
                    "The account details could not be read: the answer has no default account."
                        .to_owned(),
                );
                None
            }
        }
        Err(err) => {
            warnings.push(format!(
                "The account details could not be fetched: {}.",
                err.trim_end_matches('.')
            ));
            None
        }
    };

    let windows = match (&usage_limits, live) {
        // Headers seen after the usage call (or in the same second) are at least as new: they
        // replace the windows they name.
        (Some(limits), Some(snapshot)) if snapshot.observed_at >= fetched.fetched_at => {
            merge_windows(&limits.windows, &snapshot.windows)
        }
        (Some(limits), _) => limits.windows.clone(),
        (None, Some(snapshot)) => snapshot.windows.clone(),
        (None, None) => Vec::new(),
    };
    if usage_limits.as_ref().is_some_and(|l| l.windows.is_empty()) {
        warnings.push("The usage answer did not include any rate-limit window.".to_owned());
    }
    let rate_limits = windows
        .iter()
        .map(|window| RateLimitStatus {
            name: window.name(),
            remaining_percent: window.remaining_percent,
            reset_at: window.reset_at.map(|t| t.to_string()),
            reset_at_local: window.reset_at.and_then(|t| local_time(t, tz)),
            reset_in_seconds: window.reset_at.map(|t| t - now),
        })
        .collect();
    let credits_balance = usage_limits
        .as_ref()
        .and_then(|l| l.credits_balance)
        .or_else(|| {
            usage_limits
                .is_none()
                .then(|| live.and_then(|l| l.credits_balance))
                .flatten()
        });

    StatusReport {
        account_id: Some(credentials.account_id.clone()).filter(|id| !id.is_empty()),
        token: Some(token),
        account,
        credits_balance,
        rate_limits,
        warnings,
        accounts: Vec::new(),
    }
}

fn describe(err: &UpstreamError) -> String {
    match err {
        UpstreamError::Status {
            status, message, ..
        } => format!("the backend answered {}: {message}", status.as_u16()),
        other @ (UpstreamError::Unreachable { .. } | UpstreamError::ProxyUnreachable { .. }) => {
            other.to_string()
        }
    }
}

async fn fetch(upstream: &UpstreamClient, credentials: &Credentials) -> (Fetched, bool) {
    let account_url = upstream.account_url();
    let usage_url = upstream.usage_url();
    let (account, usage) = tokio::join!(
        upstream.get_json(&account_url, credentials.backend_auth()),
        upstream.get_json(&usage_url, credentials.backend_auth()),
    );
    let unauthorized = |r: &Result<(Value, _), UpstreamError>| matches!(r, Err(UpstreamError::Status { status, .. }) if *status == reqwest::StatusCode::UNAUTHORIZED);
    let refused = unauthorized(&account) || unauthorized(&usage);
    (
        Fetched {
            account: account.map(|(v, _)| v).map_err(|e| describe(&e)),
            usage: usage.map(|(v, _)| v).map_err(|e| describe(&e)),
            fetched_at: Utc::now().timestamp(),
        },
        refused,
    )
}

/// `usage` windows, each replaced by the `live` window of the same name; live windows the usage
/// answer did not have are added.
fn merge_windows(
    usage: &[rate_limits::LimitWindow],
    live: &[rate_limits::LimitWindow],
) -> Vec<rate_limits::LimitWindow> {
    let mut merged: Vec<rate_limits::LimitWindow> = usage
        .iter()
        .map(|window| {
            live.iter()
                .find(|l| l.name() == window.name())
                .cloned()
                .unwrap_or_else(|| window.clone())
        })
        .collect();
    for window in live {
        if !merged.iter().any(|m| m.name() == window.name()) {
            merged.push(window.clone());
        }
    }
    merged
}

/// The account and usage answers of the last few minutes per account, shared by the requests
/// of a gateway so that `/v1/status` (polled by the tray) calls the backend at most every
/// [`CACHE_SECONDS`] for each account.
#[derive(Debug, Default)]
pub(crate) struct StatusCache(tokio::sync::Mutex<HashMap<String, Fetched>>);

/// The gateway's latest live rate limits and the id of the account whose answer carried them:
/// they are merged only into that account's report.
pub(crate) type LiveLimits<'a> = (&'a str, &'a RateLimitSnapshot);

/// How long fetched account and usage answers are reused.
pub(crate) const CACHE_SECONDS: i64 = 180;

/// [`collect`] for the active account plus every account's summary ([`collect_accounts`]),
/// reusing answers younger than [`CACHE_SECONDS`].
pub(crate) async fn collect_cached(
    auth: &AuthManager,
    upstream: &UpstreamClient,
    live: Option<LiveLimits<'_>>,
    cache: &StatusCache,
) -> StatusReport {
    let mut report = match auth.active().await {
        Ok(account) => collect_account(&account, upstream, live, Some(cache)).await,
        Err(err) => build_unavailable(&auth.snapshot(), &err),
    };
    report.accounts = collect_accounts(auth, upstream, live, Some(cache)).await;
    report
}

/// One account's status, reusing a cached answer when given a cache. `live` is the gateway's
/// latest rate-limit snapshot, merged only when this account's answer carried it.
async fn collect_account(
    auth: &AccountAuth,
    upstream: &UpstreamClient,
    live: Option<LiveLimits<'_>>,
    cache: Option<&StatusCache>,
) -> StatusReport {
    let credentials = match auth.credentials().await {
        Ok(credentials) => credentials,
        Err(err) => return build_unavailable(&auth.snapshot(), &err),
    };
    let live = live
        .filter(|(account_id, _)| *account_id == credentials.account_id)
        .map(|(_, snapshot)| snapshot);
    let now = Utc::now().timestamp();
    if let Some(cache) = cache {
        let cached = cache.0.lock().await;
        if let Some(fetched) = cached.get(&credentials.account_id)
            && now - fetched.fetched_at < CACHE_SECONDS
            && fetched.usage.is_ok()
            && fetched.account.is_ok()
        {
            return build(&credentials, fetched, live, now, &chrono::Local);
        }
    }
    let (credentials, fetched) = match fetch_with_retry(auth, upstream, credentials).await {
        Ok(pair) => pair,
        Err(report) => return *report,
    };
    let report = build(
        &credentials,
        &fetched,
        live,
        Utc::now().timestamp(),
        &chrono::Local,
    );
    if let Some(cache) = cache {
        cache
            .0
            .lock()
            .await
            .insert(credentials.account_id.clone(), fetched);
    }
    report
}

/// Every signed-in account with its windows (empty when the account list cannot be read).
pub(crate) async fn collect_accounts(
    auth: &AuthManager,
    upstream: &UpstreamClient,
    live: Option<LiveLimits<'_>>,
    cache: Option<&StatusCache>,
) -> Vec<AccountSummary> {
    let Ok(listed) = auth.list().await else {
        return Vec::new();
    };
    let mut summaries = Vec::with_capacity(listed.len());
    for account in listed {
        let Ok((_, handle)) = auth.account(Some(&account.entry.id)).await else {
            continue;
        };
        let report = collect_account(&handle, upstream, live, cache).await;
        let entry = account.entry;
        let details = report.account.as_ref();
        summaries.push(AccountSummary {
            email: details.and_then(|a| a.email.clone()).or(entry.email),
            // The token's plan type (`plus`, `team`), as `codexia login` prints it.
            plan: entry.plan.or_else(|| details.and_then(|a| a.plan.clone())),
            name: entry.name,
            account_id: entry.id,
            active: account.active,
            signed_in: report.token.is_some(),
            rate_limits: report.rate_limits,
            warnings: report.warnings,
        });
    }
    summaries
}

/// Fetches, refreshing the token once after a 401.
async fn fetch_with_retry(
    auth: &AccountAuth,
    upstream: &UpstreamClient,
    mut credentials: Credentials,
) -> Result<(Credentials, Fetched), Box<StatusReport>> {
    let (mut fetched, refused) = fetch(upstream, &credentials).await;
    if refused {
        match auth
            .refresh_after_unauthorized(&credentials.access_token)
            .await
        {
            Ok(fresh) => {
                credentials = fresh;
                fetched = fetch(upstream, &credentials).await.0;
            }
            Err(err) if err.needs_sign_in() => {
                return Err(Box::new(build_unavailable(&auth.snapshot(), &err)));
            }
            Err(_) => {}
        }
    }
    Ok((credentials, fetched))
}

/// Collects the status of the active account (fresh credentials, then the account and usage
/// calls side by side; after a 401 the token is refreshed once and the calls are made again),
/// with every account's summary.
pub(crate) async fn collect(
    auth: &AuthManager,
    upstream: &UpstreamClient,
    live: Option<LiveLimits<'_>>,
) -> StatusReport {
    // One call per account: the active account's answers are reused for its summary.
    let cache = StatusCache::default();
    let mut report = match auth.active().await {
        Ok(account) => collect_account(&account, upstream, live, Some(&cache)).await,
        Err(err) => build_unavailable(&auth.snapshot(), &err),
    };
    report.accounts = collect_accounts(auth, upstream, live, Some(&cache)).await;
    report
}

fn percent(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}%")
    } else {
        format!("{value:.1}%")
    }
}

/// The readable form: one line per fact, limits as `5h      97% left   resets in 2h 24m`.
pub(crate) fn render_text(report: &StatusReport) -> Vec<String> {
    let mut lines = Vec::new();
    let label = |name: &str, value: String| format!("{name:<9} {value}");
    if let Some(account) = &report.account {
        let who = account.email.clone().unwrap_or_else(|| "(no email)".into());
        let plan = account
            .plan
            .as_deref()
            .map(|p| format!(" · {p}"))
            .unwrap_or_default();
        lines.push(label("Account", format!("{who}{plan}")));
    }
    if let Some(id) = &report.account_id {
        lines.push(label("Account ID", id.clone()));
    }
    if let Some(token) = &report.token {
        let when = token.expires_at_local.clone().unwrap_or_default();
        let text = if token.remaining_seconds > 0 {
            format!("expires in {} ({when})", countdown(token.remaining_seconds))
        } else {
            format!("expired ({when}); it is refreshed on the next request")
        };
        lines.push(label("Token", text));
    }
    if let Some(account) = &report.account
        && let Some(remaining) = account.subscription_remaining_seconds
    {
        let active = match account.has_active_subscription {
            Some(false) => "inactive, ",
            _ => "",
        };
        lines.push(label(
            "Renews",
            format!(
                "{active}in {} ({})",
                countdown(remaining),
                account
                    .subscription_expires_at_local
                    .clone()
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(balance) = report.credits_balance {
        lines.push(label("Credits", format!("{balance}")));
    }
    let width = report
        .rate_limits
        .iter()
        .map(|w| w.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    for window in &report.rate_limits {
        let left = format!("{} left", percent(window.remaining_percent));
        let resets = window
            .reset_in_seconds
            .map(|s| format!("resets in {}", countdown(s)))
            .unwrap_or_default();
        lines.push(
            format!("{:<width$} {left:<9}  {resets}", window.name)
                .trim_end()
                .to_owned(),
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    const NOW: i64 = 1_777_288_606;

    fn credentials() -> Credentials {
        Credentials {
            access_token: "not-a-jwt".into(),
            refresh_token: "r".into(),
            id_token: String::new(),
            expires_at: 1_778_098_507,
            account_id: "acc_123".into(),
        }
    }

    fn account_body() -> Value {
        json!({"accounts": {"default": {
            "account": {"name": "Personal", "structure": "personal", "plan_type": "pro"},
            "entitlement": {"has_active_subscription": true, "subscription_plan": "chatgptpro",
                            "expires_at": "2026-05-11T15:16:00+00:00"}}}})
    }

    fn usage_body() -> Value {
        json!({
            "email": "user@example.com", "plan_type": "pro",
            "rate_limit": {
                "primary_window": {"used_percent": 3, "limit_window_seconds": 18_000, "reset_at": 1_777_297_264},
                "secondary_window": {"used_percent": 32, "limit_window_seconds": 604_800, "reset_at": 1_777_400_385}},
            "credits": {"balance": "0"}})
    }

    #[test]
    fn the_readme_example_is_reproduced() {
        let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let fetched = Fetched {
            account: Ok(account_body()),
            usage: Ok(usage_body()),
            fetched_at: NOW - 60,
        };
        let report = build(&credentials(), &fetched, None, NOW, &tz);
        assert_eq!(
            serde_json::to_value(&report).unwrap(),
            json!({
                "account_id": "acc_123",
                "token": {"expires_at": 1_778_098_507, "remaining_seconds": 809_901, "expires_at_local": "2026-05-07 04:15:07 +08:00"},
                "account": {"name": "Personal", "email": "user@example.com", "structure": "personal", "plan": "chatgptpro",
                            "has_active_subscription": true, "subscription_expires_at": "2026-05-11T15:16:00+00:00",
                            "subscription_expires_at_local": "2026-05-11 23:16:00 +08:00", "subscription_remaining_seconds": 1_223_954},
                "credits_balance": 0.0,
                "rate_limits": [
                    {"name": "5h", "remaining_percent": 97.0, "reset_at": "1777297264", "reset_at_local": "2026-04-27 21:41:04 +08:00", "reset_in_seconds": 8658},
                    {"name": "weekly", "remaining_percent": 68.0, "reset_at": "1777400385", "reset_at_local": "2026-04-29 02:19:45 +08:00", "reset_in_seconds": 111_779}
                ],
                "warnings": []
            })
        );
        assert_eq!(
            render_text(&report)[5..],
            [
                "5h      97% left   resets in 2h 24m",
                "weekly  68% left   resets in 1d 7h"
            ]
        );
    }

    #[test]
    fn failed_parts_are_null_with_a_warning() {
        let fetched = Fetched {
            account: Err("the backend answered 500: boom".into()),
            usage: Err("the backend answered 503: busy".into()),
            fetched_at: NOW - 60,
        };
        let report = build(&credentials(), &fetched, None, NOW, &Utc);
        assert_eq!(report.account, None);
        assert_eq!(report.rate_limits, []);
        assert_eq!(report.credits_balance, None);
        assert_eq!(
            report.warnings,
            [
                "The rate limits could not be fetched: the backend answered 503: busy.",
                "The account details could not be fetched: the backend answered 500: boom."
            ]
        );
    }

    #[test]
    fn without_usage_a_gateway_shows_the_last_live_headers() {
        let live = RateLimitSnapshot {
            windows: vec![rate_limits::LimitWindow {
                limit_name: None,
                slot: rate_limits::Slot::Primary,
                window_seconds: Some(604_800),
                remaining_percent: 40.0,
                reset_at: Some(NOW + 60),
            }],
            credits_balance: Some(5.0),
            plan_type: None,
            observed_at: NOW - 120,
        };
        let fetched = Fetched {
            account: Ok(account_body()),
            usage: Err("cannot reach x: timed out".into()),
            fetched_at: NOW - 60,
        };
        let report = build(&credentials(), &fetched, Some(&live), NOW, &Utc);
        assert_eq!(report.rate_limits.len(), 1);
        assert_eq!(report.rate_limits[0].name, "weekly");
        assert_eq!(report.rate_limits[0].reset_in_seconds, Some(60));
        assert_eq!(report.credits_balance, Some(5.0));
        assert!(report.warnings[0].contains("last backend answer, 2m 0s ago"));
    }
}
