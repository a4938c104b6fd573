//! TempAuth (`swift/common/middleware/tempauth.py`) without memcached.
//!
//! Users come from `[filter:tempauth]`. A token is self-contained and
//! signed, so every worker and every proxy that shares the cluster secret
//! accepts it:
//!
//! ```text
//! AUTH_tk <16 hex: expiry, unix seconds> <32 hex: tag> <hex of "account:user">
//! tag = HMAC-SHA256(secret, "v1\n" expiry "\n" account:user "\n" SHA256(key))[..16]
//! ```
//!
//! The user's key is inside the MAC input, so changing a key revokes its
//! tokens; removing a user does too (its groups are read from the config
//! at each request). The tag is checked in constant time. See
//! docs/proxy.md for why this replaces Swift's memcached token store.

use crate::config::{AuthConfig, ResellerPrefix, UserConf};
use crate::error::{Error, Result};
use crate::middleware::acl::{self, AccountAcl};
use hmac::{Hmac, Mac};
use http::{Headers, Request, Response};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

type HmacSha256 = Hmac<Sha256>;

const TAG_LEN: usize = 16;

/// Who made a request: Swift's `REMOTE_USER` groups, first `account:user`
/// then `account`, the user's groups, and for `.admin` the account id; or
/// a temp URL (`.wsgi.tempurl`), which authorizes itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub groups: Vec<String>,
    pub temp_url: Option<crate::middleware::tempurl::Grant>,
}

impl Identity {
    pub fn user(&self) -> &str {
        self.groups.first().map(String::as_str).unwrap_or("")
    }
}

/// What authorization allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The caller owns the account (Swift's `swift_owner`): sees and sets
    /// ACLs and owner-only headers.
    Owner,
    /// Allowed by a container ACL.
    Acl,
}

/// A successful `GET /auth/v1.0`.
#[derive(Debug)]
pub struct TokenReply {
    pub token: String,
    pub storage_url: String,
    pub expires_in: u64,
}

pub struct TempAuth {
    conf: AuthConfig,
    secret: Vec<u8>,
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl TempAuth {
    /// `cluster_secret` signs tokens when the config names no
    /// `token_secret` (the server passes the swift.conf hash secrets).
    pub fn new(conf: AuthConfig, cluster_secret: &[u8]) -> TempAuth {
        let secret = if conf.token_secret.is_empty() {
            let mut d = Sha256::new();
            d.update(b"swiftlet tempauth token key\n");
            d.update(cluster_secret);
            d.finalize().to_vec()
        } else {
            conf.token_secret.as_bytes().to_vec()
        };
        TempAuth { conf, secret }
    }

    /// The first reseller prefix: users' storage URLs and tokens use it.
    pub fn reseller_prefix(&self) -> &str {
        self.conf.reseller_prefixes.first().map_or("", |r| r.prefix.as_str())
    }

    /// Swift's `_get_account_prefix`: the reseller prefix `account` is
    /// under (non-empty ones first), if TempAuth serves it at all.
    pub fn account_prefix(&self, account: &str) -> Option<&ResellerPrefix> {
        let prefixes = &self.conf.reseller_prefixes;
        prefixes
            .iter()
            .find(|r| !r.prefix.is_empty() && account.starts_with(&r.prefix))
            .or_else(|| prefixes.iter().find(|r| r.prefix.is_empty()))
    }

    fn user(&self, account: &str, user: &str) -> Option<&UserConf> {
        self.conf.users.iter().find(|u| u.account == account && u.user == user)
    }

    fn account_id(&self, u: &UserConf) -> String {
        match &u.url {
            Some(url) => url.rsplit('/').next().unwrap_or_default().to_string(),
            None => format!("{}{}", self.reseller_prefix(), u.account),
        }
    }

    fn tag(&self, expires: u64, who: &str, key: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(format!("v1\n{expires:016x}\n{who}\n").as_bytes());
        mac.update(&Sha256::digest(key.as_bytes()));
        mac
    }

    fn token_prefix(&self) -> String {
        format!("{}tk", self.reseller_prefix())
    }

    /// Issues a token for `account:user` valid until `expires`.
    pub fn issue(&self, u: &UserConf, expires: u64) -> String {
        let who = format!("{}:{}", u.account, u.user);
        let tag = self.tag(expires, &who, &u.key).finalize().into_bytes();
        format!(
            "{}{expires:016x}{}{}",
            self.token_prefix(),
            common::hex::hex(&tag[..TAG_LEN]),
            common::hex::hex(who.as_bytes())
        )
    }

    /// `GET /auth/v1.0`: checks the user and key headers and answers a
    /// token and storage URL (401 for anything wrong, as Swift).
    pub fn get_token(&self, headers: &Headers, host: &str) -> Result<TokenReply> {
        let unauthorized = || Error::Unauthorized { realm: "unknown".into() };
        let user = headers.get("X-Auth-User").or_else(|| headers.get("X-Storage-User")).ok_or_else(unauthorized)?;
        let key = headers.get("X-Auth-Key").or_else(|| headers.get("X-Storage-Pass")).ok_or_else(unauthorized)?;
        let (account, name) = user.split_once(':').ok_or_else(unauthorized)?;
        let u = self.user(account, name).ok_or_else(unauthorized)?;
        let key_ok: bool = Sha256::digest(key.as_bytes()) == Sha256::digest(u.key.as_bytes());
        if !key_ok {
            return Err(unauthorized());
        }
        let life = self.conf.token_life.as_secs().max(1);
        let token = self.issue(u, now_secs() + life);
        let storage_url = match &u.url {
            Some(url) => url.clone(),
            None => {
                let scheme =
                    if self.conf.storage_url_scheme == "default" { "http" } else { &self.conf.storage_url_scheme };
                format!("{scheme}://{host}/v1/{}", self.account_id(u))
            }
        };
        Ok(TokenReply { token, storage_url, expires_in: life })
    }

    /// Answers `GET /auth/v1.0` ([`get_token`](Self::get_token)): the
    /// token and storage URL in Swift's headers and JSON body. `h` holds
    /// the transaction ids; `default_host` stands in for a missing `Host`.
    pub fn answer_get_token(
        &self,
        req: &Request<'_>,
        resp: &mut Response<'_>,
        default_host: &str,
        mut h: Headers,
    ) -> Result<()> {
        let host = req.header("Host").unwrap_or(default_host);
        let reply = self.get_token(req.headers(), host)?;
        h.set("X-Auth-Token", reply.token.clone());
        h.set("X-Storage-Token", reply.token);
        h.set("X-Auth-Token-Expires", reply.expires_in.to_string());
        h.set("X-Storage-Url", reply.storage_url.clone());
        h.set("Content-Type", "application/json; charset=UTF-8");
        let body = serde_json::json!({"storage": {"default": "local", "local": reply.storage_url}}).to_string();
        resp.send(200, &h, body.as_bytes()).map_err(|_| Error::ClientDisconnect)
    }

    /// The identity a token stands for. `Ok(None)` for no token or one of
    /// another auth system; 401 for our token that is bad or expired.
    pub fn identify(&self, token: Option<&str>, realm: &str) -> Result<Option<Identity>> {
        let Some(token) = token.filter(|t| !t.is_empty()) else { return Ok(None) };
        let Some(body) = token.strip_prefix(&self.token_prefix()) else { return Ok(None) };
        let bad = || Error::Unauthorized { realm: realm.to_string() };
        self.check(body, now_secs()).ok_or_else(bad).map(Some)
    }

    /// The caller of a request: `X-Auth-Token` (or `X-Storage-Token`),
    /// plus the groups of a valid `X-Service-Token` (Swift's service
    /// tokens, which `<PREFIX>_require_group` asks for); an invalid
    /// service token adds nothing.
    pub fn identify_request(&self, h: &Headers, realm: &str) -> Result<Option<Identity>> {
        let token = h.get("X-Auth-Token").or_else(|| h.get("X-Storage-Token"));
        let Some(mut identity) = self.identify(token, realm)? else { return Ok(None) };
        if let Ok(Some(service)) = self.identify(h.get("X-Service-Token"), realm) {
            identity.groups.extend(service.groups);
        }
        Ok(Some(identity))
    }

    fn check(&self, body: &str, now: u64) -> Option<Identity> {
        let expires = u64::from_str_radix(body.get(..16)?, 16).ok()?;
        let tag = unhex(body.get(16..16 + 2 * TAG_LEN)?)?;
        let who = String::from_utf8(unhex(body.get(16 + 2 * TAG_LEN..)?)?).ok()?;
        let (account, name) = who.split_once(':')?;
        let u = self.user(account, name)?;
        self.tag(expires, &who, &u.key).verify_truncated_left(&tag).ok()?;
        if expires <= now {
            return None;
        }
        Some(self.groups_of(u))
    }

    /// Swift's `get_groups`: `.admin` stands for the user's account
    /// under every reseller prefix.
    pub fn groups_of(&self, u: &UserConf) -> Identity {
        let mut groups = vec![format!("{}:{}", u.account, u.user), u.account.clone()];
        for g in &u.groups {
            if g == ".admin" {
                continue;
            }
            groups.push(g.clone());
        }
        if u.groups.iter().any(|g| g == ".admin") {
            for r in self.conf.reseller_prefixes.iter().filter(|r| !r.prefix.is_empty()) {
                groups.push(format!("{}{}", r.prefix, u.account));
            }
            let id = self.account_id(u);
            if !groups.contains(&id) {
                groups.push(id);
            }
        }
        Identity { groups, temp_url: None }
    }

    /// Swift's `authorize` and `denied_response`: `Ok` with the kind of
    /// access, or 401 for an anonymous caller and 403 for a known one.
    pub fn authorize(&self, req: &AuthRequest<'_>) -> Result<Access> {
        let deny = || match req.identity {
            Some(_) => Error::Forbidden,
            None => Error::Unauthorized { realm: req.account.to_string() },
        };
        let Some(prefix) = self.account_prefix(req.account) else { return Err(deny()) };
        let groups: &[String] = req.identity.map(|i| i.groups.as_slice()).unwrap_or(&[]);
        // Not the bare prefix, nor a dot account (`AUTH_.x`, internal).
        let plain_account =
            req.account.len() > prefix.prefix.len() && !req.account[prefix.prefix.len()..].starts_with('.');
        if plain_account && groups.iter().any(|g| g == ".reseller_admin") {
            return Ok(Access::Owner);
        }
        let account_write = matches!(req.method, "PUT" | "DELETE") && req.container.is_none();
        let required = prefix.require_group.as_str();
        let has_required = required.is_empty() || groups.iter().any(|g| g == required);
        if groups.iter().any(|g| g == req.account) && !account_write && has_required {
            return Ok(Access::Owner);
        }
        if req.method == "OPTIONS" {
            return Ok(Access::Acl);
        }
        let rules = acl::parse(req.acl);
        let listing_ok = req.object.is_some() || rules.groups.iter().any(|g| g == ".rlistings");
        if listing_ok && acl::referrer_allowed(req.referrer, &rules.referrers) {
            return Ok(Access::Acl);
        }
        if groups.iter().any(|g| rules.groups.contains(g)) {
            return Ok(Access::Acl);
        }
        if let Some(a) = req.account_acl {
            let listed = |list: &[String]| groups.iter().any(|g| list.contains(g));
            let read = matches!(req.method, "GET" | "HEAD");
            if listed(&a.admin) {
                return Ok(Access::Owner);
            }
            // read-write: anything below the account, only reads of it.
            if listed(&a.read_write) && (req.container.is_some() || read) {
                return Ok(Access::Acl);
            }
            if listed(&a.read_only) && read {
                return Ok(Access::Acl);
            }
        }
        Err(deny())
    }
}

/// What `authorize` looks at.
pub struct AuthRequest<'a> {
    pub identity: Option<&'a Identity>,
    pub method: &'a str,
    pub account: &'a str,
    pub container: Option<&'a str>,
    pub object: Option<&'a str>,
    /// The container's read ACL for GET/HEAD, its write ACL for writes.
    pub acl: Option<&'a str>,
    /// The account's ACL (`X-Account-Access-Control`), if it has one.
    pub account_acl: Option<&'a AccountAcl>,
    pub referrer: Option<&'a str>,
}

#[cfg(test)]
#[path = "tempauth_tests.rs"]
mod tests;
