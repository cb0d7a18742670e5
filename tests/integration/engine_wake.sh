#!/bin/bash
# engine_wake: waiters on an engine connection's data are woken when what
# they wait for comes.
#  - poll(POLLOUT) after a write that filled the send buffer (256 KiB)
#    exactly, every byte taken: the peer's ACKs (100 ms away) free room
#    and the poller wakes, not at its 5 s timeout;
#  - a reader of data waiting in FIN_WAIT_2 (after shutdown, the peer
#    silent): close makes a read give end of file at once, so the waiting
#    reader gets it too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat
enter_netns "$@"
need_tcpfs

eng_start --impair=delay=100
bg socat -u TCP4-LISTEN:9001,reuseaddr OPEN:/dev/null
wait_until 10 eval "ss -tlnH 'sport = :9001' | grep -q ." || die "socat did not listen"
eng_clone
ctl_ok "$N" "connect $HOST4:9001"
out=$(timeout -k 1 20 "$PY" - "$E/$N/data" <<'PY' 2>&1
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
n = os.write(fd, b"x" * 262144)
p = select.poll()
p.register(fd, select.POLLOUT)
t = time.monotonic()
ev = p.poll(5000)
print("wrote %d poll %s after %.1f s" % (n, ev, time.monotonic() - t))
PY
)
log "$out"
[[ $out =~ ^wrote\ 262144\ poll\ \[\(3,\ 4\)\]\ after\ [01]\.[0-9]\ s$ ]] &&
	pass "POLLOUT once the ACKs free room in a send buffer filled exactly" ||
	fail "poll(POLLOUT) after an exactly full send buffer: $out"

bg "$PY" -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9002)); s.listen()
c, _ = s.accept(); time.sleep(60)'
wait_until 10 eval "ss -tlnH 'sport = :9002' | grep -q ." || die "the peer did not listen"
eng_clone
ctl_ok "$N" "connect $HOST4:9002"
ctl_ok "$N" shutdown
wait_state 5 "$N" FIN_WAIT_2 || die "no FIN_WAIT_2: $(get "$N" state)"
(timeout -k 1 20 cat "$E/$N/data" >/dev/null; echo "rc=$?" >"$WORK/cat.rc") &
sleep 1
[ -s "$WORK/cat.rc" ] && die "the read ended before the close: $(cat "$WORK/cat.rc")"
ctl_ok "$N" close
if wait_until 5 test -s "$WORK/cat.rc"; then
	assert_eq rc=0 "$(cat "$WORK/cat.rc")" "the waiting reader's end of file"
else
	fail "a reader waiting in FIN_WAIT_2 is not woken by close ($(get "$N" state))"
fi

eng_finish
