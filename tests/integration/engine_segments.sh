#!/bin/bash
# engine_segments: a scripted, segment-level suite (packetdrill style) over
# the engine's TUN device (issue 11). segtest.py is the engine's peer: it
# writes crafted segments into the TUN device from the host side through a
# packet socket and reads the engine's answers there, after driving the
# engine into each state of RFC 9293 through its files; engine_segments.txt
# is the table of cases, one a line: state, the segment injected, the
# segment expected (or none), the state after, the RFC section. Every case
# runs over IPv4 and over IPv6 (segtest.py -6), against Linux and the
# engine: the table does not depend on the family. The host's
# kernel must not answer the engine's segments itself (nothing listens on
# the peer's ports), so an nft rule drops TCP from the TUN device before the
# kernel sees it; a packet socket reads it before that.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/engine_lib.sh"
need_root
need_cmd ip nft
enter_netns "$@"
need_tcpfs
need_py_module scapy scapy.layers.inet python3-scapy

# MSL 10 s: TIME_WAIT outlasts its cases
eng_start --msl=10
nft -f - <<NFT || die "nft: cannot drop the engine's TCP before the kernel"
table inet segtest {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "$TUN" meta l4proto tcp drop
	}
}
NFT
at_exit "nft delete table inet segtest"

# segtest TAG ARGS...: run the table; a check per case
segtest() {
	local tag=$1 out rc line
	shift
	out=$(TUN=$TUN HOST4=$HOST4 ENG4=$ENG4 HOST6=$HOST6 ENG6=$ENG6 \
		timeout -k 1 40 "$PY" "$LIB_DIR/segtest.py" "$@" \
		"$LIB_DIR/engine_segments.txt" "${SEGTEST_ONLY:-}" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^ok ' | sed "s/^/$tag: /" >&2
	while read -r line; do
		case $line in
		ok\ *) pass "$tag: ${line#ok }" ;;
		FAIL\ *) fail "$tag: ${line#FAIL }" ;;
		esac
	done <<<"$out"
	assert_eq 0 "$rc" "$tag: segtest.py's exit status"
	assert_match "^segtest: [0-9]+ cases, 0 failed" "$(tail -n 1 <<<"$out")" "$tag: every case ran"
}
# Linux: no rate limit on the answers to out-of-window segments, which a
# case may send twice on one connection
sysctl -qw net.ipv4.tcp_invalid_ratelimit=0 || die "cannot set tcp_invalid_ratelimit"
segtest linux --kernel
segtest engine "$E"
segtest linux6 -6 --kernel
segtest engine6 -6 "$E"

eng_finish
