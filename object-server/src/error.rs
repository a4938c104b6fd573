//! The one error type of the object server, and its one mapping to an HTTP
//! status ([`Error::status`]).
//!
//! Handlers return `Result<(), Error>` and use `?` freely: every failure
//! that is an answer (400, 404, 409, 412, 416, 422, 499, 507...) is a
//! variant here, and `server.rs` turns it into the response, with the
//! extra headers Swift sends (`X-Backend-Timestamp`, `Content-Range`).

use crate::timestamp::Timestamp;
use common::ConfigError;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the object server.
#[derive(Debug)]
pub enum Error {
    /// A config value is missing or malformed (startup only).
    Config(ConfigError),
    /// A file the process needs at startup cannot be read.
    Startup { path: PathBuf, reason: String },
    /// The request is malformed (bad path, header, timestamp...): 400.
    BadRequest(String),
    /// No object (404); the tombstone's timestamp if it was deleted.
    NotFound(Option<Timestamp>),
    /// The method is not served on this path: 405.
    MethodNotAllowed,
    /// Neither `Content-Length` nor chunked on a PUT: 411.
    LengthRequired,
    /// A body over `max_file_size`, declared or as it arrives: 413.
    TooLarge(u64),
    /// A newer or equal timestamp is already stored: 409.
    Conflict(Timestamp),
    /// `If-Match`, `If-Unmodified-Since` or `If-None-Match: *` failed: 412.
    PreconditionFailed,
    /// No requested range overlaps the object of this length: 416.
    RangeNotSatisfiable(u64),
    /// The client's `ETag` does not match the body: 422.
    Unprocessable(String),
    /// The client stopped sending the body for `client_timeout`: 408.
    ClientTimeout,
    /// The client went away or sent less than it announced: 499.
    ClientDisconnect(String),
    /// The device is not mounted or is full: 507.
    InsufficientStorage(String),
    /// Not implemented (yet): 501.
    NotImplemented(String),
    /// A disk or other local failure: 500.
    Io { what: String, source: io::Error },
}

impl Error {
    /// Wraps a local I/O failure, saying what was being done.
    pub fn io(what: impl Into<String>, source: io::Error) -> Error {
        Error::Io { what: what.into(), source }
    }

    pub fn bad_request(why: impl Into<String>) -> Error {
        Error::BadRequest(why.into())
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed => 405,
            Error::ClientTimeout => 408,
            Error::Conflict(_) => 409,
            Error::LengthRequired => 411,
            Error::TooLarge(_) => 413,
            Error::PreconditionFailed => 412,
            Error::RangeNotSatisfiable(_) => 416,
            Error::Unprocessable(_) => 422,
            Error::ClientDisconnect(_) => 499,
            Error::NotImplemented(_) => 501,
            Error::InsufficientStorage(_) => 507,
            Error::Config(_) | Error::Startup { .. } | Error::Io { .. } => 500,
        }
    }

    /// Headers Swift sends with this status.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::NotFound(Some(ts)) | Error::Conflict(ts) => vec![("X-Backend-Timestamp", ts.internal())],
            Error::RangeNotSatisfiable(len) => vec![("Content-Range", format!("bytes */{len}"))],
            _ => Vec::new(),
        }
    }

    /// True for a failure of this node (worth an error log line), false
    /// for an answer about the request.
    pub fn is_server_fault(&self) -> bool {
        self.status() >= 500 && self.status() != 507 && self.status() != 501
    }

    /// Classifies an error from reading the request body (see the http
    /// crate: `TimedOut` for a stalled client, `UnexpectedEof` and resets
    /// for a client that went away, `InvalidData` for bad framing).
    pub fn from_body_read(e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::TimedOut => Error::ClientTimeout,
            io::ErrorKind::InvalidData => Error::BadRequest(format!("bad request body: {e}")),
            _ => Error::ClientDisconnect(e.to_string()),
        }
    }

    /// Classifies an error from writing to the disk: a full disk (or
    /// quota) is 507, anything else 500.
    pub fn from_disk_write(what: &str, e: io::Error) -> Error {
        if is_no_space(&e) {
            Error::InsufficientStorage(format!("{what}: {e}"))
        } else {
            Error::io(what, e)
        }
    }
}

/// ENOSPC or EDQUOT.
pub fn is_no_space(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(28) | Some(122)) || e.kind() == io::ErrorKind::StorageFull
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "{e}"),
            Error::Startup { path, reason } => write!(f, "{}: {reason}", path.display()),
            Error::BadRequest(why) => write!(f, "{why}"),
            Error::NotFound(_) => write!(f, "not found"),
            Error::MethodNotAllowed => write!(f, "method not allowed"),
            Error::LengthRequired => write!(f, "Content-Length or Transfer-Encoding: chunked required"),
            Error::TooLarge(max) => write!(f, "Your request is too large (max {max})."),
            Error::Conflict(ts) => write!(f, "a newer or equal timestamp {} is stored", ts.internal()),
            Error::PreconditionFailed => write!(f, "precondition failed"),
            Error::RangeNotSatisfiable(len) => write!(f, "no range overlaps the {len} bytes of the object"),
            Error::Unprocessable(why) => write!(f, "{why}"),
            Error::ClientTimeout => write!(f, "client read timed out"),
            Error::ClientDisconnect(why) => write!(f, "client disconnected: {why}"),
            Error::InsufficientStorage(why) => write!(f, "insufficient storage: {why}"),
            Error::NotImplemented(what) => write!(f, "not implemented: {what}"),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_swift() {
        assert_eq!(Error::NotFound(None).status(), 404);
        assert_eq!(Error::ClientDisconnect("x".into()).status(), 499);
        assert_eq!(Error::InsufficientStorage("full".into()).status(), 507);
        assert_eq!(Error::RangeNotSatisfiable(10).headers(), vec![("Content-Range", "bytes */10".to_string())]);
    }

    #[test]
    fn enospc_is_insufficient_storage() {
        let e = Error::from_disk_write("write", io::Error::from_raw_os_error(28));
        assert_eq!(e.status(), 507);
        let e = Error::from_disk_write("write", io::Error::from_raw_os_error(5));
        assert_eq!(e.status(), 500);
    }

    #[test]
    fn body_read_errors_map_to_408_499_400() {
        assert_eq!(Error::from_body_read(io::ErrorKind::TimedOut.into()).status(), 408);
        assert_eq!(Error::from_body_read(io::ErrorKind::UnexpectedEof.into()).status(), 499);
        assert_eq!(Error::from_body_read(io::ErrorKind::InvalidData.into()).status(), 400);
    }
}
