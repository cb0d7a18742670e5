#!/bin/bash
# kernel_capture: kernel sockets' sequence numbers in kernel/ against the
# wire. A client in the test's namespace and a server in a second one talk
# over a veth pair (198.18.0.1 - 198.18.0.2) while tshark captures it with
# absolute sequence numbers; 1000 bytes go one way and 300 the other. The
# client's iss is the seq of its SYN, its irs the seq of the SYN-ACK; once
# idle, its snd_nxt is where its last segment on the wire ends and its
# rcv_nxt the ack it last sent; the server's files (read through
# netns/INO/kernel/) mirror the client's: one's snd_nxt is the other's
# rcv_nxt and the other way round.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare tshark stat
enter_netns "$@"
need_tcpfs
need_kbpf

netns_add kcap_peer
ip link add kcap0 type veth peer name kcap1 netns kcap_peer || die "veth"
ip addr add 198.18.0.1/24 dev kcap0 && ip link set kcap0 up &&
	ip -n kcap_peer addr add 198.18.0.2/24 dev kcap1 &&
	ip -n kcap_peer link set kcap1 up || die "veth addresses"
PEER_INO=$(stat -L -c %i /var/run/netns/kcap_peer) || die "the peer's inode"

MNT=$WORK/mnt
start_tcpfs "$MNT" --no-engine
start_holder p ip netns exec kcap_peer
hold_ok p listen l 4 198.18.0.2 0
PORT=${HELD##*:}

# the capture, from the moment a UDP probe shows in it
CAP=$WORK/cap.pcapng
tshark -n -i kcap0 -l -P -w "$CAP" >"$WORK/cap.txt" 2>"$WORK/tshark.err" </dev/null &
TSHARK=$!
at_exit "kill $TSHARK"
probe() { # probe N: send one, wait until the capture shows N
	local i
	for ((i = 0; i < 50; i++)); do
		echo probe >/dev/udp/198.18.0.2/9 2>/dev/null
		sleep 0.1
		[ "$(grep -c UDP "$WORK/cap.txt")" -ge "$1" ] && return 0
	done
	return 1
}
probe 1 || die "tshark saw no probe: $(tail -n 3 "$WORK/tshark.err")"

start_holder h
hold_ok h connect c 4 198.18.0.2 "$PORT"
hold_ok p accept s l
hold_ok h send c 1000
hold_ok p recvall s 1000
hold_ok p send s 300
hold_ok h recvall c 300
# idle: nothing unacknowledged either way
idle() {
	hold "$1" unacked "$2" && [ "$HELD" = 0 ]
}
wait_until 5 idle h c || die "the client's bytes are not all acknowledged"
wait_until 5 idle p s || die "the server's bytes are not all acknowledged"
hold_ok h name c
C=$MNT/kernel/$HELD
CPORT=${HELD%%-*}
CPORT=${CPORT##*:}
hold_ok p name s
S=$MNT/netns/$PEER_INO/kernel/$HELD
for f in iss irs snd_una snd_nxt rcv_nxt; do
	declare "c_$f=$(cat "$C/$f" 2>&1)"
done
for f in snd_nxt rcv_nxt; do
	declare "s_$f=$(cat "$S/$f" 2>&1)"
done
probe $(($(grep -c UDP "$WORK/cap.txt") + 1)) || fail "tshark saw no closing probe"
kill -INT "$TSHARK"
wait "$TSHARK" 2>/dev/null

MASK=4294967295
# FILTER's segments from the client (or to it), as "seq ack len flags"
segs() {
	tshark -n -r "$CAP" -Y "tcp.port == $CPORT && $1" -T fields -E separator=' ' \
		-o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE \
		-e tcp.seq_raw -e tcp.ack_raw -e tcp.len -e tcp.flags 2>/dev/null
}
read -r syn_seq _ <<<"$(segs "tcp.srcport == $CPORT && tcp.flags == 0x002" | head -n 1)"
read -r sa_seq sa_ack _ <<<"$(segs "tcp.dstport == $CPORT && tcp.flags == 0x012" | head -n 1)"
assert_match '^[0-9]+$' "$syn_seq" "the capture has the client's SYN"
assert_eq "$syn_seq" "$c_iss" "client iss = the seq of its SYN on the wire"
assert_eq "$sa_seq" "$c_irs" "client irs = the seq of the SYN-ACK on the wire"
assert_eq "$(((c_iss + 1) & MASK))" "$sa_ack" "the SYN-ACK acknowledges iss + 1"

# where the client's segments end, and the last ack it sent
end=
last_ack=
while read -r seq ack len flags; do
	n=$len
	(((flags) & 3)) && n=$((n + 1)) # SYN, FIN: one each
	e=$(((seq + n) & MASK))
	[ -z "$end" ] || ((((e - end) & MASK) < 2147483648)) && end=$e
	last_ack=$ack
done < <(segs "tcp.srcport == $CPORT")
assert_eq "$end" "$c_snd_nxt" "client snd_nxt = the end of its last segment on the wire"
assert_eq "$c_snd_nxt" "$c_snd_una" "idle client: snd_una = snd_nxt"
assert_eq "$last_ack" "$c_rcv_nxt" "client rcv_nxt = the last ack it sent"
assert_eq "$(((c_iss + 1 + 1000) & MASK))" "$c_snd_nxt" "client snd_nxt = iss + 1 + 1000 bytes"
assert_eq "$(((c_irs + 1 + 300) & MASK))" "$c_rcv_nxt" "client rcv_nxt = irs + 1 + 300 bytes"
assert_eq "$c_snd_nxt" "$s_rcv_nxt" "client snd_nxt = server rcv_nxt (netns/$PEER_INO/kernel/)"
assert_eq "$s_snd_nxt" "$c_rcv_nxt" "server snd_nxt = client rcv_nxt"
log "client: iss=$c_iss irs=$c_irs snd_nxt=$c_snd_nxt rcv_nxt=$c_rcv_nxt; wire: SYN $syn_seq, SYN-ACK $sa_seq, end $end, ack $last_ack"
finish
