#!/usr/bin/env bash
# ferry put / get / ls / rm against a live ferryd on loopback: round trips of several sizes
# (empty, one chunk, several chunks, standard input and output), ls --long against
# sha256sum, replacing a name, rm, one user never seeing another's files, and names the
# client and the server both refuse.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" alice 'alice password'
server_add_user "$DATA" bob 'bob password'
# the raw-protocol checks wait for the server to hang up on an idle session
server_conf "$DATA" idle_timeout 2
server_start "$DATA"

A=$T/home/alice
B=$T/home/bob
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
enroll_user "$B" bob 'bob password' >"$T/last.out" 2>"$T/last.err" || fail "enroll bob"
check
fa() { "$FERRY" "$1" --profile "$A" "${@:2}"; }
fb() { "$FERRY" "$1" --profile "$B" "${@:2}"; }

mkdir -p "$T/in" "$T/out" "$T/out2"

# ---- round trips of several sizes -----------------------------------------------------------
# 0, 1 byte, less than a chunk, exactly one chunk (1 MiB), one more byte, several chunks
SIZES="0 1 1000 1048576 1048577 3500000"
for size in $SIZES; do
	gen_file "$T/in/f$size" "$size" "$size"
	expect_ok fa put "$T/in/f$size"
	# not a terminal: one summary line per file with size, time and rate
	grep -Eq "^stored f$size: [0-9.]+ (B|KiB|MiB) in [0-9.]+ s \([0-9.]+ (B|KiB|MiB|GiB)/s\)\$" \
		"$T/last.out" || fail "put summary: $(cat "$T/last.out")"
	[ ! -s "$T/last.err" ] || fail "put wrote to stderr: $(cat "$T/last.err")"
	check
done
for size in $SIZES; do
	expect_ok fa get -O "$T/out" "f$size"
	expect_same "$T/in/f$size" "$T/out/f$size"
	grep -Eq "^fetched f$size: " "$T/last.out" || fail "get summary: $(cat "$T/last.out")"
	check
done
# several names in one command, into the current directory
(cd "$T/out2" && "$FERRY" get --profile "$A" f1 f1000 f0) >"$T/last.out" 2>"$T/last.err" ||
	fail "get of three names"
for size in 1 1000 0; do expect_same "$T/in/f$size" "$T/out2/f$size"; done
[ "$(grep -c '^fetched ' "$T/last.out")" -eq 3 ] || fail "three summaries expected"
check
# -o FILE, and -o - to standard output (the summary then goes to stderr)
expect_ok fa get -o "$T/out/renamed" f3500000
expect_same "$T/in/f3500000" "$T/out/renamed"
fa get -q -o - f1048577 >"$T/out/stdout" 2>"$T/last.err" || fail "get -o -"
expect_same "$T/in/f1048577" "$T/out/stdout"
[ ! -s "$T/last.err" ] || fail "get -q printed: $(cat "$T/last.err")"
check
fa get -o - f1000 >"$T/out/stdout" 2>"$T/last.err" || fail "get -o -"
expect_same "$T/in/f1000" "$T/out/stdout"
grep -q '^fetched f1000: ' "$T/last.err" || fail "summary not on stderr with -o -"
check
# several files in one put, --quiet prints nothing
gen_file "$T/in/x1" 5000 11
gen_file "$T/in/x2" 70000 12
expect_ok fa put -q "$T/in/x1" "$T/in/x2"
[ ! -s "$T/last.out" ] && [ ! -s "$T/last.err" ] || fail "put -q printed something"
check
expect_ok fa get -q -O "$T/out" x1 x2
expect_same "$T/in/x1" "$T/out/x1"
expect_same "$T/in/x2" "$T/out/x2"

# standard input, whose size is not known in advance (a pipe), under --as
gen_file "$T/in/piped" 2500000 13
cat "$T/in/piped" | fa put --as piped - >"$T/last.out" 2>"$T/last.err" || fail "put from a pipe"
check
expect_ok fa get -O "$T/out" piped
expect_same "$T/in/piped" "$T/out/piped"
# ... and an empty pipe
: | fa put --as emptypipe - >"$T/last.out" 2>"$T/last.err" || fail "put of an empty pipe"
expect_ok fa get -O "$T/out" emptypipe
[ -f "$T/out/emptypipe" ] && [ ! -s "$T/out/emptypipe" ] || fail "emptypipe is not empty"
check
# a name with spaces and UTF-8 stays as it is
NAME_UTF8='résumé 2026 (final).txt'
expect_ok fa put --as "$NAME_UTF8" "$T/in/f1000"
expect_ok fa get -O "$T/out" "$NAME_UTF8"
expect_same "$T/in/f1000" "$T/out/$NAME_UTF8"

# ---- ls -----------------------------------------------------------------------------------------
expect_ok fa ls
for size in $SIZES; do grep -qx "f$size" "$T/last.out" || fail "ls lacks f$size"; done
grep -qxF "$NAME_UTF8" "$T/last.out" || fail "ls lacks '$NAME_UTF8'"
[ "$(wc -l <"$T/last.out")" -eq $(( $(echo $SIZES | wc -w) + 5 )) ] ||
	fail "ls lists $(wc -l <"$T/last.out") names: $(cat "$T/last.out")"
# byte order
LC_ALL=C sort -c "$T/last.out" || fail "ls is not sorted"
check
for size in $SIZES; do
	want=$(sha256sum "$T/in/f$size" | cut -d' ' -f1)
	[ "$(ls_long_field "$A" "f$size" 1)" = "$want" ] ||
		fail "ls --long: sha256 of f$size is not $want: $(cat "$T/ls.out")"
	[ "$(ls_long_field "$A" "f$size" 2)" = "$size" ] || fail "ls --long: size of f$size"
	check
done
# the stored time is now-ish, ISO 8601 UTC
stored=$(ls_long_field "$A" f1 3)
[[ "$stored" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
	fail "ls --long time '$stored'"
diff=$(( $(date +%s) - $(date -d "$stored" +%s) ))
[ "$diff" -ge -5 ] && [ "$diff" -le 600 ] || fail "stored time $stored is ${diff}s off"
check
# an empty store lists nothing
expect_ok fb ls
[ ! -s "$T/last.out" ] || fail "bob's store is not empty: $(cat "$T/last.out")"
check

# ---- replacing a name -----------------------------------------------------------------------
gen_file "$T/in/v1" 300000 21
gen_file "$T/in/v2" 1200000 22
expect_ok fa put --as doc "$T/in/v1"
expect_ok fa put --as doc "$T/in/v2"
expect_ok fa get -o "$T/out/doc" doc
expect_same "$T/in/v2" "$T/out/doc"
[ "$(fa ls | grep -cx doc)" -eq 1 ] || fail "doc listed more than once"
[ "$(ls_long_field "$A" doc 1)" = "$(sha256_of "$T/in/v2")" ] || fail "doc's sha256 is v1's"
check
# the replaced object's file is gone: one object per name
n_objects=$(object_files "$DATA" | wc -l)
n_names=$(fa ls | wc -l)
[ "$n_objects" -eq "$n_names" ] || fail "$n_objects object files for $n_names names"
check
# an existing output file is replaced only by a verified copy
printf 'old\n' >"$T/out/doc"
expect_ok fa get -o "$T/out/doc" doc
expect_same "$T/in/v2" "$T/out/doc"

# ---- rm -------------------------------------------------------------------------------------
expect_ok fa rm doc
[ ! -s "$T/last.out" ] || fail "rm printed: $(cat "$T/last.out")"
fa ls | grep -qx doc && fail "doc still listed after rm"
check
expect_exit 1 fa get -o "$T/out/gone" doc
expect_err "^ferry: doc: no such file"
expect_no_output "$T/out/gone"
expect_exit 1 fa rm doc
expect_err "^ferry: doc: no such file"
[ "$(object_files "$DATA" | wc -l)" -eq $((n_objects - 1)) ] || fail "rm left the object file"
check
# several names: every existing one is removed, and the exit status says one was missing
expect_ok fa put -q --as r1 "$T/in/f1"
expect_ok fa put -q --as r2 "$T/in/f1"
expect_exit 1 fa rm r1 nonexistent r2
expect_err "nonexistent: no such file"
fa ls | grep -Eqx 'r1|r2' && fail "rm r1 nonexistent r2 left r1 or r2"
check

# ---- one user never sees another's files ----------------------------------------------------
expect_ok fb ls
[ ! -s "$T/last.out" ] || fail "bob sees: $(cat "$T/last.out")"
check
expect_exit 1 fb get -o "$T/out/stolen" f1000
expect_err "^ferry: f1000: no such file"
expect_no_output "$T/out/stolen"
expect_exit 1 fb rm f1000
expect_err "^ferry: f1000: no such file"
expect_ok fa get -o "$T/out/still" f1000
expect_same "$T/in/f1000" "$T/out/still"
# the same name is a different file for each user
expect_ok fb put --as f1000 "$T/in/x1"
expect_ok fb get -o "$T/out/bobs" f1000
expect_same "$T/in/x1" "$T/out/bobs"
expect_ok fa get -o "$T/out/alices" f1000
expect_same "$T/in/f1000" "$T/out/alices"
expect_ok fb ls
[ "$(cat "$T/last.out")" = f1000 ] || fail "bob's list: $(cat "$T/last.out")"
check

# ---- names ------------------------------------------------------------------------------------
# refused by the client before anything is sent: exit 2, nothing stored
LONG=$(head -c 256 /dev/zero | tr '\0' n)
for bad in '../x' 'a/b' '/etc/passwd' '.' '..' '' ' lead' 'trail ' $'ctl\001x' $'new\nline' \
	$'tab\tx' $'del\177x' "$LONG"; do
	expect_exit 2 fa put --as "$bad" "$T/in/f1"
	expect_err "not a valid name"
	expect_exit 2 fa get -o "$T/out/bad" "$bad"
	expect_err "not a valid name"
	expect_no_output "$T/out/bad"
	expect_exit 2 fa rm "$bad"
	expect_err "not a valid name"
done
# invalid UTF-8
expect_exit 2 fa put --as $'bad\xff\xfeutf8' "$T/in/f1"
expect_err "not a valid name"
# a base name that is not a valid name needs --as
cp "$T/in/f1" "$T/in/ trailing"
expect_exit 2 fa put "$T/in/ trailing"
expect_err "not a valid name.*--as"
# 255 bytes is fine
OK255=$(head -c 255 /dev/zero | tr '\0' n)
expect_ok fa put -q --as "$OK255" "$T/in/f1"
expect_ok fa get -o "$T/out/ok255" "$OK255"
expect_same "$T/in/f1" "$T/out/ok255"
expect_ok fa rm "$OK255"
# nothing was stored under a bad name, and the data directory has no path outside objects/
expect_ok fa ls
grep -Eq '/|^\.\.?$' "$T/last.out" && fail "a bad name was stored: $(cat "$T/last.out")"
[ ! -e "$DATA/x" ] && [ ! -e "$T/x" ] || fail "../x escaped"
check

# refused by the server too, for a client that does not check (raw protocol)
for bad in '../x' 'a/b' '..' $'c\001d' ' lead'; do
	{ wire_helo 2; wire_put "$bad" 1; } >"$T/wire.in"
	wire_session "$A/root.pem" "$T/wire.in" "$T/wire.out" -cert "$A/cert.pem" \
		-key "$A/key.pem"
	wire_frames "$T/wire.out" >"$T/frames"
	[ "$(sed -n 1p "$T/frames" | cut -d' ' -f1)" = HELO ] ||
		fail "raw PUTF '$bad': no HELO reply: $(cat "$T/frames")"
	[ "$(sed -n 2p "$T/frames" | cut -d' ' -f1)" = ERRR ] ||
		fail "raw PUTF '$bad' was not refused: $(cat "$T/frames")"
	[ "$(wire_errr_code "$T/wire.out" 1)" = 14 ] ||
		fail "raw PUTF '$bad': ERRR code $(wire_errr_code "$T/wire.out" 1), not 14 (NAME)"
	check
	{ wire_helo 2; wire_name_frame GETF "$bad"; } >"$T/wire.in"
	wire_session "$A/root.pem" "$T/wire.in" "$T/wire.out" -cert "$A/cert.pem" \
		-key "$A/key.pem"
	[ "$(wire_errr_code "$T/wire.out" 1)" = 14 ] ||
		fail "raw GETF '$bad': ERRR code $(wire_errr_code "$T/wire.out" 1), not 14 (NAME)"
	check
done

# ---- usage ----------------------------------------------------------------------------------
expect_exit 2 fa put
expect_err "no file given"
expect_exit 2 fa put -
expect_err "standard input needs a name"
expect_exit 2 fa put --as one "$T/in/f1" "$T/in/f0"
expect_err "--as names one file"
expect_exit 2 fa get
expect_err "no name given"
expect_exit 2 fa get -o "$T/out/a" f1 f0
expect_err "-o names one output"
expect_exit 2 fa get -o "$T/out/a" -O "$T/out" f1
expect_err "exclude"
expect_exit 2 fa rm
expect_err "no name given"
expect_exit 2 fa ls extra
expect_err "unexpected argument"
expect_exit 2 fa ls --server nonsense
expect_err "not a server address"
expect_ok "$FERRY" put --help
expect_ok "$FERRY" get --help
expect_ok "$FERRY" ls --help
expect_ok "$FERRY" rm --help
# no profile: a clear error naming enrolment
expect_exit 1 "$FERRY" ls --profile "$T/nowhere" --server "$SERVER_ADDR"
expect_err 'enroll'
# --server overrides the profile's; FERRY_HOME selects the profile
expect_ok env FERRY_HOME="$A" "$FERRY" ls --server "$SERVER_ADDR"
grep -qx f1 "$T/last.out" || fail "FERRY_HOME + --server: $(cat "$T/last.out")"
check
# a missing input file fails that file only; the others are stored; exit 1
expect_exit 1 fa put "$T/in/x1" "$T/in/missing" "$T/in/x2"
expect_err "missing"
grep -q '^stored x1: ' "$T/last.out" && grep -q '^stored x2: ' "$T/last.out" ||
	fail "the files around a missing one were not stored: $(cat "$T/last.out")"
check
# ---- progress ----------------------------------------------------------------------------------
# progress_lines: the drawings in $T/last.err, one per line.
progress_lines() { tr '\r' '\n' <"$T/last.err" | grep -v '^ *$'; }
gen_file "$T/in/prog" 3145728 31
expect_ok fa put --progress "$T/in/prog"
[ ! -s "$T/last.out" ] || fail "put --progress also printed a summary: $(cat "$T/last.out")"
[ "$(wc -l <"$T/last.err")" = 1 ] || fail "put progress takes more than one line"
progress_lines | tail -n 1 | grep -Eq 'prog .*3\.0 MiB.*100%' ||
	fail "put progress: $(cat "$T/last.err")"
check
expect_ok fa get --progress -o "$T/out/prog" prog
expect_same "$T/in/prog" "$T/out/prog"
progress_lines | tail -n 1 | grep -Eq 'prog .*3\.0 MiB.*100%' ||
	fail "get progress: $(cat "$T/last.err")"
check
# from a pipe: no total, no percent
cat "$T/in/prog" | fa put --progress --as prog2 - >"$T/last.out" 2>"$T/last.err" ||
	fail "put --progress from a pipe"
grep -q '%' "$T/last.err" && fail "percent shown for a pipe"
progress_lines | tail -n 1 | grep -Fq '3.0 MiB' || fail "pipe progress: $(cat "$T/last.err")"
check
# the last of --quiet and --progress wins
expect_ok fa put --progress -q --as prog3 "$T/in/prog"
[ ! -s "$T/last.out" ] && [ ! -s "$T/last.err" ] || fail "--progress -q printed something"
check
# a failure after progress was shown: the error is the last line, on a line of its own
expect_exit 1 fa get --progress -O "$T/out" prog nonexistent
tail -n 1 "$T/last.err" | grep -Eq '^ferry: nonexistent: no such file' ||
	fail "error not on its own last line: $(cat -A "$T/last.err")"
check
# on a terminal the bar is shown without asking
if command -v script >/dev/null && script -qec true /dev/null </dev/null >/dev/null 2>&1; then
	script -qec "$(printf '%q ' "$FERRY" put --profile "$A" --as prog4 "$T/in/prog")" \
		/dev/null </dev/null >"$T/tty.out" 2>&1 || fail "put on a terminal"
	tr '\r' '\n' <"$T/tty.out" | grep -Eq 'prog4 .*100%' ||
		fail "no progress bar on a terminal: $(cat -A "$T/tty.out")"
	grep -q '^stored ' "$T/tty.out" && fail "summary line on a terminal besides the bar"
	check
fi

# an unreachable server
server_stop
expect_exit 1 fa ls
expect_err "$SERVER_ADDR"

pass
