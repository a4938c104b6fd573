//! The chunked transfer coding (RFC 9112 §7.1): a sans-IO decoder and the
//! two helpers that encode.
//!
//! ```text
//!   chunked-body = *chunk last-chunk trailer-section CRLF
//!   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//!   last-chunk   = 1*"0" [ chunk-ext ] CRLF
//!
//!        hex      ;ext       CR        LF
//!   Size ───> Size ──> Extension ──> SizeLf ──> Data(n) ──> DataCr ──> DataLf ──> Size
//!     │ SP/HTAB ^ CR                  │ size 0
//!     └─> SizeWs ┘                    v
//!                        TrailerStart ──(CR)──> EndLf ──(LF)──> Done
//!                          │  ^
//!                  field   v  │ LF
//!                   TrailerLine ──(CR)──> TrailerLf
//! ```
//!
//! The decoder is fed whatever has been read; each call consumes framing
//! bytes and at most one run of payload, which it hands back as a range of
//! the input so the caller can pass it on without copying. It is strict where
//! a lenient reading could disagree with a proxy in front (request
//! smuggling): CRLF everywhere (no bare LF), at most 16 hex digits, no
//! whitespace but the optional SP/HTAB allowed before `;` and CRLF. Trailer
//! fields are kept (at most [`MAX_TRAILERS`] bytes) for [`ChunkedDecoder::trailers`]:
//! the proxy sends an object's checksums in them, known only at the end.
//! After an error the decoder must not be used again: the connection's
//! framing is lost, answer 400 and close.

use crate::headers::Headers;
use std::fmt;
use std::ops::Range;

/// Most hex digits in a chunk size (leading zeros included): 16 fit a `u64`.
pub const MAX_SIZE_DIGITS: u8 = 16;

/// Most bytes between a chunk size and its CRLF: the optional whitespace, the
/// `;` and the chunk extensions (which are ignored).
pub const MAX_CHUNK_EXT: usize = 4096;

/// Most bytes in the trailer section after the last chunk, its final empty
/// line included.
pub const MAX_TRAILERS: usize = 8192;

/// The last chunk with an empty trailer section, ending a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Why a chunked body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// A chunk size that is empty, not hex, or longer than 16 digits.
    BadSize,
    /// A missing CRLF, a bare LF, or a byte not allowed where it stands.
    BadFraming,
    /// Chunk extensions over [`MAX_CHUNK_EXT`] bytes.
    ExtensionTooLong,
    /// A trailer section over [`MAX_TRAILERS`] bytes.
    TrailersTooLong,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkError::BadSize => "invalid chunk size",
            ChunkError::BadFraming => "invalid chunked framing",
            ChunkError::ExtensionTooLong => "chunk extensions too long",
            ChunkError::TrailersTooLong => "chunked trailer section too long",
        })
    }
}

impl std::error::Error for ChunkError {}

/// What one [`ChunkedDecoder::decode`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Bytes of the input used up (framing and payload); the caller drops
    /// them and passes the rest, plus whatever it reads next, to the next call.
    pub consumed: usize,
    /// Payload bytes, as a range of the input (within `..consumed`); empty
    /// when this call found none.
    pub data: Range<usize>,
    /// The whole body, trailers included, has been consumed.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size,
    /// After the size, in optional whitespace before `;` or CR.
    SizeWs,
    /// After `;`, up to CR.
    Extension,
    /// Expecting the LF ending the size line.
    SizeLf,
    /// This many payload bytes still to come in the current chunk.
    Data(u64),
    /// Expecting the CR after the payload.
    DataCr,
    /// Expecting the LF after the payload.
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Expecting the LF ending a trailer field line.
    TrailerLf,
    /// Expecting the LF of the final empty line.
    EndLf,
    /// The body is complete.
    Done,
}

/// Decodes one chunked body; see the module docs.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The size being read, then the size of the current chunk.
    size: u64,
    size_digits: u8,
    ext_len: usize,
    trailer_len: usize,
    /// The trailer field lines' bytes, each ended by LF (CRs dropped).
    trailer: Vec<u8>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder { state: State::Size, size: 0, size_digits: 0, ext_len: 0, trailer_len: 0, trailer: Vec::new() }
    }

    /// The trailer fields, once the body is done (empty before, and for a
    /// body without any). Lines that are not `name: value` are skipped.
    pub fn trailers(&self) -> Headers {
        let mut h = Headers::new();
        if !self.is_done() {
            return h;
        }
        for line in self.trailer.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim();
                if !k.is_empty() && !k.contains([' ', '\t']) {
                    h.append(k, v.trim());
                }
            }
        }
        h
    }

    /// Whether the last chunk and the trailer section have been consumed.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Inside a chunk's payload: how many of its bytes are still to come.
    /// A reader may take up to that many straight from the source (no
    /// copy through its buffer) and report them with [`Self::took_data`].
    pub fn data_left(&self) -> Option<u64> {
        match self.state {
            State::Data(n) => Some(n),
            _ => None,
        }
    }

    /// Accounts for `n` payload bytes the caller read itself, at most
    /// [`Self::data_left`].
    pub fn took_data(&mut self, n: u64) {
        if let State::Data(left) = self.state {
            debug_assert!(n <= left);
            self.state = if n >= left { State::DataCr } else { State::Data(left - n) };
        }
    }

    /// Consumes framing from `input` and at most one run of payload, stopping
    /// right after that run or when the body is done; see [`Step`]. An empty
    /// input, or a call after the body is done, consumes nothing. When the
    /// body is not done and `input` is not empty, at least one byte is
    /// consumed.
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Done => break,
                State::Data(remaining) => {
                    let available = (input.len() - i) as u64;
                    let n = remaining.min(available);
                    let data = i..i + n as usize;
                    self.state = if n == remaining { State::DataCr } else { State::Data(remaining - n) };
                    return Ok(Step { consumed: data.end, data, done: false });
                }
                _ => {
                    self.framing_byte(input[i])?;
                    i += 1;
                }
            }
        }
        Ok(Step { consumed: i, data: 0..0, done: self.is_done() })
    }

    /// Advances the state machine over one byte outside chunk data.
    fn framing_byte(&mut self, b: u8) -> Result<(), ChunkError> {
        self.state = match (self.state, b) {
            (State::Size, _) if b.is_ascii_hexdigit() => {
                if self.size_digits == MAX_SIZE_DIGITS {
                    return Err(ChunkError::BadSize);
                }
                self.size_digits += 1;
                // Cannot overflow: at most 16 digits of 4 bits.
                self.size = (self.size << 4) | u64::from(hex_value(b));
                State::Size
            }
            (State::Size, _) if self.size_digits == 0 => return Err(ChunkError::BadSize),
            (State::Size | State::SizeWs, b' ' | b'\t') => {
                self.count_ext()?;
                State::SizeWs
            }
            (State::Size | State::SizeWs, b';') => {
                self.count_ext()?;
                State::Extension
            }
            (State::Size | State::SizeWs | State::Extension, b'\r') => State::SizeLf,
            (State::Size | State::SizeWs, b'\n') => return Err(ChunkError::BadFraming),
            (State::Size | State::SizeWs, _) => return Err(ChunkError::BadSize),
            (State::Extension, _) if is_field_byte(b) => {
                self.count_ext()?;
                State::Extension
            }
            (State::SizeLf, b'\n') if self.size == 0 => State::TrailerStart,
            (State::SizeLf, b'\n') => State::Data(self.size),
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => {
                self.size = 0;
                self.size_digits = 0;
                self.ext_len = 0;
                State::Size
            }
            (State::TrailerStart | State::TrailerLine | State::TrailerLf | State::EndLf, _) => {
                self.trailer_len += 1;
                if self.trailer_len > MAX_TRAILERS {
                    return Err(ChunkError::TrailersTooLong);
                }
                match (self.state, b) {
                    (State::TrailerStart, b'\r') => State::EndLf,
                    (State::TrailerLine, b'\r') => State::TrailerLf,
                    (State::TrailerStart | State::TrailerLine, _) if is_field_byte(b) => {
                        self.trailer.push(b);
                        State::TrailerLine
                    }
                    (State::TrailerLf, b'\n') => {
                        self.trailer.push(b'\n');
                        State::TrailerStart
                    }
                    (State::EndLf, b'\n') => State::Done,
                    _ => return Err(ChunkError::BadFraming),
                }
            }
            _ => return Err(ChunkError::BadFraming),
        };
        Ok(())
    }

    fn count_ext(&mut self) -> Result<(), ChunkError> {
        self.ext_len += 1;
        if self.ext_len > MAX_CHUNK_EXT {
            return Err(ChunkError::ExtensionTooLong);
        }
        Ok(())
    }
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// A byte allowed inside a chunk extension or a trailer line: anything but
/// control characters (HTAB excepted).
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Appends the size line of a `len`-byte chunk: lowercase hex and CRLF.
pub fn chunk_header(len: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    let mut n = len as u64;
    loop {
        i -= 1;
        digits[i] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// Appends the last chunk and a trailer section holding `trailers`,
/// ending a chunked body.
pub fn last_chunk_with(trailers: &Headers, out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n");
    trailers.write_to(out);
    out.extend_from_slice(b"\r\n");
}

/// Appends `data` as one chunk; nothing for empty data (an empty chunk would
/// end the body: send [`LAST_CHUNK`] for that).
pub fn write_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.reserve(data.len() + 20);
    chunk_header(data.len(), out);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a caller sees after feeding `input` in pieces cut at `cuts`.
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        payload: Vec<u8>,
        consumed: usize,
        done: bool,
    }

    /// Feeds `input` the way a body reader does: keeps unconsumed bytes,
    /// appends the next piece when the decoder needs more.
    fn feed(input: &[u8], cuts: &[usize]) -> Result<Outcome, ChunkError> {
        let mut pieces = cuts.iter().copied().chain([input.len()]).scan(0, |start, end| {
            let piece = &input[*start..end];
            *start = end;
            Some(piece)
        });
        let mut decoder = ChunkedDecoder::new();
        let mut pending = Vec::new();
        let mut payload = Vec::new();
        let mut consumed = 0;
        loop {
            let step = decoder.decode(&pending)?;
            assert!(step.consumed <= pending.len());
            assert!(step.data.start <= step.data.end && step.data.end <= step.consumed);
            assert_eq!(step.done, decoder.is_done());
            payload.extend_from_slice(&pending[step.data]);
            pending.drain(..step.consumed);
            consumed += step.consumed;
            if step.done {
                break;
            }
            if step.consumed == 0 {
                match pieces.next() {
                    Some(piece) => pending.extend_from_slice(piece),
                    None => break,
                }
            }
        }
        Ok(Outcome { payload, consumed, done: decoder.is_done() })
    }

    fn whole(input: &[u8]) -> Result<Outcome, ChunkError> {
        feed(input, &[])
    }

    const VALID: &[(&str, &[u8], &[u8])] = &[
        ("empty body", b"0\r\n\r\n", b""),
        ("one chunk", b"4\r\nWiki\r\n0\r\n\r\n", b"Wiki"),
        (
            "several chunks",
            b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
            b"Wikipedia in\r\n\r\nchunks.",
        ),
        ("upper and lower hex", b"A\r\n0123456789\r\nb\r\n0123456789a\r\n0\r\n\r\n", b"01234567890123456789a"),
        ("leading zeros", b"0004\r\nabcd\r\n000\r\n\r\n", b"abcd"),
        ("sixteen digits", b"0000000000000003\r\nabc\r\n0\r\n\r\n", b"abc"),
        ("extensions", b"3;name=value\r\nabc\r\n2;a;b=\"q;x\"\r\nde\r\n0;last\r\n\r\n", b"abcde"),
        ("whitespace before ; and CRLF", b"3 \t;ext\r\nabc\r\n2\t\r\nde\r\n0 \r\n\r\n", b"abcde"),
        ("trailers", b"3\r\nabc\r\n0\r\nEtag: \"x\"\r\nX-Object-Meta-A: b\r\n\r\n", b"abc"),
        ("payload that looks like framing", b"5\r\n0\r\n\r\n\r\n0\r\n\r\n", b"0\r\n\r\n"),
    ];

    #[test]
    fn valid_bodies_decode_whole() {
        for (what, input, payload) in VALID {
            let got = whole(input).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(got.payload, *payload, "{what}");
            assert_eq!((got.consumed, got.done), (input.len(), true), "{what}");
        }
    }

    #[test]
    fn valid_bodies_decode_byte_by_byte() {
        for (what, input, payload) in VALID {
            let cuts: Vec<usize> = (1..input.len()).collect();
            let got = feed(input, &cuts).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(got, whole(input).unwrap(), "{what}");
            assert_eq!(got.payload, *payload, "{what}");
        }
    }

    #[test]
    fn valid_bodies_decode_the_same_at_every_split_point() {
        for (what, input, _) in VALID {
            let want = whole(input).unwrap();
            for cut in 0..=input.len() {
                assert_eq!(feed(input, &[cut]).unwrap(), want, "{what} cut at {cut}");
            }
        }
    }

    #[test]
    fn each_call_returns_at_most_one_run_of_payload() {
        let input = b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n";
        let mut decoder = ChunkedDecoder::new();
        let step = decoder.decode(input).unwrap();
        assert_eq!(step, Step { consumed: 6, data: 3..6, done: false });
        let rest = &input[6..];
        let step = decoder.decode(rest).unwrap();
        assert_eq!(step, Step { consumed: 8, data: 5..8, done: false });
        assert_eq!(&rest[5..8], b"def");
        let step = decoder.decode(&rest[8..]).unwrap();
        assert_eq!(step, Step { consumed: 7, data: 0..0, done: true });
    }

    #[test]
    fn a_partial_chunk_is_handed_out_as_it_arrives() {
        let mut decoder = ChunkedDecoder::new();
        let step = decoder.decode(b"a\r\n0123").unwrap();
        assert_eq!(step, Step { consumed: 7, data: 3..7, done: false });
        let step = decoder.decode(b"456789\r\n").unwrap();
        assert_eq!(step, Step { consumed: 6, data: 0..6, done: false });
        let step = decoder.decode(b"\r\n").unwrap();
        assert_eq!(step, Step { consumed: 2, data: 0..0, done: false });
    }

    #[test]
    fn bytes_after_the_last_chunk_are_not_consumed() {
        let body = b"4\r\nWiki\r\n0\r\nX-A: b\r\n\r\n";
        let input = [&body[..], b"GET / HTTP/1.1\r\n\r\n"].concat();
        let got = whole(&input).unwrap();
        assert_eq!((got.payload.as_slice(), got.consumed, got.done), (&b"Wiki"[..], body.len(), true));

        let mut decoder = ChunkedDecoder::new();
        let mut at = 0;
        while !decoder.is_done() {
            at += decoder.decode(&input[at..]).unwrap().consumed;
        }
        assert_eq!(at, body.len());
        let again = decoder.decode(&input[at..]).unwrap();
        assert_eq!(again, Step { consumed: 0, data: 0..0, done: true });
    }

    #[test]
    fn empty_input_consumes_nothing() {
        let mut decoder = ChunkedDecoder::new();
        assert_eq!(decoder.decode(b"").unwrap(), Step { consumed: 0, data: 0..0, done: false });
        decoder.decode(b"2\r\n").unwrap();
        assert_eq!(decoder.decode(b"").unwrap(), Step { consumed: 0, data: 0..0, done: false });
    }

    #[test]
    fn incomplete_bodies_need_more() {
        for input in [&b""[..], b"4", b"4\r", b"4\r\nWi", b"4\r\nWiki\r", b"0\r\n", b"0\r\n\r", b"0\r\nA: b\r\n"] {
            let got = whole(input).unwrap();
            assert!(!got.done, "{input:?}");
            assert_eq!(got.consumed, input.len(), "{input:?}");
        }
    }

    #[test]
    fn malformed_bodies_are_refused() {
        use ChunkError::*;
        let cases: &[(&str, &[u8], ChunkError)] = &[
            ("empty size", b"\r\nabc\r\n0\r\n\r\n", BadSize),
            ("non-hex size", b"g\r\n", BadSize),
            ("0x prefix", b"0x10\r\n", BadSize),
            ("negative size", b"-1\r\n", BadSize),
            ("plus sign", b"+1\r\n", BadSize),
            ("space before size", b" 5\r\n", BadSize),
            ("space inside size", b"1 0\r\nabcdefghijklmnop\r\n", BadSize),
            ("17 hex digits", b"00000000000000001\r\na\r\n", BadSize),
            ("overflowing size", b"10000000000000000\r\n", BadSize),
            ("only ; as size", b";ext\r\n", BadSize),
            ("bare LF after size", b"4\nWiki\r\n0\r\n\r\n", BadFraming),
            ("CR without LF after size", b"4\rWiki\r\n", BadFraming),
            ("bare LF after extension", b"4;x\nWiki\r\n", BadFraming),
            ("control byte in extension", b"4;a\x00b\r\nWiki\r\n", BadFraming),
            ("missing CRLF after data", b"4\r\nWikiX\r\n0\r\n\r\n", BadFraming),
            ("bare LF after data", b"4\r\nWiki\n0\r\n\r\n", BadFraming),
            ("chunk longer than its size", b"3\r\nWiki\r\n0\r\n\r\n", BadFraming),
            ("bare LF ending the body", b"0\r\n\n", BadFraming),
            ("bare LF after a trailer", b"0\r\nA: b\n\r\n", BadFraming),
            ("CR without LF ending the body", b"0\r\n\rX", BadFraming),
            ("control byte in a trailer", b"0\r\nA: \x01\r\n\r\n", BadFraming),
        ];
        for (what, input, want) in cases {
            assert_eq!(whole(input), Err(*want), "{what}");
            let cuts: Vec<usize> = (1..input.len()).collect();
            assert_eq!(feed(input, &cuts), Err(*want), "{what} byte by byte");
        }
    }

    #[test]
    fn largest_size_is_accepted() {
        let mut decoder = ChunkedDecoder::new();
        let step = decoder.decode(b"ffffffffffffffff\r\nab").unwrap();
        assert_eq!(step, Step { consumed: 20, data: 18..20, done: false });
        assert_eq!(decoder.state, State::Data(u64::MAX - 2));
    }

    /// A chunk whose size is followed by exactly `len` bytes of extension.
    fn with_extension(len: usize) -> Vec<u8> {
        format!("3 ;{}\r\nabc\r\n0\r\n\r\n", "e".repeat(len - 2)).into_bytes()
    }

    #[test]
    fn extensions_at_the_limit_pass_and_one_over_fail() {
        assert_eq!(whole(&with_extension(MAX_CHUNK_EXT)).unwrap().payload, b"abc");
        assert_eq!(whole(&with_extension(MAX_CHUNK_EXT + 1)), Err(ChunkError::ExtensionTooLong));
        // Whitespace counts too, so it cannot run on forever.
        let spaces = [&b"3"[..], &vec![b' '; MAX_CHUNK_EXT + 1]].concat();
        assert_eq!(whole(&spaces), Err(ChunkError::ExtensionTooLong));
    }

    #[test]
    fn the_extension_limit_is_per_chunk() {
        let one = format!("1;{}\r\na\r\n", "e".repeat(MAX_CHUNK_EXT - 1));
        let body = format!("{}0\r\n\r\n", one.repeat(3));
        assert_eq!(whole(body.as_bytes()).unwrap().payload, b"aaa");
    }

    /// A body whose trailer section is exactly `len` bytes.
    fn with_trailers(len: usize) -> Vec<u8> {
        format!("0\r\nX: {}\r\n\r\n", "t".repeat(len - 7)).into_bytes()
    }

    #[test]
    fn trailers_at_the_limit_pass_and_one_over_fail() {
        let at = with_trailers(MAX_TRAILERS);
        assert_eq!(whole(&at).unwrap().consumed, at.len());
        assert_eq!(whole(&with_trailers(MAX_TRAILERS + 1)), Err(ChunkError::TrailersTooLong));
        let endless = [&b"0\r\n"[..], &b"A: b\r\n".repeat(MAX_TRAILERS)].concat();
        assert_eq!(whole(&endless), Err(ChunkError::TrailersTooLong));
    }

    #[test]
    fn write_chunk_frames_data_and_skips_empty_data() {
        let cases: &[(&[u8], &[u8])] = &[(b"", b""), (b"a", b"1\r\na\r\n"), (b"0123456789", b"a\r\n0123456789\r\n")];
        for (data, want) in cases {
            let mut out = Vec::new();
            write_chunk(&mut out, data);
            assert_eq!(out, *want);
        }
    }

    #[test]
    fn chunk_header_writes_lowercase_hex() {
        let cases: &[(usize, &[u8])] = &[
            (0, b"0\r\n"),
            (15, b"f\r\n"),
            (16, b"10\r\n"),
            (65536, b"10000\r\n"),
            (usize::MAX, b"ffffffffffffffff\r\n"),
        ];
        for (len, want) in cases {
            let mut out = Vec::new();
            chunk_header(*len, &mut out);
            assert_eq!(out, *want, "{len}");
        }
    }

    #[test]
    fn encoded_bodies_decode_back() {
        let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
        let mut body = Vec::new();
        for piece in data.chunks(65536).chain(data.chunks(7).take(3)) {
            write_chunk(&mut body, piece);
        }
        body.extend_from_slice(LAST_CHUNK);
        let expect: Vec<u8> = data.iter().chain(&data[..21]).copied().collect();
        let got = whole(&body).unwrap();
        assert_eq!((got.payload == expect, got.consumed, got.done), (true, body.len(), true));
    }

    #[test]
    fn errors_display_a_message() {
        for e in
            [ChunkError::BadSize, ChunkError::BadFraming, ChunkError::ExtensionTooLong, ChunkError::TrailersTooLong]
        {
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn trailers_are_kept_and_written_back() {
        let mut t = Headers::new();
        t.set("X-Backend-Etag", "abc");
        t.set("X-Backend-Crc32c", "0000beef");
        let mut body = Vec::new();
        write_chunk(&mut body, b"hello");
        last_chunk_with(&t, &mut body);
        for cuts in [&[][..], &[3, 9, 14, 20, 30]] {
            let mut dec = ChunkedDecoder::new();
            let mut pending = Vec::new();
            let mut pieces = cuts.iter().copied().chain([body.len()]).scan(0, |start, end| {
                let p = body[*start..end].to_vec();
                *start = end;
                Some(p)
            });
            let mut payload = Vec::new();
            while !dec.is_done() {
                let step = dec.decode(&pending).unwrap();
                payload.extend_from_slice(&pending[step.data.clone()]);
                pending.drain(..step.consumed);
                if step.consumed == 0 {
                    pending.extend(pieces.next().unwrap());
                }
            }
            assert_eq!(payload, b"hello");
            let got = dec.trailers();
            assert_eq!(got.get("x-backend-etag"), Some("abc"));
            assert_eq!(got.get("X-Backend-Crc32c"), Some("0000beef"));
        }
        // No trailers, or not done yet: none.
        let mut dec = ChunkedDecoder::new();
        dec.decode(b"0\r\n\r\n").unwrap();
        assert!(dec.trailers().get("x").is_none() && dec.trailers().iter().next().is_none());
        let mut dec = ChunkedDecoder::new();
        dec.decode(b"0\r\nX-A: b\r\n").unwrap();
        assert!(dec.trailers().iter().next().is_none());
    }

    #[test]
    fn payload_read_outside_the_decoder_is_accounted() {
        let mut dec = ChunkedDecoder::new();
        let step = dec.decode(b"10\r\n").unwrap();
        assert_eq!((step.consumed, step.data.len()), (4, 0));
        assert_eq!(dec.data_left(), Some(16));
        dec.took_data(10);
        assert_eq!(dec.data_left(), Some(6));
        dec.took_data(6);
        assert_eq!(dec.data_left(), None);
        let step = dec.decode(b"\r\n0\r\n\r\n").unwrap();
        assert!(step.done && step.data.is_empty());
        // Outside chunk data there is nothing to take.
        assert_eq!(ChunkedDecoder::new().data_left(), None);
    }
}
