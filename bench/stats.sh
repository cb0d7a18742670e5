# shellcheck shell=bash
# Sourced by the bench scripts for their statistics, never run. Figures are
# plain numbers; "-" stands for one that is missing (a failed run), is
# skipped as input, and is what each function prints when it has nothing to
# work on.
#
# median [X...]       the median of the Xs, or with no X of the numbers on
#                     stdin (whitespace separated); the mean of the two
#                     middle ones for an even count
# best [X...]         the largest, the same input
# ratio A B [DIGITS]  A / B with DIGITS decimals (2); "-" when A or B is "-"
#                     or empty, or B is 0

# the numbers of the arguments, or of stdin without any, one a line in
# ascending order, the "-"s and empty ones left out
_stats_sorted() {
	if [ $# -eq 0 ]; then cat; else printf '%s\n' "$@"; fi |
		awk '{ for (i = 1; i <= NF; i++) if ($i != "-") print $i }' | sort -g
}
median() {
	_stats_sorted "$@" | awk '{ v[NR] = $1 }
		END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.15g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
best() { _stats_sorted "$@" | awk '{ v = $1 } END { print NR ? v : "-" }'; }
# b + 0 == 0 also for a B that is no number, which awk would divide by as 0
ratio() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"; else printf "%." d "f\n", a / b }'
}
