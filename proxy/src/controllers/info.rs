//! `/info` (Swift's `proxy/controllers/info.py`): what the cluster can
//! do, as JSON, with no token needed: the `swift` section (constraints
//! and proxy settings) and a section for each middleware that registers
//! one (`tempauth`, `tempurl`, `symlink`).

use crate::app::App;
use crate::constraints::Checks;
use crate::error::{Error, Result};
use http::{Headers, Request, Response};

/// `GET` or `HEAD /info`; `h` holds the transaction ids.
pub fn handle(ctx: &App, req: &Request<'_>, resp: &mut Response<'_>, mut h: Headers) -> Result<()> {
    if !matches!(req.method(), "GET" | "HEAD") {
        return Err(Error::MethodNotAllowed("GET, HEAD"));
    }
    h.set("Content-Type", "application/json; charset=UTF-8");
    resp.send(200, &h, info(ctx).to_string().as_bytes()).map_err(|_| Error::ClientDisconnect)
}

/// `/info`: Swift's `swift` section (constraints and proxy settings),
/// `tempauth`, which has account ACLs (`X-Account-Access-Control`),
/// `tempurl` and `symlink`.
pub fn info(ctx: &App) -> serde_json::Value {
    let conf = ctx.conf();
    let mut swift = conf.constraints.info();
    swift["allow_account_management"] = conf.allow_account_management.into();
    swift["account_autocreate"] = conf.account_autocreate.into();
    let mut info = serde_json::json!({ "swift": swift, "tempauth": {"account_acls": true} });
    info["tempurl"] = conf.tempurl.info();
    info["symlink"] = serde_json::json!({"symloop_max": conf.symloop_max, "static_links": true});
    info
}
