#!/usr/bin/env bash
# Container listing benchmark (issue 5), side by side with OpenStack Swift's
# container server in one run: row updates/s into an empty container and
# into one grown to ROWS rows (through the backend API, as object servers
# send them: wrk -c16 with unique names), and the time of a 10,000-item JSON
# page with prefix and marker at ROWS rows.
#
#   ROWS=1000000 bash bench/container.sh
#
# Uses a running SAIO from ../shared/anchors/swift if there is one, else
# starts it (STORAGE=dir) and stops it at the end. Raw output in
# /var/tmp/swiftlet-bench/container-<time>/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
ROWS=${ROWS:-1000000}
D=${D:-10}
out=/var/tmp/swiftlet-bench/container-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

# ---- Swift: one container server of the SAIO (node 1) ----
ANCHOR=/var/tmp/swift-anchor
started_saio=0
if ! curl -s -m 2 -o /dev/null "http://127.0.0.1:6211/"; then
  [ -x "$ANCHOR/venv/bin/python" ] || bash "$shared/anchors/swift/install.sh" >"$out/swift-install.log" 2>&1
  PROFILE=core STORAGE=dir bash "$shared/anchors/swift/saio-up.sh" >"$out/saio-up.log" 2>&1
  started_saio=1
fi
# Every process of node 1's container server (the parent and its workers)
# counts for its CPU time.
SWIFT_PID=$(ss -ltnp | awk '/127.0.0.1:6211 /' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ',' | sed 's/,$//')

# ---- swiftlet: its storage node serves container paths ----
echo "building swiftlet-object-server (release)" >&2
(cd "$here" && cargo build --release -q -p swiftlet-object-server)
node=$out/swiftlet
mkdir -p "$node/devices/sda" "$node/etc"
printf '[swift-hash]\nswift_hash_path_suffix = bench\n' >"$node/etc/swift.conf"
sed -e "s#^bind_port = .*#bind_port = 19711#" -e "s#^bind_ip = .*#bind_ip = 127.0.0.1#" \
    -e "s#^devices = .*#devices = $node/devices#" -e "s#^mount_check = .*#mount_check = false#" \
    -e "s#^swift_dir = .*#swift_dir = $node/etc#" -e "s#^workers = .*#workers = 1#" \
    -e "s#^log_requests = .*#log_requests = false#" \
    "$here/etc/object-server.conf-sample" >"$node/etc/object-server.conf"
"$here/target/release/swiftlet-object-server" --config "$node/etc/object-server.conf" >"$out/swiftlet.log" 2>&1 &
OURS_PID=$!
cleanup() {
  kill "$OURS_PID" 2>/dev/null || true
  [ "$started_saio" = 1 ] && bash "$shared/anchors/swift/saio-down.sh" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 50); do curl -s -m 1 -o /dev/null http://127.0.0.1:19711/ && break; sleep 0.2; done

ticks() { local t=0 p; for p in ${1//,/ }; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo "$t"; }
ts() { python3 -c 'import time; print("%.5f" % time.time())'; }

# wrk script: PUT object rows with unique names (n = thread-local counter,
# tag keeps runs apart), the headers an object server sends.
cat >"$out/rows.lua" <<'LUA'
local counter = 1
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local n = 0
local tag = os.getenv("TAG") or "r"
request = function()
  n = n + 1
  local name = string.format("%s/obj-%s-%d-%09d", wrk.path, tag, id, n)
  local t = string.format("%.5f", os.time() + n / 100000.0)
  return wrk.format("PUT", name, {
    ["X-Timestamp"] = t, ["X-Size"] = "4096", ["X-Content-Type"] = "application/octet-stream",
    ["X-Etag"] = "d41d8cd98f00b204e9800998ecf8427e", ["X-Backend-Container-Update"] = "true",
    ["Content-Length"] = "0" }, "")
end
LUA

# name url pid tag seconds -> "rows/s cpu_us_per_row"
rowrun() {
  local c0 c1 o rps
  c0=$(ticks "$3")
  o=$(TAG=$4 wrk -t2 -c16 -d"$5s" -s "$out/rows.lua" "$2")
  c1=$(ticks "$3")
  echo "$o" >>"$out/wrk-$1.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$o")
  awk -v a="$c0" -v b="$c1" -v r="$rps" -v d="$5" 'BEGIN{printf "%s %.1f\n", r, (b-a)/100/(r*d)*1e6}'
}
count() { curl -s -I "$1" | awk -F': ' 'tolower($1)=="x-container-object-count" {print $2+0}'; }

declare -A URL=([swiftlet]=http://127.0.0.1:19711/sda/1/bench/c [swift]=http://127.0.0.1:6211/sdb1/1/bench/c)
declare -A PID=([swiftlet]=$OURS_PID [swift]=$SWIFT_PID)
for s in swiftlet swift; do
  curl -s -o /dev/null -X PUT -H "X-Timestamp: $(ts)" "${URL[$s]}"
done
declare -A EMPTY FULL PAGE
for s in swiftlet swift; do EMPTY[$s]=$(rowrun "$s" "${URL[$s]}" "${PID[$s]}" empty "$D"); done
# Grow both to ROWS rows (wrk in 60 s slices until the count is reached).
for s in swiftlet swift; do
  i=0
  while [ "$(count "${URL[$s]}")" -lt "$ROWS" ]; do
    i=$((i + 1)); TAG=grow$i wrk -t2 -c16 -d60s -s "$out/rows.lua" "${URL[$s]}" >>"$out/grow-$s.txt"
    echo "$s: $(count "${URL[$s]}") rows" >&2
  done
done
for s in swiftlet swift; do FULL[$s]=$(rowrun "$s" "${URL[$s]}" "${PID[$s]}" full "$D"); done
# A 10,000-item JSON page with prefix and marker, 5 times each, median.
for s in swiftlet swift; do
  for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -w '%{time_total}\n' "${URL[$s]}?format=json&prefix=obj-grow&marker=obj-grow1-1-000100000&limit=10000"
  done | sort -g | sed -n 3p >"$out/page-$s.txt"
  PAGE[$s]=$(awk '{printf "%.1f", $1*1000}' "$out/page-$s.txt")
done
rows_s() { awk '{print $1}' <<<"$1"; }
cpu() { awk '{print $2}' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
{
echo "# container benchmark $(date -u +%FT%TZ), $(nproc) vCPU, load $(cut -d' ' -f1-3 /proc/loadavg), ROWS=$ROWS"
echo
echo "| measure | swiftlet | Swift 2.38.3 | ratio |"
echo "|---|---|---|---|"
echo "| row updates/s, empty container (wrk -c16) | $(rows_s "${EMPTY[swiftlet]}") | $(rows_s "${EMPTY[swift]}") | $(ratio "$(rows_s "${EMPTY[swiftlet]}")" "$(rows_s "${EMPTY[swift]}")")x |"
echo "| row updates/s at $ROWS rows | $(rows_s "${FULL[swiftlet]}") | $(rows_s "${FULL[swift]}") | $(ratio "$(rows_s "${FULL[swiftlet]}")" "$(rows_s "${FULL[swift]}")")x |"
echo "| kept at $ROWS rows (full / empty) | $(ratio "$(rows_s "${FULL[swiftlet]}")" "$(rows_s "${EMPTY[swiftlet]}")") | $(ratio "$(rows_s "${FULL[swift]}")" "$(rows_s "${EMPTY[swift]}")") | |"
echo "| server CPU per row update at $ROWS rows (us) | $(cpu "${FULL[swiftlet]}") | $(cpu "${FULL[swift]}") | |"
echo "| 10,000-item JSON page, prefix + marker, at $ROWS rows (ms, median of 5) | ${PAGE[swiftlet]} | ${PAGE[swift]} | $(ratio "${PAGE[swift]}" "${PAGE[swiftlet]}")x faster |"
} | tee "$out/summary.md"
