#!/bin/sh
# bench/csum.sh: build bench/csum.c with src/wire (cc -O2, as the release
# build) and run it: the checksum's Gbit/s against RFC 1071's 16-bit loop
# and the previous 32-bit sum, in the same run.
# usage: bench/csum.sh [MB per length]; env CC (default cc)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -O2 -std=gnu11 -D_GNU_SOURCE -I"$here/include" -o "$tmp/csum" \
	"$here/bench/csum.c" "$here/src/wire/wire.c" "$here/src/wire/ep.c"
"$tmp/csum" "$@"
