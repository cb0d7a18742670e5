#!/bin/bash
# kernel_badwrites: 1000 malformed writes to a socket's ctl (random and
# misspelt verbs, empty lines, lines far past any limit, binary bytes,
# control characters, extra arguments, engine-only verbs), every other one
# with O_TRUNC: each fails with EINVAL and leaves a one-line reason in `err`.
# The socket stays open, other sockets' `err` stays empty, writes to
# read-only files fail, and the daemon still lists and closes afterwards.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare
enter_netns "$@"
need_tcpfs

start_holder h
hold_ok h listen l 4 127.0.0.1 0
hold_ok h pair c s l
hold_ok h pair c2 s2 l
hold_ok h name c && C=$HELD
hold_ok h name c2 && C2=$HELD

MNT=$WORK/mnt
start_tcpfs "$MNT"
K=$MNT/kernel

assert_eq "" "$(cat "$K/$C/err")" "err of a fresh socket is empty"

# The shell's ways first. (Each must be one write(2): bash's printf writes
# at every newline, so 'close\n\n' would be a valid close and an empty line.)
for cmd in "echo" "echo ''" "echo close now" "echo CLOSE" "printf ' \t\n'" \
	"printf 'hangup\r\n'" "echo connect 127.0.0.1:1" "printf '\\0'"; do
	bash -c "$cmd > '$K/$C/ctl'" 2>/dev/null &&
		fail "'$cmd > ctl' succeeded; want EINVAL" || pass "'$cmd > ctl' fails"
	[ -n "$(cat "$K/$C/err")" ] && pass "err after '$cmd'" || fail "err is empty after '$cmd > ctl'"
done
assert_eq EINVAL "$(fsop write "$K/$C/ctl" 'close now\n' trunc)" "errno of 'close now'"
assert_eq EINVAL "$(fsop write "$K/$C/ctl" 'bogus')" "errno of 'bogus'"

# The thousand.
if timeout -k 5 240 "$PY" "$LIB_DIR/badwrites.py" "$K/$C" 1000 "${TCPFS_TEST_SEED:-2}"; then
	pass "1000 malformed writes: EINVAL and a reason each"
else
	fail "malformed writes (lines above)"
fi

kill -0 "$TCPFS_PID" 2>/dev/null && pass "daemon alive" || die "the daemon died"
assert_eq ESTABLISHED "$(cat "$K/$C/state" 2>&1)" "the socket is still open"
hold h recv s
assert_eq TIMEOUT "$HELD" "its peer got nothing (no reset)"
hold h recv c
assert_eq TIMEOUT "$HELD" "the socket itself is fine"
assert_eq "" "$(cat "$K/$C2/err")" "err of another socket stays empty"

# Read-only files take no writes.
for f in state status err cookie local; do
	r=$(fsop write "$K/$C/$f" close)
	[[ $r == OK* ]] && fail "write to $f was accepted ($r)" || pass "write to $f: $r"
done
r=$(fsop write "$MNT/kernel" close)
[[ $r == OK* ]] && fail "write to the kernel directory was accepted" || pass "write to kernel/: $r"

# Still serving: list, read, close.
ls -1 "$K" | grep -qxF -- "$C" && pass "listed after the storm" || fail "$C is no longer listed"
"$PY" "$LIB_DIR/compare.py" "$MNT" && pass "listing equals ss" || fail "listing differs from ss"
echo close >"$K/$C/ctl"
assert_eq 0 $? "a valid close after 1000 bad ones"
hold h recv c
assert_eq ECONNABORTED "$HELD_ERR" "the close took effect"
kill -0 "$TCPFS_PID" 2>/dev/null && pass "daemon alive at the end" || fail "the daemon died"
finish
