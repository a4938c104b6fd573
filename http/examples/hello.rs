//! The smallest swiftlet server: answers every request `200 hello`, with
//! keep-alive, on N worker hubs sharing one port. SIGTERM/SIGINT stop it
//! gracefully (requests in flight finish, exit 0).
//!
//!     cargo build --release --examples
//!     target/release/examples/hello --port 8080 --workers 2
#![forbid(unsafe_code)]
use clap::Parser;
use http::{Headers, Server, ServerConfig};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(about = "HTTP hello server on the swiftlet hub")]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Worker hubs (threads) sharing the port; `auto` is one per core.
    #[arg(long, default_value = "1")]
    workers: String,
    /// Sleep this long before answering (to test graceful shutdown); each
    /// such request prints `delaying <target>` on stdout first.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Connections served at once per worker (Swift's `max_clients`).
    #[arg(long, default_value_t = http::server::DEFAULT_MAX_CLIENTS)]
    max_clients: usize,
    /// Green thread stack size in KiB.
    #[arg(long, default_value_t = 64)]
    stack_kib: usize,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let addr: SocketAddr = format!("{}:{}", args.bind, args.port)
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("bad --bind/--port: {e}")))?;
    let workers = hub::workers::WorkerCount::parse(&args.workers)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "--workers must be a number or auto"))?;
    let _ = hub::raise_fd_limit();
    let delay = Duration::from_millis(args.delay_ms);
    let max_clients = args.max_clients;
    let cfg = hub::Config { stack_size: args.stack_kib * 1024, ..Default::default() };
    let n = workers.resolve();
    // Bind once here so that a port in use fails before any thread starts.
    drop(std::net::TcpListener::bind(addr)?);
    hub::workers::run(
        n,
        cfg,
        |_| (),
        move |_| {
            let listener = match hub::TcpListener::bind_with(addr, 1024, true) {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("hello: cannot listen on {addr}: {e}");
                    return;
                }
            };
            let server = Server::new(
                ServerConfig { grace: Duration::from_secs(10), max_clients, ..Default::default() },
                move |req, resp| {
                    req.body.drain(u64::MAX)?;
                    if !delay.is_zero() {
                        // The tests wait for this line (a request in flight).
                        println!("delaying {}", req.target());
                        hub::sleep(delay)?;
                    }
                    let mut h = Headers::new();
                    h.set("Content-Type", "text/plain");
                    resp.send(200, &h, b"hello")
                },
            );
            if let Err(e) = server.serve(listener) {
                eprintln!("hello: {e}");
            }
        },
    )?;
    Ok(())
}
