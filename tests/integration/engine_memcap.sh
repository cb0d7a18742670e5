#!/bin/bash
# engine_memcap: the engine's caps per uid (issue 11, "Memory has no bound
# today"). Through -o allow_other, uid nobody floods: connections to a
# peer that accepts and never reads, a send buffer's worth written on
# each (a send buffer grows with what is queued). The write whose send
# buffer cannot grow past --engine-mem-uid takes what fits (a short
# write), the next fails with ENOBUFS and the connection's err names
# the cap and its value; clone
# past --engine-conns-uid fails with EMFILE and the log says why. Another
# user (a made-up uid) still clones, connects and moves bytes; nobody's
# connections, once freed, give its share back. engine/stats shows each
# reader its own share beside the engine's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare setpriv socat
enter_netns "$@"
need_tcpfs

FLOOD=65534 # nobody
OTHER=4242  # a uid nobody has
CAP=1048576    # 1 MiB: three full send buffers, not four
SNDBUF=262144  # the engine's send buffer (256 KiB)
eng_start -o allow_other --engine-mem-uid=1M --engine-conns-uid=8 --reap=1

# the peer: accepts, holds every connection, never reads
bg "$PY" -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$HOST4"'", 9001))
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
'
bg socat -u TCP4-LISTEN:9002,reuseaddr "OPEN:$WORK/out,creat,trunc"
SINK=$BG
wait_until 10 eval "[ \$(ss -tlnH '( sport = :9001 or sport = :9002 )' | wc -l) = 2 ]" ||
	die "the peers did not listen"

# clone N as UID (the name in N, or the errno's name in N)
clone_as() {
	local out
	out=$(fsop_as "$1" read "$E/clone")
	N=${out#OK}
	N=${N//[!0-9A-Z]/}
}

# nobody's flood: each connection connects and fills its send buffer in
# one write, until a write is cut short (8 connections at most: the
# clone cap); then writes until one fails
data=$(printf 'x%.0s' $(seq 1000))
got=
mine=()
for i in $(seq 8); do
	clone_as $FLOOD
	[[ $N =~ ^[0-9]+$ ]] || die "clone as nobody: $N"
	mine+=("$N")
	out=$(fsop_as $FLOOD write "$E/$N/ctl" "connect $HOST4:9001\\n")
	[[ $out == OK* ]] || die "connect as nobody: $out ($(get "$N" err))"
	wait_state 5 "$N" ESTABLISHED || die "engine/$N: $(get "$N" state)"
	got=$(fsop_as $FLOOD writen "$E/$N/data" $SNDBUF)
	[[ $got == "OK $SNDBUF" ]] || break
done
assert_eq 4 "${#mine[@]}" "nobody's fourth send buffer is the one that cannot grow"
assert_match "^OK [0-9]+$" "$got" "its write takes what fits: a short write"
for i in $(seq 20); do
	got=$(fsop_as $FLOOD writen "$E/$N/data" $SNDBUF)
	[[ $got == OK* ]] || break
done
assert_eq ENOBUFS "$got" "a write that fits nothing: ENOBUFS (the uid's buffer memory cap)"
assert_match "uid $FLOOD.*cap.*\(engine-mem-uid=$CAP\)" "$(get "$N" err)" \
	"its err names the cap and its value"
assert_eq ESTABLISHED "$(get "$N" state)" "the connection stays"

# the clone cap: EMFILE past 8, and the log says why once
for i in $(seq 5 8); do
	clone_as $FLOOD
	[[ $N =~ ^[0-9]+$ ]] || break
	mine+=("$N")
done
clone_as $FLOOD
assert_eq EMFILE "$N" "nobody's ninth clone: EMFILE (--engine-conns-uid=8)"
assert_match "uid $FLOOD holds 8 engine connections.*engine-conns-uid=8" \
	"$(grep "engine/clone by uid $FLOOD" "$TCPFS_LOG" | head -n 1)" "the log says why"

# engine/stats, as each reader: its own uid's share and caps
stat_as() { as_user "$1" cat "$E/stats" | awk -v n="$2" '$1 == n { print $2 }'; }
assert_eq $FLOOD "$(stat_as $FLOOD uid)" "stats: nobody reads its own uid"
assert_eq 8 "$(stat_as $FLOOD uid_conns)" "stats: nobody holds 8 connections"
assert_eq 8 "$(stat_as $FLOOD uid_conns_max)" "stats: its connection cap"
assert_eq $CAP "$(stat_as $FLOOD uid_mem_max)" "stats: its memory cap"
used=$(stat_as $FLOOD uid_mem)
[ "$used" -gt $((CAP / 2)) ] && [ "$used" -le $CAP ] ||
	fail "stats: nobody's memory, $used bytes, is not near its cap of $CAP"
assert_eq 0 "$(stat_as $OTHER uid_conns)" "stats: uid $OTHER holds none yet"
[ "$(stat_as $OTHER mem)" -ge "$used" ] || fail "stats: the engine's memory is below nobody's"
assert_eq 8 "$(stat_as $OTHER conns)" "stats: the engine holds nobody's 8"

# another user: its own share
clone_as $OTHER
assert_match "^[0-9]+$" "$N" "uid $OTHER still clones"
O=$N
assert_match "^OK" "$(fsop_as $OTHER write "$E/$O/ctl" "connect $HOST4:9002\\n")" \
	"uid $OTHER still connects"
wait_state 5 "$O" ESTABLISHED || die "engine/$O: $(get "$O" state)"
assert_eq "OK 1000" "$(fsop_as $OTHER write "$E/$O/data" "$data")" "uid $OTHER still writes"
assert_eq OK "$(fsop_as $OTHER write "$E/$O/ctl" "close\\n" | cut -c1-2)" "and closes"
wait_until 10 eval "! kill -0 $SINK 2>/dev/null" || true
assert_eq 1000 "$(stat -c %s "$WORK/out")" "its bytes reached the peer"

# nobody's connections hung up and reaped: its share is back
for n in "${mine[@]}"; do
	fsop_as $FLOOD write "$E/$n/ctl" "hangup\\n" >/dev/null
done
wait_until 10 eval "[ -z \"\$(ls '$E' | grep -xE '$(
	IFS='|'
	echo "${mine[*]}"
)')\" ]" || fail "nobody's connections were not reaped"
clone_as $FLOOD
F=$N
assert_match "^[0-9]+$" "$F" "nobody clones again once its connections are gone"
assert_eq 1 "$(stat_as $FLOOD uid_conns)" "stats: nobody's count follows the reap"
assert_match "^OK" "$(fsop_as $FLOOD write "$E/$F/ctl" "connect $HOST4:9001\\n")" "and connects"
wait_state 5 "$F" ESTABLISHED || die "engine/$F: $(get "$F" state)"
assert_eq "OK 1000" "$(fsop_as $FLOOD write "$E/$F/data" "$data")" "and writes"
finish
