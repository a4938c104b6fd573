//! Objects on disk (Swift's `diskfile`): layout, file format, the write
//! path, the read path with quarantine, suffix hashes, and the auditor's
//! check of a hash folder. See
//! docs/object-server.md for the format and the durability argument.

pub mod audit;
pub mod format;
pub mod hashes;
pub mod layout;
pub mod reader;
pub mod writer;

pub use format::Metadata;
pub use layout::{Kind, Location};
pub use reader::{ObjectFile, Opened};
pub use writer::{crc_hex, Writer, CRC32C_KEY};
