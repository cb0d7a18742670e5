#!/bin/bash
# kernel_perms: with -o allow_other, two non-root users (uids UA and UB, no
# passwd entry needed) and root each own sockets. `ls -ln` shows each
# socket's owner on its directory (and files); a user may read anyone's
# sockets, may close its own, and gets EACCES/EPERM closing root's or the
# other user's, which stay alive. Root may close anyone's. Without
# allow_other, other users cannot enter the mount at all. A socket's pid
# file lists its holders only to a reader who could see them in /proc, as
# `ss -p` run by that reader does (also with CAP_SYS_PTRACE, with and
# without CAP_DAC_READ_SEARCH, and for a holder that is not dumpable: its
# own uid does not see it); its files' group is the owner's primary group
# (getpwuid, an entry of any length), or 65534 for a uid without a passwd
# entry.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ss unshare setpriv
enter_netns "$@"
need_tcpfs

UA=${TCPFS_TEST_UID_A:-64011}
UB=${TCPFS_TEST_UID_B:-64012}

start_holder hr
start_holder ha setpriv --reuid="$UA" --regid="$UA" --clear-groups --
start_holder hb setpriv --reuid="$UB" --regid="$UB" --clear-groups --
hold_ok hr listen lr 4 127.0.0.1 0
hold_ok hr pair rc rs lr
hold_ok ha listen la 6 ::1 0
hold_ok ha pair ac as la
hold_ok ha pair ac2 as2 la
hold_ok hb listen lb 4 127.0.0.1 0
hold_ok hb pair bc bs lb
# uid 1 (daemon, primary group 1 in /etc/passwd) in another group
DAEMON_GID=$(getent passwd 1 | cut -d: -f4)
start_holder hd setpriv --reuid=1 --regid="$UA" --clear-groups --
hold_ok hd listen ld 4 127.0.0.1 0

declare -A OWNER NAME
for h in hr:lr hr:rc hr:rs ha:la ha:ac ha:as ha:ac2 ha:as2 hb:lb hb:bc hb:bs hd:ld; do
	hold_ok "${h%%:*}" name "${h#*:}"
	NAME[${h#*:}]=$HELD
	case ${h%%:*} in hr) OWNER[$HELD]=0 ;; ha) OWNER[$HELD]=$UA ;; hb) OWNER[$HELD]=$UB ;; hd) OWNER[$HELD]=1 ;; esac
done

# User B's passwd entry, in this test's mount namespace only, is longer
# than the 4 KiB a getpwuid_r() buffer first gets (a long GECOS field).
UB_GID=4321
{ cat /etc/passwd; printf 'tcpfslong:x:%s:%s:%s:/nonexistent:/usr/sbin/nologin\n' \
	"$UB" "$UB_GID" "$(printf '%*s' 5000 '' | tr ' ' g)"; } >"$WORK/passwd"
mount --bind "$WORK/passwd" /etc/passwd || die "cannot bind a passwd file"
assert_eq "$UB_GID" "$(getent passwd "$UB" | cut -d: -f4)" "the long passwd entry of uid $UB"

MNT=$WORK/mnt
start_tcpfs "$MNT" -o allow_other
K=$MNT/kernel

# Everything against ss, as root (uid, inode, st_uid included).
"$PY" "$LIB_DIR/compare.py" "$MNT" && pass "listing equals ss" || fail "MNT/kernel differs from ss -tanHe"

# ls -ln as user A: every socket of ours shows its owner.
out=$(as_user "$UA" ls -ln "$K" 2>&1)
assert_eq 0 $? "ls -ln of MNT/kernel as uid $UA with allow_other"
seen=0
while read -r mode links uid gid size m d t name; do
	[ -n "${name:-}" ] && [ -n "${OWNER[$name]:-}" ] || continue
	seen=$((seen + 1))
	assert_eq "${OWNER[$name]}" "$uid" "ls -ln owner of $name"
done <<<"$out"
assert_eq "${#OWNER[@]}" "$seen" "sockets of the three owners seen by ls -ln"
for s in rc ac bs; do
	n=${NAME[$s]}
	assert_eq "${OWNER[$n]}" "$(as_user "$UA" stat -c %u "$K/$n/state" 2>&1)" "st_uid of $s's state file"
	assert_eq "${OWNER[$n]}" "$(as_user "$UA" stat -c %u "$K/$n/ctl" 2>&1)" "st_uid of $s's ctl file"
done

# The group: root's is 0, daemon's its passwd group (not the holder's
# gid), B's from its long entry, a uid without a passwd entry gets the
# overflow gid 65534.
for s in lr:0 ld:$DAEMON_GID lb:$UB_GID la:65534; do
	n=${NAME[${s%%:*}]}
	assert_eq "${s#*:}" "$(as_user "$UA" stat -c %g "$K/$n")" "st_gid of ${s%%:*}'s directory"
	assert_eq "${s#*:}" "$(as_user "$UA" stat -c %g "$K/$n/pid")" "st_gid of ${s%%:*}'s pid file"
done

# The pid file, as ss -p: PID of HOLDER's process, as seen by UID.
# ss_pids UID PORT: the pids `ss -tlpn` as UID shows for a listener.
ss_pids() {
	as_user "$1" ss -tlpnH "sport = :$2" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' '
}
# pid_file UID NAME: the pids of NAME's pid file read by UID.
pid_file() {
	as_user "$1" cat "$K/$2/pid" | cut -d' ' -f1 | sort -u | tr '\n' ' '
}
# port_of NAME: the local port of a socket's name (LOCAL-REMOTE#COOKIE).
port_of() {
	local l=${1%%-*}
	echo "${l##*:}"
}
hold_ok hr pid
ROOT_HOLDER=$HELD
hold_ok ha pid
A_HOLDER=$HELD
for s in lr:"$ROOT_HOLDER " la:"$A_HOLDER "; do
	n=${NAME[${s%%:*}]}
	port=$(port_of "$n")
	assert_eq "${s#*:}" "$(pid_file 0 "$n")" "root reads ${s%%:*}'s holder"
	assert_eq "$(ss_pids 0 "$port")" "$(pid_file 0 "$n")" "root: ${s%%:*}'s pid file agrees with ss -tlpn"
done
n=${NAME[lr]}
port=$(port_of "$n")
assert_eq "" "$(pid_file 65534 "$n")" "nobody does not see root's holder of lr"
assert_eq "$(ss_pids 65534 "$port")" "$(pid_file 65534 "$n")" "nobody: lr's pid file agrees with ss -tlpn"
n=${NAME[la]}
port=$(port_of "$n")
assert_eq "$A_HOLDER " "$(pid_file "$UA" "$n")" "uid $UA sees its own holder of la"
assert_eq "$(ss_pids "$UA" "$port")" "$(pid_file "$UA" "$n")" "uid $UA: la's pid file agrees with ss -tlpn"
assert_eq "" "$(pid_file "$UB" "$n")" "uid $UB does not see uid $UA's holder"
assert_eq "" "$(pid_file 65534 "$n")" "nobody does not see uid $UA's holder"
assert_eq "$(ss_pids 65534 "$port")" "$(pid_file 65534 "$n")" "nobody: la's pid file agrees with ss -tlpn"
# with_caps CAPS CMD...: CMD as nobody with the capabilities CAPS (+a,+b).
with_caps() {
	local caps=$1
	shift
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps="$caps" \
		--ambient-caps="$caps" -- "$@"
}
# CAP_SYS_PTRACE passes ptrace's check, but root's /proc/PID/fd is 0500:
# listing it takes CAP_DAC_READ_SEARCH too, as ss -p shows.
n=${NAME[lr]}
port=$(port_of "$n")
for caps in +sys_ptrace +sys_ptrace,+dac_read_search; do
	r=$(with_caps "$caps" cat "$K/$n/pid" | cut -d' ' -f1 | tr '\n' ' ')
	s=$(with_caps "$caps" ss -tlpnH "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | tr '\n' ' ')
	assert_eq "$s" "$r" "nobody with $caps: lr's pid file agrees with ss -tlpn"
done
assert_eq "$ROOT_HOLDER " "$r" "nobody with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH sees root's holder"

# A process that is not dumpable (prctl PR_SET_DUMPABLE 0): its own uid
# may not read its /proc/PID/fd, so ss -p as that uid shows no pid; root
# does. Beside it a dumpable one of the same uid, seen.
start_holder hn setpriv --reuid=65534 --regid=65534 --clear-groups --
start_holder hu setpriv --reuid=65534 --regid=65534 --clear-groups --
hold_ok hn nodump
hold_ok hn pid
N_HOLDER=$HELD
hold_ok hu pid
U_HOLDER=$HELD
for h in hn hu; do
	hold_ok $h listen l 4 127.0.0.1 0
	hold_ok $h name l
	NAME[$h]=$HELD
done
sleep 0.5 # past the last /proc scan's trust window for a miss
for h in hn hu; do
	n=${NAME[$h]}
	port=$(port_of "$n")
	assert_eq "$(ss_pids 65534 "$port")" "$(pid_file 65534 "$n")" "nobody: $h's pid file agrees with ss -tlpn"
	assert_eq "$(ss_pids 0 "$port")" "$(pid_file 0 "$n")" "root: $h's pid file agrees with ss -tlpn"
	out=$(as_user 65534 cat "$K/pids" | awk -v n="$n" '$1 == n && NF > 1 { print $2 }' | sort -u | tr '\n' ' ')
	assert_eq "$(pid_file 65534 "$n")" "$out" "nobody: $h's line in kernel/pids agrees with its pid file"
done
assert_eq "" "$(pid_file 65534 "${NAME[hn]}")" "nobody does not see its own uid's holder that is not dumpable"
assert_eq "$N_HOLDER " "$(pid_file 0 "${NAME[hn]}")" "root sees the holder that is not dumpable"
assert_eq "$U_HOLDER " "$(pid_file 65534 "${NAME[hu]}")" "nobody sees its own uid's dumpable holder"

# Reading is for everyone.
assert_eq ESTABLISHED "$(as_user "$UA" cat "$K/${NAME[rc]}/state" 2>&1)" "uid $UA reads root's socket"
assert_eq ESTABLISHED "$(as_user "$UB" cat "$K/${NAME[ac]}/state" 2>&1)" "uid $UB reads uid $UA's socket"

# denied WHO VICTIM HOLDER: WHO may not close VICTIM (held by HOLDER).
denied() {
	local who=$1 victim=$2 holder=$3 n=${NAME[$2]} r
	r=$(fsop_as "$who" write "$K/$n/ctl" 'close\n' trunc)
	[[ $r == EACCES || $r == EPERM ]] && pass "uid $who closing $victim: $r" ||
		fail "uid $who closing $victim ($n, owner ${OWNER[$n]}): got '$r', want EACCES or EPERM"
	as_user "$who" bash -c "echo close > '$K/$n/ctl'" 2>/dev/null &&
		fail "uid $who: 'echo close > ctl' of $victim succeeded" || pass "echo close fails for uid $who"
	r=$(fsop_as "$who" write "$K/$n/ctl" hangup)
	[[ $r == EACCES || $r == EPERM ]] && pass "uid $who hangup of $victim: $r" ||
		fail "uid $who hangup of $victim: got '$r', want EACCES or EPERM"
	hold "$holder" recv "$victim"
	assert_eq TIMEOUT "$HELD" "$victim is untouched after the refused close (recv waits)"
	assert_eq ESTABLISHED "$(cat "$K/$n/state" 2>&1)" "$victim still listed"
}
denied "$UA" rc hr
denied "$UA" rs hr
denied "$UA" bc hb
denied "$UB" ac ha
r=$(fsop_as "$UA" write "$K/${NAME[lr]}/ctl" close)
[[ $r == EACCES || $r == EPERM ]] && pass "uid $UA may not close root's listener" ||
	fail "uid $UA closing root's listener: got '$r', want EACCES or EPERM"
assert_eq LISTEN "$(cat "$K/${NAME[lr]}/state" 2>&1)" "root's listener still there"

# A user closes its own sockets.
n=${NAME[ac]}
as_user "$UA" bash -c "echo close > '$K/$n/ctl'"
assert_eq 0 $? "uid $UA: echo close > ctl of its own socket"
hold ha recv ac
assert_eq ECONNABORTED "$HELD_ERR" "owner's recv after its own close"
hold ha recv as
assert_eq ECONNRESET "$HELD_ERR" "peer's recv after the close"
wait_until 3 bash -c "! ls -1 '$K' | grep -qxF -- '$n'"
name_present "$n" && fail "closed socket $n still listed" || pass "closed socket gone"
r=$(fsop_as "$UA" write "$K/${NAME[as2]}/ctl" hangup)
assert_eq "OK 6" "$r" "uid $UA: hangup of its own accepted socket"
hold ha recv as2
assert_eq ECONNABORTED "$HELD_ERR" "owner's recv after hangup"

# Root closes anyone's.
echo close >"$K/${NAME[bc]}/ctl"
assert_eq 0 $? "root closes uid $UB's socket"
hold hb recv bc
assert_eq ECONNABORTED "$HELD_ERR" "uid $UB's recv after root's close"

# Without allow_other, other users do not get in.
MNT2=$WORK/mnt2
PID1=$TCPFS_PID MNT1=$TCPFS_MNT
start_tcpfs "$MNT2" --no-engine # the first one has tcpfs0
as_user "$UA" ls "$MNT2/kernel" >/dev/null 2>&1 && fail "uid $UA can list a mount without allow_other" ||
	pass "no allow_other: uid $UA is kept out"
ls "$MNT2/kernel" >/dev/null 2>&1 && pass "root lists it" || fail "root cannot list $MNT2/kernel"
stop_tcpfs
kill -0 "$PID1" 2>/dev/null && pass "first daemon alive" || fail "the allow_other daemon died"
finish
