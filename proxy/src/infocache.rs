//! Container info kept for `recheck_container_existence` seconds, as
//! Swift's proxy keeps it in memcache: an object PUT (which must find its
//! container) and an ACL check then skip the container HEAD.
//!
//! One cache per proxy process, shared by its worker hubs. A container
//! PUT, POST or DELETE through this process drops the entry when it
//! completes. A lookup that started before such a drop never stores what
//! it read ([`InfoCache::epoch`]), so an ACL change is seen at once by the
//! next request to this process. Another proxy process sees it within
//! `recheck_container_existence` (Swift's proxies share one memcache;
//! swiftlet's do not). Only answers of an existing container are kept: a
//! new container is found at once, as in Swift (which also keeps 404s
//! for a tenth of the time).

use crate::controller::ContainerInfo;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most containers kept; past it, expired entries go, then all.
const MAX_ENTRIES: usize = 10_000;

type Key = (String, String);

pub struct InfoCache {
    ttl: Duration,
    /// Bumped by every drop: a lookup stores its answer only if no drop
    /// happened since it started.
    epoch: AtomicU64,
    map: Mutex<HashMap<Key, (Arc<ContainerInfo>, Instant)>>,
}

impl InfoCache {
    /// `ttl` zero: nothing is kept.
    pub fn new(ttl: Duration) -> InfoCache {
        InfoCache { ttl, epoch: AtomicU64::new(0), map: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, (Arc<ContainerInfo>, Instant)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where a lookup starts: pass it to [`InfoCache::store`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The cached info of a container, if fresh.
    pub fn get(&self, account: &str, container: &str) -> Option<Arc<ContainerInfo>> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.lock();
        let (info, at) = map.get(&(account.to_string(), container.to_string()))?;
        (at.elapsed() < self.ttl).then(|| info.clone())
    }

    /// Keeps `info` (read by a lookup that started at `epoch`) unless the
    /// container is not there or a drop happened since.
    pub fn store(&self, account: &str, container: &str, info: &Arc<ContainerInfo>, epoch: u64) {
        if self.ttl.is_zero() || info.status / 100 != 2 {
            return;
        }
        let mut map = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert((account.to_string(), container.to_string()), (info.clone(), Instant::now()));
    }

    /// Forgets a container (after a PUT, POST or DELETE of it).
    pub fn drop_container(&self, account: &str, container: &str) {
        let mut map = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        map.remove(&(account.to_string(), container.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{call, FakeObject, FakeReq, Fakes, Store};

    #[test]
    fn the_proxy_heads_a_container_once_until_it_changes_it() {
        let mut s = Store { page: 100, ..Store::default() };
        s.objects.insert("/AUTH_test/c/o".into(), FakeObject::new(b"body", "1700000000.00000"));
        s.container_headers.insert("/AUTH_test/c".into(), vec![("X-Container-Read".into(), "test:tester3".into())]);
        let store = std::sync::Arc::new(Mutex::new(s));
        let st = store.clone();
        let f = Fakes::start("infocache", 4, "", Arc::new(move |r: &FakeReq| st.lock().unwrap().answer(r)));
        let (owner, reader) = (f.token("tester"), f.token("tester3"));
        let heads = || f.seen().iter().filter(|r| r.method == "HEAD" && r.path == "/AUTH_test/c").count();
        let get = || call(&f.ctx, "GET", "/v1/AUTH_test/c/o", &[("X-Auth-Token", &reader)]).status;
        assert_eq!(get(), 200, "the read ACL lets tester3 in");
        assert_eq!(heads(), 1);
        assert_eq!(get(), 200);
        assert_eq!(heads(), 1, "the second read used the cached ACL");
        // The ACL changes behind this proxy's back: kept until it expires.
        store.lock().unwrap().container_headers.clear();
        assert_eq!(get(), 200);
        // A POST through this proxy drops the entry: the change is seen at once.
        let post = call(&f.ctx, "POST", "/v1/AUTH_test/c", &[("X-Auth-Token", &owner), ("X-Container-Read", "")]);
        assert_eq!(post.status / 100, 2);
        assert_eq!(get(), 403);
        assert_eq!(heads(), 2);
    }

    fn info(status: u16, read: &str) -> Arc<ContainerInfo> {
        Arc::new(ContainerInfo { status, read_acl: Some(read.into()), ..ContainerInfo::default() })
    }

    #[test]
    fn fresh_existing_containers_are_kept_until_dropped() {
        let c = InfoCache::new(Duration::from_secs(60));
        let e = c.epoch();
        c.store("a", "c", &info(204, ".r:*"), e);
        c.store("a", "gone", &info(404, ""), e);
        assert_eq!(c.get("a", "c").unwrap().read_acl.as_deref(), Some(".r:*"));
        assert!(c.get("a", "gone").is_none(), "a missing container is asked again");
        assert!(c.get("b", "c").is_none());
        c.drop_container("a", "c");
        assert!(c.get("a", "c").is_none());
    }

    #[test]
    fn a_lookup_that_started_before_a_drop_is_not_kept() {
        let c = InfoCache::new(Duration::from_secs(60));
        let before = c.epoch();
        c.drop_container("a", "c");
        c.store("a", "c", &info(204, "old"), before);
        assert!(c.get("a", "c").is_none());
        c.store("a", "c", &info(204, "new"), c.epoch());
        assert_eq!(c.get("a", "c").unwrap().read_acl.as_deref(), Some("new"));
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let c = InfoCache::new(Duration::from_millis(20));
        c.store("a", "c", &info(200, ""), c.epoch());
        assert!(c.get("a", "c").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(c.get("a", "c").is_none());
        let off = InfoCache::new(Duration::ZERO);
        off.store("a", "c", &info(200, ""), off.epoch());
        assert!(off.get("a", "c").is_none());
    }
}
