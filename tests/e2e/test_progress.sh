#!/bin/bash
# The progress display: off by default when stderr is not a terminal, forced on with
# --progress and off with --quiet, redrawn at most about ten times a second, and always
# ended with a newline so that an error message starts on a line of its own.
. "$(dirname "$0")/lib.sh"

make_key p384 "$T/k"
SIZE=$((3 << 20))
gen_file "$T/pt" "$SIZE" 8

# Not a terminal: nothing at all on stderr.
expect_ok "$FERRY" encrypt -r "$T/k.pub" -o "$T/ct" "$T/pt"
[ ! -s "$T/last.err" ] || fail "encrypt printed on a non-terminal stderr"
expect_ok "$FERRY" decrypt -i "$T/k" -o "$T/out" "$T/ct"
[ ! -s "$T/last.err" ] || fail "decrypt printed on a non-terminal stderr"

# progress_lines: the drawings in $T/last.err, one per line.
progress_lines() { tr '\r' '\n' <"$T/last.err" | grep -v '^ *$'; }

# --progress with a known size: percent, the total, 100% at the end, a final newline.
for cmd in "encrypt -r $T/k.pub -o $T/ct2 $T/pt" "decrypt -i $T/k -o $T/out2 $T/ct"; do
	# shellcheck disable=SC2086
	expect_ok "$FERRY" $cmd --progress
	[ -s "$T/last.err" ] || fail "--progress printed nothing ($cmd)"
	[ "$(tail -c 1 "$T/last.err" | od -An -c | tr -d ' ')" = '\n' ] ||
		fail "progress does not end with a newline ($cmd)"
	[ "$(wc -l <"$T/last.err")" = 1 ] || fail "progress takes more than one line ($cmd)"
	progress_lines | tail -n 1 | grep -Eq '100%' || fail "no 100% at the end ($cmd): $(cat "$T/last.err")"
	progress_lines | tail -n 1 | grep -Fq '3.0 MiB' || fail "total size not shown ($cmd)"
	check
done
expect_same "$T/pt" "$T/out2"

# Unknown size (a pipe): bytes and rate, no percent.
gen_data "$SIZE" 8 | "$FERRY" encrypt -r "$T/k.pub" --progress >"$T/ct3" 2>"$T/last.err" ||
	fail "encrypt from a pipe with --progress"
[ -s "$T/last.err" ] || fail "--progress on a pipe printed nothing"
grep -q '%' "$T/last.err" && fail "percent shown for an input of unknown size"
progress_lines | tail -n 1 | grep -Fq '3.0 MiB' || fail "pipe: byte count not shown: $(cat "$T/last.err")"
check

# --quiet wins when last, --progress when last.
expect_ok "$FERRY" encrypt -r "$T/k.pub" --progress -q -o "$T/ct4" "$T/pt"
[ ! -s "$T/last.err" ] || fail "--progress --quiet printed something"
expect_ok "$FERRY" decrypt -i "$T/k" --progress --quiet -o "$T/out4" "$T/ct"
[ ! -s "$T/last.err" ] || fail "decrypt --progress --quiet printed something"
expect_ok "$FERRY" encrypt -r "$T/k.pub" -q --progress -o "$T/ct5" "$T/pt"
[ -s "$T/last.err" ] || fail "--quiet --progress printed nothing"

# A failure after progress was shown: the error is the last line, on a line of its own.
cp "$T/ct" "$T/bad"
flip_bit "$T/bad" $(($(file_size "$T/bad") - 10))
expect_exit 1 "$FERRY" decrypt -i "$T/k" --progress -o "$T/out6" "$T/bad"
tail -n 1 "$T/last.err" | grep -Eq '^ferry: .*does not verify' ||
	fail "error not on its own last line: $(cat -A "$T/last.err")"
expect_no_output "$T/out6"

# Redrawn at most about ten times a second: feed a pipe slowly for about 1.5 s.
start=$(date +%s%N)
{ gen_data $((1 << 20)) 1; sleep 0.5; gen_data $((1 << 20)) 2; sleep 0.5; gen_data $((1 << 20)) 3; sleep 0.5; } |
	"$FERRY" encrypt -r "$T/k.pub" --chunk-size 1K --progress >/dev/null 2>"$T/last.err" ||
	fail "slow pipe"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
draws=$(tr -cd '\r' <"$T/last.err" | wc -c)
[ "$draws" -ge 1 ] || fail "no drawing while the slow pipe ran"
[ "$draws" -le $(( elapsed_ms / 100 + 3 )) ] ||
	fail "$draws redraws in $elapsed_ms ms: more than ten a second"
check

pass
