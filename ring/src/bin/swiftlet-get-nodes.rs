//! `swiftlet-get-nodes`: see `ring::cli::get_nodes`.
#![forbid(unsafe_code)]

use clap::Parser;

fn main() {
    let args = ring::cli::get_nodes::GetNodesArgs::parse();
    std::process::exit(ring::cli::get_nodes::run(args));
}
