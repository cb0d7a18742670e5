#!/bin/bash
# bench/engine_tun.sh: the engine behind its TUN device against the kernel,
# measured side by side in one run, as root, in fresh network namespaces.
#
#  1. bulk throughput engine->kernel and kernel->engine through the `data`
#     file (dd bs=1M; the kernel end is bench/tcpio.c), at each MTU;
#  2. the references: kernel<->kernel TCP through bench/tunfwd.c, a userspace
#     forwarder joining two TUN devices in two namespaces, and over a veth
#     pair joining the same two namespaces, at the same MTU;
#  3. the engine's own throughput without FUSE: bench/engine_raw.c drives the
#     daemon's stack (same TUN link, loop, engine) from memory; the `data`
#     path is compared with it;
#  4. connect+close per second through ctl (clone, connect, close) against
#     the kernel's connect()/close() to the same listener;
#  5. the daemon's VmRSS/VmHWM with MEMCONNS engine connections open to a
#     kernel listener that never accepts (they wait in its accept queue).
# Throughput figures are the median of REPS runs of DUR seconds each, the
# runs of every kind interleaved so that background load hits them alike.
# The helpers are built with cc -O2 into a temporary directory.
#
# How to read it: "x fwd" divides by the forwarder's figure, "x engine" the
# `data` figure by engine_raw's in the same direction. The forwarder path
# runs two kernel TCP stacks (sender and receiver) plus the copy, the
# engine path one kernel stack plus the engine, so on a small machine the
# engine can beat the "limit". engine_raw reads in chunks of 64 KiB or
# more, as dd does through `data`. Senders stop after DUR seconds and
# close; engine->kernel is timed at the kernel's sink (first byte to EOF),
# kernel->engine by the reader (the go byte to EOF).
#
# Steps 1 and 3 run once per OFFLOADS setting (tcpfs --offload=on|off, and
# engine_raw's OFFLOAD=), so that the offloads' gain is a ratio of one run.
# With BASE= (the build directory of an older revision), step 1 runs its
# tcpfs too, interleaved with the rest: issue 12's "today's figure in the
# same run". --offload=off is no baseline for that any more, since the
# paths both settings share (the receive queue, the checksum) got faster.
# The revision before issue 12's work is f3fccf5:
#   git worktree add --detach /work/base f3fccf5 &&
#   meson setup /work/base/build /work/base -Db_lto=false &&
#   ninja -C /work/base/build src/tcpfs
#
# usage: bench/engine_tun.sh
# env:   BUILD (default build; needs src/tcpfs and its static libraries),
#        BASE (unset; a build directory whose src/tcpfs is the baseline), MTUS ("1500 65000"), OFFLOADS ("on off"), DUR (3 s), REPS (5), CONNS (2000), SHCONNS
#        (1000), KCONNS (5000), MEMCONNS (10000), FWD_THREADS (0: one thread
#        like the daemon; 1: one per direction), PROFILE (0; 1: strace -c and
#        perf of the daemon during one engine->kernel transfer per MTU),
#        STEP_TIMEOUT (60 s per step), DEADLINE (420 s for the whole run)
set -u -o pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

HERE=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:=$HERE/../build}"
: "${MTUS:=1500 65000}" "${OFFLOADS:=on off}" "${DUR:=3}" "${REPS:=5}" "${CONNS:=2000}" "${SHCONNS:=1000}"
: "${KCONNS:=5000}" "${MEMCONNS:=10000}" "${FWD_THREADS:=0}" "${PROFILE:=0}"
: "${STEP_TIMEOUT:=60}" "${DEADLINE:=420}"
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "engine_tun: no build directory ${BUILD}" >&2; exit 1; }
TCPFS=$BUILD/src/tcpfs
if [ -n "${BASE:-}" ]; then
	BASE=$(cd "$BASE" 2>/dev/null && pwd) && [ -x "$BASE/src/tcpfs" ] ||
		{ echo "engine_tun: no tcpfs in BASE=${BASE}" >&2; exit 1; }
	case " $OFFLOADS " in *" base "*) ;; *) OFFLOADS="$OFFLOADS base" ;; esac
fi
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

[ "$(id -u)" -eq 0 ] || { echo "engine_tun: run as root" >&2; exit 77; }
[ -x "$TCPFS" ] || { echo "engine_tun: no tcpfs at $TCPFS (set BUILD=)" >&2; exit 1; }
[ -c /dev/net/tun ] || { echo "engine_tun: no /dev/net/tun" >&2; exit 77; }

# The engine's namespace (daemon, its TUN link, the kernel peers) is this
# script's own fresh one, with a private mount namespace for the mount.
if [ "${ENGINE_TUN_INNER:-}" != "$$" ]; then
	ENGINE_TUN_INNER=$$ exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi

WORK=$(mktemp -d /tmp/tcpfs-engine-bench.XXXXXX)
MNT=$WORK/mnt BIN=$WORK/bin
DPID= FPID= NA= NB= NR=
BG=()
. "$HERE/daemon.sh"
. "$HERE/stats.sh"
cleanup() {
	local p
	stop_daemon
	for p in "${BG[@]}" $FPID $NA $NB $NR; do kill "$p" 2>/dev/null; done
	for p in "${BG[@]}" $FPID $NA $NB $NR; do wait "$p" 2>/dev/null; done
	# helpers still running in a subshell's background: by their path
	for p in /proc/[0-9]*; do
		grep -qF "$WORK/" "$p/cmdline" 2>/dev/null && kill "${p#/proc/}" 2>/dev/null
	done
	umount -l "$MNT" 2>/dev/null
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap '' PIPE

T0=$SECONDS
over_time() { [ $((SECONDS - T0)) -ge "$DEADLINE" ]; }
note() { echo "  ($*)"; }

echo "engine_tun: $(date -u '+%F %T UTC'); $(uname -r); $(nproc) CPUs; uptime:$(uptime)"
buildtype=$("$PY" -c "import json,sys;print([o['value'] for o in json.load(open(sys.argv[1])) if o['name']=='buildtype'][0])" \
	"$BUILD/meson-info/intro-buildoptions.json" 2>/dev/null || echo '?')
echo "tcpfs: $TCPFS (buildtype $buildtype; $(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo 'no git'))"
[ -z "${BASE:-}" ] || echo "base:  $BASE/src/tcpfs ($(git -C "$BASE" describe --always --dirty 2>/dev/null || echo 'no git'))"
echo "DUR=${DUR}s REPS=$REPS MTUS='$MTUS' OFFLOADS='$OFFLOADS' CONNS=$CONNS SHCONNS=$SHCONNS KCONNS=$KCONNS MEMCONNS=$MEMCONNS FWD_THREADS=$FWD_THREADS"

# ---- helpers ----
mkdir -p "$MNT" "$BIN"
cc -O2 -o "$BIN/tcpio" "$HERE/tcpio.c" || exit 1
cc -O2 -pthread -o "$BIN/tunfwd" "$HERE/tunfwd.c" || exit 1
RAW=1
if ! cc -O2 -flto -D_GNU_SOURCE -I"$HERE/../include" -o "$BIN/engine_raw" "$HERE/engine_raw.c" \
	"$BUILD/src/drv/libdrv.a" "$BUILD/src/util/libutil.a" "$BUILD/src/tcp/libtcp.a" "$BUILD/src/link/liblink.a" \
	"$BUILD/src/wire/libwire.a" $(pkg-config --libs libmnl fuse3) -lm 2>"$WORK/raw.err"; then
	RAW=0
	echo "engine_raw did not build against $BUILD (engine-only figures skipped):"
	sed 's/^/    /' "$WORK/raw.err" | head -5
fi

# Namespaces: this one (the engine's), A and B (joined by the forwarder),
# R (engine_raw's own TUN link). A namespace lives as long as its sleeper.
ip link set lo up
sysctl -qw net.ipv4.ip_local_port_range="30000 65000"
newns() {
	unshare --net -- sleep 100000 &
	local p=$!
	for ((i = 0; i < 50; i++)); do
		[ "$(readlink /proc/$p/ns/net)" != "$(readlink /proc/$$/ns/net)" ] && break
		sleep 0.02
	done
	nsenter --net=/proc/$p/ns/net ip link set lo up
	nsenter --net=/proc/$p/ns/net sysctl -qw net.ipv4.ip_local_port_range="30000 65000"
	REPLY=$p
}
newns; NA=$REPLY
newns; NB=$REPLY
newns; NR=$REPLY
# inns NS CMD...: run CMD in the namespace of sleeper NS (empty: this one)
inns() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then nsenter --net=/proc/$ns/ns/net -- "$@"; else "$@"; fi
}

fwdflag=
[ "$FWD_THREADS" = 1 ] && fwdflag=-t
"$BIN/tunfwd" $fwdflag /proc/$NA/ns/net tfa /proc/$NB/ns/net tfb >"$WORK/fwd.out" 2>&1 &
FPID=$!
for ((i = 0; i < 50; i++)); do grep -q ready "$WORK/fwd.out" && break; sleep 0.05; done
grep -q ready "$WORK/fwd.out" || { echo "tunfwd did not start: $(cat "$WORK/fwd.out")"; exit 1; }
inns "$NA" ip addr add 198.18.0.1/30 dev tfa
inns "$NB" ip addr add 198.18.0.2/30 dev tfb
# the same two namespaces over a veth pair: the kernel's own best case
ip link add vba netns /proc/$NA/ns/net type veth peer name vbb netns /proc/$NB/ns/net ||
	{ echo "no veth pair"; exit 1; }
inns "$NA" ip addr add 198.18.1.1/30 dev vba
inns "$NB" ip addr add 198.18.1.2/30 dev vbb

PORT=20000 # listeners: below the ephemeral range (30000-65000)
nextport() { PORT=$((PORT + 1)); }
wait_listen() { # NS PORT
	for ((i = 0; i < 100; i++)); do
		inns "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.02
	done
	return 1
}
# bits/s from a "BYTES SECONDS" line
rate() { awk '$2 > 0 { printf "%.0f", $1 * 8 / $2; ok = 1 } END { if (!ok) print "-" }' "$1" 2>/dev/null || echo -; }
gbit() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else printf "%.2f", x / 1e9 }'; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' /proc/"$1"/status 2>/dev/null; }
tmo() { timeout -k 5 "$STEP_TIMEOUT" "$@"; }

start_daemon() { # MTU [OFFLOAD: on, off, or base (BASE's tcpfs, which predates --offload)]
	local bin=$TCPFS opt=(--offload="${2:-on}")
	[ "${2:-}" = base ] && bin=$BASE/src/tcpfs opt=()
	"$bin" "$MNT" -f --mtu="$1" --msl=1 "${opt[@]}" >"$WORK/tcpfs.log" 2>&1 &
	DPID=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$MNT/engine/clone" ] && ip link show tcpfs0 2>/dev/null | grep -q UP && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "  tcpfs --mtu=$1 did not start: $(head -c 400 "$WORK/tcpfs.log")"
	stop_daemon
	return 1
}

# engine_connect PORT: a new engine connection to the kernel here; its dir in ED
engine_connect() {
	local n
	n=$(tmo cat "$MNT/engine/clone") || return 1
	ED=$MNT/engine/$n
	tmo bash -c "echo connect 198.19.253.1:$1 > '$ED/ctl'" 2>>"$WORK/err"
}
engine_close() { tmo bash -c "echo close > '$ED/ctl'" 2>/dev/null; }

# ---- one run of each kind; each prints bits/s or "-" ----
run_fwd() { # [ADDR]: kernel A -> kernel B through tunfwd (or the veth)
	local p=$PORT
	inns "$NB" timeout "$STEP_TIMEOUT" "$BIN/tcpio" sink $p >"$WORK/sink" 2>>"$WORK/err" &
	local s=$!
	wait_listen "$NB" $p || { kill $s 2>/dev/null; wait $s; echo -; return; }
	inns "$NA" timeout -k 5 "$STEP_TIMEOUT" "$BIN/tcpio" send "${1:-198.18.0.2}" $p "$DUR" >/dev/null 2>>"$WORK/err"
	wait $s
	rate "$WORK/sink"
}
run_veth() { run_fwd 198.18.1.2; }
run_eng_tx() { # engine -> kernel through data
	local p=$PORT
	timeout "$STEP_TIMEOUT" "$BIN/tcpio" sink $p >"$WORK/sink" 2>>"$WORK/err" &
	local s=$!
	wait_listen "" $p && engine_connect $p || { kill $s 2>/dev/null; wait $s; echo -; return; }
	timeout -k 10 -s INT "$DUR" dd if=/dev/zero of="$ED/data" bs=1M 2>/dev/null
	engine_close
	wait $s
	rate "$WORK/sink"
}
run_eng_rx() { # kernel -> engine through data
	local p=$PORT t0 t1 bytes
	timeout "$STEP_TIMEOUT" "$BIN/tcpio" serve $p "$DUR" >/dev/null 2>>"$WORK/err" &
	local s=$!
	wait_listen "" $p && engine_connect $p || { kill $s 2>/dev/null; wait $s; echo -; return; }
	t0=$EPOCHREALTIME
	local ok=1
	tmo bash -c "printf x > '$ED/data' && dd if='$ED/data' of=/dev/null bs=1M" 2>"$WORK/dd.err" || ok=
	t1=$EPOCHREALTIME
	bytes=$(awk '/bytes/ { print $1 }' "$WORK/dd.err")
	engine_close
	wait $s
	# a run that failed (no go byte, dd killed) is no figure, not 0
	[ -n "$ok" ] && [ -n "$bytes" ] || { echo -; return; }
	echo "$bytes $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >"$WORK/rx"
	rate "$WORK/rx"
}
run_raw_tx() { # engine -> kernel, no FUSE
	[ "$RAW" = 1 ] || { echo -; return; }
	local p=$PORT
	inns "$NR" timeout "$STEP_TIMEOUT" "$BIN/tcpio" sink $p >"$WORK/sink" 2>>"$WORK/err" &
	local s=$!
	wait_listen "$NR" $p || { kill $s 2>/dev/null; wait $s; echo -; return; }
	inns "$NR" timeout -k 5 "$STEP_TIMEOUT" env OFFLOAD="$OFF" "$BIN/engine_raw" send "$MTU" 198.19.253.1:$p "$DUR" >/dev/null 2>>"$WORK/err"
	wait $s
	rate "$WORK/sink"
}
run_raw_rx() { # kernel -> engine, no FUSE
	[ "$RAW" = 1 ] || { echo -; return; }
	local p=$PORT
	inns "$NR" timeout "$STEP_TIMEOUT" "$BIN/tcpio" serve $p "$DUR" >/dev/null 2>>"$WORK/err" &
	local s=$!
	wait_listen "$NR" $p || { kill $s 2>/dev/null; wait $s; echo -; return; }
	inns "$NR" timeout -k 5 "$STEP_TIMEOUT" env OFFLOAD="$OFF" "$BIN/engine_raw" recv "$MTU" 198.19.253.1:$p >"$WORK/raw" 2>>"$WORK/err" || : >"$WORK/raw"
	wait $s
	rate "$WORK/raw"
}

# ---- profile: strace -c, then perf, of the daemon during engine->kernel ----
profile_tx() {
	local p s
	echo "  profile (MTU $MTU, engine->kernel through data, ${DUR}s each):"
	if command -v strace >/dev/null; then
		nextport; p=$PORT
		timeout "$STEP_TIMEOUT" "$BIN/tcpio" sink $p >"$WORK/sink" 2>>"$WORK/err" &
		s=$!
		wait_listen "" $p && engine_connect $p
		timeout -s INT "$DUR" strace -c -f -p "$DPID" -o "$WORK/strace.out" 2>/dev/null &
		local st=$!
		timeout -k 10 -s INT "$DUR" dd if=/dev/zero of="$ED/data" bs=1M 2>/dev/null
		wait $st; engine_close; wait $s
		echo "    under strace: $(gbit "$(rate "$WORK/sink")") Gbit/s; syscalls of the daemon (calls per MiB sent):"
		awk -v b="$(awk '{ print $1 }' "$WORK/sink")" '
			/^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ { per = b > 0 ? sprintf("%10.1f /MiB", $4 / (b / 1048576)) : ""; print $0 per; next }
			{ print }' "$WORK/strace.out" | sed -n '1,12p' | sed 's/^/    /'
	fi
	if command -v perf >/dev/null; then
		nextport; p=$PORT
		timeout "$STEP_TIMEOUT" "$BIN/tcpio" sink $p >"$WORK/sink" 2>>"$WORK/err" &
		s=$!
		wait_listen "" $p && engine_connect $p
		timeout -s INT "$DUR" perf record -q -F 2000 -g -p "$DPID" -o "$WORK/perf.data" >/dev/null 2>&1 &
		local pf=$!
		timeout -k 10 -s INT "$DUR" dd if=/dev/zero of="$ED/data" bs=1M 2>/dev/null
		wait $pf; engine_close; wait $s
		echo "    under perf: $(gbit "$(rate "$WORK/sink")") Gbit/s; the daemon's time by object, then by symbol (self, top 20):"
		tmo perf report -i "$WORK/perf.data" --no-children --stdio --sort dso -g none 2>/dev/null |
			grep -E '^ +[0-9]' 2>/dev/null | head -4 | sed 's/^/    /'
		tmo perf report -i "$WORK/perf.data" --no-children --stdio --sort sym -g none 2>/dev/null |
			grep -E '^ +[0-9]' 2>/dev/null | head -20 | sed 's/^/    /'
		echo "    including callees (syscall paths):"
		tmo perf report -i "$WORK/perf.data" --children --stdio --sort sym -g none 2>/dev/null |
			grep -E '\] (tun_chr_write_iter|tun_chr_read_iter|fuse_dev_read|fuse_dev_write|__schedule|__netif_receive_skb_one_core|do_epoll_wait)$' 2>/dev/null |
			sed 's/^/    /'
	fi
}

# ---- throughput, per MTU and offload setting ----
declare -A R
KINDS="fwd veth eng_tx eng_rx raw_tx raw_rx"
for C in $(for m in $MTUS; do for o in $OFFLOADS; do echo "$m/$o"; done; done); do
	MTU=${C%/*} OFF=${C#*/}
	over_time && { echo "deadline of $DEADLINE s reached: $C skipped"; continue; }
	echo
	echo "== MTU $MTU, offload $OFF =="
	inns "$NA" ip link set tfa mtu "$MTU" up
	inns "$NB" ip link set tfb mtu "$MTU" up
	inns "$NA" ip link set vba mtu "$MTU" up
	inns "$NB" ip link set vbb mtu "$MTU" up
	if ! start_daemon "$MTU" "$OFF"; then
		R[$C.skip]=1
		continue
	fi
	note "tcpfs0: $(ip -d link show tcpfs0 | grep -o ' mtu [0-9]*\|tun type [a-z]* pi [a-z]* vnet_hdr [a-z]*' | paste -sd' '); tfa: $(inns "$NA" ip link show tfa | grep -o 'mtu [0-9]*')"
	kinds=$KINDS
	[ "$OFF" = base ] && kinds="fwd veth eng_tx eng_rx" # engine_raw is BUILD's
	for ((r = 1; r <= REPS; r++)); do
		line="  run $r:"
		for k in $kinds; do
			nextport
			v=$(run_$k)
			R[$C.$k]="${R[$C.$k]:-} $v"
			line+=" $k $(gbit "$v")"
		done
		echo "$line  (Gbit/s)"
	done
	for k in $kinds; do R[$C.$k.med]=$(median <<<"${R[$C.$k]}"); done
	printf '  %-34s %10s %10s %10s %10s\n' "median of $REPS, Gbit/s" "" "x fwd" "x veth" "x engine"
	printf '  %-34s %10s\n' "kernel<->kernel via tunfwd" "$(gbit "${R[$C.fwd.med]}")"
	printf '  %-34s %10s\n' "kernel<->kernel via veth" "$(gbit "${R[$C.veth.med]}")"
	for k in raw_tx raw_rx eng_tx eng_rx; do
		[ -n "${R[$C.$k.med]:-}" ] || continue
		case $k in
		raw_tx) name="engine only ->kernel (engine_raw)" ;;
		raw_rx) name="engine only <-kernel (engine_raw)" ;;
		eng_tx) name="data ->kernel (dd of=data bs=1M)" ;;
		eng_rx) name="data <-kernel (dd if=data bs=1M)" ;;
		esac
		x=-
		[ "${k#eng_}" != "$k" ] && x=$(ratio "${R[$C.$k.med]}" "${R[$C.raw_${k#eng_}.med]:--}")
		printf '  %-34s %10s %10s %10s %10s\n' "$name" "$(gbit "${R[$C.$k.med]}")" \
			"$(ratio "${R[$C.$k.med]}" "${R[$C.fwd.med]}")" "$(ratio "${R[$C.$k.med]}" "${R[$C.veth.med]}")" "$x"
	done
	note "daemon VmHWM after the transfers: $(status_kb "$DPID" VmHWM) kB, VmRSS $(status_kb "$DPID" VmRSS) kB"
	[ "$PROFILE" = 1 ] && profile_tx

	# ---- connect+close per second, at the first MTU ----
	if [ -z "${R[conn.done]:-}" ] && [ "$OFF" != base ] && ! over_time; then
		R[conn.done]=1
		echo
		echo "== connect+close per second (MTU $MTU) =="
		nextport
		p=$PORT
		timeout $((STEP_TIMEOUT * 4)) "$BIN/tcpio" drain $p 2>>"$WORK/err" &
		BG+=($!)
		if wait_listen "" $p; then
			out=$(tmo "$BIN/tcpio" ctlloop "$MNT" 198.19.253.1 $p "$CONNS" 2>&1) || out="- - $out"
			R[c.eng]=$(awk '$2 > 0 { printf "%.0f", $1 / $2 }' <<<"$out")
			printf '  %-58s %8s /s  (%s)\n' "engine, C: read clone, write connect, write close" "${R[c.eng]:--}" "$out"
			out=$(tmo bash -c '
				n=$1; d=$2; p=$3; t0=$EPOCHREALTIME
				for ((i = 0; i < n; i++)); do
					read -r c < "$d/engine/clone" || exit 1
					echo "connect 198.19.253.1:$p" > "$d/engine/$c/ctl" || exit 1
					echo close > "$d/engine/$c/ctl" || exit 1
				done
				awk -v n="$n" -v a="$t0" -v b="$EPOCHREALTIME" "BEGIN { print n, b - a }"' _ "$SHCONNS" "$MNT" $p 2>&1) || out="- - $out"
			R[c.sh]=$(awk '$2 > 0 { printf "%.0f", $1 / $2 }' <<<"$out")
			printf '  %-58s %8s /s  (%s)\n' "engine, bash builtins: read <clone; echo connect/close >ctl" "${R[c.sh]:--}" "$out"
			out=$(tmo "$BIN/tcpio" connloop 198.19.253.1 $p "$KCONNS" 2>&1) || out="- - $out"
			R[c.k]=$(awk '$2 > 0 { printf "%.0f", $1 / $2 }' <<<"$out")
			printf '  %-58s %8s /s  (%s)\n' "kernel, C: socket, connect, close" "${R[c.k]:--}" "$out"
			out=$(tmo "$PY" -c '
import socket, sys, time
n, p = int(sys.argv[1]), int(sys.argv[2])
t0 = time.perf_counter()
for _ in range(n):
    s = socket.socket(); s.connect(("198.19.253.1", p)); s.close()
print(n, time.perf_counter() - t0)' "$KCONNS" $p 2>&1) || out="- - $out"
			R[c.py]=$(awk '$2 > 0 { printf "%.0f", $1 / $2 }' <<<"$out")
			printf '  %-58s %8s /s  (%s)\n' "kernel, python: socket, connect, close" "${R[c.py]:--}" "$out"
			printf '  ratios: engine C / kernel C %sx; engine bash / kernel python %sx\n' \
				"$(ratio "${R[c.eng]:--}" "${R[c.k]:--}")" "$(ratio "${R[c.sh]:--}" "${R[c.py]:--}")"
		else
			echo "  the drain listener did not start"
		fi
	fi
	stop_daemon
done

# ---- memory with MEMCONNS engine connections open ----
echo
echo "== memory with $MEMCONNS engine connections ESTABLISHED (MTU 1500) =="
if over_time; then
	echo "  deadline of $DEADLINE s reached: skipped"
elif start_daemon 1500; then
	sysctl -qw net.core.somaxconn=$((MEMCONNS + 1024)) net.ipv4.tcp_max_syn_backlog=$((MEMCONNS + 1024))
	nextport
	p=$PORT
	timeout $((STEP_TIMEOUT * 4)) "$BIN/tcpio" hold $p $((MEMCONNS + 1024)) 2>>"$WORK/err" &
	BG+=($!)
	if wait_listen "" $p; then
		rss0=$(status_kb "$DPID" VmRSS) hwm0=$(status_kb "$DPID" VmHWM)
		out=$(tmo "$BIN/tcpio" ctlopen "$MNT" 198.19.253.1 $p "$MEMCONNS" 2>&1) || out="- - $out"
		sleep 0.5
		rss1=$(status_kb "$DPID" VmRSS) hwm1=$(status_kb "$DPID" VmHWM)
		est_e=$(tmo find "$MNT/engine" -mindepth 2 -maxdepth 2 -name state -exec cat {} + 2>/dev/null | grep -c '^ESTABLISHED$')
		acceptq=$(ss -Hltn "sport = :$p" | awk '{ print $2 }')
		est_k=$(ss -Htn state established "( sport = :$p )" | wc -l)
		echo "  opened: $out (N, seconds: $(awk '$2 > 0 { printf "%.0f", $1 / $2 }' <<<"$out") connects/s)"
		echo "  engine ESTABLISHED: $est_e; kernel: $est_k established, accept queue $acceptq (never accepted)"
		echo "  daemon VmRSS: $rss0 kB idle -> $rss1 kB; VmHWM $hwm0 -> $hwm1 kB"
		awk -v a="$rss0" -v b="$rss1" -v n="$MEMCONNS" 'BEGIN { printf "  per connection: %.2f kB (VmRSS delta / N)\n", (b - a) / n }'
		vsz1=$(status_kb "$DPID" VmSize)
		out=$(tmo "$BIN/tcpio" datawrite "$MNT" 100 2>&1) || out="- - $out"
		sleep 0.5
		rss2=$(status_kb "$DPID" VmRSS) hwm2=$(status_kb "$DPID" VmHWM) vsz2=$(status_kb "$DPID" VmSize)
		echo "  after 100 bytes written to each data file ($out): VmRSS $rss2 kB, VmHWM $hwm2 kB, VmSize $vsz1 -> $vsz2 kB"
		awk -v a="$rss1" -v b="$rss2" -v c="$vsz1" -v d="$vsz2" -v n="$MEMCONNS" 'BEGIN { printf "  per connection once used: +%.2f kB resident, +%.0f kB virtual (rings are allocated on first use)\n", (b - a) / n, (d - c) / n }'
		t0=$EPOCHREALTIME
		ls_n=$(tmo ls "$MNT/engine" | wc -l)
		echo "  ls MNT/engine: $ls_n entries in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms"
		R[mem]=$rss1
	else
		echo "  the holding listener did not start"
	fi
	stop_daemon
fi

# ---- targets ----
echo
echo "targets (issues 4 and 12):"
verdict() { awk -v x="$1" -v t="$2" 'BEGIN { print (x != "-" && x + 0 >= t) ? "met" : "NOT met" }'; }
for C in $(for m in $MTUS; do for o in $OFFLOADS; do echo "$m/$o"; done; done); do
	MTU=${C%/*} OFF=${C#*/}
	[ "$OFF" = base ] && continue # a reference, below
	[ -z "${R[$C.skip]:-}" ] && [ -n "${R[$C.fwd.med]:-}" ] || { echo "  $C: no figures"; continue; }
	for d in tx rx; do
		name=$([ $d = tx ] && echo "engine->kernel" || echo "kernel->engine")
		x=$(ratio "${R[$C.eng_$d.med]}" "${R[$C.veth.med]}")
		if [ "$MTU" = 1500 ]; then
			printf '  %-10s %-15s data path >= 0.5x veth:       %5sx  %-7s (aim 0.8x: %s)\n' "$C" "$name" "$x" "$(verdict "$x" 0.5)" "$(verdict "$x" 0.8)"
		else
			printf '  %-10s %-15s data path vs veth:            %5sx  (no target; reported)\n' "$C" "$name" "$x"
		fi
		x=$(ratio "${R[$C.eng_$d.med]}" "${R[$C.raw_$d.med]}")
		printf '  %-10s %-15s data path >= 0.5x engine alone: %5sx %s\n' "$C" "$name" "$x" "$(verdict "$x" 0.5)"
		if [ "$OFF" = on ] && [ -n "${R[$MTU/off.eng_$d.med]:-}" ]; then
			x=$(ratio "${R[$C.eng_$d.med]}" "${R[$MTU/off.eng_$d.med]}")
			printf '  %-10s %-15s data path >= 5x offload off:   %5sx %s\n' "$C" "$name" "$x" "$(verdict "$x" 5)"
			x=$(ratio "${R[$C.raw_$d.med]}" "${R[$MTU/off.raw_$d.med]}")
			printf '  %-10s %-15s engine alone, on/off:          %5sx (reported)\n' "$C" "$name" "$x"
		fi
		if [ "$OFF" = on ] && [ -n "${R[$MTU/base.eng_$d.med]:-}" ]; then
			x=$(ratio "${R[$C.eng_$d.med]}" "${R[$MTU/base.eng_$d.med]}")
			printf '  %-10s %-15s data path >= 5x BASE (before): %5sx %s (BASE: %s Gbit/s)\n' "$C" "$name" "$x" \
				"$(verdict "$x" 5)" "$(gbit "${R[$MTU/base.eng_$d.med]}")"
		fi
	done
	[ "$MTU" = 1500 ] && [ "$OFF" = on ] &&
		printf '  %-10s engine alone >= 10 Gbit/s: ->kernel %s %s, <-kernel %s %s\n' "$C" \
			"$(gbit "${R[$C.raw_tx.med]}")" "$(verdict "$(gbit "${R[$C.raw_tx.med]}")" 10)" \
			"$(gbit "${R[$C.raw_rx.med]}")" "$(verdict "$(gbit "${R[$C.raw_rx.med]}")" 10)"
done
case " $MTUS " in *" 65000 "*) [ -n "${R[65000/on.skip]:-}" ] && echo "  the daemon did not accept --mtu=65000" ;; esac
echo "anchors (issue): forwarder ~2 Gbit/s at MTU 1500, ~22 at 65000 on an idle machine; smoltcp/tap 3.7 send, 7.9 receive;"
echo "  libslirp 1.07 at 1500, 9.2 at 65520. Issue 12 (offload off): data ->kernel 3.58, <-kernel 2.81 Gbit/s at 1500."
if [ -s "$WORK/err" ]; then
	echo "errors from the helpers (last 10 lines):"
	tail -10 "$WORK/err" | sed 's/^/    /'
fi
echo "(total $((SECONDS - T0)) s; load at end $(cut -d' ' -f1-3 /proc/loadavg); uptime:$(uptime))"
