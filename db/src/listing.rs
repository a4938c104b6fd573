//! Listing semantics shared by container (objects) and account (containers)
//! listings: Swift's `prefix`, `delimiter` (any length), `marker`,
//! `end_marker`, `limit`, `reverse` and legacy `path`, over names in UTF-8
//! byte order (SQLite's BINARY collation, which is also code-point order).
//!
//! The walk is Swift's `list_objects_iter`: ask SQLite for a range of live
//! rows, and when a row has the delimiter after the prefix, emit one `subdir`
//! and ask again from just past that subdirectory. Swift reads its cursor
//! lazily and closes it at a subdir, so a subdir costs one row; here a
//! delimiter walk asks for small batches instead of `limit` rows: one row
//! first and after each subdir, doubling while a batch is used up without
//! meeting one (see [`walk`]). Each query is one index seek, so whatever the
//! table size a page reads at most twice the rows it lists (or, with `path`,
//! passes over) plus one row per subdir or skipped subtree, never `limit`
//! rows per subdir.

use crate::error::{Error, Result};

/// Swift's `container_listing_limit` / `account_listing_limit`.
pub const LISTING_LIMIT: usize = 10_000;

/// A listing request, already decoded from the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub limit: usize,
    pub marker: String,
    pub end_marker: String,
    pub prefix: String,
    /// Empty means no delimiter.
    pub delimiter: String,
    /// Legacy `path`: prefix `path/`, delimiter `/`, and only the names
    /// directly "in" that directory (no subdir entries).
    pub path: Option<String>,
    pub reverse: bool,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            limit: LISTING_LIMIT,
            marker: String::new(),
            end_marker: String::new(),
            prefix: String::new(),
            delimiter: String::new(),
            path: None,
            reverse: false,
        }
    }
}

/// One item of a listing: a row, or a `subdir` folding the rows below a
/// delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<R> {
    Row(R),
    Subdir(String),
}

impl<R: Named> Entry<R> {
    pub fn name(&self) -> &str {
        match self {
            Entry::Row(r) => r.name(),
            Entry::Subdir(s) => s,
        }
    }
}

/// Rows that have a name (objects, containers).
pub trait Named {
    fn name(&self) -> &str;
}

/// One range query over live rows: names above `lower` (inclusive or not)
/// and below `upper` (exclusive), ascending or descending, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub lower: Option<(String, bool)>,
    pub upper: Option<String>,
    pub reverse: bool,
    pub limit: usize,
}

impl Range {
    /// The WHERE/ORDER BY/LIMIT tail of a query over `name`, and its
    /// parameters (name bounds as text, then the limit).
    pub(crate) fn sql(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value;
        let mut sql = String::from("deleted = 0");
        let mut args = Vec::new();
        if let Some((l, inclusive)) = &self.lower {
            sql.push_str(if *inclusive { " AND name >= ?" } else { " AND name > ?" });
            args.push(Value::Text(l.clone()));
        }
        if let Some(u) = &self.upper {
            sql.push_str(" AND name < ?");
            args.push(Value::Text(u.clone()));
        }
        sql.push_str(if self.reverse { " ORDER BY name DESC LIMIT ?" } else { " ORDER BY name LIMIT ?" });
        args.push(Value::Integer(self.limit as i64));
        (sql, args)
    }
}

/// The smallest string greater than every string that starts with `s`
/// (the last character's code point plus one), or `None` if there is none.
pub fn next_prefix(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(c) = chars.pop() {
        let next = match c as u32 {
            0xD7FF => Some('\u{E000}'),
            n => char::from_u32(n + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Checks the parameters Swift rejects (`limit` over the maximum → 412 at
/// the HTTP layer).
pub fn validate(p: &ListParams) -> Result<()> {
    if p.limit > LISTING_LIMIT {
        return Err(Error::Invalid(format!("Maximum limit is {LISTING_LIMIT}")));
    }
    Ok(())
}

/// Walks a listing with `fetch` answering range queries over live rows
/// (`fetch` must return at most `Range::limit` rows, and reads no more).
///
/// Without a delimiter this is one query for the whole page. With one (or
/// `path`), a query may end at its first row (a subdir, or a subtree that
/// `path` skips), so the walk never asks for `limit` rows at once: the
/// first query and the one after each subdir ask for one row, and each
/// batch used up without meeting a subdir doubles the next. A batch is thus
/// never larger than one plus the rows used since the last subdir, so the
/// rows read are at most twice the rows used plus one per subdir, never
/// `limit` per subdir.
pub fn walk<R: Named>(p: &ListParams, mut fetch: impl FnMut(&Range) -> Result<Vec<R>>) -> Result<Vec<Entry<R>>> {
    let limit = p.limit.min(LISTING_LIMIT);
    let mut prefix = p.prefix.clone();
    let mut delimiter = p.delimiter.clone();
    let mut path = None;
    if let Some(pa) = &p.path {
        prefix = if pa.is_empty() { String::new() } else { format!("{}/", pa.trim_end_matches('/')) };
        delimiter = "/".into();
        path = Some(prefix.clone());
    }
    // In reverse, the caller's marker is the upper bound and end_marker
    // the lower one.
    let (mut marker, mut end_marker) =
        if p.reverse { (p.end_marker.clone(), p.marker.clone()) } else { (p.marker.clone(), p.end_marker.clone()) };
    let orig_marker = marker.clone();
    let end_prefix = if prefix.is_empty() { None } else { next_prefix(&prefix) };
    let mut results: Vec<Entry<R>> = Vec::new();
    let mut force_gte = false;
    let mut batch = 1;
    while results.len() < limit {
        let upper = match &end_prefix {
            Some(ep) if end_marker.is_empty() || end_marker > *ep => Some(ep.clone()),
            _ if !end_marker.is_empty() => Some(end_marker.clone()),
            _ => None,
        };
        let lower = if force_gte {
            force_gte = false;
            Some((marker.clone(), true))
        } else if !marker.is_empty() && (prefix.is_empty() || marker >= prefix) {
            Some((marker.clone(), false))
        } else if !prefix.is_empty() {
            Some((prefix.clone(), true))
        } else {
            None
        };
        let want = limit - results.len();
        if delimiter.is_empty() {
            let rows = fetch(&Range { lower, upper, reverse: p.reverse, limit: want })?;
            results.extend(rows.into_iter().take(want).filter(|r| r.name().starts_with(&prefix)).map(Entry::Row));
            return Ok(results);
        }
        let asked = batch.min(want);
        let rows = fetch(&Range { lower, upper, reverse: p.reverse, limit: asked })?;
        let got = rows.len();
        let mut jumped = false;
        for row in rows.into_iter().take(asked) {
            let name = row.name();
            if p.reverse {
                end_marker = name.to_string();
            } else {
                marker = name.to_string();
            }
            if !name.starts_with(&prefix) {
                continue;
            }
            let end = name[prefix.len()..].find(&delimiter).map(|i| i + prefix.len());
            if let Some(path) = &path {
                if name == path {
                    continue;
                }
                match end {
                    Some(end) if name.len() > end + delimiter.len() => {
                        if !skip_subdir(name, end, &delimiter, p.reverse, &mut marker, &mut end_marker, &mut force_gte)
                        {
                            return Ok(results);
                        }
                        jumped = true;
                        break;
                    }
                    _ => {}
                }
            } else if let Some(end) = end {
                let dir = name[..end + delimiter.len()].to_string();
                let more = skip_subdir(name, end, &delimiter, p.reverse, &mut marker, &mut end_marker, &mut force_gte);
                if dir != orig_marker {
                    results.push(Entry::Subdir(dir));
                }
                if !more {
                    return Ok(results);
                }
                jumped = true;
                break;
            }
            results.push(Entry::Row(row));
        }
        if jumped {
            batch = 1;
        } else if got < asked {
            break;
        } else {
            batch = batch.saturating_mul(2);
        }
    }
    Ok(results)
}

/// Moves the bounds past the subdirectory `name[..end + delimiter]`;
/// false if nothing can sort after it (a name of U+10FFFF only).
fn skip_subdir(
    name: &str,
    end: usize,
    delimiter: &str,
    reverse: bool,
    marker: &mut String,
    end_marker: &mut String,
    force_gte: &mut bool,
) -> bool {
    if reverse {
        *end_marker = name[..end + delimiter.len()].to_string();
        true
    } else {
        // Everything in the subdirectory sorts below `dir[..-1] + (last+1)`;
        // that bound itself may be a name, hence "greater or equal".
        match next_prefix(&name[..end + delimiter.len()]) {
            Some(m) => {
                *marker = m;
                *force_gte = true;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
