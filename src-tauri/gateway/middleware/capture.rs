//! The request inspector's hooks around each `POST` (the API routes): the client's request as
//! it came (the body is added by `body_limit` once read), the response as the client gets it
//! (after error rendering, so an error body is the one in the client's dialect), each chunk of
//! the body as it is written, and the outcome when the body ends or the client leaves. The
//! backend side is added by `gateway/backend.rs`.
//!
//! On the way out each chunk is a reference-counted `Bytes` clone pushed into the capture;
//! nothing here parses, serialises, redacts (that is done when a capture is read) or waits.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use http_body::Frame;

use crate::gateway::error::ApiError;
use crate::gateway::middleware::api_key::KeyName;
use crate::gateway::middleware::log_request::outcome_of_error;
use crate::gateway::recent::RequestInfo;
use crate::gateway::state::AppState;
use crate::inspector::view::{ErrorView, TokensView};
use crate::inspector::{Capture, Headers, Message, Outcome, RequestState};
use crate::ledger::client;

/// The response header naming the capture of a request (`req_12`).
pub(crate) const CAPTURE_HEADER: &str = "x-codexia-request";

/// Middleware: captures both sides of every `POST`.
pub(crate) async fn capture_exchange(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || !state.0.inspector.is_on() {
        return next.run(request).await;
    }
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let caller = client::classify(user_agent);
    let head = Message {
        method: Some(request.method().to_string()),
        url: Some(
            request
                .uri()
                .path_and_query()
                .map_or_else(|| request.uri().path().to_owned(), ToString::to_string),
        ),
        headers: Headers::of(request.headers()),
        ..Message::default()
    };
    let route = format!("{} {}", request.method(), request.uri().path());
    let Some(capture) = state
        .0
        .inspector
        .begin(route, caller.family, caller.version, head)
    else {
        return next.run(request).await;
    };
    request.extensions_mut().insert(Arc::clone(&capture));
    let mut response = next.run(request).await;
    // Which capture this is: `codexia requests replay` finds the request it sent again.
    if let Ok(id) = axum::http::HeaderValue::from_str(&capture.id()) {
        response.headers_mut().insert(CAPTURE_HEADER, id);
    }
    let status = response.status().as_u16();
    let streamed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    capture.response_head(status, Headers::of(response.headers()), streamed);
    if let Some(KeyName(name)) = response.extensions().get::<KeyName>() {
        capture.set_client(name.clone(), None);
    }
    let ending = Ending {
        capture,
        status,
        streamed,
        info: response.extensions().get::<RequestInfo>().cloned(),
        error: response
            .extensions()
            .get::<ApiError>()
            .map(|error| ErrorView {
                kind: outcome_of_error(error),
                message: error.message.clone(),
            }),
    };
    response.map(|body| tap(body, ending))
}

/// What the capture learns when the answer ends.
struct Ending {
    capture: Arc<Capture>,
    status: u16,
    streamed: bool,
    info: Option<RequestInfo>,
    error: Option<ErrorView>,
}

impl Ending {
    fn finish(self, caller_left: bool) {
        let Self {
            capture,
            status,
            streamed,
            info,
            error,
        } = self;
        // An error written into a committed stream is known only now.
        let error = error.or_else(|| {
            let (kind, message) = info.as_ref()?.failure()?.clone();
            Some(ErrorView { kind, message })
        });
        let tokens = info.as_ref().and_then(RequestInfo::tokens);
        let state = if status >= 400 || error.is_some() {
            RequestState::Error
        } else if tokens.is_some() || info.is_none() {
            RequestState::Ok
        } else if caller_left {
            RequestState::Cancelled
        } else {
            RequestState::Incomplete
        };
        let details = info.as_ref().and_then(RequestInfo::details);
        capture.finish(Outcome {
            state,
            status: Some(status),
            error,
            model: info.as_ref().map(|i| i.model.clone()),
            model_asked: details.and_then(|d| d.model_asked.clone()),
            stream: info.as_ref().map(|_| streamed),
            duration_ms: None,
            first_content_ms: info
                .as_ref()
                .and_then(RequestInfo::first_content)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            tokens: tokens.map(|t| TokensView {
                input: t.input,
                cached: t.cached,
                output: t.output,
                reasoning: info
                    .as_ref()
                    .and_then(RequestInfo::reasoning_tokens)
                    .unwrap_or(0),
            }),
        });
    }
}

/// Finishes the capture once, when the body ends or is dropped.
struct Once(Option<Ending>);

impl Once {
    fn finish(&mut self, caller_left: bool) {
        if let Some(ending) = self.0.take() {
            ending.finish(caller_left);
        }
    }
}

impl Drop for Once {
    fn drop(&mut self) {
        self.finish(true);
    }
}

/// The same body, each chunk also handed to the capture, which is finished when the body
/// ends, fails, or is dropped (the caller gone).
fn tap(body: Body, ending: Ending) -> Body {
    Body::new(Tapped {
        capture: Arc::clone(&ending.capture),
        once: Once(Some(ending)),
        body,
    })
}

/// See [`tap`]: one layer around the body, polled as it is.
struct Tapped {
    body: Body,
    capture: Arc<Capture>,
    once: Once,
}

impl http_body::Body for Tapped {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let next = ready!(Pin::new(&mut this.body).poll_frame(cx));
        match &next {
            Some(Ok(frame)) => {
                if let Some(chunk) = frame.data_ref() {
                    this.capture.client_chunk(chunk);
                }
            }
            Some(Err(_)) => this.once.finish(true),
            None => this.once.finish(false),
        }
        Poll::Ready(next)
    }

    // Not `is_end_stream`: the body is polled to its end, so that the end is seen here.
    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
