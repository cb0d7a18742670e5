#!/bin/bash
# kernel_reads: reading any file with any buffer size gives the same bytes
# (dd bs=1, bs=3, bs=4096 against cat), and one open file is one snapshot
# even when the socket changes between two reads of it; a socket has one
# name (another spelling is ENOENT); a message another process writes to
# the daemon's sock_diag socket changes no answer; a socket that has gone
# gives ENOENT; a stale mount left by `kill -9` of the daemon is
# cleaned by the next start on that mount point; SIGTERM and SIGINT unmount
# cleanly, also with the mount busy; -V, -h and a missing mount point;
# options matched by their whole name, refused with the exit status and the
# reason the man page says.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare dd cmp
enter_netns "$@"
need_tcpfs

start_holder h
hold_ok h listen l 4 127.0.0.1 0
hold_ok h listen l6 6 ::1 0
hold_ok h pair c s l
hold_ok h pair c6 s6 l6
for x in l l6 c s c6 s6; do
	hold_ok h name "$x"
	eval "N_$x=\$HELD"
done

MNT=$WORK/mnt
start_tcpfs "$MNT"
K=$MNT/kernel

# same_bytes FILE BS: dd with BS gives what cat gives (3 tries: a value may
# change between the two opens on its own).
same_bytes() {
	local f=$1 bs=$2 i
	for i in 1 2 3; do
		cat "$f" >"$WORK/cat.out" 2>&1
		dd if="$f" of="$WORK/dd.out" bs="$bs" status=none 2>&1
		if cmp -s "$WORK/cat.out" "$WORK/dd.out"; then
			pass "dd bs=$bs = cat: $f"
			return
		fi
	done
	fail "dd bs=$bs of $f differs from cat: $(od -c "$WORK/dd.out" | head -3) vs $(od -c "$WORK/cat.out" | head -3)"
}
for x in "$N_l" "$N_c" "$N_s6"; do
	grep -q '^state [A-Z_0-9]*$' "$K/$x/status" || fail "status of $x has no state line: $(cat "$K/$x/status" 2>&1)"
	for bs in 1 3 4096; do same_bytes "$K/$x/status" $bs; done
	for f in "$K/$x"/*; do
		[ "${f##*/}" = ctl ] && continue
		same_bytes "$f" 1
	done
done

# One open, one snapshot: read 1 byte, change the socket, read the rest.
S=$K/$N_s/status
for try in 1 2 3; do
	before=$(cat "$S"; echo x)
	exec {fd}<"$S"
	first=$(dd bs=1 count=1 status=none <&$fd)
	again=$(cat "$S"; echo x)
	[ "$before" = "$again" ] && break # else it changed by itself: again
	exec {fd}<&-
done
hold_ok h send c 1000
wait_until 3 grep -qx 1000 "$K/$N_s/recv_q" || fail "recv_q of $N_s did not become 1000"
rest=$(dd bs=1 status=none <&$fd; echo x)
exec {fd}<&-
after=$(cat "$S"; echo x)
assert_eq "$before" "$first$rest" "bytes read 1 at a time across a change = the content at open"
grep -qx "recv_q 1000" <<<"$after" && pass "a new open sees the change" ||
	fail "status after the change lacks 'recv_q 1000': $after"

# A socket has one name: another spelling of it is ENOENT, though the
# kernel's lookup finds an IPv4 socket by its ::ffff: form, and any
# listener by its cookie in the listeners' dump.
mapped=$(sed -E 's/([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)/[::ffff:\1]/g' <<<"$N_c")
assert_eq ENOENT "$(fsop stat "$K/$mapped")" "$N_c spelled $mapped"
other="9.9.9.9:1-0.0.0.0:0#${N_l##*#}"
assert_eq ENOENT "$(fsop stat "$K/$other")" "$N_l's cookie under another listener's name"
assert_eq "OK" "$(fsop stat "$K/$N_l" | cut -d' ' -f1)" "$N_l itself is there"

# Another process of the namespace may write to the daemon's sock_diag
# sockets (their port ids are in /proc/net/netlink): what it sends is
# never taken for the kernel's answer, and the answers after it are right.
forge() {
	"$PY" - "$TCPFS_PID" <<'PY'
import os, socket, struct, sys
pid = sys.argv[1]
mine = {os.readlink("/proc/%s/fd/%s" % (pid, fd))[8:-1]
        for fd in os.listdir("/proc/%s/fd" % pid)
        if os.readlink("/proc/%s/fd/%s" % (pid, fd)).startswith("socket:[")}
ports = [int(f[2]) for f in (l.split() for l in open("/proc/net/netlink"))
         if f[1] == "4" and f[9] in mine]
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
for p in ports:  # SOCK_DIAG_BY_FAMILY, seq 0, a payload of junk
    s.sendto(struct.pack("=IHHII", 20, 20, 0, 0, 0) + b"junk", (p, 0))
print(len(ports))
PY
}
n=$(forge)
[ "${n:-0}" -ge 1 ] && pass "forged a message to the daemon's $n sock_diag sockets" ||
	fail "found none of the daemon's sock_diag sockets: '$n'"
for i in 1 2; do
	assert_match "^OK" "$(fsop read "$K/$N_s/state")" "read $i of $N_s/state after a forged message"
done

# Gone sockets: ENOENT (the kernel may remember the entry for a second).
ls -l "$K/$N_c6" "$K/$N_l6" >/dev/null # make sure the entries are cached
hold_ok h linger0 c6 # RST: c6 and s6 go at once
hold_ok h close l6
for x in "$N_c6" "$N_s6" "$N_l6"; do
	assert_eq ENOENT "$(fsop read "$K/$x/state")" "read of a gone socket's state"
	assert_eq ENOENT "$(fsop read "$K/$x/status")" "read of a gone socket's status"
	cat "$K/$x/state" >/dev/null 2>&1 && fail "cat of gone $x/state succeeded" || pass "cat fails"
	wait_until 3 bash -c "[ \"\$(timeout 5 '$PY' '$WORK/fsop.py' listdir '$K/$x')\" = ENOENT ]"
	assert_eq ENOENT "$(fsop listdir "$K/$x")" "listing of a gone socket's directory (within 3 s)"
	ls -1 "$K" | grep -qxF -- "$x" && fail "gone socket $x still listed" || pass "gone from the listing"
done

# A stale mount of a killed daemon is cleaned by the next start.
kill -KILL "$TCPFS_PID"
wait "$TCPFS_PID" 2>/dev/null
TCPFS_PID=
assert_eq ENOTCONN "$(fsop stat "$MNT")" "the mount point after kill -9 (a stale mount)"
start_tcpfs "$MNT"
assert_eq 1 "$(count_mounts "$MNT")" "mounts on $MNT after the restart"
"$PY" "$LIB_DIR/compare.py" "$MNT" && pass "the new mount serves" || fail "the new mount differs from ss"

# SIGTERM: exit 0, unmounted.
pid=$TCPFS_PID
stop_tcpfs "$pid" "$MNT" TERM
assert_eq 0 "$TCPFS_RC" "daemon exit status after SIGTERM"
is_mounted "$MNT" && fail "still mounted after SIGTERM" || pass "unmounted after SIGTERM"
assert_eq "OK 0" "$(fsop listdir "$MNT")" "the mount point is an empty directory again"

# SIGINT, with the mount busy (a process inside it, a file open).
start_tcpfs "$MNT"
pid=$TCPFS_PID
(cd "$K" && exec sleep 60) &
busy=$!
exec {fd}<"$K/$N_l/status"
kill -INT "$pid"
wait_until 5 bash -c "! kill -0 $pid" || fail "daemon still running 5 s after SIGINT with the mount busy"
stop_tcpfs "$pid" "" # reap it (KILL if still there)
assert_eq 0 "$TCPFS_RC" "daemon exit status after SIGINT with the mount busy"
exec {fd}<&-
kill "$busy" 2>/dev/null
wait "$busy" 2>/dev/null
wait_until 3 bash -c "! awk -v m='$MNT' '\$5 == m {f=1} END {exit !f}' /proc/self/mountinfo"
is_mounted "$MNT" && fail "still mounted after SIGINT (busy)" || pass "unmounted after SIGINT"
umount -l "$MNT" 2>/dev/null

# The command line.
out=$("$TCPFS" -V 2>&1)
assert_eq 0 $? "tcpfs -V exit status"
assert_match 'tcpfs' "$out" "tcpfs -V names itself"
out=$("$TCPFS" -h 2>&1)
assert_eq 0 $? "tcpfs -h exit status"
assert_match '--netns' "$out" "tcpfs -h mentions --netns"
grep -qE 'max_threads|clone_fd' <<<"$out" && fail "tcpfs -h offers libfuse's thread options" ||
	pass "tcpfs -h offers no thread options (one loop serves all)"
"$TCPFS" >/dev/null 2>&1
[ $? -ne 0 ] && pass "no mount point: non-zero exit" || fail "tcpfs without a mount point exited 0"
# a mount point that does not exist is the command line's (libfuse resolves
# it as it reads it): 2; one that is not a directory cannot be mounted: 1
"$TCPFS" "$WORK/nowhere" -f >/dev/null 2>&1
assert_eq 2 $? "a mount point that does not exist: exit status"
: >"$WORK/afile"
"$TCPFS" "$WORK/afile" -f >/dev/null 2>&1
assert_eq 1 $? "a mount point that is not a directory: exit status"

# refused STATUS REGEX ARGS...: tcpfs ARGS exits STATUS at once, before it
# mounts, and says why (REGEX) in one line.
CL=$WORK/cl
mkdir "$CL"
refused() {
	local want=$1 re=$2 out rc
	shift 2
	out=$(timeout -k 1 10 "$TCPFS" "$CL" -f "$@" 2>&1)
	rc=$?
	assert_eq "$want" "$rc" "tcpfs $*: exit status ($out)"
	assert_match "$re" "$out" "tcpfs $*: says why"
	assert_eq 1 "$(wc -l <<<"$out")" "tcpfs $*: in one line"
	is_mounted "$CL" && fail "tcpfs $*: mounted" && umount -l "$CL"
}
# an option is its whole name: a longer word is an unknown option
refused 1 "unknown option.*--tunnel=x" --tunnel=x
refused 1 "unknown option.*--mtu9000" --mtu9000
refused 1 "unknown option.*-o mtux=9000" -o mtux=9000
refused 2 "^tcpfs: --mtu: the value is missing$" --mtu
# whole numbers are plain decimal digits
refused 2 "^tcpfs: --syn-retries: '2.5' is not a whole number from 0 to 10$" --syn-retries=2.5
refused 2 "^tcpfs: --mtu: '0x5dc' is not a whole number from 1280 to 65535$" --mtu=0x5dc
refused 2 "^tcpfs: --mtu: ' 1500' is not a whole number" --mtu=' 1500'
refused 2 "^tcpfs: --engine-conns-max: '1e3' is not a whole number" --engine-conns-max=1e3
refused 2 "^tcpfs: --ports: ' 2000-\+3000' is not LO-HI" --ports=' 2000-+3000'
refused 2 "^tcpfs: --host4: '198.19.253.1/\+30': the prefix length is a whole number from 1 to 31$" --host4=198.19.253.1/+30
refused 2 "^tcpfs: --host6: 'fd00::1/128': the prefix length is a whole number from 1 to 127$" --host6=fd00::1/128
# --engine4 and --engine6 take no prefix (it is --host4's, --host6's)
refused 2 "^tcpfs: --engine4: '198.19.253.2/30': the engine's address takes no prefix length .*give the address alone$" --engine4=198.19.253.2/30
refused 2 "^tcpfs: --engine6: 'fdcf:7c9f:7cfa::2/64': the engine's address takes no prefix length" --engine6=fdcf:7c9f:7cfa::2/64
# a device name Linux and nft both take
for t in 'a b' a/b 'tcp%d' a#b . $'a\nb'; do
	refused 2 "^tcpfs: --tun: '.*' is not a device name: 1 to 15 letters" --tun="$t"
done
# --impair: not empty, finite numbers in range, at most 255 characters
refused 2 "^tcpfs: --impair: empty: it would impair nothing" --impair=
refused 2 "^tcpfs: --impair: delay=nan: not a number of ms from 0 to 3600000$" --impair=delay=nan
refused 2 "^tcpfs: --impair: delay=inf: not a number" --impair=delay=inf
refused 2 "^tcpfs: --impair: seed=1e30: not a whole number from 0 to 2\^64 - 1$" --impair=seed=1e30
refused 2 "^tcpfs: --impair: longer than 255 characters$" --impair="seed=1$(printf ',loss=0%.0s' {1..40})"
# and --NAME VALUE is --NAME=VALUE
start_tcpfs "$CL" --tun tsep0 --mtu 1400
assert_match " mtu 1400 " "$(ip -o link show tsep0)" "--tun tsep0 --mtu 1400: the device, its MTU"
stop_tcpfs
finish
