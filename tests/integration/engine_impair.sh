#!/bin/bash
# engine_impair: 64 MiB each way, at once, between the engine and socat, over
# a TUN link that loses, reorders, duplicates and corrupts packets in both
# directions (--impair, issue 4 test 6): both files arrive byte-exact (the
# sha256 of what arrived is the sha256 of what was sent), the sender's
# retransmission counter shows the losses were real, the sequence numbers
# account for every byte and both FINs, and the receiver's bytes_received
# counts each byte once. A spec that impairs nothing leaves the link alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat sha256sum
enter_netns "$@"
need_tcpfs

SIZE=$((64 << 20))
IMPAIR=${TCPFS_IMPAIR:-loss=1,reorder=1,dup=1,corrupt=0.5,seed=4242}
eng_start --msl=0.5 "--impair=$IMPAIR"
grep -q "impair" "$TCPFS_LOG" && pass "the daemon warns about --impair" ||
	fail "no --impair warning in the log: $(cat "$TCPFS_LOG")"

head -c "$SIZE" /dev/urandom >"$WORK/out.bin" # engine -> kernel
head -c "$SIZE" /dev/urandom >"$WORK/in.bin"  # kernel -> engine
two_way "$WORK/out.got"
a=$A
b=$B
assert_eq ESTABLISHED "$(get "$a" state)" "sender established"
assert_eq ESTABLISHED "$(get "$b" state)" "receiver established"

start=$SECONDS
(
	timeout -k 1 150 dd if="$WORK/out.bin" of="$E/$a/data" bs=1M status=none || exit 1
	out=$(ctl "$a" close)
	[[ $out == OK* ]]
) >"$WORK/writer.log" 2>&1 &
writer=$!
timeout -k 1 150 cat "$E/$b/data" >"$WORK/in.got"
rc=$?
assert_eq 0 "$rc" "the engine read to EOF"
wait "$writer"
assert_eq 0 $? "the engine wrote 64 MiB and closed ($(cat "$WORK/writer.log"))"
sink_done
log "64 MiB each way in $((SECONDS - start)) s with --impair=$IMPAIR"

sum() { sha256sum <"$1" | cut -d' ' -f1; }
assert_eq "$(sum "$WORK/out.bin")" "$(sum "$WORK/out.got")" "engine -> kernel: sha256 ($(stat -c %s "$WORK/out.got") bytes arrived)"
assert_eq "$(sum "$WORK/in.bin")" "$(sum "$WORK/in.got")" "kernel -> engine: sha256 ($(stat -c %s "$WORK/in.got") bytes arrived)"

# the sender: every byte and the FIN acknowledged; losses repaired
assert_state 10 "$a" CLOSED "the sender reaches CLOSED"
assert_eq "$(seq_add "$(get "$a" iss)" $((SIZE + 2)))" "$(get "$a" snd_una)" "sender: snd_una = iss + 1 + 64 MiB + 1"
retrans=$(get "$a" total_retrans)
assert_match "^[1-9][0-9]*$" "$retrans" "sender: total_retrans > 0 (the link did lose packets)"
sent=$(get "$a" bytes_sent)
[ "${sent:-0}" -gt "$SIZE" ] && pass "sender: bytes_sent ($sent) > 64 MiB, retransmissions included" ||
	fail "sender: bytes_sent $sent, not above $SIZE"
# the receiver: every byte once, and the FIN
assert_eq CLOSE_WAIT "$(get "$b" state)" "the receiver is in CLOSE_WAIT"
assert_eq "$(seq_add "$(get "$b" irs)" $((SIZE + 2)))" "$(get "$b" rcv_nxt)" "receiver: rcv_nxt = irs + 1 + 64 MiB + 1"
assert_eq "$SIZE" "$(get "$b" bytes_received)" "receiver: bytes_received counts each byte once"
ctl_ok "$b" close
assert_state 5 "$b" CLOSED "the receiver closes"

# After 64 MiB the trace still opens with the handshake, from time zero,
# says how much it dropped, and ends with the close.
trace=$(cat "$E/$a/trace")
opening=$(head -n 4 <<<"$trace" | awk '{ print $1, $2, $3 }' | tr '\n' '|')
assert_eq "0.000000 * CLOSED|0.000000 > SYN|" "$(cut -d'|' -f1-2 <<<"$opening")|" "the trace opens with the SYN"
assert_match "^[0-9.]+ < SYN,ACK\|[0-9.]+ \* SYN_SENT\|" "$(cut -d'|' -f3-4 <<<"$opening")|" "then the SYN,ACK and ESTABLISHED"
assert_match "^# [0-9]+ entries dropped$" "$(grep '^#' <<<"$trace")" "one line says what the trace dropped"
assert_match "TIME_WAIT -> CLOSED$" "$(tail -n 1 <<<"$trace")" "the trace ends with the close"
stop_tcpfs
assert_eq 0 "$TCPFS_RC" "the daemon's exit status after SIGTERM"
wait_until 5 eval "! ip link show $TUN" || fail "$TUN still there after the daemon stopped"

# A spec that impairs nothing (a seed, a rate of 0) leaves the link as it
# is: the log says so, and gives no impairment warning.
eng_start --msl=0.5 --impair=seed=9,loss=0
assert_match "impairs nothing" "$(cat "$TCPFS_LOG")" "--impair=seed=9,loss=0: the log says it impairs nothing"
grep -q "test option --impair" "$TCPFS_LOG" && fail "--impair=seed=9,loss=0: the link is impaired: $(cat "$TCPFS_LOG")" ||
	pass "--impair=seed=9,loss=0: no impairment warning"
eng_finish
