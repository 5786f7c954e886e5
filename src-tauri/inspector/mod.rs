//! The request inspector: both sides of each recent request, kept in memory within a byte
//! budget (`inspector_memory_mb`), and — with `serve --capture DIR` — written to one private
//! file per request by a writer thread, off the streaming path.

pub(crate) mod view;

use view::{MemoryUse, RequestDetail, RequestList};

/// The captures of a running gateway.
#[derive(Debug, Default)]
pub(crate) struct Inspector {
    budget_bytes: u64,
}

impl Inspector {
    /// A store holding at most `budget_bytes`.
    pub(crate) fn new(budget_bytes: u64) -> Self {
        Self { budget_bytes }
    }

    /// The `last` most recent captures, newest first.
    pub(crate) fn list(&self, last: usize) -> RequestList {
        let _ = last;
        RequestList {
            object: "list".to_owned(),
            data: Vec::new(),
            memory: MemoryUse {
                budget_bytes: self.budget_bytes,
                ..MemoryUse::default()
            },
            capture_dir: None,
        }
    }

    /// Both sides of capture `id`.
    pub(crate) fn detail(&self, id: &str) -> Option<RequestDetail> {
        let _ = id;
        None
    }
}
