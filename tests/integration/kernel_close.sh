#!/bin/bash
# kernel_close: `echo close > ctl` (O_TRUNC, newline), `printf close` (no
# newline), `echo hangup`, and a bare write(2) of "hangup" destroy the socket:
# its owner's next recv/send fails with ECONNABORTED, the peer gets a reset
# (ECONNRESET), both directories go, and the names then give ENOENT. Closing
# an accepted socket leaves the listener of the same port alone (the destroy
# uses the cookie); closing a listener makes new connects fail.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare
enter_netns "$@"
need_tcpfs

start_holder h
hold_ok h listen l4 4 127.0.0.1 0 && P4=${HELD##*:}
hold_ok h listen l6 6 ::1 0 && P6=${HELD##*:}
hold_ok h pair a1c a1s l4
hold_ok h pair a2c a2s l6
hold_ok h pair a3c a3s l4
hold_ok h pair a4c a4s l6
hold_ok h pair a5c a5s l4

MNT=$WORK/mnt
start_tcpfs "$MNT"
K=$MNT/kernel

# close_one HOW OWNER PEER CHECK: destroy OWNER's socket by writing its ctl
# HOW; CHECK is recv or sendone, what the owner does next.
close_one() {
	local how=$1 owner=$2 peer=$3 check=$4 n pn rc out
	hold_ok h name "$owner" && n=$HELD
	hold_ok h name "$peer" && pn=$HELD
	name_present "$n" && pass "$n listed" || fail "$how: $n is not listed before the close"
	case $how in
	echo-close) echo close >"$K/$n/ctl" ;;
	printf-close) printf close >"$K/$n/ctl" ;;
	echo-hangup) echo hangup >"$K/$n/ctl" ;;
	write-hangup) out=$(fsop write "$K/$n/ctl" hangup) && [ "$out" = "OK 6" ] ;;
	esac
	rc=$?
	assert_eq 0 "$rc" "$how > ctl exit status${out:+ ($out)}"

	hold h "$check" "$owner"
	assert_eq "ECONNABORTED" "$HELD_ERR" "$how: the owner's $check after the close"
	hold h recv "$peer"
	assert_eq "ECONNRESET" "$HELD_ERR" "$how: the peer's recv after the close"

	wait_until 3 bash -c "! ls -1 '$K' | grep -qxF -- '$n'"
	name_present "$n" && fail "$how: $n is still listed after the close" || pass "$how: gone"
	name_present "$pn" && fail "$how: the peer $pn is still listed after the reset" || pass "$how: peer gone"
	assert_eq ENOENT "$(fsop read "$K/$n/state")" "$how: read of the closed socket's state"
	# the kernel may keep the entry for the daemon's entry timeout (1 s)
	wait_until 3 bash -c "[ \"\$(timeout 5 '$PY' '$WORK/fsop.py' stat '$K/$n')\" = ENOENT ]"
	assert_eq ENOENT "$(fsop stat "$K/$n")" "$how: stat of the closed socket's directory (within 3 s)"
	assert_eq ENOENT "$(fsop write "$K/$n/ctl" close)" "$how: close of a socket already gone"
	cat "$K/$n/state" >/dev/null 2>&1 && fail "$how: cat of the closed socket's state succeeded" ||
		pass "$how: cat fails"
}

close_one echo-close a1c a1s recv
close_one printf-close a2c a2s sendone
close_one echo-hangup a3s a3c recv # the accepted side: shares the listener's port
close_one write-hangup a4c a4s sendone

# The listener of a3s's port is alive and still accepts.
hold_ok h name l4
assert_eq LISTEN "$(cat "$K/$HELD/state" 2>&1)" "the listener sharing the closed socket's port"
assert_ok "a new connection to that listener" hold h pair b1c b1s l4
# a5, untouched, is still fine.
hold h recv a5c
assert_eq TIMEOUT "$HELD" "an unrelated connection after the closes (recv waits)"

# Closing a listener: new connects are refused.
hold_ok h name l6 && L6=$HELD
echo close >"$K/$L6/ctl"
assert_eq 0 $? "echo close > ctl of a listener"
hold h connect x6 6 ::1 "$P6"
assert_eq ECONNREFUSED "$HELD_ERR" "connect to a closed listener"
name_present "$L6" && fail "closed listener $L6 still listed" || pass "listener gone"
[ -z "$(ss -tlnH "sport = :$P6")" ] && pass "ss agrees the listener is gone" ||
	fail "ss still lists the listener on $P6"
[ -n "$(ss -tlnH "sport = :$P4")" ] && pass "the other listener is still there" ||
	fail "the listener on $P4 went away too"

# A listener bound to a port of its owner's choosing stays bound once
# destroyed, while its owner holds it: listed, same name, CLOSED.
hold_ok h listen l7 4 127.0.0.1 47123
hold_ok h name l7 && L7=$HELD
echo close >"$K/$L7/ctl"
assert_eq 0 $? "echo close > ctl of a listener bound to port 47123"
name_present "$L7" && pass "still listed: bound, held by its owner" ||
	fail "a destroyed listener bound to its own port is not listed"
assert_eq CLOSED "$(cat "$K/$L7/state" 2>&1)" "its state once listed again"
[ -z "$(ss -tlnH "sport = :47123")" ] && pass "ss lists no listener on 47123" ||
	fail "ss still lists a listener on 47123"

kill -0 "$TCPFS_PID" 2>/dev/null && pass "daemon alive" || fail "the daemon died"
finish
