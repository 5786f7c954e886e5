//! The credentials codexia keeps: access, refresh and id token, the local expiry and the
//! ChatGPT account id. `Debug` never shows a token.

use serde::{Deserialize, Serialize};

use super::jwt::TokenClaims;
use crate::upstream::client::BackendAuth;

/// Signed-in credentials. `expires_at` is computed locally as `now + expires_in` at the last
/// exchange or refresh (docs/protocol.md §3.3), not read from the JWT.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Credentials {
    pub access_token: String,
    pub refresh_token: String,
    #[serde(default)]
    pub id_token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub account_id: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("id_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("account_id", &self.account_id)
            .finish()
    }
}

impl Credentials {
    /// What the backend needs for one call.
    /// Tells the process's redactor (`redact.rs`) these secrets: the tokens, the account id
    /// and the email of the claims. Cheap when they are known already.
    pub(crate) fn remember_secrets(&self) {
        use crate::redact::{self, SecretKind};
        if redact::current().knows(&self.access_token) {
            return;
        }
        let email = self.claims().email;
        redact::remember_all(
            [
                (SecretKind::AccessToken, self.access_token.as_str()),
                (SecretKind::RefreshToken, self.refresh_token.as_str()),
                (SecretKind::IdToken, self.id_token.as_str()),
                (SecretKind::AccountId, self.account_id.as_str()),
            ]
            .into_iter()
            .chain(email.as_deref().map(|email| (SecretKind::Email, email))),
        );
    }

    pub(crate) fn backend_auth(&self) -> BackendAuth<'_> {
        BackendAuth {
            access_token: &self.access_token,
            account_id: &self.account_id,
        }
    }

    /// Claims of the access token, gaps filled from the id token.
    pub(crate) fn claims(&self) -> TokenClaims {
        let access = TokenClaims::decode(&self.access_token).unwrap_or_default();
        let id = TokenClaims::decode(&self.id_token).unwrap_or_default();
        access.or(id)
    }

    /// Seconds left at `now` (negative once expired).
    pub(crate) fn remaining_seconds(&self, now: i64) -> i64 {
        self.expires_at - now
    }

    /// Whether the token should be refreshed at `now`: it expires within `skew` seconds.
    pub(crate) fn needs_refresh(&self, now: i64, skew: i64) -> bool {
        self.expires_at - skew <= now
    }
}

/// What the store keeps: the credentials and, after a refresh failed for good, why the user
/// must sign in again (so that every codexia process stops trying at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredAuth {
    pub credentials: Credentials,
    /// The permanent refresh failure code (`refresh_token_reused`, `invalid_grant`, …).
    pub sign_in_again: Option<String>,
}

/// The on-disk / keychain JSON form (one flat object; the file format of `auth.json`).
#[derive(Serialize, Deserialize)]
struct StoredAuthJson {
    access_token: String,
    refresh_token: String,
    #[serde(default)]
    id_token: String,
    expires_at: i64,
    #[serde(default)]
    account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sign_in_again: Option<String>,
}

impl StoredAuth {
    /// Fresh credentials with no failure recorded.
    pub(crate) fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            sign_in_again: None,
        }
    }

    /// The JSON text kept by the stores.
    pub(crate) fn to_json(&self) -> String {
        let c = &self.credentials;
        let wire = StoredAuthJson {
            access_token: c.access_token.clone(),
            refresh_token: c.refresh_token.clone(),
            id_token: c.id_token.clone(),
            expires_at: c.expires_at,
            account_id: c.account_id.clone(),
            sign_in_again: self.sign_in_again.clone(),
        };
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string_pretty(&wire).unwrap_or_default()
    }

    /// Parses the stored JSON. The error names the problem, never the content.
    pub(crate) fn from_json(text: &str) -> Result<Self, String> {
        let wire: StoredAuthJson = serde_json::from_str(text).map_err(|err| {
            format!(
                "not valid credentials JSON (line {}, column {})",
                err.line(),
                err.column()
            )
        })?;
        let mut credentials = Credentials {
            access_token: wire.access_token,
            refresh_token: wire.refresh_token,
            id_token: wire.id_token,
            expires_at: wire.expires_at,
            account_id: wire.account_id,
        };
        if credentials.account_id.is_empty() {
            credentials.account_id = credentials.claims().account_id.unwrap_or_default();
        }
        Ok(Self {
            credentials,
            sign_in_again: wire.sign_in_again,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        Credentials {
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            id_token: "secret-id".into(),
            expires_at: 100,
            account_id: "acc".into(),
        }
    }

    #[test]
    fn debug_never_shows_a_token() {
        let text = format!("{:?}", StoredAuth::new(sample()));
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("acc"));
    }

    #[test]
    fn the_stored_json_round_trips_with_the_failure_marker() {
        let stored = StoredAuth {
            credentials: sample(),
            sign_in_again: Some("refresh_token_reused".into()),
        };
        assert_eq!(StoredAuth::from_json(&stored.to_json()).unwrap(), stored);
        let err = StoredAuth::from_json("{\"access_token\": \"secret-access\"").unwrap_err();
        assert!(!err.contains("secret"));
    }

    #[test]
    fn refresh_is_due_within_the_skew() {
        let c = sample();
        assert!(!c.needs_refresh(39, 60));
        assert!(c.needs_refresh(40, 60));
        assert_eq!(c.remaining_seconds(130), -30);
    }
}
