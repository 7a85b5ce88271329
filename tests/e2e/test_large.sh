#!/bin/bash
# A multi-GiB round trip: 2 GiB and a few bytes of generated data, streamed in from a pipe
# and verified by SHA-256 at the far end, so the plaintext is never stored (the ciphertext
# is, once, to exercise the staged output file on the way in and a file input on the way
# out). Under sanitizers the size shrinks to 64 MiB. This test asserts correctness only,
# never speed.
# "cat FILE | ferry" is deliberate: it makes the input a pipe, which cannot be looked ahead in.
# shellcheck disable=SC2002
. "$(dirname "$0")/lib.sh"

if [ "$FERRY_SANITIZED" = 1 ]; then
	SIZE=$(( (64 << 20) + 5 ))
else
	SIZE=$(( (2 << 30) + 5 ))
fi
CS=$((1 << 20))
need_kib=$(( (SIZE / 1024) * 2 + 65536 ))
avail_kib=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
[ "$avail_kib" -ge "$need_kib" ] || skip "needs $need_kib KiB free in $T, has $avail_kib"

make_key x25519 "$T/k"
want=$(gen_data "$SIZE" 2024 | sha256_of)

gen_data "$SIZE" 2024 | "$FERRY" encrypt -r "$T/k.pub" -o "$T/ct" 2>"$T/last.err" ||
	fail "encrypt of $SIZE bytes from a pipe"
hl=$(header_len "$T/ct")
chunks=$(( (SIZE + CS - 1) / CS ))
[ "$(file_size "$T/ct")" = $((hl + SIZE + chunks * SEALED_TAG_LEN)) ] ||
	fail "ciphertext is $(file_size "$T/ct") bytes, expected $((hl + SIZE + chunks * SEALED_TAG_LEN))"
[ "$(nchunks "$T/ct")" = "$chunks" ] || fail "chunk count"
check
note "encrypted $SIZE bytes into $chunks chunks"

got=$("$FERRY" decrypt -i "$T/k" "$T/ct" 2>"$T/last.err" | sha256_of) || fail "decrypt to stdout"
[ "$got" = "$want" ] || fail "decrypted data differs (sha256 $got, expected $want)"
check

# From a pipe, to a staged file; then the plaintext is hashed and removed.
"$FERRY" decrypt -i "$T/k" -o "$T/out" <"$T/ct" 2>"$T/last.err" || fail "decrypt to a file"
[ "$(file_size "$T/out")" = "$SIZE" ] || fail "decrypted file size"
[ "$(sha256_of "$T/out")" = "$want" ] || fail "decrypted file differs"
rm -f "$T/out"
check

# The last chunk damaged: the whole stream is rejected at its end, and nothing is left.
flip_bit "$T/ct" $(($(file_size "$T/ct") - 1))
mkdir "$T/o"
cat "$T/ct" | "$FERRY" decrypt -i "$T/k" -o "$T/o/out" 2>"$T/last.err"
[ $? -eq 1 ] || fail "damaged final chunk accepted"
expect_err "chunk $((chunks - 1)) at offset $(chunk_offset "$T/ct" $((chunks - 1))) does not verify"
expect_dir_empty "$T/o"

pass
