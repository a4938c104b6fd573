//! SIGTERM/SIGINT delivered through a signalfd, for the workers' master
//! thread. The signals are blocked in the calling thread before any worker
//! thread starts, so every thread inherits the mask and only the signalfd
//! sees them.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub(crate) struct SignalFd {
    fd: OwnedFd,
}

impl SignalFd {
    /// Blocks `signals` in this thread and returns a signalfd for them.
    pub(crate) fn new(signals: &[i32]) -> io::Result<SignalFd> {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a valid sigset_t.
        syscall!(sigemptyset(&mut set))?;
        for &s in signals {
            // SAFETY: `set` is a valid sigset_t and `s` a signal number.
            syscall!(sigaddset(&mut set, s))?;
        }
        // SAFETY: `set` is valid; the old mask is not needed.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: -1 asks for a new signalfd for the valid set `set`.
        let fd = syscall!(signalfd(-1, &set, libc::SFD_CLOEXEC))?;
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        Ok(SignalFd { fd: unsafe { OwnedFd::from_raw_fd(fd) } })
    }

    /// Blocks until one of the signals or `other` (an eventfd) is readable.
    /// Returns the signal number, or `None` when `other` fired.
    pub(crate) fn wait(&self, other: RawFd) -> io::Result<Option<i32>> {
        loop {
            let mut fds = [
                libc::pollfd { fd: self.fd.as_raw_fd(), events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: other, events: libc::POLLIN, revents: 0 },
            ];
            // SAFETY: `fds` is a valid array of two pollfd.
            match syscall!(poll(fds.as_mut_ptr(), 2, -1)) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(_) => {}
            }
            if fds[0].revents & libc::POLLIN != 0 {
                // SAFETY: siginfo is plain data.
                let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
                let len = std::mem::size_of::<libc::signalfd_siginfo>();
                // SAFETY: reads one siginfo into a valid, large enough buffer.
                syscall!(read(self.fd.as_raw_fd(), &mut info as *mut _ as *mut libc::c_void, len))?;
                return Ok(Some(info.ssi_signo as i32));
            }
            if fds[1].revents != 0 {
                return Ok(None);
            }
        }
    }
}
