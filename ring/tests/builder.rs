//! Properties of the builder, checked over several seeds and small part
//! powers (fast in debug builds; the big case is in bench/ring.sh).

use std::collections::HashSet;
use std::time::Duration;

use ring::{NewDevice, PathHasher, Ring, RingBuilder};

fn dev(region: u32, zone: u32, ip: &str, name: &str, weight: f64) -> NewDevice {
    NewDevice {
        id: None,
        region,
        zone,
        ip: ip.into(),
        port: 6200,
        replication_ip: None,
        replication_port: None,
        device: name.into(),
        weight,
        meta: String::new(),
    }
}

/// `zones` zones of `hosts` hosts of `disks` disks, equal weights.
fn cluster(part_power: u8, replicas: u32, zones: u32, hosts: u32, disks: u32) -> RingBuilder {
    let mut b = RingBuilder::new(part_power, replicas, 1).unwrap();
    for z in 1..=zones {
        for h in 1..=hosts {
            for d in 0..disks {
                b.add_dev(dev(1, z, &format!("10.0.{z}.{h}"), &format!("sd{d}"), 100.0)).unwrap();
            }
        }
    }
    b
}

fn zone_of(b: &RingBuilder, id: u16) -> (u32, u32) {
    let d = b.dev(id).unwrap();
    (d.region, d.zone)
}

#[test]
fn equal_weights_balance_within_one_percent() {
    for seed in 1..=4 {
        // 1024 partitions * 3 / 20 devices = 153 per device.
        let mut b = cluster(10, 3, 5, 2, 2);
        let r = b.rebalance(seed).unwrap();
        assert!(r.balance < 1.0, "seed {seed}: balance {}", r.balance);
        b.validate().unwrap();
        assert_eq!(b.dispersion(), Some(0.0));
    }
}

#[test]
fn weights_are_honoured() {
    for seed in [3, 11] {
        let mut b = RingBuilder::new(11, 3, 1).unwrap();
        for z in 1..=4 {
            for (i, w) in [100.0, 200.0, 300.0].into_iter().enumerate() {
                b.add_dev(dev(1, z, &format!("10.0.{z}.{i}"), "sdb", w)).unwrap();
            }
        }
        b.rebalance(seed).unwrap();
        let parts = b.parts_per_dev();
        let per_weight = (b.parts() * 3) as f64 / 2400.0;
        for d in b.iter_devs() {
            let want = d.weight * per_weight;
            let got = parts[usize::from(d.id)] as f64;
            assert!((got - want).abs() / want < 0.01, "seed {seed} d{}: {got} vs {want}", d.id);
        }
        assert!(b.balance() < 1.0);
    }
}

#[test]
fn no_two_replicas_in_one_zone_when_zones_suffice() {
    for (zones, seed) in [(3, 1), (4, 2), (5, 3)] {
        let mut b = cluster(9, 3, zones, 2, 3);
        b.rebalance(seed).unwrap();
        for p in 0..b.parts() {
            let z: HashSet<_> = b.table().iter().map(|row| zone_of(&b, row[p])).collect();
            assert_eq!(z.len(), 3, "zones {zones} partition {p}");
        }
    }
}

#[test]
fn regions_are_used_before_zones() {
    let mut b = RingBuilder::new(8, 3, 1).unwrap();
    for r in 1..=3 {
        for z in 1..=2 {
            b.add_dev(dev(r, z, &format!("10.{r}.{z}.1"), "sdb", 100.0)).unwrap();
        }
    }
    b.rebalance(5).unwrap();
    for p in 0..b.parts() {
        let regions: HashSet<u32> = b.table().iter().map(|row| b.dev(row[p]).unwrap().region).collect();
        assert_eq!(regions.len(), 3);
    }
}

fn moved_slots(before: &[Vec<u16>], after: &[Vec<u16>], part: usize) -> usize {
    before.iter().zip(after).filter(|(a, b)| a[part] != b[part]).count()
}

#[test]
fn adding_a_device_moves_little_and_one_replica_per_partition() {
    for seed in [7, 8, 9] {
        let mut b = cluster(10, 3, 5, 2, 2);
        b.rebalance(seed).unwrap();
        b.pretend_min_part_hours_passed();
        let before = b.table().to_vec();
        let id = b.add_dev(dev(1, 1, "10.0.1.9", "sdz", 100.0)).unwrap();
        let r = b.rebalance(seed).unwrap();
        let ideal = (b.parts() * 3) as f64 / 21.0;
        assert!(r.moved as f64 <= 1.1 * ideal, "seed {seed}: moved {} ideal {ideal}", r.moved);
        assert!(b.parts_per_dev()[usize::from(id)] as f64 >= 0.99 * ideal);
        for p in 0..b.parts() {
            assert!(moved_slots(&before, b.table(), p) <= 1, "partition {p} moved twice");
        }
        // Within min_part_hours, a partition just moved must not move again.
        let middle = b.table().to_vec();
        b.add_dev(dev(1, 2, "10.0.2.9", "sdz", 100.0)).unwrap();
        b.rebalance(seed).unwrap();
        for p in 0..b.parts() {
            if moved_slots(&before, &middle, p) > 0 {
                assert_eq!(moved_slots(&middle, b.table(), p), 0, "partition {p} moved within min_part_hours");
            }
        }
    }
}

#[test]
fn removing_a_device_moves_only_its_partitions() {
    for seed in [1, 2] {
        let mut b = cluster(10, 3, 4, 2, 2);
        b.rebalance(seed).unwrap();
        b.pretend_min_part_hours_passed();
        let before = b.table().to_vec();
        b.remove_dev(5).unwrap();
        let r = b.rebalance(seed).unwrap();
        assert_eq!(r.removed, 1);
        let held = before.iter().flatten().filter(|&&d| d == 5).count();
        assert_eq!(r.moved, held);
        for (row_before, row_after) in before.iter().zip(b.table()) {
            for (x, y) in row_before.iter().zip(row_after) {
                assert!(x == y || *x == 5);
                assert_ne!(*y, 5);
            }
        }
        assert!(b.dev(5).is_err());
        b.validate().unwrap();
        assert!(b.balance() < 1.5, "balance {}", b.balance());
    }
}

#[test]
fn rebalance_is_deterministic_for_a_seed() {
    let run = |seed| {
        let mut b = cluster(9, 3, 4, 2, 2);
        b.rebalance_at(seed, 1_700_000_000).unwrap();
        b.add_dev(dev(1, 3, "10.0.3.7", "sdq", 150.0)).unwrap();
        b.rebalance_at(seed, 1_700_000_000 + 7200).unwrap();
        b.table().to_vec()
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn zero_weight_drains_a_device() {
    let mut b = cluster(9, 3, 4, 1, 2);
    b.rebalance(1).unwrap();
    b.pretend_min_part_hours_passed();
    b.set_weight(0, 0.0).unwrap();
    b.rebalance(1).unwrap();
    assert_eq!(b.parts_per_dev()[0], 0);
    b.validate().unwrap();
}

#[test]
fn overload_trades_balance_for_dispersion() {
    let build = |overload: f64| {
        let mut b = RingBuilder::new(9, 3, 1).unwrap();
        for z in 1..=3 {
            let w = if z == 3 { 20.0 } else { 100.0 };
            for h in 1..=2 {
                b.add_dev(dev(1, z, &format!("10.0.{z}.{h}"), "sdb", w)).unwrap();
            }
        }
        b.set_overload(overload).unwrap();
        b.rebalance(1).unwrap();
        b
    };
    let tight = build(0.0);
    let loose = build(10.0);
    assert!(tight.dispersion().unwrap() > 0.0);
    assert!(tight.balance() < 1.5);
    assert_eq!(loose.dispersion(), Some(0.0));
    assert!(loose.required_overload() > 0.0);
}

#[test]
fn too_few_devices_is_an_error_and_leaves_the_builder_alone() {
    let mut b = RingBuilder::new(6, 3, 1).unwrap();
    b.add_dev(dev(1, 1, "10.0.0.1", "sda", 1.0)).unwrap();
    b.add_dev(dev(1, 1, "10.0.0.1", "sdb", 1.0)).unwrap();
    let copy = b.clone();
    assert!(b.rebalance(1).is_err());
    assert_eq!(b, copy);
    assert!(b.add_dev(dev(1, 1, "10.0.0.1", "sdb", 1.0)).is_err());
    assert!(b.add_dev(dev(1, 1, "10.0.0.1", "sdc", -1.0)).is_err());
    assert!(RingBuilder::new(0, 3, 1).is_err());
    assert!(RingBuilder::new(25, 3, 1).is_err());
    assert!(RingBuilder::new(8, 0, 1).is_err());
}

/// Slow in debug builds; bench/ring.sh runs it in release.
#[test]
#[ignore]
fn part_power_22_rebalances() {
    let mut b = cluster(22, 3, 3, 1, 1);
    let r = b.rebalance(1).unwrap();
    assert_eq!(r.moved, 3 << 22);
    assert_eq!(b.dispersion(), Some(0.0));
}

#[test]
fn part_power_22_is_accepted() {
    let b = RingBuilder::new(22, 3, 1).unwrap();
    assert_eq!(b.parts(), 1 << 22);
}

#[test]
fn builder_and_ring_files_round_trip() {
    let dir = std::env::temp_dir().join(format!("ring-builder-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut b = cluster(8, 3, 3, 2, 1);
    b.remove_dev(1).unwrap();
    b.save(&dir.join("x.builder")).unwrap();
    assert_eq!(RingBuilder::load(&dir.join("x.builder")).unwrap(), b);
    b.rebalance(3).unwrap();
    b.save(&dir.join("x.builder")).unwrap();
    assert_eq!(RingBuilder::load(&dir.join("x.builder")).unwrap(), b);
    let ring = b.get_ring().unwrap();
    ring.save(&dir.join("x.ring")).unwrap();
    assert_eq!(ring::RingData::load(&dir.join("x.ring")).unwrap(), ring);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runtime_ring_reloads_when_the_file_changes() {
    let dir = std::env::temp_dir().join(format!("ring-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("object.ring");
    let mut b = cluster(8, 3, 3, 1, 1);
    b.rebalance(1).unwrap();
    b.get_ring().unwrap().save(&path).unwrap();
    let hasher = PathHasher::new(b"", b"changeme").unwrap();
    let ring = Ring::open_with_interval(&path, hasher, Duration::from_millis(20)).unwrap();
    let (part, nodes) = ring.nodes("AUTH_test", Some("c"), Some("o")).unwrap();
    assert_eq!(nodes.len(), 3);
    assert_eq!(ring.handoffs(part).count(), 0);
    b.add_dev(dev(1, 4, "10.0.4.1", "sdb", 100.0)).unwrap();
    b.pretend_min_part_hours_passed();
    b.rebalance(1).unwrap();
    b.get_ring().unwrap().save(&path).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while ring.devices().len() < 4 {
        assert!(std::time::Instant::now() < deadline, "ring never reloaded");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ring.handoffs(part).count(), 1);
    // A broken file is ignored: the old ring stays in service (once the
    // reloader has really tried it).
    std::fs::write(&path, b"garbage").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while ring.failed_reloads() == 0 {
        assert!(std::time::Instant::now() < deadline, "the broken file was never tried");
        assert_eq!(ring.nodes("AUTH_test", Some("c"), Some("o")).unwrap().1.len(), 3);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ring.nodes("AUTH_test", Some("c"), Some("o")).unwrap().1.len(), 3);
    assert_eq!(ring.devices().len(), 4, "the old ring is still the one in service");
    assert!(ring.reload_now().is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
