//! The compact ring file: devices plus the replica → partition → device
//! table, and nothing of the builder's bookkeeping. Written by the builder,
//! read by every server through [`crate::Ring`].

use std::path::Path;

use serde_json::{json, Value};

use crate::device::{DevId, Device};
use crate::error::{Error, Result};
use crate::file;

/// Largest part power a ring file may have (`2^24` partitions).
pub const MAX_PART_POWER: u8 = 24;
/// Version of the ring file layout (the `format` header key).
pub const RING_FORMAT_VERSION: u64 = 1;

/// The contents of a ring file.
#[derive(Debug, Clone, PartialEq)]
pub struct RingData {
    pub part_power: u8,
    /// Indexed by device id; `None` for ids of removed devices.
    pub devs: Vec<Option<Device>>,
    /// `replica2part2dev[replica][partition]` is a device id.
    pub replica2part2dev: Vec<Vec<DevId>>,
    /// Id of the builder that wrote this ring.
    pub builder_id: String,
    /// The builder's version counter when the ring was written.
    pub version: u64,
}

impl RingData {
    /// Number of partitions, `2^part_power`.
    pub fn parts(&self) -> usize {
        1usize << self.part_power
    }

    /// Serializes to the on-disk form (see docs/ring-format.md).
    pub fn to_bytes(&self) -> Vec<u8> {
        let devs: Vec<Value> = self.devs.iter().map(|d| d.as_ref().map_or(Value::Null, Device::to_json)).collect();
        let header = json!({
            "format": RING_FORMAT_VERSION,
            "part_power": self.part_power,
            "replicas": self.replica2part2dev.len(),
            "builder_id": self.builder_id,
            "version": self.version,
            "devs": devs,
        });
        let mut payload = Vec::with_capacity(self.replica2part2dev.len() * self.parts() * 2);
        file::put_table(&mut payload, &self.replica2part2dev);
        file::encode(file::RING_MAGIC, &header, &payload)
    }

    /// Parses and checks a ring file's bytes: every slot must name a
    /// present device.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<RingData> {
        let (h, payload) = file::decode(path, file::RING_MAGIC, bytes)?;
        let bad = |m: &str| Error::bad_file(path, m.to_string());
        if h.get("format").and_then(Value::as_u64) != Some(RING_FORMAT_VERSION) {
            return Err(bad("unsupported ring format version"));
        }
        let part_power = h
            .get("part_power")
            .and_then(Value::as_u64)
            .filter(|&p| p <= u64::from(MAX_PART_POWER))
            .ok_or_else(|| bad("bad part_power"))? as u8;
        let replicas = h
            .get("replicas")
            .and_then(Value::as_u64)
            .filter(|&r| (1..=64).contains(&r))
            .ok_or_else(|| bad("bad replicas"))?;
        let devs = parse_devs(path, &h)?;
        let (table, rest) = file::get_table(path, payload, replicas as usize, 1 << part_power)?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after table"));
        }
        for row in &table {
            for &id in row {
                if devs.get(usize::from(id)).and_then(Option::as_ref).is_none() {
                    return Err(Error::bad_file(path, format!("table names unknown device {id}")));
                }
            }
        }
        Ok(RingData {
            part_power,
            devs,
            replica2part2dev: table,
            builder_id: h.get("builder_id").and_then(Value::as_str).unwrap_or("").to_string(),
            version: h.get("version").and_then(Value::as_u64).unwrap_or(0),
        })
    }

    /// Reads a ring file.
    pub fn load(path: &Path) -> Result<RingData> {
        RingData::from_bytes(path, &file::read(path)?)
    }

    /// Writes a ring file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        file::write_atomic(path, &self.to_bytes())
    }
}

/// Reads the `devs` array of a header: objects or nulls, each at its id.
pub(crate) fn parse_devs(path: &Path, h: &Value) -> Result<Vec<Option<Device>>> {
    let arr = h.get("devs").and_then(Value::as_array).ok_or_else(|| Error::bad_file(path, "devs missing"))?;
    let mut devs = Vec::with_capacity(arr.len());
    for (i, v) in arr.iter().enumerate() {
        if v.is_null() {
            devs.push(None);
            continue;
        }
        let d = Device::from_json(v).map_err(|e| Error::bad_file(path, e))?;
        if usize::from(d.id) != i {
            return Err(Error::bad_file(path, format!("device at index {i} has id {}", d.id)));
        }
        devs.push(Some(d));
    }
    Ok(devs)
}
