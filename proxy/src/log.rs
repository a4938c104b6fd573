//! The proxy's messages on stderr, filtered by `log_level`
//! (`proxy-server: LEVEL: message`). The access log, one line per
//! request on stdout, is [`crate::middleware::proxy_logging`].

common::server_logger!("proxy-server");
