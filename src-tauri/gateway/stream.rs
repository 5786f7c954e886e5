//! The one stream pipeline, shared by `/v1/messages`, `/v1/chat/completions` and
//! `/v1/responses`: a [`StreamTranslator`] driven by the backend's event stream.
//!
//! Streaming callers: the backend's headers and then its events are awaited until the answer has
//! content (or [`COMMIT_AFTER`] passes), so that a failure before any content is still a real
//! HTTP error with its status; then the 200 is committed and every event is translated and
//! written as it arrives, with the translator's keep-alive frame whenever the backend is silent
//! for [`PING_EVERY`]; a later failure is written into the stream in the caller's format. A
//! backend that has not sent its headers within the first-byte bound
//! (`upstream_first_byte_timeout`) ends the answer with a timeout error, in the stream or as the
//! HTTP status. Non-streaming callers get the assembled answer as one JSON body.
//!
//! Either way the request's [`RequestInfo`] learns the time to the first content and the
//! backend's token usage.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use super::backend::Opening;
use super::error::{ApiError, ErrorKind};
use super::recent::RequestInfo;
use crate::translate::{Assembler, SseFrame, StreamTranslator};
use crate::upstream::events::EventStream;

/// Longest wait for the first content before committing the 200 (after that, keep-alive frames
/// cover the silence, and failures are written into the stream).
pub(crate) const COMMIT_AFTER: Duration = Duration::from_secs(5);

/// Interval of keep-alive frames while the upstream is silent (Claude Code shows "Waiting for
/// API response" after ~20 s without bytes; LiteLLM pings after 15 s; proxies drop idle
/// connections after 30–60 s).
pub(crate) const PING_EVERY: Duration = Duration::from_secs(10);

/// Called once with the translator when its stream has ended (normally or not), e.g. to
/// remember a finished answer.
pub(crate) type OnEnd<T> = Box<dyn FnOnce(&T) + Send>;

/// How a call is answered.
pub(crate) struct Answer<T: StreamTranslator> {
    /// An SSE stream, or the assembled answer as JSON.
    pub stream: bool,
    /// Longest wait for the backend's headers.
    pub first_byte_timeout: Duration,
    /// For the request log: model, tokens, time to the first content.
    pub info: RequestInfo,
    pub on_end: Option<OnEnd<T>>,
}

/// Answers a call whose backend request is `opening`.
pub(crate) async fn answer<T: StreamTranslator>(
    translator: T,
    opening: Opening<T::Event>,
    how: Answer<T>,
) -> Result<Response, ApiError> {
    let Answer {
        stream,
        first_byte_timeout,
        info,
        on_end,
    } = how;
    let mut response = if stream {
        stream_answer(
            translator,
            opening,
            first_byte_timeout,
            info.clone(),
            on_end,
        )
        .await?
    } else {
        let deadline = tokio::time::Instant::now() + first_byte_timeout;
        let events = first_byte(opening, deadline, first_byte_timeout).await?;
        Json(collect_answer(translator, events, &info, on_end).await?).into_response()
    };
    response.extensions_mut().insert(info);
    Ok(response)
}

/// The backend's event stream, once its headers arrived before `deadline`.
async fn first_byte<E>(
    opening: Opening<E>,
    deadline: tokio::time::Instant,
    bound: Duration,
) -> Result<EventStream<E>, ApiError> {
    tokio::time::timeout_at(deadline, opening)
        .await
        .unwrap_or_else(|_| Err(first_byte_timed_out(bound)))
}

fn first_byte_timed_out(bound: Duration) -> ApiError {
    ApiError::new(
        ErrorKind::Timeout,
        format!(
            "The ChatGPT backend did not start answering within {} seconds \
             (upstream_first_byte_timeout); the request was abandoned.",
            bound.as_secs()
        ),
    )
}

/// Reads the whole upstream stream into one answer.
async fn collect_answer<T: StreamTranslator>(
    translator: T,
    mut events: EventStream<T::Event>,
    info: &RequestInfo,
    on_end: Option<OnEnd<T>>,
) -> Result<T::Answer, ApiError> {
    let mut assembler = Assembler::new(translator);
    // Stops reading as soon as the answer is complete (a stop sequence may end it early);
    // dropping the stream closes the backend's response.
    while let Some(event) = events.next().await {
        assembler.push(&event?);
        info.observe(assembler.translator());
        if assembler.translator().is_finished() {
            break;
        }
    }
    ended(assembler.translator(), info, on_end);
    assembler.finish()
}

/// Waits for the backend's headers and pre-reads until there is content (or [`COMMIT_AFTER`]),
/// then streams.
async fn stream_answer<T: StreamTranslator>(
    mut translator: T,
    mut opening: Opening<T::Event>,
    first_byte_timeout: Duration,
    info: RequestInfo,
    on_end: Option<OnEnd<T>>,
) -> Result<Response, ApiError> {
    let started = tokio::time::Instant::now();
    let commit_at = started + COMMIT_AFTER;
    let first_byte_deadline = started + first_byte_timeout;
    let keep_alive = translator.keep_alive();
    let mut events =
        match tokio::time::timeout_at(commit_at.min(first_byte_deadline), &mut opening).await {
            Ok(opened) => opened?,
            Err(_) if first_byte_deadline <= commit_at => {
                return Err(first_byte_timed_out(first_byte_timeout));
            }
            Err(_) => {
                // The backend has not answered yet: commit now, say so with a keep-alive, and
                // go on waiting for it inside the stream.
                let mut head = translator.commit();
                head.push(keep_alive.clone());
                let rest = futures_util::stream::once(async move {
                    match first_byte(opening, first_byte_deadline, first_byte_timeout).await {
                        Ok(events) => translated(translator, events, info, on_end).left_stream(),
                        Err(error) => {
                            failed(&info, &error);
                            futures_util::stream::iter([translator.fail(&error)]).right_stream()
                        }
                    }
                })
                .flatten();
                return Ok(sse_response(
                    futures_util::stream::iter([head]).chain(rest),
                    keep_alive,
                ));
            }
        };
    let mut head = read_ahead(&mut translator, &mut events, commit_at, &info).await?;
    head.extend(translator.commit());
    let tail = translated(translator, events, info, on_end);
    Ok(sse_response(
        futures_util::stream::iter([head]).chain(tail),
        keep_alive,
    ))
}

/// Reads upstream events into `translator` until it has something to show or until
/// [`COMMIT_AFTER`] passes, so that a failure before any content is still a real HTTP error
/// with its status. Answers the frames translated so far, to be sent first.
async fn read_ahead<T: StreamTranslator>(
    translator: &mut T,
    events: &mut EventStream<T::Event>,
    deadline: tokio::time::Instant,
    info: &RequestInfo,
) -> Result<Vec<SseFrame>, ApiError> {
    let mut buffered = Vec::new();
    while !(translator.has_content() || translator.is_finished()) {
        match tokio::time::timeout_at(deadline, events.next()).await {
            // Waited long enough: commit; keep-alive frames cover the silence.
            Err(_) => break,
            // Ended without a terminal event and without content: an HTTP error.
            Ok(None) => return Err(ApiError::stream_ended_early()),
            Ok(Some(Err(error))) => return Err(error),
            Ok(Some(Ok(event))) => {
                buffered.extend(translator.push(&event));
                info.observe(translator);
            }
        }
    }
    Ok(buffered)
}

/// The rest of the upstream stream, translated as each event arrives (the frames of one event
/// together); ends after the translator's terminal frames or its error.
fn translated<T: StreamTranslator>(
    translator: T,
    events: EventStream<T::Event>,
    info: RequestInfo,
    on_end: Option<OnEnd<T>>,
) -> impl Stream<Item = Vec<SseFrame>> + Send + 'static {
    futures_util::stream::unfold(
        Some((translator, events, info, on_end)),
        |state| async move {
            let (mut translator, mut events, info, on_end) = state?;
            if translator.is_finished() {
                ended(&translator, &info, on_end);
                return None;
            }
            let frames = match events.next().await {
                Some(Ok(event)) => translator.push(&event),
                Some(Err(error)) => {
                    failed(&info, &error);
                    translator.fail(&error)
                }
                None => translator.finish(),
            };
            info.observe(&translator);
            Some((frames, Some((translator, events, info, on_end))))
        },
    )
}

/// Notes an error written into a committed stream (for the request inspector).
fn failed(info: &RequestInfo, error: &ApiError) {
    info.record_failure(
        super::middleware::log_request::outcome_of_error(error),
        error.message.clone(),
    );
}

fn ended<T: StreamTranslator>(translator: &T, info: &RequestInfo, on_end: Option<OnEnd<T>>) {
    info.observe(translator);
    if let Some(usage) = translator.usage() {
        info.record_usage(&usage);
    }
    if let Some(on_end) = on_end {
        on_end(translator);
    }
}

/// An SSE response whose body is written as `frames` yields them (the frames of one item in
/// one chunk), with `keep_alive` written whenever [`PING_EVERY`] passes without a frame.
pub(crate) fn sse_response(
    frames: impl Stream<Item = Vec<SseFrame>> + Send + 'static,
    keep_alive: SseFrame,
) -> Response {
    let frames = Box::pin(frames);
    let body = futures_util::stream::unfold(
        (frames, keep_alive),
        |(mut frames, keep_alive)| async move {
            // Counted from the last chunk written: backend events that translate to nothing
            // (an empty batch) do not put the keep-alive off.
            let ping_at = tokio::time::Instant::now() + PING_EVERY;
            loop {
                let batch = match tokio::time::timeout_at(ping_at, frames.next()).await {
                    Ok(next) => next?,
                    Err(_) => vec![keep_alive.clone()],
                };
                if !batch.is_empty() {
                    return Some((
                        Ok::<_, std::convert::Infallible>(SseFrame::join(&batch)),
                        (frames, keep_alive),
                    ));
                }
            }
        },
    );
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Proxies such as nginx must not buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    /// A backend that keeps sending events the translator writes nothing for (every 3 s, for
    /// 25 s) still gets a keep-alive to the client every [`PING_EVERY`]; the frames of one
    /// batch go out as one chunk.
    #[tokio::test(start_paused = true)]
    async fn keep_alives_are_counted_from_the_last_chunk_written_not_the_last_event() {
        let frameless = futures_util::stream::unfold(0, |n| async move {
            (n < 8).then_some(())?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            Some((Vec::new(), n + 1))
        });
        let batches = futures_util::stream::iter([vec![
            SseFrame::data("{\"a\":1}"),
            SseFrame::data("{\"b\":2}"),
        ]])
        .chain(frameless);
        let mut body = sse_response(batches, SseFrame::comment("keep-alive")).into_body();
        let mut chunks = Vec::new();
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            chunks.push(String::from_utf8(data.to_vec()).unwrap());
        }
        assert_eq!(
            chunks,
            [
                "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n",
                ": keep-alive\n\n",
                ": keep-alive\n\n",
            ]
        );
    }
}
