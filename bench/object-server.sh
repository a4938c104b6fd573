#!/usr/bin/env bash
# Object server benchmark (issue 4): swiftlet-object-server and OpenStack
# Swift's object server (2.38.3, ../shared/anchors/swift) side by side in one
# run, on the same machine and the same filesystem, with direct backend
# requests (/{device}/{partition}/{account}/{container}/{object}, X-Timestamp,
# no X-Container-* headers, so neither server sends container updates):
#
#   * 4 KiB PUT (unique names) and GET (of objects written by the PUT run,
#     after a short unmeasured warm-up) under `wrk -t2 -c32`, D seconds each
#   * 256 MiB PUT and GET with curl, one stream, REPS_BIG times (medians)
#   * server CPU seconds per operation from /proc/<pid>/stat utime+stime of
#     the server processes (Swift: the parent and its workers)
#   * the ceilings on the same filesystem: create+write+fsetxattr+fsync+rename
#     of 4 KiB files with directory fsyncs (`diskbench ... swift`), write+fsync
#     of 256 MiB files, reads of a 256 MiB file (page cache and O_DIRECT), and
#     MD5 speed (`md5bench`), from ../shared/anchors/limits
#
#   bash bench/object-server.sh    # WORKERS=2 C=32 D=10 REPS_BIG=3 STORAGE=xfs SRC=head
#
# SRC=head (default) builds a snapshot of the committed HEAD (git archive into
# /var/tmp/swiftlet-bench/src-<commit>, target folder /var/tmp/swiftlet-bench/
# target), so that edits in progress in the shared tree neither break the
# build nor end up in the figures; SRC=tree builds the working tree.
#
# STORAGE=xfs (default): both servers' devices live on one XFS filesystem in
# a loop-mounted sparse image made for this run (Swift's recommended FS, as
# in the anchor's saio-up.sh); STORAGE=dir: plain folders on the root
# filesystem. Scratch, logs and raw output: /var/tmp/swiftlet-bench/
# object-server-<time>/ (the image and the object data are removed at the
# end; logs and wrk/curl output are kept). Prints a markdown table.
#
# PIN=1 runs each server on CPU 1 only and the load tools (wrk, curl) on CPU
# 0 only (taskset): each server then has one whole core and does not share it
# with the client, so ops/s measure the servers, not how the kernel splits
# two cores between a server and wrk. The ceilings are measured unpinned.
#
# Like the anchors, the measuring part runs at nice -20 (NICE=0 to disable)
# because the machine is shared; the build runs at nice 10.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
WORKERS=${WORKERS:-2}
C=${C:-32}
D=${D:-10}
WARM=${WARM:-3}
REPS_BIG=${REPS_BIG:-3}
STORAGE=${STORAGE:-xfs}
GETSET=${GETSET:-2500}   # at most this many objects per wrk thread in the GET set
MD5_MIB=${MD5_MIB:-1024}
SWIFT_ANCHOR=${SWIFT_ANCHOR:-/var/tmp/swift-anchor}
VENV=$SWIFT_ANCHOR/venv
RS=/var/tmp/swift-limits/rs/target/release
SRC=${SRC:-head}         # head: build a snapshot of the committed HEAD; tree: build the working tree
PIN=${PIN:-0}            # 1: servers on CPU 1, load tools on CPU 0
if [ "$PIN" = 1 ]; then SRV=(taskset -c 1); CLI=(taskset -c 0); else SRV=(); CLI=(); fi

if [ "${OSB_STAGE:-}" != measure ]; then
  # ---- set-up (normal priority) ----
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  [ "$STORAGE" != xfs ] || command -v mkfs.xfs >/dev/null || apt-get install -y -qq xfsprogs >/dev/null
  [ -x "$VENV/bin/swift-object-server" ] || bash "$shared/anchors/swift/install.sh" >&2
  [ -x "$RS/diskbench" ] && [ -x "$RS/md5bench-soft" ] && [ -x "$RS/md5bench-asm" ] ||
    bash "$shared/anchors/limits/build.sh" >&2
  if [ "$SRC" = head ]; then
    # a snapshot of the committed HEAD, so that edits in progress in the tree
    # neither break the build nor end up in the figures; own target folder
    rev=$(git -C "$here" rev-parse HEAD)
    snap=/var/tmp/swiftlet-bench/src-$rev
    if [ ! -f "$snap/Cargo.toml" ]; then
      rm -rf "$snap.tmp"; mkdir -p "$snap.tmp"
      git -C "$here" archive "$rev" | tar -x -C "$snap.tmp"
      mv "$snap.tmp" "$snap"
    fi
    export OSB_SRC_DIR=$snap OSB_REV="${rev:0:7} (committed HEAD)"
    export CARGO_TARGET_DIR=/var/tmp/swiftlet-bench/target
  else
    export OSB_SRC_DIR=$here OSB_REV="$(git -C "$here" rev-parse --short HEAD) + the working tree as it was"
  fi
  echo "building swiftlet-object-server (release) in $OSB_SRC_DIR" >&2
  (cd "$OSB_SRC_DIR" && nice -n 10 cargo build --release -q -p swiftlet-object-server)
  export OSB_BIN=${CARGO_TARGET_DIR:-$here/target}/release/swiftlet-object-server
  export OSB_STAGE=measure
  if [ "${NICE:-1}" != 0 ] && [ "$(id -u)" = 0 ]; then exec nice -n -20 bash "$0" "$@"; fi
  exec bash "$0" "$@"
fi

out=/var/tmp/swiftlet-bench/object-server-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"/etc
M=$out/mnt
IMG=/var/tmp/swiftlet-bench/object-server-$$.xfs
TCK=$(getconf CLK_TCK)
note() { echo "$*" | tee -a "$out/notes.txt" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

P_SWIFT= P_OURS=
cleanup() {
  set +e
  for p in $P_SWIFT $P_OURS; do kill -TERM "$p" 2>/dev/null; done
  for p in $P_SWIFT $P_OURS; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null
  done
  if mountpoint -q "$M"; then umount "$M" || umount -l "$M"; fi
  rm -f "$IMG"
  rm -rf "$M"
}
trap cleanup EXIT
trap 'echo "object-server.sh: failed at line $LINENO" >&2' ERR

# ---- one filesystem for both servers and for the disk ceilings ----
mkdir -p "$M"
if [ "$STORAGE" = xfs ]; then
  truncate -s 16G "$IMG"
  mkfs.xfs -q -f "$IMG"
  mount -o loop,noatime "$IMG" "$M"
  FS="XFS on a loop-mounted sparse image (mount -o loop,noatime) on the root ext4 (nojournal) of /dev/vda"
else
  FS="$(findmnt -no FSTYPE -T "$M") (plain folders on $(findmnt -no SOURCE -T "$M"))"
fi
note "filesystem: $FS; workers=$WORKERS for both servers; load before: $(loadavg)"
mkdir -p "$M/swift/sdb1" "$M/swiftlet/sdb1" "$M/ceil"

# ---- ceilings (nothing else of ours running) ----
num() { sed -E "s#.* ([0-9.]+) $1.*#\1#"; }
lat() { sed -E "s/.*$1=([0-9.]+)ms.*/\1/"; }
ceil_small() { # threads count -> "files/s p50 p99"
  local o; o=$("$RS/diskbench" "$M/ceil/small-t$1" 4096 "$2" "$1" swift)
  echo "# $o" >>"$out/ceilings.txt"
  echo "$(num 'files/s' <<<"$o") $(lat p50 <<<"$o") $(lat p99 <<<"$o")"
}
read -r CS1 CS1_50 CS1_99 < <(ceil_small 1 2000)
read -r CS4 CS4_50 CS4_99 < <(ceil_small 4 750)
read -r CS32 CS32_50 CS32_99 < <(ceil_small 32 100)
o=$("$RS/diskbench" "$M/ceil/big" 268435456 3 1 fsync); echo "# $o" >>"$out/ceilings.txt"
CBW=$(num 'MiB/s' <<<"$o")
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'; }
bigf=$(ls "$M"/ceil/big/objects/* | head -1)
cat "$bigf" >/dev/null
CBR_CACHE=$(awk -v s="$(secs dd if="$bigf" of=/dev/null bs=1M)" 'BEGIN{printf "%.0f", 256/s}')
CBR_DIRECT=$(awk -v s="$(secs dd if="$bigf" of=/dev/null bs=1M iflag=direct)" 'BEGIN{printf "%.0f", 256/s}')
"$RS/md5bench-soft" "$MD5_MIB" 65536 >>"$out/ceilings.txt"
"$RS/md5bench-asm" "$MD5_MIB" 65536 >>"$out/ceilings.txt"
md5() { grep -m1 "^md-5 0.10.6 $1" "$out/ceilings.txt" | sed -E "s#.*chunk= *[0-9]+ +([0-9.]+) MiB/s +cpu-time-based +([0-9.]+) MiB/s.*#\\$2#"; }
MD5_SOFT=$(md5 '(soft)' 1); MD5_SOFT_CPU=$(md5 '(soft)' 2)
MD5_ASM=$(md5 '+asm' 1); MD5_ASM_CPU=$(md5 '+asm' 2)
rm -rf "$M/ceil"; sync
note "ceilings: small swift-like t1=$CS1 t4=$CS4 t32=$CS32 files/s; 256MiB write+fsync $CBW MiB/s; read page cache $CBR_CACHE, O_DIRECT $CBR_DIRECT MiB/s; md5 0.10.6 soft $MD5_SOFT ($MD5_SOFT_CPU cpu) asm $MD5_ASM ($MD5_ASM_CPU cpu) MiB/s"

# ---- the two servers ----
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT_SWIFT=$(freeport); PORT_OURS=$(freeport)
while [ "$PORT_OURS" = "$PORT_SWIFT" ]; do PORT_OURS=$(freeport); done
cat >"$out/etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_prefix = benchprefix
swift_hash_path_suffix = benchsuffix

[storage-policy:0]
name = gold
default = yes
EOF
cat >"$out/etc/swift-object-server.conf" <<EOF
[DEFAULT]
devices = $M/swift
mount_check = false
bind_ip = 127.0.0.1
bind_port = $PORT_SWIFT
workers = $WORKERS
user = root
swift_dir = $out/etc
log_name = object-server
eventlet_debug = false

[pipeline:main]
pipeline = object-server

[app:object-server]
use = egg:swift#object
EOF
{ cat "$OSB_SRC_DIR/etc/object-server.conf-sample"; cat <<EOF

[app:object-server]
bind_ip = 127.0.0.1
bind_port = $PORT_OURS
workers = $WORKERS
devices = $M/swiftlet
mount_check = false
swift_dir = $out/etc
EOF
} >"$out/etc/swiftlet-object-server.conf"

"${SRV[@]}" "$VENV/bin/swift-object-server" "$out/etc/swift-object-server.conf" -v >"$out/swift.log" 2>&1 &
P_SWIFT=$!
"${SRV[@]}" "$OSB_BIN" --config "$out/etc/swiftlet-object-server.conf" >"$out/swiftlet.log" 2>"$out/swiftlet.err" &
P_OURS=$!
up() { for _ in $(seq 150); do
         [ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$1/sdb1/0/a/c/probe")" = 404 ] && return 0
         sleep 0.2; done; return 1; }
up "$PORT_SWIFT" || { echo "Swift's object server did not come up: $(tail -5 "$out/swift.log")" >&2; exit 1; }
up "$PORT_OURS" || { echo "swiftlet did not come up: $(tail -5 "$out/swiftlet.err")" >&2; exit 1; }
sleep 1
pids() { if [ "$1" = swift ]; then echo "$P_SWIFT $(pgrep -P "$P_SWIFT" | tr '\n' ' ')"; else echo "$P_OURS"; fi; }
ticks() { local t=0 p; for p in $(pids "$1"); do
            t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
port() { if [ "$1" = swift ]; then echo "$PORT_SWIFT"; else echo "$PORT_OURS"; fi; }
note "swift object server pids: $(pids swift)(port $PORT_SWIFT); swiftlet pid: $P_OURS (port $PORT_OURS)"

# ---- wrk scripts ----
cat >"$out/put.lua" <<'EOF'
-- PUT 4 KiB bodies to unique names {prefix}-{thread}-{n}; partition from the name
local threads, seq = {}, 0
function setup(thread)
  seq = seq + 1
  thread:set("tid", seq)
  table.insert(threads, thread)
end
function init(args)
  dev, prefix = args[1], args[2]
  body = string.rep("x", 4096)
  n = 0
  base = os.time()
end
function request()
  local i = n
  n = n + 1
  local part = (tid * 7919 + i) % 1024
  local hdrs = { ["Host"] = "127.0.0.1", ["Content-Type"] = "application/octet-stream",
                 ["X-Timestamp"] = string.format("%d.%05d", base, i % 100000) }
  return wrk.format("PUT", "/" .. dev .. "/" .. part .. "/AUTH_bench/c/" .. prefix .. "-" .. tid .. "-" .. i, hdrs, body)
end
function done(summary, latency, requests)
  local m
  for _, t in ipairs(threads) do
    local c = t:get("n")
    if m == nil or c < m then m = c end
  end
  io.write(string.format("THREADS %d MINCOUNT %d\n", #threads, m))
end
EOF
cat >"$out/get.lua" <<'EOF'
-- GET random objects among {prefix}-{1..T}-{4..N-1} (wrk drops the very
-- first request built by thread 1, so {prefix}-1-0 was never sent)
function init(args)
  dev, prefix, T, N = args[1], args[2], tonumber(args[3]), tonumber(args[4])
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  hdrs = { ["Host"] = "127.0.0.1" }
end
function request()
  local t, i = math.random(1, T), math.random(4, N - 1)
  local part = (t * 7919 + i) % 1024
  return wrk.format("GET", "/" .. dev .. "/" .. part .. "/AUTH_bench/c/" .. prefix .. "-" .. t .. "-" .. i, hdrs)
end
EOF

ms() { # wrk latency value (e.g. 812.00us, 3.2ms, 1.1s) -> ms
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.2f", v/1000}
                        else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.2f", v}
                        else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.2f", v*1000}
                        else print "nan" }'; }
# wrkrun server kind(put|get) args... -> writes $out/<server>-<kind>.{txt,row}
wrkrun() {
  local s=$1 kind=$2; shift 2
  local c0 c1 o rps total p50 p99 sockerr non2xx cpu
  c0=$(ticks "$s")
  o=$("${CLI[@]}" wrk -t2 -c"$C" -d"${D}s" --timeout 10s --latency -s "$out/$kind.lua" "http://127.0.0.1:$(port "$s")" -- "$@")
  c1=$(ticks "$s")
  echo "$o" >"$out/$s-$kind.txt"
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$o")
  total=$(awk '/requests in/ {print $1}' <<<"$o")
  p50=$(ms "$(awk '$1=="50%" {print $2}' <<<"$o")")
  p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$o")")
  sockerr=$(grep 'Socket errors' <<<"$o" | grep -oE '[0-9]+' | awk '{n+=$1} END {print n+0}' || true)
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$o"); non2xx=${non2xx:-0}
  cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v n="$total" 'BEGIN{printf "%.0f", (b-a)/t/n*1e6}')
  echo "$rps $p50 $p99 $((sockerr + non2xx)) $cpu $total $(loadavg | cut -d' ' -f1)" >"$out/$s-$kind.row"
}

# ---- 4 KiB PUT, then GET of what was written (servers in turn) ----
for s in swift swiftlet; do
  wrkrun "$s" put sdb1 p
  grep -q MINCOUNT "$out/$s-put.txt" || { echo "no MINCOUNT from the PUT run of $s" >&2; exit 1; }
done
for s in swift swiftlet; do
  T=$(sed -nE 's/^THREADS ([0-9]+) MINCOUNT.*/\1/p' "$out/$s-put.txt")
  N=$(sed -nE 's/.*MINCOUNT ([0-9]+).*/\1/p' "$out/$s-put.txt")
  N=$((N - C)); [ "$N" -le "$GETSET" ] || N=$GETSET   # the last C may not have completed
  [ "$N" -gt 100 ] || { echo "too few objects written by the PUT run of $s" >&2; exit 1; }
  echo "$s GET set: $T threads x $N objects" >>"$out/notes.txt"
  # unmeasured warm-up: Swift drops the page cache of every object it PUTs
  "${CLI[@]}" wrk -t2 -c"$C" -d"${WARM}s" -s "$out/get.lua" "http://127.0.0.1:$(port "$s")" -- sdb1 p "$T" "$N" >/dev/null
  wrkrun "$s" get sdb1 p "$T" "$N"
done

# ---- 256 MiB PUT and GET, one stream, REPS_BIG times, servers alternating ----
BIG=$out/big256
head -c 268435456 /dev/urandom >"$BIG"
cat "$BIG" >/dev/null
for r in $(seq "$REPS_BIG"); do
  for s in swift swiftlet; do
    c0=$(ticks "$s")
    o=$("${CLI[@]}" curl -s -o /dev/null -T "$BIG" -w '%{http_code} %{time_total}' \
          -H "X-Timestamp: $(date +%s.%5N)" -H 'Content-Type: application/octet-stream' \
          "http://127.0.0.1:$(port "$s")/sdb1/$((100 + r))/AUTH_bench/c/big-$r")
    c1=$(ticks "$s")
    set -- $o
    echo "$s put $r $1 $(awk -v t="$2" 'BEGIN{printf "%.1f", 256/t}') $(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN{printf "%.3f", (b-a)/t}') $(loadavg | cut -d' ' -f1)" >>"$out/big.txt"
  done
  for s in swift swiftlet; do
    c0=$(ticks "$s")
    o=$("${CLI[@]}" curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}' \
          "http://127.0.0.1:$(port "$s")/sdb1/$((100 + r))/AUTH_bench/c/big-$r")
    c1=$(ticks "$s")
    set -- $o
    code=$1; [ "$3" = 268435456 ] || code="$1/short:$3"
    echo "$s get $r $code $(awk -v t="$2" 'BEGIN{printf "%.1f", 256/t}') $(awk -v a="$c0" -v b="$c1" -v t="$TCK" 'BEGIN{printf "%.3f", (b-a)/t}') $(loadavg | cut -d' ' -f1)" >>"$out/big.txt"
  done
done
rm -f "$BIG"
LOAD_END=$(loadavg)

# ---- table ----
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
row() { cat "$out/$1-$2.row"; }
f() { awk -v c="$2" '{print $c}' <<<"$1"; }
big() { awk -v s="$1" -v k="$2" -v c="$3" '$1==s && $2==k {print $c}' "$out/big.txt"; }
bigerr() { awk -v s="$1" -v k="$2" '$1==s && $2==k && $4 !~ /^20[01]$/ {n++} END {print n+0}' "$out/big.txt"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0) print "n/a"; else printf "%.2f", a/b}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0) print "n/a"; else printf "%.0f%%", 100*a/b}'; }
sp=$(row swiftlet put); wp=$(row swift put); sg=$(row swiftlet get); wg=$(row swift get)
SBP=$(big swiftlet put 5 | median); WBP=$(big swift put 5 | median)
SBG=$(big swiftlet get 5 | median); WBG=$(big swift get 5 | median)
SBPC=$(big swiftlet put 6 | median); WBPC=$(big swift put 6 | median)
SBGC=$(big swiftlet get 6 | median); WBGC=$(big swift get 6 | median)
MIN_PUT=$(awk -v a="$MD5_SOFT" -v b="$CBW" 'BEGIN{print (a<b)?a:b}')
MIN_GET=$(awk -v a="$MD5_SOFT" -v b="$CBR_CACHE" 'BEGIN{print (a<b)?a:b}')
{
echo "# object server benchmark $(date -u +%FT%TZ), $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "Filesystem: $FS. workers = $WORKERS for both servers; wrk -t2 -c$C -d${D}s; 256 MiB: curl, one stream, medians of $REPS_BIG.$([ "$PIN" = 1 ] && echo " PIN=1: servers on CPU 1, wrk and curl on CPU 0.")"
echo "Swift $("$VENV/bin/python" -c 'import swift; print(swift.__version__)'); swiftlet $OSB_REV. Load average: before $(head -1 "$out/notes.txt" | sed -E 's/.*load before: //'), end $LOAD_END."
echo
echo "| test | swiftlet | Swift | swiftlet/Swift | p50 / p99 ms (swiftlet; Swift) | errors (swiftlet; Swift) | server CPU per op (swiftlet; Swift) |"
echo "|---|---|---|---|---|---|---|"
echo "| 4 KiB PUT, c$C | $(f "$sp" 1) ops/s | $(f "$wp" 1) ops/s | **$(ratio "$(f "$sp" 1)" "$(f "$wp" 1)")×** | $(f "$sp" 2) / $(f "$sp" 3); $(f "$wp" 2) / $(f "$wp" 3) | $(f "$sp" 4); $(f "$wp" 4) | $(f "$sp" 5) µs; $(f "$wp" 5) µs ($(ratio "$(f "$wp" 5)" "$(f "$sp" 5)")× less) |"
echo "| 4 KiB GET, c$C | $(f "$sg" 1) ops/s | $(f "$wg" 1) ops/s | **$(ratio "$(f "$sg" 1)" "$(f "$wg" 1)")×** | $(f "$sg" 2) / $(f "$sg" 3); $(f "$wg" 2) / $(f "$wg" 3) | $(f "$sg" 4); $(f "$wg" 4) | $(f "$sg" 5) µs; $(f "$wg" 5) µs ($(ratio "$(f "$wg" 5)" "$(f "$sg" 5)")× less) |"
echo "| 256 MiB PUT | $SBP MiB/s | $WBP MiB/s | **$(ratio "$SBP" "$WBP")×** | | $(bigerr swiftlet put); $(bigerr swift put) | $SBPC s; $WBPC s |"
echo "| 256 MiB GET | $SBG MiB/s | $WBG MiB/s | **$(ratio "$SBG" "$WBG")×** | | $(bigerr swiftlet get); $(bigerr swift get) | $SBGC s; $WBGC s |"
echo
echo "256 MiB runs (server op rep status MiB/s cpu_s load1): $(tr '\n' ';' <"$out/big.txt" | sed 's/;$//; s/;/; /g')"
echo
echo "| ceiling (same filesystem) | value |"
echo "|---|---|"
echo "| 4 KiB create+write+fsetxattr+fsync+rename+dir fsyncs (diskbench swift), 1 / 4 / 32 threads | $CS1 / $CS4 / $CS32 files/s (p50 $CS1_50 / $CS4_50 / $CS32_50 ms) |"
echo "| 256 MiB write + fsync + rename (diskbench fsync) | $CBW MiB/s |"
echo "| 256 MiB read: page cache / O_DIRECT (dd bs=1M) | $CBR_CACHE / $CBR_DIRECT MiB/s |"
echo "| MD5 one core, md-5 0.10.6 soft (swiftlet's) / asm: wall (thread-CPU based) | $MD5_SOFT ($MD5_SOFT_CPU) / $MD5_ASM ($MD5_ASM_CPU) MiB/s |"
echo
echo "| goal | measured | met? |"
echo "|---|---|---|"
echo "| small GET ≥ 20× Swift's | $(ratio "$(f "$sg" 1)" "$(f "$wg" 1)")× | $(awk -v a="$(f "$sg" 1)" -v b="$(f "$wg" 1)" 'BEGIN{print (a>=20*b)?"yes":"no"}') |"
echo "| small PUT ≥ 80% of create+fsync+rename as disk.sh measures it (1 and 4 threads; and 32, the load's concurrency) | $(pct "$(f "$sp" 1)" "$CS1"); $(pct "$(f "$sp" 1)" "$CS4"); $(pct "$(f "$sp" 1)" "$CS32") | $(awk -v a="$(f "$sp" 1)" -v b="$CS4" 'BEGIN{print (a>=0.8*b)?"yes":"no"}') vs disk.sh's (4 threads); $(awk -v a="$(f "$sp" 1)" -v b="$CS32" 'BEGIN{print (a>=0.8*b)?"yes":"no"}') vs 32 threads |"
echo "| large PUT ≥ 80% of min(MD5, write+fsync) = $MIN_PUT MiB/s | $(pct "$SBP" "$MIN_PUT") | $(awk -v a="$SBP" -v b="$MIN_PUT" 'BEGIN{print (a>=0.8*b)?"yes":"no"}') |"
echo "| large GET ≥ 80% of min(MD5, page-cache read) = $MIN_GET MiB/s | $(pct "$SBG" "$MIN_GET") | $(awk -v a="$SBG" -v b="$MIN_GET" 'BEGIN{print (a>=0.8*b)?"yes":"no"}') |"
} | tee "$out/table.md"
echo "raw output: $out" >&2
