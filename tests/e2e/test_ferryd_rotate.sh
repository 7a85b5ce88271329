#!/usr/bin/env bash
# ferryd rotate-master-key: a new master.key, user keys re-wrapped, stored files still
# readable, and the old master key no longer accepted.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA"
server_add_user "$DATA" alice 'alice password'
server_start "$DATA"
P=$T/home/alice
expect_ok enroll_user "$P" alice 'alice password'

gen_file "$T/doc" 300000 7
expect_ok "$FERRY" put --profile "$P" "$T/doc"
cp "$DATA/master.key" "$T/master.old"

expect_ok "$FERRYD" rotate-master-key --data "$DATA"
grep -q '1 user key re-wrapped' "$T/last.out" || fail "rotation did not re-wrap alice's key: $(cat "$T/last.out")"
check
cmp -s "$DATA/master.key" "$T/master.old" && fail "master.key did not change"
[ "$(stat -c %a "$DATA/master.key")" = 600 ] || fail "master.key mode $(stat -c %a "$DATA/master.key")"
[ ! -e "$DATA/master.key.new" ] || fail "master.key.new left behind"
check

# The running server and a fresh one both read the file stored before the rotation.
expect_ok "$FERRY" get --profile "$P" -o "$T/back1" doc
expect_same "$T/doc" "$T/back1"
server_stop
server_start "$DATA"
expect_ok "$FERRY" get --profile "$P" --server "$SERVER_ADDR" -o "$T/back2" doc
expect_same "$T/doc" "$T/back2"

# The old master key is refused, with a message saying so.
server_stop
cp "$T/master.old" "$DATA/master.key"
expect_exit 1 "$FERRYD" rotate-master-key --data "$DATA"
expect_err "master"

expect_exit 2 "$FERRYD" rotate-master-key --data "$DATA" extra
pass
