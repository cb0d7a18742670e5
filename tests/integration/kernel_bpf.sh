#!/bin/bash
# kernel_bpf: the eBPF backend (src/bpf, include/tcpfs/kbpf.h) through its
# driver kbpf_probe, in a fresh network namespace. kbpf_check.py compares
# the sequence numbers of full, TIME_WAIT, request and listening sockets
# (IPv4, IPv6, dual stack) with TCP_REPAIR, byte counts, the peer and a
# tshark capture; checks the history of an active close on both ends, a
# reset sent and received, a retransmission, that a stale tuple or a wrong
# cookie is ENOENT and that another namespace's sockets do not show. Without
# capabilities (root without any, and nobody) kbpf_open fails with EPERM and
# says why.
. "$(dirname "$0")/lib.sh"
need_root
[ -n "${KBPF_PROBE:-}" ] && [ -x "$KBPF_PROBE" ] ||
	skip "no kbpf_probe (KBPF_PROBE unset: kbpf is not built, see meson -Dbpf)"
need_cmd nft unshare setpriv ip bc
enter_netns "$@"

out=$("$KBPF_PROBE" open)
rc=$?
if [ $rc -ne 0 ]; then
	case $out in
	"error ENOENT "* | "error ENOSYS "*) skip "kbpf cannot run here: $out" ;;
	esac
	die "kbpf_probe open as root: exit $rc: $out"
fi
assert_eq ok "$out" "kbpf opens as root"

# Root without a single capability: EPERM and the reason.
out=$(setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \
	"$KBPF_PROBE" open)
rc=$?
assert_eq 2 "$rc" "open without capabilities fails"
assert_match '^error EPERM .*CAP_BPF' "$out" "without capabilities: EPERM, reason"

# nobody (if it may run the driver where it was built)
if setpriv --reuid=65534 --regid=65534 --clear-groups -- test -x "$KBPF_PROBE"; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		"$KBPF_PROBE" open)
	rc=$?
	assert_eq 2 "$rc" "open as nobody fails"
	assert_match '^error EPERM .*CAP_BPF' "$out" "as nobody: EPERM, reason"
else
	log "nobody cannot run $KBPF_PROBE: that check is left out"
fi

# Exactly CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (as nobody): enough.
caps=+bpf,+perfmon,+net_admin
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=$caps \
	--ambient-caps=$caps -- "$KBPF_PROBE" seq 127.0.0.1 1 127.0.0.1 2)
assert_eq "error ENOENT" "$out" "CAP_BPF+CAP_PERFMON+CAP_NET_ADMIN: open, look up"

# Idle, the reader wakes every 50 ms and does not spin.
TIMEFORMAT=%U+%S
cpu=$( { time "$KBPF_PROBE" events 1 >/dev/null; } 2>&1)
assert_eq 1 "$(echo "$cpu < 0.2" | bc -l)" "idle events for 1 s: CPU $cpu s < 0.2 s"

if "$PY" "$LIB_DIR/kbpf_check.py" "$KBPF_PROBE" "$WORK/events.txt"; then
	pass "kbpf_check.py"
else
	fail "kbpf_check.py (events in $WORK/events.txt)"
	tail -n 40 "$WORK/events.txt" >&2
fi
finish
