//! The access log (Swift's `proxy-logging` middleware): one line per
//! request on stdout, in Swift's field order. Messages go to stderr
//! through [`crate::log`].
//!
//! ```text
//! {client_ip} {remote_addr} {datetime} {method} {path} {protocol} {status} {referer}
//!   {user_agent} {auth_token} {bytes_recvd} {bytes_sent} {client_etag} {txn_id}
//!   {headers} {request_time} {source} {log_info} {start_time} {end_time} {policy_index}
//! ```
//!
//! Tokens are cut to 16 characters and followed by `...` (Swift's
//! `reveal_sensitive_prefix`); empty fields are `-`; spaces and quotes in
//! values are %-escaped so a line always splits on spaces.

use common::date::Civil;
use http::AccessRecord;
use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Shown of a token in the log.
pub const REVEAL_SENSITIVE_PREFIX: usize = 16;

/// Appends a field: `-` when empty, spaces, quotes and control
/// characters %-escaped.
fn push_field(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) if !s.is_empty() => {
            for c in s.chars() {
                match c {
                    ' ' => out.push_str("%20"),
                    '"' => out.push_str("%22"),
                    c if c.is_control() => {
                        let _ = write!(out, "%{:02X}", c as u32 & 0xff);
                    }
                    c => out.push(c),
                }
            }
        }
        _ => out.push('-'),
    }
}

/// Appends a token cut to [`REVEAL_SENSITIVE_PREFIX`] characters.
fn push_token(out: &mut String, v: Option<&str>) {
    match v {
        Some(t) if t.len() > REVEAL_SENSITIVE_PREFIX => {
            let cut = (0..=REVEAL_SENSITIVE_PREFIX).rev().find(|&i| t.is_char_boundary(i)).unwrap_or(0);
            push_field(out, Some(&t[..cut]));
            out.push_str("...");
        }
        other => push_field(out, other),
    }
}

/// Appends a byte count, `-` for none.
fn push_count(out: &mut String, n: u64) {
    if n > 0 {
        let _ = write!(out, "{n}");
    } else {
        out.push('-');
    }
}

/// Appends a time in seconds with `decimals` digits (rounded), from
/// integers: no float formatting per request.
fn push_secs(out: &mut String, d: Duration, decimals: u32) {
    let unit = 10u128.pow(9 - decimals);
    let scaled = (d.as_nanos() + unit / 2) / unit;
    let one = 10u128.pow(decimals);
    let _ = write!(out, "{}.{:0width$}", scaled / one, scaled % one, width = decimals as usize);
}

/// Swift's `%d/%b/%Y/%H/%M/%S` in UTC.
pub fn log_datetime(secs: u64) -> String {
    let t = Civil::from_secs(secs);
    format!("{:02}/{}/{}/{:02}/{:02}/{:02}", t.day, t.month_name(), t.year, t.hour, t.minute, t.second)
}

/// The access line of a request ended at `end` (since the Unix epoch),
/// built in one string.
pub fn access_line(rec: &AccessRecord<'_>, end: Duration) -> String {
    let h = rec.headers;
    let path = rec.target.split('?').next().unwrap_or("");
    let start = end.saturating_sub(rec.duration);
    let mut line = String::with_capacity(320);
    match h.get("X-Forwarded-For").and_then(|v| v.split(',').next()).map(str::trim) {
        Some(ip) => push_field(&mut line, Some(ip)),
        None => {
            let _ = write!(line, "{}", rec.peer.ip());
        }
    }
    let _ = write!(line, " {} {} ", rec.peer.ip(), log_datetime(end.as_secs()));
    push_field(&mut line, Some(rec.method));
    line.push(' ');
    push_field(&mut line, Some(path));
    let _ = write!(line, " HTTP/1.1 {} ", rec.status);
    push_field(&mut line, h.get("Referer"));
    line.push(' ');
    push_field(&mut line, h.get("User-Agent"));
    line.push(' ');
    push_token(&mut line, h.get("X-Auth-Token").or_else(|| h.get("X-Storage-Token")));
    line.push(' ');
    push_count(&mut line, rec.bytes_in);
    line.push(' ');
    push_count(&mut line, rec.bytes_out);
    line.push(' ');
    push_field(&mut line, h.get("ETag"));
    line.push(' ');
    push_field(&mut line, h.get("X-Trans-Id"));
    line.push_str(" - ");
    push_secs(&mut line, rec.duration, 4);
    line.push_str(" - - ");
    push_secs(&mut line, start, 9);
    line.push(' ');
    push_secs(&mut line, end, 9);
    line.push(' ');
    push_field(&mut line, h.get("X-Backend-Storage-Policy-Index"));
    line
}

pub fn access(rec: &AccessRecord<'_>) {
    let end = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut line = access_line(rec, end);
    line.push('\n');
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rounded_and_odd_values_escaped() {
        let secs = |d: Duration, n: u32| {
            let mut s = String::new();
            push_secs(&mut s, d, n);
            s
        };
        assert_eq!(secs(Duration::from_nanos(12_345_678), 4), "0.0123");
        assert_eq!(secs(Duration::from_nanos(999_960_000), 4), "1.0000");
        assert_eq!(secs(Duration::new(5, 7), 9), "5.000000007");
        let mut f = String::new();
        push_field(&mut f, Some("a b\"c\n"));
        push_field(&mut f, Some(""));
        push_token(&mut f, Some("ééééééééééé"));
        assert_eq!(f, "a%20b%22c%0A-éééééééé...");
    }
    use http::Headers;
    use std::time::{Duration, Instant};

    #[test]
    fn access_line_has_swifts_fields_and_hides_tokens() {
        let mut h = Headers::new();
        h.set("X-Trans-Id", "tx123");
        h.set("User-Agent", "curl/8 x");
        h.set("X-Auth-Token", "AUTH_tk0123456789abcdef0123456789");
        let rec = AccessRecord {
            peer: "127.0.0.1:5555".parse().unwrap(),
            method: "PUT",
            target: "/v1/AUTH_test/c/o?x=1",
            headers: &h,
            status: 201,
            bytes_in: 3,
            bytes_out: 0,
            started: Instant::now(),
            duration: Duration::from_millis(12),
        };
        let line = access_line(&rec, Duration::from_millis(784_111_777_500));
        assert!(line.starts_with("127.0.0.1 127.0.0.1 06/Nov/1994/08/49/37 PUT /v1/AUTH_test/c/o HTTP/1.1 201 - curl/8%20x AUTH_tk012345678... 3 - - tx123 - 0.0120 - - "), "{line}");
        assert!(!line.contains("abcdef0123"));
        assert!(line.ends_with(" tx123 - 0.0120 - - 784111777.488000000 784111777.500000000 -"), "{line}");
        assert_eq!(line.split(' ').count(), 21);
    }
}
