//! The connection side of the gateway: an accept loop over hyper's HTTP/1 connections, in place
//! of `axum::serve`, which has no header or idle timeouts and no connection cap.
//!
//! - **Connection cap** (`max_connections`): a connection is accepted only with a free slot;
//!   beyond the cap, new connections wait in the listen backlog until one closes.
//! - **Header-read timeout** (`header_read_timeout`): from the first byte of a request to the
//!   end of its headers. A client trickling its headers is disconnected at the bound.
//! - **Idle timeout** (`idle_timeout`): a connection with no request in flight and no byte of
//!   a new one (after accepting, or after its last response ended) is closed at the bound.
//!   A request is in flight from its headers until its response body is dropped by hyper, so
//!   a long stream is never idle.
//! - **hyper's own error answers**: hyper answers a request line or head it cannot take (URL
//!   over 64 KiB: 414; a head over 64-120 KiB (`READ_BUFFER_MAX`) or with over 100 fields:
//!   431; not HTTP: 400) by
//!   itself, with an empty body. The connection's I/O wrapper recognises those heads (they are
//!   the only ones written without a request handed to the router) and writes a body instead:
//!   the caller's error envelope when the request line named a `/v1/` route, else one plain
//!   line.
//! - Every accepted socket gets `TCP_NODELAY` (streams are many small writes), and graceful
//!   shutdown stops accepting, lets each connection finish its request, and waits for them.
//!
//! Both timeouts are enforced by one watchdog per connection (a `select!` beside the connection
//! future), fed by the I/O wrapper (bytes read) and the service (requests begun and ended).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use super::error::{ApiError, Dialect, dialect_of, random_id};
use crate::settings::Settings;

/// The most a connection's read buffer grows to (hyper's minimum is 8 KiB). hyper reads a
/// request's head into the same buffer and refuses it (431) once the buffer holds this much
/// without a whole head: a head of 64 KiB always passes, and one of up to about 120 KiB when
/// it arrives in reads of growing size (8, 16, 32, 64 KiB). At 32 KiB (0.5-1.5 MB less after
/// `make memory-serve`'s load, whose 32 clients keep their connections) the largest head
/// accepted fell to about 40 KiB, and a URL over 64 KiB got 431 instead of its 414
/// (`suite::hardening`).
const READ_BUFFER_MAX: usize = 64 * 1024;

/// The most one read of a request's body takes. hyper doubles its next read while reads fill
/// it, and a connection idle between requests waits with a buffer of that size: after long
/// bodies, 64 KiB on each keep-alive connection (32 clients: 2.3 MB, heaptrack). Body reads of
/// at most 16 KiB keep it at 32 KiB; a 677 KB body then takes 42 reads instead of 11. A head is
/// read as before, so the largest head accepted does not change.
const READ_CHUNK: usize = 16 * 1024;

/// How many bytes of a request's start are kept to learn its route (for hyper's own answers).
const HEAD_SNIFF: usize = 256;

/// The connection limits of a gateway.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl ConnectionLimits {
    /// The limits the settings ask for.
    pub(crate) fn from_settings(settings: &Settings) -> Self {
        Self {
            header_read_timeout: settings.header_read_timeout.value,
            idle_timeout: settings.idle_timeout.value,
            max_connections: settings.max_connections.value,
        }
    }
}

/// Accepts connections until `shutdown` completes, then lets open connections finish their
/// requests and waits for them to close.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                // The semaphore is never closed.
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok((tcp, peer)) => (tcp, peer),
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                // Out of file descriptors and the like: wait before trying again rather than
                // spinning (what axum::serve and hyper's examples do).
                tracing::error!("cannot accept a connection: {err}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Streams are many small writes: without TCP_NODELAY each SSE frame after the first
        // waits for the client's delayed ACK (~40 ms), which defeats flushing per event.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {err}");
        }
        tokio::spawn(serve_connection(
            tcp,
            peer,
            app.clone(),
            limits,
            stopped.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every open connection holds a slot: all slots back means all connections closed.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Which bound a connection would break first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Headers,
    Idle,
}

/// One connection served until it ends, breaks a timeout, or the gateway stops.
async fn serve_connection(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stopped: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(WatchedIo::new(tcp, Arc::clone(&activity)));
    let service = TrackedService {
        app,
        peer,
        activity: Arc::clone(&activity),
    };
    // By default hyper grows a connection's read buffer by doubling up to ~400 KiB for large
    // bodies and keeps it while the connection lives: with many keep-alive clients that is
    // megabytes held in the allocator's large size classes. Hence `READ_BUFFER_MAX`, and bodies
    // read 16 KiB at a time (`READ_CHUNK`).
    let connection = hyper::server::conn::http1::Builder::new()
        .max_buf_size(READ_BUFFER_MAX)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = false;
    if *stopped.borrow() {
        stopping = true;
        connection.as_mut().graceful_shutdown();
    }
    loop {
        let deadline = activity.deadline(limits);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!("connection ended: {err}");
                }
                return;
            }
            () = activity.changed.notified() => {}
            changed = stopped.changed(), if !stopping => {
                // A dropped sender also means stop.
                let _ = changed;
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
            () = sleep_until(deadline.map(|(at, _)| at)) => {
                // Dropping the connection closes the socket.
                match activity.deadline(limits) {
                    Some((at, Expiry::Headers)) if at <= Instant::now() => {
                        tracing::debug!("closing a connection: its headers took longer than {:?}", limits.header_read_timeout);
                        return;
                    }
                    Some((at, Expiry::Idle)) if at <= Instant::now() => {
                        tracing::debug!("closing a connection idle for {:?}", limits.idle_timeout);
                        return;
                    }
                    _ => {}
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What the watchdog needs to know about one connection.
#[derive(Debug)]
struct Activity {
    state: Mutex<ConnectionState>,
    /// Woken whenever the state changes (a permit is kept when nobody waits).
    changed: Notify,
}

#[derive(Debug)]
struct ConnectionState {
    /// Requests handed to the router whose response body is not yet dropped.
    in_flight: usize,
    /// When the connection last had nothing in flight (accepted, or last response ended).
    idle_since: Instant,
    /// The first byte of a request whose headers are not complete yet.
    request_began: Option<Instant>,
    /// The first bytes of that request (its request line), to learn its route.
    head: Vec<u8>,
    /// Response heads the router produced that the I/O has not written yet.
    owed_heads: usize,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ConnectionState {
                in_flight: 0,
                idle_since: Instant::now(),
                request_began: None,
                head: Vec::new(),
                owed_heads: 0,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConnectionState> {
        // The state stays consistent between statements; keep serving after a panic elsewhere.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next bound and which one it is; `None` while a request is in flight.
    fn deadline(&self, limits: ConnectionLimits) -> Option<(Instant, Expiry)> {
        let state = self.lock();
        if state.in_flight > 0 {
            return None;
        }
        Some(match state.request_began {
            Some(began) => (began + limits.header_read_timeout, Expiry::Headers),
            None => (state.idle_since + limits.idle_timeout, Expiry::Idle),
        })
    }

    fn bytes_read(&self, bytes: &[u8]) {
        let mut state = self.lock();
        if state.in_flight > 0 {
            return;
        }
        if state.request_began.is_none() {
            state.request_began = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
            state = self.lock();
        }
        let room = HEAD_SNIFF.saturating_sub(state.head.len());
        let take = room.min(bytes.len());
        state.head.extend_from_slice(&bytes[..take]);
    }

    /// Whether a request is being served (its body is what is read now).
    fn in_flight(&self) -> bool {
        self.lock().in_flight > 0
    }

    fn request_began(&self) {
        let mut state = self.lock();
        state.in_flight += 1;
        state.request_began = None;
        state.head.clear();
        drop(state);
        self.changed.notify_one();
    }

    fn response_ready(&self) {
        self.lock().owed_heads += 1;
    }

    fn request_ended(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
        drop(state);
        self.changed.notify_one();
    }

    /// The answer to write instead of `buf` when `buf` is one of hyper's own error heads.
    fn replacement_for(&self, buf: &[u8]) -> Option<Vec<u8>> {
        let status = buf
            .strip_prefix(b"HTTP/1.1 ")
            .or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?
            .get(..3)?;
        if status[0] == b'1' {
            // 100 Continue: hyper's, and not an answer.
            return None;
        }
        let mut state = self.lock();
        if state.owed_heads > 0 {
            state.owed_heads -= 1;
            return None;
        }
        let status = match status {
            b"400" => AutomaticAnswer::BadRequest,
            b"414" => AutomaticAnswer::UriTooLong,
            b"431" => AutomaticAnswer::HeadersTooLarge,
            _ => return None,
        };
        Some(status.render(request_path(&state.head)))
    }
}

/// The path of a request line (`POST /v1/messages HTTP/1.1`), possibly cut short.
fn request_path(head: &[u8]) -> Option<&str> {
    let line = head.split(|b| *b == b'\r' || *b == b'\n').next()?;
    let mut words = line.split(|b| *b == b' ');
    let _method = words.next()?;
    let target = words.next()?;
    std::str::from_utf8(target)
        .ok()
        .filter(|t| t.starts_with('/'))
}

/// The three answers hyper writes by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AutomaticAnswer {
    BadRequest,
    UriTooLong,
    HeadersTooLarge,
}

impl AutomaticAnswer {
    fn status_line(self) -> (u16, &'static str) {
        match self {
            Self::BadRequest => (400, "Bad Request"),
            Self::UriTooLong => (414, "URI Too Long"),
            Self::HeadersTooLarge => (431, "Request Header Fields Too Large"),
        }
    }

    fn sentence(self) -> &'static str {
        match self {
            Self::BadRequest => "The request is not valid HTTP/1.1.",
            Self::UriTooLong => "The request's URL is longer than the gateway accepts (64 KiB).",
            Self::HeadersTooLarge => {
                "The request's headers are larger than the gateway accepts (64 KiB, at \
                 most 100 fields)."
            }
        }
    }

    /// The whole response: the caller's envelope for a `/v1/` route, else one plain line.
    fn render(self, path: Option<&str>) -> Vec<u8> {
        let (code, reason) = self.status_line();
        let mut extra = String::new();
        let (content_type, body) = match path.filter(|p| p.starts_with("/v1/")) {
            Some(path) => {
                let dialect = dialect_of(path, &HeaderMap::new());
                let id = (dialect == Dialect::Anthropic).then(|| random_id("req_"));
                if let Some(id) = &id {
                    extra = format!("request-id: {id}\r\n");
                }
                let error = ApiError::invalid_request(self.sentence());
                ("application/json", error.body_json(dialect, id))
            }
            None => (
                "text/plain; charset=utf-8",
                format!("{code} {reason}: {}\n", self.sentence()),
            ),
        };
        format!(
            "HTTP/1.1 {code} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             connection: close\r\n{extra}\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// The router as a hyper service that tells the watchdog when requests begin and end.
#[derive(Clone)]
struct TrackedService {
    app: Router,
    /// The client's address, given to handlers as `ConnectInfo` (the inspector answers only
    /// loopback clients or an admin key).
    peer: std::net::SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<Request<Incoming>> for TrackedService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.activity.request_began();
        let in_flight = InFlight(Arc::clone(&self.activity));
        let app = self.app.clone();
        let peer = self.peer;
        Box::pin(async move {
            // When the client leaves, hyper drops this future, and `in_flight` with it.
            let mut request = request.map(Body::new);
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let Ok(response) = app.oneshot(request).await;
            in_flight.0.response_ready();
            Ok(response.map(|body| {
                Body::new(TrackedBody {
                    body,
                    _in_flight: in_flight,
                })
            }))
        })
    }
}

/// A request in flight, ended on drop.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A response body that keeps its request in flight until hyper drops it.
struct TrackedBody {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, reporting reads to the watchdog and replacing hyper's empty error answers.
struct WatchedIo {
    tcp: TcpStream,
    activity: Arc<Activity>,
    /// A replacement answer still to be written, and how much of it is written.
    pending: Vec<u8>,
    written: usize,
}

impl WatchedIo {
    fn new(tcp: TcpStream, activity: Arc<Activity>) -> Self {
        Self {
            tcp,
            activity,
            pending: Vec::new(),
            written: 0,
        }
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending = Vec::new();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for WatchedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() <= READ_CHUNK || !this.activity.in_flight() {
            let before = buf.filled().len();
            let result = Pin::new(&mut this.tcp).poll_read(cx, buf);
            if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
                this.activity.bytes_read(&buf.filled()[before..]);
            }
            return result;
        }
        // Only the first `READ_CHUNK` bytes of the room offered are read into (made
        // initialised first: this crate has no unsafe code to hand uninitialised memory on).
        let mut part = ReadBuf::new(buf.initialize_unfilled_to(READ_CHUNK));
        let result = Pin::new(&mut this.tcp).poll_read(cx, &mut part);
        let read = part.filled().len();
        if read > 0 {
            this.activity.bytes_read(part.filled());
        }
        buf.advance(read);
        result
    }
}

impl AsyncWrite for WatchedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if let Some(replacement) = this.activity.replacement_for(buf) {
            // hyper's head is taken as written; the replacement goes out instead, finished by
            // the flush or shutdown hyper does next.
            this.pending = replacement;
            this.written = 0;
            if let Poll::Ready(Err(err)) = this.poll_pending(cx) {
                return Poll::Ready(Err(err));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }

    // Vectored writes would let hyper split a head over several buffers; one buffer per write
    // keeps every head at the start of a write, where `replacement_for` looks.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn hyper_answers_get_the_callers_envelope_when_the_route_is_known() {
        let activity = Activity::new();
        activity.bytes_read(b"POST /v1/chat/completions?x=aaaa");
        let answer = text(
            &activity
                .replacement_for(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n")
                .unwrap(),
        );
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error");

        let activity = Activity::new();
        activity.bytes_read(b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\n");
        let answer = text(
            &activity
                .replacement_for(b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
                .unwrap(),
        );
        assert!(answer.contains("request-id: req_"), "{answer}");
        let body: serde_json::Value =
            serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn without_a_route_the_answer_is_one_plain_line() {
        let activity = Activity::new();
        activity.bytes_read(b"\x16\x03\x01 garbage");
        let answer = text(
            &activity
                .replacement_for(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                .unwrap(),
        );
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("content-type: text/plain"), "{head}");
        assert_eq!(
            body,
            "400 Bad Request: The request is not valid HTTP/1.1.\n"
        );
    }

    #[test]
    fn heads_the_router_produced_and_informational_heads_are_left_alone() {
        let activity = Activity::new();
        activity.request_began();
        activity.response_ready();
        activity.request_ended();
        // The router's own 400 is written after its body was dropped: still not replaced.
        assert_eq!(
            activity.replacement_for(b"HTTP/1.1 400 Bad Request\r\n"),
            None
        );
        assert_eq!(
            activity.replacement_for(b"HTTP/1.1 100 Continue\r\n\r\n"),
            None
        );
        assert!(
            activity
                .replacement_for(b"HTTP/1.1 400 Bad Request\r\n")
                .is_some()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_is_the_idle_bound_then_the_header_bound_then_none_in_flight() {
        let limits = ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(9),
            max_connections: 1,
        };
        let activity = Activity::new();
        let start = Instant::now();
        assert_eq!(
            activity.deadline(limits),
            Some((start + Duration::from_secs(9), Expiry::Idle))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        activity.bytes_read(b"GET ");
        assert_eq!(
            activity.deadline(limits),
            Some((start + Duration::from_secs(3), Expiry::Headers))
        );
        activity.request_began();
        assert_eq!(activity.deadline(limits), None);
        tokio::time::advance(Duration::from_secs(5)).await;
        activity.request_ended();
        assert_eq!(
            activity.deadline(limits),
            Some((start + Duration::from_secs(15), Expiry::Idle))
        );
    }
}
