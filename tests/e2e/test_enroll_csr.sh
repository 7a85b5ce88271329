#!/usr/bin/env bash
# The server decides what a client certificate says: CSRs crafted with `openssl req` and
# sent over TLS with `openssl s_client` (the protocol's frames written byte by byte) ask
# for another name, for CA rights and for extra names; the certificate that comes back
# has none of it. CSRs with weak keys or broken signatures are refused with BAD_CSR.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_conf "$DATA" auth_max_failures 50
server_add_user "$DATA" bob 'bob password'
server_start "$DATA"

# make_csr KEYSPEC OUT.der [REQ-OPTION]...: a CSR (and OUT.key) from `openssl req`.
make_csr() {
	local spec=$1 out=$2
	shift 2
	openssl req -new -newkey "$spec" -nodes -keyout "$out.key" -outform DER -out "$out" \
		"$@" 2>"$T/last.err" || fail "openssl req -newkey $spec $*"
}

# enrol_raw CSR.der [USER] [PASSWORD]: HELO + ENRL over s_client; the answer in $T/answer.
enrol_raw() {
	{ wire_helo 1; wire_enrl "${2:-bob}" "${3:-bob password}" "$1"; } >"$T/request"
	wire_session "$DATA/ca.pem" "$T/request" "$T/answer"
	wire_frames "$T/answer" >"$T/frames"
	[ "$(head -n1 "$T/frames" | cut -d' ' -f1)" = HELO ] ||
		fail "no HELO answer: $(cat "$T/frames" "$T/answer.err")"
	check
}

# ---- a CSR asking for another name, CA rights and more ------------------------------------------
make_csr ec "$T/evil.der" -pkeyopt ec_paramgen_curve:P-384 \
	-subj "/CN=admin/O=Root Authority/OU=admins" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
	-addext "extendedKeyUsage=serverAuth,clientAuth,codeSigning" \
	-addext "subjectAltName=DNS:ferry.example,email:admin@example.com"
enrol_raw "$T/evil.der"
[ "$(sed -n 2p "$T/frames" | cut -d' ' -f1)" = CERT ] ||
	fail "no certificate for a P-384 CSR: $(cat "$T/frames")"
check
wire_frame_payload "$T/answer" 1 | tail -c +3 >"$T/evil-cert.der"
openssl x509 -inform DER -in "$T/evil-cert.der" -out "$T/evil-cert.pem" || fail "not a DER certificate"
openssl x509 -in "$T/evil-cert.pem" -noout -text >"$T/x509.txt"
grep -Eq 'Subject:.*CN *= *bob' "$T/x509.txt" || fail "subject is not CN=bob"
grep -Eq 'Subject:.*O *= *Acme Test' "$T/x509.txt" || fail "subject O is not the organisation"
grep -Eiq 'admin|Root Authority|ferry\.example|example\.com' "$T/x509.txt" &&
	fail "the certificate copied something from the CSR: $(grep -Ei 'admin|Root Authority|example' "$T/x509.txt")"
grep -q 'CA:FALSE' "$T/x509.txt" || fail "CA:TRUE granted"
grep -q 'CA:TRUE' "$T/x509.txt" && fail "CA:TRUE granted"
grep -Eq 'Certificate Sign|CRL Sign' "$T/x509.txt" && fail "keyCertSign granted"
grep -Eq 'Code Signing|TLS Web Server' "$T/x509.txt" && fail "extra extended key usage granted"
check
expect_ok openssl verify -CAfile "$DATA/ca.pem" -purpose sslclient "$T/evil-cert.pem"
# it is still the requester's key
[ "$(openssl x509 -in "$T/evil-cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256_of)" = \
	"$(openssl pkey -in "$T/evil.der.key" -pubout -outform DER | sha256_of)" ] ||
	fail "the certificate is not for the CSR's key"
check

# ---- weak or wrong keys, broken signatures: BAD_CSR (5) naming why ----------------------------
bad_csr() {
	local csr=$1 why=$2
	enrol_raw "$csr"
	[ "$(sed -n 2p "$T/frames" | cut -d' ' -f1)" = ERRR ] || fail "$csr accepted: $(cat "$T/frames")"
	[ "$(wire_errr_code "$T/answer" 1)" = 5 ] || fail "$csr: ERRR code $(wire_errr_code "$T/answer" 1), not BAD_CSR"
	tail -c +5 "$T/errr.payload" | grep -Eiq -- "$why" ||
		fail "$csr: message '$(tail -c +5 "$T/errr.payload")' does not match /$why/"
	check
}
make_csr rsa:2048 "$T/rsa2048.der" -subj "/CN=bob"
bad_csr "$T/rsa2048.der" '2048.*3072'
make_csr ec "$T/p256.der" -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=bob"
bad_csr "$T/p256.der" 'P-256|prime256v1|curve'
make_csr ed25519 "$T/ed25519.der" -subj "/CN=bob"
bad_csr "$T/ed25519.der" 'ED25519|type'
# a flipped bit in the signature (the last bytes of the DER)
cp "$T/evil.der" "$T/badsig.der"
flip_bit "$T/badsig.der" $(($(file_size "$T/badsig.der") - 3))
bad_csr "$T/badsig.der" 'signature|CSR'
printf 'not a CSR at all' >"$T/junk.der"
bad_csr "$T/junk.der" 'CSR'
server_log_has 'enrol.*bob'

# ---- the same request with the wrong password gets nothing --------------------------------------
enrol_raw "$T/evil.der" bob 'not the password'
[ "$(sed -n 2p "$T/frames" | cut -d' ' -f1)" = ERRR ] || fail "wrong password accepted"
[ "$(wire_errr_code "$T/answer" 1)" = 3 ] || fail "wrong password: ERRR code is not AUTH"
check

pass
