//! Request bodies under a bound: one body may be at most `max_body_size` (413), and the bodies
//! being read or handled at once share a budget of `body_budget` bytes (503 with `retry-after`
//! when a body does not fit). Peak memory then follows from the settings, not from the clients:
//! a parsed request costs about three times its body (the bytes, the parsed values, the
//! translated request), so the budget bounds that part of memory to about three times itself.
//!
//! A body with a `Content-Length` is measured before a byte of it is kept: too large is
//! refused, and its whole size is reserved from the budget up front. A refused body is read
//! and thrown away (up to a bound) before the answer, so that the client, still writing it,
//! gets the answer rather than a reset connection. A chunked body is
//! counted as it arrives, reserving each chunk. The body is read here, whole, and handed on as
//! bytes; the reservation is held until the handler has answered (for a stream: until the
//! response headers, after which only the translated request lives on).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::gateway::error::{ApiError, ErrorKind};
use crate::settings::Settings;

/// How much of a refused body is read and thrown away before answering, and for how long.
/// Clients write the whole body before they read an answer: closing the connection on a body
/// still arriving resets it, and the client sees a broken pipe instead of the 413 or 503.
/// Discarding costs no memory; past these bounds the connection is closed anyway.
const DISCARD_BYTES: usize = 256 * 1024 * 1024;
const DISCARD_FOR: std::time::Duration = std::time::Duration::from_secs(5);

/// Seconds a client is told to wait when the budget is full: bodies are read in well under a
/// second on loopback, so a slot frees up quickly.
const BUSY_RETRY_AFTER: u64 = 1;

/// The per-request cap and the shared budget.
#[derive(Debug, Clone)]
pub(crate) struct BodyLimits {
    max_body: usize,
    /// One permit per byte (a semaphore holds at most `u32::MAX` permits; settings cap the
    /// budget at 1 GiB).
    budget: Arc<Semaphore>,
    budget_bytes: usize,
}

impl BodyLimits {
    /// A cap of `max_body` bytes per request and `budget` bytes at once (raised to `max_body`
    /// when smaller, so that one largest body always fits).
    pub(crate) fn new(max_body: usize, budget: usize) -> Self {
        let budget_bytes = budget.max(max_body).min(Semaphore::MAX_PERMITS);
        Self {
            max_body,
            budget: Arc::new(Semaphore::new(budget_bytes)),
            budget_bytes,
        }
    }

    /// The limits the settings ask for.
    pub(crate) fn from_settings(settings: &Settings) -> Self {
        Self::new(settings.max_body_size.value, settings.body_budget.value)
    }

    /// Bytes of the budget not reserved now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.budget.available_permits()
    }

    /// Reserves `bytes` more, merged into `held`; `Err` (503) when the budget cannot give them.
    fn reserve(
        &self,
        held: &mut Option<OwnedSemaphorePermit>,
        bytes: usize,
    ) -> Result<(), ApiError> {
        if bytes == 0 {
            return Ok(());
        }
        let permit = u32::try_from(bytes)
            .ok()
            .and_then(|n| Arc::clone(&self.budget).try_acquire_many_owned(n).ok())
            .ok_or_else(|| self.busy())?;
        match held {
            Some(held) => held.merge(permit),
            None => *held = Some(permit),
        }
        Ok(())
    }

    fn too_large(&self) -> ApiError {
        ApiError::new(
            ErrorKind::RequestTooLarge,
            format!(
                "The request body is larger than the gateway accepts ({}).",
                human_size(self.max_body)
            ),
        )
    }

    fn busy(&self) -> ApiError {
        let mut error = ApiError::new(
            ErrorKind::Busy,
            format!(
                "codexia is already reading as many request bodies as its memory budget allows \
                 ({}); retry in a moment.",
                human_size(self.budget_bytes)
            ),
        );
        error.retry_after = Some(BUSY_RETRY_AFTER);
        error
    }
}

/// `32 MiB`, `64 KiB` or `100 bytes`.
fn human_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Middleware: enforces [`BodyLimits`] and hands the body on whole.
pub(crate) async fn limit_bodies(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, mut body) = request.into_parts();
    let mut held = None;
    let bytes = match read_body(&limits, &parts.headers, &mut body, &mut held).await {
        Ok(bytes) => bytes,
        Err(error) => {
            drop(held);
            let _ = tokio::time::timeout(DISCARD_FOR, discard(&mut body, DISCARD_BYTES)).await;
            return error.into_response();
        }
    };
    // The request inspector keeps the body as read (a reference-counted clone).
    if let Some(capture) = parts.extensions.get::<Arc<crate::inspector::Capture>>() {
        capture.request_body(&bytes);
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    drop(held);
    response
}

/// Reads and drops up to `limit` bytes of what is left of `body`.
async fn discard(body: &mut Body, limit: usize) {
    let mut seen = 0;
    while seen <= limit {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, Bytes::len),
            Some(Err(_)) | None => return,
        }
    }
}

async fn read_body(
    limits: &BodyLimits,
    headers: &axum::http::HeaderMap,
    body: &mut Body,
    held: &mut Option<OwnedSemaphorePermit>,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut reserved = 0;
    if let Some(declared) = declared {
        let declared = usize::try_from(declared).unwrap_or(usize::MAX);
        if declared > limits.max_body {
            return Err(limits.too_large());
        }
        limits.reserve(held, declared)?;
        reserved = declared;
    }
    let mut buffer = Vec::with_capacity(reserved);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            ApiError::invalid_request(format!("Could not read the request body: {err}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let total = buffer.len() + data.len();
        if total > limits.max_body {
            return Err(limits.too_large());
        }
        if total > reserved {
            limits.reserve(held, total - reserved)?;
            reserved = total;
        }
        buffer.extend_from_slice(&data);
    }
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use pretty_assertions::assert_eq;

    fn chunked(chunks: &[&'static [u8]]) -> Body {
        let stream = futures_util::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c)))
                .collect::<Vec<_>>(),
        );
        Body::from_stream(stream)
    }

    fn with_length(length: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, length.into());
        headers
    }

    #[tokio::test]
    async fn a_declared_body_over_the_cap_is_refused_before_it_is_read() {
        let limits = BodyLimits::new(2048, 4096);
        let mut held = None;
        let err = read_body(&limits, &with_length(2049), &mut Body::empty(), &mut held)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::RequestTooLarge);
        assert_eq!(
            err.message,
            "The request body is larger than the gateway accepts (2 KiB)."
        );
        assert_eq!(limits.available(), 4096);
    }

    #[tokio::test]
    async fn a_chunked_body_is_cut_off_at_the_cap() {
        let limits = BodyLimits::new(1024, 4096);
        let mut held = None;
        let mut body = chunked(&[&[b'a'; 1000], &[b'b'; 100]]);
        let err = read_body(&limits, &HeaderMap::new(), &mut body, &mut held)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::RequestTooLarge);
    }

    #[tokio::test]
    async fn bodies_share_the_budget_until_their_reservation_is_dropped() {
        let limits = BodyLimits::new(1024, 1536);
        let mut first = None;
        let mut body = chunked(&[&[b'a'; 600], &[b'b'; 400]]);
        let bytes = read_body(&limits, &HeaderMap::new(), &mut body, &mut first)
            .await
            .unwrap();
        assert_eq!(bytes.len(), 1000);
        assert_eq!(limits.available(), 536);
        let mut second = None;
        let err = read_body(&limits, &with_length(1024), &mut Body::empty(), &mut second)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Busy);
        assert_eq!(err.retry_after, Some(1));
        drop(first);
        assert_eq!(limits.available(), 1536);
        let mut body = Body::from(vec![b'c'; 1024]);
        assert!(
            read_body(&limits, &with_length(1024), &mut body, &mut second)
                .await
                .is_ok()
        );
    }

    #[test]
    fn the_budget_always_holds_one_largest_body() {
        assert_eq!(BodyLimits::new(4096, 1024).available(), 4096);
    }
}
