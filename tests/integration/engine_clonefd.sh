#!/bin/bash
# engine_clonefd: engine/clone opened for reading and writing is the ctl of
# the connection that open made, as in Plan 9: read gives its name, each
# write is a ctl command (connect waits for the handshake, a bad command
# fails with its reason in that connection's err, close closes), from bash
# and as another user, and the connection outlives the descriptor. A
# descriptor whose connection was removed gets ENOENT, never another
# connection's; a name given again (after an upgrade the engine counts from
# 1) shows the new connection's files. Its data opened O_NONBLOCK does
# not wait; events polls. One user's connect waiting in its write to clone
# does not hold another user's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat setpriv stat
enter_netns "$@"
need_tcpfs

eng_start --msl=0.2 -o allow_other
assert_eq 666 "$(stat -c %a "$E/clone")" "engine/clone is mode 0666"

# events polls (through the kernel): not readable while idle (nothing
# happens yet in this namespace), readable once a line waits
out=$(timeout -k 1 10 python3 - "$E" "$MNT" <<'PY' 2>&1
import os, select, sys
e, mnt = sys.argv[1], sys.argv[2]
ev = os.open(mnt + "/events", os.O_RDONLY)
p = select.poll()
p.register(ev, select.POLLIN)
print("idle", p.poll(300))
fd = os.open(e + "/clone", os.O_RDWR)
n = os.read(fd, 64).decode().strip()
os.write(fd, b"announce 9011")
print("line", [bool(r & select.POLLIN) for _, r in p.poll(5000)])
print("read", ("engine/" + n) in os.read(ev, 4096).decode())
os.write(fd, b"close")
PY
)
assert_eq "idle []
line [True]
read True" "$out" "events: poll waits while idle, is readable once a line waits"

bg socat TCP4-LISTEN:9005,reuseaddr,fork EXEC:cat
wait_until 10 eval "ss -tlnH 'sport = :9005' | grep -q ." || die "socat did not listen"

# clone_fd CMD...: in bash, open clone read-write on fd 3, read the name,
# then write each CMD to fd 3; prints the name, then OK or the error of
# each write
clone_fd() {
	timeout -k 1 10 bash -c '
		e=$1
		shift
		exec 3<>"$e/clone" || exit 1
		read -r n <&3 || exit 1
		echo "$n"
		for c in "$@"; do
			if out=$(echo "$c" 2>&1 >&3); then echo OK; else echo "${out##*: }"; fi
		done' _ "$E" "$@"
}

out=$(clone_fd "connect $HOST4:9005")
n=$(head -n 1 <<<"$out")
[[ $n =~ ^[1-9][0-9]*$ ]] || die "clone fd: no name ($out)"
assert_eq OK "$(sed -n 2p <<<"$out")" "connect through the clone's descriptor"
assert_eq ESTABLISHED "$(get "$n" state)" "engine/$n is ESTABLISHED when the write returns"
assert_eq 0 "$(stat -c %u "$E/$n")" "engine/$n belongs to the opener"
assert_state 5 "$n" ESTABLISHED "the connection outlives the clone's descriptor"

# several commands on one descriptor
out=$(clone_fd "connect $HOST4:9005" "timeout 7" close)
n=$(head -n 1 <<<"$out")
assert_eq "OK OK OK" "$(sed -n '2,$p' <<<"$out" | paste -sd ' ')" "connect, timeout and close on one descriptor"
assert_eq 7 "$(get "$n" timeout)" "timeout 7 reached engine/$n"
wait_state 5 "$n" CLOSED || fail "close through the descriptor: engine/$n is $(get "$n" state)"
# a bad command: EINVAL, the reason in that connection's err
out=$(clone_fd "frobnicate")
n=$(head -n 1 <<<"$out")
assert_eq "Invalid argument" "$(sed -n 2p <<<"$out")" "a bad verb through the descriptor: EINVAL"
assert_eq "unknown verb 'frobnicate'" "$(get "$n" err)" "the reason is in engine/$n/err"

# refused: the error of connect(2), the reason in err
out=$(clone_fd "connect $HOST4:9")
n=$(head -n 1 <<<"$out")
assert_eq "Connection refused" "$(sed -n 2p <<<"$out")" "connect to a closed port: ECONNREFUSED"
assert_match "refused" "$(get "$n" err)" "engine/$n's err says refused"

# O_NONBLOCK reaches the daemon with each read and write: data opened so
# reads EAGAIN with nothing there, takes a write, then gives the echo
out=$(timeout -k 1 10 python3 - "$E" "$HOST4:9005" <<'PY' 2>&1
import os, select, sys
e, addr = sys.argv[1], sys.argv[2]
fd = os.open(e + "/clone", os.O_RDWR)
n = os.read(fd, 64).decode().strip()
os.write(fd, ("connect " + addr).encode())
d = os.open(e + "/" + n + "/data", os.O_RDWR | os.O_NONBLOCK)
try:
    print("read", len(os.read(d, 100)))
except BlockingIOError:
    print("read EAGAIN")
print("wrote", os.write(d, b"ping"))
p = select.poll()
p.register(d, select.POLLIN)
p.poll(5000)
print("read", os.read(d, 100).decode())
os.write(fd, b"close")
PY
)
assert_eq "read EAGAIN
wrote 4
read ping" "$out" "data opened O_NONBLOCK: EAGAIN, then the echo"

# another user: its own connection through its own descriptor
out=$(as_user 65534 bash -c '
	exec 3<>"$1/clone" || exit 1
	read -r n <&3 && echo "$n" && echo "connect $2" >&3 && echo close >&3 && echo done' _ "$E" "$HOST4:9005")
n=$(head -n 1 <<<"$out")
assert_eq done "$(tail -n 1 <<<"$out")" "uid 65534: clone, connect and close on one descriptor"
assert_eq 65534 "$(stat -c %u "$E/$n")" "engine/$n belongs to uid 65534"

# one user's connect waiting in its write to clone does not hold other
# users' writes to clone: the kernel lets them run in parallel. The first
# waits on a listener whose accept queue (backlog 0) a connection fills:
# the host drops its SYNs.
assert_eq 4096 "$(stat -c %s "$E/clone")" "engine/clone's size: writes within it run in parallel"
"$PY" -c '
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], 9013))
s.listen(0)
time.sleep(60)' "$HOST4" &
FULL=$!
at_exit "kill $FULL 2>/dev/null"
wait_until 5 eval 'ss -Hltn "sport = :9013" | grep -q .' || die "no listener on 9013"
eng_clone
ctl_ok "$N" "connect $HOST4:9013" # the queue is full now
exec 5<>"$E/clone"
read -r n <&5
(echo "connect $HOST4:9013" >&5) 2>/dev/null &
WAITER=$!
wait_until 5 eval '[ "$(get "$n" state)" = SYN_SENT ]' || fail "engine/$n: not waiting in SYN_SENT"
t0=$EPOCHREALTIME
out=$(as_user 65534 timeout -k 1 10 bash -c '
	exec 3<>"$1/clone" || exit 1
	read -r n <&3 && echo "connect $2" >&3 && echo close >&3 && echo done' _ "$E" "$HOST4:9005")
t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
assert_eq done "$out" "uid 65534 connects through clone while root's connect waits"
assert_ok "... at once (${t} s)" awk -v t="$t" 'BEGIN { exit !(t < 2) }'
assert_eq SYN_SENT "$(get "$n" state)" "root's connect still waits"
kill "$WAITER" 2>/dev/null
wait "$WAITER" 2>/dev/null
exec 5>&-
kill "$FULL" 2>/dev/null

# a descriptor whose connection was removed: ENOENT, not another's
exec 4<>"$E/clone"
read -r n <&4
rmdir "$E/$n" || fail "rmdir engine/$n (unused)"
[ ! -d "$E/$n" ] && pass "engine/$n removed" || fail "engine/$n still there"
out=$(echo "connect $HOST4:9005" 2>&1 >&4) && fail "write to the clone of a removed connection succeeded" ||
	assert_match "No such file" "$out" "the descriptor of a removed connection: ENOENT"
exec 4>&-

# a name given again after an upgrade (the engine counts from 1 again):
# the kernel has the old directory's name and its files' names cached, yet
# shows the new connection's owner and values
out=$(as_user 65534 bash -c 'read -r n < "$1/clone" && echo "$n"' _ "$E")
m=$(head -n 1 <<<"$out")
[ -d "$E/$m" ] && assert_eq 65534 "$(stat -c %u "$E/$m")" "engine/$m belongs to 65534 before the upgrade"
kill -USR2 "$TCPFS_PID"
only_fixed() { [ "$(ls -1 "$E" 2>/dev/null | paste -sd ' ')" = "clone stats" ]; }
wait_until 10 only_fixed ||
	die "after the upgrade engine/ has $(ls -1 "$E" | paste -sd ' ')"
for ((i = 1; i <= m; i++)); do
	k=$(timeout -k 1 5 cat "$E/clone") || die "clone after the upgrade"
done
assert_eq "$m" "$k" "the engine gives the name $m again"
assert_eq 0 "$(stat -c %u "$E/$m")" "engine/$m: the new connection's owner (root), not the old one's"
assert_eq 0 "$(get "$m" uid)" "engine/$m/uid: the new connection's"
eng_finish
