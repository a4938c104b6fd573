//! The proxy's one error type and its one mapping to an HTTP status.

use common::ConfigError;
use std::fmt;
use std::io;

pub type Result<T> = std::result::Result<T, Error>;

#[derive(Debug)]
pub enum Error {
    /// A bad value in a config file, naming its section and key.
    Config(ConfigError),
    /// The process cannot start (swift.conf, rings, port).
    Startup { what: String, reason: String },
    /// 400: a malformed request (bad ACL, bad header value, bad name).
    BadRequest(String),
    /// 401: no identity, or a bad token or key. `realm` is Swift's
    /// `Www-Authenticate` realm (the account, or `unknown`).
    Unauthorized { realm: String },
    /// 401 for a temp URL whose signature does not check out (Swift's
    /// tempurl answer, with its own body).
    TempUrlInvalid { realm: String },
    /// 403: an identity that may not do this.
    Forbidden,
    /// 404.
    NotFound,
    /// 405, with the methods allowed.
    MethodNotAllowed(&'static str),
    /// 409: a DLO whose first segment is gone or changed (the detail is
    /// for the log; the client gets swob's sentence).
    Conflict(String),
    /// 409 with its sentence as the body: a symlink chain too long, or a
    /// static link whose target changed ([`crate::middleware::symlink`]).
    LinkConflict(String),
    /// An error met after following a symlink: the same answer, with the
    /// link's target in `Content-Location` (%-encoded), as Swift's.
    Located { error: Box<Error>, location: String },
    /// 408: the client stalled longer than `client_timeout`.
    ClientTimeout,
    /// 411: a PUT with neither Content-Length nor chunked encoding.
    LengthRequired,
    /// 412: a listing limit over the maximum, bad UTF-8 in the path.
    PreconditionFailed(String),
    /// 413: over `max_file_size`.
    TooLarge(String),
    /// 499: the client went away (logged only).
    ClientDisconnect,
    /// 503: no quorum, no backend answered.
    Unavailable(String),
}

impl Error {
    /// The one mapping from an error to Swift's status.
    pub fn status(&self) -> u16 {
        match self {
            Error::Config(_) | Error::Startup { .. } => 500,
            Error::BadRequest(_) => 400,
            Error::Unauthorized { .. } | Error::TempUrlInvalid { .. } => 401,
            Error::Forbidden => 403,
            Error::NotFound => 404,
            Error::MethodNotAllowed(_) => 405,
            Error::ClientTimeout => 408,
            Error::Conflict(_) | Error::LinkConflict(_) => 409,
            Error::Located { error, .. } => error.status(),
            Error::LengthRequired => 411,
            Error::PreconditionFailed(_) => 412,
            Error::TooLarge(_) => 413,
            Error::ClientDisconnect => 499,
            Error::Unavailable(_) => 503,
        }
    }

    /// Extra response headers Swift sends with this error.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            // %-encoded as Swift: an account name cannot break the header.
            Error::Unauthorized { realm } | Error::TempUrlInvalid { realm } => {
                vec![("Www-Authenticate", format!("Swift realm=\"{}\"", common::percent::quote(realm)))]
            }
            Error::MethodNotAllowed(allow) => vec![("Allow", allow.to_string())],
            Error::Located { error, location } => {
                let mut h = error.headers();
                h.push(("Content-Location", location.clone()));
                h
            }
            _ => Vec::new(),
        }
    }

    pub fn bad_request(why: impl Into<String>) -> Error {
        Error::BadRequest(why.into())
    }

    /// Start-up failed: `what` (a file, an address) and why.
    pub fn startup(what: impl fmt::Display, reason: impl fmt::Display) -> Error {
        Error::Startup { what: what.to_string(), reason: reason.to_string() }
    }

    /// A client body read failed: its timeout is 408, anything else 499.
    pub fn client_read(e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::TimedOut => Error::ClientTimeout,
            io::ErrorKind::InvalidData => Error::BadRequest(e.to_string()),
            _ => Error::ClientDisconnect,
        }
    }
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
            Error::Startup { what, reason } => write!(f, "{what}: {reason}"),
            Error::BadRequest(why) => write!(f, "{why}"),
            Error::Unauthorized { .. } => write!(f, "Unauthorized. This server could not verify that you are authorized to access the document you requested."),
            Error::TempUrlInvalid { .. } => write!(f, "401 Unauthorized: Temp URL invalid"),
            Error::Forbidden => write!(f, "Access was denied to this resource."),
            Error::NotFound => write!(f, "The resource could not be found."),
            Error::MethodNotAllowed(_) => write!(f, "The method is not allowed for this resource."),
            Error::ClientTimeout => write!(f, "The client did not send the request body in time."),
            Error::Conflict(_) => write!(f, "There was a conflict when trying to complete your request."),
            Error::LinkConflict(why) => write!(f, "{why}"),
            Error::Located { error, .. } => write!(f, "{error}"),
            Error::LengthRequired => write!(f, "Missing Content-Length or Transfer-Encoding header."),
            Error::PreconditionFailed(why) => write!(f, "{why}"),
            Error::TooLarge(why) => write!(f, "{why}"),
            Error::ClientDisconnect => write!(f, "client disconnected"),
            Error::Unavailable(why) => write!(f, "Service Unavailable: {why}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms_are_quoted_so_an_account_cannot_break_the_header() {
        let e = Error::Unauthorized { realm: "AUTH_x\"\nY: z".into() };
        assert_eq!(e.headers(), vec![("Www-Authenticate", "Swift realm=\"AUTH_x%22%0AY%3A%20z\"".to_string())]);
    }
}
