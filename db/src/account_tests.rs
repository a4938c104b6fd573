use super::*;
use crate::testutil::{ts, TempDevice};
use crate::{Entry, Kind, ListParams, Options};

const HASH: &str = "0123456789abcdef0123456789abcdef";

fn broker(dev: &TempDevice) -> AccountBroker {
    let path = dev.db(Kind::Account, HASH);
    assert!(AccountBroker::initialize(&path, &dev.tmp(), "AUTH_a", ts("100")).unwrap());
    AccountBroker::open(&path, &Options::default()).unwrap()
}

fn update(name: &str, put: &str, delete: &str, objects: u64, bytes: u64) -> ContainerUpdate {
    ContainerUpdate {
        name: name.into(),
        put_timestamp: ts(put),
        delete_timestamp: ts(delete),
        object_count: objects,
        bytes_used: bytes,
        override_deleted: false,
    }
}

#[test]
fn container_rows_keep_newest_timestamps_and_latest_counts() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    assert_eq!(b.put_container(update("c1", "10", "0", 2, 20)).unwrap(), RowOutcome::Stored);
    b.put_container(update("c2", "10", "0", 1, 5)).unwrap();
    let info = b.info().unwrap();
    assert_eq!((info.container_count, info.object_count, info.bytes_used), (2, 3, 25));
    // An update with an older put timestamp keeps the newer one but takes
    // the counts (the updater always sends fresh counts).
    b.put_container(update("c1", "5", "0", 4, 40)).unwrap();
    let (row, deleted) = b.row("c1").unwrap().unwrap();
    assert_eq!((row.put_timestamp, row.object_count, deleted), (ts("10"), 4, false));
    // A delete newer than the put, with no objects, deletes the row.
    b.put_container(update("c1", "10", "20", 0, 0)).unwrap();
    let (row, deleted) = b.row("c1").unwrap().unwrap();
    assert!(deleted);
    assert_eq!(row.delete_timestamp, ts("20"));
    let info = b.info().unwrap();
    assert_eq!((info.container_count, info.object_count, info.bytes_used), (1, 1, 5));
    // A late report from before the delete does not revive it, even with
    // the objects it still counted then.
    b.put_container(update("c1", "10", "0", 0, 0)).unwrap();
    assert!(b.row("c1").unwrap().unwrap().1);
    b.put_container(update("c1", "10", "0", 7, 70)).unwrap();
    assert!(b.row("c1").unwrap().unwrap().1);
    assert_eq!(b.info().unwrap().container_count, 1);
    // A newer PUT does.
    b.put_container(update("c1", "30", "0", 0, 0)).unwrap();
    assert!(!b.row("c1").unwrap().unwrap().1);
    assert_eq!(b.info().unwrap().container_count, 2);
}

#[test]
fn listing_shows_live_containers_with_the_same_parameters() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    for n in ["a", "b-1", "b-2", "c"] {
        b.put_container(update(n, "10", "0", 1, 1)).unwrap();
    }
    b.put_container(update("c", "10", "11", 0, 0)).unwrap();
    let names = |p: ListParams| -> Vec<String> { b.list(&p).unwrap().iter().map(|e| e.name().to_string()).collect() };
    assert_eq!(names(ListParams::default()), ["a", "b-1", "b-2"]);
    assert_eq!(names(ListParams { delimiter: "-".into(), ..Default::default() }), ["a", "b-"]);
    assert_eq!(names(ListParams { reverse: true, marker: "b-2".into(), ..Default::default() }), ["b-1", "a"]);
    assert_eq!(names(ListParams { prefix: "b".into(), limit: 1, ..Default::default() }), ["b-1"]);
    assert!(matches!(b.list(&ListParams::default()).unwrap()[0], Entry::Row(ContainerRow { object_count: 1, .. })));
    assert!(b.list(&ListParams { limit: 10_001, ..Default::default() }).is_err());
}

#[test]
fn delimiter_listing_reads_one_row_per_subdirectory() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    for d in 0..300 {
        for f in ["x", "y"] {
            b.put_container(update(&format!("d{d:03}-{f}"), "10", "0", 1, 1)).unwrap();
        }
    }
    for reverse in [false, true] {
        let p = ListParams { delimiter: "-".into(), reverse, ..Default::default() };
        let mut rows = 0;
        let out =
            b.db.read(|c| {
                listing::walk(&p, |r| {
                    let v = fetch(c, r)?;
                    rows += v.len();
                    Ok(v)
                })
            })
            .unwrap();
        assert_eq!(out.len(), 300);
        assert_eq!(out, b.list(&p).unwrap());
        // Was 90,300: up to `limit` rows read for each subdir.
        assert!(rows <= 300, "reverse {reverse}: {rows} rows read for 300 subdirs");
    }
}

#[test]
fn account_delete_sets_status_and_refuses_updates() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    b.put_container(update("c", "10", "0", 0, 0)).unwrap();
    let meta: Metadata = [("X-Account-Meta-A".to_string(), ("1".to_string(), ts("101")))].into();
    b.update_metadata(&meta).unwrap();
    assert!(b.delete(ts("200")).unwrap());
    let info = b.info().unwrap();
    assert!(info.is_status_deleted() && info.is_deleted());
    assert_eq!(metadata::visible(&info.metadata).count(), 0);
    assert!(!b.delete(ts("201")).unwrap(), "second delete is a 404");
    assert_eq!(b.put_container(update("d", "10", "0", 0, 0)).unwrap(), RowOutcome::AccountDeleted);
    let forced = ContainerUpdate { override_deleted: true, ..update("d", "10", "0", 0, 0) };
    assert_eq!(b.put_container(forced).unwrap(), RowOutcome::Stored);
    assert_eq!(b.put(ts("300")).unwrap(), AccountPut::RecentlyDeleted);
}

#[test]
fn account_put_on_existing_database() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    assert_eq!(b.put(ts("150")).unwrap(), AccountPut::Updated);
    assert_eq!(b.info().unwrap().put_timestamp, ts("150"));
    assert_eq!(b.put(ts("120")).unwrap(), AccountPut::Updated, "an older PUT changes nothing");
    assert_eq!(b.info().unwrap().put_timestamp, ts("150"));
}

#[test]
fn reclaim_drops_old_deleted_rows() {
    let dev = TempDevice::new();
    let b = broker(&dev);
    b.put_container(update("old", "10", "20", 0, 0)).unwrap();
    b.put_container(update("new", "10", "40", 0, 0)).unwrap();
    b.put_container(update("live", "10", "0", 3, 3)).unwrap();
    assert_eq!(b.reclaim(ts("30")).unwrap(), 1);
    assert!(b.row("old").unwrap().is_none());
    assert!(b.row("new").unwrap().is_some());
    let info = b.info().unwrap();
    assert_eq!((info.container_count, info.object_count), (1, 3));
}

#[test]
fn registry_shares_brokers_and_forgets_quarantined_ones() {
    let dev = TempDevice::new();
    let path = dev.db(Kind::Account, HASH);
    AccountBroker::initialize(&path, &dev.tmp(), "AUTH_a", ts("1")).unwrap();
    let reg: crate::Brokers<AccountBroker> = crate::Brokers::new(Options::default(), 2);
    let a = reg.get(&path).unwrap();
    let a2 = reg.get(&path).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &a2));
    a.put_container(update("c", "10", "0", 0, 0)).unwrap();
    reg.sync_all().unwrap();
    // Evict by capacity.
    for h in ["aaa1", "aaa2"] {
        let p = dev.db(Kind::Account, h);
        AccountBroker::initialize(&p, &dev.tmp(), "AUTH_x", ts("1")).unwrap();
        reg.get(&p).unwrap();
    }
    assert_eq!(reg.len(), 2);
    // A quarantined file is reopened and then missing.
    let b = reg.get(&path).unwrap();
    let _ = b.db.quarantine("test");
    assert!(matches!(reg.get(&path), Err(Error::NotFound)));
    assert_eq!(crate::db_files(&dev.device(), Kind::Account).len(), 2);
}
