//! The proxy's state (Swift's proxy `Application`, which its controllers
//! reach as `self.app`): what every request handler reads, opened once at
//! start-up and shared by the workers.
//!
//! ```text
//! App (cheap to clone: one Arc)
//!  ├─ conf                      proxy-server.conf and swift.conf's constraints
//!  ├─ auth                      TempAuth: users, token signing (middleware/tempauth.rs)
//!  ├─ account_ring, container_ring, object_ring
//!  └─ container_cache, account_cache
//!                               container and account info (infocache.rs)
//! ```
//!
//! Handlers take it as `ctx: &App`. It is read-only: what changes per
//! request or per worker lives elsewhere (the info caches lock inside;
//! error limiting is per worker thread, in `controllers/backend.rs`,
//! which adds [`App::nodes`], [`App::read_nodes`], the `error_*` methods
//! and [`App::node_timing`]).

use crate::config::Config;
use crate::error::{Error, Result};
use crate::infocache::InfoCache;
use crate::middleware::tempauth::TempAuth;
use ring::{PathHasher, Ring};
use std::sync::Arc;

/// The proxy's state; see the module docs.
#[derive(Clone)]
pub struct App(Arc<State>);

struct State {
    conf: Config,
    auth: TempAuth,
    account_ring: Ring,
    container_ring: Ring,
    object_ring: Ring,
    containers: Arc<InfoCache>,
    accounts: Arc<InfoCache>,
}

impl App {
    /// Opens what `conf` names: swift.conf's hash secrets (the rings'
    /// hashing and TempAuth's token secret) and the three rings in
    /// `swift_dir`.
    pub fn open(conf: Config) -> Result<App> {
        let swift_conf = conf.server.swift_dir.join("swift.conf");
        let hasher =
            PathHasher::from_swift_dir(&conf.server.swift_dir).map_err(|e| Error::startup(swift_conf.display(), e))?;
        let ini = common::Ini::load(&swift_conf).map_err(|e| Error::startup(swift_conf.display(), e))?;
        let mut secret = ini.get("swift-hash", "swift_hash_path_prefix").unwrap_or_default().to_vec();
        secret.push(b'\n');
        secret.extend_from_slice(ini.get("swift-hash", "swift_hash_path_suffix").unwrap_or_default());
        let open = |name: &str| {
            let path = conf.server.swift_dir.join(format!("{name}.ring"));
            Ring::open(&path, hasher.clone()).map_err(|e| Error::startup(path.display(), e))
        };
        let (account_ring, container_ring, object_ring) = (open("account")?, open("container")?, open("object")?);
        let auth = TempAuth::new(conf.auth.clone(), &secret);
        let containers = Arc::new(InfoCache::new(conf.recheck_container_existence));
        let accounts = Arc::new(InfoCache::new(conf.recheck_account_existence));
        Ok(App(Arc::new(State { conf, auth, account_ring, container_ring, object_ring, containers, accounts })))
    }

    /// `proxy-server.conf`, with swift.conf's `[swift-constraints]`.
    pub fn conf(&self) -> &Config {
        &self.0.conf
    }

    /// TempAuth: users, tokens, authorization.
    pub fn auth(&self) -> &TempAuth {
        &self.0.auth
    }

    pub fn account_ring(&self) -> &Ring {
        &self.0.account_ring
    }

    pub fn container_ring(&self) -> &Ring {
        &self.0.container_ring
    }

    pub fn object_ring(&self) -> &Ring {
        &self.0.object_ring
    }

    /// Container info for `recheck_container_existence`.
    pub fn container_cache(&self) -> &Arc<InfoCache> {
        &self.0.containers
    }

    /// Account info for `recheck_account_existence`, keyed by the account
    /// and an empty container name.
    pub fn account_cache(&self) -> &Arc<InfoCache> {
        &self.0.accounts
    }
}
