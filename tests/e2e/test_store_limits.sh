#!/usr/bin/env bash
# Per-user quota and maximum file size (ferryd.conf quota, max_file_size; docs/PROTOCOL.md
# 12.1): an upload that does not fit is refused with a one-line QUOTA error naming the
# bound, exit 1, nothing stored and no temporary left; replacing a file counts only the
# difference; an upload of unknown size is cut off as soon as it goes over; another user's
# quota is their own.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA"
server_add_user "$DATA" alice 'alice password'
server_add_user "$DATA" bob 'bob password'
server_conf "$DATA" quota 10M
server_conf "$DATA" max_file_size 4M
server_start "$DATA"
A=$T/home/alice
B=$T/home/bob
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
enroll_user "$B" bob 'bob password' >"$T/last.out" 2>"$T/last.err" || fail "enroll bob"
check
fa() { "$FERRY" "$1" --profile "$A" "${@:2}"; }
fb() { "$FERRY" "$1" --profile "$B" "${@:2}"; }

MiB=1048576
gen_file "$T/f3" $((3 * MiB)) 3
gen_file "$T/f4" $((4 * MiB)) 4
gen_file "$T/f5" $((4 * MiB + 1)) 5

no_temporaries() {
	[ -z "$(find "$DATA/objects/tmp" -type f)" ] || fail "temporary left in objects/tmp"
	check
}

# Over the maximum file size: refused before any byte is sent.
expect_exit 1 fa put "$T/f5"
expect_err "f5: over the maximum file size: 4194305 bytes, 4194304 allowed$"
fa ls >"$T/last.out" 2>&1 || fail "ls"
grep -qx f5 "$T/last.out" && fail "f5 listed"
no_temporaries
# Exactly the maximum is fine.
expect_ok fa put -q "$T/f4"

# The quota: 4 + 3 + 3 = 10 MiB fit, one more byte does not.
expect_ok fa put -q --as a "$T/f3"
expect_ok fa put -q --as b "$T/f3"
printf x >"$T/x"
expect_exit 1 fa put "$T/x"
expect_err "x: over the quota: 1 bytes, 0 allowed$"
no_temporaries
# Replacing a file counts only the difference: a (3 MiB) -> 3 MiB again is fine.
expect_ok fa put -q --as a "$T/f3"
# ... but 4 MiB in place of 3 MiB is not.
expect_exit 1 fa put --as a "$T/f4"
expect_err "a: over the quota: 4194304 bytes, 3145728 allowed$"
# Bob's quota is his own.
expect_ok fb put -q "$T/f4"

# Unknown size (a pipe): refused once it goes past what is left, and discarded.
expect_ok fa rm b
cat "$T/f4" "$T/f4" | fa put --as piped - >"$T/last.out" 2>"$T/last.err"
[ $? -eq 1 ] || fail "a pipe over the quota was stored"
check
expect_err "piped: over the quota: more than the 3145728 bytes allowed; discarded$"
fa ls >"$T/last.out" 2>&1 || fail "ls"
grep -qx piped "$T/last.out" && fail "piped listed"
no_temporaries
server_log_has 'put alice .*"piped": over the (maximum file size|quota)'
# ... while a pipe that fits is stored (the session goes on after the refusal, too).
head -c 1000 "$T/f4" | fa put -q --as small - >"$T/last.out" 2>"$T/last.err" || fail "small pipe"
check
expect_ok fa get -o "$T/small.out" small
cmp -s "$T/small.out" <(head -c 1000 "$T/f4") || fail "small differs"
check

pass
