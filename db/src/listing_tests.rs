//! Listing semantics against an in-memory table, case by case as Swift's
//! API documentation and `test_list_objects_iter` describe them. The same
//! walk over SQLite is tested in `container_tests.rs`.

use super::*;

struct N(String);

impl Named for N {
    fn name(&self) -> &str {
        &self.0
    }
}

const NAMES: &[&str] = &["a", "a/", "a/b", "a/b/c", "a/c", "b", "b/x", "c-d", "c-d-e", "d"];

/// Answers a range query over `names` like the SQL does (at most
/// `Range::limit` rows), counting the queries and the rows they read.
fn list_in(names: &[&str], p: &ListParams) -> (Vec<String>, usize, usize) {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let (mut queries, mut rows) = (0, 0);
    let out = walk(p, |r| {
        queries += 1;
        let from = match &r.lower {
            Some((l, true)) => sorted.partition_point(|n| *n < l.as_str()),
            Some((l, false)) => sorted.partition_point(|n| *n <= l.as_str()),
            None => 0,
        };
        let to = r.upper.as_ref().map_or(sorted.len(), |u| sorted.partition_point(|n| *n < u.as_str()));
        let range = &sorted[from..to.max(from)];
        let v: Vec<N> = if r.reverse {
            range.iter().rev().take(r.limit).map(|n| N(n.to_string())).collect()
        } else {
            range.iter().take(r.limit).map(|n| N(n.to_string())).collect()
        };
        rows += v.len();
        Ok(v)
    })
    .unwrap();
    let names = out
        .into_iter()
        .map(|e| match e {
            Entry::Row(n) => n.0,
            Entry::Subdir(s) => format!("{s} (subdir)"),
        })
        .collect();
    (names, queries, rows)
}

fn list(p: ListParams) -> Vec<String> {
    list_in(NAMES, &p).0
}

fn params() -> ListParams {
    ListParams::default()
}

#[test]
fn no_parameters_lists_everything_in_order() {
    assert_eq!(list(params()), NAMES);
}

#[test]
fn prefix_limits_to_names_that_start_with_it() {
    assert_eq!(list(ListParams { prefix: "a/".into(), ..params() }), ["a/", "a/b", "a/b/c", "a/c"]);
    assert_eq!(list(ListParams { prefix: "zz".into(), ..params() }), Vec::<String>::new());
}

#[test]
fn delimiter_folds_names_into_subdirs() {
    assert_eq!(
        list(ListParams { delimiter: "/".into(), ..params() }),
        ["a", "a/ (subdir)", "b", "b/ (subdir)", "c-d", "c-d-e", "d"]
    );
}

#[test]
fn prefix_and_delimiter_list_one_level() {
    assert_eq!(
        list(ListParams { prefix: "a/".into(), delimiter: "/".into(), ..params() }),
        ["a/", "a/b", "a/b/ (subdir)", "a/c"]
    );
}

#[test]
fn multi_character_delimiter() {
    assert_eq!(
        list(ListParams { delimiter: "-d".into(), ..params() }),
        ["a", "a/", "a/b", "a/b/c", "a/c", "b", "b/x", "c-d (subdir)", "d"]
    );
    assert_eq!(
        list_in(&["x--y", "x-y", "x--z--w"], &ListParams { delimiter: "--".into(), ..params() }).0,
        ["x-- (subdir)", "x-y"]
    );
}

#[test]
fn marker_is_exclusive_and_end_marker_is_exclusive() {
    assert_eq!(list(ListParams { marker: "a/c".into(), ..params() }), ["b", "b/x", "c-d", "c-d-e", "d"]);
    assert_eq!(list(ListParams { end_marker: "a/b".into(), ..params() }), ["a", "a/"]);
    assert_eq!(list(ListParams { marker: "a".into(), end_marker: "a/c".into(), ..params() }), ["a/", "a/b", "a/b/c"]);
    assert_eq!(list(ListParams { marker: "c".into(), end_marker: "b".into(), ..params() }), Vec::<String>::new());
}

#[test]
fn marker_equal_to_a_subdir_does_not_repeat_it() {
    // Paging by the last item of a page, which was a subdir.
    assert_eq!(
        list(ListParams { marker: "a/".into(), delimiter: "/".into(), ..params() }),
        ["b", "b/ (subdir)", "c-d", "c-d-e", "d"]
    );
}

#[test]
fn marker_below_prefix_starts_at_prefix() {
    assert_eq!(list(ListParams { marker: "a".into(), prefix: "b".into(), ..params() }), ["b", "b/x"]);
    assert_eq!(list(ListParams { marker: "b".into(), prefix: "b".into(), ..params() }), ["b/x"]);
}

#[test]
fn end_marker_beyond_prefix_is_capped_by_prefix() {
    assert_eq!(list(ListParams { prefix: "a/b".into(), end_marker: "z".into(), ..params() }), ["a/b", "a/b/c"]);
}

#[test]
fn reverse_lists_backwards_and_swaps_markers() {
    let mut all: Vec<&str> = NAMES.to_vec();
    all.reverse();
    assert_eq!(list(ListParams { reverse: true, ..params() }), all);
    // marker is where a reverse listing starts below; end_marker where it stops above.
    assert_eq!(list(ListParams { reverse: true, marker: "b".into(), ..params() }), ["a/c", "a/b/c", "a/b", "a/", "a"]);
    assert_eq!(list(ListParams { reverse: true, end_marker: "c-d".into(), ..params() }), ["d", "c-d-e"]);
    assert_eq!(
        list(ListParams { reverse: true, marker: "c-d-e".into(), end_marker: "a/c".into(), ..params() }),
        ["c-d", "b/x", "b"]
    );
}

#[test]
fn reverse_with_delimiter_is_the_forward_listing_backwards() {
    assert_eq!(
        list(ListParams { reverse: true, delimiter: "/".into(), ..params() }),
        ["d", "c-d-e", "c-d", "b/ (subdir)", "b", "a/ (subdir)", "a"]
    );
    assert_eq!(
        list(ListParams { reverse: true, prefix: "a/".into(), delimiter: "/".into(), ..params() }),
        ["a/c", "a/b/ (subdir)", "a/b", "a/"]
    );
}

#[test]
fn path_lists_one_directory_without_subdirs() {
    assert_eq!(list(ListParams { path: Some("a".into()), ..params() }), ["a/b", "a/c"]);
    assert_eq!(list(ListParams { path: Some("a/".into()), ..params() }), ["a/b", "a/c"]);
    assert_eq!(list(ListParams { path: Some(String::new()), ..params() }), ["a", "a/", "b", "c-d", "c-d-e", "d"]);
}

#[test]
fn path_does_not_skip_a_name_just_after_a_subtree() {
    // Swift's path mode skips "d/sub0" here (its marker is exclusive);
    // we keep it, as the documented semantics say.
    let names = ["d/sub/x", "d/sub0", "d/z"];
    assert_eq!(list_in(&names, &ListParams { path: Some("d".into()), ..params() }).0, ["d/sub0", "d/z"]);
}

#[test]
fn limit_cuts_the_page_and_subdirs_count() {
    assert_eq!(list(ListParams { limit: 2, ..params() }), ["a", "a/"]);
    assert_eq!(list(ListParams { limit: 3, delimiter: "/".into(), ..params() }), ["a", "a/ (subdir)", "b"]);
    assert_eq!(list(ListParams { limit: 0, ..params() }), Vec::<String>::new());
}

#[test]
fn paging_by_marker_sees_every_name_once() {
    let mut seen = Vec::new();
    let mut marker = String::new();
    loop {
        let page = list(ListParams { limit: 3, marker: marker.clone(), delimiter: "/".into(), ..params() });
        let Some(last) = page.last() else { break };
        marker = last.trim_end_matches(" (subdir)").to_string();
        seen.extend(page);
    }
    assert_eq!(seen, list(ListParams { delimiter: "/".into(), ..params() }));
}

#[test]
fn a_page_costs_one_query_per_subdir_not_per_row() {
    let names: Vec<String> = (0..100).map(|i| format!("d{:02}/{i}", i / 10)).collect();
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let (out, queries, _) = list_in(&refs, &ListParams { delimiter: "/".into(), ..params() });
    assert_eq!(out.len(), 10);
    assert!(queries <= 11, "{queries} queries");
}

/// `subdirs` directories of two names each (`d0000/x`, `d0000/y`, ...).
fn directories(subdirs: usize) -> Vec<String> {
    (0..subdirs).flat_map(|d| [format!("d{d:04}/x"), format!("d{d:04}/y")]).collect()
}

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(|s| s.as_str()).collect()
}

#[test]
fn delimiter_listing_reads_one_row_per_subdirectory() {
    // Each subdir used to read up to `limit` rows and use one: 2,251,500
    // rows for this page of 1,500 subdirs.
    let names = directories(1500);
    for reverse in [false, true] {
        let (out, queries, rows) = list_in(&refs(&names), &ListParams { delimiter: "/".into(), reverse, ..params() });
        assert_eq!(out.len(), 1500);
        assert_eq!(out[0], if reverse { "d1499/ (subdir)" } else { "d0000/ (subdir)" });
        assert!(rows <= 1500, "reverse {reverse}: {rows} rows read for 1,500 subdirs");
        assert!(queries <= 1501, "reverse {reverse}: {queries} queries");
    }
}

#[test]
fn a_delimiter_page_reads_rows_in_proportion_to_its_limit() {
    let names = directories(1500);
    let (out, _, rows) = list_in(&refs(&names), &ListParams { delimiter: "/".into(), limit: 100, ..params() });
    assert_eq!(out.len(), 100);
    assert!(rows <= 100, "{rows} rows read for a page of 100");
}

#[test]
fn path_listing_reads_one_row_per_skipped_subtree() {
    // `path` lists no subdirs, so before, every skipped subtree read up to
    // `limit` rows and the page had no bound on them.
    let mut names: Vec<String> = directories(1500).into_iter().map(|n| format!("top/{n}")).collect();
    names.extend((0..10).map(|i| format!("top/f{i}")));
    for reverse in [false, true] {
        let (out, queries, rows) =
            list_in(&refs(&names), &ListParams { path: Some("top".into()), reverse, ..params() });
        assert_eq!(out.len(), 10, "{out:?}");
        // One row per subtree, the ten files read in batches of 1, 2, 4, 8.
        assert!(rows <= 1500 + 2 * 10, "reverse {reverse}: {rows} rows read");
        assert!(queries <= 1500 + 10, "reverse {reverse}: {queries} queries");
    }
}

#[test]
fn a_delimiter_walk_reads_at_most_twice_what_it_lists() {
    // Runs of plain names of every length between subdirs: the batch grows
    // over a run and starts again at one row after each subdir.
    let mut names = Vec::new();
    for run in 0..60 {
        names.extend((0..run * 7).map(|i| format!("r{run:02}-{i:04}")));
        names.extend((0..50).map(|i| format!("r{run:02}/{i:02}")));
    }
    for limit in [1, 2, 3, 10, 100, 1000, LISTING_LIMIT] {
        for reverse in [false, true] {
            let p = ListParams { delimiter: "/".into(), limit, reverse, ..params() };
            let (out, _, rows) = list_in(&refs(&names), &p);
            assert!(rows <= 2 * out.len() + 1, "limit {limit} reverse {reverse}: {rows} rows for {}", out.len());
        }
    }
    // Without subdirs a page is one query, as without a delimiter.
    let flat: Vec<String> = (0..5000).map(|i| format!("o{i:05}")).collect();
    let (out, queries, rows) = list_in(&refs(&flat), &ListParams { delimiter: "/".into(), ..params() });
    assert_eq!(out.len(), 5000);
    assert!(rows <= 5000 && queries <= 14, "{rows} rows, {queries} queries");
}

/// A `path` listing from the whole name list: the names right inside the
/// directory (a name ending with `/` counts), between the markers. In
/// reverse, as in Swift, a name ending with `/` is left out when a name
/// below it is in the range (skipping that subtree moves `end_marker`, an
/// exclusive bound, to the name itself).
fn path_reference(names: &[String], p: &ListParams) -> Vec<String> {
    let path = p.path.as_deref().unwrap_or_default();
    let prefix = if path.is_empty() { String::new() } else { format!("{}/", path.trim_end_matches('/')) };
    let (lo, hi) = if p.reverse { (&p.end_marker, &p.marker) } else { (&p.marker, &p.end_marker) };
    let in_range = |n: &String| (lo.is_empty() || n > lo) && (hi.is_empty() || n < hi);
    let mut out: Vec<String> = names
        .iter()
        .filter(|n| n.starts_with(&prefix) && **n != prefix && in_range(n))
        .filter(|n| n[prefix.len()..].find('/').is_none_or(|i| i == n.len() - prefix.len() - 1))
        .filter(|n| {
            !p.reverse
                || !n.ends_with('/')
                || !names.iter().any(|m| m.len() > n.len() && m.starts_with(n.as_str()) && in_range(m))
        })
        .cloned()
        .collect();
    out.sort();
    if p.reverse {
        out.reverse();
    }
    out.truncate(p.limit);
    out
}

#[test]
fn path_listings_match_the_reference_whatever_the_batches() {
    let alphabet = ["a", "b", "/", "0", "\u{e9}"];
    let mut rng = crate::testutil::Rng(0x2545_F491_4F6C_DD1D);
    let mut names = Vec::new();
    for _ in 0..400 {
        let len = 1 + rng.below(6);
        let n: String = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    let pick = |rng: &mut crate::testutil::Rng, max: u64| -> String {
        (0..rng.below(max + 1)).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect()
    };
    for round in 0..400 {
        let p = ListParams {
            limit: [1, 2, 3, 5, 10, 10_000][rng.below(6) as usize],
            marker: if rng.below(2) == 0 { pick(&mut rng, 4) } else { String::new() },
            end_marker: if rng.below(3) == 0 { pick(&mut rng, 4) } else { String::new() },
            path: Some(pick(&mut rng, 2)),
            reverse: rng.below(2) == 0,
            ..params()
        };
        assert_eq!(list_in(&refs(&names), &p).0, path_reference(&names, &p), "round {round}: {p:?}");
    }
}

#[test]
fn utf8_names_are_in_byte_order() {
    // z (7a) < é (c3 a9) < U+FFFD (ef bf bd) < 😀 (f0 9f 98 80); UTF-16
    // order would put 😀 first of the last two.
    let names = ["\u{1F600}", "\u{FFFD}", "z", "\u{e9}"];
    assert_eq!(list_in(&names, &params()).0, ["z", "\u{e9}", "\u{FFFD}", "\u{1F600}"]);
    assert_eq!(
        list_in(&["\u{e9}a", "\u{e9}b", "\u{ea}"], &ListParams { prefix: "\u{e9}".into(), ..params() }).0,
        ["\u{e9}a", "\u{e9}b"]
    );
}

#[test]
fn next_prefix_increments_the_last_code_point() {
    assert_eq!(next_prefix("a/").as_deref(), Some("a0"));
    assert_eq!(next_prefix("\u{D7FF}").as_deref(), Some("\u{E000}"));
    assert_eq!(next_prefix("a\u{10FFFF}").as_deref(), Some("b"));
    assert_eq!(next_prefix("\u{10FFFF}"), None);
    assert_eq!(next_prefix(""), None);
}

#[test]
fn limit_over_the_maximum_is_refused() {
    assert!(validate(&ListParams { limit: LISTING_LIMIT, ..params() }).is_ok());
    assert!(validate(&ListParams { limit: LISTING_LIMIT + 1, ..params() }).is_err());
}
