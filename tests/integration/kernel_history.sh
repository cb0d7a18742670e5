#!/bin/bash
# kernel_history: kernel sockets' state history (the eBPF backend's events,
# src/bpf, kept by src/kind/khist.c). A client connects on loopback,
# exchanges bytes and closes first: in FIN_WAIT_2 (a mini-socket) while the
# server keeps its end, nothing says TIME_WAIT; once the server closes its
# trace shows exactly CLOSED -> SYN_SENT -> ESTABLISHED -> FIN_WAIT_1 ->
# FIN_WAIT_2 -> TIME_WAIT (that last one past both FINs), its iss
# and irs files are those TCP_REPAIR implies; the server's shows LISTEN ->
# SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT while it is there; events has
# every transition of both as "kernel/NAME A -> B" lines, the server's
# LAST_ACK -> CLOSED too. A socket connected again after connect(AF_UNSPEC)
# has, in SYN_SENT, the new connection's trace and no irs (nor an rcv_nxt
# in its SYN's retransmission), and events names it by its new tuple. A close with SO_LINGER 0 makes "reset sent" and
# "reset received" lines. A retransmission shows in the sender's trace, not
# in events. In a simultaneous open each end's iss is its own SYN's. Sockets
# of another namespace make no line; a socket older than the mount that
# never changed has no trace. An upgrade starts the history afresh. An idle
# daemon is not woken by the history's drain.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare
enter_netns "$@"
need_tcpfs
need_kbpf

MASK=4294967295
seqdiff() { echo $((($1 - $2) & MASK)); }

MNT=$WORK/mnt
EV=$WORK/events
start_holder h
hold_ok h listen l0 4 127.0.0.1 0
hold_ok h name l0
L0=$HELD
start_tcpfs "$MNT" --no-engine
events_bg "$MNT" "$EV"

# idle: once a drain finds the ring empty its timer stops until a change
# wakes it (what follows checks that changes still come): a few wake-ups
# in 2 s, not one every 50 ms
wakes() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$TCPFS_PID/status"; }
sleep 0.5
w0=$(wakes)
sleep 2
w=$(($(wakes) - w0))
[ "$w" -le 6 ] && pass "an idle daemon slept: $w wake-ups in 2 s" ||
	fail "an idle daemon woke $w times in 2 s: the history's drain timer runs on"

# transitions FILE: the "A -> B" of each state line of a trace
transitions() { awk '$2 == "*" { print $3 " " $4 " " $5 }' "$1" | paste -sd, -; }
# ev_transitions NAME: the "A -> B" of the events lines of kernel/NAME
ev_transitions() {
	awk -v d="kernel/$1" '$2 == d && $4 == "->" { print $3 " " $4 " " $5 }' "$EV" |
		paste -sd, -
}
# trace_has DIR TEXT: DIR's trace has a line with TEXT
trace_has() { grep -qF -- "$2" "$MNT/kernel/$1/trace"; }
events_has() { grep -qF -- "$1" "$EV"; }

hold_ok h listen l 4 127.0.0.1 0
hold_ok h pair c s l
read -r C S <<<"$HELD"
hold_ok h send c 1000
hold_ok h recvall s 1000
hold_ok h send s 300
hold_ok h recvall c 300
hold_ok h repair c
read -r c_write c_rcv <<<"$HELD"
want_iss=$(seqdiff "$c_write" 1001)
want_irs=$(seqdiff "$c_rcv" 301)

# the client closes first: the server in CLOSE_WAIT still has its directory
hold_ok h close c
wait_until 5 trace_has "$S" "ESTABLISHED -> CLOSE_WAIT" ||
	fail "the server's trace has no ESTABLISHED -> CLOSE_WAIT: $(cat "$MNT/kernel/$S/trace" 2>&1)"
cp "$MNT/kernel/$S/trace" "$WORK/s.trace"
# the client, closed while the server keeps its end, is a mini-socket in
# FIN_WAIT_2 (the kernel's tracepoint says FIN_WAIT2 -> CLOSE): not in
# TIME_WAIT until the server's FIN comes
wait_until 5 trace_has "$C" "FIN_WAIT_1 -> FIN_WAIT_2" ||
	fail "the client's trace has no FIN_WAIT_1 -> FIN_WAIT_2: $(cat "$MNT/kernel/$C/trace" 2>&1)"
assert_eq FIN_WAIT_2 "$(cat "$MNT/kernel/$C/state")" "the closed client is in FIN_WAIT_2"
assert_match "\\* FIN_WAIT_1 -> FIN_WAIT_2 " "$(tail -n 1 "$MNT/kernel/$C/trace")" \
	"in FIN_WAIT_2, the client's trace ends with FIN_WAIT_1 -> FIN_WAIT_2"
wait_until 5 events_has "kernel/$C FIN_WAIT_1 -> FIN_WAIT_2" ||
	fail "events has no kernel/$C FIN_WAIT_1 -> FIN_WAIT_2"
assert_eq 0 "$(grep -c "kernel/$C .*TIME_WAIT" "$EV")" "in FIN_WAIT_2, events says no TIME_WAIT of the client"
assert_eq "LISTEN -> SYN_RECEIVED,SYN_RECEIVED -> ESTABLISHED,ESTABLISHED -> CLOSE_WAIT" \
	"$(transitions "$WORK/s.trace")" "server trace: its transitions, in order"
assert_match '^0\.000000 \* ' "$(head -n 1 "$WORK/s.trace")" "server trace: times from the first entry"
hold_ok h close s

# the client in TIME_WAIT: same name (same cookie)
wait_until 5 trace_has "$C" "FIN_WAIT_2 -> TIME_WAIT" ||
	fail "the client's trace has no FIN_WAIT_2 -> TIME_WAIT: $(cat "$MNT/kernel/$C/trace" 2>&1)"
assert_eq TIME_WAIT "$(cat "$MNT/kernel/$C/state")" "the client is in TIME_WAIT"
cp "$MNT/kernel/$C/trace" "$WORK/c.trace"
assert_eq "CLOSED -> SYN_SENT,SYN_SENT -> ESTABLISHED,ESTABLISHED -> FIN_WAIT_1,FIN_WAIT_1 -> FIN_WAIT_2,FIN_WAIT_2 -> TIME_WAIT" \
	"$(transitions "$WORK/c.trace")" "client trace: its transitions, in order"
assert_match "\\* SYN_SENT -> ESTABLISHED .*iss=$want_iss irs=$want_irs" \
	"$(grep -F 'SYN_SENT -> ESTABLISHED' "$WORK/c.trace")" \
	"client trace: the handshake's iss and irs"
assert_match "\\* FIN_WAIT_2 -> TIME_WAIT snd_nxt=$(seqdiff "$c_write" -1) rcv_nxt=$(seqdiff "$c_rcv" -1)\$" \
	"$(grep -F 'FIN_WAIT_2 -> TIME_WAIT' "$WORK/c.trace")" \
	"client trace: TIME_WAIT past both FINs, when the server's came"
assert_eq "$want_iss" "$(cat "$MNT/kernel/$C/iss" 2>&1)" "client iss = TCP_REPAIR send seq - 1001"
assert_eq "$want_irs" "$(cat "$MNT/kernel/$C/irs" 2>&1)" "client irs = TCP_REPAIR receive seq - 301"
grep -q '^trace$' <<<"$(ls "$MNT/kernel/$C")" || fail "the client's directory lists trace"
hold_ok h name l
assert_eq "CLOSED -> LISTEN" "$(awk '$2 == "*" { print $3 " " $4 " " $5 }' "$MNT/kernel/$HELD/trace")" \
	"the listener's trace"
assert_eq absent "$([ -e "$MNT/kernel/$L0/trace" ] && echo present || echo absent)" \
	"a listener older than the mount (no event since) has no trace"
grep -q '^trace$' <<<"$(ls "$MNT/kernel/$L0")" && fail "the old listener's directory lists trace"

# events: the same transitions; the server's to CLOSED too
wait_until 5 events_has "kernel/$S LAST_ACK -> CLOSED" ||
	fail "events has no kernel/$S LAST_ACK -> CLOSED"
assert_eq "CLOSED -> SYN_SENT,SYN_SENT -> ESTABLISHED,ESTABLISHED -> FIN_WAIT_1,FIN_WAIT_1 -> FIN_WAIT_2,FIN_WAIT_2 -> TIME_WAIT" \
	"$(ev_transitions "$C")" "events: the client's transitions, in order"
assert_eq "LISTEN -> SYN_RECEIVED,SYN_RECEIVED -> ESTABLISHED,ESTABLISHED -> CLOSE_WAIT,CLOSE_WAIT -> LAST_ACK,LAST_ACK -> CLOSED" \
	"$(ev_transitions "$S")" "events: the server's transitions, in order"

# a reset: the client closes with SO_LINGER 0
hold_ok h pair c2 s2 l
read -r C2 S2 <<<"$HELD"
wait_until 5 trace_has "$S2" "SYN_RECEIVED -> ESTABLISHED" || fail "no history of $S2"
hold_ok h linger0 c2
# every line of the reset, whatever the order the two ends' events were read
for l in "kernel/$S2 ESTABLISHED -> CLOSED" "kernel/$C2 ESTABLISHED -> CLOSED" \
	"kernel/$C2 reset sent" "kernel/$S2 reset received"; do
	wait_until 5 events_has "$l" || fail "events has no $l"
done
assert_eq 1 "$(grep -cF " kernel/$C2 reset sent" "$EV")" "events: the client sent a reset"
assert_eq 1 "$(grep -cF " kernel/$S2 reset received" "$EV")" "events: the server received it"
assert_eq "ESTABLISHED -> CLOSED" "$(ev_transitions "$C2" | sed 's/.*,//')" \
	"events: the client's last transition"

# a socket used again: after its connection, connect(AF_UNSPEC), then a
# connect to 198.18.0.2, which never answers (its SYN goes out a veth pair
# to a neighbour that is not there): in SYN_SENT its history is the new
# connection's alone, it has no irs, and events names it only by its new
# tuple (its first line waits for its port: the SYN's retransmission, 1 s)
ip link add tcpfsva type veth peer name tcpfsvb &&
	ip addr add 198.18.0.1/15 dev tcpfsva &&
	ip link set tcpfsva up && ip link set tcpfsvb up &&
	ip neigh replace 198.18.0.2 lladdr 02:00:5e:00:53:02 dev tcpfsva nud permanent ||
	die "the veth pair"
hold_ok h pair c5 s5 l
read -r C5 _ <<<"$HELD"
wait_until 5 trace_has "$C5" "SYN_SENT -> ESTABLISHED" || fail "no history of $C5"
hold_ok h disconnect c5
hold_ok h again c5 4 198.18.0.2 9
hold_ok h name c5
R5=$HELD
assert_eq "${C5##*#}" "${R5##*#}" "a socket used again keeps its cookie"
assert_eq SYN_SENT "$(cat "$MNT/kernel/$R5/state")" "used again: in SYN_SENT"
assert_eq "" "$(ls -1 "$MNT/kernel/$R5" | grep -x irs)" "used again, in SYN_SENT: no irs"
assert_eq "$(cat "$MNT/kernel/$R5/snd_una")" "$(cat "$MNT/kernel/$R5/iss")" \
	"used again, in SYN_SENT: iss is its new SYN's"
assert_eq "CLOSED -> SYN_SENT" "$(transitions "$MNT/kernel/$R5/trace")" \
	"used again: its trace is the new connection's alone"
wait_until 5 events_has "kernel/$R5 CLOSED -> SYN_SENT" ||
	fail "events has no kernel/$R5 CLOSED -> SYN_SENT: $(grep -F "#${R5##*#} " "$EV")"
assert_eq "" "$(grep -F "#${R5##*#} " "$EV" | grep -vF -e " kernel/$C5 " -e " kernel/$R5 ")" \
	"events: the socket's lines name its first connection or its second"
# the peer's numbers are not known in SYN_SENT (its rcv_nxt file is absent)
assert_match "^[0-9.]+ retransmit seq=[0-9]+ len=1 snd_una=[0-9]+ snd_nxt=[0-9]+$" \
	"$(grep -m1 retransmit "$MNT/kernel/$R5/trace")" \
	"in SYN_SENT, the SYN's retransmission: no rcv_nxt"

# retransmits: in the trace, never in events. What reaches the server's port
# is dropped for a while (on input: the sending succeeded), so the client's
# 500 bytes go again on its timer.
if command -v nft >/dev/null; then
	hold_ok h pair c4 s4 l
	read -r C4 _ <<<"$HELD"
	hold_ok h name l
	lport=${HELD%%-*}
	lport=${lport##*:}
	nft add table inet khist &&
		nft add chain inet khist in '{ type filter hook input priority 0; }' &&
		nft add rule inet khist in tcp dport "$lport" ip length \> 100 drop || die "nft"
	at_exit "nft delete table inet khist 2>/dev/null"
	hold_ok h send c4 500
	wait_until 5 trace_has "$C4" "retransmit seq=" ||
		fail "the client's trace has no retransmit: $(cat "$MNT/kernel/$C4/trace" 2>&1)"
	nft delete table inet khist
	assert_match "retransmit seq=[0-9]+ len=500" "$(grep -m1 retransmit "$MNT/kernel/$C4/trace")" \
		"the client's trace: the 500 bytes retransmitted"
	assert_eq 0 "$(grep -c retransmit "$EV")" "events: no retransmit line"
	log "retransmitting client trace:"$'\n'"$(cat "$MNT/kernel/$C4/trace")"
else
	log "no nft: retransmits not tested"
fi

# a simultaneous open: each end connects to the other's port, their first
# SYNs are dropped, and the first retransmission reaches the other end in
# SYN_SENT, which goes SYN_SENT -> SYN_RECEIVED -> ESTABLISHED (the other
# too if the two crossed): each one's iss is its own SYN's (snd_una - 1,
# nothing sent yet) and the other's irs, in the trace as in the iss file
if command -v nft >/dev/null; then
	nft add table inet khsim &&
		nft add chain inet khsim in '{ type filter hook input priority 0; }' &&
		nft add rule inet khsim in tcp dport '{ 41001, 41002 }' \
			'tcp flags & (syn|ack) == syn' drop || die "nft"
	at_exit "nft delete table inet khsim 2>/dev/null"
	hold_ok h connect sa 4 127.0.0.1 41002 from=41001 nowait
	hold_ok h connect sb 4 127.0.0.1 41001 from=41002 nowait
	nft delete table inet khsim
	SA=$(ls "$MNT/kernel" | grep -m1 '^127\.0\.0\.1:41001-127\.0\.0\.1:41002#')
	SB=$(ls "$MNT/kernel" | grep -m1 '^127\.0\.0\.1:41002-127\.0\.0\.1:41001#')
	for d in "$SA" "$SB"; do
		wait_until 5 trace_has "$d" "-> ESTABLISHED" ||
			fail "$d not established: $(cat "$MNT/kernel/$d/trace" 2>&1)"
	done
	assert_match "SYN_SENT -> SYN_RECEIVED" "$(cat "$MNT/kernel/$SA/trace" "$MNT/kernel/$SB/trace")" \
		"simultaneous open: an end went SYN_SENT -> SYN_RECEIVED"
	for d in "$SA" "$SB"; do
		una=$(cat "$MNT/kernel/$d/snd_una")
		assert_eq "$(seqdiff "$una" 1)" "$(cat "$MNT/kernel/$d/iss" 2>&1)" \
			"simultaneous open: $d's iss is snd_una - 1"
		assert_match "-> ESTABLISHED .*iss=$(seqdiff "$una" 1) " \
			"$(cat "$MNT/kernel/$d/trace")" "simultaneous open: $d's trace has that iss"
	done
	assert_eq "$(cat "$MNT/kernel/$SA/iss")" "$(cat "$MNT/kernel/$SB/irs" 2>&1)" \
		"simultaneous open: one end's iss is the other's irs"
	hold_ok h close sa
	hold_ok h close sb
else
	log "no nft: simultaneous open not tested"
fi

# another namespace: no line
netns_add khist_other
start_holder o ip netns exec khist_other
hold_ok o listen ol 4 127.0.0.1 0
hold_ok o pair oc os ol
read -r OC OS <<<"$HELD"
hold_ok o close oc
hold_ok o close os
# a marker from this namespace, to know the feed is past the other's events
hold_ok h pair c3 s3 l
read -r C3 _ <<<"$HELD"
wait_until 5 events_has "kernel/$C3 SYN_SENT -> ESTABLISHED" || fail "no events of $C3"
assert_eq 0 "$(grep -cF -e "#${OC##*#} " -e "#${OS##*#} " "$EV")" \
	"events: no line of another namespace's sockets"
assert_eq 0 "$(grep -c 'lost' "$EV")" "events: nothing lost"
# an upgrade (SIGUSR2) hands the history over: a socket's trace and its
# iss and irs are what they were (a trace opened before reads them
# afresh), its next change goes on after them, and the new image posts
# that change's events line, not the old ones again
hold_ok h pair c6 s6 l
read -r C6 _ <<<"$HELD"
wait_until 5 trace_has "$C6" "SYN_SENT -> ESTABLISHED" || fail "no history of $C6"
before=$(cat "$MNT/kernel/$C6/trace")
iss=$(cat "$MNT/kernel/$C6/iss") irs=$(cat "$MNT/kernel/$C6/irs")
exec {tfd}<"$MNT/kernel/$C6/trace" || die "open $C6/trace"
kill -USR2 "$TCPFS_PID"
wait_until 10 grep -q "upgraded: serving" "$TCPFS_LOG" || die "no upgrade: $(tail -n 5 "$TCPFS_LOG")"
assert_eq "$before" "$(cat "$MNT/kernel/$C6/trace" 2>&1)" "after an upgrade: the trace as before"
assert_eq "$iss $irs" "$(cat "$MNT/kernel/$C6/iss" "$MNT/kernel/$C6/irs" 2>&1 | tr '\n' ' ' | sed 's/ $//')" \
	"after an upgrade: iss and irs as before"
assert_eq "$before" "$(cat <&"$tfd" 2>&1)" "after an upgrade: a trace opened before reads it afresh"
exec {tfd}<&-
events_bg "$MNT" "$WORK/events3"
hold_ok h close c6
wait_until 5 trace_has "$C6" "ESTABLISHED -> FIN_WAIT_1" ||
	fail "after an upgrade, no new history: $(cat "$MNT/kernel/$C6/trace" 2>&1)"
assert_eq "$before" "$(head -n "$(wc -l <<<"$before")" "$MNT/kernel/$C6/trace")" \
	"after an upgrade: the next change goes on after the history"
wait_until 5 grep -qF "kernel/$C6 ESTABLISHED -> FIN_WAIT_1" "$WORK/events3" ||
	fail "after an upgrade, events has no kernel/$C6 ESTABLISHED -> FIN_WAIT_1"
assert_eq 0 "$(grep -cF "kernel/$C6 SYN_SENT -> ESTABLISHED" "$WORK/events3")" \
	"after an upgrade: events does not tell the old changes again"
log "client trace:"$'\n'"$(cat "$WORK/c.trace")"
log "server trace:"$'\n'"$(cat "$WORK/s.trace")"
log "events:"$'\n'"$(cat "$EV")"
finish
