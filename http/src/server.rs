//! The server loop: accept → one green thread per connection (a
//! `GreenPool` bounded by `max_clients`) → requests in order on each
//! connection, each handed to the handler with a streaming body and a
//! streaming response.
//!
//! Protection against slow and hostile clients: every read waits at most
//! `client_timeout`; once the first byte of a request head has arrived the
//! whole head must arrive within `header_timeout` (slowloris) or the
//! client gets 408 and the connection closes; heads over Swift's size
//! limits get 414/431; any framing error (bad chunk, Content-Length with
//! Transfer-Encoding) gets 400 and closes the connection.
//!
//! Shutdown: when the hub's stop event is set (SIGTERM through `workers`)
//! the listener closes, idle keep-alive connections are closed, and
//! requests in flight get `grace` to finish.
//!
//! At `max_clients`, a new connection does not wait behind connections
//! that are only kept alive: one that has served a request and waits for
//! the next is closed to make room (its client, such as a proxy's
//! connection pool, sees the close and connects again). Connections in a
//! request, or that have not sent their first one, are never closed for
//! this.

use crate::body::{BodyReader, Kind};
use crate::buf::ReadBuf;
use crate::chunked::ChunkedDecoder;
use crate::head::{self, Framing, HeadError, RequestHead, MAX_HEAD, MAX_HEADER_LINE, MAX_REQUEST_LINE};
use crate::headers::Headers;
use crate::response::Response;
use hub::{GreenPool, JoinHandle, TcpListener, TcpStream};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Server settings (Swift's names where Swift has them).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Connections served at once per hub (`max_clients`, Swift: 1024).
    pub max_clients: usize,
    /// Longest wait for any read from the client (`client_timeout`, 60 s).
    pub client_timeout: Duration,
    /// Longest time from the first byte of a request head to its end.
    pub header_timeout: Duration,
    /// Longest idle time between requests on a keep-alive connection
    /// (`keep_idle`).
    pub keepalive_timeout: Duration,
    /// How long requests in flight may take to finish after stop.
    pub grace: Duration,
    /// Bytes of an unread request body the server reads and discards to keep
    /// the connection; bigger leftovers close it.
    pub max_drain: u64,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            max_clients: 1024,
            client_timeout: Duration::from_secs(60),
            header_timeout: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(600),
            grace: Duration::from_secs(60),
            max_drain: 64 * 1024,
        }
    }
}

/// One request: its head, its peer and its body.
pub struct Request<'a> {
    pub head: RequestHead,
    pub peer: SocketAddr,
    /// When the head was complete.
    pub started: Instant,
    pub body: BodyReader<'a>,
}

impl Request<'_> {
    pub fn method(&self) -> &str {
        &self.head.method
    }

    /// The raw request-target (path and query, still %-encoded).
    pub fn target(&self) -> &str {
        &self.head.target
    }

    pub fn headers(&self) -> &Headers {
        &self.head.headers
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name)
    }
}

/// What the access-log hook sees of each request.
pub struct AccessRecord<'a> {
    pub peer: SocketAddr,
    pub method: &'a str,
    pub target: &'a str,
    pub headers: &'a Headers,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub started: Instant,
    pub duration: Duration,
}

/// A request handler. An `Err` it returns before the response started is
/// answered as Swift does: 408 for a client read timeout, 499 (logged only)
/// for a client that went away, 500 otherwise.
pub type Handler = dyn Fn(&mut Request<'_>, &mut Response<'_>) -> io::Result<()>;

/// The access-log hook, called after each request.
pub type AccessLog = dyn Fn(&AccessRecord<'_>);

/// An HTTP/1.1 server on one hub.
pub struct Server {
    cfg: ServerConfig,
    handler: Rc<Handler>,
    access_log: Option<Rc<AccessLog>>,
}

/// Where a connection stands, for stop and for making room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// In a request.
    Busy,
    /// Waiting for its first request.
    New,
    /// Served a request; waiting for the next one.
    KeptAlive,
}

/// A live connection: its green thread (taken when it is killed) and its
/// phase.
type Conn = (Option<JoinHandle<()>>, Rc<Cell<Phase>>);

struct Conns {
    next: Cell<u64>,
    live: RefCell<HashMap<u64, Conn>>,
}

impl Server {
    pub fn new(
        cfg: ServerConfig,
        handler: impl Fn(&mut Request<'_>, &mut Response<'_>) -> io::Result<()> + 'static,
    ) -> Server {
        Server { cfg, handler: Rc::new(handler), access_log: None }
    }

    pub fn access_log(mut self, f: impl Fn(&AccessRecord<'_>) + 'static) -> Server {
        self.access_log = Some(Rc::new(f));
        self
    }

    /// Serves `listener` until the hub's stop event is set, then drains
    /// (see the module docs) and returns.
    pub fn serve(self, listener: TcpListener) -> io::Result<()> {
        let stop = hub::stop_event();
        let pool = GreenPool::new(self.cfg.max_clients.max(1));
        let conns = Rc::new(Conns { next: Cell::new(0), live: RefCell::new(HashMap::new()) });
        let this = Rc::new(self);
        let acceptor = {
            let (pool, conns, this) = (pool.clone(), conns.clone(), this.clone());
            hub::spawn(move || accept_loop(&listener, &pool, &conns, &this))
        };
        stop.wait()?;
        acceptor.kill();
        let idle: Vec<JoinHandle<()>> = conns
            .live
            .borrow_mut()
            .values_mut()
            .filter(|(_, phase)| phase.get() != Phase::Busy)
            .filter_map(|(h, _)| h.take())
            .collect();
        for h in idle {
            h.kill();
        }
        let drained = hub::with_timeout(this.cfg.grace, || pool.wait_all());
        if drained.is_err() {
            let busy: Vec<JoinHandle<()>> =
                conns.live.borrow_mut().values_mut().filter_map(|(h, _)| h.take()).collect();
            for h in busy {
                h.kill();
            }
        }
        Ok(())
    }
}

fn accept_loop(listener: &TcpListener, pool: &GreenPool, conns: &Rc<Conns>, server: &Rc<Server>) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                eprintln!("accept failed: {e}");
                let _ = hub::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if pool.free() == 0 {
            make_room(conns);
        }
        let id = conns.next.get();
        conns.next.set(id + 1);
        let idle = Rc::new(Cell::new(Phase::New));
        let (c2, s2, i2) = (conns.clone(), server.clone(), idle.clone());
        let spawned = pool.spawn(move || {
            struct Gone(Rc<Conns>, u64);
            impl Drop for Gone {
                fn drop(&mut self) {
                    self.0.live.borrow_mut().remove(&self.1);
                }
            }
            let _gone = Gone(c2, id);
            serve_conn(&s2, stream, peer, &i2);
        });
        if let Ok(h) = spawned {
            if !h.is_finished() {
                conns.live.borrow_mut().insert(id, (Some(h), idle));
            }
        }
    }
}

/// Closes one kept-alive connection (if any) so that a new one gets its
/// slot.
fn make_room(conns: &Conns) {
    let victim = conns
        .live
        .borrow_mut()
        .values_mut()
        .find(|(h, phase)| h.is_some() && phase.get() == Phase::KeptAlive)
        .and_then(|(h, _)| h.take());
    if let Some(h) = victim {
        h.kill();
    }
}

enum HeadResult {
    Head(RequestHead),
    /// The client closed or went idle too long: close quietly.
    Closed,
    /// Answer with this status and close.
    Fail(u16, String),
}

fn read_head(server: &Server, stream: &TcpStream, buf: &mut ReadBuf, phase: &Cell<Phase>, served: bool) -> HeadResult {
    let mut deadline: Option<hub::Timeout> = None;
    // Bytes of the buffer already judged; the parser runs only when what
    // came since could change its answer (see `worth_parsing`), so a client
    // sending its head a byte at a time costs a parse per line, not per byte.
    let mut judged = 0;
    loop {
        if worth_parsing(buf.data(), judged) {
            match head::parse_request_head(buf.data()) {
                Ok(Some((h, used))) => {
                    buf.consume(used);
                    return HeadResult::Head(h);
                }
                Err(e) => return HeadResult::Fail(e.status(), e.to_string()),
                Ok(None) => {}
            }
        }
        judged = buf.data().len();
        if buf.data().is_empty() && deadline.is_none() {
            // Between requests: wait for the next one up to the keep-alive
            // timeout; the head deadline starts with its first byte.
            phase.set(if served { Phase::KeptAlive } else { Phase::New });
            stream.set_read_timeout(Some(server.cfg.keepalive_timeout));
            let r = buf.fill_idle(stream, MAX_HEAD + 1);
            phase.set(Phase::Busy);
            stream.set_read_timeout(Some(server.cfg.client_timeout));
            match r {
                Ok(n) if n > 0 => {}
                _ => return HeadResult::Closed,
            }
            deadline = Some(hub::Timeout::new(server.cfg.header_timeout));
            continue;
        }
        if deadline.is_none() {
            deadline = Some(hub::Timeout::new(server.cfg.header_timeout));
        }
        match buf.fill(stream, MAX_HEAD + 1) {
            Ok(0) => return HeadResult::Closed,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut && !buf.data().is_empty() => {
                return HeadResult::Fail(408, "request head not received in time".into());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return HeadResult::Closed,
        }
    }
}

/// Whether parsing `data`, of which the first `judged` bytes were parsed
/// before with the answer "need more", can answer anything else: on the
/// first bytes (garbage is refused at once), when a line ended since, when
/// the line still arriving has reached the shortest line limit, or past
/// [`MAX_HEAD`].
fn worth_parsing(data: &[u8], judged: usize) -> bool {
    if judged == 0 || data.len() > MAX_HEAD {
        return true;
    }
    let fresh = &data[judged..];
    if fresh.contains(&b'\n') {
        return true;
    }
    let line_start = data[..judged].iter().rposition(|&b| b == b'\n').map_or(0, |lf| lf + 1);
    data.len() - line_start >= MAX_REQUEST_LINE.min(MAX_HEADER_LINE) - 1
}

/// Answers `status` with a short text body and no keep-alive.
fn fail(stream: &TcpStream, head_only: bool, status: u16, why: &str) {
    let mut h = Headers::new();
    h.set("Content-Type", "text/plain");
    let body = format!("{} {}\n{why}\n", status, head::reason_phrase(status));
    let (no_continue, stop) = (Cell::new(false), hub::Event::new());
    let mut r = Response::new(stream, &no_continue, &stop, head_only, false);
    let _ = r.send(status, &h, body.as_bytes());
}

/// Closes gracefully after an error answer: the client may still be
/// sending what we refused, and closing with unread bytes would reset the
/// connection and could destroy our answer before the client reads it. So
/// shut down our side and read (and drop) its bytes for a short while.
fn linger(stream: &TcpStream) {
    const LINGER_BYTES: usize = 256 * 1024;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _t = hub::Timeout::new(Duration::from_secs(2));
    let mut scratch = vec![0u8; 4096];
    let mut left = LINGER_BYTES;
    while left > 0 {
        match (&*stream).read(&mut scratch) {
            Ok(0) | Err(_) => break,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

/// Swift's status for a handler error.
fn error_status(e: &io::Error) -> u16 {
    match e.kind() {
        io::ErrorKind::TimedOut => 408,
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => 499,
        io::ErrorKind::InvalidData => 400,
        _ => 500,
    }
}

fn serve_conn(server: &Server, stream: TcpStream, peer: SocketAddr, phase: &Cell<Phase>) {
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(server.cfg.client_timeout));
    stream.set_write_timeout(Some(server.cfg.client_timeout));
    let stop = hub::stop_event();
    let mut buf = ReadBuf::new();
    let mut served = false;
    loop {
        let head = match read_head(server, &stream, &mut buf, phase, served) {
            HeadResult::Head(h) => h,
            HeadResult::Closed => return,
            HeadResult::Fail(status, why) => {
                fail(&stream, false, status, &why);
                linger(&stream);
                return;
            }
        };
        let framing = match head::request_framing(&head) {
            Ok(f) => f,
            Err(e) => {
                fail(&stream, false, e.status(), &e.to_string());
                linger(&stream);
                return;
            }
        };
        let kind = match framing {
            Framing::None => Kind::Empty,
            Framing::Length(n) => Kind::Length(n),
            Framing::Chunked => Kind::Chunked(ChunkedDecoder::new()),
        };
        let keep_alive = head::keep_alive(&head) && !stop.is_set();
        let expect = head::expects_continue(&head);
        let head_only = head.method == "HEAD";
        let started = Instant::now();
        let continue_pending = Cell::new(expect);
        let mut req =
            Request { head, peer, started, body: BodyReader::new(&stream, &mut buf, kind, &continue_pending) };
        let keep_alive_asked = head::asks_keep_alive(&req.head);
        let mut resp = Response::new(&stream, &continue_pending, &stop, head_only, keep_alive);
        if keep_alive_asked {
            resp.keep_alive_asked();
        }
        let result = panic::catch_unwind(AssertUnwindSafe(|| (server.handler)(&mut req, &mut resp)));
        // A started response whose head has not gone out (no body written,
        // no finish: the handler failed): the client gets the head, then
        // the close, as if it had been sent at once.
        let head_out = resp.flush_head().is_ok();
        let mut status_for_log = resp.status();
        let mut lingering = false;
        let reusable = match result {
            Ok(Ok(())) => {
                if !resp.started() {
                    let _ = resp.send(500, &Headers::new(), b"handler sent no response\n");
                    status_for_log = 500;
                }
                head_out && resp.keep_alive() && finish_body(server, &mut req, &mut resp)
            }
            Ok(Err(e)) => {
                let status = error_status(&e);
                if !resp.started() {
                    status_for_log = status;
                    if status != 499 {
                        fail(&stream, head_only, status, &e.to_string());
                        lingering = true;
                    }
                }
                false
            }
            Err(p) => {
                if hub::is_kill(&*p) {
                    panic::resume_unwind(p);
                }
                if !resp.started() {
                    let _ = resp.send(500, &Headers::new(), b"internal error\n");
                    status_for_log = 500;
                }
                false
            }
        };
        if let Some(log) = &server.access_log {
            log(&AccessRecord {
                peer,
                method: &req.head.method,
                target: &req.head.target,
                headers: &req.head.headers,
                status: status_for_log,
                bytes_in: req.body.received(),
                bytes_out: resp.bytes_sent(),
                started,
                duration: started.elapsed(),
            });
        }
        if !reusable || stop.is_set() {
            // Closing with request bytes unread would reset the connection
            // and could destroy the answer before the client reads it.
            if lingering || !req.body.is_done() {
                linger(&stream);
            }
            return;
        }
        served = true;
    }
}

/// Ends the exchange so the next request can be read: a streamed response
/// is finished, and the rest of the request body is drained if it is
/// small. False if the connection must close.
fn finish_body(server: &Server, req: &mut Request<'_>, resp: &mut Response<'_>) -> bool {
    if resp.finish().is_err() {
        return false;
    }
    if req.body.is_done() {
        return true;
    }
    if req.body.continue_pending() {
        // The client is waiting for 100 Continue and will not send the
        // body; we cannot know if it sends it anyway. Close.
        return false;
    }
    matches!(req.body.drain(server.cfg.max_drain), Ok(true))
}

impl From<HeadError> for io::Error {
    fn from(e: HeadError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}
