//! The one error type of the ring crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while hashing, loading, building or writing
/// a ring. Messages are written for operators: they name the file, device
/// or value at fault.
#[derive(Debug)]
pub enum Error {
    /// A file could not be read, written or renamed.
    Io { path: PathBuf, source: io::Error },
    /// `swift.conf` has neither `swift_hash_path_prefix` nor `_suffix`.
    MissingHashConf { path: PathBuf },
    /// A ring or builder file is not in our format or is corrupt.
    BadFile { path: PathBuf, reason: String },
    /// A name to hash is malformed (object without container, ...).
    BadName(String),
    /// A value given by the operator (add syntax, weight, search value...).
    BadValue(String),
    /// No device matches a search value or id.
    NoSuchDevice(String),
    /// The builder refused an operation (too few devices, part power...).
    Builder(String),
    /// `validate()` found a broken table.
    Invalid(String),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Error {
        Error::BadFile { path: path.into(), reason: reason.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {}", path.display(), source),
            Error::MissingHashConf { path } => write!(
                f,
                "[swift-hash]: both swift_hash_path_suffix and swift_hash_path_prefix are missing from {}",
                path.display()
            ),
            Error::BadFile { path, reason } => write!(f, "{}: {}", path.display(), reason),
            Error::BadName(m) => write!(f, "bad name: {m}"),
            Error::BadValue(m) => write!(f, "{m}"),
            Error::NoSuchDevice(m) => write!(f, "no such device: {m}"),
            Error::Builder(m) => write!(f, "{m}"),
            Error::Invalid(m) => write!(f, "ring validation failed: {m}"),
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

/// Result with the ring crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
