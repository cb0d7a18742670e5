#!/bin/bash
# engine_close: the four-way close both ways against kernel sockets held by
# holder.py (issue 4, tests 3 and 7's IPv6 part), with --msl=1.
#  - the engine's active close: FIN_WAIT_1 -> FIN_WAIT_2 while ss shows the
#    kernel's half in CLOSE-WAIT (and kernel/ the same), then the kernel's
#    close: TIME_WAIT, and CLOSED no sooner than 2 MSL later (the trace's
#    times); the kernel's half is destroyed (events says so);
#  - the kernel's active close: the engine reads EOF in CLOSE_WAIT, ss shows
#    FIN-WAIT-2; `close` drives LAST_ACK -> CLOSED, the kernel TIME-WAIT;
#  - shutdown: the engine's FIN, and it still receives until the kernel's FIN;
#  - hangup sends RST (the kernel's recv: ECONNRESET); the kernel's RST makes
#    the engine's data read fail with ECONNRESET.
# events shows every transition in order; sequence numbers count the FINs;
# rmdir is EBUSY before CLOSED.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare
enter_netns "$@"
need_tcpfs

MSL=1
eng_start --msl=$MSL
events_start
start_holder h
hold_ok h listen l4 4 "$HOST4" 0 && P4=${HELD##*:}
hold_ok h listen l6 6 "$HOST6" 0 && P6=${HELD##*:}

# open TAG FAM: an engine connection N to the holder's listener, accepted
# there as socket TAG; KN is the kernel/ name of the kernel's half, FILT its
# ss filter.
KN=
FILT=
open() {
	local tag=$1 fam=$2 target out local_ remote
	if [ "$fam" = 4 ]; then target=$HOST4:$P4; else target=[$HOST6]:$P6; fi
	eng_clone
	out=$(ctl "$N" "connect $target")
	[[ $out == OK* ]] || die "$tag: connect $target: $out"
	hold_ok h accept "$tag" "l$fam"
	hold_ok h name "$tag"
	KN=$HELD
	local_=$(get "$N" local)
	remote=$(get "$N" remote)
	assert_eq "$remote-$local_" "${KN%#*}" "$tag: the kernel's half is named with the addresses swapped"
	assert_eq ESTABLISHED "$(cat "$MNT/kernel/$KN/state" 2>&1)" "$tag: kernel/$KN state"
	FILT="sport = :${remote##*:} and dport = :${local_##*:}"
	assert_eq ESTAB "$(ss_state "$FILT")" "$tag: ss: ESTAB"
}
kstate() { cat "$MNT/kernel/$KN/state" 2>&1; }
# trace_time N TRANSITION: the trace's time of "* TRANSITION" (A -> B)
trace_time() {
	timeout -k 1 5 cat "$E/$1/trace" | awk -v t="$2" '$2 == "*" && $3 " " $4 " " $5 == t { print $1; exit }'
}

for fam in 4 6; do
	# --- the engine closes first
	t=active$fam
	open "$t" "$fam"
	n=$N
	iss=$(get "$n" iss)
	irs=$(get "$n" irs)
	assert_eq "OK 6" "$(ctl "$n" close)" "$t: echo close > ctl"
	assert_state 5 "$n" FIN_WAIT_2 "$t: FIN_WAIT_2 once the kernel acknowledged the FIN"
	wait_ss 5 CLOSE-WAIT "$FILT"
	assert_eq CLOSE-WAIT "$(ss_state "$FILT")" "$t: ss: the kernel's half in CLOSE-WAIT"
	assert_eq CLOSE_WAIT "$(kstate)" "$t: kernel/$KN in CLOSE_WAIT"
	assert_eq "$(seq_add "$iss" 2)" "$(get "$n" snd_nxt)" "$t: snd_nxt = iss + 2 (SYN, FIN)"
	assert_eq "$(seq_add "$iss" 2)" "$(get "$n" snd_una)" "$t: snd_una = iss + 2: the FIN is acknowledged"
	hold h recv "$t"
	assert_eq EOF "$HELD" "$t: the kernel's recv sees EOF"
	assert_eq "" "$(get "$n" err)" "$t: err is empty after close"
	assert_eq EBUSY "$(fsop_rmdir "$E/$n")" "$t: rmdir in FIN_WAIT_2"
	assert_match "FIN_WAIT_2" "$(get "$n" err)" "$t: err says why rmdir failed"

	hold_ok h close "$t"
	assert_state 5 "$n" TIME_WAIT "$t: TIME_WAIT after the kernel's FIN"
	assert_eq "$(seq_add "$irs" 2)" "$(get "$n" rcv_nxt)" "$t: rcv_nxt = irs + 2 (SYN, FIN)"
	wait_until 5 eval "[ -z \"\$(ss_state $(printf %q "$FILT"))\" ]"
	assert_eq "" "$(ss_state "$FILT")" "$t: ss: the kernel's half is gone (LAST-ACK acknowledged)"
	wait_until 3 eval "grep -qF -- 'kernel/$KN destroyed' '$EVENTS'"
	assert_ok "$t: events: kernel/$KN destroyed" grep -qF -- "kernel/$KN destroyed" "$EVENTS"
	wait_until 3 eval "! ls -1 '$MNT/kernel' | grep -qxF -- '$KN'"
	name_present "$KN" && fail "$t: kernel/$KN still listed" || pass "$t: kernel/$KN gone"
	assert_eq EBUSY "$(fsop_rmdir "$E/$n")" "$t: rmdir in TIME_WAIT"
	assert_state $((2 * MSL + 3)) "$n" CLOSED "$t: CLOSED after 2 MSL"
	t0=$(trace_time "$n" "FIN_WAIT_2 -> TIME_WAIT")
	t1=$(trace_time "$n" "TIME_WAIT -> CLOSED")
	assert_eq 1 "$(awk -v a="$t0" -v b="$t1" -v m=$MSL 'BEGIN { print (a != "" && b != "" && b - a >= 2 * m - 0.001) }')" \
		"$t: TIME_WAIT lasted 2 MSL ($t0 -> $t1 in the trace)"
	assert_events 3 "$n" "CLOSED->SYN_SENT SYN_SENT->ESTABLISHED ESTABLISHED->FIN_WAIT_1 FIN_WAIT_1->FIN_WAIT_2 FIN_WAIT_2->TIME_WAIT TIME_WAIT->CLOSED" \
		"$t: events of engine/$n"
	segs=$(trace_segs "$n" | awk '{ print $1, $2 }' | tr '\n' ' ')
	assert_eq "> SYN < SYN,ACK > ACK > FIN,ACK < ACK < FIN,ACK > ACK " "$segs" "$t: the trace's segments"
	assert_eq "" "$(fsop_rmdir "$E/$n")" "$t: rmdir once CLOSED"
	[ -e "$E/$n" ] && fail "$t: engine/$n still there" || pass "$t: engine/$n gone"

	# --- the kernel closes first
	t=passive$fam
	open "$t" "$fam"
	n=$N
	iss=$(get "$n" iss)
	irs=$(get "$n" irs)
	hold_ok h close "$t"
	assert_state 5 "$n" CLOSE_WAIT "$t: CLOSE_WAIT after the kernel's FIN"
	assert_eq "" "$(timeout -k 1 5 cat "$E/$n/data")" "$t: data reads EOF"
	wait_ss 5 FIN-WAIT-2 "$FILT"
	assert_eq FIN-WAIT-2 "$(ss_state "$FILT")" "$t: ss: the kernel's half in FIN-WAIT-2"
	assert_eq FIN_WAIT_2 "$(kstate)" "$t: kernel/$KN in FIN_WAIT_2"
	assert_eq "$(seq_add "$irs" 2)" "$(get "$n" rcv_nxt)" "$t: rcv_nxt = irs + 2"
	assert_eq EBUSY "$(fsop_rmdir "$E/$n")" "$t: rmdir in CLOSE_WAIT"
	assert_eq "OK 6" "$(ctl "$n" close)" "$t: echo close > ctl"
	assert_state 5 "$n" CLOSED "$t: CLOSED once the kernel acknowledged the FIN"
	assert_eq "$(seq_add "$iss" 2)" "$(get "$n" snd_una)" "$t: snd_una = iss + 2"
	wait_ss 5 TIME-WAIT "$FILT"
	assert_eq TIME-WAIT "$(ss_state "$FILT")" "$t: ss: the kernel's half in TIME-WAIT"
	assert_eq TIME_WAIT "$(kstate)" "$t: kernel/$KN in TIME_WAIT"
	assert_events 3 "$n" "CLOSED->SYN_SENT SYN_SENT->ESTABLISHED ESTABLISHED->CLOSE_WAIT CLOSE_WAIT->LAST_ACK LAST_ACK->CLOSED" \
		"$t: events of engine/$n"
	segs=$(trace_segs "$n" | awk '{ print $1, $2 }' | tr '\n' ' ')
	assert_eq "> SYN < SYN,ACK > ACK < FIN,ACK > ACK > FIN,ACK < ACK " "$segs" "$t: the trace's segments"
	assert_eq "" "$(fsop_rmdir "$E/$n")" "$t: rmdir once CLOSED"
done

# shutdown: FIN out, and data still comes in until the kernel's FIN.
t=shutdown
open "$t" 4
n=$N
assert_eq "OK 9" "$(ctl "$n" shutdown)" "shutdown"
assert_state 5 "$n" FIN_WAIT_2 "shutdown: FIN_WAIT_2"
assert_eq EPIPE "$(fsop write "$E/$n/data" more)" "shutdown: a write to data after shutdown"
hold_ok h send "$t" 5000
hold_ok h close "$t"
timeout -k 1 5 cat "$E/$n/data" >"$WORK/shut.in"
assert_eq 0 $? "shutdown: data reads to EOF"
assert_eq "$(head -c 5000 /dev/zero | tr '\0' x)" "$(cat "$WORK/shut.in")" "shutdown: the 5000 bytes sent after it arrived"
assert_state 5 "$n" TIME_WAIT "shutdown: TIME_WAIT after the kernel's FIN"

# hangup: RST to the kernel.
t=hangup
open "$t" 6
n=$N
assert_eq "OK 7" "$(ctl "$n" hangup)" "hangup"
assert_eq CLOSED "$(get "$n" state)" "hangup: CLOSED at once"
hold h recv "$t"
assert_eq ECONNRESET "$HELD_ERR" "hangup: the kernel's recv"
assert_eq "" "$(ss_state "$FILT")" "hangup: ss: the kernel's half is gone"
assert_events 3 "$n" "CLOSED->SYN_SENT SYN_SENT->ESTABLISHED ESTABLISHED->CLOSED" "hangup: events of engine/$n"
assert_match "> RST" "$(trace_segs "$n" | tail -n 1)" "hangup: the trace ends with the RST"

# the kernel's RST (SO_LINGER 0): the engine's read fails.
t=reset
open "$t" 4
n=$N
hold_ok h linger0 "$t"
assert_state 5 "$n" CLOSED "reset: CLOSED after the kernel's RST"
assert_eq ECONNRESET "$(fsop read "$E/$n/data")" "reset: a read of data"
assert_match "reset" "$(get "$n" err)" "reset: err says why"
wait_until 3 eval "grep -q 'engine/$n ESTABLISHED -> CLOSED' '$EVENTS'"
assert_match "engine/$n ESTABLISHED -> CLOSED \(Connection reset by peer\)" "$(grep "engine/$n " "$EVENTS" | tail -n 1)" \
	"reset: the event names the reason"

eng_finish
