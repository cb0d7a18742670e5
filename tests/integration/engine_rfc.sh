#!/bin/bash
# engine_rfc: RFC requirements the engine keeps, seen from outside, against
# the kernel of the test's namespace:
#  - the user timeout (RFC 9293 §3.8.3 (d), MUST-21; RFC 5482): `timeout 2`
#    on a connection whose data the host never acknowledges (nft drops what
#    the engine sends) ends it within about 2 s with ETIMEDOUT, the reason
#    in err; the `timeout` file shows it, 0 by default;
#  - simultaneous open (RFC 9293 §3.5, figure 7): the engine connects from
#    7100 to the host's 7101 (its SYN dropped by nft) while a kernel socket
#    bound to 7101 connects to the engine's 7100: the engine goes
#    SYN_RECEIVED, and its connect returns only once ESTABLISHED (held back
#    while nft drops the host's ACKs);
#  - TTL and TOS (RFC 1122 §3.2.1.7, §4.2.4.2): `ttl 3` and `tos 0xb8` on a
#    connection: the host's nft counts its packets with TTL 3 and DSCP EF;
#    the ttl and tos files show them (64 and 0x00 by default);
#  - urgent data (RFC 9293 §3.8.5, RFC 6093): a kernel client sends "ab"
#    then "!" with MSG_OOB to an engine listener: the engine reads "ab!"
#    inline, `urgent` (and its line in `status`) counts what is left up to
#    the pointer, `trace` shows the segment's pointer (urg=1), and events
#    says "engine/N urgent data" (MUST-32); the other way, `urgent` then
#    "xyz": a kernel server reads "z" with MSG_OOB and "xy" inline, and
#    the trace shows the pointer sent (urg=3);
#  - path MTU discovery (RFC 1191, RFC 1122 §4.2.3.9): with --nat, a server
#    in another namespace behind a link of MTU 1280 (its own side 1500, so
#    it announces MSS 1460): the host answers the engine's 1500-byte
#    packets with ICMP "fragmentation needed", the engine lowers its MSS to
#    1228 (1280 less headers and timestamps) and an upload of 300 kB arrives byte-exact (without it, a black
#    hole: the connection would time out); and a connect to an address no
#    one answers ARP for gets the host's ICMP host unreachable: a soft
#    error, so the connect ends at its user timeout, with EHOSTUNREACH; and
#    one the connect lives through (nft rejects the first SYN with host
#    unreachable, then lets the next in): once ESTABLISHED, err is empty.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip nft unshare socat sysctl
enter_netns "$@"
need_tcpfs

eng_start
start_holder h
hold_ok h listen l4 4 "$HOST4" 0 && P4=${HELD##*:}

# --- the user timeout
eng_clone
n=$N
assert_eq 0 "$(get "$n" timeout)" "timeout: 0 (the default) on a new connection"
ctl_ok "$n" "connect $HOST4:$P4"
hold_ok h accept a l4
assert_eq "OK 10" "$(ctl "$n" "timeout 2")" "timeout 2 on an open connection"
assert_eq 2 "$(get "$n" timeout)" "the timeout file shows 2"
nft add table inet rfc &&
	nft add chain inet rfc in '{ type filter hook input priority 0; }' &&
	nft add rule inet rfc in iifname "$TUN" tcp dport "$P4" drop || die "nft"
at_exit "nft delete table inet rfc"
t0=$(date +%s%N)
assert_eq "OK 5" "$(fsop write "$E/$n/data" hello)" "data written, never acknowledged"
wait_state 6 "$n" CLOSED
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
assert_state 0 "$n" CLOSED "the user timeout ends the connection"
[ "$ms" -ge 1800 ] && [ "$ms" -le 4000 ] && pass "after ${ms} ms (2 s asked)" ||
	fail "the user timeout of 2 s ended the connection after ${ms} ms"
assert_match "timed out.*user timeout" "$(get "$n" err)" "err says the user timeout ran out"
assert_eq ETIMEDOUT "$(fsop read "$E/$n/data")" "a read of data: ETIMEDOUT"
nft delete table inet rfc

# --- simultaneous open
nft add table inet rfc3 &&
	nft add chain inet rfc3 in '{ type filter hook input priority 0; }' &&
	nft add chain inet rfc3 out '{ type filter hook output priority 0; }' &&
	nft add rule inet rfc3 in iifname "$TUN" tcp dport 7101 "tcp flags == syn" drop &&
	nft add rule inet rfc3 out oifname "$TUN" tcp sport 7101 "tcp flags == ack" drop ||
	die "nft rfc3"
at_exit "nft delete table inet rfc3 2>/dev/null"
eng_clone
n=$N
ctl "$n" "connect $HOST4:7101 7100" >"$WORK/simul.out" &
connect=$!
wait_until 5 eval "[ \"\$(get $n state)\" = SYN_SENT ]" || die "no SYN_SENT"
timeout -k 1 20 "$PY" -c '
import socket, time
s = socket.socket()
s.bind(("'"$HOST4"'", 7101))
s.connect(("'"$ENG4"'", 7100))
time.sleep(8)' >"$WORK/simul.py" 2>&1 &
kclient=$!
wait_until 5 eval "[ \"\$(get $n state)\" = SYN_RECEIVED ]"
assert_eq SYN_RECEIVED "$(get "$n" state)" "simultaneous open: the peer's SYN takes SYN_SENT to SYN_RECEIVED"
sleep 1
kill -0 "$connect" 2>/dev/null && pass "connect still waits in SYN_RECEIVED" ||
	fail "connect returned in SYN_RECEIVED: $(cat "$WORK/simul.out")"
nft delete table inet rfc3
wait "$connect"
assert_eq "OK 31" "$(cat "$WORK/simul.out")" "connect returns once ESTABLISHED"
assert_eq ESTABLISHED "$(get "$n" state)" "ESTABLISHED"
kill "$kclient" 2>/dev/null
wait "$kclient" 2>/dev/null

# --- TTL and TOS
eng_clone
n=$N
assert_eq "64 0x00" "$(get "$n" ttl) $(get "$n" tos)" "ttl and tos: 64 and 0x00 by default"
ctl_ok "$n" "ttl 3"
ctl_ok "$n" "tos 0xb8"
assert_eq "3 0xb8" "$(get "$n" ttl) $(get "$n" tos)" "ttl and tos files after ttl 3, tos 0xb8"
nft add table inet rfc2 &&
	nft add chain inet rfc2 in '{ type filter hook input priority 0; }' &&
	nft add rule inet rfc2 in iifname "$TUN" ip ttl 3 ip dscp ef tcp dport "$P4" counter ||
	die "nft rfc2"
at_exit "nft delete table inet rfc2 2>/dev/null"
ctl_ok "$n" "connect $HOST4:$P4"
hold_ok h accept b l4
assert_eq "OK 5" "$(fsop write "$E/$n/data" hello)" "data on the ttl 3, tos 0xb8 connection"
hold_ok h recv b
pk=$(nft list table inet rfc2 | grep -o 'packets [0-9]*' | awk '{ print $2 }')
[ "${pk:-0}" -ge 3 ] && pass "nft: $pk packets with TTL 3 and DSCP EF (SYN, ACK, data)" ||
	fail "nft counted ${pk:-0} packets with TTL 3 and DSCP EF: $(nft list table inet rfc2)"
nft delete table inet rfc2

# --- urgent data, from a kernel client
events_start
eng_clone
l=$N
ctl_ok "$l" "announce 7070"
timeout -k 1 10 "$PY" -c '
import socket, time
s = socket.create_connection(("'"$ENG4"'", 7070))
s.send(b"ab")
time.sleep(0.3)
s.send(b"!", socket.MSG_OOB)
time.sleep(3)' &
client=$!
m=$(timeout -k 1 5 cat "$E/$l/listen")
[[ $m =~ ^[0-9]+$ ]] || die "no connection from listen: '$m'"
wait_until 5 eval "[ \"\$(get $m urgent)\" != 0 ]"
assert_eq 3 "$(get "$m" urgent)" "urgent: 3 bytes up to the pointer (ab and the urgent !)"
assert_eq "urgent 3" "$(get "$m" status | grep '^urgent ')" "status: its urgent line"
assert_match "< (PSH,)?ACK,URG seq=[0-9]+ ack=[0-9]+ win=[0-9]+ len=1 urg=1([^0-9]|$)" "$(get "$m" trace)" \
	"trace: the urgent segment received, with its pointer"
wait_until 5 eval "grep -q 'engine/$m urgent data' '$EVENTS'"
assert_match "engine/$m urgent data" "$(cat "$EVENTS")" "events: urgent data (MUST-32)"
assert_eq "ab!" "$(timeout -k 1 5 head -c 3 "$E/$m/data")" "the urgent byte is read inline, in order"
assert_eq 0 "$(get "$m" urgent)" "urgent: 0 once read"
wait "$client"
timeout -k 1 10 "$PY" -c '
import select, socket, sys
l = socket.create_server(("'"$HOST4"'", 7071))
print("listening", flush=True)
s, _ = l.accept()
select.select([], [], [s], 5) # the urgent data is an exceptional condition
oob = s.recv(1, socket.MSG_OOB)
print(oob.decode(), s.recv(10).decode(), flush=True)' >"$WORK/oob.out" 2>&1 &
server=$!
wait_until 5 eval "grep -q listening '$WORK/oob.out'" || die "no server on 7071"
eng_clone
u=$N
ctl_ok "$u" "connect $HOST4:7071"
ctl_ok "$u" urgent
assert_eq "OK 3" "$(fsop write "$E/$u/data" xyz)" "xyz written, urgent"
wait "$server"
assert_eq "z xy" "$(tail -n 1 "$WORK/oob.out")" "the kernel reads the urgent byte with MSG_OOB, the rest inline"
assert_match "> PSH,ACK,URG seq=[0-9]+ ack=[0-9]+ win=[0-9]+ len=3 urg=3([^0-9]|$)" "$(get "$u" trace)" \
	"trace: the urgent segment sent, with its pointer"
events_stop # a read parked at the unmount leaks in libfuse (ASan)
stop_tcpfs

# --- path MTU discovery through --nat
NS=tcpfs-pmtu-$$
netns_add "$NS"
ip link add pv0 type veth peer name pv1 || die "cannot add a veth pair"
ip link set pv1 netns "$NS" || die "veth into $NS"
ip addr add 198.18.0.1/24 dev pv0 && ip link set pv0 mtu 1280 up || die "pv0"
ip -n "$NS" addr add 198.18.0.2/24 dev pv1 && ip -n "$NS" link set pv1 up || die "pv1"
head -c 300000 /dev/urandom >"$WORK/up.bin"
bg ip netns exec "$NS" socat -u TCP4-LISTEN:9000,reuseaddr "OPEN:$WORK/up.got,creat,trunc"
sink=$BG
wait_until 10 eval "ip netns exec $NS ss -tlnH 'sport = :9000' | grep -q ." || die "no sink in $NS"
eng_start --nat --msl=0.2
eng_clone
n=$N
ctl_ok "$n" "connect 198.18.0.2:9000"
assert_eq 1448 "$(get "$n" mss)" "the sink announced MSS 1460 (its side of the link is 1500; 12 go to timestamps)"
timeout -k 1 20 dd if="$WORK/up.bin" of="$E/$n/data" bs=64k status=none
assert_eq 0 $? "300 kB written"
ctl_ok "$n" close
wait_until 20 eval "! kill -0 $sink 2>/dev/null" || true
cmp -s "$WORK/up.bin" "$WORK/up.got" && pass "300 kB arrived byte-exact over the 1280-byte path" ||
	fail "the upload over the 1280-byte path: $(stat -c %s "$WORK/up.got" 2>&1) bytes of 300000 arrived"
assert_eq 1228 "$(get "$n" mss)" "ICMP fragmentation needed lowered the MSS to 1280 - 40 - 12"
assert_state 10 "$n" CLOSED "the connection closes"
assert_eq "" "$(get "$n" err)" "without an error"

# --- an ICMP host unreachable from the host's kernel (no ARP answer for
# 198.18.0.99): a soft error, the connect goes on, and fails with it at
# its user timeout (RFC 1122 §4.2.3.9)
eng_clone
n=$N
ctl_ok "$n" "timeout 8"
t0=$(date +%s)
ctl "$n" "connect 198.18.0.99:9000" >"$WORK/connect.out" &
connect=$!
wait_until 6 eval "[[ \"\$(get $n err)\" == 'ICMP from 198.18.0.1: No route to host'* ]]"
assert_match "^ICMP from 198\.18\.0\.1: No route to host \(a soft error" "$(get "$n" err)" \
	"err tells of the ICMP error while the connect goes on"
assert_eq SYN_SENT "$(get "$n" state)" "still SYN_SENT after the ICMP error"
wait "$connect"
assert_eq EHOSTUNREACH "$(cat "$WORK/connect.out")" "connect to a host that does not answer ARP: EHOSTUNREACH"
assert_match "^closed: No route to host" "$(get "$n" err)" "err: the reason it closed replaces the soft error"
t1=$(date +%s)
[ $((t1 - t0)) -ge 7 ] && pass "after $((t1 - t0)) s: the user timeout, not at the first ICMP" ||
	fail "the connect ended after $((t1 - t0)) s, before its user timeout of 8 s"

# --- a soft error the connect lives through: the host rejects the first
# SYN with ICMP host unreachable (nft), then lets the next one in; once
# ESTABLISHED, err no longer tells of the ICMP (the connect got through)
nft add table ip rfc3 &&
	nft add chain ip rfc3 in '{ type filter hook input priority 0; }' &&
	nft add rule ip rfc3 in iifname "$TUN" tcp dport "$P4" reject with icmp type host-unreachable ||
	die "nft rfc3"
at_exit "nft delete table ip rfc3 2>/dev/null"
eng_clone
n=$N
ctl "$n" "connect $HOST4:$P4" >"$WORK/connect3.out" &
connect=$!
wait_until 5 eval "[[ \"\$(get $n err)\" == 'ICMP from '* ]]"
assert_match "^ICMP from $HOST4: No route to host \(a soft error" "$(get "$n" err)" \
	"a rejected SYN: err tells of the ICMP error while the connect goes on"
nft delete table ip rfc3
wait "$connect"
assert_eq "OK $((${#HOST4} + ${#P4} + 10))" "$(cat "$WORK/connect3.out")" "the SYN sent again gets through: connect returns"
hold_ok h accept c l4
assert_eq ESTABLISHED "$(get "$n" state)" "ESTABLISHED after the soft error"
assert_eq "" "$(get "$n" err)" "err: the soft error is forgotten once the connect got through"

eng_finish
