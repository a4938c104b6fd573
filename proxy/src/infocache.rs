//! Container info kept for `recheck_container_existence` seconds, as
//! Swift's proxy keeps it in memcache: an object PUT (which must find its
//! container) and an ACL check then skip the container HEAD.
//!
//! One cache per proxy process, shared by its worker hubs. A container
//! PUT, POST or DELETE through this process holds a [`WriteMark`] from
//! before its first backend request until its last replica has answered
//! (late ones included): while it is held nothing is stored for that
//! container, and it drops the entry when it is taken and when it ends. A
//! lookup that started before a drop never stores what it read
//! ([`InfoCache::epoch`]). So an ACL change is seen at once by the next
//! request to this process, even one that reads a slow replica. Another proxy process sees it within
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
    map: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    info: HashMap<Key, (Arc<ContainerInfo>, Instant)>,
    /// Container writes in flight, by container.
    writing: HashMap<Key, usize>,
}

/// A container write in flight ([`InfoCache::write_started`]); dropping
/// it ends the write.
pub struct WriteMark {
    cache: Arc<InfoCache>,
    key: Key,
}

impl Drop for WriteMark {
    fn drop(&mut self) {
        let mut maps = self.cache.lock();
        if let Some(n) = maps.writing.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                maps.writing.remove(&self.key);
            }
        }
        maps.info.remove(&self.key);
        self.cache.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

impl InfoCache {
    /// `ttl` zero: nothing is kept.
    pub fn new(ttl: Duration) -> InfoCache {
        InfoCache { ttl, epoch: AtomicU64::new(0), map: Mutex::new(Maps::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
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
        let maps = self.lock();
        let (info, at) = maps.info.get(&(account.to_string(), container.to_string()))?;
        (at.elapsed() < self.ttl).then(|| info.clone())
    }

    /// Keeps `info` (read by a lookup that started at `epoch`) unless the
    /// container is not there or a drop happened since.
    pub fn store(&self, account: &str, container: &str, info: &Arc<ContainerInfo>, epoch: u64) {
        if self.ttl.is_zero() || info.status / 100 != 2 {
            return;
        }
        let mut maps = self.lock();
        let key = (account.to_string(), container.to_string());
        if self.epoch.load(Ordering::Acquire) != epoch || maps.writing.contains_key(&key) {
            return;
        }
        if maps.info.len() >= MAX_ENTRIES {
            maps.info.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if maps.info.len() >= MAX_ENTRIES {
                maps.info.clear();
            }
        }
        maps.info.insert(key, (info.clone(), Instant::now()));
    }

    /// A PUT, POST or DELETE of the container starts: its entry goes, and
    /// nothing is stored for it until the returned mark is dropped (when
    /// the last replica has answered), which drops the entry again.
    pub fn write_started(self: &Arc<Self>, account: &str, container: &str) -> WriteMark {
        let key = (account.to_string(), container.to_string());
        let mut maps = self.lock();
        *maps.writing.entry(key.clone()).or_insert(0) += 1;
        maps.info.remove(&key);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        WriteMark { cache: self.clone(), key }
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
        let c = Arc::new(InfoCache::new(Duration::from_secs(60)));
        let e = c.epoch();
        c.store("a", "c", &info(204, ".r:*"), e);
        c.store("a", "gone", &info(404, ""), e);
        assert_eq!(c.get("a", "c").unwrap().read_acl.as_deref(), Some(".r:*"));
        assert!(c.get("a", "gone").is_none(), "a missing container is asked again");
        assert!(c.get("b", "c").is_none());
        drop(c.write_started("a", "c"));
        assert!(c.get("a", "c").is_none());
    }

    #[test]
    fn a_lookup_that_started_before_a_drop_is_not_kept() {
        let c = Arc::new(InfoCache::new(Duration::from_secs(60)));
        let before = c.epoch();
        drop(c.write_started("a", "c"));
        c.store("a", "c", &info(204, "old"), before);
        assert!(c.get("a", "c").is_none());
        c.store("a", "c", &info(204, "new"), c.epoch());
        assert_eq!(c.get("a", "c").unwrap().read_acl.as_deref(), Some("new"));
    }

    #[test]
    fn nothing_is_kept_while_a_write_of_the_container_is_in_flight() {
        let c = Arc::new(InfoCache::new(Duration::from_secs(60)));
        let mark = c.write_started("a", "c");
        let during = c.epoch();
        // A lookup that starts and ends during the write (a slow replica
        // still holding the old ACL) is not kept.
        c.store("a", "c", &info(204, "old"), during);
        assert!(c.get("a", "c").is_none());
        c.store("a", "other", &info(204, "x"), during);
        assert!(c.get("a", "other").is_some(), "other containers are kept");
        drop(mark);
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
