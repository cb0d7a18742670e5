#!/bin/bash
# bench/upgrade.sh: how long an upgrade in place (SIGUSR2) stops the mount,
# measured as root in a fresh network namespace.
#
# A reader lists the mount's root (opendir, readdir, releasedir: every one
# reaches the daemon) in a loop. Reference: the median time of one listing.
# Pause: the longest listing while the daemon re-executes itself, the
# median of RUNS upgrades; once with the engine (its TUN device made again),
# once with --no-engine, and once with DIRS connection directories looked up
# (the inode table handed over).
#
# usage: bench/upgrade.sh
# env:   TCPFS (default build/src/tcpfs), RUNS (5), DIRS (2000)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${TCPFS:=$HERE/../build/src/tcpfs}" "${RUNS:=5}" "${DIRS:=2000}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

[ "$(id -u)" -eq 0 ] || { echo "upgrade: run as root" >&2; exit 77; }
[ -x "$TCPFS" ] || { echo "upgrade: no tcpfs at $TCPFS (set TCPFS=)" >&2; exit 1; }
if [ "${UPGRADE_BENCH_INNER:-}" != "$$" ]; then
	UPGRADE_BENCH_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/tcpfs-bench.XXXXXX)
MNT=$WORK/mnt
DPID= HPID=
cleanup() {
	[ -z "$HPID" ] || { kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; }
	[ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
	umount -l "$MNT" 2>/dev/null
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
ip link set lo up
mkdir -p "$MNT"

# DIRS listeners, to look up as many connection directories.
"$PY" -c '
import socket, sys, time
ss = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); ss.append(s)
print("up", flush=True)
time.sleep(3600)
' "$DIRS" >"$WORK/holder.out" &
HPID=$!

# measure LABEL LOOKUP [ARGS]: mount with ARGS, RUNS upgrades.
measure() {
	local label=$1 lookup=$2 i
	shift 2
	"$TCPFS" "$MNT" -f "$@" >"$WORK/log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 100; i++)); do
		[ -d "$MNT/kernel" ] && break
		sleep 0.1
	done
	"$PY" - "$MNT" "$DPID" "$RUNS" "$label" "$lookup" <<'EOF'
import os, signal, statistics, sys, time
mnt, pid, runs, label, lookup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
if lookup:  # look up every connection directory: the kernel keeps them
    kept = [os.stat(os.path.join(mnt, "kernel", n)) for n in os.listdir(os.path.join(mnt, "kernel"))]
def one():
    t = time.perf_counter(); os.listdir(mnt); return time.perf_counter() - t
ref = statistics.median(one() for _ in range(2000))
pauses = []
for _ in range(runs):
    os.kill(pid, signal.SIGUSR2)
    end = time.perf_counter() + 1.0
    worst = 0.0
    while time.perf_counter() < end:
        worst = max(worst, one())
    pauses.append(worst)
p = statistics.median(pauses)
print(f"{label:<28} listing {ref * 1e6:8.1f} us   pause {p * 1e3:8.2f} ms"
      f" (max {max(pauses) * 1e3:.2f})   pause/listing {p / ref:9.0f}x")
EOF
	kill "$DPID"
	wait "$DPID"
	DPID=
}
for ((i = 0; i < 300; i++)); do # wait for the listeners
	grep -q up "$WORK/holder.out" 2>/dev/null && break
	sleep 0.1
done
echo "# upgrade pause: the longest listing of the root during SIGUSR2, median of $RUNS"
measure "engine" 0
measure "--no-engine" 0 --no-engine
measure "--no-engine, $DIRS dirs" 1 --no-engine
