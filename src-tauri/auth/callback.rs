//! The sign-in's return path: the loopback listener the browser is redirected to
//! (`127.0.0.1:1455`, falling back to `1457`, with `redirect_uri` naming the port actually
//! bound), and the parser of a redirect URL or code pasted into the terminal instead.
//!
//! The listener does not judge a callback itself: it hands the query to the login loop and
//! renders the page the loop answers, so that the `state` check and the code exchange happen in
//! one place for both paths, and the browser learns whether the sign-in really worked.
//! Logs carry facts (`has_code=true`), never codes or tokens.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{mpsc, oneshot};

/// The port of the registered redirect URI.
pub(crate) const DEFAULT_PORT: u16 = 1455;
/// The second port the Codex client id accepts, used when 1455 is busy.
pub(crate) const FALLBACK_PORT: u16 = 1457;
/// Overrides the port (`0` picks a free one; tests use it). Not a user setting.
pub(crate) const LOGIN_PORT_ENV: &str = "CODEXIA_LOGIN_PORT";
/// The callback path.
pub(crate) const CALLBACK_PATH: &str = "/auth/callback";

/// The parameters of a redirect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl CallbackParams {
    fn from_pairs<'a>(
        pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Self {
        let mut params = Self::default();
        for (key, value) in pairs {
            let value = value.trim().to_owned();
            if value.is_empty() {
                continue;
            }
            match key.as_ref() {
                "code" => params.code = Some(value),
                "state" => params.state = Some(value),
                "error" => params.error = Some(value),
                "error_description" => params.error_description = Some(value),
                _ => {}
            }
        }
        params
    }
}

/// What a callback or a pasted line amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// A code to exchange.
    Code(String),
    /// The `state` belongs to another sign-in attempt (or was tampered with).
    WrongState,
    /// The sign-in page reported an error (e.g. `access_denied`).
    Denied(String),
    /// Not a redirect URL or code; the message says what is wrong.
    Invalid(String),
}

/// Judges a redirect against the expected `state`. `state_required` is true for the loopback
/// (a browser always sends it) and false for a pasted bare code.
pub(crate) fn judge(
    params: &CallbackParams,
    expected_state: &str,
    state_required: bool,
) -> Attempt {
    match params.state.as_deref() {
        Some(state) if state != expected_state => return Attempt::WrongState,
        None if state_required || params.error.is_some() => {
            return Attempt::Invalid("the redirect has no state parameter".to_owned());
        }
        _ => {}
    }
    if let Some(error) = &params.error {
        let detail = params
            .error_description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Attempt::Denied(format!("{error}{detail}"));
    }
    match &params.code {
        Some(code) => Attempt::Code(code.clone()),
        None => Attempt::Invalid("the redirect has no code parameter".to_owned()),
    }
}

/// Parses what the user pasted: the full redirect URL (with or without scheme), its query
/// (`code=…&state=…`), `code#state`, or a bare code. `None` for an empty line.
pub(crate) fn parse_pasted(input: &str) -> Option<Result<CallbackParams, String>> {
    let text = input.trim().trim_matches(|c| c == '"' || c == '\'');
    if text.is_empty() {
        return None;
    }
    if text.contains('=') {
        let query = match text.split_once('?') {
            Some((_, query)) => query,
            None => text,
        };
        let query = query.split('#').next().unwrap_or(query);
        let params = CallbackParams::from_pairs(url::form_urlencoded::parse(query.as_bytes()));
        if params.code.is_none() && params.error.is_none() {
            return Some(Err(
                "that URL has no code; paste the whole address the browser was sent to (it contains code= and state=)".to_owned(),
            ));
        }
        return Some(Ok(params));
    }
    if text.chars().any(char::is_whitespace) || text.contains('/') {
        return Some(Err(
            "that is neither a redirect URL nor a code; paste the whole address the browser was sent to".to_owned(),
        ));
    }
    let (code, state) = match text.split_once('#') {
        Some((code, state)) => (code, Some(state.to_owned())),
        None => (text, None),
    };
    Some(Ok(CallbackParams {
        code: Some(code.to_owned()),
        state,
        ..CallbackParams::default()
    }))
}

/// A page answered to the browser.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub ok: bool,
    pub title: String,
    pub message: String,
}

impl Page {
    pub(crate) fn success(detail: &str) -> Self {
        Self {
            ok: true,
            title: "Signed in to codexia".to_owned(),
            message: format!("{detail} You can close this tab and return to the terminal."),
        }
    }

    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            title: "Sign-in did not complete".to_owned(),
            message: message.into(),
        }
    }

    fn render(&self) -> Response {
        let status = if self.ok {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        let (mark, accent) = if self.ok {
            ("&#10003;", "#10a37f")
        } else {
            ("!", "#d14343")
        };
        let html = format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title} · codexia</title>
<style>
  :root {{ color-scheme: light dark; }}
  body {{ margin: 0; min-height: 100vh; display: grid; place-items: center;
         font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
         background: Canvas; color: CanvasText; }}
  main {{ max-width: 26rem; padding: 2.5rem 2rem; text-align: center;
         border: 1px solid color-mix(in srgb, CanvasText 12%, transparent); border-radius: 14px; }}
  .mark {{ width: 3rem; height: 3rem; margin: 0 auto 1rem; border-radius: 50%;
          display: grid; place-items: center; font-size: 1.6rem; font-weight: 700;
          color: white; background: {accent}; }}
  h1 {{ font-size: 1.25rem; margin: 0 0 .5rem; }}
  p {{ margin: 0; opacity: .8; }}
</style></head>
<body><main><div class="mark">{mark}</div><h1>{title}</h1><p>{message}</p></main></body></html>
"#,
            title = escape_html(&self.title),
            message = escape_html(&self.message),
        );
        let mut response = (status, Html(html)).into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        response
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One browser redirect, waiting for the login loop's verdict.
#[derive(Debug)]
pub(crate) struct CallbackHit {
    pub params: CallbackParams,
    pub reply: oneshot::Sender<Page>,
}

/// A bound loopback listener.
#[derive(Debug)]
pub(crate) struct CallbackServer {
    listener: tokio::net::TcpListener,
    port: u16,
}

impl CallbackServer {
    /// Binds `127.0.0.1:port`, or with `None` 1455 and then 1457.
    pub(crate) async fn bind(port: Option<u16>) -> std::io::Result<Self> {
        let ports: &[u16] = match &port {
            Some(port) => std::slice::from_ref(port),
            None => &[DEFAULT_PORT, FALLBACK_PORT],
        };
        let mut last = None;
        for port in ports {
            match tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, *port)))
                .await
            {
                Ok(listener) => {
                    let port = listener.local_addr()?.port();
                    return Ok(Self { listener, port });
                }
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no port to bind")))
    }

    /// `http://localhost:PORT/auth/callback` (the host is the word `localhost`, as registered).
    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://localhost:{}{CALLBACK_PATH}", self.port)
    }

    /// Serves until [`RunningCallback::finish`]; each callback is sent to `hits`.
    pub(crate) fn spawn(self, hits: mpsc::Sender<CallbackHit>) -> RunningCallback {
        let app = Router::new()
            .route(CALLBACK_PATH, get(callback))
            .fallback(|| async {
                let mut page =
                    Page::failure("This address only receives the ChatGPT sign-in redirect.");
                "Not found".clone_into(&mut page.title);
                let mut response = page.render();
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            })
            .with_state(hits);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(self.listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        RunningCallback { stop, task }
    }
}

/// A running listener.
#[derive(Debug)]
pub(crate) struct RunningCallback {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningCallback {
    /// Stops accepting and lets the page being answered reach the browser (bounded wait).
    pub(crate) async fn finish(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(3), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

async fn callback(
    State(hits): State<mpsc::Sender<CallbackHit>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let params = CallbackParams::from_pairs(
        query
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into())),
    );
    tracing::debug!(
        has_code = params.code.is_some(),
        has_state = params.state.is_some(),
        error = params.error.as_deref().unwrap_or(""),
        "sign-in callback"
    );
    let (reply, verdict) = oneshot::channel();
    if hits.send(CallbackHit { params, reply }).await.is_err() {
        return Page::failure(
            "This sign-in attempt is over; start a new one with `codexia login`.",
        )
        .render();
    }
    match verdict.await {
        Ok(page) => page.render(),
        Err(_) => {
            Page::failure("The sign-in was interrupted; start a new one with `codexia login`.")
                .render()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(code: &str, state: Option<&str>) -> CallbackParams {
        CallbackParams {
            code: Some(code.into()),
            state: state.map(str::to_owned),
            ..CallbackParams::default()
        }
    }

    #[test]
    fn every_documented_paste_form_is_understood() {
        let expected = params("ac_1", Some("st"));
        for input in [
            "http://localhost:1455/auth/callback?code=ac_1&state=st",
            "  localhost:1455/auth/callback?code=ac_1&state=st \n",
            "code=ac_1&state=st",
            "ac_1#st",
        ] {
            assert_eq!(parse_pasted(input), Some(Ok(expected.clone())), "{input}");
        }
        assert_eq!(parse_pasted("ac_1"), Some(Ok(params("ac_1", None))));
        assert_eq!(parse_pasted("   "), None);
        assert!(matches!(parse_pasted("hello world"), Some(Err(_))));
        assert!(matches!(parse_pasted("http://x/?state=st"), Some(Err(_))));
    }

    #[test]
    fn the_state_decides_whether_a_code_is_accepted() {
        assert_eq!(
            judge(&params("c", Some("st")), "st", true),
            Attempt::Code("c".into())
        );
        assert_eq!(
            judge(&params("c", Some("other")), "st", true),
            Attempt::WrongState
        );
        assert!(matches!(
            judge(&params("c", None), "st", true),
            Attempt::Invalid(_)
        ));
        assert_eq!(
            judge(&params("c", None), "st", false),
            Attempt::Code("c".into())
        );
        let denied = CallbackParams {
            error: Some("access_denied".into()),
            state: Some("st".into()),
            ..CallbackParams::default()
        };
        assert_eq!(
            judge(&denied, "st", true),
            Attempt::Denied("access_denied".into())
        );
    }
}
