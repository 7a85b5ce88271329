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
