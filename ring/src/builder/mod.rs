//! The ring builder: devices, weights and the partition table, kept in a
//! builder file between commands, from which ring files are written.
//!
//! * [`plan`] decides how many replicas each tier should hold;
//! * [`place`] moves replicas to meet that plan;
//! * [`report`] measures balance and dispersion and validates the table;
//! * [`store`] reads and writes builder files.

pub mod place;
pub mod plan;
pub mod report;
pub mod store;

use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};

use crate::device::{validate_device_name, DevId, Device, Search, NONE_DEV};
use crate::error::{Error, Result};
use crate::ringdata::{RingData, MAX_PART_POWER};
use common::hex::hex;
use place::Placer;
use plan::Plan;

/// Most replicas a builder accepts.
pub const MAX_REPLICAS: u32 = 16;

/// A device to add; `id` is chosen by the builder when `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDevice {
    pub id: Option<DevId>,
    pub region: u32,
    pub zone: u32,
    pub ip: String,
    pub port: u16,
    pub replication_ip: Option<String>,
    pub replication_port: Option<u16>,
    pub device: String,
    pub weight: f64,
    pub meta: String,
}

impl NewDevice {
    /// A device of region 1, weight 100, with no separate replication
    /// address and no meta: the one-machine clusters of swiftlet-aio and
    /// the tests.
    pub fn local(zone: u32, ip: impl Into<String>, port: u16, device: impl Into<String>) -> NewDevice {
        NewDevice {
            id: None,
            region: 1,
            zone,
            ip: ip.into(),
            port,
            replication_ip: None,
            replication_port: None,
            device: device.into(),
            weight: 100.0,
            meta: String::new(),
        }
    }
}

/// Changes for [`RingBuilder::set_info`]; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfoChange {
    pub ip: Option<String>,
    pub port: Option<u16>,
    pub replication_ip: Option<String>,
    pub replication_port: Option<u16>,
    pub device: Option<String>,
    pub meta: Option<String>,
}

/// What a rebalance did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rebalanced {
    /// Partition replicas now on a different device than before.
    pub moved: usize,
    /// [`RingBuilder::balance`] afterwards.
    pub balance: f64,
    /// Devices removed from the builder by this rebalance.
    pub removed: usize,
}

/// Swift's ring builder, our algorithm (see docs/ring-format.md).
#[derive(Debug, Clone, PartialEq)]
pub struct RingBuilder {
    pub(crate) part_power: u8,
    pub(crate) replicas: u32,
    pub(crate) min_part_hours: u8,
    pub(crate) overload: f64,
    pub(crate) devs: Vec<Option<Device>>,
    /// Ids marked for removal at the next rebalance.
    pub(crate) remove_pending: Vec<DevId>,
    /// Empty until the first rebalance.
    pub(crate) table: Vec<Vec<DevId>>,
    /// Hours since each partition last moved (saturating at 255).
    pub(crate) last_part_moves: Vec<u8>,
    pub(crate) last_part_moves_epoch: u64,
    pub(crate) version: u64,
    pub(crate) id: String,
    pub(crate) devs_changed: bool,
    pub(crate) dispersion: Option<f64>,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl RingBuilder {
    /// A builder with `2^part_power` partitions and `replicas` replicas;
    /// a partition moves at most one replica per `min_part_hours`.
    pub fn new(part_power: u8, replicas: u32, min_part_hours: u32) -> Result<RingBuilder> {
        if !(1..=MAX_PART_POWER).contains(&part_power) {
            return Err(Error::BadValue(format!(
                "part_power must be between 1 and {MAX_PART_POWER}, not {part_power}"
            )));
        }
        if !(1..=MAX_REPLICAS).contains(&replicas) {
            return Err(Error::BadValue(format!("replicas must be between 1 and {MAX_REPLICAS}, not {replicas}")));
        }
        let min_part_hours = u8::try_from(min_part_hours)
            .map_err(|_| Error::BadValue(format!("min_part_hours must be at most 255, not {min_part_hours}")))?;
        let seed = format!("{}-{}-{:?}", std::process::id(), now_secs(), SystemTime::now());
        Ok(RingBuilder {
            part_power,
            replicas,
            min_part_hours,
            overload: 0.0,
            devs: Vec::new(),
            remove_pending: Vec::new(),
            table: Vec::new(),
            last_part_moves: Vec::new(),
            last_part_moves_epoch: 0,
            version: 0,
            id: hex(&Md5::digest(seed.as_bytes())),
            devs_changed: false,
            dispersion: None,
        })
    }

    pub fn part_power(&self) -> u8 {
        self.part_power
    }
    pub fn parts(&self) -> usize {
        1 << self.part_power
    }
    pub fn replicas(&self) -> u32 {
        self.replicas
    }
    pub fn min_part_hours(&self) -> u8 {
        self.min_part_hours
    }
    pub fn overload(&self) -> f64 {
        self.overload
    }
    /// Incremented by every change.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// A random id given at creation, kept for the builder's life.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// Dispersion after the last rebalance, if any.
    pub fn dispersion(&self) -> Option<f64> {
        self.dispersion
    }
    /// Has the builder been rebalanced at least once?
    pub fn ever_rebalanced(&self) -> bool {
        !self.table.is_empty()
    }
    /// Were devices added, removed or changed since the last rebalance?
    pub fn devs_changed(&self) -> bool {
        self.devs_changed
    }
    /// `replica2part2dev[replica][partition]`; empty before a rebalance.
    pub fn table(&self) -> &[Vec<DevId>] {
        &self.table
    }

    /// Devices by id (`None` for free ids).
    pub fn devs(&self) -> &[Option<Device>] {
        &self.devs
    }

    /// Present devices in id order.
    pub fn iter_devs(&self) -> impl Iterator<Item = &Device> {
        self.devs.iter().flatten()
    }

    /// Is the device marked for removal at the next rebalance?
    pub fn is_removing(&self, id: DevId) -> bool {
        self.remove_pending.contains(&id)
    }

    /// One device by id.
    pub fn dev(&self, id: DevId) -> Result<&Device> {
        self.devs.get(usize::from(id)).and_then(Option::as_ref).ok_or_else(|| Error::NoSuchDevice(format!("d{id}")))
    }

    fn dev_mut(&mut self, id: DevId) -> Result<&mut Device> {
        self.devs.get_mut(usize::from(id)).and_then(Option::as_mut).ok_or_else(|| Error::NoSuchDevice(format!("d{id}")))
    }

    /// Devices matching a search value.
    pub fn search(&self, s: &Search) -> Vec<&Device> {
        self.iter_devs().filter(|d| s.matches(d)).collect()
    }

    fn changed(&mut self) {
        self.version += 1;
        self.devs_changed = true;
    }

    fn check_unique(&self, ip: &str, port: u16, device: &str, except: Option<DevId>) -> Result<()> {
        for d in self.iter_devs() {
            if Some(d.id) != except && d.ip == ip && d.port == port && d.device == device {
                return Err(Error::BadValue(format!("Device {} already uses {}:{}/{}.", d.id, d.ip, d.port, d.device)));
            }
        }
        Ok(())
    }

    /// Adds a device (no partitions until the next rebalance); returns its id.
    pub fn add_dev(&mut self, new: NewDevice) -> Result<DevId> {
        check_weight(new.weight)?;
        validate_device_name(&new.device)?;
        if new.ip.is_empty() {
            return Err(Error::BadValue("device ip must not be empty".into()));
        }
        self.check_unique(&new.ip, new.port, &new.device, None)?;
        let id = match new.id {
            Some(id) => {
                if self.devs.get(usize::from(id)).is_some_and(Option::is_some) {
                    return Err(Error::BadValue(format!("Duplicate device id: {id}")));
                }
                id
            }
            None => match self.devs.iter().position(Option::is_none) {
                Some(i) => i as DevId,
                None => DevId::try_from(self.devs.len()).map_err(|_| Error::Builder("too many devices".into()))?,
            },
        };
        if id == NONE_DEV {
            return Err(Error::Builder(format!("device ids must be below {NONE_DEV}")));
        }
        if self.devs.len() <= usize::from(id) {
            self.devs.resize(usize::from(id) + 1, None);
        }
        self.devs[usize::from(id)] = Some(Device {
            id,
            region: new.region,
            zone: new.zone,
            replication_ip: new.replication_ip.unwrap_or_else(|| new.ip.clone()),
            replication_port: new.replication_port.unwrap_or(new.port),
            ip: new.ip,
            port: new.port,
            device: new.device,
            weight: new.weight,
            meta: new.meta,
        });
        self.changed();
        Ok(id)
    }

    /// Marks a device for removal; its partitions move at the next rebalance.
    pub fn remove_dev(&mut self, id: DevId) -> Result<()> {
        self.dev(id)?;
        if self.iter_devs().filter(|d| !self.is_removing(d.id)).count() <= 1 {
            return Err(Error::Builder(format!("cannot remove d{id}: it is the last device of the ring")));
        }
        if !self.remove_pending.contains(&id) {
            self.remove_pending.push(id);
        }
        self.dev_mut(id)?.weight = 0.0;
        self.changed();
        Ok(())
    }

    /// Sets a device's weight.
    pub fn set_weight(&mut self, id: DevId, weight: f64) -> Result<()> {
        check_weight(weight)?;
        self.dev_mut(id)?.weight = weight;
        self.changed();
        Ok(())
    }

    /// Changes a device's addresses, name or meta (placement is unchanged;
    /// `write_ring` publishes it).
    pub fn set_info(&mut self, id: DevId, change: InfoChange) -> Result<()> {
        let cur = self.dev(id)?.clone();
        let ip = change.ip.clone().unwrap_or(cur.ip.clone());
        let port = change.port.unwrap_or(cur.port);
        let device = change.device.clone().unwrap_or(cur.device.clone());
        validate_device_name(&device)?;
        if ip.is_empty() {
            return Err(Error::BadValue("device ip must not be empty".into()));
        }
        self.check_unique(&ip, port, &device, Some(id))?;
        let d = self.dev_mut(id)?;
        d.ip = ip;
        d.port = port;
        d.device = device;
        if let Some(v) = change.replication_ip {
            d.replication_ip = v;
        }
        if let Some(v) = change.replication_port {
            d.replication_port = v;
        }
        if let Some(v) = change.meta {
            d.meta = v;
        }
        self.changed();
        Ok(())
    }

    /// Sets the overload factor (0.1 = 10%).
    pub fn set_overload(&mut self, overload: f64) -> Result<()> {
        if !overload.is_finite() || overload < 0.0 {
            return Err(Error::BadValue(format!("invalid overload {overload}")));
        }
        self.overload = overload;
        self.version += 1;
        Ok(())
    }

    /// Sets `min_part_hours`.
    pub fn set_min_part_hours(&mut self, hours: u8) {
        self.min_part_hours = hours;
        self.version += 1;
    }

    /// Lets every partition move at the next rebalance.
    pub fn pretend_min_part_hours_passed(&mut self) {
        self.last_part_moves_epoch = 0;
        self.last_part_moves.iter_mut().for_each(|h| *h = u8::MAX);
    }

    /// Seconds until every partition may move again.
    pub fn min_part_seconds_left(&self) -> u64 {
        let elapsed = now_secs().saturating_sub(self.last_part_moves_epoch);
        (u64::from(self.min_part_hours) * 3600).saturating_sub(elapsed)
    }

    /// The ring to publish.
    pub fn get_ring(&self) -> Result<RingData> {
        if !self.ever_rebalanced() {
            return Err(Error::Builder("the builder has never been rebalanced".into()));
        }
        Ok(RingData {
            part_power: self.part_power,
            devs: self.devs.clone(),
            replica2part2dev: self.table.clone(),
            builder_id: self.id.clone(),
            version: self.version,
        })
    }

    /// The plan for the current devices.
    pub(crate) fn plan(&self) -> Plan {
        let devs: Vec<&Device> = self.iter_devs().filter(|d| d.weight > 0.0 && !self.is_removing(d.id)).collect();
        Plan::build(&devs, self.devs.len(), self.replicas, self.parts(), self.overload)
    }

    /// Rebalances with the system clock; see [`RingBuilder::rebalance_at`].
    pub fn rebalance(&mut self, seed: u64) -> Result<Rebalanced> {
        self.rebalance_at(seed, now_secs())
    }

    /// Assigns and reassigns partitions: replicas of removed devices, of
    /// crowded tiers, then from devices over their share to devices under
    /// it, never moving more than one replica of a partition within
    /// `min_part_hours`. The same builder, seed and hour give the same
    /// table. On error the builder is unchanged.
    pub fn rebalance_at(&mut self, seed: u64, now: u64) -> Result<Rebalanced> {
        let weighted = self.iter_devs().filter(|d| d.weight > 0.0 && !self.is_removing(d.id)).count();
        if weighted < self.replicas as usize {
            return Err(Error::Builder(format!(
                "Replica count of {} requires more than {} devices",
                self.replicas, weighted
            )));
        }
        let parts = self.parts();
        let mut last_moves = self.last_part_moves.clone();
        if last_moves.len() != parts {
            last_moves = vec![u8::MAX; parts];
        }
        let hours = now.saturating_sub(self.last_part_moves_epoch) / 3600;
        if hours > 0 {
            let add = u8::try_from(hours).unwrap_or(u8::MAX);
            last_moves.iter_mut().for_each(|h| *h = h.saturating_add(add));
        }
        let fresh = !self.ever_rebalanced();
        let old = if fresh { vec![vec![NONE_DEV; parts]; self.replicas as usize] } else { self.table.clone() };
        let plan = self.plan();
        let mut placer =
            Placer::new(&plan, old.clone(), self.devs.len(), &last_moves, self.min_part_hours, seed, fresh);
        let mut gone = vec![false; self.devs.len()];
        for &id in &self.remove_pending {
            gone[usize::from(id)] = true;
        }
        placer.take_from(&gone);
        if !placer.place(placer.empty_slots()) {
            return Err(Error::Builder("not enough devices to place every replica".into()));
        }
        placer.disperse();
        placer.balance(true);
        placer.balance(false);
        let table = placer.table;
        let mut moved = 0;
        for p in 0..parts {
            let changed = (0..table.len()).filter(|&r| table[r][p] != old[r][p]).count();
            if changed > 0 {
                moved += changed;
                last_moves[p] = 0;
            }
        }
        let removed = self.remove_pending.len();
        for id in std::mem::take(&mut self.remove_pending) {
            self.devs[usize::from(id)] = None;
        }
        while self.devs.last().is_some_and(Option::is_none) {
            self.devs.pop();
        }
        self.table = table;
        self.last_part_moves = last_moves;
        self.last_part_moves_epoch = now;
        self.devs_changed = false;
        self.version += 1;
        self.dispersion = Some(self.compute_dispersion());
        Ok(Rebalanced { moved, balance: self.balance(), removed })
    }
}

fn check_weight(w: f64) -> Result<()> {
    if !w.is_finite() || w < 0.0 {
        return Err(Error::BadValue(format!("Invalid weight value: {w}")));
    }
    Ok(())
}
