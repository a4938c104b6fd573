//! Writing a response: a whole one with [`Response::send`], or a streamed
//! one with [`Response::start`], `Write`, and [`Response::finish`].
//!
//! The head and a small body go out in one `write`. A streamed body with a
//! known length must match it (a short one closes the connection, so the
//! client sees a truncated body instead of a hang); without a length the
//! body is sent chunked.

use crate::chunked::{chunk_header, LAST_CHUNK};
use crate::date;
use crate::head::{push_decimal, reason_phrase};
use crate::headers::Headers;
use hub::TcpStream;
use std::cell::Cell;
use std::io::{self, IoSlice, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    NotStarted,
    Length { left: u64 },
    Chunked,
    Done,
}

/// The response to one request.
pub struct Response<'a> {
    stream: &'a TcpStream,
    /// The request's client still waits for `100 Continue`: its body will
    /// not come, so the connection cannot be reused.
    continue_pending: &'a Cell<bool>,
    stop: &'a hub::Event,
    head_only: bool,
    keep_alive: bool,
    /// The request said `Connection: keep-alive`: a response that keeps
    /// the connection says so too (eventlet does; HTTP/1.0 clients need it).
    keep_alive_asked: bool,
    state: State,
    status: u16,
    sent: u64,
    /// The head being built; after [`Response::start`], the head not sent
    /// yet (it goes out with the first body bytes, or at `finish`).
    out: Vec<u8>,
}

impl<'a> Response<'a> {
    pub(crate) fn new(
        stream: &'a TcpStream,
        continue_pending: &'a Cell<bool>,
        stop: &'a hub::Event,
        head_only: bool,
        keep_alive: bool,
    ) -> Response<'a> {
        Response {
            stream,
            continue_pending,
            stop,
            head_only,
            keep_alive,
            keep_alive_asked: false,
            state: State::NotStarted,
            status: 0,
            sent: 0,
            out: Vec::new(),
        }
    }

    /// The status sent, or 0 before the head went out.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Body bytes sent so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// True once the head has been sent.
    pub fn started(&self) -> bool {
        self.state != State::NotStarted
    }

    /// True if the connection stays open after this response.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Notes that the request said `Connection: keep-alive`.
    pub(crate) fn keep_alive_asked(&mut self) {
        self.keep_alive_asked = true;
    }

    /// Asks for the connection to be closed after this response.
    pub fn close_after(&mut self) {
        self.keep_alive = false;
    }

    /// Writes the head into `out`, with `body_room` more bytes reserved.
    fn head(&mut self, status: u16, headers: &Headers, length: Option<u64>, body_room: usize) {
        if headers.get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || self.continue_pending.get()
            || self.stop.is_set()
        {
            self.keep_alive = false;
        }
        let bodyless = status < 200 || status == 204 || status == 304;
        // Framing headers are ours: a handler's Content-Length is kept only
        // for HEAD (it describes the body a GET would send).
        let set_length = !bodyless && length.is_some() && !(self.head_only && headers.contains("content-length"));
        let chunked = !bodyless && length.is_none();
        self.out.clear();
        // Room for the whole head and what `send` appends, at once.
        let fields: usize = headers.iter().map(|(name, value)| name.len() + value.len() + 4).sum();
        self.out.reserve(fields + 160 + body_room);
        self.out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(&mut self.out, u64::from(status));
        self.out.push(b' ');
        self.out.extend_from_slice(reason_phrase(status).as_bytes());
        self.out.extend_from_slice(b"\r\n");
        let (mut dated, mut connection) = (false, false);
        for (name, value) in headers.iter() {
            let ours = (set_length && name.eq_ignore_ascii_case("content-length"))
                || (chunked && name.eq_ignore_ascii_case("transfer-encoding"))
                || (!self.keep_alive && name.eq_ignore_ascii_case("connection"));
            if !ours {
                dated |= name.eq_ignore_ascii_case("date");
                connection |= name.eq_ignore_ascii_case("connection");
                self.out.extend_from_slice(name.as_bytes());
                self.out.extend_from_slice(b": ");
                self.out.extend_from_slice(value.as_bytes());
                self.out.extend_from_slice(b"\r\n");
            }
        }
        if !dated {
            // Every response carries a Date (RFC 9110 §6.6.1), as Swift's do.
            let out = &mut self.out;
            date::with_now(|now| {
                out.extend_from_slice(b"Date: ");
                out.extend_from_slice(now.as_bytes());
                out.extend_from_slice(b"\r\n");
            });
        }
        if let (true, Some(n)) = (set_length, length) {
            self.out.extend_from_slice(b"Content-Length: ");
            push_decimal(&mut self.out, n);
            self.out.extend_from_slice(b"\r\n");
        }
        if chunked {
            self.out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        if !self.keep_alive {
            self.out.extend_from_slice(b"Connection: close\r\n");
        } else if self.keep_alive_asked && !connection {
            self.out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        self.status = status;
        self.state = match length {
            _ if self.head_only || bodyless => State::Length { left: 0 },
            Some(n) => State::Length { left: n },
            None => State::Chunked,
        };
    }

    /// Sends a whole response: head and `body` in one write.
    pub fn send(&mut self, status: u16, headers: &Headers, body: &[u8]) -> io::Result<()> {
        self.check_not_started()?;
        let whole = body.len() <= 60 * 1024;
        self.head(status, headers, Some(body.len() as u64), if whole { body.len() } else { 0 });
        let body = if matches!(self.state, State::Length { left: 0 }) { &[][..] } else { body };
        // Taken first: whatever happens, this head is never sent again.
        let mut out = std::mem::take(&mut self.out);
        if out.len() + body.len() <= 64 * 1024 {
            out.extend_from_slice(body);
            (&*self.stream).write_all(&out)?;
        } else {
            (&*self.stream).write_all(&out)?;
            (&*self.stream).write_all(body)?;
        }
        self.sent = body.len() as u64;
        self.state = State::Done;
        Ok(())
    }

    /// Starts a streamed response: `length` bytes follow, or a chunked
    /// body when `None`. Write the body with `Write`, then call
    /// [`Response::finish`]. For a HEAD request nothing of the body is sent.
    /// The head goes out with the first body bytes (one write for a small
    /// body), at `finish`, or at [`Response::flush_head`].
    pub fn start(&mut self, status: u16, headers: &Headers, length: Option<u64>) -> io::Result<()> {
        self.check_not_started()?;
        self.head(status, headers, length, 0);
        Ok(())
    }

    /// Sends the head of a started response now, if it has not gone out.
    pub fn flush_head(&mut self) -> io::Result<()> {
        if self.state != State::NotStarted && !self.out.is_empty() {
            let head = std::mem::take(&mut self.out);
            (&*self.stream).write_all(&head)?;
        }
        Ok(())
    }

    /// Ends a streamed body. A fixed-length body that is short closes the
    /// connection (the client must not take it for complete).
    pub fn finish(&mut self) -> io::Result<()> {
        match self.state {
            State::Chunked => {
                let head = std::mem::take(&mut self.out);
                write_all_vectored(self.stream, &[&head, LAST_CHUNK])?;
            }
            State::Length { left } if left > 0 => {
                self.keep_alive = false;
                self.state = State::Done;
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "response body shorter than its Content-Length",
                ));
            }
            State::NotStarted => return Err(io::Error::other("finish before start")),
            _ => self.flush_head()?,
        }
        self.state = State::Done;
        Ok(())
    }

    fn check_not_started(&self) -> io::Result<()> {
        if self.state != State::NotStarted {
            return Err(io::Error::other("response already started"));
        }
        Ok(())
    }
}

impl Write for Response<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        match self.state {
            State::Length { left } => {
                if self.head_only {
                    return Ok(data.len());
                }
                if data.len() as u64 > left {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "response body longer than its Content-Length",
                    ));
                }
                let n = if self.out.is_empty() {
                    (&*self.stream).write(data)?
                } else {
                    let head = std::mem::take(&mut self.out);
                    write_all_vectored(self.stream, &[&head, data])?;
                    data.len()
                };
                self.state = State::Length { left: left - n as u64 };
                self.sent += n as u64;
                Ok(n)
            }
            State::Chunked => {
                if self.head_only || data.is_empty() {
                    return Ok(data.len());
                }
                let mut size = Vec::with_capacity(20);
                chunk_header(data.len(), &mut size);
                let head = std::mem::take(&mut self.out);
                write_all_vectored(self.stream, &[&head, &size, data, b"\r\n"])?;
                self.sent += data.len() as u64;
                Ok(data.len())
            }
            State::NotStarted => Err(io::Error::other("write before start")),
            State::Done => Err(io::Error::other("write after finish")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes all of `parts` with as few syscalls as the socket allows.
pub(crate) fn write_all_vectored(stream: &TcpStream, parts: &[&[u8]]) -> io::Result<()> {
    let mut idx = 0;
    let mut off = 0;
    while idx < parts.len() {
        let slices: Vec<IoSlice<'_>> = std::iter::once(IoSlice::new(&parts[idx][off..]))
            .chain(parts[idx + 1..].iter().map(|p| IoSlice::new(p)))
            .collect();
        let mut n = (&*stream).write_vectored(&slices)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while idx < parts.len() && n >= parts[idx].len() - off {
            n -= parts[idx].len() - off;
            idx += 1;
            off = 0;
        }
        off += n;
    }
    Ok(())
}
