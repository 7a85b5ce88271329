#!/usr/bin/env bash
# Bad input at the protocol level against a live ferryd: a client that does not speak TLS,
# one that offers only TLS 1.2, one that connects and sends nothing (the handshake timeout
# frees its slot), and over TLS: an oversize frame, garbage, an unknown type, frames out of
# order, no common version, a session without a certificate. The server answers ERRR or
# closes, logs it, and keeps serving.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"

DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_conf "$DATA" handshake_timeout 2
server_conf "$DATA" max_sessions 1
server_conf "$DATA" auth_max_failures 50
server_add_user "$DATA" alice 'alice password'
server_start "$DATA"

# still_serving: the server process is alive and a TLS handshake with it succeeds.
still_serving() {
	kill -0 "$SERVER_PID" 2>/dev/null || { cp "$SERVER_LOG" "$T/last.err"; fail "ferryd died"; }
	: >"$T/empty"
	local i
	for i in $(seq 1 30); do
		wire_session "$DATA/ca.pem" "$T/empty" "$T/probe" && { check; return 0; }
		sleep 0.2
	done
	fail "ferryd no longer completes a TLS handshake: $(cat "$T/probe.err")"
}

# raw_session INPUT: send INPUT over TLS; the frames of the answer in $T/frames.
raw_session() {
	wire_session "$DATA/ca.pem" "$1" "$T/answer"
	wire_frames "$T/answer" >"$T/frames"
}

# expect_errr N CODE: frame N of the answer is ERRR with CODE, and nothing follows it.
expect_errr() {
	local got
	got=$(sed -n "$(($1 + 1))p" "$T/frames" | cut -d' ' -f1)
	[ "$got" = ERRR ] || fail "expected ERRR as frame $1, got '$got': $(cat "$T/frames")"
	got=$(wire_errr_code "$T/answer" "$1")
	[ "$got" = "$2" ] || fail "ERRR code $got, expected $2 ($(tail -c +5 "$T/errr.payload"))"
	[ "$(wc -l <"$T/frames")" -eq $(($1 + 1)) ] || fail "frames after the ERRR: $(cat "$T/frames")"
	check
}

# ---- a silent client: the handshake timeout frees the only slot ------------------------------------
exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT" || fail "cannot connect"
start=$(date +%s)
sleep 0.3
# while it holds the only slot, others are turned away
expect_exit 1 enroll_user "$T/home/busy" alice 'alice password'
expect_err 'busy|too many|capacity|sessions'
timeout 15 cat <&3 >/dev/null 2>&1
end=$(date +%s)
exec 3<&- 3>&-
[ $((end - start)) -le 8 ] || fail "a silent client was kept $((end - start)) s (handshake_timeout 2)"
check
server_log_has 'time[d ]*out'
expect_ok enroll_user "$T/home/alice" alice 'alice password'

# the same after a TLS handshake but no frame (the timeout covers the first frame too)
mkfifo "$T/fifo"
timeout 15 openssl s_client -connect "$SERVER_ADDR" -tls1_3 -CAfile "$DATA/ca.pem" -quiet \
	<"$T/fifo" >"$T/silent.answer" 2>"$T/silent.err" &
SC_PID=$!
exec 4>"$T/fifo"
start=$(date +%s)
wait "$SC_PID"
end=$(date +%s)
exec 4>&-
[ $((end - start)) -le 8 ] || fail "a client silent after the handshake was kept $((end - start)) s"
check
wire_frames "$T/silent.answer" >"$T/frames"
cp "$T/silent.answer" "$T/answer"
if [ -s "$T/frames" ]; then
	expect_errr 0 11
fi
expect_ok enroll_user "$T/home/alice2" alice 'alice password'

# ---- the rest with room for more than one session ----------------------------------------------
server_stop
server_conf "$DATA" max_sessions 16
server_start "$DATA"

# ---- not TLS at all ------------------------------------------------------------------------------
exec 3<>"/dev/tcp/127.0.0.1/$SERVER_PORT" || fail "cannot connect"
printf 'GET / HTTP/1.0\r\n\r\n' >&3
# closed, cleanly or by a reset (unread bytes): anything but the timeout
timeout 10 cat <&3 >"$T/http.answer" 2>/dev/null
[ $? -ne 124 ] || fail "the server did not close a non-TLS connection"
exec 3<&- 3>&-
grep -aq 'HTTP' "$T/http.answer" && fail "the server answered HTTP"
check
server_log_has 'not a TLS client'
still_serving

# ---- TLS 1.2 -------------------------------------------------------------------------------------
timeout 20 openssl s_client -connect "$SERVER_ADDR" -tls1_2 -CAfile "$DATA/ca.pem" \
	</dev/null >"$T/tls12.out" 2>&1 && fail "a TLS 1.2 handshake succeeded"
grep -Eiq 'protocol version|alert|handshake failure|no protocols' "$T/tls12.out" ||
	fail "TLS 1.2: unexpected s_client output: $(head -c 600 "$T/tls12.out")"
check
server_log_has 'TLS 1\.2|protocol version|TLS 1\.3'
still_serving

# ---- bad frames over TLS: ERRR PROTOCOL (1) and close ----------------------------------------------
# oversize: a HELO claiming 1 MiB before authentication
{ printf 'HELO'; wire_u32 1048576; head -c 100 /dev/zero; } >"$T/in"
raw_session "$T/in"
expect_errr 0 1
server_log_has 'exceeds|limit|too (large|long)'

# garbage: not a frame type
printf '\x16\x03\x01\x00garbage-garbage-garbage' >"$T/in"
raw_session "$T/in"
expect_errr 0 1

# an unknown frame type
{ printf 'ZZZZ'; wire_u32 0; } >"$T/in"
raw_session "$T/in"
expect_errr 0 1

# a HELO whose payload is malformed (trailing bytes)
{ printf 'HELO'; wire_u32 9; wire_u16 1; wire_u16 1; wire_u8 1; wire_u8 0; printf 'xyz'; } >"$T/in"
raw_session "$T/in"
expect_errr 0 1

# ENRL before HELO
: >"$T/empty.der"
printf 'x' >"$T/one.der"
wire_enrl alice 'alice password' "$T/one.der" >"$T/in"
raw_session "$T/in"
expect_errr 0 1

# a second HELO where ENRL belongs
{ wire_helo 1; wire_helo 1; } >"$T/in"
raw_session "$T/in"
[ "$(head -n1 "$T/frames" | cut -d' ' -f1)" = HELO ] || fail "no HELO reply: $(cat "$T/frames")"
expect_errr 1 1

# truncated: a frame header promising more than is sent, then the client closes
{ printf 'HELO'; wire_u32 200; printf 'short'; } >"$T/in"
raw_session "$T/in" || true
still_serving

# ---- version negotiation and purposes ------------------------------------------------------------
wire_helo 1 2 3 >"$T/in"
raw_session "$T/in"
expect_errr 0 2
wire_helo 7 >"$T/in"
raw_session "$T/in"
expect_errr 0 1
# a session without a client certificate
wire_helo 2 >"$T/in"
raw_session "$T/in"
expect_errr 0 9
# with alice's certificate the same HELO is answered with her name; a frame the session
# does not know then ends it with ERRR PROTOCOL
{ wire_helo 2; printf 'ZZZZ'; wire_u32 0; } >"$T/in"
wire_session "$DATA/ca.pem" "$T/in" "$T/answer" -cert "$T/home/alice/cert.pem" \
	-key "$T/home/alice/key.pem"
wire_frames "$T/answer" >"$T/frames"
[ "$(head -n1 "$T/frames" | cut -d' ' -f1)" = HELO ] ||
	fail "session HELO: $(cat "$T/frames" "$T/answer.err")"
wire_frame_payload "$T/answer" 0 | grep -aq 'alice' || fail "session HELO does not name alice"
check
expect_errr 1 1

still_serving
pass
