#!/bin/bash
# engine_wire_verbs: the keepalive and nodelay verbs change what goes on the
# wire, seen by tshark on the TUN device (issue 11). The link delays every
# packet 250 ms each way (--impair), so an ACK takes 500 ms to come back.
#  - keepalive 1 on an idle connection: a probe (RFC 9293 §3.8.4: an ACK
#    with seq = SND.UNA - 1, at most one byte) after a second without a
#    segment from the peer: each answered by the kernel, so 1 s after the
#    answer; every second when the answers are dropped; none once keepalive
#    0 turned it off; none on a connection without keepalive; none while data is outstanding (MUST-26, RFC 1122
#    §4.2.3.6: the kernel's ACKs are dropped, so only retransmissions of the
#    data go out, with seq = SND.UNA).
#  - nodelay: five one-byte writes 10 ms apart. Off (Nagle, RFC 896 and RFC
#    1122 §4.2.3.4): no small segment leaves while an earlier one is
#    unacknowledged, so the last four bytes leave together after the ACK of
#    the first. On: every byte leaves at once, before the first ACK.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare tshark nft
enter_netns "$@"
need_tcpfs

eng_start --impair=delay=250
start_holder h
hold_ok h listen l 4 "$HOST4" 0 && P=${HELD##*:}
CAP=$WORK/tun.pcapng
cap_start "$CAP"

# conn NAME [VERB...]: an engine connection to the holder's listener, the
# verbs written before connect; the kernel's side accepted as NAME. Sets N
# and PORT (the engine's local port).
conn() {
	local name=$1 v
	shift
	eng_clone
	for v in "$@"; do ctl_ok "$N" "$v"; done
	ctl_ok "$N" "connect $HOST4:$P"
	hold_ok h accept "$name" l
	PORT=$(get "$N" local)
	PORT=${PORT##*:}
}

# Keepalive: k probes, k2 too with the kernel's answers dropped, q never
# does, d has data outstanding.
conn k "keepalive 1"
k=$N KP=$PORT
conn k2
k2=$N K2P=$PORT
conn q
q=$N QP=$PORT
conn d "keepalive 1"
d=$N DP=$PORT
nft -f - <<NFT || die "nft: cannot drop what d sends and what k2 is answered"
table inet wireverbs {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "$TUN" tcp sport $DP drop
	}
	chain out {
		type filter hook output priority -300; policy accept;
		oifname "$TUN" tcp dport $K2P drop
	}
}
NFT
at_exit "nft delete table inet wireverbs"
D_UNA=$(get "$d" snd_una)
printf '%0100d' 0 >"$E/$d/data" || fail "write to d"
K_UNA=$(get "$k" snd_una)
K2_UNA=$(get "$k2" snd_una)
ctl_ok "$k2" "keepalive 1" # on an ESTABLISHED connection
T_ON=$(date +%s.%N)
sleep 5
ctl_ok "$k" "keepalive 0"
ctl_ok "$k2" "keepalive 0"
T_OFF=$(date +%s.%N)
sleep 2.5
assert_eq "$D_UNA" "$(get "$d" snd_una)" "d: its data is still unacknowledged"
assert_eq ESTABLISHED "$(get "$k2" state)" "k2: still ESTABLISHED after 5 unanswered probes"
nft delete table inet wireverbs
assert_eq "$K_UNA" "$(get "$k" snd_una)" "k: snd_una did not move"

# Nagle: five one-byte writes, 10 ms apart, on n0 (nodelay off) and n1 (on).
write5() {
	"$PY" -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
for c in b"abcde":
    os.write(fd, bytes([c]))
    time.sleep(0.01)
os.close(fd)' "$E/$1/data" || fail "five writes to engine/$1"
}
conn n0 "nodelay off"
n0=$N N0P=$PORT
conn n1 "nodelay on"
n1=$N N1P=$PORT
write5 "$n0"
write5 "$n1"
wait_until 5 eval "[ \"\$(get $n0 snd_una)\" = \"\$(get $n0 snd_nxt)\" ] && [ \"\$(get $n1 snd_una)\" = \"\$(get $n1 snd_nxt)\" ]" ||
	fail "n0, n1: the five bytes were not all acknowledged within 5 s"
cap_stop

# The capture: time (epoch) dir flags seq ack len, one line per segment of
# the engine's port PORT; dir '>' for the engine's.
segs() {
	tsk "$CAP" "tcp.port == $1" frame.time_epoch ip.src tcp.flags tcp.seq_raw tcp.ack_raw tcp.len |
		awk -v eng="$ENG4" '{ print $1, ($2 == eng ? ">" : "<"), $3, $4, $5, $6 }'
}
segs "$KP" >"$WORK/k.cap"
segs "$K2P" >"$WORK/k2.cap"
segs "$QP" >"$WORK/q.cap"
segs "$DP" >"$WORK/d.cap"
segs "$N0P" >"$WORK/n0.cap"
segs "$N1P" >"$WORK/n1.cap"

# probes CAPFILE UNA [FROM [TO]]: the engine's keep-alive probes (an ACK,
# no other flag, seq = UNA - 1, at most one byte), their times, between FROM
# and TO (epoch).
probes() {
	awk -v s="$(seq_add "$2" -1)" -v from="${3:-0}" -v to="${4:-9e9}" \
		'$2 == ">" && $3 == "0x0010" && $4 == s && $6 <= 1 && $1 >= from && $1 < to { print $1 }' "$1"
}
# probe_gaps NAME CAPFILE UNA MIN MAX LO HI WHAT: between T_ON and T_OFF,
# MIN to MAX probes, LO to HI seconds apart.
probe_gaps() {
	local np gaps
	probes "$2" "$3" "$T_ON" "$T_OFF" >"$WORK/$1.probes"
	np=$(wc -l <"$WORK/$1.probes")
	[ "$np" -ge "$4" ] && [ "$np" -le "$5" ] && pass "$1: $np probes in 5 s" ||
		fail "$1: $np probes in 5 s ($4 to $5 expected): $(cat "$2")"
	gaps=$(awk -v lo="$6" -v hi="$7" 'NR > 1 { g = $1 - p; printf "%s%.2f%s", s, g, (g < lo || g > hi ? "!" : ""); s = " " }
		{ p = $1 }' "$WORK/$1.probes")
	log "$1: probes $gaps s apart"
	assert_match "^[0-9. ]+$" "$gaps" "$1: $8 ($6 to $7 s; gaps in s, ! out of range)"
}
# answered, a probe comes 1 s after the answer, which is a round trip
# (0.5 s) after the probe; unanswered, every second (RFC 1122 §4.2.3.6)
probe_gaps k "$WORK/k.cap" "$K_UNA" 3 4 1.35 1.75 "answered, a probe 1 s after each answer"
probe_gaps k2 "$WORK/k2.cap" "$K2_UNA" 4 6 0.9 1.15 "unanswered, a probe every second"
# each probe answered by the kernel: an ACK of SND.UNA
answers=$(awk -v a="$K_UNA" -v t="$T_ON" '$1 >= t && $2 == "<" && $5 == a && $6 == 0' "$WORK/k.cap" | wc -l)
np=$(wc -l <"$WORK/k.probes")
[ "$answers" -ge "$np" ] && pass "k: the kernel answered every probe" ||
	fail "k: $answers ACKs from the kernel for $np probes"
T_OFF2=$(awk -v t="$T_OFF" 'BEGIN { printf "%.6f", t + 0.5 }')
assert_eq "" "$(probes "$WORK/k.cap" "$K_UNA" "$T_OFF2")" "k: no probe after keepalive 0"
assert_eq "" "$(probes "$WORK/k2.cap" "$K2_UNA" "$T_OFF2")" "k2: no probe after keepalive 0"
assert_eq "" "$(probes "$WORK/q.cap" "$(get "$q" snd_una)")" "q: no probe without keepalive"
# d: retransmissions of its 100 bytes, never a probe
rtx=$(awk -v s="$D_UNA" '$2 == ">" && $4 == s && $6 == 100' "$WORK/d.cap" | wc -l)
[ "$rtx" -ge 2 ] && pass "d: $rtx transmissions of the outstanding data" ||
	fail "d: $rtx transmissions of the outstanding data: $(cat "$WORK/d.cap")"
assert_eq "" "$(probes "$WORK/d.cap" "$D_UNA")" "d: no keep-alive probe while data is outstanding"

# nagle CAPFILE: the engine's data segments, as "len:B" where B is 1 if the
# segment left the engine while earlier data was unacknowledged there. The
# capture sees what the engine sends 250 ms after it sent it, and the
# kernel's ACKs 250 ms before the engine does: a segment left before the
# ACK of what preceded it reached the engine if it shows less than 500 ms
# (400 with a margin) after that ACK, or before it.
nagle() {
	awk '$2 == "<" && $5 > acked { acked = $5; at = $1 }
		$2 == ">" && $6 > 0 { printf "%s%d:%d", s, $6, ($4 != acked || $1 < at + 0.4); s = " " }' "$1"
}
out0=$(nagle "$WORK/n0.cap")
out1=$(nagle "$WORK/n1.cap")
assert_match "^1:0( [1-4]:0)+$" "$out0" "n0 (nodelay off): no small segment while one is unacknowledged, the rest coalesced"
assert_match "^1:0 1:1 1:1 1:1 1:1$" "$out1" "n1 (nodelay on): five one-byte segments, each at once"

eng_finish
