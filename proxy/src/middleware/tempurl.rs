//! TempURL (Swift's `tempurl` middleware): an object URL that carries its
//! own authorization, an HMAC of the method, expiry and path signed with a
//! key the account or container keeps.
//!
//! ```text
//! ?temp_url_sig=<sig>&temp_url_expires=<unix seconds | %Y-%m-%dT%H:%M:%SZ>
//!     [&temp_url_prefix=<p>] [&temp_url_ip_range=<ip | net/len>] [&filename=<f>] [&inline]
//! sig = HMAC-<digest>(key, ["ip=" range "\n"] method "\n" expires "\n" path)
//!     path = /v1/<account>/<container>/<object>, or prefix:/v1/<account>/<container>/<p>
//!     as lower-case hex (sha1, sha256, sha512 told apart by length) or <digest>:<base64>
//! keys: X-Account-Meta-Temp-URL-Key(-2) (account scope), X-Container-Meta-Temp-URL-Key(-2)
//!     (container scope)
//! ```
//!
//! * Checked before the token ([`identify`]): a request with either
//!   parameter is a temp URL request, and any token it has is ignored. A
//!   signature that is missing, malformed, of a digest not in
//!   `allowed_digests`, expired, for another method, path or IP, or signed
//!   with no key of the account or the container, is 401
//!   `Temp URL invalid`. A HEAD is also allowed by a GET, POST or PUT
//!   signature. Only `methods` (GET HEAD PUT POST DELETE) and only objects
//!   under `/v1/`: anything else is 401.
//! * The grant is the request's [`Identity`] (Swift's `.wsgi.tempurl`
//!   user): [`Grant::authorize`] allows only the account (account key) or
//!   the container (container key) it names, so a DLO's segments in
//!   another container need an account key; it is never the owner.
//! * Writes may not carry `X-Object-Manifest`, `X-Symlink-Target` or
//!   `X-Copy-From` (400): a PUT URL must not become a pointer to data it
//!   could not read. `incoming_remove_headers` (but not
//!   `incoming_allow_headers`) are dropped from the request; the query is
//!   cut to the temp URL parameters (as Swift's `QUERY_STRING`).
//! * Answers lose `outgoing_remove_headers` (but not
//!   `outgoing_allow_headers`); a successful GET/HEAD gets
//!   `Content-Disposition` (`inline`, `filename`, the object's own, or an
//!   attachment named after the object) and `Expires`.
//! * Not done: Swift lets a prefix URL GET a container root for staticweb
//!   (which swiftlet has not): such a request is 401 here at once.

use crate::app::App;
use crate::controllers::base::{account_info, container_info, Resource};
use crate::endpoint::query_param;
use crate::error::{Error, Result};
use crate::middleware::tempauth::{Access, Identity};
use common::percent::quote;
use common::ConfigError;
use common::Section;
use hmac::{Hmac, Mac};
use http::{Headers, Request};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub const SECTION: &str = "filter:tempurl";

/// Headers a temp URL write may not carry (Swift's
/// `DISALLOWED_INCOMING_HEADERS`).
const DISALLOWED_INCOMING: [&str; 3] = ["X-Object-Manifest", "X-Symlink-Target", "X-Copy-From"];

/// The digests a signature may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Digest {
    Sha1,
    Sha256,
    Sha512,
}

impl Digest {
    const ALL: [Digest; 3] = [Digest::Sha1, Digest::Sha256, Digest::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            Digest::Sha1 => "sha1",
            Digest::Sha256 => "sha256",
            Digest::Sha512 => "sha512",
        }
    }

    fn from_name(name: &str) -> Option<Digest> {
        Digest::ALL.into_iter().find(|d| d.name() == name)
    }

    /// A hex signature's digest, from its length (Swift's rule).
    fn from_hex_len(len: usize) -> Option<Digest> {
        match len {
            40 => Some(Digest::Sha1),
            64 => Some(Digest::Sha256),
            128 => Some(Digest::Sha512),
            _ => None,
        }
    }

    /// Whether `sig` is the HMAC of `msg` under `key`, compared in
    /// constant time.
    fn verify(self, key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(msg);
            mac.verify_slice(sig).is_ok()
        }
        match self {
            Digest::Sha1 => check::<Hmac<sha1::Sha1>>(key, msg, sig),
            Digest::Sha256 => check::<Hmac<sha2::Sha256>>(key, msg, sig),
            Digest::Sha512 => check::<Hmac<sha2::Sha512>>(key, msg, sig),
        }
    }
}

/// Header names, each exact or a prefix ending in `*`, compared without
/// case, with exceptions (Swift's `*_remove_headers` and
/// `*_allow_headers`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderRule {
    pub remove: Vec<String>,
    pub allow: Vec<String>,
}

impl HeaderRule {
    fn listed(list: &[String], name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        list.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *p,
        })
    }

    /// Whether the rule drops `name`.
    pub fn drops(&self, name: &str) -> bool {
        !Self::listed(&self.allow, name) && Self::listed(&self.remove, name)
    }

    /// `h` without the headers the rule drops.
    pub fn apply(&self, h: &mut Headers) {
        let dropped: Vec<String> = h.iter().map(|(k, _)| k).filter(|k| self.drops(k)).map(String::from).collect();
        for k in dropped {
            h.remove(&k);
        }
    }
}

/// `[filter:tempurl]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TempUrlConf {
    /// Methods a temp URL may be used for (case-sensitive, as Swift).
    pub methods: Vec<String>,
    /// Sorted.
    pub allowed_digests: Vec<Digest>,
    pub incoming: HeaderRule,
    /// Shared with each request's [`Grant`], which filters its answers.
    pub outgoing: Arc<HeaderRule>,
}

fn words(s: &Section<'_>, key: &str, default: &str) -> Vec<String> {
    s.string(key, default).split_whitespace().map(String::from).collect()
}

fn lower_words(s: &Section<'_>, key: &str, default: &str) -> Vec<String> {
    words(s, key, default).into_iter().map(|w| w.to_ascii_lowercase()).collect()
}

impl TempUrlConf {
    /// Reads `[filter:tempurl]` at Swift's defaults. Digests other than
    /// sha1, sha256 and sha512 are ignored, as Swift does; none left is
    /// an error.
    pub fn from_section(s: &Section<'_>) -> std::result::Result<TempUrlConf, ConfigError> {
        let asked = lower_words(s, "allowed_digests", "sha1 sha256 sha512");
        let mut allowed_digests: Vec<Digest> = asked.iter().filter_map(|d| Digest::from_name(d)).collect();
        if asked.is_empty() {
            allowed_digests = Digest::ALL.to_vec();
        }
        allowed_digests.sort();
        allowed_digests.dedup();
        if allowed_digests.is_empty() {
            return Err(ConfigError {
                section: s.name.into(),
                key: "allowed_digests".into(),
                reason: "no supported digest (sha1, sha256, sha512)".into(),
            });
        }
        Ok(TempUrlConf {
            methods: words(s, "methods", "GET HEAD PUT POST DELETE"),
            allowed_digests,
            incoming: HeaderRule {
                remove: lower_words(s, "incoming_remove_headers", "x-timestamp x-open-expired"),
                allow: lower_words(s, "incoming_allow_headers", ""),
            },
            outgoing: Arc::new(HeaderRule {
                remove: lower_words(s, "outgoing_remove_headers", "x-object-meta-*"),
                allow: lower_words(s, "outgoing_allow_headers", "x-object-meta-public-*"),
            }),
        })
    }

    /// `/info`'s `tempurl`, Swift's keys (sha1 is listed as deprecated
    /// too, as Swift does).
    pub fn info(&self) -> serde_json::Value {
        let digests: Vec<&str> = self.allowed_digests.iter().map(|d| d.name()).collect();
        let mut info = serde_json::json!({
            "methods": self.methods,
            "allowed_digests": digests,
            "incoming_remove_headers": self.incoming.remove,
            "incoming_allow_headers": self.incoming.allow,
            "outgoing_remove_headers": self.outgoing.remove,
            "outgoing_allow_headers": self.outgoing.allow,
        });
        if self.allowed_digests.contains(&Digest::Sha1) {
            info["deprecated_digests"] = serde_json::json!(["sha1"]);
        }
        info
    }
}

/// Which key signed a temp URL, and so what it may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Account,
    Container,
}

/// What a valid temp URL allows, carried as the request's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    scope: Scope,
    account: String,
    container: String,
    method: String,
    expires: u64,
    /// The last part of the object name, for `Content-Disposition`.
    name: String,
    filename: Option<String>,
    inline: bool,
    outgoing: Arc<HeaderRule>,
}

impl Grant {
    /// Swift's `authorize_same_account` / `authorize_same_container`:
    /// denied is 401, whatever the request.
    pub fn authorize(&self, t: &Resource) -> Result<Access> {
        let same_container = t.container.as_deref() == Some(self.container.as_str());
        if t.account == self.account && (self.scope == Scope::Account || same_container) {
            Ok(Access::Acl)
        } else {
            Err(Error::Unauthorized { realm: t.account.clone() })
        }
    }
}

fn grant_of(t: &Resource) -> Option<&Grant> {
    t.identity.as_ref().and_then(|i| i.temp_url.as_ref())
}

/// Drops `outgoing_remove_headers` from an answer to a temp URL.
pub fn filter_answer(t: &Resource, h: &mut Headers) {
    if let Some(g) = grant_of(t) {
        g.outgoing.apply(h);
    }
}

/// Swift's `disposition_format`.
fn disposition(kind: &str, filename: &str) -> String {
    let q = quote(filename);
    format!("{kind}; filename=\"{}\"; filename*=UTF-8''{q}", q.replace("%20", " "))
}

/// A successful GET/HEAD through a temp URL: `Content-Disposition` (the
/// query's `inline`/`filename`, else the object's own, else an
/// attachment named after the object) and `Expires`.
pub fn decorate_success(t: &Resource, status: u16, h: &mut Headers) {
    let Some(g) = grant_of(t) else { return };
    if status / 100 != 2 || !matches!(g.method.as_str(), "GET" | "HEAD") {
        return;
    }
    let existing = h.remove("Content-Disposition");
    let value = match (g.inline, &g.filename, existing) {
        (true, Some(f), _) => disposition("inline", f),
        (true, None, _) => "inline".to_string(),
        (false, Some(f), _) => disposition("attachment", f),
        (false, None, Some(v)) => v,
        (false, None, None) => disposition("attachment", &g.name),
    };
    h.set("Content-Disposition", value.replace('\n', "%0A"));
    h.set("Expires", http::date::http_date(g.expires));
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// Swift's `normalize_temp_url_expires`: an integer or an ISO 8601 UTC
/// time; `None` when neither, or not after `now` (both are 401).
pub fn parse_expires(v: &str, now: u64) -> Option<u64> {
    let t = v.trim();
    let secs = match t.strip_prefix('+').unwrap_or(t).parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => http::date::parse_iso8601(v),
    }?;
    (secs > now).then_some(secs)
}

/// Base64 (standard or URL-safe alphabet, padding optional) as Swift's
/// `strict_b64decode`: `None` for any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_matches('=');
    let url_safe = s.contains(['-', '_']) && !s.contains(['+', '/']);
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' if !url_safe => 62,
            b'/' if !url_safe => 63,
            b'-' if url_safe => 62,
            b'_' if url_safe => 63,
            _ => return None,
        } as u32)
    };
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Swift's `extract_digest_and_algorithm`: `<digest>:<base64>`, or
/// lower-case hex whose length names the digest.
pub fn parse_sig(sig: &str) -> Option<(Option<Digest>, Vec<u8>)> {
    if let Some((algo, b64)) = sig.split_once(':') {
        return Some((Digest::from_name(algo), base64_decode(b64)?));
    }
    let digest = Digest::from_hex_len(sig.len())?;
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = sig.as_bytes().chunks(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect::<Option<_>>()?;
    Some((Some(digest), bytes))
}

/// Whether `ip` is in `range` (an address, or a network with its prefix
/// length and no host bits, as Python's `ip_network`).
pub fn ip_in_range(ip: IpAddr, range: &str) -> Option<bool> {
    let (net, len) = match range.split_once('/') {
        Some((n, l)) => (n.parse::<IpAddr>().ok()?, Some(l.parse::<u32>().ok()?)),
        None => (range.parse::<IpAddr>().ok()?, None),
    };
    let (net, ip, width) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(u32::from(n)), Some(u128::from(u32::from(i))), 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), Some(u128::from(i)), 128),
        (IpAddr::V4(n), _) => (u128::from(u32::from(n)), None, 32),
        (IpAddr::V6(n), _) => (u128::from(n), None, 128),
    };
    let len = len.unwrap_or(width);
    if len > width {
        return None;
    }
    let host_bits = width - len;
    let mask = if host_bits == 128 { 0 } else { (u128::MAX << host_bits) & (u128::MAX >> (128 - width)) };
    if net & !mask & (u128::MAX >> (128 - width)) != 0 {
        return None;
    }
    Some(ip.is_some_and(|ip| ip & mask == net))
}

/// The message a signature covers (Swift's `get_hmac`).
fn message(ip_range: Option<&str>, method: &str, expires: u64, path: &str) -> Vec<u8> {
    let mut m = ip_range.map(|r| format!("ip={r}\n")).unwrap_or_default();
    m.push_str(&format!("{method}\n{expires}\n{path}"));
    m.into_bytes()
}

/// The temp URL keys in a HEAD answer's `X-<kind>-Meta-Temp-URL-Key(-2)`.
fn keys_in(h: &Headers, kind: &str) -> Vec<String> {
    [format!("X-{kind}-Meta-Temp-URL-Key"), format!("X-{kind}-Meta-Temp-URL-Key-2")]
        .iter()
        .filter_map(|k| h.get(k))
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

/// The account's keys and the container's, each with its scope, from
/// their cached info (Swift's `get_account_info` / `get_container_info`).
fn keys(ctx: &App, t: &Resource) -> Vec<(String, Scope)> {
    let account = keys_in(&account_info(ctx, t).headers, "Account").into_iter().map(|k| (k, Scope::Account));
    let container = keys_in(&container_info(ctx, t).headers, "Container").into_iter().map(|k| (k, Scope::Container));
    account.chain(container).collect()
}

/// The query parameters of a temp URL.
struct Params {
    sig: Option<String>,
    expires: Option<String>,
    prefix: Option<String>,
    ip_range: Option<String>,
    filename: Option<String>,
    inline: bool,
}

impl Params {
    fn parse(query: &str) -> Params {
        let p = |k| query_param(query, k);
        Params {
            sig: p("temp_url_sig"),
            expires: p("temp_url_expires"),
            prefix: p("temp_url_prefix"),
            ip_range: p("temp_url_ip_range"),
            filename: p("filename"),
            inline: p("inline").is_some(),
        }
    }

    /// The query the request goes on with (Swift's `QUERY_STRING`).
    fn query(&self) -> String {
        let mut q = Vec::new();
        let fields = [
            ("temp_url_sig", &self.sig),
            ("temp_url_expires", &self.expires),
            ("temp_url_prefix", &self.prefix),
            ("filename", &self.filename),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                q.push(format!("{k}={}", quote(v)));
            }
        }
        if self.inline {
            q.push("inline=".into());
        }
        q.join("&")
    }
}

/// Swift's tempurl middleware for an API request, before the token is
/// looked at: `Ok(None)` without temp URL parameters (or for OPTIONS);
/// the temp URL's identity when it is valid (the request's headers and
/// query cleaned as Swift's); 401 when it is not, 400 for a write with a
/// disallowed header.
pub fn identify(ctx: &App, req: &mut Request<'_>, t: &mut Resource) -> Result<Option<Identity>> {
    let method = req.method().to_string();
    let params = Params::parse(&t.query);
    if method == "OPTIONS" || (params.sig.is_none() && params.expires.is_none()) {
        return Ok(None);
    }
    let conf = &ctx.conf().tempurl;
    let invalid = || Error::TempUrlInvalid { realm: t.account.clone() };
    let expires = params.expires.as_deref().and_then(|e| parse_expires(e, now_secs())).ok_or_else(invalid)?;
    let (digest, sig) = params.sig.as_deref().filter(|s| !s.is_empty()).and_then(parse_sig).ok_or_else(invalid)?;
    let digest = digest.filter(|d| conf.allowed_digests.contains(d)).ok_or_else(invalid)?;
    let object = t.object.clone().unwrap_or_default();
    let container = t.container.clone().unwrap_or_default();
    if !conf.methods.contains(&method) || !req.target().starts_with("/v1/") || object.trim_matches('/').is_empty() {
        return Err(invalid());
    }
    if let Some(range) = params.ip_range.as_deref().filter(|r| !r.is_empty()) {
        if ip_in_range(req.peer.ip(), range) != Some(true) {
            return Err(invalid());
        }
    }
    let path = match &params.prefix {
        Some(p) if !object.starts_with(p.as_str()) => return Err(invalid()),
        Some(p) => format!("prefix:/v1/{}/{container}/{p}", t.account),
        None => format!("/v1/{}/{container}/{object}", t.account),
    };
    let keys = keys(ctx, t);
    let methods: &[&str] = if method == "HEAD" { &["HEAD", "GET", "POST", "PUT"] } else { &[method.as_str()] };
    let ip_range = params.ip_range.as_deref().filter(|r| !r.is_empty());
    let scope = methods
        .iter()
        .flat_map(|m| keys.iter().map(move |k| (m, k)))
        .find(|(m, (key, _))| digest.verify(key.as_bytes(), &message(ip_range, m, expires, &path), &sig))
        .map(|(_, (_, scope))| *scope)
        .ok_or_else(invalid)?;
    if !matches!(method.as_str(), "GET" | "HEAD") {
        if let Some(h) = DISALLOWED_INCOMING.iter().find(|h| req.headers().contains(h)) {
            return Err(Error::bad_request(format!("The header '{h}' is not allowed in this tempurl")));
        }
    }
    conf.incoming.apply(&mut req.head.headers);
    t.query = params.query();
    let name = object.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_string();
    let grant = Grant {
        scope,
        account: t.account.clone(),
        container,
        method,
        expires,
        name,
        filename: params.filename.filter(|f| !f.is_empty()),
        inline: params.inline,
        outgoing: conf.outgoing.clone(),
    };
    Ok(Some(Identity { groups: vec![".wsgi.tempurl".into()], temp_url: Some(grant) }))
}

#[cfg(test)]
#[path = "tempurl_tests.rs"]
mod tests;
