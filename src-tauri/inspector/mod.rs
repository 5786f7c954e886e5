//! The request inspector: both sides of each recent request, kept in memory within a byte
//! budget (`inspector_memory_mb`), and — with `serve --capture DIR` — written to one private
//! file per request by a writer thread (`disk.rs`).
//!
//! The gateway feeds a [`Capture`] as the request goes: the client's request, the backend
//! request, each backend event and each chunk written to the client. On the streaming path a
//! push hands over the event as the SSE reader made it (or a reference-counted `Bytes` clone of
//! a chunk) under a short lock; parsing, redaction and JSON are done only when someone reads a
//! capture (`render.rs`), or on the writer thread.
//!
//! The budget: every item counts its bytes plus [`ITEM_OVERHEAD`], and each capture
//! [`CAPTURE_OVERHEAD`] for its own record. Before an item is added, the oldest captures are
//! dropped until it fits, so the total never exceeds the budget; an item that would take one
//! capture past the whole budget is cut (a truncation marker says how much is missing) and later
//! items of that capture are not kept. A capture counts bytes ahead in blocks of
//! [`CREDIT_BLOCK`] and pays its small items (events, chunks) from them, so a streamed answer
//! takes the store's lock once per block, not once per event; what is left goes back when the
//! request ends.
//!
//! Headers are kept as they came, in one buffer per message, and redacted like everything else
//! when read; only the values of headers whose name says they are secret (`authorization`, …)
//! are never kept (see [`Headers`]).
//!
//! What a finished capture repeats of an older one (the conversation a client sends again each
//! turn, the backend's events that echo the instructions and tools) is kept once: the older
//! capture keeps slices of the newer one's bytes and a copy of what differs (`share.rs`), and
//! is counted for that copy only.

pub(crate) mod diff;
pub(crate) mod disk;
mod render;
mod share;
pub(crate) mod view;

use std::borrow::Cow;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::redact;

use view::{ErrorView, MemoryUse, RequestDetail, RequestList, TokensView};

/// Bytes counted for each kept item besides its content (its place in the vectors, its time,
/// its strings' headers), so that many tiny items cannot escape the budget.
pub(crate) const ITEM_OVERHEAD: usize = 64;

/// Bytes counted for a capture itself besides its items: its record (the messages' fields, the
/// lists, the outcome, about 0.8 KB) and its route and client names.
const CAPTURE_OVERHEAD: usize = std::mem::size_of::<Capture>() + 2 * ITEM_OVERHEAD;

/// Bytes a capture counts ahead at a time (see the module's comment on the budget), at most a
/// 64th of the budget, so that the captures running at once hold little of it unused.
const CREDIT_BLOCK: usize = 16 * 1024;

/// The bytes to count for an item that needs `need` more than the credit has, when the budget
/// is `budget` and the capture may take `room` more.
fn block(need: usize, budget: usize, room: usize) -> usize {
    need.max(CREDIT_BLOCK.min(budget / 64).min(room))
}

/// The captures of a running gateway.
#[derive(Debug, Clone)]
pub(crate) struct Inspector(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    budget: usize,
    next_id: AtomicU64,
    store: Mutex<Store>,
    disk: Option<disk::DiskWriter>,
}

#[derive(Debug, Default)]
struct Store {
    /// Oldest first.
    kept: VecDeque<Arc<Capture>>,
    /// Bytes counted by the kept captures.
    total: usize,
    dropped: u64,
    /// The ids of the finished captures that kept a long body or event (see `share.rs`),
    /// oldest first.
    long: VecDeque<u64>,
}

/// One request being captured (or finished). Shared by the gateway's hooks and the store.
#[derive(Debug)]
pub(crate) struct Capture {
    id: u64,
    at: DateTime<Utc>,
    started: Instant,
    /// Counted bytes (the credit included); changed only under the store's lock.
    bytes: AtomicUsize,
    /// Dropped from the store: nothing more is kept.
    evicted: AtomicBool,
    /// An item was cut: nothing more is kept.
    full: AtomicBool,
    data: Mutex<Data>,
    shared: std::sync::Weak<Shared>,
}

/// What a capture holds; turned into the JSON views by `render.rs`.
#[derive(Debug, Default)]
struct Data {
    route: String,
    client: String,
    client_version: Option<String>,
    client_request: Message,
    upstream_request: Option<Message>,
    upstream_status: Option<u16>,
    upstream_events: Vec<UpstreamEvent>,
    client_response: Message,
    /// The chunks of the client's response body, each with its time.
    client_chunks: Vec<(u64, Bytes)>,
    /// Bytes of the client's body not kept (after the capture was full).
    client_chunks_cut: u64,
    streamed_response: bool,
    outcome: Outcome,
    truncated: bool,
    /// Bytes counted for this capture and not used yet.
    credit: usize,
}

/// A request or response as captured: headers and body as sent (redacted when read).
#[derive(Debug, Default, Clone)]
pub(crate) struct Message {
    pub method: Option<String>,
    pub url: Option<String>,
    pub status: Option<u16>,
    pub headers: Headers,
    pub body: Bytes,
    /// The body's full size; more than the bytes kept when it was cut.
    pub body_len: u64,
    /// The body in pieces, when it shares bytes with newer captures (`body` is then empty);
    /// set by the inspector only (`share.rs`).
    pub pieces: Vec<Bytes>,
}

impl Message {
    /// The body's bytes as kept.
    fn contents(&self) -> Cow<'_, [u8]> {
        share::contents(&self.body, &self.pieces)
    }

    /// The size of what is counted for it (before any sharing).
    fn size(&self) -> usize {
        2 * ITEM_OVERHEAD
            + self.method.as_ref().map_or(0, String::len)
            + self.url.as_ref().map_or(0, String::len)
            + self.headers.0.len()
            + self.body.len()
    }
}

/// A message's headers as captured, in their order, in one buffer (`name\0value\0` each: no
/// header name or value holds a NUL). A value that is not text is kept lossily. The value of a
/// header whose name says it is secret is kept only as it is shown (`Bearer [redacted]`,
/// [`redact::secret_header_value`]): the capture never holds a token. The rest is redacted when
/// read, with the rest of the capture.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Headers(String);

/// Room for what is shown for a secret header's value (`Bearer [redacted]`).
const SHOWN_SECRET_ROOM: usize = 24;

impl Headers {
    pub(crate) fn of(headers: &axum::http::HeaderMap) -> Self {
        // A secret value is not kept: its room is that of what is shown for it.
        let room = headers
            .iter()
            .map(|(name, value)| {
                let value = if redact::is_secret_header(name.as_str()) {
                    SHOWN_SECRET_ROOM
                } else {
                    value.len()
                };
                name.as_str().len() + value + 2
            })
            .sum();
        let mut text = String::with_capacity(room);
        for (name, value) in headers {
            let value = match value.to_str() {
                Ok(value) => Cow::Borrowed(value),
                Err(_) => String::from_utf8_lossy(value.as_bytes()),
            };
            text.push_str(name.as_str());
            text.push('\0');
            match redact::secret_header_value(name.as_str(), &value) {
                Some(shown) => text.push_str(&shown),
                None => text.push_str(&value),
            }
            text.push('\0');
        }
        Self(text)
    }

    /// `(name, value)` in their order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut parts = self.0.split_terminator('\0');
        std::iter::from_fn(move || Some((parts.next()?, parts.next()?)))
    }
}

#[derive(Debug)]
struct UpstreamEvent {
    ms: u64,
    event: String,
    /// The data as it arrived (empty when in `pieces`, see `share.rs`).
    data: Bytes,
    pieces: Vec<Bytes>,
}

impl UpstreamEvent {
    /// The data's bytes as kept.
    fn contents(&self) -> Cow<'_, [u8]> {
        share::contents(&self.data, &self.pieces)
    }
}

/// How a request ended and what the gateway learnt about it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub state: RequestState,
    pub status: Option<u16>,
    pub error: Option<ErrorView>,
    pub model: Option<String>,
    pub model_asked: Option<String>,
    pub stream: Option<bool>,
    pub duration_ms: Option<u64>,
    pub first_content_ms: Option<u64>,
    pub tokens: Option<TokensView>,
}

/// Where a request is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestState {
    #[default]
    InProgress,
    Ok,
    Error,
    Incomplete,
    Cancelled,
}

impl RequestState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Incomplete => "incomplete",
            Self::Cancelled => "cancelled",
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a capture's lock leaves at worst a half-pushed item: keep going.
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn ms_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Inspector {
    /// A store holding at most `budget_bytes` (0: capture is off), writing finished captures to
    /// `capture_dir` when given.
    pub(crate) fn new(budget_bytes: usize, capture_dir: Option<PathBuf>) -> Self {
        Self(Arc::new(Shared {
            budget: budget_bytes,
            next_id: AtomicU64::new(1),
            store: Mutex::default(),
            disk: capture_dir.map(disk::DiskWriter::start),
        }))
    }

    /// Whether requests are captured at all.
    pub(crate) fn is_on(&self) -> bool {
        self.0.budget > 0
    }

    /// Starts capturing a request: `client_request` without its body (see
    /// [`Capture::request_body`]). `None` when capture is off.
    pub(crate) fn begin(
        &self,
        route: String,
        client: String,
        client_version: Option<String>,
        client_request: Message,
    ) -> Option<Arc<Capture>> {
        if !self.is_on() {
            return None;
        }
        let size = client_request.size() + CAPTURE_OVERHEAD;
        let budget = self.0.budget;
        let block = block(size, budget, budget);
        // The id is taken under the store's lock, so the kept captures stay in id order
        // (`share_long_items` looks them up by id); the first block is counted under the same
        // lock.
        let mut store = lock(&self.0.store);
        let capture = Arc::new(Capture {
            id: self.0.next_id.fetch_add(1, Ordering::Relaxed),
            at: Utc::now(),
            started: Instant::now(),
            bytes: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            full: AtomicBool::new(false),
            data: Mutex::new(Data {
                route,
                client,
                client_version,
                ..Data::default()
            }),
            shared: Arc::downgrade(&self.0),
        });
        store.kept.push_back(Arc::clone(&capture));
        let (kept, evicted) = capture.count(&mut store, block, budget);
        drop(store);
        capture.release(evicted);
        if kept {
            let mut client_request = client_request;
            client_request.body_len = client_request.body.len() as u64;
            let mut data = lock(&capture.data);
            data.credit = block - size;
            data.client_request = client_request;
        }
        Some(capture)
    }

    /// Waits until the captures finished so far are on disk (blocking; no-op without
    /// `--capture`).
    pub(crate) fn flush_disk(&self) {
        if let Some(disk) = &self.0.disk {
            disk.flush();
        }
    }

    /// The `last` most recent captures, newest first, and the memory they use.
    pub(crate) fn list(&self, last: usize) -> RequestList {
        let (captures, memory) = self.snapshot(last);
        RequestList {
            object: "list".to_owned(),
            data: captures.iter().map(|c| c.summary()).collect(),
            memory,
            capture_dir: self
                .0
                .disk
                .as_ref()
                .map(|disk| disk.dir().display().to_string()),
        }
    }

    /// Both sides of capture `id` (`req_12`), redacted.
    pub(crate) fn detail(&self, id: &str) -> Option<RequestDetail> {
        let number: u64 = id.strip_prefix("req_")?.parse().ok()?;
        let capture = {
            let store = lock(&self.0.store);
            store.kept.iter().find(|c| c.id == number).cloned()
        }?;
        Some(capture.detail())
    }

    /// The memory use alone.
    #[cfg(test)]
    pub(crate) fn memory(&self) -> MemoryUse {
        self.snapshot(0).1
    }

    fn snapshot(&self, last: usize) -> (Vec<Arc<Capture>>, MemoryUse) {
        let store = lock(&self.0.store);
        let captures = store.kept.iter().rev().take(last).cloned().collect();
        let memory = MemoryUse {
            bytes: store.total as u64,
            budget_bytes: self.0.budget as u64,
            kept: store.kept.len() as u64,
            dropped: store.dropped,
        };
        (captures, memory)
    }
}

impl Capture {
    /// `req_12`.
    pub(crate) fn id(&self) -> String {
        format!("req_{}", self.id)
    }

    /// Names the client (a named API key's name is the client).
    pub(crate) fn set_client(&self, client: String, version: Option<String>) {
        let mut data = lock(&self.data);
        data.client = client;
        data.client_version = version;
    }

    /// Milliseconds since the request arrived.
    pub(crate) fn elapsed_ms(&self) -> u64 {
        ms_since(self.started)
    }

    /// Counts `size` more bytes for this capture, dropping the oldest captures until they fit.
    /// `false` when the item is not to be kept (this capture was dropped, is full, or the item
    /// alone would take it past the whole budget — then it is marked full).
    fn reserve(&self, size: usize) -> bool {
        let Some(shared) = self.shared.upgrade() else {
            return false;
        };
        if self.evicted.load(Ordering::Relaxed) || self.full.load(Ordering::Relaxed) {
            return false;
        }
        let (kept, evicted) = self.count(&mut lock(&shared.store), size, shared.budget);
        self.release(evicted);
        kept
    }

    /// [`Capture::reserve`] under the store's lock: whether `size` is counted, and the captures
    /// dropped for it (to be emptied by [`Capture::release`] once the lock is let go).
    fn count(&self, store: &mut Store, size: usize, budget: usize) -> (bool, Vec<Arc<Capture>>) {
        let mut evicted = Vec::new();
        let mine = self.bytes.load(Ordering::Relaxed);
        if mine + size > budget {
            self.full.store(true, Ordering::Relaxed);
            return (false, evicted);
        }
        while store.total + size > budget {
            let Some(oldest) = store.kept.pop_front() else {
                break;
            };
            oldest.evicted.store(true, Ordering::Relaxed);
            store.total -= oldest.bytes.load(Ordering::Relaxed);
            store.dropped += 1;
            evicted.push(oldest);
        }
        if self.evicted.load(Ordering::Relaxed) {
            return (false, evicted);
        }
        store.total += size;
        self.bytes.fetch_add(size, Ordering::Relaxed);
        (true, evicted)
    }

    /// Frees what the dropped captures held, outside the store's lock (a request still running
    /// keeps only its empty shell).
    fn release(&self, evicted: Vec<Arc<Capture>>) {
        for capture in evicted {
            if !std::ptr::eq(Arc::as_ptr(&capture), self) {
                *lock(&capture.data) = Data::default();
            }
        }
    }

    /// Counts `size` bytes for an item, paid from the credit when it is enough (else a block
    /// more is counted), and returns the data to add the item to; `None` when the item is not
    /// to be kept (see [`Capture::reserve`]).
    fn admit(&self, size: usize) -> Option<MutexGuard<'_, Data>> {
        if self.evicted.load(Ordering::Relaxed) || self.full.load(Ordering::Relaxed) {
            return None;
        }
        // Lock order: a capture's data, then the store (nothing takes them the other way).
        let mut data = lock(&self.data);
        if data.credit >= size {
            data.credit -= size;
            return Some(data);
        }
        let need = size - data.credit;
        let budget = self.budget();
        let room = budget.saturating_sub(self.bytes.load(Ordering::Relaxed));
        let block = block(need, budget, room);
        if !self.reserve(block) {
            return None;
        }
        data.credit += block;
        data.credit -= size;
        Some(data)
    }

    /// Gives the bytes counted ahead and not used back to the store.
    fn return_credit(&self) {
        let credit = std::mem::take(&mut lock(&self.data).credit);
        let Some(shared) = self.shared.upgrade().filter(|_| credit > 0) else {
            return;
        };
        let mut store = lock(&shared.store);
        if !self.evicted.load(Ordering::Relaxed) {
            store.total -= credit;
            self.bytes.fetch_sub(credit, Ordering::Relaxed);
        }
    }

    fn budget(&self) -> usize {
        self.shared.upgrade().map_or(0, |s| s.budget)
    }

    /// Bytes this capture may still take before it alone reaches the budget.
    fn room(&self) -> usize {
        let credit = lock(&self.data).credit;
        self.budget()
            .saturating_sub(self.bytes.load(Ordering::Relaxed))
            .saturating_add(credit)
    }

    /// Marks the capture as cut.
    fn cut(&self) {
        lock(&self.data).truncated = true;
    }

    /// The client's request body (read whole by the body-limit middleware). A body larger
    /// than the room left is cut (copied, so that the rest of it is not held).
    pub(crate) fn request_body(&self, body: &Bytes) {
        let len = body.len();
        let (kept, cut) = fit(body, self.room().saturating_sub(ITEM_OVERHEAD));
        let Some(mut data) = self.admit(kept.len()) else {
            self.cut();
            return;
        };
        data.client_request.body = kept;
        data.client_request.body_len = len as u64;
        data.truncated |= cut;
        if cut {
            self.full.store(true, Ordering::Relaxed);
        }
    }

    /// The request sent to the backend.
    pub(crate) fn upstream_request(&self, mut message: Message) {
        let len = message.body.len();
        let (kept, cut) = fit(
            &message.body,
            self.room().saturating_sub(message.size() - len),
        );
        message.body = kept;
        message.body_len = len as u64;
        let Some(mut data) = self.admit(message.size()) else {
            self.cut();
            return;
        };
        data.upstream_request = Some(message);
        data.truncated |= cut;
        if cut {
            self.full.store(true, Ordering::Relaxed);
        }
    }

    /// Shares this finished capture's long bodies and events with the older captures that
    /// repeat them (see `share.rs`).
    fn share_long_items(&self) {
        let items: Vec<(Item, Bytes)> = {
            let data = lock(&self.data);
            let mut items = Vec::new();
            let body = |m: &Message| {
                let whole_len = usize::try_from(m.body_len).unwrap_or(usize::MAX);
                share::shareable(&m.body, &m.pieces, whole_len).then(|| m.body.clone())
            };
            if let Some(bytes) = body(&data.client_request) {
                items.push((Item::Client, bytes));
            }
            if let Some(bytes) = data.upstream_request.as_ref().and_then(body) {
                items.push((Item::Upstream, bytes));
            }
            for event in &data.upstream_events {
                if share::shareable(&event.data, &event.pieces, event.data.len()) {
                    items.push((Item::Event(event.event.clone()), event.data.clone()));
                }
            }
            items
        };
        if items.is_empty() || self.evicted.load(Ordering::Relaxed) {
            return;
        }
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let older: Vec<Arc<Capture>> = {
            let mut store = lock(&shared.store);
            let oldest = store.kept.front().map_or(u64::MAX, |c| c.id);
            store.long.retain(|id| *id >= oldest);
            if let Err(at) = store.long.binary_search(&self.id) {
                store.long.insert(at, self.id);
            }
            let older: Vec<Arc<Capture>> = store
                .long
                .iter()
                .filter(|id| **id < self.id)
                .filter_map(|id| {
                    let at = store.kept.binary_search_by_key(id, |c| c.id).ok()?;
                    store.kept.get(at).cloned()
                })
                .collect();
            older
        };
        for (item, new) in &items {
            share_with_older(&shared, &older, item, new);
        }
    }

    /// This capture's first whole `item` that repeats most of `new`, rewritten as slices of
    /// `new` around its own differing middle: the bytes given up and the pieces, or `None`.
    fn rebase(&self, item: &Item, new: &Bytes) -> Option<(Bytes, Vec<Bytes>)> {
        let mut data = lock(&self.data);
        if self.evicted.load(Ordering::Relaxed) {
            return None;
        }
        for (bytes, pieces, whole_len) in data.items(Some(item)) {
            if !share::shareable(bytes, pieces, whole_len) {
                continue;
            }
            if let Some(rebased) = share::rebase(bytes, new) {
                pieces.clone_from(&rebased);
                return Some((std::mem::take(bytes), rebased));
            }
        }
        None
    }

    /// The backend's status.
    pub(crate) fn upstream_status(&self, status: u16) {
        lock(&self.data).upstream_status = Some(status);
    }

    /// One backend event, as it arrived (kept as it is: the SSE reader gives each event's data
    /// a buffer of its own, of its size).
    pub(crate) fn upstream_event(&self, event: String, data: String) {
        let ms = self.elapsed_ms();
        let Some(mut kept) = self.admit(event.len() + data.len() + ITEM_OVERHEAD) else {
            self.cut();
            return;
        };
        kept.upstream_events.push(UpstreamEvent {
            ms,
            event,
            data: Bytes::from(data),
            pieces: Vec::new(),
        });
    }

    /// The client's response head.
    pub(crate) fn response_head(&self, status: u16, headers: Headers, streamed: bool) {
        let message = Message {
            status: Some(status),
            headers,
            ..Message::default()
        };
        if let Some(mut data) = self.admit(message.size()) {
            data.streamed_response = streamed;
            data.client_response = message;
        } else {
            let mut data = lock(&self.data);
            data.streamed_response = streamed;
            data.client_response.status = Some(status);
            data.truncated = true;
        }
    }

    /// One chunk written to the client (a reference-counted clone of the bytes sent).
    pub(crate) fn client_chunk(&self, chunk: &Bytes) {
        let ms = self.elapsed_ms();
        if let Some(mut data) = self.admit(chunk.len() + ITEM_OVERHEAD) {
            data.client_chunks.push((ms, chunk.clone()));
        } else {
            let mut data = lock(&self.data);
            data.client_chunks_cut += chunk.len() as u64;
            data.truncated = true;
        }
    }

    /// The request has ended: what the gateway learnt. Hands the capture to the disk writer
    /// when there is one (a `try_send`: nothing waits for the disk).
    pub(crate) fn finish(self: &Arc<Self>, mut outcome: Outcome) {
        outcome.duration_ms.get_or_insert(self.elapsed_ms());
        lock(&self.data).outcome = outcome;
        self.return_credit();
        self.share_long_items();
        let Some(disk) = self.shared.upgrade().and_then(|s| s.disk.clone()) else {
            return;
        };
        if self.evicted.load(Ordering::Relaxed) {
            // Dropped while it ran: nothing is left to write.
            tracing::warn!(
                "{} was dropped from memory before it ended (raise inspector_memory_mb); no capture file",
                self.id()
            );
            return;
        }
        disk.send(Arc::clone(self));
    }
}

/// `bytes` if it fits in `room`, else a copy of its first `room` bytes and `true`.
/// Bodies shorter than this are copied when kept rather than held as they came: a small body is
/// a view into the buffer hyper read it with (up to 64 KiB), and holding it would keep that
/// whole buffer alive, unseen by the budget.
const COPY_BELOW: usize = 64 * 1024;

/// What a capture keeps that may be shared: a request body, or the data of a backend event
/// of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Client,
    Upstream,
    Event(String),
}

impl Data {
    /// The kept bytes of `item` (all items for `None`): each as its whole bytes, its pieces and
    /// the length it had whole (more than kept when it was cut).
    fn items(&mut self, item: Option<&Item>) -> Vec<(&mut Bytes, &mut Vec<Bytes>, usize)> {
        fn whole(m: &mut Message) -> (&mut Bytes, &mut Vec<Bytes>, usize) {
            let len = usize::try_from(m.body_len).unwrap_or(usize::MAX);
            (&mut m.body, &mut m.pieces, len)
        }
        let mut items = Vec::new();
        if matches!(item, None | Some(Item::Client)) {
            items.push(whole(&mut self.client_request));
        }
        if matches!(item, None | Some(Item::Upstream))
            && let Some(message) = self.upstream_request.as_mut()
        {
            items.push(whole(message));
        }
        for event in &mut self.upstream_events {
            let wanted = match item {
                None => true,
                Some(Item::Event(name)) => *name == event.event,
                Some(_) => false,
            };
            if wanted {
                let len = event.data.len() + event.pieces.iter().map(Bytes::len).sum::<usize>();
                items.push((&mut event.data, &mut event.pieces, len));
            }
        }
        items
    }
}

/// Lets the newest of `older` (oldest first) whose `item` repeats most of `new` give its own
/// copy up for slices of `new`, remaps the captures before it that held slices of that copy,
/// and counts it for what it still owns.
fn share_with_older(shared: &Shared, older: &[Arc<Capture>], item: &Item, new: &Bytes) {
    /// Older captures compared, newest first (other sessions' turns come in between).
    const CANDIDATES: usize = 16;
    for (at, candidate) in older.iter().enumerate().rev().take(CANDIDATES) {
        let Some((old, rebased)) = candidate.rebase(item, new) else {
            continue;
        };
        // The captures before it that held slices of the bytes given up now hold the same
        // bytes of their new pieces.
        for before in &older[..at] {
            let mut data = lock(&before.data);
            for (_, pieces, _) in data.items(None) {
                if let Some(remapped) = share::remap(pieces, &old, &rebased) {
                    *pieces = remapped;
                }
            }
        }
        let freed = old.len() - share::owned(&rebased, new);
        let mut store = lock(&shared.store);
        if !candidate.evicted.load(Ordering::Relaxed) {
            store.total -= freed;
            candidate.bytes.fetch_sub(freed, Ordering::Relaxed);
        }
        return;
    }
}

/// The part of `bytes` that fits in `room`, and whether it was cut. A body is held as it came
/// only when it is at least [`COPY_BELOW`] long and kept whole.
fn fit(bytes: &Bytes, room: usize) -> (Bytes, bool) {
    if bytes.len() > room {
        (Bytes::copy_from_slice(&bytes[..room]), true)
    } else if bytes.len() < COPY_BELOW {
        (Bytes::copy_from_slice(bytes), false)
    } else {
        (bytes.clone(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn request(body: &[u8]) -> (Message, Bytes) {
        (
            Message {
                method: Some("POST".into()),
                url: Some("/v1/messages".into()),
                headers: Headers::of(&axum::http::HeaderMap::from_iter([(
                    axum::http::header::HeaderName::from_static("x-api-key"),
                    axum::http::HeaderValue::from_static("k-123456789"),
                )])),
                ..Message::default()
            },
            Bytes::copy_from_slice(body),
        )
    }

    fn begin(inspector: &Inspector, body: &[u8]) -> Arc<Capture> {
        let (head, body) = request(body);
        let capture = inspector
            .begin("POST /v1/messages".into(), "claude-code".into(), None, head)
            .unwrap();
        capture.request_body(&body);
        capture
    }

    #[test]
    fn the_oldest_captures_are_dropped_to_stay_within_the_budget() {
        // Each capture counts about 2.3 KB: its record, a 1 KB body, an event and a chunk.
        let inspector = Inspector::new(10_000, None);
        for _ in 0..50 {
            let capture = begin(&inspector, &[b'x'; 1000]);
            capture.upstream_event("response.created".into(), "{}".into());
            capture.client_chunk(&Bytes::from_static(b"event: ping\ndata: {}\n\n"));
            capture.finish(Outcome::default());
            let memory = inspector.memory();
            assert!(memory.bytes <= memory.budget_bytes, "{memory:?}");
        }
        let memory = inspector.memory();
        assert!(memory.kept >= 3 && memory.kept < 10, "{memory:?}");
        assert_eq!(memory.kept + memory.dropped, 50);
        let list = inspector.list(100);
        assert_eq!(list.data[0].id, "req_50");
        assert!(inspector.detail("req_1").is_none());
        assert_eq!(
            inspector.detail("req_50").unwrap().client_request.body,
            serde_json::Value::String("x".repeat(1000))
        );
    }

    #[test]
    fn a_body_larger_than_the_budget_is_cut_with_a_marker() {
        let inspector = Inspector::new(4_000, None);
        let capture = begin(&inspector, &[b'y'; 10_000]);
        capture.upstream_event("response.created".into(), "{}".into());
        capture.finish(Outcome::default());
        let detail = inspector.detail(&capture.id()).unwrap();
        let body = detail.client_request.body.as_str().unwrap().to_owned();
        assert!(detail.summary.truncated);
        assert!(detail.client_request.truncated);
        assert_eq!(detail.client_request.body_bytes, 10_000);
        assert!(body.ends_with(" not kept]"), "{}", &body[body.len() - 40..]);
        assert!(body.len() < 4_000);
        assert!(detail.upstream_events.is_empty());
        assert!(inspector.memory().bytes <= 4_000);
    }

    #[test]
    fn a_running_request_dropped_for_newer_ones_keeps_nothing_more() {
        // Two captures of a 1 KB body fit (about 2.1 KB each), not three.
        let inspector = Inspector::new(5_000, None);
        let old = begin(&inspector, &[b'a'; 1000]);
        let _new = begin(&inspector, &[b'b'; 1000]);
        let _newer = begin(&inspector, &[b'c'; 1000]);
        assert!(inspector.detail(&old.id()).is_none());
        old.upstream_event("response.created".into(), "z".repeat(500));
        assert!(inspector.memory().bytes <= 5_000);
        assert_eq!(inspector.memory().dropped, 1);
    }

    /// Turn `n` of a conversation: the messages so far, a reminder that only the latest turn
    /// has (what each capture keeps of its own), then the same tools every turn.
    fn turn(session: u32, n: usize) -> Vec<u8> {
        let mut body = format!(r#"{{"model":"m","messages":[{{"session":{session}}}"#);
        for i in 0..n {
            let text = format!("line {i} of a file read by session {session}\\n").repeat(100);
            body.push_str(&format!(r#",{{"turn":{i},"text":"{text}"}}"#));
        }
        let reminder = format!("turn {n} ").repeat(500);
        body.push_str(&format!(r#",{{"reminder":"{reminder}"}}"#));
        body.push_str(&format!(r#"],"tools":["{}"]}}"#, "a tool ".repeat(3000)));
        body.into_bytes()
    }

    /// Sends turns `turns` of two sessions, alternating; returns what each capture was sent.
    fn converse(
        inspector: &Inspector,
        turns: std::ops::Range<usize>,
    ) -> Vec<(Arc<Capture>, Vec<u8>, Vec<u8>)> {
        let mut sent = Vec::new();
        for n in turns {
            for session in 0..2 {
                let body = turn(session, n);
                let capture = begin(inspector, &body);
                let upstream = [b"{\"input\":".as_slice(), &body, b"}"].concat();
                capture.upstream_request(Message {
                    body: Bytes::from(upstream.clone()),
                    ..Message::default()
                });
                capture.finish(Outcome::default());
                sent.push((capture, body, upstream));
            }
        }
        sent
    }

    /// The bodies a capture gives back, and checks that the store counts what its captures do.
    fn kept_bodies(inspector: &Inspector, capture: &Capture) -> (Vec<u8>, Vec<u8>) {
        let store = lock(&inspector.0.store);
        let counted: usize = store
            .kept
            .iter()
            .map(|c| c.bytes.load(Ordering::Relaxed))
            .sum();
        assert_eq!(store.total, counted);
        let data = lock(&capture.data);
        let upstream = data.upstream_request.as_ref().unwrap();
        (
            data.client_request.contents().into_owned(),
            upstream.contents().into_owned(),
        )
    }

    #[test]
    fn a_conversation_sent_again_each_turn_is_kept_once_and_reads_back_whole() {
        let inspector = Inspector::new(4 << 20, None);
        let sent = converse(&inspector, 1..40);
        let memory = inspector.memory();
        let total: usize = sent.iter().map(|(_, b, u)| b.len() + u.len()).sum();
        assert!(total as u64 > 3 * memory.budget_bytes, "{total}");
        assert_eq!(memory.dropped, 0, "{memory:?}");
        for (capture, body, upstream) in &sent {
            let (kept_body, kept_upstream) = kept_bodies(&inspector, capture);
            assert!(kept_body == *body, "{}", capture.id());
            assert!(kept_upstream == *upstream, "{}", capture.id());
        }
        // The view shows the whole body.
        let detail = inspector.detail(&sent[3].0.id()).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&sent[3].1).unwrap();
        assert_eq!(detail.client_request.body, body);
        assert!(!detail.client_request.truncated);
    }

    #[test]
    fn shared_captures_are_dropped_oldest_first_and_the_rest_read_back_whole() {
        let inspector = Inspector::new(2 << 20, None);
        let sent = converse(&inspector, 1..60);
        let memory = inspector.memory();
        assert!(memory.dropped > 0 && memory.kept > 40, "{memory:?}");
        assert!(memory.bytes <= memory.budget_bytes, "{memory:?}");
        let kept = usize::try_from(memory.kept).unwrap();
        for (capture, body, upstream) in &sent[sent.len() - kept..] {
            let (kept_body, kept_upstream) = kept_bodies(&inspector, capture);
            assert!(kept_body == *body, "{}", capture.id());
            assert!(kept_upstream == *upstream, "{}", capture.id());
        }
    }

    #[test]
    fn a_stream_is_counted_a_block_at_a_time_and_what_it_did_not_use_is_given_back() {
        let inspector = Inspector::new(8 << 20, None);
        let (head, _) = request(b"");
        let head_size = head.size() + CAPTURE_OVERHEAD;
        let capture = inspector
            .begin("POST /v1/messages".into(), "claude-code".into(), None, head)
            .unwrap();
        // The request's head and the next items are paid from one block.
        assert_eq!(inspector.memory().bytes, CREDIT_BLOCK as u64);
        let data = "d".repeat(100);
        let event = "response.output_text.delta";
        let each = event.len() + data.len() + ITEM_OVERHEAD;
        let fit_in_first_block = (CREDIT_BLOCK - head_size) / each;
        for _ in 0..fit_in_first_block {
            capture.upstream_event(event.into(), data.clone());
        }
        assert_eq!(inspector.memory().bytes, CREDIT_BLOCK as u64);
        capture.upstream_event(event.into(), data.clone());
        assert_eq!(inspector.memory().bytes, 2 * CREDIT_BLOCK as u64);
        // Once it ends, the store counts exactly what the capture keeps.
        capture.finish(Outcome::default());
        let used = head_size + (fit_in_first_block + 1) * each;
        assert_eq!(inspector.memory().bytes, used as u64);
        assert_eq!(capture.bytes.load(Ordering::Relaxed), used);
        let detail = inspector.detail(&capture.id()).unwrap();
        assert_eq!(detail.upstream_events.len(), fit_in_first_block + 1);
    }

    #[test]
    fn headers_are_kept_in_order_and_in_one_buffer_without_the_values_of_secret_ones() {
        let mut map = axum::http::HeaderMap::new();
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        for (name, value) in [
            ("authorization", format!("Bearer {token}")),
            ("chatgpt-account-id", "6f1c2d3e-4a5b".to_owned()),
            ("x-api-key", "k-123456789".to_owned()),
            ("user-agent", "claude-cli/2.0.14 (external, cli)".to_owned()),
            ("session_id", "0b8f6a52".to_owned()),
        ] {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map.append(
            "x-note",
            axum::http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
        );
        let headers = Headers::of(&map);
        assert_eq!(
            headers.iter().collect::<Vec<_>>(),
            [
                ("authorization", "Bearer [redacted]"),
                ("chatgpt-account-id", "[redacted]"),
                ("x-api-key", "[redacted]"),
                ("user-agent", "claude-cli/2.0.14 (external, cli)"),
                ("session_id", "0b8f6a52"),
                ("x-note", "caf\u{fffd}"),
            ]
        );
        assert!(!headers.0.contains(token) && !headers.0.contains("6f1c2d3e"));
        // Nor is room for the token held.
        assert!(headers.0.capacity() < headers.0.len() + token.len());
        assert_eq!(Headers::default().iter().count(), 0);
    }

    #[test]
    fn capture_is_off_with_a_zero_budget() {
        let inspector = Inspector::new(0, None);
        let (head, _) = request(b"{}");
        assert!(
            inspector
                .begin("POST /v1/messages".into(), "x".into(), None, head)
                .is_none()
        );
    }
}
