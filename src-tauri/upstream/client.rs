//! One `reqwest` client for the ChatGPT backend (`CODEXIA_BACKEND_URL`) and the OAuth issuer
//! (`CODEXIA_AUTH_URL`), sending the headers the official Codex client sends
//! (docs/protocol.md §4.2). Client headers (`x-stainless-*`, `anthropic-*`, the caller's
//! `Authorization`) are never forwarded.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::settings::Settings;

/// The `originator` the official Codex CLI sends; the backend knows it.
pub const ORIGINATOR: &str = "codex_cli_rs";
/// The Codex client version we present (used for `/codex/models?client_version=`).
pub const CODEX_CLIENT_VERSION: &str = "0.146.0";

/// Access to the backend for one request: the bearer token and the ChatGPT account id.
#[derive(Clone, Copy)]
pub struct BackendAuth<'a> {
    pub access_token: &'a str,
    pub account_id: &'a str,
}

impl std::fmt::Debug for BackendAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendAuth")
            .field("access_token", &"<redacted>")
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// A failed call to the remote side, with who caused it.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No answer: connection refused, DNS, TLS, reset. The message names the host, not secrets.
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The backend answered with a non-success status.
    #[error("the backend answered {status}: {message}")]
    Status {
        status: reqwest::StatusCode,
        /// `error.message`, `detail` or `message` from the body, else the raw text (shortened).
        message: String,
        /// The parsed JSON body, when it was JSON.
        body: Option<serde_json::Value>,
        headers: HeaderMap,
    },
}

impl UpstreamError {
    /// Builds a [`UpstreamError::Status`] from a failed response, reading its body.
    pub async fn from_response(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let message = body
            .as_ref()
            .and_then(error_message)
            .unwrap_or_else(|| shorten(text.trim(), 300));
        Self::Status {
            status,
            message,
            body,
            headers,
        }
    }

    fn unreachable(url: &str, err: &reqwest::Error) -> Self {
        // reqwest's Display may include the URL with a query; keep only the kind of failure.
        let message = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            "connection failed".to_owned()
        } else {
            "the connection broke".to_owned()
        };
        Self::Unreachable {
            url: url.split('?').next().unwrap_or(url).to_owned(),
            message,
        }
    }
}

/// The human message of an error body: `error.message`, `detail`, or `message`.
pub fn error_message(body: &serde_json::Value) -> Option<String> {
    let text = body
        .pointer("/error/message")
        .or_else(|| body.get("detail"))
        .or_else(|| body.get("message"))
        .or_else(|| body.get("error"))?;
    match text {
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let head: String = text.chars().take(max).collect();
        format!("{head}…")
    }
}

/// The HTTP client for the remote side.
#[derive(Debug, Clone)]
pub struct UpstreamClient {
    http: reqwest::Client,
    backend_url: String,
    auth_url: String,
}

impl UpstreamClient {
    /// A client for the configured backend and issuer.
    pub fn new(settings: &Settings) -> Self {
        Self::with_urls(&settings.backend_url.value, &settings.auth_url.value)
    }

    /// A client for explicit base URLs (already normalised).
    pub fn with_urls(backend_url: &str, auth_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .user_agent(user_agent())
            .connect_timeout(Duration::from_secs(15))
            // Streams may be silent for long stretches while the model thinks; idle detection
            // is done per read by the SSE reader, not by a whole-request timeout.
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            backend_url: backend_url.trim_end_matches('/').to_owned(),
            auth_url: auth_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The underlying client (for the OAuth and status calls).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn responses_url(&self) -> String {
        format!("{}/codex/responses", self.backend_url)
    }

    pub fn models_url(&self) -> String {
        format!(
            "{}/codex/models?client_version={CODEX_CLIENT_VERSION}",
            self.backend_url
        )
    }

    pub fn usage_url(&self) -> String {
        format!("{}/wham/usage", self.backend_url)
    }

    pub fn account_url(&self) -> String {
        format!("{}/accounts/check/v4-2023-04-27", self.backend_url)
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/authorize", self.auth_url)
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.auth_url)
    }

    /// The OAuth issuer base.
    pub fn auth_url(&self) -> &str {
        &self.auth_url
    }

    /// Headers for a backend call (docs/protocol.md §4.2).
    pub fn backend_headers(&self, auth: BackendAuth<'_>, session_id: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", auth.access_token)) {
            let mut value = value;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        if let Ok(value) = HeaderValue::from_str(auth.account_id) {
            headers.insert(HeaderName::from_static("chatgpt-account-id"), value);
        }
        headers.insert(
            HeaderName::from_static("originator"),
            HeaderValue::from_static(ORIGINATOR),
        );
        headers.insert(
            HeaderName::from_static("openai-beta"),
            HeaderValue::from_static("responses=experimental"),
        );
        if let Some(session) = session_id.and_then(|s| HeaderValue::from_str(s).ok()) {
            headers.insert(HeaderName::from_static("session_id"), session);
        }
        headers
    }

    /// `POST /codex/responses`; answers the streaming response when the status is 2xx.
    pub async fn post_responses(
        &self,
        auth: BackendAuth<'_>,
        session_id: Option<&str>,
        body: &(impl serde::Serialize + Sync),
    ) -> Result<reqwest::Response, UpstreamError> {
        let url = self.responses_url();
        let response = self
            .http
            .post(&url)
            .headers(self.backend_headers(auth, session_id))
            .header(ACCEPT, "text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .json(body)
            .send()
            .await
            .map_err(|err| UpstreamError::unreachable(&url, &err))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(UpstreamError::from_response(response).await)
        }
    }

    /// `GET` a backend JSON endpoint (usage, account, models).
    pub async fn get_json(
        &self,
        url: &str,
        auth: BackendAuth<'_>,
    ) -> Result<(serde_json::Value, HeaderMap), UpstreamError> {
        let response = self
            .http
            .get(url)
            .headers(self.backend_headers(auth, None))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| UpstreamError::unreachable(url, &err))?;
        if !response.status().is_success() {
            return Err(UpstreamError::from_response(response).await);
        }
        let headers = response.headers().clone();
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|err| UpstreamError::unreachable(url, &err))?;
        let value = serde_json::from_str(&text).map_err(|_| UpstreamError::Status {
            status,
            message: "the backend answered something that is not JSON".to_owned(),
            body: None,
            headers: headers.clone(),
        })?;
        Ok((value, headers))
    }
}

/// `codex_cli_rs/<codex version> (<os>; <arch>) codexia/<version>`.
pub fn user_agent() -> String {
    format!(
        "{ORIGINATOR}/{CODEX_CLIENT_VERSION} ({}; {}) codexia/{}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_are_built_from_the_bases() {
        let client =
            UpstreamClient::with_urls("http://127.0.0.1:9/backend-api/", "http://127.0.0.1:9");
        assert_eq!(
            client.responses_url(),
            "http://127.0.0.1:9/backend-api/codex/responses"
        );
        assert_eq!(
            client.usage_url(),
            "http://127.0.0.1:9/backend-api/wham/usage"
        );
        assert_eq!(
            client.account_url(),
            "http://127.0.0.1:9/backend-api/accounts/check/v4-2023-04-27"
        );
        assert_eq!(client.token_url(), "http://127.0.0.1:9/oauth/token");
        assert!(
            client
                .models_url()
                .ends_with("/backend-api/codex/models?client_version=0.146.0")
        );
    }

    #[test]
    fn backend_headers_carry_token_account_and_originator() {
        let client = UpstreamClient::with_urls("http://x", "http://y");
        let headers = client.backend_headers(
            BackendAuth {
                access_token: "tok",
                account_id: "acc_1",
            },
            Some("sess"),
        );
        assert_eq!(headers["authorization"], "Bearer tok");
        assert!(headers["authorization"].is_sensitive());
        assert_eq!(headers["chatgpt-account-id"], "acc_1");
        assert_eq!(headers["originator"], "codex_cli_rs");
        assert_eq!(headers["openai-beta"], "responses=experimental");
        assert_eq!(headers["session_id"], "sess");
    }

    #[test]
    fn error_messages_come_from_detail_or_error_message() {
        assert_eq!(
            error_message(&json!({"detail":"Store must be set to false"})).unwrap(),
            "Store must be set to false"
        );
        assert_eq!(
            error_message(&json!({"error":{"type":"usage_limit_reached","message":"The usage limit has been reached"}})).unwrap(),
            "The usage limit has been reached"
        );
    }

    #[test]
    fn auth_debug_hides_the_token() {
        let auth = BackendAuth {
            access_token: "secret-token",
            account_id: "acc",
        };
        assert!(!format!("{auth:?}").contains("secret-token"));
    }
}
