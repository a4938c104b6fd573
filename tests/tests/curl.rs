//! The real `curl` against a real cluster (or `SWIFTLET_TEST_URL`): the
//! commands the README shows, run as written (only the URL changed), and
//! curl's ways of uploading and downloading: `-T file`, `-T -` (chunked),
//! `--data-binary @file`, `-r` ranges, `-I`, listings.

use functional::cluster::TESTER;
use functional::Cluster;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn require_curl() {
    let found = Command::new("sh").args(["-c", "command -v curl"]).stdout(Stdio::null()).status();
    assert!(
        found.is_ok_and(|s| s.success()),
        "curl is not installed: these tests drive the cluster with curl (Debian: apt-get install curl)"
    );
}

fn bash(script: &str) -> Output {
    Command::new("bash").args(["-euo", "pipefail", "-c", script]).output().expect("run bash")
}

fn stdout_of(script: &str) -> String {
    let out = bash(script);
    assert!(
        out.status.success(),
        "script failed ({}):\n{script}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The shell lines of the README's block that logs in with curl.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let blocks: Vec<&str> = readme.split("```sh\n").skip(1).filter_map(|b| b.split("```").next()).collect();
    let block = blocks.iter().find(|b| b.contains("TOKEN=$(curl")).expect("README has no curl block");
    block.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect()
}

#[test]
fn the_readmes_commands_work_as_written() {
    require_curl();
    let c = Cluster::shared();
    let lines = readme_commands();
    assert!(lines.len() >= 4, "{lines:?}");
    let script = lines.join("\n").replace("http://127.0.0.1:8080", &c.url);
    let out = stdout_of(&script);
    // The last command downloads what the third one uploaded.
    assert!(out.ends_with("Hello, swiftlet!\n"), "{out}");
    assert!(out.contains("HTTP/1.1 201"), "{out}");
}

/// A temp file that is removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, data: &[u8]) -> TempFile {
        let p = std::env::temp_dir().join(format!("swiftlet-curl-{name}-{}", std::process::id()));
        std::fs::write(&p, data).unwrap();
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn curl_uploads_downloads_ranges_and_listings() {
    require_curl();
    let c = Cluster::shared();
    let s = c.login(TESTER);
    let cont = Cluster::unique("curl");
    let base = format!("{}{}", c.url, s.path(&cont));
    let auth = format!("X-Auth-Token: {}", s.token);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 239) as u8).collect();
    let file = TempFile::new("up", &data);
    let f = file.0.display();
    let code = |args: &str| stdout_of(&format!("curl -s -o /dev/null -w '%{{http_code}}' -H '{auth}' {args}"));

    assert_eq!(code(&format!("-X PUT {base}")), "201");
    // -T file: PUT with Content-Length.
    assert_eq!(code(&format!("-T {f} {base}/file.bin")), "201");
    // -T -: PUT from stdin, chunked.
    assert_eq!(code(&format!("-T - {base}/stdin.bin < {f}")), "201");
    // --data-binary @file with -X PUT.
    assert_eq!(code(&format!("-X PUT --data-binary @{f} {base}/binary.bin")), "201");
    for name in ["file.bin", "stdin.bin", "binary.bin"] {
        let out = Command::new("curl").args(["-s", "-f", "-H", &auth, &format!("{base}/{name}")]).output().unwrap();
        assert!(out.status.success(), "GET {name}");
        assert!(out.stdout == data, "{name}: other bytes");
    }
    // -r: a range; -I: the headers.
    let out = Command::new("curl").args(["-s", "-r", "1000-1009", "-H", &auth, &format!("{base}/file.bin")]).output();
    assert_eq!(out.unwrap().stdout, &data[1000..1010]);
    let head = stdout_of(&format!("curl -s -I -H '{auth}' {base}/stdin.bin"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains("content-length: 300000"), "{head}");
    // Listings, plain and JSON.
    assert_eq!(stdout_of(&format!("curl -s -H '{auth}' {base}")), "binary.bin\nfile.bin\nstdin.bin\n");
    let json = stdout_of(&format!("curl -s -H '{auth}' '{base}?format=json&prefix=f'"));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((v[0]["name"].as_str(), v[0]["bytes"].as_u64()), (Some("file.bin"), Some(300_000)));
    // Deletes.
    for name in ["file.bin", "stdin.bin", "binary.bin"] {
        assert_eq!(code(&format!("-X DELETE {base}/{name}")), "204");
    }
    assert_eq!(code(&format!("-X DELETE {base}")), "204");
}
