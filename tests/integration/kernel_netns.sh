#!/bin/bash
# kernel_netns: --netns NAME (ip netns add), --netns /proc/PID/ns/net,
# --netns PID and --netns=NAME (the spelling of tcpfs -h) each show exactly
# the sockets of that namespace, as its own `ss -tanHe` lists them, and none
# of the sockets of the namespace tcpfs was started in, nor of the other one.
# A --netns that names nothing makes the daemon fail without mounting.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare nsenter
enter_netns "$@"
need_tcpfs

NSA=tcpfs-test-$$-a
netns_add "$NSA"

# "host": the namespace the daemons run in.
start_holder hh
# A: a named namespace.
start_holder ha ip netns exec "$NSA"
# B: an unnamed namespace, alive as long as its holder.
start_holder hb unshare --net -- bash -c 'ip link set lo up && exec "$@"' holder
PIDB=${H_PID[hb]}
[ "$(readlink /proc/$PIDB/ns/net)" != "$(readlink /proc/self/ns/net)" ] ||
	die "holder B is not in a namespace of its own"

# sockets ID LISTEN_ADDR_FAMILY...: a listener and a pair per family; write
# the names to $WORK/ID.names, "NAME STATE" to $WORK/ID.req.
sockets() {
	local h=$1 fam addr
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
sockets hh
sockets ha
sockets hb
cat "$WORK/ha.names" "$WORK/hb.names" >"$WORK/not-h"
cat "$WORK/hh.names" "$WORK/hb.names" >"$WORK/not-a"
cat "$WORK/hh.names" "$WORK/ha.names" >"$WORK/not-b"

# check MNT WHO REQ ABSENT PREFIX...
check() {
	local mnt=$1 who=$2 req=$3 absent=$4
	shift 4
	if "$PY" "$LIB_DIR/compare.py" "$mnt" --require "$req" --absent "$absent" -- "$@"; then
		pass "$who: listing equals that namespace's ss, no foreign sockets"
	else
		fail "$who: $mnt/kernel is not the namespace's ss -tanHe (lines above)"
	fi
}

start_tcpfs "$WORK/mh"
check "$WORK/mh" "no --netns" "$WORK/hh.req" "$WORK/not-h"

start_tcpfs "$WORK/ma" --netns "$NSA"
check "$WORK/ma" "--netns $NSA" "$WORK/ha.req" "$WORK/not-a" ip netns exec "$NSA"

start_tcpfs "$WORK/mb1" --netns "/proc/$PIDB/ns/net"
check "$WORK/mb1" "--netns /proc/$PIDB/ns/net" "$WORK/hb.req" "$WORK/not-b" nsenter "--net=/proc/$PIDB/ns/net"

# a second daemon in one namespace: its TUN device would be busy
start_tcpfs "$WORK/mb2" --netns "$PIDB" --no-engine
check "$WORK/mb2" "--netns $PIDB" "$WORK/hb.req" "$WORK/not-b" nsenter "--net=/proc/$PIDB/ns/net"

# The --netns=VALUE spelling (tcpfs -h shows it) means the same.
if try_start_tcpfs "$WORK/ma2" "--netns=$NSA" --no-engine; then
	check "$WORK/ma2" "--netns=$NSA" "$WORK/ha.req" "$WORK/not-a" ip netns exec "$NSA"
	stop_tcpfs
else
	fail "--netns=$NSA: the daemon did not mount (exit ${TCPFS_RC:-?}): $(cat "$TCPFS_LOG")"
fi

# A socket made after the mount shows up, in its namespace's mount only.
hold_ok ha listen late 4 127.0.0.1 0
hold_ok ha name late && late=$HELD
[ -d "$WORK/ma/kernel/$late" ] && ls -1 "$WORK/ma/kernel" | grep -qxF -- "$late" &&
	pass "a new socket of $NSA is listed" || fail "new socket $late of $NSA not in $WORK/ma"
ls -1 "$WORK/mh/kernel" "$WORK/mb1/kernel" | grep -qxF -- "$late" &&
	fail "new socket $late of $NSA shows in another namespace's mount" || pass "not elsewhere"
# Closing through the mount reaches into the namespace.
hold_ok ha name c4 && c4=$HELD
echo close >"$WORK/ma/kernel/$c4/ctl"
assert_eq 0 $? "echo close > ctl in --netns $NSA"
hold ha recv c4
assert_eq ECONNABORTED "$HELD_ERR" "the socket in $NSA sees the close"

# Names that name nothing.
for bad in "tcpfs-test-$$-none" /proc/0/ns/net 2147483646 /nonexistent/ns; do
	try_start_tcpfs "$WORK/mbad" --netns "$bad"
	r=$?
	if [ $r -eq 0 ]; then
		fail "--netns $bad: the daemon mounted"
		stop_tcpfs
	else
		[ "${TCPFS_RC:-0}" -ne 0 ] && pass "--netns $bad: exit $TCPFS_RC" ||
			fail "--netns $bad: daemon exit status '${TCPFS_RC:-?}' (r=$r), want non-zero"
	fi
	is_mounted "$WORK/mbad" && fail "--netns $bad left a mount" || pass "--netns $bad: nothing mounted"
done

finish
