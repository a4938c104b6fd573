//! Moving partition replicas between devices during a rebalance.
//!
//! A [`Placer`] holds the table being edited, the part counts of every
//! device, and for every tier its room (the partitions its devices still
//! want, summed over devices that want more) and its need (wanted minus held,
//! which may be negative). Choosing a home for a replica walks the tier tree
//! from the regions down: among children that would not exceed their
//! per-partition replica limit (`Tier::max`), take the one with most room
//! (then most need); backtrack if a branch has no acceptable device.
//!
//! The "one replica of a partition per `min_part_hours`" rule lives in
//! [`Placer::movable`]: a partition not yet touched by this rebalance may
//! move one replica if it has not moved for `min_part_hours`; once one of its
//! replicas moved, only that same replica may move again (its data has not
//! been copied anywhere yet). A brand-new table is free: nothing holds data.

use super::plan::{Plan, DEPTH};
use crate::device::{DevId, NONE_DEV};

/// `moved` marker: any replica of this partition may move (new table).
const FREE: u8 = 254;
/// `moved` marker: more than one replica moved (removed devices); no more.
const FROZEN: u8 = 255;

/// A small deterministic generator (SplitMix64), so that a seed gives the
/// same ring on every machine and every version of Rust.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// The table under edit and the bookkeeping that guides moves.
pub struct Placer<'a> {
    plan: &'a Plan,
    pub table: Vec<Vec<DevId>>,
    parts: usize,
    parts_of: Vec<i64>,
    wanted_of: Vec<i64>,
    room: [Vec<i64>; DEPTH],
    need: [Vec<i64>; DEPTH],
    over_total: i64,
    moved: Vec<u8>,
    last_moves: &'a [u8],
    min_part_hours: u8,
    pub rng: Rng,
}

impl<'a> Placer<'a> {
    /// `table` may contain [`NONE_DEV`] slots (to be placed with
    /// [`Placer::place`]); `fresh` marks a table that never held data.
    pub fn new(
        plan: &'a Plan,
        table: Vec<Vec<DevId>>,
        ndevs: usize,
        last_moves: &'a [u8],
        min_part_hours: u8,
        seed: u64,
        fresh: bool,
    ) -> Placer<'a> {
        let parts = table.first().map_or(0, Vec::len);
        let mut wanted_of = vec![0i64; ndevs];
        for t in &plan.levels[3] {
            wanted_of[usize::from(t.dev)] = t.parts_wanted;
        }
        let mut p = Placer {
            plan,
            parts,
            parts_of: vec![0; ndevs],
            room: std::array::from_fn(|l| plan.levels[l].iter().map(|_| 0).collect()),
            need: std::array::from_fn(|l| plan.levels[l].iter().map(|t| t.parts_wanted).collect()),
            over_total: 0,
            wanted_of,
            moved: vec![if fresh { FREE } else { 0 }; parts],
            last_moves,
            min_part_hours,
            rng: Rng::new(seed),
            table: Vec::new(),
        };
        for (l, level) in plan.levels.iter().enumerate() {
            for (i, t) in level.iter().enumerate() {
                if l == 3 {
                    p.room[l][i] = t.parts_wanted.max(0);
                }
            }
        }
        for l in (0..3).rev() {
            for i in 0..plan.levels[l].len() {
                p.room[l][i] = plan.levels[l][i].children.iter().map(|&c| p.room[l + 1][c]).sum();
            }
        }
        for row in &table {
            for &d in row {
                if d != NONE_DEV {
                    p.adjust(d, 1);
                }
            }
        }
        p.table = table;
        p
    }

    fn adjust(&mut self, dev: DevId, delta: i64) {
        let i = usize::from(dev);
        let w = self.wanted_of[i];
        let p0 = self.parts_of[i];
        let p1 = p0 + delta;
        self.parts_of[i] = p1;
        self.over_total += (p1 - w).max(0) - (p0 - w).max(0);
        if let Some(path) = self.plan.dev_tiers[i] {
            let dr = (w - p1).max(0) - (w - p0).max(0);
            for (l, &t) in path.iter().enumerate() {
                self.room[l][t as usize] += dr;
                self.need[l][t as usize] -= delta;
            }
        }
    }

    /// Partition replicas each device holds, by id.
    pub fn parts_of(&self) -> &[i64] {
        &self.parts_of
    }

    fn unassign(&mut self, part: usize, replica: usize) -> DevId {
        let d = self.table[replica][part];
        self.table[replica][part] = NONE_DEV;
        if d != NONE_DEV {
            self.adjust(d, -1);
        }
        d
    }

    fn assign(&mut self, part: usize, replica: usize, dev: DevId) {
        self.table[replica][part] = dev;
        self.adjust(dev, 1);
    }

    /// May `replica` of `part` move now?
    pub fn movable(&self, part: usize, replica: usize) -> bool {
        match self.moved[part] {
            0 => self.last_moves.get(part).is_none_or(|&h| h >= self.min_part_hours),
            FREE => true,
            FROZEN => false,
            m => usize::from(m - 1) == replica,
        }
    }

    fn mark_moved(&mut self, part: usize, replica: usize) {
        let r = u8::try_from(replica + 1).unwrap_or(FROZEN).min(FREE - 1);
        self.moved[part] = match self.moved[part] {
            0 => r,
            FREE => FREE,
            m if m == r => m,
            _ => FROZEN,
        };
    }

    /// Takes every replica on a device in `gone` out of the table (the
    /// slots become empty); returns how many.
    pub fn take_from(&mut self, gone: &[bool]) -> usize {
        let mut taken = 0;
        for r in 0..self.table.len() {
            for p in 0..self.parts {
                let d = self.table[r][p];
                if d != NONE_DEV && gone.get(usize::from(d)).copied().unwrap_or(false) {
                    self.unassign(p, r);
                    self.mark_moved(p, r);
                    taken += 1;
                }
            }
        }
        taken
    }

    /// Slots of the table that are empty.
    pub fn empty_slots(&self) -> Vec<(usize, usize)> {
        let mut slots = Vec::new();
        for (r, row) in self.table.iter().enumerate() {
            for (p, &d) in row.iter().enumerate() {
                if d == NONE_DEV {
                    slots.push((p, r));
                }
            }
        }
        slots
    }

    /// Tier paths of the replicas of `part` other than `skip`.
    fn others(&self, part: usize, skip: usize) -> Vec<[u32; DEPTH]> {
        let mut out = Vec::with_capacity(self.table.len());
        for (r, row) in self.table.iter().enumerate() {
            let d = row[part];
            if r != skip && d != NONE_DEV {
                if let Some(path) = self.plan.dev_tiers[usize::from(d)] {
                    out.push(path);
                }
            }
        }
        out
    }

    fn count(others: &[[u32; DEPTH]], level: usize, tier: usize) -> u32 {
        others.iter().filter(|p| p[level] as usize == tier).count() as u32
    }

    /// The best device for a replica next to `others`, within every tier's
    /// replica limit; with `need_room`, only devices that want more.
    fn choose(&self, others: &[[u32; DEPTH]], need_room: bool) -> Option<DevId> {
        self.descend(0, &self.plan.roots, others, need_room).map(|i| self.plan.levels[3][i].dev)
    }

    fn descend(&self, level: usize, candidates: &[usize], others: &[[u32; DEPTH]], need_room: bool) -> Option<usize> {
        let mut tried: Vec<usize> = Vec::new();
        loop {
            let mut best: Option<(usize, (i64, i64))> = None;
            for &c in candidates {
                let room = self.room[level][c];
                if (need_room && room <= 0) || tried.contains(&c) {
                    continue;
                }
                if Self::count(others, level, c) >= self.plan.levels[level][c].max {
                    continue;
                }
                let key = (room, self.need[level][c]);
                if best.is_none_or(|(_, k)| key > k) {
                    best = Some((c, key));
                }
            }
            let (c, _) = best?;
            if level == DEPTH - 1 {
                return Some(c);
            }
            if let Some(d) = self.descend(level + 1, &self.plan.levels[level][c].children, others, need_room) {
                return Some(d);
            }
            tried.push(c);
        }
    }

    /// Places empty slots, in a seeded order. Returns false if some slot
    /// found no device at all (fewer devices than replicas).
    pub fn place(&mut self, mut slots: Vec<(usize, usize)>) -> bool {
        for i in (1..slots.len()).rev() {
            let j = self.rng.below(i + 1);
            slots.swap(i, j);
        }
        for (p, r) in slots {
            let others = self.others(p, r);
            let dev = self.choose(&others, false).or_else(|| self.any_free_device(p));
            match dev {
                Some(d) => self.assign(p, r, d),
                None => return false,
            }
        }
        true
    }

    /// Last resort, ignoring tiers: the planned device that most wants
    /// partitions and does not hold this one yet.
    fn any_free_device(&self, part: usize) -> Option<DevId> {
        let held: Vec<DevId> = self.table.iter().map(|row| row[part]).collect();
        self.plan.levels[3]
            .iter()
            .filter(|t| !held.contains(&t.dev))
            .max_by_key(|t| self.wanted_of[usize::from(t.dev)] - self.parts_of[usize::from(t.dev)])
            .map(|t| t.dev)
    }

    /// Moves one replica of every movable partition whose replicas crowd a
    /// tier beyond its limit. Returns the number of moves.
    pub fn disperse(&mut self) -> usize {
        let mut moves = 0;
        let start = self.rng.below(self.parts);
        for off in 0..self.parts {
            let p = (start + off) % self.parts;
            let all = self.others(p, usize::MAX);
            let mut worst: Option<(usize, i64)> = None;
            for r in 0..self.table.len() {
                let d = self.table[r][p];
                let Some(path) = self.plan.dev_tiers.get(usize::from(d)).copied().flatten() else { continue };
                let crowded = (0..DEPTH)
                    .any(|l| Self::count(&all, l, path[l] as usize) > self.plan.levels[l][path[l] as usize].max);
                if crowded && self.movable(p, r) {
                    let over = self.parts_of[usize::from(d)] - self.wanted_of[usize::from(d)];
                    if worst.is_none_or(|(_, o)| over > o) {
                        worst = Some((r, over));
                    }
                }
            }
            let Some((r, _)) = worst else { continue };
            let others = self.others(p, r);
            if let Some(d) = self.choose(&others, true).or_else(|| self.choose(&others, false)) {
                self.unassign(p, r);
                self.assign(p, r, d);
                self.mark_moved(p, r);
                moves += 1;
            }
        }
        moves
    }

    /// Moves replicas off devices holding more than they want onto devices
    /// that want more, a few sweeps at most. With `only_moved`, only
    /// replicas already moved by this rebalance are touched (their data has
    /// not been copied yet, so moving them again costs nothing). Replicas on
    /// devices that want nothing (weight 0) leave even if every device with
    /// room is ruled out, for the least loaded acceptable one. Returns the
    /// number of moves.
    pub fn balance(&mut self, only_moved: bool) -> usize {
        let mut moves = 0;
        for _ in 0..8 {
            if self.over_total == 0 || self.parts == 0 {
                break;
            }
            let before = moves;
            let start = self.rng.below(self.parts);
            for off in 0..self.parts {
                if self.over_total == 0 {
                    break;
                }
                let p = (start + off) % self.parts;
                if only_moved && self.moved[p] == 0 {
                    continue;
                }
                let mut over: Vec<(i64, usize)> = Vec::new();
                for r in 0..self.table.len() {
                    let d = self.table[r][p];
                    if d == NONE_DEV {
                        continue;
                    }
                    let excess = self.parts_of[usize::from(d)] - self.wanted_of[usize::from(d)];
                    if excess > 0 && self.movable(p, r) {
                        over.push((excess, r));
                    }
                }
                over.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                for (_, r) in over {
                    let others = self.others(p, r);
                    let draining = self.wanted_of[usize::from(self.table[r][p])] == 0;
                    let dest = match self.choose(&others, true) {
                        None if draining => self.choose(&others, false),
                        d => d,
                    };
                    if let Some(d) = dest {
                        self.unassign(p, r);
                        self.assign(p, r, d);
                        self.mark_moved(p, r);
                        moves += 1;
                        break;
                    }
                }
            }
            if moves == before {
                break;
            }
        }
        moves
    }
}
