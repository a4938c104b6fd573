//! `swiftlet-proxy-server --config /etc/swift/proxy-server.conf`
#![forbid(unsafe_code)]
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "swiftlet proxy server: the Swift API v1 with TempAuth, replica fan-out and quorum")]
struct Args {
    /// Path of proxy-server.conf (Swift's format and keys).
    #[arg(long, value_name = "PATH")]
    config: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match proxy::Config::load(&args.config).and_then(proxy::run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swiftlet-proxy-server: {e}");
            ExitCode::FAILURE
        }
    }
}
