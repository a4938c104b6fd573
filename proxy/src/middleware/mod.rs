//! The middleware (Swift's `common/middleware/`): what Swift's pipeline
//! runs in front of the proxy app. Swiftlet runs them in code, in
//! Swift's order ([`crate::pipeline`]), not from `[pipeline:main]`.
//!
//! | module | Swift's | where it runs |
//! |---|---|---|
//! | [`healthcheck`] | `healthcheck` | `/healthcheck`, before anything else |
//! | [`proxy_logging`] | `proxy_logging` | the access line, from the http server's hook after each request |
//! | [`tempurl`] | `tempurl` | before the token: a valid temp URL becomes the request's identity |
//! | [`tempauth`], [`acl`] | `tempauth`, `acl` | `/auth/v1.0`, the token's identity, then `authorize` (called by the controllers, as Swift's `swift.authorize`) |
//! | [`copy`] | `copy` | `COPY` and `PUT` with `X-Copy-From`, in front of the object controller |
//! | [`dlo`] | `dlo` | called by the object controller on a manifest and a manifest PUT |
//! | [`symlink`] | `symlink` | called by the object controller on links and link PUTs |
//!
//! Swift's `gatekeeper` is the controllers' header filtering
//! (`controllers::base`), and CORS is in the controllers, as Swift's
//! (`controllers::cors`).
//!
//! Direction: middleware use the controllers ([`copy`] writes with the
//! object controller's `store`; [`dlo`] and [`symlink`] read objects
//! through `controllers::getter`). The controllers reach into this
//! folder only for what Swift's get from the WSGI environ (the caller's
//! identity and its `authorize`, ACL parsing: [`tempauth`], [`tempurl`],
//! [`acl`]) and, in the object controller, for the [`dlo`] and
//! [`symlink`] hooks (`controllers::obj` says where and why). Among
//! `obj`, `copy`, `dlo` and `symlink`, no module imports one that
//! imports it.

pub mod acl;
pub mod copy;
pub mod dlo;
pub mod healthcheck;
pub mod proxy_logging;
pub mod symlink;
pub mod tempauth;
pub mod tempurl;
