#!/usr/bin/env bash
# Replication benchmark: rebuild a wiped device, swiftlet's object replicator
# (swiftlet-object-replicator, docs/replication.md) against OpenStack Swift
# 2.38.3's (swift-object-replicator, sync_method = ssync, concurrency
# SWIFT_CONCURRENCY, as ../shared/anchors/swift/replication-bench.sh runs it),
# one run, side by side, on the same data, filesystem and machine: a real
# Swift SAIO (../shared/anchors/swift/saio-up.sh, PROFILE=core WORKERS=auto
# EVENTLET_DEBUG=false) and a swiftlet-aio cluster started with --no-daemons
# whose --data folder lives inside the XFS image saio-up.sh mounts; both 4
# nodes, 3 replicas, part power 10. For each system in turn:
#
#   small    SMALL objects of 4 KiB are uploaded (curl -Z, UPLOAD_C at once,
#            container "small"), the .data replicas on node 2's device
#            counted, that device's objects/ folder removed, the page cache
#            dropped (sync; echo 3 > /proc/sys/vm/drop_caches), and the
#            replicator run with --once on all 4 nodes at once; the time is
#            until all four exit. replicas/s = .data files back on node 2 /
#            seconds. swiftlet runs with its rate limits lifted
#            (files_per_second = 0, bytes_per_second = 0 in each node's
#            [object-replicator]); with DEFAULT_RUN=1 it is then wiped and
#            rebuilt once more at the default limits (the sample config's
#            files_per_second and bytes_per_second, per process), reported on
#            a row of its own.
#   impact   (systems in IMPACT) with the small objects whole again: 4 KiB GETs
#            of a hot set of them (at most HOT objects; bench/cluster/get.lua,
#            wrk -t2 -cC -dDURATION after an unmeasured WARM run) on the idle
#            cluster -> p99; then node 2's objects/ is removed again and every
#            node's replicator and auditor run as daemons (not --once) at their
#            default rates (swiftlet: the sample config's files_per_second and
#            bytes_per_second, a pass every 10 s as swiftlet-aio's configs
#            say, the auditor only if BIN holds swiftlet-object-auditor; Swift:
#            swift-object-replicator with ssync and SWIFT_CONCURRENCY, and
#            swift-object-auditor, their defaults) while the same GET load
#            runs -> p99, and the ratio to the idle p99. swiftlet also gets a
#            third run once node 2 is whole again (daemons still running,
#            STEADY_WAIT seconds at most to get there).
#   large    every device's objects/ of both systems emptied first (so only the
#            large objects are rebuilt), LARGE objects of LARGE_MIB MiB uploaded
#            one at a time (container "large"), node 2 wiped and rebuilt as
#            above; MiB/s = replicas back x LARGE_MIB / seconds, and that as a
#            % of the 256 MiB write+fsync ceiling. DEFAULT_RUN=1 rebuilds
#            swiftlet once more at its default limits.
#
# Ceilings measured on the same XFS in the same run, with
# ../shared/anchors/limits (built by its build.sh if missing): 4 KiB create +
# write + fsetxattr + fsync + rename + dir fsyncs with 4 and 32 threads
# (diskbench ... swift) and 256 MiB write+fsync (diskbench ... fsync). Each
# replica rebuilt is one such 4 KiB file on node 2, so the small rebuild is
# judged against the file ceiling and the large one against the bandwidth.
#
# Goals (the issue's): small rebuild >= 10x Swift's replicas/s; large rebuild
# >= 80% of the write+fsync ceiling; 4 KiB GET p99 while the replicator and
# auditor run at their default rates <= 1.5x the idle cluster's.
#
#   bash bench/replication.sh   # SMALL=20000 LARGE=20 LARGE_MIB=64 PORT=8090
#                               # DURATION=10s WARM=3s C=32 HOT=2500 UPLOAD_C=16
#                               # SWIFT_CONCURRENCY=4 DEFAULT_RUN=1
#                               # IMPACT="swift swiftlet" STEADY_WAIT=300
#                               # PASS_TIMEOUT=3600 DISK_SIZE=24G
#                               # BIN=target/release BUILD=1 NICE=1
#
# BIN is the folder of the swiftlet binaries (swiftlet-aio, -proxy-server,
# -object-server, -object-replicator; -object-auditor if there is one). With
# BIN=target/release and BUILD=1 (the defaults) it first runs `cargo build
# --release -p swiftlet-aio -p swiftlet-proxy -p swiftlet-object-server --bins`
# in the shared target folder; BUILD=0 skips that (a warning is printed if
# sources are newer than the binaries). BIN=target/debug works for a dry run
# of the script, not for numbers. Needs root (drop_caches, the XFS loop
# mount), port 8080 (Swift's proxy), 6210-6242, 11211 and PORT..PORT+4 free
# and no SAIO running. Cleans up at the end, on failure too (background
# daemons stopped, swiftlet-aio stopped and its data removed, saio-down.sh
# --wipe). Raw output (replicator logs and timings, wrk output):
# /var/tmp/swiftlet-bench/replication-<time>/; results:
# bench/results/replication-<time>.{tsv,md,notes.txt}. Like cluster.sh, the
# measuring part runs at nice -20 (NICE=0 disables); every replicator of both
# systems inherits it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
SWIFT_ANCHOR=${SWIFT_ANCHOR:-/var/tmp/swift-anchor}
VENV=$SWIFT_ANCHOR/venv
RS=/var/tmp/swift-limits/rs/target/release
SMALL=${SMALL:-20000}
LARGE=${LARGE:-20}
LARGE_MIB=${LARGE_MIB:-64}
PORT=${PORT:-8090}
DURATION=${DURATION:-10s}
WARM=${WARM:-3s}
C=${C:-32}
HOT=${HOT:-2500}
UPLOAD_C=${UPLOAD_C:-16}
SWIFT_CONCURRENCY=${SWIFT_CONCURRENCY:-4}
DEFAULT_RUN=${DEFAULT_RUN:-1}
IMPACT=${IMPACT:-swift swiftlet}
STEADY_WAIT=${STEADY_WAIT:-300}
PASS_TIMEOUT=${PASS_TIMEOUT:-3600}
BIN=${BIN:-$here/target/release}
case $BIN in /*) ;; *) BIN=$here/$BIN;; esac
lua=$here/bench/cluster
SYSTEMS=${SYSTEMS:-swift swiftlet}

if [ "${RB_STAGE:-}" != measure ]; then
  # ---- set-up (normal priority) ----
  [ "$(id -u)" = 0 ] || { echo "replication.sh needs root (drop_caches, loop mount)" >&2; exit 1; }
  need=""
  for t in wrk curl mkfs.xfs memcached timeout setsid; do command -v $t >/dev/null || need="$need $t"; done
  if [ -n "$need" ]; then
    pk=$(echo "$need" | sed 's/mkfs.xfs/xfsprogs/; s/timeout//; s/setsid//')
    apt-get update -qq && apt-get install -y -qq $pk >/dev/null
  fi
  [ -x "$VENV/bin/swift-object-replicator" ] || bash "$shared/anchors/swift/install.sh" >&2
  [ -x "$RS/diskbench" ] || bash "$shared/anchors/limits/build.sh" >&2
  if [ "${BUILD:-1}" = 1 ] && [ "$BIN" = "$here/target/release" ]; then
    echo "building swiftlet (release)" >&2
    (cd "$here" && nice -n 10 cargo build --release -q -p swiftlet-aio -p swiftlet-proxy -p swiftlet-object-server --bins)
  fi
  for b in swiftlet-aio swiftlet-proxy-server swiftlet-object-server swiftlet-object-replicator; do
    [ -x "$BIN/$b" ] || { echo "$BIN/$b is missing: build it (cargo build --release -p swiftlet-aio -p swiftlet-proxy -p swiftlet-object-server --bins) or set BIN" >&2; exit 1; }
  done
  "$BIN/swiftlet-aio" --help 2>&1 | grep -q -- --no-daemons ||
    { echo "$BIN/swiftlet-aio has no --no-daemons: it is older than the replicator; rebuild it" >&2; exit 1; }
  newer=$(find "$here"/{common,hub,http,ring,db,server,object-server,proxy,aio}/src -name '*.rs' -newer "$BIN/swiftlet-object-replicator" 2>/dev/null | head -3 | tr '\n' ' ')
  export RB_STALE=${newer:+sources newer than $BIN/swiftlet-object-replicator: $newer...}
  export RB_REV="$(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- common hub http ring db server object-server proxy aio 2>/dev/null || echo ' + uncommitted edits in the tree')"
  export RB_STAGE=measure BIN
  if [ "${NICE:-1}" != 0 ]; then exec nice -n -20 bash "$0" "$@"; fi
  exec bash "$0" "$@"
fi

T0=$(date +%s)
stamp=$(date -u +%Y%m%d-%H%M%S)
out=/var/tmp/swiftlet-bench/replication-$stamp
mkdir -p "$out" "$here/bench/results"
RES=$out/results.tsv
TCK=$(getconf CLK_TCK)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
note() { echo "$*" | tee -a "$out/notes.txt" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
printf 'workload\tsystem\tvalue\tunit\tseconds\tbefore\tafter\tcpu_s\tp50_ms\tp99_ms\terrors\tlimits\tload1\n' >"$RES"
rec() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "$(loadavg | cut -d' ' -f1)" >>"$RES"; }

for p in 8080 11211 6210 6211 6212 6220 6221 6222 6230 6231 6232 6240 6241 6242 $(seq "$PORT" $((PORT + 4))); do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p is in use: stop what listens there (a SAIO: saio-down.sh)" >&2; exit 1; fi
done

# room: both systems' 3 replicas of the small set (4 KiB blocks + inodes), one
# system's large set at a time (each is removed after its phase), and slack;
# the XFS image is sparse
need=$(( (3 * 2 * SMALL * 8) + (3 * LARGE * LARGE_MIB * 1024) + 4 * 1048576 ))
avail=$(df -Pk "$(dirname "$SWIFT_ANCHOR")" | awk 'NR==2 {print $4}')
[ "$avail" -ge "$need" ] || { echo "need $((need / 1048576)) GiB free under $(dirname "$SWIFT_ANCHOR"), have $((avail / 1048576)) GiB" >&2; exit 1; }

AIO= BG=() STARTED_SAIO=0 DATA=
stopbg() {   # stop background daemons (each its own session: setsid), by pid and process group
  local p
  for p in "$@"; do kill -TERM -- "-$p" 2>/dev/null || true; kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0; for p in "$@"; do if kill -0 "$p" 2>/dev/null; then alive=1; fi; done
    if [ $alive = 0 ]; then break; fi; sleep 0.2
  done
  for p in "$@"; do kill -KILL -- "-$p" 2>/dev/null || true; kill -KILL "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
  return 0
}
cleanup() {
  set +e
  [ "${#BG[@]}" = 0 ] || stopbg "${BG[@]}"
  if [ -n "$AIO" ]; then
    kill -TERM "$AIO" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$AIO" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$AIO" 2>/dev/null
  fi
  [ -z "$DATA" ] || { cp -r "$DATA/logs" "$out/swiftlet-logs" 2>/dev/null; rm -rf "$DATA"; }
  if [ "$STARTED_SAIO" = 1 ]; then
    mkdir -p "$out/swift-logs"; cp "$SWIFT_ANCHOR"/log/*.log "$out/swift-logs/" 2>/dev/null
    bash "$shared/anchors/swift/saio-down.sh" --wipe >>"$out/saio.log" 2>&1
  fi
  rm -f "$out/small.dat" "$out/large.dat"
}
trap cleanup EXIT
trap 'echo "replication.sh: failed at line $LINENO" >&2' ERR

note "start $(date -u +%FT%TZ); load average $(loadavg); swiftlet $RB_REV, binaries in $BIN"
[ -z "${RB_STALE:-}" ] || note "WARNING: $RB_STALE"

# ---- Swift: SAIO on a fresh XFS image (it mounts $SWIFT_ANCHOR/srv) ----
if [ -d "$SWIFT_ANCHOR/srv" ] && ! mountpoint -q "$SWIFT_ANCHOR/srv" && [ -n "$(ls -A "$SWIFT_ANCHOR/srv")" ]; then
  echo "$SWIFT_ANCHOR/srv holds data of another SAIO (STORAGE=dir?): not touching it; remove it or run saio-down.sh --wipe first" >&2
  exit 1
fi
rm -f "$SWIFT_ANCHOR"/log/*.log
STARTED_SAIO=1
PROFILE=core WORKERS=auto EVENTLET_DEBUG=false RESET=1 DISK_SIZE=${DISK_SIZE:-24G} \
  bash "$shared/anchors/swift/saio-up.sh" >"$out/saio.log" 2>&1 || { tail "$out/saio.log" >&2; exit 1; }
mountpoint -q "$SWIFT_ANCHOR/srv" || { echo "saio-up.sh did not mount XFS on $SWIFT_ANCHOR/srv" >&2; exit 1; }
FS="$(findmnt -no FSTYPE "$SWIFT_ANCHOR/srv") on $(findmnt -no SOURCE "$SWIFT_ANCHOR/srv") (loop image $SWIFT_ANCHOR/swift-disk.xfs on the root $(findmnt -no FSTYPE /))"
SWIFT_VERSION=$("$VENV/bin/python" -c 'import swift; print(swift.__version__)')

# ---- swiftlet: swiftlet-aio (no daemons) with its data inside the same XFS ----
DATA=$SWIFT_ANCHOR/srv/swiftlet
"$BIN/swiftlet-aio" --data "$DATA" --port "$PORT" --nodes 4 --replicas 3 --no-daemons >>"$out/aio.log" 2>&1 &
AIO=$!
for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthcheck" && break; sleep 0.2; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthcheck" || { tail "$out/aio.log" >&2; exit 1; }
mkdir -p "$DATA"/recon/{1,2,3,4}
note "filesystem: $FS"
note "Swift $SWIFT_VERSION SAIO (PROFILE=core); swiftlet-aio $AIO --no-daemons, children: $(pgrep -P "$AIO" | tr '\n' ' ')"

port() { if [ "$1" = swift ]; then echo 8080; else echo "$PORT"; fi; }
URL() { echo "http://127.0.0.1:$(port "$1")"; }
token() { curl -sf -D - -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "$(URL "$1")/auth/v1.0" |
            tr -d '\r' | awk 'tolower($1) == "x-auth-token:" {print $2}'; }
declare -A TOK
for s in $SYSTEMS; do
  TOK[$s]=$(token "$s")
  [ -n "${TOK[$s]}" ] || { echo "no token from $s" >&2; exit 1; }
  for c in small large; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: ${TOK[$s]}" "$(URL "$s")/v1/AUTH_test/$c")
    case $code in 201|202) ;; *) echo "container PUT $c on $s -> $code" >&2; exit 1;; esac
  done
done

# ---- the devices, counting, wiping ----
devs() { if [ "$1" = swift ]; then ls -d "$SWIFT_ANCHOR"/srv/[1-4]/node/*/; else ls -d "$DATA"/nodes/[1-4]/d*/; fi | sed 's#/$##'; }
dev2() { if [ "$1" = swift ]; then ls -d "$SWIFT_ANCHOR"/srv/2/node/*/ | head -1 | sed 's#/$##'; else echo "$DATA/nodes/2/d2"; fi; }
count_data() { { find "$1/objects" -name '*.data' 2>/dev/null || true; } | wc -l; }
bytes_data() { { find "$1/objects" -name '*.data' -printf '%s\n' 2>/dev/null || true; } | awk '{s+=$1} END {printf "%.0f\n", s}'; }
wipe_all() { local d; for d in $(devs "$1"); do rm -rf "$d/objects"; done; sync; }
dropcaches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

# ---- configs: setkey FILE SECTION KEY VALUE (replaces `key = ...` in
# [section] or adds it at the section's end; the section is added if missing) ----
setkey() {
  awk -v sec="[$2]" -v k="$3" -v v="$4" '
    function put() { print k " = " v; done = 1 }
    /^[ \t]*\[/ { if (insec && !done) put(); insec = ($0 == sec); seen = seen || insec; print; next }
    insec && !done && $0 ~ ("^[ \t]*" k "[ \t]*=") { put(); next }
    { print }
    END { if (!done) { if (!seen) print sec; put() } }' "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}
getkey() { awk -v sec="[$2]" -v k="$3" '/^[ \t]*\[/ {insec = ($0 == sec); next}
                                        insec && $0 ~ ("^[ \t]*" k "[ \t]*=") {sub(/^[^=]*=[ \t]*/, ""); print; exit}' "$1"; }
SAMPLE=$here/etc/object-server.conf-sample
DEF_FPS=$(getkey "$SAMPLE" object-replicator files_per_second); DEF_FPS=${DEF_FPS:-500}
DEF_BPS=$(getkey "$SAMPLE" object-replicator bytes_per_second); DEF_BPS=${DEF_BPS:-104857600}
LIMITS_DEFAULT="files_per_second = $DEF_FPS, bytes_per_second = $DEF_BPS per node"
swiftlet_limits() {   # off | default
  local n f
  for n in 1 2 3 4; do
    f=$DATA/etc/object-server-$n.conf
    if [ "$1" = off ]; then
      setkey "$f" object-replicator files_per_second 0; setkey "$f" object-replicator bytes_per_second 0
    else
      setkey "$f" object-replicator files_per_second "$DEF_FPS"; setkey "$f" object-replicator bytes_per_second "$DEF_BPS"
    fi
  done
}
for n in 1 2 3 4; do   # Swift: ssync, the object servers carry the data (no rsync daemon)
  setkey "$SWIFT_ANCHOR/etc/object-server/$n.conf" object-replicator sync_method ssync
  setkey "$SWIFT_ANCHOR/etc/object-server/$n.conf" object-replicator concurrency "$SWIFT_CONCURRENCY"
done

# ---- CPU of the object servers (utime+stime ticks) ----
srvpids() {
  if [ "$1" = swift ]; then
    local pf p; for pf in "$SWIFT_ANCHOR"/run/object-server-*.pid; do p=$(cat "$pf"); echo "$p"; pgrep -P "$p" || true; done | tr '\n' ' '
  else
    pgrep -P "$AIO" -f swiftlet-object-server | tr '\n' ' '
  fi
}
ticks() { local t=0 p v; for p in $(srvpids "$1"); do
            v=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + v)); done; echo $t; }

# ---- ceilings on the same XFS (nothing loaded yet) ----
CEIL=$SWIFT_ANCHOR/srv/ceil
num() { sed -E "s#.* ([0-9.]+) $1.*#\1#"; }
o4=$("$RS/diskbench" "$CEIL/s4" 4096 750 4 swift); echo "$o4" >>"$out/ceilings.txt"
o32=$("$RS/diskbench" "$CEIL/s32" 4096 100 32 swift); echo "$o32" >>"$out/ceilings.txt"
ob=$("$RS/diskbench" "$CEIL/big" 268435456 2 1 fsync); echo "$ob" >>"$out/ceilings.txt"
rm -rf "$CEIL"; sync
CS4=$(num 'files/s' <<<"$o4"); CS32=$(num 'files/s' <<<"$o32"); CBW=$(num 'MiB/s' <<<"$ob")
note "ceilings: 4 KiB swift-like create+fsync files/s: 4 threads $CS4, 32 threads $CS32; 256 MiB write+fsync $CBW MiB/s"
rec ceil_small_files_t4 xfs "$CS4" files/s "" "" "" "" "" "" "" ""
rec ceil_small_files_t32 xfs "$CS32" files/s "" "" "" "" "" "" "" ""
rec ceil_256m_write_fsync xfs "$CBW" MiB/s "" "" "" "" "" "" "" ""

# ---- upload ----
head -c 4096 /dev/urandom >"$out/small.dat"
head -c $((LARGE_MIB * 1048576)) /dev/urandom >"$out/large.dat"
upload_small() {   # system: SMALL objects small/s-1-<i>, UPLOAD_C at once
  local s=$1 t0 t1 ok
  awk -v n="$SMALL" -v u="$(URL "$s")/v1/AUTH_test/small" -v f="$out/small.dat" \
    'BEGIN {for (i = 1; i <= n; i++) printf "url = \"%s/s-1-%d\"\nupload-file = \"%s\"\noutput = \"/dev/null\"\n", u, i, f}' >"$out/small-$s.cfg"
  t0=$(now)
  curl -s --no-progress-meter -Z --parallel-max "$UPLOAD_C" -H "X-Auth-Token: ${TOK[$s]}" -K "$out/small-$s.cfg" -w '%{http_code}\n' >"$out/upload-small-$s.codes" || true
  t1=$(now)
  ok=$(grep -c '^201$' "$out/upload-small-$s.codes" || true)
  rec upload_small "$s" "$(awk -v n="$ok" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n/(b-a)}')" objects/s "$(sub "$t0" "$t1")" "" "$ok" "" "" "" $((SMALL - ok)) ""
  note "  $s: uploaded $ok/$SMALL x 4 KiB in $(sub "$t0" "$t1") s ($UPLOAD_C at once)"
  [ "$ok" -gt 0 ] || { echo "no small object stored on $s" >&2; exit 1; }
}
upload_large() {
  local s=$1 t0 t1 i ok=0 code
  t0=$(now)
  for i in $(seq "$LARGE"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -T "$out/large.dat" -H "X-Auth-Token: ${TOK[$s]}" "$(URL "$s")/v1/AUTH_test/large/l-$i")
    [ "$code" = 201 ] && ok=$((ok + 1))
  done
  t1=$(now)
  rec upload_large "$s" "$(awk -v n="$ok" -v m="$LARGE_MIB" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n*m/(b-a)}')" MiB/s "$(sub "$t0" "$t1")" "" "$ok" "" "" "" $((LARGE - ok)) ""
  note "  $s: uploaded $ok/$LARGE x $LARGE_MIB MiB in $(sub "$t0" "$t1") s (one at a time)"
  [ "$ok" -gt 0 ] || { echo "no large object stored on $s" >&2; exit 1; }
}

# ---- the replicators, --once on all 4 nodes at once ----
replicator_cmd() {   # system node [--once]
  if [ "$1" = swift ]; then
    echo "$VENV/bin/swift-object-replicator $SWIFT_ANCHOR/etc/object-server/$2.conf -v ${3:-}"
  else
    echo "$BIN/swiftlet-object-replicator --config $DATA/etc/object-server-$2.conf ${3:-}"
  fi
}
auditor_cmd() {   # system node; nothing if there is no auditor
  if [ "$1" = swift ]; then
    echo "$VENV/bin/swift-object-auditor $SWIFT_ANCHOR/etc/object-server/$2.conf -v"
  elif [ -x "$BIN/swiftlet-object-auditor" ]; then
    echo "$BIN/swiftlet-object-auditor --config $DATA/etc/object-server-$2.conf"
  fi
}
# rebuild workload system limits-label: wipe node 2's objects/, drop caches,
# time the 4 replicators' --once passes, count what came back -> a results row
# and R_SECS R_BEFORE R_BACK R_BYTES R_CPU
rebuild() {
  local w=$1 s=$2 lim=$3 d n pids=() t0 t1 c0 c1 rc fails=0 sent=""
  d=$(dev2 "$s")
  R_BEFORE=$(count_data "$d")
  rm -rf "$d/objects"
  dropcaches
  c0=$(ticks "$s"); t0=$(now)
  for n in 1 2 3 4; do
    (
      TIMEFORMAT='%R %U %S'
      # shellcheck disable=SC2046
      { time timeout -k 10 "$PASS_TIMEOUT" $(replicator_cmd "$s" "$n" --once) >"$out/repl-$w-$s-$n.log" 2>&1 || echo "exit status $?" >>"$out/repl-$w-$s-$n.log"; } 2>"$out/repl-$w-$s-$n.time"
    ) & pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || true; done
  t1=$(now); c1=$(ticks "$s")
  R_SECS=$(sub "$t0" "$t1")
  R_BACK=$(count_data "$d"); R_BYTES=$(bytes_data "$d")
  # CPU: the 4 replicator processes (user+sys) and the 4 object servers
  R_CPU=$(cat "$out"/repl-"$w"-"$s"-[1-4].time | awk -v t="$TCK" -v c=$((c1 - c0)) '{u+=$2+$3} END {printf "%.1f", u + c/t}')
  rc=$(cat "$out"/repl-"$w"-"$s"-[1-4].log | grep -c '^exit status' || true)
  if [ "$s" = swiftlet ]; then   # the passes' own statistics (object.recon)
    sent=$(python3 - "$DATA"/recon/[1-4]/object.recon <<'PY' 2>/dev/null || true
import json, sys
f = b = fail = 0
for p in sys.argv[1:]:
    try:
        st = json.load(open(p)).get("replication_stats", {})
    except Exception:
        continue
    f += st.get("files_sent", 0); b += st.get("bytes_sent", 0); fail += st.get("failure", 0)
print(f"{f} files / {b / 1048576:.1f} MiB sent, {fail} failures")
PY
)
  fi
  local unit value errs=$((R_BEFORE - R_BACK))
  [ "$errs" -ge 0 ] || errs=0
  if [ "$w" = "${w#rebuild_large}" ]; then
    unit=replicas/s; value=$(awk -v n="$R_BACK" -v x="$R_SECS" 'BEGIN{printf "%.1f", n/x}')
  else
    unit=MiB/s; value=$(awk -v n="$R_BACK" -v m="$LARGE_MIB" -v x="$R_SECS" 'BEGIN{printf "%.1f", n*m/x}')
  fi
  rec "$w" "$s" "$value" "$unit" "$R_SECS" "$R_BEFORE" "$R_BACK" "$R_CPU" "" "" "$errs" "$lim"
  note "  $s $w (replicator limits: $lim): $R_BACK/$R_BEFORE replicas back on node 2 ($(dev2 "$s")) in $R_SECS s = $value $unit; $(awk -v b="$R_BYTES" 'BEGIN{printf "%.1f", b/1048576}') MiB of .data on disk; CPU $R_CPU s (replicators + object servers)${sent:+; $sent}$([ "$rc" = 0 ] || echo "; $rc replicator(s) exited non-zero or timed out (see $out/repl-$w-$s-*.log)")"
}

# ---- wrk: 4 KiB GETs of the hot set ----
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.2f", v/1000}
                             else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.2f", v}
                             else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.2f", v*1000}
                             else print "nan" }'; }
HOT_N=$(( SMALL < HOT ? SMALL : HOT ))
wrkget() {   # workload system limits-label
  local w=$1 s=$2 lim=$3 o rps total p50 p99 err
  o=$(wrk -t2 -c"$C" -d"$DURATION" --timeout 10s --latency -s "$lua/get.lua" "$(URL "$s")" -- /v1/AUTH_test/small "${TOK[$s]}" s 1 "$HOT_N" GET)
  echo "$o" >"$out/$w-$s.txt"
  rps=$(awk '/^Requests\/sec/ {printf "%.1f", $2}' <<<"$o")
  total=$(awk '/requests in/ {print $1}' <<<"$o")
  p50=$(ms "$(awk '$1=="50%" {print $2}' <<<"$o")")
  p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$o")")
  err=$(awk '/Socket errors/ {for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) n+=$i} /Non-2xx/ {n+=$NF} END {print n+0}' <<<"$o")
  rec "$w" "$s" "$rps" ops/s "${DURATION%s}" "" "$total" "" "$p50" "$p99" "$err" "$lim"
  note "  $s $w: $rps GET/s p50 $p50 ms p99 $p99 ms errors $err"
}
DAEMON_PIDS=()
start_daemons() {   # system: every node's replicator and auditor, as daemons, each its own session
  local s=$1 n cmd
  DAEMON_PIDS=()
  for n in 1 2 3 4; do
    # shellcheck disable=SC2046
    setsid $(replicator_cmd "$s" "$n") >"$out/daemon-replicator-$s-$n.log" 2>&1 & DAEMON_PIDS+=($!)
    cmd=$(auditor_cmd "$s" "$n")
    if [ -n "$cmd" ]; then
      # shellcheck disable=SC2086
      setsid $cmd >"$out/daemon-auditor-$s-$n.log" 2>&1 & DAEMON_PIDS+=($!)
    fi
  done
  BG+=("${DAEMON_PIDS[@]}")
}
stop_daemons() {
  stopbg "${DAEMON_PIDS[@]}"
  local keep=() p q
  for p in "${BG[@]}"; do for q in "${DAEMON_PIDS[@]}"; do [ "$p" = "$q" ] && continue 2; done; keep+=("$p"); done
  BG=("${keep[@]}")
  DAEMON_PIDS=()
}

# ================= small objects =================
note "small: $SMALL x 4 KiB per system; node 2's device wiped, replicators --once on all 4 nodes (load $(loadavg))"
declare -A WHOLE   # replicas node 2 holds when whole (counted after the upload)
for s in $SYSTEMS; do
  wipe_all "$s"
  upload_small "$s"
  WHOLE[$s]=$(count_data "$(dev2 "$s")")
  if [ "$s" = swift ]; then
    rebuild rebuild_small swift "ssync, concurrency $SWIFT_CONCURRENCY"
  else
    swiftlet_limits off
    rebuild rebuild_small swiftlet "off (files_per_second = 0, bytes_per_second = 0)"
    if [ "$DEFAULT_RUN" = 1 ]; then
      swiftlet_limits default
      rebuild rebuild_small_default swiftlet "default ($LIMITS_DEFAULT)"
    fi
  fi
done

# ================= foreground impact =================
if [ -n "$IMPACT" ]; then
  note "impact: wrk -t2 -c$C -d$DURATION GETs of $HOT_N hot 4 KiB objects, idle, then with node 2 wiped and every node's replicator and auditor running at default rates (load $(loadavg))"
  for s in $IMPACT; do
    if [ "$s" = swiftlet ]; then
      swiftlet_limits default
      [ -x "$BIN/swiftlet-object-auditor" ] || note "  swiftlet: no $BIN/swiftlet-object-auditor: only the replicators run"
    fi
    d=$(dev2 "$s"); whole=${WHOLE[$s]}; have=$(count_data "$d")
    [ "$have" -ge "$whole" ] || note "  WARNING: $s: node 2 holds only $have/$whole replicas before the idle run (the small rebuild left it incomplete)"
    wrk -t2 -c"$C" -d"$WARM" -s "$lua/get.lua" "$(URL "$s")" -- /v1/AUTH_test/small "${TOK[$s]}" s 1 "$HOT_N" GET >"$out/warm-$s.txt"
    wrkget get4k_idle "$s" "idle: no daemon"
    rm -rf "$d/objects"
    start_daemons "$s"
    sleep 0.5
    wrkget get4k_rebuild "$s" "daemons at default rates, node 2 rebuilding ($(echo "${#DAEMON_PIDS[@]}") daemons)"
    note "  $s: node 2 holds $(count_data "$d")/$whole replicas after the loaded run"
    if [ "$s" = swiftlet ] && [ "$STEADY_WAIT" -gt 0 ]; then
      t0=$(now)
      while [ "$(count_data "$d")" -lt "$whole" ] && [ "$(awk -v a="$t0" -v b="$(now)" -v m="$STEADY_WAIT" 'BEGIN{print (b-a < m)}')" = 1 ]; do sleep 0.5; done
      have=$(count_data "$d")
      if [ "$have" -ge "$whole" ]; then note "  $s: node 2 whole again ($have/$whole) $(sub "$t0" "$(now)") s after the loaded run; daemons still running"
      else note "  WARNING: $s: node 2 holds only $have/$whole replicas $STEADY_WAIT s after the loaded run; the steady run goes on all the same"; fi
      wrkget get4k_steady "$s" "daemons at default rates, nothing to rebuild"
    fi
    stop_daemons
  done
fi

# ================= large objects =================
note "large: $LARGE x $LARGE_MIB MiB per system, every device emptied first (load $(loadavg))"
for s in $SYSTEMS; do wipe_all "$s"; done
for s in $SYSTEMS; do
  upload_large "$s"
  if [ "$s" = swift ]; then
    rebuild rebuild_large swift "ssync, concurrency $SWIFT_CONCURRENCY"
  else
    swiftlet_limits off
    rebuild rebuild_large swiftlet "off (files_per_second = 0, bytes_per_second = 0)"
    if [ "$DEFAULT_RUN" = 1 ]; then
      swiftlet_limits default
      rebuild rebuild_large_default swiftlet "default ($LIMITS_DEFAULT)"
    fi
  fi
  wipe_all "$s"
done

# ---- crashes? ----
grep -iE 'exited|died|restart|panick' "$out/aio.log" >>"$out/notes.txt" 2>/dev/null || true
grep -il 'panicked' "$out"/repl-*.log "$out"/daemon-*.log 2>/dev/null | sed 's/^/WARNING: panic in /' | tee -a "$out/notes.txt" >&2 || true

# ---- table ----
set +e; trap - ERR
cp "$RES" "$here/bench/results/replication-$stamp.tsv"
T1=$(date +%s)
note "end $(date -u +%FT%TZ); load average $(loadavg); $((T1 - T0)) s"
get() { awk -F'\t' -v w="$1" -v s="$2" -v c="$3" 'NR==1 {for (i=1;i<=NF;i++) h[$i]=i; next} $1==w && $2==s {print $h[c]}' "$RES"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0 || a == "") print "n/a"; else printf "%.2f", a/b}'; }
pctof() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0 || a == "") print "n/a"; else printf "%.0f%%", 100*a/b}'; }
cell() {   # workload system: "value unit (seconds s, back/before)"
  local v; v=$(get "$1" "$2" value)
  [ -n "$v" ] || { echo "—"; return; }
  echo "$v $(get "$1" "$2" unit) ($(get "$1" "$2" seconds) s, $(get "$1" "$2" after)/$(get "$1" "$2" before) back, CPU $(get "$1" "$2" cpu_s) s)"
}
yn() { awk -v c="$1" 'BEGIN{print (c == 1) ? "met" : (c == 0 ? "missed" : "n/a")}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{if (a == "" || b == "" || a == "n/a" || b == "n/a") print "n/a"; else print (a+0 >= b+0) ? 1 : 0}'; }
{
echo "# replication benchmark $(date -u +%FT%TZ), $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/^Mem/ {print $2}') GiB"
echo
echo "swiftlet $RB_REV ($(basename "$BIN") binaries; swiftlet-aio --no-daemons, 4 object servers); Swift $SWIFT_VERSION SAIO (PROFILE=core). 4 nodes, 3 replicas, part power 10, both on $FS."
echo "Node 2's device wiped (objects/ removed), page cache dropped, then the object replicator run with --once on all 4 nodes at once; time until all four exit; replicas = .data files back on node 2."
echo "**swiftlet's replicator ran with its rate limits off** (files_per_second = 0, bytes_per_second = 0) on the main rows; the *default limits* rows use the sample config's ($LIMITS_DEFAULT). Swift: sync_method = ssync, concurrency = $SWIFT_CONCURRENCY (no rate limit of its own)."
echo "Load average: $(head -1 "$out/notes.txt" | sed -E 's/.*load average ([0-9. ]+);.*/\1/') at the start, $(loadavg) at the end. Run time $((T1 - T0)) s.${RB_STALE:+ WARNING: $RB_STALE}"
echo
echo "| workload | swiftlet | Swift | swiftlet/Swift | ceiling | % of ceiling (swiftlet; Swift) |"
echo "|---|---|---|---|---|---|"
echo "| upload $SMALL × 4 KiB | $(get upload_small swiftlet value) objects/s | $(get upload_small swift value) objects/s | $(ratio "$(get upload_small swiftlet value)" "$(get upload_small swift value)")× | | |"
echo "| rebuild $SMALL × 4 KiB, limits off | $(cell rebuild_small swiftlet) | $(cell rebuild_small swift) | **$(ratio "$(get rebuild_small swiftlet value)" "$(get rebuild_small swift value)")×** | 4 KiB create+fsync: $CS32 files/s (32 threads), $CS4 (4 threads) | $(pctof "$(get rebuild_small swiftlet value)" "$CS32"), $(pctof "$(get rebuild_small swiftlet value)" "$CS4") of 4 threads; $(pctof "$(get rebuild_small swift value)" "$CS32") |"
[ -z "$(get rebuild_small_default swiftlet value)" ] ||
echo "| rebuild $SMALL × 4 KiB, swiftlet at default limits | $(cell rebuild_small_default swiftlet) | $(cell rebuild_small swift) | $(ratio "$(get rebuild_small_default swiftlet value)" "$(get rebuild_small swift value)")× | $CS32 files/s | $(pctof "$(get rebuild_small_default swiftlet value)" "$CS32") |"
echo "| upload $LARGE × $LARGE_MIB MiB | $(get upload_large swiftlet value) MiB/s | $(get upload_large swift value) MiB/s | $(ratio "$(get upload_large swiftlet value)" "$(get upload_large swift value)")× | | |"
echo "| rebuild $LARGE × $LARGE_MIB MiB, limits off | $(cell rebuild_large swiftlet) | $(cell rebuild_large swift) | **$(ratio "$(get rebuild_large swiftlet value)" "$(get rebuild_large swift value)")×** | 256 MiB write+fsync: $CBW MiB/s | **$(pctof "$(get rebuild_large swiftlet value)" "$CBW")**; $(pctof "$(get rebuild_large swift value)" "$CBW") |"
[ -z "$(get rebuild_large_default swiftlet value)" ] ||
echo "| rebuild $LARGE × $LARGE_MIB MiB, swiftlet at default limits | $(cell rebuild_large_default swiftlet) | $(cell rebuild_large swift) | $(ratio "$(get rebuild_large_default swiftlet value)" "$(get rebuild_large swift value)")× | $CBW MiB/s | $(pctof "$(get rebuild_large_default swiftlet value)" "$CBW") |"
for w in get4k_idle get4k_rebuild get4k_steady; do
  [ -n "$(get $w swiftlet value)$(get $w swift value)" ] || continue
  case $w in get4k_idle) what="idle cluster";; get4k_rebuild) what="node 2 wiped, replicators + auditors at default rates";; *) what="replicators + auditors running, node 2 whole again";; esac
  gc() { local v; v=$(get "$1" "$2" p99_ms); [ -n "$v" ] && echo "p99 $v ms (p50 $(get "$1" "$2" p50_ms), $(get "$1" "$2" value) GET/s, errors $(get "$1" "$2" errors))" || echo "—"; }
  echo "| 4 KiB GET, $what | $(gc $w swiftlet) | $(gc $w swift) | p99 $(ratio "$(get $w swiftlet p99_ms)" "$(get $w swift p99_ms)")× | p99 / idle p99: | $(ratio "$(get $w swiftlet p99_ms)" "$(get get4k_idle swiftlet p99_ms)")×; $(ratio "$(get $w swift p99_ms)" "$(get get4k_idle swift p99_ms)")× |"
done
echo
echo "| goal | measured | |"
echo "|---|---|---|"
r=$(ratio "$(get rebuild_small swiftlet value)" "$(get rebuild_small swift value)")
echo "| rebuild 4 KiB ≥ 10× Swift's replicas/s (limits off) | ${r}× | $(yn "$(ge "$r" 10)") |"
[ -z "$(get rebuild_small_default swiftlet value)" ] || { r=$(ratio "$(get rebuild_small_default swiftlet value)" "$(get rebuild_small swift value)")
echo "| the same at swiftlet's default limits | ${r}× | $(yn "$(ge "$r" 10)") |"; }
p=$(awk -v a="$(get rebuild_large swiftlet value)" -v b="$CBW" 'BEGIN{if (a == "" || b+0 == 0) print "n/a"; else printf "%.0f", 100*a/b}')
echo "| rebuild $LARGE_MIB MiB ≥ 80% of the write+fsync ceiling ($CBW MiB/s; limits off) | ${p}% | $(yn "$(ge "$p" 80)") |"
r=$(ratio "$(get get4k_rebuild swiftlet p99_ms)" "$(get get4k_idle swiftlet p99_ms)")
echo "| 4 KiB GET p99 with replicator + auditor at default rates ≤ 1.5× idle | ${r}× ($(get get4k_rebuild swiftlet p99_ms) ms vs $(get get4k_idle swiftlet p99_ms) ms)$([ -x "$BIN/swiftlet-object-auditor" ] || echo ', replicators only: no swiftlet-object-auditor') | $(yn "$(ge 1.5 "$r")") |"
r=$(ratio "$(get get4k_steady swiftlet p99_ms)" "$(get get4k_idle swiftlet p99_ms)")
[ -z "$(get get4k_steady swiftlet p99_ms)" ] || echo "| the same once node 2 is whole again | ${r}× | $(yn "$(ge 1.5 "$r")") |"
echo
echo "(rebuild cells: rate (seconds until all 4 replicators exited, .data replicas back/held on node 2 before the wipe, CPU seconds of the 4 replicators + the 4 object servers). Ceiling % of the 4 KiB rebuild: replicas/s against create+fsync files/s, each replica being one such file on node 2.)"
} | tee "$out/table.md"
cp "$out/table.md" "$here/bench/results/replication-$stamp.md"
cp "$out/notes.txt" "$here/bench/results/replication-$stamp.notes.txt"
echo "results: $here/bench/results/replication-$stamp.{tsv,md}; raw output: $out" >&2
