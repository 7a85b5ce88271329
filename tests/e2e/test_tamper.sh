#!/bin/bash
# Every kind of damage to a sealed file makes decryption fail with exit 1, a one-line
# error naming what was wrong (and where), and nothing at the output path: no file, no
# temporary. Each case is also run from a pipe to stdout, which must fail the same way.
. "$(dirname "$0")/lib.sh"

make_key p384 "$T/k"
make_key p384 "$T/other"
make_key x25519 "$T/x"
CS=1024

# 5 chunks: 4 full and a short final one (5000 = 4 * 1024 + 904).
gen_file "$T/pt" 5000 11
"$FERRY" encrypt -r "$T/k.pub" --chunk-size "$CS" -o "$T/ct" "$T/pt" 2>"$T/last.err" ||
	fail "encrypt"
HL=$(header_len "$T/ct")
FULL=$((CS + SEALED_TAG_LEN))
[ "$(nchunks "$T/ct")" = 5 ] || fail "expected 5 chunks, found $(nchunks "$T/ct")"
[ "$(file_size "$T/ct")" = $((HL + 5000 + 5 * SEALED_TAG_LEN)) ] || fail "layout"
# The untouched file decrypts (so each failure below is caused by the damage).
expect_ok "$FERRY" decrypt -i "$T/k" -o "$T/ok" "$T/ct"
expect_same "$T/pt" "$T/ok"

n=0
# must_fail FILE REGEX [IDENTITY-ARGS...]: decrypting FILE fails as described.
must_fail() {
	local file=$1 re=$2 dir
	shift 2
	[ $# -gt 0 ] || set -- -i "$T/k"
	n=$((n + 1))
	dir=$T/out-$n
	mkdir "$dir"
	expect_exit 1 "$FERRY" decrypt "$@" -o "$dir/plain" "$file"
	expect_err "^ferry: $file: .*$re"
	expect_dir_empty "$dir"
	# From a pipe to stdout: also exit 1 with the same diagnosis.
	"$FERRY" decrypt "$@" <"$file" >"$dir.stdout" 2>"$T/last.err"
	[ $? -eq 1 ] || fail "stdin: expected exit 1 for $file"
	expect_err "^ferry: stdin: .*$re"
	# Whatever reached stdout before the failure was authenticated: a prefix of pt.
	cmp -s "$dir.stdout" <(head -c "$(file_size "$dir.stdout")" "$T/pt") ||
		fail "unauthenticated bytes written to stdout for $file"
	check
}

# damaged NAME: a fresh copy of the good file to damage.
damaged() {
	cp "$T/ct" "$T/$1"
	echo "$T/$1"
}

# ---- identities ---------------------------------------------------------------------------
must_fail "$T/ct" 'no identity' -i "$T/other"
must_fail "$T/ct" 'no identity' -i "$T/x"
must_fail "$T/ct" 'no identity' -i "$T/x" -i "$T/other"

# ---- header -------------------------------------------------------------------------------
f=$(damaged magic); flip_bit "$f" 0
must_fail "$f" 'not a ferry'
f=$(damaged version); put_byte "$f" 7 2
must_fail "$f" 'version 2 at offset 6'
f=$(damaged version0); flip_bit "$f" 7
must_fail "$f" 'version 0'
f=$(damaged nonce); flip_bit "$f" 12 3
must_fail "$f" 'header.*(MAC|modified)'
f=$(damaged nonce-last); flip_bit "$f" 27 7
must_fail "$f" 'header.*(MAC|modified)'
f=$(damaged count0); flip_bit "$f" 29 0
must_fail "$f" 'stanza count 0 at offset 28'
f=$(damaged count3); flip_bit "$f" 29 1
must_fail "$f" 'header'
f=$(damaged count-big); put_byte "$f" 28 1
must_fail "$f" 'stanza count 257 at offset 28'
f=$(damaged stanza-type); put_byte "$f" 30 1
must_fail "$f" 'stanza type 1 at offset 30.*length'
f=$(damaged stanza-unknown); put_byte "$f" 30 99
must_fail "$f" 'no identity'
f=$(damaged stanza-len); flip_bit "$f" 32 0
must_fail "$f" 'header'
f=$(damaged stanza-len-big); put_byte "$f" 31 255
must_fail "$f" 'stanza .*offset 30'
f=$(damaged stanza-body); flip_bit "$f" 40 5
must_fail "$f" '(no identity|modified)'
f=$(damaged stanza-wrapped); flip_bit "$f" $((HL - SEALED_MAC_LEN - 1)) 0
must_fail "$f" '(no identity|modified)'
f=$(damaged mac); flip_bit "$f" $((HL - SEALED_MAC_LEN)) 0
must_fail "$f" "MAC at offset $((HL - SEALED_MAC_LEN)) does not verify"
f=$(damaged mac-last); flip_bit "$f" $((HL - 1)) 7
must_fail "$f" 'MAC.*does not verify'

# Absurd chunk sizes are refused before anything is allocated for them.
for cs in 4294967295 0 1023 $(((8 << 20) + 1)); do
	f=$(damaged "chunk-$cs"); put_u32 "$f" 8 "$cs"
	must_fail "$f" "chunk size $cs at offset 8"
done
# A valid but different chunk size breaks the MAC.
f=$(damaged chunk-2048); put_u32 "$f" 8 2048
must_fail "$f" 'MAC'
note "header damage detected"

# ---- payload ------------------------------------------------------------------------------
for i in 0 2 4; do
	f=$(damaged "chunk$i-body"); flip_bit "$f" $(($(chunk_offset "$f" $i) + 5)) 2
	must_fail "$f" "chunk $i at offset $(chunk_offset "$f" $i) does not verify"
done
f=$(damaged chunk1-tag); flip_bit "$f" $(($(chunk_offset "$f" 2) - 1)) 0
must_fail "$f" "chunk 1 at offset $(chunk_offset "$f" 1) does not verify"
f=$(damaged chunk1-tag-first); flip_bit "$f" $(($(chunk_offset "$f" 2) - SEALED_TAG_LEN)) 4
must_fail "$f" "chunk 1 at offset $(chunk_offset "$f" 1)"
f=$(damaged final-tag); flip_bit "$f" $(($(file_size "$f") - 1)) 7
must_fail "$f" "chunk 4 at offset $(chunk_offset "$f" 4) does not verify"

# Truncation: inside the header, right after it, mid-chunk, at a chunk boundary, in a tag.
for len in 1 20 $((SEALED_FIXED_LEN - 1)) $((HL - 1)); do
	head -c "$len" "$T/ct" >"$T/trunc-$len"
	must_fail "$T/trunc-$len" '(header.*truncated|truncated.*header)'
done
head -c 5 "$T/ct" >"$T/trunc-magic"
must_fail "$T/trunc-magic" '(not a ferry|truncated)'
head -c "$HL" "$T/ct" >"$T/trunc-hdr"
must_fail "$T/trunc-hdr" 'truncated.*no payload'
head -c $((HL + 10)) "$T/ct" >"$T/trunc-tiny"
must_fail "$T/trunc-tiny" 'chunk 0 at offset .*(truncated|shorter)'
head -c $(($(chunk_offset "$T/ct" 2) + 100)) "$T/ct" >"$T/trunc-mid"
must_fail "$T/trunc-mid" "chunk 2 at offset $(chunk_offset "$T/ct" 2)"
for i in 1 2 4; do
	head -c "$(chunk_offset "$T/ct" "$i")" "$T/ct" >"$T/trunc-at-$i"
	must_fail "$T/trunc-at-$i" "truncated: input ends after chunk $((i - 1))"
done
head -c $(($(file_size "$T/ct") - 1)) "$T/ct" >"$T/trunc-lastbyte"
must_fail "$T/trunc-lastbyte" 'chunk 4'

# Extension: a chunk appended, a few bytes appended.
f=$(damaged append-chunk); copy_range "$T/ct" "$(chunk_offset "$T/ct" 1)" "$FULL" >>"$f"
must_fail "$f" 'chunk 4'
f=$(damaged append-byte); printf 'x' >>"$f"
must_fail "$f" 'chunk 4'
# With a full final chunk, appended bytes are recognised as trailing data.
gen_file "$T/pt4k" 4096 12
"$FERRY" encrypt -r "$T/k.pub" --chunk-size "$CS" -o "$T/ct4k" "$T/pt4k" 2>"$T/last.err" ||
	fail "encrypt 4k"
expect_ok "$FERRY" decrypt -i "$T/k" -o "$T/ok4k" "$T/ct4k"
expect_same "$T/pt4k" "$T/ok4k"
cp "$T/ct4k" "$T/trail"; printf 'trailing' >>"$T/trail"
n=$((n + 1)); mkdir "$T/out-$n"
expect_exit 1 "$FERRY" decrypt -i "$T/k" -o "$T/out-$n/plain" "$T/trail"
expect_err 'trailing data after the final chunk'
expect_dir_empty "$T/out-$n"
cp "$T/ct4k" "$T/dup-last"; copy_range "$T/ct4k" "$(chunk_offset "$T/ct4k" 3)" "$FULL" >>"$T/dup-last"
n=$((n + 1)); mkdir "$T/out-$n"
expect_exit 1 "$FERRY" decrypt -i "$T/k" -o "$T/out-$n/plain" "$T/dup-last"
expect_err 'chunk (3|4)'
expect_dir_empty "$T/out-$n"

# Reordering: two chunks swapped; a chunk repeated in place of another.
f=$(damaged swap01)
copy_range "$T/ct" "$(chunk_offset "$T/ct" 0)" "$FULL" >"$T/c0"
copy_range "$T/ct" "$(chunk_offset "$T/ct" 1)" "$FULL" >"$T/c1"
splice "$f" "$(chunk_offset "$T/ct" 0)" "$T/c1"
splice "$f" "$(chunk_offset "$T/ct" 1)" "$T/c0"
must_fail "$f" "chunk 0 at offset $(chunk_offset "$T/ct" 0) does not verify"
f=$(damaged swap23)
copy_range "$T/ct" "$(chunk_offset "$T/ct" 2)" "$FULL" >"$T/c2"
copy_range "$T/ct" "$(chunk_offset "$T/ct" 3)" "$FULL" >"$T/c3"
splice "$f" "$(chunk_offset "$T/ct" 2)" "$T/c3"
splice "$f" "$(chunk_offset "$T/ct" 3)" "$T/c2"
must_fail "$f" "chunk 2 at offset $(chunk_offset "$T/ct" 2) does not verify"
f=$(damaged repeat); splice "$f" "$(chunk_offset "$T/ct" 2)" "$T/c1"
must_fail "$f" "chunk 2"
# A chunk removed from the middle.
{ head -c "$(chunk_offset "$T/ct" 1)" "$T/ct"; tail -c +$(($(chunk_offset "$T/ct" 2) + 1)) "$T/ct"; } >"$T/drop1"
must_fail "$T/drop1" "chunk 1"

# Splicing between two files for the same key and the same plaintext.
"$FERRY" encrypt -r "$T/k.pub" --chunk-size "$CS" -o "$T/ct2" "$T/pt" 2>"$T/last.err" ||
	fail "encrypt 2"
[ "$(header_len "$T/ct2")" = "$HL" ] || fail "header lengths differ"
f=$(damaged splice-chunk)
copy_range "$T/ct2" "$(chunk_offset "$T/ct2" 1)" "$FULL" >"$T/other-c1"
splice "$f" "$(chunk_offset "$T/ct" 1)" "$T/other-c1"
must_fail "$f" "chunk 1 at offset $(chunk_offset "$T/ct" 1) does not verify"
f=$(damaged splice-final)
tail -c $((5000 - 4 * CS + SEALED_TAG_LEN)) "$T/ct2" >"$T/other-last"
splice "$f" "$(chunk_offset "$T/ct" 4)" "$T/other-last"
must_fail "$f" "chunk 4 at offset $(chunk_offset "$T/ct" 4)"
# The other file's (intact) header on this file's payload.
{ head -c "$HL" "$T/ct2"; tail -c +$((HL + 1)) "$T/ct"; } >"$T/splice-header"
must_fail "$T/splice-header" "chunk 0 at offset $HL does not verify"
note "payload damage detected"

# ---- not ferry files at all -----------------------------------------------------------------
: >"$T/empty"
must_fail "$T/empty" '(truncated|empty)'
n=$((n + 1)); mkdir "$T/out-$n"
: | "$FERRY" decrypt -i "$T/k" -o "$T/out-$n/plain" 2>"$T/last.err" && fail "empty pipe decrypted"
expect_err 'stdin: .*(truncated|empty)'
expect_dir_empty "$T/out-$n"
gen_file "$T/random" 5000 99
must_fail "$T/random" 'not a ferry sealed file'
cp "$T/pt" "$T/plain-text"
must_fail "$T/plain-text" 'not a ferry'

# ---- passphrase files: an absurd scrypt work factor is refused before any work -----------
printf 'pw\n' >"$T/pw"
"$FERRY" encrypt --passphrase-file "$T/pw" --work-factor 10 --chunk-size "$CS" \
	-o "$T/ctp" "$T/pt" 2>"$T/last.err" || fail "encrypt with a passphrase"
LOG2N=$((SEALED_FIXED_LEN + 3 + 16))
[ "$(byte_at "$T/ctp" "$LOG2N")" = 10 ] || fail "log2n is not at offset $LOG2N"
for wf in 255 21 9 0; do
	cp "$T/ctp" "$T/wf-$wf"; put_byte "$T/wf-$wf" "$LOG2N" "$wf"
	must_fail "$T/wf-$wf" "scrypt work factor 2\\^$wf at offset $LOG2N" --passphrase-file "$T/pw"
done
# Within bounds but not what was written: the wrapped key does not open.
cp "$T/ctp" "$T/wf-11"; put_byte "$T/wf-11" "$LOG2N" 11
must_fail "$T/wf-11" '(wrong passphrase|modified)' --passphrase-file "$T/pw"
cp "$T/ctp" "$T/p-chunk"; flip_bit "$T/p-chunk" $(($(chunk_offset "$T/ctp" 1) + 3))
must_fail "$T/p-chunk" "chunk 1 at offset $(chunk_offset "$T/ctp" 1)" --passphrase-file "$T/pw"
cp "$T/ctp" "$T/p-mac"; flip_bit "$T/p-mac" $(($(header_len "$T/ctp") - 1))
must_fail "$T/p-mac" '(MAC|wrong passphrase|modified)' --passphrase-file "$T/pw"
# A passphrase offered for a file sealed to keys.
must_fail "$T/ct" 'encrypted to (public )?keys.*-i KEY' --passphrase-file "$T/pw"

pass
