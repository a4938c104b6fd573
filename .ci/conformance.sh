#!/usr/bin/env bash
# Swift's own functional suite (the files issue 7 names) against a fresh
# swiftlet-aio cluster, compared with tests/conformance/expected-failures.txt:
# a test that fails and is not listed fails CI (a regression); a listed
# test that passes is reported, so the list only ever shrinks.
#
# Needs ../shared/anchors/swift (install.sh installs Swift 2.38.3 and its
# test suite from PyPI into /var/tmp/swift-anchor).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
anchor=${SHARED:-$repo/../shared}/anchors/swift
files=(test/functional/tests.py test/functional/test_account.py test/functional/test_container.py
       test/functional/test_object.py test/functional/test_dlo.py test/functional/test_protocol.py)
expected=$repo/tests/conformance/expected-failures.txt

echo "== conformance: installing Swift's functional suite"
bash "$anchor/install.sh" >/var/tmp/swiftlet-conformance-install.log 2>&1 ||
  { tail -n 30 /var/tmp/swiftlet-conformance-install.log; exit 1; }

echo "== conformance: building swiftlet (release)"
cargo build --release --locked -p swiftlet-aio -p swiftlet-proxy -p swiftlet-object-server --bins

# Ports port..port+4 with nothing listening (the proxy and 4 object servers).
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=
for p in $(seq 28000 10 28990); do
  busy=0
  for i in 0 1 2 3 4; do listening $((p + i)) && busy=1; done
  if [ $busy = 0 ]; then port=$p; break; fi
done
[ -n "$port" ] || { echo "no free ports"; exit 1; }
data=$(mktemp -d /var/tmp/swiftlet-conformance.XXXXXX)
aio=
trap '[ -n "$aio" ] && kill -TERM $aio 2>/dev/null; wait 2>/dev/null; rm -rf "$data"' EXIT
start_aio() {
  : >"$data/aio.out"
  target/release/swiftlet-aio --data "$data/cluster" --port "$port" >"$data/aio.out" 2>&1 &
  aio=$!
  for _ in $(seq 600); do
    grep -q 'swiftlet is running' "$data/aio.out" && return 0
    kill -0 $aio 2>/dev/null || { cat "$data/aio.out"; exit 1; }
    sleep 0.1
  done
  echo "swiftlet-aio did not start"; cat "$data/aio.out"; exit 1
}
# The first start writes the configs. testFileSizeLimit declares four
# uploads of ~5 GiB that it never sends: with fallocate each takes 15 GiB
# (3 replicas) for 3 s, and a machine without that much free disk answers
# 507 and error-limits its nodes for the next tests (so does Swift). As in
# a development SAIO, the conformance cluster does not preallocate.
start_aio
kill -TERM $aio; wait $aio || true
sed -i 's/^disable_fallocate = .*/disable_fallocate = true/' "$data"/cluster/etc/object-server-*.conf
grep -q '^disable_fallocate = true' "$data"/cluster/etc/object-server-1.conf || { echo "cannot set disable_fallocate"; exit 1; }
start_aio

echo "== conformance: Swift's functional tests against http://127.0.0.1:$port"
out=$(mktemp)
bash "$anchor/run-functional.sh" "http://127.0.0.1:$port" "${files[@]}" | tee "$out" || true
results=$(sed -n 's/.*results in \(.*\)$/\1/p' "$out" | head -n 1)
rm -f "$out"
[ -f "$results/summary.txt" ] || { echo "no summary from run-functional.sh"; exit 1; }
grep -q '^SUMMARY.*total=[1-9]' "$results/summary.txt" || { echo "no tests ran"; exit 1; }

failed=$(sed -n '/^FAILED\/ERROR tests:/,/^$/p' "$results/summary.txt" | sed -n 's/^  //p' | sort -u)
listed=$({ grep -v '^#' "$expected" || true; } | sed '/^$/d' | sort -u)
new=$(comm -23 <(echo "$failed" | sed '/^$/d') <(echo "$listed"))
fixed=$(comm -13 <(echo "$failed" | sed '/^$/d') <(echo "$listed"))
if [ -n "$fixed" ]; then
  echo "== conformance: these listed tests pass now; remove them from tests/conformance/expected-failures.txt:"
  echo "$fixed" | sed 's/^/  /'
fi
if [ -n "$new" ]; then
  echo "== conformance: FAILED: tests that used to pass fail now (pytest log: $results/pytest.log):"
  echo "$new" | sed 's/^/  /'
  exit 1
fi
echo "== conformance: OK ($(grep '^SUMMARY' "$results/summary.txt"))"
