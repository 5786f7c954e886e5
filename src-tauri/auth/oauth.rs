//! The OAuth calls of ChatGPT sign-in (docs/protocol.md §3): the authorize URL with every
//! §3.2 parameter, the authorization-code exchange, the refresh grant (form-encoded, single-use
//! rotating refresh tokens) and the device-code flow.
//!
//! The device flow (docs/protocol.md §3.5) follows the official Codex CLI
//! (`codex-rs/login/src/device_code_auth.rs`): `POST {issuer}/api/accounts/deviceauth/usercode`
//! `{client_id}` → `{device_auth_id, user_code, interval}` (interval as a string), the user
//! enters the code at `{issuer}/codex/device`, and `POST …/deviceauth/token`
//! `{device_auth_id, user_code}` answers 403/404 while pending, then
//! `{authorization_code, code_verifier}`, exchanged with `redirect_uri={issuer}/deviceauth/callback`.
//!
//! Errors carry status codes and OAuth error codes, never tokens or raw bodies.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::pkce::PkceCodes;
use super::tokens::Credentials;
use crate::upstream::UpstreamClient;

/// The Codex CLI's public OAuth client id (§3.1).
pub(crate) const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
/// Scopes of the authorize request (§3.1).
pub(crate) const SCOPES: &str = "openid profile email offline_access";
/// Scope sent with refresh grants (what the official client sends).
pub(crate) const REFRESH_SCOPE: &str = "openid profile email";
/// `originator` of the authorize URL: the official client's, like every backend call.
pub(crate) const ORIGINATOR: &str = crate::upstream::client::ORIGINATOR;
/// Refresh-failure codes after which only a new sign-in helps (§3.4).
pub(crate) const PERMANENT_REFRESH_CODES: &[&str] = &[
    "refresh_token_reused",
    "refresh_token_expired",
    "refresh_token_invalidated",
    "invalid_grant",
];

const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed OAuth call.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum OAuthError {
    /// The issuer refused the grant for good (the refresh token is used, expired or revoked;
    /// the code is invalid). `code` is the OAuth error code.
    #[error("the sign-in server refused the request ({code})")]
    Refused { code: String },
    /// No answer, a server error, or an unreadable answer: worth retrying later.
    #[error("{0}")]
    Transient(String),
}

/// What the login needs to remember between the authorize URL and the code exchange.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeRequest {
    pub url: String,
    pub redirect_uri: String,
    pub state: String,
    pub pkce: PkceCodes,
}

/// Builds the authorize URL with every parameter of §3.2.
pub(crate) fn authorize_request(
    client: &UpstreamClient,
    redirect_uri: &str,
    pkce: PkceCodes,
    state: String,
) -> AuthorizeRequest {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPES)
        .append_pair("code_challenge", &pkce.code_challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("id_token_add_organizations", "true")
        .append_pair("codex_cli_simplified_flow", "true")
        .append_pair("state", &state)
        .append_pair("originator", ORIGINATOR)
        .finish();
    AuthorizeRequest {
        url: format!("{}?{query}", client.authorize_url()),
        redirect_uri: redirect_uri.to_owned(),
        state,
        pkce,
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    refresh_token: Option<String>,
    id_token: Option<String>,
    expires_in: Option<i64>,
}

/// The OAuth error code of an error body: `error.code`, `error` (a string), or `code`.
fn error_code(body: &Value) -> Option<String> {
    body.pointer("/error/code")
        .and_then(Value::as_str)
        .or_else(|| body.get("code").and_then(Value::as_str))
        .or_else(|| body.get("error").and_then(Value::as_str))
        .or_else(|| body.pointer("/error/type").and_then(Value::as_str))
        .map(str::to_owned)
}

async fn post_token_form(
    client: &UpstreamClient,
    form: &[(&str, &str)],
) -> Result<TokenResponse, (reqwest::StatusCode, Option<Value>)> {
    let url = client.token_url();
    let response = client
        .http()
        .post(&url)
        .timeout(TOKEN_TIMEOUT)
        .form(form)
        .send()
        .await
        .map_err(|_| (reqwest::StatusCode::SERVICE_UNAVAILABLE, None))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let body: Option<Value> = serde_json::from_str(&text).ok();
    if !status.is_success() {
        return Err((status, body));
    }
    body.and_then(|b| serde_json::from_value(b).ok())
        .ok_or((reqwest::StatusCode::BAD_GATEWAY, None))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn credentials_from(
    tokens: TokenResponse,
    previous: Option<&Credentials>,
) -> Result<Credentials, OAuthError> {
    let access_token = tokens
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            OAuthError::Transient("the sign-in server answered without an access token".into())
        })?;
    let refresh_token = tokens
        .refresh_token
        .filter(|t| !t.is_empty())
        .or_else(|| previous.map(|p| p.refresh_token.clone()))
        .ok_or_else(|| {
            OAuthError::Transient("the sign-in server answered without a refresh token".into())
        })?;
    let id_token = tokens
        .id_token
        .filter(|t| !t.is_empty())
        .or_else(|| previous.map(|p| p.id_token.clone()))
        .unwrap_or_default();
    let expires_in = tokens.expires_in.filter(|s| *s > 0).unwrap_or(3600);
    let mut credentials = Credentials {
        access_token,
        refresh_token,
        id_token,
        expires_at: now() + expires_in,
        account_id: String::new(),
    };
    credentials.account_id = credentials
        .claims()
        .account_id
        .or_else(|| previous.map(|p| p.account_id.clone()))
        .ok_or_else(|| {
            OAuthError::Transient(
                "the access token does not name a ChatGPT account (chatgpt_account_id)".into(),
            )
        })?;
    Ok(credentials)
}

/// Exchanges an authorization code (§3.3).
pub(crate) async fn exchange_code(
    client: &UpstreamClient,
    code: &str,
    code_verifier: &str,
    redirect_uri: &str,
) -> Result<Credentials, OAuthError> {
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("code", code),
        ("code_verifier", code_verifier),
        ("redirect_uri", redirect_uri),
    ];
    match post_token_form(client, &form).await {
        Ok(tokens) => credentials_from(tokens, None),
        Err((status, body)) if status.is_client_error() => Err(OAuthError::Refused {
            code: body
                .as_ref()
                .and_then(error_code)
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16())),
        }),
        Err((status, _)) => Err(OAuthError::Transient(format!(
            "the sign-in server at {} failed (HTTP {})",
            client.auth_url(),
            status.as_u16()
        ))),
    }
}

/// Refreshes with the (single-use) refresh token of `current`. A 401, or a 400 with a
/// permanent code, is [`OAuthError::Refused`]; everything else is transient.
pub(crate) async fn refresh(
    client: &UpstreamClient,
    current: &Credentials,
) -> Result<Credentials, OAuthError> {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("refresh_token", current.refresh_token.as_str()),
        ("scope", REFRESH_SCOPE),
    ];
    match post_token_form(client, &form).await {
        Ok(tokens) => credentials_from(tokens, Some(current)),
        Err((status, body)) => {
            let code = body.as_ref().and_then(error_code);
            let permanent = status == reqwest::StatusCode::UNAUTHORIZED
                || code
                    .as_deref()
                    .is_some_and(|c| PERMANENT_REFRESH_CODES.contains(&c));
            if permanent {
                Err(OAuthError::Refused {
                    code: code.unwrap_or_else(|| "unauthorized".to_owned()),
                })
            } else if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && body.is_none() {
                Err(OAuthError::Transient(format!(
                    "cannot reach the sign-in server at {}",
                    client.auth_url()
                )))
            } else {
                Err(OAuthError::Transient(format!(
                    "the sign-in server answered HTTP {}{}",
                    status.as_u16(),
                    code.map(|c| format!(" ({c})")).unwrap_or_default()
                )))
            }
        }
    }
}

/// A device code waiting for the user.
#[derive(Debug, Clone)]
pub(crate) struct DeviceCode {
    pub device_auth_id: String,
    pub user_code: String,
    /// Where the user enters the code.
    pub verification_url: String,
    pub interval: Duration,
}

/// Asks for a device code.
pub(crate) async fn request_device_code(client: &UpstreamClient) -> Result<DeviceCode, OAuthError> {
    let url = format!("{}/api/accounts/deviceauth/usercode", client.auth_url());
    let response = client
        .http()
        .post(&url)
        .timeout(TOKEN_TIMEOUT)
        .json(&serde_json::json!({"client_id": CLIENT_ID}))
        .send()
        .await
        .map_err(|_| {
            OAuthError::Transient(format!(
                "cannot reach the sign-in server at {}",
                client.auth_url()
            ))
        })?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(OAuthError::Transient(
            "the sign-in server does not offer device-code sign-in; run `codexia login` without --device".into(),
        ));
    }
    if !status.is_success() {
        return Err(OAuthError::Transient(format!(
            "the sign-in server refused a device code (HTTP {})",
            status.as_u16()
        )));
    }
    let body: Value = response.json().await.map_err(|_| {
        OAuthError::Transient("the sign-in server sent an unreadable device code".into())
    })?;
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(device_auth_id), Some(user_code)) = (
        text("device_auth_id"),
        text("user_code").or_else(|| text("usercode")),
    ) else {
        return Err(OAuthError::Transient(
            "the sign-in server sent an incomplete device code".into(),
        ));
    };
    // The official client parses `interval` from a string; accept a number too.
    let interval = body
        .get("interval")
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
        .unwrap_or(5);
    Ok(DeviceCode {
        device_auth_id,
        user_code,
        verification_url: format!("{}/codex/device", client.auth_url()),
        // Never poll faster than once a second, whatever the server says.
        interval: Duration::from_secs(interval.max(1)),
    })
}

/// Polls until the user approved the device code (or `timeout` passes), then exchanges the
/// code it yields.
pub(crate) async fn complete_device_code(
    client: &UpstreamClient,
    device: &DeviceCode,
    timeout: Duration,
) -> Result<Credentials, OAuthError> {
    let url = format!("{}/api/accounts/deviceauth/token", client.auth_url());
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let response = client
            .http()
            .post(&url)
            .timeout(TOKEN_TIMEOUT)
            .json(&serde_json::json!({
                "device_auth_id": device.device_auth_id,
                "user_code": device.user_code,
            }))
            .send()
            .await;
        match response {
            Ok(response) if response.status().is_success() => {
                let body: Value = response.json().await.map_err(|_| {
                    OAuthError::Transient("the sign-in server sent an unreadable answer".into())
                })?;
                let (Some(code), Some(verifier)) = (
                    body.get("authorization_code").and_then(Value::as_str),
                    body.get("code_verifier").and_then(Value::as_str),
                ) else {
                    return Err(OAuthError::Transient(
                        "the sign-in server sent an incomplete device authorization".into(),
                    ));
                };
                let redirect_uri = format!("{}/deviceauth/callback", client.auth_url());
                return exchange_code(client, code, verifier, &redirect_uri).await;
            }
            Ok(response)
                if matches!(
                    response.status(),
                    reqwest::StatusCode::FORBIDDEN | reqwest::StatusCode::NOT_FOUND
                ) => {}
            Ok(response) => {
                return Err(OAuthError::Refused {
                    code: format!("HTTP {}", response.status().as_u16()),
                });
            }
            // A network blip while polling: keep polling until the deadline.
            Err(_) => {}
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(OAuthError::Transient(format!(
                "the device code was not approved within {} minutes",
                timeout.as_secs() / 60
            )));
        }
        tokio::time::sleep(device.interval.min(deadline - now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_authorize_url_carries_every_documented_parameter() {
        let client = UpstreamClient::with_urls("http://b", "https://auth.openai.com");
        let request = authorize_request(
            &client,
            "http://localhost:1455/auth/callback",
            PkceCodes::from_verifier("v".into()),
            "st".into(),
        );
        let parsed = url::Url::parse(&request.url).unwrap();
        assert_eq!(parsed.path(), "/oauth/authorize");
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "code_challenge",
                "code_challenge_method",
                "id_token_add_organizations",
                "codex_cli_simplified_flow",
                "state",
                "originator"
            ]
        );
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("client_id"), CLIENT_ID);
        assert_eq!(get("redirect_uri"), "http://localhost:1455/auth/callback");
        assert_eq!(get("scope"), "openid profile email offline_access");
        assert_eq!(get("code_challenge_method"), "S256");
        assert_eq!(
            get("code_challenge"),
            super::super::pkce::challenge_for("v")
        );
        assert_eq!(get("state"), "st");
    }

    #[test]
    fn error_codes_are_found_in_every_documented_shape() {
        assert_eq!(
            error_code(&json!({"error":{"message":"m","code":"refresh_token_reused"}})).as_deref(),
            Some("refresh_token_reused")
        );
        assert_eq!(
            error_code(&json!({"error":"invalid_grant","code":"refresh_token_reused"})).as_deref(),
            Some("refresh_token_reused")
        );
        assert_eq!(
            error_code(&json!({"error":"invalid_grant","error_description":"x"})).as_deref(),
            Some("invalid_grant")
        );
    }
}
