//! The process: config errors, sd_notify, SIGTERM, container updates and
//! the updater, crashes and full disks.

mod common;

use common::*;
use std::io::Write;
use std::process::Command;
use std::time::Duration;

#[test]
fn bad_config_names_the_key_and_exits_non_zero() {
    let dir = TempDir::new("badconf");
    let conf = dir.0.join("bad.conf");
    std::fs::write(&conf, "[DEFAULT]\nbind_port = sixty-two-hundred\n").unwrap();
    let out = Command::new(BIN).arg("--config").arg(&conf).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bind_port"), "{err}");
    let out = Command::new(BIN).arg("--config").arg(dir.0.join("missing.conf")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.conf"));
    // No swift.conf: a clear error too.
    std::fs::write(&conf, format!("[DEFAULT]\nswift_dir = {}\n", dir.0.display())).unwrap();
    let out = Command::new(BIN).arg("--config").arg(&conf).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("swift.conf"));
}

#[test]
fn notifies_ready_and_stopping_and_stops_on_sigterm() {
    let s = ObjectServer::prepare(TempDir::new("notify"), &[], &[]);
    let sock_path = s.dir.0.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&s.conf)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"READY=1");
    assert!(std::net::TcpStream::connect(s.addr()).is_ok(), "READY=1 before listening");
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let n = sock.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

fn put_with_container(s: &ObjectServer, path: &str, container_port: u16, body: &[u8]) -> Reply {
    let host = format!("127.0.0.1:{container_port}");
    let t = ts();
    s.request(
        "PUT",
        path,
        &[
            ("X-Timestamp", &t),
            ("Content-Type", "text/plain"),
            ("X-Container-Host", &host),
            ("X-Container-Device", "sdc"),
            ("X-Container-Partition", "7"),
            ("X-Trans-Id", "tx-test"),
        ],
        body,
    )
}

#[test]
fn container_is_updated_after_put_and_delete() {
    let fake = FakeContainer::start(0);
    let port = fake.port;
    let s = ObjectServer::start("update");
    assert_eq!(put_with_container(&s, "/sda/1/a/c/o%20x", port, b"abc").status, 201);
    let ups = fake.updates();
    assert_eq!(ups.len(), 1, "{ups:?}");
    let u = &ups[0];
    assert_eq!((u.method.as_str(), u.path.as_str()), ("PUT", "/sdc/7/a/c/o%20x"));
    assert_eq!(u.headers["x-size"], "3");
    assert_eq!(u.headers["x-etag"], md5_hex(b"abc"));
    assert_eq!(u.headers["x-content-type"], "text/plain");
    assert_eq!(u.headers["x-trans-id"], "tx-test");
    assert!(u.headers.contains_key("x-timestamp"));
    let t = ts();
    let host = format!("127.0.0.1:{port}");
    let d = s.request(
        "DELETE",
        "/sda/1/a/c/o%20x",
        &[
            ("X-Timestamp", &t),
            ("X-Container-Host", &host),
            ("X-Container-Device", "sdc"),
            ("X-Container-Partition", "7"),
        ],
        b"",
    );
    assert_eq!(d.status, 204);
    let ups = fake.updates();
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[1].method, "DELETE");
    assert_eq!(ups[1].headers["x-timestamp"], t);
    assert!(files_with(&s.device().join("async_pending"), "").is_empty());
}

#[test]
fn a_post_that_changes_the_content_type_updates_the_listing_row() {
    let fake = FakeContainer::start(0);
    let port = fake.port;
    let s = ObjectServer::start("post-update");
    assert_eq!(put_with_container(&s, "/sda/1/a/c/o", port, b"abcd").status, 201);
    let host = format!("127.0.0.1:{port}");
    let post = |extra: (&str, &str)| {
        let t = ts();
        let h = [
            ("X-Timestamp", t.as_str()),
            ("X-Container-Host", host.as_str()),
            ("X-Container-Device", "sdc"),
            ("X-Container-Partition", "7"),
            extra,
        ];
        assert_eq!(s.request("POST", "/sda/1/a/c/o", &h, b"").status, 202);
        t
    };
    // Metadata only: no row change.
    post(("X-Object-Meta-A", "b"));
    assert_eq!(fake.updates().len(), 1);
    // A new Content-Type: the row gets it, with the same size and ETag.
    let t = post(("Content-Type", "image/x-new"));
    let ups = fake.updates();
    assert_eq!(ups.len(), 2, "{ups:?}");
    let u = &ups[1];
    assert_eq!((u.method.as_str(), u.headers["x-content-type"].as_str()), ("PUT", "image/x-new"));
    assert_eq!((u.headers["x-size"].as_str(), u.headers["x-etag"].as_str()), ("4", md5_hex(b"abcd").as_str()));
    assert_eq!(u.headers["x-timestamp"], t);
}

#[test]
fn failed_updates_wait_in_async_pending_until_the_updater_delivers_them_across_restarts() {
    let port = free_port();
    // The updater must not deliver before the restart: a long interval.
    let s = ObjectServer::start_with("async", &[("container_update_timeout", "0.5")], &[("interval", "60")]);
    assert_eq!(put_with_container(&s, "/sda/1/a/c/o", port, b"abc").status, 201);
    let pending = files_with(&s.device().join("async_pending"), "");
    assert_eq!(pending.len(), 1, "{}", s.stderr());
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&pending[0]).unwrap()).unwrap();
    assert_eq!(record["op"], "PUT");
    assert_eq!(record["headers"]["X-Size"], "3");
    // Restart with a quick updater, then bring the container up.
    let mut s = s;
    s.kill9();
    let text = std::fs::read_to_string(&s.conf).unwrap().replace("interval = 60", "interval = 1");
    std::fs::write(&s.conf, text).unwrap();
    let s = s.spawn(None);
    // The restarted updater found the record and failed to deliver it
    // (the container is still down) before the container comes up.
    assert!(eventually(20, || s.stderr().contains("0 successes, 1 failures")), "{}", s.stderr());
    let fake = FakeContainer::start(port);
    assert!(
        eventually(20, || files_with(&s.device().join("async_pending"), "").is_empty()),
        "still pending: {}",
        s.stderr()
    );
    let ups = fake.updates();
    assert_eq!(ups.len(), 1, "{ups:?}");
    assert_eq!(ups[0].path, "/sdc/7/a/c/o");
    assert_eq!(ups[0].headers["x-etag"], md5_hex(b"abc"));
}

#[test]
fn kill_9_during_a_100_mb_put_leaves_no_object_and_no_partial_data() {
    let s = ObjectServer::start("kill9");
    let mut c = std::net::TcpStream::connect(s.addr()).unwrap();
    let total: u64 = 100 * 1024 * 1024;
    let head = format!(
        "PUT /sda/1/a/c/big HTTP/1.1\r\nHost: x\r\nX-Timestamp: {}\r\nContent-Type: a/b\r\nContent-Length: {total}\r\n\r\n",
        ts()
    );
    c.write_all(head.as_bytes()).unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..40 {
        c.write_all(&chunk).unwrap();
    }
    // The body is arriving: the temp file exists and is growing.
    assert!(eventually(10, || files_with(&s.device().join("tmp"), ".swtmp").len() == 1));
    let mut s = s;
    s.kill9();
    drop(c);
    assert!(files_with(&s.device().join("objects"), ".data").is_empty());
    let s = s.spawn(None);
    assert_eq!(s.request("HEAD", "/sda/1/a/c/big", &[], b"").status, 404);
    assert!(files_with(&s.device(), ".data").is_empty());
    assert!(files_with(&s.device().join("tmp"), "").is_empty(), "tmp/ not swept at start");
    assert!(s.stderr().contains("removed 1 temp files"), "{}", s.stderr());
}

/// Runs the server inside `unshare -m` with a 4 MiB tmpfs mounted on its
/// device; `None` (with the reason printed) if mounting is impossible here.
fn start_on_small_tmpfs(name: &str) -> Option<ObjectServer> {
    start_on_tmpfs(name, "4m", "0")
}

/// [`start_on_small_tmpfs`] with a tmpfs of `size` and `fallocate_reserve`.
fn start_on_tmpfs(name: &str, size: &str, reserve: &str) -> Option<ObjectServer> {
    let probe = Command::new("unshare").args(["-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"]).output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            println!(
                "SKIPPED {name}: cannot mount a tmpfs in a mount namespace: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return None;
        }
        Err(e) => {
            println!("SKIPPED {name}: unshare not available: {e}");
            return None;
        }
    }
    let s = ObjectServer::prepare(TempDir::new(name), &[("mount_check", "true"), ("fallocate_reserve", reserve)], &[]);
    let dev = s.device();
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs '{}' && exec '{BIN}' --config '{}'",
        dev.display(),
        s.conf.display()
    );
    Some(s.spawn(Some(&["unshare", "-m", "sh", "-c", &script])))
}

#[test]
fn a_full_small_filesystem_gives_507_and_no_partial_file() {
    let Some(s) = start_on_small_tmpfs("full") else { return };
    // The device as the server sees it, inside its mount namespace.
    let dev = std::path::PathBuf::from(format!("/proc/{}/root{}", s.pid(), s.device().display()));
    let ok = s.request("PUT", "/sda/1/a/c/small", &[("X-Timestamp", &ts()), ("Content-Type", "a/b")], &[1u8; 100_000]);
    assert_eq!(ok.status, 201, "{}", s.stderr());
    // Declared too big: fallocate/reserve refuses before any byte is read.
    let big = vec![2u8; 6 << 20];
    let h = [("X-Timestamp", ts()), ("Content-Type", "a/b".into()), ("Expect", "100-continue".into())];
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = s.request("PUT", "/sda/1/a/c/big", &h, &big);
    assert_eq!(r.status, 507, "{}", s.stderr());
    // Chunked, so no size is known: the disk fills while writing.
    let mut body = Vec::new();
    for _ in 0..6 {
        body.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
        body.extend_from_slice(&vec![3u8; 1 << 20]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let r = s.request(
        "PUT",
        "/sda/1/a/c/chunked",
        &[("X-Timestamp", &ts()), ("Content-Type", "a/b"), ("Transfer-Encoding", "chunked")],
        &body,
    );
    assert_eq!(r.status, 507, "{}", s.stderr());
    assert_eq!(s.request("HEAD", "/sda/1/a/c/big", &[], b"").status, 404);
    assert_eq!(s.request("HEAD", "/sda/1/a/c/chunked", &[], b"").status, 404);
    assert_eq!(files_with(&dev.join("objects"), ".data").len(), 1);
    assert!(files_with(&dev.join("tmp"), "").is_empty(), "partial temp file left");
    // Deletes still work on a full disk.
    assert_eq!(s.request("DELETE", "/sda/1/a/c/small", &[("X-Timestamp", &ts())], b"").status, 204);
    // Outside the namespace the device is a plain folder: nothing leaked.
    assert!(files_with(&s.device(), "").is_empty());
}

/// A chunked body in `n` chunks of 1 MiB.
fn chunked_mib(n: usize) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..n {
        body.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
        body.extend_from_slice(&vec![3u8; 1 << 20]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}

#[test]
fn a_chunked_body_stops_at_fallocate_reserve() {
    // 96 MiB with 40 MiB kept free: an undeclared body may take ~56 MiB.
    let Some(s) = start_on_tmpfs("chunked-reserve", "96m", "41943040") else { return };
    let dev = std::path::PathBuf::from(format!("/proc/{}/root{}", s.pid(), s.device().display()));
    let chunked = [("X-Timestamp", ts()), ("Content-Type", "a/b".into()), ("Transfer-Encoding", "chunked".into())];
    let chunked: Vec<(&str, &str)> = chunked.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = s.request("PUT", "/sda/1/a/c/fits", &chunked, &chunked_mib(20));
    assert_eq!(r.status, 201, "{}", s.stderr());
    let r = s.request("PUT", "/sda/1/a/c/grows", &chunked, &chunked_mib(50));
    assert_eq!(r.status, 507, "the reserve is checked as the body grows");
    assert_eq!(s.request("HEAD", "/sda/1/a/c/grows", &[], b"").status, 404);
    assert!(files_with(&dev.join("tmp"), "").is_empty(), "partial temp file left");
    assert_eq!(s.request("DELETE", "/sda/1/a/c/fits", &[("X-Timestamp", &ts())], b"").status, 204);
}

#[test]
fn concurrent_chunked_bodies_stop_at_fallocate_reserve_together() {
    // 96 MiB with 40 MiB kept free: at most three 15 MiB bodies fit, each
    // holding a 16 MiB window of the free space until its next check.
    let Some(s) = start_on_tmpfs("chunked-reserve-race", "96m", "41943040") else { return };
    let addr = s.addr();
    let puts: Vec<_> = (0..5)
        .map(|i| {
            std::thread::spawn(move || {
                let h =
                    [("X-Timestamp", ts()), ("Content-Type", "a/b".into()), ("Transfer-Encoding", "chunked".into())];
                let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
                request(addr, "PUT", &format!("/sda/1/a/c/o{i}"), &h, &chunked_mib(15)).status
            })
        })
        .collect();
    let statuses: Vec<u16> = puts.into_iter().map(|p| p.join().unwrap()).collect();
    assert!(statuses.iter().all(|s| *s == 201 || *s == 507), "{statuses:?}");
    let stored = statuses.iter().filter(|s| **s == 201).count();
    assert!((1..=3).contains(&stored), "{stored} bodies of 15 MiB stored: {statuses:?}");
    let dev = std::path::PathBuf::from(format!("/proc/{}/root{}", s.pid(), s.device().display()));
    assert!(files_with(&dev.join("tmp"), "").is_empty(), "partial temp file left");
}

#[test]
fn bodies_over_max_file_size_are_413_declared_or_chunked() {
    let s = ObjectServer::prepare(TempDir::new("max-file-size"), &[], &[]);
    let swift_conf = s.dir.0.join("swift/swift.conf");
    let text = std::fs::read_to_string(&swift_conf).unwrap() + "\n[swift-constraints]\nmax_file_size = 1048576\n";
    std::fs::write(&swift_conf, text).unwrap();
    let s = s.spawn(None);
    let put = |name: &str, extra: &[(&str, &str)], body: &[u8]| {
        let t = ts();
        let mut h = vec![("X-Timestamp", t.as_str()), ("Content-Type", "a/b")];
        h.extend_from_slice(extra);
        s.request("PUT", &format!("/sda/1/a/c/{name}"), &h, body).status
    };
    assert_eq!(put("exact", &[], &vec![1u8; 1 << 20]), 201);
    assert_eq!(put("declared", &[], &vec![1u8; (1 << 20) + 1]), 413);
    assert_eq!(put("chunked", &[("Transfer-Encoding", "chunked")], &chunked_mib(2)), 413);
    let backend_len = ("X-Backend-Obj-Content-Length", "2097152");
    assert_eq!(put("announced", &[("Transfer-Encoding", "chunked"), backend_len], &chunked_mib(2)), 413);
    // A chunked body is held to the length it announced as it arrives.
    let small_len = ("X-Backend-Obj-Content-Length", "1");
    assert_eq!(put("understated", &[("Transfer-Encoding", "chunked"), small_len], &chunked_mib(1)), 400);
    for name in ["declared", "chunked", "announced", "understated"] {
        assert_eq!(s.request("HEAD", &format!("/sda/1/a/c/{name}"), &[], b"").status, 404);
    }
    assert!(files_with(&s.device().join("tmp"), "").is_empty(), "partial temp file left");
}

#[test]
fn an_unmounted_device_is_507_with_mount_check() {
    let s = ObjectServer::start_with("mountcheck", &[("mount_check", "true")], &[]);
    let r = s.request("PUT", "/sda/1/a/c/o", &[("X-Timestamp", &ts()), ("Content-Type", "a/b")], b"x");
    assert_eq!(r.status, 507);
    assert!(files_with(&s.device(), "").is_empty());
}
