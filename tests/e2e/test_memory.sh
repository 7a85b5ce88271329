#!/bin/bash
# Constant memory: encrypting and decrypting 4 GiB through pipes must peak at no more than
# 16 MiB of resident memory each (measured with GNU time's %M, in KiB). This asserts
# memory, never time. Skipped under sanitizers, whose shadow memory makes RSS meaningless.
. "$(dirname "$0")/lib.sh"

[ "$FERRY_SANITIZED" = 1 ] && skip "peak RSS is not meaningful under sanitizers"
have_gnu_time || skip "GNU time (/usr/bin/time -f %M) is not installed"

LIMIT_KIB=16384
SIZE=$((4 << 30))

make_key p384 "$T/k"
want=$(gen_data "$SIZE" 4096 | sha256_of)
got=$(gen_data "$SIZE" 4096 |
	/usr/bin/time -f %M -o "$T/rss-encrypt" "$FERRY" encrypt -r "$T/k.pub" 2>"$T/enc.err" |
	/usr/bin/time -f %M -o "$T/rss-decrypt" "$FERRY" decrypt -i "$T/k" 2>"$T/dec.err" |
	sha256_of) || fail "pipeline failed: $(cat "$T/enc.err" "$T/dec.err")"
[ "$got" = "$want" ] || fail "4 GiB round trip differs: $(cat "$T/enc.err" "$T/dec.err")"
check

for what in encrypt decrypt; do
	rss=$(tail -n 1 "$T/rss-$what")
	[[ $rss =~ ^[0-9]+$ ]] || fail "no peak RSS for $what: $(cat "$T/rss-$what")"
	note "$what of 4 GiB from a pipe: peak RSS $rss KiB (limit $LIMIT_KIB)"
	[ "$rss" -le "$LIMIT_KIB" ] || fail "$what peak RSS $rss KiB exceeds $LIMIT_KIB KiB"
	check
done

pass
