//! The epoll selector: the one file that talks to epoll.
//!
//! Contract:
//! * Every fd is registered exactly once, edge-triggered, for both
//!   directions (`EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`). Nothing is
//!   re-armed per wait, so a socket costs one `epoll_ctl` in its life.
//! * Events are hints ("spurious events" happen): a woken green thread
//!   retries its syscall and parks again on `EAGAIN`.
//! * Edge-triggered readiness is only lost if a reader stops before
//!   draining to `EAGAIN`; every green socket operation either succeeds or
//!   sees `EAGAIN` before it parks, so a readiness edge that arrives
//!   between the `EAGAIN` and the park is still queued in epoll and is
//!   delivered by the next `epoll_wait` (the hub is single-threaded: no
//!   event is consumed between the two).
//! * Closing an fd removes it from the epoll set; the hub tags each
//!   registration with a generation so a stale event for a reused fd
//!   number is ignored.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub(crate) const READABLE: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
pub(crate) const WRITABLE: u32 = (libc::EPOLLOUT | libc::EPOLLHUP | libc::EPOLLERR) as u32;

pub(crate) struct Selector {
    ep: OwnedFd,
    events: Vec<libc::epoll_event>,
}

pub(crate) type Event = libc::epoll_event;

impl Selector {
    pub(crate) fn new() -> io::Result<Selector> {
        // SAFETY: epoll_create1 takes only flags.
        let fd = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))?;
        Ok(Selector {
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            ep: unsafe { OwnedFd::from_raw_fd(fd) },
            events: Vec::with_capacity(256),
        })
    }

    /// Registers `fd` once, edge-triggered for both directions.
    pub(crate) fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event; the kernel copies it.
        syscall!(epoll_ctl(self.ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev))?;
        Ok(())
    }

    /// Waits up to `timeout_ms` (-1: forever) and returns the ready events.
    pub(crate) fn wait(&mut self, timeout_ms: i32) -> io::Result<&[Event]> {
        let cap = self.events.capacity() as i32;
        // SAFETY: the buffer has room for `cap` events; the kernel writes at
        // most that many and we set the length to what it returned.
        let n = match syscall!(epoll_wait(self.ep.as_raw_fd(), self.events.as_mut_ptr(), cap, timeout_ms)) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        // SAFETY: the first `n` entries were initialised by epoll_wait.
        unsafe { self.events.set_len(n) };
        Ok(&self.events)
    }
}
