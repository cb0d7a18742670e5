#!/bin/bash
# engine_device_gone: the engine's TUN device set down, then deleted under
# the daemon. Down, every write fails (EIO): engine/stats counts each
# (link_tx_errors) and the log says it once; up again, the connect that
# waited goes through, and IPv6 works (the device kept its address). Deleted (ip link del): the daemon says so in its
# log, does not spin (its fd polls readable for ever: under 10% of a CPU
# over 2 s), goes on serving the mount (kernel/ and engine/ list), and
# unmounts cleanly at SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat
enter_netns "$@"
need_tcpfs

eng_start --msl=0.2
bg socat -u TCP4-LISTEN:9201,reuseaddr OPEN:/dev/null
wait_until 10 eval "ss -tlnH 'sport = :9201' | grep -q ." || die "socat did not listen"
eng_clone
ip link set "$TUN" down || die "cannot set $TUN down"
connect_log=$WORK/bg.${#BG_PIDS[@]}.log
bg fsop write "$E/$N/ctl" "connect $HOST4:9201\\n"
connect=$BG
tx_errors() { awk '$1 == "link_tx_errors" { print $2 }' "$E/stats"; }
# the SYN, and its retransmission 1 s later
wait_until 5 eval '[ "$(tx_errors)" -ge 2 ]' &&
	pass "link down: engine/stats counts the failed writes ($(tx_errors))" ||
	fail "link down: link_tx_errors is '$(tx_errors)', not 2 or more"
said=$(grep -c "$TUN: a write to the device failed: Input/output error (is the link down?)" "$TCPFS_LOG")
assert_eq 1 "$said" "link down: the log says it once"
ip link set "$TUN" up || die "cannot set $TUN up"
wait_until 10 eval "! kill -0 $connect 2>/dev/null" || true
assert_match "^OK" "$(cat "$connect_log")" "link up again: the connect goes through"
assert_state 5 "$N" ESTABLISHED "link up again: the connection is made"
# the kernel drops a device's IPv6 addresses when it goes down, unless
# told to keep them: IPv6 works again too
bg socat -u TCP6-LISTEN:9202,reuseaddr OPEN:/dev/null
wait_until 10 eval "ss -tlnH 'sport = :9202' | grep -q ." || die "socat did not listen on IPv6"
first=$N
eng_clone
assert_match "^OK" "$(fsop write "$E/$N/ctl" "connect [$HOST6]:9202\\n")" "link up again: an IPv6 connect"
assert_state 5 "$N" ESTABLISHED "link up again: the IPv6 connection is made"
N=$first
ip link del "$TUN" || die "cannot delete $TUN"
wait_until 5 grep -q "$TUN: .*the engine sends and receives nothing from now on" "$TCPFS_LOG" ||
	fail "no word of the device's end in the log: $(tail -n 3 "$TCPFS_LOG")"
ticks() { awk '{ print $14 + $15 }' "/proc/$TCPFS_PID/stat"; }
t0=$(ticks)
sleep 2
used=$(($(ticks) - t0))
hz=$(getconf CLK_TCK)
[ "$used" -lt $((2 * hz / 10)) ] && pass "the daemon idles: $used ticks of $((2 * hz)) in 2 s" ||
	fail "the daemon spins: $used ticks of $((2 * hz)) in 2 s"
assert_ok "kernel/ still lists" ls "$MNT/kernel"
assert_ok "engine/ still lists" ls "$E"
stop_tcpfs
assert_eq 0 "${TCPFS_RC:-?}" "SIGTERM: a clean exit"
is_mounted "$MNT" && fail "still mounted" || pass "unmounted"
eng_finish
