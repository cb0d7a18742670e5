#!/bin/bash
# deploy_log: the log. --log=FILE appends every line to FILE with a
# timestamp, the pid and the level: a failed ctl (kernel and engine) and a
# refused rmdir are there with the reason their err file gives. A daemon in
# the background with no syslog daemon to talk to logs to the stderr it was
# started with, after an upgrade too, but not to a pipe (a reader would
# wait). A relative --log stays where it was across an upgrade. A --log
# that cannot be opened stops the start.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare
enter_netns "$@"
need_tcpfs
. "$LIB_DIR/engine_lib.sh"

start_holder h
hold_ok h listen l 4 127.0.0.1 0
LOGF=$WORK/tcpfs.file
eng_start --log="$LOGF"
k=$(ls "$MNT/kernel" | grep -- "^$HELD-")
[ -n "$k" ] || die "the listener $HELD is not in kernel/"
assert_eq EINVAL "$(fsop write "$MNT/kernel/$k/ctl" 'connect 198.18.0.1:80\n')" \
	"a kernel socket refuses connect"
why=$(cat "$MNT/kernel/$k/err")
assert_match "is for engine connections" "$why" "its err says why"
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{4} tcpfs\[[0-9]+\]'
assert_match "^$stamp notice: kernel/$k: $why\$" "$(grep -F -- "$why" "$LOGF")" \
	"--log: the same reason, with time, pid and level"
assert_eq 0 "$(grep -cF -- "$why" "$TCPFS_LOG")" "--log: not on stderr as well"

eng_clone
ctl_ok "$N" "announce 4242"
assert_eq EBUSY "$(fsop_rmdir "$E/$N")" "rmdir of a listener"
why=$(get "$N" err)
assert_match "^rmdir: " "$why" "its err says why"
assert_match "^$stamp notice: engine/$N: $why\$" "$(grep -F -- "$why" "$LOGF")" \
	"--log: the rmdir's reason too"
assert_match "^$stamp info: mounted on $MNT\$" "$(grep mounted "$LOGF")" "--log: the start"
stop_tcpfs

# In the background, no syslog daemon: lines go to the first stderr.
if [ -e /dev/log ]; then
	: >"$WORK/nolog"
	mount --bind "$WORK/nolog" /dev/log || die "cannot hide /dev/log"
	at_exit "umount /dev/log"
fi
mkdir "$WORK/bg"
"$TCPFS" "$WORK/bg" --no-engine 2>"$WORK/bg.err" </dev/null
assert_eq 0 "$?" "tcpfs without -f returns 0 once mounted"
at_exit "umount -l '$WORK/bg'"
k=$(ls "$WORK/bg/kernel" | grep -- "^$HELD-")
assert_eq EINVAL "$(fsop write "$WORK/bg/kernel/$k/ctl" 'announce 80\n')" "a bad ctl, daemonized"
wait_until 5 grep -q "kernel/$k: 'announce' is for engine" "$WORK/bg.err"
assert_match "^tcpfs: kernel/$k: 'announce' is for engine" \
	"$(grep announce "$WORK/bg.err")" "daemonized without syslog: the reason on stderr"
# ... and after an upgrade, the new image too
bgpid=$(pgrep -xf "$TCPFS $WORK/bg --no-engine")
[ -n "$bgpid" ] || die "no daemon for $WORK/bg"
kill -USR2 "$bgpid"
wait_until 10 grep -q "upgraded: serving $WORK/bg again" "$WORK/bg.err" ||
	fail "no 'upgraded' line on stderr: $(tail -n 3 "$WORK/bg.err")"
assert_eq EINVAL "$(fsop write "$WORK/bg/kernel/$k/ctl" 'hangup now\n')" "a bad ctl, upgraded"
wait_until 5 grep -q "kernel/$k: too many arguments for 'hangup'" "$WORK/bg.err" ||
	fail "upgraded without syslog: no reason on stderr: $(tail -n 3 "$WORK/bg.err")"
umount "$WORK/bg"

# A relative --log leads where it led when the daemon started, upgraded
# or not (the daemon's directory is / once it runs in the background).
mkdir "$WORK/bg2"
(cd "$WORK" && "$TCPFS" "$WORK/bg2" --no-engine --log=rel.log </dev/null)
assert_eq 0 "$?" "started with --log=rel.log"
at_exit "umount -l '$WORK/bg2'"
kill -USR2 "$(pgrep -xf "$TCPFS $WORK/bg2 --no-engine --log=rel.log")"
wait_until 10 grep -q "upgraded: serving $WORK/bg2 again" "$WORK/rel.log" ||
	fail "--log=rel.log: no 'upgraded' line in $WORK/rel.log"
[ ! -e /rel.log ] && pass "nothing in /rel.log" || { fail "the upgraded daemon wrote /rel.log"; rm -f /rel.log; }
umount "$WORK/bg2"

# Without syslog and with stderr a pipe (out=$(mount ...)), the daemon
# does not hold it: the reader gets its end, and a line saying so.
mkdir "$WORK/bg3"
out=$(timeout 10 "$TCPFS" "$WORK/bg3" --no-engine 2>&1 </dev/null)
assert_eq 0 "$?" "tcpfs in the background, stderr a pipe: returns, and the pipe ends"
at_exit "umount -l '$WORK/bg3'"
assert_match "stderr is a pipe: the daemon's log ends here" "$out" "and says so"
umount "$WORK/bg3"

# a log that cannot be opened: no start, exit 1, and why
out=$("$TCPFS" "$WORK/mnt" -f --log="$WORK/no/such/dir/log" 2>&1)
assert_eq 1 "$?" "--log in a missing directory: exit status"
assert_match "--log $WORK/no/such/dir/log: No such file or directory" "$out" "and why"
is_mounted "$WORK/mnt" && fail "mounted despite the bad --log" || pass "not mounted"
eng_finish
