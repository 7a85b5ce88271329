# Shared helpers for the end-to-end tests; sourced by every tests/e2e/test_*.sh.
#
# Environment (set by CTest): FERRY and FERRYD (the binaries under test), FERRY_SOURCE,
# FERRY_VECTORS, FERRY_SANITIZED=1 under AddressSanitizer. FERRY_KEEP=1 keeps the scratch
# directory for a look after a failure; FERRY_E2E_VERBOSE=1 prints every error checked.
# Exit status: 0 pass, 1 fail, 77 skipped.
#
# Only bash and coreutils (dd, od, head, tail, cmp, stat, sha256sum) plus openssl are
# assumed; the binary layout helpers read the header the way docs/FORMAT.md lays it out.

set -u
set -o pipefail

: "${FERRY:?FERRY must name the ferry binary}"
: "${FERRYD:=}"
: "${FERRY_SANITIZED:=0}"
case "$FERRY_SANITIZED" in 1|ON|on|TRUE|true|YES|yes) FERRY_SANITIZED=1 ;; *) FERRY_SANITIZED=0 ;; esac
export FERRY_SANITIZED

# A sanitizer report must never pass for an expected "exit 1": give it its own status.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=99"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:exitcode=98"
# Nothing a test runs may find a terminal to prompt on unless the test arranges one.
unset FERRY_KEY_PASSPHRASE_FILE

# Run detached from any terminal, so that a prompt fails instead of waiting for a human;
# tests that want a terminal make one with script(1).
if [ -z "${FERRY_E2E_DETACHED:-}" ] && (: </dev/tty) 2>/dev/null; then
	export FERRY_E2E_DETACHED=1
	exec setsid -w bash "$0" "$@"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-e2e.XXXXXX") || { echo "mktemp failed" >&2; exit 1; }
TEST_NAME=$(basename "$0" .sh)

# on_exit CMD: run CMD (with eval) before the scratch directory is removed, e.g. to
# unmount something or kill a helper. Hooks run last-registered first.
EXIT_HOOKS=()
on_exit() { EXIT_HOOKS=("$1" "${EXIT_HOOKS[@]}"); }

cleanup() {
	local h
	for h in "${EXIT_HOOKS[@]}"; do
		eval "$h" >/dev/null 2>&1
	done
	if [ "${FERRY_KEEP:-0}" = 1 ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

[ -x "$FERRY" ] || { echo "FAIL: $FERRY is not an executable" >&2; exit 1; }

# ---- reporting ---------------------------------------------------------------------------

CHECKS=0

note() { printf '%s: %s\n' "$TEST_NAME" "$*"; }

fail() {
	printf 'FAIL (%s): %s\n' "$TEST_NAME" "$*" >&2
	if [ -s "$T/last.err" ]; then
		echo "--- stderr of the last command:" >&2
		head -c 4000 "$T/last.err" >&2
	fi
	exit 1
}

skip() {
	printf 'SKIP (%s): %s\n' "$TEST_NAME" "$*"
	exit 77
}

pass() {
	printf 'PASS (%s): %d checks\n' "$TEST_NAME" "$CHECKS"
	exit 0
}

check() { CHECKS=$((CHECKS + 1)); }

# ---- running commands --------------------------------------------------------------------

# expect_exit CODE CMD [ARG]...: run CMD with stdout in $T/last.out and stderr in
# $T/last.err (stdin untouched) and fail unless it exits with CODE.
expect_exit() {
	local want=$1 got
	shift
	"$@" >"$T/last.out" 2>"$T/last.err"
	got=$?
	[ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $*"
	check
}

# expect_ok CMD...: expect_exit 0.
expect_ok() { expect_exit 0 "$@"; }

# expect_err REGEX: the last command's stderr is exactly one line and matches the
# extended REGEX (case-insensitive), and starts with "ferry".
expect_err() {
	local lines
	lines=$(wc -l <"$T/last.err")
	[ "$lines" -eq 1 ] || fail "expected a one-line error, got $lines lines"
	grep -Eq '^ferryd?: ' "$T/last.err" || fail "error does not start with 'ferry: '"
	grep -Eiq -- "$1" "$T/last.err" || fail "error does not match /$1/"
	[ "${FERRY_E2E_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$T/last.err"
	check
}

# expect_no_output PATH: nothing at PATH and no temporary beside it.
expect_no_output() {
	local dir
	if [ -e "$1" ] || [ -L "$1" ]; then
		fail "$1 exists after a failure"
	fi
	dir=$(dirname "$1")
	if [ -d "$dir" ] && compgen -G "$dir/*.ferry-tmp-*" >/dev/null; then
		fail "temporary files left in $dir: $(compgen -G "$dir/*.ferry-tmp-*")"
	fi
	check
}

# expect_dir_empty DIR: DIR holds no entries at all (not even hidden ones).
expect_dir_empty() {
	local n
	n=$(find "$1" -mindepth 1 | wc -l)
	[ "$n" -eq 0 ] || fail "$1 is not empty: $(ls -A "$1")"
	check
}

# expect_same A B: the two files have the same bytes.
expect_same() {
	cmp -s "$1" "$2" || fail "$1 and $2 differ"
	check
}

# ---- data --------------------------------------------------------------------------------

# gen_data SIZE [SEED]: SIZE pseudo-random bytes on stdout, the same for the same seed.
# AES-CTR keystream: fast enough for gigabytes, and needs no state on disk.
gen_data() {
	local size=$1 seed=${2:-1} key
	key=$(printf '%032x' "$seed")
	{ openssl enc -aes-128-ctr -nosalt -K "$key" -iv 00000000000000000000000000000000 \
		-in /dev/zero 2>/dev/null || true; } | head -c "$size"
}

# gen_file PATH SIZE [SEED]
gen_file() { gen_data "$2" "${3:-1}" >"$1"; }

file_size() { stat -c %s "$1"; }

# ---- keys --------------------------------------------------------------------------------

# make_key TYPE PATH: a key pair at PATH and PATH.pub, unencrypted.
make_key() {
	"$FERRY" keygen --type "$1" -o "$2" 2>"$T/keygen.err" ||
		{ cat "$T/keygen.err" >&2; fail "keygen --type $1 -o $2"; }
}

# ---- the sealed-file layout (docs/FORMAT.md) -----------------------------------------------

# byte_at FILE OFFSET: the unsigned byte at OFFSET, in decimal.
byte_at() { od -An -v -tu1 -j "$2" -N1 "$1" | tr -d ' \n'; }

u16_at() { echo $(( $(byte_at "$1" "$2") << 8 | $(byte_at "$1" $(($2 + 1))) )); }

u32_at() { echo $(( $(u16_at "$1" "$2") << 16 | $(u16_at "$1" $(($2 + 2))) )); }

# put_byte FILE OFFSET VALUE: overwrite one byte in place (VALUE decimal 0..255).
put_byte() {
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' "$3")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none || fail "put_byte $*"
}

# put_u32 FILE OFFSET VALUE: a big-endian u32.
put_u32() {
	put_byte "$1" "$2" $(( ($3 >> 24) & 255 ))
	put_byte "$1" $(($2 + 1)) $(( ($3 >> 16) & 255 ))
	put_byte "$1" $(($2 + 2)) $(( ($3 >> 8) & 255 ))
	put_byte "$1" $(($2 + 3)) $(( $3 & 255 ))
}

# flip_bit FILE OFFSET [BIT]: invert one bit of the byte at OFFSET.
flip_bit() {
	local b
	b=$(byte_at "$1" "$2")
	[ -n "$b" ] || fail "flip_bit: no byte at offset $2 of $1"
	put_byte "$1" "$2" $(( b ^ (1 << ${3:-0}) ))
}

SEALED_FIXED_LEN=30
SEALED_MAC_LEN=32
SEALED_TAG_LEN=16

# stanza_count FILE, chunk_size FILE
stanza_count() { u16_at "$1" 28; }
chunk_size() { u32_at "$1" 8; }

# stanza_offset FILE N: offset of stanza N's type byte (N from 0).
stanza_offset() {
	local off=$SEALED_FIXED_LEN i=0
	while [ "$i" -lt "$2" ]; do
		off=$(( off + 3 + $(u16_at "$1" $((off + 1))) ))
		i=$((i + 1))
	done
	echo "$off"
}

# header_len FILE: the whole header, MAC included, found by walking the stanza lengths.
header_len() {
	local n
	n=$(stanza_count "$1")
	echo $(( $(stanza_offset "$1" "$n") + SEALED_MAC_LEN ))
}

# chunk_offset FILE I: where chunk I (from 0) starts.
chunk_offset() {
	echo $(( $(header_len "$1") + $2 * ($(chunk_size "$1") + SEALED_TAG_LEN) ))
}

# nchunks FILE: how many payload chunks the file holds.
nchunks() {
	local h cs payload
	h=$(header_len "$1")
	cs=$(chunk_size "$1")
	payload=$(( $(file_size "$1") - h ))
	echo $(( (payload + cs + SEALED_TAG_LEN - 1) / (cs + SEALED_TAG_LEN) ))
}

# copy_range SRC OFFSET LEN: LEN bytes of SRC from OFFSET to stdout.
copy_range() {
	tail -c +$(($2 + 1)) "$1" | head -c "$3"
}

# splice DST OFFSET SRC_FILE: overwrite DST at OFFSET with the bytes of SRC_FILE.
splice() {
	dd if="$3" of="$1" bs=64K seek="$2" oflag=seek_bytes conv=notrunc status=none ||
		fail "splice $*"
}

# have_gnu_time: /usr/bin/time can report peak RSS (-f %M, in KiB).
have_gnu_time() { [ -x /usr/bin/time ] && /usr/bin/time -f %M true 2>/dev/null; }

# sha256_of [FILE]: the hex SHA-256 of FILE or stdin (OpenSSL's is several times faster
# than sha256sum here, which matters for gigabytes).
# shellcheck disable=SC2120
sha256_of() {
	openssl dgst -sha256 -r "$@" | cut -d' ' -f1
}

# ---- a live server (ferryd) on loopback ----------------------------------------------------

# server_init DIR [INIT-OPTION]...: `ferryd init` a fresh data directory at DIR.
server_init() {
	local dir=$1
	shift
	[ -x "$FERRYD" ] || fail "FERRYD is not set to the ferryd binary"
	"$FERRYD" init --data "$dir" "$@" >"$T/init.out" 2>"$T/last.err" ||
		fail "ferryd init --data $dir $*"
}

# server_conf DIR KEY VALUE: set KEY in DIR/ferryd.conf (replacing an uncommented line).
server_conf() {
	local conf=$1/ferryd.conf
	[ -f "$conf" ] || : >"$conf"
	sed -i "/^[[:space:]]*$2[[:space:]]*=/d" "$conf" || fail "server_conf $*"
	printf '%s = %s\n' "$2" "$3" >>"$conf"
}

# server_add_user DIR NAME PASSWORD: `ferryd user add` with the password from a file.
server_add_user() {
	printf '%s\n' "$3" >"$T/pw.$2"
	"$FERRYD" user add --data "$1" --password-file "$T/pw.$2" "$2" >"$T/last.out" \
		2>"$T/last.err" || fail "ferryd user add $2"
}

# server_start DIR [SERVE-OPTION]...: run `ferryd serve --data DIR` on a loopback port in
# the background and wait until it accepts connections. Sets SERVER_PID, SERVER_PORT,
# SERVER_ADDR (127.0.0.1:PORT) and SERVER_LOG; the server is stopped when the test exits.
# Asks for port 0 and reads "listening on 127.0.0.1:PORT" from the log; a server that
# cannot bind port 0 gets a random high port instead.
SERVER_SEQ=0
server_start() {
	local dir=$1 port="" i try
	shift
	for try in 0 1 2 3 4; do
		SERVER_SEQ=$((SERVER_SEQ + 1))
		SERVER_LOG=$T/ferryd.$SERVER_SEQ.log
		if [ "$try" -eq 0 ]; then
			port=0
		else
			port=$((20000 + RANDOM % 40000))
		fi
		"$FERRYD" serve --data "$dir" --listen "127.0.0.1:$port" "$@" \
			</dev/null >"$SERVER_LOG" 2>&1 &
		SERVER_PID=$!
		on_exit "kill -TERM $SERVER_PID; wait $SERVER_PID"
		for i in $(seq 1 100); do
			if [ "$port" -eq 0 ]; then
				SERVER_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
					"$SERVER_LOG" | head -n1)
				[ -n "$SERVER_PORT" ] && break
			elif grep -q 'listening on' "$SERVER_LOG" ||
				(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
				SERVER_PORT=$port
				break
			fi
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		if [ -n "${SERVER_PORT:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
			SERVER_ADDR=127.0.0.1:$SERVER_PORT
			export SERVER_PORT SERVER_ADDR SERVER_LOG SERVER_PID
			return 0
		fi
		kill -TERM "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PORT=
	done
	cp "$SERVER_LOG" "$T/last.err"
	fail "ferryd serve did not start (log: $SERVER_LOG)"
}

# server_stop: stop the server server_start started last (SIGTERM), and wait for it.
server_stop() {
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PORT=
}

# server_log_has REGEX: the server's log has a line matching REGEX (extended), waiting up
# to 5 s for it to appear.
server_log_has() {
	local i
	for i in $(seq 1 50); do
		grep -Eq -- "$1" "$SERVER_LOG" && { check; return 0; }
		sleep 0.1
	done
	cp "$SERVER_LOG" "$T/last.err"
	fail "no line matching /$1/ in the server log"
}

# enroll_user PROFILE NAME PASSWORD [ENROLL-OPTION]...: `ferry enroll` against the running
# server with root $DATA/ca.pem ($DATA defaults to the data directory of the test).
enroll_user() {
	local prof=$1 user=$2 pw=$3
	shift 3
	printf '%s\n' "$pw" >"$T/enroll-pw"
	"$FERRY" enroll --profile "$prof" --server "$SERVER_ADDR" --ca "${DATA:?}/ca.pem" \
		--user "$user" --password-file "$T/enroll-pw" "$@"
}

# ---- raw protocol bytes (docs/PROTOCOL.md), for sending what ferry never would ------------

# wire_u8 N, wire_u16 N, wire_u32 N: big-endian bytes on stdout.
wire_u8() {
	# shellcheck disable=SC2059
	printf "\\$(printf '%03o' "$(($1 & 255))")"
}
wire_u16() { wire_u8 $(($1 >> 8)); wire_u8 "$1"; }
wire_u32() { wire_u16 $(($1 >> 16)); wire_u16 $(($1 & 65535)); }

# wire_str8 STRING / wire_str16 STRING: length-prefixed bytes (the length counts bytes).
wire_str8() { local LC_ALL=C; wire_u8 ${#1}; printf '%s' "$1"; }
wire_str16() { local LC_ALL=C; wire_u16 ${#1}; printf '%s' "$1"; }

# wire_bytes16 FILE: u16 length + the bytes of FILE.
wire_bytes16() { wire_u16 "$(file_size "$1")"; cat "$1"; }

# wire_frame TYPE PAYLOAD-FILE: one frame.
wire_frame() { printf '%s' "$1"; wire_u32 "$(file_size "$2")"; cat "$2"; }

# wire_helo PURPOSE [MIN MAX]: a HELO request frame.
wire_helo() {
	{ wire_u16 "${2:-1}"; wire_u16 "${3:-1}"; wire_u8 "$1"; wire_str8 "e2e-test"; } \
		>"$T/helo.payload"
	wire_frame HELO "$T/helo.payload"
}

# wire_enrl USER PASSWORD CSR-DER-FILE: an ENRL frame.
wire_enrl() {
	{ wire_str8 "$1"; wire_str16 "$2"; wire_bytes16 "$3"; } >"$T/enrl.payload"
	wire_frame ENRL "$T/enrl.payload"
}

# wire_session ROOT INPUT OUTPUT [S_CLIENT-OPTION]...: open TLS 1.3 to the running server,
# verifying its certificate against ROOT, send the bytes of INPUT and keep what the server
# answers until it closes in OUTPUT (s_client's messages go to OUTPUT.err).
wire_session() {
	local root=$1 in=$2 out=$3
	shift 3
	timeout 30 openssl s_client -connect "$SERVER_ADDR" -tls1_3 -CAfile "$root" \
		-verify_return_error -quiet "$@" <"$in" >"$out" 2>"$out.err"
}

# wire_frames FILE: "TYPE LENGTH" for each frame in FILE (a server's answer).
wire_frames() {
	local off=0 size len
	size=$(file_size "$1")
	while [ $((off + 8)) -le "$size" ]; do
		len=$(u32_at "$1" $((off + 4)))
		printf '%s %s\n' "$(copy_range "$1" "$off" 4 | tr -c 'A-Z0-9' '?')" "$len"
		off=$((off + 8 + len))
	done
}

# wire_frame_payload FILE N: the payload of frame N (from 0) of FILE on stdout.
wire_frame_payload() {
	local off=0 i=0 len
	while :; do
		len=$(u32_at "$1" $((off + 4)))
		[ -n "$len" ] || return 1
		if [ "$i" -eq "$2" ]; then
			copy_range "$1" $((off + 8)) "$len"
			return 0
		fi
		off=$((off + 8 + len))
		i=$((i + 1))
	done
}

# wire_errr_code FILE N: the code of ERRR frame N of FILE (decimal).
wire_errr_code() {
	wire_frame_payload "$1" "$2" >"$T/errr.payload" || return 1
	u16_at "$T/errr.payload" 0
}

# ---- the store (ferry put / get / ls / rm) -----------------------------------------------------

# wire_u64 N: a big-endian u64 (N < 2^63).
wire_u64() { wire_u32 $(($1 >> 32)); wire_u32 $(($1 & 4294967295)); }

# wire_put NAME SIZE [FLAGS]: a PUTF request frame (the name as given, however bad).
wire_put() {
	{ wire_str16 "$1"; wire_u64 "$2"; wire_u8 "${3:-0}"; } >"$T/put.payload"
	wire_frame PUTF "$T/put.payload"
}

# wire_name_frame TYPE NAME: a GETF (from offset 0) or DELE request frame.
wire_name_frame() {
	{ wire_str16 "$2"; [ "$1" != GETF ] || wire_u64 0; } >"$T/name.payload"
	wire_frame "$1" "$T/name.payload"
}

# object_files DATA: the object files of data directory DATA, one path a line, sorted
# (temporaries excluded).
object_files() {
	find "$1/objects" -maxdepth 1 -type f -name '[0-9a-f]*' 2>/dev/null | sort
}

# new_object_file BEFORE-LIST DATA: the one object file of DATA not named in the file
# BEFORE-LIST (as written by object_files); fails unless there is exactly one.
new_object_file() {
	local new
	new=$(object_files "$2" | comm -13 "$1" -)
	[ -n "$new" ] && [ "$(printf '%s\n' "$new" | wc -l)" -eq 1 ] ||
		fail "expected one new object file, found: ${new:-none}"
	printf '%s\n' "$new"
}

# ls_long_field PROFILE NAME FIELD: field FIELD (1 sha256, 2 size, 3 time) of NAME's line
# in `ferry ls --long`.
ls_long_field() {
	"$FERRY" ls --long --profile "$1" >"$T/ls.out" 2>"$T/last.err" || fail "ferry ls --long"
	local sha size when name
	while read -r sha size when name; do
		[ "$name" = "$2" ] || continue
		case $3 in 1) echo "$sha" ;; 2) echo "$size" ;; 3) echo "$when" ;; esac
	done <"$T/ls.out"
}

# ---- faults, load and captures (test_store_load, _capture, _diskfull, _crash) ------------------

# wait_until SECONDS CMD [ARG]...: poll CMD every 0.05 s until it succeeds; returns 1 if it
# still fails after SECONDS (no failure by itself: the caller says what was awaited).
wait_until() {
	local end=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
	shift
	until "$@"; do
		[ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
		sleep 0.05
	done
}

# elapsed_since START-NS: seconds (with milliseconds) since START-NS, a `date +%s%N`.
elapsed_since() {
	local ms=$(( ($(date +%s%N) - $1) / 1000000 ))
	printf '%d.%03d\n' $((ms / 1000)) $((ms % 1000))
}

# server_start_group DIR [SERVE-OPTION]...: server_start, but ferryd leads a process group
# (and session) of its own, so that server_kill_group can SIGKILL it together with every
# session process it forked, as a crash or a power cut would. SERVER_PID is also the
# group's id.
server_start_group() {
	local wrapper=$T/ferryd-own-group
	printf '#!/bin/sh\nexec setsid %q "$@"\n' "$FERRYD" >"$wrapper" &&
		chmod +x "$wrapper" || fail "cannot write $wrapper"
	FERRYD=$wrapper server_start "$@"
	# setsid execs in place when not a group leader, which a background job never is
	[ "$(ps -o pgid= -p "$SERVER_PID" | tr -d ' ')" = "$SERVER_PID" ] ||
		fail "ferryd ($SERVER_PID) does not lead its own process group"
	on_exit "kill -KILL -- -$SERVER_PID"
}

# server_kill_group: SIGKILL the process group server_start_group started last (the
# listener and its session processes at once) and wait until none of them is left.
server_kill_group() {
	kill -KILL -- "-$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	wait_until 10 eval '[ -z "$(group_pids "$SERVER_PID")" ]' ||
		fail "processes of group $SERVER_PID survived SIGKILL: $(group_pids "$SERVER_PID")"
	SERVER_PORT=
}

# group_pids PGID: the live processes (zombies not counted: their parent may be slow to
# reap them) of process group PGID, separated by spaces.
group_pids() {
	ps -e -o pgid= -o pid= -o stat= | awk -v g="$1" '$1 == g && $3 !~ /^Z/ { printf "%s ", $2 }'
}

# session_pids: the processes serving sessions for the server started last (its
# children), one pid a line.
session_pids() { pgrep -P "$SERVER_PID" || true; }

# need_root WHAT: skip unless running as root (for mount and the like).
need_root() { [ "$(id -u)" -eq 0 ] || skip "$1 needs root"; }

# mount_tmpfs DIR SIZE: mount a fresh tmpfs of SIZE (as mount(8) takes it: 48m) on DIR,
# mode 0700, unmounted when the test exits (after the processes started later are
# stopped); skips the test when that is impossible here.
mount_tmpfs() {
	need_root "mounting a tmpfs"
	mkdir -p "$1" || fail "mkdir $1"
	mount -t tmpfs -o "size=$2,mode=0700" ferry-e2e "$1" 2>"$T/mount.err" ||
		skip "cannot mount a tmpfs on $1: $(head -c 200 "$T/mount.err")"
	on_exit "umount $(printf %q "$1") || umount -l $(printf %q "$1")"
}

# ---- capturing the loopback interface -----------------------------------------------------------

# lo_capture_start FILE PORT: dumpcap on lo for TCP port PORT into FILE, in the
# background, until lo_capture_stop; skips the test when capturing is impossible here.
# A large kernel buffer (-B), so that a fast transfer on loopback is captured whole.
LO_CAP_PID=
LO_CAP_FILE=
lo_capture_start() {
	command -v dumpcap >/dev/null 2>&1 || skip "dumpcap is not installed (package tshark)"
	LO_CAP_FILE=$1
	dumpcap -q -i lo -B 128 -f "tcp port $2" -w "$1" >"$1.dumpcap" 2>&1 &
	LO_CAP_PID=$!
	on_exit "kill -INT $LO_CAP_PID; wait $LO_CAP_PID"
	wait_until 5 eval "[ -s $(printf %q "$1") ] || ! kill -0 $LO_CAP_PID 2>/dev/null"
	if ! kill -0 "$LO_CAP_PID" 2>/dev/null || [ ! -s "$1" ]; then
		wait "$LO_CAP_PID" 2>/dev/null
		skip "dumpcap cannot capture on lo here: $(head -c 300 "$1.dumpcap")"
	fi
	sleep 0.5 # the file header is written before the filter is live
}

# lo_capture_stop: stop the capture lo_capture_start started, letting it write the packets
# still in flight. Sets LO_CAP_DROPPED to the number of packets the kernel dropped (as
# dumpcap reports it; 0 when it does not say).
LO_CAP_DROPPED=0
lo_capture_stop() {
	sleep 0.5
	kill -INT "$LO_CAP_PID" 2>/dev/null
	wait "$LO_CAP_PID" 2>/dev/null
	LO_CAP_DROPPED=$(sed -n 's/^Packets received\/dropped on interface .*: [0-9]*\/\([0-9]*\) .*/\1/p' \
		"$LO_CAP_FILE.dumpcap" | head -n1)
	: "${LO_CAP_DROPPED:=0}"
}

# hex_of STRING: the bytes of STRING as lowercase hex, no separators.
hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# pcap_payload_hex PCAP: every TCP payload byte of the capture, in capture order, as one
# lowercase hex string (needs tshark).
pcap_payload_hex() {
	tshark -r "$1" -T fields -e tcp.payload 2>/dev/null | tr -d ':,\n' | tr 'A-F' 'a-f'
}

# ---- the data directory's consistency -----------------------------------------------------------

# expect_store_consistent DATA: ferry.db passes SQLite's integrity check; every object
# file in DATA/objects is named by an objects row and every row's file exists; every
# file in DATA/objects/tmp is the temporary of a partials row (an upload kept for a
# resume), and nothing else lies in objects/. Needs sqlite3 (the caller skips without).
expect_store_consistent() {
	local db=$1/ferry.db rows files
	[ "$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)" = ok ] ||
		fail "$db: integrity check: $(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1 | head -5)"
	rows=$(sqlite3 "$db" 'SELECT object FROM objects ORDER BY object') ||
		fail "$db: cannot read the objects table"
	files=$(find "$1/objects" -maxdepth 1 -type f -printf '%f\n' | sort)
	[ "$rows" = "$files" ] || fail "objects rows and files differ:
$(diff <(printf '%s\n' "$rows") <(printf '%s\n' "$files") | grep '^[<>]' | head -10)"
	if [ -d "$1/objects/tmp" ]; then
		files=$(find "$1/objects/tmp" -mindepth 1 -printf '%f\n' | sort)
		rows=$(sqlite3 "$db" 'SELECT object FROM partials ORDER BY object' 2>/dev/null) || rows=
		[ -z "$(comm -23 <(printf '%s\n' "$files" | sed '/^$/d') \
			<(printf '%s\n' "$rows" | sed '/^$/d'))" ] ||
			fail "objects/tmp holds files no partial upload names: $files"
	fi
	[ -z "$(find "$1/objects" -mindepth 1 -maxdepth 1 ! -type f ! -name tmp)" ] ||
		fail "unexpected entries in $1/objects: $(find "$1/objects" -mindepth 1 ! -type f)"
	check
}

# expect_no_sanitizer_report: no server log of this test (ferryd and the session processes
# it forked write there) holds a sanitizer report, which their exit status cannot show.
expect_no_sanitizer_report() {
	local f
	for f in "$T"/ferryd.*.log; do
		[ -e "$f" ] || continue
		if grep -Eq 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$f"; then
			cp "$f" "$T/last.err"
			fail "sanitizer report in $(basename "$f")"
		fi
	done
	check
}
