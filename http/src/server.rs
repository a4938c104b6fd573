//! The server loop: accept → one green thread per connection (at most
//! `max_clients` at once) → requests in order on each
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
//! the listener closes, idle keep-alive connections and never-used ones
//! are closed, and requests in flight get `grace` to finish.
//!
//! Idle waits: a connection that has not sent a byte of a request yet
//! waits `client_timeout` for one (it gave no sign of being a client); a
//! kept-alive connection that has served a request waits `keep_idle`
//! (`keepalive_timeout`) for the next.
//!
//! At `max_clients` (per hub), or when every server of the process
//! together holds as many connections as the fd and memory-map limits
//! allow (half the soft `RLIMIT_NOFILE`, a quarter of `vm.max_map_count`:
//! `process_cap`; each serving hub holds at most its share of it, so the
//! hub a newcomer lands on always has connections of its own to close), a
//! new connection does not wait behind connections that have no request
//! being processed: one of them is closed to make room, in this order
//! (see `make_room`):
//!
//! 1. a kept-alive connection between requests, the one idle the longest
//!    (its client, such as a proxy's connection pool, sees the close and
//!    connects again; nothing is lost);
//! 2. else the oldest connection that has not sent a full request head:
//!    never used (silent since it was accepted, aged from its accept), or
//!    a head still trickling in (slowloris; aged from its first byte, or
//!    from its accept for the first request).
//!
//! A connection whose request is being processed (its head is complete:
//! the handler runs, reading the body or writing the response, or the
//! server finishes the exchange) is never closed for this; a body that
//! stalls is bounded by `client_timeout` per read (408). When no
//! connection may be closed, the newcomer waits (and the ones behind it
//! stay in the listen backlog) until a connection ends or one becomes
//! closable.

use crate::body::{BodyReader, Kind};
use crate::buf::ReadBuf;
use crate::chunked::ChunkedDecoder;
use crate::head::{self, Framing, HeadError, RequestHead, MAX_HEAD, MAX_HEADER_LINE, MAX_REQUEST_LINE};
use crate::headers::Headers;
use crate::response::Response;
use hub::{Event, JoinHandle, TcpListener, TcpStream};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The default of [`ServerConfig::max_clients`]: connections served at
/// once per hub. Swift's is 1,024 (an eventlet green thread and its Python
/// frames per connection). Here an idle connection costs about 4.5 KiB of
/// resident memory and 4.3 KiB of kernel memory, plus the stack pages its
/// requests touched (`http/tests/idle_memory.rs` measures it;
/// docs/architecture.md, "HTTP/1.1", has the figures): 8,192 idle
/// connections are about 70 MiB. What bounds the count before memory does
/// is fds and memory maps, per process: every server of a process holds
/// at most half its soft fd limit and a quarter of `vm.max_map_count` in
/// connections together (16,382 with 65,536 fds and 65,530 maps), however
/// many hubs it runs, and makes room at that bound as at `max_clients`.
pub const DEFAULT_MAX_CLIENTS: usize = 8192;

/// Server settings (Swift's names where Swift has them).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Connections served at once per hub (`max_clients`; default
    /// [`DEFAULT_MAX_CLIENTS`], Swift: 1024). At the bound, a connection
    /// with no request being processed is closed to make room for a new
    /// one (see the module docs).
    pub max_clients: usize,
    /// Longest wait for any read from the client (`client_timeout`, 60 s),
    /// and how long a connection that has not sent a byte of a request
    /// since it was accepted is kept.
    pub client_timeout: Duration,
    /// Longest time from the first byte of a request head to its end.
    pub header_timeout: Duration,
    /// Longest idle time between requests on a keep-alive connection that
    /// has served one (`keep_idle`); a never-used connection waits only
    /// `client_timeout`.
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
            max_clients: DEFAULT_MAX_CLIENTS,
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
    /// Accepted; no byte of a request yet. Waits `client_timeout`.
    New,
    /// A request head has begun and is not complete yet.
    Head,
    /// Its request is being processed (the head is complete): the handler
    /// runs, or the server finishes the exchange. Never closed to make room.
    Busy,
    /// Served a request; waits `keep_idle` for the next.
    KeptAlive,
}

/// The classes of connections that may be closed to make room, in the
/// order they are: first kept-alive ones, then those without a full
/// request head.
const CLOSE_KEPT_ALIVE: u8 = 0;
const CLOSE_INCOMPLETE: u8 = 1;

/// A connection's place in the order of closing: its class, then when it
/// entered it (a tick of [`Conns::tick`]; the smallest goes first).
type RoomKey = (u8, u64);

/// A live connection.
struct Conn {
    /// Its green thread (taken when it is killed).
    handle: Option<JoinHandle<()>>,
    phase: Phase,
    /// Its key in [`Conns::closable`] while it has one.
    key: Option<RoomKey>,
}

/// The live connections of one `serve`, by id (the tick of their accept).
struct Conns {
    /// Ticks, strictly increasing: connection ids and the moments a
    /// connection became closable.
    ticks: Cell<u64>,
    live: RefCell<HashMap<u64, Conn>>,
    /// The connections that may be closed to make room, in the order they
    /// would be, by key; values are ids.
    closable: RefCell<BTreeMap<RoomKey, u64>>,
    /// Set when a connection ends or becomes closable: wakes the acceptor
    /// waiting for room, and the stop waiting for the last connection.
    changed: Event,
}

impl Conns {
    fn tick(&self) -> u64 {
        let t = self.ticks.get();
        self.ticks.set(t + 1);
        t
    }

    /// Moves connection `id` to `phase`, and to its place in the order of
    /// closing: a kept-alive one ranks from when it went idle; one without a
    /// full head from its first byte, or from its accept while it has
    /// never completed a head.
    fn set_phase(&self, id: u64, phase: Phase) {
        let mut live = self.live.borrow_mut();
        let Some(c) = live.get_mut(&id) else { return };
        if c.phase == phase {
            return;
        }
        let key = match (c.phase, phase) {
            (_, Phase::Busy) => None,
            (_, Phase::KeptAlive) => Some((CLOSE_KEPT_ALIVE, self.tick())),
            (Phase::New, Phase::Head) => c.key,
            (_, Phase::Head | Phase::New) => Some((CLOSE_INCOMPLETE, self.tick())),
        };
        c.phase = phase;
        if key == c.key {
            return;
        }
        let mut closable = self.closable.borrow_mut();
        if let Some(old) = c.key.take() {
            closable.remove(&old);
        }
        if let Some(k) = key {
            closable.insert(k, id);
            c.key = Some(k);
            self.changed.set();
        }
    }

    /// Registers connection `id`, just spawned (its place in the process's
    /// cap is already reserved): never used, closable.
    fn insert(&self, id: u64, handle: JoinHandle<()>) {
        let key = (CLOSE_INCOMPLETE, id);
        self.live.borrow_mut().insert(id, Conn { handle: Some(handle), phase: Phase::New, key: Some(key) });
        self.closable.borrow_mut().insert(key, id);
    }

    /// Forgets connection `id` (it ended) and gives back its place in the
    /// process's cap.
    fn remove(&self, id: u64) {
        if let Some(c) = self.live.borrow_mut().remove(&id) {
            if let Some(k) = c.key {
                self.closable.borrow_mut().remove(&k);
            }
            PROCESS_CONNS.fetch_sub(1, Ordering::AcqRel);
        }
        self.changed.set();
    }

    fn len(&self) -> usize {
        self.live.borrow().len()
    }
}

/// What a connection's green thread knows of its entry in [`Conns`]; its
/// drop (the thread ended, was killed, or was killed before it started)
/// forgets the connection.
struct Tracked {
    conns: Rc<Conns>,
    id: u64,
}

impl Tracked {
    fn set(&self, phase: Phase) {
        self.conns.set_phase(self.id, phase);
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.conns.remove(self.id);
    }
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
        let _serving = Serving::start();
        let stop = hub::stop_event();
        let conns = Rc::new(Conns {
            ticks: Cell::new(0),
            live: RefCell::new(HashMap::new()),
            closable: RefCell::new(BTreeMap::new()),
            changed: Event::new(),
        });
        let this = Rc::new(self);
        let acceptor = {
            let (conns, this) = (conns.clone(), this.clone());
            hub::spawn(move || accept_loop(&listener, &conns, &this))
        };
        stop.wait()?;
        acceptor.kill();
        let idle: Vec<JoinHandle<()>> = conns
            .live
            .borrow_mut()
            .values_mut()
            .filter(|c| matches!(c.phase, Phase::New | Phase::KeptAlive))
            .filter_map(|c| c.handle.take())
            .collect();
        for h in idle {
            h.kill();
        }
        let drained = hub::with_timeout(this.cfg.grace, || {
            while conns.len() > 0 {
                conns.changed.clear();
                conns.changed.wait()?;
            }
            Ok(())
        });
        if drained.is_err() {
            let busy: Vec<JoinHandle<()>> =
                conns.live.borrow_mut().values_mut().filter_map(|c| c.handle.take()).collect();
            for h in busy {
                h.kill();
            }
        }
        Ok(())
    }
}

fn accept_loop(listener: &TcpListener, conns: &Rc<Conns>, server: &Rc<Server>) {
    let max_clients = server.cfg.max_clients.max(1);
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
        wait_for_room(conns, max_clients);
        let id = conns.tick();
        // Made before the spawn so that its drop forgets the connection
        // even if the green thread is killed before it starts.
        let tracked = Tracked { conns: conns.clone(), id };
        let server = server.clone();
        let h = match hub::try_spawn(move || serve_conn(&server, stream, peer, &tracked)) {
            Ok(h) => h,
            Err(e) => {
                // No stack (memory, vm.max_map_count): the connection was
                // dropped, and closed, with the closure. Back off as for
                // EMFILE.
                PROCESS_CONNS.fetch_sub(1, Ordering::AcqRel);
                eprintln!("cannot start a green thread for a connection: {e}");
                let _ = hub::sleep(Duration::from_millis(100));
                continue;
            }
        };
        // The green thread starts at the hub's next pass: it is registered
        // before it can change its phase or end.
        conns.insert(id, h);
    }
}

/// Connections held by every `Server` of this process (all hubs).
static PROCESS_CONNS: AtomicUsize = AtomicUsize::new(0);

/// `Server`s serving in this process now (one per worker hub, usually).
static SERVING: AtomicUsize = AtomicUsize::new(0);

/// One serving `Server`, counted in [`SERVING`] while it lives.
struct Serving;

impl Serving {
    fn start() -> Serving {
        SERVING.fetch_add(1, Ordering::AcqRel);
        Serving
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        SERVING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// This hub's share of the process's cap: each serving hub may hold
/// `cap / servers` connections, so a hub at the process's cap always has
/// connections of its own to close for a newcomer (a hub can close only
/// its own).
fn hub_share(cap: usize) -> usize {
    (cap / SERVING.load(Ordering::Acquire).max(1)).max(1)
}

/// The most connections every `Server` of this process may hold at once,
/// whatever their `max_clients`: half the soft fd limit (the other half is
/// for backend connections, files and the rest) and a quarter of the
/// kernel's memory maps (`vm.max_map_count`; each green stack takes two,
/// the stack and its guard page). Read once, at the first `serve`; no
/// bound where /proc cannot tell.
fn process_cap() -> usize {
    static CAP: OnceLock<usize> = OnceLock::new();
    *CAP.get_or_init(|| {
        let fds = std::fs::read_to_string("/proc/self/limits").ok().and_then(|l| soft_fd_limit(&l));
        let maps = std::fs::read_to_string("/proc/sys/vm/max_map_count").ok().and_then(|m| m.trim().parse().ok());
        process_cap_from(fds, maps)
    })
}

fn process_cap_from(fds: Option<u64>, maps: Option<u64>) -> usize {
    let cap = fds.map_or(u64::MAX, |n| n / 2).min(maps.map_or(u64::MAX, |n| n / 4));
    usize::try_from(cap).unwrap_or(usize::MAX).max(1)
}

/// The soft "Max open files" of a /proc/<pid>/limits text (`None` if
/// unlimited or absent).
fn soft_fd_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find_map(|l| l.strip_prefix("Max open files"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Returns once a newcomer has a connection slot: this hub below
/// `max_clients` and a place reserved in the process's cap
/// ([`process_cap`]; given back by `Conns::remove`), closing connections
/// in the order of closing to get there, or waiting while none may be
/// closed.
fn wait_for_room(conns: &Conns, max_clients: usize) {
    let cap = process_cap();
    loop {
        let hub_full = conns.len() >= max_clients.min(hub_share(cap));
        // Reserved at once where it is checked: hubs making room at the
        // same time never take the process past the cap.
        if !hub_full
            && PROCESS_CONNS.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < cap).then_some(n + 1)).is_ok()
        {
            return;
        }
        if make_room(conns) {
            continue;
        }
        // Every connection here has a request being processed: wait until
        // one ends or becomes closable.
        conns.changed.clear();
        if hub_full {
            let _ = conns.changed.wait();
        } else {
            // Below its share but the process at its cap (a share that
            // shrank as more hubs began to serve): the room comes from
            // another hub's connections, which do not wake this one, and
            // soon (they are over their share and close for their own
            // newcomers); look again shortly.
            let _ = hub::with_timeout(Duration::from_millis(50), || conns.changed.wait());
        }
    }
}

/// Closes the first connection in the order of closing (the module docs):
/// the kept-alive one idle the longest, else the oldest one without a full
/// request head. False if every connection has a request being processed.
fn make_room(conns: &Conns) -> bool {
    let Some((key, id)) = conns.closable.borrow_mut().pop_first() else { return false };
    let victim = conns.live.borrow_mut().get_mut(&id).and_then(|c| {
        c.key = c.key.filter(|k| *k != key);
        c.handle.take()
    });
    if let Some(h) = victim {
        h.kill();
    }
    true
}

enum HeadResult {
    Head(RequestHead),
    /// The client closed or went idle too long: close quietly.
    Closed,
    /// Answer with this status and close.
    Fail(u16, String),
}

/// Reads a request head. The connection's phase is `New` or `KeptAlive`
/// while it waits for the first byte, `Head` while it waits for more, and
/// is left as it was when it returns (the caller sets `Busy` before it
/// parks again).
fn read_head(server: &Server, stream: &TcpStream, buf: &mut ReadBuf, tracked: &Tracked, served: bool) -> HeadResult {
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
            // timeout, or for the first one up to the client timeout (a
            // connection that never sent a byte gave no sign of being a
            // client); the head deadline starts with its first byte.
            let (phase, wait) = if served {
                (Phase::KeptAlive, server.cfg.keepalive_timeout)
            } else {
                (Phase::New, server.cfg.client_timeout)
            };
            tracked.set(phase);
            stream.set_read_timeout(Some(wait));
            let r = buf.fill_idle(stream, MAX_HEAD + 1);
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
        // Waiting for the rest of a head: closable to make room.
        tracked.set(Phase::Head);
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

fn serve_conn(server: &Server, stream: TcpStream, peer: SocketAddr, tracked: &Tracked) {
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(server.cfg.client_timeout));
    stream.set_write_timeout(Some(server.cfg.client_timeout));
    let stop = hub::stop_event();
    let mut buf = ReadBuf::new();
    let mut served = false;
    loop {
        let result = read_head(server, &stream, &mut buf, tracked, served);
        // A request is processed (or refused) from here on: never closed to
        // make room.
        tracked.set(Phase::Busy);
        let head = match result {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_cap_leaves_half_the_fds_and_half_the_maps_to_the_rest() {
        assert_eq!(process_cap_from(Some(65536), Some(65530)), 16382);
        assert_eq!(process_cap_from(Some(1024), Some(65530)), 512);
        assert_eq!(process_cap_from(None, Some(400)), 100);
        assert_eq!(process_cap_from(Some(1), None), 1);
        assert_eq!(process_cap_from(None, None), usize::MAX);
    }

    #[test]
    fn the_soft_fd_limit_is_read_from_proc_limits() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             95624                95624                processes \n\
                      Max open files            20000                524288               files     \n";
        assert_eq!(soft_fd_limit(limits), Some(20000));
        assert_eq!(soft_fd_limit("Max open files            unlimited            unlimited            files\n"), None);
        assert_eq!(soft_fd_limit(""), None);
        let here = std::fs::read_to_string("/proc/self/limits").unwrap();
        assert!(soft_fd_limit(&here).is_some(), "{here}");
    }
}
