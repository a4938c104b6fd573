//! `proxy-server.conf` and the `swift.conf` parts the proxy reads.
//!
//! The proxy reads `[app:proxy-server]` with `[DEFAULT]` behind it (as
//! paste.deploy does), TempAuth's users and settings from
//! `[filter:tempauth]`, and from `swift_dir/swift.conf` the hash secrets
//! and `[swift-constraints]`. Unknown keys are ignored; a malformed value
//! is an error naming its section and key. `etc/proxy-server.conf-sample`
//! lists every key read here at its default. The typed getters are
//! `common::Section`'s.

use crate::constraints::Constraints;
use crate::controllers::backend::sorting::{ReadAffinity, SortingMethod};
use crate::error::{Error, Result};
use crate::middleware::tempurl::{self, TempUrlConf};
pub use common::config::{parse_bool, LogLevel};
use common::ConfigError;
use common::Ini;
pub use common::Section;
use std::path::Path;
use std::time::Duration;

pub const APP_SECTION: &str = "app:proxy-server";
pub const AUTH_SECTION: &str = "filter:tempauth";
pub const SYMLINK_SECTION: &str = "filter:symlink";

/// One `user_<account>_<user> = <key> [groups...] [storage_url]` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserConf {
    pub account: String,
    pub user: String,
    pub key: String,
    /// `.admin`, `.reseller_admin` and plain group names.
    pub groups: Vec<String>,
    /// An explicit storage URL (the last value if it contains `://`).
    pub url: Option<String>,
}

/// TempAuth's settings (`[filter:tempauth]`).
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// `reseller_prefix = AUTH, SERVICE`, each stored with its `_`
    /// (`AUTH_`); the first names the users' storage URLs and tokens.
    pub reseller_prefixes: Vec<ResellerPrefix>,
    pub token_life: Duration,
    /// Scheme of the storage URLs handed out (`default`: the request's).
    pub storage_url_scheme: String,
    /// swiftlet's key for signing tokens; empty means derived from the
    /// hash secrets in swift.conf, which every node of a cluster shares.
    pub token_secret: String,
    pub users: Vec<UserConf>,
}

/// One of TempAuth's reseller prefixes and its `<PREFIX>_require_group`:
/// a group the caller must also hold (through a service token) to own
/// accounts under it (empty: none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResellerPrefix {
    pub prefix: String,
    pub require_group: String,
}

/// Swift's `config_read_reseller_options`: `AUTH, SERVICE` gives `AUTH_`
/// and `SERVICE_` (an `_` added to each non-empty prefix; `''` is the
/// empty prefix), each with `<PREFIX>_require_group`, else `require_group`.
fn reseller_prefixes(auth: &Section<'_>) -> Vec<ResellerPrefix> {
    let default_group = auth.string("require_group", "");
    let mut out: Vec<ResellerPrefix> = Vec::new();
    for p in auth.string("reseller_prefix", "AUTH").split(',').map(str::trim) {
        let p = if p == "''" || p == "\"\"" { "" } else { p };
        let prefix = if p.is_empty() || p.ends_with('_') { p.to_string() } else { format!("{p}_") };
        if out.iter().any(|r| r.prefix == prefix) {
            continue;
        }
        let key = if prefix.is_empty() { "''require_group".to_string() } else { format!("{prefix}require_group") };
        let require_group = auth.string(&key, &default_group);
        out.push(ResellerPrefix { prefix, require_group });
    }
    out
}

/// Everything the proxy reads from its config files.
#[derive(Clone, Debug)]
pub struct Config {
    /// The keys every server reads alike (listening, workers, clients,
    /// timeouts, `swift_dir`, logging).
    pub server: swiftlet_server::ServerKeys,
    pub node_timeout: Duration,
    pub recoverable_node_timeout: Duration,
    pub conn_timeout: Duration,
    pub post_quorum_timeout: Duration,
    /// How long container info is cached (0: not at all).
    pub recheck_container_existence: Duration,
    /// How long account info is cached (0: not at all).
    pub recheck_account_existence: Duration,
    pub error_suppression_limit: u32,
    pub error_suppression_interval: Duration,
    pub allow_account_management: bool,
    pub account_autocreate: bool,
    pub object_chunk_size: usize,
    pub client_chunk_size: usize,
    /// Nodes tried per request: `request_node_count` = `<n> * replicas`
    /// or a number.
    pub request_node_factor: RequestNodeCount,
    /// The order a read tries the primaries (Swift's `sorting_method`:
    /// `shuffle`, `timing` or `affinity`).
    pub sorting_method: SortingMethod,
    /// How long a node's response timing counts after its last sample
    /// (`timing_expiry`, for `sorting_method = timing`).
    pub timing_expiry: Duration,
    /// `read_affinity`, for `sorting_method = affinity`.
    pub read_affinity: ReadAffinity,
    pub auth: AuthConfig,
    /// `[filter:tempurl]`.
    pub tempurl: TempUrlConf,
    /// `[filter:symlink] symloop_max`: symlinks a GET or HEAD follows in a
    /// row (Swift's; below 1 means the default, 2).
    pub symloop_max: usize,
    /// `[swift-constraints]` of swift.conf, filled in by [`Config::load`].
    pub constraints: Constraints,
}

/// `request_node_count`: `2 * replicas` (Swift's default) or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestNodeCount {
    TimesReplicas(usize),
    Fixed(usize),
}

impl RequestNodeCount {
    pub fn resolve(self, replicas: usize) -> usize {
        match self {
            RequestNodeCount::TimesReplicas(n) => n * replicas,
            RequestNodeCount::Fixed(n) => n,
        }
    }

    fn parse(v: &str) -> Option<RequestNodeCount> {
        let parts: Vec<&str> = v.split_whitespace().collect();
        match parts.as_slice() {
            [n, "*", "replicas"] => n.parse().ok().filter(|n| *n > 0).map(RequestNodeCount::TimesReplicas),
            [n] => n.parse().ok().filter(|n| *n > 0).map(RequestNodeCount::Fixed),
            _ => None,
        }
    }
}

/// The keys of `section` in file order. `common::Ini` answers lookups
/// only, and TempAuth's users are keys we cannot name in advance, so this
/// walks the text with the same line rules (comments, `=` or `:`,
/// lower-cased keys) and leaves the values to `Ini`.
pub fn section_keys(text: &[u8], section: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut inside = false;
    for raw in text.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            inside = rest.split(']').next() == Some(section);
            continue;
        }
        if let (true, Some(sep)) = (inside, line.find(['=', ':'])) {
            let key = line[..sep].trim().to_lowercase();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// Parses `user_<account>_<user> = <key> [groups...] [url]`.
pub fn parse_user(key: &str, value: &str) -> Option<UserConf> {
    let (account, user) = key.strip_prefix("user_")?.split_once('_')?;
    let mut words: Vec<&str> = value.split_whitespace().collect();
    if account.is_empty() || user.is_empty() || words.is_empty() {
        return None;
    }
    let secret = words.remove(0).to_string();
    let url = match words.last() {
        Some(w) if w.contains("://") => words.pop().map(String::from),
        _ => None,
    };
    Some(UserConf {
        account: account.into(),
        user: user.into(),
        key: secret,
        groups: words.into_iter().map(String::from).collect(),
        url,
    })
}

impl Config {
    /// Reads the proxy config, then swift.conf's constraints.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read(path)
            .map_err(|e| Error::Startup { what: path.display().to_string(), reason: format!("cannot read: {e}") })?;
        let mut conf = Config::from_text(&text)?;
        let swift_conf = conf.server.swift_dir.join("swift.conf");
        let sw = std::fs::read(&swift_conf).map_err(|e| Error::Startup {
            what: swift_conf.display().to_string(),
            reason: format!("cannot read: {e}"),
        })?;
        conf.constraints = Constraints::from_ini(&Ini::parse(&sw))?;
        Ok(conf)
    }

    /// Reads the settings from the proxy config's text.
    pub fn from_text(text: &[u8]) -> Result<Config> {
        let ini = Ini::parse(text);
        let app = Section { ini: &ini, name: APP_SECTION };
        let auth = Section { ini: &ini, name: AUTH_SECTION };
        let symlink = Section { ini: &ini, name: SYMLINK_SECTION };
        let mut users = Vec::new();
        for key in section_keys(text, AUTH_SECTION).into_iter().filter(|k| k.starts_with("user_")) {
            let value = String::from_utf8_lossy(ini.get(AUTH_SECTION, &key).unwrap_or_default()).into_owned();
            users.push(parse_user(&key, &value).ok_or_else(|| ConfigError {
                section: AUTH_SECTION.into(),
                key: key.clone(),
                reason: "user_<account>_<user> = <key> [.admin] [.reseller_admin] [url] expected".into(),
            })?);
        }
        let node_timeout = app.seconds("node_timeout", 10.0)?;
        Ok(Config {
            server: swiftlet_server::ServerKeys::read(&app, 8080)?,
            node_timeout,
            recoverable_node_timeout: app.seconds("recoverable_node_timeout", node_timeout.as_secs_f64())?,
            conn_timeout: app.seconds("conn_timeout", 0.5)?,
            post_quorum_timeout: app.seconds("post_quorum_timeout", 0.5)?,
            recheck_container_existence: app.seconds("recheck_container_existence", 60.0)?,
            recheck_account_existence: app.seconds("recheck_account_existence", 60.0)?,
            error_suppression_limit: app.positive("error_suppression_limit", 10)?,
            error_suppression_interval: app.seconds("error_suppression_interval", 60.0)?,
            allow_account_management: app.bool("allow_account_management", false)?,
            account_autocreate: app.bool("account_autocreate", false)?,
            object_chunk_size: app.positive("object_chunk_size", 65536)?,
            client_chunk_size: app.positive("client_chunk_size", 65536)?,
            request_node_factor: app.parse(
                "request_node_count",
                RequestNodeCount::TimesReplicas(2),
                "a number or '<n> * replicas'",
                RequestNodeCount::parse,
            )?,
            sorting_method: app.parse(
                "sorting_method",
                SortingMethod::Shuffle,
                "shuffle, timing or affinity",
                SortingMethod::parse,
            )?,
            timing_expiry: app.seconds("timing_expiry", 300.0)?,
            read_affinity: app.parse(
                "read_affinity",
                ReadAffinity::default(),
                "comma-separated r<region>=<priority> or r<region>z<zone>=<priority>",
                ReadAffinity::parse,
            )?,
            auth: AuthConfig {
                reseller_prefixes: reseller_prefixes(&auth),
                token_life: auth.seconds("token_life", 86400.0)?,
                storage_url_scheme: auth.string("storage_url_scheme", "default"),
                token_secret: auth.string("token_secret", ""),
                users,
            },
            tempurl: TempUrlConf::from_section(&Section { ini: &ini, name: tempurl::SECTION })?,
            symloop_max: symlink.parse("symloop_max", 2, "an integer", |v| {
                v.parse::<i64>().ok().map(|n| usize::try_from(n).ok().filter(|&n| n >= 1).unwrap_or(2))
            })?,
            constraints: Constraints::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Result<Config> {
        Config::from_text(text.as_bytes())
    }

    #[test]
    fn defaults_are_swifts() {
        let c = conf("").unwrap();
        assert_eq!(c.server.bind_port, 8080);
        assert_eq!(c.node_timeout, Duration::from_secs(10));
        assert_eq!(c.conn_timeout, Duration::from_millis(500));
        assert_eq!(c.recoverable_node_timeout, c.node_timeout);
        let prefixes: Vec<&str> = c.auth.reseller_prefixes.iter().map(|r| r.prefix.as_str()).collect();
        assert_eq!(prefixes, ["AUTH_"]);
        assert_eq!(c.auth.token_life, Duration::from_secs(86400));
        assert_eq!(c.request_node_factor.resolve(3), 6);
        assert!(!c.allow_account_management && !c.account_autocreate);
        assert_eq!(c.symloop_max, 2);
        assert_eq!(c.sorting_method, SortingMethod::Shuffle);
        assert_eq!(c.timing_expiry, Duration::from_secs(300));
        assert_eq!(c.read_affinity, ReadAffinity::default());
        let c = conf("[app:proxy-server]\nsorting_method = Timing\ntiming_expiry = 30\n").unwrap();
        assert_eq!((c.sorting_method, c.timing_expiry), (SortingMethod::Timing, Duration::from_secs(30)));
        let c = conf("[app:proxy-server]\nsorting_method = affinity\nread_affinity = r1z1=100, r1=200\n").unwrap();
        assert_eq!(c.sorting_method, SortingMethod::Affinity);
        assert_eq!(c.read_affinity, ReadAffinity::parse("r1z1=100,r1=200").unwrap());
        assert_eq!(conf("[filter:symlink]\nsymloop_max = 5\n").unwrap().symloop_max, 5);
        assert_eq!(conf("[filter:symlink]\nsymloop_max = 0\n").unwrap().symloop_max, 2, "Swift's: below 1 is 2");
    }

    #[test]
    fn the_sample_config_lists_the_defaults() {
        let sample = include_str!("../../etc/proxy-server.conf-sample");
        let mut from_sample = conf(sample).unwrap();
        assert!(from_sample.auth.users.iter().any(|u| u.account == "test" && u.user == "tester"));
        from_sample.auth.users.clear();
        assert_eq!(format!("{from_sample:?}"), format!("{:?}", conf("").unwrap()));
    }

    #[test]
    fn users_are_read_with_their_groups() {
        let c = conf(
            "[filter:tempauth]\nuser_test_tester = testing .admin\nuser_admin_admin = admin .reseller_admin\n\
             user_test2_x = k http://h:1/v1/AUTH_test2\n",
        )
        .unwrap();
        assert_eq!(c.auth.users.len(), 3);
        assert_eq!(c.auth.users[0].groups, vec![".admin"]);
        assert_eq!(c.auth.users[1].account, "admin");
        assert_eq!(c.auth.users[2].url.as_deref(), Some("http://h:1/v1/AUTH_test2"));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            ("[DEFAULT]\nbind_port = http\n", "bind_port"),
            ("[app:proxy-server]\naccount_autocreate = maybe\n", "account_autocreate"),
            ("[DEFAULT]\nnode_timeout = -1\n", "node_timeout"),
            ("[app:proxy-server]\nrequest_node_count = lots\n", "request_node_count"),
            ("[filter:tempauth]\nuser_nokey =\n", "user_nokey"),
            ("[filter:tempauth]\ntoken_life = forever\n", "token_life"),
            ("[filter:symlink]\nsymloop_max = two\n", "symloop_max"),
            ("[app:proxy-server]\nsorting_method = random\n", "sorting_method"),
            ("[app:proxy-server]\ntiming_expiry = never\n", "timing_expiry"),
            ("[app:proxy-server]\nsorting_method = affinity\nread_affinity = r1z1\n", "read_affinity"),
        ] {
            let e = conf(text).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}
