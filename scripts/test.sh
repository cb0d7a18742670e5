#!/usr/bin/env bash
# Install what is missing, build, and run every test, twice:
#
#   1. build/       unit and integration suites (meson test)
#   2. build-asan/  the same suites again, built with AddressSanitizer and
#                   UndefinedBehaviorSanitizer (warnings are errors there)
#   3. build-fuzz/  each libFuzzer target for FUZZ_SECONDS (30) (only when
#                   no meson test arguments are given)
#
#   sudo scripts/test.sh [MESON-TEST-ARGS...]    e.g. --suite unit
#
# Integration tests need root: each makes its own network namespace. With
# CI=true the main build also treats warnings as errors. The last line is
# "tests: N passed, N failed, N skipped"; the exit status is 0 only if every
# step built and every test passed.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1

passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

section() { printf '\n=== %s\n' "$*"; }

finish() {
	if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
		echo "test: no test ran" >&2
		failed=1
	fi
	echo "tests: $passed passed, $failed failed, $skipped skipped"
	exit $((failed > 0))
}

# Run meson test in build dir $1 and add its summary to the totals.
run_tests() {
	local dir=$1
	shift
	meson test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local counts
	counts=$(awk '
		/^Ok:/              { ok = $2 }
		/^Expected Fail:/   { xf = $3 }
		/^Fail:/            { f = $2 }
		/^Unexpected Pass:/ { xp = $3 }
		/^Skipped:/         { s = $2 }
		/^Timeout:/         { t = $2 }
		END { if (ok != "") print ok + xf, f + xp + t, s + 0 }' "$log")
	if [ -z "$counts" ]; then
		echo "test: meson test in $dir ended without a summary (exit $rc)" >&2
		failed=$((failed + 1))
		return
	fi
	local p f s
	read -r p f s <<<"$counts"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "test: meson test in $dir exited $rc" >&2
		failed=$((failed + 1))
	fi
}

section "setup: packages and build/"
if ! bash scripts/setup.sh; then
	echo "test: setup or build failed" >&2
	failed=$((failed + 1))
	finish
fi

section "tests: build/"
run_tests build "$@"

section "build: build-asan/ (ASan + UBSan)"
asan_build() {
	# shellcheck disable=SC2054 # one meson option, commas and all
	local opts=(-Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false --werror)
	if [ -f build-asan/meson-private/coredata.dat ]; then
		meson setup --reconfigure build-asan "${opts[@]}" >/dev/null ||
			return
	else
		meson setup build-asan "${opts[@]}" || return
	fi
	ninja -C build-asan
}
if ! asan_build; then
	echo "test: the ASan+UBSan build failed" >&2
	failed=$((failed + 1))
	finish
fi

section "tests: build-asan/ (ASan + UBSan)"
# UBSan's reports end the process, as ASan's do: a report fails its test
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_tests build-asan --timeout-multiplier 3 "$@"

# Fuzz target $1 for $2 seconds from a copy of its corpus; its output goes
# to $3.log and its exit status to $3.rc.
fuzz_target() {
	local t=$1 seconds=$2 out=$3 corpus
	corpus=$(mktemp -d)
	cp -r "tests/fuzz/corpus/${t##*/fuzz_}/." "$corpus"
	"$t" -max_total_time="$seconds" -print_final_stats=1 "$corpus" >"$out.log" 2>&1
	echo $? >"$out.rc"
	rm -rf "$corpus"
}

# libFuzzer (clang): each target replays its corpus, then fuzzes for
# FUZZ_SECONDS (30) from a copy of it, one target a CPU at a time. A crash
# is a failed test.
fuzz() {
	local seconds=${FUZZ_SECONDS:-30} t out dir targets=()
	# shellcheck disable=SC2054 # one meson option, commas and all
	local opts=(-Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false -Db_lto=false)
	if [ ! -f build-fuzz/meson-private/coredata.dat ]; then
		CC=clang meson setup build-fuzz "${opts[@]}" >/dev/null || return 1
	fi
	ninja -C build-fuzz >/dev/null || return 1
	for t in build-fuzz/tests/fuzz/fuzz_*; do
		if [ -f "$t" ] && [ -x "$t" ]; then # not fuzz_*.p/
			targets+=("$t")
		fi
	done
	dir=$(mktemp -d)
	for t in "${targets[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do
			wait -n
		done
		fuzz_target "$t" "$seconds" "$dir/${t##*/}" &
	done
	wait
	for t in "${targets[@]}"; do
		out=$dir/${t##*/}
		if [ "$(cat "$out.rc" 2>/dev/null)" = 0 ]; then
			echo "fuzz ${t##*/}: $(grep -o 'Done [0-9]* runs.*' "$out.log")"
			passed=$((passed + 1))
		else
			tail -n 40 "$out.log"
			echo "fuzz ${t##*/}: FAILED (the input is above)" >&2
			failed=$((failed + 1))
		fi
	done
	rm -rf "$dir"
}

if [ $# -eq 0 ]; then
	section "fuzz: build-fuzz/ (clang, libFuzzer, ${FUZZ_SECONDS:-30} s a target)"
	fuzz || {
		echo "test: the fuzz build failed" >&2
		failed=$((failed + 1))
	}
fi

finish
