//! The built binaries, run as an operator would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn builder_bin() -> &'static str {
    env!("CARGO_BIN_EXE_swiftlet-ring-builder")
}

fn get_nodes_bin() -> &'static str {
    env!("CARGO_BIN_EXE_swiftlet-get-nodes")
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("ring-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rb(builder: &Path, args: &[&str]) -> Output {
    Command::new(builder_bin()).arg(builder).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn four_zone_ring(dir: &Dir) -> PathBuf {
    let b = dir.path("object.builder");
    assert!(rb(&b, &["create", "8", "3", "1"]).status.success());
    let o = rb(&b, &["add", "r1z1-127.0.0.1:6200/sdb1", "100", "r1z2-127.0.0.2:6200/sdb2", "100"]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("Device d0r1z1-127.0.0.1:6200R127.0.0.1:6200/sdb1_\"\" with 100.0 weight got id 0"));
    assert!(rb(&b, &["add", "r1z3-127.0.0.3:6200R127.0.1.3:6300/sdb3_meta", "100"]).status.success());
    let o = rb(
        &b,
        &[
            "add",
            "--region",
            "1",
            "--zone",
            "4",
            "--ip",
            "127.0.0.4",
            "--port",
            "6200",
            "--device",
            "sdb4",
            "--weight",
            "100",
        ],
    );
    assert!(o.status.success(), "{o:?}");
    let o = rb(&b, &["rebalance", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).contains("Reassigned 768 (300.00%) partitions. Balance is now 0.00.  Dispersion is now 0.00"));
    b
}

#[test]
fn create_add_rebalance_display() {
    let dir = Dir::new("display");
    let b = four_zone_ring(&dir);
    assert!(dir.path("object.ring").exists());
    assert!(dir.path("backups").is_dir());
    let out = stdout(&rb(&b, &[]));
    assert!(out.contains("256 partitions, 3.000000 replicas, 1 regions, 4 zones, 4 devices, 2-byte IDs, 0.00 balance, 0.00 dispersion"), "{out}");
    assert!(out.contains("The overload factor is 0.00% (0.000000)"));
    assert!(out.contains("is up-to-date"));
    assert!(out.contains(
        "Devices:   id region zone ip address:port replication ip:port  name weight partitions balance flags meta"
    ));
    assert!(
        out.contains(
            "            2      1    3  127.0.0.3:6200      127.0.1.3:6300  sdb3 100.00        192    0.00       meta"
        ),
        "{out}"
    );
    assert_eq!(rb(&b, &["validate"]).status.code(), Some(0));
    let o = rb(&b, &["dispersion", "-v"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Dispersion is 0.000000, Balance is 0.000000, Overload is 0.00%"));
    // set_info then the ring file is obsolete until write_ring.
    assert!(rb(&b, &["set_info", "d1", "_new meta"]).status.success());
    assert!(stdout(&rb(&b, &[])).contains("is obsolete"));
    assert!(rb(&b, &["write_ring"]).status.success());
    assert!(stdout(&rb(&b, &[])).contains("is up-to-date"));
}

#[test]
fn min_part_hours_and_pretend() {
    let dir = Dir::new("mph");
    let b = four_zone_ring(&dir);
    assert!(rb(&b, &["set_weight", "d0", "50"]).status.success());
    let o = rb(&b, &["rebalance"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(stdout(&o).contains("No partitions could be reassigned."));
    assert!(rb(&b, &["pretend_min_part_hours_passed"]).status.success());
    let o = rb(&b, &["rebalance", "7"]);
    assert!(stdout(&o).contains("Reassigned"), "{o:?}");
}

#[test]
fn remove_marks_then_rebalance_drops_the_device() {
    let dir = Dir::new("remove");
    let b = four_zone_ring(&dir);
    assert!(rb(&b, &["add", "r1z4-127.0.0.5:6200/sdb5", "100"]).status.success());
    assert!(rb(&b, &["pretend_min_part_hours_passed"]).status.success());
    // Zone 4 now weighs 1.2 replicas: a dispersion warning (exit 1), saved.
    let o = rb(&b, &["rebalance"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(stdout(&o).contains("Reassigned"));
    let o = rb(&b, &["remove", "d4"]);
    assert!(stdout(&o).contains("marked for removal and will be removed next rebalance."), "{o:?}");
    assert!(stdout(&rb(&b, &[])).contains("DEL"));
    let o = rb(&b, &["rebalance"]);
    assert_ne!(o.status.code(), Some(2), "{o:?}");
    assert!(!stdout(&rb(&b, &[])).contains("sdb5"));
}

#[test]
fn bad_input_fails_cleanly_and_writes_nothing() {
    let dir = Dir::new("bad");
    let b = four_zone_ring(&dir);
    let before = std::fs::read(&b).unwrap();
    let ring_before = std::fs::read(dir.path("object.ring")).unwrap();
    for args in [
        vec!["add", "r1z1-127.0.0.9/sdb1", "100"],
        vec!["add", "r1z1-127.0.0.9:6200/sdb9", "-5"],
        vec!["add", "r1z1-127.0.0.1:6200/sdb1", "100"],
        vec!["add", "r1z1-127.0.0.9:6200/sdb9"],
        vec!["remove", "d99"],
        vec!["set_weight", "d99", "1"],
        vec!["set_weight", "z1", "x"],
        vec!["set_info", "d0", "127.0.0.2:6200/sdb2"],
        vec!["frobnicate"],
    ] {
        let o = rb(&b, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {o:?}");
        assert!(!o.stderr.is_empty(), "{args:?}");
    }
    // Several matches need --yes.
    assert_eq!(rb(&b, &["set_weight", "r1", "1"]).status.code(), Some(2));
    assert_eq!(std::fs::read(&b).unwrap(), before);
    assert_eq!(std::fs::read(dir.path("object.ring")).unwrap(), ring_before);
    // Impossible replica count: nothing written.
    let small = dir.path("small.builder");
    assert!(rb(&small, &["create", "6", "3", "1"]).status.success());
    assert!(rb(&small, &["add", "r1z1-127.0.0.1:6200/sda", "1"]).status.success());
    let o = rb(&small, &["rebalance"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Replica count of 3 requires more than 1 devices"));
    assert!(!dir.path("small.ring").exists());
    assert_eq!(rb(&dir.path("nope.builder"), &[]).status.code(), Some(2));
    assert_eq!(rb(&small, &["create", "0", "3", "1"]).status.code(), Some(2));
}

#[test]
fn get_nodes_prints_like_swift_get_nodes() {
    let dir = Dir::new("getnodes");
    four_zone_ring(&dir);
    std::fs::write(dir.path("swift.conf"), "[swift-hash]\nswift_hash_path_suffix = changeme\n").unwrap();
    let o = Command::new(get_nodes_bin())
        .arg("--swift-dir")
        .arg(&dir.0)
        .arg(dir.path("object.ring"))
        .args(["AUTH_test", "c", "o 1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    // Hash from Python Swift: hash_path('AUTH_test', 'c', 'o 1') with suffix changeme.
    assert!(out.starts_with("\nAccount  \tAUTH_test\nContainer\tc\nObject   \to%201\n\n\nPartition\t"), "{out}");
    assert!(out.contains("Hash     \t6de2c2ff14af596fca3f5d7293be3ac2\n\n"), "{out}");
    assert_eq!(out.matches("Server:Port Device\t").count(), 4);
    assert_eq!(out.matches("\t [Handoff]").count(), 1);
    assert!(out.contains("curl -g -I -XHEAD \"http://127.0.0.") && out.contains("/AUTH_test/c/o%201\" --path-as-is"));
    assert!(out.contains("/objects/"));
    // One-argument form gives the same answer.
    let o2 = Command::new(get_nodes_bin())
        .args(["-d"])
        .arg(&dir.0)
        .arg(dir.path("object.ring"))
        .arg("/AUTH_test/c/o 1")
        .output()
        .unwrap();
    assert_eq!(stdout(&o2), out);
    // No swift.conf: clear error.
    std::fs::remove_file(dir.path("swift.conf")).unwrap();
    let o = Command::new(get_nodes_bin()).arg("-d").arg(&dir.0).arg(dir.path("object.ring")).arg("a").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("swift.conf"), "{o:?}");
}
