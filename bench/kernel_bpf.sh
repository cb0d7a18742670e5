#!/bin/bash
# bench/kernel_bpf.sh: the kbpf backend (src/bpf) measured in one run, as
# root, in a fresh network namespace.
#
#   seq:   one socket's sequence numbers by kbpf_seq (BPF_PROG_TEST_RUN,
#          one socket lookup) beside diag_get (sock_diag) for the same
#          socket, in us per call, at each N (default 1000 100000)
#          established loopback sockets held by kernel_pairs.py; the target
#          is kbpf flat within 1.2x from the smallest N to the largest
#   rate:  kernel connect()+close() per second on loopback (tcpio connloop
#          against tcpio drain), without kbpf and with kbpf attached and
#          the namespace watched (a kbpf_probe counts the events, draining
#          as the daemon would), alternated RUNS times; target >= 0.95x;
#          once on every CPU, once all on CPU 0 (CPU-bound: the worst case)
# Each figure is the median of RUNS runs. Prints absolute figures and ratios.
#
# usage: bench/kernel_bpf.sh [seq|rate] [N...]   (default both)
# env:   KBPF_PROBE (default build/tests/integration/kbpf_probe), RUNS (5),
#        ITER (20000 lookups per run), CONNS (30000 connections per run)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${KBPF_PROBE:=$HERE/../build/tests/integration/kbpf_probe}"
: "${RUNS:=5}" "${ITER:=20000}" "${CONNS:=30000}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

[ "$(id -u)" -eq 0 ] || { echo "kernel_bpf: run as root" >&2; exit 77; }
[ -x "$KBPF_PROBE" ] || { echo "kernel_bpf: no kbpf_probe at $KBPF_PROBE (build with -Dbpf=enabled, or set KBPF_PROBE=)" >&2; exit 77; }

if [ "${KERNEL_BPF_INNER:-}" != "$$" ]; then
	KERNEL_BPF_INNER=$$ exec unshare --net -- bash "$0" "$@"
fi

WHAT=all
case ${1:-} in seq | rate) WHAT=$1; shift ;; esac
NS=("$@")
[ ${#NS[@]} -gt 0 ] || NS=(1000 100000)

WORK=$(mktemp -d /tmp/tcpfs-bench-bpf.XXXXXX)
HPID=
cleanup() {
	[ -z "$HPID" ] || { exec {HIN}>&- 2>/dev/null; kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; }
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap '' PIPE

ip link set lo up
sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
sysctl -qw net.core.somaxconn=4096
cc -O2 -o "$WORK/tcpio" "$HERE/tcpio.c" || exit 1
"$KBPF_PROBE" open >/dev/null || { "$KBPF_PROBE" open; exit 1; }

. "$HERE/stats.sh"
echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"

seq_bench() {
mkfifo "$WORK/in" "$WORK/out"
"$PY" "$HERE/kernel_pairs.py" <"$WORK/in" >"$WORK/out" &
HPID=$!
exec {HIN}>"$WORK/in" {HOUT}<"$WORK/out"

declare -A KB DG
for n in "${NS[@]}"; do
	echo "grow $n" >&"$HIN"
	read -r reply <&"$HOUT"
	[[ $reply == ok* ]] || { echo "kernel_pairs: $reply" >&2; exit 1; }
	# one established socket of the pairs: local and peer address:port
	read -r la lp ra rp < <(ss -tnH state established | awk 'NR == 1 {
		n = split($3, l, ":"); m = split($4, r, ":");
		print l[1], l[2], r[1], r[2]; exit }')
	total=$(ss -tanH | wc -l)
	: >"$WORK/kb" ; : >"$WORK/dg"
	for ((i = 0; i < RUNS; i++)); do
		out=$("$KBPF_PROBE" seqbench "$la" "$lp" "$ra" "$rp" "$ITER") ||
			{ echo "seqbench: $out" >&2; exit 1; }
		# kbpf_us=X diag_us=Y
		set -- ${out//=/ }
		echo "$2" >>"$WORK/kb"
		echo "$4" >>"$WORK/dg"
	done
	KB[$n]=$(median <"$WORK/kb")
	DG[$n]=$(median <"$WORK/dg")
	printf 'seq  N=%-7s (%s sockets): kbpf_seq %6.2f us   diag_get %7.2f us   diag/kbpf %5.1fx\n' \
		"$n" "$total" "${KB[$n]}" "${DG[$n]}" "$(echo "${DG[$n]} / ${KB[$n]}" | bc -l)"
done
exec {HIN}>&-
wait "$HPID" 2>/dev/null
HPID=
first=${NS[0]} last=${NS[-1]}
ratio=$(echo "${KB[$last]} / ${KB[$first]}" | bc -l)
printf 'seq  kbpf at N=%s / at N=%s: %.2fx (target <= 1.2x): %s\n' "$last" "$first" "$ratio" \
	"$(echo "$ratio <= 1.2" | bc -l | sed 's/1/met/;s/0/NOT met/')"
}

rate_bench() {
# Each run in a namespace of its own: the TIME_WAIT sockets of a run (60 s)
# would slow the next one's connect(). CPUS: "all", or a list for taskset
# (the loop, its peer and the event reader all on those CPUs).
cat >"$WORK/run.sh" <<'RUN'
# run.sh TCPIO CONNS CPUS [PROBE]: connect+close rate in this (fresh)
# namespace, with PROBE counting the events of the namespace if given
ip link set lo up
sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
pin=()
[ "$3" = all ] || pin=(taskset -c "$3")
"${pin[@]}" "$1" drain 9000 &
d=$!
cnt=
if [ -n "${4:-}" ]; then
	coproc CNT { "${pin[@]}" "$4" count; }
	read -r ready <&"${CNT[0]}"
	[[ $ready == ready* ]] || { echo "kbpf_probe count: $ready" >&2; exit 1; }
fi
sleep 0.1
r=$("${pin[@]}" "$1" connloop 127.0.0.1 9000 "$2" | awk '{printf "%.0f", $1 / $2}')
if [ -n "${4:-}" ]; then
	sleep 0.5 # the peer may still be closing its last sockets
	exec {CNT[1]}>&-
	read -r cnt <&"${CNT[0]}"
	wait "$CNT_PID"
fi
kill "$d"
echo "$r $cnt"
RUN
local cpus
for cpus in all 0; do
	rate() { unshare --net bash "$WORK/run.sh" "$WORK/tcpio" "$CONNS" "$cpus" "$@"; }
	: >"$WORK/off"
	: >"$WORK/on"
	echo "rate on CPUs: $cpus"
	rate >/dev/null # warm-up
	for ((i = 0; i < RUNS; i++)); do
		# off and on in turns, the first of each pair changing (ABBA)
		if ((i % 2)); then
			a=$(rate "$KBPF_PROBE") b=$(rate)
		else
			b=$(rate) a=$(rate "$KBPF_PROBE")
		fi
		echo "${b%% *}" >>"$WORK/off"
		echo "${a%% *}" >>"$WORK/on"
		echo "  run $i: off ${b%% *}/s, on ${a%% *}/s (${a#* })"
	done
	off=$(median <"$WORK/off") on=$(median <"$WORK/on")
	ratio=$(echo "$on / $off" | bc -l)
	printf 'rate connect+close (CPUs %s): off %s/s, kbpf on %s/s: %.3fx (target >= 0.95x): %s\n' \
		"$cpus" "$off" "$on" "$ratio" \
		"$(echo "$ratio >= 0.95" | bc -l | sed 's/1/met/;s/0/NOT met/')"
done
}

# seq before rate: the sockets kernel_pairs.py holds are gone by then
[ "$WHAT" = rate ] || seq_bench
[ "$WHAT" = seq ] || rate_bench
