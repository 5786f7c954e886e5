//! The fake account: identity, model catalog (docs/protocol.md §10.1), rate-limit windows (§7, §8)
//! and the `accounts/check` shape (§9). The same [`RateLimits`] feed the `x-codex-*` headers and
//! `wham/usage`, so tests see the same numbers in both places.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

/// Who is signed in (the claims of every token the fake mints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeAccount {
    /// `chatgpt_account_id` claim and the expected `chatgpt-account-id` header.
    pub account_id: String,
    /// `chatgpt_user_id` / `user_id` claims.
    pub user_id: String,
    /// Profile email.
    pub email: String,
    /// `chatgpt_plan_type` (`free`, `plus`, `pro`, …).
    pub plan_type: String,
}

impl Default for FakeAccount {
    fn default() -> Self {
        Self {
            account_id: "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b".to_owned(),
            user_id: "user-FAKEu53r1d0000000000".to_owned(),
            email: "user@example.com".to_owned(),
            plan_type: "plus".to_owned(),
        }
    }
}

/// One model of the catalog; requests naming another model are rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeModel {
    /// Model id.
    pub slug: String,
    /// Human name.
    pub display_name: String,
    /// Tokens.
    pub context_window: u64,
    /// Allowed `reasoning.effort` values.
    pub reasoning_levels: Vec<String>,
    /// Default effort.
    pub default_reasoning_level: String,
    /// `text` and maybe `image`.
    pub input_modalities: Vec<String>,
    /// `list` or `hide`.
    pub visibility: String,
}

impl FakeModel {
    /// A listed model with text+image input.
    pub fn new(slug: &str, context_window: u64, levels: &[&str]) -> Self {
        Self {
            slug: slug.to_owned(),
            display_name: slug.replacen("gpt", "GPT", 1),
            context_window,
            reasoning_levels: levels.iter().map(|l| (*l).to_owned()).collect(),
            default_reasoning_level: if levels.contains(&"medium") {
                "medium"
            } else {
                levels[0]
            }
            .to_owned(),
            input_modalities: vec!["text".to_owned(), "image".to_owned()],
            visibility: "list".to_owned(),
        }
    }

    /// The catalog entry JSON (docs/protocol.md §10.1 field set).
    pub fn to_json(&self, priority: usize) -> Value {
        let levels: Vec<Value> = self
            .reasoning_levels
            .iter()
            .map(|effort| json!({"effort": effort, "description": format!("{effort} reasoning effort")}))
            .collect();
        json!({
            "slug": self.slug,
            "display_name": self.display_name,
            "description": format!("{} (fake catalog)", self.display_name),
            "visibility": self.visibility,
            "priority": priority,
            "context_window": self.context_window,
            "max_context_window": self.context_window,
            "default_reasoning_level": self.default_reasoning_level,
            "supported_reasoning_levels": levels,
            "default_reasoning_summary": "auto",
            "reasoning_summary_format": "experimental",
            "default_verbosity": "medium",
            "support_verbosity": true,
            "input_modalities": self.input_modalities,
            "supports_parallel_tool_calls": true,
            "supported_in_api": true,
            "minimal_client_version": "0.1.0",
            "service_tiers": [],
            "truncation_policy": {"mode": "tokens", "limit": 10000},
        })
    }
}

/// The default catalog: what a Plus account could use in 2026 (docs/protocol.md §10.2, §10.3).
pub fn default_models() -> Vec<FakeModel> {
    let all = ["none", "low", "medium", "high", "xhigh"];
    let no_none = ["low", "medium", "high", "xhigh"];
    let mut spark = FakeModel::new("gpt-5.3-codex-spark", 128_000, &no_none);
    spark.input_modalities = vec!["text".to_owned()];
    let mut review = FakeModel::new("codex-auto-review", 272_000, &no_none);
    "hide".clone_into(&mut review.visibility);
    vec![
        FakeModel::new("gpt-5.5", 272_000, &all),
        FakeModel::new("gpt-5.4", 272_000, &all),
        FakeModel::new("gpt-5.4-mini", 272_000, &no_none),
        FakeModel::new("gpt-5.1-codex-max", 272_000, &no_none),
        spark,
        review,
    ]
}

/// One rate-limit window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// 0..=100.
    pub used_percent: f64,
    /// 300 = 5 h, 10080 = 7 d.
    pub length_minutes: u64,
    /// Seconds until the window resets.
    pub reset_after_seconds: u64,
}

/// The account's limits and credits.
#[derive(Clone, Debug, PartialEq)]
pub struct RateLimits {
    /// `primary_window` / `x-codex-primary-*`.
    pub primary: Option<Window>,
    /// `secondary_window` / `x-codex-secondary-*`.
    pub secondary: Option<Window>,
    /// `credits.has_credits` / `x-codex-credits-has-credits`.
    pub credits_has_credits: bool,
    /// `credits.unlimited`.
    pub credits_unlimited: bool,
    /// `credits.balance` (a decimal string, or none).
    pub credits_balance: Option<String>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            primary: Some(Window {
                used_percent: 3.0,
                length_minutes: 300,
                reset_after_seconds: 8_658,
            }),
            secondary: Some(Window {
                used_percent: 32.0,
                length_minutes: 10_080,
                reset_after_seconds: 111_779,
            }),
            credits_has_credits: false,
            credits_unlimited: false,
            credits_balance: Some("0".to_owned()),
        }
    }
}

/// Renders a percentage the way the backend does: `16`, or `16.5`.
pub fn format_percent(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

#[allow(clippy::cast_possible_truncation, reason = "a percentage, 0..=100")]
fn percent_as_integer(value: f64) -> i64 {
    value.round() as i64
}

fn python_bool(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

impl RateLimits {
    /// The window that is full (≥ 100 %), if any.
    pub fn reached(&self) -> Option<Window> {
        [self.primary, self.secondary]
            .into_iter()
            .flatten()
            .find(|w| w.used_percent >= 100.0)
    }

    /// Appends the `x-codex-*` headers (docs/protocol.md §7): both `-reset-after-seconds` and
    /// `-reset-at`, Python-style booleans, empty values for unknown numbers.
    pub fn write_headers(&self, headers: &mut HeaderMap, plan_type: &str, now: i64) {
        let mut put = |name: &str, value: String| {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(name), HeaderValue::try_from(value))
            {
                headers.insert(name, value);
            }
        };
        for (label, window) in [("primary", self.primary), ("secondary", self.secondary)] {
            let (used, minutes, after, at) = match window {
                Some(w) => (
                    format_percent(w.used_percent),
                    w.length_minutes.to_string(),
                    w.reset_after_seconds.to_string(),
                    (now + i64::try_from(w.reset_after_seconds).unwrap_or(0)).to_string(),
                ),
                None => (
                    "0".to_owned(),
                    "0".to_owned(),
                    "0".to_owned(),
                    String::new(),
                ),
            };
            put(&format!("x-codex-{label}-used-percent"), used);
            put(&format!("x-codex-{label}-window-minutes"), minutes);
            put(&format!("x-codex-{label}-reset-after-seconds"), after);
            put(&format!("x-codex-{label}-reset-at"), at);
        }
        put(
            "x-codex-primary-over-secondary-limit-percent",
            "0".to_owned(),
        );
        put(
            "x-codex-credits-has-credits",
            python_bool(self.credits_has_credits).to_owned(),
        );
        put(
            "x-codex-credits-unlimited",
            python_bool(self.credits_unlimited).to_owned(),
        );
        put(
            "x-codex-credits-balance",
            self.credits_balance.clone().unwrap_or_default(),
        );
        put("x-codex-plan-type", plan_type.to_owned());
        put("x-codex-active-limit", "codex".to_owned());
    }

    /// The `wham/usage` body (docs/protocol.md §8).
    pub fn usage_json(&self, account: &FakeAccount, now: i64) -> Value {
        let window = |w: Option<Window>| match w {
            Some(w) => json!({
                // `used_percent` is an integer on this endpoint.
                "used_percent": percent_as_integer(w.used_percent),
                "limit_window_seconds": w.length_minutes * 60,
                "reset_after_seconds": w.reset_after_seconds,
                "reset_at": now + i64::try_from(w.reset_after_seconds).unwrap_or(0),
            }),
            None => Value::Null,
        };
        let reached = self.reached().is_some();
        json!({
            "user_id": account.user_id,
            "account_id": account.account_id,
            "email": account.email,
            "plan_type": account.plan_type,
            "rate_limit": {
                "allowed": !reached,
                "limit_reached": reached,
                "primary_window": window(self.primary),
                "secondary_window": window(self.secondary),
            },
            "code_review_rate_limit": null,
            "additional_rate_limits": [],
            "credits": {
                "has_credits": self.credits_has_credits,
                "unlimited": self.credits_unlimited,
                "overage_limit_reached": false,
                "balance": self.credits_balance,
                "approx_local_messages": [0, 0],
                "approx_cloud_messages": [0, 0],
            },
            "spend_control": {"reached": false, "individual_limit": null},
            "rate_limit_reached_type": if reached { json!({"type": "rate_limit_reached"}) } else { Value::Null },
            "promo": null,
            "referral_beacon": null,
            "rate_limit_reset_credits": {"available_count": 0},
        })
    }
}

/// The `accounts/check/v4-2023-04-27` body (docs/protocol.md §9).
pub fn accounts_check_json(account: &FakeAccount, subscription_expires_at: &str) -> Value {
    let entry = json!({
        "account": {
            "account_user_role": "account-owner",
            "account_user_id": format!("{}__{}", account.user_id, account.account_id),
            "account_id": account.account_id,
            "organization_id": null,
            "name": null,
            "structure": "personal",
            "plan_type": account.plan_type,
            "is_deactivated": false,
            "profile_picture_url": null,
            "promo_data": {},
        },
        "features": ["codex"],
        "entitlement": {
            "subscription_id": "sub_fake_0001",
            "has_active_subscription": account.plan_type != "free",
            "subscription_plan": format!("chatgpt{}plan", account.plan_type),
            "expires_at": subscription_expires_at,
            "billing_period": null,
        },
        "rate_limits": [],
        "last_active_subscription": {
            "subscription_id": "sub_fake_0001",
            "purchase_origin_platform": "chatgpt_web",
            "will_renew": true,
        },
    });
    json!({
        "accounts": {account.account_id.clone(): entry.clone(), "default": entry},
        "account_ordering": [account.account_id],
    })
}
