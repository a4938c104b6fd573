use super::*;
use crate::testutil::{ts, Rng, TempDevice};
use crate::{Entry, Kind, ListParams, Options};
use std::sync::Arc;

const HASH: &str = "d41d8cd98f00b204e9800998ecf8427e";

fn broker(dev: &TempDevice) -> ContainerBroker {
    let path = dev.db(Kind::Container, HASH);
    assert!(ContainerBroker::initialize(&path, &dev.tmp(), "AUTH_a", "c", ts("100")).unwrap());
    ContainerBroker::open(&path, &Options::default()).unwrap()
}

fn put(b: &ContainerBroker, name: &str, t: &str, size: u64) -> Applied {
    b.put_object(ObjectRecord::put(name, ts(t), size, "text/plain", "etag")).unwrap()
}

/// Counts recomputed from the rows, to check the triggers.
fn recount(b: &ContainerBroker) -> (u64, u64) {
    let all = b.list(&ListParams::default()).unwrap();
    let rows: Vec<_> = all.iter().filter_map(|e| if let Entry::Row(r) = e { Some(r) } else { None }).collect();
    (rows.len() as u64, rows.iter().map(|r| r.size).sum())
}

#[test]
fn initialize_creates_once_in_wal_mode_and_leaves_tmp_clean() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    assert!(!ContainerBroker::initialize(b.path(), &dev.tmp(), "AUTH_a", "c", ts("200")).unwrap());
    let info = b.info().unwrap();
    assert_eq!((info.account.as_str(), info.container.as_str()), ("AUTH_a", "c"));
    assert_eq!(info.put_timestamp, ts("100"));
    assert_eq!((info.object_count, info.bytes_used), (0, 0));
    assert!(!info.is_deleted());
    let c = rusqlite::Connection::open(b.path()).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(std::fs::read_dir(dev.tmp()).unwrap().count(), 0);
}

#[test]
fn newest_row_wins_and_counts_follow() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    assert_eq!(put(&b, "o", "10", 5), Applied::Stored);
    assert_eq!(put(&b, "o", "9", 7), Applied::Stale);
    assert_eq!(put(&b, "o", "10", 7), Applied::Stale, "same timestamp keeps the first");
    assert_eq!(put(&b, "o", "11", 3), Applied::Stored);
    put(&b, "p", "10", 4);
    let info = b.info().unwrap();
    assert_eq!((info.object_count, info.bytes_used), (2, 7));
    assert_eq!(b.row("o").unwrap().unwrap().size, 3);
    // An older delete loses; a newer one leaves a tombstone.
    assert_eq!(b.put_object(ObjectRecord::delete("o", ts("10.5"))).unwrap(), Applied::Stale);
    assert_eq!(b.put_object(ObjectRecord::delete("o", ts("12"))).unwrap(), Applied::Stored);
    let info = b.info().unwrap();
    assert_eq!((info.object_count, info.bytes_used), (1, 4));
    assert!(b.row("o").unwrap().unwrap().deleted);
    assert_eq!(b.tombstones().unwrap(), 1);
    // A PUT older than the tombstone stays deleted; a newer one revives.
    assert_eq!(put(&b, "o", "11.5", 9), Applied::Stale);
    assert_eq!(put(&b, "o", "13", 9), Applied::Stored);
    assert_eq!(b.tombstones().unwrap(), 0);
    assert_eq!(recount(&b), (2, 13));
    assert_eq!(b.info().unwrap().object_count, 2);
}

#[test]
fn offsets_order_rows_with_the_same_time() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    put(&b, "o", "10", 1);
    assert_eq!(b.put_object(ObjectRecord::put("o", ts("10").with_offset(1), 2, "a/b", "e")).unwrap(), Applied::Stored);
    assert_eq!(b.row("o").unwrap().unwrap().size, 2);
}

#[test]
fn concurrent_updates_are_group_committed_and_counted() {
    let dev = TempDevice::new();
    let b = Arc::new(broker(&dev));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let b = b.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let name = format!("t{t}/o{i:03}");
                    b.put_object(ObjectRecord::put(&name, ts("50"), 10, "x", "e")).unwrap();
                    if i % 10 == 0 {
                        b.put_object(ObjectRecord::delete(&name, ts("51"))).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let info = b.info().unwrap();
    assert_eq!((info.object_count, info.bytes_used), (720, 7200));
    assert_eq!(recount(&b), (720, 7200));
    assert_eq!(b.tombstones().unwrap(), 80);
}

#[test]
fn container_put_and_delete_follow_swifts_status_rules() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    put(&b, "o", "110", 1);
    assert_eq!(b.delete(ts("120")).unwrap(), DeleteOutcome::NotEmpty);
    b.put_object(ObjectRecord::delete("o", ts("121"))).unwrap();
    assert_eq!(b.delete(ts("130")).unwrap(), DeleteOutcome::Deleted { existed: true });
    assert!(b.info().unwrap().is_deleted());
    assert_eq!(b.delete(ts("131")).unwrap(), DeleteOutcome::Deleted { existed: false });
    // Rows are refused while deleted, tombstones are not.
    assert_eq!(put(&b, "p", "140", 1), Applied::ContainerDeleted);
    assert_eq!(b.put_object(ObjectRecord::delete("q", ts("140"))).unwrap(), Applied::Stored);
    // A PUT older than the delete conflicts; a newer one brings it back.
    assert_eq!(b.put(ts("125")).unwrap(), PutOutcome::Conflict);
    assert_eq!(b.put(ts("150")).unwrap(), PutOutcome::Recreated);
    let info = b.info().unwrap();
    assert_eq!((info.put_timestamp, info.status_changed_at), (ts("150"), ts("150")));
    assert_eq!(b.put(ts("160")).unwrap(), PutOutcome::Updated);
    // A DELETE older than the last PUT conflicts.
    assert_eq!(b.delete(ts("155")).unwrap(), DeleteOutcome::Conflict);
}

#[test]
fn delete_clears_metadata_and_metadata_merges_per_key() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    let m = |k: &str, v: &str, t: &str| -> Metadata { [(k.to_string(), (v.to_string(), ts(t)))].into() };
    b.update_metadata(&m("X-Container-Read", ".r:*", "101")).unwrap();
    b.update_metadata(&m("X-Container-Meta-A", "1", "102")).unwrap();
    let meta = b.update_metadata(&m("X-Container-Meta-A", "0", "101")).unwrap();
    assert_eq!(meta["X-Container-Meta-A"].0, "1");
    assert_eq!(metadata::visible(&b.info().unwrap().metadata).count(), 2);
    b.delete(ts("200")).unwrap();
    assert_eq!(metadata::visible(&b.info().unwrap().metadata).count(), 0);
    // Removal tombstones go at reclaim time.
    assert_eq!(b.info().unwrap().metadata.len(), 2);
    b.reclaim(ts("201")).unwrap();
    assert!(b.info().unwrap().metadata.is_empty());
}

#[test]
fn reclaim_removes_only_old_tombstones() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    for (n, t) in [("a", "10"), ("b", "20"), ("c", "30")] {
        put(&b, n, "5", 1);
        b.put_object(ObjectRecord::delete(n, ts(t))).unwrap();
    }
    put(&b, "live", "5", 8);
    assert_eq!(b.tombstones().unwrap(), 3);
    assert_eq!(b.reclaim(ts("20")).unwrap(), 1);
    assert_eq!(b.tombstones().unwrap(), 2);
    assert!(b.row("a").unwrap().is_none());
    assert!(b.row("b").unwrap().unwrap().deleted);
    let info = b.info().unwrap();
    assert_eq!((info.object_count, info.bytes_used), (1, 8));
}

#[test]
fn reported_state_tracks_what_the_account_knows() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    assert!(b.info().unwrap().needs_report());
    b.reported(ts("100"), Timestamp::ZERO, 0, 0).unwrap();
    assert!(!b.info().unwrap().needs_report());
    put(&b, "o", "101", 3);
    assert!(b.info().unwrap().needs_report());
}

/// What a listing must contain, computed from the whole sorted name list.
fn reference(names: &[String], p: &ListParams) -> Vec<String> {
    let (lo, hi) = if p.reverse { (&p.end_marker, &p.marker) } else { (&p.marker, &p.end_marker) };
    let mut sorted = names.to_vec();
    sorted.sort();
    let mut out: Vec<String> = Vec::new();
    for n in sorted {
        if (!lo.is_empty() && n <= *lo) || (!hi.is_empty() && n >= *hi) || !n.starts_with(&p.prefix) {
            continue;
        }
        let item = match (!p.delimiter.is_empty()).then(|| n[p.prefix.len()..].find(&p.delimiter)).flatten() {
            Some(i) => {
                let d = format!("{}/", &n[..p.prefix.len() + i + p.delimiter.len()]);
                if d[..d.len() - 1] == **lo || out.last() == Some(&d) {
                    continue;
                }
                d
            }
            None => n,
        };
        out.push(item);
    }
    if p.reverse {
        out.reverse();
        out.dedup();
    }
    out.truncate(p.limit);
    out
}

/// A listing through the broker's own query, with the rows SQLite returned
/// to it (every query reads its rows to the end or to its `LIMIT`).
fn list_counting_rows(b: &ContainerBroker, p: &ListParams) -> (Vec<Entry<ObjectRow>>, usize) {
    let mut rows = 0;
    let out =
        b.db.read(|c| {
            listing::walk(p, |r| {
                let v = fetch(c, r)?;
                rows += v.len();
                Ok(v)
            })
        })
        .unwrap();
    (out, rows)
}

#[test]
fn delimiter_listing_reads_one_row_per_subdirectory() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    let recs = (0..1500)
        .flat_map(|d| ["x", "y"].map(|f| ObjectRecord::put(&format!("d{d:04}/{f}"), ts("10"), 1, "x", "e")))
        .collect();
    b.put_objects(recs).unwrap();
    for reverse in [false, true] {
        let p = ListParams { delimiter: "/".into(), reverse, ..ListParams::default() };
        let (out, rows) = list_counting_rows(&b, &p);
        assert_eq!(out.len(), 1500);
        assert!(out.iter().all(|e| matches!(e, Entry::Subdir(_))));
        assert_eq!(out, b.list(&p).unwrap());
        // Was 2,251,500: up to `limit` rows read for each subdir.
        assert!(rows <= 1500, "reverse {reverse}: {rows} rows read for 1,500 subdirs");
        // `path` skips the same subtrees without listing them.
        let p = ListParams { path: Some(String::new()), reverse, ..ListParams::default() };
        let (out, rows) = list_counting_rows(&b, &p);
        assert!(out.is_empty());
        assert!(rows <= 1500, "path, reverse {reverse}: {rows} rows read for 1,500 subtrees");
    }
}

#[test]
fn sqlite_listings_match_the_reference_semantics() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    let alphabet = ["a", "b", "/", "-", "\u{e9}", "\u{1F600}", "0"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut names = Vec::new();
    for _ in 0..300 {
        let len = 1 + rng.below(5);
        let n: String = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
        if !names.contains(&n) {
            b.put_object(ObjectRecord::put(&n, ts("10"), 1, "x", "e")).unwrap();
            names.push(n);
        }
    }
    // Tombstones must never show.
    for n in names.drain(..20) {
        b.put_object(ObjectRecord::delete(&n, ts("11"))).unwrap();
    }
    let pick = |rng: &mut Rng| -> String {
        let len = rng.below(3);
        (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect()
    };
    for round in 0..400 {
        let p = ListParams {
            limit: [1, 3, 10, 10_000][rng.below(4) as usize],
            marker: if rng.below(2) == 0 { pick(&mut rng) } else { String::new() },
            end_marker: if rng.below(3) == 0 { pick(&mut rng) } else { String::new() },
            prefix: if rng.below(2) == 0 { pick(&mut rng) } else { String::new() },
            delimiter: ["", "/", "-", "a/", "\u{e9}"][rng.below(5) as usize].to_string(),
            path: None,
            reverse: rng.below(2) == 0,
        };
        let (listed, rows) = list_counting_rows(&b, &p);
        // Never more than about twice what the page holds (one row more
        // for a subdir equal to the marker, which is not listed again).
        assert!(rows <= 2 * listed.len() + 2, "round {round}: {rows} rows read for {}: {p:?}", listed.len());
        let got: Vec<String> = listed
            .into_iter()
            .map(|e| match e {
                Entry::Row(r) => r.name,
                Entry::Subdir(s) => format!("{s}/"),
            })
            .collect();
        assert_eq!(got, reference(&names, &p), "round {round}: {p:?}");
    }
}

#[test]
fn a_corrupt_file_is_quarantined_not_crashed_on() {
    let dev = TempDevice::new();
    let path = dev.db(Kind::Container, HASH);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    match ContainerBroker::open(&path, &Options::default()) {
        Err(Error::Quarantined { to, reason }) => {
            assert_eq!(reason, "not a database");
            assert_eq!(to, dev.device().join("quarantined/containers").join(HASH));
            assert!(to.join(format!("{HASH}.db")).exists());
        }
        other => panic!("{:?}", other.err()),
    }
    assert!(!path.exists());
    assert!(matches!(ContainerBroker::open(&path, &Options::default()), Err(Error::NotFound)));
}

#[test]
fn a_database_without_its_schema_is_quarantined_on_first_use() {
    let dev = TempDevice::new();
    let path = dev.db(Kind::Container, HASH);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE x (y)").unwrap();
    let b = ContainerBroker::open(&path, &Options::default()).unwrap();
    assert!(matches!(b.info(), Err(Error::Quarantined { .. })));
    assert!(b.is_bad());
    assert!(matches!(b.info(), Err(Error::NotFound)));
    // A second quarantine of the same hash gets its own folder.
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage").unwrap();
    assert!(matches!(ContainerBroker::open(&path, &Options::default()), Err(Error::Quarantined { .. })));
    assert_eq!(std::fs::read_dir(dev.device().join("quarantined/containers")).unwrap().count(), 2);
}

#[test]
fn missing_database_is_not_found() {
    let dev = TempDevice::new();
    assert!(matches!(ContainerBroker::open(&dev.db(Kind::Container, HASH), &Options::default()), Err(Error::NotFound)));
}

#[test]
fn a_write_lock_held_elsewhere_is_busy_not_a_wait() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    let other = rusqlite::Connection::open(b.path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let t = std::time::Instant::now();
    let e = b.put_object(ObjectRecord::put("o", ts("1"), 1, "x", "e")).unwrap_err();
    assert!(e.is_busy(), "{e}");
    assert!(t.elapsed() < std::time::Duration::from_millis(500));
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(put(&b, "o", "1", 1), Applied::Stored);
}

#[test]
fn update_put_timestamp_only_moves_forward() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    b.update_put_timestamp(ts("150")).unwrap();
    assert_eq!(b.info().unwrap().put_timestamp, ts("150"));
    b.update_put_timestamp(ts("120")).unwrap();
    assert_eq!(b.info().unwrap().put_timestamp, ts("150"));
}
