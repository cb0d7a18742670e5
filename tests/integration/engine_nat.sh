#!/bin/bash
# engine_nat: --nat (issue 4, test 7's NAT part). A server in a second
# namespace, joined by a veth pair (198.18.0.1 here, 198.18.0.2 there):
# without --nat the engine cannot reach it (ENETUNREACH); with --nat an HTTP
# GET through data returns what curl gets from the same server, the server
# sees the connection coming from 198.18.0.1 (masqueraded), and at exit the
# daemon removes its nft table and restores ip_forward, also when SIGTERM
# comes while it starts. nft runs with no signal blocked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare curl nft sysctl
enter_netns "$@"
need_tcpfs

NS=tcpfs-nat-$$
netns_add "$NS"
ip link add nv0 type veth peer name nv1 || die "cannot add a veth pair"
ip link set nv1 netns "$NS" || die "veth into $NS"
ip addr add 198.18.0.1/24 dev nv0 && ip link set nv0 up || die "nv0"
ip -n "$NS" addr add 198.18.0.2/24 dev nv1 && ip -n "$NS" link set nv1 up || die "nv1"
sysctl -qw net.ipv4.ip_forward=0
WWW=$WORK/www
mkdir -p "$WWW"
head -c 100000 /dev/urandom >"$WWW/file.bin"
bg ip netns exec "$NS" "$PY" -m http.server 8000 --bind 198.18.0.2 --directory "$WWW"
wait_until 10 eval "ip netns exec $NS ss -tlnH 'sport = :8000' | grep -q ." || die "no server in $NS"
curl -sS -o "$WORK/curl.body" http://198.18.0.2:8000/file.bin || die "curl to the server in $NS"

# without --nat
eng_start --msl=0.2
eng_clone
assert_eq ENETUNREACH "$(ctl "$N" "connect 198.18.0.2:8000")" "without --nat: connect to the other namespace"
assert_match "nat" "$(get "$N" err)" "err points to --nat"
stop_tcpfs

# with --nat; nft through a wrapper in PATH that notes its blocked signals
mkdir -p "$WORK/bin"
# (python: sh would clear the mask as it starts, dash does)
cat >"$WORK/bin/nft" <<WRAP
#!$PY
import os, sys
with open("/proc/self/status") as f, open("$WORK/nft.sigblk", "a") as out:
    out.writelines(l for l in f if l.startswith("SigBlk:"))
os.execv("$(command -v nft)", ["nft"] + sys.argv[1:])
WRAP
chmod +x "$WORK/bin/nft"
PATH=$WORK/bin:$PATH eng_start --msl=0.2 --nat
assert_match "^SigBlk:[[:space:]]+0+$" "$(head -n 1 "$WORK/nft.sigblk" 2>&1)" \
	"nft runs with no signal blocked (the daemon blocks its stop signals)"
assert_eq 1 "$(sysctl -n net.ipv4.ip_forward)" "--nat turns ip_forward on"
nft list tables | grep -q "tcpfs_$TUN" && pass "--nat loads its nft table" ||
	fail "no nft table tcpfs_$TUN: $(nft list tables 2>&1)"
eng_clone
n=$N
assert_eq "OK 24" "$(ctl "$n" "connect 198.18.0.2:8000")" "with --nat: connect 198.18.0.2:8000"
lport=$(get "$n" local)
lport=${lport##*:}
# the server sees the host's veth address, not the engine's
assert_match "^ESTAB .* 198\.18\.0\.2:8000 +198\.18\.0\.1:[0-9]+" "$(ip netns exec "$NS" ss -tanH 'sport = :8000' | grep ESTAB)" \
	"the server sees the connection from 198.18.0.1 (masqueraded)"
printf -v req 'GET /file.bin HTTP/1.0\r\nHost: 198.18.0.2:8000\r\n\r\n'
printf '%s' "$req" | timeout -k 1 10 dd of="$E/$n/data" status=none
assert_eq 0 $? "the request written"
timeout -k 1 20 cat "$E/$n/data" >"$WORK/resp"
assert_eq 0 $? "the response read to EOF"
"$PY" -c '
import sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"\r\n\r\n")
open(sys.argv[2], "wb").write(d[i + 4:] if i >= 0 else b"")' "$WORK/resp" "$WORK/body"
cmp -s "$WORK/body" "$WORK/curl.body" && pass "the body = curl's" ||
	fail "the body ($(wc -c <"$WORK/body") bytes) differs from curl's"
assert_match "^HTTP/1.0 200" "$(head -n 1 "$WORK/resp")" "status line"
ctl_ok "$n" close
assert_state 5 "$n" CLOSED "closed"

stop_tcpfs
assert_eq 0 "$(sysctl -n net.ipv4.ip_forward)" "ip_forward restored at exit"
tables=$(nft list tables) || fail "nft list tables failed"
grep -q "tcpfs_$TUN" <<<"$tables" && fail "the nft table is still there after exit" ||
	pass "the nft table is gone after exit"

# SIGTERM while the daemon starts, at any moment: it cleans up all the same
mkdir -p "$WORK/early"
for ((i = 0; i <= 16; i++)); do # every 5 ms for 80 ms (the window: ~40 ms)
	d=$(printf '0.%03d' $((5 * i)))
	"$TCPFS" "$WORK/early" -f --nat >"$WORK/early.log" 2>&1 &
	pid=$!
	sleep "$d"
	kill -TERM "$pid" 2>/dev/null
	timeout 10 tail --pid="$pid" -f /dev/null
	left=$(nft list tables 2>/dev/null | grep -o "tcpfs_$TUN")
	is_mounted "$WORK/early" && left+=" mount"
	[ "$(sysctl -n net.ipv4.ip_forward)" = 0 ] || left+=" ip_forward"
	[ -z "$left" ] && pass "SIGTERM after ${d} s: nothing left" || {
		fail "SIGTERM after ${d} s: left: $left ($(tail -n 2 "$WORK/early.log"))"
		nft delete table ip "tcpfs_$TUN" 2>/dev/null
		umount -l "$WORK/early" 2>/dev/null
		sysctl -qw net.ipv4.ip_forward=0
	}
done
eng_finish
