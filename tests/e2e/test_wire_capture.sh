#!/usr/bin/env bash
# Nothing secret crosses the wire in clear: capture a whole enrolment on the loopback
# interface with dumpcap and look for the password and the user name (which is in the
# CSR's subject and the ENRL message) in the TCP payloads and in the raw capture. A
# control capture of the same markers sent over plain TCP proves the search finds them
# when they are there.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"
command -v dumpcap >/dev/null 2>&1 || skip "dumpcap is not installed (package tshark)"
command -v tshark >/dev/null 2>&1 || skip "tshark is not installed"

# Unusual strings, so a match can only be ours.
USER_NAME=zq7.wirecheck
PASSWORD='Pw-7f3c9e1d-secret-marker'

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" "$USER_NAME" "$PASSWORD"
server_start "$DATA"

CAP_PID=
# capture_start FILE: dumpcap on lo for the server's port, until capture_stop.
capture_start() {
	dumpcap -q -i lo -f "tcp port $SERVER_PORT" -w "$1" >"$T/dumpcap.out" 2>&1 &
	CAP_PID=$!
	on_exit "kill -INT $CAP_PID; wait $CAP_PID"
	local i
	for i in $(seq 1 50); do
		[ -s "$1" ] && break
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$CAP_PID" 2>/dev/null || [ ! -s "$1" ]; then
		wait "$CAP_PID" 2>/dev/null
		skip "dumpcap cannot capture on lo here: $(head -c 300 "$T/dumpcap.out")"
	fi
	sleep 0.5
}
capture_stop() {
	sleep 0.5
	kill -INT "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
}

hex_of() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# payload_hex PCAP: every TCP payload byte of the capture as one lowercase hex string.
payload_hex() {
	tshark -r "$1" -T fields -e tcp.payload 2>/dev/null | tr -d ':,\n' | tr 'A-F' 'a-f'
}

# ---- the enrolment ---------------------------------------------------------------------------
capture_start "$T/enrol.pcap"
expect_ok enroll_user "$T/home" "$USER_NAME" "$PASSWORD"
capture_stop
payload_hex "$T/enrol.pcap" >"$T/enrol.hex"
# the capture really holds the exchange: a TLS handshake and some kilobytes of it
[ "$(wc -c <"$T/enrol.hex")" -gt 2000 ] || fail "the capture holds almost nothing"
grep -q '^16030' "$T/enrol.hex" || grep -q '16030[13]' "$T/enrol.hex" ||
	fail "no TLS record in the capture"
check
for marker in "$PASSWORD" "$USER_NAME"; do
	grep -qi "$(hex_of "$marker")" "$T/enrol.hex" && fail "'$marker' is in a TCP payload in clear"
	grep -aqF "$marker" "$T/enrol.pcap" && fail "'$marker' is in the capture file in clear"
	check
done
# nor, for the user name, in the form a DER subject would carry it
grep -qi "$(hex_of "$USER_NAME" | cut -c1-12)" "$T/enrol.hex" &&
	fail "a prefix of the user name is in a TCP payload"
check
tshark -r "$T/enrol.pcap" -Y tls 2>/dev/null | grep -q 'TLSv1.3' ||
	note "tshark did not label the records TLSv1.3 (dissector on a non-standard port)"

# ---- control: the same markers over plain TCP are found ------------------------------------------
capture_start "$T/plain.pcap"
if exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT"; then
	printf 'HELO %s %s\r\n' "$USER_NAME" "$PASSWORD" >&3
	timeout 10 cat <&3 >/dev/null 2>&1
	exec 3<&- 3>&-
else
	fail "cannot connect to $SERVER_ADDR"
fi
capture_stop
payload_hex "$T/plain.pcap" >"$T/plain.hex"
for marker in "$PASSWORD" "$USER_NAME"; do
	grep -qi "$(hex_of "$marker")" "$T/plain.hex" ||
		fail "the control capture does not show '$marker': the search is blind"
	grep -aqF "$marker" "$T/plain.pcap" ||
		fail "grep -a does not find '$marker' in the control capture"
	check
done
server_log_has 'not a TLS client'

pass
