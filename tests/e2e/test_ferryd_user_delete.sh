#!/usr/bin/env bash
# ferryd user delete: usage errors and the refusal to go on without --yes or a terminal;
# on a terminal, any answer but "yes" deletes nothing. Deleting a user with stored files,
# a partial upload and an enrolled certificate: every object file and the temporary file
# of the user are gone (another user's are untouched), the account, its key and its rows
# are gone from the database, its certificates stay in the CRL and are refused on
# connect (also after the name is added again), `user list` no longer lists it, and the
# same name added again starts with an empty store. A second run is a one-line error,
# exit 1. A deletion interrupted half-way (files unlinked, key erased, rows still there)
# is finished by running it again.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"
HAVE_SQLITE=0
command -v sqlite3 >/dev/null && HAVE_SQLITE=1

DATA=$T/data
server_init "$DATA" --name "Delete Test"
# the commented config that init writes documents the store's limits
for line in '#quota = 0' '#max_file_size = 0' '#partial_expiry = 24h'; do
	grep -qx -- "$line" "$DATA/ferryd.conf" || fail "ferryd.conf lacks '$line'"
done
check
server_add_user "$DATA" alice 'alice password'
server_add_user "$DATA" bob 'bob password'
server_add_user "$DATA" carol 'carol password'
server_start "$DATA"
A=$T/home/alice
B=$T/home/bob
C=$T/home/carol
expect_ok enroll_user "$A" alice 'alice password'
expect_ok enroll_user "$B" bob 'bob password'
expect_ok enroll_user "$C" carol 'carol password'
fa() { "$FERRY" "$1" --profile "$A" "${@:2}"; }
fb() { "$FERRY" "$1" --profile "$B" "${@:2}"; }
fc() { "$FERRY" "$1" --profile "$C" "${@:2}"; }
fd() { "$FERRYD" "$@" --data "$DATA"; }

# sql QUERY: one value from the database (only with sqlite3).
sql() { sqlite3 "$DATA/ferry.db" "$1"; }

# cert_serial PROFILE: the serial of the profile's certificate, lower case, no leading 0s.
cert_serial() {
	openssl x509 -in "$1/cert.pem" -noout -serial | sed 's/^serial=//; s/^0*//' |
		tr 'A-F' 'a-f'
}

# in_crl SERIAL: the CRL lists SERIAL.
in_crl() {
	openssl crl -in "$DATA/crl.pem" -noout -text | grep -Eiq "serial number: 0*$1\$"
}

mkdir -p "$T/in" "$T/out"
gen_file "$T/in/small" 1000 1
gen_file "$T/in/big" 2500000 2
gen_file "$T/in/empty" 0 3
gen_file "$T/in/bobs" 70000 4

# ---- alice stores three files, bob one ----------------------------------------------------------
object_files "$DATA" >"$T/objs.0"
expect_ok fa put "$T/in/small" "$T/in/big" "$T/in/empty"
object_files "$DATA" >"$T/objs.1"
comm -13 "$T/objs.0" "$T/objs.1" >"$T/alice.objs"
[ "$(wc -l <"$T/alice.objs")" -eq 3 ] || fail "alice's puts made $(wc -l <"$T/alice.objs") files"
check
expect_ok fb put "$T/in/bobs"
object_files "$DATA" >"$T/objs.2"
BOB_OBJ=$(new_object_file "$T/objs.1" "$DATA")
check
ALICE_SERIAL=$(cert_serial "$A")
[ -n "$ALICE_SERIAL" ] || fail "no serial in alice's certificate"
# A copy of alice's profile, to try her certificate again after the name is re-added.
cp -a "$A" "$T/alice-old"

if [ "$HAVE_SQLITE" = 1 ]; then
	ALICE_ID=$(sql "SELECT id FROM users WHERE name = 'alice'")
	[ "$(sql "SELECT count(*) FROM user_keys WHERE user_id = $ALICE_ID")" -eq 1 ] ||
		fail "alice has no key row after storing files"
	check
	# A partial upload of alice (the row and its temporary file, as an upload cut off
	# mid-way leaves them).
	PART_OBJ=0123456789abcdef0123456789abcdef
	head -c 5000 /dev/urandom >"$DATA/objects/tmp/$PART_OBJ"
	# (name and size are sealed: random bytes stand in, user delete needs no key)
	sql "INSERT INTO partials (user_id, tag, object, meta, started, updated) VALUES
		($ALICE_ID, randomblob(32), '$PART_OBJ', randomblob(80), strftime('%s','now'),
		strftime('%s','now'))" || fail "cannot record a partial upload"
	check
else
	note "sqlite3 not installed: database rows and partial uploads not inspected"
fi

# ---- usage errors and refusals: nothing changes ---------------------------------------------
expect_exit 2 fd user delete
expect_err 'no user name given'
expect_exit 2 fd user delete Alice --yes
expect_err 'invalid user name'
expect_exit 2 fd user delete alice bob --yes
expect_err "unexpected argument 'bob'"
expect_exit 2 fd user list --yes
expect_err "unknown option '--yes'"
expect_exit 1 fd user delete nobody --yes
expect_err '^ferryd: no user nobody$'
# without a terminal and without --yes: refused, saying what to do
expect_exit 2 fd user delete alice </dev/null
expect_err 'not a terminal.*--yes'
# on a terminal (a pseudo-terminal made by script(1), driven as test_enroll_terminal does),
# an answer other than "yes" keeps everything
# tty_start CMD...: run CMD on a new terminal; its screen output accumulates in $T/screen.
tty_start() {
	local cmd
	cmd=$(printf '%q ' "$@")
	: >"$T/screen"
	coproc TTY { script -qfec "$cmd" /dev/null 2>&1; }
	TTY_PID_SAVED=$TTY_PID
	exec {TTY_IN}<&"${TTY[0]}" {TTY_OUT}>&"${TTY[1]}"
}
# tty_expect TEXT: read the screen until TEXT shows up (20 s at most).
tty_expect() {
	local buf='' c
	while IFS= read -r -d '' -n 1 -t 20 c <&"$TTY_IN"; do
		buf+=$c
		if [[ $buf == *"$1"* ]]; then
			printf '%s' "$buf" >>"$T/screen"
			return 0
		fi
	done
	printf '%s' "$buf" >>"$T/screen"
	fail "terminal never showed '$1'; screen: $(tr '\r' ' ' <"$T/screen")"
}
# tty_type LINE: type LINE and Enter.
tty_type() { printf '%s\r' "$1" >&"$TTY_OUT"; }
# tty_wait STATUS: read the rest of the screen and check the exit status.
tty_wait() {
	local status
	cat <&"$TTY_IN" >>"$T/screen"
	wait "$TTY_PID_SAVED"
	status=$?
	exec {TTY_IN}<&- {TTY_OUT}>&-
	[ "$status" -eq "$1" ] || fail "exit $status, expected $1; screen: $(tr '\r' ' ' <"$T/screen")"
	check
}
if command -v script >/dev/null && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	export SHELL=/bin/bash
	tty_start "$FERRYD" user delete alice --data "$DATA"
	tty_expect 'Delete user alice: revoke 1 valid certificate, remove 3 stored files'
	tty_expect 'Type "yes" to go on: '
	tty_type y
	tty_expect 'user alice not deleted'
	tty_wait 1
	# ... and "yes" goes ahead (dave has nothing but his account)
	server_add_user "$DATA" dave 'dave password'
	tty_start "$FERRYD" user delete dave --data "$DATA"
	tty_expect 'Type "yes" to go on: '
	tty_type yes
	tty_expect 'deleted the account'
	tty_wait 0
	grep -q 'deleted user dave:' "$T/screen" || fail "answer 'yes': $(cat "$T/screen")"
	expect_ok fd user list
	grep -q '^dave ' "$T/last.out" && fail "dave is still listed: $(cat "$T/last.out")"
	check
else
	note "no terminal can be made here: the confirmation prompt is not tried"
fi
expect_ok fa ls
[ "$(wc -l <"$T/last.out")" -eq 3 ] || fail "alice's files after refusals: $(cat "$T/last.out")"
object_files "$DATA" >"$T/objs.3"
cmp -s "$T/objs.2" "$T/objs.3" || fail "object files changed by a refused delete"
check

# ---- the deletion ------------------------------------------------------------------------------
expect_ok fd user delete alice --yes
grep -q '^deleted user alice:$' "$T/last.out" || fail "delete: $(cat "$T/last.out")"
grep -q '^  revoked 1 certificate ' "$T/last.out" || fail "delete: $(cat "$T/last.out")"
grep -q '^  removed 3 stored files (2501000 bytes)$' "$T/last.out" ||
	fail "delete: $(cat "$T/last.out")"
if [ "$HAVE_SQLITE" = 1 ]; then
	grep -q '^  removed 1 partial upload$' "$T/last.out" || fail "delete: $(cat "$T/last.out")"
fi
grep -q "^  erased the user's key$" "$T/last.out" || fail "delete: $(cat "$T/last.out")"
grep -q '^  deleted the account$' "$T/last.out" || fail "delete: $(cat "$T/last.out")"
check

# no object file of alice's is left; bob's is
while read -r f; do
	[ ! -e "$f" ] || fail "alice's object file $f is still there"
done <"$T/alice.objs"
[ -f "$BOB_OBJ" ] || fail "bob's object file was removed"
object_files "$DATA" >"$T/objs.4"
[ "$(cat "$T/objs.4")" = "$BOB_OBJ" ] || fail "object files left: $(cat "$T/objs.4")"
check
if [ "$HAVE_SQLITE" = 1 ]; then
	[ ! -e "$DATA/objects/tmp/$PART_OBJ" ] || fail "the partial upload's file is still there"
	for q in "SELECT count(*) FROM users WHERE name = 'alice' OR id = $ALICE_ID" \
		"SELECT count(*) FROM user_keys WHERE user_id = $ALICE_ID" \
		"SELECT count(*) FROM objects WHERE user_id = $ALICE_ID" \
		"SELECT count(*) FROM partials WHERE user_id = $ALICE_ID" \
		"SELECT count(*) FROM certs WHERE user_id = $ALICE_ID"; do
		[ "$(sql "$q")" -eq 0 ] || fail "left in the database: $q"
	done
	[ "$(sql "SELECT count(*) FROM user_keys k JOIN users u ON u.id = k.user_id
		WHERE u.name = 'bob'")" -eq 1 ] || fail "bob's key was lost"
	[ "$(sql "SELECT count(*) FROM audit WHERE event = 'user delete' AND user = 'alice'
		AND ok = 1")" -eq 1 ] || fail "no audit row for the deletion"
	check
fi
# her certificate is in the CRL and refused
in_crl "$ALICE_SERIAL" || fail "alice's serial $ALICE_SERIAL is not in the CRL"
check
expect_exit 1 fa ls
expect_err 'revoked|not issued'
server_log_has 'session - from .*: refused: REVOKED: certificate not issued by this server'
# user list has bob and carol only
expect_ok fd user list
grep -q '^alice ' "$T/last.out" && fail "user list still has alice: $(cat "$T/last.out")"
grep -q '^bob ' "$T/last.out" || fail "user list lost bob: $(cat "$T/last.out")"
check
# bob still has his file
expect_ok fb get -O "$T/out" bobs
expect_same "$T/in/bobs" "$T/out/bobs"
# a second run: a clear error
expect_exit 1 fd user delete alice --yes
expect_err '^ferryd: no user alice$'

# ---- the same name again: an empty store; the old certificate stays refused ----------------
server_add_user "$DATA" alice 'new alice password'
expect_ok enroll_user "$A" alice 'new alice password' --force
expect_ok fa ls
[ ! -s "$T/last.out" ] || fail "the new alice sees files: $(cat "$T/last.out")"
check
expect_exit 1 fa get -O "$T/out" small
expect_err 'small: no such file'
expect_exit 1 "$FERRY" ls --profile "$T/alice-old"
expect_err 'revoked|not issued'
expect_ok fa put "$T/in/small"
expect_ok fa get -o "$T/out/small2" small
expect_same "$T/in/small" "$T/out/small2"
in_crl "$ALICE_SERIAL" || fail "the old serial left the CRL when the name was re-added"
check

# ---- an interrupted deletion is finished by running it again ------------------------------------
object_files "$DATA" >"$T/objs.5"
expect_ok fc put "$T/in/small" "$T/in/big"
object_files "$DATA" | comm -13 "$T/objs.5" - >"$T/carol.objs"
[ "$(wc -l <"$T/carol.objs")" -eq 2 ] || fail "carol's puts made $(wc -l <"$T/carol.objs") files"
check
CAROL_SERIAL=$(cert_serial "$C")
# The state a crash leaves after the first steps: disabled, certificates revoked, one
# file unlinked (its row still there) and, when sqlite3 can do it, the key erased.
expect_ok fd user disable carol
expect_ok fd cert revoke carol
rm -f "$(head -n1 "$T/carol.objs")"
if [ "$HAVE_SQLITE" = 1 ]; then
	sql "DELETE FROM user_keys WHERE user_id = (SELECT id FROM users WHERE name = 'carol')" ||
		fail "cannot delete carol's key row"
fi
expect_ok fd user delete carol --yes
grep -q '^  revoked 0 certificates ' "$T/last.out" || fail "re-run: $(cat "$T/last.out")"
grep -q '^  removed 2 stored files ' "$T/last.out" || fail "re-run: $(cat "$T/last.out")"
if [ "$HAVE_SQLITE" = 1 ]; then
	grep -q "^  no user key left to erase$" "$T/last.out" ||
		fail "re-run: $(cat "$T/last.out")"
fi
grep -q '^  deleted the account$' "$T/last.out" || fail "re-run: $(cat "$T/last.out")"
while read -r f; do
	[ ! -e "$f" ] || fail "carol's object file $f is still there"
done <"$T/carol.objs"
in_crl "$CAROL_SERIAL" || fail "carol's serial is not in the CRL"
in_crl "$ALICE_SERIAL" || fail "alice's old serial left the CRL when it was rebuilt"
check
expect_exit 1 fc ls
expect_err 'revoked|not issued'

# ferryd starts again on the directory and finds nothing to sweep
server_stop
server_start "$DATA"
grep -q 'leftover' "$SERVER_LOG" && fail "files left over: $(cat "$SERVER_LOG")"
check
expect_ok fb get --server "$SERVER_ADDR" -o "$T/out/bobs2" bobs
expect_same "$T/in/bobs" "$T/out/bobs2"

pass
