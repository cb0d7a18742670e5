#!/bin/bash
# engine_tw_reuse: TIME_WAIT reuse for outgoing connections (RFC 6191, RFC
# 7323 Appendix B.2; issue 11). The engine's ephemeral range narrowed to
# four ports (--ports) and its TIME_WAIT made 60 s long: quick
# connect/close cycles to a kernel peer (socat, echoing) fill the range
# with TIME_WAIT connections. With --tw-reuse=on every connect still gets
# through: it takes the 4-tuple of the oldest TIME_WAIT connection (the
# same local port), whose end events and trace tell, and whose directory
# is reaped as any closed one's; the kernel takes the new SYN.
# With --tw-reuse=off the fifth connect fails with EADDRNOTAVAIL and err
# says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat
enter_netns "$@"
need_tcpfs

bg socat TCP4-LISTEN:9100,reuseaddr,fork EXEC:cat
wait_until 10 eval "ss -tlnH 'sport = :9100' | grep -q ." || die "socat did not listen"

# cycle: a connection to the peer, closed by the engine first; it reaches
# TIME_WAIT (the peer closes when cat sees EOF). Its number in N, its
# connect's result in OUT.
OUT=
cycle() {
	eng_clone
	OUT=$(ctl "$N" "connect $HOST4:9100")
	[[ $OUT == OK* ]] || return 0
	ctl_ok "$N" close
	wait_state 5 "$N" TIME_WAIT || fail "engine/$N: $(get "$N" state), not TIME_WAIT"
}

# --- reuse on (the default): 12 cycles over 4 ports all succeed ---
eng_start --ports=40000-40003 --msl=30 --reap=15
events_start
declare -A PORT_OF
ok=0
first=
for ((k = 0; k < 12; k++)); do
	cycle
	if [[ $OUT == OK* ]]; then
		ok=$((ok + 1))
		PORT_OF[$N]=$(get "$N" local)
		PORT_OF[$N]=${PORT_OF[$N]##*:}
	else
		fail "cycle $k: connect: $OUT (err: $(get "$N" err))"
	fi
	[ -n "$first" ] || first=$N
	sleep 0.4 # the oldest of 4 is more than a second old at the fifth
done
assert_eq 12 "$ok" "--tw-reuse=on: 12 connect/close cycles over 4 ports all connect"
ports=$(printf '%s\n' "${PORT_OF[@]}" | sort -u | tr '\n' ' ')
assert_match '^(4000[0-3] ){1,4}$' "$ports" "every connection's port is in --ports 40000-40003"
# the first connection gave its 4-tuple to the fifth: CLOSED, events says why
assert_state 5 "$first" CLOSED "the oldest TIME_WAIT connection ended when its 4-tuple was reused"
# (FIN_WAIT_2 only when the peer's ACK and FIN come apart)
assert_events_match 5 "$first" '^CLOSED->SYN_SENT SYN_SENT->ESTABLISHED ESTABLISHED->FIN_WAIT_1 (FIN_WAIT_1->FIN_WAIT_2 FIN_WAIT_2->TIME_WAIT|FIN_WAIT_1->TIME_WAIT) TIME_WAIT->CLOSED$' \
	"engine/$first's events: open, close, TIME_WAIT, CLOSED"
assert_match "engine/$first TIME_WAIT -> CLOSED \\(TIME_WAIT cut short: a new connection took its 4-tuple" \
	"$(grep "engine/$first TIME_WAIT -> CLOSED" "$EVENTS")" "events says why the TIME_WAIT connection ended"
fifth=$((first + 4))
while [ -z "${PORT_OF[$fifth]:-}" ] && [ "$fifth" -lt $((first + 40)) ]; do fifth=$((fifth + 1)); done
assert_eq "${PORT_OF[$first]}" "${PORT_OF[$fifth]:-}" "the fifth connection has the first one's local port"
assert_eq "" "$(get "$first" err)" "the reused connection has no error"
assert_match '^[0-9.]+ \* TIME_WAIT -> CLOSED$' "$(timeout -k 1 5 cat "$E/$first/trace" | tail -n 1)" \
	"the reused connection's trace ends with TIME_WAIT -> CLOSED"
# the kernel took every new SYN on a reused 4-tuple: nothing half-open
assert_eq "" "$(ss -tanH state syn-recv 'sport = :9100')" "the kernel holds no half-open connection"
# its directory goes as any closed one's: reaped (--reap=15)
if wait_until 25 eval "[ ! -e '$E/$first' ]"; then
	pass "the reused connection's directory is reaped"
else
	fail "engine/$first is still there 25 s after its reuse"
fi
events_stop
stop_tcpfs

# --- reuse off: the fifth connect fails with EADDRNOTAVAIL and a reason ---
eng_start --ports=40000-40003 --msl=30 --tw-reuse=off
for ((k = 0; k < 4; k++)); do
	cycle
	assert_match '^OK' "$OUT" "--tw-reuse=off: connect $((k + 1)) of 4"
done
sleep 1.2
cycle
assert_eq EADDRNOTAVAIL "$OUT" "--tw-reuse=off: the fifth connect, every port in TIME_WAIT"
assert_match 'connect: every local port .* to that peer is in use' "$(get "$N" err)" \
	"err says every local port to that peer is in use"
assert_eq CLOSED "$(get "$N" state)" "the refused connection stays CLOSED"
eng_finish
