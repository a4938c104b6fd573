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

/// Answers a range query over `names` like the SQL does, counting queries.
fn list_in(names: &[&str], p: &ListParams) -> (Vec<String>, usize) {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    let mut queries = 0;
    let out = walk(p, |r| {
        queries += 1;
        let mut v: Vec<N> = sorted
            .iter()
            .filter(|n| match &r.lower {
                Some((l, true)) => **n >= l.as_str(),
                Some((l, false)) => **n > l.as_str(),
                None => true,
            })
            .filter(|n| r.upper.as_ref().is_none_or(|u| **n < u.as_str()))
            .map(|n| N(n.to_string()))
            .collect();
        if r.reverse {
            v.reverse();
        }
        v.truncate(r.limit);
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
    (names, queries)
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
    let (out, queries) = list_in(&refs, &ListParams { delimiter: "/".into(), ..params() });
    assert_eq!(out.len(), 10);
    assert!(queries <= 11, "{queries} queries");
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
