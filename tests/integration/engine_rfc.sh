#!/bin/bash
# engine_rfc: RFC requirements the engine keeps, seen from outside, against
# the kernel of the test's namespace:
#  - the user timeout (RFC 9293 §3.8.3 (d), MUST-21; RFC 5482): `timeout 2`
#    on a connection whose data the host never acknowledges (nft drops what
#    the engine sends) ends it within about 2 s with ETIMEDOUT, the reason
#    in err; the `timeout` file shows it, 0 by default.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip nft unshare
enter_netns "$@"
need_tcpfs

eng_start
start_holder h
hold_ok h listen l4 4 "$HOST4" 0 && P4=${HELD##*:}

# --- the user timeout
eng_clone
n=$N
assert_eq 0 "$(get "$n" timeout)" "timeout: 0 (the default) on a new connection"
ctl_ok "$n" "connect $HOST4:$P4"
hold_ok h accept a l4
assert_eq "OK 10" "$(ctl "$n" "timeout 2")" "timeout 2 on an open connection"
assert_eq 2 "$(get "$n" timeout)" "the timeout file shows 2"
nft add table inet rfc &&
	nft add chain inet rfc in '{ type filter hook input priority 0; }' &&
	nft add rule inet rfc in iifname "$TUN" tcp dport "$P4" drop || die "nft"
at_exit "nft delete table inet rfc"
t0=$(date +%s%N)
assert_eq "OK 5" "$(fsop write "$E/$n/data" hello)" "data written, never acknowledged"
wait_state 6 "$n" CLOSED
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
assert_state 0 "$n" CLOSED "the user timeout ends the connection"
[ "$ms" -ge 1800 ] && [ "$ms" -le 4000 ] && pass "after ${ms} ms (2 s asked)" ||
	fail "the user timeout of 2 s ended the connection after ${ms} ms"
assert_match "timed out.*user timeout" "$(get "$n" err)" "err says the user timeout ran out"
assert_eq ETIMEDOUT "$(fsop read "$E/$n/data")" "a read of data: ETIMEDOUT"
nft delete table inet rfc

eng_finish
