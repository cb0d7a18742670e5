#!/bin/bash
# dir_gone: a connection's directory that goes is gone at once for `[ -d ]`
# (the kernel's dentry cache never outlives it): a kernel socket after
# `echo close > ctl` (also with --netns) and after the reset of its peer; an engine connection
# after rmdir, and when it is reaped (--reap=2: an unused clone, and an
# accepted connection its peer had reset in the accept queue, which is
# closed from the start and says why), checked right after readdir stops
# listing it while `[ -d ]` kept its name cached. A listener's listen and
# data files, kept open through its removal, read ENOENT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare strace
enter_netns "$@"
need_tcpfs

REAP=2

eng_start --reap=$REAP
events_start
K=$MNT/kernel
start_holder h
hold_ok h listen l4 4 127.0.0.1 0

# kernel: both ends of a pair, looked up (cached if it could be) just before
for i in 1 2 3; do
	hold_ok h pair c$i s$i l4
	hold_ok h name c$i && n=$HELD
	hold_ok h name s$i && pn=$HELD
	[ -d "$K/$n" ] && [ -d "$K/$pn" ] || fail "kernel pair $i: no directories"
	echo close >"$K/$n/ctl" || fail "echo close > ctl of $n"
	[ ! -d "$K/$n" ] && pass "kernel $i: closed, gone at once" ||
		fail "kernel $i: [ -d ] still true right after echo close > ctl"
	wait_until 3 bash -c "! ls -1 '$K' | grep -qxF -- '$pn'"
	[ ! -d "$K/$pn" ] && pass "kernel $i: the reset peer is gone once unlisted" ||
		fail "kernel $i: [ -d ] of the reset peer true after it left the listing"
done

# kernel: a socket the last listing showed where the kernel's lookup
# reaches it, which that lookup then misses, is gone: no dump of every
# socket's ports searches for it (18 ms at 100k sockets). One never listed
# is searched for (it may be bound to an interface its name does not say).
dumps_during() { # dumps_during CMD...: netlink dumps the daemon sent meanwhile
	local out=$WORK/strace.out err=$WORK/strace.err st
	strace -p "$TCPFS_PID" -e trace=sendto -e signal=none -o "$out" 2>"$err" &
	st=$!
	wait_until 5 grep -q attached "$err" || die "strace did not attach: $(cat "$err")"
	"$@"
	kill "$st"
	wait "$st"
	grep -c NLM_F_DUMP "$out"
}
hold_ok h pair c4 s4 l4
hold_ok h name c4 && n=$HELD
ls -f "$K" | grep -qxF -- "$n" || fail "kernel: $n not listed"
echo close >"$K/$n/ctl" || fail "echo close > ctl of $n"
assert_eq 0 "$(dumps_during test -d "$K/$n")" "kernel: listed, then gone: its lookup dumps nothing"
hold_ok h pair c5 s5 l4
hold_ok h name c5 && n=$HELD
echo close >"$K/$n/ctl" || fail "echo close > ctl of $n"
dumps=$(dumps_during test -d "$K/$n")
[ "$dumps" -ge 1 ] && pass "kernel: never listed, gone: its lookup searches ($dumps dumps)" ||
	fail "kernel: never listed, gone: its lookup did not search"

# kernel: a listing asks the kernel once for both families: one walk of
# its tables, where a request per family walks them twice
hold_ok h listen l6 6 ::1 0
hold_ok h pair c7 s7 l6
hold_ok h name c7 && n6=$HELD
hold_ok h name l4 && n4=$HELD
n=$(dumps_during bash -c "ls -f '$K' >'$WORK/list'")
# (what each dump asked, should there be more: CI once saw 2)
asked=$(grep -o 'nlmsg_type=[A-Z_]*, nlmsg_flags=[A-Z_|]*NLM_F_DUMP[A-Z_|]*, [^}]*}, {[^,]*' "$WORK/strace.out" | tr '\n' ';')
assert_eq 1 "$n" "kernel: a listing is one dump ($asked)"
grep -qxF -- "$n4" "$WORK/list" && grep -qxF -- "$n6" "$WORK/list" &&
	pass "kernel: that dump lists IPv4 and IPv6 sockets" ||
	fail "kernel: one listing lacks $n4 or $n6: $(cat "$WORK/list")"

# kernel, the namespace pinned (--netns: names are cached, as every reader
# sees the same): a closed socket's directory is gone at once all the same
saved=("$TCPFS_PID" "$TCPFS_MNT" "$TCPFS_LOG")
start_tcpfs "$WORK/pinned" --netns "/proc/$$/ns/net" --no-engine
hold_ok h pair c6 s6 l4
hold_ok h name c6 && n=$HELD
[ -d "$WORK/pinned/kernel/$n" ] || fail "--netns: no directory for $n"
echo close >"$WORK/pinned/kernel/$n/ctl" || fail "--netns: echo close > ctl of $n"
[ ! -d "$WORK/pinned/kernel/$n" ] && pass "--netns: closed, gone at once" ||
	fail "--netns: [ -d ] still true right after echo close > ctl"
stop_tcpfs "$TCPFS_PID" "$WORK/pinned"
TCPFS_PID=${saved[0]} TCPFS_MNT=${saved[1]} TCPFS_LOG=${saved[2]}

# engine: rmdir of an unused clone
eng_clone
[ -d "$E/$N" ] || fail "engine/$N after clone"
rmdir "$E/$N" && [ ! -d "$E/$N" ] && pass "engine: rmdir, gone at once" ||
	fail "engine: $N still there after rmdir"

# engine: a listener's listen and data files kept open through its close
# and rmdir read ENOENT (the connection was removed), not end of file
eng_clone
ctl_ok "$N" "announce 7007"
assert_eq "ENOENT ENOENT" "$(timeout -k 1 10 "$PY" -c '
import errno, os, sys
d = sys.argv[1]
fds = [os.open(d + "/" + f, os.O_RDONLY | os.O_NONBLOCK) for f in ("listen", "data")]
with open(d + "/ctl", "w") as c:
    c.write("close\n")
os.rmdir(d)
out = []
for fd in fds:
    try:
        out.append("read %r" % os.read(fd, 100))
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(" ".join(out))' "$E/$N")" "engine: listen and data of a removed listener"

# engine: reaped clones (unused: REAP s after the clone). Looked up first
# 1.5 s after the clone, so that a name cached for the usual 1 s would
# outlive the directory by 0.5 s; kept hot until the listing drops it, then
# asked once more.
reaped() {
	local n=$1 i
	for ((i = 0; i < 250; i++)); do
		if ! ls -1 "$E" | grep -qxF -- "$n"; then
			[ ! -d "$E/$n" ]
			return
		fi
		[ -d "$E/$n" ] # looked up: cached as long as we let it
		sleep 0.02
	done
	return 2
}
for i in 1 2 3; do
	N=$(timeout -k 1 5 cat "$E/clone") || die "cat $E/clone failed"
	sleep 1.5
	reaped "$N"
	case $? in
	0) pass "engine/$N reaped: gone at once" ;;
	1) fail "engine/$N: [ -d ] still true after the listing dropped it" ;;
	*) fail "engine/$N: not reaped within 5 s of the first look (--reap=$REAP)" ;;
	esac
done

# engine: a connection reset in the accept queue, accepted closed: it says
# why, events tells its end, and it is reaped as any closed connection
eng_clone
L=$N
ctl_ok "$L" "announce $ENG4:8090"
python3 -c 'import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$ENG4" 8090 || fail "the kernel's connect to $ENG4:8090"
sleep 0.5 # the reset reaches the engine before the accept
M=$(timeout -k 1 5 cat "$E/$L/listen") || fail "read of engine/$L/listen"
assert_eq CLOSED "$(get "$M" state)" "accepted after its reset: CLOSED"
assert_match "reset" "$(get "$M" err)" "err says it was reset"
assert_events 3 "$M" "ESTABLISHED->CLOSED" "events tells its end"
reaped "$M"
case $? in
0) pass "engine/$M, reset before the accept, reaped" ;;
*) fail "engine/$M, reset before the accept, not reaped within 5 s (--reap=$REAP)" ;;
esac
eng_finish
