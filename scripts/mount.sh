#!/usr/bin/env bash
# Install what is missing, build, install tcpfs (meson install: tcpfs in
# /usr/local/sbin, man tcpfs, the systemd units), and mount it in the
# background. As root (sudo scripts/mount.sh ... if you are not):
#
#   scripts/mount.sh [MOUNTPOINT [TCPFS-OPTIONS...]]
#
# MOUNTPOINT defaults to /mnt/tcpfs. A tcpfs already mounted there is
# unmounted first, and a stale one (left by a killed daemon: "Transport
# endpoint is not connected") is detached. tcpfs is mounted with
# -o allow_other, so every user can browse it (only root or a socket's owner
# may write its ctl). Further arguments go to tcpfs, for example:
#
#   scripts/mount.sh /mnt/box --netns box     # the netns named box
#   scripts/mount.sh /mnt/c1 --netns 4242     # the netns of pid 4242
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD

say() { printf 'mount: %s\n' "$*"; }
die() {
	printf 'mount: %s\n' "$*" >&2
	exit 1
}

# hint MNT: what to try next, safe to paste: it writes only into the mount,
# and what it starts in the background it waits for (or ends, then waits).
hint() {
	local mnt=$1 k n first path_note=
	command -v tcpfs >/dev/null ||
		path_note="(${tcpfs%/*} is not in your PATH)"
	k=$mnt/kernel
	# the sockets' directories (not kernel/pids, a file)
	n=$(find "$k" -mindepth 1 -maxdepth 1 -type d | wc -l)
	first=$(find "$k" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | head -n 1)
	[ -n "$first" ] || first=NAME # no socket yet: the nc lines below make some

	cat <<EOF

tcpfs is mounted on $mnt: $n TCP socket(s) in $k/, one directory each.
tcpfs is installed: tcpfs -h, man tcpfs. $path_note

Browse:
  ls $k
  cat '$k/$first/status'
  grep -l LISTEN $k/*/state

Replay the README's sessions, in a network namespace of their own, with the
peers they talk to (started, waited for, and stopped at the end):
  $repo/scripts/demo.sh

Close a connection of your own (the kernel aborts it; the peer gets a RST):
  nc -l 127.0.0.1 7777 </dev/null & srv=\$!; sleep 0.5
  nc 127.0.0.1 7777 </dev/null & cli=\$!; sleep 0.5
  d=\$(ls -d $k/127.0.0.1:*-127.0.0.1:7777#*); cat "\$d/state"
  echo close > "\$d/ctl"; sleep 0.2; kill \$cli \$srv 2>/dev/null; wait \$cli \$srv
  cat "\$d/state"        # No such file or directory: the socket is gone

Open a connection of your own with the userspace engine (over tcpfs0, where
the host is 198.19.253.1) to a server that answers one line:
  socat TCP4-LISTEN:7000,bind=198.19.253.1 SYSTEM:'read -r l; echo "you said: \$l"' & srv=\$!; sleep 0.5
  n=\$(cat $mnt/engine/clone)
  echo connect 198.19.253.1:7000 > $mnt/engine/\$n/ctl
  echo hello > $mnt/engine/\$n/data
  cat $mnt/engine/\$n/data              # its answer, until its FIN
  echo close > $mnt/engine/\$n/ctl; wait \$srv
  cat $mnt/engine/\$n/trace             # every segment, with seq and ack

Unmount (the daemon then exits):
  umount $mnt
EOF
}

# --hint [MNT]: only print the hint for a tcpfs mounted on MNT
if [ "${1:-}" = --hint ]; then
	tcpfs=$(command -v tcpfs || echo /usr/local/sbin/tcpfs)
	hint "$(realpath -m -s -- "${2:-/mnt/tcpfs}")"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 ${*}"

mnt=${1:-/mnt/tcpfs}
[ $# -gt 0 ] && shift
mnt=$(realpath -m -s -- "$mnt")

bash scripts/setup.sh
say "installing tcpfs, its man page and its systemd units (meson install)"
meson install -C build --no-rebuild --quiet
tcpfs=$(PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH command -v tcpfs) ||
	die "meson install put no tcpfs in an sbin directory"

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
"$tcpfs" "$mnt" -o allow_other "$@"
[ "$(fstype_at "$mnt")" = fuse.tcpfs ] || die "tcpfs did not mount on $mnt"

hint "$mnt"
