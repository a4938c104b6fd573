//! The handoff sequence of a partition, in the order Swift's
//! `Ring.get_more_nodes` yields it, so that an operator sees the same
//! handoffs from `swiftlet-get-nodes` as from `swift-get-nodes` on the same
//! table.
//!
//! Partitions are walked from a start derived from `md5(str(partition))`
//! with a stride of `max(parts / 65536, 1)`, wrapping around. Four passes
//! over that walk pick, in turn, devices in a region no earlier node uses,
//! then in an unused zone, then on an unused ip, then any unused device;
//! each pass stops as soon as nothing new of its kind is left.

use std::sync::Arc;

use md5::{Digest, Md5};

use crate::device::Device;
use crate::runtime::Snapshot;

/// Iterator over the handoff devices of one partition (primaries excluded).
pub struct Handoffs {
    snap: Arc<Snapshot>,
    stage: Stage,
    started: bool,
    pos: usize,
    replica: usize,
    start: usize,
    inc: usize,
    len1: usize,
    start2: usize,
    len: usize,
    used: Vec<bool>,
    used_count: usize,
    regions: Vec<bool>,
    region_count: usize,
    zones: Vec<bool>,
    zone_count: usize,
    ips: Vec<bool>,
    ip_count: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Region,
    Zone,
    Ip,
    Device,
    Done,
}

impl Stage {
    fn next(self) -> Stage {
        match self {
            Stage::Region => Stage::Zone,
            Stage::Zone => Stage::Ip,
            Stage::Ip => Stage::Device,
            Stage::Device | Stage::Done => Stage::Done,
        }
    }
}

impl Handoffs {
    pub(crate) fn new(snap: Arc<Snapshot>, part: u32) -> Handoffs {
        let parts = snap.data.parts();
        let ndevs = snap.data.devs.len();
        let digest = Md5::digest(part.to_string().as_bytes());
        let top = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let start =
            if snap.data.part_power == 0 { 0 } else { (top >> (32 - u32::from(snap.data.part_power))) as usize };
        let inc = (parts / 65536).max(1);
        let len1 = (parts - start).div_ceil(inc);
        let start2 = inc - ((parts - start) % inc);
        let len2 = if start2 < start { (start - start2).div_ceil(inc) } else { 0 };
        let mut h = Handoffs {
            stage: Stage::Region,
            started: false,
            pos: 0,
            replica: 0,
            start,
            inc,
            len1,
            start2,
            len: len1 + len2,
            used: vec![false; ndevs],
            used_count: 0,
            regions: vec![false; snap.num_regions],
            region_count: 0,
            zones: vec![false; snap.num_zones],
            zone_count: 0,
            ips: vec![false; snap.num_ips],
            ip_count: 0,
            snap,
        };
        let part = part as usize;
        if part >= parts {
            h.stage = Stage::Done;
            return h;
        }
        for r in 0..h.snap.data.replica2part2dev.len() {
            let id = usize::from(h.snap.data.replica2part2dev[r][part]);
            if !h.used[id] {
                h.used[id] = true;
                h.used_count += 1;
                h.mark_tiers(id);
            }
        }
        h
    }

    fn mark_tiers(&mut self, id: usize) {
        let t = self.snap.tiers[id];
        if !self.regions[t.region] {
            self.regions[t.region] = true;
            self.region_count += 1;
        }
        if !self.zones[t.zone] {
            self.zones[t.zone] = true;
            self.zone_count += 1;
        }
        if !self.ips[t.ip] {
            self.ips[t.ip] = true;
            self.ip_count += 1;
        }
    }

    fn stage_done(&self) -> bool {
        match self.stage {
            Stage::Region => self.region_count >= self.snap.num_regions,
            Stage::Zone => self.zone_count >= self.snap.num_zones,
            Stage::Ip => self.ip_count >= self.snap.num_ips,
            Stage::Device => self.used_count >= self.snap.num_assigned,
            Stage::Done => true,
        }
    }

    fn seq(&self, pos: usize) -> usize {
        if pos < self.len1 {
            self.start + pos * self.inc
        } else {
            self.start2 + (pos - self.len1) * self.inc
        }
    }
}

impl Iterator for Handoffs {
    type Item = Arc<Device>;

    fn next(&mut self) -> Option<Arc<Device>> {
        let replicas = self.snap.data.replica2part2dev.len();
        loop {
            if self.stage == Stage::Done {
                return None;
            }
            if !self.started {
                if self.stage_done() {
                    self.stage = self.stage.next();
                    continue;
                }
                self.started = true;
                self.pos = 0;
                self.replica = 0;
            }
            if self.pos >= self.len {
                self.stage = self.stage.next();
                self.started = false;
                continue;
            }
            if self.replica >= replicas {
                self.pos += 1;
                self.replica = 0;
                continue;
            }
            let part = self.seq(self.pos);
            let id = usize::from(self.snap.data.replica2part2dev[self.replica][part]);
            self.replica += 1;
            if self.used[id] {
                continue;
            }
            let t = self.snap.tiers[id];
            let fresh = match self.stage {
                Stage::Region => !self.regions[t.region],
                Stage::Zone => !self.zones[t.zone],
                Stage::Ip => !self.ips[t.ip],
                _ => true,
            };
            if !fresh {
                continue;
            }
            self.used[id] = true;
            self.used_count += 1;
            self.mark_tiers(id);
            if self.stage_done() {
                self.stage = self.stage.next();
                self.started = false;
            }
            return self.snap.devs[id].clone();
        }
    }
}
