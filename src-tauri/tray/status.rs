//! What the tray shows, computed from the gateway's status JSON (`GET /v1/status`, the same
//! contract as `codexia status --json`). Pure: `now` is passed in.

use chrono::{DateTime, Local, TimeZone};
use serde::Deserialize;

/// The parts of the status JSON the tray uses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct StatusJson {
    #[serde(default)]
    pub(crate) account_id: Option<String>,
    /// `null` when no usable credentials exist.
    #[serde(default)]
    pub(crate) token: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) account: Option<AccountJson>,
    #[serde(default)]
    pub(crate) rate_limits: Vec<WindowJson>,
    #[serde(default)]
    pub(crate) warnings: Vec<String>,
    /// Every signed-in account (issue 18).
    #[serde(default)]
    pub(crate) accounts: Vec<AccountSummaryJson>,
}

/// One entry of the status's `accounts`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct AccountSummaryJson {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) plan: Option<String>,
    #[serde(default)]
    pub(crate) active: bool,
    #[serde(default)]
    pub(crate) signed_in: bool,
    #[serde(default)]
    pub(crate) rate_limits: Vec<WindowJson>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct AccountJson {
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) plan: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct WindowJson {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) remaining_percent: Option<f64>,
    /// Unix seconds as a string.
    #[serde(default)]
    pub(crate) reset_at: Option<String>,
}

/// The state of the account as the tray presents it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AccountState {
    /// Not known yet (gateway starting).
    Unknown,
    SignedOut,
    /// Refresh was refused: the user must sign in again.
    SignInAgain,
    SignedIn {
        label: String,
    },
}

/// One limit window, ready to display.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LimitLine {
    pub(crate) name: String,
    pub(crate) remaining_percent: f64,
    pub(crate) text: String,
}

/// One signed-in account as the Accounts submenu shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountLine {
    /// The short name (`codexia accounts use NAME`).
    pub(crate) name: String,
    /// `team — me@work.example · Team · 5h 40% left · Weekly 68% left`.
    pub(crate) label: String,
    pub(crate) active: bool,
}

/// Everything the menu and tooltip show.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrayView {
    pub(crate) account: AccountState,
    pub(crate) limits: Vec<LimitLine>,
    /// Every signed-in account (empty when none is).
    pub(crate) accounts: Vec<AccountLine>,
}

impl TrayView {
    /// Before the first status arrives.
    pub(crate) fn unknown() -> Self {
        Self {
            account: AccountState::Unknown,
            limits: Vec::new(),
            accounts: Vec::new(),
        }
    }

    /// The account line of the menu.
    pub(crate) fn account_line(&self) -> String {
        match &self.account {
            AccountState::Unknown => "Checking account…".to_owned(),
            AccountState::SignedOut => "Not signed in".to_owned(),
            AccountState::SignInAgain => "Sign-in expired — sign in again".to_owned(),
            AccountState::SignedIn { label } => label.clone(),
        }
    }

    /// The tooltip: the account and the limits.
    pub(crate) fn tooltip(&self) -> String {
        let mut lines = vec![format!("codexia — {}", self.account_line())];
        lines.extend(self.limits.iter().map(|l| l.text.clone()));
        lines.join("\n")
    }
}

/// Builds the view from a status answer. `http_status` 401 with a sign-in message means the
/// account must sign in again.
pub(crate) fn view_from_status(status: &StatusJson, now: DateTime<Local>) -> TrayView {
    let needs_sign_in = status
        .warnings
        .iter()
        .any(|w| w.to_ascii_lowercase().contains("sign in again"));
    let account = match (&status.account, needs_sign_in) {
        (_, true) => AccountState::SignInAgain,
        (None, false) if status.token.is_none() && status.account_id.is_none() => {
            AccountState::SignedOut
        }
        (Some(account), false) => AccountState::SignedIn {
            label: match (&account.email, &account.plan) {
                (Some(email), Some(plan)) => format!("{email} · {}", plan_name(plan)),
                (Some(email), None) => email.clone(),
                (None, Some(plan)) => format!("Signed in · {}", plan_name(plan)),
                (None, None) => "Signed in".to_owned(),
            },
        },
        (None, false) => AccountState::SignedIn {
            label: "Signed in".to_owned(),
        },
    };
    let limits = status
        .rate_limits
        .iter()
        .filter_map(|w| {
            let remaining = w.remaining_percent?;
            let reset = w
                .reset_at
                .as_deref()
                .and_then(|r| r.parse::<i64>().ok())
                .and_then(|secs| Local.timestamp_opt(secs, 0).single());
            Some(LimitLine {
                name: w.name.clone(),
                remaining_percent: remaining,
                text: limit_text(&w.name, remaining, reset, now),
            })
        })
        .collect();
    let accounts = status.accounts.iter().map(account_line).collect();
    TrayView {
        account,
        limits,
        accounts,
    }
}

/// An account of the Accounts submenu: name, email, plan and each window's percentage left.
fn account_line(account: &AccountSummaryJson) -> AccountLine {
    let mut parts = Vec::new();
    parts.extend(account.email.clone());
    parts.extend(account.plan.as_deref().map(plan_name));
    if account.signed_in {
        parts.extend(account.rate_limits.iter().filter_map(|w| {
            let label = if w.name == "weekly" {
                "Weekly"
            } else {
                &w.name
            };
            Some(format!("{label} {:.0}% left", w.remaining_percent?))
        }));
    } else {
        parts.push("sign in again".to_owned());
    }
    let label = if parts.is_empty() {
        account.name.clone()
    } else {
        format!("{} — {}", account.name, parts.join(" · "))
    };
    AccountLine {
        name: account.name.clone(),
        label,
        active: account.active,
    }
}

/// `chatgptpro` → `Pro`, `plus` → `Plus`.
pub(crate) fn plan_name(plan: &str) -> String {
    let plan = plan.trim_start_matches("chatgpt").trim_end_matches("plan");
    let mut chars = plan.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// `5h: 97% left · resets in 2h 24m`, `Weekly: 68% left · resets Thu 02:19`.
pub(crate) fn limit_text(
    name: &str,
    remaining: f64,
    reset: Option<DateTime<Local>>,
    now: DateTime<Local>,
) -> String {
    let label = if name == "weekly" {
        "Weekly".to_owned()
    } else {
        name.to_owned()
    };
    let percent = format!("{remaining:.0}% left");
    let when = reset.map(|reset| {
        let seconds = (reset - now).num_seconds().max(0);
        if seconds < 12 * 3600 {
            format!("resets in {}", countdown(seconds.unsigned_abs()))
        } else {
            format!("resets {}", reset.format("%a %H:%M"))
        }
    });
    match when {
        Some(when) => format!("{label}: {percent} · {when}"),
        None => format!("{label}: {percent}"),
    }
}

/// `2h 24m`, `12m`, `<1m`.
fn countdown(seconds: u64) -> String {
    let (h, m) = (seconds / 3600, seconds % 3600 / 60);
    match (h, m) {
        (0, 0) => "<1m".to_owned(),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h {m}m"),
    }
}

/// Which windows crossed a threshold since the last view: under 10% left, or reached.
pub(crate) fn crossed_thresholds(before: &TrayView, after: &TrayView) -> Vec<String> {
    let mut notes = Vec::new();
    for line in &after.limits {
        let previous = before
            .limits
            .iter()
            .find(|l| l.name == line.name)
            .map(|l| l.remaining_percent);
        let label = if line.name == "weekly" {
            "weekly"
        } else {
            line.name.as_str()
        };
        if line.remaining_percent <= 0.0 && previous.is_some_and(|p| p > 0.0) {
            notes.push(format!("Your {label} ChatGPT limit is reached."));
        } else if line.remaining_percent < 10.0 && previous.is_some_and(|p| p >= 10.0) {
            notes.push(format!(
                "Your {label} ChatGPT limit is under 10% ({:.0}% left).",
                line.remaining_percent
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn at(secs: i64) -> DateTime<Local> {
        Local.timestamp_opt(secs, 0).single().unwrap()
    }

    #[test]
    fn limits_read_as_percent_left_and_a_countdown_or_a_weekday() {
        let now = at(1_777_288_606);
        assert_eq!(
            limit_text("5h", 97.0, Some(at(1_777_288_606 + 8658)), now),
            "5h: 97% left · resets in 2h 24m"
        );
        let weekly = at(1_777_288_606 + 3 * 86_400);
        assert_eq!(
            limit_text("weekly", 68.0, Some(weekly), now),
            format!("Weekly: 68% left · resets {}", weekly.format("%a %H:%M"))
        );
        assert_eq!(limit_text("5h", 3.4, None, now), "5h: 3% left");
    }

    #[test]
    fn the_view_names_the_account_and_plan() {
        let status: StatusJson = serde_json::from_value(serde_json::json!({
            "account": {"email": "user@example.com", "plan": "chatgptpro"},
            "rate_limits": [{"name": "5h", "remaining_percent": 97.0, "reset_at": "1777297264"}],
            "warnings": []
        }))
        .unwrap();
        let view = view_from_status(&status, at(1_777_288_606));
        assert_eq!(view.account_line(), "user@example.com · Pro");
        assert_eq!(view.limits[0].text, "5h: 97% left · resets in 2h 24m");
        assert_eq!(
            view.tooltip(),
            "codexia — user@example.com · Pro\n5h: 97% left · resets in 2h 24m"
        );
    }

    #[test]
    fn each_account_is_listed_with_its_plan_and_windows() {
        let status: StatusJson = serde_json::from_value(serde_json::json!({
            "accounts": [
                {"name": "plus", "email": "user@example.com", "plan": "plus", "active": false,
                 "signed_in": true, "rate_limits": [
                    {"name": "5h", "remaining_percent": 97.0},
                    {"name": "weekly", "remaining_percent": 68.0}]},
                {"name": "team", "email": "me@work.example", "plan": "team", "active": true,
                 "signed_in": false, "rate_limits": []}
            ]
        }))
        .unwrap();
        let view = view_from_status(&status, at(1_777_288_606));
        assert_eq!(
            view.accounts,
            [
                AccountLine {
                    name: "plus".into(),
                    label: "plus — user@example.com · Plus · 5h 97% left · Weekly 68% left".into(),
                    active: false,
                },
                AccountLine {
                    name: "team".into(),
                    label: "team — me@work.example · Team · sign in again".into(),
                    active: true,
                },
            ]
        );
    }

    #[test]
    fn crossing_ten_percent_or_zero_notifies_once() {
        let view = |p: f64| TrayView {
            accounts: Vec::new(),
            account: AccountState::Unknown,
            limits: vec![LimitLine {
                name: "5h".into(),
                remaining_percent: p,
                text: String::new(),
            }],
        };
        assert_eq!(
            crossed_thresholds(&view(12.0), &view(8.0)),
            ["Your 5h ChatGPT limit is under 10% (8% left)."]
        );
        assert!(crossed_thresholds(&view(8.0), &view(7.0)).is_empty());
        assert_eq!(
            crossed_thresholds(&view(7.0), &view(0.0)),
            ["Your 5h ChatGPT limit is reached."]
        );
    }
}
