#!/bin/bash
# Several recipients (each alone opens the file), several identities, and X.509
# certificates as recipients.
# "a && b || fail" is meant: fail when either step fails.
# shellcheck disable=SC2015
. "$(dirname "$0")/lib.sh"

for k in p384 x25519 rsa3072; do
	make_key "$k" "$T/$k"
done
make_key p384 "$T/stranger"
gen_file "$T/pt" 70000 3

# One file for three recipients of three types: each private key alone opens it.
expect_ok "$FERRY" encrypt -r "$T/p384.pub" -r "$T/x25519.pub" --recipient "$T/rsa3072.pub" \
	--chunk-size 16K -o "$T/ct" "$T/pt"
[ "$(stanza_count "$T/ct")" = 3 ] || fail "expected 3 stanzas, found $(stanza_count "$T/ct")"
types=
for i in 0 1 2; do
	types="$types $(byte_at "$T/ct" "$(stanza_offset "$T/ct" $i)")"
done
[ "$types" = " 2 1 3" ] || fail "stanza types are$types, expected 2 1 3"
for k in p384 x25519 rsa3072; do
	rm -f "$T/out"
	expect_ok "$FERRY" decrypt -i "$T/$k" -o "$T/out" "$T/ct"
	expect_same "$T/pt" "$T/out"
done
note "three recipients: each one alone decrypts"

# Someone else's key does not; nothing is written.
expect_exit 1 "$FERRY" decrypt -i "$T/stranger" -o "$T/out2" "$T/ct"
expect_err "$T/ct: .*(no identity|identit)"
expect_no_output "$T/out2"

# Several identities: the one that matches is found wherever it is in the list.
expect_ok "$FERRY" decrypt -i "$T/stranger" -i "$T/rsa3072" -o "$T/out3" "$T/ct"
expect_same "$T/pt" "$T/out3"
expect_ok "$FERRY" encrypt -r "$T/x25519.pub" -o "$T/ct1" "$T/pt"
expect_ok "$FERRY" decrypt -i "$T/stranger" -i "$T/p384" -i "$T/x25519" -o "$T/out4" "$T/ct1"
expect_same "$T/pt" "$T/out4"
expect_exit 1 "$FERRY" decrypt -i "$T/stranger" -i "$T/p384" -o "$T/out5" "$T/ct1"
expect_err 'identit'
expect_no_output "$T/out5"

# The same recipient twice still works (two stanzas).
expect_ok "$FERRY" encrypt -r "$T/p384.pub" -r "$T/p384.pub" -o "$T/ct2" "$T/pt"
[ "$(stanza_count "$T/ct2")" = 2 ] || fail "duplicate recipient: stanza count"
expect_ok "$FERRY" decrypt -i "$T/p384" -o "$T/out6" "$T/ct2"
expect_same "$T/pt" "$T/out6"

# Many recipients, up to the limit of 64 stanzas; one more is a usage error.
args=()
for i in $(seq 1 64); do args+=(-r "$T/x25519.pub"); done
expect_ok "$FERRY" encrypt "${args[@]}" -o "$T/ct64" "$T/pt"
[ "$(stanza_count "$T/ct64")" = 64 ] || fail "64 recipients: stanza count"
expect_ok "$FERRY" decrypt -i "$T/x25519" -o "$T/out64" "$T/ct64"
expect_same "$T/pt" "$T/out64"
expect_exit 2 "$FERRY" encrypt "${args[@]}" -r "$T/x25519.pub" -o "$T/ct65" "$T/pt"
expect_err 'more than 64'
expect_no_output "$T/ct65"

# Certificates as recipients: self-signed P-384 and RSA certificates, and an X25519 key
# (which cannot sign) in a certificate issued by the P-384 key.
openssl req -x509 -new -key "$T/p384" -subj /CN=p384-user -days 2 -out "$T/p384.crt" \
	2>"$T/last.err" || fail "openssl req (p384)"
openssl req -x509 -new -key "$T/rsa3072" -subj /CN=rsa-user -days 2 -out "$T/rsa3072.crt" \
	2>"$T/last.err" || fail "openssl req (rsa3072)"
openssl req -new -key "$T/p384" -subj /CN=x25519-user -out "$T/x.csr" 2>"$T/last.err" &&
	openssl x509 -req -in "$T/x.csr" -CA "$T/p384.crt" -CAkey "$T/p384" -CAcreateserial \
		-force_pubkey "$T/x25519.pub" -days 2 -out "$T/x25519.crt" 2>"$T/last.err" ||
	fail "openssl x509 -force_pubkey (x25519)"
grep -q 'BEGIN CERTIFICATE' "$T/x25519.crt" || fail "no x25519 certificate"
for k in p384 x25519 rsa3072; do
	rm -f "$T/ctc" "$T/outc"
	expect_ok "$FERRY" encrypt -r "$T/$k.crt" -o "$T/ctc" "$T/pt"
	expect_ok "$FERRY" decrypt -i "$T/$k" -o "$T/outc" "$T/ctc"
	expect_same "$T/pt" "$T/outc"
done
# A certificate and a bare key together.
expect_ok "$FERRY" encrypt -r "$T/rsa3072.crt" -r "$T/x25519.pub" -o "$T/ctm" "$T/pt"
expect_ok "$FERRY" decrypt -i "$T/rsa3072" -o "$T/outm" "$T/ctm"
expect_same "$T/pt" "$T/outm"
note "certificates as recipients pass"

# Recipients that are not usable keys: the error names the file, and nothing is written.
printf 'hello\n' >"$T/not-a-key"
expect_exit 1 "$FERRY" encrypt -r "$T/not-a-key" -o "$T/bad" "$T/pt"
expect_err "$T/not-a-key"
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" encrypt -r "$T/p384.pub" -r "$T/missing.pub" -o "$T/bad" "$T/pt"
expect_err "$T/missing.pub"
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" encrypt -r "$T/p384" -o "$T/bad" "$T/pt"
expect_err "$T/p384"
expect_no_output "$T/bad"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa2048" 2>/dev/null &&
	openssl pkey -in "$T/rsa2048" -pubout -out "$T/rsa2048.pub" 2>/dev/null ||
	fail "openssl genpkey rsa2048"
expect_exit 1 "$FERRY" encrypt -r "$T/rsa2048.pub" -o "$T/bad" "$T/pt"
expect_err "$T/rsa2048.pub: .*3072"
expect_no_output "$T/bad"
openssl genpkey -algorithm ED25519 -out "$T/ed" 2>/dev/null &&
	openssl pkey -in "$T/ed" -pubout -out "$T/ed.pub" 2>/dev/null || fail "openssl genpkey ed25519"
expect_exit 1 "$FERRY" encrypt -r "$T/ed.pub" -o "$T/bad" "$T/pt"
expect_err "$T/ed.pub: .*unsupported"
expect_no_output "$T/bad"
# An identity that is not a private key.
expect_exit 1 "$FERRY" decrypt -i "$T/p384.pub" -o "$T/bad" "$T/ct"
expect_err "$T/p384.pub"
expect_no_output "$T/bad"
expect_exit 1 "$FERRY" decrypt -i "$T/not-a-key" -o "$T/bad" "$T/ct"
expect_err "$T/not-a-key"
expect_no_output "$T/bad"

pass
