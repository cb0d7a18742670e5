#!/bin/bash
# engine_sharedfd: an engine connection's files used as programs use them.
# One data descriptor shared by a reader and a writer (a thread each, as
# `cat <&3 & echo hi >&3` from one `exec 3<>data`): the write goes while
# the read waits, and the read gets the echo. Two threads reading one
# events descriptor both get lines. ctl and clone poll writable (socat
# waits for that before it writes).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat
enter_netns "$@"
need_tcpfs

eng_start --msl=0.2
bg socat TCP4-LISTEN:9301,reuseaddr,fork PIPE
wait_until 10 eval "ss -tlnH 'sport = :9301' | grep -q ." || die "socat did not listen"
eng_clone
ctl_ok "$N" "connect $HOST4:9301"

out=$(timeout -k 1 20 "$PY" - "$E/$N/data" <<'PY' 2>&1
import os, sys, threading, time
fd = os.open(sys.argv[1], os.O_RDWR)
got = []
t = threading.Thread(target=lambda: got.append(os.read(fd, 100)))
t.start()
time.sleep(0.3)  # the read waits in the daemon
t0 = time.monotonic()
os.write(fd, b"hi\n")
print("write %.1f" % (time.monotonic() - t0))
t.join(5)
print("read", got)
PY
)
assert_match "^write 0\.[0-9]" "$out" "data shared: the write goes while a read waits ($out)"
assert_match "read \[b'hi\\\\n'\]" "$out" "data shared: the waiting read gets the echo"

out=$(timeout -k 1 20 "$PY" - "$MNT/events" "$E" "$HOST4" <<'PY' 2>&1
import os, sys, threading, time
fd = os.open(sys.argv[1], os.O_RDONLY)
got = []
def reader():
    try:
        got.append(len(os.read(fd, 4096)) > 0)
    except OSError as e:
        got.append(e.strerror)
ts = [threading.Thread(target=reader) for _ in range(2)]
for t in ts:
    t.start()
time.sleep(0.3)
with open(sys.argv[2] + "/clone") as c:
    n = c.read().strip()
# lines for each read, apart: the connection made, then reset
for cmd in ("connect %s:9301" % sys.argv[3], "hangup"):
    with open("%s/%s/ctl" % (sys.argv[2], n), "w") as c:
        c.write(cmd + "\n")
    time.sleep(0.3)
for t in ts:
    t.join(5)
print("events", got)
PY
)
assert_eq "events [True, True]" "$out" "events shared: two threads' reads both get lines"

out=$(timeout -k 1 10 "$PY" - "$E/$N/ctl" "$E/clone" <<'PY' 2>&1
import os, select, sys
res = []
for path, mode in ((sys.argv[1], os.O_WRONLY), (sys.argv[2], os.O_RDWR)):
    fd = os.open(path, mode)
    p = select.poll()
    p.register(fd, select.POLLOUT)
    res.append(bool(p.poll(1000)))
print("pollout", res)
PY
)
assert_eq "pollout [True, True]" "$out" "ctl and clone poll writable"
assert_match "^OK" "$(echo "nodelay on" | timeout -k 1 5 socat -u - "OPEN:$E/$N/ctl" && echo OK)" \
	"socat writes to ctl"

eng_finish
