//! Opens N keep-alive connections to a server, sends one request on each,
//! reads the answer, then holds them all idle for a while (to measure the
//! server's memory per idle connection).
//!
//!     idleconns --port P [--conns 10000] [--hold-secs 5]
#![forbid(unsafe_code)]
use clap::Parser;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    port: u16,
    #[arg(long, default_value_t = 10_000)]
    conns: usize,
    #[arg(long, default_value_t = 5)]
    hold_secs: u64,
}

fn main() {
    let args = Args::parse();
    let _ = hub::raise_fd_limit();
    let addr: SocketAddr = format!("127.0.0.1:{}", args.port).parse().expect("address");
    let cfg = hub::Config { stack_size: 64 * 1024, ..Default::default() };
    let ok = hub::run_with(cfg, move || {
        let opened = hub::Semaphore::new(256); // connect at most 256 at once
        let release = hub::Event::new();
        let mut hs = Vec::new();
        for _ in 0..args.conns {
            let permit = opened.acquire().expect("permit");
            let release = release.clone();
            hs.push(hub::spawn(move || -> bool {
                let Ok(mut s) = hub::TcpStream::connect(addr, Some(Duration::from_secs(10))) else { return false };
                if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_err() {
                    return false;
                }
                let mut buf = [0u8; 512];
                let got = s.read(&mut buf).unwrap_or(0) > 0;
                drop(permit);
                let _ = release.wait();
                got
            }));
        }
        while opened.available() < 256 {
            hub::sleep(Duration::from_millis(10)).expect("sleep");
        }
        println!("idle_connections_open={}", args.conns);
        hub::sleep(Duration::from_secs(args.hold_secs)).expect("sleep");
        release.set();
        hs.into_iter().map(|h| h.join().unwrap_or(false)).filter(|&b| b).count()
    });
    println!("idle_connections_answered={ok}");
}
