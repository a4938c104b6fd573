//! Broker-level benchmark: row updates into one container from N threads
//! (as tpool threads apply them), rate measured per 100,000 rows, then a
//! 10,000-item JSON page with prefix and marker.
//!
//! `cargo run --release -p swiftlet-db --example rowbench -- [rows] [threads] [batch] [full]`
#![forbid(unsafe_code)]

use db::{ContainerBroker, Format, Kind, ListParams, ObjectRecord, Options, Synchronous, Timestamp};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let threads: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16);
    let batch: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let sync = if args.get(4).map(String::as_str) == Some("full") { Synchronous::Full } else { Synchronous::Normal };
    let root = std::env::temp_dir().join(format!("swiftlet-rowbench-{}", std::process::id()));
    let dev = root.join("sda");
    let path = db::db_path(&dev, Kind::Container, 1, "00000000000000000000000000000abc")?;
    ContainerBroker::initialize(&path, &dev.join("tmp"), "AUTH_bench", "c", Timestamp::now())?;
    let b = Arc::new(ContainerBroker::open(&path, &Options { sync, ..Options::default() })?);
    let next = Arc::new(AtomicU64::new(0));
    let step = 100_000.min(rows);
    let mut done = 0;
    while done < rows {
        let t = Instant::now();
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let (b, next) = (b.clone(), next.clone());
                std::thread::spawn(move || loop {
                    let i = next.fetch_add(batch, Ordering::Relaxed);
                    if i >= done + step {
                        break;
                    }
                    // Unique, unordered names, as wrk's script sends them.
                    let recs = (i..(i + batch).min(done + step))
                        .map(|i| {
                            let name = format!("obj/{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                            ObjectRecord::put(
                                &name,
                                Timestamp::now(),
                                1024,
                                "application/octet-stream",
                                "d41d8cd98f00b204e9800998ecf8427e",
                            )
                        })
                        .collect();
                    b.put_objects(recs).expect("row update");
                })
            })
            .collect();
        for h in hs {
            h.join().map_err(|_| "thread panicked")?;
        }
        next.store(done + step, Ordering::Relaxed);
        done += step;
        let secs = t.elapsed().as_secs_f64();
        print!("(commits so far {}) ", db::commits());
        println!("{done:>8} rows: {:>8.0} row updates/s", step as f64 / secs);
    }
    let info = b.info()?;
    println!("object_count {} bytes_used {}", info.object_count, info.bytes_used);
    for _ in 0..3 {
        let t = Instant::now();
        let p = ListParams { prefix: "obj/".into(), marker: "obj/4".into(), ..ListParams::default() };
        let entries = b.list(&p)?;
        let body = db::format::container_listing(Format::Json, "a", "c", &entries).unwrap_or_default();
        println!(
            "10,000-item JSON page: {} items, {} bytes, {:.1} ms",
            entries.len(),
            body.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    std::fs::remove_dir_all(&root)?;
    Ok(())
}
