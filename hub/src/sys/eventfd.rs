//! An eventfd: how other OS threads (tpool workers, the signal thread) wake
//! a hub that may be sleeping in `epoll_wait`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: eventfd takes an initial value and flags.
        let fd = syscall!(eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC))?;
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(EventFd { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Adds one to the counter, making the fd readable.
    pub(crate) fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a valid u64. The only possible error
        // is EAGAIN when the counter is saturated, in which case the fd is
        // readable already.
        let _ = syscall!(write(self.fd.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8));
    }

    /// Resets the counter to zero and returns what it was (the number of
    /// `notify` calls since the last drain).
    pub(crate) fn drain(&self) -> u64 {
        let mut v: u64 = 0;
        // SAFETY: reads 8 bytes into a valid u64; EAGAIN means already zero.
        match syscall!(read(self.fd.as_raw_fd(), &mut v as *mut u64 as *mut libc::c_void, 8)) {
            Ok(_) => v,
            Err(_) => 0,
        }
    }
}
