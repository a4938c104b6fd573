//! Request head, framing and chunked body, as a server reads them.
//!
//! Input: one seed byte (chooses the sizes of the pieces the body arrives
//! in), then the bytes of a request. Checks that nothing panics and that
//! the decoder keeps its contract whatever the pieces: it never consumes
//! more than it was given, hands out payload only from what it consumed,
//! always makes progress unless it needs more input, and decodes the same
//! payload as when given the body in one piece.
#![no_main]

use http::chunked::{ChunkError, ChunkedDecoder};
use http::head::{self, Framing, MAX_HEAD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&seed, request)) = input.split_first() else {
        return;
    };
    let (head, head_len) = match head::parse_request_head(request) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            assert!(request.len() <= MAX_HEAD, "buffered past MAX_HEAD");
            return;
        }
        Err(e) => {
            assert!(matches!(e.status(), 400 | 414 | 431 | 501));
            return;
        }
    };
    assert!(head_len > 0 && head_len <= request.len());
    // The head alone parses to the same thing: pipelined bytes do not matter.
    let again = head::parse_request_head(&request[..head_len]);
    assert_eq!(again, Ok(Some((head.clone(), head_len))));
    let _ = head::keep_alive(&head);
    let _ = head::expects_continue(&head);
    match head::request_framing(&head) {
        Ok(Framing::Chunked) => {}
        _ => return,
    }
    let body = &request[head_len..];
    let mut rng = u32::from(seed) | 0x100;
    let pieced = decode(body, || {
        // xorshift: piece sizes 1..=64, a different sequence per seed.
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        (rng % 64) as usize + 1
    });
    let whole = decode(body, || usize::MAX);
    assert_eq!(pieced, whole, "decoding depends on how the body arrives");
});

/// What a body reader ends with: the error if any, the payload, the bytes
/// consumed (0 after an error) and whether the body was done.
type Outcome = (Option<ChunkError>, Vec<u8>, usize, bool);

fn decode(body: &[u8], mut piece_len: impl FnMut() -> usize) -> Outcome {
    let mut decoder = ChunkedDecoder::new();
    let mut pending = Vec::new();
    let mut payload = Vec::new();
    let mut fed = 0;
    let mut consumed = 0;
    loop {
        let step = match decoder.decode(&pending) {
            Ok(step) => step,
            // How much of the failing call's framing was counted depends on
            // the pieces, so only the error and the payload are compared.
            Err(e) => return (Some(e), payload, 0, false),
        };
        assert!(step.consumed <= pending.len());
        assert!(step.data.start <= step.data.end);
        assert!(step.data.end <= step.consumed);
        assert_eq!(step.done, decoder.is_done());
        payload.extend_from_slice(&pending[step.data]);
        pending.drain(..step.consumed);
        consumed += step.consumed;
        if step.done {
            let after = decoder.decode(&pending).expect("decode after done");
            assert_eq!((after.consumed, after.done), (0, true));
            return (None, payload, consumed, true);
        }
        if step.consumed == 0 {
            assert!(pending.is_empty(), "no progress with input pending");
            if fed == body.len() {
                return (None, payload, consumed, false);
            }
            let n = piece_len().min(body.len() - fed);
            pending.extend_from_slice(&body[fed..fed + n]);
            fed += n;
        }
    }
}
