#!/bin/bash
# ferry keygen: every key type, file modes, passphrase-protected keys, no overwriting.
. "$(dirname "$0")/lib.sh"

# What `openssl pkey -text` says about each type.
declare -A describes=(
	[p384]='ASN1 OID: secp384r1'
	[x25519]='X25519 Private-Key'
	[rsa3072]='Private-Key: \(3072 bit'
	[rsa4096]='Private-Key: \(4096 bit'
)

for type in p384 x25519 rsa3072 rsa4096; do
	k=$T/$type
	expect_ok "$FERRY" keygen --type "$type" -o "$k"
	expect_err "$k\.pub.*$type"
	[ "$(stat -c %a "$k")" = 600 ] || fail "$type: private key mode $(stat -c %a "$k")"
	[ "$(stat -c %a "$k.pub")" = 644 ] || fail "$type: public key mode $(stat -c %a "$k.pub")"
	grep -q -- '-----BEGIN PRIVATE KEY-----' "$k" || fail "$type: not PEM PKCS#8"
	grep -q -- '-----BEGIN PUBLIC KEY-----' "$k.pub" || fail "$type: not PEM SPKI"
	openssl pkey -in "$k" -noout 2>"$T/last.err" || fail "$type: openssl rejects $k"
	openssl pkey -pubin -in "$k.pub" -noout 2>"$T/last.err" || fail "$type: openssl rejects $k.pub"
	openssl pkey -in "$k" -noout -text 2>/dev/null | grep -Eq "${describes[$type]}" ||
		fail "$type: $k is not a $type key"
	# The public key is the private key's.
	openssl pkey -in "$k" -pubout 2>/dev/null | cmp -s - "$k.pub" ||
		fail "$type: $k.pub does not belong to $k"
	check
done

# Default type is p384; short options work.
expect_ok "$FERRY" keygen -o "$T/default"
openssl pkey -in "$T/default" -noout -text 2>/dev/null | grep -q 'secp384r1' ||
	fail "default key type is not p384"

# Modes do not depend on the umask.
for mask in 000 077 027; do
	rm -f "$T/m" "$T/m.pub"
	(umask "$mask" && "$FERRY" keygen -t x25519 -o "$T/m" 2>"$T/last.err") ||
		fail "keygen under umask $mask"
	if [ "$(stat -c %a "$T/m")" != 600 ] || [ "$(stat -c %a "$T/m.pub")" != 644 ]; then
		fail "umask $mask: modes $(stat -c %a "$T/m") $(stat -c %a "$T/m.pub")"
	fi
	check
done

# A passphrase-protected key that OpenSSL opens with the same passphrase.
printf 'correct horse battery\n' >"$T/pass"
printf 'wrong horse battery\n' >"$T/wrong"
for type in p384 x25519 rsa3072; do
	k=$T/enc-$type
	expect_ok "$FERRY" keygen -t "$type" --passphrase-file "$T/pass" -o "$k"
	grep -q -- '-----BEGIN ENCRYPTED PRIVATE KEY-----' "$k" || fail "$type: key not encrypted"
	[ "$(stat -c %a "$k")" = 600 ] || fail "$type: encrypted key mode"
	openssl pkey -in "$k" -passin "file:$T/pass" -noout 2>"$T/last.err" ||
		fail "$type: openssl cannot open the encrypted key with its passphrase"
	! openssl pkey -in "$k" -passin "file:$T/wrong" -noout 2>/dev/null ||
		fail "$type: openssl opens the encrypted key with a wrong passphrase"
	openssl pkey -in "$k" -passin "file:$T/pass" -pubout 2>/dev/null | cmp -s - "$k.pub" ||
		fail "$type: encrypted key and .pub do not match"
	check
done

# An empty passphrase file is refused before anything is written.
: >"$T/empty"
expect_exit 1 "$FERRY" keygen --passphrase-file "$T/empty" -o "$T/e"
expect_err 'empty'
expect_no_output "$T/e"
expect_no_output "$T/e.pub"
expect_exit 1 "$FERRY" keygen --passphrase-file "$T/no-such-file" -o "$T/e"
expect_err 'no-such-file'
expect_no_output "$T/e"
# No terminal to ask on: --passphrase alone fails and says what to pass.
expect_exit 1 setsid -w "$FERRY" keygen --passphrase -o "$T/e"
expect_err 'passphrase-file'
expect_no_output "$T/e"

# Refuse to overwrite either file, checking both before writing anything.
k=$T/keep
make_key p384 "$k"
cp "$k" "$T/keep.orig"
cp "$k.pub" "$T/keep.pub.orig"
expect_exit 1 "$FERRY" keygen -o "$k"
expect_err "$k.*exists.*--force"
expect_same "$k" "$T/keep.orig"
expect_same "$k.pub" "$T/keep.pub.orig"

rm "$k"
expect_exit 1 "$FERRY" keygen -o "$k"
expect_err "$k\.pub.*exists"
[ ! -e "$k" ] || fail "keygen wrote $k although $k.pub exists"
expect_same "$k.pub" "$T/keep.pub.orig"
check

cp "$T/keep.orig" "$k"
rm "$k.pub"
expect_exit 1 "$FERRY" keygen -o "$k"
expect_err "$k.*exists"
[ ! -e "$k.pub" ] || fail "keygen wrote $k.pub although $k exists"
cp "$T/keep.pub.orig" "$k.pub"

# --force replaces both, with a new pair.
expect_ok "$FERRY" keygen --force -t x25519 -o "$k"
! cmp -s "$k" "$T/keep.orig" || fail "--force did not replace $k"
! cmp -s "$k.pub" "$T/keep.pub.orig" || fail "--force did not replace $k.pub"
openssl pkey -in "$k" -pubout 2>/dev/null | cmp -s - "$k.pub" || fail "--force: pair mismatch"
[ "$(stat -c %a "$k")" = 600 ] || fail "--force: mode"
expect_ok "$FERRY" keygen -f -o "$k"
check

# An output directory that does not exist: nothing is created.
expect_exit 1 "$FERRY" keygen -o "$T/missing/dir/k"
expect_err 'missing/dir/k'
[ ! -e "$T/missing" ] || fail "keygen created a directory"
check

# Usage errors.
expect_exit 2 "$FERRY" keygen
expect_err '-o KEY.*ferry keygen --help'
expect_exit 2 "$FERRY" keygen -t ed448 -o "$T/u"
expect_err "unknown key type 'ed448'"
expect_exit 2 "$FERRY" keygen -o "$T/u" stray
expect_err "unexpected argument 'stray'"
expect_exit 2 "$FERRY" keygen --frobnicate -o "$T/u"
expect_err "unknown option '--frobnicate'"
expect_exit 2 "$FERRY" keygen -o
expect_err "'-o' needs a value"
expect_exit 2 "$FERRY" keygen -o -
expect_err 'file name'
expect_no_output "$T/u"
expect_ok "$FERRY" keygen --help
grep -q 'Usage: ferry keygen' "$T/last.out" || fail "keygen --help"
expect_ok "$FERRY" help keygen
grep -q -- '--passphrase-file' "$T/last.out" || fail "help keygen"

pass
