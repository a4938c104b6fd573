//! Green sockets: `TcpListener`, `TcpStream`, `UnixDatagram`.
//!
//! Each is a non-blocking socket registered once with the hub of the
//! thread that made it (so none of them is `Send`). An operation first
//! tries the syscall; on `EAGAIN` it parks on the fd until the hub sees it
//! ready, then retries. Read and write timeouts are deadlines checked when
//! the operation would park (`TimedOut`), as are `Timeout` guards.

use crate::hub::{self, Direction};
use crate::sys::socket;
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

type NotSend = PhantomData<*const ()>;

fn deadline(t: Option<Duration>) -> Option<Instant> {
    t.map(|d| Instant::now() + d)
}

/// Runs `op` until it does not return `WouldBlock`, parking on `fd`.
fn retry<T>(
    fd: RawFd,
    dir: Direction,
    timeout: Option<Duration>,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    let mut dl = None;
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if dl.is_none() {
                    dl = deadline(timeout);
                }
                hub::wait_fd(fd, dir, dl)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// A listening TCP socket.
pub struct TcpListener {
    inner: std::net::TcpListener,
    _not_send: NotSend,
}

impl TcpListener {
    /// Listens on `addr` with a backlog of 1024 (no SO_REUSEPORT).
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, 1024, false)
    }

    /// Listens on `addr` with `backlog`; with `reuse_port`, several
    /// listeners (one per worker hub) share the port and the kernel spreads
    /// connections among them.
    pub fn bind_with(addr: SocketAddr, backlog: i32, reuse_port: bool) -> io::Result<TcpListener> {
        let fd = socket::listen(&addr, backlog, reuse_port)?;
        hub::register_fd(fd.as_raw_fd())?;
        Ok(TcpListener { inner: std::net::TcpListener::from(fd), _not_send: PhantomData })
    }

    /// Accepts a connection, parking until one arrives.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let fd = self.inner.as_raw_fd();
        let (sock, peer) = retry(fd, Direction::Read, None, || socket::accept(fd))?;
        Ok((TcpStream::from_fd(sock)?, peer))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        hub::deregister_fd(self.inner.as_raw_fd());
    }
}

/// A connected TCP socket. `Read` and `Write` are implemented for both
/// `TcpStream` and `&TcpStream`, so one green thread can read while another
/// writes.
pub struct TcpStream {
    inner: std::net::TcpStream,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
    _not_send: NotSend,
}

impl TcpStream {
    fn from_fd(fd: OwnedFd) -> io::Result<TcpStream> {
        hub::register_fd(fd.as_raw_fd())?;
        Ok(TcpStream {
            inner: std::net::TcpStream::from(fd),
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
            _not_send: PhantomData,
        })
    }

    /// Connects to `addr`, failing with `TimedOut` after `timeout`.
    pub fn connect(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
        let (fd, in_progress) = socket::connect(&addr)?;
        let s = TcpStream::from_fd(fd)?;
        if in_progress {
            hub::wait_fd(s.as_raw_fd(), Direction::Write, deadline(timeout))?;
            if let Some(e) = s.inner.take_error()? {
                return Err(e);
            }
        }
        Ok(s)
    }

    /// Deadline for each read that has to wait (`None`: wait forever).
    pub fn set_read_timeout(&self, t: Option<Duration>) {
        self.read_timeout.set(t);
    }

    /// Deadline for each write that has to wait (`None`: wait forever).
    pub fn set_write_timeout(&self, t: Option<Duration>) {
        self.write_timeout.set(t);
    }

    pub fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout.get()
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// One read attempt that never parks (`WouldBlock` if nothing is there).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.inner).read(buf)
    }

    /// One peek that never parks: `WouldBlock` if nothing is there, `Ok(0)`
    /// at the end of the stream. Tells whether an idle connection is still
    /// open and quiet.
    pub fn try_peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.peek(buf)
    }

    /// Parks until a read would not block: data, end of stream or an error
    /// is there. It peeks before it parks, so readiness that came before
    /// the call (an edge the hub saw while nobody waited) is not missed.
    pub fn readable(&self) -> io::Result<()> {
        let mut one = [0u8; 1];
        retry(self.as_raw_fd(), Direction::Read, self.read_timeout.get(), || self.inner.peek(&mut one)).map(|_| ())
    }

    /// Parks until a read would not block, without the peek of
    /// [`TcpStream::readable`]: call it only right after a read on this
    /// socket returned `WouldBlock`, with no park in between. The socket was
    /// empty then, so any data since raised an edge the hub has not taken
    /// yet, and it wakes this waiter. Saves a syscall on the path every
    /// idle keep-alive connection takes.
    pub fn wait_readable(&self) -> io::Result<()> {
        hub::wait_fd(self.as_raw_fd(), Direction::Read, deadline(self.read_timeout.get()))
    }

    fn green_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        retry(self.as_raw_fd(), Direction::Read, self.read_timeout.get(), || (&self.inner).read(buf))
    }

    fn green_write(&self, buf: &[u8]) -> io::Result<usize> {
        retry(self.as_raw_fd(), Direction::Write, self.write_timeout.get(), || (&self.inner).write(buf))
    }

    fn green_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        retry(self.as_raw_fd(), Direction::Write, self.write_timeout.get(), || (&self.inner).write_vectored(bufs))
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        hub::deregister_fd(self.inner.as_raw_fd());
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.green_read(buf)
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.green_read(buf)
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.green_write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.green_write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.green_write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.green_write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A Unix datagram socket, enough for sd_notify (`@name` addresses are
/// abstract, as in `NOTIFY_SOCKET`).
pub struct UnixDatagram {
    inner: std::os::unix::net::UnixDatagram,
    _not_send: NotSend,
}

fn unix_addr(path: &str) -> io::Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    match path.strip_prefix('@') {
        Some(name) => std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()),
        None => std::os::unix::net::SocketAddr::from_pathname(path),
    }
}

impl UnixDatagram {
    fn wrap(inner: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        inner.set_nonblocking(true)?;
        hub::register_fd(inner.as_raw_fd())?;
        Ok(UnixDatagram { inner, _not_send: PhantomData })
    }

    /// An unbound socket, for sending.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::wrap(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A socket bound to `path` (`@name`: abstract), for receiving.
    pub fn bind(path: &str) -> io::Result<UnixDatagram> {
        UnixDatagram::wrap(std::os::unix::net::UnixDatagram::bind_addr(&unix_addr(path)?)?)
    }

    pub fn send_to(&self, buf: &[u8], path: &str) -> io::Result<usize> {
        let addr = unix_addr(path)?;
        retry(self.inner.as_raw_fd(), Direction::Write, None, || self.inner.send_to_addr(buf, &addr))
    }

    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        retry(self.inner.as_raw_fd(), Direction::Read, None, || self.inner.recv(buf))
    }
}

impl Drop for UnixDatagram {
    fn drop(&mut self) {
        hub::deregister_fd(self.inner.as_raw_fd());
    }
}

/// Sends `state` (`READY=1`, `STOPPING=1`, ...) to systemd's
/// `$NOTIFY_SOCKET` (`@name`: abstract socket, as systemd passes it).
/// `Ok(false)` if the variable is not set (not started by systemd).
pub fn sd_notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return Ok(false) };
    let path = path.to_string_lossy().into_owned();
    if path.is_empty() {
        return Ok(false);
    }
    UnixDatagram::unbound()?.send_to(state.as_bytes(), &path)?;
    Ok(true)
}
