//! A codexia gateway already running on this machine, seen from outside it: where a client
//! here reaches it, whether it answers, and a small HTTP client for what the CLI and the tray
//! ask it (`/v1/status`, `/v1/models`, the inspector's captures), and the replay of a captured
//! request (`replay.rs`). The gateway itself does not know this module.

pub(crate) mod replay;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::settings::Settings;

/// How long the `/health` probe and connecting to a local gateway may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long `/v1/models` may take.
const MODELS_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a client on this machine reaches a gateway bound at `bind`: an unspecified address
/// (`0.0.0.0`, `::`) becomes the loopback address of the same family.
fn client_addr(bind: SocketAddr) -> SocketAddr {
    match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bind.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bind.port())
        }
        _ => bind,
    }
}

/// `http://ADDR` for a client on this machine of a gateway bound at `bind`.
pub(crate) fn gateway_url(bind: SocketAddr) -> String {
    format!("http://{}", client_addr(bind))
}

/// Whether a codexia gateway answers `/health` at `url` (another program on the port does not
/// count: the answer must name the service `codexia`).
pub(crate) async fn gateway_answers(url: &str) -> bool {
    // The gateway is on this machine: never through a proxy the environment names.
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .timeout(PROBE_TIMEOUT)
        .build()
    else {
        return false;
    };
    let Ok(response) = client.get(format!("{url}/health")).send().await else {
        return false;
    };
    response
        .json::<serde_json::Value>()
        .await
        .is_ok_and(|v| v.get("service").and_then(|s| s.as_str()) == Some("codexia"))
}

/// `http://ADDR` of the codexia gateway answering on the configured address, if one does.
pub(crate) async fn running_gateway(settings: &Settings) -> Option<String> {
    let url = gateway_url(settings.bind.value);
    gateway_answers(&url).await.then_some(url)
}

/// Why a running gateway gave no status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LocalError {
    /// 401: the gateway has no usable sign-in (or refused our API key); the body says which.
    #[error("the gateway answered 401: {body}")]
    Unauthorized { body: String },
    #[error("the gateway answered {0}")]
    Status(reqwest::StatusCode),
    /// A 4xx/5xx with the gateway's error body (which names the problem).
    #[error("the gateway answered {status}: {body}")]
    Refused {
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("cannot reach the gateway: {0}")]
    Unreachable(#[source] reqwest::Error),
    #[error("unreadable answer from the gateway: {0}")]
    Unreadable(#[source] reqwest::Error),
    #[error("the gateway's model list has no `data` array")]
    NoModelList,
}

/// A client for one running codexia gateway, sending its API key when there is one.
#[derive(Debug, Clone)]
pub(crate) struct LocalGateway {
    url: String,
    api_key: Option<String>,
    client: reqwest::Client,
}

impl LocalGateway {
    /// The gateway at `url` (`http://ADDR`).
    pub(crate) fn new(url: String, api_key: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(PROBE_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            url,
            api_key,
            client,
        }
    }

    /// The gateway answering on the configured address, with the configured key, if one does.
    pub(crate) async fn find(settings: &Settings) -> Option<Self> {
        let url = running_gateway(settings).await?;
        let api_key = settings
            .api_key
            .value
            .as_ref()
            .map(|k| k.expose().to_owned());
        Some(Self::new(url, api_key))
    }

    /// `http://ADDR`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    fn get(&self, path: &str, timeout: Duration) -> reqwest::RequestBuilder {
        let request = self
            .client
            .get(format!("{}{path}", self.url))
            .timeout(timeout);
        match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    /// `GET path`, read as `T`; a 4xx answer's body is the error.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        timeout: Duration,
    ) -> Result<T, LocalError> {
        let response = self
            .get(path, timeout)
            .send()
            .await
            .map_err(LocalError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(LocalError::Refused { status, body });
        }
        response.json().await.map_err(LocalError::Unreadable)
    }

    /// `POST path` with `headers` and the JSON `body` (and the configured key), read to the
    /// end: the status, the headers and the body as text.
    pub(crate) async fn post_json(
        &self,
        path: &str,
        headers: &[(String, String)],
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, String), LocalError> {
        let mut request = self
            .client
            .post(format!("{}{path}", self.url))
            .timeout(timeout)
            .json(body);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(LocalError::Unreachable)?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(LocalError::Unreadable)?;
        Ok((status, headers, text))
    }

    /// `GET /v1/status`, read as `T` (the whole `StatusReport`, or the part a caller uses).
    /// The gateway may ask the backend first, hence the caller's `timeout`.
    pub(crate) async fn status<T: DeserializeOwned>(
        &self,
        timeout: Duration,
    ) -> Result<T, LocalError> {
        let response = self
            .get("/v1/status", timeout)
            .send()
            .await
            .map_err(LocalError::Unreachable)?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            let body = response.text().await.unwrap_or_default();
            return Err(LocalError::Unauthorized { body });
        }
        if !status.is_success() {
            return Err(LocalError::Status(status));
        }
        response.json().await.map_err(LocalError::Unreadable)
    }

    /// `GET /v1/models`: the ids the gateway serves.
    pub(crate) async fn models(&self) -> Result<Vec<String>, LocalError> {
        let response = self
            .get("/v1/models", MODELS_TIMEOUT)
            .send()
            .await
            .map_err(LocalError::Unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(LocalError::Status(status));
        }
        let list: serde_json::Value = response.json().await.map_err(LocalError::Unreadable)?;
        let data = list
            .get("data")
            .and_then(serde_json::Value::as_array)
            .ok_or(LocalError::NoModelList)?;
        Ok(data
            .iter()
            .filter_map(|m| m.get("id")?.as_str().map(str::to_owned))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_address_is_reached_on_loopback_of_its_family() {
        let url = |bind: &str| gateway_url(bind.parse().unwrap());
        assert_eq!(url("0.0.0.0:14550"), "http://127.0.0.1:14550");
        assert_eq!(url("[::]:14550"), "http://[::1]:14550");
        assert_eq!(url("192.168.1.2:80"), "http://192.168.1.2:80");
        assert_eq!(url("127.0.0.1:1"), "http://127.0.0.1:1");
    }
}
