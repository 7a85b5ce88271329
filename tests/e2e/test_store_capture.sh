#!/usr/bin/env bash
# Nothing of a stored file crosses the wire in clear: capture a `ferry put`, `ferry ls`
# and `ferry get` of a file whose content and name carry marker strings on the loopback
# interface (dumpcap), and look for the markers in the TCP payloads (tshark) and in the
# raw capture file. The capture is shown to hold the whole exchange (at least the file's
# size in payload bytes twice over, TLS records), and a control capture of the same
# markers sent over plain TCP proves that the search finds them when they are there.
# Skipped (77) without dumpcap and tshark, or when capturing on lo is not allowed here.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"
command -v dumpcap >/dev/null 2>&1 || skip "dumpcap is not installed (package tshark)"
command -v tshark >/dev/null 2>&1 || skip "tshark is not installed"

# Unusual strings, so that a match can only be ours.
MARKER="Zq8-content-marker-$RANDOM$RANDOM"
NAME="Zq8-name-marker-$RANDOM$RANDOM.txt"

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" alice 'alice password'
server_start "$DATA"
A=$T/home/alice
enroll_user "$A" alice 'alice password' >"$T/last.out" 2>"$T/last.err" || fail "enroll alice"
check
fa() { "$FERRY" "$1" --profile "$A" "${@:2}"; }

# The marker at the start, all through (in several chunks) and at the end, around random
# bytes; about 2.5 MiB.
mkdir -p "$T/in" "$T/out"
{
	for i in $(seq 1 3000); do printf '%s line %d\n' "$MARKER" "$i"; done
	gen_data 2000000 9
	for i in $(seq 1 3000); do printf '%s tail %d\n' "$MARKER" "$i"; done
} >"$T/in/plain"
SIZE=$(file_size "$T/in/plain")

# ---- put, ls and get, captured --------------------------------------------------------------
lo_capture_start "$T/store.pcap" "$SERVER_PORT"
expect_ok fa put --as "$NAME" "$T/in/plain"
expect_ok fa ls --long
grep -qF -- "$NAME" "$T/last.out" || fail "ls does not list $NAME"
check
expect_ok fa get -o "$T/out/plain" "$NAME"
lo_capture_stop
expect_same "$T/in/plain" "$T/out/plain"

pcap_payload_hex "$T/store.pcap" >"$T/store.hex"
# the capture really holds the transfers: the file went up and came down (if the kernel
# dropped packets despite the large buffer, at least one transfer's worth)
CAPTURED=$(( $(wc -c <"$T/store.hex") / 2 ))
WANT=$((2 * SIZE))
if [ "$LO_CAP_DROPPED" -gt 0 ]; then
	note "the kernel dropped $LO_CAP_DROPPED packets of the capture"
	WANT=$SIZE
fi
[ "$CAPTURED" -ge "$WANT" ] ||
	fail "the capture holds $CAPTURED payload bytes for two transfers of $SIZE"
check
# TLS records (content type 0x17, version 0x0303), in TLS 1.3 only
grep -q '170303' "$T/store.hex" || fail "no TLS application data record in the capture"
check
for marker in "$MARKER" "$NAME"; do
	grep -qi "$(hex_of "$marker")" "$T/store.hex" && fail "'$marker' is in a TCP payload in clear"
	grep -aqF -- "$marker" "$T/store.pcap" && fail "'$marker' is in the capture file in clear"
	check
done
# nor a shorter piece of either (a marker cut by a segment boundary would still show this)
for marker in "$MARKER" "$NAME"; do
	grep -qi "$(hex_of "${marker:0:10}")" "$T/store.hex" &&
		fail "a 10-byte prefix of '$marker' is in a TCP payload"
	check
done

# ---- control: the same markers over plain TCP are found --------------------------------------------
lo_capture_start "$T/plain.pcap" "$SERVER_PORT"
if exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT"; then
	printf 'PUTF %s %s\r\n' "$NAME" "$MARKER" >&3
	timeout 10 cat <&3 >/dev/null 2>&1
	exec 3<&- 3>&-
else
	fail "cannot connect to $SERVER_ADDR"
fi
lo_capture_stop
pcap_payload_hex "$T/plain.pcap" >"$T/plain.hex"
for marker in "$MARKER" "$NAME"; do
	grep -qi "$(hex_of "$marker")" "$T/plain.hex" ||
		fail "the control capture does not show '$marker': the search is blind"
	grep -aqF -- "$marker" "$T/plain.pcap" ||
		fail "grep -a does not find '$marker' in the control capture"
	check
done
server_log_has 'not a TLS client'

expect_no_sanitizer_report
pass
