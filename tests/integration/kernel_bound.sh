#!/bin/bash
# kernel_bound: sockets the kernel's sock_diag lookup misses open all the
# same. Connections bound to an interface (SO_BINDTODEVICE on lo; an IPv6
# link-local address on a veth pair) read the state ss shows, and close
# through ctl (their owner sees ECONNABORTED); a socket bound but neither
# listening nor connected reads CLOSED, and its close is EOPNOTSUPP with
# the reason in err; so does a connection that bound its own port and was
# reset (still bound, its peer's address kept in its name); one that
# bound its own port and went to TIME_WAIT while its owner holds it (the
# kernel dumps it twice, the timewait remnant and the closed socket, with
# one name) is listed once, in kernel/ and in kernel/pids, and reads
# TIME_WAIT; a name of no socket is still ENOENT, and so is each of their
# names with another cookie.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare
enter_netns "$@"
need_tcpfs

ip link add tcpfsva type veth peer name tcpfsvb || die "cannot make a veth pair"
ip addr add fe80::b/64 dev tcpfsvb nodad || die "cannot add fe80::b"
ip link set tcpfsva up && ip link set tcpfsvb up || die "cannot set the veth pair up"

start_holder h
hold_ok h listen l4 4 127.0.0.1 0 dev=lo
hold_ok h pair c4 s4 l4
hold_ok h listen l6 6 fe80::b 0 dev=tcpfsvb
hold_ok h pair c6 s6 l6
hold_ok h bind idle 4 127.0.0.1 0
hold_ok h listen lr 4 127.0.0.1 0
hold_ok h connect reset 4 127.0.0.1 "${HELD##*:}" from=5002
hold_ok h accept sr lr
hold_ok h listen lt 4 127.0.0.1 0
hold_ok h connect twin 4 127.0.0.1 "${HELD##*:}" from=5003
hold_ok h accept st lt
declare -A N
for x in l4 s4 l6 c6 s6 idle reset twin; do
	hold_ok h name "$x"
	N[$x]=$HELD
done
hold_ok h linger0 sr
hold_ok h shutdown twin wr
hold_ok h close st
# the premise: ss shows these bound to their interface
port4=${N[l4]%%-*} port4=${port4##*:}
ss -tanH state established "sport = :$port4" | grep -q "%lo:$port4 " ||
	die "the accepted socket is not bound to lo: $(ss -tanH)"
ss -tanH state established | grep -qF "%tcpfsvb:" ||
	die "no connection bound to tcpfsvb: $(ss -tanH)"

MNT=$WORK/m
start_tcpfs "$MNT"
K=$MNT/kernel
declare -A WANT=([l4]=LISTEN [s4]=ESTABLISHED [l6]=LISTEN [c6]=ESTABLISHED
	[s6]=ESTABLISHED [idle]=CLOSED [reset]=CLOSED [twin]=TIME_WAIT)
wait_until 5 eval "ss -tanH state time-wait 'sport = :5003' | grep -q ." ||
	die "the twin is not in TIME_WAIT: $(ss -tanH)"
assert_eq 1 "$(ls -1 "$K" | grep -cxF -- "${N[twin]}")" "twin: listed once"
assert_eq 1 "$(grep -c "^${N[twin]}\( \|\$\)" "$K/pids")" "twin: one line in kernel/pids"
for x in l4 s4 l6 c6 s6 idle reset twin; do
	ls -1 "$K" | grep -qxF -- "${N[$x]}" || fail "$x: ${N[$x]} is not listed"
	assert_eq "${WANT[$x]}" "$(cat "$K/${N[$x]}/state" 2>&1)" "$x: ${N[$x]} opens"
done
# the cookie is part of the name: the tuple with another cookie is no socket,
# also where the kernel's lookup misses and tcpfs searches a dump
for x in l4 s4 l6 c6 s6 idle reset twin; do
	c=${N[$x]##*#}
	other="${N[$x]%#*}#$(printf %x $((16#$c + 0x10000000)))"
	out=$(stat "$K/$other" 2>&1)
	assert_match "No such file or directory" "$out" "$x: $other (another cookie)"
done

for x in c6 s4; do
	out=$( (echo close >"$K/${N[$x]}/ctl") 2>&1)
	assert_eq 0 $? "close $x: ${N[$x]} ($out)"
	hold h recv "$x"
	assert_eq ECONNABORTED "$HELD_ERR" "$x's owner sees the close"
done

for x in idle reset; do
	out=$( (echo close >"$K/${N[$x]}/ctl") 2>&1)
	assert_match "Operation not supported" "$out" "close of the $x bound socket"
	assert_match "bound but neither listening nor connected" "$(cat "$K/${N[$x]}/err")" \
		"$x: its err says why"
	assert_eq CLOSED "$(cat "$K/${N[$x]}/state" 2>&1)" "the $x socket is still there"
done

out=$(stat "$K/127.0.0.1:1-127.0.0.1:2#1" 2>&1)
assert_match "No such file or directory" "$out" "a name of no socket"
finish
