# shellcheck shell=bash
# Common code of the tcpfs integration tests: sourced, never run.
#
# A test: source this, need_root, need_cmd ..., enter_netns "$@" (re-runs the
# script in a new network and mount namespace, so nothing it does reaches the
# host and every mount and socket goes away with it), then start_tcpfs,
# checks with the assert helpers, and finish. Exit 0 pass, 1 fail, 77 skip.

set -u -o pipefail
export PATH=$PATH:/usr/sbin:/sbin:/usr/bin:/bin
export LC_ALL=C

TEST_NAME=$(basename "$0" .sh)
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The system python: a non-root user can run it (a pyenv under /root cannot).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || echo python3)
: "${TCPFS:=$LIB_DIR/../../build/src/tcpfs}"
FAILS=0
CHECKS=0
WORK=
TCPFS_PID=
TCPFS_MNT=
TCPFS_LOG=
TCPFS_RC=
NSTART=0

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }
skip() {
	printf 'SKIP: %s: %s\n' "$TEST_NAME" "$*"
	exit 77
}
# A failure that leaves nothing sensible to check: stop here.
die() {
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	FAILS=$((FAILS + 1))
	show_logs
	exit 1
}
# One failed check: say what was expected and what came, and go on.
fail() {
	FAILS=$((FAILS + 1))
	printf 'FAIL: %s\n' "$*" >&2
}
pass() {
	CHECKS=$((CHECKS + 1))
	[ -z "${VERBOSE:-}" ] || log "ok: $*"
}

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: expected '$1', got '$2'"; fi
}
# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne() {
	if [ "$1" != "$2" ]; then pass "$3"; else fail "$3: got '$2', which it must not be"; fi
}
# assert_match EXTENDED_REGEX ACTUAL WHAT
assert_match() {
	if [[ $2 =~ $1 ]]; then pass "$3"; else fail "$3: '$2' does not match /$1/"; fi
}
# assert_ok WHAT CMD...: CMD exits 0
assert_ok() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what: '$*' exited $?"; fi
}
# assert_fails WHAT CMD...: CMD exits non-zero
assert_fails() {
	local what=$1
	shift
	if "$@"; then fail "$what: '$*' succeeded; it must fail"; else pass "$what"; fi
}

# Print the result and exit with it.
finish() {
	if [ "$FAILS" -gt 0 ]; then
		show_logs
		printf '%s: %d failed check(s), %d passed\n' "$TEST_NAME" "$FAILS" "$CHECKS" >&2
		exit 1
	fi
	printf '%s: all %d checks passed\n' "$TEST_NAME" "$CHECKS"
	exit 0
}

show_logs() {
	local f
	[ -n "$WORK" ] || return 0
	for f in "$WORK"/tcpfs.*.log "$WORK"/holder.*.err; do
		[ -s "$f" ] || continue
		printf -- '--- %s (last 30 lines)\n' "${f##*/}" >&2
		tail -n 30 "$f" >&2
	done
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, FUSE mounts)"
}
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}
need_tcpfs() {
	[ -x "$TCPFS" ] || die "no tcpfs executable at '$TCPFS' (set TCPFS=...)"
	[ -e /dev/fuse ] || skip "needs /dev/fuse"
}
# need_kbpf: skip unless kbpf is built (KBPF_PROBE, the test driver) and can
# run here (BTF, BPF enabled); as root, any other failure to open ends the
# test.
need_kbpf() {
	local out
	[ -n "${KBPF_PROBE:-}" ] && [ -x "$KBPF_PROBE" ] ||
		skip "no kbpf_probe (KBPF_PROBE unset: kbpf is not built, see meson -Dbpf)"
	out=$("$KBPF_PROBE" open) || {
		case $out in
		"error ENOENT "* | "error ENOSYS "*) skip "kbpf cannot run here: $out" ;;
		esac
		die "kbpf_probe open as root: $out"
	}
}

# Cleanup actions, run in reverse order at exit, whatever the exit.
CLEANUPS=()
at_exit() { CLEANUPS+=("$1"); }
run_cleanups() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[i]}" >/dev/null 2>&1 || true
	done
	CLEANUPS=()
}

# Re-run this script in a new network namespace and a private mount
# namespace, then bring lo up and make a work directory.
enter_netns() {
	# unshare execs bash, so the inner shell keeps this pid
	if [ "${TCPFS_TEST_INNER:-}" != "$TEST_NAME.$$" ]; then
		TCPFS_TEST_INNER=$TEST_NAME.$$ exec unshare --net --mount \
			--propagation private -- bash "$0" "$@"
	fi
	trap run_cleanups EXIT
	trap 'exit 130' INT TERM HUP
	trap '' PIPE
	ip link set lo up || die "cannot bring lo up"
	WORK=$(mktemp -d "/tmp/tcpfs-$TEST_NAME.XXXXXX") || die "mktemp"
	chmod 755 "$WORK"
	at_exit "rm -rf --one-file-system '$WORK'"
	# python helpers where a non-root user can read them (the source tree
	# may sit under a private home)
	cp "$LIB_DIR/holder.py" "$LIB_DIR/fsop.py" "$WORK/" && chmod 644 "$WORK"/*.py ||
		die "cannot copy the helpers"
	log "in a new network namespace; work directory $WORK; tcpfs $TCPFS"
}

# ip netns add NAME with lo up, deleted at exit.
netns_add() {
	ip netns add "$1" || die "ip netns add $1"
	at_exit "ip netns del '$1'"
	ip -n "$1" link set lo up || die "lo up in $1"
}

# mnt_field PATH: PATH as field 5 of /proc/self/mountinfo has it (space,
# tab, newline and backslash in octal)
mnt_field() {
	local m=${1//\\/\\134}
	m=${m// /\\040}
	m=${m//$'\t'/\\011}
	printf '%s' "${m//$'\n'/\\012}"
}
# is_mounted MNT: a mount sits on MNT in this mount namespace.
is_mounted() {
	M=$(mnt_field "$1") awk '$5 == ENVIRON["M"] { found = 1 } END { exit !found }' /proc/self/mountinfo
}
count_mounts() {
	M=$(mnt_field "$1") awk '$5 == ENVIRON["M"] { n++ } END { print n + 0 }' /proc/self/mountinfo
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s; 0 once it succeeds.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# start_tcpfs MNT [ARGS...]: run the daemon in the foreground, in the
# background, and wait (10 s at most) until MNT/kernel is there.
# Sets TCPFS_PID, TCPFS_MNT, TCPFS_LOG.
start_tcpfs() {
	local rc=0
	try_start_tcpfs "$@" || rc=$?
	case $rc in
	0) ;;
	1) die "tcpfs $* exited ($TCPFS_RC) before mounting: $(tail -n 5 "$TCPFS_LOG")" ;;
	*) die "tcpfs $*: $1/kernel did not appear within 10 s" ;;
	esac
}

# try_start_tcpfs MNT [ARGS...]: like start_tcpfs but returns 1 (with
# TCPFS_RC set) instead of dying when the daemon exits without mounting.
try_start_tcpfs() {
	local mnt=$1 i
	shift
	need_tcpfs
	mkdir -p "$mnt" 2>/dev/null # a stale mount there: ENOTCONN, the daemon's job
	NSTART=$((NSTART + 1))
	TCPFS_LOG=$WORK/tcpfs.$NSTART.log
	"$TCPFS" "$mnt" -f "$@" >"$TCPFS_LOG" 2>&1 &
	TCPFS_PID=$!
	TCPFS_MNT=$mnt
	TCPFS_RC=
	at_exit "stop_tcpfs $TCPFS_PID '$mnt'"
	for ((i = 0; i < 100; i++)); do
		timeout -k 1 5 test -d "$mnt/kernel" && return 0
		if ! kill -0 "$TCPFS_PID" 2>/dev/null; then
			wait "$TCPFS_PID"
			TCPFS_RC=$?
			TCPFS_PID=
			return 1
		fi
		sleep 0.1
	done
	return 2
}

# stop_tcpfs [PID MNT] [SIGNAL]: signal the daemon (TERM), wait 5 s for it,
# then KILL it; detach whatever is left mounted. Sets TCPFS_RC.
stop_tcpfs() {
	local pid=${1:-$TCPFS_PID} mnt=${2:-$TCPFS_MNT} sig=${3:-TERM} i
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -"$sig" "$pid" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	if [ -n "$pid" ]; then
		wait "$pid" 2>/dev/null
		TCPFS_RC=$?
	fi
	[ "$pid" != "$TCPFS_PID" ] || TCPFS_PID=
	if [ -n "$mnt" ]; then
		while is_mounted "$mnt"; do
			umount -l "$mnt" 2>/dev/null || break
		done
	fi
	return 0
}

# Socket holders (holder.py), driven through two FIFOs each.
declare -A H_IN H_OUT H_PID
HELD=
# start_holder ID [PREFIX...]: PREFIX runs the holder (setpriv, ip netns
# exec, nsenter ...).
start_holder() {
	local id=$1 fd
	shift
	local in=$WORK/holder.$id.in out=$WORK/holder.$id.out
	mkfifo "$in" "$out" || die "mkfifo"
	"$@" "$PY" "$WORK/holder.py" <"$in" >"$out" 2>"$WORK/holder.$id.err" &
	H_PID[$id]=$!
	exec {fd}>"$in"
	H_IN[$id]=$fd
	exec {fd}<"$out"
	H_OUT[$id]=$fd
	at_exit "stop_holder $id"
	hold "$id" pid || die "holder $id did not start: $HELD $(cat "$WORK/holder.$id.err")"
}
stop_holder() {
	local id=$1 i
	[ -n "${H_PID[$id]:-}" ] || return 0
	printf 'quit\n' >&"${H_IN[$id]}" 2>/dev/null
	exec {H_IN[$id]}>&- {H_OUT[$id]}<&-
	for ((i = 0; i < 20; i++)); do
		kill -0 "${H_PID[$id]}" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "${H_PID[$id]}" 2>/dev/null
	wait "${H_PID[$id]}" 2>/dev/null
	unset "H_PID[$id]"
}
# hold ID CMD...: run CMD in holder ID; HELD is the reply without "ok ",
# HELD_ERR the errno name of an error reply ("err ENAME text"), else "".
# 0 on "ok", 1 on an error reply, 2 without a reply in 15 s.
HELD_ERR=
hold() {
	local id=$1 line
	shift
	HELD=
	HELD_ERR=
	if ! printf '%s\n' "$*" >&"${H_IN[$id]}"; then
		HELD="holder $id is gone"
		return 2
	fi
	if ! IFS= read -r -t 15 line <&"${H_OUT[$id]}"; then
		HELD="no reply from holder $id to '$*' in 15 s"
		return 2
	fi
	case $line in
	ok) return 0 ;;
	"ok "*) HELD=${line#ok } && return 0 ;;
	*)
		HELD=$line
		HELD_ERR=${line#err }
		HELD_ERR=${HELD_ERR%% *}
		return 1
		;;
	esac
}
# hold_ok ID CMD...: as hold, but a failure ends the test (setup failed).
hold_ok() {
	hold "$@" || die "holder $1: '${*:2}' failed: $HELD"
}

# fsop OP PATH [ARGS]: one file operation in python; prints OK... or ERRNO.
fsop() { timeout -k 2 20 "$PY" "$WORK/fsop.py" "$@"; }
# as_user UID CMD...: run CMD as UID (gid UID, no groups), a clean env.
as_user() {
	local uid=$1
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- \
		env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin LC_ALL=C HOME=/ "$@"
}
# fsop_as UID OP PATH [ARGS]: fsop as UID.
fsop_as() {
	local uid=$1
	shift
	as_user "$uid" timeout -k 2 20 "$PY" "$WORK/fsop.py" "$@"
}

# events_bg MNT FILE: a reader of MNT/events in the background, into FILE;
# returns once it has the file open (it sees every line posted after).
events_bg() {
	cat "$1/events" >"$2" &
	local pid=$!
	at_exit "kill $pid 2>/dev/null"
	wait_until 5 eval "ls -l /proc/$pid/fd 2>/dev/null | grep -qF '$1/events'" ||
		die "cat did not open $1/events"
}

# ladder FILE: cat a ladder FILE into $WORK/ladder.N (N counts), its path
# in LAD; has WHAT REGEX: a line of $LAD matches REGEX (extended)
NL=0
LAD=
ladder() {
	NL=$((NL + 1))
	LAD=$WORK/ladder.$NL
	timeout -k 1 5 cat "$1" >"$LAD" || die "cat $1 failed"
}
has() {
	if grep -qE -- "$2" "$LAD"; then
		pass "$1"
	else
		fail "$1: no line matches /$2/ in"$'\n'"$(cat "$LAD")"
	fi
}

# need_py_module MODULE IMPORT PACKAGE: skip if python3 has no MODULE
# (PACKAGE is missing); fail if it has it but IMPORT fails (broken, not
# absent).
need_py_module() {
	"$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" ||
		skip "needs $3"
	"$PY" -c "import $2" || die "$3 is installed, but 'import $2' fails"
}

# name_present NAME: MNT/kernel lists NAME (a listing that fails is fatal,
# not taken for a name gone).
name_present() {
	local l
	l=$(ls -1 "$TCPFS_MNT/kernel") || die "ls $TCPFS_MNT/kernel failed"
	grep -qxF -- "$1" <<<"$l"
}
