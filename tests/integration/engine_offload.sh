#!/bin/bash
# engine_offload: the TUN offloads (issue 12). With them (the default), the
# device has the virtio-net header, the engine's bulk data goes to the
# kernel as TSO super-packets (the device counts far fewer packets than
# MSS-sized segments: one per write) and the kernel's comes to the engine
# the same way (one per read), and 8 MiB each way, IPv4 and IPv6 at once,
# arrive byte-exact. With TCPFS_OFFLOAD=off (--offload=off) there is no
# header and every segment is a packet of its own. An IPv6 connect right
# after an IPv4 download completes (a packet read in place).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare socat cmp
enter_netns "$@"
need_tcpfs

OFF=${TCPFS_OFFLOAD:-on}
eng_start --msl=0.5
vnet=$(ip -d link show dev "$TUN" | grep -o 'vnet_hdr [a-z]*')
[ "$OFF" = off ] && want="vnet_hdr off" || want="vnet_hdr on"
assert_eq "$want" "$vnet" "--offload=$OFF: the TUN device's virtio-net header"

SIZE=$((8 << 20))
head -c "$SIZE" /dev/urandom >"$WORK/in.bin"
# stats COUNTER: rx (engine -> kernel) or tx (kernel -> engine) packets
stats() { ip -s -j link show dev "$TUN" | "$PY" -c "import json,sys; print(json.load(sys.stdin)[0]['stats64']['$1']['packets'])"; }
PY=${PY:-python3}

# one direction at a time, so that the other carries only ACKs
for dir in out in; do
	for fam in 4 6; do
		[ $fam = 4 ] && host=$HOST4 lst=TCP4-LISTEN || host="[$HOST6]" lst=TCP6-LISTEN
		port=$((9100 + fam))
		rm -f "$WORK/got.bin"
		if [ $dir = out ]; then
			bg socat -u $lst:$port,reuseaddr "OPEN:$WORK/got.bin,creat,trunc"
		else
			bg socat -u "OPEN:$WORK/in.bin" $lst:$port,reuseaddr
		fi
		peer=$BG
		wait_until 10 eval "ss -tlnH 'sport = :$port' | grep -q ." || die "socat did not listen on $port"
		eng_clone
		n=$N
		c=$([ $dir = out ] && echo rx || echo tx)
		before=$(stats $c)
		ctl_ok "$n" "connect $host:$port"
		if [ $dir = out ]; then
			timeout -k 1 30 dd if="$WORK/in.bin" of="$E/$n/data" bs=1M status=none
			assert_eq 0 $? "IPv$fam engine->kernel: 8 MiB written to data"
			ctl_ok "$n" shutdown
			wait_until 20 eval "! kill -0 $peer 2>/dev/null" || fail "IPv$fam: the sink did not see EOF"
		else
			timeout -k 1 30 cat "$E/$n/data" >"$WORK/got.bin"
			assert_eq 0 $? "IPv$fam kernel->engine: data read to EOF"
		fi
		pkts=$(($(stats $c) - before))
		cmp -s "$WORK/in.bin" "$WORK/got.bin" && pass "IPv$fam $dir: byte-exact" ||
			fail "IPv$fam $dir: $(stat -c %s "$WORK/got.bin" 2>/dev/null) bytes arrived, not $SIZE"
		segs=$((SIZE / 1448)) # MTU 1500: 1448 bytes a segment at most
		if [ "$OFF" = off ]; then
			[ "$pkts" -ge "$segs" ] && pass "IPv$fam $dir: $pkts packets, one per segment ($segs at least)" ||
				fail "IPv$fam $dir: $pkts packets on $TUN without offloads, fewer than the $segs segments"
		else
			# at most half as many packets as segments: super-packets
			# (received ones carry 3.5 to 25 segments on this 2-CPU
			# machine, as the kernel's sender autosizes its TSO)
			[ "$pkts" -le $((segs / 2)) ] && pass "IPv$fam $dir: $pkts packets for $segs segments: super-packets" ||
				fail "IPv$fam $dir: $pkts packets on $TUN for $segs segments: no TSO"
		fi
		ctl "$n" close >/dev/null
	done
done

# An IPv6 packet read in place after an IPv4 connection's data: its TCP
# header lies past the IPv4 headers' length, where a byte of an earlier
# IPv4 payload ('0', 0x30: "a 12-byte header") was left. Read from there,
# every IPv6 packet was dropped as malformed until another connection took
# data: the connect below hung.
head -c $((2 << 20)) /dev/zero | tr '\0' '0' >"$WORK/zeros"
bg socat -u "OPEN:$WORK/zeros" TCP4-LISTEN:9111,reuseaddr
bg socat -u TCP6-LISTEN:9112,reuseaddr OPEN:/dev/null
wait_until 10 eval "ss -tlnH 'sport = :9111' | grep -q ." || die "socat did not listen on 9111"
wait_until 10 eval "ss -tlnH 'sport = :9112' | grep -q ." || die "socat did not listen on 9112"
eng_clone
ctl_ok "$N" "connect $HOST4:9111"
assert_eq $((2 << 20)) "$(timeout -k 1 30 cat "$E/$N/data" | wc -c)" "IPv4: 2 MiB of '0' read"
eng_clone
out=$(timeout -k 1 5 "$PY" "$WORK/fsop.py" write "$E/$N/ctl" "connect [$HOST6]:9112\n" 2>&1)
assert_eq OK "${out%% *}" "then an IPv6 connect completes at once ($out)"
eng_finish
