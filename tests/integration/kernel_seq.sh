#!/bin/bash
# kernel_seq: kernel sockets' sequence numbers in kernel/ (the eBPF backend,
# src/bpf, wired into the kernel kind). After a known exchange on loopback
# (IPv4, and IPv6 for the tuple), a client's snd_nxt is its server's rcv_nxt
# and the other way round; write_seq and rcv_nxt agree with TCP_REPAIR's
# TCP_QUEUE_SEQ on the same socket; an idle socket's write_seq is its
# snd_nxt and, all read, its copied_seq is its rcv_nxt; 777 bytes more move
# snd_nxt by 777; the files are in status too. A connection bound to an
# interface (SO_BINDTODEVICE on a veth pair; IPv6 link-local) shows them
# all. A SYN_SENT socket shows iss,
# snd_nxt = iss + 1 and nothing of the peer's; a request socket iss, irs and
# rcv_nxt, which its client mirrors; an established one (its
# handshake seen by the mounted daemon's history) iss and irs, the peer's
# irs and iss; a TIME_WAIT socket snd_nxt and rcv_nxt (each one past the
# FIN) and the iss and irs its history kept; a listener none. Without capabilities (root
# without any, on a mount made for it) tcpfs mounts, kernel/ works, no
# socket shows a sequence number and the log says why once.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip unshare setpriv
enter_netns "$@"
need_tcpfs
need_kbpf

MASK=4294967295
# seqdiff A B: (A - B) mod 2^32
seqdiff() { echo $((($1 - $2) & MASK)); }
# val DIR FILE: the file's value, or "absent"
val() {
	local f=$MNT/kernel/$1/$2
	if [ -e "$f" ]; then cat "$f"; else echo absent; fi
}
SEQ_FILES="iss irs snd_una snd_nxt snd_wl1 rcv_nxt write_seq copied_seq"
# present DIR: the sequence number files DIR lists, space separated (a
# listing, not a lookup: the kernel may keep a positive dentry of a file a
# socket had in an earlier state)
present() {
	local f got='' files
	files=$(ls -1 "$MNT/kernel/$1")
	for f in $SEQ_FILES; do
		! grep -qx "$f" <<<"$files" || got+="${got:+ }$f"
	done
	echo "$got"
}
# idle ID: wait until holder ID's socket has nothing unacknowledged
idle() {
	local i
	for ((i = 0; i < 50; i++)); do
		hold_ok h unacked "$1"
		[ "$HELD" != 0 ] || return 0
		sleep 0.1
	done
	die "socket $1 still has $HELD bytes unacknowledged"
}

# A SYN to 198.18.0.2 is dropped on its way out: never answered.
need_cmd nft
ip addr add 198.18.0.1/15 dev lo || die "198.18.0.1/15 on lo"
nft add table inet kseq &&
	nft add chain inet kseq out '{ type filter hook output priority 0; }' &&
	nft add rule inet kseq out ip daddr 198.18.0.2 drop || die "nft"

MNT=$WORK/mnt
start_tcpfs "$MNT" --no-engine
assert_eq 0 "$(grep -c "sequence numbers are off" "$TCPFS_LOG")" \
	"as root, the log does not say the sequence numbers are off"

start_holder h
hold_ok h listen l 4 127.0.0.1 0
hold_ok h pair c s l
read -r C S <<<"$HELD"
hold_ok h name l
L=$HELD
hold_ok h send c 1000
hold_ok h recvall s 1000
hold_ok h send s 300
hold_ok h recvall c 300
idle c
idle s

# the two ends agree
c_nxt=$(val "$C" snd_nxt)
assert_match '^[0-9]+$' "$c_nxt" "client snd_nxt is a number"
assert_eq "$c_nxt" "$(val "$S" rcv_nxt)" "client snd_nxt = server rcv_nxt"
assert_eq "$(val "$S" snd_nxt)" "$(val "$C" rcv_nxt)" "server snd_nxt = client rcv_nxt"
assert_eq "$c_nxt" "$(val "$C" snd_una)" "idle client: snd_una = snd_nxt"
for x in C S; do
	d=${!x}
	assert_eq "$(val "$d" snd_nxt)" "$(val "$d" write_seq)" "idle $x: write_seq = snd_nxt"
	assert_eq "$(val "$d" rcv_nxt)" "$(val "$d" copied_seq)" "all read $x: copied_seq = rcv_nxt"
	assert_eq "$SEQ_FILES" "$(present "$d")" \
		"established $x (handshake seen): every sequence number"
done
c_iss=$(val "$C" iss)
c_irs=$(val "$C" irs)
assert_match '^[0-9]+$' "$c_iss" "client iss is a number"
assert_eq "$c_iss" "$(val "$S" irs)" "client iss = server irs"
assert_eq "$c_irs" "$(val "$S" iss)" "client irs = server iss"
# TCP_REPAIR on the same sockets
hold_ok h repair c
read -r w r <<<"$HELD"
assert_eq "$w" "$(val "$C" write_seq)" "client write_seq = TCP_REPAIR send queue seq"
assert_eq "$r" "$(val "$C" rcv_nxt)" "client rcv_nxt = TCP_REPAIR receive queue seq"
hold_ok h repair s
read -r w r <<<"$HELD"
assert_eq "$w" "$(val "$S" write_seq)" "server write_seq = TCP_REPAIR send queue seq"
assert_eq "$r" "$(val "$S" rcv_nxt)" "server rcv_nxt = TCP_REPAIR receive queue seq"
# in status
assert_eq "snd_nxt $c_nxt" "$(grep '^snd_nxt ' "$MNT/kernel/$C/status")" "status has snd_nxt"
assert_eq "write_seq $c_nxt" "$(grep '^write_seq ' "$MNT/kernel/$C/status")" "status has write_seq"

# 777 bytes more, and the server reads only 700 of them
s_rcv=$(val "$S" rcv_nxt)
hold_ok h send c 777
hold_ok h recvall s 700
idle c
assert_eq 777 "$(seqdiff "$(val "$C" snd_nxt)" "$c_nxt")" "client snd_nxt moved by the 777 bytes sent"
assert_eq 777 "$(seqdiff "$(val "$S" rcv_nxt)" "$s_rcv")" "server rcv_nxt moved by 777"
assert_eq 700 "$(seqdiff "$(val "$S" copied_seq)" "$s_rcv")" "server copied_seq moved by the 700 read"
hold_ok h recvall s 77
assert_eq "$(val "$S" rcv_nxt)" "$(val "$S" copied_seq)" "server read all: copied_seq = rcv_nxt"

# IPv6: the same tuple conversion, 16-byte addresses
hold_ok h listen l6 6 ::1 0
hold_ok h pair c6 s6 l6
read -r C6 S6 <<<"$HELD"
hold_ok h send c6 4321
hold_ok h recvall s6 4321
idle c6
hold_ok h repair c6
read -r w r <<<"$HELD"
assert_eq "$w" "$(val "$C6" write_seq)" "IPv6 client write_seq = TCP_REPAIR"
assert_eq "$r" "$(val "$C6" rcv_nxt)" "IPv6 client rcv_nxt = TCP_REPAIR"
assert_eq "$(val "$C6" snd_nxt)" "$(val "$S6" rcv_nxt)" "IPv6 client snd_nxt = server rcv_nxt"
assert_eq "$(val "$S6" rcv_nxt)" "$(val "$S6" copied_seq)" "IPv6 server read all: copied_seq = rcv_nxt"

# bound to an interface other than lo (SO_BINDTODEVICE on both ends, on a
# veth pair): the kernel's lookup finds such a socket only when asked with
# its interface; every sequence number all the same
ip link add tcpfsva type veth peer name tcpfsvb &&
	ip addr add 198.19.1.1/24 dev tcpfsva &&
	ip link set tcpfsva up && ip link set tcpfsvb up || die "the veth pair"
hold_ok h listen lb 4 198.19.1.1 0 dev=tcpfsva
hold_ok h name lb
port=${HELD%%-*}
hold_ok h connect cb 4 198.19.1.1 "${port##*:}" dev=tcpfsva
hold_ok h accept sb lb
hold_ok h name cb
CB=$HELD
hold_ok h name sb
SB=$HELD
[ "$(ss -tanH state established | grep -c "%tcpfsva:")" = 2 ] ||
	die "the connection is not bound to tcpfsva at both ends: $(ss -tanH)"
hold_ok h send cb 500
hold_ok h recvall sb 500
idle cb
for x in CB SB; do
	assert_eq "$SEQ_FILES" "$(present "${!x}")" "bound to an interface, $x: every sequence number"
done
cb_nxt=$(val "$CB" snd_nxt)
assert_match '^[0-9]+$' "$cb_nxt" "bound: the client's snd_nxt is a number"
assert_eq "$cb_nxt" "$(val "$SB" rcv_nxt)" "bound: client snd_nxt = server rcv_nxt"
hold_ok h repair cb
read -r w r <<<"$HELD"
assert_eq "$w $r" "$(val "$CB" write_seq) $(val "$CB" rcv_nxt)" \
	"bound client write_seq and rcv_nxt = TCP_REPAIR's"
# and an IPv6 link-local connection (bound by its address's scope)
ip addr add fe80::b/64 dev tcpfsvb nodad || die "fe80::b on tcpfsvb"
hold_ok h listen l6b 6 fe80::b 0 dev=tcpfsvb
hold_ok h pair c6b s6b l6b
for x in $HELD; do
	assert_eq "$SEQ_FILES" "$(present "$x")" "link-local, $x: every sequence number"
done

# a listener: no sequence number at all
assert_eq "" "$(present "$L")" "a listener has no sequence number file"
assert_eq "" "$(grep -E '^(snd_nxt|rcv_nxt|write_seq) ' "$MNT/kernel/$L/status")" \
	"a listener's status has no sequence number"

# SYN_SENT: iss (exact) and snd_nxt = iss + 1
hold_ok h connect ss 4 198.18.0.2 9 nowait
hold_ok h name ss
SS=$HELD
assert_eq SYN_SENT "$(val "$SS" state)" "a connect to 198.18.0.2 stays in SYN_SENT"
iss=$(val "$SS" iss)
assert_match '^[0-9]+$' "$iss" "a SYN_SENT socket has iss"
assert_eq "$(seqdiff $((iss + 1)) 0)" "$(val "$SS" snd_nxt)" "SYN_SENT: snd_nxt = iss + 1"
assert_eq "$iss" "$(val "$SS" snd_una)" "SYN_SENT: snd_una = iss"
assert_eq "iss snd_una snd_nxt write_seq" "$(present "$SS")" \
	"SYN_SENT: nothing of the peer's yet (no rcv_nxt, snd_wl1, copied_seq)"

# SYN_RECEIVED: the handshake's last ACK to port 47999 is dropped, so the
# server's side stays a request socket: iss, irs and rcv_nxt = irs + 1,
# which the client (established) mirrors
nft add rule inet kseq out tcp dport 47999 "tcp flags & (syn|ack) == ack" drop ||
	die "nft: drop the last ACK"
hold_ok h listen lq 4 127.0.0.1 47999
hold_ok h connect cq 4 127.0.0.1 47999
hold_ok h name cq
CQ=$HELD
cport=${CQ%%-*}
cport=${cport##*:}
RQ=$(ls -1 "$MNT/kernel" | grep -F -- "127.0.0.1:47999-127.0.0.1:$cport#" | head -n 1)
assert_eq SYN_RECEIVED "$(val "$RQ" state)" "the server's side is a request socket"
assert_eq "iss irs rcv_nxt" "$(present "$RQ")" "SYN_RECEIVED: iss, irs and rcv_nxt only"
riss=$(val "$RQ" iss)
rirs=$(val "$RQ" irs)
assert_match '^[0-9]+$' "$riss" "SYN_RECEIVED: iss is a number"
assert_eq "$(seqdiff $((rirs + 1)) 0)" "$(val "$RQ" rcv_nxt)" "SYN_RECEIVED: rcv_nxt = irs + 1"
assert_eq "$(val "$RQ" rcv_nxt)" "$(val "$CQ" snd_nxt)" "client snd_nxt = its iss + 1 = the request's rcv_nxt"
assert_eq "$(seqdiff $((riss + 1)) 0)" "$(val "$CQ" rcv_nxt)" "client rcv_nxt = the request's iss + 1"

# TIME_WAIT: the client closes first; snd_nxt and rcv_nxt past the FINs, and
# the iss and irs of its history
c_nxt=$(val "$C" snd_nxt)
c_rcv=$(val "$C" rcv_nxt)
hold_ok h close c
hold_ok h close s
prefix=${C%%#*}
tw=
for ((i = 0; i < 50; i++)); do
	tw=$(ls -1 "$MNT/kernel" | grep -F -- "$prefix#" | head -n 1)
	[ -z "$tw" ] || [ "$(val "$tw" state)" != TIME_WAIT ] || break
	sleep 0.1
done
assert_eq TIME_WAIT "$(val "$tw" state)" "the client is in TIME_WAIT"
assert_eq "iss irs snd_nxt rcv_nxt" "$(present "$tw")" \
	"TIME_WAIT: snd_nxt and rcv_nxt, iss and irs from the history"
assert_eq "$c_iss $c_irs" "$(val "$tw" iss) $(val "$tw" irs)" \
	"TIME_WAIT: the iss and irs it had established"
assert_eq 1 "$(seqdiff "$(val "$tw" snd_nxt)" "$c_nxt")" "TIME_WAIT: snd_nxt is one past the FIN"
assert_eq 1 "$(seqdiff "$(val "$tw" rcv_nxt)" "$c_rcv")" "TIME_WAIT: rcv_nxt is one past the peer's FIN"
stop_tcpfs

# Without capabilities: root without any, on a mount made for it (a FUSE
# mount needs CAP_SYS_ADMIN, which would also let kbpf open): libfuse takes
# the /dev/fuse descriptor as /dev/fd/N.
hold_ok h pair c2 s2 l
read -r _ S <<<"$HELD"
MNT=$WORK/nopriv
mkdir "$MNT" || die "mkdir $MNT"
exec {fusefd}<>/dev/fuse || die "open /dev/fuse"
mount -i -t fuse.tcpfs -o "fd=$fusefd,rootmode=40000,user_id=0,group_id=0" \
	tcpfs "$MNT" || die "mount $MNT"
at_exit "umount -l '$MNT'"
LOG=$WORK/tcpfs.nopriv.log
setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \
	"$TCPFS" "/dev/fd/$fusefd" -f --no-engine >"$LOG" 2>&1 &
pid=$!
exec {fusefd}<&-
at_exit "stop_tcpfs $pid"
wait_until 10 test -d "$MNT/kernel" || die "no $MNT/kernel without capabilities: $(tail -n 5 "$LOG")"
assert_eq 1 "$(ls -1 "$MNT/kernel" | grep -cxF -- "$S")" "without capabilities: kernel/ lists the sockets"
assert_eq ESTABLISHED "$(val "$S" state)" "without capabilities: a socket's state"
assert_match '^[0-9]+$' "$(val "$S" bytes_received)" "without capabilities: tcp_info's files"
assert_eq "" "$(present "$S")" "without capabilities: no sequence number file (established)"
assert_eq "" "$(present "$SS")" "without capabilities: no sequence number file (SYN_SENT)"
assert_eq "" "$(grep -E '^(snd_nxt|rcv_nxt|write_seq) ' "$MNT/kernel/$S/status")" \
	"without capabilities: no sequence number in status"
assert_eq 1 "$(grep -c "kernel sockets' sequence numbers are off" "$LOG")" \
	"without capabilities: the log says once that they are off"
assert_match "are off: .*CAP_BPF" "$(cat "$LOG")" "and why"
stop_tcpfs "$pid"
umount -l "$MNT"
finish
