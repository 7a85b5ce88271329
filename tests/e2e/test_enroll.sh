#!/usr/bin/env bash
# ferry enroll / ferry whoami against a live ferryd on loopback: enrolment, what the issued
# certificate says, the profile's files, refusals (wrong password, unknown or disabled
# user, rate limit), servers that must not be trusted (another CA, another host name) and
# revocation.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_conf "$DATA" cert_validity_days 30
server_conf "$DATA" auth_max_failures 50
server_add_user "$DATA" alice 'correct horse battery staple'
server_add_user "$DATA" bob 'b0b-s3cret pass'
server_add_user "$DATA" carol 'carol password'
expect_ok "$FERRYD" user disable --data "$DATA" carol
server_start "$DATA"

# ---- a successful enrolment ---------------------------------------------------------------
P=$T/home/alice
expect_ok enroll_user "$P" alice 'correct horse battery staple'
grep -q "enrolled as alice with server $SERVER_ADDR" "$T/last.out" ||
	fail "enroll did not report the identity: $(cat "$T/last.out")"
grep -Eq 'expires: .*\(30 days\)' "$T/last.out" || fail "enroll did not report the expiry"
check
[ "$(stat -c %a "$P")" = 700 ] || fail "profile directory mode $(stat -c %a "$P")"
[ "$(stat -c %a "$P/key.pem")" = 600 ] || fail "key.pem mode $(stat -c %a "$P/key.pem")"
check
expect_ok openssl pkey -in "$P/key.pem" -noout
expect_ok openssl verify -CAfile "$P/root.pem" -purpose sslclient "$P/cert.pem"
expect_ok openssl verify -CAfile "$DATA/ca.pem" "$P/cert.pem"
# root.pem is the CA given with --ca
[ "$(openssl x509 -in "$P/root.pem" -noout -fingerprint -sha256)" = \
	"$(openssl x509 -in "$DATA/ca.pem" -noout -fingerprint -sha256)" ] ||
	fail "root.pem is not the CA"
check
grep -qx "server = $SERVER_ADDR" "$P/profile.conf" || fail "profile.conf: $(cat "$P/profile.conf")"
check
# the certificate is for the key generated here
[ "$(openssl x509 -in "$P/cert.pem" -noout -pubkey | openssl pkey -pubin -outform DER | sha256_of)" = \
	"$(openssl pkey -in "$P/key.pem" -pubout -outform DER | sha256_of)" ] ||
	fail "cert.pem is not for key.pem"
check

openssl x509 -in "$P/cert.pem" -noout -text >"$T/x509.txt" || fail "openssl x509 -text"
grep -Eq 'Subject:.*CN *= *alice' "$T/x509.txt" || fail "subject is not CN=alice"
grep -q 'TLS Web Client Authentication' "$T/x509.txt" || fail "no clientAuth"
grep -q 'CA:FALSE' "$T/x509.txt" || fail "no CA:FALSE"
grep -q 'NIST CURVE: P-384' "$T/x509.txt" || fail "not a P-384 key"
check
nb=$(date -d "$(openssl x509 -in "$P/cert.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$P/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
span=$((na - nb))
# 30 days from config, plus at most a few minutes backdated for clock skew
[ "$span" -ge $((30 * 86400)) ] && [ "$span" -le $((30 * 86400 + 600)) ] ||
	fail "validity is $span s, not 30 days"
check
SERIAL=$(openssl x509 -in "$P/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
server_log_has 'enrol.*alice.*ok'

# ---- whoami ---------------------------------------------------------------------------------
expect_ok "$FERRY" whoami --profile "$P"
grep -qx 'identity: alice' "$T/last.out" || fail "whoami: $(cat "$T/last.out")"
grep -qi "serial: *$SERIAL" "$T/last.out" || fail "whoami does not show serial $SERIAL"
grep -Eq 'expires: .*\((29|30) days left\)' "$T/last.out" || fail "whoami: no days left"
grep -q 'key: *P-384' "$T/last.out" || fail "whoami: key type"
grep -q "server: *$SERVER_ADDR" "$T/last.out" || fail "whoami: server"
check
expect_ok env FERRY_HOME="$P" "$FERRY" whoami
grep -qx 'identity: alice' "$T/last.out" || fail "whoami with FERRY_HOME"
check
expect_ok "$FERRY" whoami --profile "$P" --check
grep -qx "server $SERVER_ADDR accepts this certificate as alice" "$T/last.out" ||
	fail "whoami --check: $(cat "$T/last.out")"
check
expect_exit 1 "$FERRY" whoami --profile "$T/nowhere"
expect_err 'enroll'
# a damaged profile.conf is named with its line
cp -r "$P" "$T/damaged"
printf '# comment\n\nserver = %s\nport = 1\n' "$SERVER_ADDR" >"$T/damaged/profile.conf"
expect_exit 1 "$FERRY" whoami --profile "$T/damaged"
expect_err "profile.conf:4: unknown key 'port'"
printf 'server = nowhere\n' >"$T/damaged/profile.conf"
expect_exit 1 "$FERRY" whoami --profile "$T/damaged"
expect_err "profile.conf:1: .*not HOST:PORT"
expect_exit 2 "$FERRY" whoami --profile "$P" --server 'bad address'
expect_err 'not a server address'

# ---- an existing identity is not replaced without --force -------------------------------------
cp "$P/cert.pem" "$T/alice-cert-1.pem"
expect_exit 1 enroll_user "$P" alice 'correct horse battery staple'
expect_err 'already holds.*--force'
expect_same "$P/cert.pem" "$T/alice-cert-1.pem"
expect_ok enroll_user "$P" alice 'correct horse battery staple' --force
cmp -s "$P/cert.pem" "$T/alice-cert-1.pem" && fail "--force did not replace the certificate"
check
SERIAL=$(openssl x509 -in "$P/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
# renewing: server and root come from the profile
expect_ok "$FERRY" enroll --profile "$P" --user alice --password-file "$T/pw.alice" --force
SERIAL=$(openssl x509 -in "$P/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')

# ---- RSA-3072 --------------------------------------------------------------------------------
expect_ok enroll_user "$T/home/bob" bob 'b0b-s3cret pass' --key-type rsa3072
openssl x509 -in "$T/home/bob/cert.pem" -noout -text >"$T/x509.txt" || fail "x509 -text"
grep -q 'Public-Key: (3072 bit)' "$T/x509.txt" || fail "not an RSA-3072 key"
grep -q 'Key Encipherment' "$T/x509.txt" || fail "RSA certificate without keyEncipherment"
grep -Eq 'Subject:.*CN *= *bob' "$T/x509.txt" || fail "subject is not CN=bob"
check
expect_ok openssl verify -CAfile "$T/home/bob/root.pem" -purpose sslclient "$T/home/bob/cert.pem"
expect_ok "$FERRY" whoami --profile "$T/home/bob" --check
grep -q 'key: *RSA-3072' "$T/last.out" || fail "whoami: RSA key type"
grep -q "accepts this certificate as bob" "$T/last.out" || fail "bob not accepted"
check
expect_exit 2 enroll_user "$T/home/x" bob 'b0b-s3cret pass' --key-type x25519
expect_err 'key type'

# ---- refusals ------------------------------------------------------------------------------
expect_exit 1 enroll_user "$T/home/x" alice 'wrong password'
expect_err '^ferry: enrolment refused: '
cp "$T/last.err" "$T/wrong-password.err"
expect_no_output "$T/home/x/key.pem"
expect_no_output "$T/home/x/cert.pem"
expect_exit 1 enroll_user "$T/home/x" mallory 'whatever'
expect_err '^ferry: enrolment refused: '
# no user enumeration: an unknown user gets exactly the wrong password's answer
expect_same "$T/last.err" "$T/wrong-password.err"
expect_exit 1 enroll_user "$T/home/x" carol 'carol password'
expect_err '^ferry: enrolment refused: .*disabled'
expect_no_output "$T/home/x/key.pem"
server_log_has 'enrol.*mallory'
server_log_has 'enrol.*carol'

# ---- servers not to trust --------------------------------------------------------------------
server_init "$T/other" --name "Evil Corp"
before=$(grep -c 'enrol.*alice' "$SERVER_LOG")
expect_exit 1 "$FERRY" enroll --profile "$T/home/x" --server "$SERVER_ADDR" \
	--ca "$T/other/ca.pem" --user alice --password-file "$T/pw.alice"
expect_err 'server certificate.*not issued by the CA'
expect_no_output "$T/home/x/key.pem"
# the client hung up in the handshake: no enrolment attempt reached the server
sleep 0.3
[ "$(grep -c 'enrol.*alice' "$SERVER_LOG")" = "$before" ] ||
	fail "an enrolment reached the server over an untrusted connection"
check

# a server whose certificate names only localhost, dialled as 127.0.0.1
MAIN_ADDR=$SERVER_ADDR MAIN_PID=$SERVER_PID MAIN_LOG=$SERVER_LOG MAIN_PORT=$SERVER_PORT
server_init "$T/lh" --name "Acme Test" --host localhost
server_add_user "$T/lh" dave 'dave password'
server_start "$T/lh"
expect_exit 1 "$FERRY" enroll --profile "$T/home/x" --server "$SERVER_ADDR" \
	--ca "$T/lh/ca.pem" --user dave --password-file "$T/pw.dave"
expect_err "server certificate is for localhost, not 127\.0\.0\.1"
expect_no_output "$T/home/x/key.pem"
# ... and dialled by its name it is fine
expect_ok "$FERRY" enroll --profile "$T/home/dave" --server "localhost:$SERVER_PORT" \
	--ca "$T/lh/ca.pem" --user dave --password-file "$T/pw.dave"
server_stop
SERVER_ADDR=$MAIN_ADDR SERVER_PID=$MAIN_PID SERVER_LOG=$MAIN_LOG SERVER_PORT=$MAIN_PORT

# ---- revocation --------------------------------------------------------------------------------
expect_ok "$FERRYD" cert revoke --data "$DATA" alice
expect_exit 1 "$FERRY" whoami --profile "$P" --check
expect_err "server $SERVER_ADDR refused this certificate: .*revoked"
expect_ok openssl crl -in "$DATA/crl.pem" -noout -text
grep -qi "serial number: *$SERIAL" "$T/last.out" ||
	fail "crl.pem does not list serial $SERIAL"
check
expect_ok openssl crl -in "$DATA/crl.pem" -noout -CAfile "$DATA/ca.pem"
# bob is unaffected, until his account is disabled
expect_ok "$FERRY" whoami --profile "$T/home/bob" --check
expect_ok "$FERRYD" user disable --data "$DATA" bob
expect_exit 1 "$FERRY" whoami --profile "$T/home/bob" --check
expect_err "server $SERVER_ADDR refused this certificate"
# whoami without --check still shows the identity
expect_ok "$FERRY" whoami --profile "$P"
grep -qx 'identity: alice' "$T/last.out" || fail "whoami after revocation"
check

# ---- rate limit (a server with the default limits) ---------------------------------------------
server_stop
server_init "$T/rl"
server_add_user "$T/rl" erin 'erin password'
server_start "$T/rl"
DATA=$T/rl
for i in 1 2 3 4 5; do
	expect_exit 1 enroll_user "$T/home/x" erin "wrong $i"
	expect_err 'enrolment refused'
	grep -qi 'too many' "$T/last.err" && fail "rate limited after only $i failures"
done
expect_exit 1 enroll_user "$T/home/x" erin 'erin password'
expect_err 'enrolment refused: .*too many (failed )?attempts'
expect_no_output "$T/home/x/key.pem"
server_log_has 'enrol.*erin.*(rate|too many)'

pass
