//! The process: config → context → N worker hubs, each serving the
//! backend API on the shared port; worker 0 also runs the updater and
//! tells systemd about stopping. Requests are routed by path depth
//! (`path::route`) to the object, container or account handlers, and a
//! handler's `Error` becomes its response here, in one place.

use crate::config::Config;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::object::{container_update, diskfile};
use crate::path::{self, Route};
use crate::{account, container, log, object};
use http::{AccessRecord, Headers, Request, Response, Server};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use swiftlet_server::worker;

/// Runs the object server until SIGTERM/SIGINT; `Err` for a startup
/// failure (bad config, swift.conf missing, port in use).
pub fn run(conf: Config) -> Result<()> {
    let ctx = Context::start(conf)?;
    let addr = ctx.conf().server.addr();
    let workers = ctx.conf().server.workers.resolve();
    hub::tpool::set_threads(ctx.conf().tpool_threads);
    let swept = diskfile::writer::sweep_tmp(ctx.devices());
    if swept > 0 {
        log::info(&format!("removed {swept} temp files left by a previous run"));
    }
    worker::check_port(addr).map_err(|e| Error::Startup {
        path: format!("{addr}").into(),
        reason: format!("cannot listen (bind_ip/bind_port): {e}"),
    })?;
    worker::run(&log::LOG, workers, move |i, listening| worker(&ctx, i, addr, workers, listening))
        .map_err(|e| Error::io("running the workers", e))
}

/// One worker hub: listen, tell systemd when all listen, serve; worker 0
/// also runs the updaters.
fn worker(ctx: &Context, i: usize, addr: SocketAddr, workers: usize, listening: &AtomicUsize) {
    let Some(listener) = worker::listen(&log::LOG, i, addr, workers, listening) else {
        return;
    };
    if i == 0 && ctx.conf().updater.enabled {
        let c = ctx.clone();
        hub::spawn(move || object::updater::run(c));
        let c = ctx.clone();
        hub::spawn(move || container::updater::run_updater(c));
    }
    let conf = ctx.conf();
    let cfg = conf.server.http_config();
    let c = ctx.clone();
    let server = Server::new(cfg, move |req, resp| handle(&c, req, resp));
    let access: fn(&AccessRecord<'_>) = log::access;
    worker::serve(&log::LOG, i, listener, server, conf.server.log_requests.then_some(access));
}

/// Routes one request and answers its error, if any.
pub fn handle(ctx: &Context, req: &mut Request<'_>, resp: &mut Response<'_>) -> io::Result<()> {
    let is_update = req.header(container_update::MARKER_HEADER).is_some();
    let result = match path::route(req.method(), req.target(), is_update) {
        Ok(Route::Object(p)) => object::handle(ctx, req, resp, &p),
        Ok(Route::Container(p)) => container::handle(ctx, req, resp, &p),
        Ok(Route::Account(p)) => account::handle(ctx, req, resp, &p),
        Ok(Route::Replicate { device, partition, suffixes }) => {
            object::replicate(ctx, resp, &device, partition, suffixes)
        }
        Ok(Route::Ssync { device, partition, what }) => object::ssync::handle(ctx, req, resp, &device, partition, what),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) => answer_error(req, resp, e),
    }
}

/// The one place an `Error` becomes a response (see `Error::status`).
fn answer_error(req: &Request<'_>, resp: &mut Response<'_>, e: Error) -> io::Result<()> {
    if e.is_server_fault() {
        log::error(&format!("{} {}: {e}", req.method(), req.target()));
    }
    if resp.started() {
        // Mid-body: the only honest signal left is closing the connection.
        return Err(io::Error::other(e.to_string()));
    }
    if e.status() == 499 {
        // Nobody to answer; the http layer logs 499.
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()));
    }
    let mut h = Headers::new();
    for (k, v) in e.headers() {
        h.set(k, v);
    }
    h.set("Content-Type", "text/plain; charset=utf-8");
    let body = if e.status() == 404 { String::new() } else { format!("{e}\n") };
    resp.send(e.status(), &h, body.as_bytes())
}
