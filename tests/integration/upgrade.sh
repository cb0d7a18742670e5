#!/bin/bash
# upgrade: SIGUSR2 re-executes the daemon on the same FUSE connection. A
# "container" (unshare --mount --net --pid --fork) holds a bind mount of the
# tcpfs mount and a shell in its mount namespace sits cd'ed in a connection
# directory; the binary file the daemon was started from is replaced (as
# install(1) and dpkg do: a new file renamed over it) and the daemon
# signalled. The pid stays, it runs the new file, the container still lists
# kernel/ and reads files through its bind mount, the cd'ed shell reads its
# directory's files, the host mount never says ENOTCONN, a file opened
# before reads, and an events read waiting at the upgrade gets ESTALE. The engine's connection is reset (its kernel peer
# reads ECONNRESET) and the new image's engine connects again on a TUN
# device made anew. A binary that cannot be executed (a text file, or
# none) makes the daemon execute its running image again: still served.
# Started through PATH, the daemon upgrades to what PATH names then. A new
# file is probed first (run with the same arguments and --upgrade-probe, it
# must exit 0): one
# that fails is not executed, the daemon serves on. One that passes, then
# fails or hangs: a guardian takes over. umount of an
# upgraded daemon's mount leaves what lies below mounted. -o auto_unmount
# still unmounts after an upgrade.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd unshare nsenter ip
enter_netns "$@"
need_tcpfs

BIN=$WORK/bin/tcpfs
mkdir -p "$WORK/bin" || die "mkdir"
cp "$TCPFS" "$BIN" || die "cannot copy $TCPFS"
TCPFS=$BIN eng_start
PID=$TCPFS_PID

# Every descriptor the daemon opens itself is close-on-exec: across an exec
# go only those it was started with (this shell's, besides stdio), which
# upgrade.c keeps on purpose.
own_cloexec() {
	local f n bad=
	for f in /proc/$PID/fdinfo/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] || continue
		(($(awk '$1 == "flags:" { print $2 }' "$f") & 02000000)) && continue
		[ "$(readlink "/proc/$$/fd/$n")" = "$(readlink "/proc/$PID/fd/$n")" ] && continue
		bad+=" $n ($(readlink "/proc/$PID/fd/$n"))"
	done
	[ -z "$bad" ] || { echo "not close-on-exec:$bad"; return 1; }
}
assert_ok "the daemon's own descriptors are close-on-exec" own_cloexec

# A socket of the daemon's namespace, and its directory, looked up after
# another's: its inode is not the first a new table would give (the new
# image must know it from the old, not by chance).
start_holder hh
hold_ok hh listen l0 4 127.0.0.1 0
hold_ok hh name l0
wait_until 5 test -d "$MNT/kernel/$HELD" || die "$HELD is not in $MNT/kernel"
hold_ok hh listen l4 4 127.0.0.1 0
hold_ok hh name l4
NAME=$HELD
wait_until 5 test -d "$MNT/kernel/$NAME" || die "$NAME is not in $MNT/kernel"
# a refused ctl write leaves its reason in the directory's err
fsop write "$MNT/kernel/$NAME/ctl" "frobnicate" >/dev/null
ERR=$(cat "$MNT/kernel/$NAME/err")
[ -n "$ERR" ] || die "no reason in $NAME/err after a bad ctl verb"

# An engine connection to a kernel socket of the host side.
hold_ok hh listen e4 4 "$HOST4" 0
EPORT=${HELD##*:}
eng_clone
ctl_ok "$N" "connect $HOST4:$EPORT"
hold_ok hh accept ea e4

# The container: its own mount, network and pid namespaces, a bind mount of
# the tcpfs mount, a listener of its own; it lists kernel/ when told to.
C=$WORK/c
mkdir -p "$C/root" || die "mkdir"
unshare --mount --net --pid --fork --propagation private -- bash -c '
	c=$1 py=$2
	ip link set lo up && mount --bind "$3" "$c/root" || exit 1
	"$py" -c "import socket,time
s=socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(); time.sleep(120)" &
	touch "$c/up"
	for phase in before after guard; do
		for ((i = 0; i < 600; i++)); do
			[ -e "$c/go.$phase" ] && break
			sleep 0.1
		done
		ls "$c/root/kernel" >"$c/ls.$phase" 2>"$c/ls.$phase.err"
		touch "$c/done.$phase"
	done
	kill %1
' container "$C" "$PY" "$MNT" 2>"$WORK/container.err" &
CPID=$!
at_exit "kill $CPID; wait $CPID"
wait_until 10 test -e "$C/up" || die "the container did not start: $(cat "$WORK/container.err")"

# container_ls PHASE: the container lists kernel/ through its bind mount.
container_ls() {
	touch "$C/go.$1"
	wait_until 20 test -e "$C/done.$1" || die "the container did not list kernel/ ($1)"
	[ ! -s "$C/ls.$1.err" ] || fail "container's ls ($1): $(cat "$C/ls.$1.err")"
}
container_ls before
[ -s "$C/ls.before" ] || die "the container lists nothing in kernel/"

# A shell in the container's mount namespace (and the daemon's network
# namespace), cd'ed in NAME's directory across the upgrade.
nsenter -t "$CPID" -m -- bash -c '
	cd "$1/root/kernel/$2" || exit 1
	cat state >"$3/state.before"
	touch "$3/cd.up"
	for ((i = 0; i < 600; i++)); do
		[ -e "$3/cd.go" ] && break
		sleep 0.1
	done
	cat state >"$3/state.after" 2>"$3/state.err"
	ls >"$3/files.after" 2>>"$3/state.err"
	touch "$3/cd.done"
' cdshell "$C" "$NAME" "$WORK" 2>"$WORK/cdshell.err" &
SHPID=$!
at_exit "kill $SHPID"
wait_until 10 test -e "$WORK/cd.up" || die "the cd'ed shell did not start: $(cat "$WORK/cdshell.err")"
assert_eq LISTEN "$(cat "$WORK/state.before")" "state through the container's mount, before"

# A file open across the upgrade: fd 7 of this shell.
exec 7<"$MNT/kernel/$NAME/state" || die "cannot open state"
at_exit "exec 7<&-"

# A reader of events, waiting in read(2) when the upgrade comes.
cat "$MNT/events" >/dev/null 2>"$WORK/events.err" &
EVPID=$!
at_exit "kill $EVPID"
wait_until 5 eval "ls -l /proc/$EVPID/fd | grep -q '$MNT/events'" || die "cat did not open events"
sleep 0.2 # and reads it

# A watcher on the host mount: every stat must succeed, during an upgrade.
WPID=
watch_start() {
	rm -f "$WORK/watch.stop" "$WORK/watch.err"
	(
		for ((i = 0; i < 3000; i++)); do
			[ -e "$WORK/watch.stop" ] && break
			stat -c %i "$MNT/kernel" >/dev/null 2>>"$WORK/watch.err" ||
				echo "stat failed" >>"$WORK/watch.err"
		done
	) &
	WPID=$!
}
# watch_check WHAT
watch_check() {
	touch "$WORK/watch.stop"
	wait "$WPID"
	assert_eq "" "$(sort -u "$WORK/watch.err" 2>/dev/null)" "$1: the host mount answered every stat"
}
watch_start

# upgrade_to WHAT: signal the daemon and wait until it serves again with
# /proc/PID/exe reading WHAT (the new file, not the replaced "(deleted)").
exe_is() { [ "$(readlink "/proc/$PID/exe")" == "$1" ]; }
served() { [ "$(grep -c "upgrade: pid $PID serves" "$TCPFS_LOG")" -ge "$1" ]; }
NUP=0
upgrade_to() {
	local want=$1
	NUP=$((NUP + 1))
	kill -USR2 "$PID" || die "cannot signal the daemon"
	if ! wait_until 10 served "$NUP" || ! exe_is "$want"; then
		fail "after SIGUSR2, /proc/$PID/exe is '$(readlink "/proc/$PID/exe")', not '$want'"
		return 1
	fi
	wait_until 10 test -d "$TCPFS_MNT/kernel/$NAME" ||
		fail "$TCPFS_MNT/kernel/$NAME is gone after the upgrade"
}

# Replace the binary file the way install(1) does, then upgrade.
cp "$TCPFS" "$BIN.new" && mv -f "$BIN.new" "$BIN" || die "cannot replace $BIN"
assert_eq "$BIN (deleted)" "$(readlink "/proc/$PID/exe")" "the old image's file is replaced"
upgrade_to "$BIN"
assert_ok "the daemon's pid is the same" kill -0 "$PID"
assert_ok "the new image's own descriptors are close-on-exec" own_cloexec
assert_eq "" "$(cat "/proc/$PID/task/$PID/children")" "the guardian of the upgrade is gone, reaped"
assert_match "upgrade: pid $PID serves the same mount" "$(cat "$TCPFS_LOG")" "the new image says it took over"

watch_check "the upgrade"

container_ls after
# the same, but for the kernel's half of the engine's connection (reset)
assert_eq "$(grep -v "$HOST4" "$C/ls.before")" "$(grep -v "$HOST4" "$C/ls.after")" \
	"the container lists the same kernel/ after the upgrade"

touch "$WORK/cd.go"
wait_until 20 test -e "$WORK/cd.done" || fail "the cd'ed shell did not finish"
assert_eq LISTEN "$(cat "$WORK/state.after" 2>/dev/null)" "the cd'ed shell reads state after the upgrade"
assert_eq "" "$(cat "$WORK/state.err" 2>/dev/null)" "the cd'ed shell's reads do not fail"
assert_ok "the cd'ed shell lists its directory" grep -qx state "$WORK/files.after"

# The engine: its connection was reset; the new image has its TUN device.
hold hh recv ea
assert_eq ECONNRESET "$HELD_ERR" "the engine's connection was reset at the upgrade ($HELD)"
wait_until 10 eval "ip -o addr show dev $TUN | grep -q ' $HOST4/'" ||
	fail "$TUN has no $HOST4 after the upgrade: $(ip -o addr show 2>&1)"
eng_clone
assert_eq 1 "$N" "the new image's engine numbers its connections from 1"
assert_match "^OK" "$(ctl "$N" "connect $HOST4:$EPORT")" "the new image's engine connects"
assert_ok "the kernel accepts the new image's connection" hold hh accept eb e4

# The waiting events reader: answered ESTALE, it ends.
wait_until 10 test ! -e "/proc/$EVPID" || fail "the events reader still waits after the upgrade"
wait "$EVPID"
assert_eq 1 "$?" "the events reader exits 1"
assert_match "Stale file handle" "$(cat "$WORK/events.err")" "the waiting events read is answered ESTALE"

assert_eq "$ERR" "$(cat "$MNT/kernel/$NAME/err")" "a directory's err is kept across the upgrade"

# The file opened before: read afresh by the new image.
assert_eq LISTEN "$(cat <&7 2>&1)" "a file opened before the upgrade reads"
exec 7<&-

# A binary that cannot be executed: the running image again, same pid.
printf 'not a program\n' >"$BIN.new" && chmod 755 "$BIN.new" && mv -f "$BIN.new" "$BIN" ||
	die "cannot replace $BIN"
upgrade_to "$BIN (deleted)"
assert_ok "a broken binary: the daemon goes on" kill -0 "$PID"
assert_match "cannot execute $BIN" "$(cat "$TCPFS_LOG")" "a broken binary: the log says why"
rm -f "$BIN"
upgrade_to "$BIN (deleted)"
assert_eq LISTEN "$(cat "$MNT/kernel/$NAME/state")" "no binary: still served"

# A new file that does not start with these arguments (a script that
# exits 3): its probe says so, and the daemon serves on, not upgraded.
printf '#!/bin/sh\nexit 3\n' >"$BIN.new" && chmod 755 "$BIN.new" && mv -f "$BIN.new" "$BIN" ||
	die "cannot replace $BIN"
kill -USR2 "$PID"
wait_until 10 grep -q "upgrade: $BIN does not start with these arguments (exit status 3)" "$TCPFS_LOG" ||
	fail "no word of the failed probe: $(tail -n 3 "$TCPFS_LOG")"
assert_ok "a file that fails its probe: the daemon goes on" kill -0 "$PID"
assert_eq LISTEN "$(cat "$MNT/kernel/$NAME/state")" "a file that fails its probe: still served"

# A new image that passes its probe, then fails (exits 3): the guardian
# the old image forked takes over with the old image.
printf '#!/bin/sh\ncase " $* " in *" --upgrade-probe "*) exit 0;; esac\nexit 3\n' >"$BIN.new" &&
	chmod 755 "$BIN.new" && mv -f "$BIN.new" "$BIN" || die "cannot replace $BIN"
watch_start
kill -USR2 "$PID"
wait_until 10 test ! -e "/proc/$PID" || fail "the script did not end"
wait "$PID"
assert_eq 3 "$?" "the failing new image ran (exit 3)"
took_over() { grep -q "pid [0-9]* takes over with the old image" "$TCPFS_LOG"; }
wait_until 10 took_over || fail "no guardian took over"
GPID=$(sed -n 's/.*pid \([0-9]*\) takes over.*/\1/p' "$TCPFS_LOG" | tail -n 1)
at_exit "kill ${GPID:-0}"
gserves() { grep -q "upgrade: pid $GPID serves the same mount" "$TCPFS_LOG"; }
wait_until 10 gserves || fail "the guardian (pid $GPID) does not serve the mount"
assert_eq LISTEN "$(cat "$MNT/kernel/$NAME/state")" "a failing new image: the guardian serves"
watch_check "a failing new image"
container_ls guard
assert_eq "$(grep -v "$HOST4" "$C/ls.before")" "$(grep -v "$HOST4" "$C/ls.guard")" \
	"the container lists kernel/ through the guardian"

# It still unmounts on SIGTERM.
kill -TERM "$GPID"
wait_until 10 test ! -e "/proc/$GPID" || fail "the upgraded daemon did not end on SIGTERM"
wait_until 10 eval "! is_mounted '$MNT'" || fail "the upgraded daemon did not unmount on SIGTERM"
assert_eq "" "$(grep -i -A5 sanitizer "$TCPFS_LOG")" "no sanitizer report (an ASan build)"

# The state cannot be saved (no descriptor left for its memfd): nothing
# is torn down, the daemon serves on with its running image.
cp "$TCPFS" "$BIN.new" && mv -f "$BIN.new" "$BIN" || die "cannot replace $BIN"
TCPFS=$BIN start_tcpfs "$WORK/mnt6" --no-engine
PID=$TCPFS_PID
soft=$(prlimit --pid "$PID" --nofile --output SOFT --noheadings | tr -d ' ')
prlimit --pid "$PID" --nofile=3: || die "prlimit"
kill -USR2 "$PID"
wait_until 10 grep -q "upgrade: cannot save the state" "$TCPFS_LOG" ||
	fail "no word of the failed save: $(tail -n 3 "$TCPFS_LOG")"
sleep 0.5
prlimit --pid "$PID" --nofile="$soft:" 2>/dev/null
assert_ok "state not saved: the daemon goes on" kill -0 "$PID"
assert_ok "state not saved: still served" ls "$WORK/mnt6/kernel"
umount "$WORK/mnt6"

# A failed probe leaves no upgrade pending: the umount that comes later
# ends the daemon as any (exit status 0), the refused file not executed.
TCPFS=$BIN start_tcpfs "$WORK/mnt7" --no-engine
PID=$TCPFS_PID
printf '#!/bin/sh\nexit 3\n' >"$BIN.new" && chmod 755 "$BIN.new" && mv -f "$BIN.new" "$BIN" ||
	die "cannot replace $BIN"
kill -USR2 "$PID"
wait_until 10 grep -q "does not start with these arguments" "$TCPFS_LOG" || fail "no failed probe"
umount "$WORK/mnt7"
wait_until 10 test ! -e "/proc/$PID" || fail "the daemon did not end at the umount"
wait "$PID"
assert_eq 0 "$?" "a failed probe, then umount: exit status 0"
cp "$TCPFS" "$BIN.new" && mv -f "$BIN.new" "$BIN" || die "cannot replace $BIN"

# A new image that hangs (neither takes over nor ends): the guardian waits
# 10 s, kills it, and takes over; the mount answers all along, late.
cp "$TCPFS" "$BIN.new" && mv -f "$BIN.new" "$BIN" || die "cannot replace $BIN"
TCPFS=$BIN start_tcpfs "$WORK/mnt4" --no-engine
PID=$TCPFS_PID
printf '#!/bin/sh\ncase " $* " in *" --upgrade-probe "*) exit 0;; esac\nexec sleep 60\n' >"$BIN.new" &&
	chmod 755 "$BIN.new" && mv -f "$BIN.new" "$BIN" || die "cannot replace $BIN"
kill -USR2 "$PID"
out=$(timeout 25 ls "$WORK/mnt4/kernel" 2>&1)
assert_eq 0 "$?" "a hanging new image: ls answers within 25 s ($out)"
assert_match "did not take over in 10 s: killed" "$(cat "$TCPFS_LOG")" "the log says why"
GPID=$(sed -n 's/.*pid \([0-9]*\) takes over.*/\1/p' "$TCPFS_LOG" | tail -n 1)
at_exit "kill ${GPID:-0} 2>/dev/null"
umount "$WORK/mnt4"

# Started through PATH (as mount(8) starts it), the daemon upgrades to the
# file PATH names: a link there switched to a new version is followed.
mkdir -p "$WORK/pbin" "$WORK/v1" "$WORK/v2" "$WORK/mnt5"
cp "$TCPFS" "$WORK/v1/tcpfs" && cp "$TCPFS" "$WORK/v2/tcpfs" &&
	ln -s "$WORK/v1/tcpfs" "$WORK/pbin/tcpfs" || die "cannot set up $WORK/pbin"
PATH="$WORK/pbin:$PATH" tcpfs "$WORK/mnt5" -f --no-engine >"$WORK/path.log" 2>&1 &
PID=$!
at_exit "kill $PID 2>/dev/null; umount -l '$WORK/mnt5' 2>/dev/null"
wait_until 10 test -d "$WORK/mnt5/kernel" || die "tcpfs through PATH did not mount: $(cat "$WORK/path.log")"
ln -sfn "$WORK/v2/tcpfs" "$WORK/pbin/tcpfs" || die "cannot switch the link"
kill -USR2 "$PID"
wait_until 10 exe_is "$WORK/v2/tcpfs" ||
	fail "started through PATH, upgraded to '$(readlink "/proc/$PID/exe")', not the link's new $WORK/v2/tcpfs"
umount "$WORK/mnt5"

# umount(8) of an upgraded daemon's mount ends it and takes that mount
# alone: a tmpfs below stays mounted
cp "$TCPFS" "$BIN.new" && mv -f "$BIN.new" "$BIN" || die "cannot replace $BIN"
mkdir -p "$WORK/mnt3"
mount -t tmpfs tcpfs-below "$WORK/mnt3" || die "cannot mount a tmpfs"
at_exit "umount -l '$WORK/mnt3' 2>/dev/null"
TCPFS=$BIN start_tcpfs "$WORK/mnt3" --no-engine
PID=$TCPFS_PID
NUP=0
upgrade_to "$BIN"
umount "$WORK/mnt3" || fail "umount $WORK/mnt3"
wait_until 10 test ! -e "/proc/$PID" || fail "the upgraded daemon did not end at the umount"
assert_eq tcpfs-below "$(findmnt -n -o SOURCE --mountpoint "$WORK/mnt3")" \
	"after the upgraded daemon's umount, the tmpfs below is still mounted"

# -o auto_unmount: fusermount3 waits on a socket the daemon holds, kept
# across the upgrade, so a daemon killed after an upgrade is still
# unmounted.
TCPFS=$BIN start_tcpfs "$WORK/mnt2" --no-engine -o auto_unmount
PID=$TCPFS_PID
# A dying process's descriptors are released highest first: /dev/fuse must
# lie above that socket (the daemon's one Unix socket), or fusermount3 may
# find the connection still up, get ECONNABORTED and keep the mount.
fuse_above_socket() {
	local f l fuse= sock=
	for f in /proc/$PID/fd/*; do
		l=$(readlink "$f")
		case $l in
		/dev/fuse) fuse=${f##*/} ;;
		socket:*) awk -v i="${l//[^0-9]/}" '$7 == i { f = 1 } END { exit !f }' /proc/net/unix &&
			sock=${f##*/} ;;
		esac
	done
	[ -n "$fuse" ] && [ -n "$sock" ] && [ "$fuse" -gt "$sock" ] ||
		{ echo "/dev/fuse is descriptor '$fuse', the auto_unmount socket '$sock'"; return 1; }
}
assert_ok "/dev/fuse lies above the auto_unmount socket" fuse_above_socket
NUP=0
upgrade_to "$BIN"
assert_ok "/dev/fuse lies above the auto_unmount socket after the upgrade" fuse_above_socket
kill -KILL "$PID"
wait "$PID"
# (fusermount3 unmounts once it reads the end of that socket; if it never
# does, where it waits is printed)
wait_until 30 eval "! is_mounted '$WORK/mnt2'" ||
	fail "-o auto_unmount: the mount stays after the upgraded daemon is killed:
$(ps -eo pid,ppid,stat,wchan:32,args | grep -E '[f]usermount|[t]cpfs')"
finish
