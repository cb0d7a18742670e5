#!/bin/bash
# engine_options: interop with the kernel's TCP options switched off in turn
# (issue 4, test 8). In the test's namespace, net.ipv4.tcp_sack,
# tcp_timestamps and tcp_window_scaling go off one at a time (and all on),
# at MTU 1500 and 9000; each time a bulk transfer both ways (4 MiB each,
# on a link that loses, reorders and duplicates a little) arrives
# byte-exact, and a capture on the TUN device shows the options negotiated
# as RFC 7323 and RFC 2018 say: the engine offers MSS, SACK-permitted,
# timestamps and window scale; the kernel's SYN,ACK answers only with what
# is on; after the handshake timestamps appear on every segment of both
# sides iff both offered them, SACK blocks never appear unless both said
# SACK-permitted, and a window is scaled only if both sent the option. The
# engine's options and wscale files say the same as the kernel's half in
# kernel/, and the segment sizes respect each side's MSS.
# Last, the link's own options (issue 11): --tun, --mtu, --host4, --engine4,
# --host6 and --engine6 each do what the man page says: the device's name
# and MTU in ip link, each side's addresses, the MSS the engine announces
# from the MTU, and a connection each way in each family with them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip ss unshare tshark socat sha256sum sysctl
enter_netns "$@"
need_tcpfs

SIZE=$((4 << 20))
head -c "$SIZE" /dev/urandom >"$WORK/in.bin"
head -c "$SIZE" /dev/urandom >"$WORK/out.bin"
sum() { sha256sum <"$1" | cut -d' ' -f1; }
SUM_IN=$(sum "$WORK/in.bin")
SUM_OUT=$(sum "$WORK/out.bin")
CONFIGS="all sack timestamps window_scaling"

sysctl_set() { # sysctl_set OFF: every one of the three on, but OFF
	local k
	for k in sack timestamps window_scaling; do
		sysctl -qw "net.ipv4.tcp_$k=$([ "$k" = "$1" ] && echo 0 || echo 1)" ||
			die "cannot set net.ipv4.tcp_$k in the namespace"
	done
}

# transfer CFG: one connection each way; records the engine's local ports and
# files in $WORK/CFG.*.
transfer() {
	local cfg=$1 a b rc
	two_way "$WORK/$cfg.out.got"
	a=$A
	b=$B
	# the kernel's view of both connections, while they are open
	local ka kb
	ka=$(kname "$(get "$a" remote)" "$(get "$a" local)")
	kb=$(kname "$(get "$b" remote)" "$(get "$b" local)")
	cat "$MNT/kernel/$ka/options" >"$WORK/$cfg.kopts" 2>&1
	cat "$MNT/kernel/$ka/wscale" >"$WORK/$cfg.kwscale" 2>/dev/null
	(
		timeout -k 1 60 dd if="$WORK/out.bin" of="$E/$a/data" bs=1M status=none || exit 1
		[[ $(ctl "$a" close) == OK* ]]
	) >"$WORK/$cfg.writer" 2>&1 &
	local writer=$!
	timeout -k 1 60 cat "$E/$b/data" >"$WORK/$cfg.in.got"
	rc=$?
	wait "$writer"
	assert_eq 00 "$rc$?" "$cfg: both transfers end ($(cat "$WORK/$cfg.writer"))"
	sink_done
	assert_eq "$SUM_OUT" "$(sum "$WORK/$cfg.out.got")" "$cfg: engine -> kernel byte-exact"
	assert_eq "$SUM_IN" "$(sum "$WORK/$cfg.in.got")" "$cfg: kernel -> engine byte-exact"
	for f in local options mss rcv_wnd snd_wnd; do get "$a" $f >"$WORK/$cfg.a.$f"; done
	for f in local options mss rcv_wnd snd_wnd; do get "$b" $f >"$WORK/$cfg.b.$f"; done
	get "$a" wscale >"$WORK/$cfg.a.wscale"
	cat "$MNT/kernel/$kb/options" >"$WORK/$cfg.kbopts" 2>&1 || true
	ctl_ok "$b" close
	A_PORT[$cfg]=$(cut -d: -f2 "$WORK/$cfg.a.local")
	B_PORT[$cfg]=$(cut -d: -f2 "$WORK/$cfg.b.local")
	wait_state 5 "$a" CLOSED
	wait_state 5 "$b" CLOSED
}

# words OPTIONS...: the negotiated options as the options files say them
expect_opts() {
	case $1 in
	all) echo "timestamps sack wscale" ;;
	sack) echo "timestamps wscale" ;;
	timestamps) echo "sack wscale" ;;
	window_scaling) echo "timestamps sack" ;;
	esac
}

# check CFG MTU CAPFILE: what the capture shows for CFG's two connections.
check() {
	local cfg=$1 mtu=$2 pkts=$3 port on_sack=1 on_ts=1 on_ws=1
	case $cfg in sack) on_sack=0 ;; timestamps) on_ts=0 ;; window_scaling) on_ws=0 ;; esac
	local exp
	exp=$(expect_opts "$cfg")
	assert_eq "$exp" "$(cat "$WORK/$cfg.a.options")" "$mtu/$cfg: the engine's options file"
	assert_eq "$exp" "$(tr ' ' '\n' <"$WORK/$cfg.kopts" | grep -v ecn | tr '\n' ' ' | sed 's/ $//')" \
		"$mtu/$cfg: the kernel's half in kernel/ negotiated the same"
	if [ "$on_ws" = 1 ]; then
		local ew kw
		ew=$(cat "$WORK/$cfg.a.wscale")
		kw=$(cat "$WORK/$cfg.kwscale")
		assert_eq "${kw#*,},${kw%,*}" "$ew" "$mtu/$cfg: the engine's wscale is the kernel's, swapped"
	else
		assert_eq "" "$(cat "$WORK/$cfg.a.wscale")" "$mtu/$cfg: no wscale file without window scaling"
		[ "$(cat "$WORK/$cfg.b.rcv_wnd")" -le 65535 ] && pass "$mtu/$cfg: rcv_wnd fits 16 bits unscaled" ||
			fail "$mtu/$cfg: rcv_wnd $(cat "$WORK/$cfg.b.rcv_wnd") without window scaling"
		[ "$(cat "$WORK/$cfg.a.snd_wnd")" -le 65535 ] && pass "$mtu/$cfg: snd_wnd fits 16 bits unscaled" ||
			fail "$mtu/$cfg: snd_wnd $(cat "$WORK/$cfg.a.snd_wnd") without window scaling"
	fi
	local sacks=0
	for port in "${A_PORT[$cfg]}" "${B_PORT[$cfg]}"; do
		# fields: dir flags len win kinds (option kinds, ';'-joined) mss shift
		awk -F'|' -v p="$port" -v eng="$ENG4" '
			$2 == p || $3 == p { print ($1 == eng ? ">" : "<") "|" $4 "|" $5 "|" $6 "|" $7 "|" $8 "|" $9 }' \
			"$pkts" >"$WORK/$cfg.$port.pkts"
		local f=$WORK/$cfg.$port.pkts
		local esyn ksyn
		esyn=$(awk -F'|' '$1 == ">" && $2 == "0x0002" { print $5 "|" $6 "|" $7; exit }' "$f")
		ksyn=$(awk -F'|' '$1 == "<" && $2 == "0x0012" { print $5 "|" $6 "|" $7; exit }' "$f")
		local emss=${esyn#*|}
		emss=${emss%|*}
		assert_match "^2;4;8;1;3\|[0-9]+\|7$|^2;4;8;1;3\|[0-9]+\|[0-9]+$" "$esyn" "$mtu/$cfg/$port: the engine's SYN offers MSS, SACK-permitted, TS, WS"
		local want="2"
		[ "$on_sack" = 1 ] && [ "$on_ts" = 1 ] && want="2;4;8"
		[ "$on_sack" = 1 ] && [ "$on_ts" = 0 ] && want="2;1;1;4"
		[ "$on_sack" = 0 ] && [ "$on_ts" = 1 ] && want="2;1;1;8"
		[ "$on_ws" = 1 ] && want="$want;1;3"
		assert_eq "$want" "${ksyn%%|*}" "$mtu/$cfg/$port: the kernel's SYN,ACK options (kinds)"
		local kmss=${ksyn#*|}
		kmss=${kmss%|*}
		assert_eq $((mtu - 40)) "$kmss" "$mtu/$cfg/$port: the kernel's MSS is MTU - 40"
		[ "$emss" -le $((mtu - 40)) ] && pass "$mtu/$cfg/$port: the engine's MSS fits the MTU" ||
			fail "$mtu/$cfg/$port: the engine's MSS $emss does not fit MTU $mtu"
		# after the handshake
		local tsn notsn sackn
		tsn=$(awk -F'|' '$2 != "0x0002" && $2 != "0x0012" && $5 ~ /(^|;)8(;|$)/' "$f" | wc -l)
		notsn=$(awk -F'|' '$2 != "0x0002" && $2 != "0x0012" && $5 !~ /(^|;)8(;|$)/ && $2 !~ /0x00.4/' "$f" | wc -l)
		sackn=$(awk -F'|' '$5 ~ /(^|;)5(;|$)/' "$f" | wc -l)
		if [ "$on_ts" = 1 ]; then
			assert_eq 0 "$notsn" "$mtu/$cfg/$port: every segment after the SYNs carries timestamps"
		else
			assert_eq 0 "$tsn" "$mtu/$cfg/$port: no segment carries timestamps"
		fi
		if [ "$on_sack" = 0 ]; then
			assert_eq 0 "$sackn" "$mtu/$cfg/$port: no SACK blocks"
		fi
		sacks=$((sacks + sackn))
		# segment sizes: the engine's within its mss file, the kernel's
		# within the MSS the engine announced, less the timestamps
		local tsl=0 emax kmax
		[ "$on_ts" = 1 ] && tsl=12
		emax=$(awk -F'|' '$1 == ">" && $3 > m { m = $3 } END { print m + 0 }' "$f")
		kmax=$(awk -F'|' '$1 == "<" && $3 > m { m = $3 } END { print m + 0 }' "$f")
		local smss
		if [ "$port" = "${A_PORT[$cfg]}" ]; then
			smss=$(cat "$WORK/$cfg.a.mss")
			local lim=$((emss < kmss ? emss : kmss))
			assert_eq $((lim - tsl)) "$smss" "$mtu/$cfg: the engine's mss = min(both MSS) - timestamps"
			assert_eq "$smss" "$emax" "$mtu/$cfg: the engine's largest segment = its mss"
		else
			[ "$kmax" -gt 0 ] && [ "$kmax" -le $((emss - tsl)) ] &&
				pass "$mtu/$cfg: the kernel's segments ($kmax) fit the engine's MSS" ||
				fail "$mtu/$cfg: the kernel's largest segment $kmax, the engine's MSS $emss - $tsl"
		fi
	done
	# the link loses a few of some 6000 segments: the receivers say so
	[ "$on_sack" = 0 ] || { [ "$sacks" -gt 0 ] && pass "$mtu/$cfg: SACK blocks in use ($sacks segments)" ||
		fail "$mtu/$cfg: SACK negotiated, losses on the link, and not one SACK block"; }
}

declare -A A_PORT B_PORT
for mtu in 1500 9000; do
	# segment sizes in a capture on the TUN device: the kernel's super-
	# packets would show unsegmented with the offloads on
	# (--tw-reuse=off: a connect may otherwise take over the 4-tuple of the
	# last configuration's connection in TIME_WAIT, and the capture would
	# hold two connections on one port, which check() tells apart by port)
	eng_start --mtu=$mtu --msl=0.2 --impair=loss=0.3,reorder=0.3,dup=0.3,seed=$mtu --offload=off --tw-reuse=off
	assert_eq "$mtu" "$(ip -o link show "$TUN" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')" "the TUN device's MTU is $mtu"
	CAP=$WORK/mtu$mtu.pcapng
	cap_start "$CAP" 128
	for cfg in $CONFIGS; do
		sysctl_set "$cfg"
		transfer "$cfg"
	done
	cap_stop
	sysctl_set none
	PKTS=$WORK/mtu$mtu.txt
	tshark -n -r "$CAP" -Y tcp -T fields -E separator='|' -E occurrence=a -E aggregator=';' \
		-e ip.src -e tcp.srcport -e tcp.dstport -e tcp.flags -e tcp.len -e tcp.window_size_value \
		-e tcp.option_kind -e tcp.options.mss_val -e tcp.options.wscale.shift >"$PKTS" 2>"$WORK/tshark.read.err" ||
		fail "tshark -r: $(cat "$WORK/tshark.read.err")"
	for cfg in $CONFIGS; do
		check "$cfg" "$mtu" "$PKTS"
	done
	stop_tcpfs
	wait_until 5 eval "! ip link show $TUN" || fail "$TUN still there after the daemon stopped"
done

# link_options: a daemon with every link option set to something else.
link_options() {
	local h4=198.18.200.9 e4=198.18.200.12 h6=fd5e:97::a e6=fd5e:97::b p n name
	TUN=segt7 HOST4=$h4 ENG4=$e4 HOST6=$h6
	eng_start --tun=$TUN --mtu=1400 --host4=$h4/29 --engine4=$e4 --host6=$h6/120 --engine6=$e6
	assert_match " mtu 1400 " "$(ip -o link show "$TUN")" "--tun=$TUN --mtu=1400: the device, its MTU"
	ip link show tcpfs0 >/dev/null 2>&1 && fail "--tun: tcpfs0 exists" || pass "--tun: no tcpfs0"
	assert_eq "$h4/29 $h6/120" "$(ip -o addr show dev "$TUN" | awk '$3 == "inet" || ($3 == "inet6" && $4 !~ /^fe80/) { printf "%s%s", s, $4; s = " " }')" \
		"--host4, --host6: the host's addresses and prefixes on $TUN"
	assert_match "^$e4 dev $TUN " "$(ip -o route get "$e4")" "--engine4: routed through $TUN"
	assert_match "^$e6 .*dev $TUN " "$(ip -o route get "$e6")" "--engine6: routed through $TUN"
	start_holder lo
	for fam in 4 6; do
		local ha=$h4 ea=$e4 mss=1360 url=$h4
		[ "$fam" = 6 ] && ha=$h6 ea=$e6 mss=1340 url="[$h6]"
		# engine -> kernel
		hold_ok lo listen "l$fam" "$fam" "$ha" 0 && p=${HELD##*:}
		eng_clone
		n=$N
		ctl_ok "$n" "connect $url:$p"
		hold_ok lo accept "a$fam" "l$fam"
		assert_match "^(\[$ea\]|$ea):[0-9]+$" "$(get "$n" local)" "IPv$fam: the engine's connection is from --engine$fam"
		assert_match "^(\[$ha\]|$ha):$p$" "$(get "$n" remote)" "IPv$fam: to --host$fam"
		assert_match "> SYN .*<mss $mss," "$(timeout -k 1 5 cat "$E/$n/trace")" \
			"IPv$fam: the engine's SYN announces MSS $mss (--mtu 1400 less $((1400 - mss)))"
		hold_ok lo send "a$fam" 1000
		assert_eq 1000 "$(timeout -k 1 10 head -c 1000 "$E/$n/data" | wc -c)" "IPv$fam: data from the kernel"
		ctl_ok "$n" hangup
		# kernel -> engine
		eng_clone
		n=$N
		ctl_ok "$n" "announce 7$fam$fam"
		hold_ok lo connect "c$fam" "$fam" "$ea" "7$fam$fam"
		name=$(timeout -k 1 10 cat "$E/$n/listen")
		[[ $name =~ ^[0-9]+$ ]] || { fail "IPv$fam: listen gave '$name'"; continue; }
		assert_match "^(\[$ea\]|$ea):7$fam$fam$" "$(get "$name" local)" "IPv$fam: the kernel reached the engine at --engine$fam"
		assert_match "^(\[$ha\]|$ha):[0-9]+$" "$(get "$name" remote)" "IPv$fam: from --host$fam"
		ctl_ok "$name" hangup
		ctl_ok "$n" close
	done
	stop_holder lo
}
link_options

# an engine address the host cannot reach on its link: refused at start,
# in words, nothing mounted (--host4 changed alone leaves the default
# --engine4 outside its prefix)
stop_tcpfs
assert_eq 0 "$TCPFS_RC" "link options: the daemon's exit status after SIGTERM"
for bad in "--host4=198.18.201.1/24" "--engine4=198.19.253.3" "--engine6=fdcf:7c9f:7cfb::2"; do
	if try_start_tcpfs "$WORK/mbad" $bad; then
		fail "$bad: the daemon mounted"
		stop_tcpfs
		continue
	fi
	[ "${TCPFS_RC:-0}" -ne 0 ] && pass "$bad: refused, exit $TCPFS_RC" ||
		fail "$bad: exit status '${TCPFS_RC:-?}', want non-zero"
	assert_match "--engine[46]: .* cannot be the engine's address on the link" "$(cat "$TCPFS_LOG")" \
		"$bad: the reason in words"
done

eng_finish
