//! HTTP/1.1 on the hub's green sockets.
//!
//! The codec (`head`, `headers`, `chunked`) is sans-IO: it works on byte
//! slices and never blocks. On top of it: streaming bodies (`body`), the
//! response writer, the server loop (`server`) and the backend client
//! (`client`), all plain blocking-style code on green threads.
#![forbid(unsafe_code)]

mod body;
mod buf;
pub mod chunked;
pub mod client;
pub mod date;
pub mod head;
pub mod headers;
pub mod pool;
mod response;
pub mod server;

pub use body::BodyReader;
pub use client::{ClientConn, ClientResponse};
pub use headers::Headers;
pub use response::Response;
pub use server::{AccessRecord, Request, Server, ServerConfig};
