#!/bin/bash
# kernel_readers: kernel/ shows each reader the sockets of its own network
# namespace, as /proc/net/tcp does. The daemon runs in the test's namespace
# (the "host"); two "containers" (unshare --net --mount --pid --fork) that
# bind-mount the host's mount each see exactly their own sockets (their own
# ss -tanHe), at the same time, and none of the host's or each other's; the
# host sees its own. A name one reader just looked up is ENOENT for a
# reader of another namespace (no kernel cache shows it). ctl close from a
# container closes its socket; the host's socket's name is ENOENT there.
# --netns still pins every reader to one namespace. A reader the daemon's
# pid namespace cannot see gets EACCES. A container's handles are closed
# once it is unused.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare nsenter
enter_netns "$@"
need_tcpfs

MNT=$WORK/m
start_tcpfs "$MNT" -o allow_other
DAEMON=$TCPFS_PID

# start_container ID: a holder in new net, mount and pid namespaces, the
# host's mount bind-mounted at $WORK/ID.mnt in it; CT_PID[ID] is its pid 1.
declare -A CT_PID
start_container() {
	local id=$1 up
	mkdir -p "$WORK/$id.mnt"
	start_holder "$id" unshare --net --mount --pid --fork --propagation private -- \
		bash -c 'ip link set lo up && mount --bind "$0" "$1" && shift && exec "$@"' \
		"$MNT" "$WORK/$id.mnt"
	up=${H_PID[$id]}
	CT_PID[$id]=$(cat "/proc/$up/task/$up/children" 2>/dev/null | awk '{ print $1 }')
	[ -n "${CT_PID[$id]}" ] || die "container $id: no process in it"
	[ "$(readlink "/proc/${CT_PID[$id]}/ns/net")" != "$(readlink /proc/self/ns/net)" ] ||
		die "container $id is not in a network namespace of its own"
}
# in_ct ID CMD...: run CMD in container ID (its network, mount and pid
# namespaces).
in_ct() {
	local id=$1
	shift
	nsenter -t "${CT_PID[$id]}" --net --mount --pid -- "$@"
}

# sockets ID: a listener and a pair per family in holder ID; names to
# $WORK/ID.names, "NAME STATE" to $WORK/ID.req.
sockets() {
	local h=$1 fam addr s
	: >"$WORK/$h.names"
	: >"$WORK/$h.req"
	for fam in 4 6; do
		[ $fam = 4 ] && addr=127.0.0.1 || addr=::1
		hold_ok "$h" listen "l$fam" "$fam" "$addr" 0
		hold_ok "$h" pair "c$fam" "s$fam" "l$fam"
		for s in "l$fam" "c$fam" "s$fam"; do
			hold_ok "$h" name "$s"
			echo "$HELD" >>"$WORK/$h.names"
			[ "$s" = "l$fam" ] && echo "$HELD LISTEN" >>"$WORK/$h.req" ||
				echo "$HELD ESTABLISHED" >>"$WORK/$h.req"
		done
	done
}

start_holder host
# (mounted before the containers start, so that they have it too)
# (a second daemon in one namespace: the first holds the engine's device)
start_tcpfs "$WORK/pinned" --netns "/proc/${H_PID[host]}/ns/net" --no-engine
start_container ca
start_container cb
sockets host
sockets ca
sockets cb
cat "$WORK/ca.names" "$WORK/cb.names" >"$WORK/not-host"
cat "$WORK/host.names" "$WORK/cb.names" >"$WORK/not-ca"
cat "$WORK/host.names" "$WORK/ca.names" >"$WORK/not-cb"

# compare WHO MNT RUN...: RUN (a prefix: in_ct ID, or nothing) runs
# compare.py as a reader in that namespace, ss there too.
compare() {
	local who=$1 mnt=$2
	shift 2
	"$@" "$PY" "$LIB_DIR/compare.py" "$mnt" --require "$WORK/$who.req" \
		--absent "$WORK/not-$who" >"$WORK/$who.compare" 2>&1
}

# The three readers at once, each through its own path to the one mount.
compare host "$MNT" &
p0=$!
compare ca "$WORK/ca.mnt" in_ct ca &
p1=$!
compare cb "$WORK/cb.mnt" in_ct cb &
p2=$!
for w in "host $p0" "ca $p1" "cb $p2"; do
	set -- $w
	if wait "$2"; then
		pass "$1: kernel/ equals its own ss -tanHe, nobody else's sockets"
	else
		fail "$1: kernel/ is not its namespace's ss -tanHe: $(cat "$WORK/$1.compare")"
	fi
done

# One reader's lookup is never another's: look a name up (and read it)
# as its namespace, then at once as another namespace: ENOENT.
hostc4=$(sed -n 2p "$WORK/host.names")
cac4=$(sed -n 2p "$WORK/ca.names")
for i in 1 2 3; do
	out=$(fsop read "$MNT/kernel/$hostc4/state")
	assert_eq "OK b'ESTABLISHED\n'" "$out" "host reads its socket's state"
	assert_eq ENOENT "$(in_ct ca "$PY" "$WORK/fsop.py" stat "$WORK/ca.mnt/kernel/$hostc4/state")" \
		"container ca, just after: the host's socket is ENOENT"
	assert_eq ENOENT "$(in_ct ca "$PY" "$WORK/fsop.py" read "$WORK/ca.mnt/kernel/$hostc4/state")" \
		"container ca cannot read the host's socket"
	out=$(in_ct ca "$PY" "$WORK/fsop.py" stat "$WORK/ca.mnt/kernel/$cac4/state")
	assert_eq OK "${out%% *}" "container ca stats its own socket"
	assert_eq ENOENT "$(fsop stat "$MNT/kernel/$cac4")" \
		"host, just after: container ca's socket is ENOENT"
	assert_eq ENOENT "$(in_ct cb "$PY" "$WORK/fsop.py" stat "$WORK/cb.mnt/kernel/$cac4")" \
		"container cb, just after: container ca's socket is ENOENT"
done

# ctl close from inside a container: its own socket closes; the host's
# name is not there to write to, and the host's socket lives.
out=$(in_ct ca "$PY" "$WORK/fsop.py" write "$WORK/ca.mnt/kernel/$hostc4/ctl" close)
assert_eq ENOENT "$out" "container ca writes close to the host's socket"
ss -tanHe | grep -qF "sk:${hostc4##*#}" &&
	pass "the host's socket lives" || fail "the host's socket $hostc4 is gone after ca's write"
out=$(in_ct ca "$PY" "$WORK/fsop.py" write "$WORK/ca.mnt/kernel/$cac4/ctl" close)
assert_eq "OK 5" "$out" "container ca closes its own socket"
hold ca recv c4
assert_eq ECONNABORTED "$HELD_ERR" "container ca's socket sees the close"
hold host sendone c4
assert_eq 0 $? "the host's socket of the same name in its namespace still sends"

# events: a destroyed socket's line goes as is to the readers of its
# namespace, named netns/INO/kernel/... to root readers of other
# namespaces, and to no other reader (uid 65534 in cb sees only cb's).
ino() { stat -L -c %i "/proc/$1/ns/net"; }
ino_host=$(ino $$)
ino_ca=$(ino "${CT_PID[ca]}")
declare -A EV
for h in host ca cb; do
	hold_ok $h pair ec es l4
	hold_ok $h name ec && EV[$h]=$HELD
done
# each reader reads until the line of cb's socket, the last one closed
upto_cb=(timeout 20 "$PY" -c '
import sys
for line in open(sys.argv[1]):
    print(line, end="", flush=True)
    if sys.argv[2] in line:
        break' "" "${EV[cb]} destroyed")
upto_cb[5]=$MNT/events
"${upto_cb[@]}" >"$WORK/host.events" &
e0=$!
upto_cb[5]=$WORK/ca.mnt/events
in_ct ca "${upto_cb[@]}" >"$WORK/ca.events" &
e1=$!
upto_cb[5]=$WORK/cb.mnt/events
in_ct cb setpriv --reuid=65534 --regid=65534 --clear-groups "${upto_cb[@]}" >"$WORK/cb.events" &
e2=$!
sleep 1
# (SOCK_DESTROY aborts a socket; it is freed, and its line posted, when
# its holder closes it)
assert_eq "OK 5" "$(fsop write "$MNT/kernel/${EV[host]}/ctl" close)" "host closes its ec"
hold_ok host close ec
for h in ca cb; do
	assert_eq "OK 5" "$(in_ct $h "$PY" "$WORK/fsop.py" write "$WORK/$h.mnt/kernel/${EV[$h]}/ctl" close)" "$h closes its ec"
	hold_ok $h close ec
done
wait $e0 $e1 $e2
has() { grep -qF " $2 destroyed" "$WORK/$1.events"; }
has host "kernel/${EV[host]}" && pass "host reads its line" || fail "host.events lacks its own line: $(cat "$WORK/host.events")"
has host "netns/$ino_ca/kernel/${EV[ca]}" && pass "host (root) reads ca's line, named" ||
	fail "host.events lacks netns/$ino_ca/kernel/${EV[ca]}: $(cat "$WORK/host.events")"
has ca "kernel/${EV[ca]}" && pass "ca reads its line" || fail "ca.events lacks its own line: $(cat "$WORK/ca.events")"
has ca "netns/$ino_host/kernel/${EV[host]}" && pass "ca (root) reads the host's line, named" ||
	fail "ca.events lacks netns/$ino_host/kernel/${EV[host]}: $(cat "$WORK/ca.events")"
has cb "kernel/${EV[cb]}" && pass "uid 65534 in cb reads cb's line" ||
	fail "cb.events lacks its own line: $(cat "$WORK/cb.events")"
grep -q -e "${EV[host]}" -e "${EV[ca]}" "$WORK/cb.events" &&
	fail "uid 65534 in cb reads other namespaces' lines: $(cat "$WORK/cb.events")" ||
	pass "uid 65534 in cb reads no other namespace's line"

# The host's namespace: its handles are the daemon's for its life; a
# container's are opened once and closed when unused for 10 s.
ns_cb=$(readlink "/proc/${CT_PID[cb]}/ns/net")
daemon_ns() { ls -l "/proc/$DAEMON/fd" 2>/dev/null | grep -c -F "$ns_cb"; }
cb_let_go() { [ "$(daemon_ns)" = 0 ]; }
assert_eq 1 "$(daemon_ns)" "the daemon holds one handle into cb's namespace"
# an events reader in cb keeps them (its destroy lines) past 10 s unused
in_ct cb timeout 60 cat "$WORK/cb.mnt/events" >/dev/null &
sleep 16
assert_eq 1 "$(daemon_ns)" "an events reader in cb keeps its namespace's handles"
stop_holder cb # (its pid 1: the reader goes too)
if wait_until 25 cb_let_go; then
	pass "cb's namespace let go once unused"
else
	fail "the daemon still holds cb's namespace ($(daemon_ns) fds) 25 s after its last reader"
fi

# --netns pins every reader to one namespace: container ca sees the host's.
in_ct ca mount --bind "$WORK/pinned" "$WORK/ca.mnt" || die "bind mount in ca"
hostl4=$(sed -n 1p "$WORK/host.names")
cal4=$(sed -n 1p "$WORK/ca.names")
out=$(in_ct ca "$PY" "$WORK/fsop.py" stat "$WORK/ca.mnt/kernel/$hostl4")
assert_eq OK "${out%% *}" "--netns: container ca sees the pinned namespace's socket"
assert_eq ENOENT "$(in_ct ca "$PY" "$WORK/fsop.py" stat "$WORK/ca.mnt/kernel/$cal4")" \
	"--netns: container ca does not see its own"

# A reader the daemon's pid namespace does not see: EACCES, and why.
printf '#!/bin/sh\nexec unshare --pid --fork "%s" "$@"\n' "$TCPFS" >"$WORK/tcpfs-pidns"
chmod +x "$WORK/tcpfs-pidns"
TCPFS=$WORK/tcpfs-pidns start_tcpfs "$WORK/hidden" --no-engine
assert_eq EACCES "$(fsop listdir "$WORK/hidden/kernel")" "a reader the daemon cannot see"
grep -q "not visible in the daemon's pid namespace" "$TCPFS_LOG" &&
	pass "the log says why" || fail "no reason in the log: $(cat "$TCPFS_LOG")"

finish
