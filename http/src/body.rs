//! Streaming message bodies: `Content-Length`, chunked, until-close, none.
//!
//! A body reader is an `impl Read` over the connection's buffer and
//! socket. Fixed-length bodies larger than what is buffered are read
//! straight into the caller's buffer (no copy). A server-side body sends
//! `100 Continue` lazily, on the first read, when the client asked for it.

use crate::buf::ReadBuf;
use crate::chunked::ChunkedDecoder;
use hub::TcpStream;
use std::cell::Cell;
use std::io::{self, Read, Write};

/// How much of a body is buffered at most while decoding chunked framing.
const CHUNKED_BUF: usize = 64 * 1024;

pub(crate) enum Kind {
    Empty,
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
}

/// A message body being received.
pub struct BodyReader<'a> {
    stream: &'a TcpStream,
    buf: &'a mut ReadBuf,
    kind: Kind,
    /// Set while the client waits for `100 Continue`; shared with the
    /// response, which closes the connection if it goes out first.
    continue_pending: &'a Cell<bool>,
    done: bool,
    received: u64,
    /// Chunked: payload bytes at the front of the buffer not yet handed out.
    pending: usize,
}

fn invalid(e: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "body ended early: the peer closed the connection")
}

impl<'a> BodyReader<'a> {
    pub(crate) fn new(
        stream: &'a TcpStream,
        buf: &'a mut ReadBuf,
        kind: Kind,
        continue_pending: &'a Cell<bool>,
    ) -> BodyReader<'a> {
        let done = matches!(kind, Kind::Empty | Kind::Length(0));
        if done {
            continue_pending.set(false);
        }
        BodyReader { stream, buf, kind, continue_pending, done, received: 0, pending: 0 }
    }

    /// True once the whole body has been read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Payload bytes read so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The declared length, for `Content-Length` bodies.
    pub fn remaining(&self) -> Option<u64> {
        match self.kind {
            Kind::Length(n) => Some(n),
            Kind::Empty => Some(0),
            _ => None,
        }
    }

    /// A chunked body's trailer fields, once it has been read to the end
    /// (empty otherwise).
    pub fn trailers(&self) -> crate::Headers {
        match &self.kind {
            Kind::Chunked(dec) => dec.trailers(),
            _ => crate::Headers::new(),
        }
    }

    /// True if the client waits for `100 Continue` that was not sent yet.
    pub fn continue_pending(&self) -> bool {
        self.continue_pending.get()
    }

    /// Reads and discards up to `limit` bytes of what is left; true if the
    /// body is then complete (the connection can be reused).
    pub fn drain(&mut self, limit: u64) -> io::Result<bool> {
        if self.done {
            return Ok(true);
        }
        // On the heap: green stacks stay shallow (their touched pages stay
        // resident for as long as the connection lives).
        let mut scratch = vec![0u8; 16 * 1024];
        let mut left = limit;
        while !self.done && left > 0 {
            let n = self.read(&mut scratch)?;
            if n == 0 {
                break;
            }
            left = left.saturating_sub(n as u64);
        }
        Ok(self.done)
    }

    fn send_continue(&mut self) -> io::Result<()> {
        self.continue_pending.set(false);
        (&*self.stream).write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
    }

    fn read_length(&mut self, out: &mut [u8], remaining: u64) -> io::Result<usize> {
        let want = (out.len() as u64).min(remaining) as usize;
        let buffered = self.buf.data();
        let n = if !buffered.is_empty() {
            let n = want.min(buffered.len());
            out[..n].copy_from_slice(&buffered[..n]);
            self.buf.consume(n);
            n
        } else {
            let n = (&*self.stream).read(&mut out[..want])?;
            if n == 0 {
                return Err(truncated());
            }
            n
        };
        let left = remaining - n as u64;
        self.kind = Kind::Length(left);
        self.done = left == 0;
        Ok(n)
    }

    fn read_chunked(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pending > 0 {
                // Payload the decoder already accounted for, still buffered.
                let n = out.len().min(self.pending);
                out[..n].copy_from_slice(&self.buf.data()[..n]);
                self.buf.consume(n);
                self.pending -= n;
                return Ok(n);
            }
            let Kind::Chunked(dec) = &mut self.kind else { unreachable!("read_chunked on a chunked body") };
            // Inside a chunk with nothing buffered: read its payload straight
            // into the caller's buffer, as for a Content-Length body (big
            // reads, no copy), instead of through the small read buffer.
            if let (Some(left), true) = (dec.data_left(), self.buf.data().is_empty()) {
                let want = (out.len() as u64).min(left) as usize;
                let n = (&*self.stream).read(&mut out[..want])?;
                if n == 0 {
                    return Err(truncated());
                }
                dec.took_data(n as u64);
                return Ok(n);
            }
            let step = dec.decode(self.buf.data()).map_err(invalid)?;
            // Framing before the payload run is dropped; the run itself
            // stays in the buffer as `pending`.
            self.buf.consume(step.data.start);
            self.pending = step.data.len();
            let after = step.consumed - step.data.end;
            if self.pending > 0 {
                debug_assert_eq!(after, 0, "the decoder stops after a payload run");
                continue;
            }
            self.buf.consume(after);
            if step.done {
                self.done = true;
                return Ok(0);
            }
            if self.buf.fill(self.stream, CHUNKED_BUF)? == 0 {
                return Err(truncated());
            }
        }
    }
}

impl Read for BodyReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        if self.continue_pending.get() {
            self.send_continue()?;
        }
        let n = match self.kind {
            Kind::Empty => 0,
            Kind::Length(rem) => self.read_length(out, rem)?,
            Kind::Chunked(_) => self.read_chunked(out)?,
            Kind::UntilClose => {
                let buffered = self.buf.data();
                if !buffered.is_empty() {
                    let n = out.len().min(buffered.len());
                    out[..n].copy_from_slice(&buffered[..n]);
                    self.buf.consume(n);
                    n
                } else {
                    let n = (&*self.stream).read(out)?;
                    self.done = n == 0;
                    n
                }
            }
        };
        self.received += n as u64;
        Ok(n)
    }
}
