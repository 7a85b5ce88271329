#!/usr/bin/env bash
# ferryd killed outright (SIGKILL to its whole process group: the listener and the session
# processes at once, as a crash or a power cut would) in the middle of an upload, then
# restarted on the same data directory:
# - an upload fed from a pipe (size unknown, held back at a known point so that the kill
#   lands mid-upload for certain): the client fails with a one-line error, exit 1; after the
#   restart nothing is listed under that name, its temporary is gone (a pipe cannot be
#   resumed, so nothing is kept), and no object file appeared;
# - an upload of a regular file (size known: the server keeps what arrived, for a resume):
#   cut off the same way; after the restart it is not listed either, what stays in
#   objects/tmp is its partial upload, and the same `ferry put` again resumes it, sending
#   only the rest;
# - throughout, the database passes SQLite's integrity check, every object file has its
#   row and every row its file, a file stored before the crash reads back intact, and a
#   fresh put (of the pipe's data, and of the regular file) completes and reads back
#   identical.
# Under the sanitizers (FERRY_SANITIZED=1) the file is 64 MiB instead of 256 MiB.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 is not installed (to check the database)"
command -v setsid >/dev/null 2>&1 || skip "setsid is not installed (util-linux)"
command -v pgrep >/dev/null 2>&1 || skip "pgrep is not installed (procps)"
command -v ps >/dev/null 2>&1 || skip "ps is not installed (procps)"

if [ "$FERRY_SANITIZED" = 1 ]; then MIB=64; else MIB=256; fi
SIZE=$((MIB * 1048576))
# The pipe delivers this much, then waits: the server gets most of it, never all the file.
HELD=$((SIZE / 4))

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" alice 'alice password'
server_start_group "$DATA"
A=$T/home/alice
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
check
# the server's port changes with every start: always name it
fa() { "$FERRY" "$1" --profile "$A" --server "$SERVER_ADDR" "${@:2}"; }

mkdir -p "$T/in" "$T/out"
gen_file "$T/in/before" 3000000 1
gen_file "$T/in/big" "$SIZE" 2
expect_ok fa put -q --as before "$T/in/before"

# tmp_bytes: the size of the largest file in objects/tmp (0 if none).
tmp_bytes() {
	local n
	n=$(find "$DATA/objects/tmp" -maxdepth 1 -type f -printf '%s\n' 2>/dev/null |
		sort -n | tail -n1)
	echo "${n:-0}"
}

# db_consistent: the database is sound and objects/ (not objects/tmp, which a crash may
# leave untidy until the next start) matches its rows.
db_consistent() {
	[ "$(sqlite3 "$DATA/ferry.db" 'PRAGMA integrity_check' 2>&1)" = ok ] ||
		fail "ferry.db fails its integrity check after the crash"
	[ "$(sqlite3 "$DATA/ferry.db" 'SELECT object FROM objects ORDER BY object')" = \
		"$(find "$DATA/objects" -maxdepth 1 -type f -printf '%f\n' | sort)" ] ||
		fail "object files and rows differ after the crash"
	check
}

# after_restart NAME: the checks once ferryd runs again on the data directory.
after_restart() {
	expect_ok fa ls
	grep -qxF -- "$1" "$T/last.out" && fail "the cut-off upload $1 is listed after the restart"
	grep -qx before "$T/last.out" || fail "'before' is not listed after the restart"
	check
	expect_store_consistent "$DATA"
	expect_ok fa get -o "$T/out/before" before
	expect_same "$T/in/before" "$T/out/before"
	rm -f "$T/out/before"
}

# ---- a piped upload, cut off by a crash ---------------------------------------------------------
object_files "$DATA" >"$T/objects.before"
{
	head -c "$HELD" "$T/in/big"
	while [ ! -e "$T/gate" ]; do sleep 0.05; done
	tail -c +$((HELD + 1)) "$T/in/big"
} 2>/dev/null | fa put -q --as piped - >"$T/piped.out" 2>"$T/piped.err" &
PUT_PID=$!
on_exit "touch $T/gate; kill -KILL $PUT_PID"
wait_until 120 eval '[ "$(tmp_bytes)" -ge $((HELD / 2)) ]' ||
	fail "the server never held half of the first $HELD bytes (has $(tmp_bytes))"
[ -n "$(session_pids)" ] || fail "no session process to kill"
note "ferryd killed with $(tmp_bytes) bytes of the piped upload in objects/tmp"
server_kill_group
touch "$T/gate"
wait "$PUT_PID"
status=$?
cp "$T/piped.err" "$T/last.err"
[ "$status" -eq 1 ] || fail "the cut-off put exited $status, not 1"
check
expect_err '^ferry: '
# no object file came of it, and the database is sound
[ "$(object_files "$DATA")" = "$(cat "$T/objects.before")" ] ||
	fail "an object file appeared for a cut-off upload"
check
db_consistent

server_start_group "$DATA"
server_log_has 'removed [1-9][0-9]* leftover file\(s\) of interrupted uploads'
after_restart piped
[ "$(tmp_bytes)" -eq 0 ] || fail "the piped upload's temporary survived the restart"
[ "$(sqlite3 "$DATA/ferry.db" "SELECT count(*) FROM partials")" -eq 0 ] ||
	fail "a piped upload, which cannot resume, is recorded as a partial"
check
# a fresh put of the same data under the same name
fa put -q --as piped - <"$T/in/big" >"$T/last.out" 2>"$T/last.err" || fail "fresh put of piped"
check
expect_ok fa get -o "$T/out/piped" piped
expect_same "$T/in/big" "$T/out/piped"
rm -f "$T/out/piped"
expect_ok fa ls --long
awk -v h="$(sha256_of "$T/in/big")" -v n="$SIZE" '$1 == h && $2 == n && $4 == "piped" { f = 1 }
	END { exit !f }' "$T/last.out" ||
	fail "ls --long: piped with the wrong SHA-256 or size: $(cat "$T/last.out")"
check

# ---- an upload of a regular file, cut off by a crash ------------------------------------------------
fa put -q --as big "$T/in/big" >"$T/big.out" 2>"$T/big.err" &
PUT_PID=$!
on_exit "kill -KILL $PUT_PID"
# no throttle here: kill as soon as a sixteenth has arrived, long before the end
i=0
while [ "$(tmp_bytes)" -lt $((SIZE / 16)) ]; do
	kill -0 "$PUT_PID" 2>/dev/null || break
	i=$((i + 1))
	[ "$i" -lt 60000 ] || fail "the upload of big never got going"
done
note "ferryd killed with $(tmp_bytes) bytes of the upload of big in objects/tmp"
server_kill_group
wait "$PUT_PID"
status=$?
cp "$T/big.err" "$T/last.err"
[ "$status" -ne 0 ] || fail "the upload of big finished before the crash (make it bigger)"
[ "$status" -eq 1 ] || fail "the cut-off put exited $status, not 1"
check
expect_err '^ferry: big: '
db_consistent

server_start_group "$DATA"
after_restart big
# what stays of it is a recorded partial upload (for a resume) or nothing
n_tmp=$(find "$DATA/objects/tmp" -mindepth 1 | wc -l)
n_rows=$(sqlite3 "$DATA/ferry.db" "SELECT count(*) FROM partials")
[ "$n_tmp" -le "$n_rows" ] || fail "$n_tmp temporaries for $n_rows partial rows"
check

# ---- the same put again resumes it: only the rest is sent ----------------------------------------
[ "$n_rows" -eq 1 ] && [ "$n_tmp" -eq 1 ] || fail "the partial upload of big was not kept"
check
expect_ok fa put --as big "$T/in/big"
grep -Eq '^big: resumed an interrupted upload: the first [1-9][0-9]* bytes were already stored$' \
	"$T/last.out" || fail "the put after the crash did not resume: $(cat "$T/last.out")"
server_log_has '"big": object [0-9a-f]{32}, resumed at [1-9][0-9]*, '
expect_ok fa get -o "$T/out/big" big
expect_same "$T/in/big" "$T/out/big"
rm -f "$T/out/big"
[ -z "$(find "$DATA/objects/tmp" -mindepth 1)" ] || fail "temporaries left after the put"
check
expect_store_consistent "$DATA"

# a clean stop leaves nothing running
server_stop
[ -z "$(group_pids "$SERVER_PID")" ] ||
	fail "processes left after ferryd stopped: $(group_pids "$SERVER_PID")"
check

expect_no_sanitizer_report
pass
