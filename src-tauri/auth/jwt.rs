//! The claims codexia reads from ChatGPT's JWTs (docs/protocol.md §3.6): account id,
//! plan, email and expiry. Signatures are not verified: the tokens come straight from the
//! issuer over TLS and the backend checks them; every reference client decodes the same way.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

const AUTH_CLAIM: &str = "https://api.openai.com/auth";
const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// What a token says about its account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenClaims {
    /// `["https://api.openai.com/auth"].chatgpt_account_id`.
    pub account_id: Option<String>,
    /// `["https://api.openai.com/auth"].chatgpt_plan_type`.
    pub plan: Option<String>,
    /// The profile email, or the root `email` of an id token.
    pub email: Option<String>,
    /// `exp`, unix seconds.
    pub expires_at: Option<i64>,
}

impl TokenClaims {
    /// Decodes the claims of a JWT; `None` when it is not a JWT.
    pub(crate) fn decode(token: &str) -> Option<Self> {
        let payload = token.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let auth = claims.get(AUTH_CLAIM);
        Some(Self {
            account_id: text(auth.and_then(|a| a.get("chatgpt_account_id"))),
            plan: text(auth.and_then(|a| a.get("chatgpt_plan_type"))),
            email: text(claims.get(PROFILE_CLAIM).and_then(|p| p.get("email")))
                .or_else(|| text(claims.get("email"))),
            expires_at: claims.get("exp").and_then(Value::as_i64),
        })
    }

    /// Fills the gaps of `self` from `other` (access token first, then id token).
    #[must_use]
    pub(crate) fn or(self, other: Self) -> Self {
        Self {
            account_id: self.account_id.or(other.account_id),
            plan: self.plan.or(other.plan),
            email: self.email.or(other.email),
            expires_at: self.expires_at.or(other.expires_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: &Value) -> String {
        format!(
            "e30.{}.sig",
            URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn account_plan_email_and_expiry_are_read_from_the_access_token() {
        let token = jwt(&json!({
            "exp": 1_778_098_507,
            "https://api.openai.com/auth": {"chatgpt_account_id": "acc_1", "chatgpt_plan_type": "pro"},
            "https://api.openai.com/profile": {"email": "a@example.com"},
        }));
        assert_eq!(
            TokenClaims::decode(&token).unwrap(),
            TokenClaims {
                account_id: Some("acc_1".into()),
                plan: Some("pro".into()),
                email: Some("a@example.com".into()),
                expires_at: Some(1_778_098_507),
            }
        );
    }

    #[test]
    fn the_id_token_root_email_fills_a_gap() {
        let access = TokenClaims::decode(&jwt(&json!({"exp": 1}))).unwrap();
        let id = TokenClaims::decode(&jwt(&json!({"email": "b@example.com"}))).unwrap();
        assert_eq!(access.or(id).email.as_deref(), Some("b@example.com"));
        assert_eq!(TokenClaims::decode("not a jwt"), None);
    }
}
