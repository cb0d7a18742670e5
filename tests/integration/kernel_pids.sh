#!/bin/bash
# kernel_pids: kernel/pids, a line per socket and holder ("NAME PID COMM",
# "NAME" alone without one), equals `ss -tanpHe` of the reader's namespace:
# the same sockets (by cookie), the names kernel/ lists, the same holders;
# a socket two processes hold has a line for each, an orphan (FIN_WAIT_2)
# none; a reader in another namespace reads that namespace's sockets only;
# nobody sees no holder of root's sockets (as ss -p shows nobody); a
# socket made 0.3 s after a read has its holder in the next (the table is
# scanned again for a miss, as for a pid file).
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare
enter_netns "$@"
need_tcpfs

MNT=$WORK/mnt
start_tcpfs "$MNT" -o allow_other
K=$MNT/kernel
start_holder h
start_holder h2
hold_ok h listen l 4 127.0.0.1 0 && P=${HELD##*:}
hold_ok h listen l6 6 ::1 0
hold_ok h pair c1 s1 l
hold_ok h pair c2 s2 l6
hold_ok h2 connect x 4 127.0.0.1 "$P"
hold_ok h accept y l
hold_ok h close c1 # an orphan in FIN_WAIT_2: no holder
netns_add kp_other
start_holder hb ip netns exec kp_other
hold_ok hb listen lb 4 127.0.0.1 0

[ -f "$K/pids" ] && [ "$(stat -c %a "$K/pids")" = 444 ] && pass "kernel/pids: a file, 0444" ||
	fail "kernel/pids: $(stat -c '%F %a' "$K/pids" 2>&1)"
ls -1 "$K" | grep -qx pids && pass "ls kernel/ lists pids" || fail "ls kernel/ lacks pids"

# same SS: pids read by READER (a command prefix) against its namespace's ss
same() {
	local what=$1
	shift
	"$@" cat "$K/pids" >"$WORK/pids" 2>"$WORK/pids.err" || fail "$what: cat pids: $(cat "$WORK/pids.err")"
	"$@" ss -tanpHe >"$WORK/ss"
	"$@" ls -1 "$K" >"$WORK/names"
	if "$PY" "$LIB_DIR/compare_pids.py" "$WORK/pids" "$WORK/ss" "$WORK/names" 2>"$WORK/diff"; then
		pass "$what: kernel/pids equals ss -tanpHe and the listing"
	else
		fail "$what: kernel/pids differs: $(head -n 5 "$WORK/diff")"
	fi
}
same "this namespace" env
grep -q " ${H_PID[h2]} " "$WORK/pids" && pass "the second holder's socket names it" ||
	fail "no line of ${H_PID[h2]}: $(cat "$WORK/pids")"
hold_ok h name s1 && grep -qxF -- "$HELD ${H_PID[h]} python3" "$WORK/pids" &&
	pass "a line is NAME PID COMM" || fail "no '$HELD ${H_PID[h]} python3' line"
grep -qE '^[^ ]+$' "$WORK/pids" && pass "the orphan has a line of its own, no holder" ||
	fail "no socket without a holder: $(cat "$WORK/pids")"
hold_ok hb name lb && LB=$HELD
grep -qF -- "$LB" "$WORK/pids" && fail "the other namespace's listener is in this one's pids" ||
	pass "no socket of the other namespace"
# nobody sees no holder of root's sockets, as ss -p run by nobody
same "nobody" as_user 65534
grep -q " python3$" "$WORK/pids" && fail "nobody sees root's holders: $(grep python3 "$WORK/pids")" ||
	pass "nobody sees no holder of root's sockets"
cat "$K/pids" >/dev/null
sleep 0.3
hold_ok h pair c3 s3 l
hold_ok h name s3 && grep -qxF -- "$HELD ${H_PID[h]} python3" "$K/pids" &&
	pass "a socket made after a read has its holder in the next" ||
	fail "no holder for the new socket $HELD: $(grep -F -- "$HELD" "$K/pids")"
same "another namespace" ip netns exec kp_other
grep -qF -- "$LB ${H_PID[hb]} " "$WORK/pids" && pass "that namespace's reader sees its listener and holder" ||
	fail "kp_other's pids: $(cat "$WORK/pids")"
finish
