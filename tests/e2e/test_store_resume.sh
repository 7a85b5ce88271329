#!/usr/bin/env bash
# Interrupted transfers resume (docs/PROTOCOL.md 12.2, 12.3):
# - a client killed mid-upload: the same `ferry put FILE` sends only the rest (the server
#   log says where it resumed), and the stored file is byte for byte the original;
# - a file changed after the interruption: the resume offer is refused by the client's
#   tags check and the file is sent whole; the stored file is the new content;
# - a partial upload is discarded by a put without resume (standard input) and expires
#   (partial_expiry) at the next put;
# - a client killed mid-download leaves OUT.ferry-part, never OUT; `get --continue`
#   fetches only the rest; a damaged partial fails the SHA-256 check and is removed.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"
command -v sqlite3 >/dev/null || skip "sqlite3 is not installed"

DATA=$T/data
server_init "$DATA"
server_add_user "$DATA" alice 'alice password'
server_start "$DATA"
A=$T/home/alice
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
check
fa() { "$FERRY" "$1" --profile "$A" "${@:2}"; }
# db SQL: run SQL on the server's database, waiting for its write lock
db() { sqlite3 -cmd '.timeout 10000' "$DATA/ferry.db" "$1" || fail "sqlite3: $1"; }
# in the background: exec, so that $! is ferry itself and can be killed
fa_bg() { exec "$FERRY" "$1" --profile "$A" "${@:2}"; }

# Large enough that an upload on loopback takes a while (the sanitizers slow it more).
if [ "$FERRY_SANITIZED" = 1 ]; then MIB=96; else MIB=384; fi
BIG=$T/big
gen_file "$BIG" $((MIB * 1048576)) 7

# tmp_bytes: the size of the one temporary in objects/tmp (0 if none).
tmp_bytes() {
	local f
	f=$(find "$DATA/objects/tmp" -maxdepth 1 -type f | head -n1)
	[ -n "$f" ] && stat -c %s "$f" 2>/dev/null || echo 0
}

# kill_when_grows FILE-FUNC MIN PID: SIGKILL PID once FILE-FUNC reports >= MIN bytes.
kill_when_grows() {
	local i
	for i in $(seq 1 3000); do
		[ "$($1)" -ge "$2" ] && break
		kill -0 "$3" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$3" 2>/dev/null
	wait "$3" 2>/dev/null
	return 0
}

# ---- put: client killed mid-upload, then resumed --------------------------------------------
fa_bg put -q --as big "$BIG" >"$T/put1.out" 2>&1 &
kill_when_grows tmp_bytes $((24 * 1048576)) $!
fa ls >"$T/last.out" 2>"$T/last.err" || fail "ls"
grep -qx big "$T/last.out" && fail "upload finished before it could be cut off (make the file bigger)"
check
server_log_has 'put alice .*"big": upload cut off after [0-9]+ bytes.*kept for a resume'
[ "$(db 'SELECT count(*) FROM partials')" -eq 1 ] || fail "no partial row"
check

expect_ok fa put --as big "$BIG"
grep -Eq '^big: resumed an interrupted upload: the first [0-9]+ bytes were already stored$' \
	"$T/last.out" || fail "no resume note: $(cat "$T/last.out")"
RESUMED=$(sed -n 's/^big: resumed an interrupted upload: the first \([0-9]*\) bytes.*/\1/p' "$T/last.out")
[ "$RESUMED" -gt 0 ] && [ $((RESUMED % 1048576)) -eq 0 ] || fail "resumed at $RESUMED"
server_log_has "put alice .*\"big\": object [0-9a-f]{32}, resumed at $RESUMED, "
[ "$(db 'SELECT count(*) FROM partials')" -eq 0 ] || fail "partial row left"
[ -z "$(find "$DATA/objects/tmp" -type f)" ] || fail "temporary left after the resumed put"
expect_ok fa get -o "$T/big.out" big
expect_same "$BIG" "$T/big.out"
rm -f "$T/big.out"
check

# ---- put: the file changed after the interruption: sent whole ------------------------------
fa_bg put -q --as big2 "$BIG" >"$T/put2.out" 2>&1 &
kill_when_grows tmp_bytes $((24 * 1048576)) $!
cp "$BIG" "$T/big2"
flip_bit "$T/big2" 100
expect_ok fa put --as big2 "$T/big2"
grep -q '^big2: the file changed since an interrupted upload: sent it whole$' "$T/last.out" ||
	fail "no restart note: $(cat "$T/last.out")"
expect_ok fa get -o "$T/big2.out" big2
expect_same "$T/big2" "$T/big2.out"
rm -f "$T/big2.out" "$T/big2"
check

# ---- a put without resume (standard input) discards the partial; expiry ------------------------
fa_bg put -q --as big3 "$BIG" >"$T/put3.out" 2>&1 &
kill_when_grows tmp_bytes $((24 * 1048576)) $!
server_log_has '"big3": upload cut off'
head -c 1000 "$BIG" | fa put -q --as big3 - >"$T/last.out" 2>"$T/last.err" || fail "put from stdin"
[ "$(db 'SELECT count(*) FROM partials')" -eq 0 ] || fail "partial kept"
[ -z "$(find "$DATA/objects/tmp" -type f)" ] || fail "temporary of the discarded partial left"
check
fa_bg put -q --as big4 "$BIG" >"$T/put4.out" 2>&1 &
kill_when_grows tmp_bytes $((24 * 1048576)) $!
server_log_has '"big4": upload cut off'
# Once the session let go of it (it holds a lock until then), make it two days old: the
# next put of anything expires it.
flock "$(find "$DATA/objects/tmp" -type f | head -n1)" true || fail "flock"
db "UPDATE partials SET updated = updated - 172800"
gen_file "$T/small" 5000 3
expect_ok fa put -q "$T/small"
server_log_has 'partial upload [0-9a-f]{32} expired'
[ -z "$(find "$DATA/objects/tmp" -type f)" ] || fail "temporary of the expired partial left"
expect_ok fa put -q --as big4 "$BIG"
grep -q resumed "$T/last.out" && fail "an expired partial was resumed"
check

# ---- get: killed mid-download, then --continue --------------------------------------------------
OUT=$T/dl/big
mkdir -p "$T/dl"
part_bytes() { stat -c %s "$OUT.ferry-part" 2>/dev/null || echo 0; }
fa_bg get -q -o "$OUT" big >"$T/get1.out" 2>&1 &
kill_when_grows part_bytes $((24 * 1048576)) $!
[ ! -e "$OUT" ] || fail "output appeared although the download was cut off"
HAVE=$(part_bytes)
[ "$HAVE" -gt 0 ] && [ "$HAVE" -lt $((MIB * 1048576)) ] || fail "partial of $HAVE bytes"
check
expect_ok fa get --continue -o "$OUT" big
grep -Eq '^big: resumed: the first [0-9]+ bytes were already there$' "$T/last.out" ||
	fail "no resume note: $(cat "$T/last.out")"
FROM=$(sed -n 's/^big: resumed: the first \([0-9]*\) bytes.*/\1/p' "$T/last.out")
[ "$FROM" -gt 0 ] && [ "$FROM" -le "$HAVE" ] || fail "resumed at $FROM with $HAVE held"
server_log_has "get alice .*\"big\": object [0-9a-f]{32}, resumed at $FROM, "
expect_same "$BIG" "$OUT"
[ ! -e "$OUT.ferry-part" ] || fail "partial left after the download"
check

# A partial that is not a prefix of the file: the SHA-256 check fails, nothing appears,
# and the useless partial is removed.
rm -f "$OUT"
head -c $((8 * 1048576 + 5)) "$BIG" >"$OUT.ferry-part"
flip_bit "$OUT.ferry-part" 4096
expect_exit 1 fa get --continue -o "$OUT" big
grep -q 'integrity' "$T/last.err" || fail "not an integrity error: $(cat "$T/last.err")"
[ ! -e "$OUT" ] && [ ! -e "$OUT.ferry-part" ] || fail "output or partial left after a failed check"
check
# A partial longer than the file: starts over.
cat "$T/small" "$T/small" >"$OUT.ferry-part"
expect_ok fa get --continue -o "$OUT" small
expect_same "$T/small" "$OUT"
# --continue cannot go to standard output.
expect_exit 2 fa get --continue -o - big
check

pass
