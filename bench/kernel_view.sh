#!/bin/bash
# bench/kernel_view.sh: the kernel view of tcpfs against ss and /proc/net/tcp,
# measured side by side in one run, as root, in a fresh network namespace.
#
# For each N (default 1000 20000 100000 established loopback sockets):
#   list:  ls MNT/kernel | wc -l (and ls -f, unsorted)   vs  ss -tan | wc -l  vs  cat /proc/net/tcp{,6} | wc -l
#   read:  one socket's `state` file, open+read+close, averaged over READS reads
#          (and one FUSE round trip: a pread of it kept open)
#   pid:   every MNT/kernel/*/pid (through xargs)  vs  ss -tanp | wc -l
#   pids:  cat MNT/kernel/pids | wc -l (the bulk file)  vs  ss -tanp | wc -l
# Each figure is the median of RUNS runs after one warm-up. Prints absolute
# figures, ratios (tcpfs / reference) and the issues' targets.
#
# The listing is not quite like for like: kernel/ has the sockets that are
# bound but neither listening nor connected too, which `ss -tan` leaves out
# (iproute2 6.5's -B shows them); for those the kernel's dump walks its bind
# table as well as its established one. tcpfs asks for both families at
# once, so the kernel walks its tables once where `ss` has it walk them
# twice (once per family).
#
# usage: bench/kernel_view.sh [N...]
# env:   TCPFS (default build/src/tcpfs), RUNS (3), READS (200),
#        STEP_TIMEOUT (300 s per command), DEADLINE (2400 s for the whole run)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${TCPFS:=$HERE/../build/src/tcpfs}"
: "${RUNS:=3}" "${READS:=200}" "${STEP_TIMEOUT:=300}" "${DEADLINE:=2400}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
NS=("$@")
[ ${#NS[@]} -gt 0 ] || NS=(1000 20000 100000)

[ "$(id -u)" -eq 0 ] || { echo "kernel_view: run as root" >&2; exit 77; }
[ -x "$TCPFS" ] || { echo "kernel_view: no tcpfs at $TCPFS (set TCPFS=)" >&2; exit 1; }

# A fresh network namespace and a private mount namespace: the sockets and
# the mount go with the last process.
if [ "${KERNEL_VIEW_INNER:-}" != "$$" ]; then
	KERNEL_VIEW_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/tcpfs-bench.XXXXXX)
MNT=$WORK/mnt
DPID= HPID=
cleanup() {
	[ -z "$HPID" ] || { exec {HIN}>&- 2>/dev/null; kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; }
	[ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
	umount -l "$MNT" 2>/dev/null
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap '' PIPE

# Every socket is a file: the system-wide table must hold them all (the
# per-process limit is kernel_pairs.py's business: it spreads the sockets
# over processes of at most 16000 each).
max=$(printf '%s\n' "${NS[@]}" | sort -n | tail -1)
filemax=$(cat /proc/sys/fs/file-max)
[ "$filemax" -gt $((max + 65536)) ] ||
	echo "kernel_view: fs.file-max is $filemax, N=$max may not fit" >&2

ip link set lo up
# Clients bind 127.1.K.1, 20000 connections each, ports from this range.
sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
sysctl -qw net.core.somaxconn=4096

mkdir -p "$MNT"
"$TCPFS" "$MNT" -f >"$WORK/tcpfs.log" 2>&1 &
DPID=$!
for ((i = 0; i < 100; i++)); do
	[ -d "$MNT/kernel" ] && break
	sleep 0.1
done
[ -d "$MNT/kernel" ] || { echo "tcpfs did not mount: $(cat "$WORK/tcpfs.log")" >&2; exit 1; }

mkfifo "$WORK/in" "$WORK/out"
"$PY" "$HERE/kernel_pairs.py" <"$WORK/in" >"$WORK/out" &
HPID=$!
exec {HIN}>"$WORK/in" {HOUT}<"$WORK/out"

T0=$SECONDS
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
over_time() { [ $((SECONDS - T0)) -ge "$DEADLINE" ]; }

. "$HERE/stats.sh"
# timed CMD: run CMD (bash) RUNS times after a warm-up; LAST_OUT is its
# output, TIMED the median wall time in ms ("-" if it timed out).
timed() {
	local cmd=$1 i t0 t1 times=()
	# pipefail: a listing that failed (a dead daemon) is no figure, where
	# its pipe's wc would have made it a fast one
	LAST_OUT=$(timeout -k 5 "$STEP_TIMEOUT" bash -o pipefail -c "$cmd" 2>/dev/null) || { TIMED=-; return; }
	for ((i = 0; i < RUNS; i++)); do
		t0=$EPOCHREALTIME
		LAST_OUT=$(timeout -k 5 "$STEP_TIMEOUT" bash -o pipefail -c "$cmd" 2>/dev/null) || { TIMED=-; return; }
		t1=$EPOCHREALTIME
		times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
	done
	TIMED=$(printf '%s\n' "${times[@]}" | median)
}

# One socket's state: open+read+close READS times, µs each (median of RUNS);
# with "rt", one pread of the file kept open instead: a single FUSE round
# trip (a READ), the unit of every other figure.
read_cost() {
	timeout -k 5 "$STEP_TIMEOUT" "$PY" - "$1" "$READS" "$RUNS" "${2:-}" <<'PY' || echo -
import os, sys, time
path, reads, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kept = os.open(path, os.O_RDONLY)
def once():
    fd = os.open(path, os.O_RDONLY)
    os.read(fd, 4096)
    os.close(fd)
if sys.argv[4] == "rt":
    once = lambda: os.pread(kept, 4096, 0)
once()
res = []
for _ in range(runs):
    t0 = time.perf_counter()
    for _ in range(reads):
        once()
    res.append((time.perf_counter() - t0) / reads * 1e6)
res.sort()
print("%.1f" % res[len(res) // 2])
PY
}

PIDCMD="cd '$MNT/kernel' && ls -f | grep -v '^\(\.\.\?\|pids\)\$' | sed 's|\$|/pid|' | xargs -d '\n' cat 2>/dev/null | wc -l"
declare -A R
printf '%-7s %8s %9s %9s %7s %7s | %9s | %10s %10s %7s | %9s %8s\n' N "ls ms" "ss ms" "proc ms" ls/ss ls/proc "read us" "pid ms" "ss-p ms" pid/ssp "pids ms" pids/ssp
for n in "${NS[@]}"; do
	if over_time; then
		echo "deadline of $DEADLINE s reached: stopping before N=$n"
		break
	fi
	printf 'grow %d\n' "$n" >&"$HIN"
	if ! IFS= read -r -t "$STEP_TIMEOUT" reply <&"$HOUT" || [[ $reply != ok* ]]; then
		echo "N=$n: could not open the sockets: ${reply:-no reply}" >&2
		break
	fi
	sleep 1
	timed "ls '$MNT/kernel' | wc -l"
	R[$n.ls]=$TIMED R[$n.lscount]=$LAST_OUT
	timed "ls -f '$MNT/kernel' | wc -l"
	R[$n.lsf]=$TIMED
	timed "ss -tan | wc -l"
	R[$n.ss]=$TIMED R[$n.sscount]=$LAST_OUT
	timed "cat /proc/net/tcp /proc/net/tcp6 | wc -l"
	R[$n.proc]=$TIMED
	one=$(ls -f "$MNT/kernel" 2>/dev/null | grep -m 1 -F -- '-127.0.0.1:')
	R[$n.read]=$(read_cost "$MNT/kernel/$one/state")
	R[$n.rt]=$(read_cost "$MNT/kernel/$one/state" rt)
	timed "$PIDCMD"
	R[$n.pid]=$TIMED R[$n.pidcount]=$LAST_OUT
	timed "ss -tanp | wc -l"
	R[$n.ssp]=$TIMED R[$n.sspcount]=$LAST_OUT
	timed "cat '$MNT/kernel/pids' | wc -l"
	R[$n.pids]=$TIMED R[$n.pidscount]=$LAST_OUT
	printf '%-7s %8s %9s %9s %7s %7s | %9s | %10s %10s %7s | %9s %8s\n' "$n" "${R[$n.ls]}" "${R[$n.ss]}" \
		"${R[$n.proc]}" "$(ratio "${R[$n.ls]}" "${R[$n.ss]}")" "$(ratio "${R[$n.ls]}" "${R[$n.proc]}")" \
		"${R[$n.read]}" "${R[$n.pid]}" "${R[$n.ssp]}" "$(ratio "${R[$n.pid]}" "${R[$n.ssp]}")" \
		"${R[$n.pids]}" "$(ratio "${R[$n.pids]}" "${R[$n.ssp]}")"
	read -r _ held secs holders <<<"$reply"
	echo "        (sockets: $held held by $holders processes, ${secs}s to open; ls lists ${R[$n.lscount]}, ss ${R[$n.sscount]} lines; pid lines ${R[$n.pidcount]}, pids lines ${R[$n.pidscount]}, ss -tanp ${R[$n.sspcount]}; ls -f ${R[$n.lsf]} ms, $(ratio "${R[$n.lsf]}" "${R[$n.ss]}")x ss -tan)"
	# every pid file is 6 round trips here (lookups of NAME and of pid,
	# whose name the kernel keeps 1 s only, the open, two reads, the
	# release): that floor against ss -tanp
	floor=$(awk -v rt="${R[$n.rt]}" -v n="${R[$n.pidcount]}" 'BEGIN { if (rt == "-" || n !~ /^[0-9]+$/) print "-"; else printf "%.0f", 6 * rt * n / 1000 }')
	echo "        (one FUSE round trip ${R[$n.rt]} us; pid files' floor, 6 a file: $floor ms, $(ratio "$floor" "${R[$n.ssp]}")x ss -tanp)"
done

first=${NS[0]} last=${NS[-1]}
echo
echo "targets (issues 2 and 12):"
if [ -n "${R[$last.ls]:-}" ]; then
	x=$(ratio "${R[$last.ls]}" "${R[$last.ss]}")
	echo "  ls MNT/kernel at N=$last <= 0.8x ss -tan:   ${x}x  $(awk -v x="$x" 'BEGIN { print (x != "-" && x <= 0.8) ? "met" : "NOT met" }')"
	x=$(ratio "${R[$last.lsf]}" "${R[$last.ss]}")
	echo "  ls -f MNT/kernel at N=$last <= 0.8x ss -tan: ${x}x  $(awk -v x="$x" 'BEGIN { print (x != "-" && x <= 0.8) ? "met" : "NOT met" }')"
	x=$(ratio "${R[$last.read]}" "${R[$first.read]}")
	if [ "$first" = "$last" ]; then
		echo "  one read flat in N: needs two N (one given)"
	else
		echo "  one read flat in N (N=$last / N=$first <= 1.2): ${x}x  $(awk -v x="$x" 'BEGIN { print (x != "-" && x <= 1.2) ? "met" : "NOT met" }')"
	fi
	x=$(ratio "${R[$last.pid]}" "${R[$last.ssp]}")
	echo "  all pid files at N=$last <= 1x ss -tanp:    ${x}x  $(awk -v x="$x" 'BEGIN { print (x != "-" && x <= 1) ? "met" : "NOT met" }')"
	x=$(ratio "${R[$last.pids]}" "${R[$last.ssp]}")
	echo "  kernel/pids at N=$last <= 0.3x ss -tanp:    ${x}x  $(awk -v x="$x" 'BEGIN { print (x != "-" && x <= 0.3) ? "met" : "NOT met" }')"
else
	echo "  no figures at N=$last"
fi
echo "(total $((SECONDS - T0)) s; tcpfs $TCPFS; $(uname -r); $(nproc) CPUs; load at end $(cut -d' ' -f1-3 /proc/loadavg))"
