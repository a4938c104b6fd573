//! The read side of a connection: a socket plus the bytes read from it and
//! not yet used (the rest of a head, the start of a body, a pipelined
//! request).

use hub::TcpStream;
use std::io::{self, Read};

/// Initial size of a connection's read buffer; it grows up to the head
/// limit when a head needs it. An idle connection holds no buffer at all.
const INITIAL: usize = 4096;

pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    pos: usize,
}

impl ReadBuf {
    pub(crate) fn new() -> ReadBuf {
        ReadBuf { buf: Vec::new(), pos: 0 }
    }

    /// Bytes read and not yet consumed.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.pos += n;
        debug_assert!(self.pos <= self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Drops the buffer's memory if it holds nothing (between requests).
    pub(crate) fn release_if_empty(&mut self) {
        if self.data().is_empty() {
            self.buf = Vec::new();
            self.pos = 0;
        }
    }

    /// Reads more bytes from `stream` (at most `max_total` buffered in
    /// all). Returns how many were added; 0 means end of stream.
    pub(crate) fn fill(&mut self, stream: &TcpStream, max_total: usize) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        if self.buf.capacity() == 0 {
            // No buffer yet (a connection between requests): read into the
            // stack so that a connection waiting here holds no heap buffer.
            let mut first = [0u8; INITIAL];
            let n = (&*stream).read(&mut first)?;
            self.buf.extend_from_slice(&first[..n]);
            return Ok(n);
        }
        let have = self.buf.len();
        let room = max_total.saturating_sub(have).max(1);
        let want = room.min(have.max(INITIAL));
        self.buf.resize(have + want, 0);
        let r = (&*stream).read(&mut self.buf[have..]);
        let n = *r.as_ref().unwrap_or(&0);
        self.buf.truncate(have + n);
        r
    }
}
