//! Builder files (`*.builder`): the builder's whole state, in the container
//! format of [`crate::file`]. See docs/ring-format.md.

use std::path::Path;

use serde_json::{json, Value};

use super::RingBuilder;
use crate::device::{DevId, Device};
use crate::error::{Error, Result};
use crate::file;
use crate::ringdata::{parse_devs, MAX_PART_POWER};

/// Version of the builder file layout.
pub const BUILDER_FORMAT_VERSION: u64 = 1;

impl RingBuilder {
    /// Serializes the builder.
    pub fn to_bytes(&self) -> Vec<u8> {
        let devs: Vec<Value> = self.devs.iter().map(|d| d.as_ref().map_or(Value::Null, Device::to_json)).collect();
        let header = json!({
            "format": BUILDER_FORMAT_VERSION,
            "part_power": self.part_power,
            "replicas": self.replicas,
            "min_part_hours": self.min_part_hours,
            "overload": self.overload,
            "version": self.version,
            "id": self.id,
            "devs": devs,
            "remove_devs": self.remove_pending,
            "last_part_moves_epoch": self.last_part_moves_epoch,
            "dispersion": self.dispersion,
            "devs_changed": self.devs_changed,
            "rebalanced": self.ever_rebalanced(),
        });
        let mut payload = Vec::new();
        if self.ever_rebalanced() {
            file::put_table(&mut payload, &self.table);
            payload.extend_from_slice(&self.last_part_moves);
        }
        file::encode(file::BUILDER_MAGIC, &header, &payload)
    }

    /// Parses a builder file's bytes.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<RingBuilder> {
        let (h, payload) = file::decode(path, file::BUILDER_MAGIC, bytes)?;
        let bad = |m: &str| Error::bad_file(path, m.to_string());
        let num = |k: &str| h.get(k).and_then(Value::as_u64).ok_or_else(|| bad(&format!("{k} missing")));
        if num("format")? != BUILDER_FORMAT_VERSION {
            return Err(bad("unsupported builder format version"));
        }
        let part_power = u8::try_from(num("part_power")?)
            .ok()
            .filter(|p| (1..=MAX_PART_POWER).contains(p))
            .ok_or_else(|| bad("bad part_power"))?;
        let replicas =
            u32::try_from(num("replicas")?).ok().filter(|r| (1..=64).contains(r)).ok_or_else(|| bad("bad replicas"))?;
        let min_part_hours = u8::try_from(num("min_part_hours")?).map_err(|_| bad("bad min_part_hours"))?;
        let devs = parse_devs(path, &h)?;
        let mut remove_pending = Vec::new();
        for v in h.get("remove_devs").and_then(Value::as_array).ok_or_else(|| bad("remove_devs missing"))? {
            let id = v.as_u64().and_then(|i| DevId::try_from(i).ok()).ok_or_else(|| bad("bad remove_devs"))?;
            if devs.get(usize::from(id)).and_then(Option::as_ref).is_none() {
                return Err(bad("remove_devs names an unknown device"));
            }
            remove_pending.push(id);
        }
        let parts = 1usize << part_power;
        let (table, last_part_moves) = if h.get("rebalanced").and_then(Value::as_bool).unwrap_or(false) {
            let (table, rest) = file::get_table(path, payload, replicas as usize, parts)?;
            if rest.len() != parts {
                return Err(bad("last_part_moves has the wrong length"));
            }
            for row in &table {
                for &d in row {
                    if devs.get(usize::from(d)).and_then(Option::as_ref).is_none() {
                        return Err(Error::bad_file(path, format!("table names unknown device {d}")));
                    }
                }
            }
            (table, rest.to_vec())
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(RingBuilder {
            part_power,
            replicas,
            min_part_hours,
            overload: h.get("overload").and_then(Value::as_f64).filter(|o| o.is_finite() && *o >= 0.0).unwrap_or(0.0),
            devs,
            remove_pending,
            table,
            last_part_moves,
            last_part_moves_epoch: num("last_part_moves_epoch")?,
            version: num("version")?,
            id: h.get("id").and_then(Value::as_str).unwrap_or("").to_string(),
            devs_changed: h.get("devs_changed").and_then(Value::as_bool).unwrap_or(false),
            dispersion: h.get("dispersion").and_then(Value::as_f64),
        })
    }

    /// Reads a builder file.
    pub fn load(path: &Path) -> Result<RingBuilder> {
        RingBuilder::from_bytes(path, &file::read(path)?)
    }

    /// Writes the builder file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        file::write_atomic(path, &self.to_bytes())
    }
}
