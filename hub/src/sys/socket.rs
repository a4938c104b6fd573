//! Socket creation and the calls std does not offer for non-blocking
//! sockets: listen with SO_REUSEPORT and a chosen backlog, a non-blocking
//! connect, and accept4 straight into non-blocking mode.
//!
//! Read, write, shutdown and the socket options std does have go through
//! std's types, which the green sockets keep in non-blocking mode.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn new_socket(addr: &SocketAddr) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: socket() takes plain integers.
    let fd = syscall!(socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0))?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_int_opt(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: passes a pointer to a live i32 and its size.
    syscall!(setsockopt(fd, level, name, &value as *const i32 as *const libc::c_void, size_of::<i32>() as u32))?;
    Ok(())
}

/// A socket address in the C layout.
struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    fn from(addr: &SocketAddr) -> RawAddr {
        // SAFETY: sockaddr_storage is plain data; all-zero is valid.
        let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
                unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: libc::in6_addr { s6_addr: a.ip().octets() },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
                unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
                size_of::<libc::sockaddr_in6>()
            }
        };
        RawAddr { storage, len: len as libc::socklen_t }
    }

    fn to_std(&self) -> io::Result<SocketAddr> {
        match self.storage.ss_family as i32 {
            libc::AF_INET => {
                // SAFETY: the kernel wrote a sockaddr_in (family says so).
                let sin: libc::sockaddr_in = unsafe { std::ptr::read(&self.storage as *const _ as *const _) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                Ok(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: the kernel wrote a sockaddr_in6 (family says so).
                let s: libc::sockaddr_in6 = unsafe { std::ptr::read(&self.storage as *const _ as *const _) };
                let ip = Ipv6Addr::from(s.sin6_addr.s6_addr);
                Ok(SocketAddr::V6(SocketAddrV6::new(ip, u16::from_be(s.sin6_port), s.sin6_flowinfo, s.sin6_scope_id)))
            }
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, "unknown address family")),
        }
    }
}

/// A non-blocking listening socket with SO_REUSEADDR, optionally
/// SO_REUSEPORT (so N worker hubs can share one port), and `backlog`.
pub(crate) fn listen(addr: &SocketAddr, backlog: i32, reuse_port: bool) -> io::Result<OwnedFd> {
    let fd = new_socket(addr)?;
    set_int_opt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if reuse_port {
        set_int_opt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
    }
    let raw = RawAddr::from(addr);
    // SAFETY: `raw` holds a valid sockaddr of length `raw.len`.
    syscall!(bind(fd.as_raw_fd(), &raw.storage as *const _ as *const libc::sockaddr, raw.len))?;
    // SAFETY: listen() takes plain integers.
    syscall!(listen(fd.as_raw_fd(), backlog))?;
    Ok(fd)
}

/// accept4 into a non-blocking, close-on-exec socket.
pub(crate) fn accept(listener: RawFd) -> io::Result<(OwnedFd, SocketAddr)> {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    let mut raw = RawAddr { storage: unsafe { zeroed() }, len: size_of::<libc::sockaddr_storage>() as libc::socklen_t };
    // SAFETY: `raw.storage` is writable for `raw.len` bytes.
    let fd = syscall!(accept4(
        listener,
        &mut raw.storage as *mut _ as *mut libc::sockaddr,
        &mut raw.len,
        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
    ))?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok((owned, raw.to_std()?))
}

/// Starts a non-blocking connect. Returns the socket and whether the
/// connection is still in progress (EINPROGRESS).
pub(crate) fn connect(addr: &SocketAddr) -> io::Result<(OwnedFd, bool)> {
    let fd = new_socket(addr)?;
    let raw = RawAddr::from(addr);
    // SAFETY: `raw` holds a valid sockaddr of length `raw.len`.
    match syscall!(connect(fd.as_raw_fd(), &raw.storage as *const _ as *const libc::sockaddr, raw.len)) {
        Ok(_) => Ok((fd, false)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok((fd, true)),
        Err(e) => Err(e),
    }
}
