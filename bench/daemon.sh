# shellcheck shell=bash
# Sourced by the bench scripts that run the daemon, never run.
# stop_daemon: end the daemon $DPID (SIGTERM, SIGKILL after 5 s), detach
# its mount $MNT, and clear DPID.
stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill "$DPID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	umount -l "$MNT" 2>/dev/null
	DPID=
}
