//! The fake issuer's JWTs: `base64url(header).base64url(claims).signature`.
//!
//! Real clients never verify the signature (docs/protocol.md §3.6: everyone base64url-decodes
//! the middle segment), so the fake signs with a SHA-256 over a fixed secret and the signing input.
//! That is enough for the fake backend to recognise its own tokens and to reject tampered ones.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SIGNING_SECRET: &[u8] = b"codexia-fake-upstream-signing-secret";

fn signature(signing_input: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(SIGNING_SECRET);
    hasher.update(signing_input.as_bytes());
    URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// Encodes `claims` as a JWT signed by the fake issuer.
pub fn encode_jwt(claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "fake-upstream"});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = signature(&signing_input);
    format!("{signing_input}.{sig}")
}

/// Decodes the claims of any JWT without checking its signature (what real clients do).
pub fn decode_jwt_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Decodes the claims of a JWT only if the fake issuer signed it.
pub(crate) fn decode_verified(token: &str) -> Option<Value> {
    let (signing_input, sig) = token.rsplit_once('.')?;
    if signature(signing_input) != sig {
        return None;
    }
    decode_jwt_claims(token)
}
