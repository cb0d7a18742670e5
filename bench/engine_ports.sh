#!/bin/sh
# bench/engine_ports.sh: what choosing an ephemeral port costs, by how
# many of the 28,232 ports to one peer are taken (bench/engine_ports.c),
# for this tree's engine and for BASE's (default: main, before the
# per-destination counts), built alike in the same run: microseconds a
# connect (the best of REPS) and BASE / this as the ratio. The full range
# (28232) is a connect refused with EADDRNOTAVAIL.
#
# usage: bench/engine_ports.sh
# env:   BASE (main), M (2000 connects a figure), REPS (3),
#        NS ("0 10000 20000 28000 28231 28232"), CC (cc)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
BASE=${BASE:-main} M=${M:-2000} REPS=${REPS:-3}
NS=${NS:-0 10000 20000 28000 28231 28232}
tmp=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
mkdir "$tmp/base"
git -C "$here" archive "$BASE" include src/tcp src/wire | tar -x -C "$tmp/base"
build() { # build TREE OUT
	${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -DNDEBUG -I"$1/include" -o "$2" \
		"$here/bench/engine_ports.c" "$1"/src/tcp/*.c "$1/src/wire/wire.c" \
		"$1/src/wire/ep.c" -lm
}
build "$tmp/base" "$tmp/before"
build "$here" "$tmp/after"
echo "engine_ports: $(date -u '+%F %T UTC'); $(nproc) CPUs; uptime:$(uptime)"
echo "BASE=$BASE ($(git -C "$here" rev-parse --short "$BASE")) vs this tree ($(git -C "$here" describe --always --dirty)); M=$M REPS=$REPS"
best() { sort -k2 -g | awk '{ if (!($1 in b)) { b[$1] = $2; o[++n] = $1 } } END { for (i = 1; i <= n; i++) print o[i], b[o[i]] }'; }
for r in $(seq "$REPS"); do "$tmp/before" "$M" $NS; done | best | sort -k1,1 >"$tmp/b"
for r in $(seq "$REPS"); do "$tmp/after" "$M" $NS; done | best | sort -k1,1 >"$tmp/a"
printf '%8s %14s %14s %8s\n' "held" "before us" "after us" "ratio"
join "$tmp/b" "$tmp/a" | sort -n | awk '{ printf "%8d %14.3f %14.3f %8.1f\n", $1, $2, $3, ($3 > 0 ? $2 / $3 : 0) }'
