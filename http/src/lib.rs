//! HTTP/1.1 on the hub's green sockets.
//!
//! The codec (`head`, `headers`, `chunked`) is sans-IO: it works on byte
//! slices and never blocks. The connection-level parts (server loop, body
//! readers, client) are built on top of it with green `TcpStream`s.
#![forbid(unsafe_code)]

pub mod chunked;
pub mod head;
pub mod headers;
