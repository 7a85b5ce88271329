#!/bin/bash
# Passphrase mode (scrypt), passphrase files, and passphrase-protected private keys.
# Work factors are kept small (2^10..2^12) except once for the default.
# "cat FILE | ferry" is deliberate: it makes the input a pipe, which cannot be looked ahead in.
# shellcheck disable=SC2002
. "$(dirname "$0")/lib.sh"

# byte offset of log2n: fixed part, stanza header (type + length), then the 16-byte salt.
LOG2N_OFFSET=$((SEALED_FIXED_LEN + 3 + 16))

printf 'tr0ub4dor &3 with spaces\n' >"$T/pass"
printf 'tr0ub4dor &3 with spaces\r\n' >"$T/pass-crlf"
printf 'tr0ub4dor &3 with spaces' >"$T/pass-nonl"
printf 'tr0ub4dor &3 with spaces\nsecond line is ignored\n' >"$T/pass-2lines"
printf 'tr0ub4dor &3 with spaceS\n' >"$T/wrong"

for size in 0 1 1024 5000; do
	gen_file "$T/pt" "$size" "$size"
	rm -f "$T/ct" "$T/out"
	expect_ok "$FERRY" encrypt --passphrase-file "$T/pass" --work-factor 10 --chunk-size 1K \
		-o "$T/ct" "$T/pt"
	[ "$(stanza_count "$T/ct")" = 1 ] || fail "passphrase: stanza count"
	[ "$(byte_at "$T/ct" "$SEALED_FIXED_LEN")" = 4 ] || fail "passphrase: not a scrypt stanza"
	[ "$(byte_at "$T/ct" "$LOG2N_OFFSET")" = 10 ] || fail "passphrase: work factor not stored"
	expect_ok "$FERRY" decrypt --passphrase-file "$T/pass" -o "$T/out" "$T/ct"
	expect_same "$T/pt" "$T/out"
done

# --passphrase together with --passphrase-file, and the other spellings of the same line.
gen_file "$T/pt" 3000 5
expect_ok "$FERRY" encrypt -p --passphrase-file "$T/pass-nonl" --work-factor 11 -o "$T/ct" "$T/pt"
[ "$(byte_at "$T/ct" "$LOG2N_OFFSET")" = 11 ] || fail "--work-factor 11 not stored"
for f in pass pass-crlf pass-nonl pass-2lines; do
	rm -f "$T/out"
	expect_ok "$FERRY" decrypt -p --passphrase-file "$T/$f" -o "$T/out" "$T/ct"
	expect_same "$T/pt" "$T/out"
done
note "passphrase files: line endings and extra lines handled"

# Pipes both ways, and a passphrase file that is itself a pipe.
gen_data 100000 6 | "$FERRY" encrypt --passphrase-file <(cat "$T/pass") --work-factor 12 |
	"$FERRY" decrypt --passphrase-file "$T/pass" >"$T/out" 2>"$T/last.err" ||
	fail "passphrase pipe round trip"
gen_data 100000 6 | cmp -s - "$T/out" || fail "passphrase pipe round trip differs"
check

# The default work factor is 18.
expect_ok "$FERRY" encrypt --passphrase-file "$T/pass" -o "$T/ct18" "$T/pt"
[ "$(byte_at "$T/ct18" "$LOG2N_OFFSET")" = 18 ] || fail "default work factor is not 18"

# Wrong passphrase: exit 1, named, nothing written.
expect_exit 1 "$FERRY" decrypt --passphrase-file "$T/wrong" -o "$T/bad" "$T/ct"
expect_err "$T/ct: .*wrong passphrase"
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" decrypt --passphrase-file "$T/wrong" -o "$T/bad" - <"$T/ct"
expect_err 'wrong passphrase'
expect_no_output "$T/bad"

# Bad passphrase files.
: >"$T/empty"
printf '\n' >"$T/emptyline"
head -c 1025 /dev/zero | tr '\0' a >"$T/long"
head -c 1024 /dev/zero | tr '\0' a >"$T/max"
for f in empty emptyline; do
	expect_exit 1 "$FERRY" encrypt --passphrase-file "$T/$f" -o "$T/bad" "$T/pt"
	expect_err "$T/$f: .*empty"
	expect_no_output "$T/bad"
done
expect_exit 1 "$FERRY" encrypt --passphrase-file "$T/long" -o "$T/bad" "$T/pt"
expect_err "$T/long: .*longer than 1024"
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" encrypt --passphrase-file "$T/nonexistent" -o "$T/bad" "$T/pt"
expect_err "$T/nonexistent"
expect_no_output "$T/bad"
expect_ok "$FERRY" encrypt --passphrase-file "$T/max" --work-factor 10 -o "$T/ctmax" "$T/pt"
expect_ok "$FERRY" decrypt --passphrase-file "$T/max" -o "$T/outmax" "$T/ctmax"
expect_same "$T/pt" "$T/outmax"

# No terminal and no file: say what to pass.
expect_exit 1 "$FERRY" encrypt --passphrase -o "$T/bad" "$T/pt"
expect_err 'passphrase-file'
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" decrypt --passphrase -o "$T/bad" "$T/ct"
expect_err 'passphrase-file'
expect_no_output "$T/bad"

# Mixing up the two modes is explained.
make_key x25519 "$T/k"
expect_exit 1 "$FERRY" decrypt -i "$T/k" -o "$T/bad" "$T/ct"
expect_err "$T/ct: .*passphrase.*--passphrase-file"
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" decrypt -i "$T/k" -o "$T/bad" <"$T/ct"
expect_err 'passphrase'
expect_no_output "$T/bad"
cat "$T/ct" | "$FERRY" decrypt -i "$T/k" -o "$T/bad" 2>"$T/last.err" && fail "pipe: key opened a passphrase file"
expect_err 'stdin: .*passphrase.*--passphrase-file'
expect_no_output "$T/bad"
expect_ok "$FERRY" encrypt -r "$T/k.pub" -o "$T/ctk" "$T/pt"
expect_exit 1 "$FERRY" decrypt --passphrase-file "$T/pass" -o "$T/bad" "$T/ctk"
expect_err "$T/ctk: .*-i KEY"
expect_no_output "$T/bad"
cat "$T/ctk" | "$FERRY" decrypt --passphrase-file "$T/pass" -o "$T/bad" 2>"$T/last.err" &&
	fail "pipe: passphrase opened a key file"
expect_err '-i KEY'
expect_no_output "$T/bad"
# Both kinds of identity given: the one that fits is used, for either kind of file.
expect_ok "$FERRY" decrypt -i "$T/k" --passphrase-file "$T/pass" -o "$T/o1" "$T/ct"
expect_same "$T/pt" "$T/o1"
expect_ok "$FERRY" decrypt -i "$T/k" --passphrase-file "$T/pass" -o "$T/o2" "$T/ctk"
expect_same "$T/pt" "$T/o2"
cat "$T/ct" | "$FERRY" decrypt -i "$T/k" --passphrase-file "$T/pass" >"$T/o3" 2>"$T/last.err" ||
	fail "pipe: key and passphrase given, passphrase file"
expect_same "$T/pt" "$T/o3"

# A regular file is looked at first, so only what can open it is asked for: no key
# passphrase for a passphrase file, no prompt (here: no terminal) for a file sealed to keys.
expect_ok "$FERRY" keygen -t x25519 --passphrase-file "$T/pass" -o "$T/locked"
expect_ok "$FERRY" decrypt -i "$T/locked" --passphrase-file "$T/pass" -o "$T/o5" "$T/ct"
expect_same "$T/pt" "$T/o5"
expect_ok "$FERRY" decrypt -i "$T/k" --passphrase -o "$T/o6" "$T/ctk"
expect_same "$T/pt" "$T/o6"

# Usage errors.
expect_exit 2 "$FERRY" encrypt -r "$T/k.pub" --passphrase -o "$T/bad" "$T/pt"
expect_err '-r and --passphrase'
expect_exit 2 "$FERRY" encrypt -r "$T/k.pub" --passphrase-file "$T/pass" -o "$T/bad" "$T/pt"
expect_err '-r and --passphrase'
expect_exit 2 "$FERRY" encrypt -r "$T/k.pub" --work-factor 12 -o "$T/bad" "$T/pt"
expect_err 'work-factor'
for wf in 9 21 abc -1 12x "" 0x10 " 12"; do
	expect_exit 2 "$FERRY" encrypt --passphrase-file "$T/pass" --work-factor "$wf" -o "$T/bad" "$T/pt"
	expect_err "work-factor"
done
expect_exit 2 "$FERRY" decrypt -o "$T/bad" "$T/ct"
expect_err 'no identity'
expect_no_output "$T/bad"

# Passphrase-protected private keys: FERRY_KEY_PASSPHRASE_FILE opens them.
for type in p384 x25519 rsa3072; do
	expect_ok "$FERRY" keygen -t "$type" --passphrase-file "$T/pass" -o "$T/ek-$type"
	expect_ok "$FERRY" encrypt -r "$T/ek-$type.pub" -o "$T/cte" "$T/pt"
	rm -f "$T/oute"
	FERRY_KEY_PASSPHRASE_FILE=$T/pass expect_ok "$FERRY" decrypt -i "$T/ek-$type" -o "$T/oute" "$T/cte"
	expect_same "$T/pt" "$T/oute"
done
# The wrong one: exit 1, naming the key; none: say what to set.
FERRY_KEY_PASSPHRASE_FILE=$T/wrong expect_exit 1 "$FERRY" decrypt -i "$T/ek-p384" -o "$T/bad" "$T/cte"
expect_err "$T/ek-p384: .*wrong passphrase"
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" decrypt -i "$T/ek-rsa3072" -o "$T/bad" "$T/cte"
expect_err "$T/ek-rsa3072: .*FERRY_KEY_PASSPHRASE_FILE"
expect_no_output "$T/bad"
FERRY_KEY_PASSPHRASE_FILE=$T/nonexistent expect_exit 1 "$FERRY" decrypt -i "$T/ek-rsa3072" -o "$T/bad" "$T/cte"
expect_err "FERRY_KEY_PASSPHRASE_FILE.*$T/nonexistent"
expect_no_output "$T/bad"
# An unencrypted key does not need the variable, even when it is set.
FERRY_KEY_PASSPHRASE_FILE=$T/wrong expect_ok "$FERRY" decrypt -i "$T/k" -o "$T/o4" "$T/ctk"
expect_same "$T/pt" "$T/o4"

pass
