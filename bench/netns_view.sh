#!/bin/bash
# bench/netns_view.sh: what reading kernel/ costs a reader in another network
# namespace than the daemon's (the daemon opens sock_diag in the reader's
# namespace and keeps it), against a reader in the daemon's own, measured
# side by side in one run, as root, in fresh namespaces.
#
# Both namespaces hold N established loopback sockets (N/2 pairs). The read:
#   ls MNT/kernel | wc -l; cat MNT/kernel/*/state | sort | uniq -c
# run through `nsenter --net=NS` in each (the same wrapper both times), the
# median of RUNS runs after one warm-up (the first read opens the other
# namespace's handles). Then, if the mount has netns/: `ls MNT/netns` with
# NNS extra namespaces (each held by a sleeping process), its median time.
# Prints absolute figures and the ratio other/own (the target: at most 1.2).
#
# usage: bench/netns_view.sh [N]        (default 1000)
# env:   TCPFS (default build/src/tcpfs), RUNS (5), NNS (200)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${TCPFS:=$HERE/../build/src/tcpfs}"
: "${RUNS:=5}" "${NNS:=200}"
N=${1:-1000}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

[ "$(id -u)" -eq 0 ] || { echo "netns_view: run as root" >&2; exit 77; }
[ -x "$TCPFS" ] || { echo "netns_view: no tcpfs at $TCPFS (set TCPFS=)" >&2; exit 1; }

if [ "${NETNS_VIEW_INNER:-}" != "$$" ]; then
	NETNS_VIEW_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/tcpfs-bench.XXXXXX)
MNT=$WORK/mnt
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	umount -l "$MNT" 2>/dev/null
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap '' PIPE

ip link set lo up
mkdir -p "$MNT"
"$TCPFS" "$MNT" -f >"$WORK/tcpfs.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 100; i++)); do
	[ -d "$MNT/kernel" ] && break
	sleep 0.1
done
[ -d "$MNT/kernel" ] || { echo "tcpfs did not mount: $(cat "$WORK/tcpfs.log")" >&2; exit 1; }

# The other namespace, held by a sleeper.
unshare --net -- sh -c 'ip link set lo up; exec sleep 3600' &
OTHER=$!
PIDS+=($OTHER)
sleep 0.2
OWN_NS=/proc/self/ns/net
OTHER_NS=/proc/$OTHER/ns/net
[ "$(readlink "$OTHER_NS")" != "$(readlink "$OWN_NS")" ] || { echo "no second namespace" >&2; exit 1; }
OWN_NS=/proc/$$/ns/net

# grow NS: N sockets in namespace NS, held by kernel_pairs.py.
grow() {
	local ns=$1 in=$WORK/in.$RANDOM out fd line
	out=$in.out
	mkfifo "$in" "$out"
	nsenter --net="$ns" -- "$PY" "$HERE/kernel_pairs.py" <"$in" >"$out" &
	PIDS+=($!)
	exec {fd}>"$in"
	echo "grow $N" >&$fd
	read -r line <"$out"
	case $line in ok*) ;; *) echo "kernel_pairs: $line" >&2; exit 1 ;; esac
	HOLD_FDS+=("$fd")
}
HOLD_FDS=()
grow "$OWN_NS"
grow "$OTHER_NS"

# median_ms NS CMD: run CMD as a reader in NS, once to warm up, then RUNS
# times; prints the median in ms; the last output is in $WORK/last.
median_ms() {
	local ns=$1 cmd=$2 i t0 t1 times=()
	nsenter --net="$ns" -- bash -c "$cmd" >"$WORK/last"
	for ((i = 0; i < RUNS; i++)); do
		t0=$(date +%s%N)
		nsenter --net="$ns" -- bash -c "$cmd" >"$WORK/last"
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

READ="ls $MNT/kernel | wc -l; cat $MNT/kernel/*/state | sort | uniq -c"
echo "netns_view: $N sockets in each namespace, median of $RUNS after a warm-up; load $(cut -d' ' -f1-3 /proc/loadavg)"
own=$(median_ms "$OWN_NS" "$READ")
own_out=$(cat "$WORK/last")
other=$(median_ms "$OTHER_NS" "$READ")
other_out=$(cat "$WORK/last")
[ "$(head -n 1 <<<"$own_out")" -ge "$N" ] && [ "$(head -n 1 <<<"$other_out")" -ge "$N" ] ||
	echo "netns_view: a listing is short: own $(head -n 1 <<<"$own_out"), other $(head -n 1 <<<"$other_out")" >&2
printf 'kernel/ read (ls + cat */state), own namespace:   %8.1f ms\n' "$own"
printf 'kernel/ read (ls + cat */state), other namespace: %8.1f ms\n' "$other"
awk -v a="$other" -v b="$own" 'BEGIN { printf "ratio other/own: %.2f (target <= 1.2)\n", a / b }'
grep -q "sequence numbers are off" "$WORK/tcpfs.log" &&
	echo "(kbpf off: no sequence numbers looked up; $(grep -m1 "are off" "$WORK/tcpfs.log"))"

[ -d "$MNT/netns" ] || { echo "no netns/ in this tcpfs: ls netns/ not measured"; exit 0; }
for ((i = 0; i < NNS; i++)); do
	unshare --net -- sleep 3600 &
	PIDS+=($!)
done
sleep 0.5
count=$(ls "$MNT/netns" | wc -l)
t=$(median_ms "$OWN_NS" "ls $MNT/netns | wc -l")
printf 'ls netns/ with %d namespaces (%d listed): %.1f ms\n' "$((NNS + 2))" "$count" "$t"
t2=$(median_ms "$OWN_NS" "ls /proc/[0-9]*/ns/net >/dev/null 2>&1; echo")
printf 'reference: ls of every /proc/PID/ns/net: %.1f ms\n' "$t2"
