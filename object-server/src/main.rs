//! `swiftlet-object-server --config /etc/swift/object-server.conf`
#![forbid(unsafe_code)]
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "swiftlet storage node: the backend object API, container updates and the object-updater")]
struct Args {
    /// Path of object-server.conf (Swift's format and keys).
    #[arg(long, value_name = "PATH")]
    config: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = object_server::Config::load(&args.config).and_then(object_server::run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swiftlet-object-server: {e}");
            ExitCode::FAILURE
        }
    }
}
