//! Guards against browsers: a `Host` that is not loopback (or the configured bind host) is
//! refused, which defeats DNS rebinding; a request with an `Origin` header is refused unless
//! that origin is allowed in `config.json`. Allowed origins get CORS headers and preflights.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::gateway::error::ApiError;
use crate::gateway::state::AppState;

/// Whether a `Host` header value names this gateway.
pub(crate) fn host_allowed(host: &str, bind_ip: IpAddr) -> bool {
    // A gateway bound to every interface is reached under any name; it requires an API key.
    if bind_ip.is_unspecified() {
        return true;
    }
    let name = strip_port(host).trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    let ip = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>();
    match ip {
        Ok(ip) => ip.is_loopback() || ip == bind_ip,
        Err(_) => false,
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [v6]:port or [v6]
        return host
            .split_once(']')
            .map_or(host, |(addr, _)| &host[..=addr.len()]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.contains(':') => {
            name
        }
        _ => host,
    }
}

/// Middleware: the Host and Origin guards.
pub(crate) async fn host_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    if let Some(host) = &host
        && !host_allowed(host, state.bind_ip())
    {
        return ApiError::permission_denied(
            "Requests must be addressed to this gateway by a loopback name such as 127.0.0.1 or localhost.",
        )
        .into_response();
    }

    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        return next.run(request).await;
    };
    let allowed = origin.to_str().is_ok_and(|o| {
        state
            .allowed_origins()
            .iter()
            .any(|a| a == o.trim_end_matches('/'))
    });
    if !allowed {
        return ApiError::permission_denied(
            "Browser requests are refused; add the page's origin to allowed_origins in config.json to permit it.",
        )
        .into_response();
    }
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        add_cors_headers(&mut response, origin);
        return response;
    }
    let mut response = next.run(request).await;
    add_cors_headers(&mut response, origin);
    response
}

fn add_cors_headers(response: &mut Response, origin: HeaderValue) {
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "authorization, x-api-key, content-type, anthropic-version, anthropic-beta",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn loopback_names_are_allowed() {
        for host in [
            "127.0.0.1:14550",
            "localhost:14550",
            "localhost",
            "[::1]:80",
            "127.1.2.3",
            "app.localhost:1",
        ] {
            assert!(host_allowed(host, LOOPBACK), "{host}");
        }
    }

    #[test]
    fn other_names_are_refused() {
        for host in [
            "evil.example",
            "evil.example:14550",
            "192.168.1.5:14550",
            "localhost.evil.example",
        ] {
            assert!(!host_allowed(host, LOOPBACK), "{host}");
        }
    }

    #[test]
    fn the_configured_bind_host_is_allowed() {
        let lan: IpAddr = "192.168.1.5".parse().unwrap();
        assert!(host_allowed("192.168.1.5:14550", lan));
        assert!(!host_allowed("evil.example", lan));
        assert!(host_allowed("anything.example", "0.0.0.0".parse().unwrap()));
    }
}
