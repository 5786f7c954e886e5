//! The last requests the gateway answered (time, route, model, status, duration, tokens, time to
//! the first content), for the tray's Settings window. Bounded; no bodies, no headers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Local};

use crate::protocol::responses::{ResponsesRequest, Usage};
use crate::translate::StreamTranslator;

/// How many requests are kept.
pub(crate) const KEPT: usize = 50;

/// What a request learns while its answer streams: filled in as the upstream reports it.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Input, cached input and output tokens from the backend's final usage.
    tokens: OnceLock<Tokens>,
    /// From the start of the handler to the first content the caller could see.
    first_content: OnceLock<Duration>,
    /// Output tokens spent on reasoning, from the same final usage (for the usage ledger).
    reasoning: OnceLock<u64>,
    /// What the caller asked for, when the handler says it (for the usage ledger).
    details: OnceLock<RequestDetails>,
    /// The error written into a committed stream (its kind in snake case, its message), for
    /// the request inspector.
    failure: OnceLock<(String, String)>,
}

/// What a request asked for, beyond the model that served it: for the usage ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RequestDetails {
    /// The model id the caller sent (before aliases and the Claude fallback).
    pub model_asked: Option<String>,
    /// The reasoning effort sent to the backend.
    pub effort: Option<String>,
    /// A session or conversation key from the body (`prompt_cache_key`, Claude Code's
    /// `metadata.user_id` session); the middleware already knows the session headers.
    pub session: Option<String>,
}

/// A request's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tokens {
    pub input: u64,
    pub cached: u64,
    pub output: u64,
}

/// Set by a handler as a response extension: which model served the request, and where its
/// usage and timing will appear.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub model: String,
    started: Instant,
    outcome: Arc<Outcome>,
}

impl RequestInfo {
    pub(crate) fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            started: Instant::now(),
            outcome: Arc::default(),
        }
    }

    /// Notes the time of the first content, once the translator has some.
    pub(crate) fn observe(&self, translator: &impl StreamTranslator) {
        if translator.has_content() && self.outcome.first_content.get().is_none() {
            let _first = self.outcome.first_content.set(self.started.elapsed());
        }
    }

    /// Records the backend's final usage.
    pub(crate) fn record_usage(&self, usage: &Usage) {
        let _first = self.outcome.tokens.set(Tokens {
            input: usage.input_tokens,
            cached: usage.cached_tokens(),
            output: usage.output_tokens,
        });
        let _first = self.outcome.reasoning.set(usage.reasoning_tokens());
    }

    /// Notes what the caller asked for (once; later calls are ignored).
    pub(crate) fn describe(&self, details: RequestDetails) {
        let _first = self.outcome.details.set(details);
    }

    /// Notes the error written into the stream after the commit (the first one counts).
    pub(crate) fn record_failure(&self, kind: String, message: String) {
        let _first = self.outcome.failure.set((kind, message));
    }

    /// The error written into the stream, if one was.
    pub(crate) fn failure(&self) -> Option<&(String, String)> {
        self.outcome.failure.get()
    }

    /// What the caller asked for, when a handler said it.
    pub(crate) fn details(&self) -> Option<&RequestDetails> {
        self.outcome.details.get()
    }

    /// Reasoning tokens, once the final usage is known.
    pub(crate) fn reasoning_tokens(&self) -> Option<u64> {
        self.outcome.reasoning.get().copied()
    }

    /// The tokens, once known.
    pub(crate) fn tokens(&self) -> Option<Tokens> {
        self.outcome.tokens.get().copied()
    }

    /// The time to the first content, once known.
    pub(crate) fn first_content(&self) -> Option<Duration> {
        self.outcome.first_content.get().copied()
    }
}

/// One answered request.
#[derive(Debug, Clone)]
#[cfg_attr(
    not(feature = "tray"),
    expect(dead_code, reason = "the tray's Settings window shows it")
)]
pub(crate) struct RequestRecord {
    pub at: DateTime<Local>,
    /// `POST /v1/messages`.
    pub route: String,
    pub model: Option<String>,
    pub status: u16,
    pub duration_ms: u64,
    pub input_tokens: Option<u64>,
    pub cached_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub first_content_ms: Option<u64>,
}

#[derive(Debug)]
struct Entry {
    record: RequestRecord,
    info: Option<RequestInfo>,
}

impl RequestDetails {
    /// From the model the caller asked for and the translated backend request.
    pub(crate) fn of(model_asked: &str, upstream: &ResponsesRequest) -> Self {
        Self {
            model_asked: Some(model_asked.to_owned()),
            effort: upstream.reasoning.as_ref().and_then(|r| r.effort.clone()),
            session: upstream.prompt_cache_key.clone(),
        }
    }

    /// The same from a backend request kept as JSON (the Responses pass-through).
    pub(crate) fn of_json(model_asked: Option<&str>, upstream: &serde_json::Value) -> Self {
        let text = |pointer: &str| {
            upstream
                .pointer(pointer)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Self {
            model_asked: model_asked.map(str::to_owned),
            effort: text("/reasoning/effort"),
            session: text("/prompt_cache_key"),
        }
    }
}

/// The ring of recent requests.
#[derive(Debug, Default)]
pub(crate) struct RecentRequests(Mutex<VecDeque<Entry>>);

impl RecentRequests {
    /// Adds a request, dropping the oldest beyond [`KEPT`]; its usage may arrive later, through
    /// `info`.
    pub(crate) fn push(&self, record: RequestRecord, info: Option<RequestInfo>) {
        let Ok(mut ring) = self.0.lock() else { return };
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(Entry { record, info });
    }

    /// Oldest first, with usage filled in where it has arrived.
    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        let Ok(ring) = self.0.lock() else {
            return Vec::new();
        };
        ring.iter()
            .map(|entry| {
                let mut record = entry.record.clone();
                if let Some(info) = &entry.info {
                    if let Some(tokens) = info.tokens() {
                        record.input_tokens = Some(tokens.input);
                        record.cached_tokens = Some(tokens.cached);
                        record.output_tokens = Some(tokens.output);
                    }
                    record.first_content_ms = info
                        .first_content()
                        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                }
                record
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: u16) -> RequestRecord {
        RequestRecord {
            at: Local::now(),
            route: "POST /v1/messages".into(),
            model: None,
            status,
            duration_ms: 1,
            input_tokens: None,
            cached_tokens: None,
            output_tokens: None,
            first_content_ms: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_latest_and_sees_usage_that_arrives_later() {
        let recent = RecentRequests::default();
        for i in 0..u16::try_from(KEPT + 5).unwrap() {
            recent.push(record(i), None);
        }
        let all = recent.snapshot();
        assert_eq!(all.len(), KEPT);
        assert_eq!(all[0].status, 5);
        let info = RequestInfo::new("gpt-5.5");
        recent.push(record(200), Some(info.clone()));
        assert_eq!(recent.snapshot().last().unwrap().input_tokens, None);
        info.record_usage(&Usage {
            input_tokens: 12,
            output_tokens: 3,
            ..Usage::default()
        });
        let last = recent.snapshot().pop().unwrap();
        assert_eq!(
            (last.input_tokens, last.cached_tokens, last.output_tokens),
            (Some(12), Some(0), Some(3))
        );
    }
}
