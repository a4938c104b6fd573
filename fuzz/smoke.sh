#!/usr/bin/env bash
# Fuzz smoke: builds every fuzz target with libFuzzer's coverage
# instrumentation on the stable toolchain (no cargo-fuzz, no nightly) and
# runs each for FUZZ_SECONDS, starting from a few seeds written below.
# Fails on the first crash, panic, overflow, timeout or out-of-memory and
# prints the input that caused it. See docs/fuzzing.md.
#
#   FUZZ_SECONDS  seconds per target (default 30)
#   FUZZ_TARGETS  targets to run, space-separated (default: all in Cargo.toml)
#   FUZZ_JOBS     targets fuzzed at a time (default 2, or 1 on one core)
#   FUZZ_ARGS     more libFuzzer options for every run (e.g. -seed=1)
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-$(($(nproc) > 1 ? 2 : 1))}
host=$(rustc -vV | sed -n 's/^host: //p')
targets=${FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^swiftlet-fuzz$')}

# The coverage flags cargo-fuzz passes (its src/project.rs), less three:
# -Zsanitizer=address needs nightly (or RUSTC_BOOTSTRAP), and only the hub
# crate has unsafe code, so coverage-guided fuzzing without ASan still
# finds what matters here: panics, overflows (fuzz/Cargo.toml turns on
# overflow checks and debug assertions), broken invariants, hangs;
# -Clink-dead-code and -Ccodegen-units=1 only lengthen the build. As with
# cargo-fuzz, --target keeps the flags off build scripts and proc macros,
# which run on the host and need no coverage.
rustflags=(
  -Cpasses=sancov-module
  -Cllvm-args=-sanitizer-coverage-level=4
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
  -Cllvm-args=-sanitizer-coverage-pc-table
  -Cllvm-args=-sanitizer-coverage-trace-compares
  -Cllvm-args=-sanitizer-coverage-stack-depth
  -Cllvm-args=-simplifycfg-branch-fold-threshold=0
  --cfg fuzzing
)
export RUSTFLAGS="${rustflags[*]} ${RUSTFLAGS:-}"

# libfuzzer-sys compiles libFuzzer (C++) itself.
if ! command -v "${CXX:-c++}" >/dev/null; then
  echo "fuzz smoke: needs a C++ compiler to build libFuzzer (apt-get install g++)" >&2
  exit 1
fi

echo "fuzz smoke: building $(echo $targets | wc -w) targets for $host"
start=$SECONDS
# Its own target dir inside the workspace's (target/fuzz, ignored like
# the rest of target/): the workspace's build is untouched, and no build
# output lands in the source tree.
# Not --locked: fuzz/Cargo.lock must follow the path crates' dependencies
# as they change; cargo adds what is missing and keeps the versions locked.
fuzz_target=../target/fuzz
nice -n 10 cargo build --release --target "$host" --target-dir "$fuzz_target" \
  $(printf -- '--bin %s ' $targets)
echo "fuzz smoke: built in $((SECONDS - start)) s"

bin=$fuzz_target/$host/release
work=$fuzz_target/smoke
rm -rf "$work"

# Seeds: a few valid inputs per target, so that each run starts past the
# syntax (the layouts are in each target's doc comment). Written here with
# printf's %b rather than committed, as several hold NULs.
seed() { mkdir -p "$work/seeds/$1" && printf '%b' "$3" >"$work/seeds/$1/$2"; }
# request: a seed byte (piece sizes), then a request.
seed request chunked '\x07PUT /v1/a/c/o HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nEtag: a\r\n\r\nGET / HTTP/1.1\r\n\r\n'
seed request length '\x00GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc'
# backend_path: method and container-update bit (0 GET, 2 PUT, 5 REPLICATE,
# 8 GET as a container update), then the target.
seed backend_path object '0/sda/1/AUTH_test/c/o%E2%98%83/with/slashes'
seed backend_path listing '0/sda/00012/AUTH_test/c?format=json&prefix=x%2Fy&delimiter=%2F&limit=10&reverse=on'
seed backend_path account '2/sdb1/3/AUTH_test/'
seed backend_path replicate '5/sda/12/abc-0f1'
seed backend_path update '8/sda/1/a/c/o?x=1'
# range: the length (d = 100, or 0xc8 then 7 bytes), Range, NUL, Content-Type.
seed range one 'dbytes=0-9'
seed range many 'dbytes=-10, 20-30,90-,5-5\x00text/plain; charset=utf-8'
seed range huge '\xc8\x00\x00\x00\x00\x01\x00\x00bytes=1-18446744073709551615,-99999999999999999999'
seed range accent 'dbytes\xc3\xa9=0-1'
# conditional: flags (/ = all four sent), 5 bytes of Last-Modified, then
# If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, ETag,
# and two values read as X-Timestamp, format= and Accept.
seed conditional etags '/\x00\xf1\x53\x65\x00"d41d8cd98f00b204e9800998ecf8427e", W/"x"\x00a, *\x00Sun, 06 Nov 1994 08:49:37 GMT\x00Sunday, 06-Nov-94 08:49:37 GMT\x00d41d8cd98f00b204e9800998ecf8427e\x001700000000.12345_000000000000000a\x00application/json;q=0.9, text/*;q=0.5'
seed conditional dates '\x0c\x00\xf1\x53\x65\x00\x00\x00Sun Nov  6 08:49:37 1994\x00Tue, 14 Nov 2023 22:13:20 GMT\x00etag\x00json\x00001700000000.123456'
# metadata: 0 an object file (body, JSON, length, magic), 0 a bare footer,
# 1 stored JSON, 2 limits then writes ([flags][copies][value length]
# [second]name NUL; \x83: 3 user items, the first write over them),
# 3 header names.
seed metadata file '0body{"name":"/a/c/o","X-Timestamp":"1700000000.00000","ETag":"x"}\x3d\x00\x00\x00\x00\x00\x00\x00SWLTMD01'
seed metadata footer '0{"name":"/a/c/line\\r\\nbreak","Content-Type":"text/plain","X-Object-Meta-K":"\\u00e9"}'
seed metadata stored '1{"X-Container-Meta-Color":["blue","1700000000.12345"],"X-Container-Read":[".r:*","1700000000.12345_000000000000000a"]}'
seed metadata writes '2\x00\x01\x5a\x05\x10m\x00\x01\x01\x00\x20m1\x00\x07\x3c\xff\x30big\x00\x11\x01\x01\x40\x00'
seed metadata over '2\x83\x01\x05\x05\x10m\x00\x01\x01\x00\x20m1\x00\x09\x01\x04\x30\x00\x01\x01\x01\x40new\x00'
seed metadata names '3x-container-meta-color\x00X-OBJECT-META-\xc3\x9f-a\x00-\x00'
# One run: its log in $work/<target>.log, its exit status in .rc.
run() {
  local t=$1 seeds=() dict=()
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  [ -d "$work/seeds/$t" ] && seeds=("$work/seeds/$t")
  [ -f "$t.dict" ] && dict=("-dict=$t.dict")
  # New inputs go to the first corpus dir; the seeds are only read.
  local rc=0
  nice -n 10 "$bin/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" "${dict[@]}" ${FUZZ_ARGS:-} \
    "$work/corpus/$t" "${seeds[@]}" >"$work/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t.rc"
}

# Did a run pass? Prints its summary, or the end of its log and the input.
report() {
  local t=$1 log=$work/$1.log
  if [ "$(cat "$work/$t.rc")" != 0 ]; then
    echo "fuzz smoke: $t: FAILED; end of fuzz/$log:"
    tail -n 40 "$log"
    for a in "$work/artifacts/$t"/*; do
      [ -f "$a" ] || continue
      echo "input (fuzz/$a), as hex:"
      od -A d -t x1 -v "$a" | head -n 40
      echo "as base64 (echo ... | base64 -d > crash): $(base64 -w 0 "$a")"
      echo "replay: (cd fuzz && $bin/$t $a)"
    done
    return 1
  fi
  local runs rate last
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
  # A build without the coverage flags still runs, blind: refuse it.
  if [ -z "$last" ] || grep -q 'Is the code instrumented for coverage' "$log"; then
    echo "fuzz smoke: $t: no coverage feedback (not instrumented?); see fuzz/$log"
    return 1
  fi
  echo "fuzz smoke: $t: ok, $runs runs ($rate/s), $last"
}

# FUZZ_JOBS targets at a time (each libFuzzer run uses one core).
set -- $targets
status=0
while [ $# -gt 0 ] && [ $status = 0 ]; do
  batch=()
  while [ $# -gt 0 ] && [ ${#batch[@]} -lt "$jobs" ]; do
    batch+=("$1")
    shift
  done
  for t in "${batch[@]}"; do run "$t" & done
  wait
  for t in "${batch[@]}"; do report "$t" || status=1; done
done
echo "fuzz smoke: $((SECONDS - start)) s in all (build and ${seconds} s per target, $jobs at a time)"
exit $status
