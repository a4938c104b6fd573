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
//! swiftlet's do not). As in Swift, an existing container is kept for the
//! whole time and a missing one (404) for a tenth of it, so requests for
//! a container that is not there (anonymous ones, TempURLs) do not cost
//! a HEAD of every node each; a failed lookup (503) is not kept.
//!
//! Accounts have a cache of their own
//! ([`App::account_cache`](crate::app::App::account_cache),
//! `recheck_account_existence`), keyed by the account with an empty
//! container name, dropped by the account writes of this process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most containers kept; past it, expired entries go, then all.
const MAX_ENTRIES: usize = 10_000;

type Key = (String, String);

/// What a lookup read: a HEAD's status and the headers the proxy uses
/// (ACLs, CORS, TempURL keys), Swift's `container_info` / `account_info`.
#[derive(Debug, Default, Clone)]
pub struct Info {
    pub status: u16,
    /// The headers of a 2xx answer that the proxy reads (see [`Info::new`]).
    pub headers: http::Headers,
}

impl Info {
    /// Keeps only what the proxy reads of an answer, so an entry stays
    /// small whatever metadata the container or account carries.
    pub fn new(status: u16, answer: &http::Headers) -> Info {
        let mut headers = http::Headers::new();
        if status / 100 == 2 {
            for (k, v) in answer.iter() {
                let lower = k.to_ascii_lowercase();
                let used = matches!(lower.as_str(), "x-container-read" | "x-container-write")
                    || lower.contains("-meta-access-control-")
                    || lower.contains("-meta-temp-url-key")
                    || lower.eq_ignore_ascii_case(crate::middleware::acl::ACCOUNT_ACL_SYSMETA);
                if used {
                    headers.set(k, v);
                }
            }
        }
        Info { status, headers }
    }
}

pub struct InfoCache {
    ttl: Duration,
    /// Bumped by every drop of a key hashed to the slot: a lookup stores
    /// its answer only if no drop of its slot happened since it started.
    /// Slots rather than one counter, so a tenant writing one container
    /// without a pause does not keep every other lookup from being kept.
    epochs: [AtomicU64; EPOCH_SLOTS],
    map: Mutex<Maps>,
}

/// Slots of [`InfoCache::epochs`].
const EPOCH_SLOTS: usize = 64;

fn slot(key: &Key) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % EPOCH_SLOTS as u64) as usize
}

#[derive(Default)]
struct Maps {
    /// Each entry with the instant it expires.
    info: HashMap<Key, (Arc<Info>, Instant)>,
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
        self.cache.epochs[slot(&self.key)].fetch_add(1, Ordering::AcqRel);
    }
}

impl InfoCache {
    /// `ttl` zero: nothing is kept.
    pub fn new(ttl: Duration) -> InfoCache {
        InfoCache { ttl, epochs: std::array::from_fn(|_| AtomicU64::new(0)), map: Mutex::new(Maps::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where a lookup of the container starts: pass it to
    /// [`InfoCache::store`].
    pub fn epoch(&self, account: &str, container: &str) -> u64 {
        self.epochs[slot(&(account.to_string(), container.to_string()))].load(Ordering::Acquire)
    }

    /// The cached info of a container, if fresh.
    pub fn get(&self, account: &str, container: &str) -> Option<Arc<Info>> {
        if self.ttl.is_zero() {
            return None;
        }
        let maps = self.lock();
        let (info, expires) = maps.info.get(&(account.to_string(), container.to_string()))?;
        (Instant::now() < *expires).then(|| info.clone())
    }

    /// Keeps `info` (read by a lookup that started at `epoch`) unless a
    /// drop happened since: a 2xx for the whole time, a 404 for a tenth of
    /// it, anything else not at all.
    pub fn store(&self, account: &str, container: &str, info: &Arc<Info>, epoch: u64) {
        let ttl = match info.status {
            200..=299 => self.ttl,
            404 => self.ttl / 10,
            _ => return,
        };
        if ttl.is_zero() {
            return;
        }
        let mut maps = self.lock();
        let key = (account.to_string(), container.to_string());
        if self.epochs[slot(&key)].load(Ordering::Acquire) != epoch || maps.writing.contains_key(&key) {
            return;
        }
        // Full: expired entries go; still full, misses go (anyone can make
        // them, asking for names that do not exist), then all.
        if maps.info.len() >= MAX_ENTRIES {
            let now = Instant::now();
            maps.info.retain(|_, (i, expires)| now < *expires && i.status / 100 == 2);
            if maps.info.len() >= MAX_ENTRIES {
                maps.info.clear();
            }
        }
        maps.info.insert(key, (info.clone(), Instant::now() + ttl));
    }

    /// A PUT, POST or DELETE of the container starts: its entry goes, and
    /// nothing is stored for it until the returned mark is dropped (when
    /// the last replica has answered), which drops the entry again.
    pub fn write_started(self: &Arc<Self>, account: &str, container: &str) -> WriteMark {
        let key = (account.to_string(), container.to_string());
        let mut maps = self.lock();
        *maps.writing.entry(key.clone()).or_insert(0) += 1;
        maps.info.remove(&key);
        self.epochs[slot(&key)].fetch_add(1, Ordering::AcqRel);
        WriteMark { cache: self.clone(), key }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{call, FakeObject, FakeReq, Fakes, Reply, Store};

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

    #[test]
    fn a_missing_container_costs_one_lookup_not_one_per_request() {
        let script = |r: &FakeReq| Reply::status(if r.method == "HEAD" && r.path == "/AUTH_test" { 204 } else { 404 });
        // Long enough that no entry expires during the test.
        let long = |c: &mut crate::config::Config| {
            c.recheck_container_existence = Duration::from_secs(3600);
            c.recheck_account_existence = Duration::from_secs(3600);
        };
        let f = Fakes::start_with("infocache-missing", 4, "", long, Arc::new(script));
        let heads = |p: &str| f.seen().iter().filter(|r| r.method == "HEAD" && r.path == p).count();
        let sig = "0".repeat(40);
        let temp_url = format!("/v1/AUTH_test/nope/o?temp_url_sig={sig}&temp_url_expires=9999999999");
        let round = || {
            // Anonymous (a container ACL lookup) and TempURL (the account's
            // and the container's keys) requests of a container not there.
            assert_eq!(call(&f.ctx, "GET", "/v1/AUTH_test/nope/o", &[]).status, 401);
            assert_eq!(call(&f.ctx, "GET", &temp_url, &[]).status, 401);
        };
        round();
        let (container, account) = (heads("/AUTH_test/nope"), heads("/AUTH_test"));
        assert!(container >= 3, "every node was asked once: {container}");
        assert_eq!(account, 1);
        for _ in 0..5 {
            round();
        }
        assert_eq!(heads("/AUTH_test/nope"), container, "the 404 was kept");
        assert_eq!(heads("/AUTH_test"), account, "the account's info was kept");
    }

    fn info(status: u16, read: &str) -> Arc<Info> {
        let mut headers = http::Headers::new();
        headers.set("X-Container-Read", read);
        Arc::new(Info { status, headers })
    }

    fn read_acl(c: &InfoCache, account: &str, container: &str) -> Option<String> {
        c.get(account, container)?.headers.get("X-Container-Read").map(String::from)
    }

    #[test]
    fn fresh_existing_containers_are_kept_until_dropped() {
        let c = Arc::new(InfoCache::new(Duration::from_secs(60)));
        let e = c.epoch("a", "c");
        c.store("a", "c", &info(204, ".r:*"), e);
        c.store("a", "gone", &info(404, ""), e);
        c.store("a", "failed", &info(503, ""), e);
        assert_eq!(read_acl(&c, "a", "c").as_deref(), Some(".r:*"));
        assert_eq!(c.get("a", "gone").unwrap().status, 404, "a missing container is kept a tenth of the time");
        assert!(c.get("a", "failed").is_none(), "a failed lookup is not kept");
        assert!(c.get("b", "c").is_none());
        drop(c.write_started("a", "c"));
        assert!(c.get("a", "c").is_none());
    }

    #[test]
    fn a_lookup_that_started_before_a_drop_is_not_kept() {
        let c = Arc::new(InfoCache::new(Duration::from_secs(60)));
        let before = c.epoch("a", "c");
        drop(c.write_started("a", "c"));
        c.store("a", "c", &info(204, "old"), before);
        assert!(c.get("a", "c").is_none());
        c.store("a", "c", &info(204, "new"), c.epoch("a", "c"));
        assert_eq!(read_acl(&c, "a", "c").as_deref(), Some("new"));
    }

    #[test]
    fn nothing_is_kept_while_a_write_of_the_container_is_in_flight() {
        let c = Arc::new(InfoCache::new(Duration::from_secs(60)));
        let mark = c.write_started("a", "c");
        let during = c.epoch("a", "c");
        // A lookup that starts and ends during the write (a slow replica
        // still holding the old ACL) is not kept.
        c.store("a", "c", &info(204, "old"), during);
        assert!(c.get("a", "c").is_none());
        c.store("a", "other", &info(204, "x"), c.epoch("a", "other"));
        assert!(c.get("a", "other").is_some(), "other containers are kept meanwhile");
        drop(mark);
        assert!(c.get("a", "c").is_none());
        c.store("a", "c", &info(204, "new"), c.epoch("a", "c"));
        assert_eq!(read_acl(&c, "a", "c").as_deref(), Some("new"));
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let c = InfoCache::new(Duration::from_millis(20));
        c.store("a", "c", &info(200, ""), c.epoch("a", "c"));
        assert!(c.get("a", "c").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(c.get("a", "c").is_none());
        let off = InfoCache::new(Duration::ZERO);
        off.store("a", "c", &info(200, ""), off.epoch("a", "c"));
        assert!(off.get("a", "c").is_none());
    }
}
