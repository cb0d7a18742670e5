#!/bin/bash
# engine_capture: a tshark capture on the TUN device (issue 4, test 4). A
# connection with no data shows exactly SYN, SYN+ACK, ACK and FIN, ACK,
# FIN, ACK (the engine closes first, the kernel after); a second one, IPv6,
# carries data both ways and the kernel closes first. Every packet has valid
# IP and TCP checksums, and each one's flags, seq, ack, window, length, MSS
# and timestamps equal, in order, the segments the engine's trace shows; the
# engine's iss, irs, snd_una, snd_nxt and rcv_nxt files equal the capture's
# numbers; and its snd_wl1 and snd_wl2, read while it is open, equal the seq
# and ack of the peer's last segment before the read (RFC 9293 §3.10.7.3
# and §3.10.7.4: SND.WL1 and SND.WL2 are the seq and ack of the segment that
# last updated the window).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare tshark
enter_netns "$@"
need_tcpfs

# A capture on an offloading TUN device shows the kernel's packets before
# the checksum and the segmentation it leaves to the engine (as on any NIC
# with TSO): the segment-by-segment checks here need --offload=off.
eng_start --msl=0.5 --offload=off
start_holder h
hold_ok h listen l4 4 "$HOST4" 0 && P4=${HELD##*:}
hold_ok h listen l6 6 "$HOST6" 0 && P6=${HELD##*:}
CAP=$WORK/tun.pcapng
cap_start "$CAP"

# 1. IPv4, no data: the engine closes first, the kernel after.
eng_clone
a=$N
ctl_ok "$a" "connect $HOST4:$P4"
hold_ok h accept a l4
A_ISS=$(get "$a" iss)
A_IRS=$(get "$a" irs)
A_LPORT=$(get "$a" local)
A_LPORT=${A_LPORT##*:}
assert_eq "$(seq_add "$A_ISS" 1)" "$(get "$a" snd_una)" "1: snd_una = iss + 1 when established"
A_WL="$(get "$a" snd_wl1) $(get "$a" snd_wl2)"
ctl_ok "$a" close
wait_state 5 "$a" FIN_WAIT_2
hold_ok h close a
assert_state 5 "$a" CLOSED "1: CLOSED after TIME_WAIT"

# 2. IPv6, data both ways: 3000 bytes out, 2000 in, the kernel closes first.
eng_clone
b=$N
ctl_ok "$b" "connect [$HOST6]:$P6"
hold_ok h accept b l6
head -c 3000 /dev/urandom >"$WORK/out.bin"
timeout -k 1 10 dd if="$WORK/out.bin" of="$E/$b/data" bs=3000 status=none || fail "2: write to data"
got=0
for ((i = 0; i < 20 && got < 3000; i++)); do
	hold h recv b
	[[ $HELD =~ ^[0-9]+$ ]] && got=$((got + HELD))
done
assert_eq 3000 "$got" "2: the kernel received the 3000 bytes"
hold_ok h send b 2000
got=$(timeout -k 1 10 head -c 2000 "$E/$b/data" | wc -c)
assert_eq 2000 "$got" "2: 2000 bytes read from data"
wait_until 5 eval "[ \"\$(get $b snd_una)\" = \"\$(get $b snd_nxt)\" ]"
sleep 0.3 # what the kernel still sends (a window update) arrives first
B_WL_AT=$(date +%s.%N)
B_WL="$(get "$b" snd_wl1) $(get "$b" snd_wl2)"
hold_ok h close b
assert_state 5 "$b" CLOSE_WAIT "2: CLOSE_WAIT after the kernel's FIN"
ctl_ok "$b" close
assert_state 5 "$b" CLOSED "2: CLOSED after LAST_ACK"
B_ISS=$(get "$b" iss)
B_IRS=$(get "$b" irs)
B_LPORT=$(get "$b" local)
B_LPORT=${B_LPORT##*:}

cap_stop

# The capture, a line per packet: DIR FLAGS seq=S ack=A win=W len=L, DIR '>'
# for what the engine sent; and the checksums and options separately.
decode() { # decode FILTER ENGINE_ADDR_FIELD ENGINE_ADDR
	tsk "$CAP" "$1" "$2" tcp.flags tcp.seq_raw tcp.ack_raw tcp.window_size_value tcp.len |
		while read -r src flags seq ack win len; do
			local dir='<' f
			[ "$src" = "$3" ] && dir='>'
			f=$(flagname "$flags")
			[[ $f == *ACK* ]] || ack=-
			echo "$dir $f seq=$seq ack=$ack win=$win len=$len"
		done
}
A_FILT="tcp.port == $A_LPORT && ip"
B_FILT="tcp.port == $B_LPORT && ipv6"
decode "$A_FILT" ip.src "$ENG4" >"$WORK/a.cap"
decode "$B_FILT" ipv6.src "$ENG6" >"$WORK/b.cap"
trace_segs "$a" >"$WORK/a.trace"
trace_segs "$b" >"$WORK/b.trace"

# 1: exactly the seven packets, with the numbers the files gave
s1=$(seq_add "$A_ISS" 1)
s2=$(seq_add "$A_ISS" 2)
r1=$(seq_add "$A_IRS" 1)
r2=$(seq_add "$A_IRS" 2)
assert_eq "> SYN seq=$A_ISS ack=-
< SYN,ACK seq=$A_IRS ack=$s1
> ACK seq=$s1 ack=$r1
> FIN,ACK seq=$s1 ack=$r1
< ACK seq=$r1 ack=$s2
< FIN,ACK seq=$r1 ack=$s2
> ACK seq=$s2 ack=$r2" "$(awk '{ print $1, $2, $3, $4 }' "$WORK/a.cap")" \
	"1: the capture: SYN, SYN+ACK, ACK, FIN, ACK, FIN, ACK with the files' numbers"
assert_eq 7 "$(wc -l <"$WORK/a.cap")" "1: seven packets"
assert_eq "$(cat "$WORK/a.trace")" "$(cat "$WORK/a.cap")" "1: the capture equals the trace, segment by segment"
assert_eq "$s2" "$(get "$a" snd_nxt)" "1: snd_nxt = the last ACK's seq"
assert_eq "$r2" "$(get "$a" rcv_nxt)" "1: rcv_nxt = the last ACK's ack"

# 2: the capture equals the trace; the last numbers equal the files
n2=$(wc -l <"$WORK/b.cap")
assert_match "^> SYN < SYN,ACK > ACK$" "$(head -n 3 "$WORK/b.cap" | awk '{ printf "%s%s %s", s, $1, $2; s = " " }')" "2: the handshake"
assert_eq "< FIN,ACK > ACK > FIN,ACK < ACK" "$(tail -n 4 "$WORK/b.cap" | awk '{ printf "%s%s %s", s, $1, $2; s = " " }')" \
	"2: the close: the kernel's FIN, ACK, the engine's FIN, ACK"
# each direction in order (what crosses on the link may interleave
# differently from what the engine saw)
if [ "$n2" -le 64 ]; then
	assert_eq "$(grep '^>' "$WORK/b.trace")" "$(grep '^>' "$WORK/b.cap")" "2: what the engine sent: the capture equals the trace"
	assert_eq "$(grep '^<' "$WORK/b.trace")" "$(grep '^<' "$WORK/b.cap")" "2: what the kernel sent: the capture equals the trace"
else
	fail "2: $n2 packets: more than the trace keeps"
fi
# the highest byte each side sent (a retransmission, e.g. the kernel's tail
# loss probe, may repeat some)
last_byte() { # last_byte DIR BASE: highest seq + len - BASE - 1 among DIR's data
	awk -v d="$1" -v b="$2" '$1 == d { sub("seq=", "", $3); sub("len=", "", $6)
		if ($6 > 0) { e = ($3 + $6 - b - 1) % 4294967296; if (e < 0) e += 4294967296; if (e > m) m = e } }
		END { print m + 0 }' "$WORK/b.cap"
}
assert_eq 3000 "$(last_byte ">" "$B_ISS")" "2: the engine sent bytes 1 to 3000"
assert_eq 2000 "$(last_byte "<" "$B_IRS")" "2: the kernel sent bytes 1 to 2000"
assert_eq "seq=$(seq_add "$B_ISS" 3001) ack=$(seq_add "$B_IRS" 2002)" "$(tail -n 2 "$WORK/b.cap" | head -n 1 | awk '{ print $3, $4 }')" \
	"2: the engine's FIN: iss + 1 + 3000, irs + 1 + 2000 + 1"
assert_eq "$(seq_add "$B_ISS" 3002)" "$(get "$b" snd_nxt)" "2: snd_nxt = iss + 1 + 3000 + 1"
assert_eq "$(seq_add "$B_ISS" 3002)" "$(get "$b" snd_una)" "2: snd_una = snd_nxt"
assert_eq "$(seq_add "$B_IRS" 2002)" "$(get "$b" rcv_nxt)" "2: rcv_nxt = irs + 1 + 2000 + 1"

# SND.WL1, SND.WL2: 1, the SYN,ACK's seq and ack (§3.10.7.3, SYN-SENT); 2,
# those of the kernel's last segment before the files were read.
assert_eq "$(awk '$2 == "SYN,ACK" { sub("seq=", "", $3); sub("ack=", "", $4); print $3, $4 }' "$WORK/a.cap")" \
	"$A_WL" "1: snd_wl1 snd_wl2 = the SYN,ACK's seq and ack"
assert_eq "$(tsk "$CAP" "$B_FILT && ipv6.src == $HOST6" frame.time_epoch tcp.seq_raw tcp.ack_raw |
	awk -v t="$B_WL_AT" '$1 < t { last = $2 " " $3 } END { print last }')" "$B_WL" \
	"2: snd_wl1 snd_wl2 = the seq and ack of the kernel's last segment before the read"

# Checksums: every packet of both connections verified good (1).
for f in "$A_FILT" "$B_FILT"; do
	sums=$(tsk "$CAP" "$f" tcp.checksum.status | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' ')
	assert_match "^1x[0-9]+ $" "$sums" "valid TCP checksums ($f; status x count)"
done
sums=$(tsk "$CAP" "$A_FILT" ip.checksum.status | sort -u | tr '\n' ' ')
assert_eq "1 " "$sums" "valid IPv4 header checksums"

# Options: the SYN's and SYN,ACK's MSS, window scale and timestamps in the
# capture equal the trace's.
opts_cap() {
	tsk "$CAP" "$1 && tcp.flags.syn == 1" tcp.options.mss_val tcp.options.sack_perm tcp.options.wscale.shift \
		tcp.options.timestamp.tsval tcp.options.timestamp.tsecr |
		awk '{ printf "mss %s,%s,TS val %s ecr %s,wscale %s\n", $1, ($2 != "" ? "sackOK" : "nosack"), $4, $5, $3 }'
}
opts_trace() {
	timeout -k 1 5 cat "$E/$1/trace" | grep -E '^[0-9.]+ [<>] SYN' | sed 's/.*<\(.*\)>$/\1/'
}
assert_eq "$(opts_trace "$a")" "$(opts_cap "$A_FILT")" "1: SYN options in the capture = the trace's"
assert_eq "$(opts_trace "$b")" "$(opts_cap "$B_FILT")" "2: SYN options in the capture = the trace's"

eng_finish
