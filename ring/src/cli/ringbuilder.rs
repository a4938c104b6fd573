//! `swiftlet-ring-builder <builder> [command]`, after `swift-ring-builder`.
//!
//! Every command that changes anything loads the builder file, applies the
//! whole command in memory, and only then writes files atomically: a failed
//! command leaves the files as they were. The ring file lives next to the
//! builder: `object.builder` → `object.ring`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};

use super::display::{device_table, timedelta};
use super::{EXIT_ERROR, EXIT_SUCCESS, EXIT_WARNING};
use crate::builder::{InfoChange, NewDevice, RingBuilder};
use crate::device::{parse_add_value, take_address, Device, Search};
use crate::error::{Error, Result};
use crate::file;
use crate::ringdata::RingData;

/// Command line of `swiftlet-ring-builder`.
#[derive(Debug, Parser)]
#[command(name = "swiftlet-ring-builder", about = "Build and inspect swiftlet rings (swift-ring-builder's commands)")]
pub struct BuilderArgs {
    /// The builder file, e.g. /etc/swift/object.builder
    pub builder: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands; with none, the builder is displayed.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a builder with 2^part_power partitions.
    Create { part_power: u8, replicas: u32, min_part_hours: u32 },
    /// Add devices: `[r<region>]z<zone>-<ip>:<port>[R<r_ip>:<r_port>]/<device>[_<meta>] <weight>` ...
    Add {
        #[arg(allow_hyphen_values = true)]
        values: Vec<String>,
        #[command(flatten)]
        opts: DevOpts,
    },
    /// Mark devices for removal at the next rebalance: `<search-value>` ...
    Remove {
        #[arg(allow_hyphen_values = true)]
        values: Vec<String>,
        /// Act on several matching devices without asking.
        #[arg(long, short)]
        yes: bool,
    },
    /// Set weights: `<search-value> <weight>` ...
    #[command(name = "set_weight")]
    SetWeight {
        #[arg(allow_hyphen_values = true)]
        values: Vec<String>,
        #[arg(long, short)]
        yes: bool,
    },
    /// Change addresses/names: `<search-value> <ip>:<port>[R<r_ip>:<r_port>]/<device>_<meta>` ...
    #[command(name = "set_info")]
    SetInfo {
        #[arg(allow_hyphen_values = true)]
        values: Vec<String>,
        #[arg(long, short)]
        yes: bool,
    },
    /// Set the overload factor: `0.1` or `10%`.
    #[command(name = "set_overload")]
    SetOverload { value: String },
    /// Set min_part_hours.
    #[command(name = "set_min_part_hours")]
    SetMinPartHours { hours: u8 },
    /// Reassign partitions and write the ring file next to the builder.
    Rebalance {
        /// Seed (also accepted as a plain argument, as in Swift).
        seed_arg: Option<u64>,
        #[arg(long, short)]
        seed: Option<u64>,
        /// Save even if less than 1% changed.
        #[arg(long, short)]
        force: bool,
    },
    /// Check the partition table.
    Validate,
    /// Report how well replicas are spread over tiers.
    Dispersion {
        #[arg(long, short)]
        verbose: bool,
    },
    /// Let every partition move at the next rebalance.
    #[command(name = "pretend_min_part_hours_passed")]
    PretendMinPartHoursPassed,
    /// Write the ring file from the builder as it is.
    #[command(name = "write_ring")]
    WriteRing,
    /// List devices matching a search value.
    Search { value: String },
}

/// The `--region --zone ...` form of `add`.
#[derive(Debug, Args, Default)]
pub struct DevOpts {
    #[arg(long, short = 'r')]
    pub region: Option<u32>,
    #[arg(long, short = 'z')]
    pub zone: Option<u32>,
    #[arg(long, short = 'i')]
    pub ip: Option<String>,
    #[arg(long, short = 'p')]
    pub port: Option<u16>,
    #[arg(long)]
    pub replication_ip: Option<String>,
    #[arg(long)]
    pub replication_port: Option<u16>,
    #[arg(long, short = 'd')]
    pub device: Option<String>,
    #[arg(long, short = 'w')]
    pub weight: Option<f64>,
    #[arg(long, short = 'm')]
    pub meta: Option<String>,
}

/// The ring file written for a builder file.
pub fn ring_path(builder: &Path) -> PathBuf {
    let name = builder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".builder").unwrap_or(&name);
    builder.with_file_name(format!("{stem}.ring"))
}

/// Runs one command; returns the exit status. Messages go to stdout,
/// errors to stderr.
pub fn run(args: BuilderArgs) -> i32 {
    match execute(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            if !matches!(args.command, None | Some(Command::Create { .. })) {
                eprintln!("The on-disk ring builder is unchanged.");
            }
            EXIT_ERROR
        }
    }
}

fn execute(args: &BuilderArgs) -> Result<i32> {
    let path = &args.builder;
    let Some(cmd) = &args.command else {
        return display(path, &RingBuilder::load(path)?);
    };
    if let Command::Create { part_power, replicas, min_part_hours } = cmd {
        let b = RingBuilder::new(*part_power, *replicas, *min_part_hours)?;
        backup(path, &b.to_bytes())?;
        b.save(path)?;
        return Ok(EXIT_SUCCESS);
    }
    let mut b = RingBuilder::load(path)?;
    match cmd {
        Command::Create { .. } => unreachable!("handled above"),
        Command::Add { values, opts } => add(&mut b, values, opts)?,
        Command::Remove { values, yes } => {
            for id in matched_ids(&b, values, 1, *yes)? {
                b.remove_dev(id)?;
                println!("{} marked for removal and will be removed next rebalance.", b.dev(id)?.format());
            }
        }
        Command::SetWeight { values, yes } => {
            for pair in pairs(values, "set_weight <search-value> <weight>")? {
                let weight = parse_weight(pair[1])?;
                for id in matched_ids(&b, &[pair[0].to_string()], 1, *yes)? {
                    b.set_weight(id, weight)?;
                    println!("{} weight set to {}", b.dev(id)?.format(), py_float(weight));
                }
            }
        }
        Command::SetInfo { values, yes } => {
            for pair in pairs(values, "set_info <search-value> <ip>:<port>/<device>_<meta>")? {
                let change = parse_change(pair[1])?;
                for id in matched_ids(&b, &[pair[0].to_string()], 1, *yes)? {
                    let before = b.dev(id)?.format();
                    b.set_info(id, change.clone())?;
                    println!("Device {} is now {}", before, b.dev(id)?.format());
                }
            }
        }
        Command::SetOverload { value } => {
            let v = match value.strip_suffix('%') {
                Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
                None => value.trim().parse::<f64>(),
            };
            let v = v.map_err(|_| Error::BadValue(format!("Invalid overload value: {value}")))?;
            b.set_overload(v)?;
            println!("The overload factor is now {:.2}% ({:.6})", v * 100.0, v);
        }
        Command::SetMinPartHours { hours } => {
            b.set_min_part_hours(*hours);
            println!("The minimum number of hours before a partition can be reassigned is now set to {hours}");
        }
        Command::Rebalance { seed_arg, seed, force } => return rebalance(path, b, seed.or(*seed_arg), *force),
        Command::Validate => {
            b.validate()?;
            return Ok(EXIT_SUCCESS);
        }
        Command::Dispersion { verbose } => return dispersion(path, &b, *verbose),
        Command::PretendMinPartHoursPassed => b.pretend_min_part_hours_passed(),
        Command::WriteRing => {
            b.get_ring()?.save(&ring_path(path))?;
            return Ok(EXIT_SUCCESS);
        }
        Command::Search { value } => {
            let s = Search::parse(value)?;
            let found = b.search(&s);
            if found.is_empty() {
                println!("No matching devices found");
                return Ok(EXIT_ERROR);
            }
            print!("{}", device_table(&b, &found));
            return Ok(EXIT_SUCCESS);
        }
    }
    b.save(path)?;
    Ok(EXIT_SUCCESS)
}

fn add(b: &mut RingBuilder, values: &[String], opts: &DevOpts) -> Result<()> {
    let mut new = Vec::new();
    if values.is_empty() {
        let missing = |what: &str| Error::BadValue(format!("Required argument --{what} is missing"));
        let ip = opts.ip.clone().ok_or_else(|| missing("ip"))?;
        let port = opts.port.ok_or_else(|| missing("port"))?;
        new.push(NewDevice {
            id: None,
            region: opts.region.ok_or_else(|| missing("region"))?,
            zone: opts.zone.ok_or_else(|| missing("zone"))?,
            replication_ip: opts.replication_ip.clone(),
            replication_port: opts.replication_port,
            ip,
            port,
            device: opts.device.clone().ok_or_else(|| missing("device"))?,
            weight: opts.weight.ok_or_else(|| missing("weight"))?,
            meta: opts.meta.clone().unwrap_or_default(),
        });
    } else {
        for pair in pairs(values, "add r<region>z<zone>-<ip>:<port>/<device> <weight>")? {
            let v = parse_add_value(pair[0])?;
            let region = v.region.unwrap_or_else(|| {
                eprintln!("WARNING: No region specified for {}. Defaulting to region 1.\n", pair[0]);
                1
            });
            new.push(NewDevice {
                id: None,
                region,
                zone: v.zone,
                ip: v.ip,
                port: v.port,
                replication_ip: v.replication_ip,
                replication_port: v.replication_port,
                device: v.device,
                weight: parse_weight(pair[1])?,
                meta: v.meta,
            });
        }
    }
    for d in new {
        let weight = d.weight;
        let id = b.add_dev(d)?;
        println!("Device {} with {} weight got id {}", b.dev(id)?.format(), py_float(weight), id);
    }
    Ok(())
}

/// A float as Python prints it: `100.0`, `0.5`.
fn py_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn pairs<'a>(values: &'a [String], usage: &str) -> Result<Vec<[&'a str; 2]>> {
    if values.is_empty() || !values.len().is_multiple_of(2) {
        return Err(Error::BadValue(format!("usage: swiftlet-ring-builder <builder_file> {usage} [...]")));
    }
    Ok(values.chunks_exact(2).map(|c| [c[0].as_str(), c[1].as_str()]).collect())
}

fn parse_weight(s: &str) -> Result<f64> {
    s.parse::<f64>()
        .ok()
        .filter(|w| w.is_finite() && *w >= 0.0)
        .ok_or_else(|| Error::BadValue(format!("Invalid weight value: {s}")))
}

/// Devices matching each search value; more than `limit` matches need `yes`.
fn matched_ids(b: &RingBuilder, values: &[String], limit: usize, yes: bool) -> Result<Vec<u16>> {
    if values.is_empty() {
        return Err(Error::BadValue("a search value is required".into()));
    }
    let mut ids = Vec::new();
    for v in values {
        let found: Vec<&Device> = b.search(&Search::parse(v)?);
        if found.is_empty() {
            return Err(Error::NoSuchDevice(format!("Search value {v} matched 0 devices.")));
        }
        if found.len() > limit && !yes {
            let list: Vec<String> = found.iter().map(|d| format!("    {}", d.format())).collect();
            return Err(Error::BadValue(format!(
                "Search value {v} matched more than one device:\n{}\nUse --yes to act on all of them.",
                list.join("\n")
            )));
        }
        ids.extend(found.iter().map(|d| d.id));
    }
    Ok(ids)
}

/// `<ip>:<port>[R<r_ip>:<r_port>]/<device>_<meta>`, every part optional.
fn parse_change(value: &str) -> Result<InfoChange> {
    let bad = || Error::BadValue(format!("Invalid set info change value: {value}"));
    let mut c = InfoChange::default();
    let mut rest = value;
    if !rest.is_empty() && !rest.starts_with(['/', '_', 'R', ':']) {
        let (ip, port, r) = take_address(rest).ok_or_else(bad)?;
        c.ip = Some(ip);
        c.port = port;
        rest = r;
    } else if let Some(r) = rest.strip_prefix(':') {
        let end = r.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(r.len());
        c.port = Some(r[..end].parse().map_err(|_| bad())?);
        rest = &r[end..];
    }
    if let Some(r) = rest.strip_prefix('R') {
        let (ip, port, r) = take_address(r).ok_or_else(bad)?;
        c.replication_ip = Some(ip);
        c.replication_port = port;
        rest = r;
    }
    if let Some(r) = rest.strip_prefix('/') {
        let end = r.find('_').unwrap_or(r.len());
        c.device = Some(r[..end].to_string());
        rest = &r[end..];
    }
    if let Some(r) = rest.strip_prefix('_') {
        c.meta = Some(r.to_string());
        rest = "";
    }
    if !rest.is_empty() || c == InfoChange::default() {
        return Err(bad());
    }
    Ok(c)
}

fn default_seed(b: &RingBuilder) -> u64 {
    b.version()
}

fn rebalance(path: &Path, mut b: RingBuilder, seed: Option<u64>, force: bool) -> Result<i32> {
    let devs_changed = b.devs_changed();
    let last_balance = b.balance();
    let last_dispersion = b.dispersion();
    let r = b.rebalance(seed.unwrap_or_else(|| default_seed(&b)))?;
    let dispersion = b.dispersion().unwrap_or(0.0);
    if r.moved == 0 && r.removed == 0 && !force {
        println!("No partitions could be reassigned.");
        let left = b.min_part_seconds_left();
        if left > 0 {
            println!(
                "The time between rebalances must be at least min_part_hours: {} hours ({} remaining)",
                b.min_part_hours(),
                timedelta(left)
            );
        } else {
            println!("There is no need to do so at this time");
        }
        return Ok(EXIT_WARNING);
    }
    let balance_changed = (last_balance - r.balance).abs() >= 1.0;
    let dispersion_changed = last_dispersion.is_none_or(|d| (d - dispersion).abs() >= 1.0);
    if !force && !devs_changed && !balance_changed && !dispersion_changed {
        println!("Cowardly refusing to save rebalance as it did not change at least 1%.");
        return Ok(EXIT_WARNING);
    }
    b.validate()?;
    let ring = b.get_ring()?;
    let ring_file = ring_path(path);
    let ring_bytes = ring.to_bytes();
    let builder_bytes = b.to_bytes();
    backup(&ring_file, &ring_bytes)?;
    backup(path, &builder_bytes)?;
    file::write_atomic(&ring_file, &ring_bytes)?;
    file::write_atomic(path, &builder_bytes)?;
    println!(
        "Reassigned {} ({:.2}%) partitions. Balance is now {:.2}.  Dispersion is now {:.2}",
        r.moved,
        100.0 * r.moved as f64 / b.parts() as f64,
        r.balance,
        dispersion
    );
    let rule = "-".repeat(79);
    if dispersion > 0.0 {
        println!("{rule}");
        println!(
            "NOTE: Dispersion of {dispersion:.6} indicates some parts are not\n      optimally dispersed.\n\n      \
             You may want to adjust some device weights, increase\n      the overload or review the dispersion report."
        );
        println!("{rule}");
        return Ok(EXIT_WARNING);
    }
    if r.balance > 5.0 && r.balance / 100.0 > b.overload() {
        println!("{rule}");
        println!("NOTE: Balance of {:.2} indicates you should push this ", r.balance);
        println!("      ring, wait at least {} hours, and rebalance/repush.", b.min_part_hours());
        println!("{rule}");
        return Ok(EXIT_WARNING);
    }
    Ok(EXIT_SUCCESS)
}

fn dispersion(path: &Path, b: &RingBuilder, verbose: bool) -> Result<i32> {
    if !b.ever_rebalanced() {
        println!("Specified builder file \"{}\" is not rebalanced yet. Please rebalance first.", path.display());
        return Ok(EXIT_ERROR);
    }
    let report = b.dispersion_report();
    println!(
        "Dispersion is {:.6}, Balance is {:.6}, Overload is {:.2}%",
        b.dispersion().unwrap_or(0.0),
        b.balance(),
        b.overload() * 100.0
    );
    println!("Required overload is {:.6}%", b.required_overload() * 100.0);
    let worst = report.iter().filter(|t| t.dispersion > 0.0).max_by(|a, b| a.dispersion.total_cmp(&b.dispersion));
    let mut status = EXIT_SUCCESS;
    if let Some(w) = worst {
        println!("Worst tier is {:.6} ({})", w.dispersion, w.tier);
        status = EXIT_WARNING;
    }
    if verbose {
        let pw = b.parts().to_string().len().max(5);
        let tw = report.iter().map(|t| t.tier.to_string().len()).max().unwrap_or(0).max(30);
        let cols: Vec<String> = (0..=b.replicas()).map(|i| format!("{i:>pw$}")).collect();
        let header = format!("{:<tw$} {:>pw$} {:>6} {:>6} {}", "Tier", "Parts", "%", "Max", cols.join(" "));
        let rule = "-".repeat(header.len());
        println!("{rule}\n{header}\n{rule}");
        for t in &report {
            let counts: Vec<String> = t.counts.iter().map(|c| format!("{c:>pw$}")).collect();
            let tier = t.tier.to_string();
            println!("{tier:<tw$} {:>pw$} {:>6.2} {:>6} {}", t.placed, t.dispersion, t.max_replicas, counts.join(" "));
        }
    }
    Ok(status)
}

fn display(path: &Path, b: &RingBuilder) -> Result<i32> {
    let devs: Vec<&Device> = b.iter_devs().collect();
    let regions: std::collections::BTreeSet<u32> = devs.iter().map(|d| d.region).collect();
    let zones: std::collections::BTreeSet<(u32, u32)> = devs.iter().map(|d| (d.region, d.zone)).collect();
    println!("{}, build version {}, id {}", path.display(), b.version(), b.id());
    let trailer = b.dispersion().map(|d| format!(", {d:.2} dispersion")).unwrap_or_default();
    println!(
        "{} partitions, {:.6} replicas, {} regions, {} zones, {} devices, 2-byte IDs, {:.2} balance{}",
        b.parts(),
        f64::from(b.replicas()),
        regions.len(),
        zones.len(),
        devs.len(),
        if devs.is_empty() { 0.0 } else { b.balance() },
        trailer
    );
    println!(
        "The minimum number of hours before a partition can be reassigned is {} ({} remaining)",
        b.min_part_hours(),
        timedelta(b.min_part_seconds_left())
    );
    println!("The overload factor is {:.2}% ({:.6})", b.overload() * 100.0, b.overload());
    let ring_file = ring_path(path);
    match std::fs::read(&ring_file) {
        Err(_) => println!("Ring file {} not found, probably it hasn't been written yet", ring_file.display()),
        Ok(bytes) => match RingData::from_bytes(&ring_file, &bytes) {
            Err(e) => println!("Ring file {} is invalid: {}", ring_file.display(), e),
            Ok(_) if b.get_ring().is_ok_and(|r| r.to_bytes() == bytes) => {
                println!("Ring file {} is up-to-date", ring_file.display())
            }
            Ok(_) => println!("Ring file {} is obsolete", ring_file.display()),
        },
    }
    print!("{}", device_table(b, &devs));
    if devs.is_empty() {
        println!("Unable to finish rebalance plan: Ring is empty");
    }
    Ok(EXIT_SUCCESS)
}

/// Keeps a copy in `backups/<unix time>.<name>` next to `path`, as Swift does.
fn backup(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.join("backups"),
        _ => PathBuf::from("backups"),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let ts = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    file::write_atomic(&dir.join(format!("{ts}.{name}")), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_file_sits_next_to_the_builder() {
        assert_eq!(ring_path(Path::new("/etc/swift/object.builder")), Path::new("/etc/swift/object.ring"));
        assert_eq!(ring_path(Path::new("x")), Path::new("x.ring"));
    }

    #[test]
    fn change_values() {
        let c = parse_change("10.0.0.2:6300R10.0.1.2:6400/sdc_new meta").unwrap();
        assert_eq!(c.ip.as_deref(), Some("10.0.0.2"));
        assert_eq!(c.port, Some(6300));
        assert_eq!(c.replication_port, Some(6400));
        assert_eq!(c.device.as_deref(), Some("sdc"));
        assert_eq!(c.meta.as_deref(), Some("new meta"));
        let c = parse_change("_only meta").unwrap();
        assert_eq!((c.ip, c.meta.as_deref()), (None, Some("only meta")));
        assert!(parse_change("").is_err());
    }
}
