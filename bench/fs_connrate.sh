#!/bin/bash
# bench/fs_connrate.sh: connect+close per second through the filesystem
# (read engine/clone, "connect" and "close" written to the new directory's
# ctl), from C and from bash, against the kernel's own connect()+close() to
# the same listener, measured in one run, as root, in a fresh network
# namespace. The listener is a kernel socket on the host's side of the
# engine's TUN device (198.19.253.1), accepting and closing.
#
# It prints:
#  1. the FUSE requests of one cycle, by opcode, from the C driver and from
#     bash (a daemon started with -d for COUNT cycles of each: libfuse's
#     debug lines, counted between two quiet points, divided by COUNT);
#  2. cycles per second, the median and the best of REPS runs of each kind,
#     the kinds interleaved so that background load hits them alike:
#       engine, C     bench/tcpio.c ctlloop: open/read/close clone,
#                     open/write/close ctl twice
#       engine, bash  read -r n < clone; echo connect/close > ctl (builtins)
#       clone fd, C   tcpio cloneloop: the clone opened for reading and
#                     writing is the new connection's ctl (as in Plan 9):
#                     open, read, write connect, write close, close
#       clone fd, bash  exec 3<> clone; read -r n <&3; echo connect/close >&3
#       kernel, C     tcpio connloop: socket, connect, close
#       kernel, bash  exec 3<>/dev/tcp/HOST/PORT; exec 3>&- (builtins)
#     and the ratios engine/kernel (C to C, bash to bash): of the medians,
#     of the best runs, and the median of each round's own ratio (the runs
#     of a round follow each other within a second or two: on a busy
#     machine that one is the steadiest);
#  3. each step's median time over STEPN rounds of one cycle each way
#     (tcpio ctlsteps: through ctl, through the clone's descriptor, and the
#     kernel's socket, connect, close), and the ratio of the kernel's sum of
#     medians to each way's: a latency view that load disturbs least.
#
# usage: bench/fs_connrate.sh
# env:   BUILD (default build), REPS (9 rounds), CONNS (500 C cycles per
#        run), SHCONNS (250 bash cycles per run), KCONNS (1500 kernel cycles
#        per run), STEPN (2000 rounds of steps), COUNT (50 cycles counted), REAP (the daemon's --reap, 300),
#        STEP_TIMEOUT (60 s per run)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:=$HERE/../build}" "${REPS:=9}" "${CONNS:=500}" "${SHCONNS:=250}"
: "${KCONNS:=1500}" "${STEPN:=2000}" "${COUNT:=50}" "${REAP:=300}" "${STEP_TIMEOUT:=60}"
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "fs_connrate: no build directory ${BUILD}" >&2; exit 1; }
TCPFS=$BUILD/src/tcpfs
[ "$(id -u)" -eq 0 ] || { echo "fs_connrate: run as root" >&2; exit 77; }
[ -x "$TCPFS" ] || { echo "fs_connrate: no tcpfs at $TCPFS (set BUILD=)" >&2; exit 1; }
[ -c /dev/net/tun ] || { echo "fs_connrate: no /dev/net/tun" >&2; exit 77; }

# a fresh network namespace, and a private mount namespace for the mount
if [ "${FS_CONNRATE_INNER:-}" != "$$" ]; then
	FS_CONNRATE_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

HOST=198.19.253.1 PORT=20001
WORK=$(mktemp -d /tmp/tcpfs-connrate.XXXXXX)
MNT=$WORK/mnt DPID= LPID=
mkdir -p "$MNT"
. "$HERE/daemon.sh"
. "$HERE/stats.sh"
cleanup() {
	stop_daemon
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
tmo() { timeout -k 5 "$STEP_TIMEOUT" "$@"; }

# start_daemon ARGS...: mounted, the TUN device up
start_daemon() {
	"$TCPFS" "$MNT" -f --msl=1 --reap="$REAP" "$@" >"$WORK/tcpfs.log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$MNT/engine/clone" ] && ip -o addr show dev tcpfs0 2>/dev/null | grep -q " $HOST/" && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "tcpfs did not start: $(head -c 400 "$WORK/tcpfs.log")" >&2
	exit 1
}

# the cycles, each printing "N SECONDS"
eng_c() { tmo "$WORK/tcpio" ctlloop "$MNT" $HOST $PORT "$1"; }
eng_sh() {
	tmo bash -c '
		n=$1 d=$2 a=$3 t0=$EPOCHREALTIME
		for ((i = 0; i < n; i++)); do
			read -r c < "$d/engine/clone" || exit 1
			echo "connect $a" > "$d/engine/$c/ctl" || exit 1
			echo close > "$d/engine/$c/ctl" || exit 1
		done
		echo "$n $t0 $EPOCHREALTIME" | awk "{ print \$1, \$3 - \$2 }"' _ "$1" "$MNT" $HOST:$PORT
}
clone_c() { tmo "$WORK/tcpio" cloneloop "$MNT" $HOST $PORT "$1"; }
clone_sh() {
	tmo bash -c '
		n=$1 d=$2 a=$3 t0=$EPOCHREALTIME
		for ((i = 0; i < n; i++)); do
			exec 3<>"$d/engine/clone" || exit 1
			read -r c <&3 || exit 1
			echo "connect $a" >&3 || exit 1
			echo close >&3 || exit 1
			exec 3>&-
		done
		echo "$n $t0 $EPOCHREALTIME" | awk "{ print \$1, \$3 - \$2 }"' _ "$1" "$MNT" $HOST:$PORT
}
ker_c() { tmo "$WORK/tcpio" connloop $HOST $PORT "$1"; }
ker_sh() {
	tmo bash -c '
		n=$1 h=$2 p=$3 t0=$EPOCHREALTIME
		for ((i = 0; i < n; i++)); do
			exec 3<>"/dev/tcp/$h/$p" || exit 1
			exec 3>&-
		done
		echo "$n $t0 $EPOCHREALTIME" | awk "{ print \$1, \$3 - \$2 }"' _ "$1" $HOST $PORT
}
persec() { awk 'NF == 2 && $2 > 0 { printf "%.0f", $1 / $2; ok = 1 } END { if (!ok) print "-" }'; }

# log_quiet: wait until the daemon's debug log stops growing (the kernel
# sends RELEASE and FORGET after the close(2) returned)
log_quiet() {
	local a b=-1
	for ((i = 0; i < 50; i++)); do
		a=$(stat -c %s "$WORK/tcpfs.log")
		[ "$a" = "$b" ] && return
		b=$a
		sleep 0.1
	done
}
# count NAME FN: FUSE requests per cycle of FN, by opcode
count() {
	local from
	log_quiet
	from=$(stat -c %s "$WORK/tcpfs.log")
	"$2" "$COUNT" >/dev/null || { echo "  $1: failed"; return; }
	log_quiet
	tail -c +"$((from + 1))" "$WORK/tcpfs.log" |
		awk -v n="$COUNT" -v what="$1" '
		/opcode: / { for (i = 1; i < NF; i++) if ($i == "opcode:") { c[$(i + 1)]++; t++ } }
		END {
			printf "  %-13s %5.2f requests per cycle:", what, t / n
			for (o in c) printf " %s %.2f", o, c[o] / n
			printf "\n"
		}'
}

echo "fs_connrate: $(date -u '+%F %T UTC'); $(uname -r); $(nproc) CPUs; uptime:$(uptime)"
echo "tcpfs: $TCPFS ($(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "REPS=$REPS CONNS=$CONNS SHCONNS=$SHCONNS KCONNS=$KCONNS STEPN=$STEPN COUNT=$COUNT REAP=$REAP"
cc -O2 -o "$WORK/tcpio" "$HERE/tcpio.c" || exit 1
ip link set lo up
sysctl -qw net.ipv4.ip_local_port_range="30000 65000"

# the listener: on the host's address of the TUN device, once it exists
start_daemon -d
"$WORK/tcpio" drain $PORT 2>"$WORK/drain.err" &
LPID=$!
for ((i = 0; i < 100; i++)); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.02; done

echo "== FUSE requests per clone+connect+close ($COUNT cycles, tcpfs -d) =="
eng_c 1 >/dev/null # the first lookups of engine/ and clone
count "engine, C" eng_c
count "engine, bash" eng_sh
count "clone fd, C" clone_c
count "clone fd, bash" clone_sh
stop_daemon

start_daemon
echo "== cycles per second (median and best of $REPS) =="
declare -A R
for ((r = 0; r < REPS; r++)); do
	kc=$(ker_c "$KCONNS" | persec) ec=$(eng_c "$CONNS" | persec) fc=$(clone_c "$CONNS" | persec)
	ks=$(ker_sh "$SHCONNS" | persec) es=$(eng_sh "$SHCONNS" | persec) fs=$(clone_sh "$SHCONNS" | persec)
	for k in kc ec fc ks es fs; do R[$k]+=" ${!k}"; done
	R[rec]+=" $(ratio "$ec" "$kc" 3)" R[rfc]+=" $(ratio "$fc" "$kc" 3)"
	R[res]+=" $(ratio "$es" "$ks" 3)" R[rfs]+=" $(ratio "$fs" "$ks" 3)"
done
for k in kc ec ks es fc fs rec rfc res rfs; do
	R[$k.m]=$(median <<<"${R[$k]}")
	R[$k.b]=$(best <<<"${R[$k]}")
done
printf '  %-15s %8s /s  best %6s  (runs:%s)\n' \
	"kernel, C" "${R[kc.m]}" "${R[kc.b]}" "${R[kc]}" "engine, C" "${R[ec.m]}" "${R[ec.b]}" "${R[ec]}" \
	"clone fd, C" "${R[fc.m]}" "${R[fc.b]}" "${R[fc]}" "kernel, bash" "${R[ks.m]}" "${R[ks.b]}" "${R[ks]}" \
	"engine, bash" "${R[es.m]}" "${R[es.b]}" "${R[es]}" "clone fd, bash" "${R[fs.m]}" "${R[fs.b]}" "${R[fs]}"
for x in m:median b:best; do
	k=${x%%:*}
	echo "  ratios of the ${x#*:}s: engine/kernel C $(ratio "${R[ec.$k]}" "${R[kc.$k]}" 3)x, bash $(ratio "${R[es.$k]}" "${R[ks.$k]}" 3)x;" \
		"clone fd/kernel C $(ratio "${R[fc.$k]}" "${R[kc.$k]}" 3)x, bash $(ratio "${R[fs.$k]}" "${R[ks.$k]}" 3)x"
done
echo "  median of the rounds' ratios: engine/kernel C ${R[rec.m]}x, bash ${R[res.m]}x;" \
	"clone fd/kernel C ${R[rfc.m]}x, bash ${R[rfs.m]}x"
echo "  (engine/kernel C by round:${R[rec]})"
echo "== each step, median of $STEPN rounds (us) =="
tmo "$WORK/tcpio" ctlsteps "$MNT" $HOST $PORT "$STEPN" | sed 's/^/  /'
echo "  uptime:$(uptime)"
