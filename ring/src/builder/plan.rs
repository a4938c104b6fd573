//! The replica plan: how many replicas of the average partition each tier
//! (region, zone, ip, device) should hold, and from that how many partition
//! replicas each device wants.
//!
//! Three views are computed for every tier, as fractions of a partition
//! ("replicanths"):
//!
//! * weighted: proportional to weight (a device never above 1);
//! * wanted: as unique as possible. Going down the tree, a tier's replicas are
//!   spread over its children by weight, but a child may hold at most
//!   `m` replicas and at least `floor(r / children)`, where `m` is the
//!   smallest whole number whose spread fits (bounded by each child's device
//!   count);
//! * target: weighted moved towards wanted as far as `overload` allows. If
//!   `overload` is at least the largest relative increase any device needs
//!   for full dispersion (the required overload), target = wanted.
//!
//! A tier may hold at most `ceil(target)` replicas of any one partition.
//! Whole partition counts are handed down the tree by largest remainder so
//! that every tier's count is the sum of its children's.

use std::collections::BTreeMap;

use crate::device::{DevId, Device};

/// Tier depth: 0 region, 1 zone, 2 ip, 3 device.
pub const DEPTH: usize = 4;

/// One node of the tier tree.
#[derive(Debug, Clone, Default)]
pub struct Tier {
    pub parent: usize,
    pub children: Vec<usize>,
    pub ndev: usize,
    pub weighted: f64,
    pub wanted: f64,
    pub target: f64,
    /// Most replicas of one partition this tier may hold.
    pub max: u32,
    /// Whole partition replicas this tier should hold.
    pub parts_wanted: i64,
    /// For devices: the device id.
    pub dev: DevId,
}

/// The tier tree of the weighted devices and their plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub levels: [Vec<Tier>; DEPTH],
    /// Children of the (implicit) root: the regions.
    pub roots: Vec<usize>,
    /// By device id: the device's tier index at each depth, if it is in the
    /// plan (weight > 0 and not being removed).
    pub dev_tiers: Vec<Option<[u32; DEPTH]>>,
    /// The largest relative increase over its weighted share that any device
    /// needs for full dispersion.
    pub required_overload: f64,
}

type Key = (u32, u32, String, DevId);

impl Plan {
    /// Builds the plan for `devs` (already filtered: weight > 0), with
    /// `replicas` whole replicas of `parts` partitions.
    pub fn build(devs: &[&Device], ndev_ids: usize, replicas: u32, parts: usize, overload: f64) -> Plan {
        let mut sorted: Vec<(Key, &Device)> =
            devs.iter().map(|d| ((d.region, d.zone, d.ip.clone(), d.id), *d)).collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut levels: [Vec<Tier>; DEPTH] = Default::default();
        let mut roots = Vec::new();
        let mut dev_tiers = vec![None; ndev_ids];
        let mut idx: [BTreeMap<Vec<String>, usize>; 3] = Default::default();
        for (_, d) in &sorted {
            let keys = [
                vec![d.region.to_string()],
                vec![d.region.to_string(), d.zone.to_string()],
                vec![d.region.to_string(), d.zone.to_string(), d.ip.clone()],
            ];
            let mut path = [0u32; DEPTH];
            let mut parent = usize::MAX;
            for level in 0..3 {
                let i = match idx[level].get(&keys[level]) {
                    Some(&i) => i,
                    None => {
                        let i = levels[level].len();
                        levels[level].push(Tier { parent, ..Tier::default() });
                        idx[level].insert(keys[level].clone(), i);
                        if level == 0 {
                            roots.push(i);
                        } else {
                            levels[level - 1][parent].children.push(i);
                        }
                        i
                    }
                };
                path[level] = i as u32;
                parent = i;
            }
            let i = levels[3].len();
            levels[3].push(Tier { parent, dev: d.id, ndev: 1, ..Tier::default() });
            levels[2][parent].children.push(i);
            path[3] = i as u32;
            dev_tiers[usize::from(d.id)] = Some(path);
        }
        let mut plan = Plan { levels, roots, dev_tiers, required_overload: 0.0 };
        plan.weigh(&sorted.iter().map(|(_, d)| d.weight).collect::<Vec<_>>(), f64::from(replicas));
        plan.spread_wanted(f64::from(replicas));
        plan.set_targets(overload);
        plan.hand_out_parts(i64::from(replicas) * parts as i64);
        plan
    }

    /// Weighted replicanths: device share of `replicas` by weight, capped at
    /// one replica per device, the excess handed to the others.
    fn weigh(&mut self, weights: &[f64], replicas: f64) {
        let total: f64 = weights.iter().sum();
        let mut share: Vec<f64> = weights.iter().map(|w| (w * replicas / total).min(1.0)).collect();
        for _ in 0..64 {
            let remaining = replicas - share.iter().sum::<f64>();
            if remaining < 1e-10 {
                break;
            }
            let room: f64 = share.iter().filter(|&&s| s < 1.0).sum();
            if room <= 0.0 {
                break;
            }
            for s in share.iter_mut().filter(|s| **s < 1.0) {
                *s = (*s * (1.0 + remaining / room)).min(1.0);
            }
        }
        for (t, s) in self.levels[3].iter_mut().zip(&share) {
            t.weighted = *s;
        }
        for level in (0..DEPTH - 1).rev() {
            for i in 0..self.levels[level].len() {
                let kids = &self.levels[level][i].children;
                let w = kids.iter().map(|&c| self.levels[level + 1][c].weighted).sum();
                let n = kids.iter().map(|&c| self.levels[level + 1][c].ndev).sum();
                self.levels[level][i].weighted = w;
                self.levels[level][i].ndev = n;
            }
        }
    }

    /// Wanted replicanths, top down.
    fn spread_wanted(&mut self, replicas: f64) {
        let roots = self.roots.clone();
        let values = spread(replicas, &roots.iter().map(|&c| self.child_info(0, c)).collect::<Vec<_>>());
        for (&c, v) in roots.iter().zip(values) {
            self.levels[0][c].wanted = v;
        }
        for level in 0..DEPTH - 1 {
            for i in 0..self.levels[level].len() {
                let children = self.levels[level][i].children.clone();
                let info: Vec<_> = children.iter().map(|&c| self.child_info(level + 1, c)).collect();
                let values = spread(self.levels[level][i].wanted, &info);
                for (&c, v) in children.iter().zip(values) {
                    self.levels[level + 1][c].wanted = v;
                }
            }
        }
    }

    fn child_info(&self, level: usize, i: usize) -> (f64, usize) {
        (self.levels[level][i].weighted, self.levels[level][i].ndev)
    }

    fn set_targets(&mut self, overload: f64) {
        let mut required: f64 = 0.0;
        for t in &self.levels[3] {
            if t.weighted > 0.0 {
                required = required.max((t.wanted - t.weighted) / t.weighted);
            }
        }
        self.required_overload = required;
        let k = if required <= 0.0 || overload >= required { 1.0 } else { overload.max(0.0) / required };
        for level in &mut self.levels {
            for t in level.iter_mut() {
                t.target = t.weighted + (t.wanted - t.weighted) * k;
                t.max = (t.target - 1e-9).ceil().max(0.0) as u32;
            }
        }
    }

    /// Whole partition counts by largest remainder, top down.
    fn hand_out_parts(&mut self, total: i64) {
        let roots = self.roots.clone();
        let counts = split(total, &roots.iter().map(|&c| self.levels[0][c].target).collect::<Vec<_>>());
        for (&c, n) in roots.iter().zip(counts) {
            self.levels[0][c].parts_wanted = n;
        }
        for level in 0..DEPTH - 1 {
            for i in 0..self.levels[level].len() {
                let children = self.levels[level][i].children.clone();
                let targets: Vec<f64> = children.iter().map(|&c| self.levels[level + 1][c].target).collect();
                let counts = split(self.levels[level][i].parts_wanted, &targets);
                for (&c, n) in children.iter().zip(counts) {
                    self.levels[level + 1][c].parts_wanted = n;
                }
            }
        }
    }

    /// The tier node of device `id` at `level`, if the device is planned.
    pub fn tier_of(&self, id: DevId, level: usize) -> Option<usize> {
        self.dev_tiers.get(usize::from(id)).copied().flatten().map(|p| p[level] as usize)
    }
}

/// Spreads `r` replicanths over children `(weight, devices)`: by weight,
/// each child within `[floor(r / n), m]` (and at most its device count),
/// `m` the smallest whole number that lets all of `r` fit.
fn spread(r: f64, children: &[(f64, usize)]) -> Vec<f64> {
    let n = children.len();
    if n == 0 {
        return Vec::new();
    }
    let fits = |m: usize| children.iter().map(|&(_, d)| d.min(m)).sum::<usize>() as f64 >= r - 1e-9;
    let mut m = 1;
    while !fits(m) && m < 1 << 20 {
        m += 1;
    }
    let lo_all = ((r + 1e-9) / n as f64).floor() as usize;
    let bounds: Vec<(f64, f64)> = children.iter().map(|&(_, d)| (d.min(lo_all) as f64, d.min(m) as f64)).collect();
    let total = |lambda: f64| -> f64 {
        children.iter().zip(&bounds).map(|(&(w, _), &(lo, hi))| (w * lambda).clamp(lo, hi)).sum()
    };
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while total(hi) < r && hi < 1e300 {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if total(mid) < r {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut out: Vec<f64> = children.iter().zip(&bounds).map(|(&(w, _), &(l, h))| (w * hi).clamp(l, h)).collect();
    // Put the rounding error of the search on the child with most slack.
    let err = r - out.iter().sum::<f64>();
    if let Some((i, _)) = out.iter().enumerate().max_by(|a, b| (bounds[a.0].1 - a.1).total_cmp(&(bounds[b.0].1 - b.1)))
    {
        out[i] = (out[i] + err).max(0.0);
    }
    out
}

/// Splits a whole `total` in proportion to `weights` by largest remainder
/// (ties to the earlier child).
fn split(total: i64, weights: &[f64]) -> Vec<i64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() {
        return Vec::new();
    }
    if sum <= 0.0 {
        let mut out = vec![0; weights.len()];
        out[0] = total;
        return out;
    }
    let ideal: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<i64> = ideal.iter().map(|x| x.floor() as i64).collect();
    let mut left = total - out.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| (ideal[b] - ideal[b].floor()).total_cmp(&(ideal[a] - ideal[a].floor())).then(a.cmp(&b)));
    let mut k = 0;
    while left > 0 {
        out[order[k % order.len()]] += 1;
        left -= 1;
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: DevId, region: u32, zone: u32, ip: &str, weight: f64) -> Device {
        Device {
            id,
            region,
            zone,
            ip: ip.into(),
            port: 6200,
            replication_ip: ip.into(),
            replication_port: 6200,
            device: format!("sd{id}"),
            weight,
            meta: String::new(),
        }
    }

    #[test]
    fn split_is_exact_and_proportional() {
        assert_eq!(split(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(split(7, &[3.0, 1.0]), vec![5, 2]);
        assert_eq!(split(5, &[0.0, 0.0]), vec![5, 0]);
    }

    #[test]
    fn spread_caps_at_one_replica_per_zone() {
        let v = spread(3.0, &[(1.45, 4), (1.45, 4), (0.1, 4)]);
        assert!(v.iter().all(|x| (x - 1.0).abs() < 1e-9), "{v:?}");
        let v = spread(3.0, &[(2.7, 4), (0.3, 4)]);
        assert!((v[0] - 2.0).abs() < 1e-9 && (v[1] - 1.0).abs() < 1e-9, "{v:?}");
        let v = spread(2.0, &[(1.0, 1), (0.6, 1), (0.4, 1)]);
        assert!((v.iter().sum::<f64>() - 2.0).abs() < 1e-9 && v.iter().all(|&x| x <= 1.0 + 1e-9), "{v:?}");
    }

    #[test]
    fn uneven_zones_need_overload_for_dispersion() {
        let devs: Vec<Device> = vec![
            dev(0, 1, 1, "a", 100.0),
            dev(1, 1, 1, "a", 100.0),
            dev(2, 1, 2, "b", 100.0),
            dev(3, 1, 2, "b", 100.0),
            dev(4, 1, 3, "c", 10.0),
            dev(5, 1, 3, "c", 10.0),
        ];
        let refs: Vec<&Device> = devs.iter().collect();
        let plan = Plan::build(&refs, 6, 3, 256, 0.0);
        assert!(plan.required_overload > 0.0);
        let zone_max: Vec<u32> = plan.levels[1].iter().map(|t| t.max).collect();
        assert_eq!(zone_max, vec![2, 2, 1]);
        let plan = Plan::build(&refs, 6, 3, 256, 10.0);
        let zone_max: Vec<u32> = plan.levels[1].iter().map(|t| t.max).collect();
        assert_eq!(zone_max, vec![1, 1, 1]);
        let total: i64 = plan.levels[3].iter().map(|t| t.parts_wanted).sum();
        assert_eq!(total, 3 * 256);
    }
}
