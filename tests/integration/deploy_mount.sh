#!/bin/bash
# deploy_mount: tcpfs through mount(8) and fstab. mount -t fuse.tcpfs runs
# mount.fuse3, which runs "tcpfs SOURCE MOUNTPOINT -o OPTIONS" from the
# shell's default PATH (mount(8) passes none): tcpfs is put in
# /usr/local/sbin, as meson install does, on a bind mount of this test's
# mount namespace. Options take effect as -o NAME=VALUE (netns= shows that
# namespace's sockets, tun= names the device, log= writes the log); an
# fstab line (mount -T FILE) does the same, fstab's x-* and nofail are
# ignored; an unknown option is refused by name. A mount point that is not
# a directory, or that a running tcpfs serves (its name with blanks too),
# is refused with exit 1.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare mount.fuse3 findmnt
enter_netns "$@"
need_tcpfs
[ -d /usr/local/sbin ] || skip "no /usr/local/sbin to put tcpfs in"

mkdir "$WORK/sbin" && cp "$TCPFS" "$WORK/sbin/tcpfs" || die "cannot copy tcpfs"
mount --bind "$WORK/sbin" /usr/local/sbin || die "cannot bind $WORK/sbin on /usr/local/sbin"
at_exit "umount -l /usr/local/sbin"

NS=tcpfs-mount-$$
netns_add "$NS"
start_holder h ip netns exec "$NS"
hold_ok h listen l 4 127.0.0.1 0
INNER=$HELD
start_holder g
hold_ok g listen l 4 127.0.0.1 0
OUTER=$HELD
M=$WORK/m
mkdir "$M"

# check WHAT: $M is a tcpfs of namespace $NS with its TUN device there
check() {
	assert_eq fuse.tcpfs "$(findmnt -n -o FSTYPE --mountpoint "$M")" "$1: mounted as fuse.tcpfs"
	assert_eq 1 "$(ls "$M/kernel" | grep -c -- "^$INNER-")" "$1: kernel/ shows $NS's listener"
	assert_eq 0 "$(ls "$M/kernel" | grep -c -- "^$OUTER-")" "$1: and not this namespace's"
	assert_match "allow_other" "$(findmnt -n -o OPTIONS --mountpoint "$M")" "$1: allow_other"
	wait_until 5 ip -n "$NS" link show tmnt0 && pass "$1: tun=tmnt0 in $NS" ||
		fail "$1: no tmnt0 in $NS"
	wait_until 5 grep -q "mounted on $M" "$WORK/$1.log" && pass "$1: log= writes the log" ||
		fail "$1: no 'mounted on' in $WORK/$1.log"
	DPID=$(pgrep -f "tcpfs tcpfs $M") || fail "$1: no daemon 'tcpfs tcpfs $M' found"
}
# unmount: umount $M, and the daemon (a child of mount.fuse3, gone) ends
unmount() {
	umount "$M" || fail "$1: umount $M"
	wait_until 5 eval "! kill -0 ${DPID:-0} 2>/dev/null" && pass "$1: the daemon ends at umount" ||
		fail "$1: the daemon $DPID is left: $(ps -o args= -p "${DPID:-0}")"
	wait_until 5 eval "! ip -n $NS link show tmnt0" || fail "$1: tmnt0 stays in $NS"
}

out=$(mount -t fuse.tcpfs tcpfs "$M" -o "allow_other,netns=$NS,tun=tmnt0,log=$WORK/mount.log" 2>&1)
assert_eq 0 "$?" "mount -t fuse.tcpfs ($out)"
check mount
unmount mount

echo "tcpfs $M fuse.tcpfs allow_other,netns=$NS,tun=tmnt0,log=$WORK/fstab.log,nofail,x-systemd.requires=network.target 0 0" \
	>"$WORK/fstab"
out=$(mount -T "$WORK/fstab" "$M" 2>&1)
assert_eq 0 "$?" "mount -T FSTAB MOUNTPOINT ($out)"
check fstab
unmount fstab

out=$(mount -t fuse.tcpfs tcpfs "$M" -o "allow_other,bogus=1" 2>&1)
assert_ne 0 "$?" "an unknown -o option: mount fails"
assert_match "unknown option.*bogus=1" "$out" "and says which"
out=$(mount -t fuse.tcpfs tcpfs "$M" -o "mtu=99" 2>&1)
assert_ne 0 "$?" "a bad value: mount fails"
assert_match "mtu: '99' is not a whole number from 1280 to 65535" "$out" "and says why"
is_mounted "$M" && fail "mounted after a refused option" || pass "nothing mounted"

# a mount point that is no directory, or that a running tcpfs serves
touch "$WORK/file"
out=$(timeout 10 "$TCPFS" "$WORK/file" -f --no-engine 2>&1)
assert_eq 1 "$?" "a file as mount point: exit 1 ($out)"
assert_match "not a directory" "$out" "and says why"
start_tcpfs "$M" --no-engine
out=$(timeout 10 "$TCPFS" "$M" -f --no-engine 2>&1)
assert_eq 1 "$?" "a second tcpfs on a live one: exit 1 ($out)"
assert_match "a running tcpfs is mounted there already" "$out" "and says why"
assert_eq 1 "$(findmnt -n --mountpoint "$M" | wc -l)" "one mount there, not two"
stop_tcpfs
# the same on a mount point whose name holds a space, a tab, a newline and
# a backslash, which mountinfo writes in octal (\040...)
S=$WORK/$'a b\tc\nd\\e'
mkdir "$S"
start_tcpfs "$S" --no-engine
out=$(timeout 10 "$TCPFS" "$S" -f --no-engine 2>&1)
assert_eq 1 "$?" "a second tcpfs on a live one, its name with blanks: exit 1 ($out)"
assert_match "a running tcpfs is mounted there already" "$out" "and says why"
assert_eq 1 "$(count_mounts "$S")" "one mount there, not two"
stop_tcpfs
is_mounted "$S" && fail "still mounted on '$S' after SIGTERM" || pass "unmounted"
finish
