//! Account backend requests (`/{device}/{partition}/{account}`).
//!
//! Placeholder: answers 501 until the account server lands. The engineer
//! building `swiftlet-db` replaces this file and owns it from then on; see
//! `context.rs` for what a handler gets.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::path::BackendPath;
use http::{Request, Response};

/// Handles a request on an account path. Not implemented yet: 501.
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>, path: &BackendPath) -> Result<()> {
    let _ = (ctx, resp, path);
    Err(Error::NotImplemented(format!("account {} requests", req.method())))
}
