//! `swiftlet-aio [--data DIR] [--bind IP] [--port PORT] [--nodes N] [--replicas R]`
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    aio::run(std::env::args_os())
}
