//! What a row update guarantees (docs/db-schema.md): once the object
//! server has its 2xx, the row survives the container server being killed
//! (SIGKILL mid-stream); a corrupt database is quarantined, not crashed on.

mod common;

use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const C: &str = "/sda/0/AUTH_a/c";

#[test]
fn acknowledged_rows_survive_kill_9_mid_stream() {
    let mut s = ObjectServer::start("cont-kill");
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &ts())], b"").status, 201);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (acked, stop, addr) = (acked.clone(), stop.clone(), s.addr());
            std::thread::spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let name = format!("w{w}-{i:05}");
                    let h = [
                        ("X-Timestamp", ts()),
                        ("X-Size", "1".into()),
                        ("X-Content-Type", "a/b".into()),
                        ("X-Etag", "e".into()),
                        ("X-Backend-Container-Update", "true".into()),
                    ];
                    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    // A killed server makes the request fail: stop there.
                    let r = std::panic::catch_unwind(|| request(addr, "PUT", &format!("{C}/{name}"), &h, b""));
                    match r {
                        Ok(r) if r.status == 201 => acked.lock().unwrap().push(name),
                        _ => return,
                    }
                }
            })
        })
        .collect();
    assert!(eventually(30, || acked.lock().unwrap().len() >= 400));
    s.kill9();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap().clone();
    let s = s.spawn(None);
    let r = s.request("GET", &format!("{C}?format=plain"), &[], b"");
    let listed: std::collections::HashSet<String> =
        String::from_utf8(r.body).unwrap().lines().map(String::from).collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !listed.contains(*n)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged rows lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    let count: usize = s.request("HEAD", C, &[], b"").header("X-Container-Object-Count").unwrap().parse().unwrap();
    assert_eq!(count, listed.len(), "the count matches the rows");
}

#[test]
fn a_corrupt_database_is_quarantined_and_the_server_keeps_serving() {
    let mut s = ObjectServer::start("cont-corrupt");
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &ts())], b"").status, 201);
    let dbs = files_with(&s.device().join("containers"), ".db");
    assert_eq!(dbs.len(), 1);
    // A bad disk scribbles over the file while the server is down.
    s.kill9();
    std::fs::write(&dbs[0], vec![0x42u8; 16384]).unwrap();
    let _ = std::fs::remove_file(format!("{}-wal", dbs[0].display()));
    let _ = std::fs::remove_file(format!("{}-shm", dbs[0].display()));
    let s = s.spawn(None);
    let other = "/sda/0/AUTH_a/other";
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(s.request("GET", C, &[], b"").status);
    }
    assert_eq!(statuses, [500, 404, 404], "reported once, then missing");
    assert_eq!(files_with(&s.device().join("quarantined/containers"), ".db").len(), 1, "{}", s.stderr());
    assert_eq!(s.request("PUT", other, &[("X-Timestamp", &ts())], b"").status, 201, "still serving");
    assert_eq!(s.request("PUT", C, &[("X-Timestamp", &ts())], b"").status, 201, "recreated");
}
