//! Thin wrappers over the Linux syscalls the hub needs.
//!
//! Every syscall goes through [`syscall!`], which turns `-1` into
//! `io::Error::last_os_error()`. Public hub types never call `libc`
//! directly; they call these functions. File descriptors are held as
//! `OwnedFd` so that they are closed exactly once.

/// Calls a libc function and maps a `-1` return to the last OS error.
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the caller passes arguments that satisfy the libc
        // function's contract; see the `// SAFETY:` comment at each use.
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

pub(crate) mod epoll;
pub(crate) mod eventfd;
pub(crate) mod signal;
pub(crate) mod socket;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new
/// soft limit. Servers call it at start-up (Swift does the same), tests
/// that hold thousands of sockets too.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable rlimit.
    syscall!(getrlimit(libc::RLIMIT_NOFILE, &mut lim))?;
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid rlimit with cur <= max.
        syscall!(setrlimit(libc::RLIMIT_NOFILE, &lim))?;
    }
    Ok(lim.rlim_cur)
}

/// An I/O scheduling class (`ioprio_set(2)`, Swift's `ionice_class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoClass {
    /// Real time: served before everything else (needs CAP_SYS_ADMIN).
    RealTime,
    /// Best effort, the default class.
    BestEffort,
    /// Only when nobody else uses the disk.
    Idle,
}

/// Sets the I/O scheduling class and level (0, the highest, to 7) of the
/// calling thread, which the threads it starts afterwards inherit: a
/// background daemon calls it first thing, so its disk work yields to the
/// request workers' (with a scheduler that honours it, such as BFQ).
pub fn set_io_priority(class: IoClass, level: u8) -> std::io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const CLASS_SHIFT: libc::c_long = 13;
    let class = match class {
        IoClass::RealTime => 1,
        IoClass::BestEffort => 2,
        IoClass::Idle => 3,
    };
    let prio = (class << CLASS_SHIFT) | libc::c_long::from(level.min(7));
    // SAFETY: ioprio_set takes three integers (which, who, ioprio) and
    // touches no memory of ours; `who` 0 is the calling thread.
    let res = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0 as libc::c_long, prio) };
    if res == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Number of open file descriptors of this process (entries of
/// `/proc/self/fd`, minus the one `read_dir` itself holds).
pub fn open_fd_count() -> std::io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count().saturating_sub(1))
}

/// CPU time consumed by the calling thread (for benchmarks and stats).
pub fn thread_cpu_time() -> std::time::Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    match syscall!(clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts)) {
        Ok(_) => std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
        Err(_) => std::time::Duration::ZERO,
    }
}
