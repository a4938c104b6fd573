//! Request and response heads: parsing, message framing, writing.
//!
//! Parsing is sans-IO. `parse_request_head(buf)` looks at everything read so
//! far and answers one of three things:
//!
//! ```text
//!   Ok(Some((head, n)))  a complete head; it took buf[..n], the rest is body
//!                        or the next pipelined request
//!   Ok(None)             not complete yet: read more and call again
//!   Err(e)               malformed or over a limit: answer e.status(), close
//! ```
//!
//! The limits are checked on incomplete heads too, so a reader that calls the
//! parser after every read never buffers more than [`MAX_HEAD`] bytes: when
//! the answer is `Ok(None)`, `buf.len() <= MAX_HEAD`.
//!
//! Framing (`request_framing`, `response_framing`) follows RFC 9112 §6 and
//! refuses every ambiguity a front end and a back end could read differently
//! (request smuggling): both Content-Length and Transfer-Encoding, differing
//! Content-Lengths, codings other than a single `chunked`.

use std::fmt;
use std::mem::MaybeUninit;

use crate::headers::Headers;

/// Bound on a request line (or status line): the line with its line ending
/// must be shorter, or the request gets 414. Eventlet's `url_length_limit`,
/// which Swift sets to `max_request_line`.
pub const MAX_REQUEST_LINE: usize = 8192;

/// Bound on one header line of a request: the line with its line ending must
/// be shorter, or the request gets 400. Eventlet's `MAX_HEADER_LINE`, which
/// Swift sets to `max_header_size`. (Responses have no per-line bound but
/// the block's, as Python's `http.client` allows 64 KiB lines.)
pub const MAX_HEADER_LINE: usize = 8192;

/// Largest header block, in bytes: everything after the first line's line
/// ending up to and including the empty line that ends the head. Larger ones
/// get 400. Eventlet's `MAX_TOTAL_HEADER_SIZE`.
pub const MAX_HEADER_BLOCK: usize = 65536;

/// Most header lines in one head; more get 431. Swift sets `http.client`'s
/// `_MAXHEADERS` to 1.6 × its `MAX_HEADER_COUNT` (90 metadata + 36 others),
/// i.e. 201.6, and counts the empty line: 200 headers pass. So a request
/// with too many metadata items reaches the proxy's constraint check (400
/// "Too many metadata items") as it does in Swift.
pub const MAX_HEADERS: usize = 200;

/// Most bytes of empty lines tolerated before a request line (RFC 9112 §2.2
/// asks servers to skip at least one; clients send a stray CRLF after a body).
pub const MAX_LEADING_EMPTY_LINES: usize = 64;

/// The most bytes a parser ever asks to buffer for one head: while it answers
/// `Ok(None)` the buffer holds at most this much.
pub const MAX_HEAD: usize = MAX_LEADING_EMPTY_LINES + MAX_REQUEST_LINE - 1 + MAX_HEADER_BLOCK;

/// Why a head (or its framing) was refused. The statuses are eventlet's and
/// Swift's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// 414: the request line is not shorter than [`MAX_REQUEST_LINE`].
    UriTooLong,
    /// 400: a header line is not shorter than [`MAX_HEADER_LINE`] (also a
    /// too long response status line).
    HeaderLineTooLong,
    /// 400: the header block is over [`MAX_HEADER_BLOCK`] bytes.
    HeadersTooLarge,
    /// 431: more than [`MAX_HEADERS`] headers.
    TooManyHeaders,
    /// 400: malformed, or ambiguous framing.
    Bad(&'static str),
    /// 501: well-formed but unsupported, e.g. a transfer coding other than
    /// `chunked`.
    NotImplemented(&'static str),
}

impl HeadError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            HeadError::UriTooLong => 414,
            HeadError::HeaderLineTooLong | HeadError::HeadersTooLarge | HeadError::Bad(_) => 400,
            HeadError::TooManyHeaders => 431,
            HeadError::NotImplemented(_) => 501,
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::UriTooLong => write!(f, "request line of {MAX_REQUEST_LINE} bytes or more"),
            HeadError::HeaderLineTooLong => write!(f, "header line too long ({MAX_HEADER_LINE} bytes or more)"),
            HeadError::HeadersTooLarge => write!(f, "headers too large (over {MAX_HEADER_BLOCK} bytes)"),
            HeadError::TooManyHeaders => write!(f, "too many headers (over {MAX_HEADERS})"),
            HeadError::Bad(why) => write!(f, "malformed message: {why}"),
            HeadError::NotImplemented(what) => write!(f, "not implemented: {what}"),
        }
    }
}

impl std::error::Error for HeadError {}

/// A parsed request line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The raw request-target: usually path and `?query`, still %-encoded.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub headers: Headers,
}

/// A parsed status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    /// As sent; empty if missing or not UTF-8.
    pub reason: String,
    pub minor_version: u8,
    pub headers: Headers,
}

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (neither Content-Length nor Transfer-Encoding).
    None,
    /// Exactly this many bytes; `Length(0)` is kept apart from `None`
    /// because Swift answers 411 to a PUT with neither header.
    Length(u64),
    /// Transfer-Encoding: chunked.
    Chunked,
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    None,
    Length(u64),
    Chunked,
    /// No length given: the body ends when the server closes.
    UntilClose,
}

/// What differs between parsing a request head and a response head.
struct Role {
    /// The error for a too long first line.
    line_too_long: HeadError,
    /// Whether each header line is bounded by [`MAX_HEADER_LINE`].
    bounded_lines: bool,
}

const REQUEST: Role = Role { line_too_long: HeadError::UriTooLong, bounded_lines: true };
const RESPONSE: Role = Role { line_too_long: HeadError::HeaderLineTooLong, bounded_lines: false };

/// Parses a request head from the start of `buf`; see the module docs.
///
/// A request-target holding raw bytes that are not UTF-8 (eventlet takes
/// any byte; Swift's `no_path_quote` tests send them) is kept with those
/// bytes %-escaped: it still decodes to the same bytes, and the proxy's
/// UTF-8 check answers 412 "Invalid UTF8 or contains NULL" as Swift's does.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let Some(layout) = locate(buf, &REQUEST)? else {
        return Ok(None);
    };
    if let Some(block_start) = layout.block_start {
        if let Some(mut escaped) = escape_raw_target(&buf[layout.line_start..block_start]) {
            let grown = escaped.len() - (block_start - layout.line_start);
            let line_end = escaped.len();
            escaped.extend_from_slice(&buf[block_start..]);
            let copy = Layout { line_start: 0, block_start: Some(line_end) };
            let parsed = parse_located_request(&escaped, &copy)?;
            return Ok(parsed.map(|(head, len)| (head, layout.line_start + len - grown)));
        }
    }
    parse_located_request(buf, &layout)
}

fn parse_located_request(buf: &[u8], layout: &Layout) -> Result<Option<(RequestHead, usize)>, HeadError> {
    // Uninitialised slots (no memset per request), on the heap (green stacks
    // stay shallow).
    let mut slots: Vec<MaybeUninit<httparse::Header<'_>>> = Vec::with_capacity(MAX_HEADERS);
    slots.resize_with(MAX_HEADERS, MaybeUninit::uninit);
    let mut req = httparse::Request::new(&mut []);
    let parsed = req.parse_with_uninit_headers(&buf[layout.line_start..], &mut slots);
    let Some(len) = finish(buf, layout, &REQUEST, parsed)? else {
        return Ok(None);
    };
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Bad("incomplete request line"));
    };
    let head = RequestHead {
        method: method.to_string(),
        target: target.to_string(),
        minor_version,
        headers: collect_headers(req.headers)?,
    };
    Ok(Some((head, len)))
}

/// The request line `line` (with its line ending) with the bytes of its
/// target that are not UTF-8 %-escaped; `None` if there are none (or they
/// are outside the target, which is then refused as malformed).
fn escape_raw_target(line: &[u8]) -> Option<Vec<u8>> {
    if line.is_ascii() || std::str::from_utf8(line).is_ok() {
        return None;
    }
    let first_space = line.iter().position(|&b| b == b' ')?;
    let last_space = line.iter().rposition(|&b| b == b' ')?;
    let (method, target, rest) = (&line[..first_space], &line[first_space..last_space], &line[last_space..]);
    if !method.is_ascii() || !rest.is_ascii() {
        return None;
    }
    let mut out = Vec::with_capacity(line.len() + 16);
    out.extend_from_slice(method);
    for chunk in target.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for b in chunk.invalid() {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out.extend_from_slice(rest);
    Some(out)
}

/// Parses a response head from the start of `buf`, with the same limits as
/// requests except that a header line may be as long as the block (a too
/// long status line counts as [`HeadError::HeaderLineTooLong`]).
pub fn parse_response_head(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, HeadError> {
    let Some(layout) = locate(buf, &RESPONSE)? else {
        return Ok(None);
    };
    let mut slots = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    let parsed = resp.parse(&buf[layout.line_start..]);
    let Some(len) = finish(buf, &layout, &RESPONSE, parsed)? else {
        return Ok(None);
    };
    let (Some(status), Some(minor_version)) = (resp.code, resp.version) else {
        return Err(HeadError::Bad("incomplete status line"));
    };
    if status < 100 {
        return Err(HeadError::Bad("invalid response status"));
    }
    let head = ResponseHead {
        status,
        reason: resp.reason.unwrap_or("").to_string(),
        minor_version,
        headers: collect_headers(resp.headers)?,
    };
    Ok(Some((head, len)))
}

/// Where the first line and the header block of a (maybe incomplete) head
/// start, once the limits that can be judged so far have been checked.
struct Layout {
    /// After the empty lines that may come first.
    line_start: usize,
    /// After the first line's LF, if it has arrived.
    block_start: Option<usize>,
}

fn locate(buf: &[u8], role: &Role) -> Result<Option<Layout>, HeadError> {
    let mut i = 0;
    let line_start = loop {
        if i > MAX_LEADING_EMPTY_LINES {
            return Err(HeadError::Bad("too many empty lines before the request line"));
        }
        match buf.get(i) {
            Some(b'\n') => i += 1,
            Some(b'\r') => match buf.get(i + 1) {
                Some(b'\n') => i += 2,
                Some(_) => return Err(HeadError::Bad("bare CR")),
                None => return Ok(None),
            },
            Some(_) => break i,
            None => return Ok(None),
        }
    };
    // The line with its LF must be shorter than the limit: its LF, if
    // allowed, is within the first MAX_REQUEST_LINE - 1 bytes.
    let rest = &buf[line_start..];
    let window = &rest[..rest.len().min(MAX_REQUEST_LINE - 1)];
    match window.iter().position(|&b| b == b'\n') {
        Some(lf) => Ok(Some(Layout { line_start, block_start: Some(line_start + lf + 1) })),
        None if rest.len() >= MAX_REQUEST_LINE - 1 => Err(role.line_too_long),
        None => Ok(Some(Layout { line_start, block_start: None })),
    }
}

/// Turns httparse's answer into the head's total length, or `None` for "need
/// more", checking the header block limits.
fn finish(
    buf: &[u8],
    layout: &Layout,
    role: &Role,
    parsed: httparse::Result<usize>,
) -> Result<Option<usize>, HeadError> {
    let block_start = layout.block_start.unwrap_or(buf.len());
    let end = match parsed {
        Ok(httparse::Status::Complete(n)) => Some(layout.line_start + n),
        Ok(httparse::Status::Partial) => None,
        Err(e) => {
            return Err(match e {
                httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
                httparse::Error::HeaderName => HeadError::Bad("invalid header name"),
                httparse::Error::HeaderValue => HeadError::Bad("invalid header value"),
                httparse::Error::NewLine => HeadError::Bad("invalid line ending"),
                httparse::Error::Status => HeadError::Bad("invalid response status"),
                httparse::Error::Token => HeadError::Bad("invalid token in the first line"),
                httparse::Error::Version => HeadError::Bad("invalid HTTP version"),
            })
        }
    };
    // A complete head's block ends with its empty line; an incomplete one's
    // is everything buffered (it ends in a line still arriving).
    let block = &buf[block_start..end.unwrap_or(buf.len()).max(block_start)];
    if role.bounded_lines && has_long_line(block) {
        return Err(HeadError::HeaderLineTooLong);
    }
    if block.len() > MAX_HEADER_BLOCK {
        return Err(HeadError::HeadersTooLarge);
    }
    Ok(end)
}

/// Whether a line of `block` (maybe ending in an incomplete line), with its
/// LF, is or will be at least [`MAX_HEADER_LINE`] bytes long.
fn has_long_line(block: &[u8]) -> bool {
    // Only a block this long can hold such a line: the common case costs
    // nothing.
    block.len() >= MAX_HEADER_LINE - 1 && block.split(|&b| b == b'\n').any(|line| line.len() >= MAX_HEADER_LINE - 1)
}

fn collect_headers(parsed: &[httparse::Header<'_>]) -> Result<Headers, HeadError> {
    let mut fields = Vec::with_capacity(parsed.len());
    for h in parsed {
        fields.push((h.name.to_string(), header_value(h.value)));
    }
    Ok(Headers::from_iter(fields))
}

/// A header value as text. HTTP allows any byte from 0x80 up (obs-text)
/// and Swift takes such values (its functional tests send metadata cut in
/// the middle of a UTF-8 character); headers here are UTF-8 text, so each
/// byte that is not part of valid UTF-8 becomes `?`: the value keeps its
/// length, which Swift's metadata limits count.
fn header_value(raw: &[u8]) -> String {
    if let Ok(v) = std::str::from_utf8(raw) {
        return v.to_string();
    }
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(std::iter::repeat_n('?', chunk.invalid().len()));
    }
    out
}

/// How the body of `head` is delimited (RFC 9112 §6.3), refusing every
/// ambiguous combination.
pub fn request_framing(head: &RequestHead) -> Result<Framing, HeadError> {
    if head.headers.contains("transfer-encoding") {
        if head.minor_version == 0 {
            return Err(HeadError::Bad("Transfer-Encoding in an HTTP/1.0 message"));
        }
        if head.headers.contains("content-length") {
            return Err(HeadError::Bad("both Content-Length and Transfer-Encoding"));
        }
        check_chunked_only(&head.headers)?;
        return Ok(Framing::Chunked);
    }
    Ok(match content_length(&head.headers)? {
        Some(n) => Framing::Length(n),
        None => Framing::None,
    })
}

/// How the body of a response to a `request_method` request is delimited.
pub fn response_framing(head: &ResponseHead, request_method: &str) -> Result<ResponseFraming, HeadError> {
    if request_method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304 {
        return Ok(ResponseFraming::None);
    }
    if head.headers.contains("transfer-encoding") {
        if head.minor_version == 0 {
            return Err(HeadError::Bad("Transfer-Encoding in an HTTP/1.0 message"));
        }
        if head.headers.contains("content-length") {
            return Err(HeadError::Bad("both Content-Length and Transfer-Encoding"));
        }
        check_chunked_only(&head.headers)?;
        return Ok(ResponseFraming::Chunked);
    }
    Ok(match content_length(&head.headers)? {
        Some(n) => ResponseFraming::Length(n),
        None => ResponseFraming::UntilClose,
    })
}

/// Accepts a Transfer-Encoding that is exactly one `chunked`.
fn check_chunked_only(headers: &Headers) -> Result<(), HeadError> {
    let mut codings = 0;
    let mut chunked = 0;
    let mut last_is_chunked = false;
    for coding in list_items(headers, "transfer-encoding") {
        if coding.is_empty() {
            return Err(HeadError::Bad("empty transfer coding"));
        }
        codings += 1;
        last_is_chunked = coding.eq_ignore_ascii_case("chunked");
        chunked += usize::from(last_is_chunked);
    }
    match (last_is_chunked, chunked, codings) {
        (true, 1, 1) => Ok(()),
        (true, 1, _) => Err(HeadError::NotImplemented("transfer coding other than chunked")),
        _ => Err(HeadError::Bad("Transfer-Encoding must be chunked, once and last")),
    }
}

/// The Content-Length, if any; repeats (in several headers or a comma list)
/// must agree. The parser strips whitespace around a field value, so any left
/// there came from elsewhere and is refused: only `5` or `5, 5` pass.
fn content_length(headers: &Headers) -> Result<Option<u64>, HeadError> {
    let ows: &[char] = &[' ', '\t'];
    let padded = |v: &str| v.starts_with(ows) || v.ends_with(ows);
    if headers.get_all("content-length").any(padded) {
        return Err(HeadError::Bad("invalid Content-Length"));
    }
    let mut length = None;
    for item in list_items(headers, "content-length") {
        let n = parse_decimal(item).ok_or(HeadError::Bad("invalid Content-Length"))?;
        if length.is_some_and(|m| m != n) {
            return Err(HeadError::Bad("conflicting Content-Length values"));
        }
        length = Some(n);
    }
    Ok(length)
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// The comma-separated elements of every `name` header, trimmed of OWS.
fn list_items<'a>(headers: &'a Headers, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers.get_all(name).flat_map(|value| value.split(',')).map(|item| item.trim_matches(|c| c == ' ' || c == '\t'))
}

fn has_token(headers: &Headers, name: &str, token: &str) -> bool {
    list_items(headers, name).any(|item| item.eq_ignore_ascii_case(token))
}

/// Whether the connection stays open after this request: HTTP/1.1 unless
/// `Connection: close`, HTTP/1.0 only with `Connection: keep-alive`.
pub fn keep_alive(head: &RequestHead) -> bool {
    persistent(&head.headers, head.minor_version)
}

/// Whether the request says `Connection: keep-alive` (which a response
/// that keeps the connection echoes, as eventlet does).
pub fn asks_keep_alive(head: &RequestHead) -> bool {
    has_token(&head.headers, "connection", "keep-alive")
}

/// The same rule for a response (for a client reusing backend connections).
pub fn response_keep_alive(head: &ResponseHead) -> bool {
    persistent(&head.headers, head.minor_version)
}

fn persistent(headers: &Headers, minor_version: u8) -> bool {
    if has_token(headers, "connection", "close") {
        return false;
    }
    minor_version >= 1 || has_token(headers, "connection", "keep-alive")
}

/// Whether the client waits for `100 Continue` before sending the body
/// (`Expect: 100-continue` on HTTP/1.1; ignored on HTTP/1.0 per RFC 9110).
pub fn expects_continue(head: &RequestHead) -> bool {
    head.minor_version >= 1 && has_token(&head.headers, "expect", "100-continue")
}

/// The reason phrase Swift sends with `status`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        422 => "Unprocessable Entity",
        431 => "Request Header Fields Too Large",
        498 => "Rate Limited",
        499 => "Client Disconnect",
        500 => "Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

/// Appends `HTTP/1.1 {status} {reason}\r\n`, the headers and the empty line.
pub fn write_response_head(out: &mut Vec<u8>, status: u16, headers: &Headers) {
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason_phrase(status).as_bytes());
    out.extend_from_slice(b"\r\n");
    headers.write_to(out);
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header fields from `"Name: value|Name: value"`.
    fn fields(list: &str) -> Headers {
        list.split('|')
            .filter(|field| !field.is_empty())
            .map(|field| {
                let (name, value) = field.split_once(':').unwrap();
                (name.to_string(), value.strip_prefix(' ').unwrap_or(value).to_string())
            })
            .collect()
    }

    fn parse(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
        parse_request_head(buf)
    }

    fn head(minor_version: u8, headers: &str) -> RequestHead {
        RequestHead { method: "PUT".into(), target: "/v1/a/c/o".into(), minor_version, headers: fields(headers) }
    }

    fn response(status: u16, minor_version: u8, headers: &str) -> ResponseHead {
        ResponseHead { status, reason: reason_phrase(status).into(), minor_version, headers: fields(headers) }
    }

    /// A request line of exactly `len` bytes, not counting its line ending.
    fn request_line(len: usize) -> String {
        format!("GET /{} HTTP/1.1", "a".repeat(len - 14))
    }

    /// A header line of exactly `len` bytes with its CRLF.
    fn header_line(len: usize) -> String {
        format!("X: {}\r\n", "v".repeat(len - 5))
    }

    /// A header block (after the request line) of exactly `len` bytes, in
    /// lines shorter than [`MAX_HEADER_LINE`].
    fn header_block(len: usize) -> String {
        let body = len - 2;
        let full = MAX_HEADER_LINE - 1;
        let mut block = header_line(full).repeat(body / full);
        let rest = body % full;
        if rest != 0 {
            // A short remainder is folded into the last two lines.
            if rest < 5 {
                block.truncate(block.len() - full);
                block.push_str(&header_line(full - 5));
                block.push_str(&header_line(rest + 5));
            } else {
                block.push_str(&header_line(rest));
            }
        }
        block.push_str("\r\n");
        assert_eq!(block.len(), len);
        block
    }

    #[test]
    fn parses_method_target_version_and_headers_in_order() {
        let buf = b"PUT /v1/AUTH_test/c/o?multipart-manifest=put HTTP/1.1\r\n\
                    Host: example.com\r\nX-Object-Meta-Color:  blue \r\nx-object-meta-color: red\r\n\r\n";
        let (head, len) = parse(buf).unwrap().unwrap();
        assert_eq!(len, buf.len());
        assert_eq!(head.method, "PUT");
        assert_eq!(head.target, "/v1/AUTH_test/c/o?multipart-manifest=put");
        assert_eq!(head.minor_version, 1);
        let pairs: Vec<_> = head.headers.iter().collect();
        assert_eq!(pairs, [("Host", "example.com"), ("X-Object-Meta-Color", "blue"), ("x-object-meta-color", "red")]);
    }

    #[test]
    fn incomplete_head_needs_more_at_every_split_point() {
        let samples: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /v1/a HTTP/1.0\r\n\r\n",
            b"\r\n\r\nGET / HTTP/1.1\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
            b"GET / HTTP/1.1\nHost: a\n\n",
            b"DELETE /v1/a/c/o HTTP/1.1\r\nX-Timestamp: 1.0\r\nContent-Length: 0\r\n\r\n",
        ];
        for sample in samples {
            for cut in 0..sample.len() {
                assert_eq!(parse(&sample[..cut]), Ok(None), "{sample:?} cut at {cut}");
            }
            let (_, len) = parse(sample).unwrap().unwrap();
            assert_eq!(len, sample.len(), "{sample:?}");
        }
    }

    #[test]
    fn pipelined_requests_parse_one_after_another() {
        let buf = b"PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\nHEAD";
        let (first, len) = parse(buf).unwrap().unwrap();
        assert_eq!(first.target, "/a");
        assert_eq!(request_framing(&first), Ok(Framing::Length(3)));
        assert_eq!(&buf[len..len + 3], b"abc");
        let rest = &buf[len + 3..];
        let (second, len2) = parse(rest).unwrap().unwrap();
        assert_eq!((second.method.as_str(), second.target.as_str()), ("GET", "/b"));
        assert_eq!(&rest[len2..], b"HEAD");
        assert_eq!(parse(&rest[len2..]), Ok(None));
    }

    #[test]
    fn empty_lines_before_the_request_line_are_skipped_up_to_the_limit() {
        let at_limit = format!("{}GET / HTTP/1.1\r\n\r\n", "\r\n".repeat(32));
        let (_, len) = parse(at_limit.as_bytes()).unwrap().unwrap();
        assert_eq!(len, at_limit.len());
        let over = format!("\n{at_limit}");
        assert_eq!(parse(over.as_bytes()).unwrap_err().status(), 400);
        assert_eq!(parse("\n".repeat(64).as_bytes()), Ok(None));
        assert_eq!(parse("\n".repeat(65).as_bytes()).unwrap_err().status(), 400);
    }

    #[test]
    fn request_line_must_be_shorter_than_the_limit_or_it_is_414() {
        // Eventlet: a request line that with its line ending is 8192 bytes
        // or more gets 414.
        let at = request_line(MAX_REQUEST_LINE - 3);
        let over = request_line(MAX_REQUEST_LINE - 2);
        // Complete heads.
        assert!(parse(format!("{at}\r\n\r\n").as_bytes()).unwrap().is_some());
        assert!(parse(format!("{over}\n\n").as_bytes()).unwrap().is_some());
        let err = parse(format!("{over}\r\n\r\n").as_bytes()).unwrap_err();
        assert_eq!((err, err.status()), (HeadError::UriTooLong, 414));
        let err = parse(format!("{}\n\n", request_line(MAX_REQUEST_LINE - 1)).as_bytes()).unwrap_err();
        assert_eq!(err, HeadError::UriTooLong);
        // Incomplete heads: judged before the line ends.
        assert_eq!(parse(at.as_bytes()), Ok(None));
        assert_eq!(parse(format!("{at}\r").as_bytes()), Ok(None));
        assert_eq!(parse(over.as_bytes()), Ok(None));
        assert_eq!(parse(format!("{over}\r").as_bytes()), Err(HeadError::UriTooLong));
        assert_eq!(parse(format!("{at}\r\r").as_bytes()), Err(HeadError::UriTooLong));
    }

    #[test]
    fn header_line_must_be_shorter_than_the_limit_or_it_is_400() {
        // Eventlet: a header line that with its line ending is 8192 bytes or
        // more gets 400 (Swift's test_invalid_acls).
        let at = format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", header_line(MAX_HEADER_LINE - 1));
        let over = format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", header_line(MAX_HEADER_LINE));
        assert_eq!(parse(at.as_bytes()).unwrap().unwrap().1, at.len());
        let err = parse(over.as_bytes()).unwrap_err();
        assert_eq!((err, err.status()), (HeadError::HeaderLineTooLong, 400));
        // With a bare LF the line is one byte shorter.
        let lf = format!("GET / HTTP/1.1\nX: {}\n\n", "v".repeat(MAX_HEADER_LINE - 5));
        assert!(parse(lf.as_bytes()).unwrap().is_some());
        // Incomplete: refused as soon as the line cannot end in time.
        let partial = |len: usize| format!("GET / HTTP/1.1\r\nX: {}", "v".repeat(len - 3));
        assert_eq!(parse(partial(MAX_HEADER_LINE - 2).as_bytes()), Ok(None));
        assert_eq!(parse(partial(MAX_HEADER_LINE - 1).as_bytes()), Err(HeadError::HeaderLineTooLong));
        // Responses: a line may be as long as the block.
        let resp = format!("HTTP/1.1 200 OK\r\n{}\r\n", header_line(4 * MAX_HEADER_LINE));
        assert!(parse_response_head(resp.as_bytes()).unwrap().is_some());
    }

    #[test]
    fn header_block_at_the_limit_parses_and_one_over_is_400() {
        let at = format!("GET / HTTP/1.1\r\n{}", header_block(MAX_HEADER_BLOCK));
        let over = format!("GET / HTTP/1.1\r\n{}", header_block(MAX_HEADER_BLOCK + 1));
        let (_, len) = parse(at.as_bytes()).unwrap().unwrap();
        assert_eq!(len, at.len());
        let err = parse(over.as_bytes()).unwrap_err();
        assert_eq!((err, err.status()), (HeadError::HeadersTooLarge, 400));
        // Incomplete: the whole buffer counts until the head is complete...
        assert_eq!(parse(&at.as_bytes()[..at.len() - 1]), Ok(None));
        assert_eq!(parse(&over.as_bytes()[..over.len() - 1]), Ok(None));
        // ...but a body or next request after a complete head does not.
        let with_body = format!("{at}{}", "b".repeat(MAX_HEADER_BLOCK));
        assert_eq!(parse(with_body.as_bytes()).unwrap().unwrap().1, at.len());
    }

    #[test]
    fn an_incomplete_head_never_holds_more_than_max_head() {
        // Header lines filling the block, the empty line still to come.
        let block = header_block(MAX_HEADER_BLOCK + 2);
        let longest = format!(
            "{}{}\r\n{}",
            "\n".repeat(MAX_LEADING_EMPTY_LINES),
            request_line(MAX_REQUEST_LINE - 3),
            &block[..block.len() - 2]
        );
        assert_eq!(longest.len(), MAX_HEAD);
        assert_eq!(parse(longest.as_bytes()), Ok(None));
        assert_eq!(parse(format!("{longest}\r").as_bytes()), Err(HeadError::HeadersTooLarge));
    }

    #[test]
    fn header_count_at_the_limit_parses_and_one_over_is_431() {
        // Swift's default: (90 metadata items + 36 other headers) × 1.6 lines,
        // the empty line included.
        assert_eq!(MAX_HEADERS, (90 + 36) * 16 / 10 - 1);
        let with = |n: usize| {
            let lines: String = (0..n).map(|i| format!("X-Object-Meta-{i}: v\r\n")).collect();
            format!("PUT /a/c/o HTTP/1.1\r\n{lines}\r\n")
        };
        let (head, _) = parse(with(MAX_HEADERS).as_bytes()).unwrap().unwrap();
        assert_eq!(head.headers.len(), MAX_HEADERS);
        // 190 metadata items (Swift's testMetadataNumberLimit) reach the
        // proxy's constraint check.
        assert!(parse(with(190).as_bytes()).unwrap().is_some());
        let err = parse(with(MAX_HEADERS + 1).as_bytes()).unwrap_err();
        assert_eq!((err, err.status()), (HeadError::TooManyHeaders, 431));
    }

    #[test]
    fn malformed_heads_are_400() {
        let cases: &[(&str, &[u8])] = &[
            ("obsolete line folding", b"GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n"),
            ("tab line folding", b"GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\n\r\n"),
            ("space before colon", b"GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n"),
            ("space before first header", b"GET / HTTP/1.1\r\n Content-Length: 5\r\n\r\n"),
            ("no colon", b"GET / HTTP/1.1\r\nContent-Length\r\n\r\n"),
            ("NUL in value", b"GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"),
            ("bare CR in value", b"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n"),
            ("bare CR before request", b"\rGET / HTTP/1.1\r\n\r\n"),
            ("unknown version", b"GET / HTTP/1.2\r\n\r\n"),
            ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            ("missing target", b"GET HTTP/1.1\r\n\r\n"),
            ("space in target", b"GET /a b HTTP/1.1\r\n\r\n"),
            ("binary garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        ];
        for (what, buf) in cases {
            match parse(buf) {
                Err(e) => assert_eq!(e.status(), 400, "{what}: {e}"),
                other => panic!("{what}: expected 400, got {other:?}"),
            }
        }
    }

    #[test]
    fn raw_bytes_in_the_target_that_are_not_utf8_are_escaped() {
        let buf = b"PUT /v1/a/\xff\xfec\xc3\xa9/\xe2\x98 HTTP/1.1\r\nHost: x\r\n\r\nbody";
        let (head, len) = parse(buf).unwrap().unwrap();
        assert_eq!(head.target, "/v1/a/%FF%FEc\u{e9}/%E2%98");
        assert_eq!(&buf[len..], b"body");
        assert_eq!(head.headers.get("host"), Some("x"));
        // Also after empty lines, and still incomplete until the head ends.
        let buf = b"\r\nGET /\x80 HTTP/1.1\r\n\r\n";
        assert_eq!(parse(&buf[..buf.len() - 1]), Ok(None));
        assert_eq!(
            parse(buf).unwrap().unwrap(),
            (parse(b"\r\nGET /%80 HTTP/1.1\r\n\r\n").unwrap().unwrap().0, buf.len())
        );
        // Raw UTF-8 stays as it is.
        let (head, _) = parse("GET /v1/a/caf\u{e9} HTTP/1.1\r\n\r\n".as_bytes()).unwrap().unwrap();
        assert_eq!(head.target, "/v1/a/caf\u{e9}");
        // Outside the target such bytes are malformed.
        for bad in [&b"G\xffT / HTTP/1.1\r\n\r\n"[..], b"GET / HTTP/1.\xff\r\n\r\n", b"GET\xff/\r\n\r\n"] {
            assert_eq!(parse(bad).unwrap_err().status(), 400, "{bad:?}");
        }
    }

    #[test]
    fn utf8_header_values_are_kept() {
        let buf = "GET / HTTP/1.1\r\nX-Object-Meta-Name: café ☕\r\n\r\n";
        let (head, _) = parse(buf.as_bytes()).unwrap().unwrap();
        assert_eq!(head.headers.get("x-object-meta-name"), Some("café ☕"));
    }

    #[test]
    fn bytes_that_are_not_utf8_in_a_value_become_question_marks_of_the_same_length() {
        // "é" cut after its first byte, and a Latin-1 byte.
        let buf = b"GET / HTTP/1.1\r\nX-Object-Meta-A: ab\xc3\r\nX-Object-Meta-B: \xe9t\xc3\xa9\r\n\r\n";
        let (head, _) = parse(buf).unwrap().unwrap();
        assert_eq!(head.headers.get("x-object-meta-a"), Some("ab?"));
        assert_eq!(head.headers.get("x-object-meta-b"), Some("?té"));
    }

    #[test]
    fn request_framing_follows_rfc_9112() {
        use Framing::*;
        use HeadError::{Bad, NotImplemented};
        let bad = Bad("");
        let not_impl = NotImplemented("");
        let cases: &[(u8, &str, Result<Framing, HeadError>)] = &[
            (1, "", Ok(None)),
            (0, "", Ok(None)),
            (1, "Content-Length: 0", Ok(Length(0))),
            (1, "content-length: 42", Ok(Length(42))),
            (0, "Content-Length: 42", Ok(Length(42))),
            (1, "Content-Length: 007", Ok(Length(7))),
            (1, "Content-Length: 18446744073709551615", Ok(Length(u64::MAX))),
            (1, "Content-Length: 18446744073709551616", Err(bad)),
            (1, "Content-Length: 5|Content-Length: 5", Ok(Length(5))),
            (1, "Content-Length: 5, 5", Ok(Length(5))),
            (1, "Content-Length: 5|Content-Length: 6", Err(bad)),
            (1, "Content-Length: 5, 6", Err(bad)),
            (1, "Content-Length: 5,", Err(bad)),
            (1, "Content-Length: +5", Err(bad)),
            (1, "Content-Length: -5", Err(bad)),
            (1, "Content-Length: 5 5", Err(bad)),
            (1, "Content-Length:  5", Err(bad)),
            (1, "Content-Length: 5\t", Err(bad)),
            (1, "Content-Length: 0x5", Err(bad)),
            (1, "Content-Length: 5.0", Err(bad)),
            (1, "Content-Length: ", Err(bad)),
            (1, "Transfer-Encoding: chunked", Ok(Chunked)),
            (1, "transfer-encoding:  CHUNKED\t", Ok(Chunked)),
            (1, "Transfer-Encoding: chunked|Content-Length: 5", Err(bad)),
            (1, "Content-Length: 5|Transfer-Encoding: chunked", Err(bad)),
            (1, "Content-Length: 5|Transfer-Encoding: gzip", Err(bad)),
            (0, "Transfer-Encoding: chunked", Err(bad)),
            (1, "Transfer-Encoding: xchunked", Err(bad)),
            (1, "Transfer-Encoding: chunked, gzip", Err(bad)),
            (1, "Transfer-Encoding: chunked, chunked", Err(bad)),
            (1, "Transfer-Encoding: chunked|Transfer-Encoding: chunked", Err(bad)),
            (1, "Transfer-Encoding: gzip", Err(bad)),
            (1, "Transfer-Encoding: identity", Err(bad)),
            (1, "Transfer-Encoding: ", Err(bad)),
            (1, "Transfer-Encoding: , chunked", Err(bad)),
            (1, "Transfer-Encoding: gzip, chunked", Err(not_impl)),
            (1, "Transfer-Encoding: gzip|Transfer-Encoding: chunked", Err(not_impl)),
        ];
        for (minor, headers, want) in cases {
            let got = request_framing(&head(*minor, headers));
            let same = match (&got, want) {
                (Err(g), Err(w)) => g.status() == w.status(),
                _ => got == *want,
            };
            assert!(same, "HTTP/1.{minor} {headers}: got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn framing_of_parsed_smuggling_attempts_is_refused() {
        let cases: &[&[u8]] = &[
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        ];
        for buf in cases {
            let (head, _) = parse(buf).unwrap().unwrap();
            let err = request_framing(&head).unwrap_err();
            assert_eq!(err.status(), 400, "{}", String::from_utf8_lossy(buf));
        }
        // Optional whitespace around a field value is not part of it.
        let (head, _) = parse(b"POST / HTTP/1.1\r\nContent-Length: \t 5 \r\n\r\n").unwrap().unwrap();
        assert_eq!(request_framing(&head), Ok(Framing::Length(5)));
    }

    #[test]
    fn keep_alive_defaults_by_version_and_reads_connection_tokens() {
        let cases: &[(u8, &str, bool)] = &[
            (1, "", true),
            (1, "Connection: close", false),
            (1, "connection: Keep-Alive, CLOSE", false),
            (1, "Connection: keep-alive|Connection: close", false),
            (1, "Connection: closed", true),
            (1, "Connection: upgrade", true),
            (0, "", false),
            (0, "Connection: keep-alive", true),
            (0, "Connection: TE, Keep-Alive", true),
            (0, "Connection: keep-alive, close", false),
        ];
        for (minor, headers, want) in cases {
            assert_eq!(keep_alive(&head(*minor, headers)), *want, "1.{minor} {headers}");
            let asked = headers.to_ascii_lowercase().contains("keep-alive");
            assert_eq!(asks_keep_alive(&head(*minor, headers)), asked, "1.{minor} {headers}");
            let resp = response(200, *minor, headers);
            assert_eq!(response_keep_alive(&resp), *want, "1.{minor} {headers}");
        }
    }

    #[test]
    fn expects_continue_only_on_http_1_1() {
        let cases: &[(u8, &str, bool)] = &[
            (1, "Expect: 100-continue", true),
            (1, "expect: 100-Continue", true),
            (1, "Expect:  100-continue ", true),
            (1, "", false),
            (1, "Expect: 200-ok", false),
            (0, "Expect: 100-continue", false),
        ];
        for (minor, headers, want) in cases {
            assert_eq!(expects_continue(&head(*minor, headers)), *want, "{headers}");
        }
    }

    #[test]
    fn parses_a_response_at_every_split_point() {
        let buf = b"HTTP/1.1 201 Created\r\nEtag: \"abc\"\r\nContent-Length: 0\r\n\r\nHTTP/1.1";
        let end = buf.len() - 8;
        for cut in 0..end {
            assert_eq!(parse_response_head(&buf[..cut]), Ok(None), "cut at {cut}");
        }
        let (head, len) = parse_response_head(buf).unwrap().unwrap();
        assert_eq!(len, end);
        assert_eq!((head.status, head.reason.as_str(), head.minor_version), (201, "Created", 1));
        assert_eq!(head.headers.get("etag"), Some("\"abc\""));
        assert_eq!(response_framing(&head, "PUT"), Ok(ResponseFraming::Length(0)));
    }

    #[test]
    fn response_limits_and_garbage_are_refused() {
        let long_status = format!("HTTP/1.1 200 {}\r\n\r\n", "k".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse_response_head(long_status.as_bytes()), Err(HeadError::HeaderLineTooLong));
        let big_block = format!("HTTP/1.1 200 OK\r\n{}", header_block(MAX_HEADER_BLOCK + 1));
        assert_eq!(parse_response_head(big_block.as_bytes()), Err(HeadError::HeadersTooLarge));
        for buf in [&b"HTTP/1.1 20 OK\r\n\r\n"[..], b"HTTP/1.1 abc OK\r\n\r\n", b"HTTX/1.1 200 OK\r\n\r\n"] {
            assert_eq!(parse_response_head(buf).unwrap_err().status(), 400, "{buf:?}");
        }
        let (head, _) = parse_response_head(b"HTTP/1.0 200\r\n\r\n").unwrap().unwrap();
        assert_eq!((head.status, head.reason.as_str(), head.minor_version), (200, "", 0));
    }

    #[test]
    fn response_framing_follows_rfc_9112() {
        use ResponseFraming::*;
        let bad = HeadError::Bad("");
        let cases: &[(u16, &str, &str, Result<ResponseFraming, HeadError>)] = &[
            (200, "GET", "Content-Length: 10", Ok(Length(10))),
            (200, "HEAD", "Content-Length: 10", Ok(None)),
            (200, "GET", "Transfer-Encoding: chunked", Ok(Chunked)),
            (200, "GET", "", Ok(UntilClose)),
            (100, "PUT", "", Ok(None)),
            (204, "DELETE", "Content-Length: 10", Ok(None)),
            (304, "GET", "Content-Length: 10", Ok(None)),
            (404, "GET", "Content-Length: 0", Ok(Length(0))),
            (200, "GET", "Transfer-Encoding: chunked|Content-Length: 3", Err(bad)),
            (200, "GET", "Content-Length: 3|Content-Length: 4", Err(bad)),
            (200, "GET", "Transfer-Encoding: chunked, identity", Err(bad)),
        ];
        for (status, method, headers, want) in cases {
            let got = response_framing(&response(*status, 1, headers), method);
            let same = match (&got, want) {
                (Err(g), Err(w)) => g.status() == w.status(),
                _ => got == *want,
            };
            assert!(same, "{status} to {method} {headers}: got {got:?}");
        }
        let old = response(200, 0, "Transfer-Encoding: chunked");
        assert_eq!(response_framing(&old, "GET").unwrap_err().status(), 400);
    }

    #[test]
    fn head_errors_map_to_status_codes() {
        let cases = [
            (HeadError::UriTooLong, 414),
            (HeadError::HeaderLineTooLong, 400),
            (HeadError::HeadersTooLarge, 400),
            (HeadError::TooManyHeaders, 431),
            (HeadError::Bad("x"), 400),
            (HeadError::NotImplemented("x"), 501),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), status);
            assert!(!err.to_string().is_empty());
        }
        assert_eq!(HeadError::Bad("bare CR").to_string(), "malformed message: bare CR");
    }

    #[test]
    fn reason_phrases_are_swifts() {
        let table = "100 Continue|200 OK|201 Created|202 Accepted|204 No Content|\
            206 Partial Content|301 Moved Permanently|304 Not Modified|400 Bad Request|\
            401 Unauthorized|403 Forbidden|404 Not Found|405 Method Not Allowed|\
            408 Request Timeout|409 Conflict|411 Length Required|412 Precondition Failed|\
            413 Request Entity Too Large|414 Request URI Too Long|\
            416 Requested Range Not Satisfiable|422 Unprocessable Entity|\
            431 Request Header Fields Too Large|499 Client Disconnect|500 Internal Error|\
            501 Not Implemented|503 Service Unavailable|504 Gateway Timeout|\
            507 Insufficient Storage|299 Unknown|600 Unknown";
        for entry in table.split('|') {
            let (status, reason) = entry.split_once(' ').unwrap();
            assert_eq!(reason_phrase(status.parse().unwrap()), reason, "{status}");
        }
    }

    #[test]
    fn write_response_head_writes_status_line_headers_and_empty_line() {
        let mut headers = Headers::new();
        headers.append("Content-Length", "0");
        headers.append("X-Trans-Id", "tx123");
        let mut out = Vec::new();
        write_response_head(&mut out, 507, &headers);
        assert_eq!(out, b"HTTP/1.1 507 Insufficient Storage\r\nContent-Length: 0\r\nX-Trans-Id: tx123\r\n\r\n");
        out.clear();
        write_response_head(&mut out, 204, &Headers::new());
        assert_eq!(out, b"HTTP/1.1 204 No Content\r\n\r\n");
        // What we write, we parse back.
        let (head, len) = parse_response_head(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap().unwrap();
        assert_eq!((head.status, len), (204, out.len()));
    }
}
