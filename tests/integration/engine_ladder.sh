#!/bin/bash
# engine_ladder: the ladder file of an engine connection (issue 9). The
# daemon runs with LANG=C.UTF-8: box drawing and arrows. An engine
# connection to a socat listener on the host draws the handshake: SYN,
# SYN,ACK and ACK arrows with seq and ack relative to the ISNs its iss and
# irs files give, the options on the SYNs, its states beside them, in 80
# columns; after a close, FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT and the FINs.
# Between two engine connections (the host forwarding the engine's packets
# back to it), both columns come from their traces; of a four-tuple used
# twice, each ladder's peer is the connection of its own time, and one
# the reader may not read is not replaced by another. A connect to a port
# nobody listens on draws the SYN and the RST,ACK.
# With the kernel's history (kbpf), the peer column has the kernel
# socket's states, and the kernel socket's own ladder draws the engine's
# segments, mirrored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat
enter_netns "$@"
need_tcpfs

unset LC_ALL LC_CTYPE
export LANG=C.UTF-8
eng_start --msl=0.5 -o allow_other # allow_other: user 65534 reads too

bg socat TCP4-LISTEN:9101,reuseaddr EXEC:cat
wait_until 10 eval "ss -tlnH 'sport = :9101' | grep -q ." || die "socat did not listen"
eng_clone
A=$N
ctl_ok "$A" "connect $HOST4:9101"
wait_state 5 "$A" ESTABLISHED || die "engine/$A is $(get "$A" state)"
LOCAL=$(get "$A" local)

# left_states: this end's states, top down (the word before the first
# lifeline)
left_states() {
	sed -n 's/^[0-9. ]*\([A-Z_0-9]*\) [│|].*/\1/p' "$LAD" | grep . | paste -sd' ' -
}
# widest: the most columns a line of $LAD takes
widest() {
	"$PY" -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()))' "$LAD"
}

grep -q '^ladder$' <<<"$(ls "$E/$A")" || fail "engine/$A lists ladder"
ladder "$E/$A/ladder"
has "header: this end, its address, its ISN (the iss file)" \
	"^this end +$LOCAL +engine/$A +ISN $(get "$A" iss)\$"
has "header: the peer, its address, its ISN (the irs file)" \
	"^peer +$HOST4:9101 +.*ISN $(get "$A" irs)\$"
has "the SYN: an arrow to the right, seq 0, beside SYN_SENT" \
	'^0\.000000 +SYN_SENT │─ SYN seq=0 win=[0-9]+ ─+▶│'
has "the SYN's options" '^ +│  <mss 1460,sackOK,TS,wscale [0-9]+> +│'
has "the SYN,ACK: an arrow to the left, ack 1, beside ESTABLISHED" \
	'^[0-9.]+ +ESTABLISHED │◀─+ SYN,ACK seq=0 ack=1 win=[0-9]+ ─│'
has "the ACK: seq 1, ack 1" '^[0-9.]+ +│─ ACK seq=1 ack=1 win=[0-9]+ ─+▶│'
assert_eq "CLOSED SYN_SENT ESTABLISHED" "$(left_states)" \
	"this end's states, in order"
[ "$(widest)" -le 80 ] && pass "80 columns" || fail "$(widest) columns, not 80"
log "handshake:"$'\n'"$(cat "$LAD")"

# the kernel's side: with its history (drained every 50 ms), both ends
K=$(kname "$HOST4:9101" "$LOCAL")
[ -n "$K" ] || die "no kernel socket $HOST4:9101-$LOCAL"
# kbpf_probe (where kbpf is built) says whether kbpf runs here: then the
# kernel socket's side must be drawn
KBPF= why="kbpf is not built (no KBPF_PROBE)"
if [ -x "${KBPF_PROBE:-}" ]; then
	why=$("$KBPF_PROBE" open) && KBPF=1
fi
if [ -n "$KBPF" ]; then
	wait_until 2 eval "grep -qs 'ESTABLISHED' '$MNT/kernel/$K/ladder'" ||
		fail "kbpf runs here, but kernel/$K/ladder has no ESTABLISHED"
	ladder "$E/$A/ladder"
	has "the peer column: the kernel socket's ESTABLISHED" '│ ESTABLISHED$'
	has "header: the peer's record is the kernel socket's" \
		"^peer +$HOST4:9101 +kernel #${K##*#} +ISN"
	ladder "$MNT/kernel/$K/ladder"
	has "the kernel socket's ladder: the engine's SYN comes from the right" \
		'│◀─+ SYN seq=0 win=[0-9]+ ─│ SYN_SENT$'
	has "the kernel socket's ladder: its SYN,ACK goes right" \
		'│─ SYN,ACK seq=0 ack=1 win=[0-9]+ ─+▶│'
	has "the kernel socket's ladder: the peer is engine/$A" \
		"^peer +$LOCAL +engine/$A +ISN $(get "$A" iss)\$"
	log "the kernel socket's ladder:"$'\n'"$(cat "$LAD")"
else
	log "kbpf cannot run here ($why): the kernel socket's side is not tested"
fi

# the engine closes first; socat's cat ends, the kernel closes too
ctl_ok "$A" close
wait_state 5 "$A" TIME_WAIT || die "engine/$A is $(get "$A" state), not TIME_WAIT"
[ -z "$KBPF" ] || wait_until 2 eval "grep -q '│ CLOSED\$' '$E/$A/ladder'" ||
	fail "the kernel socket's CLOSED is not in the peer column"
ladder "$E/$A/ladder"
has "the engine's FIN, beside FIN_WAIT_1" '^[0-9.]+ +FIN_WAIT_1 │─ FIN,ACK seq=1 ack=1 '
# the kernel ACKs the engine's FIN with its own, or before it
has "the ACK of the engine's FIN, beside FIN_WAIT_2" \
	'^[0-9.]+ +FIN_WAIT_2 │◀─+ (FIN,)?ACK seq=1 ack=2 '
has "the kernel's FIN" '│◀─+ FIN,ACK seq=1 ack=2 win=[0-9]+ ─│'
has "the last ACK" '│─ ACK seq=2 ack=2 win=[0-9]+ ─+▶│'
has "TIME_WAIT, beside the kernel's FIN (or after it, the FIN with the ACK)" \
	'^[0-9.]+ +TIME_WAIT │(◀─+ FIN,ACK seq=1 ack=2 | +│$)'
assert_eq "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT" \
	"$(left_states)" "this end's states after the close, in order"
if [ -n "$KBPF" ]; then
	has "the peer column: the kernel's CLOSE_WAIT" '│ CLOSE_WAIT$'
	has "the peer column: the kernel's LAST_ACK" '│ LAST_ACK$'
fi
log "close:"$'\n'"$(cat "$LAD")"

# engine to engine: with forwarding on (in this test's namespace), the
# host sends the engine's packets to itself back; each ladder has both
# columns, from the two connections' traces
sysctl -qw net.ipv4.ip_forward=1 || die "sysctl net.ipv4.ip_forward=1"
eng_clone
LI=$N
ctl_ok "$LI" "announce 9200"
eng_clone
C=$N
ctl_ok "$C" "connect $ENG4:9200"
S=$(timeout -k 1 5 cat "$E/$LI/listen") || die "no connection accepted"
wait_state 5 "$S" ESTABLISHED || die "engine/$S is $(get "$S" state)"
assert_eq absent "$([ -e "$E/$LI/ladder" ] && echo present || echo absent)" \
	"a listener has no ladder"
ladder "$E/$C/ladder"
has "engine to engine: the peer's record is the accepted connection's" \
	"^peer +$ENG4:9200 +engine/$S +ISN $(get "$S" iss)\$"
has "engine to engine: the peer's SYN_RECEIVED, beside the SYN" '─▶│ SYN_RECEIVED$'
has "engine to engine: the peer's ESTABLISHED, beside the ACK" \
	'│─ ACK seq=1 ack=1 win=[0-9]+ ─+▶│ ESTABLISHED$'
log "engine to engine:"$'\n'"$(cat "$LAD")"
ladder "$E/$S/ladder"
has "engine to engine, the other way: the connector's SYN_SENT, beside its SYN" \
	'^[0-9.]+ +SYN_RECEIVED │◀─+ SYN seq=0 win=[0-9]+ ─│ SYN_SENT$'
has "engine to engine, the other way: the connector is the peer" \
	"^peer +$(get "$C" local) +engine/$C +ISN $(get "$C" iss)\$"

# a tuple used twice: user 65534's listener on 9300, its connection C0
# from port 40100 and back S0, closed (TIME_WAIT over: --msl=0.5); then
# root's C1 from port 40100 again and back S1. Each ladder's peer is the
# connection of its own time: S0's is C0 and C0's S0, not the newer C1
# and S1. S1's peer is root's C1: its owner, 65534, reads S1's ladder
# without a record of the peer, not with C0's (the older one it may read).
# uclone: a new connection of user 65534, its number in N; uctl N TEXT:
# 65534 writes TEXT to N's ctl; peer_is N WHO WHAT: N's ladder (read by
# root) names WHO as the peer
uclone() { N=$(as_user 65534 cat "$E/clone") || die "clone as 65534"; }
uctl() {
	local out
	out=$(fsop_as 65534 write "$E/$1/ctl" "$2\\n")
	[[ $out == OK* ]] || die "65534: echo '$2' > engine/$1/ctl: $out"
}
peer_is() {
	ladder "$E/$1/ladder"
	has "$3" "^peer +[^ ]+ +$2 +ISN"
}
uclone
L2=$N
uctl "$L2" "announce 9300"
uclone
C0=$N
uctl "$C0" "connect $ENG4:9300 40100"
S0=$(as_user 65534 timeout -k 1 5 cat "$E/$L2/listen") || die "no connection accepted on 9300"
uctl "$C0" close
wait_state 5 "$S0" CLOSE_WAIT || die "engine/$S0 is $(get "$S0" state)"
ctl_ok "$S0" close
wait_state 5 "$C0" CLOSED || die "engine/$C0 is $(get "$C0" state), not CLOSED"
eng_clone
C1=$N
ctl_ok "$C1" "connect $ENG4:9300 40100"
S1=$(as_user 65534 timeout -k 1 5 cat "$E/$L2/listen") || die "no second connection on 9300"
wait_state 5 "$S1" ESTABLISHED || die "engine/$S1 is $(get "$S1" state)"
peer_is "$S0" "engine/$C0" "a reused tuple: the older connection's peer is of its time"
peer_is "$C0" "engine/$S0" "a reused tuple: and the other way"
peer_is "$S1" "engine/$C1" "a reused tuple: the newer connection's peer is the newer"
LAD=$WORK/ladder.user
as_user 65534 cat "$E/$S1/ladder" >"$LAD" || fail "65534 reads its S1's ladder"
has "a reused tuple: a peer its reader may not read is not replaced by another" \
	"^peer +$ENG4:40100 +no record +ISN"

# a reset: nobody listens on 9102, the kernel answers the SYN with a RST
eng_clone
R=$N
[[ $(ctl "$R" "connect $HOST4:9102") == ECONNREFUSED ]] || fail "connect to 9102 is not refused"
ladder "$E/$R/ladder"
has "reset: the SYN" '^0\.000000 +SYN_SENT │─ SYN seq=0 '
has "reset: the kernel's RST,ACK acknowledges it, beside CLOSED" \
	'^[0-9.]+ +CLOSED │◀─+ RST,ACK seq=0 ack=1 win=0 ─│'
log "reset:"$'\n'"$(cat "$LAD")"
finish
