#!/bin/bash
# kernel_netns_hold: an open events file holds its reader's network
# namespace open in the daemon, and those holds are bounded so that no user
# can take the daemon's namespaces from the others: a uid other than root
# holds at most 8 namespaces (a 9th events open is EMFILE; another reader
# in a namespace it holds, or another uid, still opens); a closed reader
# gives its hold back; at most 48 are held in all, and past that a reader
# in yet another namespace still lists its own sockets.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd unshare setpriv
enter_netns "$@"
need_tcpfs
cp "$LIB_DIR/nshold.py" "$WORK/" && chmod 644 "$WORK/nshold.py" || die "cannot copy nshold.py"

MNT=$WORK/m
start_tcpfs "$MNT" -o allow_other

# readers ID UID COUNT [ls]: COUNT readers in new namespaces as UID, kept
# until the end (or stop ID); their answers, one a line, in $WORK/ID.out
declare -A RPID
readers() {
	local id=$1 n=$3
	"$PY" "$WORK/nshold.py" "$MNT" "$2" "$n" ${4:+"$4"} >"$WORK/$id.out" 2>"$WORK/$id.err" &
	RPID[$id]=$!
	at_exit "kill ${RPID[$id]} 2>/dev/null"
	wait_until 20 eval '[ "$(wc -l <"$WORK/$id.out")" -ge "$n" ]' ||
		die "readers $id: $(wc -l <"$WORK/$id.out") of $n answered: $(cat "$WORK/$id.err")"
}
stop() { kill "${RPID[$1]}" && wait "${RPID[$1]}" 2>/dev/null; }
answers() { sort "$WORK/$1.out" | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }'; }

readers a 65534 9
assert_eq "ok ok ok ok ok ok ok ok EMFILE" "$(tr '\n' ' ' <"$WORK/a.out" | sed 's/ $//')" \
	"uid 65534: 8 events readers in 8 namespaces, the 9th refused"
grep -q "not held for uid 65534: it holds 8 namespaces" "$TCPFS_LOG" &&
	pass "the log says why" || fail "no reason in the log: $(tail -3 "$TCPFS_LOG")"
readers b 65533 1
assert_eq "ok" "$(cat "$WORK/b.out")" "another uid still opens events in a new namespace"
# a reader of uid 65534 in a namespace it holds: joins, no new hold
child=$(pgrep -P "${RPID[a]}" | head -1)
nsenter --net="/proc/$child/ns/net" -- setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" -c '
import os, sys
os.open(sys.argv[1] + "/events", os.O_RDONLY)' "$MNT" &&
	pass "uid 65534 opens events again in a namespace it holds" ||
	fail "uid 65534 cannot open events in a namespace it holds"
kids=$(pgrep -P "${RPID[a]}" | tr '\n' ' ')
stop a
wait_until 10 eval '! ps -p "${kids// /,}" >/dev/null' || die "readers a outlived their parent: $kids"
readers c 65534 8
assert_eq "8" "$(grep -c '^ok$' "$WORK/c.out")" "closed readers gave their holds back: 8 new ones ($(answers c))"

# root: not counted per uid, but with b and c 9 are held; 39 more fill 48
# (and 54 would fill the pool of 64, home included)
readers d 0 60
assert_eq "39 21" "$(grep -c '^ok$' "$WORK/d.out") $(grep -c '^EMFILE$' "$WORK/d.out")" \
	"48 namespaces held in all, the 49th to 60th refused ($(answers d))"
grep -q "48 namespaces are held, the most there may be" "$TCPFS_LOG" &&
	pass "the log says why" || fail "no reason in the log: $(tail -3 "$TCPFS_LOG")"
readers e 65532 3 ls
assert_eq "3" "$(grep -c '^ok$' "$WORK/e.out")" \
	"with every hold taken, readers in new namespaces list their own sockets ($(answers e))"
finish
