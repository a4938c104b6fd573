//! Probe tests of healing (Swift's `test/probe`, for swiftlet): a real
//! cluster of 4 object servers (3 replicas) and a proxy, with no
//! background daemon running; nodes are killed (`kill -9`), wiped, added,
//! and the object replicator runs once, on demand, on chosen nodes
//! ([`ProbeCluster`]). What each replica holds is checked on disk and by
//! direct backend requests, not only through the proxy.
//!
//! * `an_object_written_to_a_handoff_goes_back_to_its_primary`: a PUT
//!   made while a primary is down lands on a handoff; once the primary is
//!   back and the replicators ran, every primary holds the object (same
//!   ETag and timestamp) and the handoff holds nothing of it. Proves
//!   handoff jobs push to every primary and then remove their copy, and
//!   reads work at every step.
//! * `a_wiped_device_is_filled_again_by_its_peers`: a node whose
//!   `objects/` is lost (`rm -rf`) gets every object it is a primary of
//!   back, byte for byte, from one pass of the *other* nodes' replicators.
//!   Proves suffix hashes of a missing partition differ and primary jobs
//!   push what a peer lacks.
//! * `a_delete_and_a_post_made_while_a_primary_was_down_win_and_nothing_resurrects`:
//!   a DELETE and a metadata POST made while a primary was down reach it;
//!   its old `.data` neither comes back through the proxy nor goes out to
//!   the others, through further passes. Proves newest-wins merging of
//!   tombstones and `.meta` files, in both directions.
//! * `a_rebalance_moves_every_object_to_its_new_primaries_and_reads_work_meanwhile`:
//!   a 5th node is added to the object ring and the ring rebalanced; while
//!   the replicators move partitions, every object stays readable through
//!   the proxy; at the end each object is on exactly its 3 new primaries.
//!   Proves handoff jobs of a partition that moved away, and their removal
//!   only after every new primary confirmed.
//! * `a_replicator_killed_mid_transfer_leaves_no_partial_object_and_the_next_pass_completes_it`:
//!   the replicator is `kill -9`ed while a 64 MiB object streams to a
//!   peer (its temp file seen in the peer's `tmp/`); the peer then holds
//!   no partial object (no `.data`, or a whole and correct one), the next
//!   pass makes it whole, and a restart of the peer sweeps the temp file.
//!   Proves the receiver commits only a complete, checked body.
//! * `a_rotten_replica_is_quarantined_by_the_auditor_and_repaired_by_the_replicator`:
//!   one byte of one replica's body is flipped on disk; the object auditor
//!   (one pass, no client read) quarantines it, the replicator puts a good
//!   copy back, and no proxy GET ever returns wrong bytes. Proves the
//!   auditor's quarantine invalidates the suffix hash so replication sees
//!   the loss.
//!
//! Each test starts its own cluster (free ports, its own temp folder,
//! kept with its logs if the test fails: `logs/object-server-<i>.log`,
//! `logs/object-replicator-<i>.log`, ... in `swiftlet-probe-<test>-<pid>`
//! under the temp folder). Run them with `cargo test -p
//! swiftlet-functional --test probe` (the harness builds the servers,
//! daemons and ring tools first); the file takes about 10-20 s in a debug
//! build on 2 cores.

use functional::probe::{has_bin, Place, ProbeCluster};
use functional::Session;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const REPLICATOR: &str = "swiftlet-object-replicator";
const AUDITOR: &str = "swiftlet-object-auditor";
const CONTAINER: &str = "probe";

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// A small body of its own for object `i`.
fn body(i: usize) -> Vec<u8> {
    format!("object {i} of the probe tests\n").repeat(1 + i % 7).into_bytes()
}

/// `len` bytes that are not a short repeating pattern.
fn big_body(len: usize) -> Vec<u8> {
    (0..len as u32).map(|j| (j.wrapping_mul(2_654_435_761) >> 24) as u8 ^ (j >> 20) as u8).collect()
}

fn etag_of(r: &functional::Resp) -> String {
    r.header("etag").unwrap_or("").trim_matches('"').to_string()
}

/// A cluster, [`functional::cluster::TESTER`] logged in, and [`CONTAINER`]
/// made.
fn setup(name: &str) -> (ProbeCluster, Session) {
    let c = ProbeCluster::new(name);
    let s = c.login();
    let r = c.req("PUT", &s.path(CONTAINER), &s.headers(&[]), b"");
    assert_eq!(r.status, 201, "PUT container: {} ({})", r.text(), c.logs());
    (c, s)
}

fn put(c: &ProbeCluster, s: &Session, name: &str, body: &[u8], headers: &[(&str, &str)]) {
    let r = c.req("PUT", &s.path(&format!("{CONTAINER}/{name}")), &s.headers(headers), body);
    assert_eq!(r.status, 201, "PUT {name}: {} ({})", r.text(), c.logs());
    assert_eq!(etag_of(&r), md5_hex(body), "PUT {name}");
}

/// GET through the proxy: the right bytes, or a panic.
fn get_ok(c: &ProbeCluster, s: &Session, name: &str, want: &[u8]) {
    let r = c.req("GET", &s.path(&format!("{CONTAINER}/{name}")), &s.headers(&[]), b"");
    assert_eq!(r.status, 200, "GET {name}: {} ({})", r.text(), c.logs());
    assert!(r.body == want, "GET {name}: {} bytes, not the {} written ({})", r.body.len(), want.len(), c.logs());
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

#[test]
fn an_object_written_to_a_handoff_goes_back_to_its_primary() {
    let (c, s) = setup("handoff");
    let place = c.place(CONTAINER, "o");
    let down = place.primaries[0];
    let handoff = place.handoffs[0];
    c.kill(down);
    let data = b"written while a primary was down";
    put(&c, &s, "o", data, &[]);
    get_ok(&c, &s, "o", data);
    // The two live primaries and the first handoff took it.
    let want = sorted(&[place.primaries[1], place.primaries[2], handoff]);
    assert_eq!(c.nodes_with_data(&place), want, "{place:?}");
    let r = c.direct(handoff, "HEAD", &place, &[]);
    assert_eq!(r.status, 200, "HEAD on the handoff");
    let ts = r.header("x-timestamp").expect("X-Timestamp").to_string();

    c.start(down);
    assert_eq!(c.direct(down, "HEAD", &place, &[]).status, 404, "the primary was down for the PUT");
    get_ok(&c, &s, "o", data);
    c.get_to_final_state();

    for &p in &place.primaries {
        let r = c.direct(p, "HEAD", &place, &[]);
        assert_eq!(r.status, 200, "HEAD on primary {p} ({})", c.logs());
        assert_eq!(etag_of(&r), md5_hex(data), "primary {p}");
        assert_eq!(r.header("x-timestamp"), Some(ts.as_str()), "primary {p}");
    }
    assert_eq!(c.files(handoff, &place), Vec::<String>::new(), "the handoff still holds files ({})", c.logs());
    assert!(!c.device_dir(handoff).join(place.hash_dir()).exists(), "the handoff's hash folder is left");
    assert_eq!(c.direct(handoff, "HEAD", &place, &[]).status, 404);
    assert_eq!(c.nodes_with_data(&place), sorted(&place.primaries));
    get_ok(&c, &s, "o", data);
}

#[test]
fn a_wiped_device_is_filled_again_by_its_peers() {
    let (c, s) = setup("wiped");
    let names: Vec<String> = (0..100).map(|i| format!("o-{i:03}")).collect();
    for (i, name) in names.iter().enumerate() {
        put(&c, &s, name, &body(i), &[]);
    }
    let wiped = 2;
    c.kill(wiped);
    let objects = c.device_dir(wiped).join("objects");
    std::fs::remove_dir_all(&objects).unwrap_or_else(|e| panic!("rm -rf {}: {e}", objects.display()));
    c.start(wiped);

    let others: Vec<usize> = (1..=c.nodes()).filter(|&i| i != wiped).collect();
    c.once(REPLICATOR, &others, &[]);

    let mut checked = 0;
    for (i, name) in names.iter().enumerate() {
        let place = c.place(CONTAINER, name);
        if !place.primaries.contains(&wiped) {
            continue;
        }
        let r = c.direct(wiped, "GET", &place, &[]);
        assert_eq!(r.status, 200, "{name} is not back on node {wiped} ({})", c.logs());
        assert!(r.body == body(i), "{name} on node {wiped}: {} bytes, not the {} written", r.body.len(), body(i).len());
        assert_eq!(etag_of(&r), md5_hex(&body(i)), "{name}");
        checked += 1;
    }
    // 3 of 4 nodes hold each object: about 75 of the 100 are node 2's.
    assert!(checked >= 40, "only {checked} of 100 objects have node {wiped} as a primary");
}

#[test]
fn a_delete_and_a_post_made_while_a_primary_was_down_win_and_nothing_resurrects() {
    let (c, s) = setup("tombstone");
    let (a, b) = (b"deleted while a primary was down".to_vec(), b"posted to while a primary was down".to_vec());
    put(&c, &s, "a", &a, &[]);
    put(&c, &s, "b", &b, &[("X-Object-Meta-Color", "red")]);
    let (pa, pb) = (c.place(CONTAINER, "a"), c.place(CONTAINER, "b"));
    // One node down, a primary of both (3 of 4 nodes hold each object, so
    // two objects share at least two primaries): each write still has
    // two primaries and a handoff, as a write with one node down does.
    let down = *pa.primaries.iter().find(|n| pb.primaries.contains(n)).expect("a shared primary");
    c.kill(down);
    let r = c.req("DELETE", &s.path(&format!("{CONTAINER}/a")), &s.headers(&[]), b"");
    assert_eq!(r.status, 204, "DELETE a: {}", r.text());
    let r = c.req("POST", &s.path(&format!("{CONTAINER}/b")), &s.headers(&[("X-Object-Meta-Color", "blue")]), b"");
    assert_eq!(r.status, 202, "POST b: {}", r.text());
    // The delete's time, from a primary that took it; the down one still
    // holds the old .data, and b's old metadata.
    let up = *pa.primaries.iter().find(|&&n| n != down).unwrap();
    let r = c.direct(up, "HEAD", &pa, &[]);
    assert_eq!(r.status, 404);
    let deleted = r.header("x-backend-timestamp").expect("X-Backend-Timestamp of the tombstone").to_string();
    assert!(c.files(down, &pa).iter().any(|f| f.ends_with(".data")));

    c.start(down);
    assert_eq!(c.direct(down, "HEAD", &pa, &[]).status, 200, "a is still on the node that was down");
    assert_eq!(c.direct(down, "HEAD", &pb, &[]).header("x-object-meta-color"), Some("red"));
    c.get_to_final_state();

    let check = |round: &str| {
        for &p in &pa.primaries {
            let r = c.direct(p, "GET", &pa, &[]);
            assert_eq!(r.status, 404, "{round}: a on primary {p} ({})", c.logs());
            assert_eq!(r.header("x-backend-timestamp"), Some(deleted.as_str()), "{round}: a's tombstone on {p}");
        }
        assert_eq!(c.nodes_with_data(&pa), Vec::<usize>::new(), "{round}: a's data is still somewhere ({})", c.logs());
        let r = c.req("GET", &s.path(&format!("{CONTAINER}/a")), &s.headers(&[]), b"");
        assert_eq!(r.status, 404, "{round}: a came back through the proxy");
        for &p in &pb.primaries {
            let r = c.direct(p, "HEAD", &pb, &[]);
            assert_eq!(r.status, 200, "{round}: b on primary {p}");
            assert_eq!(r.header("x-object-meta-color"), Some("blue"), "{round}: b's metadata on primary {p}");
            assert_eq!(etag_of(&r), md5_hex(&b), "{round}: b on primary {p}");
        }
        let r = c.req("GET", &s.path(&format!("{CONTAINER}/b")), &s.headers(&[]), b"");
        assert_eq!((r.status, r.header("x-object-meta-color")), (200, Some("blue")), "{round}: b through the proxy");
        assert!(r.body == b, "{round}: b's body");
    };
    check("after get_to_final_state");
    c.replicate_all();
    check("after one more pass");
    // Nothing of a on any handoff either.
    for &h in &pa.handoffs {
        assert!(c.files(h, &pa).iter().all(|f| !f.ends_with(".data")), "a's data on handoff {h}");
    }
}

#[test]
fn a_rebalance_moves_every_object_to_its_new_primaries_and_reads_work_meanwhile() {
    let (c, s) = setup("rebalance");
    let names: Vec<String> = (0..50).map(|i| format!("r-{i:02}")).collect();
    for (i, name) in names.iter().enumerate() {
        put(&c, &s, name, &body(i), &[]);
    }
    let before: Vec<Place> = names.iter().map(|n| c.place(CONTAINER, n)).collect();
    let new = c.add_node();
    let after: Vec<Place> = names.iter().map(|n| c.place(CONTAINER, n)).collect();
    let moved = before.iter().zip(&after).filter(|(b, a)| sorted(&b.primaries) != sorted(&a.primaries)).count();
    assert!(moved > 0, "the rebalance moved none of the 50 objects");
    assert!(after.iter().any(|p| p.primaries.contains(&new)));

    let read_all = |when: &str| -> Vec<String> {
        let mut bad = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let r = c.req("GET", &s.path(&format!("{CONTAINER}/{name}")), &s.headers(&[]), b"");
            if r.status != 200 || r.body != body(i) {
                bad.push(format!("{when}: GET {name}: {} ({} bytes)", r.status, r.body.len()));
            }
        }
        bad
    };
    // Runs `step` while another thread reads every object in a loop;
    // what failed, and how many rounds of reads ran.
    let while_reading = |what: &str, step: &dyn Fn(&mut Vec<String>)| -> (usize, Vec<String>) {
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let (mut rounds, mut failures) = (0, Vec::new());
                loop {
                    failures.extend(read_all(&format!("while replicating ({what})")));
                    rounds += 1;
                    if stop.load(Ordering::Acquire) {
                        return (rounds, failures);
                    }
                }
            });
            let mut failures = Vec::new();
            step(&mut failures);
            stop.store(true, Ordering::Release);
            let (rounds, more) = reader.join().expect("reader thread");
            failures.extend(more);
            (rounds, failures)
        })
    };
    // The proxy most likely still has the old ring (it checks the file at
    // most every 15 s, the first time 15 s after it started) while the
    // first nodes hand their moved partitions over.
    let (old_rounds, mut failures) = while_reading("old ring", &|failures| {
        for i in 1..=2 {
            c.replicate(i);
            failures.extend(read_all(&format!("after node {i}'s pass (old ring)")));
        }
    });
    // Then a proxy with the new ring, whose new primary may not have the
    // object yet.
    c.restart_proxy();
    failures.extend(read_all("new ring, before the rest of the passes"));
    let (new_rounds, more) = while_reading("new ring", &|failures| {
        for i in 3..=new {
            c.replicate(i);
            failures.extend(read_all(&format!("after node {i}'s pass (new ring)")));
        }
        c.get_to_final_state();
        failures.extend(read_all("after get_to_final_state"));
    });
    failures.extend(more);
    eprintln!(
        "rebalance: {moved} of 50 objects moved; rounds of reads while replicating: {old_rounds} (old ring), \
         {new_rounds} (new ring)"
    );
    assert!(failures.is_empty(), "reads failed during the rebalance ({}):\n{}", c.logs(), failures.join("\n"));

    for (i, (name, place)) in names.iter().zip(&after).enumerate() {
        assert_eq!(
            c.nodes_with_data(place),
            sorted(&place.primaries),
            "{name} (partition {}) is not on exactly its new primaries ({})",
            place.part,
            c.logs()
        );
        for &p in &place.primaries {
            let r = c.direct(p, "HEAD", place, &[]);
            assert_eq!((r.status, etag_of(&r)), (200, md5_hex(&body(i))), "{name} on primary {p}");
        }
        for n in (1..=c.nodes()).filter(|n| !place.primaries.contains(n)) {
            assert_eq!(c.files(n, place), Vec::<String>::new(), "{name} left on node {n}");
        }
    }
}

/// The files in node `i`'s `tmp/` that are temp files of `place`'s object.
fn temp_files(c: &ProbeCluster, i: usize, place: &Place) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(c.device_dir(i).join("tmp")) else { return Vec::new() };
    dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(&place.hash)).collect()
}

#[test]
fn a_replicator_killed_mid_transfer_leaves_no_partial_object_and_the_next_pass_completes_it() {
    let (c, s) = setup("killed");
    let place = c.place(CONTAINER, "big");
    let (target, source) = (place.primaries[0], place.primaries[1]);
    let data = big_body(64 << 20);
    c.kill(target);
    put(&c, &s, "big", &data, &[]);
    c.start(target);
    assert!(temp_files(&c, target, &place).is_empty());
    let part = place.part.to_string();
    let only_this = ["--once", "--partitions", part.as_str()];

    // Kill the replicator as soon as the target has a temp file of the
    // object. A transfer that wins the race (done before the file was
    // seen) is undone and tried again.
    let mut attempt = 0;
    loop {
        let mut replicator = c.spawn_daemon(REPLICATOR, source, &only_this);
        let deadline = Instant::now() + Duration::from_secs(60);
        let caught = loop {
            if !temp_files(&c, target, &place).is_empty() {
                break true;
            }
            if matches!(replicator.try_wait(), Ok(Some(_))) || Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let _ = replicator.kill();
        let status = replicator.wait();
        if caught {
            break;
        }
        // Lost the race: then the pass must have sent the whole object.
        let r = c.direct(target, "GET", &place, &[]);
        assert!(
            r.status == 200 && r.body == data,
            "the replicator ({status:?}) did not send the object: the target answers {} ({})",
            r.status,
            c.logs()
        );
        attempt += 1;
        assert!(attempt < 5, "never saw the transfer in flight in {attempt} attempts ({})", c.logs());
        c.kill(target);
        let part_dir = c.device_dir(target).join("objects").join(&part);
        std::fs::remove_dir_all(&part_dir).unwrap_or_else(|e| panic!("rm -rf {}: {e}", part_dir.display()));
        c.start(target);
    }

    // No partial object: either nothing, or the whole, right one.
    let r = c.direct(target, "GET", &place, &[]);
    eprintln!(
        "killed in flight (attempt {}): the target answers {}, holds {:?}, tmp/ {:?}",
        attempt + 1,
        r.status,
        c.files(target, &place),
        temp_files(&c, target, &place)
    );
    match r.status {
        404 => assert!(
            c.files(target, &place).iter().all(|f| !f.ends_with(".data")),
            "a .data the object server does not serve: {:?} ({})",
            c.files(target, &place),
            c.logs()
        ),
        200 => assert!(
            r.body == data,
            "a partial object is served: {} of {} bytes ({})",
            r.body.len(),
            data.len(),
            c.logs()
        ),
        other => panic!("GET on the target after the kill: {other} ({})", c.logs()),
    }
    get_ok(&c, &s, "big", &data);

    // The next pass completes it.
    c.once(REPLICATOR, &[source], &["--partitions", part.as_str()]);
    let r = c.direct(target, "GET", &place, &[]);
    assert_eq!(r.status, 200, "the object is not on the target after a whole pass ({})", c.logs());
    assert!(r.body == data, "the target serves {} bytes, not the {} written", r.body.len(), data.len());
    assert_eq!(etag_of(&r), md5_hex(&data));
    assert_eq!(c.files(target, &place).iter().filter(|f| f.ends_with(".data")).count(), 1);

    // A temp file the killed transfer left is swept when the server starts.
    c.kill(target);
    c.start(target);
    assert_eq!(temp_files(&c, target, &place), Vec::<String>::new(), "temp files left after a restart");
}

#[test]
fn a_rotten_replica_is_quarantined_by_the_auditor_and_repaired_by_the_replicator() {
    let (c, s) = setup("rotten");
    assert!(has_bin(AUDITOR), "{AUDITOR} was not built");
    let data = big_body(100 * 1024);
    put(&c, &s, "rotten", &data, &[]);
    let place = c.place(CONTAINER, "rotten");
    let bad = place.primaries[0];
    // A pass first: every node has its suffix hashes cached, and in sync;
    // only an invalidated suffix makes the next pass look again.
    c.replicate_all();
    let name = c.files(bad, &place).into_iter().find(|f| f.ends_with(".data")).expect("a .data on the primary");
    let file = c.device_dir(bad).join(place.hash_dir()).join(&name);
    // The body comes first in a .data file: flip one of its bytes.
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[1000] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();

    // No client read: the auditor finds it.
    c.once(AUDITOR, &[bad], &[]);
    assert!(
        c.files(bad, &place).iter().all(|f| !f.ends_with(".data")),
        "the auditor left the rotten .data in place ({})",
        c.logs()
    );
    let quarantined = c.device_dir(bad).join("quarantined").join("objects");
    let moved = std::fs::read_dir(&quarantined)
        .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().starts_with(&place.hash)))
        .unwrap_or(false);
    assert!(moved, "nothing of {} in {}", place.hash, quarantined.display());
    for _ in 0..3 {
        get_ok(&c, &s, "rotten", &data);
    }

    c.replicate_all();
    let r = c.direct(bad, "GET", &place, &[]);
    assert_eq!(r.status, 200, "primary {bad} has no copy again after a pass ({})", c.logs());
    assert!(r.body == data, "primary {bad} serves {} bytes that are not the object", r.body.len());
    for _ in 0..3 {
        get_ok(&c, &s, "rotten", &data);
    }
}
