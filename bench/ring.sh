#!/usr/bin/env bash
# bench/ring.sh - rebalance of part power 18, 3 replicas, 100 devices in 5
# zones (4 servers x 5 disks per zone, equal weights) with our
# swiftlet-ring-builder and with Python swift-ring-builder on the same input;
# then Ring::nodes() lookup timing. Prints a summary to paste into
# docs/benchmarks.md.
#
# Env: SWIFT_VENV  venv with swift==2.38.3 (default /var/tmp/swift-anchor/venv,
#                  else /var/tmp/ringvenv; see ../shared/anchors/swift/install.sh)
#      PART_POWER  (default 18)   SEED (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."

PART_POWER=${PART_POWER:-18}
SEED=${SEED:-1}
VENV=${SWIFT_VENV:-/var/tmp/swift-anchor/venv}
[ -x "$VENV/bin/swift-ring-builder" ] || VENV=/var/tmp/ringvenv
SRB=$VENV/bin/swift-ring-builder
[ -x "$SRB" ] || { echo "no swift-ring-builder in $VENV (run install.sh)" >&2; exit 2; }

nice -n 10 cargo build -q --release -p swiftlet-ring --bins --examples
OURS=target/release/swiftlet-ring-builder

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
devs=()
for z in 1 2 3 4 5; do
  for h in 1 2 3 4; do
    for d in 1 2 3 4 5; do
      devs+=("r1z$z-10.0.$z.$h:6200/sdb$d" 100)
    done
  done
done

now() { date +%s.%N; }

mkdir -p "$work/ours" "$work/swift"
$OURS "$work/ours/object.builder" create "$PART_POWER" 3 1
$OURS "$work/ours/object.builder" add "${devs[@]}" >/dev/null
t0=$(now)
$OURS "$work/ours/object.builder" rebalance --seed "$SEED" >"$work/ours.out" || true
t1=$(now)
ours_s=$(echo "$t1 - $t0" | bc -l)

nice -n 10 "$SRB" "$work/swift/object.builder" create "$PART_POWER" 3 1
nice -n 10 "$SRB" "$work/swift/object.builder" add "${devs[@]}" >/dev/null
t0=$(now)
nice -n 10 "$SRB" "$work/swift/object.builder" rebalance --seed "$SEED" >"$work/swift.out" 2>&1 || true
t1=$(now)
swift_s=$(echo "$t1 - $t0" | bc -l)

# A second rebalance after adding one device (min_part_hours pretended away).
$OURS "$work/ours/object.builder" add r1z1-10.0.1.9:6200/sdb1 100 >/dev/null
$OURS "$work/ours/object.builder" pretend_min_part_hours_passed
t0=$(now)
$OURS "$work/ours/object.builder" rebalance --seed "$SEED" >"$work/ours2.out" || true
t1=$(now)
ours2_s=$(echo "$t1 - $t0" | bc -l)
nice -n 10 "$SRB" "$work/swift/object.builder" add r1z1-10.0.1.9:6200/sdb1 100 >/dev/null
nice -n 10 "$SRB" "$work/swift/object.builder" pretend_min_part_hours_passed >/dev/null
t0=$(now)
nice -n 10 "$SRB" "$work/swift/object.builder" rebalance --seed "$SEED" >"$work/swift2.out" 2>&1 || true
t1=$(now)
swift2_s=$(echo "$t1 - $t0" | bc -l)

echo "== part power $PART_POWER, 3 replicas, 100 devices, 5 zones, seed $SEED"
printf 'initial rebalance: swiftlet %.3f s, swift %.3f s, ratio %.1fx\n' "$ours_s" "$swift_s" "$(echo "$swift_s / $ours_s" | bc -l)"
echo "  swiftlet: $(grep Reassigned "$work/ours.out")"
echo "  swift:    $(grep Reassigned "$work/swift.out")"
printf 'add 1 device + rebalance: swiftlet %.3f s, swift %.3f s, ratio %.1fx\n' "$ours2_s" "$swift2_s" "$(echo "$swift2_s / $ours2_s" | bc -l)"
echo "  swiftlet: $(grep Reassigned "$work/ours2.out")"
echo "  swift:    $(grep Reassigned "$work/swift2.out")"
echo "  ideal moves for the new device: $(( (3 << PART_POWER) / 101 ))"
echo "dispersion reports after both rebalances:"
ours_disp=$($OURS "$work/ours/object.builder" dispersion 2>&1 || true)
echo "  swiftlet: ${ours_disp%%$'\n'*}"
swift_disp=$(nice -n 10 "$SRB" "$work/swift/object.builder" dispersion 2>&1 || true)
echo "  swift:    ${swift_disp%%$'\n'*}"

printf '[swift-hash]\nswift_hash_path_suffix = changeme\n' >"$work/swift.conf"
target/release/examples/nodes_bench "$work/ours/object.ring" "$work"
