//! Splitting a fuzz input into the strings a request would carry.

/// Splits `data` at NUL bytes into exactly `n` fields (missing ones are
/// empty, the last keeps any further NULs), each decoded as UTF-8 lossily:
/// invalid bytes become U+FFFD, a three-byte character, so multi-byte
/// characters land wherever the fuzzer puts bad bytes.
pub fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data.splitn(n, |b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    out.resize(n, String::new());
    out
}
