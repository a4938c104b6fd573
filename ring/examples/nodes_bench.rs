//! Times `Ring::nodes()` and `handoffs()` on a ring file:
//! `cargo run --release -p swiftlet-ring --example nodes_bench -- <ring> <swift_dir> [lookups]`.
//! Used by bench/ring.sh; not a test.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use ring::{PathHasher, Ring};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let ring_path = PathBuf::from(args.next().ok_or("usage: nodes_bench <ring> <swift_dir> [lookups]")?);
    let swift_dir = PathBuf::from(args.next().ok_or("usage: nodes_bench <ring> <swift_dir> [lookups]")?);
    let lookups: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2_000_000);
    let ring = Ring::open(&ring_path, PathHasher::from_swift_dir(&swift_dir)?)?;
    let names: Vec<String> = (0..4096).map(|i| format!("photos/2024/{i:06}/IMG_{:08}.jpg", i * 7919)).collect();
    for n in &names[..64] {
        black_box(ring.nodes("AUTH_test", Some("c"), Some(n))?);
    }
    let t = Instant::now();
    for i in 0..lookups {
        let (part, nodes) = ring.nodes("AUTH_test", Some("container"), Some(&names[i % names.len()]))?;
        black_box((part, nodes));
    }
    let per = t.elapsed().as_nanos() as f64 / lookups as f64;
    println!("nodes(): {lookups} lookups, {per:.0} ns per lookup");
    let t = Instant::now();
    let n = 200_000;
    for i in 0..n {
        black_box(ring.handoffs(i as u32 % (1 << ring.part_power())).take(3).count());
    }
    let per = t.elapsed().as_nanos() as f64 / n as f64;
    println!("handoffs(part).take(3): {per:.0} ns per call");
    Ok(())
}
