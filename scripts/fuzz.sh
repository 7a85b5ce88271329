#!/usr/bin/env bash
# Run every libFuzzer target of a FERRY_FUZZ build for a bounded time.
#
#   scripts/fuzz.sh [build-dir]        (default build-fuzz; FUZZ_SECONDS per target, 30)
#
# Each target starts from: its working corpus (build-dir/corpus/<target>, kept between
# runs), seeds generated for it by the seedgen program (valid sealed files for the fixed
# fuzz identities, build-dir/seeds/<target>) and any committed seeds in
# tests/fuzz/seeds/<target>. Crashes go to build-dir/artifacts/. Exits 1 if any target
# found a crash, leak or timeout.
set -euo pipefail

cd "$(dirname "$0")/.."
builddir="${1:-build-fuzz}"
secs="${FUZZ_SECONDS:-30}"
bindir="$builddir/tests/fuzz"

[ -x "$bindir/seedgen" ] || { echo "fuzz: $bindir/seedgen missing; build with -DFERRY_FUZZ=ON" >&2; exit 1; }
rm -rf "$builddir/seeds"
"$bindir/seedgen" "$builddir/seeds"
mkdir -p "$builddir/artifacts"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
ran=0
for bin in "$bindir"/fuzz_*; do
	if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then
		continue
	fi
	name=$(basename "$bin")
	corpus="$builddir/corpus/$name"
	mkdir -p "$corpus"
	# The first directory receives new inputs; the others are only read.
	dirs=("$corpus")
	for d in "$builddir/seeds/$name" "tests/fuzz/seeds/$name"; do
		[ -d "$d" ] && dirs+=("$d")
	done
	opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
	    -print_final_stats=1 -artifact_prefix="$builddir/artifacts/$name-")
	# Every target reads sealed files, so they share the format's tokens.
	opts+=(-dict=tests/fuzz/sealed.dict)
	echo "==> $name for ${secs}s (${dirs[*]})"
	ran=$((ran + 1))
	if ! "$bin" "${opts[@]}" "${dirs[@]}" 2>"$builddir/$name.log"; then
		tail -n 60 "$builddir/$name.log" >&2
		failed+=("$name")
	else
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)' \
		    "$builddir/$name.log" || true
	fi
done

[ "$ran" -gt 0 ] || { echo "fuzz: no fuzz_* targets in $bindir" >&2; exit 1; }
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: FAILED: ${failed[*]} (inputs in $builddir/artifacts/)" >&2
	echo "fuzz: reproduce with $bindir/<target> $builddir/artifacts/<file>" >&2
	exit 1
fi
echo "fuzz: $ran targets ran ${secs}s each without findings"
