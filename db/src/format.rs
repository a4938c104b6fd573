//! Listing bodies in Swift's three formats, and the choice of format from
//! `?format=` and `Accept` (Swift's `get_listing_content_type`).

use crate::account::ContainerRow;
use crate::container::ObjectRow;
use crate::listing::{Entry, Named};

/// The storage policy every container is in (swiftlet has one), named in
/// account listings as Swift's `storage_policy`.
use common::xml::escape as xml_escape;
use common::POLICY_NAME;

/// A listing's output format, with the media type Swift answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    Json,
    /// `application/xml`.
    Xml,
    /// `text/xml` (asked for by `Accept`).
    TextXml,
}

impl Format {
    /// The `Content-Type` of the response.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Plain => "text/plain; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "application/xml; charset=utf-8",
            Format::TextXml => "text/xml; charset=utf-8",
        }
    }

    /// Picks the format: `format=json|xml|plain` wins (an unknown value
    /// means plain, as in Swift), else the best match of `Accept` among
    /// `text/plain`, `application/json`, `application/xml`, `text/xml`
    /// (plain when absent). `None` means nothing acceptable: 406.
    pub fn choose(format: Option<&str>, accept: Option<&str>) -> Option<Format> {
        if let Some(f) = format.filter(|f| !f.is_empty()) {
            return Some(match f.to_ascii_lowercase().as_str() {
                "json" => Format::Json,
                "xml" => Format::Xml,
                _ => Format::Plain,
            });
        }
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
            return Some(Format::Plain);
        };
        let offers = [
            ("text/plain", Format::Plain),
            ("application/json", Format::Json),
            ("application/xml", Format::Xml),
            ("text/xml", Format::TextXml),
        ];
        let ranges = parse_accept(accept);
        let mut best: Option<(f32, Format)> = None;
        for (mt, f) in offers {
            let (ty, sub) = mt.split_once('/').unwrap_or((mt, ""));
            // The most specific matching range decides the offer's q.
            let mut q_spec: Option<(u8, f32)> = None;
            for (rt, rs, q) in &ranges {
                let spec = match (rt.as_str(), rs.as_str()) {
                    ("*", "*") => 0,
                    (t, "*") if t == ty => 1,
                    (t, s) if t == ty && s == sub => 2,
                    _ => continue,
                };
                if q_spec.is_none_or(|(s, _)| spec > s) {
                    q_spec = Some((spec, *q));
                }
            }
            if let Some((_, q)) = q_spec {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, f));
                }
            }
        }
        best.map(|(_, f)| f)
    }
}

/// `type/subtype;q=0.5, ...` → (type, subtype, q), lowercased; bad ranges
/// are skipped (no regex, linear time).
fn parse_accept(s: &str) -> Vec<(String, String, f32)> {
    let mut out = Vec::new();
    for part in s.split(',').take(64) {
        let mut it = part.split(';');
        let mt = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((t, st)) = mt.split_once('/') else { continue };
        let mut q = 1.0f32;
        for param in it {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                }
            }
        }
        out.push((t.trim().to_string(), st.trim().to_string(), q));
    }
    out
}

fn json_str(s: &str, out: &mut String) {
    // serde_json escapes exactly what JSON requires.
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// How one kind of row is written in a listing.
struct RowFormat<'a, R> {
    /// The XML root element (`container` or `account`).
    root: &'static str,
    /// Bytes per row to reserve.
    size_hint: usize,
    /// The JSON object of a row, after `{"name": ...`.
    json: &'a dyn Fn(&R, &mut String),
    /// The XML element of a row.
    xml: &'a dyn Fn(&R, &mut String),
}

/// The scaffold both listings share: plain names, a JSON array, an XML
/// document; `subdir` entries; `None` for an empty plain listing (Swift
/// answers 204 with no body).
fn listing<R: Named>(format: Format, root_name: &str, entries: &[Entry<R>], rows: RowFormat<'_, R>) -> Option<Vec<u8>> {
    let mut out = String::with_capacity(64 + entries.len() * rows.size_hint);
    match format {
        Format::Plain => {
            if entries.is_empty() {
                return None;
            }
            for e in entries {
                out.push_str(e.name());
                out.push('\n');
            }
        }
        Format::Json => {
            out.push('[');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match e {
                    Entry::Subdir(s) => {
                        out.push_str("{\"subdir\": ");
                        json_str(s, &mut out);
                        out.push('}');
                    }
                    Entry::Row(r) => {
                        out.push_str("{\"name\": ");
                        json_str(r.name(), &mut out);
                        (rows.json)(r, &mut out);
                        out.push('}');
                    }
                }
            }
            out.push(']');
        }
        Format::Xml | Format::TextXml => {
            out.push_str(&format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{} name=\"", rows.root));
            xml_escape(root_name, &mut out);
            out.push_str("\">");
            for e in entries {
                match e {
                    Entry::Subdir(s) => subdir_xml(s, &mut out),
                    Entry::Row(r) => (rows.xml)(r, &mut out),
                }
            }
            out.push_str(&format!("</{}>", rows.root));
        }
    }
    Some(out.into_bytes())
}

/// What a container row's ETag carries. Swift's symlink middleware
/// stores a link's row with the ETag `<md5>; symlink_target=<c>/<o>`
/// (then `; symlink_target_account=<a>`, and for a static link
/// `; symlink_target_etag=<etag>; symlink_target_bytes=<n>`), and turns
/// these parameters into the JSON listing's `symlink_path`,
/// `symlink_etag` and `symlink_bytes`; other parameters stay in `hash`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RowEtag<'a> {
    pub hash: std::borrow::Cow<'a, str>,
    /// `/v1/<account>/<container>/<object>`, %-encoded as stored.
    pub symlink_path: Option<String>,
    pub symlink_etag: Option<&'a str>,
    pub symlink_bytes: Option<u64>,
}

impl<'a> RowEtag<'a> {
    /// Splits a row's ETag; `account` (%-encoded) is the listing's own,
    /// the one a link without `symlink_target_account` points into.
    pub fn parse(etag: &'a str, account: &str) -> RowEtag<'a> {
        let Some((hash, params)) = etag.split_once(';') else {
            return RowEtag { hash: etag.into(), ..RowEtag::default() };
        };
        let mut out = RowEtag { hash: hash.trim().into(), ..RowEtag::default() };
        let (mut target, mut target_account) = (None, account);
        for param in params.split(';') {
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            let (k, v) = (k.trim(), v.trim());
            match k.to_ascii_lowercase().as_str() {
                "symlink_target" => target = Some(v),
                "symlink_target_account" => target_account = v,
                "symlink_target_etag" => out.symlink_etag = Some(v),
                "symlink_target_bytes" => out.symlink_bytes = v.parse().ok(),
                "" => {}
                k => out.hash = format!("{}; {k}={v}", out.hash).into(),
            }
        }
        out.symlink_path = target.map(|t| format!("/v1/{target_account}/{t}"));
        out
    }
}

/// A container listing body; `None` when the plain listing is empty.
/// `account` (%-encoded) names the links' targets (see [`RowEtag`]).
pub fn container_listing(
    format: Format,
    account: &str,
    container: &str,
    entries: &[Entry<ObjectRow>],
) -> Option<Vec<u8>> {
    listing(
        format,
        container,
        entries,
        RowFormat {
            root: "container",
            size_hint: 160,
            json: &|r, out| {
                let etag = RowEtag::parse(&r.etag, account);
                out.push_str(", \"hash\": ");
                json_str(&etag.hash, out);
                out.push_str(&format!(", \"bytes\": {}, \"content_type\": ", r.size));
                json_str(&r.content_type, out);
                out.push_str(", \"last_modified\": \"");
                out.push_str(&r.created_at.isoformat());
                out.push('"');
                if let Some(path) = &etag.symlink_path {
                    out.push_str(", \"symlink_path\": ");
                    json_str(path, out);
                }
                if let Some(e) = etag.symlink_etag {
                    out.push_str(", \"symlink_etag\": ");
                    json_str(e, out);
                }
                if let Some(n) = etag.symlink_bytes {
                    out.push_str(&format!(", \"symlink_bytes\": {n}"));
                }
            },
            // Swift's XML rows have the five fields only.
            xml: &|r, out| {
                out.push_str("<object><name>");
                xml_escape(&r.name, out);
                out.push_str("</name><hash>");
                xml_escape(&RowEtag::parse(&r.etag, account).hash, out);
                out.push_str(&format!("</hash><bytes>{}</bytes><content_type>", r.size));
                xml_escape(&r.content_type, out);
                out.push_str("</content_type><last_modified>");
                out.push_str(&r.created_at.isoformat());
                out.push_str("</last_modified></object>");
            },
        },
    )
}

/// An account listing body; `None` when the plain listing is empty.
pub fn account_listing(format: Format, account: &str, entries: &[Entry<ContainerRow>]) -> Option<Vec<u8>> {
    listing(
        format,
        account,
        entries,
        RowFormat {
            root: "account",
            size_hint: 100,
            json: &|r, out| {
                out.push_str(&format!(
                    ", \"count\": {}, \"bytes\": {}, \"last_modified\": \"{}\", \"storage_policy\": \"{}\"",
                    r.object_count,
                    r.bytes_used,
                    r.put_timestamp.isoformat(),
                    POLICY_NAME
                ));
            },
            xml: &|r, out| {
                out.push_str("<container><name>");
                xml_escape(&r.name, out);
                out.push_str(&format!(
                    "</name><count>{}</count><bytes>{}</bytes><last_modified>{}</last_modified><storage_policy>{}</storage_policy></container>",
                    r.object_count,
                    r.bytes_used,
                    r.put_timestamp.isoformat(),
                    POLICY_NAME
                ));
            },
        },
    )
}

fn subdir_xml(s: &str, out: &mut String) {
    out.push_str("<subdir name=\"");
    xml_escape(s, out);
    out.push_str("\"><name>");
    xml_escape(s, out);
    out.push_str("</name></subdir>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    fn obj(name: &str) -> ObjectRow {
        ObjectRow {
            name: name.into(),
            created_at: Timestamp::parse("1700000000.12345").unwrap(),
            size: 3,
            content_type: "text/plain".into(),
            etag: "acbd18db4cc2f85cedef654fccc4a4d8".into(),
        }
    }

    #[test]
    fn format_param_wins_and_unknown_means_plain() {
        assert_eq!(Format::choose(Some("json"), Some("application/xml")), Some(Format::Json));
        assert_eq!(Format::choose(Some("XML"), None), Some(Format::Xml));
        assert_eq!(Format::choose(Some("yaml"), None), Some(Format::Plain));
        assert_eq!(Format::choose(None, None), Some(Format::Plain));
    }

    #[test]
    fn accept_picks_best_q_and_406_when_nothing_fits() {
        assert_eq!(Format::choose(None, Some("application/json")), Some(Format::Json));
        assert_eq!(Format::choose(None, Some("text/xml")), Some(Format::TextXml));
        assert_eq!(Format::choose(None, Some("*/*")), Some(Format::Plain));
        assert_eq!(Format::choose(None, Some("application/*")), Some(Format::Json));
        assert_eq!(Format::choose(None, Some("text/plain;q=0.2, application/xml;q=0.9")), Some(Format::Xml));
        assert_eq!(Format::choose(None, Some("*/*;q=0.1, application/json")), Some(Format::Json));
        assert_eq!(Format::choose(None, Some("image/png")), None);
        assert_eq!(Format::choose(None, Some("text/plain;q=0")), None);
    }

    #[test]
    fn json_items_have_swifts_keys_and_escape_names() {
        let body =
            container_listing(Format::Json, "a", "c", &[Entry::Row(obj("a\"b")), Entry::Subdir("d/".into())]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v[0]["name"], "a\"b");
        assert_eq!(v[0]["hash"], "acbd18db4cc2f85cedef654fccc4a4d8");
        assert_eq!(v[0]["bytes"], 3);
        assert_eq!(v[0]["content_type"], "text/plain");
        assert_eq!(v[0]["last_modified"], "2023-11-14T22:13:20.123450");
        assert_eq!(v[1]["subdir"], "d/");
    }

    #[test]
    fn link_rows_have_symlink_fields_and_a_plain_hash() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let plain = RowEtag::parse(md5, "AUTH_a");
        assert_eq!((plain.hash.as_ref(), plain.symlink_path), (md5, None));
        let dynamic = RowEtag::parse("d41d8cd98f00b204e9800998ecf8427e; symlink_target=c/o%20x", "AUTH_a");
        assert_eq!(dynamic.hash, md5);
        assert_eq!(dynamic.symlink_path.as_deref(), Some("/v1/AUTH_a/c/o%20x"));
        assert_eq!((dynamic.symlink_etag, dynamic.symlink_bytes), (None, None));
        let stat = RowEtag::parse(
            "d41d8cd98f00b204e9800998ecf8427e; symlink_target=c/o; symlink_target_account=AUTH_b; \
             symlink_target_etag=abc; symlink_target_bytes=12; other=1",
            "AUTH_a",
        );
        assert_eq!(stat.hash, format!("{md5}; other=1"));
        assert_eq!(stat.symlink_path.as_deref(), Some("/v1/AUTH_b/c/o"));
        assert_eq!((stat.symlink_etag, stat.symlink_bytes), (Some("abc"), Some(12)));

        let mut row = obj("link");
        row.etag =
            "d41d8cd98f00b204e9800998ecf8427e; symlink_target=c/o; symlink_target_etag=e; symlink_target_bytes=3"
                .into();
        let body = container_listing(Format::Json, "AUTH_a", "c", &[Entry::Row(row.clone())]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v[0]["hash"], md5);
        assert_eq!(v[0]["symlink_path"], "/v1/AUTH_a/c/o");
        assert_eq!((v[0]["symlink_etag"].as_str(), v[0]["symlink_bytes"].as_u64()), (Some("e"), Some(3)));
        let x = String::from_utf8(container_listing(Format::Xml, "AUTH_a", "c", &[Entry::Row(row)]).unwrap()).unwrap();
        assert!(x.contains(&format!("<hash>{md5}</hash><bytes>")) && !x.contains("symlink"), "{x}");
    }

    #[test]
    fn xml_is_escaped() {
        let body =
            container_listing(Format::Xml, "a", "c&<", &[Entry::Row(obj("<a&'\">")), Entry::Subdir("x\"/".into())])
                .unwrap();
        let s = String::from_utf8(body).unwrap();
        assert!(s.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<container name=\"c&amp;&lt;\">"));
        assert!(s.contains("<object><name>&lt;a&amp;&apos;&quot;&gt;</name><hash>"));
        assert!(s.contains("<subdir name=\"x&quot;/\"><name>x&quot;/</name></subdir>"));
        assert!(s.ends_with("</container>"));
    }

    #[test]
    fn empty_plain_listing_has_no_body_but_json_and_xml_do() {
        assert_eq!(container_listing(Format::Plain, "a", "c", &[]), None);
        assert_eq!(container_listing(Format::Json, "a", "c", &[]), Some(b"[]".to_vec()));
        assert_eq!(account_listing(Format::Plain, "a", &[]), None);
        let x = String::from_utf8(account_listing(Format::Xml, "a", &[]).unwrap()).unwrap();
        assert!(x.ends_with("<account name=\"a\"></account>"));
    }

    #[test]
    fn account_items_are_name_count_bytes_last_modified_storage_policy() {
        let r = ContainerRow {
            name: "c1".into(),
            put_timestamp: Timestamp::parse("1700000000.5").unwrap(),
            delete_timestamp: Timestamp::ZERO,
            object_count: 2,
            bytes_used: 10,
        };
        let r2 = r.clone();
        let body = account_listing(Format::Json, "a", &[Entry::Row(r)]).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"name": "c1", "count": 2, "bytes": 10, "last_modified": "2023-11-14T22:13:20.500000", "storage_policy": "Policy-0"}])
        );
        let x = String::from_utf8(account_listing(Format::Xml, "a", &[Entry::Row(r2)]).unwrap()).unwrap();
        assert!(x.contains("<last_modified>2023-11-14T22:13:20.500000</last_modified><storage_policy>Policy-0</storage_policy></container>"), "{x}");
        let plain = account_listing(Format::Plain, "a", &[Entry::Subdir("x/".into())]).unwrap();
        assert_eq!(plain, b"x/\n");
    }
}
