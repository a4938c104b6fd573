//! The controllers (Swift's `proxy/controllers/`): what the proxy does
//! with an account, container or object request once the middleware
//! have let it through, and how it asks the storage nodes.
//!
//! | module | Swift's | what |
//! |---|---|---|
//! | [`base`] | `base.py` | [`base::Resource`] (what a request acts on), header filtering, container and account info, authorization, the error answer |
//! | [`backend`] | `base.py`, `server.py` | node order with handoffs, per-worker error limiting, one backend request, `make_requests`, quorum |
//! | [`account`], [`container`] | `account.py`, `container.py` | listings from the first replica that has them; writes to every replica |
//! | [`obj`] | `obj.py` | object GET/HEAD/PUT/POST/DELETE |
//! | [`getter`] | `GetOrHeadHandler` | reading an object from its nodes, resuming a broken body on the next |
//! | [`putter`] | `Putter` | the object PUT fan-out |
//! | [`cors`] | `base.py` (`cors_validation`, `OPTIONS`) | CORS preflights and answer headers |
//! | [`info`] | `info.py` | `/info` |
//!
//! Controllers use [`crate::app`] and each other, and from the middleware
//! only what the auth middleware leave on the request (the
//! [`base::Resource`]'s identity: TempAuth's `Identity`, which may carry
//! TempURL's grant; Swift's `REMOTE_USER` and `swift.authorize`), ACL
//! parsing, and, in the object controller, the DLO and symlink hooks
//! ([`obj`] says where and why).

pub mod account;
pub mod backend;
pub mod base;
pub mod container;
pub mod cors;
pub mod getter;
pub mod info;
pub mod obj;
pub mod putter;
