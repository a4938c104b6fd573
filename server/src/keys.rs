//! The keys every server's config reads alike, from its app section with
//! `[DEFAULT]` behind it: where it listens, how many workers and clients,
//! the client timeouts, `swift_dir`, logging.

use common::{ConfigError, LogLevel, Section};
use http::ServerConfig;
use hub::workers::WorkerCount;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ServerKeys {
    pub bind_ip: IpAddr,
    pub bind_port: u16,
    /// Swift's `workers`: a number or `auto`.
    pub workers: WorkerCount,
    /// Connections served at once per worker.
    pub max_clients: usize,
    pub client_timeout: Duration,
    /// How long a kept-alive connection waits for its next request.
    pub keep_idle: Duration,
    pub swift_dir: PathBuf,
    pub log_level: LogLevel,
    pub log_requests: bool,
}

impl ServerKeys {
    /// Reads the keys from `s`; `default_port` is the server's (Swift's
    /// 6200 for the object server, 8080 for the proxy).
    pub fn read(s: &Section<'_>, default_port: u16) -> Result<ServerKeys, ConfigError> {
        Ok(ServerKeys {
            bind_ip: s.parse("bind_ip", IpAddr::from([0, 0, 0, 0]), "an IP address", |v| v.parse().ok())?,
            bind_port: s.parse("bind_port", default_port, "a port number", |v| v.parse().ok())?,
            workers: s.parse("workers", WorkerCount::Auto, "a number or auto", WorkerCount::parse)?,
            max_clients: s.positive("max_clients", http::server::DEFAULT_MAX_CLIENTS)?,
            client_timeout: s.seconds("client_timeout", 60.0)?,
            keep_idle: s.seconds("keep_idle", 600.0)?,
            swift_dir: PathBuf::from(s.string("swift_dir", "/etc/swift")),
            log_level: s.log_level("log_level", LogLevel::Info)?,
            log_requests: s.bool("log_requests", true)?,
        })
    }

    /// Where the workers listen.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind_ip, self.bind_port)
    }

    /// The http server's settings: `max_clients`, `client_timeout` (also
    /// the header timeout) and `keep_idle`.
    pub fn http_config(&self) -> ServerConfig {
        ServerConfig {
            max_clients: self.max_clients,
            client_timeout: self.client_timeout,
            header_timeout: self.client_timeout,
            keepalive_timeout: self.keep_idle,
            ..ServerConfig::default()
        }
    }
}
