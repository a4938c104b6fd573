//! A device (one disk of one storage server) and the operator syntaxes that
//! name devices: Swift's add value `r1z1-10.0.0.1:6200R10.0.1.1:6300/sdb1_meta`
//! and search value `d3r1z1-10.0.0.1:6200/sdb1`.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};

/// Device ids are small integers; the ring table stores them as `u16`, and
/// `u16::MAX` marks an unassigned slot, so at most 65,535 devices.
pub type DevId = u16;

/// The "no device" marker in replica-to-partition-to-device tables.
pub const NONE_DEV: DevId = DevId::MAX;

/// One device, with the fields Swift keeps for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: DevId,
    pub region: u32,
    pub zone: u32,
    pub ip: String,
    pub port: u16,
    pub replication_ip: String,
    pub replication_port: u16,
    /// The device's directory name under the server's devices root.
    pub device: String,
    /// Relative capacity; 0 drains the device.
    pub weight: f64,
    /// Free text for operators.
    pub meta: String,
}

impl Device {
    /// Swift's one-line form: `d1r1z1-10.0.0.1:6200R10.0.0.1:6200/sdb1_"meta"`.
    pub fn format(&self) -> String {
        format!(
            "d{}r{}z{}-{}:{}R{}:{}/{}_\"{}\"",
            self.id,
            self.region,
            self.zone,
            bracket_ipv6(&self.ip),
            self.port,
            bracket_ipv6(&self.replication_ip),
            self.replication_port,
            self.device,
            self.meta
        )
    }

    /// The JSON object stored in ring and builder files.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "region": self.region, "zone": self.zone,
            "ip": self.ip, "port": self.port,
            "replication_ip": self.replication_ip, "replication_port": self.replication_port,
            "device": self.device, "weight": self.weight, "meta": self.meta,
        })
    }

    /// Reads the JSON object written by [`Device::to_json`].
    pub fn from_json(v: &Value) -> std::result::Result<Device, String> {
        let o = v.as_object().ok_or("device is not an object")?;
        let ip = get_str(o, "ip")?;
        let port = get_u16(o, "port")?;
        Ok(Device {
            id: get_u16(o, "id")?,
            region: get_u32(o, "region")?,
            zone: get_u32(o, "zone")?,
            replication_ip: o.get("replication_ip").and_then(Value::as_str).unwrap_or(&ip).to_string(),
            replication_port: match o.get("replication_port") {
                Some(_) => get_u16(o, "replication_port")?,
                None => port,
            },
            ip,
            port,
            device: get_str(o, "device")?,
            weight: o.get("weight").and_then(Value::as_f64).ok_or("device weight missing")?,
            meta: o.get("meta").and_then(Value::as_str).unwrap_or("").to_string(),
        })
    }
}

fn get_str(o: &Map<String, Value>, k: &str) -> std::result::Result<String, String> {
    o.get(k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("device field {k} missing"))
}

fn get_u32(o: &Map<String, Value>, k: &str) -> std::result::Result<u32, String> {
    o.get(k)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("device field {k} missing or out of range"))
}

fn get_u16(o: &Map<String, Value>, k: &str) -> std::result::Result<u16, String> {
    o.get(k)
        .and_then(Value::as_u64)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| format!("device field {k} missing or out of range"))
}

/// `[::1]` for IPv6 addresses, unchanged otherwise.
pub fn bracket_ipv6(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// A parsed add value; `region` and the replication address are optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AddValue {
    pub region: Option<u32>,
    pub zone: u32,
    pub ip: String,
    pub port: u16,
    pub replication_ip: Option<String>,
    pub replication_port: Option<u16>,
    pub device: String,
    pub meta: String,
}

/// Parses `[r<region>]z<zone>-<ip>:<port>[R<r_ip>:<r_port>]/<device>[_<meta>]`.
pub fn parse_add_value(value: &str) -> Result<AddValue> {
    let bad = || Error::BadValue(format!("Invalid add value: {value}"));
    let mut rest = value;
    let mut out = AddValue::default();
    if let Some(r) = rest.strip_prefix('r') {
        let (n, r) = take_number(r).ok_or_else(bad)?;
        out.region = Some(n);
        rest = r;
    }
    let r = rest.strip_prefix('z').ok_or_else(bad)?;
    let (zone, r) = take_number(r).ok_or_else(bad)?;
    out.zone = zone;
    let r = r.strip_prefix('-').ok_or_else(bad)?;
    let (ip, port, r) = take_address(r).ok_or_else(bad)?;
    out.ip = ip;
    out.port = port.ok_or_else(bad)?;
    rest = r;
    if let Some(r) = rest.strip_prefix('R') {
        let (ip, port, r) = take_address(r).ok_or_else(bad)?;
        out.replication_ip = Some(ip);
        out.replication_port = Some(port.ok_or_else(bad)?);
        rest = r;
    }
    let r = rest.strip_prefix('/').ok_or_else(bad)?;
    let (device, meta) = match r.split_once('_') {
        Some((d, m)) => (d, m),
        None => (r, ""),
    };
    validate_device_name(device)?;
    out.device = device.to_string();
    out.meta = meta.to_string();
    Ok(out)
}

/// Swift refuses device names that are empty or contain `/`.
pub fn validate_device_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Error::BadValue(format!("Invalid device name: {name:?}")));
    }
    Ok(())
}

fn take_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n = s[..end].parse().ok()?;
    Some((n, &s[end..]))
}

/// An address `ip[:port]` or `[v6][:port]`; the ip ends at `:`, `/`, `R`
/// or `_`. Returns the ip, the optional port and the rest.
pub(crate) fn take_address(s: &str) -> Option<(String, Option<u16>, &str)> {
    let (ip, rest) = if let Some(r) = s.strip_prefix('[') {
        let end = r.find(']')?;
        (&r[..end], &r[end + 1..])
    } else {
        let end = s.find([':', '/', 'R', '_']).unwrap_or(s.len());
        (&s[..end], &s[end..])
    };
    if ip.is_empty() {
        return None;
    }
    match rest.strip_prefix(':') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            let port = r[..end].parse().ok()?;
            Some((ip.to_string(), Some(port), &r[end..]))
        }
        None => Some((ip.to_string(), None, rest)),
    }
}

/// A search value: every field that is set must match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    pub id: Option<DevId>,
    pub region: Option<u32>,
    pub zone: Option<u32>,
    pub ip: Option<String>,
    pub port: Option<u16>,
    pub replication_ip: Option<String>,
    pub replication_port: Option<u16>,
    pub device: Option<String>,
    pub meta: Option<String>,
    pub weight: Option<f64>,
}

impl Search {
    /// Parses Swift's search value: `d<id>r<region>z<zone>-<ip>:<port>
    /// R<r_ip>:<r_port>/<device>_<meta>`, every part optional, in order.
    pub fn parse(value: &str) -> Result<Search> {
        let bad = || Error::BadValue(format!("Invalid search value: {value}"));
        let mut s = Search::default();
        let mut rest = value;
        if rest.is_empty() {
            return Err(bad());
        }
        if let Some(r) = rest.strip_prefix('d') {
            let (n, r) = take_number(r).ok_or_else(bad)?;
            s.id = Some(DevId::try_from(n).map_err(|_| bad())?);
            rest = r;
        }
        if let Some(r) = rest.strip_prefix('r') {
            let (n, r) = take_number(r).ok_or_else(bad)?;
            s.region = Some(n);
            rest = r;
        }
        if let Some(r) = rest.strip_prefix('z') {
            let (n, r) = take_number(r).ok_or_else(bad)?;
            s.zone = Some(n);
            rest = r;
        }
        if let Some(r) = rest.strip_prefix('-') {
            let (ip, port, r) = take_address(r).ok_or_else(bad)?;
            s.ip = Some(ip);
            s.port = port;
            rest = r;
        } else if let Some(r) = rest.strip_prefix(':') {
            let (n, r) = take_number(r).ok_or_else(bad)?;
            s.port = Some(u16::try_from(n).map_err(|_| bad())?);
            rest = r;
        }
        if let Some(r) = rest.strip_prefix('R') {
            if let Some(r2) = r.strip_prefix(':') {
                let (n, r2) = take_number(r2).ok_or_else(bad)?;
                s.replication_port = Some(u16::try_from(n).map_err(|_| bad())?);
                rest = r2;
            } else {
                let (ip, port, r) = take_address(r).ok_or_else(bad)?;
                s.replication_ip = Some(ip);
                s.replication_port = port;
                rest = r;
            }
        }
        if let Some(r) = rest.strip_prefix('/') {
            let end = r.find('_').unwrap_or(r.len());
            s.device = Some(r[..end].to_string());
            rest = &r[end..];
        }
        if let Some(r) = rest.strip_prefix('_') {
            s.meta = Some(r.to_string());
            rest = "";
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        Ok(s)
    }

    /// Does `dev` match every field that is set?
    pub fn matches(&self, dev: &Device) -> bool {
        self.id.is_none_or(|v| v == dev.id)
            && self.region.is_none_or(|v| v == dev.region)
            && self.zone.is_none_or(|v| v == dev.zone)
            && self.ip.as_ref().is_none_or(|v| *v == dev.ip)
            && self.port.is_none_or(|v| v == dev.port)
            && self.replication_ip.as_ref().is_none_or(|v| *v == dev.replication_ip)
            && self.replication_port.is_none_or(|v| v == dev.replication_port)
            && self.device.as_ref().is_none_or(|v| *v == dev.device)
            && self.meta.as_ref().is_none_or(|v| dev.meta.contains(v.as_str()))
            && self.weight.is_none_or(|v| v == dev.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_value_full_and_minimal() {
        let v = parse_add_value("r2z3-10.0.0.1:6200R10.0.1.1:6300/sdb1_some meta").unwrap();
        assert_eq!(v.region, Some(2));
        assert_eq!(v.zone, 3);
        assert_eq!((v.ip.as_str(), v.port), ("10.0.0.1", 6200));
        assert_eq!(v.replication_ip.as_deref(), Some("10.0.1.1"));
        assert_eq!(v.replication_port, Some(6300));
        assert_eq!((v.device.as_str(), v.meta.as_str()), ("sdb1", "some meta"));
        let v = parse_add_value("z1-127.0.0.1:6200/sdb1").unwrap();
        assert_eq!((v.region, v.replication_ip, v.meta.as_str()), (None, None, ""));
    }

    #[test]
    fn add_value_ipv6() {
        let v = parse_add_value("r1z1-[::1]:6200/sda").unwrap();
        assert_eq!((v.ip.as_str(), v.port), ("::1", 6200));
    }

    #[test]
    fn bad_add_values_are_rejected() {
        for bad in ["", "r1", "r1z1", "r1z1-1.2.3.4/sdb", "r1z1-1.2.3.4:x/sdb", "r1z1-1.2.3.4:6200", "z1-:6200/s"] {
            assert!(parse_add_value(bad).is_err(), "{bad}");
        }
        assert!(parse_add_value("r1z1-1.2.3.4:6200/").is_err());
        assert!(parse_add_value("r1z1-1.2.3.4:99999/sdb").is_err());
    }

    #[test]
    fn search_values() {
        let s = Search::parse("d3r1z2-10.0.0.1:6200/sdb_x").unwrap();
        assert_eq!(s.id, Some(3));
        assert_eq!(s.region, Some(1));
        assert_eq!(s.zone, Some(2));
        assert_eq!(s.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(s.port, Some(6200));
        assert_eq!(s.device.as_deref(), Some("sdb"));
        assert_eq!(s.meta.as_deref(), Some("x"));
        assert_eq!(Search::parse("/sdb1").unwrap().device.as_deref(), Some("sdb1"));
        assert!(Search::parse("q").is_err());
        assert!(Search::parse("").is_err());
    }

    #[test]
    fn json_round_trip() {
        let d = Device {
            id: 7,
            region: 1,
            zone: 2,
            ip: "10.0.0.1".into(),
            port: 6200,
            replication_ip: "10.0.1.1".into(),
            replication_port: 6300,
            device: "sdb".into(),
            weight: 1.5,
            meta: "m".into(),
        };
        assert_eq!(Device::from_json(&d.to_json()).unwrap(), d);
        assert_eq!(d.format(), "d7r1z2-10.0.0.1:6200R10.0.1.1:6300/sdb_\"m\"");
    }
}
