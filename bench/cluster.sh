#!/usr/bin/env bash
# Cluster benchmark (issue 8): a swiftlet-aio cluster and a real OpenStack
# Swift cluster (../shared/anchors/swift/saio-up.sh, PROFILE=core
# WORKERS=auto EVENTLET_DEBUG=false) side by side in one run, both with 4
# nodes and 3 replicas on the same XFS filesystem (swiftlet's --data folder
# lives inside the XFS image saio-up.sh mounts), the same workloads through
# each proxy with the same tools:
#
#   put4k   4 KiB PUT, unique names, wrk -t2 -c32 (bench/cluster/put.lua)
#   get4k   4 KiB GET of objects the PUT run wrote, after an unmeasured
#           warm-up (hot), wrk -t2 -c32 (get.lua)
#   head0   HEAD of 0-byte objects (written by an unmeasured PUT run before),
#           wrk -t2 -c32 (get.lua): wrk 4.1 hangs on a HEAD answer with a
#           Content-Length > 0, waiting for the body
#   mix     90% GET of the hot objects / 10% PUT of new ones, wrk -t2 -c32 (mix.lua)
#   put1m   1 MiB PUT, 8 curl processes at once, each sending MIB1_N objects
#           over one keep-alive connection (curl -K list, -T file)
#   get1m   1 MiB GET of those, the same way
#   put256m 256 MiB PUT (curl -T file), one stream, REPS_BIG times, medians
#   get256m 256 MiB GET (curl -o /dev/null), one stream, REPS_BIG times, medians
#   list    container listing pages of 1,000 (format=json, random marker) from
#           a container of LIST_ROWS rows, wrk -t2 -c8 (list.lua). The rows go
#           straight to the 3 container replicas: Swift's with UPDATE
#           (merge_items batches, swift_fill.py), swiftlet's with backend row
#           PUTs as object servers send them (wrk, rows.lua), swiftlet having
#           no bulk verb
#
# For each: ops/s (or MiB/s), p50/p99 latency, errors (socket errors, non-2xx
# answers, short bodies), server CPU per operation (utime+stime from
# /proc/<pid>/stat of every server process before and after: Swift's proxy
# and its workers, 12 storage servers and memcached; swiftlet's proxy and 4
# object servers), and the swiftlet/Swift ratio. Then, swiftlet only:
#
#   stream  proxy RSS sampled every 0.2 s while a STREAM_GIB GiB object is PUT
#           (from /dev/zero through curl -T -, with its Content-Length: a chunked
#           upload is about 2x slower, see docs/benchmarks.md) and read back
#           (goal <= 64 MiB)
#   idle    proxy RSS with IDLE_CONNS client connections open, each after one
#           keep-alive request (bench/cluster/idle_conns.py; goal <= 100 MiB).
#           The proxy's max_clients (per worker) is raised to IDLE_CONNS for it.
#
# Ceilings measured on the same XFS in the same run: 4 KiB create + write +
# fsetxattr + fsync + rename + dir fsyncs with 4 threads (what
# ../shared/anchors/limits/disk.sh measures, the issue's ~600 PUT/s), 8 and
# 32 (diskbench ... swift), 256 MiB write+fsync, MD5 speed (md5bench), from
# ../shared/anchors/limits (built by its build.sh if missing). The small-PUT
# goal is judged against the 4-thread ceiling and against the 32-thread one.
#
#   bash bench/cluster.sh       # DURATION=10s WARM=3s C=32 MIB1_C=8 MIB1_N=24
#                               # REPS_BIG=3 LIST_ROWS=100000 STREAM_GIB=5
#                               # IDLE_CONNS=10000 PORT=8090 BUILD=1
#
# Builds with `cargo build --release -p swiftlet-aio -p swiftlet-proxy -p
# swiftlet-object-server --bins` in the shared target folder (BUILD=0 skips).
# Needs port 8080 (Swift's proxy), 6210-6242, 11211 and PORT..PORT+4 free and
# no SAIO running. Cleans up at the end (saio-down.sh --wipe, swiftlet-aio
# stopped, data removed). Raw output: /var/tmp/swiftlet-bench/cluster-<time>/;
# results: bench/results/cluster-<time>.{tsv,md} (and .png with gnuplot).
# Like the anchors, the measuring part runs at nice -20 (NICE=0 disables).
# PIN=1 runs both clusters (every server process, memcached) on CPU 1 only
# and the load tools (wrk, curl) on CPU 0 only (taskset): each system gets
# one whole core of its own, so the ratios compare the servers rather than
# how the kernel shares two cores between them and wrk.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
SWIFT_ANCHOR=${SWIFT_ANCHOR:-/var/tmp/swift-anchor}
VENV=$SWIFT_ANCHOR/venv
RS=/var/tmp/swift-limits/rs/target/release
DURATION=${DURATION:-10s}
WARM=${WARM:-3s}
C=${C:-32}
MIB1_C=${MIB1_C:-8}
MIB1_N=${MIB1_N:-24}
REPS_BIG=${REPS_BIG:-3}
BIG_MIB=${BIG_MIB:-256}
LIST_ROWS=${LIST_ROWS:-100000}
LIST_C=${LIST_C:-8}
STREAM_GIB=${STREAM_GIB:-5}
IDLE_CONNS=${IDLE_CONNS:-10000}
PORT=${PORT:-8090}
GETSET=${GETSET:-2500}   # at most this many objects per wrk thread in the hot set
SKIP=${SKIP:-}           # workloads to leave out, e.g. SKIP="stream idle"
PIN=${PIN:-0}            # 1: servers on CPU 1, load tools on CPU 0
if [ "$PIN" = 1 ]; then SRV=(taskset -c 1); CLI=(taskset -c 0); else SRV=(); CLI=(); fi
lua=$here/bench/cluster

if [ "${CB_STAGE:-}" != measure ]; then
  # ---- set-up (normal priority) ----
  need=""
  for t in wrk curl gnuplot mkfs.xfs memcached; do command -v $t >/dev/null || need="$need $t"; done
  if [ -n "$need" ]; then
    pk=$(echo "$need" | sed 's/mkfs.xfs/xfsprogs/; s/gnuplot/gnuplot-nox/')
    apt-get update -qq && apt-get install -y -qq $pk >/dev/null
  fi
  [ -x "$VENV/bin/swift-proxy-server" ] || bash "$shared/anchors/swift/install.sh" >&2
  [ -x "$RS/diskbench" ] && [ -x "$RS/md5bench-soft" ] || bash "$shared/anchors/limits/build.sh" >&2
  if [ "${BUILD:-1}" = 1 ]; then
    echo "building swiftlet (release)" >&2
    (cd "$here" && nice -n 10 cargo build --release -q -p swiftlet-aio -p swiftlet-proxy -p swiftlet-object-server --bins)
  fi
  export CB_REV="$(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- hub http ring db server object-server proxy aio 2>/dev/null || echo ' + uncommitted edits in the tree')"
  export CB_STAGE=measure
  if [ "${NICE:-1}" != 0 ] && [ "$(id -u)" = 0 ]; then exec nice -n -20 bash "$0" "$@"; fi
  exec bash "$0" "$@"
fi

T0=$(date +%s)
stamp=$(date -u +%Y%m%d-%H%M%S)
out=/var/tmp/swiftlet-bench/cluster-$stamp
mkdir -p "$out" "$here/bench/results"
RES=$out/results.tsv
TCK=$(getconf CLK_TCK)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
note() { echo "$*" | tee -a "$out/notes.txt" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
skip() { [[ " $SKIP " == *" $1 "* ]]; }
printf 'workload\tsystem\tvalue\tunit\tops_s\tp50_ms\tp99_ms\terrors\tcpu_ms_per_op\tcount\tload1\n' >"$RES"
rec() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" "$(loadavg | cut -d' ' -f1)" >>"$RES"; }

for p in 8080 11211 6210 6211 6212 6220 6221 6222 6230 6231 6232 6240 6241 6242 $(seq "$PORT" $((PORT + 4))); do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p is in use: stop what listens there (a SAIO: saio-down.sh)" >&2; exit 1; fi
done

# room for the XFS image's data: 3 replicas of the stream object, 3 x 3 x
# 256 MiB per system and the rest (the image is sparse)
need=$(( (3 * STREAM_GIB + 8) * 1024 * 1024 ))
avail=$(df -Pk "$(dirname "$SWIFT_ANCHOR")" | awk 'NR==2 {print $4}')
[ "$avail" -ge "$need" ] || { echo "need $((need / 1048576)) GiB free under $(dirname "$SWIFT_ANCHOR"), have $((avail / 1048576)) GiB (or lower STREAM_GIB)" >&2; exit 1; }

AIO= BG=() STARTED_SAIO=0 DATA=
cleanup() {
  set +e
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
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
  rm -f "$out/big.dat" "$out/1m.dat"
}
trap cleanup EXIT
trap 'echo "cluster.sh: failed at line $LINENO" >&2' ERR

note "start $(date -u +%FT%TZ); load average $(loadavg); swiftlet $CB_REV"

# ---- Swift: SAIO on a fresh XFS image (it mounts $SWIFT_ANCHOR/srv) ----
if [ -d "$SWIFT_ANCHOR/srv" ] && ! mountpoint -q "$SWIFT_ANCHOR/srv" && [ -n "$(ls -A "$SWIFT_ANCHOR/srv")" ]; then
  echo "$SWIFT_ANCHOR/srv holds data of another SAIO (STORAGE=dir?): not touching it; remove it or run saio-down.sh --wipe first" >&2
  exit 1
fi
rm -f "$SWIFT_ANCHOR"/log/*.log
STARTED_SAIO=1
PROFILE=core WORKERS=auto EVENTLET_DEBUG=false RESET=1 DISK_SIZE=${DISK_SIZE:-48G} \
  "${SRV[@]}" bash "$shared/anchors/swift/saio-up.sh" >"$out/saio.log" 2>&1 || { tail "$out/saio.log" >&2; exit 1; }
mountpoint -q "$SWIFT_ANCHOR/srv" || { echo "saio-up.sh did not mount XFS on $SWIFT_ANCHOR/srv" >&2; exit 1; }
FS="$(findmnt -no FSTYPE "$SWIFT_ANCHOR/srv") on $(findmnt -no SOURCE "$SWIFT_ANCHOR/srv") (loop image $SWIFT_ANCHOR/swift-disk.xfs on the root $(findmnt -no FSTYPE /))"

# ---- swiftlet: swiftlet-aio with its data inside the same XFS ----
DATA=$SWIFT_ANCHOR/srv/swiftlet
BIN=$here/target/release
startaio() {
  "${SRV[@]}" "$BIN/swiftlet-aio" --data "$DATA" --port "$PORT" --nodes 4 --replicas 3 >>"$out/aio.log" 2>&1 &
  AIO=$!
  for _ in $(seq 150); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthcheck" && break; sleep 0.2; done
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthcheck" || { tail "$out/aio.log" >&2; exit 1; }
}
startaio
# the idle test needs IDLE_CONNS connections per worker: raise max_clients
# (1,024 by default, per worker) in the proxy config it made, and restart it
kill -TERM "$AIO"; wait "$AIO" || true
PROXY_CONF=$DATA/etc/proxy-server.conf
sed -i "s/^max_clients = .*/max_clients = $IDLE_CONNS/" "$PROXY_CONF"
grep -q "^max_clients = $IDLE_CONNS" "$PROXY_CONF" || sed -i "s/^\[DEFAULT\]/[DEFAULT]\nmax_clients = $IDLE_CONNS/" "$PROXY_CONF"
startaio
proxypid() { pgrep -P "$AIO" -f swiftlet-proxy-server | head -1; }
sleep 1

# server pids (CPU accounting) of a system: swift | swiftlet
pids() {
  if [ "$1" = swift ]; then
    local pf p; for pf in "$SWIFT_ANCHOR"/run/*.pid; do p=$(cat "$pf"); echo "$p"; pgrep -P "$p" || true; done | tr '\n' ' '
  else
    pgrep -P "$AIO" | tr '\n' ' '
  fi
}
ticks() { local t=0 p v; for p in $(pids "$1"); do
            v=$(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0); t=$((t + v)); done; echo $t; }
SWIFTLET_PIDS0=$(pids swiftlet)
note "filesystem: $FS"
note "swift pids: $(pids swift)"
note "swiftlet-aio $AIO, children: $SWIFTLET_PIDS0"
port() { if [ "$1" = swift ]; then echo 8080; else echo "$PORT"; fi; }
URL() { echo "http://127.0.0.1:$(port "$1")"; }
token() { curl -sf -D - -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "$(URL "$1")/auth/v1.0" |
            tr -d '\r' | awk 'tolower($1) == "x-auth-token:" {print $2}'; }
declare -A TOK
for s in swift swiftlet; do
  TOK[$s]=$(token "$s")
  [ -n "${TOK[$s]}" ] || { echo "no token from $s" >&2; exit 1; }
  for c in bench big list; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "X-Auth-Token: ${TOK[$s]}" "$(URL "$s")/v1/AUTH_test/$c")
    case $code in 201|202) ;; *) echo "container PUT $c on $s -> $code" >&2; exit 1;; esac
  done
done

# ---- ceilings on the same XFS (nothing loaded yet) ----
CEIL=$SWIFT_ANCHOR/srv/ceil
num() { sed -E "s#.* ([0-9.]+) $1.*#\1#"; }
# 4 threads: what ../shared/anchors/limits/disk.sh measures (the issue's ~600 PUT/s)
o4=$("$RS/diskbench" "$CEIL/s4" 4096 750 4 swift); echo "$o4" >>"$out/ceilings.txt"
o8=$("$RS/diskbench" "$CEIL/s8" 4096 250 8 swift); echo "$o8" >>"$out/ceilings.txt"
o32=$("$RS/diskbench" "$CEIL/s32" 4096 100 32 swift); echo "$o32" >>"$out/ceilings.txt"
ob=$("$RS/diskbench" "$CEIL/big" 268435456 2 1 fsync); echo "$ob" >>"$out/ceilings.txt"
"$RS/md5bench-soft" 1024 65536 >>"$out/ceilings.txt"
rm -rf "$CEIL"; sync
CS4=$(num 'files/s' <<<"$o4"); CS8=$(num 'files/s' <<<"$o8"); CS32=$(num 'files/s' <<<"$o32"); CBW=$(num 'MiB/s' <<<"$ob")
MD5=$(grep -m1 '^md-5 0.10.6 (soft)' "$out/ceilings.txt" | sed -E 's#.*chunk= *[0-9]+ +([0-9.]+) MiB/s.*#\1#')
note "ceilings: 4 KiB swift-like files/s 4 threads $CS4, 8 threads $CS8, 32 threads $CS32 (/3 replicas: $(awk -v a="$CS32" 'BEGIN{printf "%.0f", a/3}') PUT/s); 256 MiB write+fsync $CBW MiB/s; md5 (md-5 0.10.6 soft) $MD5 MiB/s"
for c in 4 8 32; do v=$(eval echo "\$CS$c"); rec ceil_small_files_t$c xfs "$v" files/s "" "" "" "" "" "" ; done
rec ceil_256m_write_fsync xfs "$CBW" MiB/s "" "" "" "" "" ""
rec ceil_md5 cpu "$MD5" MiB/s "" "" "" "" "" ""

# ---- wrk ----
ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); printf "%.2f", v/1000}
                             else if (v ~ /ms$/) {sub(/ms$/,"",v); printf "%.2f", v}
                             else if (v ~ /s$/) {sub(/s$/,"",v); printf "%.2f", v*1000}
                             else print "nan" }'; }
# wrkrun workload system conns duration script args... -> $out/<workload>-<system>.txt, a results row
wrkrun() {
  local w=$1 s=$2 conns=$3 d=$4 script=$5; shift 5
  local c0 c1 o rps total p50 p99 err cpu
  c0=$(ticks "$s")
  o=$("${CLI[@]}" wrk -t2 -c"$conns" -d"$d" --timeout 10s --latency -s "$lua/$script" "$(URL "$s")" -- "$@")
  c1=$(ticks "$s")
  echo "$o" >"$out/$w-$s.txt"
  rps=$(awk '/^Requests\/sec/ {printf "%.1f", $2}' <<<"$o")
  total=$(awk '/requests in/ {print $1}' <<<"$o")
  p50=$(ms "$(awk '$1=="50%" {print $2}' <<<"$o")")
  p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$o")")
  err=$(awk '/Socket errors/ {for (i=1;i<=NF;i++) if ($i ~ /^[0-9]+,?$/) n+=$i} /Non-2xx/ {n+=$NF} END {print n+0}' <<<"$o")
  cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v n="$total" 'BEGIN{printf "%.3f", (b-a)/t/n*1e3}')
  rec "$w" "$s" "$rps" ops/s "$rps" "$p50" "$p99" "$err" "$cpu" "$total"
  echo "  $w $s: $rps ops/s p50 $p50 ms p99 $p99 ms errors $err cpu $cpu ms/op" >&2
}
declare -A HOT_T HOT_N ZN
if ! skip small; then
  note "small objects: wrk -t2 -c$C -d$DURATION (load $(loadavg))"
  for s in swift swiftlet; do
    wrkrun put4k "$s" "$C" "$DURATION" put.lua /v1/AUTH_test/bench "${TOK[$s]}" p
    HOT_T[$s]=$(sed -nE 's/^THREADS ([0-9]+) MINCOUNT.*/\1/p' "$out/put4k-$s.txt")
    n=$(sed -nE 's/.*MINCOUNT ([0-9]+).*/\1/p' "$out/put4k-$s.txt"); n=$((n - C / 2))
    [ "$n" -le "$GETSET" ] || n=$GETSET
    [ "$n" -gt 20 ] || { echo "too few objects written by the PUT run of $s" >&2; exit 1; }
    HOT_N[$s]=$n
  done
  for s in swift swiftlet; do
    "${CLI[@]}" wrk -t2 -c"$C" -d"$WARM" -s "$lua/get.lua" "$(URL "$s")" -- /v1/AUTH_test/bench "${TOK[$s]}" p "${HOT_T[$s]}" "${HOT_N[$s]}" >"$out/warm-$s.txt"
    wrkrun get4k "$s" "$C" "$DURATION" get.lua /v1/AUTH_test/bench "${TOK[$s]}" p "${HOT_T[$s]}" "${HOT_N[$s]}" GET
  done
  # wrk 4.1 waits for a body after a HEAD whose Content-Length is > 0 (it
  # hangs), so HEAD runs on 0-byte objects, written by an unmeasured PUT run
  for s in swift swiftlet; do
    "${CLI[@]}" wrk -t2 -c"$C" -d"$WARM" -s "$lua/put.lua" "$(URL "$s")" -- /v1/AUTH_test/bench "${TOK[$s]}" z 0 >"$out/put0-$s.txt"
    n=$(sed -nE 's/.*MINCOUNT ([0-9]+).*/\1/p' "$out/put0-$s.txt"); n=$((n - C / 2)); [ "$n" -le "$GETSET" ] || n=$GETSET
    [ "$n" -gt 10 ] || { echo "too few 0-byte objects written on $s" >&2; exit 1; }
    ZN[$s]=$n
  done
  for s in swift swiftlet; do
    wrkrun head0 "$s" "$C" "$DURATION" get.lua /v1/AUTH_test/bench "${TOK[$s]}" z 2 "${ZN[$s]}" HEAD
  done
  for s in swift swiftlet; do
    wrkrun mix "$s" "$C" "$DURATION" mix.lua /v1/AUTH_test/bench "${TOK[$s]}" p "${HOT_T[$s]}" "${HOT_N[$s]}" m 90
  done
  note "hot sets: swift ${HOT_T[swift]}x${HOT_N[swift]}, swiftlet ${HOT_T[swiftlet]}x${HOT_N[swiftlet]} objects; 0-byte HEAD sets: 2x${ZN[swift]}, 2x${ZN[swiftlet]}"
fi

# ---- curl: per-transfer "code seconds bytes" lines -> a results row ----
pct() { sort -g | awk -v q="$1" '{a[NR]=$1} END {if (NR==0) {print "nan"; exit} i=int(q*NR+0.999999); if (i<1) i=1; if (i>NR) i=NR; printf "%.2f", a[i]*1000}'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# curlrun workload system okcode size_bytes wall_s cpu_ticks file
curlrow() {
  local w=$1 s=$2 ok=$3 size=$4 wall=$5 dt=$6 f=$7 n err mibs ops
  n=$(wc -l <"$f")
  err=$(awk -v ok="$ok" -v sz="$size" '$1 != ok || ($3 != sz && ok == 200) {e++} END {print e+0}' "$f")
  ops=$(awk -v n="$n" -v w="$wall" 'BEGIN{printf "%.1f", n/w}')
  mibs=$(awk -v n="$n" -v w="$wall" -v sz="$size" 'BEGIN{printf "%.1f", n*sz/1048576/w}')
  rec "$w" "$s" "$mibs" MiB/s "$ops" "$(awk '{print $2}' "$f" | pct 0.5)" "$(awk '{print $2}' "$f" | pct 0.99)" "$err" \
      "$(awk -v d="$dt" -v t="$TCK" -v n="$n" 'BEGIN{printf "%.3f", d/t/n*1e3}')" "$n"
  echo "  $w $s: $mibs MiB/s ($ops ops/s) errors $err" >&2
}
now() { date +%s.%N; }
if ! skip 1m; then
  note "1 MiB: $MIB1_C curl processes x $MIB1_N objects, one keep-alive connection each (load $(loadavg))"
  head -c 1048576 /dev/urandom >"$out/1m.dat"
  for s in swift swiftlet; do
    for kind in put get; do
      for c in $(seq "$MIB1_C"); do
        { echo "header = \"X-Auth-Token: ${TOK[$s]}\""
          for i in $(seq "$MIB1_N"); do
            [ $kind = put ] && echo "upload-file = \"$out/1m.dat\""
            echo "url = \"$(URL "$s")/v1/AUTH_test/bench/mib-$c-$i\""
            echo 'output = "/dev/null"'
          done; } >"$out/curl-$kind-$s-$c.cfg"
      done
      c0=$(ticks "$s"); t0=$(now); cp=()
      for c in $(seq "$MIB1_C"); do
        "${CLI[@]}" curl -s -K "$out/curl-$kind-$s-$c.cfg" -w '%{http_code} %{time_total} %{size_download}\n' >"$out/$kind-1m-$s-$c.out" & cp+=($!)
      done
      wait "${cp[@]}"
      t1=$(now); c1=$(ticks "$s")
      cat "$out/$kind-1m-$s-"*.out >"$out/${kind}1m-$s.lines"
      curlrow "${kind}1m" "$s" "$([ $kind = put ] && echo 201 || echo 200)" 1048576 "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" $((c1 - c0)) "$out/${kind}1m-$s.lines"
    done
  done
fi

if ! skip 256m; then
  note "$BIG_MIB MiB: one stream, $REPS_BIG times, systems alternating (load $(loadavg))"
  head -c $((BIG_MIB * 1048576)) /dev/urandom >"$out/big.dat"
  : >"$out/big.lines"
  for r in $(seq "$REPS_BIG"); do
    for kind in put get; do
      for s in swift swiftlet; do
        c0=$(ticks "$s")
        if [ $kind = put ]; then
          o=$("${CLI[@]}" curl -s -o /dev/null -T "$out/big.dat" -H "X-Auth-Token: ${TOK[$s]}" -w '%{http_code} %{time_total} %{size_upload}' "$(URL "$s")/v1/AUTH_test/big/o-$r")
        else
          o=$("${CLI[@]}" curl -s -o /dev/null -H "X-Auth-Token: ${TOK[$s]}" -w '%{http_code} %{time_total} %{size_download}' "$(URL "$s")/v1/AUTH_test/big/o-$r")
        fi
        c1=$(ticks "$s")
        echo "$kind $s $r $o $((c1 - c0))" | tee -a "$out/big.lines" >&2
      done
    done
  done
  for kind in put get; do
    for s in swift swiftlet; do
      awk -v k=$kind -v s=$s '$1==k && $2==s {print $4, $5, $6, $7}' "$out/big.lines" >"$out/$kind-big-$s.lines"
      f=$out/$kind-big-$s.lines; sz=$((BIG_MIB * 1048576)); ok=$([ $kind = put ] && echo 201 || echo 200)
      n=$(wc -l <"$f")
      err=$(awk -v ok="$ok" -v sz="$sz" '$1 != ok || $3 != sz {e++} END {print e+0}' "$f")
      mibs=$(awk -v m="$BIG_MIB" '{print m/$2}' "$f" | median)
      secs=$(awk '{print $2}' "$f" | median)
      cpu=$(awk -v t="$TCK" '{print $4/t*1e3}' "$f" | median)
      rec "${kind}${BIG_MIB}m" "$s" "$(printf '%.1f' "$mibs")" MiB/s "$(awk -v x="$secs" 'BEGIN{printf "%.3f", 1/x}')" \
          "$(awk -v x="$secs" 'BEGIN{printf "%.0f", x*1000}')" "$(awk '{print $2}' "$f" | sort -g | tail -1 | awk '{printf "%.0f", $1*1000}')" "$err" "$(printf '%.0f' "$cpu")" "$n"
    done
  done
  rm -f "$out/big.dat"
  for s in swift swiftlet; do for r in $(seq "$REPS_BIG"); do
    curl -s -o /dev/null -X DELETE -H "X-Auth-Token: ${TOK[$s]}" "$(URL "$s")/v1/AUTH_test/big/o-$r"; done; done
fi

# ---- listing: fill the 3 replicas of container "list" directly, then page ----
if ! skip list; then
  hashprefix() { sed -nE "s/^swift_hash_path_$1 *= *(.*)/\1/p" "$2" | head -1; }
  chash() { python3 -c 'import hashlib,sys; print(hashlib.md5((sys.argv[1]+"/AUTH_test/list"+sys.argv[2]).encode()).hexdigest())' "$1" "$2"; }
  # replicas "dir-of-devices-glob" hash -> "devdir part" lines
  replicas() { find $1 -path "*/containers/*/$2/$2.db" 2>/dev/null | sed -E 's#^(.*)/([^/]+)/containers/([0-9]+)/.*#\2 \3 \1#'; }
  sconf=$SWIFT_ANCHOR/etc/swift.conf; lconf=$DATA/etc/swift.conf
  hs=$(chash "$(hashprefix prefix "$sconf")" "$(hashprefix suffix "$sconf")")
  hl=$(chash "$(hashprefix prefix "$lconf")" "$(hashprefix suffix "$lconf")")
  t0=$(now); targets=()
  while read -r dev part _; do n=${dev#sdb}; targets+=("127.0.0.1:62${n}1/$dev/$part"); done < <(replicas "$SWIFT_ANCHOR/srv/[1-4]/node" "$hs")
  [ "${#targets[@]}" = 3 ] || { echo "Swift's container list: ${#targets[@]} replicas found" >&2; exit 1; }
  python3 "$lua/swift_fill.py" "$LIST_ROWS" 10000 AUTH_test/list "${targets[@]}"
  t1=$(now); note "listing: Swift's 3 replicas ($(echo "${targets[@]}")) filled with $LIST_ROWS rows each by UPDATE batches of 10,000 in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
  t0=$(now); fp=(); heads=()
  while read -r dev part _; do
    n=${dev#d}
    wrk -t2 -c8 -d600s --timeout 10s -s "$lua/rows.lua" "http://127.0.0.1:$((PORT + n))" -- "/$dev/$part/AUTH_test/list" $((LIST_ROWS / 2)) >"$out/fill-$dev.txt" & fp+=($!)
    heads+=("http://127.0.0.1:$((PORT + n))/$dev/$part/AUTH_test/list")
  done < <(replicas "$DATA/nodes/*" "$hl")
  [ "${#fp[@]}" = 3 ] || { echo "swiftlet's container list: ${#fp[@]} replicas found" >&2; exit 1; }
  BG+=("${fp[@]}")
  for _ in $(seq 1200); do   # rows.lua stops sending; wrk runs on until killed
    sleep 0.5; full=0
    for h in "${heads[@]}"; do
      cnt=$(curl -s -I "$h" | tr -d '\r' | awk 'tolower($1)=="x-container-object-count:" {print $2}')
      [ "${cnt:-0}" -ge $((LIST_ROWS / 2 * 2)) ] && full=$((full + 1))
    done
    [ $full = 3 ] && break
  done
  kill -INT "${fp[@]}" 2>/dev/null || true; wait "${fp[@]}" 2>/dev/null || true
  [ $full = 3 ] || { echo "swiftlet's container list replicas did not fill: see $out/fill-*.txt" >&2; exit 1; }
  t1=$(now); note "listing: swiftlet's 3 replicas filled with $LIST_ROWS rows each by backend row PUTs (wrk -t2 -c8 per replica, 3 at once) in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
  for s in swift swiftlet; do
    cnt=$(curl -s -I -H "X-Auth-Token: ${TOK[$s]}" "$(URL "$s")/v1/AUTH_test/list" | tr -d '\r' | awk 'tolower($1)=="x-container-object-count:" {print $2}')
    note "  $s: container list HEAD says $cnt objects"
    wrkrun list1000 "$s" "$LIST_C" "$DURATION" list.lua /v1/AUTH_test/list "${TOK[$s]}" "$LIST_ROWS" 1000
  done
fi

# ---- swiftlet's proxy RSS: a big object streaming through it ----
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }   # KiB
sampler() { while :; do echo "$(date +%s.%N) $(rss "$1")"; sleep 0.2; done; }
if ! skip stream; then
  P=$(proxypid); bytes=$((STREAM_GIB * 1073741824))
  note "stream: $STREAM_GIB GiB PUT (from /dev/zero via curl -T - with its Content-Length) then GET through swiftlet's proxy (pid $P, RSS before $(rss "$P") KiB; load $(loadavg))"
  for kind in put get; do
    sampler "$P" >"$out/rss-$kind.txt" & SP=$!; BG+=("$SP")
    if [ $kind = put ]; then
      o=$(head -c "$bytes" /dev/zero | curl -s -o /dev/null -T - -H 'Transfer-Encoding:' -H "Content-Length: $bytes" \
            -H "X-Auth-Token: ${TOK[swiftlet]}" -w '%{http_code} %{time_total} %{size_upload}' "$(URL swiftlet)/v1/AUTH_test/big/stream")
    else
      o=$(curl -s -o /dev/null -H "X-Auth-Token: ${TOK[swiftlet]}" -w '%{http_code} %{time_total} %{size_download}' "$(URL swiftlet)/v1/AUTH_test/big/stream")
    fi
    kill "$SP"; wait "$SP" 2>/dev/null || true
    set -- $o
    if [ $kind = put ]; then   # the stored length, not what curl counted
      set -- "$1" "$2" "$(curl -s -I -H "X-Auth-Token: ${TOK[swiftlet]}" "$(URL swiftlet)/v1/AUTH_test/big/stream" | tr -d '\r' | awk 'tolower($1)=="content-length:" {print $2}')"
    fi
    peak=$(awk '{if ($2>m) m=$2} END {printf "%.1f", m/1024}' "$out/rss-$kind.txt")
    err=$([ "$1" = "$([ $kind = put ] && echo 201 || echo 200)" ] && [ "$3" = "$bytes" ] && echo 0 || echo 1)
    rec "rss_stream_$kind" swiftlet "$peak" MiB "" "" "" "$err" "" "$(wc -l <"$out/rss-$kind.txt")"
    note "  $kind: status $1, $3 bytes in $2 s ($(awk -v b="$3" -v t="$2" 'BEGIN{printf "%.0f", b/1048576/t}') MiB/s), proxy RSS peak $peak MiB over $(wc -l <"$out/rss-$kind.txt") samples"
  done
  note "  proxy VmHWM after the stream: $(awk '/^VmHWM/ {print $2, $3}' "/proc/$P/status")"
  curl -s -o /dev/null -X DELETE -H "X-Auth-Token: ${TOK[swiftlet]}" "$(URL swiftlet)/v1/AUTH_test/big/stream"
fi

# ---- swiftlet's proxy RSS with IDLE_CONNS idle client connections ----
if ! skip idle; then
  P=$(proxypid); r0=$(rss "$P")
  fifo=$out/idle.fifo; mkfifo "$fifo"
  python3 "$lua/idle_conns.py" 127.0.0.1 "$PORT" "$IDLE_CONNS" /healthcheck 300 <"$fifo" >"$out/idle.txt" 2>&1 & IP=$!; BG+=("$IP")
  exec 7>"$fifo"
  for _ in $(seq 600); do grep -q '^OPEN' "$out/idle.txt" && break; sleep 0.2; done
  sleep 2
  estab=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
  r1=$(rss "$P"); sleep 1; r2=$(rss "$P")
  r=$(( r1 > r2 ? r1 : r2 ))
  exec 7>&-; wait "$IP" 2>/dev/null || true
  note "idle: $(head -1 "$out/idle.txt"); server-side established: $estab; proxy RSS before $((r0 / 1024)) MiB, with them $(awk -v r="$r" 'BEGIN{printf "%.1f", r/1024}') MiB; $(grep STILL_OPEN "$out/idle.txt" || true)"
  opened=$(sed -nE 's/^OPEN ([0-9]+) ANSWERED ([0-9]+).*/\2/p' "$out/idle.txt")
  rec rss_idle_$IDLE_CONNS swiftlet "$(awk -v r="$r" 'BEGIN{printf "%.1f", r/1024}')" MiB "" "" "" $((IDLE_CONNS - ${opened:-0})) "" "$estab"
  rec rss_before_idle swiftlet "$(awk -v r="$r0" 'BEGIN{printf "%.1f", r/1024}')" MiB "" "" "" "" "" ""
fi

# ---- crashes? (a child the supervisor had to restart has a new pid) ----
SWIFTLET_PIDS1=$(pids swiftlet)
[ "$(echo $SWIFTLET_PIDS0 | tr ' ' '\n' | sort | tr '\n' ' ')" = "$(echo $SWIFTLET_PIDS1 | tr ' ' '\n' | sort | tr '\n' ' ')" ] ||
  note "WARNING: swiftlet's server pids changed during the run ($SWIFTLET_PIDS0 -> $SWIFTLET_PIDS1): a child died; see $out/aio.log"
grep -iE 'exited|died|restart|panick' "$out/aio.log" >>"$out/notes.txt" 2>/dev/null || true

# ---- table ----
set +e; trap - ERR
cp "$RES" "$here/bench/results/cluster-$stamp.tsv"
T1=$(date +%s)
note "end $(date -u +%FT%TZ); load average $(loadavg); $((T1 - T0)) s"
get() { awk -F'\t' -v w="$1" -v s="$2" -v c="$3" 'NR==1 {for (i=1;i<=NF;i++) h[$i]=i; next} $1==w && $2==s {print $h[c]}' "$RES"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0 || a == "") print "n/a"; else printf "%.2f", a/b}'; }
{
echo "# cluster benchmark $(date -u +%FT%TZ), $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/^Mem/ {print $2}') GiB"
echo
echo "swiftlet $CB_REV (swiftlet-aio: 4 object servers, proxy, workers = auto); Swift $("$VENV/bin/python" -c 'import swift; print(swift.__version__)') SAIO (PROFILE=core, proxy workers = auto, 12 storage servers with 1 worker each, memcached). 4 nodes, 3 replicas, both on $FS."
echo "wrk -t2 -c$C -d$DURATION (listing -c$LIST_C); 1 MiB: $MIB1_C curl x $MIB1_N; $BIG_MIB MiB: curl, one stream, medians of $REPS_BIG. Load average: $(head -1 "$out/notes.txt" | sed -E 's/.*load average ([0-9. ]+);.*/\1/') at the start, $(loadavg) at the end. Run time $((T1 - T0)) s.$([ "$PIN" = 1 ] && echo " PIN=1: every server on CPU 1, wrk and curl on CPU 0.")"
echo
echo "| workload | swiftlet | Swift | swiftlet/Swift | p50 / p99 ms swiftlet | p50 / p99 ms Swift | errors (swiftlet; Swift) | server CPU ms/op (swiftlet; Swift) |"
echo "|---|---|---|---|---|---|---|---|"
for w in put4k get4k head0 mix put1m get1m "put${BIG_MIB}m" "get${BIG_MIB}m" list1000; do
  [ -n "$(get "$w" swiftlet value)" ] || continue
  case $w in put1m|get1m|put${BIG_MIB}m|get${BIG_MIB}m) u="MiB/s";; *) u="ops/s";; esac
  echo "| $w | $(get "$w" swiftlet value) $u | $(get "$w" swift value) $u | **$(ratio "$(get "$w" swiftlet value)" "$(get "$w" swift value)")×** | $(get "$w" swiftlet p50_ms) / $(get "$w" swiftlet p99_ms) | $(get "$w" swift p50_ms) / $(get "$w" swift p99_ms) | $(get "$w" swiftlet errors); $(get "$w" swift errors) | $(get "$w" swiftlet cpu_ms_per_op); $(get "$w" swift cpu_ms_per_op) |"
done
echo
for w in rss_stream_put rss_stream_get rss_idle_$IDLE_CONNS rss_before_idle; do
  [ -n "$(get "$w" swiftlet value)" ] && echo "- $w: $(get "$w" swiftlet value) MiB (errors $(get "$w" swiftlet errors))"
done
echo "- ceilings: 4 KiB create+fsync+rename (+dirs) $CS4 files/s (4 threads) = $(awk -v a="$CS4" 'BEGIN{printf "%.0f", a/3}') 3-replica PUT/s, $CS8 (8 threads), $CS32 (32 threads) = $(awk -v a="$CS32" 'BEGIN{printf "%.0f", a/3}') 3-replica PUT/s; 256 MiB write+fsync $CBW MiB/s; MD5 $MD5 MiB/s"
yn() { awk -v c="$1" 'BEGIN{print (c ~ /^[0-9.]+$/ && c+0 >= 1) ? "met" : "missed"}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{if (a == "" || b == "") print "n/a"; else print (a+0 >= b+0) ? 1 : 0}'; }
echo
echo "| goal (issue 8) | measured | |"
echo "|---|---|---|"
r=$(ratio "$(get get4k swiftlet value)" "$(get get4k swift value)"); echo "| 4 KiB GET ≥ 30× Swift | ${r}× | $(yn "$(ge "$r" 30)") |"
for c in 4 32; do
  cs=$(eval echo "\$CS$c")
  pc=$(awk -v a="$(get put4k swiftlet value)" -v b="$cs" 'BEGIN{if (a == "") print "n/a"; else printf "%.0f", 100*a/(b/3)}')
  what=$([ $c = 4 ] && echo "as disk.sh measures it, 4 threads" || echo "32 threads, the load's concurrency")
  echo "| 4 KiB PUT ≥ 80% of the fsync ceiling ($what: $cs files/s / 3 replicas = $(awk -v a="$cs" 'BEGIN{printf "%.0f", a/3}') PUT/s) | ${pc}% | $(yn "$(ge "$pc" 80)") |"
done
r=$(ratio "$(get "put${BIG_MIB}m" swiftlet value)" "$(get "put${BIG_MIB}m" swift value)"); echo "| $BIG_MIB MiB PUT ≥ 1.5× Swift | ${r}× | $(yn "$(ge "$r" 1.5)") |"
r=$(ratio "$(get "get${BIG_MIB}m" swiftlet value)" "$(get "get${BIG_MIB}m" swift value)"); echo "| $BIG_MIB MiB GET ≥ 2.5× Swift | ${r}× | $(yn "$(ge "$r" 2.5)") |"
for w in put4k get4k head0 mix list1000; do
  [ -n "$(get $w swiftlet p99_ms)" ] || continue
  echo "| $w: swiftlet p99 < Swift p50 | $(get $w swiftlet p99_ms) ms vs $(get $w swift p50_ms) ms | $(yn "$(ge "$(get $w swift p50_ms)" "$(get $w swiftlet p99_ms)")") |"
done
v=$(get rss_stream_put swiftlet value); w2=$(get rss_stream_get swiftlet value)
[ -z "$v" ] || echo "| proxy RSS streaming $STREAM_GIB GiB ≤ 64 MiB | PUT $v MiB, GET $w2 MiB | $(yn "$(ge 64 "$(printf '%s\n%s\n' "$v" "$w2" | sort -g | tail -1)")") |"
v=$(get "rss_idle_$IDLE_CONNS" swiftlet value)
[ -z "$v" ] || echo "| proxy RSS with $IDLE_CONNS idle connections ≤ 100 MiB | $v MiB ($(get "rss_idle_$IDLE_CONNS" swiftlet count) established) | $(yn "$(ge 100 "$v")") |"
echo
echo "(256 MiB rows: p50 = median seconds per transfer, p99 column = slowest; CPU = median server CPU per transfer)"
} | tee "$out/table.md"
cp "$out/table.md" "$here/bench/results/cluster-$stamp.md"
cp "$out/notes.txt" "$here/bench/results/cluster-$stamp.notes.txt"
if command -v gnuplot >/dev/null; then
  bash "$lua/chart.sh" "$RES" "$here/bench/results/cluster-$stamp.png" >&2 || echo "chart failed" >&2
fi
echo "results: $here/bench/results/cluster-$stamp.{tsv,md}; raw output: $out" >&2
