#!/bin/bash
# kernel_netns_dir: netns/ holds one directory per network namespace of the
# host, named by its inode: two made with `ip netns add` (their `name` says
# so), one unnamed (unshare: no `name` file) and the daemon's own; each
# `pids` names its processes ("PID COMM"), and each kernel/ equals that
# namespace's `ss -tanHe`. ctl close there reaches into the namespace. A
# namespace that goes is gone from netns/. Only root may enter: for uid
# 65534 (with allow_other) netns/ and all under it is EACCES, and the log
# says why.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare nsenter setpriv
enter_netns "$@"
need_tcpfs

NSA=tcpfs-test-$$-a
NSB=tcpfs-test-$$-b
netns_add "$NSA"
netns_add "$NSB"

start_holder hh
start_holder ha ip netns exec "$NSA"
start_holder hb ip netns exec "$NSB"
start_holder hu unshare --net -- bash -c 'ip link set lo up && exec "$@"' holder

# sockets ID: a listener and a pair, IPv4; names to $WORK/ID.names.
sockets() {
	local h=$1 s
	: >"$WORK/$h.names"
	: >"$WORK/$h.req"
	hold_ok "$h" listen l4 4 127.0.0.1 0
	hold_ok "$h" pair c4 s4 l4
	for s in l4 c4 s4; do
		hold_ok "$h" name "$s"
		echo "$HELD" >>"$WORK/$h.names"
		[ $s = l4 ] && echo "$HELD LISTEN" >>"$WORK/$h.req" ||
			echo "$HELD ESTABLISHED" >>"$WORK/$h.req"
	done
}
for h in hh ha hb hu; do sockets $h; done

# The namespaces, by inode; PID of a process in each.
ino_of_pid() { stat -L -c %i "/proc/$1/ns/net"; }
declare -A INO
for h in hh ha hb hu; do INO[$h]=$(ino_of_pid "${H_PID[$h]}"); done
[ "${INO[ha]}" = "$(stat -L -c %i "/run/netns/$NSA")" ] || die "holder ha is not in $NSA"

start_tcpfs "$WORK/m" -o allow_other
N=$WORK/m/netns

listing=$(ls -1 "$N")
for h in hh ha hb hu; do
	grep -qx "${INO[$h]}" <<<"$listing" && pass "netns/ lists ${INO[$h]} ($h)" ||
		fail "netns/ does not list ${INO[$h]} ($h): $(tr '\n' ' ' <<<"$listing")"
done
for other in "+${INO[ha]}" " ${INO[ha]}" "0${INO[ha]}"; do
	assert_eq ENOENT "$(fsop stat "$N/$other")" "netns/'$other' is no other name of ${INO[ha]}"
done
assert_eq "$NSA" "$(cat "$N/${INO[ha]}/name")" "the name of $NSA"
assert_eq "$NSB" "$(cat "$N/${INO[hb]}/name")" "the name of $NSB"
assert_eq ENOENT "$(fsop read "$N/${INO[hu]}/name")" "an unnamed namespace has no name file"
assert_eq "kernel pids" "$(ls "$N/${INO[hu]}" | tr '\n' ' ' | sed 's/ $//')" "an unnamed namespace's directory"
for h in ha hb hu; do
	pid=${H_PID[$h]}
	want="$pid $(cat "/proc/$pid/comm")"
	grep -qxF "$want" "$N/${INO[$h]}/pids" && pass "$h: pids names $want" ||
		fail "$h: pids does not name '$want': $(cat "$N/${INO[$h]}/pids")"
done

# Each one's kernel/ is that namespace's sockets, nobody else's.
for h in hh ha hb hu; do
	cat "$WORK"/h?.names | grep -vxF -f "$WORK/$h.names" >"$WORK/not-$h"
	if "$PY" "$LIB_DIR/compare.py" "$N/${INO[$h]}" --require "$WORK/$h.req" \
		--absent "$WORK/not-$h" -- nsenter "--net=/proc/${H_PID[$h]}/ns/net" >"$WORK/$h.cmp" 2>&1; then
		pass "netns/${INO[$h]}/kernel equals $h's ss -tanHe"
	else
		fail "netns/${INO[$h]}/kernel is not $h's ss: $(cat "$WORK/$h.cmp")"
	fi
done

# ctl close through netns/: in that namespace.
c4=$(sed -n 2p "$WORK/hb.names")
assert_eq "OK 5" "$(fsop write "$N/${INO[hb]}/kernel/$c4/ctl" close)" "close through netns/${INO[hb]}"
hold hb recv c4
assert_eq ECONNABORTED "$HELD_ERR" "the socket in $NSB sees the close"
assert_eq ENOENT "$(fsop stat "$N/${INO[ha]}/kernel/$c4")" "$NSB's socket is not in $NSA's directory"

# Only root: uid 65534 gets EACCES, and the log says why.
assert_eq EACCES "$(fsop_as 65534 listdir "$N")" "nobody lists netns/"
assert_eq EACCES "$(fsop_as 65534 stat "$N/${INO[ha]}")" "nobody looks up a namespace"
assert_eq EACCES "$(fsop_as 65534 read "$N/${INO[ha]}/pids")" "nobody reads pids"
l4=$(sed -n 1p "$WORK/ha.names")
assert_eq EACCES "$(fsop_as 65534 read "$N/${INO[ha]}/kernel/$l4/state")" "nobody reads a socket through netns/"
out=$(fsop_as 65534 stat "$WORK/m/kernel")
assert_eq OK "${out%% *}" "nobody still enters kernel/"
grep -q "uid 65534 .*may not enter netns/" "$TCPFS_LOG" && pass "the log says why" ||
	fail "no reason in the log: $(cat "$TCPFS_LOG")"

# A namespace that goes is gone from netns/.
stop_holder hu
gone() { # a listing that fails is not a name gone
	local l
	l=$(ls -1 "$N") && ! grep -qx "${INO[hu]}" <<<"$l"
}
wait_until 10 gone && pass "a namespace that went is not listed" ||
	fail "netns/ still lists ${INO[hu]} after its last process ended"
assert_eq ENOENT "$(fsop stat "$N/${INO[hu]}")" "its directory is gone"

finish
