#!/bin/bash
# ferryd administration: init (layout, modes, the root CA and server certificate as
# openssl sees them), re-init refused / --force, importing a CA, ca export, users (add,
# list, disable, enable, passwd, invalid names), config file errors, cert revoke and the
# CRL it publishes.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] || skip "FERRYD not set"
[ -x "$FERRYD" ] || fail "$FERRYD is not executable"
unset FERRY_DATA

D=$T/data
mode_of() { stat -c %a "$1"; }

# ---- init ------------------------------------------------------------------------------------
expect_ok "$FERRYD" init --data "$D" --name "Acme Corp" --host ferry.example.com --host 192.0.2.7 \
	--host localhost
for f in ca.pem ca.key server.pem server.key ferry.db ferryd.conf crl.pem; do
	[ -f "$D/$f" ] || fail "init did not create $f"
	grep -q "$f" "$T/last.out" || fail "init does not mention $f"
done
check
grep -q "ferryd user add" "$T/last.out" || fail "init does not print the next commands"
[ "$(mode_of "$D")" = 700 ] || fail "data directory mode $(mode_of "$D"), not 700"
for f in ca.key server.key; do
	[ "$(mode_of "$D/$f")" = 600 ] || fail "$f mode $(mode_of "$D/$f"), not 600"
done
[ "$(mode_of "$D/ferry.db")" = 600 ] || fail "ferry.db mode $(mode_of "$D/ferry.db")"
check
# The at-rest store: the master key (32 bytes, 0600) and the empty object directories.
[ -f "$D/master.key" ] || fail "init did not create master.key"
[ "$(mode_of "$D/master.key")" = 600 ] || fail "master.key mode $(mode_of "$D/master.key")"
[ "$(file_size "$D/master.key")" -eq 32 ] || fail "master.key is $(file_size "$D/master.key") bytes"
for dir in objects objects/tmp; do
	[ -d "$D/$dir" ] || fail "init did not create $dir/"
	[ "$(mode_of "$D/$dir")" = 700 ] || fail "$dir mode $(mode_of "$D/$dir"), not 700"
done
[ -z "$(find "$D/objects" -type f)" ] || fail "a fresh objects/ is not empty"
grep -q 'master.key' "$T/last.out" || fail "init does not mention master.key"
grep -q 'objects/' "$T/last.out" || fail "init does not mention objects/"
check

openssl x509 -in "$D/ca.pem" -noout -text >"$T/ca.txt" || fail "openssl cannot read ca.pem"
grep -q 'CA:TRUE' "$T/ca.txt" || fail "ca.pem is not CA:TRUE"
grep -A1 'Basic Constraints: critical' "$T/ca.txt" | grep -q 'CA:TRUE' ||
	fail "basicConstraints not critical"
grep -A1 'Key Usage: critical' "$T/ca.txt" | grep -q 'Certificate Sign, CRL Sign' ||
	fail "ca.pem keyUsage is not keyCertSign + cRLSign (critical)"
grep -q 'NIST CURVE: P-384' "$T/ca.txt" || fail "root key is not P-384"
grep -q 'Subject: CN *= *Acme Corp ferry root CA, O *= *Acme Corp' "$T/ca.txt" ||
	fail "root subject: $(grep Subject: "$T/ca.txt")"
check
expect_ok openssl verify -CAfile "$D/ca.pem" "$D/server.pem"
openssl x509 -in "$D/server.pem" -noout -text >"$T/server.txt"
grep -q 'DNS:ferry.example.com, IP Address:192.0.2.7, DNS:localhost' "$T/server.txt" ||
	fail "server SANs: $(grep -A1 'Alternative Name' "$T/server.txt")"
grep -q 'TLS Web Server Authentication' "$T/server.txt" || fail "server EKU"
grep -q 'CA:FALSE' "$T/server.txt" || fail "server certificate is not CA:FALSE"
grep -q 'Subject: CN *= *ferry.example.com' "$T/server.txt" || fail "server CN"
check
# The keys belong to the certificates.
[ "$(openssl pkey -in "$D/ca.key" -pubout)" = "$(openssl x509 -in "$D/ca.pem" -noout -pubkey)" ] ||
	fail "ca.key does not match ca.pem"
[ "$(openssl pkey -in "$D/server.key" -pubout)" = "$(openssl x509 -in "$D/server.pem" -noout -pubkey)" ] ||
	fail "server.key does not match server.pem"
check
grep -Eq '^org = Acme Corp$' "$D/ferryd.conf" || fail "ferryd.conf does not set org"
openssl crl -in "$D/crl.pem" -noout -text >"$T/crl.txt" || fail "openssl cannot read crl.pem"
grep -q 'No Revoked Certificates' "$T/crl.txt" || fail "fresh CRL is not empty"
expect_ok openssl crl -in "$D/crl.pem" -noout -CAfile "$D/ca.pem"
grep -q 'verify OK' "$T/last.err" "$T/last.out" || fail "CRL signature does not verify"

# Default hosts: localhost and 127.0.0.1.
expect_ok "$FERRYD" init --data "$T/d2"
openssl x509 -in "$T/d2/server.pem" -noout -ext subjectAltName >"$T/san.txt"
grep -q 'DNS:localhost, IP Address:127.0.0.1' "$T/san.txt" || fail "default SANs: $(cat "$T/san.txt")"
check
# $FERRY_DATA is the default data directory.
expect_ok env FERRY_DATA="$T/d2" "$FERRYD" ca export
expect_same "$T/last.out" "$T/d2/ca.pem"

# Re-init refused, and nothing changed; --force replaces the CA.
cp "$D/ca.pem" "$T/ca.before"
expect_exit 1 "$FERRYD" init --data "$D"
expect_err "already initialised.*--force"
expect_same "$D/ca.pem" "$T/ca.before"
expect_exit 2 "$FERRYD" init --data "$T/d3" --host 'bad_host!'
expect_err "bad_host"
[ -e "$T/d3" ] && fail "init with a bad --host created the directory"
cp "$D/master.key" "$T/master.before"
printf 'x' >"$D/objects/0123456789abcdef0123456789abcdef"
printf 'x' >"$D/objects/tmp/0123456789abcdef0123456789abcdef"
expect_ok "$FERRYD" init --data "$D" --force --name "Acme Corp"
cmp -s "$D/ca.pem" "$T/ca.before" && fail "--force kept the old CA"
cmp -s "$D/master.key" "$T/master.before" && fail "--force kept the old master key"
[ -z "$(find "$D/objects" -type f)" ] || fail "--force kept objects: $(find "$D/objects" -type f)"
check
expect_ok openssl verify -CAfile "$D/ca.pem" "$D/server.pem"

# ---- import a CA -----------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -days 30 \
	-keyout "$T/ext.key" -out "$T/ext.pem" -subj "/CN=Extco Root/O=Extco" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	2>/dev/null || fail "openssl could not make a CA"
expect_ok "$FERRYD" init --data "$T/imp" --ca-cert "$T/ext.pem" --ca-key "$T/ext.key"
expect_ok openssl verify -CAfile "$T/ext.pem" "$T/imp/server.pem"
[ "$(openssl x509 -in "$T/imp/ca.pem" -noout -fingerprint -sha256)" = \
  "$(openssl x509 -in "$T/ext.pem" -noout -fingerprint -sha256)" ] || fail "imported ca.pem differs"
grep -Eq '^org = Extco$' "$T/imp/ferryd.conf" || fail "org not taken from the imported CA"
[ "$(mode_of "$T/imp/ca.key")" = 600 ] || fail "imported ca.key mode"
check
expect_exit 2 "$FERRYD" init --data "$T/imp2" --ca-cert "$T/ext.pem"
expect_err "--ca-cert and --ca-key go together"
# A leaf certificate is no CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -days 30 \
	-keyout "$T/leaf.key" -out "$T/leaf.pem" -subj "/CN=leaf" \
	-addext basicConstraints=critical,CA:FALSE 2>/dev/null || fail "openssl leaf"
expect_exit 1 "$FERRYD" init --data "$T/imp3" --ca-cert "$T/leaf.pem" --ca-key "$T/leaf.key"
expect_err "leaf.pem"
# The key must match.
expect_exit 1 "$FERRYD" init --data "$T/imp4" --ca-cert "$T/ext.pem" --ca-key "$D/ca.key"
[ -e "$T/imp4/ca.pem" ] && fail "a failed import left ca.pem"
check

# ---- ca export -------------------------------------------------------------------------------
expect_ok "$FERRYD" ca export --data "$D"
expect_same "$T/last.out" "$D/ca.pem"
expect_exit 1 "$FERRYD" ca export --data "$T/nothing"
expect_err "no data directory.*ferryd init"
mkdir "$T/empty"
expect_exit 1 "$FERRYD" user list --data "$T/empty"
expect_err "not an initialised data directory"
expect_exit 2 "$FERRYD" ca frobnicate --data "$D"
expect_err "unknown subcommand 'frobnicate'"

# ---- users -----------------------------------------------------------------------------------
printf 'correct horse\n' >"$T/pw"
printf 'battery staple\n' >"$T/pw2"
expect_ok "$FERRYD" user add alice --data "$D" --password-file "$T/pw"
grep -q 'alice' "$T/last.out" || fail "user add says nothing"
expect_ok "$FERRYD" user add --password-file "$T/pw" bob.smith-2 --data "$D"
expect_exit 1 "$FERRYD" user add alice --data "$D" --password-file "$T/pw"
expect_err "alice already exists"
# No terminal and no file: an error, not a hang.
expect_exit 1 "$FERRYD" user add carol --data "$D" </dev/null
expect_err "no terminal.*--password-file"
long=$(printf 'a%.0s' $(seq 33))
for bad in '../x' 'a/b' "$(printf 'ctl\001x')" "$long" 'Alice' '' '.hidden' 'a b'; do
	expect_exit 2 "$FERRYD" user add "$bad" --data "$D" --password-file "$T/pw"
	expect_err "invalid user name"
done
expect_exit 2 "$FERRYD" user add "$long" --data "$D" --password-file "$T/pw"
expect_err "32"
expect_exit 2 "$FERRYD" user add "$(printf 'x\ny')" --data "$D" --password-file "$T/pw"
expect_err "invalid user name 'x\?y'"
expect_ok "$FERRYD" user add "$(printf 'a%.0s' $(seq 32))" --data "$D" --password-file "$T/pw"
# An empty password file is refused.
: >"$T/empty.pw"
expect_exit 1 "$FERRYD" user add dave --data "$D" --password-file "$T/empty.pw"
expect_exit 1 "$FERRYD" user add dave --data "$D" --password-file "$T/missing.pw"
expect_err "missing.pw"

expect_ok "$FERRYD" user list --data "$D"
grep -Eq '^alice +enabled +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]+ +0$' "$T/last.out" ||
	fail "user list: $(cat "$T/last.out")"
grep -q '^bob.smith-2 ' "$T/last.out" || fail "user list lacks bob.smith-2"
grep -q '^dave' "$T/last.out" && fail "a failed user add left dave"
check
expect_ok "$FERRYD" user disable alice --data "$D"
expect_ok "$FERRYD" user list --data "$D"
grep -Eq '^alice +disabled ' "$T/last.out" || fail "alice not disabled: $(cat "$T/last.out")"
check
expect_ok "$FERRYD" user enable alice --data "$D"
expect_ok "$FERRYD" user list --data "$D"
grep -Eq '^alice +enabled ' "$T/last.out" || fail "alice not enabled again"
check
expect_exit 1 "$FERRYD" user disable nobody --data "$D"
expect_err "no user nobody"
expect_exit 1 "$FERRYD" user passwd nobody --data "$D" --password-file "$T/pw"
expect_err "no user nobody"
# Passwords are stored only as scrypt records.
if command -v sqlite3 >/dev/null; then
	sqlite3 "$D/ferry.db" "SELECT pw_hash FROM users WHERE name = 'alice'" >"$T/h1"
	grep -Eq '^scrypt\$15\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$' "$T/h1" || fail "hash: $(cat "$T/h1")"
	expect_ok "$FERRYD" user passwd alice --data "$D" --password-file "$T/pw2"
	sqlite3 "$D/ferry.db" "SELECT pw_hash FROM users WHERE name = 'alice'" >"$T/h2"
	cmp -s "$T/h1" "$T/h2" && fail "user passwd did not change the record"
	grep -aq 'correct horse\|battery staple' "$D/ferry.db" && fail "a password is in ferry.db"
	check
else
	expect_ok "$FERRYD" user passwd alice --data "$D" --password-file "$T/pw2"
	note "sqlite3 not installed: password records not inspected"
fi
expect_exit 2 "$FERRYD" user frobnicate --data "$D"
expect_err "unknown subcommand 'frobnicate'"
expect_exit 2 "$FERRYD" user add --data "$D"
expect_err "no user name given"
expect_exit 2 "$FERRYD" user list extra --data "$D"
expect_err "unexpected argument 'extra'"

# ---- config file errors ----------------------------------------------------------------------
cp "$D/ferryd.conf" "$T/good.conf"
printf 'listen = 127.0.0.1:4433\nfrobnicate = 1\n' >"$T/bad1.conf"
expect_exit 1 "$FERRYD" user list --data "$D" --config "$T/bad1.conf"
expect_err "bad1.conf:2: .*frobnicate"
printf '# comment\n\nmax_sessions = many\n' >"$T/bad2.conf"
expect_exit 1 "$FERRYD" serve --data "$D" --config "$T/bad2.conf"
expect_err "bad2.conf:3: .*max_sessions"
printf 'handshake_timeout = 0\n' >"$T/bad3.conf"
expect_exit 1 "$FERRYD" serve --data "$D" --config "$T/bad3.conf"
expect_err "bad3.conf:1: .*handshake_timeout"
{ printf 'org = '; printf 'x%.0s' $(seq 1100); printf '\n'; } >"$T/bad4.conf"
expect_exit 1 "$FERRYD" serve --data "$D" --config "$T/bad4.conf"
expect_err "bad4.conf:1"
expect_exit 1 "$FERRYD" serve --data "$D" --config "$T/missing.conf"
expect_err "missing.conf"
# The default config is DIR/ferryd.conf.
cp "$T/bad1.conf" "$D/ferryd.conf"
expect_exit 1 "$FERRYD" user list --data "$D"
expect_err "ferryd.conf:2: .*frobnicate"
cp "$T/good.conf" "$D/ferryd.conf"
expect_ok "$FERRYD" user list --data "$D"

# ---- cert revoke -----------------------------------------------------------------------------
expect_exit 1 "$FERRYD" cert revoke nobody --data "$D"
expect_err "no user or certificate serial 'nobody'"
expect_exit 1 "$FERRYD" cert revoke 0123456789abcdef --data "$D"
expect_err "no user or certificate serial"
expect_exit 2 "$FERRYD" cert revoke --data "$D"
expect_err "no user name or serial"
expect_ok "$FERRYD" cert revoke alice --data "$D"
grep -q 'revoked 0 certificates of user alice' "$T/last.out" || fail "revoke: $(cat "$T/last.out")"
openssl crl -in "$D/crl.pem" -noout -text >/dev/null || fail "crl.pem unreadable after revoke"
check
# Revoking issued certificates is covered by the enrolment tests (test_ferryd_serve.sh
# and the client's); here a certificate is recorded through the database when sqlite3 is
# available, to see it in the CRL.
if command -v sqlite3 >/dev/null; then
	now=$(date +%s)
	sqlite3 "$D/ferry.db" "INSERT INTO certs (serial, user_id, not_before, not_after)
		SELECT 'abcdef0123456789abcdef0123456789', id, $now, $((now + 86400)) FROM users
		WHERE name = 'bob.smith-2'" || fail "sqlite3 insert"
	expect_ok "$FERRYD" user list --data "$D"
	grep -Eq '^bob.smith-2 +enabled +.* 1$' "$T/last.out" || fail "list count: $(cat "$T/last.out")"
	expect_ok "$FERRYD" cert revoke ABCDEF0123456789ABCDEF0123456789 --data "$D"
	grep -q 'revoked certificate abcdef0123456789abcdef0123456789 (user bob.smith-2)' "$T/last.out" ||
		fail "revoke serial: $(cat "$T/last.out")"
	openssl crl -in "$D/crl.pem" -noout -text >"$T/crl.txt" || fail "crl unreadable"
	grep -qi 'Serial Number: ABCDEF0123456789ABCDEF0123456789' "$T/crl.txt" ||
		fail "revoked serial not in the CRL: $(cat "$T/crl.txt")"
	expect_ok openssl crl -in "$D/crl.pem" -noout -CAfile "$D/ca.pem"
	expect_ok "$FERRYD" user list --data "$D"
	grep -Eq '^bob.smith-2 +enabled +.* 0$' "$T/last.out" || fail "revoked cert still counted"
	expect_ok "$FERRYD" cert revoke abcdef0123456789abcdef0123456789 --data "$D"
	grep -q 'already revoked' "$T/last.out" || fail "second revoke: $(cat "$T/last.out")"
fi

# ---- front door ------------------------------------------------------------------------------
expect_ok "$FERRYD" --help
for c in init ca user cert serve; do
	grep -q "^  $c " "$T/last.out" || fail "ferryd --help does not list $c"
done
for c in init ca user cert serve; do
	expect_ok "$FERRYD" "$c" --help
	grep -q "^Usage: ferryd $c" "$T/last.out" || fail "ferryd $c --help"
	expect_ok "$FERRYD" help "$c"
	grep -Fq -- "--data" "$T/last.out" || fail "ferryd $c --help does not mention --data"
done
expect_exit 2 "$FERRYD" frobnicate
expect_err "unknown command 'frobnicate'"
if [ -f "${FERRY_SOURCE:-/nonexistent}/docs/ferryd.8" ]; then
	for o in --data --config --name --host --ca-cert --ca-key --force --password-file --listen; do
		grep -Fq -- "${o//-/\\-}" "$FERRY_SOURCE/docs/ferryd.8" || fail "ferryd.8 lacks $o"
	done
	check
fi

pass
