#!/usr/bin/env bash
# Install what is missing, build, and mount tcpfs in the background.
#
#   sudo scripts/mount.sh [MOUNTPOINT [TCPFS-OPTIONS...]]
#
# MOUNTPOINT defaults to /mnt/tcpfs. A tcpfs already mounted there is
# unmounted first, and a stale one (left by a killed daemon: "Transport
# endpoint is not connected") is detached. tcpfs is mounted with
# -o allow_other, so every user can browse it (only root or a socket's owner
# may write its ctl). Further arguments go to tcpfs, for example:
#
#   sudo scripts/mount.sh /mnt/box --netns box     # the netns named box
#   sudo scripts/mount.sh /mnt/c1 --netns 4242     # the netns of pid 4242
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD

say() { printf 'mount: %s\n' "$*"; }
die() {
	printf 'mount: %s\n' "$*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root: sudo scripts/mount.sh ${*}"

mnt=${1:-/mnt/tcpfs}
[ $# -gt 0 ] && shift
mnt=$(realpath -m -s -- "$mnt")

bash scripts/setup.sh

if [ ! -c /dev/fuse ]; then
	modprobe fuse 2>/dev/null || true
	[ -c /dev/fuse ] || die "/dev/fuse is missing: this machine (or container) has no FUSE"
fi

# What is mounted exactly at $mnt (the topmost mount), or nothing.
fstype_at() {
	{ findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null || true; } | tail -n 1
}

# Unmount every tcpfs stacked on $mnt; refuse to touch anything else.
for _ in 1 2 3 4 5 6 7 8; do
	fstype=$(fstype_at "$mnt")
	[ -n "$fstype" ] || break
	[ "$fstype" = fuse.tcpfs ] ||
		die "$mnt already holds a $fstype mount; choose another mount point"
	if ! stat -- "$mnt" >/dev/null 2>&1; then
		say "detaching a stale tcpfs mount on $mnt (its daemon is gone)"
		umount -l -- "$mnt"
	else
		say "unmounting the tcpfs already mounted on $mnt"
		umount -- "$mnt" 2>/dev/null || umount -l -- "$mnt"
	fi
done
[ -z "$(fstype_at "$mnt")" ] || die "cannot unmount what is on $mnt"

mkdir -p -- "$mnt"
# Without -f the daemon returns once mounted, then serves in the background
# and logs to syslog (journalctl -t tcpfs).
"$repo/build/src/tcpfs" "$mnt" -o allow_other "$@"
[ "$(fstype_at "$mnt")" = fuse.tcpfs ] || die "tcpfs did not mount on $mnt"

k=$mnt/kernel
n=$(find "$k" -mindepth 1 -maxdepth 1 | wc -l)
first=$(find "$k" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | head -n 1)
[ -n "$first" ] || first=NAME # no socket yet: the nc lines below make some

cat <<EOF

tcpfs is mounted on $mnt: $n TCP socket(s) in $k/, one directory each.

Browse:
  ls $k
  cat '$k/$first/status'
  grep -l LISTEN $k/*/state
  man -l $repo/man/tcpfs.8

Close a connection of your own (the kernel aborts it; the peer gets a RST):
  nc -l 127.0.0.1 7777 </dev/null & sleep 0.2; nc 127.0.0.1 7777 </dev/null &
  d=\$(ls -d $k/127.0.0.1:7777-127.0.0.1:*); cat "\$d/state"
  echo close > "\$d/ctl"
  cat "\$d/state"        # No such file or directory: the socket is gone

Open a connection of your own with the userspace engine (over tcpfs0, the
host is 198.19.253.1 there; 127.0.0.1 works too):
  python3 -m http.server 8000 --bind 198.19.253.1 >/dev/null 2>&1 &
  n=\$(cat $mnt/engine/clone)
  echo connect 198.19.253.1:8000 > $mnt/engine/\$n/ctl
  printf 'GET / HTTP/1.0\\r\\n\\r\\n' > $mnt/engine/\$n/data
  cat $mnt/engine/\$n/data | head       # the answer, until the server's FIN
  cat $mnt/engine/\$n/trace             # every segment, with seq and ack
  echo close > $mnt/engine/\$n/ctl

Unmount (the daemon then exits):
  sudo umount $mnt
EOF
