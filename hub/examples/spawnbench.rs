//! Cost of a green thread: spawn + run + join, on pooled stacks.
//!
//!     spawnbench [iterations]
//!
//! Prints wall and thread-CPU nanoseconds per green thread for two
//! patterns: one at a time (spawn, join, repeat: two switches each) and in
//! batches of 1,000 (as eventlet's spawn+run anchor measures it).
use std::time::Instant;

fn thread_cpu_ns() -> u128 {
    hub::thread_cpu_time().as_nanos()
}

fn main() {
    let iters: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
    hub::run(move || {
        for _ in 0..10_000 {
            hub::spawn(|| ()).join().unwrap();
        }
        let (t, c) = (Instant::now(), thread_cpu_ns());
        for i in 0..iters {
            let h = hub::spawn(move || i);
            std::hint::black_box(h.join().unwrap());
        }
        let (wall, cpu) = (t.elapsed().as_nanos(), thread_cpu_ns() - c);
        println!(
            "spawn_join_one_at_a_time iters={iters} ns_per_thread={:.1} cpu_ns_per_thread={:.1}",
            wall as f64 / iters as f64,
            cpu as f64 / iters as f64
        );
        let batches = iters / 1000;
        let (t, c) = (Instant::now(), thread_cpu_ns());
        let mut hs = Vec::with_capacity(1000);
        for _ in 0..batches {
            for i in 0..1000 {
                hs.push(hub::spawn(move || i));
            }
            for h in hs.drain(..) {
                std::hint::black_box(h.join().unwrap());
            }
        }
        let n = batches * 1000;
        let (wall, cpu) = (t.elapsed().as_nanos(), thread_cpu_ns() - c);
        println!(
            "spawn_join_batch_1000 iters={n} ns_per_thread={:.1} cpu_ns_per_thread={:.1}",
            wall as f64 / n as f64,
            cpu as f64 / n as f64
        );
    });
}
