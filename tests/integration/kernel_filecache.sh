#!/bin/bash
# kernel_filecache: the kernel caches the names and attributes of a kernel
# socket's files (NAME/pid, NAME/state), never NAME itself, which every
# reader's path walk asks the daemon for again in that reader's network
# namespace. A second `stat NAME/pid` costs one request (the LOOKUP of
# NAME) and no GETATTR. What one reader left in the cache shows a reader of
# another namespace nothing: NAME and its files, stat, read and listed
# just after, are ENOENT there; and a reader of another uid just after root
# sees no holder of root's socket in pid. A reader that enters another
# namespace (setns) sees that one's sockets 10 ms later.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare nsenter stat setpriv
enter_netns "$@"
need_tcpfs

start_holder h
hold_ok h listen l 4 127.0.0.1 0
hold_ok h pair c s l
hold_ok h name c
C=$HELD
hold_ok h pid
HOLDER=$HELD
# B: another network namespace, with a socket of its own
start_holder hb unshare --net -- bash -c 'ip link set lo up && exec "$@"' holder
hold_ok hb listen l 4 127.0.0.1 0
hold_ok hb pair c s l
hold_ok hb name c
CB=$HELD
IN_B=(nsenter "--net=/proc/${H_PID[hb]}/ns/net")

MNT=$WORK/mnt
start_tcpfs "$MNT" -o allow_other -d
K=$MNT/kernel

# requests PID OPCODE: how many OPCODE requests process PID made.
requests() {
	grep -ac "opcode: $2 ([0-9]*), nodeid: [0-9]*, insize: [0-9]*, pid: $1\$" "$TCPFS_LOG"
}
# stat_twice PATH: stat PATH, then stat it again in a new process; print
# that process's pid.
stat_twice() {
	stat "$1" >/dev/null || return
	bash -c 'echo $$; exec stat "$0" >/dev/null' "$1"
}
for f in pid state; do
	p=$(stat_twice "$K/$C/$f") || die "stat $K/$C/$f failed"
	sleep 0.2 # the log is written after the reply
	assert_eq 1 "$(requests "$p" LOOKUP)" "a second stat of NAME/$f looks up NAME only"
	assert_eq 0 "$(requests "$p" GETATTR)" "a second stat of NAME/$f asks no attributes"
done

# Another namespace, just after this one filled the cache: nothing.
for i in 1 2 3; do
	assert_eq "OK b'$HOLDER python3\n'" "$(fsop read "$K/$C/pid")" "this namespace reads NAME/pid"
	stat "$K/$C/pid" "$K/$C/state" >/dev/null
	for f in "$C/pid" "$C/state" "$C"; do
		assert_eq ENOENT "$("${IN_B[@]}" "$PY" "$WORK/fsop.py" stat "$K/$f")" \
			"namespace B, just after: stat of $f"
	done
	assert_eq ENOENT "$("${IN_B[@]}" "$PY" "$WORK/fsop.py" read "$K/$C/pid")" \
		"namespace B, just after: read of NAME/pid"
	assert_eq ENOENT "$("${IN_B[@]}" "$PY" "$WORK/fsop.py" listdir "$K/$C")" \
		"namespace B, just after: listing of NAME"
	"${IN_B[@]}" test -e "$K/$C/pid" && fail "namespace B: test -e NAME/pid is true" ||
		pass "namespace B: test -e NAME/pid is false"
	# and the other way round
	out=$("${IN_B[@]}" "$PY" "$WORK/fsop.py" stat "$K/$CB/pid")
	assert_eq OK "${out%% *}" "namespace B stats its own socket's pid"
	assert_eq ENOENT "$(fsop stat "$K/$CB/pid")" "this namespace, just after: B's NAME/pid"
	# another reader of the same namespace: its own view of pid
	assert_eq "OK b''" "$(fsop_as 65534 read "$K/$C/pid")" "nobody, just after root: no holder of root's socket"
done

# A reader that moves to another namespace (setns) is answered as it is
# there: the daemon remembers a reader's namespace for a millisecond only.
out=$("$PY" - "$K" "$C" "$CB" "/proc/${H_PID[hb]}/ns/net" <<'PY'
import ctypes, os, sys, time
k, c, cb, ns = sys.argv[1:]
def stat(name):
    try:
        os.stat(k + "/" + name + "/state")
        return "OK"
    except OSError as e:
        return "ENOENT" if e.errno == 2 else str(e.errno)
seen = [stat(c)]
fd = os.open(ns, os.O_RDONLY)
if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
    sys.exit("setns failed")
time.sleep(0.01)
print(" ".join(seen + [stat(c), stat(cb)]))
PY
)
assert_eq "OK ENOENT OK" "$out" "a reader that entered namespace B: this one's socket gone, B's there"

finish
