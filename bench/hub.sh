#!/usr/bin/env bash
# Hub and HTTP-layer benchmarks, side by side with the anchors in
# ../shared/anchors/limits (raw epoll hello, corosensei-per-connection hello,
# eventlet.wsgi hello, eventlet spawn) in one run on this machine.
#
#   bash bench/hub.sh            # REPS=3 D=10 by default
#
# Prints a markdown table (medians of REPS runs) and keeps raw output in
# /var/tmp/swiftlet-bench/hub-<time>/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$here/../shared}
REPS=${REPS:-3}
D=${D:-10}
out=/var/tmp/swiftlet-bench/hub-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
echo "building swiftlet examples (release)" >&2
(cd "$here" && cargo build --release --examples -q -p swiftlet-hub -p swiftlet-http)
echo "building the anchors (release, lto) and the eventlet venv" >&2
bash "$shared/anchors/limits/build.sh" >"$out/anchors-build.log" 2>&1
RS=/var/tmp/swift-limits/rs/target/release
PY=/var/tmp/swift-limits/venv/bin/python
EX=$here/target/release/examples

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# ---- green thread cost ----
for r in $(seq "$REPS"); do
  "$EX/spawnbench" 2000000 >>"$out/spawn.txt"
  "$RS/corobench" pooled 65536 2000000 >>"$out/corobench.txt"
done
"$PY" "$shared/anchors/limits/greenbench.py" 400000 >"$out/greenbench.txt" 2>/dev/null
ours_one=$(grep one_at_a_time "$out/spawn.txt" | sed -E 's/.* ns_per_thread=([0-9.]+).*/\1/' | median)
ours_batch=$(grep batch_1000 "$out/spawn.txt" | sed -E 's/.* ns_per_thread=([0-9.]+).*/\1/' | median)
coro_pooled=$(sed -E 's/.* ns_per_[a-z0-9_]+=([0-9.]+)$/\1/' "$out/corobench.txt" | median)
ev_spawn=$(grep '^eventlet spawn+run' "$out/greenbench.txt" | sed -E 's/^eventlet spawn\+run +([0-9.]+).*/\1/')

# ---- hello under wrk -t1 -c64: server CPU per request ----
start() { "$@" >/dev/null 2>&1 & echo $!; }
P_OURS= P_RAW= P_CORO= P_EV=
trap 'kill $P_OURS $P_RAW $P_CORO $P_EV 2>/dev/null || true' EXIT
P_OURS=$(start "$EX/hello" --port 19401 --workers 1 --stack-kib 64 --max-clients 20000)
P_RAW=$(start "$RS/hello" raw 19402)
P_CORO=$(start "$RS/hello" coro 19403 65536)
P_EV=$(start "$PY" "$shared/anchors/limits/hello_eventlet.py" 19404)
sleep 1.5
for p in 19401 19402 19403 19404; do curl -s -m 2 "http://127.0.0.1:$p/" | grep -q hello || { echo "server on $p not answering" >&2; exit 1; }; done
wrkrun() { # name port pid
  local c0 c1 o rps
  c0=$(ticks "$3"); o=$(wrk -t1 -c64 -d"${D}s" "http://127.0.0.1:$2/"); c1=$(ticks "$3")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$o")
  echo "$o" >>"$out/wrk-$1.txt"
  awk -v a="$c0" -v b="$c1" -v t="$TCK" -v r="$rps" -v d="$D" 'BEGIN{printf "%s %.2f\n", r, (b-a)/t/(r*d)*1e6}' >>"$out/wrk-$1.tsv"
}
for r in $(seq "$REPS"); do
  wrkrun swiftlet 19401 "$P_OURS"
  wrkrun raw 19402 "$P_RAW"
  wrkrun coro 19403 "$P_CORO"
  wrkrun eventlet 19404 "$P_EV"
done
col() { awk -v c="$2" '{print $c}' "$out/wrk-$1.tsv" | median; }

# ---- 10,000 idle keep-alive connections held by the hello server ----
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$P_OURS/status")
"$EX/idleconns" --port 19401 --conns 10000 --hold-secs 4 >"$out/idle.txt" 2>&1 &
P_IDLE=$!
for _ in $(seq 100); do grep -q idle_connections_open "$out/idle.txt" && break; sleep 0.2; done
sleep 1
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$P_OURS/status")
timeout 60 tail --pid=$P_IDLE -f /dev/null || kill $P_IDLE
answered=$(sed -nE 's/idle_connections_answered=([0-9]+)/\1/p' "$out/idle.txt")

cpu_ours=$(col swiftlet 2); cpu_raw=$(col raw 2); cpu_coro=$(col coro 2); cpu_ev=$(col eventlet 2)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
{
echo "# hub benchmarks $(date -u +%FT%TZ) on $(nproc) vCPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| measure | swiftlet | anchor | ratio |"
echo "|---|---|---|---|"
echo "| spawn+run+join, batches of 1,000 (ns) | $ours_batch | eventlet spawn+run $ev_spawn | $(ratio "$ev_spawn" "$ours_batch")x faster |"
echo "| spawn+join one at a time (ns) | $ours_one | corosensei create+run on a pooled stack $coro_pooled | - |"
echo "| hello, wrk -t1 -c64: server CPU per request (us) | $cpu_ours | raw epoll loop $cpu_raw | $(ratio "$cpu_ours" "$cpu_raw")x raw |"
echo "| same | | minimal coroutine-per-connection loop $cpu_coro | $(ratio "$cpu_ours" "$cpu_coro")x |"
echo "| same | | eventlet.wsgi $cpu_ev | $(ratio "$cpu_ev" "$cpu_ours")x less CPU |"
echo "| hello req/s (wrk -t1 -c64, shares 2 cores with wrk) | $(col swiftlet 1) | raw $(col raw 1), coro $(col coro 1), eventlet $(col eventlet 1) | |"
echo "| 10,000 idle keep-alive connections: server RSS (MiB) | $(awk -v k="$rss_idle" 'BEGIN{printf "%.1f", k/1024}') (idle server: $(awk -v k="$rss_before" 'BEGIN{printf "%.1f", k/1024}')) | goal <= 100 | $answered of 10000 answered |"
} | tee "$out/summary.md"
