//! The middleware (Swift's `common/middleware/`).

pub mod acl;
pub mod copy;
pub mod dlo;
pub mod proxy_logging;
pub mod symlink;
pub mod tempauth;
pub mod tempurl;
