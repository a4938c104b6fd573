//! `swiftlet-object-auditor --config /etc/swift/object-server.conf [--once]`
#![forbid(unsafe_code)]
use clap::Parser;
use object_server::daemon::Args;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = Args::parse();
    match object_server::object::auditor::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swiftlet-object-auditor: {e}");
            ExitCode::FAILURE
        }
    }
}
