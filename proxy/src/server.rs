//! The process: config → [`App`] (rings, TempAuth, caches) → N worker
//! hubs, each serving the API on the shared port; every request goes
//! through [`pipeline::handle`], and, with `log_requests`, leaves an
//! access line ([`proxy_logging`]).

use crate::app::App;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::log;
use crate::middleware::proxy_logging;
use crate::pipeline;
use http::{AccessRecord, Server};
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use swiftlet_server::worker;

/// Runs the proxy until SIGTERM/SIGINT; `Err` for a startup failure.
pub fn run(conf: Config) -> Result<()> {
    log::set_level(conf.server.log_level);
    let addr = conf.server.addr();
    let workers = conf.server.workers.resolve();
    let ctx = App::open(conf)?;
    worker::check_port(addr).map_err(|e| Error::startup(format!("{addr} (bind_ip/bind_port)"), e))?;
    worker::run(&log::LOG, workers, move |i, listening| worker(&ctx, i, addr, workers, listening))
        .map_err(|e| Error::startup("running the workers", e))
}

/// One worker hub: listen, tell systemd when all listen, serve.
fn worker(ctx: &App, i: usize, addr: SocketAddr, workers: usize, listening: &AtomicUsize) {
    let Some(listener) = worker::listen(&log::LOG, i, addr, workers, listening) else {
        return;
    };
    let conf = ctx.conf();
    let cfg = conf.server.http_config();
    let c = ctx.clone();
    let server = Server::new(cfg, move |req, resp| pipeline::handle(&c, req, resp));
    let access: fn(&AccessRecord<'_>) = proxy_logging::access;
    worker::serve(&log::LOG, i, listener, server, conf.server.log_requests.then_some(access));
}
