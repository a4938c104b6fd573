#!/bin/bash
# Tests the systemd units in this folder the way an operator uses them:
#
#  1. `systemd-analyze verify` prints nothing for each unit, and
#     `systemd-analyze security --offline=yes` scores each service <= 3.0;
#  2. a real systemd (PID 1 in systemd-nspawn, on the host's network) boots
#     swiftlet.target: one proxy and 3 object servers (3 replicas) from
#     these units, etc/swift.conf-sample, the other etc/ samples (only
#     addresses, ports and account_autocreate changed) and rings built by
#     swiftlet-ring-builder; each device a mount point at /srv/node/dN
#     (mount_check on). Then with curl: auth, PUT, GET (bytes compared);
#     kill -9 of one object server, restarted by systemd (NRestarts=1), the
#     data still there; `systemctl restart swiftlet.target` returns with
#     every server new and ready; `systemctl stop swiftlet.target` while a slow
#     download runs: the download completes (graceful drain) and every
#     server stops cleanly; poweroff.
#
# usage: etc/systemd/test-nspawn.sh [BIN_DIR]
#   BIN_DIR holds swiftlet-proxy-server, swiftlet-object-server and
#   swiftlet-ring-builder (default: target/release, built by
#   `cargo build --release -p swiftlet-proxy -p swiftlet-object-server
#   -p swiftlet-ring --bins`). Needs root; installs systemd-container and
#   curl with apt-get if missing. Prints PASS (exit 0), FAIL (exit 1), or
#   SKIP (exit 0) where systemd-nspawn cannot run (not root, no cgroups).
#   Everything lives in /var/tmp/swiftlet-nspawn.* (not /tmp: the units'
#   PrivateTmp= would hide it) and is removed at the end.
#
# A script, not a cargo test: it needs root and boots a container, so CI
# runs it as a step of its own rather than inside `cargo test --workspace`,
# and it does what docs/deploy.md has an operator do (sed on the samples,
# swiftlet-ring-builder, systemctl enable).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN=$(cd "${1:-$REPO/target/release}" 2>/dev/null && pwd) || BIN=${1:-$REPO/target/release}
NODES=3
REPLICAS=3
START=$(date +%s)

say() { echo "test-nspawn: $*"; }
# Seconds since a `date +%s.%N` time, to 0.1 s.
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }
skip() {
    echo "SKIP: $*"
    exit 0
}

W=""
NSPAWN=""
LEADER=""
fail() {
    echo "FAIL: $*"
    if [ -n "$LEADER" ] && [ -d "/proc/$LEADER" ]; then
        echo "---- failed units (inside the container)"
        inside systemctl --no-pager --failed 2>&1 || true
        echo "---- systemctl status (inside the container)"
        inside systemctl --no-pager -l status 'swiftlet*' 2>&1 | tail -n 80 || true
        echo "---- journal of the swiftlet units"
        inside journalctl --no-pager -o short-monotonic -u 'swiftlet*' 2>&1 | tail -n 120 || true
    fi
    if [ -n "$W" ] && [ -s "$W/console.log" ]; then
        echo "---- container console (last lines)"
        tail -n 40 "$W/console.log"
    fi
    exit 1
}

# Runs a command inside the container (all of its namespaces).
inside() { nsenter -t "$LEADER" -a "$@"; }
# Powers the container off (what `systemctl poweroff` does without logind,
# which the container lacks).
poweroff() { inside systemctl start --no-block --job-mode=replace-irreversibly poweroff.target; }

cleanup() {
    local rc=$?
    if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
        if [ -n "$LEADER" ]; then poweroff >/dev/null 2>&1 || true; fi
        for _ in $(seq 1 300); do
            kill -0 "$NSPAWN" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$NSPAWN" 2>/dev/null; then
            say "the container did not power off in 30 s: killing it"
            kill -KILL "$NSPAWN" 2>/dev/null || true
            wait "$NSPAWN" 2>/dev/null || true
        fi
    fi
    if [ -n "$W" ]; then
        rm -rf "$W"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# ---- can systemd-nspawn run here?
[ "$(id -u)" = 0 ] || skip "systemd-nspawn needs root (run as root, e.g. in CI)"
if [ ! -d /sys/fs/cgroup ] || [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]; then
    skip "no /sys/fs/cgroup: systemd cannot run as PID 1 here"
fi

need=()
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v curl >/dev/null || need+=(curl)
command -v nsenter >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || fail "missing ${need[*]} and no apt-get to install them"
    say "installing ${need[*]}"
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || fail "apt-get install ${need[*]} failed"
fi
for b in swiftlet-proxy-server swiftlet-object-server swiftlet-ring-builder; do
    [ -x "$BIN/$b" ] || fail "$BIN/$b is missing: build it with \
cargo build --release -p swiftlet-proxy -p swiftlet-object-server -p swiftlet-ring --bins"
done

W=$(mktemp -d /var/tmp/swiftlet-nspawn.XXXXXX)
chmod 755 "$W"

# ---- 1. the units pass systemd-analyze
UNITS=(swiftlet.target swiftlet-proxy-server.service swiftlet-object-server@.service
    swiftlet-object-replicator@.service swiftlet-object-auditor@.service)
stage=$W/verify
mkdir -p "$stage/usr/lib/systemd" "$stage/etc/systemd/system" "$stage/usr/local/bin"
cp -a /usr/lib/systemd/system "$stage/usr/lib/systemd/"
for u in "${UNITS[@]}"; do cp "$HERE/$u" "$stage/etc/systemd/system/"; done
cp "$BIN/swiftlet-proxy-server" "$BIN/swiftlet-object-server" "$BIN/swiftlet-object-replicator" \
    "$BIN/swiftlet-object-auditor" "$stage/usr/local/bin/"
for u in swiftlet.target swiftlet-proxy-server.service swiftlet-object-server@1.service \
    swiftlet-object-replicator@1.service swiftlet-object-auditor@1.service; do
    out=$(systemd-analyze verify --man=no --root="$stage" "$u" 2>&1) || fail "systemd-analyze verify $u failed: $out"
    [ -z "$out" ] || fail "systemd-analyze verify $u printed: $out"
    say "verify $u: no output"
done
for u in swiftlet-proxy-server.service swiftlet-object-server@.service swiftlet-object-replicator@.service \
    swiftlet-object-auditor@.service; do
    out=$(systemd-analyze security --offline=yes "$HERE/$u" 2>&1) || true
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
    [ -n "$score" ] || fail "no exposure score for $u: $out"
    awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }' || fail "$u exposure $score > 3.0: $out"
    say "security $u: exposure $score"
done
rm -rf "$stage"

# ---- 2. a cluster of free ports on the shared network
# A port is taken if something accepts a connection on it.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for _ in $(seq 1 50); do
    base=$((20000 + (RANDOM % 1000) * 10))
    ok=1
    for i in $(seq 0 $NODES); do port_free $((base + i)) || ok=0; done
    if [ $ok = 1 ]; then
        PORT=$base
        break
    fi
done
[ -n "$PORT" ] || fail "no free ports found"
URL=http://127.0.0.1:$PORT

SYS=$W/root/etc/systemd/system
mkdir -p "$W/bin" "$W/swift/object-server" "$SYS" "$W/sysusers.d" "$W/tmpfiles.d" "$W/client"
cp "$BIN/swiftlet-proxy-server" "$BIN/swiftlet-object-server" "$BIN/swiftlet-object-replicator" \
    "$BIN/swiftlet-object-auditor" "$W/bin/"

# Configs and rings as docs/deploy.md builds them.
sw=$W/swift
secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
sed -e "s/^swift_hash_path_prefix = .*/swift_hash_path_prefix = $(secret)/" \
    -e "s/^swift_hash_path_suffix = .*/swift_hash_path_suffix = $(secret)/" \
    "$REPO/etc/swift.conf-sample" >"$sw/swift.conf"
for name in account container object; do
    rb() { "$BIN/swiftlet-ring-builder" "$sw/$name.builder" "$@" >/dev/null; }
    rb create 10 $REPLICAS 1 || fail "ring-builder create $name"
    for i in $(seq 1 $NODES); do
        rb add "r1z$i-127.0.0.1:$((PORT + i))/d$i" 100 || fail "ring-builder add to $name"
    done
    rb rebalance || fail "ring-builder rebalance $name"
done
for i in $(seq 1 $NODES); do
    sed -e "s/^bind_ip = .*/bind_ip = 127.0.0.1/" -e "s/^bind_port = .*/bind_port = $((PORT + i))/" \
        "$REPO/etc/object-server.conf-sample" >"$sw/object-server/$i.conf"
done
sed -e "s/^bind_ip = .*/bind_ip = 127.0.0.1/" -e "s/^bind_port = .*/bind_port = $PORT/" \
    -e "s/^account_autocreate = .*/account_autocreate = true/" \
    "$REPO/etc/proxy-server.conf-sample" >"$sw/proxy-server.conf"
grep -q "^account_autocreate = true" "$sw/proxy-server.conf" || fail "cannot set account_autocreate"
chmod -R a+rX "$sw"

# Units installed and enabled as an operator does (systemctl enable makes
# the swiftlet.target.wants links).
for u in "${UNITS[@]}"; do cp "$HERE/$u" "$SYS/"; done
cp "$HERE/sysusers.d/swiftlet.conf" "$W/sysusers.d/"
enable=(swiftlet-proxy-server.service)
for i in $(seq 1 $NODES); do
    enable+=("swiftlet-object-server@$i.service" "swiftlet-object-replicator@$i.service"
        "swiftlet-object-auditor@$i.service")
done
systemctl --root="$W/root" --quiet enable "${enable[@]}" 2>"$W/enable.log" \
    || fail "systemctl enable: $(cat "$W/enable.log")"
# The devices are owned by swift (whose uid sysusers picks at boot).
echo "Z /srv/node - swift swift -" >"$W/tmpfiles.d/swiftlet-test.conf"

# ---- boot
binds=(
    --bind-ro="$SYS:/etc/systemd/system"
    --bind-ro="$W/sysusers.d:/etc/sysusers.d"
    --bind-ro="$W/tmpfiles.d:/etc/tmpfiles.d"
    --bind-ro="$sw:/etc/swift"
    --bind-ro="$W/bin:/usr/local/bin"
)
for i in $(seq 1 $NODES); do binds+=(--tmpfs="/srv/node/d$i:mode=0755"); done
say "booting swiftlet.target in systemd-nspawn (proxy on $URL, $NODES object servers)"
boot_t0=$(date +%s.%N)
systemd-nspawn -q --register=no --keep-unit -D / --volatile=yes -M "swiftlet-test-$$" \
    "${binds[@]}" --console=pipe -b systemd.unit=swiftlet.target >"$W/console.log" 2>&1 &
NSPAWN=$!

# The container's PID 1 is a child of systemd-nspawn named systemd.
for _ in $(seq 1 300); do
    for st in /proc/[0-9]*/stat; do
        read -r pid comm _ ppid _ <"$st" 2>/dev/null || continue
        [ "$ppid" = "$NSPAWN" ] && [ "$comm" = "(systemd)" ] && LEADER=$pid
    done
    [ -n "$LEADER" ] && break
    kill -0 "$NSPAWN" 2>/dev/null || fail "systemd-nspawn exited"
    sleep 0.1
done
[ -n "$LEADER" ] || fail "no systemd in the container after 30 s"

state=""
for _ in $(seq 1 600); do
    state=$(inside systemctl is-active swiftlet.target 2>/dev/null) || true
    [ "$state" = active ] && break
    for u in "${enable[@]}"; do
        if inside systemctl is-failed --quiet "$u" 2>/dev/null; then fail "$u failed to start"; fi
    done
    sleep 0.1
done
[ "$state" = active ] || fail "swiftlet.target is '$state' after 60 s"
units=("${enable[@]}")
for u in "${units[@]}"; do
    s=$(inside systemctl show -p ActiveState --value "$u")
    [ "$s" = active ] || fail "$u is $s"
done
say "swiftlet.target active after $(since "$boot_t0") s: ${units[*]}"

# Each server runs as swift, with no capabilities, no_new_privs and the
# seccomp filter (the servers did all of the test under it).
for u in "${units[@]}"; do
    pid=$(inside systemctl show -p MainPID --value "$u")
    user=$(inside stat -c %U "/proc/$pid")
    [ "$user" = swift ] || fail "$u runs as '$user', not swift"
    st=$(inside cat "/proc/$pid/status")
    for want in "CapEff:	0000000000000000" "CapBnd:	0000000000000000" "NoNewPrivs:	1" "Seccomp:	2"; do
        grep -qx "$want" <<<"$st" || fail "$u: /proc/$pid/status lacks '$want'"
    done
done
say "every server runs as swift, no capabilities, seccomp filter on"
# LimitNOFILE=65536, or the closest systemd could set (a container without
# CAP_SYS_RESOURCE keeps its hard limit).
hard=$(ulimit -Hn)
want=65536
if [ "$hard" != unlimited ] && [ "$hard" -lt $want ]; then want=$hard; fi
lim=$(inside cat "/proc/$pid/limits" | awk '/^Max open files/ {print $4}')
[ "$lim" = "$want" ] || fail "open files limit of $u is $lim, not $want"
say "open files limit: $lim"

# ---- the cluster with curl
cd "$W/client"
c=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "$URL/healthcheck") || fail "healthcheck"
[ "$c" = 200 ] || fail "healthcheck answered $c"
curl -sS -m 10 -D auth.h -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' "$URL/auth/v1.0" \
    || fail "auth request"
TOKEN=$(tr -d '\r' <auth.h | awk 'tolower($1) == "x-auth-token:" {print $2}')
STORAGE=$(tr -d '\r' <auth.h | awk 'tolower($1) == "x-storage-url:" {print $2}')
if [ -z "$TOKEN" ] || [ -z "$STORAGE" ]; then fail "auth gave no token: $(cat auth.h)"; fi
code() { curl -sS -m 30 -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $TOKEN" "$@"; }
c=$(code -X PUT "$STORAGE/nspawn") || fail "container PUT"
[ "$c" = 201 ] || [ "$c" = 202 ] || fail "container PUT answered $c"
head -c 3000000 /dev/urandom >obj
c=$(code -T obj "$STORAGE/nspawn/obj") || fail "object PUT"
[ "$c" = 201 ] || fail "object PUT answered $c"
curl -sS -m 30 -f -H "X-Auth-Token: $TOKEN" -o got "$STORAGE/nspawn/obj" || fail "object GET"
cmp -s obj got || fail "GET returned other bytes than were PUT"
say "auth, PUT and GET of 3 MB with curl: same bytes back"
# The replicas are on the devices, written by swift.
n=$(inside find /srv/node -name '*.data' -user swift | wc -l)
[ "$n" = $REPLICAS ] || fail "$n replicas of the object on disk, not $REPLICAS"

# ---- kill -9 one object server: systemd restarts it
u=swiftlet-object-server@1.service
old=$(inside systemctl show -p MainPID --value "$u")
inside kill -9 "$old"
restarted=""
for _ in $(seq 1 200); do
    n=$(inside systemctl show -p NRestarts --value "$u")
    s=$(inside systemctl show -p ActiveState --value "$u")
    pid=$(inside systemctl show -p MainPID --value "$u")
    if [ "$n" = 1 ] && [ "$s" = active ] && [ "$pid" != 0 ] && [ "$pid" != "$old" ]; then
        restarted=1
        break
    fi
    sleep 0.1
done
[ -n "$restarted" ] || fail "$u not restarted after kill -9 (NRestarts=$n, $s)"
say "kill -9 of $u: restarted by systemd (NRestarts=1, new pid)"
curl -sS -m 30 -f -H "X-Auth-Token: $TOKEN" -o got "$STORAGE/nspawn/obj" || fail "GET after the restart"
cmp -s obj got || fail "GET after the restart returned other bytes"
c=$(code -T obj "$STORAGE/nspawn/obj2") || fail "object PUT after the restart"
[ "$c" = 201 ] || fail "object PUT after the restart answered $c"
n=$(inside find /srv/node/d1 -name '*.data' | wc -l)
[ "$n" -ge 1 ] || fail "the restarted server did not store its replicas"
say "GET and PUT after the restart work"

# ---- restart the target (as in a rolling upgrade): it returns once every
# server is ready again, with new processes
declare -A before
for u in "${units[@]}"; do before[$u]=$(inside systemctl show -p MainPID --value "$u"); done
restart_t0=$(date +%s.%N)
inside systemctl restart swiftlet.target || fail "systemctl restart swiftlet.target"
took=$(since "$restart_t0")
for u in "${units[@]}"; do
    s=$(inside systemctl show -p ActiveState --value "$u")
    pid=$(inside systemctl show -p MainPID --value "$u")
    [ "$s" = active ] || fail "$u is $s right after the restart"
    [ "$pid" != "${before[$u]}" ] || fail "$u was not restarted"
done
curl -sS -m 30 -f -H "X-Auth-Token: $TOKEN" -o got "$STORAGE/nspawn/obj" || fail "GET right after the restart"
cmp -s obj got || fail "GET right after the restart returned other bytes"
say "systemctl restart swiftlet.target: every server new and ready when it returned ($took s)"

# ---- stop the target while a slow download runs: every server lets it
# finish (graceful drain), then exits cleanly
# (64 MB at 16 MB/s: far more than the socket buffers hold, so the
# servers are still sending when they get SIGTERM.)
head -c 64000000 /dev/urandom >big
c=$(code -T big "$STORAGE/nspawn/big") || fail "64 MB PUT"
[ "$c" = 201 ] || fail "64 MB PUT answered $c"
curl -sS -m 60 -f --limit-rate 16M -H "X-Auth-Token: $TOKEN" -o slow "$STORAGE/nspawn/big" &
slow=$!
for _ in $(seq 1 100); do
    [ -s slow ] && break
    sleep 0.05
done
[ -s slow ] || fail "the slow download did not start"
stop_t0=$(date +%s.%N)
inside systemctl stop swiftlet.target || fail "systemctl stop swiftlet.target"
# That returns once the target is down (it stops before the servers it is
# ordered after); the servers take as long as their drain.
for _ in $(seq 1 900); do
    up=$(inside systemctl list-units --no-legend --state=active,deactivating 'swiftlet-*' | wc -l)
    [ "$up" = 0 ] && break
    sleep 0.1
done
[ "$up" = 0 ] || fail "servers still running 90 s after the stop"
took=$(since "$stop_t0")
wait $slow || fail "the download in flight during the stop failed"
cmp -s big slow || fail "the download in flight during the stop got other bytes"
# The stop waited for the download (it did not cut it and close early).
awk -v t="$took" 'BEGIN { exit !(t >= 1.0) }' || fail "the stop took only $took s: no drain?"
for u in "${units[@]}"; do
    s=$(inside systemctl show -p ActiveState --value "$u")
    r=$(inside systemctl show -p Result --value "$u")
    if [ "$s" != inactive ] || [ "$r" != success ]; then fail "$u after stop: $s, result $r"; fi
done
log=$(inside journalctl --no-pager -u swiftlet-proxy-server.service)
grep -q "signal 15 received: stopping" <<<"$log" || fail "the proxy did not log its SIGTERM stop"
say "systemctl stop swiftlet.target during a 4 s download: every server waited for it, then stopped (result success): $took s"

poweroff || fail "poweroff"
for _ in $(seq 1 300); do
    kill -0 "$NSPAWN" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$NSPAWN" 2>/dev/null && fail "the container did not power off in 30 s"
wait "$NSPAWN" 2>/dev/null || true
NSPAWN=""
LEADER=""
echo "PASS: swiftlet systemd units ($(($(date +%s) - START)) s)"
