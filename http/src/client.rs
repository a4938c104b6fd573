//! A client for backend requests (proxy → storage node, daemons → peers):
//! connect timeout, a streamed request body, the 100-continue handshake,
//! and the response head read under a timeout.
//!
//! ```text
//! let mut c = ClientConn::connect(addr, conn_timeout)?;
//! c.send_head("PUT", "/sda/1/a/c/o", &headers)?;      // with Expect: 100-continue
//! match c.wait_continue(node_timeout)? { None => {}, Some(final_head) => ... }
//! c.write_body(chunk)?; ...
//! let resp = c.read_response("PUT", node_timeout)?;   // head + body reader
//! ```
//!
//! [`ClientConn::checkout`] and [`ClientConn::release`] reuse keep-alive
//! connections (see [`crate::pool`]).

use crate::body::{BodyReader, Kind};
use crate::buf::ReadBuf;
use crate::chunked::{chunk_header, last_chunk_with, ChunkedDecoder, LAST_CHUNK};
use crate::head::{self, ResponseFraming, ResponseHead, MAX_HEAD};
use crate::headers::Headers;
use crate::pool;
use crate::response::write_all_vectored;
use hub::TcpStream;
use std::cell::Cell;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

/// How the request body is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyMode {
    Plain,
    Chunked,
}

/// A failed exchange: its connection (to tell a stale pooled one,
/// [`ClientConn::went_stale`]) and the error.
pub type Failed = Box<(ClientConn, io::Error)>;

/// One connection to a server.
pub struct ClientConn {
    stream: TcpStream,
    addr: SocketAddr,
    buf: ReadBuf,
    mode: BodyMode,
    /// Responses never wait for `100 Continue`.
    no_continue: Cell<bool>,
    /// Request body bytes still to send: `None` for a chunked body until
    /// its last chunk.
    body_left: Option<u64>,
    /// Set when a response is dropped after its whole body was read and
    /// the server keeps the connection open.
    response_done: Cell<bool>,
    reused: bool,
    /// A byte of an answer to the current request arrived.
    answered: bool,
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("timed out waiting for {what}"))
}

impl ClientConn {
    /// Connects, failing with `TimedOut` after `conn_timeout`.
    pub fn connect(addr: SocketAddr, conn_timeout: Duration) -> io::Result<ClientConn> {
        let stream = TcpStream::connect(addr, Some(conn_timeout))?;
        stream.set_nodelay(true)?;
        Ok(ClientConn {
            stream,
            addr,
            buf: ReadBuf::new(),
            mode: BodyMode::Plain,
            no_continue: Cell::new(false),
            body_left: Some(0),
            response_done: Cell::new(false),
            reused: false,
            answered: false,
        })
    }

    /// An idle keep-alive connection to `addr` from this hub's pool, or a
    /// new one ([`ClientConn::connect`]).
    pub fn checkout(addr: SocketAddr, conn_timeout: Duration) -> io::Result<ClientConn> {
        match pool::take(addr) {
            Some(mut c) => {
                c.reused = true;
                Ok(c)
            }
            None => ClientConn::connect(addr, conn_timeout),
        }
    }

    /// Runs `exchange` on an idle pooled connection to `addr` (or a new
    /// one); when that connection turns out stale
    /// ([`ClientConn::went_stale`]), once more on a new connection.
    pub fn pooled<T>(
        addr: SocketAddr,
        conn_timeout: Duration,
        mut exchange: impl FnMut(ClientConn) -> Result<T, Failed>,
    ) -> io::Result<T> {
        match exchange(ClientConn::checkout(addr, conn_timeout)?) {
            Ok(v) => Ok(v),
            Err(failed) if failed.0.went_stale(&failed.1) => {
                exchange(ClientConn::connect(addr, conn_timeout)?).map_err(|failed| failed.1)
            }
            Err(failed) => Err(failed.1),
        }
    }

    /// Gives the connection back to this hub's pool if its last exchange
    /// is complete (request body sent, response read to its end, server
    /// keeping it open, nothing more buffered); else closes it.
    pub fn release(mut self) {
        if self.response_done.get() && self.body_left == Some(0) && self.buf.data().is_empty() {
            self.buf.trim();
            self.stream.set_read_timeout(None);
            self.stream.set_write_timeout(None);
            pool::put(self.addr, self);
        }
    }

    /// Whether this connection came from the pool.
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// Whether `e`, met before any byte of an answer arrived, says that
    /// this pooled connection had been closed by the server (it restarted,
    /// or closed it to make room) as the request went out: the request was
    /// not taken and may be sent again on a new connection.
    pub fn went_stale(&self, e: &io::Error) -> bool {
        use io::ErrorKind::*;
        self.reused
            && !self.answered
            && matches!(e.kind(), UnexpectedEof | ConnectionReset | BrokenPipe | ConnectionAborted)
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends the request line and headers. A `Transfer-Encoding: chunked`
    /// header makes [`ClientConn::write_body`] frame the body as chunks.
    pub fn send_head(&mut self, method: &str, target: &str, headers: &Headers) -> io::Result<()> {
        let out = self.start_request(method, target, headers);
        (&self.stream).write_all(&out)
    }

    /// Sends the request line, `headers` (with its `Content-Length`) and
    /// the whole of a plain `body` in one write: a server that reads the
    /// head has the body too.
    pub fn send_request(&mut self, method: &str, target: &str, headers: &Headers, body: &[u8]) -> io::Result<()> {
        let out = self.start_request(method, target, headers);
        if self.mode == BodyMode::Chunked {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "send_request takes a plain body"));
        }
        self.body_left = self.body_left.map(|n| n.checked_sub(body.len() as u64).unwrap_or(u64::MAX));
        write_all_vectored(&self.stream, &[&out, body])
    }

    /// The request head's bytes; sets the body framing from `headers`.
    fn start_request(&mut self, method: &str, target: &str, headers: &Headers) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        headers.write_to(&mut out);
        out.extend_from_slice(b"\r\n");
        self.mode = match headers.get("transfer-encoding") {
            Some(te) if te.trim().eq_ignore_ascii_case("chunked") => BodyMode::Chunked,
            _ => BodyMode::Plain,
        };
        self.response_done.set(false);
        self.answered = false;
        self.body_left = match self.mode {
            BodyMode::Chunked => None,
            // A length that does not parse: never reused.
            BodyMode::Plain => match headers.get("content-length") {
                Some(n) => Some(n.trim().parse().unwrap_or(u64::MAX)),
                None => Some(0),
            },
        };
        out
    }

    /// After a head with `Expect: 100-continue`: waits up to `timeout` for
    /// the server's answer. `None` means `100 Continue` (send the body);
    /// `Some(head)` is a final response instead (do not send the body).
    pub fn wait_continue(&mut self, timeout: Duration) -> io::Result<Option<ResponseHead>> {
        let head = self.read_head(timeout)?;
        if head.status == 100 {
            Ok(None)
        } else {
            Ok(Some(head))
        }
    }

    /// Sends body bytes (as one chunk if the body is chunked).
    pub fn write_body(&mut self, data: &[u8]) -> io::Result<()> {
        match self.mode {
            BodyMode::Plain => {
                (&self.stream).write_all(data)?;
                // More than declared: the server reads the rest as the next
                // request, so the connection is never reused.
                self.body_left = self.body_left.map(|n| n.checked_sub(data.len() as u64).unwrap_or(u64::MAX));
                Ok(())
            }
            BodyMode::Chunked if data.is_empty() => Ok(()),
            BodyMode::Chunked => {
                let mut h = Vec::with_capacity(20);
                chunk_header(data.len(), &mut h);
                write_all_vectored(&self.stream, &[&h, data, b"\r\n"])
            }
        }
    }

    /// Ends a chunked body (no-op for a plain one).
    pub fn finish_body(&mut self) -> io::Result<()> {
        if self.mode == BodyMode::Chunked {
            (&self.stream).write_all(LAST_CHUNK)?;
            self.body_left = Some(0);
        }
        Ok(())
    }

    /// Ends a chunked body with trailer fields (what is known only once
    /// the body has been sent, such as its checksums). A plain body cannot
    /// carry them: `InvalidInput`.
    pub fn finish_body_with(&mut self, trailers: &Headers) -> io::Result<()> {
        if self.mode != BodyMode::Chunked {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "trailers need a chunked body"));
        }
        let mut out = Vec::with_capacity(64);
        last_chunk_with(trailers, &mut out);
        (&self.stream).write_all(&out)?;
        self.body_left = Some(0);
        Ok(())
    }

    /// Waits up to `timeout` for the first byte of the answer, so that a
    /// stale pooled connection ([`ClientConn::went_stale`]) shows before
    /// the answer is read.
    pub fn await_answer(&mut self, timeout: Duration) -> io::Result<()> {
        if !self.buf.data().is_empty() {
            return Ok(());
        }
        let _deadline = hub::Timeout::new(timeout);
        match self.buf.fill(&self.stream, MAX_HEAD + 1) {
            Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed before responding")),
            Ok(_) => {
                self.answered = true;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(timed_out("the response head")),
            Err(e) => Err(e),
        }
    }

    fn read_head(&mut self, timeout: Duration) -> io::Result<ResponseHead> {
        let _deadline = hub::Timeout::new(timeout);
        loop {
            if let Some((h, used)) = head::parse_response_head(self.buf.data())? {
                self.buf.consume(used);
                return Ok(h);
            }
            match self.buf.fill(&self.stream, MAX_HEAD + 1) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed before responding")),
                Ok(_) => self.answered = true,
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(timed_out("the response head")),
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the response head (skipping any interim 1xx) within `timeout`
    /// and returns it with a reader for its body. Each body read waits at
    /// most `timeout` too.
    pub fn read_response(&mut self, method: &str, timeout: Duration) -> io::Result<ClientResponse<'_>> {
        let head = loop {
            let h = self.read_head(timeout)?;
            if !(100..200).contains(&h.status) {
                break h;
            }
        };
        let kind = match head::response_framing(&head, method)? {
            ResponseFraming::None => Kind::Empty,
            ResponseFraming::Length(n) => Kind::Length(n),
            ResponseFraming::Chunked => Kind::Chunked(ChunkedDecoder::new()),
            ResponseFraming::UntilClose => Kind::UntilClose,
        };
        self.stream.set_read_timeout(Some(timeout));
        let keep_alive = head::response_keep_alive(&head) && !matches!(kind, Kind::UntilClose);
        Ok(ClientResponse {
            head,
            keep_alive,
            body: BodyReader::new(&self.stream, &mut self.buf, kind, &self.no_continue),
            done: &self.response_done,
        })
    }
}

/// A response: its head and its streaming body.
pub struct ClientResponse<'a> {
    pub head: ResponseHead,
    /// The connection can carry another request once the body is read.
    pub keep_alive: bool,
    pub body: BodyReader<'a>,
    /// The connection's `response_done`, set when this is dropped.
    done: &'a Cell<bool>,
}

impl Drop for ClientResponse<'_> {
    fn drop(&mut self) {
        self.done.set(self.keep_alive && self.body.is_done());
    }
}

impl ClientResponse<'_> {
    pub fn status(&self) -> u16 {
        self.head.status
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.headers.get(name)
    }

    /// Reads the whole body (for small bodies: listings, errors).
    pub fn read_all(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let mut out = Vec::new();
        (&mut self.body).take(limit as u64 + 1).read_to_end(&mut out)?;
        if out.len() > limit {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "response body over the limit"));
        }
        Ok(out)
    }
}
