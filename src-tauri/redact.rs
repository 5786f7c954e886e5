//! The one redactor: what the request inspector, the logs and the support bundle write passes
//! through it, so a token, a key or an account id never leaves the process in a capture file,
//! a log line or a bundle.
//!
//! Two kinds of rules, applied in this order:
//! 1. **Known secrets** — exact strings this process holds: the access, refresh and id tokens
//!    and the account id of the sign-in, the email of its JWT claims, the configured `api_key`
//!    and `api_keys`. Each is replaced by `[redacted:KIND]` wherever it appears.
//! 2. **Shapes** — secrets nobody told us about: JWTs (`eyJ….….…`, which also hides the
//!    emails inside their claims), `Bearer …` values, `sk-…` / `cdx-…` API keys, `rt_…`
//!    refresh tokens, header lines (`Authorization: …` at the start of a line) and quoted
//!    members (`"refresh_token": "…"`) whose name is a sensitive header (`authorization`,
//!    `proxy-authorization`, `x-api-key`, `cookie`, `set-cookie`, `chatgpt-account-id`) or a
//!    token field (`access_token`, `refresh_token`, `id_token`), and `name=value` pairs of the
//!    token fields and `account_id` (query strings, log fields).
//!
//! Headers with a sensitive name lose their whole value ([`Redactor::header`]); JSON values are
//! redacted string by string, and a member whose key is a secret's name loses its value
//! ([`Redactor::json`]); free text gets both kinds of rules ([`Redactor::text`]).
//!
//! The secrets a process knows are kept in one process-wide registry ([`remember`],
//! [`current`]). That is the one global here, and on purpose: the log subscriber is
//! process-wide too, and a token learnt by any part of the process must be hidden from every
//! writer of it. Everything else takes a [`Redactor`] value.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock, RwLock};

use regex_automata::meta::Regex;
use serde_json::Value;

/// What a known secret is; named in its replacement (`[redacted:access_token]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretKind {
    AccessToken,
    RefreshToken,
    IdToken,
    ApiKey,
    AccountId,
    Email,
}

impl SecretKind {
    /// The replacement text.
    pub(crate) fn marker(self) -> &'static str {
        match self {
            Self::AccessToken => "[redacted:access_token]",
            Self::RefreshToken => "[redacted:refresh_token]",
            Self::IdToken => "[redacted:id_token]",
            Self::ApiKey => "[redacted:api_key]",
            Self::AccountId => "[redacted:account_id]",
            Self::Email => "[redacted:email]",
        }
    }
}

/// The value of a header or JSON member whose name says it is secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Header names whose values are always secret (lower case).
pub(crate) const SECRET_HEADERS: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
    "set-cookie",
    "chatgpt-account-id",
];

/// JSON member names whose values are always secret (lower case; `-` and `_` alike).
const SECRET_FIELDS: [&str; 10] = [
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "api_keys",
    "authorization",
    "proxy_authorization",
    "x_api_key",
    "cookie",
    "chatgpt_account_id",
];

/// Known secrets shorter than this are not replaced in text: replacing a two-letter test key
/// everywhere would mangle prompts, and headers hide it by name anyway.
const SHORTEST_SECRET: usize = 6;

/// How many known secrets the registry keeps: tokens are replaced every hour or so, so a
/// process running for months would otherwise grow the list forever. The oldest tokens go
/// first (they have long expired); configured keys stay.
const MOST_KNOWN: usize = 256;

/// One shape rule: a pattern, and how a match is rewritten.
struct Shape {
    regex: Regex,
    rewrite: Rewrite,
}

#[derive(Clone, Copy)]
enum Rewrite {
    /// The whole match becomes this text.
    Whole(&'static str),
    /// Group 1 (the name and separator) is kept; the rest becomes [`REDACTED`].
    KeepPrefix,
}

/// The shape rules, compiled once.
static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let rules: [(&str, Rewrite); 8] = [
        // A header line (`Authorization: …`, as in a dump of request headers): the value runs
        // to the end of the line. Only at the start of a line, so that prose such as "OAuth
        // authorization: how it works" in a prompt is left alone.
        (
            r"(?im)^([ \t]*(?:proxy-authorization|authorization|x-api-key|api-key|set-cookie|cookie|chatgpt-account-id)[ \t]*:[ \t]*)[^\r\n]+",
            Rewrite::KeepPrefix,
        ),
        // A quoted member (`"refresh_token": "…"`, JSON or a debug print): the quoted value.
        (
            r#"(?i)("(?:proxy-authorization|authorization|x-api-key|api-key|api_key|set-cookie|cookie|chatgpt-account-id|access_token|refresh_token|id_token)"\s*:\s*")[^"]*"#,
            Rewrite::KeepPrefix,
        ),
        // `name=value` (a query string, a log field): up to a separator.
        (
            r#"(?i)\b((?:access_token|refresh_token|id_token|api_key|chatgpt_account_id|account_id)=)[^&\s"',;]+"#,
            Rewrite::KeepPrefix,
        ),
        // A JWT: three base64url segments, the first a JSON header (`{"` → `eyJ`).
        (
            r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            Rewrite::Whole("[redacted:jwt]"),
        ),
        (
            r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}",
            Rewrite::KeepPrefix,
        ),
        (
            r"\bsk-[A-Za-z0-9_-]{16,}",
            Rewrite::Whole("[redacted:api_key]"),
        ),
        (
            r"\bcdx-[A-Za-z0-9_-]{20,}",
            Rewrite::Whole("[redacted:api_key]"),
        ),
        (
            r"\brt_[A-Za-z0-9._-]{16,}",
            Rewrite::Whole("[redacted:refresh_token]"),
        ),
    ];
    rules
        .into_iter()
        .filter_map(|(pattern, rewrite)| match Regex::new(pattern) {
            Ok(regex) => Some(Shape { regex, rewrite }),
            // The patterns are constants covered by the tests below; a bad one is skipped
            // rather than taking the process down.
            Err(err) => {
                tracing::error!("redaction pattern {pattern:?} does not compile: {err}");
                None
            }
        })
        .collect()
});

/// Literals at least one of which (ASCII case aside) is inside every match of every shape rule:
/// the header and member names, `eyJ`, `bearer`, `sk-`, `cdx-`, `rt_`. Text with none of them
/// (nearly every header value and log line) skips the eight rules: one scan instead of eight.
/// Lower case; searched by hand rather than with a regex, so that logging the first line does
/// not compile one (the regex compiler's code is then never loaded by an idle gateway).
const TRIGGERS: [&str; 14] = [
    "authorization",
    "api-key",
    "api_key",
    "cookie",
    "chatgpt-account-id",
    "access_token",
    "refresh_token",
    "id_token",
    "account_id",
    "eyj",
    "bearer",
    "sk-",
    "cdx-",
    "rt_",
];

/// The bytes a trigger starts with (lower case), by byte value.
const TRIGGER_STARTS: [bool; 256] = {
    let mut starts = [false; 256];
    let mut i = 0;
    while i < TRIGGERS.len() {
        starts[TRIGGERS[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    starts
};

/// Whether `text` may match a shape rule: whether it holds a trigger, ASCII case aside.
fn may_have_shapes(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|at| {
        let first = bytes[at].to_ascii_lowercase();
        // Most bytes start no trigger: one lookup each.
        TRIGGER_STARTS[usize::from(first)]
            && TRIGGERS.iter().any(|trigger| {
                trigger.as_bytes()[0] == first
                    && bytes
                        .get(at..at + trigger.len())
                        .is_some_and(|candidate| candidate.eq_ignore_ascii_case(trigger.as_bytes()))
            })
    })
}

/// Replaces known secrets and secret-shaped text. Cheap to clone through [`Arc`].
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: Vec<(String, SecretKind)>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} known secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor that knows no secrets (the shape rules only).
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The same, also replacing `value` as a secret of `kind`.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn with_secret(mut self, kind: SecretKind, value: &str) -> Self {
        self.add(kind, value);
        self
    }

    /// Whether `value` is already known.
    pub(crate) fn knows(&self, value: &str) -> bool {
        self.secrets.iter().any(|(known, _)| known == value)
    }

    fn add(&mut self, kind: SecretKind, value: &str) -> bool {
        let value = value.trim();
        if value.len() < SHORTEST_SECRET || self.knows(value) {
            return false;
        }
        if self.secrets.len() >= MOST_KNOWN {
            let oldest_token = self
                .secrets
                .iter()
                .position(|(_, kind)| *kind != SecretKind::ApiKey);
            if let Some(at) = oldest_token {
                self.secrets.remove(at);
            }
        }
        // Insert keeping the order of arrival among equal lengths (oldest first), longest first.
        let at = self
            .secrets
            .iter()
            .position(|(known, _)| known.len() < value.len())
            .unwrap_or(self.secrets.len());
        self.secrets.insert(at, (value.to_owned(), kind));
        true
    }

    /// `text` with every known secret and every secret-shaped part replaced.
    pub(crate) fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (secret, kind) in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), kind.marker()));
            }
        }
        if may_have_shapes(&out) {
            for shape in SHAPES.iter() {
                if let Some(rewritten) = shape.apply(&out) {
                    out = Cow::Owned(rewritten);
                }
            }
        }
        out
    }

    /// The value to show for header `name`: [`REDACTED`] for a sensitive header (the scheme of
    /// an `authorization` value is kept: `Bearer [redacted]`), the redacted text otherwise.
    pub(crate) fn header<'a>(&self, name: &str, value: &'a str) -> Cow<'a, str> {
        match secret_header_value(name, value) {
            Some(shown) => Cow::Owned(shown),
            None => self.text(value),
        }
    }

    /// Redacts a JSON value in place: every string (and object key) as text, and the whole
    /// value of a member named like a secret (`access_token`, `authorization`, …).
    pub(crate) fn json(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(redacted) = self.text(text) {
                    *text = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.json(item)),
            Value::Object(members) => {
                let renamed: Vec<(String, String)> = members
                    .keys()
                    .filter_map(|key| match self.text(key) {
                        Cow::Owned(new) => Some((key.clone(), new)),
                        Cow::Borrowed(_) => None,
                    })
                    .collect();
                for (old, new) in renamed {
                    if let Some(v) = members.remove(&old) {
                        members.insert(new, v);
                    }
                }
                for (key, member) in members.iter_mut() {
                    if is_secret_field(key) && !member.is_null() {
                        *member = Value::String(REDACTED.to_owned());
                    } else {
                        self.json(member);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// A redacted copy of `value` (for JSON that is only borrowed).
    pub(crate) fn json_copy(&self, value: &Value) -> Value {
        let mut copy = value.clone();
        self.json(&mut copy);
        copy
    }
}

impl Shape {
    /// The rewritten text, or `None` when nothing matched.
    fn apply(&self, text: &str) -> Option<String> {
        // A plain search first: most texts do not match, and captures cost more to find.
        if !self.regex.is_match(text) {
            return None;
        }
        let mut matches = self.regex.captures_iter(text).peekable();
        matches.peek()?;
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for caps in matches {
            let Some(whole) = caps.get_match() else {
                continue;
            };
            out.push_str(&text[last..whole.start()]);
            match self.rewrite {
                Rewrite::Whole(marker) => out.push_str(marker),
                Rewrite::KeepPrefix => {
                    let keep = caps.get_group(1).map_or(whole.start(), |g| g.end);
                    out.push_str(&text[whole.start()..keep]);
                    out.push_str(REDACTED);
                }
            }
            last = whole.end();
        }
        out.push_str(&text[last..]);
        Some(out)
    }
}

/// What to show for the value of header `name` when the name alone says it is secret:
/// [`REDACTED`], after the scheme of an `authorization` value (`Bearer [redacted]`); `None` for
/// any other header. Needs no known secrets, so the inspector applies it as it captures.
pub(crate) fn secret_header_value(name: &str, value: &str) -> Option<String> {
    if !is_secret_header(name) {
        return None;
    }
    let scheme = value
        .trim()
        .split_once(' ')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| {
            name.to_ascii_lowercase().ends_with("authorization") && !scheme.is_empty()
        });
    Some(match scheme {
        Some(scheme) => format!("{scheme} {REDACTED}"),
        None => REDACTED.to_owned(),
    })
}

/// Whether header `name` always carries a secret.
pub(crate) fn is_secret_header(name: &str) -> bool {
    SECRET_HEADERS
        .iter()
        .any(|secret| name.eq_ignore_ascii_case(secret))
}

fn is_secret_field(name: &str) -> bool {
    let normal = name.trim().to_ascii_lowercase().replace('-', "_");
    SECRET_FIELDS.contains(&normal.as_str())
}

/// The process's known secrets.
static KNOWN: LazyLock<RwLock<Arc<Redactor>>> = LazyLock::new(RwLock::default);

/// Adds secrets this process now holds to the process-wide redactor, in one write at most
/// (nothing happens when they are known already, so calling it for every request is cheap).
pub(crate) fn remember_all<'a>(secrets: impl IntoIterator<Item = (SecretKind, &'a str)>) {
    let secrets: Vec<_> = secrets.into_iter().collect();
    let known = current();
    if secrets
        .iter()
        .all(|(_, value)| value.trim().len() < SHORTEST_SECRET || known.knows(value.trim()))
    {
        return;
    }
    let mut guard = match KNOWN.write() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut next = Redactor::clone(&guard);
    let mut changed = false;
    for (kind, value) in secrets {
        changed |= next.add(kind, value);
    }
    if changed {
        *guard = Arc::new(next);
    }
}

/// The process-wide redactor, with every secret remembered so far.
pub(crate) fn current() -> Arc<Redactor> {
    match KNOWN.read() {
        Ok(guard) => Arc::clone(&guard),
        Err(poisoned) => Arc::clone(&poisoned.into_inner()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    /// A JWT shaped like the issuer's: header, claims with the profile email, signature.
    fn jwt(claims: &Value) -> String {
        let header =
            json!({"alg": "RS256", "kid": "b1dd3f8f-9926-4ae6-a5f6-5e4f6d1c2c1f", "typ": "JWT"});
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode([7_u8; 256])
        )
    }

    fn access_token() -> String {
        jwt(&json!({
            "aud": ["https://api.openai.com/v1"],
            "exp": 1_767_000_000,
            "https://api.openai.com/auth": {"chatgpt_account_id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b", "chatgpt_plan_type": "plus"},
            "https://api.openai.com/profile": {"email": "someone@example.com", "email_verified": true},
        }))
    }

    const REFRESH: &str = "rt_7Qm2xV9kLp3ZsT8wYb1NcR4dHf6GjK0e.Uq5tXz2Wv8yAb3Cd";
    const ACCOUNT: &str = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    const KEY: &str = "cdx-Jm3Qx7vLw2Pz9Rt4Ys6Ub8Nc1Df5Gh0Kk";

    fn known() -> Redactor {
        Redactor::new()
            .with_secret(SecretKind::AccessToken, &access_token())
            .with_secret(SecretKind::RefreshToken, REFRESH)
            .with_secret(SecretKind::AccountId, ACCOUNT)
            .with_secret(SecretKind::ApiKey, KEY)
            .with_secret(SecretKind::Email, "someone@example.com")
    }

    #[test]
    fn known_secrets_are_replaced_by_their_kind_wherever_they_appear() {
        let text = format!(
            "token={} refresh {REFRESH}; account {ACCOUNT} key({KEY}) mail someone@example.com",
            access_token()
        );
        assert_eq!(
            known().text(&text),
            "token=[redacted:access_token] refresh [redacted:refresh_token]; account \
             [redacted:account_id] key([redacted:api_key]) mail [redacted:email]"
        );
    }

    #[test]
    fn unknown_secrets_are_caught_by_their_shape() {
        let none = Redactor::new();
        let cases = [
            (format!("got {}", access_token()), "got [redacted:jwt]".to_owned()),
            (format!("refresh={REFRESH}"), "refresh=[redacted:refresh_token]".to_owned()),
            (
                "key sk-proj-AbCdEfGhIjKlMnOpQrStUv and cdx-Jm3Qx7vLw2Pz9Rt4Ys6Ub8Nc1Df5Gh0Kk".to_owned(),
                "key [redacted:api_key] and [redacted:api_key]".to_owned(),
            ),
            (
                "Authorization: Bearer abcdefgh12345678\nx-api-key: my-key-123\nCookie: a=b; c=d\nok: 1".to_owned(),
                "Authorization: [redacted]\nx-api-key: [redacted]\nCookie: [redacted]\nok: 1".to_owned(),
            ),
            (
                r#"{"chatgpt-account-id":"acc-123","refresh_token":"opaque-value","model":"gpt-5.1"}"#.to_owned(),
                r#"{"chatgpt-account-id":"[redacted]","refresh_token":"[redacted]","model":"gpt-5.1"}"#.to_owned(),
            ),
            ("sent bearer 0123456789abcdef".to_owned(), "sent bearer [redacted]".to_owned()),
            (
                "GET /cb?code=1&refresh_token=opaque-1&x=2 account_id=acc-9 ok".to_owned(),
                "GET /cb?code=1&refresh_token=[redacted]&x=2 account_id=[redacted] ok".to_owned(),
            ),
            (
                "Explain OAuth authorization: how does it work? Cookie: text, not a header".to_owned(),
                "Explain OAuth authorization: how does it work? Cookie: text, not a header".to_owned(),
            ),
            ("nothing secret here: sk-short rt_x".to_owned(), "nothing secret here: sk-short rt_x".to_owned()),
        ];
        for (input, expected) in cases {
            assert_eq!(none.text(&input), expected, "{input}");
        }
    }

    #[test]
    fn text_without_a_trigger_skips_the_shape_rules_and_every_rule_needs_one() {
        // One match of each rule, in a mix of cases: each has a trigger.
        let samples = [
            "Proxy-Authorization: Basic dXNlcjpwYXNz",
            "\"Refresh_Token\": \"abc\"",
            "Account_ID=acct_123",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
            "BEARER abcdefgh12345678",
            "sk-abcdefghijklmnop1234",
            "cdx-abcdefghijklmnopqrstu",
            "rt_abcdefghijklmnop12",
        ];
        for (sample, shape) in samples.iter().zip(SHAPES.iter()) {
            assert!(shape.regex.is_match(sample), "{sample}");
            assert!(may_have_shapes(sample), "{sample}");
            assert!(
                matches!(Redactor::new().text(sample), Cow::Owned(_)),
                "{sample}"
            );
        }
        let plain = "2026-12-02T01:00:58.356Z  INFO codexia::gateway::middleware::log_request: \
                     request method=POST path=/v1/messages status=200 ms=1";
        assert!(!may_have_shapes(plain));
        assert!(matches!(Redactor::new().text(plain), Cow::Borrowed(_)));
        for value in [
            "application/json",
            "2023-06-01",
            "text/event-stream",
            "gzip, br",
            "",
            "r",
            "sk",
            "cdx_",
        ] {
            assert!(!may_have_shapes(value), "{value}");
        }
        // At the very end of the text, and in any case.
        for value in ["sk-", "tail Cookie", "x ACCOUNT_ID", "EyJ"] {
            assert!(may_have_shapes(value), "{value}");
        }
    }

    #[test]
    fn the_email_inside_a_jwt_goes_with_the_jwt() {
        let token = access_token();
        let out = Redactor::new().text(&token).into_owned();
        assert!(!out.contains("eyJ"), "{out}");
        let claims = token.split('.').nth(1).unwrap();
        assert!(!out.contains(claims));
    }

    #[test]
    fn sensitive_headers_lose_their_value_and_keep_the_scheme() {
        let r = Redactor::new();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {KEY}").parse().unwrap());
        headers.insert("x-api-key", "k1".parse().unwrap());
        headers.insert("chatgpt-account-id", ACCOUNT.parse().unwrap());
        headers.insert("cookie", "session=abc".parse().unwrap());
        headers.insert("proxy-authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
        headers.insert(
            "user-agent",
            "claude-cli/2.0.14 (external, cli)".parse().unwrap(),
        );
        let shown: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| {
                let value = v.to_str().unwrap();
                (
                    n.as_str().to_owned(),
                    r.header(n.as_str(), value).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("authorization", "Bearer [redacted]"),
                ("x-api-key", "[redacted]"),
                ("chatgpt-account-id", "[redacted]"),
                ("cookie", "[redacted]"),
                ("proxy-authorization", "Basic [redacted]"),
                ("user-agent", "claude-cli/2.0.14 (external, cli)"),
            ]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn json_values_are_redacted_string_by_string_and_by_member_name() {
        let mut value = json!({
            "model": "gpt-5.1",
            "access_token": access_token(),
            "tokens": {"refresh_token": "opaque", "id_token": null},
            "input": [{"type": "message", "content": format!("my key is {KEY}")}],
            "headers": {"Authorization": "Bearer x"},
            ACCOUNT: 1,
        });
        known().json(&mut value);
        assert_eq!(
            value,
            json!({
                "model": "gpt-5.1",
                "access_token": "[redacted]",
                "tokens": {"refresh_token": "[redacted]", "id_token": null},
                "input": [{"type": "message", "content": "my key is [redacted:api_key]"}],
                "headers": {"Authorization": "[redacted]"},
                "[redacted:account_id]": 1,
            })
        );
    }

    #[test]
    fn short_secrets_are_not_replaced_in_text_and_a_longer_secret_wins() {
        let r = Redactor::new()
            .with_secret(SecretKind::ApiKey, "k1")
            .with_secret(SecretKind::ApiKey, "abcdef")
            .with_secret(SecretKind::AccessToken, "abcdef-ghijkl");
        assert_eq!(
            r.text("k1 abcdef-ghijkl abcdef"),
            "k1 [redacted:access_token] [redacted:api_key]"
        );
    }

    #[test]
    fn the_registry_keeps_configured_keys_and_forgets_the_oldest_tokens() {
        let mut r = Redactor::new().with_secret(SecretKind::ApiKey, KEY);
        for i in 0..MOST_KNOWN + 10 {
            r.add(SecretKind::AccessToken, &format!("token-{i:06}"));
        }
        assert_eq!(r.secrets.len(), MOST_KNOWN);
        assert!(r.knows(KEY));
        assert!(!r.knows("token-000000"));
        assert!(r.knows(&format!("token-{:06}", MOST_KNOWN + 9)));
    }

    #[test]
    fn remembered_secrets_reach_the_process_redactor() {
        let secret = "rememberedsecretvalue-0987654321";
        assert!(!current().text(secret).contains("[redacted"));
        remember_all([(SecretKind::RefreshToken, secret)]);
        assert_eq!(current().text(secret), "[redacted:refresh_token]");
    }
}
