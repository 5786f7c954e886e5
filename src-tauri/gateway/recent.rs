//! The last requests the gateway answered (time, route, model, status, duration, tokens), for
//! the tray's Settings window. Bounded; no bodies, no headers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Local};

/// How many requests are kept.
pub const KEPT: usize = 50;

/// Token usage of a request, filled in when the upstream reports it (at the end of a stream).
pub type UsageSlot = Arc<OnceLock<(u64, u64)>>;

/// Set by a handler as a response extension: which model served the request, and where its
/// usage will appear.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub model: String,
    pub usage: UsageSlot,
}

impl RequestInfo {
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            usage: Arc::new(OnceLock::new()),
        }
    }
}

/// One answered request.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: DateTime<Local>,
    /// `POST /v1/messages`.
    pub route: String,
    pub model: Option<String>,
    pub status: u16,
    pub duration_ms: u64,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

#[derive(Debug)]
struct Entry {
    record: RequestRecord,
    usage: Option<UsageSlot>,
}

/// The ring of recent requests.
#[derive(Debug, Default)]
pub struct RecentRequests(Mutex<VecDeque<Entry>>);

impl RecentRequests {
    /// Adds a request, dropping the oldest beyond [`KEPT`].
    pub fn push(&self, record: RequestRecord, usage: Option<UsageSlot>) {
        let Ok(mut ring) = self.0.lock() else { return };
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(Entry { record, usage });
    }

    /// Oldest first, with usage filled in where it has arrived.
    pub fn snapshot(&self) -> Vec<RequestRecord> {
        let Ok(ring) = self.0.lock() else {
            return Vec::new();
        };
        ring.iter()
            .map(|entry| {
                let mut record = entry.record.clone();
                if let Some((input, output)) = entry.usage.as_ref().and_then(|u| u.get()) {
                    record.input_tokens = Some(*input);
                    record.output_tokens = Some(*output);
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
            output_tokens: None,
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
        let slot: UsageSlot = Arc::default();
        recent.push(record(200), Some(Arc::clone(&slot)));
        assert_eq!(recent.snapshot().last().unwrap().input_tokens, None);
        slot.set((12, 3)).unwrap();
        assert_eq!(recent.snapshot().last().unwrap().output_tokens, Some(3));
    }
}
