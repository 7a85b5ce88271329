#!/usr/bin/env bash
# ferryd under load: 200 clients at once (4 users, 50 each; max_sessions and
# max_sessions_per_user raised so that none is refused as BUSY), each putting a distinct
# 4 MiB random file and getting it back. Proves that concurrent sessions neither mix up
# nor lose nor damage data: every client exits 0, every fetched file is byte for byte its
# original, `ferry ls --long` lists each user's files (and only theirs) with the right
# SHA-256 and size, the data directory holds exactly one object file per stored file and
# no temporary, the server logged every put and get as ok, and no session process is left
# once the clients are gone. The wall-clock time is printed, never asserted.
# Under the sanitizers (FERRY_SANITIZED=1): 40 clients of 1 MiB. CLIENTS and SIZE_KIB in
# the environment override both.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

if [ "$FERRY_SANITIZED" = 1 ]; then
	: "${CLIENTS:=40}" "${SIZE_KIB:=1024}"
else
	: "${CLIENTS:=200}" "${SIZE_KIB:=4096}"
fi
USERS=4
SIZE=$((SIZE_KIB * 1024))
[ $((CLIENTS % USERS)) -eq 0 ] || fail "CLIENTS ($CLIENTS) must be a multiple of $USERS"
PER_USER=$((CLIENTS / USERS))

DATA=$T/data
server_init "$DATA" --name "Acme Test"
# Room for every client at once (and some), all of one user's at once too. A loaded
# machine may take a while to complete hundreds of TLS handshakes: generous timeouts, so
# that what is measured is correctness, not the speed of this machine.
server_conf "$DATA" max_sessions $((CLIENTS + 56))
server_conf "$DATA" max_sessions_per_user "$CLIENTS"
server_conf "$DATA" handshake_timeout 120
server_conf "$DATA" idle_timeout 300
for u in $(seq 0 $((USERS - 1))); do
	server_add_user "$DATA" "load$u" "load$u password"
done
server_start "$DATA"
for u in $(seq 0 $((USERS - 1))); do
	enroll_user "$T/home/load$u" "load$u" "load$u password" >"$T/last.out" 2>"$T/last.err" ||
		fail "enroll load$u"
done
check

# CLIENTS distinct files from one keystream, cut in pieces (one openssl for all of them)
mkdir -p "$T/in" "$T/out" "$T/st" "$T/log"
gen_data $((CLIENTS * SIZE)) 42 | split -b "$SIZE" -d -a 3 - "$T/in/f" ||
	fail "cannot generate the input files"
[ "$(find "$T/in" -type f | wc -l)" -eq "$CLIENTS" ] || fail "split made the wrong count"
check
# distinct indeed: as many different digests as files
(cd "$T/in" && sha256sum f*) >"$T/in.sha256"
[ "$(cut -d' ' -f1 "$T/in.sha256" | sort -u | wc -l)" -eq "$CLIENTS" ] ||
	fail "the input files are not all different"
check

# client I: as user I mod USERS, put f<I> under the name load-<I>, then get it back; the
# exit status of each step goes to $T/st/<I>.
client() {
	local i=$1 f prof
	f=$(printf 'f%03d' "$i")
	prof=$T/home/load$((i % USERS))
	"$FERRY" put -q --profile "$prof" --as "load-$i" "$T/in/$f" >"$T/log/$i.put" 2>&1
	echo "put $?" >"$T/st/$i"
	"$FERRY" get -q --profile "$prof" -o "$T/out/$f" "load-$i" >"$T/log/$i.get" 2>&1
	echo "get $?" >>"$T/st/$i"
}

PIDS=()
START=$(date +%s%N)
for i in $(seq 0 $((CLIENTS - 1))); do
	client "$i" &
	PIDS+=($!)
	on_exit "kill -KILL $!"
done
for p in "${PIDS[@]}"; do wait "$p"; done
note "$CLIENTS clients, $SIZE_KIB KiB each, put and get: $(elapsed_since "$START") s"
kill -0 "$SERVER_PID" 2>/dev/null || fail "ferryd died under load"
check

# ---- every client succeeded and got its own bytes back -------------------------------------------
for i in $(seq 0 $((CLIENTS - 1))); do
	f=$(printf 'f%03d' "$i")
	if [ "$(cat "$T/st/$i" 2>/dev/null)" != "$(printf 'put 0\nget 0')" ]; then
		cat "$T/log/$i.put" "$T/log/$i.get" >"$T/last.err" 2>/dev/null
		fail "client $i: $(tr '\n' ' ' <"$T/st/$i" 2>/dev/null)"
	fi
	[ ! -s "$T/log/$i.put" ] && [ ! -s "$T/log/$i.get" ] ||
		fail "client $i printed despite -q: $(cat "$T/log/$i.put" "$T/log/$i.get")"
	expect_same "$T/in/$f" "$T/out/$f"
done

# ---- each user lists exactly their files, with the right digests and sizes ----------------------
for u in $(seq 0 $((USERS - 1))); do
	"$FERRY" ls --long --profile "$T/home/load$u" >"$T/ls.$u" 2>"$T/last.err" ||
		fail "ls --long as load$u"
	[ "$(wc -l <"$T/ls.$u")" -eq "$PER_USER" ] ||
		fail "load$u lists $(wc -l <"$T/ls.$u") files, not $PER_USER"
	while read -r sha size _ name; do
		i=${name#load-}
		[ "$name" = "load-$i" ] && [ -n "$i" ] && [ $((i % USERS)) -eq "$u" ] ||
			fail "load$u lists '$name', not one of theirs"
		want=$(grep " $(printf 'f%03d' "$i")\$" "$T/in.sha256" | cut -d' ' -f1)
		[ "$sha" = "$want" ] || fail "$name: ls --long SHA-256 $sha, want $want"
		[ "$size" = "$SIZE" ] || fail "$name: ls --long size $size, want $SIZE"
	done <"$T/ls.$u"
	check
done

# ---- the data directory: one object per file, no temporary, every operation logged ok ---------
[ "$(object_files "$DATA" | wc -l)" -eq "$CLIENTS" ] ||
	fail "$(object_files "$DATA" | wc -l) object files for $CLIENTS stored files"
check
expect_dir_empty "$DATA/objects/tmp"
if command -v sqlite3 >/dev/null 2>&1; then
	expect_store_consistent "$DATA"
else
	note "sqlite3 is not installed: database consistency not checked"
fi
n_put=$(grep -Ec '^ferryd: put load[0-9]+ from .*: ok: "load-[0-9]+"' "$SERVER_LOG")
n_get=$(grep -Ec '^ferryd: get load[0-9]+ from .*: ok: "load-[0-9]+"' "$SERVER_LOG")
[ "$n_put" -eq "$CLIENTS" ] && [ "$n_get" -eq "$CLIENTS" ] || {
	cp "$SERVER_LOG" "$T/last.err"
	fail "the server logged $n_put puts and $n_get gets as ok, not $CLIENTS each"
}
check
grep -Eiq 'busy|refused|failed' "$SERVER_LOG" && {
	grep -Ei 'busy|refused|failed' "$SERVER_LOG" | head -20 >"$T/last.err"
	fail "the server refused or failed something under load"
}
check
# every session process ends when its client leaves
wait_until 20 eval '[ -z "$(session_pids)" ]' ||
	fail "session processes left after the clients ended: $(session_pids | tr '\n' ' ')"
check

# ---- and it still serves afterwards ----------------------------------------------------------------
expect_ok "$FERRY" get -q --profile "$T/home/load1" -o "$T/out/again" load-1
expect_same "$T/in/f001" "$T/out/again"

expect_no_sanitizer_report
pass
