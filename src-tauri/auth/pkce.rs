//! PKCE (RFC 7636, S256) and the OAuth `state`: random values from the OS generator.
//!
//! The verifier is 32 random bytes in base64url without padding (43 characters), the challenge
//! is base64url-no-pad(SHA-256(verifier)), exactly as the official Codex CLI does
//! (docs/protocol.md §3.1). The state is 32 random bytes in base64url: opaque to the
//! server, unguessable for anyone who did not see the authorize URL.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A PKCE verifier and its S256 challenge.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PkceCodes {
    pub code_verifier: String,
    pub code_challenge: String,
}

impl std::fmt::Debug for PkceCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PkceCodes")
            .field("code_verifier", &"<redacted>")
            .field("code_challenge", &self.code_challenge)
            .finish()
    }
}

impl PkceCodes {
    /// Fresh random codes.
    pub(crate) fn generate() -> std::io::Result<Self> {
        Ok(Self::from_verifier(random_base64url(32)?))
    }

    /// The codes for a given verifier.
    pub(crate) fn from_verifier(code_verifier: String) -> Self {
        let code_challenge = challenge_for(&code_verifier);
        Self {
            code_verifier,
            code_challenge,
        }
    }
}

/// `base64url(SHA-256(verifier))`.
pub(crate) fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh `state` parameter.
pub(crate) fn generate_state() -> std::io::Result<String> {
    random_base64url(32)
}

fn random_base64url(len: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_matches_the_rfc_7636_example() {
        let codes = PkceCodes::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            codes.code_challenge,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_codes_are_43_characters_and_differ() {
        let a = PkceCodes::generate().unwrap();
        let b = PkceCodes::generate().unwrap();
        assert_eq!(a.code_verifier.len(), 43);
        assert_ne!(a.code_verifier, b.code_verifier);
        assert_ne!(generate_state().unwrap(), generate_state().unwrap());
        assert!(!format!("{a:?}").contains(&a.code_verifier));
    }
}
