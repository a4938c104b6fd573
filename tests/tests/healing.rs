//! swiftlet-aio heals by itself: each node's object replicator and auditor
//! run in the background (a pass every 10 s, at their default rates), so
//! a device wiped while its server runs is whole again within a minute,
//! with nobody running anything (the probe tests in `probe.rs` run the
//! daemons once, on demand, to check each scenario step by step).

use functional::cluster::TESTER;
use functional::Cluster;
use std::path::Path;
use std::time::{Duration, Instant};

/// `.data` files under a device's `objects/`.
fn data_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                data_files(&path)
            } else {
                usize::from(path.extension().is_some_and(|x| x == "data"))
            }
        })
        .sum()
}

#[test]
fn swiftlet_aio_refills_a_wiped_device_within_a_minute() {
    let c = Cluster::start("healing");
    let s = c.login(TESTER);
    let container = Cluster::unique("healing");
    assert_eq!(c.req("PUT", &s.path(&container), &s.headers(&[]), b"").status, 201);
    for i in 0..300 {
        let body = format!("object {i} ").repeat(40);
        let r = c.req("PUT", &s.path(&format!("{container}/o{i}")), &s.headers(&[]), body.as_bytes());
        assert_eq!(r.status, 201, "PUT o{i}: {}", r.text());
    }
    let objects = c.data().expect("a local cluster").join("nodes/2/d2/objects");
    let held = data_files(&objects);
    assert!(held > 100, "node 2 holds {held} of 300 objects x 3 replicas on 4 nodes");
    std::fs::remove_dir_all(&objects).expect("wipe node 2's objects/");
    let wiped = Instant::now();
    let whole = test_support::eventually(Duration::from_secs(60), || data_files(&objects) >= held);
    assert!(
        whole,
        "node 2 holds {} of its {held} objects a minute after the wipe ({})",
        data_files(&objects),
        c.logs()
    );
    eprintln!("node 2's {held} objects back {:.1} s after the wipe", wiped.elapsed().as_secs_f64());
}
