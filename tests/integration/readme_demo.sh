#!/bin/bash
# readme_demo: scripts/demo.sh replays the README's sessions: it starts
# their peers, types their commands and shows what tcpfs answers; the
# commands and the stable parts of the answers (states, file lists, the
# keys of status, the trace's segments and states, FIN_WAIT_1, FIN_WAIT_2
# and TIME_WAIT among them) are the README's (readme_compare.py). It exits
# 0 and leaves nothing running.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare nc socat
enter_netns "$@"
need_tcpfs

ROOT=$(cd "$LIB_DIR/../.." && pwd)
# demo.sh makes /mnt/tcpfs: here, on a tmpfs of this mount namespace
mount -t tmpfs tcpfs-test /mnt || die "cannot mount a tmpfs on /mnt"
at_exit "umount -l /mnt"

TCPFS=$TCPFS timeout -k 5 60 bash "$ROOT/scripts/demo.sh" >"$WORK/demo.out" 2>"$WORK/demo.err"
assert_eq 0 "$?" "demo.sh's exit status ($(tail -n 3 "$WORK/demo.err"))"
out=$("$PY" "$LIB_DIR/readme_compare.py" "$ROOT/README.md" "$WORK/demo.out")
assert_eq 0 "$?" "the README's sessions, replayed: $out"
for st in FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT; do
	grep -q -- "-> $st\$" "$WORK/demo.out" && pass "the engine's trace shows $st" ||
		fail "no '-> $st' in the demo's trace"
done
left=$(pgrep -f -- 'TCP4-LISTEN:7000|nc -l 127.0.0.1 8080|/mnt/tcpfs -f -o allow_other' || true)
assert_eq "" "$left" "nothing the demo started is left running"
assert_eq 0 "$(count_mounts /mnt/tcpfs)" "no tcpfs left mounted on /mnt/tcpfs"
finish
