#!/bin/sh
# bench/engine_memlink.sh: build bench/engine_memlink.c with the engine's
# sources (cc -O2, no build directory needed) and run it; the goodput
# table is rewritten in bench/engine_goodput.txt, kept in the repository
# so that a change that slows recovery shows in review.
#
# usage: bench/engine_memlink.sh
# env:   SRC (default: this checkout) the tree whose engine is measured,
#        ENGINE_BATCH=1: one dispatch per instant's packets (see the .c),
#        TABLE (default: $SRC/bench/engine_goodput.txt; "" to skip),
#        CC (default cc)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
SRC=${SRC:-$here}
TABLE=${TABLE-$SRC/bench/engine_goodput.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -O2 -flto -g -std=gnu11 -D_GNU_SOURCE -DNDEBUG -I"$SRC/include" \
	-o "$tmp/engine_memlink" "$here/bench/engine_memlink.c" \
	"$SRC"/src/tcp/*.c "$SRC/src/wire/wire.c" "$SRC/src/wire/ep.c" \
	"$SRC/src/link/impair.c" "$SRC/src/link/memlink.c" -lm
"$tmp/engine_memlink" $TABLE
