//! A small HTTP/1.1 client on `std::net` for tests: one request per
//! connection (`Connection: close`), bodies sent with `Content-Length`
//! unless the caller asks for chunked, responses read whole with
//! `Content-Length`, chunked or read-to-close framing.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test waits for any single read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A whole response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends one request to `addr` and reads the whole answer. `host` is the
/// `Host` header. A `Transfer-Encoding: chunked` request header sends
/// `body` as chunks of at most 1000 bytes; otherwise `Content-Length` is
/// added unless the caller gave one.
pub fn request(
    addr: SocketAddr,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let chunked =
        headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !chunked && !has("content-length") && (!body.is_empty() || matches!(method, "PUT" | "POST")) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if chunked {
        for c in body.chunks(1000) {
            out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            out.extend_from_slice(c);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(body);
    }
    s.write_all(&out)?;
    read_response(BufReader::new(s), method == "HEAD")
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

fn read_line(r: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in a response head"));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn read_response(mut r: impl BufRead, head_only: bool) -> io::Result<Resp> {
    let mut status_line = read_line(&mut r)?;
    // Skip interim answers (100 Continue).
    let mut status: u16;
    let mut headers = Vec::new();
    loop {
        status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        loop {
            let line = read_line(&mut r)?;
            if line.is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').ok_or_else(|| bad(format!("bad header line {line:?}")))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        if status != 100 {
            break;
        }
        headers.clear();
        status_line = read_line(&mut r)?;
    }
    let resp = Resp { status, headers, body: Vec::new() };
    if head_only || status == 204 || status == 304 {
        return Ok(resp);
    }
    let mut resp = resp;
    let chunked = resp.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let size = read_line(&mut r)?;
            let size = size.split(';').next().unwrap_or("").trim();
            let n = usize::from_str_radix(size, 16).map_err(|_| bad(format!("bad chunk size {size:?}")))?;
            if n == 0 {
                while !read_line(&mut r)?.is_empty() {}
                break;
            }
            let at = resp.body.len();
            resp.body.resize(at + n, 0);
            r.read_exact(&mut resp.body[at..])?;
            read_line(&mut r)?;
        }
    } else if let Some(len) = resp.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad(format!("bad Content-Length {len:?}")))?;
        resp.body.resize(len, 0);
        r.read_exact(&mut resp.body)?;
    } else {
        r.read_to_end(&mut resp.body)?;
    }
    Ok(resp)
}

/// A logged-in user: the token and the storage path (`/v1/AUTH_test`).
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub account: String,
}

impl Session {
    /// `[("X-Auth-Token", token)]` followed by `extra`.
    pub fn headers<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut h = vec![("X-Auth-Token", self.token.as_str())];
        h.extend_from_slice(extra);
        h
    }

    /// The account path joined with `rest` (`"c/o"` → `/v1/AUTH_test/c/o`).
    pub fn path(&self, rest: &str) -> String {
        if rest.is_empty() {
            self.account.clone()
        } else {
            format!("{}/{rest}", self.account)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_length_chunked_and_close_framed_answers() {
        let r = read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabcdef"[..], false).unwrap();
        assert_eq!((r.status, r.header("x-a"), r.body.as_slice()), (200, Some("b"), &b"abc"[..]));
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let r = read_response(&raw[..], false).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"abcde"[..]));
        let r = read_response(&b"HTTP/1.1 200 OK\r\n\r\nto the end"[..], false).unwrap();
        assert_eq!(r.text(), "to the end");
        let r = read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"[..], true).unwrap();
        assert!(r.body.is_empty());
        assert!(read_response(&b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"[..], false).is_err());
        assert!(read_response(&b"garbage\r\n\r\n"[..], false).is_err());
    }
}
