#!/usr/bin/env bash
# Replay the README's two sessions on your own screen, as root:
#
#   scripts/demo.sh
#
# In a network and mount namespace of its own (nothing on the host is
# touched: not its sockets, not its /mnt/tcpfs), it starts the peers the
# sessions talk to, an nc pair on 127.0.0.1:8080, a Python listener on
# [::1]:2222 and, once tcpfs is mounted on /mnt/tcpfs there, a socat
# answerer on 198.19.253.1:7000 (the host's side of the engine's TUN
# device) that answers one line and closes 0.2 s after the engine's FIN;
# it waits until each is ready, types the README's commands (each printed
# after "# ") and shows what they print. The engine connection closes first,
# from tcpfs's side: its trace shows FIN_WAIT_1, FIN_WAIT_2 and TIME_WAIT.
# At the end it stops everything it started and waits for it. Ports,
# cookies, sequence numbers and times are this run's own.
#
# TCPFS=PATH picks the binary (default: tcpfs from PATH, else build/src/tcpfs).
set -euo pipefail

cd "$(dirname "$0")/.."
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "run as root (sudo scripts/demo.sh if you are not)"
TCPFS=${TCPFS:-$(command -v tcpfs || echo "$PWD/build/src/tcpfs")}
[ -x "$TCPFS" ] || die "no tcpfs: run scripts/mount.sh (it builds and installs it)"
TCPFS=$(realpath "$TCPFS")
for c in unshare ip ss nc socat python3; do
	command -v "$c" >/dev/null || die "needs $c: run scripts/setup.sh"
done
if [ "${TCPFS_DEMO_NS:-}" != $$ ]; then
	# unshare execs bash: the inner script keeps this pid
	TCPFS_DEMO_NS=$$ exec unshare --net --mount --propagation private -- \
		bash "$0" "$@"
fi

MNT=/mnt/tcpfs
PIDS=()
LOG=$(mktemp /tmp/tcpfs-demo.XXXXXX) # the daemon's log, shown if it fails
stop() {
	local p
	rm -f "$LOG"
	umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM HUP

# wait_for WHAT CMD...: CMD succeeds within 10 s, or the demo ends.
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < 100; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$what did not come within 10 s; the daemon's log: $(cat "$LOG")"
}
listening() { [ -n "$(ss -tlnH "sport = :$1")" ]; }
# start CMD...: in the background, kept in PIDS to stop at the end
start() {
	"$@" &
	PIDS+=($!)
}

ip link set lo up
start nc -l 127.0.0.1 8080 </dev/null >/dev/null
wait_for "nc -l 127.0.0.1 8080" listening 8080
start nc 127.0.0.1 8080 </dev/null >/dev/null
wait_for "nc's connection" eval '[ "$(ss -tnH state established "dport = :8080")" ]'
start python3 -c 'import socket, time
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 2222)); s.listen(); time.sleep(3600)'
wait_for "the listener on [::1]:2222" listening 2222

# a tcpfs of this namespace's own on /mnt/tcpfs, over what the host has
# there (that copy is let go first, so it keeps no daemon of the host's)
mkdir -p "$MNT"
while umount -l "$MNT" 2>/dev/null; do :; done
start "$TCPFS" "$MNT" -f -o allow_other 2>"$LOG"
wait_for "tcpfs on $MNT" test -d "$MNT/kernel"
wait_for "198.19.253.1 on tcpfs0" eval 'ip -o addr show dev tcpfs0 | grep -q " 198.19.253.1/"'

# show CMD: print it as typed, then run it here (cd and variables stay)
show() {
	printf '# %s\n' "$1"
	eval "$1" 2>&1 || true
}

echo '--- A session'
show "ls $MNT"
show "ls $MNT/kernel"
d=$(cd "$MNT/kernel" && ls -d 127.0.0.1:*-127.0.0.1:8080#*)
show "cd '$MNT/kernel/$d'"
show 'cat state rtt cwnd'
show 'cat status'
show 'cat pid'
show 'ls -l ctl state'
show 'echo close > ctl'
show 'cat state'
cd /

start socat TCP4-LISTEN:7000,bind=198.19.253.1,reuseaddr \
	SYSTEM:'read -r l; echo "you said: $l"; cat >/dev/null; sleep 0.2'
wait_for "socat on 198.19.253.1:7000" listening 7000
echo '--- An engine session'
show "cd $MNT"
show 'n=$(cat engine/clone); echo $n'
show 'ls engine/$n'
show 'echo connect 198.19.253.1:7000 > engine/$n/ctl'
show 'cat engine/$n/state engine/$n/local'
show 'echo hello > engine/$n/data'
show 'read -r line < engine/$n/data; echo "$line"'
show 'echo close > engine/$n/ctl'
# the peer's FIN comes 0.2 s after ours: wait for it (TIME_WAIT)
# shellcheck disable=SC2154 # n is set by a command show ran
for ((i = 0; i < 50; i++)); do
	[ "$(cat "engine/$n/state")" = TIME_WAIT ] && break
	sleep 0.1
done
show 'cat engine/$n/state'
show 'cat engine/$n/trace'
show "grep -E '^(iss|irs|snd_una|snd_nxt|rcv_nxt) ' engine/\$n/status"
echo '--- A ladder'
show 'cat engine/$n/ladder'
cd /
