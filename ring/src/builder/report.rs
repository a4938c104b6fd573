//! Balance, dispersion and validation, with Swift's definitions so that
//! figures compare with `swift-ring-builder`'s:
//!
//! * balance of a device: `100 * parts / (weight * parts_per_weight) - 100`,
//!   where `parts_per_weight = parts * replicas / total weight`; a device of
//!   weight 0 holding partitions shows [`MAX_BALANCE`]. The ring's balance is
//!   the largest absolute value.
//! * dispersion: the share (in %) of partition replicas placed beyond the
//!   most a tier should hold when replicas are spread as evenly as the tier
//!   tree allows (`ceil(parent / children)`, at most 1 per device), counting
//!   each partition at its worst tier depth.

use std::collections::BTreeMap;

use super::RingBuilder;
use crate::device::{Device, NONE_DEV};
use crate::error::{Error, Result};

/// Balance shown for a device of weight 0 that still holds partitions.
pub const MAX_BALANCE: f64 = 999.99;

/// A tier of the dispersion report: `r1`, `r1z2`, `r1z2-10.0.0.1`,
/// `r1z2-10.0.0.1/sdb`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TierName {
    Region(u32),
    Zone(u32, u32),
    Ip(u32, u32, String),
    Device(u32, u32, String, u16, String),
}

impl TierName {
    /// Swift's order of tier tuples: a tier right before its children.
    pub fn sort_key(&self) -> (u32, Option<u32>, Option<&str>, Option<u16>) {
        match self {
            TierName::Region(r) => (*r, None, None, None),
            TierName::Zone(r, z) => (*r, Some(*z), None, None),
            TierName::Ip(r, z, ip) => (*r, Some(*z), Some(ip), None),
            TierName::Device(r, z, ip, id, _) => (*r, Some(*z), Some(ip), Some(*id)),
        }
    }
}

impl std::fmt::Display for TierName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TierName::Region(r) => write!(f, "r{r}"),
            TierName::Zone(r, z) => write!(f, "r{r}z{z}"),
            TierName::Ip(r, z, ip) => write!(f, "r{r}z{z}-{ip}"),
            TierName::Device(r, z, ip, _, dev) => write!(f, "r{r}z{z}-{ip}/{dev}"),
        }
    }
}

/// One row of the dispersion report.
#[derive(Debug, Clone, PartialEq)]
pub struct TierReport {
    pub tier: TierName,
    /// Most replicas of one partition the tier should hold.
    pub max_replicas: u32,
    /// Partition replicas placed in the tier.
    pub placed: usize,
    /// Share (%) of `placed` beyond `max_replicas`.
    pub dispersion: f64,
    /// `counts[n]`: partitions with `n` replicas in this tier.
    pub counts: Vec<usize>,
}

fn tiers_of(d: &Device) -> [TierName; 4] {
    [
        TierName::Region(d.region),
        TierName::Zone(d.region, d.zone),
        TierName::Ip(d.region, d.zone, d.ip.clone()),
        TierName::Device(d.region, d.zone, d.ip.clone(), d.id, d.device.clone()),
    ]
}

impl RingBuilder {
    /// Partition replicas held by each device, by id.
    pub fn parts_per_dev(&self) -> Vec<usize> {
        let mut n = vec![0; self.devs.len()];
        for row in &self.table {
            for &d in row {
                if let Some(c) = n.get_mut(usize::from(d)) {
                    *c += 1;
                }
            }
        }
        n
    }

    /// Balance of every present device, by id (`None` for free ids).
    pub fn balance_per_dev(&self) -> Vec<Option<f64>> {
        let parts = self.parts_per_dev();
        let total: f64 = self.iter_devs().map(|d| d.weight).sum();
        let per_weight = if total > 0.0 { (self.parts() * self.replicas as usize) as f64 / total } else { 0.0 };
        self.devs
            .iter()
            .map(|d| {
                let d = d.as_ref()?;
                let held = parts[usize::from(d.id)];
                Some(if d.weight <= 0.0 {
                    if held > 0 {
                        MAX_BALANCE
                    } else {
                        0.0
                    }
                } else {
                    100.0 * held as f64 / (d.weight * per_weight) - 100.0
                })
            })
            .collect()
    }

    /// The ring's balance: the worst device's, in % (100 before the first
    /// rebalance, when no device holds anything, as in Swift).
    pub fn balance(&self) -> f64 {
        self.balance_per_dev().into_iter().flatten().map(f64::abs).fold(0.0, f64::max)
    }

    /// The overload needed for full dispersion with the current weights.
    pub fn required_overload(&self) -> f64 {
        self.plan().required_overload
    }

    /// Most replicas each tier should hold for even spread, Swift's
    /// `_build_max_replicas_by_tier`.
    fn max_by_tier(&self) -> BTreeMap<TierName, u32> {
        let devs: Vec<&Device> = self.iter_devs().filter(|d| d.weight > 0.0).collect();
        let mut children: BTreeMap<Option<TierName>, Vec<TierName>> = BTreeMap::new();
        for d in &devs {
            let t = tiers_of(d);
            let mut parent = None;
            for tier in t {
                let list = children.entry(parent.clone()).or_default();
                if !list.contains(&tier) {
                    list.push(tier.clone());
                }
                parent = Some(tier);
            }
        }
        let mut out = BTreeMap::new();
        let mut stack: Vec<(Option<TierName>, f64)> = vec![(None, f64::from(self.replicas))];
        while let Some((tier, r)) = stack.pop() {
            let Some(kids) = children.get(&tier) else { continue };
            let each = (r / kids.len() as f64).ceil();
            for k in kids {
                let each = if matches!(k, TierName::Device(..)) { each.min(1.0) } else { each };
                out.insert(k.clone(), each as u32);
                stack.push((Some(k.clone()), each));
            }
        }
        out
    }

    /// Replica count of every tier for every partition: the dispersion
    /// graph, plus the ring's dispersion figure.
    fn dispersion_graph(&self) -> (BTreeMap<TierName, Vec<usize>>, f64) {
        let max = self.max_by_tier();
        let parts = self.parts();
        let width = self.replicas as usize + 1;
        // Tiers as dense indices, so the per-partition loop does no lookups.
        let mut index: BTreeMap<TierName, usize> = BTreeMap::new();
        let mut limits: Vec<usize> = Vec::new();
        let mut depth_of: Vec<usize> = Vec::new();
        let mut dev_tiers: Vec<Option<[usize; 4]>> = vec![None; self.devs.len()];
        for d in self.iter_devs() {
            let mut path = [0usize; 4];
            for (depth, t) in tiers_of(d).into_iter().enumerate() {
                let n = index.len();
                let limit = max.get(&t).copied().unwrap_or(0) as usize;
                let i = *index.entry(t).or_insert(n);
                if i == limits.len() {
                    limits.push(limit);
                    depth_of.push(depth);
                }
                path[depth] = i;
            }
            dev_tiers[usize::from(d.id)] = Some(path);
        }
        let mut counts = vec![vec![0usize; width]; index.len()];
        let mut at_risk = 0usize;
        let mut here: Vec<(usize, usize)> = Vec::new();
        for p in 0..parts {
            here.clear();
            for row in &self.table {
                let Some(Some(path)) = dev_tiers.get(usize::from(row[p])) else { continue };
                for &t in path {
                    match here.iter_mut().find(|(i, _)| *i == t) {
                        Some(e) => e.1 += 1,
                        None => here.push((t, 1)),
                    }
                }
            }
            let mut worst = [0usize; 4];
            for &(t, n) in &here {
                counts[t][n.min(width - 1)] += 1;
                if n > limits[t] {
                    worst[depth_of[t]] += n - limits[t];
                }
            }
            at_risk += worst.iter().max().copied().unwrap_or(0);
        }
        let mut graph = BTreeMap::new();
        for (name, i) in index {
            let mut c = std::mem::take(&mut counts[i]);
            if c.iter().sum::<usize>() == 0 {
                continue;
            }
            c[0] = parts - c[1..].iter().sum::<usize>();
            graph.insert(name, c);
        }
        let total = (parts * self.replicas as usize) as f64;
        (graph, if total > 0.0 { 100.0 * at_risk as f64 / total } else { 0.0 })
    }

    pub(crate) fn compute_dispersion(&self) -> f64 {
        self.dispersion_graph().1
    }

    /// Per-tier dispersion, in Swift's tier order.
    pub fn dispersion_report(&self) -> Vec<TierReport> {
        let max = self.max_by_tier();
        let (graph, _) = self.dispersion_graph();
        let mut graph: Vec<(TierName, Vec<usize>)> = graph.into_iter().collect();
        graph.sort_by(|a, b| a.0.sort_key().cmp(&b.0.sort_key()));
        graph
            .into_iter()
            .map(|(tier, counts)| {
                let m = max.get(&tier).copied().unwrap_or(0);
                let over: usize =
                    counts.iter().enumerate().skip(m as usize + 1).map(|(i, &c)| c * (i - m as usize)).sum();
                let placed: usize = counts.iter().enumerate().map(|(i, &c)| c * i).sum();
                let dispersion = if placed > 0 { 100.0 * over as f64 / placed as f64 } else { 0.0 };
                TierReport { tier, max_replicas: m, placed, dispersion, counts }
            })
            .collect()
    }

    /// Checks the table: right shape, every slot on a present device, no
    /// device holding two replicas of one partition (when there are enough
    /// devices), no weightless device wanted.
    pub fn validate(&self) -> Result<()> {
        if !self.ever_rebalanced() {
            return Err(Error::Invalid("the builder has never been rebalanced".into()));
        }
        let parts = self.parts();
        if self.table.len() != self.replicas as usize || self.table.iter().any(|r| r.len() != parts) {
            return Err(Error::Invalid("table shape does not match part power and replicas".into()));
        }
        let ndevs = self.iter_devs().count();
        for p in 0..parts {
            let mut seen = Vec::with_capacity(self.table.len());
            for (r, row) in self.table.iter().enumerate() {
                let d = row[p];
                if d == NONE_DEV {
                    return Err(Error::Invalid(format!("partition {p} replica {r} is not assigned")));
                }
                if self.devs.get(usize::from(d)).and_then(Option::as_ref).is_none() {
                    return Err(Error::Invalid(format!("partition {p} replica {r} is on unknown device {d}")));
                }
                if seen.contains(&d) && ndevs >= self.table.len() {
                    return Err(Error::Invalid(format!("partition {p} has two replicas on device {d}")));
                }
                seen.push(d);
            }
        }
        Ok(())
    }
}
