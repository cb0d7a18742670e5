#!/bin/bash
# engine_errors: what fails, fails as a Unix user expects (issue 4, test 5).
# connect to a closed port: ECONNREFUSED (the kernel's RST in the trace, the
# reason in err and in events), IPv4, IPv6 and 127.0.0.1; to an address that
# never answers: ETIMEDOUT after 1 + --syn-retries SYNs of one sequence
# number; connect on an open connection: EISCONN (on an ended one, with
# the advice to read clone), on a connecting one:
# EALREADY (and a write of data waits for it); bad verbs and bad
# arguments: EINVAL with the reason in err; a read of data interrupted by a
# signal returns (EINTR) and loses nothing; off-link and ::1: ENETUNREACH;
# the engine's own address: looped back inside the daemon without the host
# forwarding (ECONNREFUSED at once without a listener; with one, a
# connection that carries data); an interrupted connect returns;
# data before connect: ENOTCONN; another user may read state but not ctl,
# data or trace; poll on data; --reap frees closed connections.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare setpriv
enter_netns "$@"
need_tcpfs

RETRIES=1
eng_start --msl=0.5 --syn-retries=$RETRIES -o allow_other
events_start
start_holder h
hold_ok h listen l4 4 "$HOST4" 0 && P4=${HELD##*:}

# --- refused: nobody listens on port 9 (discard)
for target in "$HOST4:9" "[$HOST6]:9" "127.0.0.1:9"; do
	eng_clone
	n=$N
	assert_eq ECONNREFUSED "$(ctl "$n" "connect $target")" "connect $target (closed port)"
	assert_eq CLOSED "$(get "$n" state)" "$target: state after the refusal"
	assert_match "[Rr]efused" "$(get "$n" err)" "$target: err says why"
	iss=$(get "$n" iss)
	assert_eq "> SYN seq=$iss < RST,ACK ack=$(seq_add "$iss" 1)" \
		"$(trace_segs "$n" | awk '{ printf "%s%s %s %s", s, $1, $2, ($1 == ">" ? $3 : $4); s = " " }')" \
		"$target: the trace: our SYN, the kernel's RST,ACK acknowledging it"
	assert_events_match 3 "$n" "^CLOSED->SYN_SENT SYN_SENT->CLOSED$" "$target: events of engine/$n"
	assert_match "engine/$n SYN_SENT -> CLOSED \(Connection refused\)" "$(grep "engine/$n SYN_SENT" "$EVENTS")" \
		"$target: the event names the reason"
	# an ended connection is not reused: the error says what to do
	assert_eq EISCONN "$(ctl "$n" "connect $target")" "$target: connect again on the ended connection"
	assert_match "ended.*engine/clone" "$(get "$n" err)" "$target: err says to read engine/clone"
	assert_eq "" "$(fsop_rmdir "$E/$n")" "$target: rmdir after the refusal"
done

# --- unreachable: neither on the link nor of this host (no --nat), and ::1
for target in 198.18.0.99:80 "[::1]:80"; do
	eng_clone
	assert_eq ENETUNREACH "$(ctl "$N" "connect $target")" "connect $target"
	assert_ne "" "$(get "$N" err)" "$target: err says why"
	assert_eq CLOSED "$(get "$N" state)" "$target: state"
done

# --- the engine's own address: its packets loop back inside the daemon
# (this namespace does not forward: through the host they would be lost).
# No listener: the engine's own RST refuses the connect at once.
for target in "$ENG4:80" "[$ENG6]:80"; do
	eng_clone
	t0=$SECONDS
	assert_eq ECONNREFUSED "$(ctl "$N" "connect $target")" "connect $target (the engine itself, no listener)"
	assert_ok "connect $target: refused at once" test $((SECONDS - t0)) -le 2
	assert_match "[Rr]efused" "$(get "$N" err)" "$target: err says why"
	iss=$(get "$N" iss)
	assert_eq "> SYN seq=$iss < RST,ACK ack=$(seq_add "$iss" 1)" \
		"$(trace_segs "$N" | awk '{ printf "%s%s %s %s", s, $1, $2, ($1 == ">" ? $3 : $4); s = " " }')" \
		"$target: the trace: our SYN, our own RST,ACK"
done
# A listener of the engine: the connection is made and carries data.
for fam in 4 6; do
	[ $fam = 4 ] && target=$ENG4:9301 || target="[$ENG6]:9301"
	eng_clone
	li=$N
	ctl_ok "$li" "announce 9301"
	eng_clone
	c=$N
	assert_eq "OK $((${#target} + 9))" "$(ctl "$c" "connect $target")" "connect $target (the engine's own listener)"
	s=$(timeout -k 1 5 cat "$E/$li/listen") || s=
	assert_ne "" "$s" "$target: the listener accepted it"
	[ -n "$s" ] || continue
	echo hello >"$E/$c/data"
	assert_eq hello "$(timeout -k 1 5 head -n 1 "$E/$s/data")" "$target: data from one end to the other"
	ctl_ok "$c" hangup
	ctl_ok "$s" hangup
	ctl_ok "$li" close
done

# --- never answers: an address on the link's IPv6 prefix that is nobody's;
# the kernel, not forwarding, drops the SYNs without a word
BLACKHOLE="[${HOST6%::1}::99]:80"
eng_clone
n=$N
start=$SECONDS
assert_eq ETIMEDOUT "$(ctl "$n" "connect $BLACKHOLE")" "connect to an address that never answers"
log "ETIMEDOUT after $((SECONDS - start)) s"
assert_eq CLOSED "$(get "$n" state)" "timeout: state"
assert_match "timed out" "$(get "$n" err)" "timeout: err says why"
iss=$(get "$n" iss)
assert_eq "$(for ((i = 0; i <= RETRIES; i++)); do printf '> SYN seq=%s\n' "$iss"; done)" \
	"$(trace_segs "$n" | awk '{ print $1, $2, $3 }')" "timeout: 1 + $RETRIES SYNs, one sequence number, nothing else"
assert_match "engine/$n SYN_SENT -> CLOSED \(Connection timed out\)" "$(grep "engine/$n SYN_SENT" "$EVENTS")" \
	"timeout: the event names the reason"

# --- interrupted: a connect, and a read of data, with a signal (SIGALRM
# after 1 s, whose handler raises): the call returns instead of waiting on
intr() { # intr OP PATH [TEXT]: prints EINTR, OK..., or the errno's name
	timeout -k 2 20 "$PY" -c '
import errno, os, signal, sys
class Intr(Exception):
    pass
def on_alarm(sig, frame):
    raise Intr()
signal.signal(signal.SIGALRM, on_alarm)
op, path = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY if op == "read" else os.O_WRONLY)
signal.alarm(1)
try:
    if op == "read":
        print("OK %r" % os.read(fd, 65536))
    else:
        print("OK %d" % os.write(fd, (sys.argv[3] + "\n").encode()))
except Intr:
    print("EINTR")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
signal.alarm(0)' "$@"
}
eng_clone
n=$N
assert_eq EINTR "$(intr write "$E/$n/ctl" "connect $BLACKHOLE")" "a connect interrupted by a signal returns"
assert_eq SYN_SENT "$(get "$n" state)" "the interrupted connect goes on"
assert_eq EALREADY "$(ctl "$n" "connect $BLACKHOLE")" "connect again while under way: EALREADY"
assert_eq EINTR "$(intr write "$E/$n/data" hello)" "a write of data waits for the handshake (interrupted)"
ctl_ok "$n" hangup

eng_clone
n=$N
ctl_ok "$n" "connect $HOST4:$P4"
hold_ok h accept s l4
assert_eq EINTR "$(intr read "$E/$n/data")" "a read of data interrupted by a signal returns"
timeout -k 5 -s INT 1 cat "$E/$n/data" >/dev/null
assert_eq 124 $? "cat data, interrupted by SIGINT (timeout -s INT), ends"
assert_eq ESTABLISHED "$(get "$n" state)" "the connection is still open after the interrupted reads"
hold_ok h send s 100
assert_eq "OK b'$(head -c 100 /dev/zero | tr '\0' x)'" "$(timeout -k 1 5 "$PY" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
print("OK %r" % os.read(fd, 65536))' "$E/$n/data")" "the next read gets the 100 bytes sent after: nothing lost"

# --- poll: data is writable when open, readable only once bytes are there
pollt() { # pollt PATH in|out SECONDS: "ready" or "not ready"
	timeout -k 1 20 "$PY" -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY if sys.argv[2] == "in" else os.O_WRONLY)
p = select.poll()
p.register(fd, select.POLLIN if sys.argv[2] == "in" else select.POLLOUT)
print("ready" if p.poll(float(sys.argv[3]) * 1000) else "not ready")' "$@"
}
assert_eq "not ready" "$(pollt "$E/$n/data" in 0.5)" "poll: data not readable with nothing received"
assert_eq ready "$(pollt "$E/$n/data" out 5)" "poll: data writable on an open connection"
# Two processes poll the same connection; both wake when bytes arrive
# (neither reads: the bytes stay readable for both), then a read gets them.
for i in 1 2; do
	timeout -k 1 10 "$PY" -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
p = select.poll()
p.register(fd, select.POLLIN)
print("ready" if p.poll(8000) else "not ready", flush=True)' "$E/$n/data" >"$WORK/poll$i.out" 2>&1 &
	eval "poller$i=\$!"
done
sleep 0.3
hold_ok h send s 77
wait "$poller1" # a poller never woken says "not ready" at its timeout
wait "$poller2"
assert_eq ready "$(cat "$WORK/poll1.out")" "poll: a waiting poll wakes when 77 bytes arrive"
assert_eq ready "$(cat "$WORK/poll2.out")" "poll: another process polling the same connection wakes too"
assert_eq 77 "$(timeout -k 1 5 "$PY" -c '
import os, sys
print(len(os.read(os.open(sys.argv[1], os.O_RDONLY), 65536)))' "$E/$n/data")" "poll: then the 77 bytes are read"

# --- EISCONN, and verbs that are fine on an open connection
assert_eq EISCONN "$(ctl "$n" "connect $HOST4:$P4")" "connect on an open connection"
assert_match "already" "$(get "$n" err)" "EISCONN: err says why"
# the largest values each takes: a week, 255 (man: ctl)
for v in "keepalive 30" keepalive "keepalive 0" "nodelay on" "nodelay off" "timeout 30" "timeout 0" \
	"timeout 604800" "keepalive 604800" "ttl 255" "tos 255" "tos 0xff" "ttl 64" "tos 0"; do
	assert_eq "OK $((${#v} + 1))" "$(ctl "$n" "$v")" "'$v' on an open connection"
done
assert_eq "" "$(get "$n" err)" "a successful write empties err"

# --- EINVAL: unknown verbs, bad syntax, bad arguments
eng_clone
n=$N
bad=(frobnicate "" " " "connect" "connect $HOST4" "connect $HOST4:" "connect $HOST4:0"
	"connect $HOST4:65536" "connect $HOST4:80x" "connect 198.19.253:80" "connect [$HOST6]80"
	"connect $HOST4:80 0" "connect $HOST4:80 70000" "connect $HOST4:80 1 2"
	"announce" "announce 0" "announce 65536" "announce port" "listen -1"
	"nodelay" "nodelay maybe" "keepalive soon" "keepalive -5" "timeout" "timeout soon" "timeout -1" "timeout 604801" "ttl" "ttl 256" "ttl -1" "ttl x" "tos 0x100" "tos ef" "close now" "CONNECT $HOST4:80")
for v in "${bad[@]}"; do
	ctl "$n" "$v" >"$WORK/out"
	assert_eq EINVAL "$(cat "$WORK/out")" "'$v' > ctl"
	assert_ne "" "$(get "$n" err)" "'$v': err says why"
done
for a in 224.0.0.1 255.255.255.255 "[ff02::1]" 198.19.253.3; do # RFC 9293 MUST-46, and the link's
	assert_eq EINVAL "$(ctl "$n" "connect $a:80")" "connect to $a (broadcast or multicast)"
	assert_match "broadcast or multicast" "$(get "$n" err)" "connect $a: err says why"
done
assert_match "unspecified" "$(ctl "$n" "connect 0.0.0.0:80" >/dev/null; get "$n" err)" \
	"connect 0.0.0.0: err says it is the unspecified address"
# the link's network address and IPv6 Subnet-Router anycast: no host answers
for a in 198.19.253.0 "[fdcf:7c9f:7cfa::]"; do
	assert_eq EINVAL "$(ctl "$n" "connect $a:80")" "connect to $a (the link's network address)"
	assert_match "network address|anycast" "$(get "$n" err)" "connect $a: err says why"
done
ctl "$n" "connect $HOST4:80 abc" >/dev/null
assert_match "local port 'abc': " "$(get "$n" err)" "a bad local port: err gives the parser's reason"
assert_eq EINVAL "$(ctl "$n" "announce 198.18.0.1:8080")" "announce on an address not the engine's"
assert_match "announce: 198.18.0.1:8080: not an address of the engine" "$(get "$n" err)" \
	"announce: err names the part that is wrong"
assert_eq EINVAL "$(fsop write "$E/$n/ctl" 'close\x01')" "a control byte in ctl"
assert_eq EINVAL "$(fsop write "$E/$n/ctl" "connect $(head -c 300 /dev/zero | tr '\0' 1)")" "a 300-byte command"
assert_eq CLOSED "$(get "$n" state)" "the connection is untouched by the bad writes"
# numbers are decimal unless 0x: a leading 0 is not octal
for v in "ttl 08" "tos 09" "ttl 0x40"; do
	assert_eq "OK $((${#v} + 1))" "$(ctl "$n" "$v")" "'$v' (decimal, or hex with 0x)"
done
# a bad write's reason stays in err until a write works: a connect too
ctl "$n" "connect $HOST4:" >/dev/null
assert_ne "" "$(get "$n" err)" "a bad connect's reason in err"
assert_eq "OK $((${#HOST4} + ${#P4} + 10))" "$(ctl "$n" "connect $HOST4:$P4")" "then a good connect"
assert_eq "" "$(get "$n" err)" "a connect that worked empties err"
eng_clone
n=$N
assert_eq ENOTCONN "$(fsop write "$E/$n/data" hello)" "a write to data before connect"

# --- another user: metadata yes; ctl, data, trace no
assert_eq CLOSED "$(as_user 65534 cat "$E/$n/state" 2>&1)" "another user reads state"
assert_eq EACCES "$(fsop_as 65534 write "$E/$n/ctl" "connect $HOST4:$P4")" "another user's write to ctl"
assert_eq EACCES "$(fsop_as 65534 read "$E/$n/data")" "another user's read of data"
assert_eq EACCES "$(fsop_as 65534 read "$E/$n/trace")" "another user's read of trace"
assert_eq EPERM "$(as_user 65534 "$PY" -c '
import errno, os, sys
try:
    os.rmdir(sys.argv[1]); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$E/$n")" "another user's rmdir"

# --- ports below 1024 are root's, as with bind(2)
n2=$(as_user 65534 cat "$E/clone")
assert_eq EACCES "$(fsop_as 65534 write "$E/$n2/ctl" "announce 22")" "another user's announce 22"
assert_match "below 1024" "$(as_user 65534 cat "$E/$n2/err")" "announce 22: err says why"
assert_eq EACCES "$(fsop_as 65534 write "$E/$n2/ctl" "connect $HOST4:$P4 1")" "another user's connect from port 1"
assert_eq "OK 13" "$(fsop_as 65534 write "$E/$n2/ctl" "announce 8089")" "another user's announce 8089"
n3=$(as_user 65534 cat "$E/clone")
assert_eq "OK 13" "$(fsop_as 65534 write "$E/$n3/ctl" "announce 1024")" "another user's announce 1024 (the first port not below 1024)"
eng_clone
assert_eq "OK 12" "$(ctl "$N" "announce 22")" "root's announce 22"

# --- one name a connection: its number in decimal, no sign, no leading zero
for alias in "0$n" "00$n" "+$n" " $n"; do
	[ -e "$E/$alias" ] && fail "engine/'$alias' names engine/$n" || pass "engine/'$alias': no such directory"
done
[ -d "$E/$n" ] && pass "engine/$n itself is there" || fail "engine/$n is gone"

# --- gone
assert_eq "" "$(fsop_rmdir "$E/$n")" "rmdir of a fresh connection"
assert_eq ENOENT "$(fsop write "$E/$n/ctl" close)" "ctl of a removed connection"
assert_eq ENOENT "$(fsop_rmdir "$E/$n")" "rmdir again"
assert_eq ENOENT "$(fsop_rmdir "$E/999999")" "rmdir of a connection that never was"

# --- reaping: closed connections nobody removes go after --reap seconds
events_stop
stop_tcpfs
assert_eq 0 "$TCPFS_RC" "the first daemon's exit status after SIGTERM"
eng_start --reap=1
eng_clone
idle=$N
eng_clone
refused=$N
assert_eq ECONNREFUSED "$(ctl "$refused" "connect $HOST4:9")" "reap: a refused connection"
sleep 1.5
ls "$E" >/dev/null # a listing reaps
assert_eq "" "$(ls -1 "$E" | grep -xE "$idle|$refused")" "reap: closed connections gone from engine/ after --reap=1"
assert_eq ENOENT "$(fsop stat "$E/$refused")" "reap: the reaped connection's directory"
assert_eq 0 "$(grep -c reaped "$TCPFS_LOG")" "reap: no log line per connection (debug level, -d only)"

# --reap=0: an unused clone counts as closed from its making, and goes at once
stop_tcpfs
eng_start --reap=0
n=$(timeout -k 1 5 cat "$E/clone")
ls "$E" >/dev/null # a listing reaps
assert_eq ENOENT "$(fsop write "$E/$n/ctl" "connect $HOST4:9")" "--reap=0: a clone is freed before its ctl is written"

eng_finish
