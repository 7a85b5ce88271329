#!/bin/bash
# encrypt then decrypt, for every recipient key type, at every size that sits on or next
# to a chunk boundary, through files and through pipes; cmp the result each time.
. "$(dirname "$0")/lib.sh"

for type in p384 x25519 rsa3072; do
	make_key "$type" "$T/$type"
done

# expected_size PLAINTEXT_SIZE CHUNK_SIZE HEADER_LEN: ciphertext length per docs/FORMAT.md.
expected_size() {
	local n=$(( ($1 + $2 - 1) / $2 ))
	[ "$n" -ge 1 ] || n=1
	echo $(( $3 + $1 + n * SEALED_TAG_LEN ))
}

# roundtrip TYPE SIZE CHUNK [ENCRYPT-OPTION]...: file to file, checking the layout too.
roundtrip() {
	local type=$1 size=$2 cs=$3 pt=$T/pt ct=$T/ct out=$T/out hl
	shift 3
	gen_file "$pt" "$size" "$size"
	rm -f "$ct" "$out"
	expect_ok "$FERRY" encrypt -r "$T/$type.pub" "$@" -o "$ct" "$pt"
	[ ! -s "$T/last.err" ] || fail "encrypt printed on stderr: $(cat "$T/last.err")"
	[ "$(chunk_size "$ct")" = "$cs" ] || fail "$type/$size: chunk size $(chunk_size "$ct") not $cs"
	[ "$(stanza_count "$ct")" = 1 ] || fail "$type/$size: stanza count"
	hl=$(header_len "$ct")
	[ "$(file_size "$ct")" = "$(expected_size "$size" "$cs" "$hl")" ] ||
		fail "$type/$size/$cs: ciphertext is $(file_size "$ct") bytes"
	expect_ok "$FERRY" decrypt -i "$T/$type" -o "$out" "$ct"
	[ ! -s "$T/last.err" ] || fail "decrypt printed on stderr: $(cat "$T/last.err")"
	expect_same "$pt" "$out"
}

for type in p384 x25519 rsa3072; do
	for size in 0 1 1023 1024 1025 2047 2048 2049 5000; do
		roundtrip "$type" "$size" 1024 --chunk-size 1024
	done
	for size in 0 1 $((1 << 20)) $(((1 << 20) - 1)) $(((1 << 20) + 1)) $((3 * (1 << 20) + 7)); do
		roundtrip "$type" "$size" $((1 << 20))
	done
	roundtrip "$type" 20000 4096 --chunk-size 4K
	roundtrip "$type" 20000 $((2 << 20)) --chunk-size 2M
	roundtrip "$type" 12345 1500 --chunk-size 1500
	note "$type: file round trips pass"
done

make_key rsa4096 "$T/rsa4096"
for size in 0 1 4096 9999; do
	roundtrip rsa4096 "$size" 4096 --chunk-size 4096
done
[ "$(u16_at "$T/ct" $((SEALED_FIXED_LEN + 1)))" = 512 ] || fail "rsa4096 stanza is not 512 bytes"
note "rsa4096: round trips pass"

# The largest chunk size allowed.
roundtrip x25519 $(( (8 << 20) + 3 )) $((8 << 20)) --chunk-size 8M

# Pipes: stdin to stdout, with and without an explicit "-".
for type in p384 x25519 rsa3072; do
	for size in 0 1 3000 $(((1 << 20) + 17)); do
		gen_file "$T/pt" "$size" 7
		gen_data "$size" 7 | "$FERRY" encrypt -r "$T/$type.pub" --chunk-size 1K |
			"$FERRY" decrypt -i "$T/$type" >"$T/out" 2>"$T/last.err" ||
			fail "$type/$size: pipe round trip failed"
		expect_same "$T/pt" "$T/out"
		"$FERRY" encrypt -r "$T/$type.pub" -o - - <"$T/pt" 2>"$T/last.err" |
			"$FERRY" decrypt -i "$T/$type" -o - - >"$T/out" 2>>"$T/last.err" ||
			fail "$type/$size: pipe round trip with '-' failed"
		expect_same "$T/pt" "$T/out"
	done
done
note "pipes pass"

# Mixed: a file in, a pipe out, and the reverse.
gen_file "$T/pt" 100000 9
"$FERRY" encrypt -r "$T/p384.pub" "$T/pt" >"$T/ct" 2>"$T/last.err" || fail "encrypt to stdout"
"$FERRY" decrypt -i "$T/p384" -o "$T/out" <"$T/ct" 2>"$T/last.err" || fail "decrypt from stdin"
expect_same "$T/pt" "$T/out"

# Each encryption is fresh: same input, same key, different bytes.
"$FERRY" encrypt -r "$T/p384.pub" -o "$T/ct2" "$T/pt" 2>"$T/last.err" || fail "encrypt again"
! cmp -s "$T/ct" "$T/ct2" || fail "two encryptions of the same file are identical"
check

# Output files get 0666 & ~umask, for both directions.
for mask in 022 077 002; do
	want=$(printf '%o' $(( 0666 & ~8#$mask )))
	rm -f "$T/ct" "$T/out"
	(umask "$mask" && "$FERRY" encrypt -r "$T/x25519.pub" -o "$T/ct" "$T/pt" &&
		"$FERRY" decrypt -i "$T/x25519" -o "$T/out" "$T/ct") 2>"$T/last.err" ||
		fail "round trip under umask $mask"
	[ "$(stat -c %a "$T/ct")" = "$want" ] || fail "umask $mask: ciphertext mode $(stat -c %a "$T/ct")"
	[ "$(stat -c %a "$T/out")" = "$want" ] || fail "umask $mask: plaintext mode $(stat -c %a "$T/out")"
	check
done

# An existing output file is replaced, and no temporary is left.
printf 'old contents\n' >"$T/out"
expect_ok "$FERRY" decrypt -i "$T/x25519" -o "$T/out" "$T/ct"
expect_same "$T/pt" "$T/out"
compgen -G "$T/*.ferry-tmp-*" >/dev/null && fail "temporary left behind"

# Decrypting in place: input and output the same path.
cp "$T/ct" "$T/inplace"
expect_ok "$FERRY" decrypt -i "$T/x25519" -o "$T/inplace" "$T/inplace"
expect_same "$T/pt" "$T/inplace"

pass
