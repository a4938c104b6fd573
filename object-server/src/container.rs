//! Container backend requests (`/{device}/{partition}/{account}/{container}`),
//! including the object rows the object server sends after each write.
//!
//! Placeholder: answers 501 until the container server lands. The engineer
//! building `swiftlet-db` replaces this file and owns it from then on; see
//! `context.rs` for what a handler gets.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::path::BackendPath;
use http::{Request, Response};

/// Handles a request on a container path (or a container's object row:
/// see `container_update.rs` for what the object server sends). Not
/// implemented yet: 501.
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let _ = (ctx, resp, path);
    Err(Error::NotImplemented(format!("container {} requests", req.method())))
}
