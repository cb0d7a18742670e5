#!/bin/bash
# deploy_linger: a daemon whose mount another mount namespace still holds
# lingers after umount, with its TUN device; a new daemon with the same
# device then says so and exits 1 (with --no-engine it starts). The ways
# tcpfs(8) gives to find and end the lingering one work: the holder's
# mountinfo (findmnt -N), umount through nsenter, and the FUSE
# connection's abort file.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare nsenter findmnt
enter_netns "$@"
need_tcpfs
. "$LIB_DIR/engine_lib.sh"

# fstype_in PID MNT: the type of what is mounted on MNT in PID's mount
# namespace
fstype_in() {
	awk -v m="$2" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") t = $(i + 1) }
		END { print t }' "/proc/$1/mountinfo"
}

# linger: a daemon on $WORK/mnt, held by a sleeping process in a mount
# namespace of its own (HOLDER), and unmounted here. Sets OLD.
linger() {
	eng_start
	OLD=$TCPFS_PID
	unshare --mount sleep 300 &
	HOLDER=$!
	at_exit "kill $HOLDER"
	# until unshare(2) has run, HOLDER is still in our namespace
	holds() {
		[ "$(readlink "/proc/$HOLDER/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
			[ "$(fstype_in "$HOLDER" "$MNT")" = fuse.tcpfs ]
	}
	wait_until 5 holds || die "the holder's namespace has no copy of $MNT"
	umount "$MNT" || die "umount $MNT"
	TCPFS_PID= # stop_tcpfs must not wait for it
	sleep 0.5
	kill -0 "$OLD" 2>/dev/null && pass "unmounted here, the daemon lingers" ||
		fail "the daemon ended although another namespace holds its mount"
	assert_ne "" "$(ip -o link show "$TUN" 2>/dev/null)" "and so does its TUN device"
}
# gone PID WHAT: the daemon PID ends within 5 s, and its TUN device with it
gone() {
	wait_until 5 eval "! kill -0 $1 2>/dev/null" && pass "$2: the daemon ends" ||
		fail "$2: the daemon $1 is still there"
	wait_until 5 eval "! ip link show $TUN" && pass "$2: its TUN device goes" ||
		fail "$2: $TUN is still there"
}

linger
findmnt -N "$HOLDER" -t fuse.tcpfs -n -o TARGET | grep -qxF -- "$MNT" &&
	pass "findmnt -N PID -t fuse.tcpfs finds the copy" ||
	fail "findmnt -N $HOLDER -t fuse.tcpfs: $(findmnt -N "$HOLDER" -t fuse.tcpfs 2>&1)"
assert_match "/proc/$HOLDER/mountinfo" "$(grep -l fuse.tcpfs /proc/[0-9]*/mountinfo)" \
	"grep -l fuse.tcpfs /proc/*/mountinfo finds its holder"

rc=0
try_start_tcpfs "$WORK/mnt2" || rc=$?
assert_eq 1 "$rc" "a second daemon with the same TUN device does not mount"
assert_eq 1 "$TCPFS_RC" "it exits 1"
msg=$(cat "$TCPFS_LOG")
assert_match "cannot create TUN device $TUN: Device or resource busy" "$msg" "it says the device is busy"
assert_match "earlier tcpfs that still serves a mount another mount namespace keeps" "$msg" \
	"and that a daemon lingers"
assert_match "A daemon that lingers\" in tcpfs\(8\)" "$msg" "and where to read more"
is_mounted "$WORK/mnt2" && fail "$WORK/mnt2 is mounted" || pass "nothing mounted"

start_tcpfs "$WORK/mnt3" --no-engine
pass "with --no-engine a second daemon starts"
stop_tcpfs

nsenter -t "$HOLDER" -m umount "$MNT"
assert_eq 0 "$?" "umount in the holder's namespace (nsenter -m)"
gone "$OLD" "umount through nsenter"
kill "$HOLDER"

# the abort file of the FUSE connection (fusectl), named by the minor
# device number of the mount
if ! grep -q " /sys/fs/fuse/connections " /proc/self/mountinfo; then
	mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null &&
		at_exit "umount /sys/fs/fuse/connections"
fi
if [ -d /sys/fs/fuse/connections ] && grep -q " /sys/fs/fuse/connections " /proc/self/mountinfo; then
	linger
	dev=$(awk -v m="$MNT" '$5 == m { print $3 }' "/proc/$HOLDER/mountinfo")
	assert_ne "" "$dev" "the holder's mountinfo gives the device"
	assert_ok "echo 1 > /sys/fs/fuse/connections/${dev#*:}/abort" \
		eval "echo 1 >/sys/fs/fuse/connections/${dev#*:}/abort"
	gone "$OLD" "abort"
	kill "$HOLDER"
else
	log "fusectl cannot be mounted here: the abort file is not tried"
fi
eng_finish
