//! The responses this process served, kept in memory so that `/v1/responses` can honour
//! `previous_response_id` although the backend stores nothing (`store:false`). Bounded by count
//! and by size; the oldest entries go first. Nothing survives a restart, and the 400 for an
//! unknown id says so.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

/// Most responses kept.
pub(crate) const MAX_RESPONSES: usize = 64;
/// Most bytes (serialised JSON) kept across all responses; conversations carry base64 images.
pub(crate) const MAX_BYTES: usize = 64 * 1024 * 1024;

/// Earlier conversations by response id: the input items sent upstream followed by the output
/// items of the answer.
#[derive(Debug, Default)]
pub(crate) struct ResponseStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    order: VecDeque<String>,
    entries: HashMap<String, (Arc<Vec<Value>>, usize)>,
    bytes: usize,
}

impl ResponseStore {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a stale entry; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps the conversation of response `id` (replacing an entry with the same id).
    pub(crate) fn insert(&self, id: &str, items: Vec<Value>) {
        let size: usize = items.iter().map(|item| item.to_string().len()).sum();
        if size > MAX_BYTES {
            return;
        }
        let mut inner = self.lock();
        if let Some((_, old)) = inner.entries.remove(id) {
            inner.bytes -= old;
            inner.order.retain(|known| known != id);
        }
        while inner.order.len() >= MAX_RESPONSES || inner.bytes + size > MAX_BYTES {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, old)) = inner.entries.remove(&oldest) {
                inner.bytes -= old;
            }
        }
        inner.order.push_back(id.to_owned());
        inner.entries.insert(id.to_owned(), (Arc::new(items), size));
        inner.bytes += size;
    }

    /// The conversation of response `id`, if it is still kept.
    pub(crate) fn get(&self, id: &str) -> Option<Vec<Value>> {
        let inner = self.lock();
        inner
            .entries
            .get(id)
            .map(|(items, _)| items.as_ref().clone())
    }

    /// How many responses are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_oldest_responses_are_forgotten_first() {
        let store = ResponseStore::default();
        for n in 0..=MAX_RESPONSES {
            store.insert(&format!("resp_{n}"), vec![json!({"n": n})]);
        }
        assert_eq!(store.len(), MAX_RESPONSES);
        assert_eq!(store.get("resp_0"), None);
        assert_eq!(store.get("resp_1"), Some(vec![json!({"n": 1})]));
        store.insert("resp_1", vec![json!("again")]);
        assert_eq!(store.get("resp_1"), Some(vec![json!("again")]));
        assert_eq!(store.len(), MAX_RESPONSES);
    }

    #[test]
    fn the_size_bound_evicts_until_the_new_entry_fits() {
        let store = ResponseStore::default();
        let big = "x".repeat(MAX_BYTES / 2);
        store.insert("a", vec![json!(big)]);
        store.insert("b", vec![json!(big)]);
        assert_eq!(store.get("a"), None);
        assert!(store.get("b").is_some());
        store.insert("huge", vec![json!("x".repeat(MAX_BYTES + 1))]);
        assert_eq!(store.get("huge"), None);
    }
}
