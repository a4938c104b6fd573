//! `async_pending` records: container updates that could not be sent,
//! kept on disk until the object-updater delivers them.
//!
//! Path: `devices/{dev}/async_pending/{suffix}/{hash}-{timestamp}` (Swift's
//! layout). Content: one JSON object (Swift uses a pickle; we use no
//! pickle-like format):
//!
//! ```json
//! {"op": "PUT", "account": "a", "container": "c", "obj": "o",
//!  "headers": {"X-Timestamp": "...", "X-Size": "3", ...},
//!  "targets": [{"host": "127.0.0.1:6201", "device": "sdb", "partition": "7"}]}
//! ```
//!
//! Written to `tmp/`, fsynced, renamed into place, folder fsynced: a
//! record exists whole or not at all. Unlike Swift (which looks the
//! container up in the ring again), the record names the replicas the
//! proxy chose, and only those that failed.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::diskfile::layout::{ASYNC_PENDING, TMP};
use crate::object::diskfile::writer::fsync_dir;
use crate::timestamp::Timestamp;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A container replica to update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `ip:port`.
    pub host: String,
    pub device: String,
    pub partition: String,
}

/// One pending container update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `PUT` or `DELETE`.
    pub op: String,
    pub account: String,
    pub container: String,
    pub obj: String,
    pub headers: BTreeMap<String, String>,
    pub targets: Vec<Target>,
}

impl Record {
    pub fn to_json(&self) -> Vec<u8> {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| json!({"host": t.host, "device": t.device, "partition": t.partition}))
            .collect();
        let v = json!({
            "op": self.op, "account": self.account, "container": self.container, "obj": self.obj,
            "headers": self.headers, "targets": targets,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    pub fn from_json(bytes: &[u8]) -> Option<Record> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let headers = v
            .get("headers")?
            .as_object()?
            .iter()
            .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect::<Option<BTreeMap<_, _>>>()?;
        let targets = v
            .get("targets")?
            .as_array()?
            .iter()
            .map(|t| {
                let f = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
                Some(Target { host: f("host")?, device: f("device")?, partition: f("partition")? })
            })
            .collect::<Option<Vec<_>>>()?;
        let op = s("op")?;
        if op != "PUT" && op != "DELETE" {
            return None;
        }
        Some(Record { op, account: s("account")?, container: s("container")?, obj: s("obj")?, headers, targets })
    }
}

/// The record's path for an object hash and timestamp.
pub fn record_path(device_dir: &Path, hash: &str, ts: Timestamp) -> PathBuf {
    device_dir.join(ASYNC_PENDING).join(&hash[hash.len().saturating_sub(3)..]).join(format!("{hash}-{}", ts.internal()))
}

/// Saves a record durably (on `tpool`).
pub fn save(ctx: &Context, device: &str, hash: &str, ts: Timestamp, record: &Record) -> Result<()> {
    let (c, dev, hash, bytes) = (ctx.clone(), device.to_string(), hash.to_string(), record.to_json());
    hub::tpool::execute(move || {
        let device_dir = c.check_device(&dev)?;
        write_durably(&device_dir, &record_path(&device_dir, &hash, ts), &bytes)
    })
}

/// tmp + write + fsync + rename + fsync of the folder(s). Blocking.
pub fn write_durably(device_dir: &Path, dest: &Path, bytes: &[u8]) -> Result<()> {
    let disk = |what: &'static str| move |e: std::io::Error| Error::from_disk_write(what, e);
    let tmp_dir = device_dir.join(TMP);
    fs::create_dir_all(&tmp_dir).map_err(disk("creating tmp/"))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp =
        tmp_dir.join(format!("async-{name}-{}{}", std::process::id(), crate::object::diskfile::writer::TMP_SUFFIX));
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(disk("creating an async_pending record"))?;
        f.write_all(bytes).map_err(disk("writing an async_pending record"))?;
        f.sync_all().map_err(disk("fsync of an async_pending record"))?;
        let dir = dest.parent().unwrap_or(device_dir);
        let top = device_dir.join(ASYNC_PENDING);
        let new_top = !top.exists();
        let new_dir = !dir.exists();
        fs::create_dir_all(dir).map_err(disk("creating async_pending/"))?;
        fs::rename(&tmp, dest).map_err(disk("renaming an async_pending record"))?;
        fsync_dir(dir).map_err(disk("fsync of async_pending/"))?;
        if new_dir {
            fsync_dir(&top).map_err(disk("fsync of async_pending/"))?;
        }
        if new_top {
            fsync_dir(device_dir).map_err(disk("fsync of a device"))?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Every record on every device, newest first within one object; older
/// records of an object that has a newer one are returned in `superseded`
/// (Swift's updater deletes them). Blocking.
pub fn scan(devices: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut live, mut superseded) = (Vec::new(), Vec::new());
    let Ok(devs) = fs::read_dir(devices) else { return (live, superseded) };
    for dev in devs.flatten() {
        let Ok(suffixes) = fs::read_dir(dev.path().join(ASYNC_PENDING)) else { continue };
        for suffix in suffixes.flatten() {
            let Ok(files) = fs::read_dir(suffix.path()) else { continue };
            let mut names: Vec<String> =
                files.flatten().map(|f| f.file_name().to_string_lossy().into_owned()).collect();
            names.sort();
            names.reverse();
            let mut last_hash: Option<String> = None;
            for name in names {
                let Some((hash, _ts)) = name.split_once('-') else { continue };
                if last_hash.as_deref() == Some(hash) {
                    superseded.push(suffix.path().join(&name));
                } else {
                    last_hash = Some(hash.to_string());
                    live.push(suffix.path().join(&name));
                }
            }
        }
    }
    (live, superseded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            op: "PUT".into(),
            account: "a".into(),
            container: "c".into(),
            obj: "o/\u{2603}".into(),
            headers: [("X-Size".to_string(), "3".to_string())].into_iter().collect(),
            targets: vec![Target { host: "127.0.0.1:1".into(), device: "sdb".into(), partition: "7".into() }],
        }
    }

    #[test]
    fn records_round_trip_as_json() {
        let r = record();
        assert_eq!(Record::from_json(&r.to_json()), Some(r));
        assert_eq!(Record::from_json(b"{\"op\": \"GET\"}"), None);
        assert_eq!(Record::from_json(b"garbage"), None);
    }

    #[test]
    fn newer_records_supersede_older_ones() {
        let dev = std::env::temp_dir().join(format!("swiftlet-async-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dev);
        let d = dev.join("sda");
        fs::create_dir_all(&d).unwrap();
        let hash = "0123456789abcdef0123456789abcdef";
        for t in ["1700000000", "1700000001"] {
            let p = record_path(&d, hash, Timestamp::parse(t).unwrap());
            write_durably(&d, &p, &record().to_json()).unwrap();
        }
        let (live, old) = scan(&dev);
        assert_eq!(live.len(), 1);
        assert!(live[0].to_string_lossy().ends_with("-1700000001.00000"));
        assert_eq!(old.len(), 1);
        assert!(fs::read_dir(d.join(TMP)).unwrap().next().is_none());
        fs::remove_dir_all(&dev).unwrap();
    }
}
