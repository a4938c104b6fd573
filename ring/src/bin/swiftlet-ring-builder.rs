//! `swiftlet-ring-builder`: see `ring::cli::ringbuilder`.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let args = ring::cli::ringbuilder::BuilderArgs::parse();
    std::process::exit(ring::cli::ringbuilder::run(args));
}
