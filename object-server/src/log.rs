//! Logging: one access line per request on stdout in Swift's storage
//! server format, and errors/warnings/info on stderr, filtered by
//! `log_level`.
//!
//! Swift's format (`LOG_LINE_DEFAULT_FORMAT`):
//!
//! ```text
//! {remote_addr} - - [{d}/{b}/{Y}:{H}:{M}:{S} +0000] "{method} {path}" {status} {content_length}
//!   "{referer}" "{txn_id}" "{user_agent}" {trans_time:.4f} "{additional_info}" {pid} {policy_index}
//! ```

use common::date::Civil;
use http::AccessRecord;
use std::fmt::Write as _;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

common::server_logger!("object-server");

/// Appends a header's value for the log, or `-`; quotes and line breaks
/// become `_`.
fn push_or_dash(line: &mut String, v: Option<&str>) {
    match v {
        Some(s) if !s.is_empty() => {
            line.extend(s.chars().map(|c| if matches!(c, '"' | '\n' | '\r') { '_' } else { c }))
        }
        _ => line.push('-'),
    }
}

/// Formats one access line (without the newline) at `now_secs`, in one
/// allocation.
pub fn access_line(rec: &AccessRecord<'_>, now_secs: u64) -> String {
    let t = Civil::from_secs(now_secs);
    let path = rec.target.split('?').next().unwrap_or("");
    let mut line = String::with_capacity(200 + path.len());
    let _ = write!(
        line,
        "{} - - [{:02}/{}/{}:{:02}:{:02}:{:02} +0000] \"{} {}\" {} ",
        rec.peer.ip(),
        t.day,
        t.month_name(),
        t.year,
        t.hour,
        t.minute,
        t.second,
        rec.method,
        path,
        rec.status,
    );
    if rec.bytes_out > 0 {
        let _ = write!(line, "{}", rec.bytes_out);
    } else {
        line.push('-');
    }
    for name in ["Referer", "X-Trans-Id", "User-Agent"] {
        line.push_str(" \"");
        push_or_dash(&mut line, rec.headers.get(name));
        line.push('"');
    }
    let _ = write!(line, " {:.4} \"-\" {} ", rec.duration.as_secs_f64(), swiftlet_server::pid());
    push_or_dash(&mut line, rec.headers.get("X-Backend-Storage-Policy-Index"));
    line
}

/// Writes the access line of a request to stdout.
pub fn access(rec: &AccessRecord<'_>) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let _ = writeln!(std::io::stdout().lock(), "{}", access_line(rec, now));
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Headers;
    use std::time::{Duration, Instant};

    #[test]
    fn access_line_has_swifts_fields() {
        let mut h = Headers::new();
        h.set("X-Trans-Id", "tx123");
        h.set("User-Agent", "proxy-server 42");
        let rec = AccessRecord {
            peer: "127.0.0.1:5555".parse().unwrap(),
            method: "PUT",
            target: "/sda/1/a/c/o?x=1",
            headers: &h,
            status: 201,
            bytes_in: 3,
            bytes_out: 0,
            started: Instant::now(),
            duration: Duration::from_millis(12),
        };
        let line = access_line(&rec, 784111777);
        let expected = format!(
            "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"PUT /sda/1/a/c/o\" 201 - \"-\" \"tx123\" \
             \"proxy-server 42\" 0.0120 \"-\" {} -",
            std::process::id()
        );
        assert_eq!(line, expected);
    }
}
