#!/bin/bash
# engine_trim: memory freed by a burst of engine connections goes back to
# the system. 2000 connections to a kernel listener that never accepts,
# 16 KiB written to each (their rings allocated), all hung up and reaped
# (--reap=1): the daemon's VmRSS returns to within a quarter of the
# burst's growth above the baseline (the reap round calls malloc_trim once
# 64 connections were freed). Prints the figures: baseline, peak, after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip unshare
enter_netns "$@"
need_tcpfs
# ASan's allocator keeps freed blocks in quarantine and ignores malloc_trim
ldd "$TCPFS" 2>/dev/null | grep -q libasan && skip "tcpfs is built with ASan: its allocator is not glibc's"

CONNS=${TCPFS_TRIM_CONNS:-2000}
eng_start --reap=1 --engine-mem-uid=1G --engine-mem-max=2G # fixed caps: the defaults scale with RAM
bg "$PY" -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$HOST4"'", 7070))
s.listen(4096)
time.sleep(600)'
wait_until 5 eval "ss -Hltn 'sport = :7070' | grep -q ."

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$TCPFS_PID/status"; }
# burst OP: open CONNS connections and fill them, or hang them all up.
burst() {
	timeout -k 2 120 "$PY" - "$E" "$HOST4" "$1" "$CONNS" <<'PYEOF'
import os, sys
e, host, op, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def put(path, b):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, b)
    finally:
        os.close(fd)
if op == "open":
    for i in range(n):
        with open(e + "/clone") as f:
            c = f.read().strip()
        put(f"{e}/{c}/ctl", f"connect {host}:7070\n".encode())
        put(f"{e}/{c}/data", b"x" * 16384)
else:
    for c in os.listdir(e):
        if c.isdigit():
            put(f"{e}/{c}/ctl", b"hangup\n")
PYEOF
}

base=$(rss)
burst open
assert_eq 0 $? "$CONNS connections opened and written to"
peak=$(rss)
burst hangup
assert_eq 0 $? "$CONNS connections hung up"
wait_until 20 eval "[ \$(ls '$E' | wc -l) -le 2 ]"
assert_eq "clone stats" "$(echo $(ls "$E"))" "every connection reaped"
sleep 1.5 # the reap round after the last one, and its trim
after=$(rss)
echo "engine_trim: VmRSS baseline $base kB, after $CONNS connections $peak kB, reaped $after kB;" \
	"kept $(((after - base) * 100 / (peak - base + 1)))% of the growth"
assert_ok "the burst grew VmRSS by at least 8 MB ($base -> $peak kB)" test $((peak - base)) -ge 8192
assert_ok "VmRSS after the reap ($after kB) within a quarter of the growth above $base kB" \
	test $((after - base)) -le $(((peak - base) / 4))
eng_finish
