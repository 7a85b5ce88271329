#!/usr/bin/env bash
# ferryd's store operations at the wire level (docs/PROTOCOL.md, "Store operations"),
# driven with raw frames over `openssl s_client` so that the tests can send what ferry
# never would: uploads of 0 bytes, a few bytes and several DATA frames; LIST, GETF with the
# download decrypted by the user's own key, DELE, replacing a name; another user sees
# none of it; bad names refused with NAME while the session goes on; a flipped bit in an
# upload, an upload for the wrong key, one longer or shorter than announced: INTEGRITY
# and nothing stored; a wrong SHA-256 in DONE recorded as sent (the client's check after a
# download catches it); out-of-order frames: PROTOCOL; a damaged object on disk: INTEGRITY
# on GETF; nothing of the plaintext or the names in the object files; leftovers of
# interrupted uploads removed when ferryd starts.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA" --name "Store Test"
server_add_user "$DATA" alice 'alice password'
server_add_user "$DATA" bob 'bob password'
server_start "$DATA"
expect_ok enroll_user "$T/home/alice" alice 'alice password'
expect_ok enroll_user "$T/home/bob" bob 'bob password'

MARKER=ferry-store-marker-7d41c0
NAME_MARKER=quarterly-secret-name-93b2

# ---- helpers ---------------------------------------------------------------------------------

wire_u64() { wire_u32 $(($1 >> 32)); wire_u32 $(($1 & 4294967295)); }

# f_put NAME SIZE: a PUTF frame (the name as given, however bad; no flags).
f_put() {
	{ wire_str16 "$1"; wire_u64 "$2"; wire_u8 0; } >"$T/p.payload"
	wire_frame PUTF "$T/p.payload"
}
# f_name TYPE NAME: GETF (from offset 0) or DELE.
f_name() {
	{ wire_str16 "$2"; [ "$1" != GETF ] || wire_u64 0; } >"$T/n.payload"
	wire_frame "$1" "$T/n.payload"
}
# f_empty TYPE: a frame without payload (LIST, or an unknown type to end the session).
f_empty() { printf '%s' "$1"; wire_u32 0; }
# f_data_file FILE: the bytes of FILE as DATA frames of at most 1 MiB.
f_data_file() {
	local p
	rm -f "$T"/piece.*
	split -b 1048576 -d -a 4 "$1" "$T/piece."
	for p in "$T"/piece.*; do
		wire_frame DATA "$p"
	done
}
# f_done FILE: DONE with the SHA-256 of FILE.
f_done() { printf 'DONE'; wire_u32 32; openssl dgst -sha256 -binary "$1"; }
# sealed_for PLAIN RECIPIENT: $T/sealed, PLAIN encrypted for RECIPIENT (a certificate).
sealed_for() { "$FERRY" encrypt -q -r "$2" -o "$T/sealed" "$1" || fail "ferry encrypt $1"; }
# f_upload NAME PLAIN [SIZE]: PUTF, DATA..., DONE for PLAIN sealed for the server.
f_upload() {
	sealed_for "$2" "$DATA/server.pem"
	f_put "$1" "${3:-$(file_size "$2")}"
	f_data_file "$T/sealed"
	f_done "$2"
}

# session USER INPUT: HELO (session), INPUT, then an unknown frame that makes the server
# answer ERRR PROTOCOL and close; the answer in $T/answer, its frames in $T/frames.
session() {
	{ wire_helo 2; cat "$2"; f_empty ZZZZ; } >"$T/session.in"
	wire_session "$DATA/ca.pem" "$T/session.in" "$T/answer" \
		-cert "$T/home/$1/cert.pem" -key "$T/home/$1/key.pem"
	wire_frames "$T/answer" >"$T/frames"
	[ "$(head -n1 "$T/frames" | cut -d' ' -f1)" = HELO ] ||
		fail "no session HELO: $(cat "$T/frames" "$T/answer.err")"
	[ "$(tail -n1 "$T/frames" | cut -d' ' -f1)" = ERRR ] ||
		fail "the session did not end with ERRR: $(cat "$T/frames")"
}

# types: the frame types of the answer after HELO, before the final ERRR, on one line.
types() { sed '1d;$d' "$T/frames" | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ $//'; }

# expect_types "T1 T2 ...": the answer's frame types.
expect_types() {
	[ "$(types)" = "$1" ] || fail "frames '$(types)', expected '$1'"
	check
}

# errr N CODE [TEXT]: frame N (from 0, HELO included) is ERRR CODE, its message has TEXT.
errr() {
	local code
	code=$(wire_errr_code "$T/answer" "$1") || fail "no frame $1"
	[ "$code" = "$2" ] || fail "frame $1: ERRR $code ($(tail -c +5 "$T/errr.payload")), expected $2"
	if [ -n "${3:-}" ]; then
		tail -c +5 "$T/errr.payload" | grep -aq -- "$3" ||
			fail "ERRR $2 message '$(tail -c +5 "$T/errr.payload")' lacks '$3'"
	fi
	check
}

# data_of FROM COUNT: the concatenated payloads of COUNT frames from frame FROM.
data_of() {
	local i
	for i in $(seq "$1" $(($1 + $2 - 1))); do
		wire_frame_payload "$T/answer" "$i"
	done
}

# ents_count N: the entry count of the ENTS frame N.
ents_count() { wire_frame_payload "$T/answer" "$1" >"$T/ents"; u32_at "$T/ents" 0; }

objects() { find "$DATA/objects" -maxdepth 1 -type f | sort; }
tmp_files() { find "$DATA/objects/tmp" -type f | wc -l; }

# ---- put three files, list them --------------------------------------------------------------
: >"$T/empty.txt"
printf 'hello %s\n' "$MARKER" >"$T/small.txt"
{ gen_data 1500000 7; printf '%s' "$MARKER"; gen_data 1000000 8; } >"$T/big.bin"
{
	f_upload empty "$T/empty.txt"
	f_upload "$NAME_MARKER.txt" "$T/small.txt"
	f_upload 'big file é.bin' "$T/big.bin"
	f_empty LIST
} >"$T/in"
session alice "$T/in"
expect_types "OFST STOR OFST STOR OFST STOR ENTS"
wire_frame_payload "$T/answer" 1 >"$T/ofst"
# offset 0, no header, a zero tags digest
[ "$(file_size "$T/ofst")" -eq 42 ] && [ "$(u32_at "$T/ofst" 4)" -eq 0 ] &&
	[ "$(u16_at "$T/ofst" 8)" -eq 0 ] || fail "OFST is not 0"
wire_frame_payload "$T/answer" 6 >"$T/stor"
[ "$(file_size "$T/stor")" -eq 48 ] || fail "STOR is $(file_size "$T/stor") bytes"
[ "$(u32_at "$T/stor" 4)" -eq "$(file_size "$T/big.bin")" ] || fail "STOR size $(u32_at "$T/stor" 4)"
[ "$(copy_range "$T/stor" 8 32 | od -An -v -tx1 | tr -d ' \n')" = "$(sha256_of "$T/big.bin")" ] ||
	fail "STOR does not echo the SHA-256"
check
wire_frame_payload "$T/answer" 7 >"$T/ents"
[ "$(u32_at "$T/ents" 0)" -eq 3 ] || fail "ENTS count $(u32_at "$T/ents" 0)"
grep -aq 'big file é.bin' "$T/ents" && grep -aq "$NAME_MARKER" "$T/ents" || fail "ENTS names"
check
server_log_has "put alice from .*: ok: \"big file é.bin\": object [0-9a-f]{32}, $(file_size "$T/big.bin") bytes"
[ "$(objects | wc -l)" -eq 3 ] || fail "$(objects | wc -l) object files, expected 3"
for o in $(objects); do
	[ "$(stat -c %a "$o")" = 600 ] || fail "$o mode $(stat -c %a "$o")"
	basename "$o" | grep -Eq '^[0-9a-f]{32}$' || fail "object file name $o"
done
[ "$(tmp_files)" -eq 0 ] || fail "temporaries left in objects/tmp"
check

# Nothing of the content anywhere in the data directory; the names only in the database.
grep -ra "$MARKER" "$DATA" && fail "plaintext marker found in the data directory"
grep -ra "$NAME_MARKER" "$DATA" && fail "a file name found in the data directory"
grep -ra 'hello' "$DATA/objects" && fail "plaintext found in the object files"
check

# ---- get them back: decrypted with alice's own key --------------------------------------------
for pair in "empty:$T/empty.txt" "$NAME_MARKER.txt:$T/small.txt" "big file é.bin:$T/big.bin"; do
	name=${pair%%:*}
	plain=${pair#*:}
	{ f_name GETF "$name"; } >"$T/in"
	session alice "$T/in"
	n=$(($(wc -l <"$T/frames") - 4))      # HELO FILE DATA... DONE ERRR
	[ "$(sed -n 2p "$T/frames" | cut -d' ' -f1)" = FILE ] || fail "GETF $name: $(types)"
	[ "$(sed -n "$((n + 3))p" "$T/frames")" = "DONE 0" ] || fail "GETF $name: no empty DONE: $(types)"
	wire_frame_payload "$T/answer" 1 >"$T/file"
	[ "$(u32_at "$T/file" 4)" -eq "$(file_size "$plain")" ] || fail "FILE size for $name"
	[ "$(copy_range "$T/file" 8 32 | od -An -v -tx1 | tr -d ' \n')" = "$(sha256_of "$plain")" ] ||
		fail "FILE SHA-256 for $name"
	data_of 2 "$n" >"$T/download"
	"$FERRY" decrypt -q -i "$T/home/alice/key.pem" -o "$T/plain" "$T/download" ||
		fail "alice cannot decrypt the download of $name"
	cmp -s "$T/plain" "$plain" || fail "GETF $name: different bytes"
	# It was re-wrapped for alice: the server's key does not open it.
	"$FERRY" decrypt -q -i "$DATA/server.key" -o "$T/plain2" "$T/download" 2>/dev/null &&
		fail "the download of $name opens with the server key"
	check
done
[ "$n" -ge 3 ] || fail "the 2.5 MB download came in $n DATA frames"

# ---- another user sees nothing ------------------------------------------------------------------
{ f_empty LIST; f_name GETF "$NAME_MARKER.txt"; f_name DELE "$NAME_MARKER.txt"; } >"$T/in"
session bob "$T/in"
expect_types "ENTS ERRR ERRR"
[ "$(ents_count 1)" -eq 0 ] || fail "bob lists $(ents_count 1) entries"
errr 2 13
errr 3 13
server_log_has "get bob from .*: failed: \"$NAME_MARKER.txt\": not found"

# ---- bad names: NAME, and the session goes on ---------------------------------------------------
{
	f_put '../x' 5; f_put 'a/b' 5; f_put "$(printf 'ctl\001x')" 5; f_put '.' 5; f_put '' 5
	f_put ' lead' 5; f_name GETF '..'; f_name DELE '/etc/passwd'; f_empty LIST
} >"$T/in"
session alice "$T/in"
expect_types "ERRR ERRR ERRR ERRR ERRR ERRR ERRR ERRR ENTS"
errr 1 14 "'/'"
errr 2 14 "'/'"
errr 3 14 "control"
errr 4 14
errr 5 14 "empty"
errr 6 14 "space"
errr 7 14
errr 8 14
server_log_has 'put alice from .*: failed: refused: invalid name \(contains'

# ---- uploads that fail verification: INTEGRITY, nothing stored ---------------------------------
before=$(objects)
# a flipped bit in the second chunk
sealed_for "$T/big.bin" "$DATA/server.pem"
flip_bit "$T/sealed" $(( $(chunk_offset "$T/sealed" 1) + 100 ))
{ f_put flipped "$(file_size "$T/big.bin")"; f_data_file "$T/sealed"; f_done "$T/big.bin"; \
  f_empty LIST; } >"$T/in"
session alice "$T/in"
expect_types "OFST ERRR ENTS"
errr 2 12 "chunk 1"
[ "$(ents_count 3)" -eq 3 ] || fail "a damaged upload is listed"
server_log_has 'put alice from .*: failed: "flipped": integrity: chunk 1'
# encrypted for alice instead of the server
sealed_for "$T/small.txt" "$T/home/alice/cert.pem"
{ f_put wrongkey "$(file_size "$T/small.txt")"; f_data_file "$T/sealed"; f_done "$T/small.txt"; } >"$T/in"
session alice "$T/in"
expect_types "OFST ERRR"
errr 2 12
# longer than announced: refused as soon as it is
{ f_upload longer "$T/big.bin" 1000; f_empty LIST; } >"$T/in"
session alice "$T/in"
expect_types "OFST ERRR ENTS"
errr 2 12 "longer than the announced 1000 bytes"
# shorter than announced
{ f_upload shorter "$T/small.txt" 4096; } >"$T/in"
session alice "$T/in"
expect_types "OFST ERRR"
errr 2 12 "announced"
# a stream cut short before DONE
sealed_for "$T/big.bin" "$DATA/server.pem"
head -c 1500000 "$T/sealed" >"$T/cut"
{ f_put cut "$(file_size "$T/big.bin")"; f_data_file "$T/cut"; f_done "$T/big.bin"; } >"$T/in"
session alice "$T/in"
expect_types "OFST ERRR"
errr 2 12
[ "$(objects)" = "$before" ] || fail "a refused upload changed objects/"
[ "$(tmp_files)" -eq 0 ] || fail "a refused upload left a temporary"
check

# ---- a wrong SHA-256 in DONE: the server verifies the chunks, not the digest; it records
# the digest as sent, and hands it out with the file so that the client's check fails.
sealed_for "$T/small.txt" "$DATA/server.pem"
{ f_put badsha "$(file_size "$T/small.txt")"; f_data_file "$T/sealed"
  printf 'DONE'; wire_u32 32; head -c 32 /dev/zero; f_name GETF badsha; f_name DELE badsha; } >"$T/in"
session alice "$T/in"
expect_types "OFST STOR FILE DATA DONE OKAY"
wire_frame_payload "$T/answer" 2 | copy_range /dev/stdin 8 32 | od -An -v -tx1 | tr -d ' \n' >"$T/sha"
[ "$(cat "$T/sha")" = "$(printf '%064d' 0)" ] || fail "STOR does not echo the digest sent: $(cat "$T/sha")"
wire_frame_payload "$T/answer" 4 >"$T/download"
"$FERRY" decrypt -q -i "$T/home/alice/key.pem" -o "$T/plain" "$T/download" || fail "decrypt badsha"
[ "$(sha256_of "$T/plain")" != "$(cat "$T/sha")" ] || fail "digests agree"
check

# ---- protocol violations: PROTOCOL and the connection ends ---------------------------------------
{ f_put proto 5; f_empty LIST; } >"$T/in"             # LIST inside an upload
session alice "$T/in"
expect_types "OFST"
errr 2 1 "expected DATA or DONE"
{ printf 'DATA'; wire_u32 3; printf 'abc'; } >"$T/in"   # DATA outside an upload
session alice "$T/in"
expect_types ""
errr 1 1 "unexpected DATA"
sealed_for "$T/small.txt" "$DATA/server.pem"
{ f_put nosha "$(file_size "$T/small.txt")"; f_data_file "$T/sealed"; f_empty DONE; } >"$T/in"
session alice "$T/in"
expect_types "OFST"
errr 2 1 "SHA-256"
{ printf 'LIST'; wire_u32 1; printf 'x'; } >"$T/in"
session alice "$T/in"
errr 1 1 "must be empty"
[ "$(objects)" = "$before" ] || fail "a refused upload changed objects/"
check

# ---- replace and delete ------------------------------------------------------------------------
printf 'second version\n' >"$T/v2.txt"
{ f_upload "$NAME_MARKER.txt" "$T/v2.txt"; f_empty LIST; } >"$T/in"
session alice "$T/in"
expect_types "OFST STOR ENTS"
server_log_has "put alice from .*: ok: \"$NAME_MARKER.txt\": .*replaced the previous one"
[ "$(objects | wc -l)" -eq 3 ] || fail "the replaced object file was not removed"
[ "$(ents_count 3)" -eq 3 ] || fail "replacing a name changed the count"
check
{ f_name DELE "$NAME_MARKER.txt"; f_name DELE "$NAME_MARKER.txt"; f_empty LIST; } >"$T/in"
session alice "$T/in"
expect_types "OKAY ERRR ENTS"
errr 2 13
[ "$(objects | wc -l)" -eq 2 ] || fail "DELE left the object file"
check

# ---- a damaged object on disk -------------------------------------------------------------------
{ f_upload damaged "$T/small.txt"; } >"$T/in"
before=$(objects)
session alice "$T/in"
expect_types "OFST STOR"
obj=$(objects | comm -13 <(printf '%s\n' "$before") -)
[ -n "$obj" ] || fail "no new object file"
cp "$obj" "$T/obj.good"
flip_bit "$obj" 40                        # inside the header: the server notices
{ f_name GETF damaged; f_empty LIST; } >"$T/in"
session alice "$T/in"
expect_types "FILE ERRR ENTS"
errr 2 12 "damaged"
server_log_has "get alice from .*: failed: \"damaged\": \(object [0-9a-f]{32}\): stored object damaged"
cp "$T/obj.good" "$obj"
flip_bit "$obj" $(( $(file_size "$obj") - 5 ))   # in the payload: passed on, the client notices
{ f_name GETF damaged; } >"$T/in"
session alice "$T/in"
expect_types "FILE DATA DONE"
data_of 2 1 >"$T/download"
rm -f "$T/plain"
expect_exit 1 "$FERRY" decrypt -q -i "$T/home/alice/key.pem" -o "$T/plain" "$T/download"
[ -e "$T/plain" ] && fail "a damaged download was decrypted to a file"
check

# ---- leftovers are swept when ferryd starts ----------------------------------------------------
server_stop
printf 'partial' >"$DATA/objects/tmp/0123456789abcdef0123456789abcdef"
printf 'orphan' >"$DATA/objects/fedcba9876543210fedcba9876543210"
kept=$(objects | grep -v fedcba98)
server_start "$DATA"
server_log_has 'removed 2 leftover file\(s\)'
[ "$(tmp_files)" -eq 0 ] || fail "a stale temporary survived the start"
[ "$(objects)" = "$kept" ] || fail "objects after the sweep: $(objects)"
{ f_name GETF 'big file é.bin'; } >"$T/in"
session alice "$T/in"
[ "$(sed -n 2p "$T/frames" | cut -d' ' -f1)" = FILE ] || fail "GETF after restart: $(types)"
check

# Connection processes report sanitizer findings only in the logs.
server_stop
grep -l 'Sanitizer\|runtime error' "$T"/ferryd.*.log &&
	fail "sanitizer report in a server log: $(grep -h -A5 'Sanitizer\|runtime error' "$T"/ferryd.*.log)"
check

pass
