#!/bin/bash
# engine_nopriv: without the privilege to create a TUN device (no
# CAP_NET_ADMIN) the daemon still mounts and serves kernel/, says once in
# its log why the engine is off, creates no device, and engine/clone fails
# with ENETDOWN. --no-engine does the same on purpose. An unknown option is
# refused before anything is opened.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare setpriv
enter_netns "$@"
need_tcpfs

# The daemon, as root but without CAP_NET_ADMIN (FUSE needs CAP_SYS_ADMIN
# only): a wrapper in place of $TCPFS.
REAL=$TCPFS
TCPFS=$WORK/tcpfs-no-net-admin
printf '#!/bin/sh\nexec setpriv --bounding-set=-net_admin --inh-caps=-net_admin -- %q "$@"\n' \
	"$REAL" >"$TCPFS"
chmod +x "$TCPFS"

start_holder h
hold_ok h listen l 4 127.0.0.1 0
MNT=$WORK/mnt
start_tcpfs "$MNT"

assert_eq "" "$(ip -o link show tcpfs0 2>/dev/null)" "no TUN device without CAP_NET_ADMIN"
assert_eq ENETDOWN "$(fsop read "$MNT/engine/clone" | head -n 1)" "engine/clone without the engine"
assert_eq ENETDOWN "$(fsop read "$MNT/engine/clone" | head -n 1)" "engine/clone again"
off=$(grep -c "the engine is off" "$TCPFS_LOG")
assert_eq 1 "$off" "the log says once that the engine is off"
assert_match "tcpfs0|TUN|tun" "$(grep "the engine is off" "$TCPFS_LOG")" "and why (the device)"
assert_eq "clone stats" "$(echo $(ls "$MNT/engine"))" "engine/ holds only clone and stats"
assert_eq 1 "$(ls "$MNT/kernel" | grep -c -- "^$HELD-")" "kernel/ lists the listener all the same"
assert_eq LISTEN "$(cat "$MNT/kernel/$(ls "$MNT/kernel" | grep -- "^$HELD-")/state")" "and reads it"
stop_tcpfs
assert_eq 0 "$TCPFS_RC" "the daemon exits 0 on SIGTERM"

TCPFS=$REAL
start_tcpfs "$MNT" --no-engine
assert_eq "" "$(ip -o link show tcpfs0 2>/dev/null)" "--no-engine: no TUN device"
assert_eq ENETDOWN "$(fsop read "$MNT/engine/clone" | head -n 1)" "--no-engine: engine/clone"
stop_tcpfs

# An unknown FUSE option is refused before anything is opened: no TUN
# error ahead of it (without CAP_NET_ADMIN), no device made and removed.
TCPFS=$WORK/tcpfs-no-net-admin
out=$("$TCPFS" "$MNT" -f -o no_such_option 2>&1)
rc=$?
assert_eq 1 "$rc" "an unknown option: exit status 1"
assert_match "unknown option.*no_such_option" "$out" "the unknown option is named"
assert_eq "" "$(grep -i "engine\|tun" <<<"$out")" "and nothing was opened before it"
finish
