#!/bin/bash
# tun_fallback: the engine's TUN device (src/link/tun.c, through tun_probe)
# when the kernel refuses the offloads asked for (TUNSETOFFLOAD with a flag
# it does not know says EINVAL, as a kernel without them does): the device
# is opened again without the virtio-net header, said once in the log, and
# packets cross it as plain IPv4, as with offloads off; with them on,
# packets cross behind the header, which tun_read takes off. A UDP packet
# from the host to the link's other end is the packet read.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip
enter_netns "$@"
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
[ -x "${TUN_PROBE:-}" ] || die "TUN_PROBE is not set to the tun_probe program"

DEV=tfb0
# probe MODE: tun_probe on $DEV asking MODE while the host sends UDP
# packets to the other end; its output in $WORK/out, its log in $WORK/log.
probe() {
	"$TUN_PROBE" "$DEV" "$1" >"$WORK/out" 2>"$WORK/log" &
	local p=$!
	wait_until 5 bash -c "ip -4 addr show dev $DEV up | grep -q 198.18.0.1" ||
		fail "$1: $DEV did not come up: $(cat "$WORK/out" "$WORK/log")"
	for i in 1 2 3; do
		echo x 2>/dev/null >/dev/udp/198.18.0.2/9
		sleep 0.1
	done
	wait "$p"
}

for mode in on off 80000000; do
	probe $mode
	rc=$?
	assert_eq 0 "$rc" "$mode: tun_probe read a packet (exit status)"
	case $mode in
	on) want=1 ;;
	*) want=0 ;;
	esac
	assert_eq "vnet=$want" "$(head -1 "$WORK/out")" "$mode: the virtio-net header is on or off"
	assert_eq "packet version=4 proto=17 len=30" "$(sed -n 2p "$WORK/out")" \
		"$mode: the UDP packet crossed as plain IPv4"
	n=$(grep -c "no TUN offloads" "$WORK/log")
	case $mode in
	80000000)
		assert_eq 1 "$n" "refused: the fallback is logged once"
		assert_match "tfb0: no TUN offloads \(IFF_VNET_HDR, TUNSETOFFLOAD: Invalid argument\)" \
			"$(cat "$WORK/log")" "refused: the log says what was refused and why"
		;;
	*) assert_eq 0 "$n" "$mode: no fallback logged" ;;
	esac
done

finish
