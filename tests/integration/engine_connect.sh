#!/bin/bash
# engine_connect: engine connections to real kernel servers (issue 4, tests 1
# and 7's IPv6 part). `cat engine/clone`, `echo connect ADDR:PORT > ctl`
# (also ADDR!PORT, [V6]:PORT, a local port, 127.0.0.1 through
# route_localnet), an HTTP/1.0 GET written to data and the response read
# from data to EOF: the body equals what curl gets from the same python
# http.server, the status line and headers match. A socat echo server gets
# 1 MiB through data and sends it back byte-exact (write blocks while the
# reader drains). The files agree with the bytes moved (snd_nxt, rcv_nxt,
# bytes_*), kernel/ and ss show the kernel's half in ESTABLISHED with the
# addresses swapped, and events shows every state change in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare curl socat sha256sum
enter_netns "$@"
need_tcpfs

eng_start --msl=0.5
events_start

# The TUN offloads: on by default (IFF_VNET_HDR: "vnet_hdr on" in ip's
# details), off with --offload=off.
vnet=$(ip -d link show dev "$TUN" | grep -o 'vnet_hdr [a-z]*')
if [ "${TCPFS_OFFLOAD:-on}" = off ]; then
	assert_eq "vnet_hdr off" "$vnet" "--offload=off: the TUN device has no virtio-net header"
else
	assert_eq "vnet_hdr on" "$vnet" "offloads on: the TUN device has the virtio-net header"
fi

WWW=$WORK/www
mkdir -p "$WWW"
head -c 300000 /dev/urandom >"$WWW/body.bin"
printf 'hello from the kernel\n' >"$WWW/hello.txt"
# one server per family (a dual-stack one would show mapped addresses)
bg "$PY" -m http.server 8000 --bind 0.0.0.0 --directory "$WWW"
bg "$PY" -m http.server 8006 --bind "$HOST6" --directory "$WWW"
wait_until 10 eval "ss -tlnH 'sport = :8000' | grep -q ."  || die "http.server did not listen"
wait_until 10 eval "ss -tlnH 'sport = :8006' | grep -q ."  || die "http.server (IPv6) did not listen"
bg socat TCP4-LISTEN:8001,reuseaddr,fork EXEC:cat
bg socat TCP6-LISTEN:8001,ipv6only=1,reuseaddr,fork EXEC:cat
wait_until 10 eval "[ \$(ss -tlnH 'sport = :8001' | wc -l) = 2 ]" || die "socat did not listen"

# split FILE BODY: print FILE's header block (\r\n\r\n excluded), the rest
# into BODY.
split() {
	"$PY" -c '
import sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"\r\n\r\n")
if i < 0:
    sys.exit("no end of headers in %d bytes" % len(d))
open(sys.argv[2], "wb").write(d[i + 4:])
sys.stdout.write(d[:i].decode("latin-1").replace("\r", ""))' "$1" "$2"
}
# headers without Date and Server (they name the moment and the version)
stable_headers() { grep -v -i -e '^date:' -e '^server:'; }

# get_http TAG TARGET URLHOST PATH [LPORT]: a GET through a new engine
# connection to TARGET; checks everything and leaves the connection in N.
get_http() {
	local tag=$1 target=$2 urlhost=$3 path=$4 lport=${5:-} n out rc req
	local local_ remote irs iss got kn
	eng_clone
	n=$N
	assert_eq "" "$(get "$n" local)" "$tag: a fresh connection has no local file"
	assert_eq CLOSED "$(get "$n" state)" "$tag: a fresh connection is CLOSED"
	out=$(ctl "$n" "connect $target${lport:+ $lport}")
	assert_eq "OK $((${#target} + 9 + ${lport:+1} + ${#lport}))" "$out" "$tag: connect $target"
	[[ $out == OK* ]] || return 1
	assert_eq ESTABLISHED "$(get "$n" state)" "$tag: state once connect returned"
	local_=$(get "$n" local)
	remote=$(get "$n" remote)
	assert_eq "$urlhost" "$remote" "$tag: remote"
	assert_match "^(${ENG4//./\\.}|\\[$ENG6\\]):[0-9]+$" "$local_" "$tag: local is the engine's address"
	[ -z "$lport" ] || assert_eq "$lport" "${local_##*:}" "$tag: the local port asked for"

	# the kernel's half: the same connection, addresses swapped
	kn=$(kname "$remote" "$local_")
	if [ -n "$kn" ]; then
		pass "$tag: kernel/ lists $kn"
		assert_eq ESTABLISHED "$(cat "$MNT/kernel/$kn/state")" "$tag: kernel/$kn state"
		assert_eq "$remote" "$(cat "$MNT/kernel/$kn/local")" "$tag: kernel local = engine remote"
		assert_eq "$local_" "$(cat "$MNT/kernel/$kn/remote")" "$tag: kernel remote = engine local"
	else
		fail "$tag: kernel/ has no $remote-$local_#*: $(ls "$MNT/kernel")"
	fi
	assert_eq ESTAB "$(ss_state "sport = :${remote##*:} and dport = :${local_##*:}")" \
		"$tag: ss shows the kernel's half ESTAB"

	iss=$(get "$n" iss)
	irs=$(get "$n" irs)
	assert_eq "$(seq_add "$iss" 1)" "$(get "$n" snd_nxt)" "$tag: snd_nxt = iss + 1 after the handshake"
	assert_eq "$(seq_add "$irs" 1)" "$(get "$n" rcv_nxt)" "$tag: rcv_nxt = irs + 1 after the handshake"

	printf -v req 'GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: tcpfs-test\r\n\r\n' "$path" "$urlhost"
	printf '%s' "$req" | timeout -k 1 10 dd of="$E/$n/data" bs=4096 status=none
	assert_eq 0 $? "$tag: the request written to data"
	timeout -k 1 20 cat "$E/$n/data" >"$WORK/$tag.resp"
	rc=$?
	assert_eq 0 "$rc" "$tag: cat data ends at the server's FIN"
	[ "$rc" = 0 ] || { dump "$n"; ss -tanoi >&2; }

	# what curl gets from the same server
	curl -sS -g --http1.0 -D "$WORK/$tag.curlh" -o "$WORK/$tag.curlb" \
		"http://$urlhost$path" 2>"$WORK/$tag.curl.err" ||
		fail "$tag: curl http://$urlhost$path: $(cat "$WORK/$tag.curl.err")"
	got=$(split "$WORK/$tag.resp" "$WORK/$tag.body" | stable_headers)
	assert_eq "$(tr -d '\r' <"$WORK/$tag.curlh" | sed '/^$/d' | stable_headers)" "$got" \
		"$tag: the headers read from data are curl's"
	if cmp -s "$WORK/$tag.body" "$WORK/$tag.curlb"; then
		pass "$tag: body = curl's"
	else
		fail "$tag: the body read from data ($(wc -c <"$WORK/$tag.body") bytes) differs from curl's ($(wc -c <"$WORK/$tag.curlb"))"
	fi
	cmp -s "$WORK/$tag.body" "$WWW${path}" && pass "$tag: body = the file" ||
		fail "$tag: the body is not $WWW$path"

	# the server's FIN: CLOSE_WAIT, and the numbers account for every byte
	local size
	size=$(stat -c %s "$WORK/$tag.resp")
	assert_eq CLOSE_WAIT "$(get "$n" state)" "$tag: state after EOF"
	assert_eq "$(seq_add "$irs" $((size + 2)))" "$(get "$n" rcv_nxt)" \
		"$tag: rcv_nxt = irs + 1 + bytes read + 1 (FIN)"
	assert_eq "$size" "$(get "$n" bytes_received)" "$tag: bytes_received = bytes read"
	assert_eq "$(seq_add "$iss" $((${#req} + 1)))" "$(get "$n" snd_nxt)" \
		"$tag: snd_nxt = iss + 1 + request length"
	assert_eq "$(get "$n" snd_nxt)" "$(get "$n" snd_una)" "$tag: everything sent is acknowledged"
	assert_eq "${#req}" "$(get "$n" bytes_sent)" "$tag: bytes_sent = the request's length"
	assert_eq "" "$(timeout -k 1 5 cat "$E/$n/data")" "$tag: data stays at EOF"

	ctl_ok "$n" close
	assert_state 5 "$n" CLOSED "$tag: CLOSED after close in CLOSE_WAIT"
	assert_events 3 "$n" "CLOSED->SYN_SENT SYN_SENT->ESTABLISHED ESTABLISHED->CLOSE_WAIT CLOSE_WAIT->LAST_ACK LAST_ACK->CLOSED" \
		"$tag: events of engine/$n"
	# the server closed first: its half waits in TIME_WAIT
	assert_eq TIME-WAIT "$(ss_state "sport = :${remote##*:} and dport = :${local_##*:}")" \
		"$tag: ss: the kernel's half is in TIME-WAIT"
	assert_ok "$tag: rmdir engine/$n" rmdir "$E/$n"
	[ -e "$E/$n" ] && fail "$tag: engine/$n still exists after rmdir" || pass "$tag: gone after rmdir"
	N=$n
}

get_http v4 "$HOST4:8000" "$HOST4:8000" /body.bin
get_http v4bang "$HOST4!8000" "$HOST4:8000" /hello.txt 41234
get_http v6 "[$HOST6]:8006" "[$HOST6]:8006" /body.bin
get_http localhost "127.0.0.1:8000" "127.0.0.1:8000" /hello.txt

# socat echo: 1 MiB out through data and back, concurrently; then shutdown
# (FIN after the data), and EOF once socat has echoed everything.
head -c 1048576 /dev/urandom >"$WORK/echo.src"
for target in "$HOST4:8001" "[$HOST6]:8001"; do
	eng_clone
	n=$N
	assert_eq "OK $((${#target} + 9))" "$(ctl "$n" "connect $target")" "echo: connect $target"
	timeout -k 1 30 cat "$E/$n/data" >"$WORK/echo.$n" &
	reader=$!
	timeout -k 1 30 dd if="$WORK/echo.src" of="$E/$n/data" bs=65536 status=none
	assert_eq 0 $? "echo $target: 1 MiB written to data"
	ctl_ok "$n" shutdown
	wait "$reader"
	assert_eq 0 $? "echo $target: the reader got EOF"
	if cmp -s "$WORK/echo.src" "$WORK/echo.$n"; then pass "echo $target: byte-exact"; else
		fail "echo $target: $(wc -c <"$WORK/echo.$n") bytes back, not the 1048576 sent"
	fi
	assert_eq 1048576 "$(get "$n" bytes_sent)" "echo $target: bytes_sent"
	assert_eq 1048576 "$(get "$n" bytes_received)" "echo $target: bytes_received"
	assert_eq "$(seq_add "$(get "$n" iss)" $((1048576 + 2)))" "$(get "$n" snd_nxt)" \
		"echo $target: snd_nxt = iss + 1 + 1 MiB + 1 (FIN)"
	assert_state 5 "$n" CLOSED "echo $target: CLOSED once both FINs are acknowledged (TIME_WAIT 1 s)"
	# socat's FIN may come with its ACK of ours (no FIN_WAIT_2 then)
	assert_events_match 3 "$n" "^CLOSED->SYN_SENT SYN_SENT->ESTABLISHED ESTABLISHED->FIN_WAIT_1 (FIN_WAIT_1->FIN_WAIT_2 FIN_WAIT_2->TIME_WAIT|FIN_WAIT_1->TIME_WAIT) TIME_WAIT->CLOSED$" \
		"echo $target: events of engine/$n"
done

eng_finish
