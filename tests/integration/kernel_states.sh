#!/bin/bash
# kernel_states: real sockets in LISTEN, ESTABLISHED, SYN_SENT, SYN_RECEIVED,
# FIN_WAIT_2, CLOSE_WAIT and TIME_WAIT, IPv4, IPv6 and IPv4-mapped IPv6;
# MNT/kernel must list exactly what `ss -tanHe` lists, each directory named
# LOCAL-REMOTE#COOKIE with the same state, local, remote, cookie, recv_q,
# send_q, uid and inode. Then the files of a few sockets: tcp_info files only
# where the kernel has tcp_info, status = the one-value files, pid. Built
# without the eBPF backend, the log says so.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare
enter_netns "$@"
need_tcpfs

# SYN_SENT: 198.18.0.2 sits behind a veth whose other end drops every frame
# (a made-up MAC, so no neighbour resolution and no ICMP error ever comes).
ip link add tv0 type veth peer name tv1 || die "cannot add a veth pair"
ip addr add 198.18.0.1/24 dev tv0 && ip link set tv0 up && ip link set tv1 up &&
	ip neigh replace 198.18.0.2 lladdr 02:00:5e:00:53:02 dev tv0 nud permanent ||
	die "veth setup"

REQ=$WORK/require
: >"$REQ"
start_holder h
# req ID STATE: holder socket ID must be listed in STATE.
req() {
	hold_ok h name "$1"
	echo "$HELD $2" >>"$REQ"
	eval "NAME_$1=\$HELD"
}
port_of() { echo "${1##*:}"; }

# LISTEN: v4, v4 wildcard, v6, v6 dual-stack wildcard, and two SO_REUSEPORT
# listeners with one tuple (told apart only by the cookie).
hold_ok h listen l4 4 127.0.0.1 0 && P4=$(port_of "$HELD")
hold_ok h listen l4any 4 0.0.0.0 0
hold_ok h listen l6 6 ::1 0 && P6=$(port_of "$HELD")
hold_ok h listen l6any 6 :: 0 && P6ANY=$(port_of "$HELD")
hold_ok h listen rp1 4 127.0.0.1 0 reuseport && PRP=$(port_of "$HELD")
hold_ok h listen rp2 4 127.0.0.1 "$PRP" reuseport
for s in l4 l4any l6 l6any rp1 rp2; do req $s LISTEN; done
[ "$NAME_rp1" != "$NAME_rp2" ] || fail "two SO_REUSEPORT listeners got one name: $NAME_rp1"

# ESTABLISHED: v4, v6, v4-mapped (an IPv4 client of a dual-stack listener).
hold_ok h pair c4 s4 l4
hold_ok h pair c6 s6 l6
hold_ok h connect cm 4 127.0.0.1 "$P6ANY"
hold_ok h accept sm l6any
for s in c4 s4 c6 s6 cm sm; do req $s ESTABLISHED; done
case $NAME_sm in "[::ffff:127.0.0.1]:$P6ANY-[::ffff:127.0.0.1]:"*) pass "mapped name" ;;
*) fail "IPv4-mapped socket name: $NAME_sm" ;; esac

# Queues: unread data (recv_q), and a sender stuck on a zero window (send_q).
hold_ok h pair cq sq l4
hold_ok h send cq 1000
hold_ok h pair cf sf l6
hold_ok h fill cf
log "filled a zero window with $HELD bytes"
for s in cq sq cf sf; do req $s ESTABLISHED; done

# FIN_WAIT_2 and CLOSE_WAIT: one side shuts down writing, the peer keeps open.
hold_ok h pair cw4 sw4 l4
hold_ok h pair cw6 sw6 l6
hold_ok h shutdown cw4 wr
hold_ok h shutdown cw6 wr
# TIME_WAIT: the side that closes first.
hold_ok h pair ct4 st4 l4
hold_ok h pair ct6 st6 l6
hold_ok h name ct4 && echo "$HELD TIME_WAIT" >>"$REQ" && NAME_ct4=$HELD
hold_ok h name ct6 && echo "$HELD TIME_WAIT" >>"$REQ" && NAME_ct6=$HELD
hold_ok h close ct4
hold_ok h close ct6
sleep 0.2
hold_ok h close st4
hold_ok h close st6

# SYN_SENT: to a blackholed address, v4 and v4-mapped v6; and a pure v6 one
# to a listener whose accept queue is full (the kernel drops the SYN).
hold_ok h connect y4 4 198.18.0.2 9 nowait
hold_ok h connect y6m 6 ::ffff:198.18.0.2 9 nowait
hold_ok h listen lq 6 ::1 0 backlog=1 && PQ=$(port_of "$HELD")
hold_ok h connect q1 6 ::1 "$PQ"
hold_ok h connect q2 6 ::1 "$PQ"
hold_ok h connect q3 6 ::1 "$PQ" nowait
req y4 SYN_SENT
req y6m SYN_SENT
req q3 SYN_SENT
req lq LISTEN

# SYN_RECEIVED: a TCP_DEFER_ACCEPT listener drops the bare final ACK and
# keeps the request socket in SYN_RECV while the client is ESTABLISHED.
hold_ok h listen ld4 4 127.0.0.1 0 defer=60 && PD4=$(port_of "$HELD")
hold_ok h listen ld6 6 ::1 0 defer=60 && PD6=$(port_of "$HELD")
hold_ok h connect cd4 4 127.0.0.1 "$PD4"
hold_ok h connect cd6 6 ::1 "$PD6"
req cd4 ESTABLISHED
req cd6 ESTABLISHED
hold_ok h name cd4 && cl=${HELD%%-*} && echo "127.0.0.1:$PD4-$cl# SYN_RECEIVED" >>"$REQ"
hold_ok h name cd6 && cl=${HELD%%-*} && echo "[::1]:$PD6-$cl# SYN_RECEIVED" >>"$REQ"

sleep 0.5 # let FIN/ACKs and the zero window settle
for s in cw4 cw6; do req $s FIN_WAIT_2; done
for s in sw4 sw6; do req $s CLOSE_WAIT; done

MNT=$WORK/mnt
start_tcpfs "$MNT"
# built without the eBPF backend (TCPFS_KBPF=0): the log says so, once
if [ "${TCPFS_KBPF:-}" = 0 ]; then
	assert_eq 1 "$(grep -c "sequence numbers are off: .*without its eBPF backend" "$TCPFS_LOG")" \
		"built without kbpf: the log says once why sequence numbers are off"
fi

log "comparing MNT/kernel with ss -tanHe"
if "$PY" "$LIB_DIR/compare.py" "$MNT" --require "$REQ"; then
	pass "listing and values equal ss"
else
	fail "MNT/kernel differs from ss -tanHe (lines above)"
	ss -tanHe >&2
	ls -l "$MNT/kernel" >&2
fi

# The values that prove the queue checks above checked something.
assert_eq "1000" "$(cat "$MNT/kernel/$NAME_sq/recv_q")" "recv_q of a socket with 1000 unread bytes"
sendq=$(cat "$MNT/kernel/$NAME_cf/send_q")
[ "${sendq:-0}" -gt 0 ] && pass "send_q of a zero-window sender" ||
	fail "send_q of a sender stuck on a zero window is '$sendq', want > 0"

# Files per socket.
TCPINFO="snd_wnd rcv_wnd rcv_space cwnd snd_mss rcv_mss rtt rttvar rto bytes_acked bytes_received bytes_sent bytes_retrans segs_in segs_out total_retrans delivery_rate options congestion"
BASE="state local remote cookie recv_q send_q timer retrans status ctl err"
# want-tcpinfo: yes, no, or listen (a listener's tcp_info carries cwnd and
# the pacing rate only; its congestion comes from another attribute).
check_files() { # NAME WHAT want-tcpinfo(yes|no|listen) want-owner(yes|no)
	local d=$MNT/kernel/$1 f files keys
	files=$(ls -1 "$d" 2>&1 | sort | tr '\n' ' ')
	for f in $BASE; do
		[ -e "$d/$f" ] && pass "$2 has $f" || fail "$2 ($1): no file '$f'; has: $files"
	done
	for f in $TCPINFO; do
		if [ "$3" = yes ] || { [ "$3" = listen ] && [[ $f =~ ^(cwnd|congestion)$ ]]; }; then
			[ -e "$d/$f" ] && pass "$2 has $f" || fail "$2 ($1): no tcp_info file '$f'"
		else
			[ ! -e "$d/$f" ] && pass "$2 has no $f" ||
				fail "$2 ($1): has '$f' ($(cat "$d/$f")) but the kernel gives no tcp_info for it"
		fi
	done
	for f in uid inode pid; do
		if [ "$4" = yes ]; then
			[ -e "$d/$f" ] && pass "$2 has $f" || fail "$2 ($1): no file '$f'"
		else
			[ ! -e "$d/$f" ] && pass "$2 has no $f" || fail "$2 ($1): has '$f'; it must not"
		fi
	done
	# status: one "key value" line per one-value file, and nothing else
	keys=$(awk '{print $1}' "$d/status" | sort | tr '\n' ' ')
	files=$(ls -1 "$d" | grep -vxE 'status|ctl|err|pid' | sort | tr '\n' ' ')
	assert_eq "$files" "$keys" "$2: the keys of status are the one-value files"
	assert_eq "$(cat "$d/state")" "$(awk '$1 == "state" {print $2}' "$d/status")" "$2: state in status"
	assert_eq "$(cat "$d/local")" "$(awk '$1 == "local" {print $2}' "$d/status")" "$2: local in status"
	assert_match '^[0-9a-f]+$' "$(cat "$d/cookie")" "$2: cookie is lowercase hex"
	assert_eq "${1##*#}" "$(cat "$d/cookie")" "$2: cookie file = the name's cookie"
}
check_files "$NAME_c4" "ESTABLISHED v4" yes yes
check_files "$NAME_s6" "ESTABLISHED v6" yes yes
check_files "$NAME_l4" "LISTEN v4" listen yes
check_files "$NAME_ct4" "TIME_WAIT v4" no no
check_files "$NAME_ct6" "TIME_WAIT v6" no no
synrecv=$(ls -1 "$MNT/kernel" | grep -F -- "127.0.0.1:$PD4-127.0.0.1:" | grep -vF "$NAME_cd4" | head -n 1)
[ -n "$synrecv" ] && check_files "$synrecv" "SYN_RECEIVED v4" no no ||
	fail "no SYN_RECEIVED directory for port $PD4"

# pid: the holder process, as "PID COMM".
hpid=${H_PID[h]}
want="$hpid $(cat "/proc/$hpid/comm")"
for s in "$NAME_c4" "$NAME_l6" "$NAME_sm"; do
	got=$(cat "$MNT/kernel/$s/pid")
	assert_eq "$want" "$got" "pid of $s"
done
# The shutdown file says which way is shut.
assert_eq "write" "$(cat "$MNT/kernel/$NAME_cw4/shutdown" 2>&1)" "shutdown of a socket after shutdown(SHUT_WR)"

finish
