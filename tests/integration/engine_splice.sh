#!/bin/bash
# engine_splice: writes to an engine connection's data come through a pipe
# (libfuse splices each request into it, FUSE_CAP_SPLICE_READ with fs's
# write_buf) and go from it straight into the send queue; what does not fit
# waits in the parked request. 24 MiB in writes of 1 MiB, then of an odd
# size, to a kernel peer that reads only after a second (the send queue
# fills, writes wait), arrive byte-exact, and the daemon spliced them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
PY=${PY:-python3}
need_root
need_cmd ip ss unshare strace sha256sum "$PY"
enter_netns "$@"
need_tcpfs
SIZE=$((24 << 20))
eng_start --msl=0.5
head -c "$SIZE" /dev/urandom >"$WORK/in.bin"
want=$(sha256sum <"$WORK/in.bin" | cut -d' ' -f1)
# sink PORT: accept one, wait a second, read to EOF; print bytes and sha256
sink() {
	"$PY" -c '
import hashlib, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'$HOST4'", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
time.sleep(1)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest())
' "$1" >"$WORK/sink.$1"
}

for bs in 1M 777777; do
	port=$((9300 + ${#bs}))
	bg sink $port
	peer=$BG
	wait_until 10 eval "ss -tlnH 'sport = :$port' | grep -q ." || die "the sink did not listen on $port"
	eng_clone
	ctl_ok "$N" "connect $HOST4:$port"
	strace -f -c -e trace=splice -o "$WORK/strace.$bs" -p "$TCPFS_PID" 2>/dev/null &
	st=$!
	sleep 0.5 # strace attached
	timeout -k 1 60 dd if="$WORK/in.bin" of="$E/$N/data" bs=$bs status=none
	assert_eq 0 $? "bs=$bs: 24 MiB written to data"
	kill -INT $st
	wait $st
	ctl_ok "$N" shutdown
	wait_until 30 eval "! kill -0 $peer 2>/dev/null" || fail "bs=$bs: the sink did not see EOF"
	assert_eq "$SIZE $want" "$(cat "$WORK/sink.$port")" "bs=$bs: bytes and sha256 at the kernel's end"
	calls=$(awk '$NF == "splice" { print $4 }' "$WORK/strace.$bs")
	[ "${calls:-0}" -ge 24 ] && pass "bs=$bs: the daemon spliced $calls requests" ||
		fail "bs=$bs: the daemon spliced ${calls:-no} requests for 24 MiB: $(cat "$WORK/strace.$bs")"
	ctl "$N" close >/dev/null
done
eng_finish
