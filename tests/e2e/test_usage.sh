#!/bin/bash
# The programs' front doors: help, version, the command table, and usage errors (exit 2,
# one line with a hint, nothing written).
. "$(dirname "$0")/lib.sh"

make_key x25519 "$T/k"
gen_file "$T/pt" 100 1
VERSION=$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "${FERRY_SOURCE:-/nonexistent}/CMakeLists.txt" 2>/dev/null)

# ---- ferry ----------------------------------------------------------------------------------
expect_exit 2 "$FERRY"
grep -q 'Usage: ferry' "$T/last.err" || fail "no usage on stderr without arguments"
[ ! -s "$T/last.out" ] || fail "usage error printed on stdout"
for h in --help -h help; do
	expect_ok "$FERRY" $h
	for c in keygen encrypt decrypt; do
		grep -q "^  $c " "$T/last.out" || fail "'ferry $h' does not list $c"
	done
done
expect_ok "$FERRY" --version
grep -Eq '^ferry [0-9]+\.[0-9]+\.[0-9]+$' "$T/last.out" || fail "--version: $(cat "$T/last.out")"
if [ -n "$VERSION" ]; then
	[ "$(cat "$T/last.out")" = "ferry $VERSION" ] || fail "--version is not $VERSION (CMakeLists.txt)"
fi
expect_exit 2 "$FERRY" frobnicate
expect_err "unknown command 'frobnicate'.*ferry --help"
expect_exit 2 "$FERRY" --frobnicate
expect_err "unknown option '--frobnicate'"
expect_exit 2 "$FERRY" help frobnicate
expect_err "unknown command 'frobnicate'"
for c in keygen encrypt decrypt; do
	expect_ok "$FERRY" "$c" --help
	grep -q "^Usage: ferry $c" "$T/last.out" || fail "$c --help"
	cp "$T/last.out" "$T/help-$c"
	expect_ok "$FERRY" "$c" -h
	expect_same "$T/help-$c" "$T/last.out"
	expect_ok "$FERRY" help "$c"
	expect_same "$T/help-$c" "$T/last.out"
	# Every long option the command takes is in its help.
	case $c in
	keygen) opts="--type --passphrase --passphrase-file --force --output --help" ;;
	encrypt) opts="--recipient --passphrase --passphrase-file --work-factor --chunk-size --output --quiet --progress --help" ;;
	decrypt) opts="--identity --passphrase --passphrase-file --output --quiet --progress --help" ;;
	esac
	for o in $opts; do
		grep -q -- "$o" "$T/help-$c" || fail "$c --help does not mention $o"
		# ... and so does the manual page, in roff's spelling of hyphens.
		if [ -f "${FERRY_SOURCE:-/nonexistent}/docs/ferry.1" ]; then
			grep -Fq -- "${o//-/\\-}" "$FERRY_SOURCE/docs/ferry.1" ||
				fail "docs/ferry.1 does not mention $o"
		fi
	done
done

# ---- encrypt usage errors ---------------------------------------------------------------------
out=$T/never
usage_error() {
	local re=$1 cmd=$2
	shift
	expect_exit 2 "$FERRY" "$@"
	expect_err "ferry: $cmd: .*$re.*try 'ferry $cmd --help'"
	expect_no_output "$out"
}
usage_error 'no recipient' encrypt -o "$out" "$T/pt"
usage_error "unknown option '--frobnicate'" encrypt --frobnicate -r "$T/k.pub" -o "$out" "$T/pt"
usage_error "unknown option '-z'" encrypt -z -r "$T/k.pub" -o "$out" "$T/pt"
usage_error "unknown option '-z'" encrypt -qz -r "$T/k.pub" -o "$out" "$T/pt"
usage_error '-r and --passphrase' encrypt -r "$T/k.pub" --passphrase -o "$out" "$T/pt"
usage_error '-r and --passphrase' encrypt --passphrase -r "$T/k.pub" -o "$out" "$T/pt"
usage_error "unexpected argument '$T/pt'" encrypt -r "$T/k.pub" -o "$out" "$T/pt" "$T/pt"
usage_error "'-r' needs a value" encrypt -o "$out" "$T/pt" -r
usage_error "'--recipient' needs a value" encrypt -o "$out" "$T/pt" --recipient
usage_error "'--chunk-size' needs a value" encrypt -r "$T/k.pub" -o "$out" "$T/pt" --chunk-size
usage_error "'--output' needs a value" encrypt -r "$T/k.pub" "$T/pt" --output
for cs in 0 100 1023 9M 8193K 1x 1KK K "" -5 +1024 " 1024" 0x400 1e3 99999999999999999999999 18446744073709551615K; do
	usage_error "chunk-size" encrypt -r "$T/k.pub" --chunk-size "$cs" -o "$out" "$T/pt"
done
for cs in 1024 1K 1k 1KiB 8M 8m 8MiB 8192K 65536 1M; do
	rm -f "$T/ct"
	expect_ok "$FERRY" encrypt -r "$T/k.pub" --chunk-size "$cs" -o "$T/ct" "$T/pt"
done
usage_error "work-factor" encrypt -r "$T/k.pub" --work-factor 12 -o "$out" "$T/pt"
usage_error "option '--quiet' takes no value" encrypt -r "$T/k.pub" --quiet=yes -o "$out" "$T/pt"
usage_error "unknown option '--pass'" encrypt --pass -o "$out" "$T/pt"
# Long options may be abbreviated while unambiguous, and take "=value".
rm -f "$T/ct"
expect_ok "$FERRY" encrypt --recip="$T/k.pub" --chunk-size=2K --output="$T/ct" "$T/pt"
[ "$(chunk_size "$T/ct")" = 2048 ] || fail "--chunk-size=2K"

# ---- decrypt usage errors ---------------------------------------------------------------------
expect_ok "$FERRY" encrypt -r "$T/k.pub" -o "$T/ct" "$T/pt"
usage_error 'no identity' decrypt -o "$out" "$T/ct"
usage_error "unknown option '--recipient'" decrypt --recipient "$T/k" -o "$out" "$T/ct"
usage_error "unexpected argument" decrypt -i "$T/k" -o "$out" "$T/ct" extra
usage_error "'-i' needs a value" decrypt -o "$out" "$T/ct" -i
usage_error "unknown option '--work-factor" decrypt -i "$T/k" --work-factor 10 -o "$out" "$T/ct"

# ---- keygen usage errors are in test_keygen.sh ---------------------------------------------------

# ---- inputs that do not exist or are not files (exit 1, named) --------------------------------
expect_exit 1 "$FERRY" encrypt -r "$T/k.pub" -o "$out" "$T/missing"
expect_err "$T/missing: No such file"
expect_no_output "$out"
expect_exit 1 "$FERRY" encrypt -r "$T/k.pub" -o "$out" "$T"
expect_err "$T: is a directory"
expect_no_output "$out"
expect_exit 1 "$FERRY" decrypt -i "$T/k" -o "$out" "$T/missing"
expect_err "$T/missing: No such file"
expect_no_output "$out"
expect_exit 1 "$FERRY" decrypt -i "$T/missing-key" -o "$out" "$T/ct"
expect_err "$T/missing-key"
expect_no_output "$out"

# A control character in a name cannot forge a second line of error.
expect_exit 1 "$FERRY" encrypt -r "$T/k.pub" -o "$out" "$T/bad
ferry: forged"
expect_err "bad\?ferry: forged"

# ---- ferryd -----------------------------------------------------------------------------------
if [ -n "$FERRYD" ]; then
	[ -x "$FERRYD" ] || fail "$FERRYD is not executable"
	expect_exit 2 "$FERRYD"
	grep -q '^Usage: ferryd <command>' "$T/last.err" || fail "ferryd without arguments"
	for h in --help -h help; do
		expect_ok "$FERRYD" $h
		for c in init ca user cert serve; do
			grep -q "^  $c " "$T/last.out" || fail "'ferryd $h' does not list $c"
		done
	done
	expect_ok "$FERRYD" --version
	grep -Eq '^ferryd [0-9]+\.[0-9]+\.[0-9]+$' "$T/last.out" || fail "ferryd --version"
	[ -z "$VERSION" ] || [ "$(cat "$T/last.out")" = "ferryd $VERSION" ] || fail "ferryd version"
	expect_exit 2 "$FERRYD" frobnicate
	expect_err "unknown command 'frobnicate'"
	expect_exit 2 "$FERRYD" --frobnicate
	expect_err "unknown option '--frobnicate'"
	expect_exit 2 "$FERRYD" --help extra
else
	note "FERRYD not set: ferryd not checked"
fi

pass
