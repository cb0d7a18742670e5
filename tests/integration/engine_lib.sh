# shellcheck shell=bash
# Common code of the engine tests (engine_*.sh): sourced after lib.sh, never
# run. The daemon's engine sits on its TUN device (tcpfs0 by default): the
# host side has HOST4/HOST6, the engine ENG4/ENG6; the kernel of the test's
# namespace is the engine's peer.

HOST4=198.19.253.1
ENG4=198.19.253.2
HOST6=fdcf:7c9f:7cfa::1
ENG6=fdcf:7c9f:7cfa::2
TUN=tcpfs0
MNT=
E=
BG_PIDS=()

# eng_start [ARGS...]: mount on $WORK/mnt with the engine (and
# --offload=$TCPFS_OFFLOAD if set); wait for the TUN device to be up with
# the host's addresses. Sets MNT and E (MNT/engine).
eng_start() {
	MNT=$WORK/mnt
	start_tcpfs "$MNT" ${TCPFS_OFFLOAD:+"--offload=$TCPFS_OFFLOAD"} "$@"
	E=$MNT/engine
	wait_until 10 test -d "$E" || die "no $E"
	wait_until 10 eval "ip -o addr show dev $TUN | grep -q ' $HOST4/'" ||
		die "$TUN has no $HOST4: $(ip -o addr show 2>&1)"
	# IPv6: the address must be usable (nodad), not tentative
	wait_until 10 eval "ip -o -6 addr show dev $TUN | grep ' $HOST6/' | grep -vq tentative" ||
		die "$TUN has no usable $HOST6: $(ip -o addr show dev $TUN 2>&1)"
}

# bg CMD...: run CMD in the background, output to $WORK/bg.N.log, killed at
# exit. Sets BG (its pid).
BG=
bg() {
	local log=$WORK/bg.${#BG_PIDS[@]}.log
	"$@" >"$log" 2>&1 </dev/null &
	BG=$!
	BG_PIDS+=("$BG")
	at_exit "kill $BG"
}

# eng_clone: a new engine connection; its number in N.
N=
eng_clone() {
	N=$(timeout -k 1 5 cat "$E/clone") || die "cat $E/clone failed"
	[[ $N =~ ^[1-9][0-9]*$ ]] || die "clone gave '$N'"
	[ -d "$E/$N" ] || die "$E/$N does not exist after clone"
}

# two_way OUT: kernel peers on the host, a sink on 9001 that writes OUT and
# a source on 9002 that sends $WORK/in.bin, and two engine connections to
# them: A sends to the sink, B receives from the source. Sets A, B, SINK.
two_way() {
	bg socat -u TCP4-LISTEN:9001,reuseaddr "OPEN:$1,creat,trunc"
	SINK=$BG
	bg socat -u "OPEN:$WORK/in.bin" TCP4-LISTEN:9002,reuseaddr
	wait_until 10 eval "[ \$(ss -tlnH '( sport = :9001 or sport = :9002 )' | wc -l) = 2 ]" ||
		die "socat did not listen"
	eng_clone
	A=$N
	eng_clone
	B=$N
	ctl_ok "$A" "connect $HOST4:9001"
	ctl_ok "$B" "connect $HOST4:9002"
}

# sink_done: the sink of two_way writes its file and exits at the engine's
# FIN; wait for that (10 s at most).
sink_done() {
	wait_until 10 eval "! kill -0 $SINK 2>/dev/null" || true
}

# ctl N TEXT: write TEXT to N's ctl in one write(2) (with a newline); prints
# "OK count" or the errno's name (ECONNREFUSED, EINVAL, ...).
ctl() {
	fsop write "$E/$1/ctl" "$2\\n"
}
# ctl_ok N TEXT: as ctl, and the test stops if it fails.
ctl_ok() {
	local out
	out=$(ctl "$1" "$2")
	[[ $out == OK* ]] || die "echo '$2' > engine/$1/ctl: $out (err: $(get "$1" err))"
}

# get N FILE: one value file of connection N (no trailing newline).
get() {
	timeout -k 1 5 cat "$E/$1/$2" 2>/dev/null
}

# state_is N STATE / wait_state SECONDS N STATE
state_is() { [ "$(get "$1" state)" = "$2" ]; }
wait_state() {
	wait_until "$1" state_is "$2" "$3"
}
# assert_state SECONDS N STATE WHAT: N reaches STATE within SECONDS.
assert_state() {
	if wait_state "$1" "$2" "$3"; then
		pass "$4"
	else
		fail "$4: engine/$2 is $(get "$2" state), not $3 after $1 s"
	fi
}

# seq_add A B: (A + B) mod 2^32
seq_add() { echo $((($1 + $2) & 0xffffffff)); }

# ss_state FILTER...: the kernel's state (ss -tanH) of the one socket FILTER
# selects; empty if none.
ss_state() {
	ss -tanH "$@" | awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//'
}
wait_ss() { # wait_ss SECONDS STATE FILTER...
	local secs=$1 st=$2
	shift 2
	wait_until "$secs" eval "[ \"\$(ss_state $(printf '%q ' "$@"))\" = '$st' ]"
}

# kname LOCAL REMOTE: the kernel/ directory named LOCAL-REMOTE#COOKIE.
# The kernel may not have taken the handshake's last ACK yet when the engine
# reports ESTABLISHED: its socket is then a request socket (SYN_RECEIVED) whose
# cookie the full socket will not keep, so wait (5 s at most) for that.
kname() {
	local n i
	for i in $(seq 50); do
		n=$(ls -1 "$MNT/kernel" | grep -F -- "$1-$2#" | head -n 1)
		[ -n "$n" ] && [ "$(cat "$MNT/kernel/$n/state" 2>/dev/null)" != SYN_RECEIVED ] &&
			break
		sleep 0.1
	done
	echo "$n"
}

# Events: a reader of MNT/events in the background, into $EVENTS.
EVENTS=
EVENTS_PID=
events_start() {
	local n
	EVENTS=$WORK/events
	timeout -k 1 300 cat "$MNT/events" >"$EVENTS" 2>&1 </dev/null &
	EVENTS_PID=$!
	at_exit "kill $EVENTS_PID"
	# a state change the reader must see: a listener made and closed
	eng_clone
	n=$N
	for ((i = 0; i < 50; i++)); do
		ctl_ok "$n" "announce $((40000 + RANDOM % 9000))"
		ctl_ok "$n" close
		grep -q "engine/$n CLOSED -> LISTEN" "$EVENTS" && break
		eng_clone
		n=$N
		sleep 0.1
	done
	grep -q "engine/$n CLOSED -> LISTEN" "$EVENTS" ||
		die "events shows no engine/$n CLOSED -> LISTEN: $(cat "$EVENTS")"
}
# events_stop: the reader leaves (Ctrl-C), before the daemon does.
events_stop() {
	if [ -n "$EVENTS_PID" ]; then
		kill -INT "$EVENTS_PID" 2>/dev/null
		wait "$EVENTS_PID" 2>/dev/null
		EVENTS_PID=
	fi
}
# events_of N: the transitions events showed for engine/N, "FROM->TO" words.
events_of() {
	awk -v c="engine/$1" '$2 == c && $4 == "->" { printf "%s%s->%s", s, $3, $5; s = " " }' "$EVENTS"
}
# assert_events SECONDS N EXPECTED WHAT: events shows exactly EXPECTED
# ("A->B B->C ...") for engine/N, within SECONDS.
events_are() { [ "$(events_of "$1")" = "$2" ]; }
assert_events() {
	wait_until "$1" events_are "$2" "$3"
	assert_eq "$3" "$(events_of "$2")" "$4"
}

# Captures on the TUN device. cap_start FILE: tshark writes FILE; returns
# once a UDP probe sent to the engine shows up in it (so nothing later is
# missed). cap_stop: another probe, then stop tshark.
CAP_PID=
CAP_TXT=
cap_probe() { # cap_probe TAG: one UDP datagram to the engine, seen by tshark
	local i
	for ((i = 0; i < 50; i++)); do
		echo "$1" >"/dev/udp/$ENG4/9" 2>/dev/null
		sleep 0.1
		grep -q "UDP" "$CAP_TXT" && [ "$(grep -c UDP "$CAP_TXT")" -ge "$2" ] && return 0
	done
	return 1
}
cap_start() { # cap_start FILE [SNAPLEN]: 0 (the default) keeps whole packets
	CAP_TXT=$WORK/cap.$$.txt
	tshark -n -i "$TUN" -s "${2:-0}" -l -P -w "$1" >"$CAP_TXT" 2>"$WORK/tshark.err" </dev/null &
	CAP_PID=$!
	at_exit "kill $CAP_PID"
	cap_probe start 1 || die "tshark on $TUN saw no probe: $(tail -n 5 "$WORK/tshark.err")"
}
cap_stop() {
	local n
	n=$(($(grep -c UDP "$CAP_TXT") + 1))
	cap_probe stop "$n" || fail "tshark saw no closing probe"
	kill -INT "$CAP_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
}
# tsk FILE FILTER FIELDS...: decode FILE's packets FILTER selects, a line
# each, fields separated by spaces; checksums verified.
tsk() {
	local file=$1 filter=$2 f args=()
	shift 2
	for f in "$@"; do args+=(-e "$f"); done
	tshark -n -r "$file" -Y "$filter" -T fields -E separator=' ' -E occurrence=f \
		-o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE \
		"${args[@]}" 2>/dev/null
}

# flagname HEX: tcp.flags (0x0012) as the trace writes them (SYN,ACK).
flagname() {
	local f=$(($1)) out='' n
	for n in 2:SYN 1:FIN 4:RST 8:PSH 16:ACK 32:URG 64:ECE 128:CWR; do
		((f & ${n%%:*})) && out+=${out:+,}${n#*:}
	done
	echo "${out:-none}"
}

# trace_segs N: N's trace, the segments only, as "DIR FLAGS seq=S ack=A
# win=W len=L" (ack and len as the trace gives them; len=0 if absent).
trace_segs() {
	timeout -k 1 5 cat "$E/$1/trace" | awk '
	$2 == ">" || $2 == "<" {
		ack = "-"; win = "-"; len = 0
		for (i = 4; i <= NF; i++) {
			if ($i ~ /^ack=/) ack = substr($i, 5)
			if ($i ~ /^win=/) win = substr($i, 5)
			if ($i ~ /^len=/) len = substr($i, 5)
		}
		print $2, $3, $4, "ack=" ack, "win=" win, "len=" len
	}'
}
# assert_events_match SECONDS N REGEX WHAT: as assert_events, a regex.
events_match() { [[ $(events_of "$1") =~ $2 ]]; }
assert_events_match() {
	wait_until "$1" events_match "$2" "$3"
	assert_match "$3" "$(events_of "$2")" "$4"
}
# dump N: N's status and the end of its trace, to stderr (after a failure).
dump() {
	{
		printf -- '--- engine/%s status\n' "$1"
		timeout -k 1 5 cat "$E/$1/status"
		printf -- '--- engine/%s trace (last 24 lines)\n' "$1"
		timeout -k 1 5 cat "$E/$1/trace" | tail -n 24
	} >&2
}
# fsop_rmdir DIR: rmdir(2); prints nothing on success, else the errno's name.
fsop_rmdir() {
	timeout -k 1 10 "$PY" -c '
import errno, os, sys
try:
    os.rmdir(sys.argv[1])
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))' "$1"
}

# eng_finish: the daemon is alive; SIGTERM ends it with status 0, its TUN
# device goes with it, and no sanitizer complained in any of its logs; then
# finish.
eng_finish() {
	local f
	events_stop
	if [ -n "$TCPFS_PID" ]; then
		kill -0 "$TCPFS_PID" 2>/dev/null && pass "daemon alive" || fail "the daemon died"
		stop_tcpfs
		assert_eq 0 "$TCPFS_RC" "the daemon's exit status after SIGTERM"
	fi
	ip link show "$TUN" >/dev/null 2>&1 && fail "$TUN is still there after the daemon's exit" ||
		pass "$TUN removed at exit"
	for f in "$WORK"/tcpfs.*.log; do
		if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$f"; then
			fail "sanitizer report in ${f##*/}: $(grep -m 3 -E "ERROR|runtime error:" "$f")"
		fi
	done
	finish
}
