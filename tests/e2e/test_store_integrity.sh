#!/usr/bin/env bash
# The store's integrity and secrecy at rest, through the real binaries: an object damaged
# on disk is never handed out as a file (get fails naming it, exit 1, no output left); the
# data directory holds neither the content nor the names of files inside object files; a
# revoked certificate cannot put.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" alice 'alice password'
server_add_user "$DATA" carol 'carol password'
server_start "$DATA"

A=$T/home/alice
C=$T/home/carol
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
enroll_user "$C" carol 'carol password' >"$T/last.out" 2>"$T/last.err" || fail "enroll carol"
check
fa() { "$FERRY" "$1" --profile "$A" "${@:2}"; }
fc() { "$FERRY" "$1" --profile "$C" "${@:2}"; }
mkdir -p "$T/in" "$T/out"

# ---- nothing of the content, the names or the sizes at rest ------------------------------
MARKER="ferry-at-rest-marker-$RANDOM$RANDOM"
SECRET_NAME="quarterly-$RANDOM$RANDOM-secret.txt"
{
	for i in $(seq 1 2000); do printf '%s line %d\n' "$MARKER" "$i"; done
	gen_data 1500000 5
	for i in $(seq 1 2000); do printf '%s tail %d\n' "$MARKER" "$i"; done
} >"$T/in/plain"
# compressible content too: the marker many times over, several chunks
for i in $(seq 1 120000); do printf '%s\n' "$MARKER"; done >"$T/in/repeated"
object_files "$DATA" >"$T/before"
expect_ok fa put --as "$SECRET_NAME" "$T/in/plain"
OBJ=$(new_object_file "$T/before" "$DATA")
expect_ok fa put --as repeated "$T/in/repeated"
expect_ok fa put --as "$MARKER" "$T/in/repeated"
# Neither the marker (content, and the name of a file) nor a file name anywhere in the data
# directory: objects, temporaries, keys, config, and the database with its log files
# (names, sizes and digests are sealed there, and the audit rows do not name files).
grep -r -a -l -F -- "$MARKER" "$DATA" >"$T/found" || true
[ ! -s "$T/found" ] || fail "the marker is in: $(cat "$T/found")"
check
grep -r -a -l -F -- "$SECRET_NAME" "$DATA" >"$T/found" || true
[ ! -s "$T/found" ] || fail "the name $SECRET_NAME is in: $(cat "$T/found")"
check
# ... nor the size of a file as a number in the database
sqlite3 "$DATA/ferry.db" .dump >"$T/dump" 2>/dev/null || fail "sqlite3 .dump"
grep -q -F -- "$(file_size "$T/in/plain")" "$T/dump" && fail "the size of plain is in the database"
check
# object files are named by random ids and readable by the server only
for f in $(object_files "$DATA"); do
	[[ "$(basename "$f")" =~ ^[0-9a-f]{32}$ ]] || fail "object file name $(basename "$f")"
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f")"
done
check
# the object is a sealed file that opens with neither the client's key nor the server's
expect_exit 1 "$FERRY" decrypt -i "$A/key.pem" -o "$T/out/direct" "$OBJ"
expect_no_output "$T/out/direct"
expect_exit 1 "$FERRY" decrypt -i "$DATA/server.key" -o "$T/out/direct" "$OBJ"
expect_no_output "$T/out/direct"
# and the round trip still works
expect_ok fa get -o "$T/out/plain" "$SECRET_NAME"
expect_same "$T/in/plain" "$T/out/plain"

# ---- a flipped byte in an object on disk -------------------------------------------------
gen_file "$T/in/victim" 3000000 7
object_files "$DATA" >"$T/before"
expect_ok fa put --as victim "$T/in/victim"
VICTIM=$(new_object_file "$T/before" "$DATA")
expect_ok fa get -o "$T/out/victim" victim
expect_same "$T/in/victim" "$T/out/victim"
rm -f "$T/out/victim"
cp "$VICTIM" "$T/victim.orig"
# in the payload, in the middle of the second chunk
flip_bit "$VICTIM" $(( $(header_len "$VICTIM") + 1048576 + 5000 )) 3
expect_exit 1 fa get -o "$T/out/victim" victim
expect_err "^ferry: victim: .*integrity"
expect_no_output "$T/out/victim"
# ... into a directory, and among other names: the others are fetched, exit 1
expect_exit 1 fa get -O "$T/out" repeated victim
expect_err "^ferry: victim: .*integrity"
expect_no_output "$T/out/victim"
expect_same "$T/in/repeated" "$T/out/repeated"
# ... the session goes on after the failure: a name after it is fetched too
rm -f "$T/out/repeated"
expect_exit 1 fa get -O "$T/out" victim repeated
expect_err "^ferry: victim: .*integrity"
expect_no_output "$T/out/victim"
expect_same "$T/in/repeated" "$T/out/repeated"
# ... and to standard output: the error is reported and the status is 1
fa get -q -o - victim >"$T/out/victim.stdout" 2>"$T/last.err"
[ $? -eq 1 ] || fail "get -o - of a damaged object did not exit 1"
expect_err "^ferry: victim: .*integrity"
# in the last chunk's tag
cp "$T/victim.orig" "$VICTIM"
flip_bit "$VICTIM" $(( $(file_size "$VICTIM") - 1 ))
expect_exit 1 fa get -o "$T/out/victim" victim
expect_err "^ferry: victim: .*integrity"
expect_no_output "$T/out/victim"
# in the header: the server cannot re-wrap it and refuses
cp "$T/victim.orig" "$VICTIM"
flip_bit "$VICTIM" $(( $(header_len "$VICTIM") - 1 ))
expect_exit 1 fa get -o "$T/out/victim" victim
expect_err "^ferry: victim: "
expect_no_output "$T/out/victim"
# truncated on disk
head -c 2000000 "$T/victim.orig" >"$VICTIM"
expect_exit 1 fa get -o "$T/out/victim" victim
expect_err "^ferry: victim: "
expect_no_output "$T/out/victim"
# restored, it reads again
cp "$T/victim.orig" "$VICTIM"
expect_ok fa get -o "$T/out/victim" victim
expect_same "$T/in/victim" "$T/out/victim"

# every operation is logged by the server, naming the user
server_log_has 'put .*alice.*victim'
server_log_has 'get .*alice.*victim'

# ---- a revoked certificate cannot put -----------------------------------------------------
expect_ok fc put --as before "$T/in/victim"
expect_ok "$FERRYD" cert revoke --data "$DATA" carol
object_files "$DATA" >"$T/before"
expect_exit 1 fc put --as after "$T/in/victim"
expect_err "server $SERVER_ADDR refused this certificate: .*revoked"
[ "$(object_files "$DATA" | comm -13 "$T/before" - | wc -l)" -eq 0 ] ||
	fail "a revoked certificate's put left an object"
check
expect_exit 1 fc get -o "$T/out/revoked" before
expect_err "revoked"
expect_no_output "$T/out/revoked"
expect_exit 1 fc ls
expect_err "revoked"
# alice is unaffected
expect_ok fa ls
grep -qx victim "$T/last.out" || fail "alice's list after carol's revocation"
check

pass
