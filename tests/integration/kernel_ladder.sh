#!/bin/bash
# kernel_ladder: the ladder file of kernel sockets (issue 9), from their
# history (kbpf). A client and a server on loopback exchange 1000 and 300
# bytes and the client closes first: the client's ladder has both columns,
# its own states CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2
# TIME_WAIT, the server's ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED beside
# them, seq numbers relative to the ISNs of its iss and irs files (its
# snd_nxt 1002 after its 1000 bytes and FIN, rcv_nxt 302), and no arrow:
# the kernel records no segment but resets and retransmissions. --ascii
# draws in ASCII whatever the locale; LC_ALL=C (before LANG=C.UTF-8) does
# too. An IPv4 client of a dual-stack listener and the server socket (its
# addresses IPv4-mapped) each find the other's record. A socket older than
# the mount has no ladder.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare
enter_netns "$@"
need_tcpfs
need_kbpf

start_holder h
hold_ok h listen l0 4 127.0.0.1 0
hold_ok h name l0
L0=$HELD
MNT=$WORK/mnt
LC_ALL=C LANG=C.UTF-8 start_tcpfs "$MNT" --no-engine
MNT2=$WORK/mnt2
LANG=C.UTF-8 start_tcpfs "$MNT2" --no-engine --ascii

# column SIDE: the states of the left (1) or right (2) column, top down
column() {
	if [ "$1" = 1 ]; then
		sed -n 's/^[0-9. ]*\([A-Z_0-9]*\) |.*/\1/p' "$LAD"
	else
		sed -n 's/.*| \([A-Z_0-9]*\)$/\1/p' "$LAD"
	fi | grep . | paste -sd' ' -
}

hold_ok h listen l 4 127.0.0.1 0
hold_ok h pair c s l
read -r C S <<<"$HELD"
hold_ok h send c 1000
hold_ok h recvall s 1000
hold_ok h send s 300
hold_ok h recvall c 300
hold_ok h close c
hold_ok h close s
wait_until 5 eval "grep -q '| CLOSED\$' '$MNT/kernel/$C/ladder' 2>/dev/null" ||
	fail "the client's ladder has no CLOSED server: $(cat "$MNT/kernel/$C/ladder" 2>&1)"
assert_eq TIME_WAIT "$(cat "$MNT/kernel/$C/state")" "the client is in TIME_WAIT"
grep -q '^ladder$' <<<"$(ls "$MNT/kernel/$C")" || fail "the client's directory lists ladder"
ladder "$MNT/kernel/$C/ladder"
log "client:"$'\n'"$(cat "$LAD")"
has "header: this end, the client, its ISN (the iss file)" \
	"^this end +${C%%-*} +kernel #${C##*#} +ISN $(cat "$MNT/kernel/$C/iss")\$"
has "header: the peer, the server, its ISN (the client's irs)" \
	"^peer +${S%%-*} +kernel #${S##*#} +ISN $(cat "$MNT/kernel/$C/irs")\$"
has "the kernel records states, resets and retransmissions only" \
	'^segments other than resets and retransmissions are not recorded$'
assert_eq "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT" "$(column 1)" \
	"the client's states, in order (LC_ALL=C: ASCII)"
assert_match "ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED$" "$(column 2)" \
	"the server's states, in order"
has "FIN_WAIT_2: the client's FIN is acknowledged (1000 bytes and the FIN)" \
	'^[0-9.]+ +FIN_WAIT_2 \|  snd_una=1002 snd_nxt=1002 rcv_nxt=301 '
has "TIME_WAIT: the server's FIN is in (300 bytes and the FIN)" \
	'^[0-9.]+ +TIME_WAIT \|  snd_una=1002 snd_nxt=1002 rcv_nxt=302 '
assert_eq 0 "$(grep -cE -- '->\||\|<-' "$LAD")" "no arrow: no segment recorded"

ladder "$MNT2/kernel/$C/ladder"
assert_eq "CLOSED SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT" "$(column 1)" \
	"--ascii: the client's states, in ASCII"
assert_eq 0 "$(LC_ALL=C grep -c '[^ -~]' "$LAD")" "--ascii: ASCII only"

# a dual-stack listener ([::]:7008) accepts an IPv4 client: the server
# socket's addresses are IPv4-mapped, the client's IPv4; each ladder has
# the other's record
hold_ok h listen l6 6 :: 7008
hold_ok h connect c4 4 127.0.0.1 7008
hold_ok h accept s4 l6
hold_ok h name c4
C4=$HELD
hold_ok h name s4
S4=$HELD
# peer_in ME OTHER: ME's ladder names OTHER's record as its peer's
peer_in() {
	if wait_until 5 eval "grep -q '^peer .*kernel #${2##*#} ' '$MNT/kernel/$1/ladder' 2>/dev/null"; then
		pass "an IPv4 client and a dual-stack server: $1's peer is $2"
	else
		fail "$1's ladder has no peer $2: $(cat "$MNT/kernel/$1/ladder" 2>&1)"
	fi
}
peer_in "$C4" "$S4"
peer_in "$S4" "$C4"

# an older socket than the mount, unchanged since: no history, no ladder
assert_eq absent "$([ -e "$MNT/kernel/$L0/ladder" ] && echo present || echo absent)" \
	"a listener older than the mount has no ladder"
finish
