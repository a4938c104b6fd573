//! Logging: one access line per request on stdout in Swift's
//! proxy-logging format, and messages on stderr filtered by `log_level`.
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

use http::AccessRecord;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};
use swiftlet_server::config::LogLevel;
use swiftlet_server::date::Civil;
use swiftlet_server::Logger;

/// The proxy's stderr logger (`proxy-server: LEVEL: message`).
pub static LOG: Logger = Logger::new("proxy-server");

/// Shown of a token in the log.
pub const REVEAL_SENSITIVE_PREFIX: usize = 16;

/// Sets the level below which messages are dropped.
pub fn set_level(l: LogLevel) {
    LOG.set_level(l)
}

pub fn error(msg: &str) {
    LOG.error(msg)
}

pub fn warn(msg: &str) {
    LOG.warn(msg)
}

pub fn info(msg: &str) {
    LOG.info(msg)
}

fn field(v: Option<&str>) -> String {
    match v {
        Some(s) if !s.is_empty() => s
            .chars()
            .map(|c| match c {
                ' ' => "%20".to_string(),
                '"' => "%22".to_string(),
                c if c.is_control() => format!("%{:02X}", c as u32 & 0xff),
                c => c.to_string(),
            })
            .collect(),
        _ => "-".to_string(),
    }
}

fn token(v: Option<&str>) -> String {
    match v {
        Some(t) if t.len() > REVEAL_SENSITIVE_PREFIX => format!("{}...", &t[..REVEAL_SENSITIVE_PREFIX]),
        other => field(other),
    }
}

/// Swift's `%d/%b/%Y/%H/%M/%S` in UTC.
pub fn log_datetime(secs: u64) -> String {
    let t = Civil::from_secs(secs);
    format!("{:02}/{}/{}/{:02}/{:02}/{:02}", t.day, t.month_name(), t.year, t.hour, t.minute, t.second)
}

/// The access line of a request ended at `end` (unix seconds, float).
pub fn access_line(rec: &AccessRecord<'_>, end: f64) -> String {
    let h = rec.headers;
    let path = rec.target.split('?').next().unwrap_or("");
    let start = end - rec.duration.as_secs_f64();
    let client_ip = h.get("X-Forwarded-For").and_then(|v| v.split(',').next()).map(str::trim);
    format!(
        "{} {} {} {} {} HTTP/1.1 {} {} {} {} {} {} {} {} - {:.4} - - {:.9} {:.9} {}",
        field(client_ip.or(Some(&rec.peer.ip().to_string()))),
        rec.peer.ip(),
        log_datetime(end as u64),
        field(Some(rec.method)),
        field(Some(path)),
        rec.status,
        field(h.get("Referer")),
        field(h.get("User-Agent")),
        token(h.get("X-Auth-Token").or_else(|| h.get("X-Storage-Token"))),
        if rec.bytes_in > 0 { rec.bytes_in.to_string() } else { "-".into() },
        if rec.bytes_out > 0 { rec.bytes_out.to_string() } else { "-".into() },
        field(h.get("ETag")),
        field(h.get("X-Trans-Id")),
        rec.duration.as_secs_f64(),
        start,
        end,
        field(h.get("X-Backend-Storage-Policy-Index")),
    )
}

pub fn access(rec: &AccessRecord<'_>) {
    let end = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
    let _ = writeln!(std::io::stdout().lock(), "{}", access_line(rec, end));
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let line = access_line(&rec, 784111777.5);
        assert!(line.starts_with("127.0.0.1 127.0.0.1 06/Nov/1994/08/49/37 PUT /v1/AUTH_test/c/o HTTP/1.1 201 - curl/8%20x AUTH_tk012345678... 3 - - tx123 - 0.0120 - - "), "{line}");
        assert!(!line.contains("abcdef0123"));
        assert_eq!(line.split(' ').count(), 21);
    }
}
