//! The operator commands; the binaries in `src/bin/` only call these.
//!
//! * [`ringbuilder`]: `swiftlet-ring-builder`, after `swift-ring-builder`;
//! * [`display`]: its device table and time formats;
//! * [`get_nodes`]: `swiftlet-get-nodes`, after `swift-get-nodes`.

pub mod display;
pub mod get_nodes;
pub mod ringbuilder;

/// Exit status: success.
pub const EXIT_SUCCESS: i32 = 0;
/// Exit status: done, with a warning (Swift's convention).
pub const EXIT_WARNING: i32 = 1;
/// Exit status: error, nothing written.
pub const EXIT_ERROR: i32 = 2;
