#!/bin/bash
# kernel_tracefs: tcpfs's kernel history against the kernel's own record.
# The tracepoint tcpfs's eBPF program hangs on, sock:inet_sock_set_state,
# also prints through tracefs (it is what tcpstates(8) reads); a tracefs
# instance of the test's own records it while sockets on one listener go
# through an active close, a simultaneous close (CLOSING), a reset and 100
# quick connections. Every socket's transitions in MNT/events must be the
# kernel's, in order (kernel_transitions.py). tcpstates-bpfcc itself needs
# the running kernel's headers to compile its program; where it can run, its
# lines for the listener's port are compared too.
#
# Then a reader of events that stops reading while a few hundred sockets
# come and go: the daemon keeps answering, and the reader, reading again,
# is told how many lines it lost.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare nft
enter_netns "$@"
need_tcpfs
need_kbpf

MNT=$WORK/mnt
EV=$WORK/events
TR=$WORK/tracefs
T=/sys/kernel/tracing
[ -d $T/instances ] || mount -t tracefs nodev $T 2>/dev/null ||
	skip "no tracefs (mount -t tracefs: $(mount -t tracefs nodev $T 2>&1))"
[ -d $T/events/sock/inet_sock_set_state ] ||
	skip "no sock:inet_sock_set_state tracepoint in tracefs"
I=$T/instances/tcpfs_$$
mkdir "$I" || die "mkdir $I"
at_exit "rmdir $I"
echo 1 >"$I/events/sock/inet_sock_set_state/enable" || die "cannot enable the tracepoint"
at_exit "echo 0 > $I/events/sock/inet_sock_set_state/enable"
cat "$I/trace_pipe" >"$TR" &
at_exit "kill $! 2>/dev/null"

start_tcpfs "$MNT" --no-engine
events_bg "$MNT" "$EV"
start_holder h
hold_ok h listen l 4 127.0.0.1 0
hold_ok h name l
L=$HELD
PORT=${L%%-*}
PORT=${PORT##*:}
state() { cat "$MNT/kernel/$1/state" 2>/dev/null; }
state_is() { [ "$(state "$1")" = "$2" ]; }

# an active close
hold_ok h pair c s l
hold_ok h close c
hold_ok h close s

# a simultaneous close: both FINs are dropped until both ends sent theirs,
# so each arrives (retransmitted) at an end in FIN_WAIT_1
hold_ok h pair c2 s2 l
read -r C2 S2 <<<"$HELD"
nft add table inet kts &&
	nft add chain inet kts out '{ type filter hook output priority 0; }' &&
	nft add rule inet kts out tcp sport "$PORT" tcp flags fin drop &&
	nft add rule inet kts out tcp dport "$PORT" tcp flags fin drop || die "nft"
at_exit "nft delete table inet kts"
hold_ok h shutdown c2 wr
hold_ok h shutdown s2 wr
state_is "$C2" FIN_WAIT_1 && state_is "$S2" FIN_WAIT_1 ||
	fail "both ends in FIN_WAIT_1: $(state "$C2") $(state "$S2")"
nft delete table inet kts
wait_until 10 state_is "$C2" TIME_WAIT || fail "the client did not reach TIME_WAIT: $(state "$C2")"
wait_until 10 state_is "$S2" TIME_WAIT || fail "the server did not reach TIME_WAIT: $(state "$S2")"
hold_ok h close c2
hold_ok h close s2

# a reset
hold_ok h pair c3 s3 l
read -r C3 S3 <<<"$HELD"
hold_ok h linger0 c3
hold_ok h close s3

# many at once
for i in $(seq 100); do
	hold_ok h pair "c4_$i" "s4_$i" l
	hold_ok h close "c4_$i"
	hold_ok h close "s4_$i"
done
hold_ok h close l

# the last transition is the listener's; both records have it
ev_done() { grep -qF "kernel/$L LISTEN -> CLOSED" "$EV"; }
tr_done() { grep -q "sport=$PORT dport=0 .*oldstate=TCP_LISTEN newstate=TCP_CLOSE" "$TR"; }
wait_until 5 ev_done || fail "events has no LISTEN -> CLOSED of the listener: $(grep -F "$L" "$EV")"
wait_until 5 tr_done || fail "tracefs has no LISTEN -> CLOSE of the listener"
# a socket's last change may come after the listener's (its peer's FIN
# handled late, on a busy machine): both records are given time to agree
same() { out=$("$PY" "$LIB_DIR/kernel_transitions.py" "$PORT" "$TR" "$EV"); }
wait_until 5 same ||
	fail "events differ from the kernel's tracepoint:"$'\n'"$out"
assert_match "^20[4-9] sockets compared" "$(tail -n 1 <<<"$out")" \
	"every socket of the listener compared (1 listener, 2 x 103 ends)"
grep -qF "kernel/$S2 FIN_WAIT_1 -> CLOSING" "$EV" ||
	grep -qF "kernel/$C2 FIN_WAIT_1 -> CLOSING" "$EV" ||
	fail "a simultaneous close shows no CLOSING: $(grep -F -e "$C2" -e "$S2" "$EV")"
log "$out"

# a reader that stops reading loses lines, and is told how many; the daemon
# does not wait for it
exec 7<"$MNT/events"
hold_ok h listen l5 4 127.0.0.1 0
hold_ok h name l5
L5PORT=${HELD%%-*}
L5PORT=${L5PORT##*:}
for i in $(seq 500); do
	hold_ok h pair "c5_$i" "s5_$i" l5
	hold_ok h close "c5_$i"
	hold_ok h close "s5_$i"
done
# every line is posted (the reader that keeps reading has the last one):
# some 5000 of them, twice what the slow reader's queue holds
hold_ok h close l5
l5_closed() { grep -q "127.0.0.1:$L5PORT-0.0.0.0:0#[0-9a-f]* LISTEN -> CLOSED" "$EV"; }
wait_until 10 l5_closed || fail "events has no LISTEN -> CLOSED of the second listener"
assert_eq 0 "$(timeout 5 ls "$MNT/kernel" >/dev/null; echo $?)" \
	"the daemon answers while a reader of events does not read"
timeout 3 cat <&7 >"$WORK/slow" 2>/dev/null
exec 7<&-
assert_match "^[0-9]+\.[0-9]+ lost [1-9][0-9]* events$|^lost [1-9][0-9]* events$" \
	"$(grep -m1 'lost' "$WORK/slow")" "the slow reader is told what it lost"
finish
