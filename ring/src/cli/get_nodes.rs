//! `swiftlet-get-nodes [-a] [--swift-dir DIR] <ring file> <account>
//! [<container> [<object>]]`, printing what `swift-get-nodes` prints.

use std::path::{Path, PathBuf};

use clap::Parser;

use super::{EXIT_ERROR, EXIT_SUCCESS};
use crate::device::{bracket_ipv6, Device};
use crate::error::{Error, Result};
use crate::hash::{PathHasher, DEFAULT_SWIFT_DIR};
use crate::runtime::Ring;

/// Command line of `swiftlet-get-nodes`.
#[derive(Debug, Parser)]
#[command(
    name = "swiftlet-get-nodes",
    about = "Show the nodes responsible for an account, container or object",
    after_help = "account, container, object can also be given as one argument separated by /"
)]
pub struct GetNodesArgs {
    /// Show all handoff nodes (default: as many as primaries).
    #[arg(short, long)]
    pub all: bool,
    /// Show nodes for a partition instead of a name.
    #[arg(short, long)]
    pub partition: Option<u32>,
    /// Directory holding swift.conf (hash prefix and suffix).
    #[arg(short = 'd', long, default_value = DEFAULT_SWIFT_DIR)]
    pub swift_dir: PathBuf,
    /// Ring file, e.g. /etc/swift/object.ring
    pub ring: PathBuf,
    /// account [container [object]]
    #[arg(allow_hyphen_values = true)]
    pub names: Vec<String>,
}

/// Runs the command; returns the exit status.
pub fn run(args: GetNodesArgs) -> i32 {
    match execute(&args) {
        Ok(text) => {
            print!("{text}");
            EXIT_SUCCESS
        }
        Err(e) => {
            eprintln!("ERROR: {e}");
            EXIT_ERROR
        }
    }
}

use common::percent::quote;

/// Builds the whole output (so nothing is printed on error).
pub fn execute(args: &GetNodesArgs) -> Result<String> {
    let mut names: Vec<String> = args.names.clone();
    if names.len() == 1 {
        names = names[0].trim_matches('/').splitn(3, '/').map(str::to_string).collect();
    }
    if names.len() > 3 {
        return Err(Error::BadValue("Invalid arguments".into()));
    }
    if names.is_empty() && args.partition.is_none() {
        return Err(Error::BadValue("No target specified".into()));
    }
    if !args.ring.exists() {
        return Err(Error::BadValue(format!("Ring file does not exist: {}", args.ring.display())));
    }
    let hasher = PathHasher::from_swift_dir(&args.swift_dir)?;
    let ring = Ring::open(&args.ring, hasher)?;
    let account = names.first().map(String::as_str);
    let container = names.get(1).map(String::as_str);
    let object = names.get(2).map(String::as_str);
    Ok(render(&ring, ring_name(&args.ring), account, container, object, args.partition, args.all))
}

fn ring_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.strip_suffix(".ring").unwrap_or(&name).to_string()
}

fn render(
    ring: &Ring,
    ring_name: String,
    account: Option<&str>,
    container: Option<&str>,
    object: Option<&str>,
    tpart: Option<u32>,
    all: bool,
) -> String {
    let mut out = String::new();
    let mut policy_index: Option<u32> = None;
    let policy_suffix = ring_name.strip_prefix("object-").and_then(|n| n.parse::<u32>().ok());
    let mut loc = match (tpart, policy_suffix) {
        (Some(_), Some(n)) => format!("objects-{n}"),
        (Some(_), None) => format!("{ring_name}s"),
        _ => "<type>".to_string(),
    };
    match (account, container, object) {
        (Some(_), Some(_), Some(_)) => {
            loc = "objects".into();
            if let Some(n) = policy_suffix {
                policy_index = Some(n);
                loc = format!("objects-{n}");
            }
        }
        (Some(_), Some(_), None) => {
            loc = "containers".into();
            if ring_name != "container" {
                out.push_str("WARNING: account/container specified but ring not named \"container\"\n");
            }
        }
        (Some(_), None, None) => {
            loc = "accounts".into();
            if ring_name != "account" {
                out.push_str("WARNING: account specified but ring not named \"account\"\n");
            }
        }
        _ => {}
    }
    if let Some(a) = account {
        out.push_str(&format!("\nAccount  \t{}\n", quote(a)));
    }
    if let Some(c) = container {
        out.push_str(&format!("Container\t{}\n", quote(c)));
    }
    if let Some(o) = object {
        out.push_str(&format!("Object   \t{}\n\n\n", quote(o)));
    }
    let target = [account, container, object].into_iter().flatten().collect::<Vec<_>>().join("/");
    let (part, hash) = match (tpart, account) {
        (Some(p), _) => (p, None),
        (None, Some(a)) => {
            let digest = ring.hasher().digest(a, container, object);
            let hash = digest.as_ref().ok().map(|d| common::hex::hex(d));
            (ring.partition(a, container, object).unwrap_or(0), hash)
        }
        (None, None) => (0, None),
    };
    let primaries = ring.part_nodes(part);
    let handoffs: Vec<_> =
        if all { ring.handoffs(part).collect() } else { ring.handoffs(part).take(primaries.len()).collect() };
    out.push_str(&format!("Partition\t{part}\n"));
    out.push_str(&format!("Hash     \t{}\n\n", hash.as_deref().unwrap_or("None")));
    for n in &primaries {
        out.push_str(&format!("Server:Port Device\t{}:{} {}\n", n.ip, n.port, n.device));
    }
    for n in &handoffs {
        out.push_str(&format!("Server:Port Device\t{}:{} {}\t [Handoff]\n", n.ip, n.port, n.device));
    }
    out.push_str("\n\n");
    let curl = |n: &Device| {
        let mut cmd = format!(
            "curl -g -I -XHEAD \"http://{}:{}/{}/{}/{}\"",
            bracket_ipv6(&n.ip),
            n.port,
            n.device,
            part,
            quote(&target)
        );
        if let Some(i) = policy_index {
            cmd.push_str(&format!(" -H \"X-Backend-Storage-Policy-Index: {i}\""));
        }
        cmd.push_str(" --path-as-is");
        cmd
    };
    for n in &primaries {
        out.push_str(&format!("{}\n", curl(n)));
    }
    for n in &handoffs {
        out.push_str(&format!("{} # [Handoff]\n", curl(n)));
    }
    out.push_str("\n\nUse your own device location of servers:\n");
    out.push_str("such as \"export DEVICE=/srv/node\"\n");
    let dir = |n: &Device| match &hash {
        Some(h) => format!("{}/{}/{}/{}/{}", n.device, loc, part, &h[h.len() - 3..], h),
        None => format!("{}/{}/{}", n.device, loc, part),
    };
    for n in &primaries {
        out.push_str(&format!("ssh {} \"ls -lah ${{DEVICE:-/srv/node*}}/{}\"\n", n.ip, dir(n)));
    }
    for n in &handoffs {
        out.push_str(&format!("ssh {} \"ls -lah ${{DEVICE:-/srv/node*}}/{}\" # [Handoff]\n", n.ip, dir(n)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_like_python() {
        assert_eq!(quote("a/b c"), "a/b%20c");
        assert_eq!(quote("é~_.-"), "%C3%A9~_.-");
        assert_eq!(quote("?&=+"), "%3F%26%3D%2B");
    }
}
