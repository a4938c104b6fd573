//! The hub: one per OS thread. It owns the epoll selector, the timer heap,
//! the run queue and every green thread of its thread.
//!
//! `run()` loops, as eventlet's hub does: resume every green thread that is
//! ready, fire the due timers, then `epoll_wait` until the next timer (or
//! not at all when something is ready) and make the green threads of the
//! ready fds runnable.
//!
//! Parking is the one place a green thread waits ([`park`], eventlet's
//! `trampoline`). Whoever wants to wake it later keeps a [`Waiter`]: the
//! green thread's id plus its *park sequence number*. Every resume bumps
//! that number, so a waiter left behind in a wait list, a timer or an fd
//! slot after the thread was woken for another reason is simply stale and
//! waking it does nothing. That makes timeouts, kills and spurious events
//! safe without unregistering from everything eagerly.
//!
//! Deadlines (`Timeout` guards, I/O timeouts) are checked where a thread
//! parks: a timer is armed only if the thread really parks, and a park past
//! the deadline returns `TimedOut` at once.

use crate::event::Event;
use crate::switcher::{self, Co, StackPool, Wake};
use crate::sys::epoll::{Selector, READABLE, WRITABLE};
use crate::sys::eventfd::EventFd;
use crate::timer::{Action, Timers};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::panic;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Settings of one hub.
#[derive(Clone, Debug)]
pub struct Config {
    /// Usable stack of each green thread, in bytes (a guard page is added
    /// below it; a stack overflow faults instead of corrupting memory).
    pub stack_size: usize,
    /// Finished green threads' stacks kept for reuse.
    pub max_pooled_stacks: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config { stack_size: switcher::DEFAULT_STACK_SIZE, max_pooled_stacks: 1024 }
    }
}

/// Identifies a green thread of this hub (slot index + generation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GreenId {
    idx: u32,
    gen: u32,
}

/// A green thread's park ticket: valid until it is next resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Waiter {
    id: GreenId,
    seq: u64,
}

/// Which readiness a green thread waits for on an fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// Payload of the unwind that kills a green thread. It is raised with
/// `resume_unwind`, so the panic hook does not print it.
pub(crate) struct KillSignal;

struct Green {
    co: Option<Co>,
    seq: u64,
    parked: bool,
    kill: bool,
    deadlines: Vec<(u64, Instant)>,
}

struct Slot {
    gen: u32,
    green: Option<Green>,
}

struct IoSlot {
    gen: u32,
    reader: Option<Waiter>,
    writer: Option<Waiter>,
}

/// Work handed to a hub from another OS thread.
pub(crate) struct Remote {
    efd: EventFd,
    queue: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl Remote {
    pub(crate) fn call(&self, f: Box<dyn FnOnce() + Send>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let was_empty = q.is_empty();
        q.push(f);
        drop(q);
        // One wake-up per batch: the hub takes the whole queue after it
        // drains the eventfd, so a push onto a non-empty queue is covered.
        if was_empty {
            self.efd.notify();
        }
    }
}

/// A handle that other OS threads use to reach a hub.
#[derive(Clone)]
pub struct HubHandle(Arc<Remote>);

impl HubHandle {
    /// Runs `f` on the hub's own stack at its next loop pass. `f` must not
    /// park (it may spawn, set events, wake threads).
    pub fn call(&self, f: impl FnOnce() + Send + 'static) {
        self.0.call(Box::new(f))
    }

    /// Sets the hub's stop event (see [`stop_event`]).
    pub fn request_stop(&self) {
        self.call(|| stop_event().set())
    }

    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.0
    }
}

const REMOTE_TOKEN: u64 = u64::MAX;

pub(crate) struct Hub {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    runq: VecDeque<(GreenId, Wake)>,
    timers: Timers,
    selector: Selector,
    ios: Vec<Option<IoSlot>>,
    io_gen: u32,
    current: Option<GreenId>,
    stacks: StackPool,
    remote: Arc<Remote>,
    next_deadline: u64,
    stop: Event,
    /// Unique per hub ever made in this process ([`id`]).
    id: u64,
}

/// The id the next hub gets.
static NEXT_HUB_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

thread_local! {
    static HUB: RefCell<Option<Hub>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's hub. Never call user code (or drop user
/// values) inside `f`: they may re-enter the hub.
pub(crate) fn with<R>(f: impl FnOnce(&mut Hub) -> R) -> R {
    HUB.with(|h| f(h.borrow_mut().as_mut().expect("no hub on this thread: call it inside hub::run")))
}

fn try_with<R>(f: impl FnOnce(&mut Hub) -> R) -> Option<R> {
    HUB.with(|h| h.try_borrow_mut().ok().and_then(|mut h| h.as_mut().map(f)))
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "timed out")
}

impl Hub {
    fn new(cfg: &Config) -> io::Result<Hub> {
        let selector = Selector::new()?;
        let remote = Arc::new(Remote { efd: EventFd::new()?, queue: Mutex::new(Vec::new()) });
        selector.add(remote.efd.raw(), REMOTE_TOKEN)?;
        Ok(Hub {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            runq: VecDeque::new(),
            timers: Timers::default(),
            selector,
            ios: Vec::new(),
            io_gen: 0,
            current: None,
            stacks: StackPool::new(cfg.stack_size, cfg.max_pooled_stacks),
            remote,
            next_deadline: 0,
            stop: Event::new(),
            id: NEXT_HUB_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    fn green(&mut self, id: GreenId) -> Option<&mut Green> {
        let slot = self.slots.get_mut(id.idx as usize)?;
        if slot.gen != id.gen {
            return None;
        }
        slot.green.as_mut()
    }

    fn current_green(&mut self) -> (GreenId, &mut Green) {
        let id = self.current.expect("not inside a green thread");
        (id, self.green(id).expect("current green thread is gone"))
    }

    fn wake(&mut self, w: Waiter, why: Wake, front: bool) -> bool {
        let Some(g) = self.green(w.id) else {
            return false;
        };
        if !g.parked || g.seq != w.seq {
            return false;
        }
        g.parked = false;
        g.seq += 1;
        if front {
            self.runq.push_front((w.id, why));
        } else {
            self.runq.push_back((w.id, why));
        }
        true
    }
}

// ---- green thread life cycle (used by green.rs) ----

/// Allocates a green thread slot, builds its coroutine and makes it
/// runnable. `body` receives the first wake reason (`Killed` if it was
/// killed before it ever ran). Fails (and drops `body` unrun) if no stack
/// can be had: the `mmap` of a new one failed (memory, `vm.max_map_count`).
pub(crate) fn spawn_raw(body: impl FnOnce(Wake) + 'static) -> io::Result<GreenId> {
    // On failure `body` is dropped after the borrow, where its drop may
    // use the hub.
    let stack = with(|h| h.stacks.get())?;
    Ok(with(|h| {
        // Building the coroutine only moves `body` onto its stack; no user
        // code runs (or is dropped) inside this borrow.
        let co = switcher::coroutine(stack, body);
        let idx = match h.free.pop() {
            Some(i) => i,
            None => {
                h.slots.push(Slot { gen: 0, green: None });
                (h.slots.len() - 1) as u32
            }
        };
        let slot = &mut h.slots[idx as usize];
        slot.gen = slot.gen.wrapping_add(1);
        slot.green = Some(Green { co: Some(co), seq: 0, parked: false, kill: false, deadlines: Vec::new() });
        h.live += 1;
        let id = GreenId { idx, gen: slot.gen };
        h.runq.push_back((id, Wake::Ready));
        id
    }))
}

fn resume(id: GreenId, why: Wake) {
    let taken = with(|h| {
        let g = h.green(id)?;
        let why = if g.kill { Wake::Killed } else { why };
        let co = g.co.take()?;
        h.current = Some(id);
        Some((co, why))
    });
    let Some((mut co, why)) = taken else { return };
    let result = co.resume(why);
    with(|h| {
        h.current = None;
        match result {
            corosensei::CoroutineResult::Yield(()) => {
                if let Some(g) = h.green(id) {
                    g.co = Some(co);
                }
            }
            corosensei::CoroutineResult::Return(()) => {
                let slot = &mut h.slots[id.idx as usize];
                slot.green = None;
                h.free.push(id.idx);
                h.live -= 1;
                h.stacks.put(co.into_stack());
            }
        }
    });
}

/// The running green thread's id, if any.
pub(crate) fn current() -> Option<GreenId> {
    try_with(|h| h.current).flatten()
}

/// The running green thread's park ticket.
pub(crate) fn waiter() -> Waiter {
    with(|h| {
        let (id, g) = h.current_green();
        Waiter { id, seq: g.seq }
    })
}

/// Wakes a parked green thread; false if the ticket is stale.
pub(crate) fn wake(w: Waiter) -> bool {
    with(|h| h.wake(w, Wake::Ready, false))
}

/// Marks `id` killed and, if it is parked, makes it run next so it unwinds.
/// Returns false if it already finished.
pub(crate) fn request_kill(id: GreenId) -> bool {
    with(|h| {
        let Some(g) = h.green(id) else { return false };
        g.kill = true;
        if g.parked {
            let w = Waiter { id, seq: g.seq };
            h.wake(w, Wake::Killed, true);
        }
        true
    })
}

/// Number of live green threads on this hub.
pub(crate) fn live() -> usize {
    with(|h| h.live)
}

/// Stacks in this hub's pool.
pub(crate) fn pooled_stacks() -> usize {
    with(|h| h.stacks.idle())
}

// ---- parking ----

/// How a park ended, for the callers that care about more than ok/timeout.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parked {
    Woken,
    Expired,
}

/// Parks the running green thread until it is woken, `sleep_until`
/// passes (`Parked::Expired`), or a deadline passes (`Err(TimedOut)`): the
/// innermost `Timeout` guard's (when `guards`) or `io_deadline`.
/// A killed thread unwinds from here.
pub(crate) fn park_with(
    sleep_until: Option<Instant>,
    io_deadline: Option<Instant>,
    guards: bool,
) -> io::Result<Parked> {
    let prep = with(|h| {
        let (id, g) = h.current_green();
        if g.kill {
            return Err(Wake::Killed);
        }
        let mut deadline = io_deadline;
        if guards {
            for &(_, d) in &g.deadlines {
                deadline = Some(deadline.map_or(d, |x: Instant| x.min(d)));
            }
        }
        let mut timer = None;
        if let Some(d) = deadline {
            if sleep_until.is_none_or(|s| d <= s) {
                timer = Some((d, Wake::TimedOut));
            }
        }
        if timer.is_none() {
            timer = sleep_until.map(|s| (s, Wake::Expired));
        }
        let w = Waiter { id, seq: g.seq };
        if let Some((when, why)) = timer {
            if when <= Instant::now() {
                return Err(why);
            }
        }
        g.parked = true;
        let timer_id = timer.map(|(when, why)| h.timers.add(when, Action::Wake(w, why)));
        Ok(timer_id)
    });
    let why = match prep {
        Ok(timer_id) => {
            let why = switcher::suspend();
            if let Some(t) = timer_id {
                let dropped = with(|h| h.timers.cancel(t));
                drop(dropped);
            }
            why
        }
        Err(why) => why,
    };
    match why {
        Wake::Ready => Ok(Parked::Woken),
        Wake::Expired => Ok(Parked::Expired),
        Wake::TimedOut => Err(timed_out()),
        Wake::Killed => {
            if std::thread::panicking() {
                // Already unwinding (a destructor parked): do not unwind
                // twice, just fail the operation.
                Err(io::Error::new(io::ErrorKind::Interrupted, "green thread killed"))
            } else {
                panic::resume_unwind(Box::new(KillSignal))
            }
        }
    }
}

/// Parks until woken; honours `Timeout` guards.
pub(crate) fn park() -> io::Result<()> {
    park_with(None, None, true).map(|_| ())
}

/// Puts the running green thread at the back of the run queue.
pub fn yield_now() {
    let w = waiter();
    with(|h| {
        if let Some(g) = h.green(w.id) {
            g.parked = true;
        }
        h.wake(w, Wake::Ready, false);
    });
    let why = switcher::suspend();
    if why == Wake::Killed && !std::thread::panicking() {
        panic::resume_unwind(Box::new(KillSignal));
    }
}

/// Sleeps for `d`. Returns `Err(TimedOut)` if an enclosing `Timeout`
/// expires first. A zero duration yields.
pub fn sleep(d: Duration) -> io::Result<()> {
    if d.is_zero() {
        yield_now();
        return Ok(());
    }
    let until = Instant::now() + d;
    loop {
        match park_with(Some(until), None, true)? {
            Parked::Expired => return Ok(()),
            Parked::Woken if Instant::now() >= until => return Ok(()),
            Parked::Woken => {}
        }
    }
}

// ---- deadlines (used by timeout.rs) ----

pub(crate) fn push_deadline(at: Instant) -> u64 {
    with(|h| {
        let id = h.next_deadline;
        h.next_deadline += 1;
        h.current_green().1.deadlines.push((id, at));
        id
    })
}

pub(crate) fn pop_deadline(id: u64) {
    try_with(|h| {
        if let Some(cur) = h.current {
            if let Some(g) = h.green(cur) {
                g.deadlines.retain(|&(i, _)| i != id);
            }
        }
    });
}

// ---- timers with callbacks ----

pub(crate) fn add_timer(when: Instant, f: Box<dyn FnOnce()>) -> u64 {
    with(|h| h.timers.add(when, Action::Call(f)))
}

pub(crate) fn cancel_timer(id: u64) {
    let a = try_with(|h| h.timers.cancel(id));
    drop(a);
}

pub(crate) fn pending_timers() -> usize {
    with(|h| h.timers.len())
}

// ---- fds ----

/// Registers `fd` with this hub's selector (once in its life).
pub(crate) fn register_fd(fd: RawFd) -> io::Result<()> {
    with(|h| {
        let i = fd as usize;
        if h.ios.len() <= i {
            h.ios.resize_with(i + 1, || None);
        }
        h.io_gen = h.io_gen.wrapping_add(1);
        let gen = h.io_gen;
        h.selector.add(fd, ((gen as u64) << 32) | fd as u64)?;
        h.ios[i] = Some(IoSlot { gen, reader: None, writer: None });
        Ok(())
    })
}

/// Forgets `fd` (call just before closing it; closing removes it from
/// epoll). Harmless outside a hub.
pub(crate) fn deregister_fd(fd: RawFd) {
    try_with(|h| {
        if let Some(s) = h.ios.get_mut(fd as usize) {
            *s = None;
        }
    });
}

/// Parks until `fd` may be ready in direction `dir`, `deadline` passes or a
/// `Timeout` guard expires. Only one green thread may wait per fd and
/// direction (as in eventlet).
pub(crate) fn wait_fd(fd: RawFd, dir: Direction, deadline: Option<Instant>) -> io::Result<()> {
    with(|h| {
        let (id, g) = h.current_green();
        let me = Waiter { id, seq: g.seq };
        let stale = |w: &Option<Waiter>, h: &mut Hub| match w {
            Some(o) => h.green(o.id).is_none_or(|g| !g.parked || g.seq != o.seq),
            None => true,
        };
        let slot = h
            .ios
            .get(fd as usize)
            .and_then(|s| s.as_ref())
            .ok_or_else(|| io::Error::other("fd is not registered with this hub"))?;
        let cur = match dir {
            Direction::Read => slot.reader,
            Direction::Write => slot.writer,
        };
        if !stale(&cur, h) {
            return Err(io::Error::other("another green thread is already waiting on this fd"));
        }
        let slot = h.ios[fd as usize].as_mut().expect("checked above");
        match dir {
            Direction::Read => slot.reader = Some(me),
            Direction::Write => slot.writer = Some(me),
        }
        Ok(())
    })?;
    let r = park_with(None, deadline, true).map(|_| ());
    try_with(|h| {
        if let Some(Some(slot)) = h.ios.get_mut(fd as usize) {
            match dir {
                Direction::Read => slot.reader = None,
                Direction::Write => slot.writer = None,
            }
        }
    });
    r
}

// ---- the loop ----

/// The event telling this hub's servers to stop accepting and drain; set by
/// [`HubHandle::request_stop`] (the workers' SIGTERM handling) or by hand.
pub fn stop_event() -> Event {
    with(|h| h.stop.clone())
}

/// This hub's id, unique in the process: state kept per thread for a hub
/// (such as idle sockets registered with its epoll) checks it, because a
/// thread may run several hubs one after another.
pub fn id() -> u64 {
    with(|h| h.id)
}

/// A handle to this thread's hub for other OS threads.
pub fn handle() -> HubHandle {
    HubHandle(with(|h| h.remote.clone()))
}

/// Most green threads resumed in one pass before the hub looks at timers
/// and I/O again. Threads made ready during a pass run in the same pass
/// (saving an `epoll_wait` per hand-off) until this budget is spent.
const RESUME_BUDGET: usize = 256;

fn run_ready() {
    for _ in 0..RESUME_BUDGET {
        let Some((id, why)) = with(|h| h.runq.pop_front()) else { break };
        resume(id, why);
    }
}

fn fire_timers() {
    let now = Instant::now();
    let limit = with(|h| h.timers.pass_limit());
    while let Some(action) = with(|h| {
        let a = h.timers.pop_due(now, limit)?;
        match a {
            Action::Wake(w, why) => {
                h.wake(w, why, false);
                Some(None)
            }
            Action::Call(f) => Some(Some(f)),
        }
    }) {
        if let Some(f) = action {
            f();
        }
    }
}

fn poll_io() -> io::Result<()> {
    let remote = with(|h| -> io::Result<bool> {
        let timeout = if !h.runq.is_empty() {
            0
        } else {
            match h.timers.next_due() {
                None => -1,
                Some(t) => {
                    let d = t.saturating_duration_since(Instant::now());
                    // Round up so that a timer is never woken for early.
                    d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32
                }
            }
        };
        let Hub { selector, ios, slots, runq, .. } = h;
        let events = selector.wait(timeout)?;
        let mut remote = false;
        for ev in events {
            let token = ev.u64;
            if token == REMOTE_TOKEN {
                remote = true;
                continue;
            }
            let fd = (token & 0xffff_ffff) as usize;
            let gen = (token >> 32) as u32;
            let Some(Some(slot)) = ios.get_mut(fd) else {
                continue;
            };
            if slot.gen != gen {
                continue;
            }
            let mut ready = |w: Option<Waiter>| {
                let Some(w) = w else { return };
                let Some(s) = slots.get_mut(w.id.idx as usize) else {
                    return;
                };
                if s.gen != w.id.gen {
                    return;
                }
                let Some(g) = s.green.as_mut() else { return };
                if g.parked && g.seq == w.seq {
                    g.parked = false;
                    g.seq += 1;
                    runq.push_back((w.id, Wake::Ready));
                }
            };
            if ev.events & READABLE != 0 {
                ready(slot.reader.take());
            }
            if ev.events & WRITABLE != 0 {
                ready(slot.writer.take());
            }
        }
        Ok(remote)
    })?;
    if remote {
        let calls = with(|h| {
            h.remote.efd.drain();
            std::mem::take(&mut *h.remote.queue.lock().unwrap_or_else(|e| e.into_inner()))
        });
        for f in calls {
            f();
        }
    }
    Ok(())
}

/// Kills every green thread still alive and lets them unwind.
fn kill_all() {
    for _ in 0..1000 {
        let parked: Vec<Waiter> = with(|h| {
            let mut v = Vec::new();
            for (idx, s) in h.slots.iter_mut().enumerate() {
                if let Some(g) = s.green.as_mut() {
                    g.kill = true;
                    if g.parked {
                        v.push(Waiter { id: GreenId { idx: idx as u32, gen: s.gen }, seq: g.seq });
                    }
                }
            }
            v
        });
        for w in parked {
            with(|h| h.wake(w, Wake::Killed, false));
        }
        while with(|h| !h.runq.is_empty()) {
            run_ready();
        }
        if live() == 0 {
            return;
        }
    }
    eprintln!("hub: {} green threads refused to die; leaking them", live());
}

/// Runs `f` as the first green thread of a new hub on this thread and
/// drives the hub until `f` returns. Green threads still alive then are
/// killed (unwound). A panic in `f` is resumed here.
pub fn run<T: 'static>(f: impl FnOnce() -> T + 'static) -> T {
    run_with(Config::default(), f)
}

/// Runs `f` as the first green thread of a fresh hub on a new OS thread
/// and returns its value; panics (with `f`'s panic, if it panicked) unless
/// it finishes within `secs` seconds. For tests: a lost wake-up fails fast
/// instead of hanging.
pub fn run_within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = panic::catch_unwind(panic::AssertUnwindSafe(|| run(f)));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => panic::resume_unwind(p),
        Err(_) => panic!("did not finish within {secs} s (lost wake-up?)"),
    }
}

/// [`run`] with explicit settings.
pub fn run_with<T: 'static>(cfg: Config, f: impl FnOnce() -> T + 'static) -> T {
    HUB.with(|h| {
        let mut h = h.borrow_mut();
        assert!(h.is_none(), "a hub is already running on this thread");
        *h = Some(Hub::new(&cfg).expect("cannot create the hub"));
    });
    let main = crate::green::spawn(f);
    while !main.is_finished() {
        run_ready();
        if main.is_finished() {
            break;
        }
        fire_timers();
        if let Err(e) = poll_io() {
            eprintln!("hub: epoll_wait failed: {e}");
            break;
        }
    }
    kill_all();
    let timers = with(|h| h.timers.take_all());
    drop(timers);
    let hub = HUB.with(|h| h.borrow_mut().take());
    drop(hub);
    match main.try_result() {
        Some(Ok(v)) => v,
        Some(Err(crate::green::JoinError::Panicked(p))) => panic::resume_unwind(p),
        _ => panic!("hub stopped before the main green thread finished"),
    }
}
