#!/usr/bin/env bash
# A short tour of what ferry does today: make a key pair, encrypt a file to it, show that
# the ciphertext gives nothing away and that tampering is caught, then decrypt and check
# the result is identical. Everything happens in .ferry-run/ (ignored by git).
#
#   scripts/demo.sh [path/to/ferry]        (default build/ferry; `make run` builds it)
set -euo pipefail

cd "$(dirname "$0")/.."
ferry="${1:-build/ferry}"
run=.ferry-run
[ -x "$ferry" ] || { echo "demo: $ferry not found; run 'make build' first" >&2; exit 1; }

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$run"
mkdir -p "$run"

say "1. A P-384 key pair for Alice (private key mode 0600, public key beside it)"
show "$ferry" keygen -t p384 -o "$run/alice.pem"
ls -l "$run"

say "2. A sample file: a readable marker around 4 MiB of data (several 1 MiB chunks)"
marker="FERRY-DEMO-MARKER-$$"
{
	echo "Quarterly figures, confidential. $marker"
	od -An -tx1 -N $((1400 * 1024)) /dev/urandom
	echo "End of report. $marker"
} >"$run/report.txt"
ls -l "$run/report.txt"

say "3. Encrypt it to Alice's public key"
show "$ferry" encrypt -q -r "$run/alice.pem.pub" -o "$run/report.txt.ferry" "$run/report.txt"
ls -l "$run/report.txt" "$run/report.txt.ferry"

say "4. The ciphertext reveals nothing: the marker is in the plaintext only"
printf 'marker lines in report.txt:       %s\n' "$(grep -ac "$marker" "$run/report.txt" || true)"
printf 'marker lines in report.txt.ferry: %s\n' "$(grep -ac "$marker" "$run/report.txt.ferry" || true)"
if grep -aq "$marker" "$run/report.txt.ferry"; then
	echo "demo: the marker is visible in the ciphertext" >&2
	exit 1
fi
echo "The header in clear: magic, version, chunk size, random nonce, stanza count, then"
echo "the recipient stanza (type 2 = P-384, 145 bytes of wrapped file key):"
od -A d -c -N 96 "$run/report.txt.ferry"

say "5. Tampering is detected: flip one byte in the middle of a copy"
cp "$run/report.txt.ferry" "$run/tampered.ferry"
size=$(stat -c %s "$run/tampered.ferry")
printf '\x55' | dd of="$run/tampered.ferry" bs=1 seek=$((size / 2)) conv=notrunc status=none
if "$ferry" decrypt -q -i "$run/alice.pem" -o "$run/tampered.out" "$run/tampered.ferry"; then
	echo "demo: a tampered file decrypted" >&2
	exit 1
fi
[ ! -e "$run/tampered.out" ] && echo "(refused, and no partial output file was left behind)"

say "6. Decrypt with Alice's private key and compare"
show "$ferry" decrypt -q -i "$run/alice.pem" -o "$run/report.out.txt" "$run/report.txt.ferry"
show cmp "$run/report.txt" "$run/report.out.txt"
sha256sum "$run/report.txt" "$run/report.out.txt"
echo "identical."

say "Next, try it yourself"
cat <<EOT
  $ferry keygen -t x25519 -o $run/bob.pem
  $ferry encrypt -r $run/alice.pem.pub -r $run/bob.pem.pub -o $run/both.ferry $run/report.txt
  $ferry decrypt -i $run/bob.pem -o $run/bob.txt $run/both.ferry
  $ferry encrypt -p -o $run/secret.ferry $run/report.txt      # with a passphrase
  $ferry decrypt -p -o $run/secret.txt $run/secret.ferry
  $ferry help encrypt
  make test                                                    # the test suite
EOT
