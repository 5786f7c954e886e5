//! `POST /v1/messages` (also `?beta=true`, which Claude Code always adds): the Anthropic
//! Messages API on the Codex backend. Translate the request (`translate::messages_request`),
//! open the backend stream, count the input tokens for `message_start` (a long conversation on
//! the blocking pool, while the backend answers), and answer through the one stream pipeline
//! (`gateway/stream.rs`) with the Messages translator.
//!
//! The count never delays the answer: the translator starts with a rough estimate and is handed
//! the exact count as soon as it is ready ([`Counted`]); on a long conversation whose earlier
//! turns were counted before (the memo in `translate::count_tokens`) it is ready long before the
//! backend's first event.

use std::sync::{Arc, LazyLock};

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use tokio::sync::{Semaphore, oneshot};

use crate::gateway::catalog::translate_with_catalog;
use crate::gateway::error::{ApiError, request_id_header};
use crate::gateway::extract::ApiJson;
use crate::gateway::recent::{RequestDetails, RequestInfo};
use crate::gateway::state::AppState;
use crate::gateway::{backend, scratch, stream};
use crate::inspector::Capture;
use crate::protocol::anthropic::MessageResponse;
use crate::protocol::anthropic::MessagesRequest;
use crate::protocol::responses::{ResponsesEvent, ResponsesRequest, Usage};
use crate::translate::count_tokens::{TokenCounter, estimate_request_tokens, tokenizer_loaded};
use crate::translate::messages_request::{
    ToolNameMap, header_safe_key, messages_to_responses, session_id_from_metadata,
    thinking_requested,
};
use crate::translate::messages_stream::MessagesStream;
use crate::translate::{SseFrame, StreamTranslator};

/// The header Claude Code sends with its session id (stable across a session's turns).
pub(crate) const SESSION_HEADER: &str = "x-claude-code-session-id";

/// A translated request ready to be sent.
pub(crate) struct PreparedRequest {
    pub upstream: ResponsesRequest,
    pub names: ToolNameMap,
    /// For the upstream `session_id` header.
    pub session_id: Option<String>,
}

/// Translates a Messages request (also used by count_tokens, so both see the same bytes).
pub(crate) async fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    request: &MessagesRequest,
) -> Result<PreparedRequest, ApiError> {
    let header_session = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let (upstream, names) = translate_with_catalog(state, |models| {
        messages_to_responses(request, models, header_session)
    })
    .await?;
    // Capped and hashed when over-long: it becomes a backend header (a 100 KB id made the
    // backend answer an HTML 431 page).
    let session_id = header_session
        .and_then(header_safe_key)
        .or_else(|| session_id_from_metadata(request).and_then(|id| header_safe_key(&id)));
    Ok(PreparedRequest {
        upstream,
        names,
        session_id,
    })
}

/// `POST /v1/messages`.
pub(crate) async fn create_message(
    State(state): State<AppState>,
    headers: HeaderMap,
    capture: Option<Extension<Arc<Capture>>>,
    ApiJson(request): ApiJson<MessagesRequest>,
) -> Result<Response, ApiError> {
    let prepared = prepare(&state, &headers, &request).await?;
    let info = RequestInfo::new(prepared.upstream.model.clone());
    info.describe(RequestDetails::of(&request.model, &prepared.upstream));
    // Shared by the backend call and the count: a long conversation is not copied.
    let upstream = Arc::new(prepared.upstream);
    let opening = backend::open_stream::<ResponsesEvent>(
        state.clone(),
        SharedRequest(Arc::clone(&upstream)),
        backend::body_size(&headers),
        prepared.session_id,
        capture.map(|Extension(capture)| capture),
    );
    let rough = estimate_request_tokens(&upstream);
    let exact = if rough <= COUNT_INLINE_MAX && tokenizer_loaded() {
        count_now(&upstream)
    } else {
        count_in_background(upstream)
    };
    let translator = MessagesStream::new(request.model.clone(), prepared.names, rough)
        .with_thinking(thinking_requested(&request))
        .with_stop_sequences(&request.stop_sequences);
    let how = stream::Answer {
        stream: request.stream.unwrap_or(false),
        first_byte_timeout: state.first_byte_timeout(),
        info,
        on_end: None,
    };
    let mut response = stream::answer(Counted::new(translator, exact), opening, how).await?;
    response
        .headers_mut()
        .insert("request-id", request_id_header());
    Ok(response)
}

/// Requests estimated at no more tokens than this are counted right away, on the request's own
/// task: a microsecond or two before the backend call starts, cheaper than handing the count to
/// the blocking pool and back.
const COUNT_INLINE_MAX: u64 = 2_048;

/// The exact input count of a small `request`, counted now.
fn count_now(request: &ResponsesRequest) -> oneshot::Receiver<u64> {
    let (sender, receiver) = oneshot::channel();
    let _ = sender.send(TokenCounter::shared().count_request(request));
    scratch::counted();
    receiver
}

/// The exact input count of `request` in the background (see [`count_exact`]); the receiver
/// gets it once it is ready.
fn count_in_background(request: Arc<ResponsesRequest>) -> oneshot::Receiver<u64> {
    let (sender, receiver) = oneshot::channel();
    tokio::spawn(async move {
        if let Some(tokens) = count_exact(request).await {
            // Nobody waiting any more (the answer ended first) is fine: the memo was filled.
            let _ = sender.send(tokens);
        }
    });
    receiver
}

/// Counts run on at most one blocking thread per core: more in parallel finish no sooner, and
/// every thread that has counted keeps the tokenizer's scratch space (its pre-tokenizer's
/// regex cache, a few MB) for the life of the process, so 32 concurrent long requests would
/// otherwise leave 32 of them behind.
static COUNTING: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get))
});

/// The exact input count of `request` with the process's memo, on the blocking pool (a long
/// conversation the memo has not seen takes milliseconds); `None` if the count failed.
pub(crate) async fn count_exact(request: Arc<ResponsesRequest>) -> Option<u64> {
    let _permit = COUNTING.acquire().await.ok()?;
    let tokens =
        tokio::task::spawn_blocking(move || TokenCounter::shared().count_request(&request))
            .await
            .ok();
    scratch::counted();
    tokens
}

/// A translated request shared between tasks, written to the backend as the request itself.
struct SharedRequest(Arc<ResponsesRequest>);

impl serde::Serialize for SharedRequest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The Messages translator, given the exact input count as soon as it arrives: before each
/// event it takes the count if it is ready (without waiting), so the translator itself stays a
/// pure state machine fed plain values.
struct Counted {
    inner: MessagesStream,
    exact: Option<oneshot::Receiver<u64>>,
}

impl Counted {
    fn new(inner: MessagesStream, exact: oneshot::Receiver<u64>) -> Self {
        Self {
            inner,
            exact: Some(exact),
        }
    }

    /// Hands the exact count to the translator once it is ready.
    fn take_count(&mut self) {
        let Some(exact) = self.exact.as_mut() else {
            return;
        };
        match exact.try_recv() {
            Ok(tokens) => {
                self.inner.set_input_estimate(tokens);
                self.exact = None;
            }
            Err(oneshot::error::TryRecvError::Empty) => {}
            // The count failed (a panic in the tokenizer): the rough estimate stays.
            Err(oneshot::error::TryRecvError::Closed) => self.exact = None,
        }
    }
}

impl StreamTranslator for Counted {
    type Event = ResponsesEvent;
    type Answer = MessageResponse;

    fn push(&mut self, event: &ResponsesEvent) -> Vec<SseFrame> {
        self.take_count();
        self.inner.push(event)
    }

    fn fail(&mut self, error: &ApiError) -> Vec<SseFrame> {
        self.take_count();
        self.inner.fail(error)
    }

    fn has_content(&self) -> bool {
        self.inner.has_content()
    }

    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    fn keep_alive(&self) -> SseFrame {
        self.inner.keep_alive()
    }

    fn usage(&self) -> Option<Usage> {
        self.inner.usage()
    }

    fn into_answer(self) -> Option<MessageResponse> {
        self.inner.into_answer()
    }

    fn commit(&mut self) -> Vec<SseFrame> {
        self.take_count();
        self.inner.commit()
    }

    fn finish(&mut self) -> Vec<SseFrame> {
        self.take_count();
        self.inner.finish()
    }
}
