//! The read side of a connection: a socket plus the bytes read from it and
//! not yet used (the rest of a head, the start of a body, a pipelined
//! request).

use hub::TcpStream;
use std::io::{self, Read};

/// Size of a connection's read buffer. It grows when a head or a chunked
/// body needs more, and is given back while the connection waits for its
/// next request ([`ReadBuf::fill_idle`]).
const INITIAL: usize = 2048;

pub(crate) struct ReadBuf {
    /// Storage, all initialised (zeroed once when it grows, never per read).
    buf: Vec<u8>,
    /// Unconsumed bytes are `buf[pos..end]`.
    pos: usize,
    end: usize,
}

impl ReadBuf {
    pub(crate) fn new() -> ReadBuf {
        ReadBuf { buf: Vec::new(), pos: 0, end: 0 }
    }

    /// Bytes read and not yet consumed.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.pos += n;
        debug_assert!(self.pos <= self.end);
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        }
    }

    /// Gives back a buffer grown past its initial size (nothing may be
    /// buffered).
    pub(crate) fn trim(&mut self) {
        debug_assert!(self.data().is_empty());
        if self.buf.len() > INITIAL {
            *self = ReadBuf::new();
        }
    }

    /// Between requests, with nothing buffered: reads the next request's
    /// first bytes, holding no buffer while it waits (an idle keep-alive
    /// connection then costs no heap). One read attempt, then the wait,
    /// then the read; no more syscalls than [`ReadBuf::fill`].
    pub(crate) fn fill_idle(&mut self, stream: &TcpStream, max_total: usize) -> io::Result<usize> {
        debug_assert!(self.data().is_empty());
        *self = ReadBuf::new();
        self.buf.resize(INITIAL, 0);
        match stream.try_read(&mut self.buf) {
            Ok(n) => {
                self.end = n;
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        *self = ReadBuf::new();
        stream.wait_readable()?;
        self.fill(stream, max_total)
    }

    /// Reads more bytes from `stream` (at most `max_total` buffered in
    /// all). Returns how many were added; 0 means end of stream.
    pub(crate) fn fill(&mut self, stream: &TcpStream, max_total: usize) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        let cap = max_total.max(self.end + 1);
        if self.end == self.buf.len() && self.buf.len() < cap {
            let grown = (self.buf.len() * 2).clamp(INITIAL, cap);
            self.buf.resize(grown, 0);
        }
        let room = (cap - self.end).min(self.buf.len() - self.end);
        let n = (&*stream).read(&mut self.buf[self.end..self.end + room])?;
        self.end += n;
        Ok(n)
    }
}
