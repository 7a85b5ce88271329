#!/usr/bin/env bash
# A full disk on the server is a clean, recoverable failure. With the data directory's
# objects/ on a small tmpfs (48 MiB), and then with the whole data directory on one (so
# that the database shares the full disk):
# - a put bigger than the room left (from a file, size known, and from a pipe, size not
#   known) fails with one line "ferry: NAME: ... storage full ...", exit status 1;
# - nothing is listed under that name, no temporary is left in objects/tmp, no partial
#   upload is recorded, the space is given back, and the data directory stays consistent
#   (every object file has its row and every row its file);
# - the server keeps serving: files stored before are fetched intact, and a small put
#   afterwards succeeds and reads back identical.
# Needs root (mount); skipped (77) when a tmpfs cannot be mounted here.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"
need_root "mounting a tmpfs"

ROOM=48m
BIG_MIB=64
mkdir -p "$T/in" "$T/out"
gen_file "$T/in/small" 1000000 1
gen_file "$T/in/small2" 1500000 2
gen_file "$T/in/big" $((BIG_MIB * 1048576)) 3
HAVE_SQLITE=1
command -v sqlite3 >/dev/null 2>&1 || { HAVE_SQLITE=0; note "sqlite3 missing: rows unchecked"; }

# tmp_files DATA: how many files are in DATA/objects/tmp.
tmp_files() { find "$1/objects/tmp" -mindepth 1 2>/dev/null | wc -l; }

# used_kib DIR: KiB in use on the file system holding DIR.
used_kib() { df -k --output=used "$1" | tail -n1 | tr -d ' '; }

# full_put_fails DATA PROFILE NAME MODE: a put of the big file as NAME fails cleanly for
# lack of space and leaves nothing behind; MODE is "file" or "pipe".
full_put_fails() {
	local data=$1 prof=$2 name=$3 mode=$4 before
	object_files "$data" >"$T/objects.before"
	if [ "$mode" = file ]; then
		expect_exit 1 "$FERRY" put --profile "$prof" --as "$name" "$T/in/big"
	else
		"$FERRY" put --profile "$prof" --as "$name" - <"$T/in/big" >"$T/last.out" \
			2>"$T/last.err"
		[ $? -eq 1 ] || fail "put of $name from a pipe on a full disk did not exit 1"
		check
	fi
	expect_err "^ferry: $name: .*storage full"
	# the server removes its temporary right after answering
	wait_until 10 eval '[ "$(tmp_files "$data")" -eq 0 ]' ||
		fail "temporaries left in objects/tmp: $(ls -l "$data/objects/tmp")"
	check
	"$FERRY" ls --profile "$prof" >"$T/ls.out" 2>"$T/last.err" || fail "ls after a full disk"
	grep -qxF -- "$name" "$T/ls.out" && fail "$name is listed after failing for lack of room"
	check
	[ "$(object_files "$data")" = "$(cat "$T/objects.before")" ] ||
		fail "object files changed: $(object_files "$data" | comm -3 "$T/objects.before" -)"
	check
	if [ "$HAVE_SQLITE" = 1 ]; then
		[ -z "$(sqlite3 "$data/ferry.db" "SELECT * FROM partials")" ] ||
			fail "a partial upload is still recorded, its file gone:" \
				"$(sqlite3 "$data/ferry.db" "SELECT * FROM partials")"
		check
		expect_store_consistent "$data"
	fi
	server_log_has "put alice from .*: failed: \"$name\": .*(No space left|storage full)"
}

# still_serves DATA PROFILE: files stored before read back; a new small put succeeds.
still_serves() {
	local data=$1 prof=$2
	kill -0 "$SERVER_PID" 2>/dev/null || fail "ferryd died on a full disk"
	expect_ok "$FERRY" get --profile "$prof" -o "$T/out/small" small
	expect_same "$T/in/small" "$T/out/small"
	expect_ok "$FERRY" put --profile "$prof" --as small2 "$T/in/small2"
	expect_ok "$FERRY" get --profile "$prof" -o "$T/out/small2" small2
	expect_same "$T/in/small2" "$T/out/small2"
	rm -f "$T/out/small" "$T/out/small2"
	[ "$HAVE_SQLITE" = 0 ] || expect_store_consistent "$data"
}

# ---- objects/ on a small file system ---------------------------------------------------------
DATA=$T/data1
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" alice 'alice password'
mount_tmpfs "$DATA/objects" "$ROOM"
server_start "$DATA"
A=$T/home1
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
check
expect_ok "$FERRY" put --profile "$A" --as small "$T/in/small"
USED=$(used_kib "$DATA/objects")
full_put_fails "$DATA" "$A" big file
# the room the failed upload took is given back
[ "$(used_kib "$DATA/objects")" -le $((USED + 64)) ] ||
	fail "$(used_kib "$DATA/objects") KiB used after the failure, $USED before"
check
full_put_fails "$DATA" "$A" bigpipe pipe
still_serves "$DATA" "$A"
# a failure after the last success is still clean: fill up again
full_put_fails "$DATA" "$A" big file
server_stop

# ---- the whole data directory on a small file system ------------------------------------------------
DATA=$T/data2
mount_tmpfs "$DATA" "$ROOM"
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" alice 'alice password'
server_start "$DATA"
A=$T/home2
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
check
expect_ok "$FERRY" put --profile "$A" --as small "$T/in/small"
full_put_fails "$DATA" "$A" big file
full_put_fails "$DATA" "$A" bigpipe pipe
still_serves "$DATA" "$A"
# the administration still works on the emptied-again disk
expect_ok "$FERRYD" user list --data "$DATA"
grep -q '^alice' "$T/last.out" || fail "user list: $(cat "$T/last.out")"
check
server_stop

expect_no_sanitizer_report
pass
