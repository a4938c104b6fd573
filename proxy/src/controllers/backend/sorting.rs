//! The order a read tries a partition's primaries (Swift's `sort_nodes`,
//! `sorting_method`). Writes go to every primary and keep ring order.
//!
//! ```text
//! shuffle   random order, per request (Swift's default)
//! timing    fastest first, by each server's recent time to a first answer
//!           byte (a moving average, forgotten timing_expiry after its last
//!           sample); servers without one first
//! affinity  by read_affinity's priorities (r1z1=100, r1=200): lowest first
//! ```
//!
//! As Swift's, every method shuffles first and then sorts stably, so ties
//! (timings equal to the millisecond, equal priorities) are random. Then
//! error-limited primaries go after the healthy ones
//! ([`crate::app::App::read_nodes`]).
//!
//! What changes per request lives per worker thread, as Swift's per
//! process: the random state and the timings (no lock on the GET path).

use ring::Device;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `sorting_method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortingMethod {
    #[default]
    Shuffle,
    Timing,
    Affinity,
}

impl SortingMethod {
    /// Swift's names, any case.
    pub fn parse(v: &str) -> Option<SortingMethod> {
        match v.to_ascii_lowercase().as_str() {
            "shuffle" => Some(SortingMethod::Shuffle),
            "timing" => Some(SortingMethod::Timing),
            "affinity" => Some(SortingMethod::Affinity),
            _ => None,
        }
    }
}

/// The priority of a node no `read_affinity` rule matches (Swift's 2^32).
pub const NO_AFFINITY: u64 = 1 << 32;

/// `read_affinity`: Swift's `affinity_key_function`. `r1z1=100, r1=200`
/// gives region 1 zone 1 priority 100 and the rest of region 1 priority
/// 200; the lowest priority is read first, nodes no rule matches last.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadAffinity(Vec<AffinityRule>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct AffinityRule {
    region: u32,
    zone: Option<u32>,
    priority: u64,
}

impl ReadAffinity {
    /// Comma-separated `r<region>[z<zone>]=<priority>` (Swift's regex
    /// `r(\d+)(?:z(\d+))?=(\d+)$`); empty: every node alike.
    pub fn parse(v: &str) -> Option<ReadAffinity> {
        let v = v.trim();
        if v.is_empty() {
            return Some(ReadAffinity::default());
        }
        let digits = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
        };
        let mut rules = Vec::new();
        for piece in v.split(',').map(str::trim) {
            let (place, priority) = piece.strip_prefix('r')?.split_once('=')?;
            let (region, zone) = match place.split_once('z') {
                Some((r, z)) => (r, Some(u32::try_from(digits(z)?).ok()?)),
                None => (place, None),
            };
            let region = u32::try_from(digits(region)?).ok()?;
            rules.push(AffinityRule { region, zone, priority: digits(priority)? });
        }
        Some(ReadAffinity(rules))
    }

    /// The priority of the best rule matching `d`'s region (and zone).
    pub fn priority(&self, d: &Device) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        self.0
            .iter()
            .filter(|r| r.region == d.region && r.zone.is_none_or(|z| z == d.zone))
            .map(|r| r.priority)
            .min()
            .unwrap_or(NO_AFFINITY)
    }
}

/// How much a new sample moves a server's average: half.
const NEW_SAMPLE_WEIGHT: f64 = 0.5;

/// One server's timing: the moving average and when it is forgotten.
#[derive(Clone, Copy, Debug)]
struct Timing {
    average: Duration,
    expires: Instant,
}

thread_local! {
    /// Per worker: each object server's (ip and port's) recent time to a
    /// first answer byte.
    static TIMINGS: RefCell<HashMap<SocketAddr, Timing>> = RefCell::new(HashMap::new());
    /// Per worker: xorshift64* state, 0 until first used.
    static RANDOM: Cell<u64> = const { Cell::new(0) };
}

/// Records that `addr` took `took` to a first answer byte at `now`
/// (Swift's `set_node_timing`): averaged with its timing if it has one
/// that has not expired, which then lasts `expiry` from now.
pub fn record(addr: SocketAddr, took: Duration, now: Instant, expiry: Duration) {
    TIMINGS.with(|t| {
        let mut t = t.borrow_mut();
        let average = match t.get(&addr) {
            Some(old) if old.expires > now => {
                old.average.mul_f64(1.0 - NEW_SAMPLE_WEIGHT) + took.mul_f64(NEW_SAMPLE_WEIGHT)
            }
            _ => took,
        };
        t.insert(addr, Timing { average, expires: now + expiry });
    })
}

/// `addr`'s timing at `now`, if it has one that has not expired.
pub fn timing(addr: SocketAddr, now: Instant) -> Option<Duration> {
    TIMINGS.with(|t| {
        let mut t = t.borrow_mut();
        match t.get(&addr) {
            Some(timing) if timing.expires > now => Some(timing.average),
            Some(_) => {
                t.remove(&addr);
                None
            }
            None => None,
        }
    })
}

/// The next number of this thread's xorshift64* (seeded from std's
/// per-thread random keys and the time on first use).
fn next_random() -> u64 {
    RANDOM.with(|r| {
        let mut x = r.get();
        if x == 0 {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos(),
            );
            x = h.finish() | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A random index below `n` (`n` > 0).
fn below(n: usize) -> usize {
    ((u128::from(next_random()) * n as u128) >> 64) as usize
}

/// Fisher-Yates, with this thread's random state.
pub fn shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(i + 1));
    }
}

/// Sorts `keys` ascending and moves `items` alike; stable (insertion
/// sort: a partition's primaries are a handful).
fn sort_along<T>(keys: &mut [u64], items: &mut [T]) {
    for i in 1..keys.len() {
        let mut j = i;
        while j > 0 && keys[j - 1] > keys[j] {
            keys.swap(j - 1, j);
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The key a node sorts by: error-limited after the rest, then the
/// method's (no timing before any timing, which counts to the
/// millisecond, as Swift rounds it).
fn key(method: SortingMethod, affinity: &ReadAffinity, limited: bool, d: &Device, now: Instant) -> u64 {
    let by_method = match method {
        SortingMethod::Shuffle => 0,
        SortingMethod::Timing => match crate::controllers::backend::node_addr(d).ok().and_then(|a| timing(a, now)) {
            None => 0,
            Some(t) => (t.as_millis() as u64).saturating_add(1).min(u64::MAX >> 1),
        },
        SortingMethod::Affinity => affinity.priority(d).min(u64::MAX >> 1),
    };
    (u64::from(limited) << 63) | by_method
}

/// Puts a read's primaries in the order to try them: shuffled, then
/// sorted (stably) by `method`, with the ones `limited` says are
/// error-limited after the rest. Allocates nothing for up to 16 nodes.
pub fn sort_primaries(
    method: SortingMethod,
    affinity: &ReadAffinity,
    nodes: &mut [Arc<Device>],
    limited: impl Fn(&Device) -> bool,
    now: Instant,
) {
    shuffle(nodes);
    const ON_STACK: usize = 16;
    let mut stack = [0u64; ON_STACK];
    let mut heap = Vec::new();
    let keys = if nodes.len() <= ON_STACK {
        &mut stack[..nodes.len()]
    } else {
        heap.resize(nodes.len(), 0);
        &mut heap[..]
    };
    let mut any = false;
    for (k, d) in keys.iter_mut().zip(nodes.iter()) {
        *k = key(method, affinity, limited(d), d, now);
        any |= *k != 0;
    }
    if any {
        sort_along(keys, nodes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: u16, region: u32, zone: u32, port: u16) -> Arc<Device> {
        Arc::new(Device {
            id,
            region,
            zone,
            ip: "127.0.0.1".into(),
            port,
            replication_ip: "127.0.0.1".into(),
            replication_port: port,
            device: "sda".into(),
            weight: 1.0,
            meta: String::new(),
        })
    }

    #[test]
    fn method_names_are_swifts() {
        assert_eq!(SortingMethod::parse("Shuffle"), Some(SortingMethod::Shuffle));
        assert_eq!(SortingMethod::parse("timing"), Some(SortingMethod::Timing));
        assert_eq!(SortingMethod::parse("AFFINITY"), Some(SortingMethod::Affinity));
        assert_eq!(SortingMethod::parse("random"), None);
    }

    #[test]
    fn affinity_is_swifts_key_function() {
        let a = ReadAffinity::parse("r1z1=100, r1=200,r2z3=50").unwrap();
        assert_eq!(a.priority(&dev(1, 1, 1, 1)), 100);
        assert_eq!(a.priority(&dev(1, 1, 2, 1)), 200);
        assert_eq!(a.priority(&dev(1, 2, 3, 1)), 50);
        assert_eq!(a.priority(&dev(1, 2, 1, 1)), NO_AFFINITY);
        // The lowest matching priority wins, whatever the rules' order.
        assert_eq!(ReadAffinity::parse("r1=200, r1z1=100").unwrap().priority(&dev(1, 1, 1, 1)), 100);
        assert_eq!(ReadAffinity::parse("  ").unwrap().priority(&dev(1, 1, 1, 1)), 0);
        for bad in ["r1", "z1=1", "r1z=1", "r1=a", "r1=1,", "r1 = 1", "rx=1", "r1z1z1=1", "r-1=1", "r1=+1"] {
            assert_eq!(ReadAffinity::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn shuffles_are_permutations_and_every_item_comes_first() {
        let mut first = [0usize; 5];
        for _ in 0..1000 {
            let mut v = [0, 1, 2, 3, 4];
            shuffle(&mut v);
            let mut sorted = v;
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2, 3, 4]);
            first[v[0]] += 1;
        }
        // 200 expected each; far from any plausible bad luck.
        assert!(first.iter().all(|&n| n > 100), "{first:?}");
    }

    #[test]
    fn timings_average_and_expire() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let now = Instant::now();
        let expiry = Duration::from_secs(300);
        assert_eq!(timing(addr, now), None);
        record(addr, Duration::from_millis(100), now, expiry);
        assert_eq!(timing(addr, now), Some(Duration::from_millis(100)));
        record(addr, Duration::from_millis(20), now + Duration::from_secs(1), expiry);
        assert_eq!(timing(addr, now + Duration::from_secs(2)), Some(Duration::from_millis(60)));
        // Forgotten `expiry` after the last sample, not the first.
        assert!(timing(addr, now + Duration::from_secs(300)).is_some());
        assert_eq!(timing(addr, now + Duration::from_secs(302)), None);
        // After expiry a sample starts afresh.
        record(addr, Duration::from_millis(8), now + Duration::from_secs(400), expiry);
        record(addr, Duration::from_millis(4), now + Duration::from_secs(1000), expiry);
        assert_eq!(timing(addr, now + Duration::from_secs(1000)), Some(Duration::from_millis(4)));
    }

    #[test]
    fn timing_puts_the_fastest_first_and_untimed_before_them() {
        let now = Instant::now();
        let expiry = Duration::from_secs(300);
        let (slow, fast, untimed) = (dev(1, 1, 1, 61001), dev(2, 1, 2, 61002), dev(3, 1, 3, 61003));
        record(node(&slow), Duration::from_millis(80), now, expiry);
        record(node(&fast), Duration::from_millis(3), now, expiry);
        let none = ReadAffinity::default();
        for _ in 0..20 {
            let mut v = vec![slow.clone(), fast.clone(), untimed.clone()];
            sort_primaries(SortingMethod::Timing, &none, &mut v, |_| false, now);
            assert_eq!(v.iter().map(|d| d.id).collect::<Vec<_>>(), [3, 2, 1]);
        }
        // Once the slow one's timing has expired it is untimed: first or
        // second with the other untimed one, never after the fast one's.
        let later = now + expiry + Duration::from_secs(1);
        record(node(&fast), Duration::from_millis(3), later, expiry);
        let mut firsts = [0; 4];
        for _ in 0..200 {
            let mut v = vec![slow.clone(), fast.clone(), untimed.clone()];
            sort_primaries(SortingMethod::Timing, &none, &mut v, |_| false, later);
            assert_eq!(v[2].id, 2);
            firsts[usize::from(v[0].id)] += 1;
        }
        assert!(firsts[1] > 0 && firsts[3] > 0, "untimed ties are shuffled: {firsts:?}");
    }

    fn node(d: &Device) -> SocketAddr {
        crate::controllers::backend::node_addr(d).unwrap()
    }

    #[test]
    fn limited_nodes_go_after_the_rest_whatever_the_method() {
        let nodes = [dev(1, 1, 1, 1), dev(2, 1, 2, 2), dev(3, 1, 3, 3)];
        let affinity = ReadAffinity::parse("r1z1=1, r1z2=2, r1z3=3").unwrap();
        for method in [SortingMethod::Shuffle, SortingMethod::Timing, SortingMethod::Affinity] {
            for _ in 0..50 {
                let mut v = nodes.to_vec();
                sort_primaries(method, &affinity, &mut v, |d| d.id == 1, Instant::now());
                assert_eq!(v[2].id, 1, "{method:?}");
                if method == SortingMethod::Affinity {
                    assert_eq!(v.iter().map(|d| d.id).collect::<Vec<_>>(), [2, 3, 1]);
                }
            }
        }
    }

    #[test]
    fn many_primaries_sort_too() {
        let nodes: Vec<Arc<Device>> = (0..40).map(|i| dev(i, 1, u32::from(i), 1000 + i)).collect();
        let spec: Vec<String> = (0..40).map(|i| format!("r1z{i}={}", 100 - i)).collect();
        let affinity = ReadAffinity::parse(&spec.join(",")).unwrap();
        let mut v = nodes.clone();
        sort_primaries(SortingMethod::Affinity, &affinity, &mut v, |_| false, Instant::now());
        assert_eq!(v.iter().map(|d| d.id).collect::<Vec<_>>(), (0..40).rev().collect::<Vec<_>>());
    }
}
