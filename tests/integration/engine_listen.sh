#!/bin/bash
# engine_listen: the engine as a server (issue 4, tests 2 and 7's IPv6
# part). `echo announce 8080 > ctl` makes a listener (both families); a read
# of its listen file blocks until curl (the kernel's side) connects, prints
# the new connection's number and then gives EOF. The script reads curl's
# request from data and writes a response that curl receives byte-exact.
# nc sends a file and shuts down: the engine reads it to EOF (CLOSE_WAIT),
# answers and closes (LAST_ACK -> CLOSED). kernel/ and ss show curl's socket
# with the addresses swapped; a listener on one address refuses the other
# family; a port without listener refuses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare curl nc
enter_netns "$@"
need_tcpfs

eng_start --msl=0.5
events_start

eng_clone
L=$N
assert_eq "OK 14" "$(ctl "$L" "announce 8080")" "announce 8080"
assert_eq LISTEN "$(get "$L" state)" "the listener's state"
[ -e "$E/$L/listen" ] && pass "a listener has a listen file" || fail "engine/$L has no listen file"
eng_clone
assert_eq "" "$(ls "$E/$N" | grep -x listen)" "a connection that is not a listener has no listen file"
assert_eq "OK 12" "$(ctl "$N" "listen 8081")" "listen 8081 (the alias)"
assert_eq LISTEN "$(get "$N" state)" "state after listen 8081"
ctl_ok "$N" close
assert_state 3 "$N" CLOSED "a listener closes at once"

# read_request N OUT: the request curl sent, up to the blank line.
read_request() {
	timeout -k 1 10 "$PY" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
d = b""
while b"\r\n\r\n" not in d:
    b = os.read(fd, 4096)
    if not b:
        break
    d += b
sys.stdout.buffer.write(d)' "$E/$1/data" >"$2"
}

# serve TAG URLHOST CLIENTADDR: curl GETs /file.bin from the listener; the
# engine answers with $WORK/body.bin and closes.
head -c 200000 /dev/urandom >"$WORK/body.bin"
serve() {
	local tag=$1 urlhost=$2 caddr=$3 m acc rc lines local_ remote kn
	acc=$WORK/$tag.accept
	timeout -k 1 20 cat "$E/$L/listen" >"$acc" 2>&1 &
	local reader=$!
	timeout -k 1 30 curl -sS -g --http1.0 -D "$WORK/$tag.h" -o "$WORK/$tag.body" \
		"http://$urlhost/file.bin" >"$WORK/$tag.curl.log" 2>&1 &
	local curl=$!
	wait "$reader"
	rc=$?
	assert_eq 0 "$rc" "$tag: cat listen returns (one connection, then EOF)"
	lines=$(wc -l <"$acc")
	assert_eq 1 "$lines" "$tag: listen gave one line"
	m=$(head -n 1 "$acc")
	if ! [[ $m =~ ^[1-9][0-9]*$ ]] || [ ! -d "$E/$m" ]; then
		fail "$tag: listen gave '$m', not a connection"
		kill "$curl" 2>/dev/null
		return 1
	fi
	pass "$tag: accepted engine/$m"
	assert_eq ESTABLISHED "$(get "$m" state)" "$tag: the accepted connection's state"
	local_=$(get "$m" local)
	remote=$(get "$m" remote)
	assert_eq "$urlhost" "$local_" "$tag: local of the accepted connection"
	assert_match "^$caddr:[0-9]+$" "$remote" "$tag: remote is curl's address"
	assert_eq LISTEN "$(get "$L" state)" "$tag: the listener still listens"

	kn=$(kname "$remote" "$local_")
	if [ -n "$kn" ]; then
		pass "$tag: kernel/ lists curl's socket $kn"
		assert_eq ESTABLISHED "$(cat "$MNT/kernel/$kn/state")" "$tag: kernel/$kn state"
		assert_eq "$local_" "$(cat "$MNT/kernel/$kn/remote")" "$tag: curl's remote = engine local"
	else
		fail "$tag: kernel/ has no $remote-$local_#*: $(ls "$MNT/kernel")"
	fi
	assert_eq ESTAB "$(ss_state "dport = :8080 and sport = :${remote##*:}")" "$tag: ss: curl's socket ESTAB"

	local tr
	tr=$(trace_segs "$m" | head -n 3 | awk '{ print $1, $2 }' | tr '\n' ' ')
	assert_eq "< SYN > SYN,ACK < ACK " "$tr" "$tag: the accepted connection's trace starts with the handshake"
	read_request "$m" "$WORK/$tag.req"
	assert_eq 0 $? "$tag: the request read from data"
	local req
	req=$(tr -d '\r' <"$WORK/$tag.req")
	assert_eq "GET /file.bin HTTP/1.0" "$(head -n 1 <<<"$req")" "$tag: request line"
	assert_eq "Host: $urlhost" "$(grep '^Host:' <<<"$req")" "$tag: Host header"
	local rlen
	rlen=$(stat -c %s "$WORK/$tag.req")
	assert_eq "$(seq_add "$(get "$m" irs)" $((rlen + 1)))" "$(get "$m" rcv_nxt)" \
		"$tag: rcv_nxt = irs + 1 + the request's length"

	local hdr
	# no Content-Length: the body ends at the engine's FIN, so the engine
	# closes first
	printf -v hdr 'HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nX-Engine: %s\r\n\r\n' "$m"
	{ printf '%s' "$hdr"; cat "$WORK/body.bin"; } | timeout -k 1 20 dd of="$E/$m/data" bs=65536 status=none
	assert_eq 0 $? "$tag: the response written to data"
	ctl_ok "$m" close
	wait "$curl"
	assert_eq 0 $? "$tag: curl's exit status ($(cat "$WORK/$tag.curl.log"))"
	if cmp -s "$WORK/body.bin" "$WORK/$tag.body"; then pass "$tag: curl got the body"; else
		fail "$tag: curl got $(wc -c <"$WORK/$tag.body" 2>/dev/null) bytes, not the body"
	fi
	assert_match "X-Engine: $m" "$(tr -d '\r' <"$WORK/$tag.h")" "$tag: curl got the headers"
	assert_eq "$(seq_add "$(get "$m" iss)" $((${#hdr} + 200000 + 2)))" "$(get "$m" snd_nxt)" \
		"$tag: snd_nxt = iss + 1 + the response + 1 (FIN)"
	assert_state 5 "$m" CLOSED "$tag: CLOSED after the close (TIME_WAIT 1 s)"
	# accepted in ESTABLISHED: its events start there
	assert_events_match 3 "$m" "^ESTABLISHED->FIN_WAIT_1 (FIN_WAIT_1->FIN_WAIT_2 FIN_WAIT_2->TIME_WAIT|FIN_WAIT_1->TIME_WAIT) TIME_WAIT->CLOSED$" \
		"$tag: events of engine/$m"
	assert_ok "$tag: rmdir engine/$m" rmdir "$E/$m"
}

serve v4 "$ENG4:8080" "${HOST4//./\\.}"
serve v6 "[$ENG6]:8080" "\\[$HOST6\\]"

# A connection accepted after a newer one exists (a clone made while it
# waited in the accept queue) is adopted all the same.
bg nc -d "$ENG4" 8080
wait_until 5 eval "[ \$(ss -tnH state established '( dport = :8080 )' | wc -l) = 1 ]" ||
	fail "nc did not connect to the listener"
eng_clone
newer=$N
acc=$(timeout -k 1 10 cat "$E/$L/listen")
[[ $acc =~ ^[0-9]+$ && $acc -lt $newer ]] && pass "accepted $acc after clone $newer" ||
	fail "accept after a newer clone: '$acc' (clone $newer)"
assert_eq ESTABLISHED "$(get "$acc" state)" "the connection accepted late"
ctl_ok "$acc" hangup

# nc: a file in, EOF, the engine answers in CLOSE_WAIT and closes.
head -c 300000 /dev/urandom >"$WORK/nc.src"
printf 'thanks, engine here\n' >"$WORK/nc.reply"
timeout -k 1 20 cat "$E/$L/listen" >"$WORK/nc.accept" 2>&1 &
reader=$!
timeout -k 1 30 nc -N "$ENG4" 8080 <"$WORK/nc.src" >"$WORK/nc.got" 2>"$WORK/nc.err" &
ncpid=$!
wait "$reader"
m=$(head -n 1 "$WORK/nc.accept")
if [[ $m =~ ^[1-9][0-9]*$ ]]; then
	timeout -k 1 20 cat "$E/$m/data" >"$WORK/nc.in"
	assert_eq 0 $? "nc: data read to EOF after nc's shutdown"
	cmp -s "$WORK/nc.src" "$WORK/nc.in" && pass "nc: the file arrived byte-exact" ||
		fail "nc: $(wc -c <"$WORK/nc.in") bytes arrived, not the 300000 sent"
	assert_eq CLOSE_WAIT "$(get "$m" state)" "nc: state after EOF"
	assert_eq 300000 "$(get "$m" bytes_received)" "nc: bytes_received"
	assert_eq "$(seq_add "$(get "$m" irs)" 300002)" "$(get "$m" rcv_nxt)" "nc: rcv_nxt = irs + 1 + 300000 + 1 (FIN)"
	ncport=$(get "$m" remote)
	ncport=${ncport##*:}
	assert_eq FIN-WAIT-2 "$(ss_state "dport = :8080 and sport = :$ncport")" "nc: ss: nc's socket in FIN-WAIT-2"
	timeout -k 1 10 dd if="$WORK/nc.reply" of="$E/$m/data" status=none
	assert_eq 0 $? "nc: a reply written in CLOSE_WAIT"
	ctl_ok "$m" close
	wait "$ncpid"
	assert_eq 0 $? "nc's exit status ($(cat "$WORK/nc.err"))"
	assert_eq "$(cat "$WORK/nc.reply")" "$(cat "$WORK/nc.got")" "nc received the reply"
	assert_state 5 "$m" CLOSED "nc: CLOSED after LAST_ACK"
	assert_events 3 "$m" "ESTABLISHED->CLOSE_WAIT CLOSE_WAIT->LAST_ACK LAST_ACK->CLOSED" "nc: events of engine/$m"
	assert_eq TIME-WAIT "$(ss_state "dport = :8080 and sport = :$ncport")" "nc: ss: nc's socket in TIME-WAIT"
else
	fail "nc: listen gave '$m'"
	kill "$ncpid"
fi

# A shell's read takes the listen file a byte at a time (it cannot seek
# it): the whole number still comes, then EOF.
eng_clone
LS=$N
ctl_ok "$LS" "announce $ENG4:8085"
python3 -c 'import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
print(s.getsockname()[1], flush=True)
time.sleep(3)' "$ENG4" 8085 >"$WORK/py.port" 2>&1 &
pypid=$!
timeout -k 1 10 bash -c 'read -r id && echo "$id" && ! read -r more' <"$E/$LS/listen" >"$WORK/read.id" ||
	fail "read -r of engine/$LS/listen: '$(cat "$WORK/read.id")', or no EOF after the line"
id=$(head -n 1 "$WORK/read.id")
wait_until 3 test -s "$WORK/py.port"
assert_eq "$ENG4:8085" "$(get "$id" local)" "read -r gave the accepted connection's whole number ($id)"
assert_eq "$HOST4:$(cat "$WORK/py.port")" "$(get "$id" remote)" "its peer is the kernel's client"
wait "$pypid"

# A listener on one address: the other family and other ports are refused.
eng_clone
L4=$N
assert_eq "OK $((${#ENG4} + 15))" "$(ctl "$L4" "announce $ENG4:8082")" "announce $ENG4:8082"
assert_eq "$ENG4:8082" "$(get "$L4" local)" "local of a listener on one address"
out=$(curl -sS -g -m 10 "http://[$ENG6]:8082/" 2>&1)
assert_match "Connection refused|Failed to connect" "$out" "IPv6 to an IPv4-only listener is refused"
out=$(curl -sS -m 10 "http://$ENG4:8083/" 2>&1)
assert_match "Connection refused|Failed to connect" "$out" "a port nobody listens on is refused"
assert_eq LISTEN "$(get "$L4" state)" "the IPv4 listener still listens"
eng_clone
assert_eq "EADDRINUSE" "$(ctl "$N" "announce $ENG4:8082")" "a second listener on $ENG4:8082"
assert_match "in use" "$(get "$N" err)" "err says why"

# a poller of listen learns of the close: its read no longer waits
"$PY" -c '
import select, sys, time
fd = open(sys.argv[1] + "/listen", "rb", buffering=0)
p = select.poll()
p.register(fd, select.POLLIN)
print("polling", flush=True)
t = time.monotonic()
ev = p.poll(5000)
print("woken %.1f" % (time.monotonic() - t) if ev else "timeout", flush=True)' "$E/$L" >"$WORK/lpoll" &
LPOLL=$!
wait_until 5 grep -q polling "$WORK/lpoll" || fail "the listen poller did not start"
sleep 0.2
ctl_ok "$L" close
assert_state 3 "$L" CLOSED "the listener closes"
wait "$LPOLL"
assert_match "^polling.woken 0" "$(tr '\n' ' ' <"$WORK/lpoll")" "poll on listen wakes at the close"
out=$(curl -sS -m 10 "http://$ENG4:8080/" 2>&1)
assert_match "Connection refused|Failed to connect" "$out" "connects to a closed listener are refused"

eng_finish
