//! The crate's one error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything a broker call can fail with. The HTTP layer maps these to
/// status codes in one place (see the container and account handlers).
#[derive(Debug)]
pub enum Error {
    /// The database file does not exist (not created yet, or quarantined
    /// by an earlier call).
    NotFound,
    /// Another process holds the write lock (`SQLITE_BUSY`/`SQLITE_LOCKED`).
    /// Retry after a short sleep (`hub::sleep`, never a blocking wait).
    Busy,
    /// The database was corrupt or unreadable and has been moved to
    /// `quarantined/`; the caller should report it and answer as if it
    /// were missing (replication restores a good copy).
    Quarantined { reason: String, to: PathBuf },
    /// A value that came from a client or a peer is not acceptable
    /// (timestamp, metadata JSON, listing parameter).
    Invalid(String),
    /// SQLite failed for another reason (full disk, I/O).
    Sqlite(rusqlite::Error),
    /// A filesystem call failed (create, rename, fsync, quarantine).
    Io(io::Error),
    /// A batched write failed for another caller's reason; the text is
    /// the original error (errors are not `Clone`).
    Batch(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// True for errors that may go away by retrying a little later.
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Busy)
    }

    /// True when the disk is full (`SQLITE_FULL`, `ENOSPC`): 507.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Sqlite(e) => e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::DiskFull),
            Error::Io(e) => matches!(e.raw_os_error(), Some(28) | Some(122)),
            _ => false,
        }
    }

    /// Copies an error for the other members of a failed write batch.
    pub(crate) fn for_batch(&self) -> Error {
        match self {
            Error::NotFound => Error::NotFound,
            Error::Busy => Error::Busy,
            Error::Invalid(s) => Error::Invalid(s.clone()),
            Error::Quarantined { reason, to } => Error::Quarantined { reason: reason.clone(), to: to.clone() },
            other => Error::Batch(other.to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound => write!(f, "database not found"),
            Error::Busy => write!(f, "database is locked"),
            Error::Quarantined { reason, to } => write!(f, "database quarantined to {} ({reason})", to.display()),
            Error::Invalid(s) => write!(f, "invalid value: {s}"),
            Error::Sqlite(e) => write!(f, "sqlite: {e}"),
            Error::Io(e) => write!(f, "io: {e}"),
            Error::Batch(s) => write!(f, "batched write failed: {s}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sqlite(e) => Some(e),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => Error::Busy,
            _ => Error::Sqlite(e),
        }
    }
}

/// Why an SQLite error means the file itself is bad (Swift's DB auditor
/// quarantines on "malformed", "not a database", I/O errors and a missing
/// schema), or `None` for an ordinary failure.
pub(crate) fn corruption_reason(e: &Error) -> Option<String> {
    use rusqlite::ffi::ErrorCode;
    let Error::Sqlite(se) = e else { return None };
    match se.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) => Some("malformed".into()),
        Some(ErrorCode::NotADatabase) => Some("not a database".into()),
        Some(ErrorCode::SystemIoFailure) => Some("disk I/O error".into()),
        _ => {
            let s = se.to_string();
            if s.contains("no such table") || s.contains("no such column") {
                Some(format!("missing schema: {s}"))
            } else if matches!(se, rusqlite::Error::QueryReturnedNoRows) {
                Some("missing info row".into())
            } else {
                None
            }
        }
    }
}

impl From<common::timestamp::BadTimestamp> for Error {
    fn from(e: common::timestamp::BadTimestamp) -> Error {
        Error::Invalid(e.to_string())
    }
}
