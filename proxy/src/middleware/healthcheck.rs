//! `/healthcheck` (Swift's `healthcheck` middleware): `200 OK` while the
//! process serves, to any method, before any token is looked at. Not
//! done: Swift's `disable_path`.

use crate::error::{Error, Result};
use http::{Headers, Response};

/// Answers `/healthcheck`; `h` holds the transaction ids.
pub fn answer(resp: &mut Response<'_>, mut h: Headers) -> Result<()> {
    h.set("Content-Type", "text/plain");
    resp.send(200, &h, b"OK").map_err(|_| Error::ClientDisconnect)
}
