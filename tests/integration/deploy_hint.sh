#!/bin/bash
# deploy_hint: what scripts/mount.sh prints to try next is safe to paste:
# pasted into bash (mount.sh --hint MNT prints it for a tcpfs on MNT), it
# counts the sockets, ends by itself, does what it says (a kernel socket closed through ctl,
# an engine connection's answer and trace), leaves nothing it started
# running, and writes nothing outside the mount.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare nc socat
enter_netns "$@"
need_tcpfs
. "$LIB_DIR/engine_lib.sh"

ROOT=$(cd "$LIB_DIR/../.." && pwd)
start_holder h
hold_ok h listen l 4 127.0.0.1 0
eng_start
bash "$ROOT/scripts/mount.sh" --hint "$MNT" >"$WORK/hint.txt"
assert_eq 0 "$?" "mount.sh --hint"
# the listener, the one socket here (kernel/pids is a file, not one)
assert_match "mounted on $MNT: 1 TCP socket\\(s\\)" "$(cat "$WORK/hint.txt")" \
	"the hint counts the sockets"
# the commands: the indented lines, but for the demo and the umount
grep '^  ' "$WORK/hint.txt" | grep -v -e 'scripts/demo.sh' -e '^  umount ' >"$WORK/paste.sh"
assert_match "echo close > \"\\\$d/ctl\"" "$(cat "$WORK/paste.sh")" "the hint closes a socket"

mkdir "$WORK/cwd"
# in_cwd: the processes the pasted commands left (they run in its directory)
in_cwd() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$WORK/cwd" ] && echo "${p#/proc/}"
	done
}
at_exit 'kill $(in_cwd)'
before=$(find "$WORK" -path "$MNT" -prune -o -print | sort)
(cd "$WORK/cwd" && timeout -k 5 60 bash "$WORK/paste.sh") >"$WORK/paste.out" 2>&1
rc=$?
assert_ne 124 "$rc" "pasted, the hint ends by itself"
out=$(cat "$WORK/paste.out")
assert_match "(^|
)$MNT/kernel/[^/
]*-0\\.0\\.0\\.0:0#[0-9a-f]+/state(
|$)" "$out" "grep -l LISTEN names the listener's state file"
assert_match "(^|
)ESTABLISHED(
|$)" "$out" "the nc pair is ESTABLISHED"
assert_match "7777#[0-9a-f]+/state': No such file or directory" "$out" "after close, the socket is gone"
assert_match "you said: hello" "$out" "the engine connection gets its answer"
assert_match "\\* SYN_SENT -> ESTABLISHED" "$out" "and shows its trace"
left=$(for p in $(in_cwd); do tr '\0' ' ' <"/proc/$p/cmdline" && echo; done)
assert_eq "" "$left" "nothing it started is left running"
assert_eq "" "$(ls -A "$WORK/cwd")" "it wrote nothing in the current directory"
after=$(find "$WORK" -path "$MNT" -prune -o -print | sort | grep -v -e '/paste.out$')
assert_eq "$before" "$after" "nor anywhere else outside the mount"
eng_finish
