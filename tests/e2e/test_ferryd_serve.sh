#!/bin/bash
# ferryd serve on a loopback port: the "listening on" line, clients that are refused and
# logged (plain TCP garbage, TLS 1.2, a silent client dropped at the handshake timeout,
# garbage and oversize frames, a busy server), then SIGTERM stops it cleanly. When python3
# is available, a minimal protocol client also drives enrolment and sessions from the
# server's side: success, wrong password, unknown and disabled users, a weak CSR, a CSR
# asking for another name, rate limiting, the audit table, revocation.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] || skip "FERRYD not set"
command -v openssl >/dev/null || skip "openssl not installed"
unset FERRY_DATA

D=$T/data
expect_ok "$FERRYD" init --data "$D" --name "Serve Test"
{
	echo "handshake_timeout = 1"
	echo "auth_max_failures = 3"
	echo "max_sessions_per_user = 1"
} >>"$D/ferryd.conf"

SERVER_PID=
LOG=

# start_server LOG [ARGS...]: run ferryd serve on a free loopback port; sets PORT.
start_server() {
	LOG=$1
	shift
	: >"$LOG"
	"$FERRYD" serve --data "$D" --listen 127.0.0.1:0 "$@" 2>"$LOG" &
	SERVER_PID=$!
	on_exit "kill $SERVER_PID"
	for _ in $(seq 100); do
		PORT=$(sed -n 's/^ferryd: listening on 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$LOG")
		[ -n "$PORT" ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || fail "ferryd serve died: $(cat "$LOG")"
		sleep 0.1
	done
	fail "ferryd serve did not say where it listens: $(cat "$LOG")"
}

# wait_log REGEX: the server log gets a line matching REGEX within 5 seconds.
wait_log() {
	for _ in $(seq 50); do
		grep -Eq -- "$1" "$LOG" && { check; return 0; }
		sleep 0.1
	done
	fail "no log line matching /$1/ in: $(cat "$LOG")"
}

# stop_server: SIGTERM, exit 0, "stopped" logged.
stop_server() {
	local st
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	st=$?
	[ "$st" -eq 0 ] || fail "ferryd serve exited $st on SIGTERM: $(tail -5 "$LOG")"
	grep -q '^ferryd: stopped$' "$LOG" || fail "no 'stopped' line: $(tail -3 "$LOG")"
	kill -0 "$SERVER_PID" 2>/dev/null && fail "ferryd serve still running"
	# Connection processes report sanitizer findings only in the log.
	grep -q 'Sanitizer' "$LOG" && fail "sanitizer report in the server log: $(cat "$LOG")"
	check
}

# tls_send BYTES-PRINTF [SECONDS]: a TLS 1.3 client (trusting the root) that sends the
# bytes, keeps the connection open SECONDS (default 2) and prints what came back.
tls_send() {
	{ printf "$1"; sleep "${2:-2}"; } |
		timeout 10 openssl s_client -tls1_3 -quiet -CAfile "$D/ca.pem" \
			-verify_return_error -connect "127.0.0.1:$PORT" 2>"$T/s_client.err"
}

start_server "$T/serve.log"
grep -q 'ferryd: listening on 127.0.0.1:[0-9]* (TLS 1.3' "$LOG" || fail "listening line"
grep -c . "$LOG" | grep -qx 1 || fail "more than one line at start: $(cat "$LOG")"
check

# A client that does not speak TLS.
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "cannot connect to $PORT"
printf 'GET / HTTP/1.0\r\n\r\n' >&3
timeout 5 cat <&3 >/dev/null 2>&1
[ $? -ne 124 ] || fail "server kept a plain-TCP client open"
exec 3>&-
wait_log 'TLS handshake failed: .*not a TLS client \(first bytes 0x47 0x45 0x54 0x20\)'

# TLS 1.2 or lower.
timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" </dev/null >"$T/tls12.out" 2>&1 &&
	fail "a TLS 1.2 client got through: $(cat "$T/tls12.out")"
wait_log 'TLS handshake failed: .*TLS 1\.2 or lower'

# A client that connects and sends nothing is dropped after handshake_timeout (1 s).
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "cannot connect to $PORT"
start=$(date +%s)
timeout 8 cat <&3 >/dev/null 2>&1
[ $? -ne 124 ] || fail "silent client not dropped within 8 s"
exec 3>&-
[ $(( $(date +%s) - start )) -le 4 ] || fail "silent client held for $(( $(date +%s) - start )) s"
wait_log '127\.0\.0\.1:[0-9]+: TLS handshake failed: .*timed out'

# TLS, then no HELO: ERRR TIMEOUT and a log line.
tls_send '' 3 >"$T/silent.out"
grep -aq ERRR "$T/silent.out" || fail "no ERRR for a TLS client without HELO"
wait_log 'no HELO within the 1 s handshake timeout'

# Garbage and oversize frames.
tls_send 'he!o\000\000\000\000' >"$T/garbage.out"
grep -aq ERRR "$T/garbage.out" || fail "no ERRR for a garbage frame"
wait_log 'bad first frame: .*bad type bytes'
tls_send 'HELO\000\001\000\000' >"$T/big.out"
grep -aq ERRR "$T/big.out" || fail "no ERRR for an oversize frame"
wait_log 'bad first frame: .*65536 exceeds'
tls_send 'ENRL\000\000\000\000' >"$T/order.out"
grep -aq ERRR "$T/order.out" || fail "no ERRR for ENRL before HELO"
wait_log 'first frame is ENRL, not HELO'
# HELO for version 7 only.
tls_send 'HELO\000\000\000\007\000\007\000\007\001\001x' >"$T/version.out"
grep -aq ERRR "$T/version.out" || fail "no ERRR for an unknown version"
wait_log 'no common protocol version'

# The children are gone: every connection above was reaped.
sleep 0.3
n=$(pgrep -P "$SERVER_PID" | wc -l)
[ "$n" -eq 0 ] || fail "$n connection processes left after the clients left"
check

# ---- enrolment and sessions through a minimal protocol client --------------------------------
if command -v python3 >/dev/null; then
	cat >"$T/client.py" <<'PY'
import os, socket, ssl, struct, sys
# client.py PORT CA PURPOSE [USER PASSWORD CSR OUT] | [CERT KEY [FRAME]]
port, ca, purpose = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(ca)
if purpose == 2 and len(sys.argv) > 5:
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
src = os.environ.get("SRC")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10,
                                            source_address=(src, 0) if src else None),
                    server_hostname="127.0.0.1")
def send(t, p): s.sendall(t.encode() + struct.pack(">I", len(p)) + p)
def readn(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
def recv():
    h = readn(8)
    t, p = h[:4].decode(), readn(struct.unpack(">I", h[4:])[0])
    if t == "ERRR":
        code, n = struct.unpack(">HH", p[:4])
        print("ERRR %d %s" % (code, p[4:4 + n].decode()))
        sys.exit(3)
    return t, p
def str8(b): return bytes([len(b)]) + b
send("HELO", struct.pack(">HHB", 1, 1, purpose) + str8(b"e2e-client"))
t, p = recv()
assert t == "HELO", t
ver, pur = struct.unpack(">HB", p[:3])
sw = p[4:4 + p[3]]
ident = p[5 + p[3]:5 + p[3] + p[4 + p[3]]]
print("HELO %d %d %s identity=%s" % (ver, pur, sw.decode(), ident.decode()))
if purpose == 1:
    user, pw, csr = sys.argv[4].encode(), sys.argv[5].encode(), open(sys.argv[6], "rb").read()
    send("ENRL", str8(user) + struct.pack(">H", len(pw)) + pw + struct.pack(">H", len(csr)) + csr)
    t, p = recv()
    assert t == "CERT", t
    n, = struct.unpack(">H", p[:2])
    open(sys.argv[7], "wb").write(p[2:2 + n])
    print("CERT %d" % n)
elif len(sys.argv) > 6:
    send(sys.argv[6], b"")
    recv()
else:
    s.settimeout(float(os.environ.get("HOLD", "1")))
    try:
        recv()
    except socket.timeout:
        print("OPEN")
PY
	client() { python3 "$T/client.py" "$PORT" "$D/ca.pem" "$@"; }
	# expect_refused CODE NAME CLIENT-ARGS...: the server answers ERRR CODE.
	expect_refused() {
		local code=$1 name=$2
		shift 2
		client "$@" >"$T/client.out" 2>"$T/client.err"
		grep -q "^ERRR $code " "$T/client.out" ||
			fail "expected ERRR $code ($name), got: $(cat "$T/client.out" "$T/client.err")"
		check
	}
	mkcsr() { # mkcsr KEY-ARGS SUBJECT OUT
		openssl req -new $1 -nodes -keyout "$3.key" -subj "$2" -outform DER -out "$3" \
			2>/dev/null || fail "openssl req $1"
	}
	printf 'alice password\n' >"$T/pw"
	expect_ok "$FERRYD" user add alice --data "$D" --password-file "$T/pw"
	expect_ok "$FERRYD" user add bob --data "$D" --password-file "$T/pw"
	expect_ok "$FERRYD" user add carol --data "$D" --password-file "$T/pw"
	expect_ok "$FERRYD" user disable carol --data "$D"
	p384="-newkey ec -pkeyopt ec_paramgen_curve:P-384"
	mkcsr "$p384" "/CN=root/O=Evil Corp" "$T/alice.csr"

	expect_ok client 1 alice 'alice password' "$T/alice.csr" "$T/alice.der"
	grep -q '^HELO 1 1 ferryd [0-9.]* identity=$' "$T/last.out" || fail "HELO reply: $(cat "$T/last.out")"
	openssl x509 -inform DER -in "$T/alice.der" -out "$T/alice.pem" || fail "CERT is no certificate"
	expect_ok openssl verify -CAfile "$D/ca.pem" "$T/alice.pem"
	openssl x509 -in "$T/alice.pem" -noout -text >"$T/alice.txt"
	grep -q 'Subject: CN *= *alice, O *= *Serve Test$' "$T/alice.txt" ||
		fail "subject copied from the CSR? $(grep Subject: "$T/alice.txt")"
	grep -q 'TLS Web Client Authentication' "$T/alice.txt" || fail "no clientAuth"
	grep -q 'CA:FALSE' "$T/alice.txt" || fail "client certificate is not CA:FALSE"
	serial=$(openssl x509 -in "$T/alice.pem" -noout -serial | cut -d= -f2 | tr A-F a-f)
	wait_log "enrol alice from 127\.0\.0\.1:[0-9]+: ok, serial $serial, expires"

	expect_refused 6 "disabled" 1 carol 'alice password' "$T/alice.csr" "$T/x.der"
	wait_log 'enrol carol from .*: refused: DISABLED'
	mkcsr "-newkey rsa:2048" "/CN=bob" "$T/weak.csr"
	expect_refused 5 "weak key" 1 bob 'alice password' "$T/weak.csr" "$T/x.der"
	grep -q '2048' "$T/client.out" || fail "BAD_CSR does not say why: $(cat "$T/client.out")"
	wait_log 'enrol bob from .*: refused: BAD_CSR'
	head -c 100 /dev/urandom >"$T/junk.csr"
	expect_refused 5 "junk CSR" 1 bob 'alice password' "$T/junk.csr" "$T/x.der"

	# Failures: the client cannot tell an unknown user from a wrong password.
	expect_refused 3 "wrong password" 1 alice 'wrong' "$T/alice.csr" "$T/x.der"
	cp "$T/client.out" "$T/wrong.out"
	wait_log 'enrol alice from .*: refused: AUTH \(wrong password\)'
	expect_refused 3 "unknown user" 1 nobody 'alice password' "$T/alice.csr" "$T/x.der"
	cmp -s "$T/client.out" "$T/wrong.out" ||
		fail "unknown user and wrong password differ: $(cat "$T/client.out" "$T/wrong.out")"
	wait_log 'enrol nobody from .*: refused: AUTH \(unknown user\)'
	expect_refused 3 "invalid name" 1 '../x' 'alice password' "$T/alice.csr" "$T/x.der"
	wait_log 'enrol \.\./x from .*: refused: AUTH \(invalid user name'

	# Rate limits (auth_max_failures = 3). Per address: 127.0.0.1 has failed 3 times, so
	# even a right password from there is refused.
	expect_refused 4 "address rate limited" 1 bob 'alice password' "$T/alice.csr" "$T/x.der"
	wait_log 'enrol bob from 127\.0\.0\.1:[0-9]+: refused: RATE_LIMITED \(.*addr:127\.0\.0\.1'
	# Per user: 3 failures for bob from two other addresses lock bob everywhere.
	SRC=127.0.0.2 expect_refused 3 "wrong password" 1 bob 'nope' "$T/alice.csr" "$T/x.der"
	SRC=127.0.0.2 expect_refused 3 "wrong password" 1 bob 'nope' "$T/alice.csr" "$T/x.der"
	SRC=127.0.0.3 expect_refused 3 "wrong password" 1 bob 'nope' "$T/alice.csr" "$T/x.der"
	SRC=127.0.0.4 expect_refused 4 "user rate limited" 1 bob 'alice password' "$T/alice.csr" "$T/x.der"
	wait_log 'enrol bob from 127\.0\.0\.4:[0-9]+: refused: RATE_LIMITED \(.*user:bob'

	# Sessions.
	expect_ok client 2 "$T/alice.pem" "$T/alice.csr.key"
	grep -q '^HELO 1 2 ferryd [0-9.]* identity=alice$' "$T/last.out" || fail "session HELO: $(cat "$T/last.out")"
	grep -q '^OPEN$' "$T/last.out" || fail "session not kept open"
	wait_log "session alice from .*: accepted \(serial $serial\)"
	expect_refused 1 "unknown request" 2 "$T/alice.pem" "$T/alice.csr.key" ZZZZ
	grep -q 'unexpected ZZZZ' "$T/client.out" || fail "$(cat "$T/client.out")"
	expect_refused 1 "malformed request" 2 "$T/alice.pem" "$T/alice.csr.key" PUTF
	grep -q 'PUTF: name: truncated' "$T/client.out" || fail "$(cat "$T/client.out")"
	expect_refused 9 "no certificate" 2
	wait_log 'session - from .*: refused: CERT_REQUIRED'
	# max_sessions_per_user = 1: a second session of alice's is refused while one is open.
	n0=$(grep -c 'session alice from .*: accepted' "$LOG")
	HOLD=4 client 2 "$T/alice.pem" "$T/alice.csr.key" >"$T/held.out" 2>&1 &
	held=$!
	for _ in $(seq 50); do
		[ "$(grep -c 'session alice from .*: accepted' "$LOG")" -gt "$n0" ] && break
		sleep 0.1
	done
	expect_refused 7 "per-user limit" 2 "$T/alice.pem" "$T/alice.csr.key"
	wait_log 'session alice from .*: refused: BUSY: user alice already has 1 sessions'
	wait "$held" || fail "the held session failed: $(cat "$T/held.out")"
	expect_ok client 2 "$T/alice.pem" "$T/alice.csr.key"
	expect_ok "$FERRYD" user disable alice --data "$D"
	expect_refused 10 "user disabled" 2 "$T/alice.pem" "$T/alice.csr.key"
	expect_ok "$FERRYD" user enable alice --data "$D"
	expect_ok client 2 "$T/alice.pem" "$T/alice.csr.key"
	expect_ok "$FERRYD" user list --data "$D"
	grep -Eq '^alice +enabled +.* 1$' "$T/last.out" || fail "user list count: $(cat "$T/last.out")"
	expect_ok "$FERRYD" cert revoke alice --data "$D"
	grep -q 'revoked 1 certificate of user alice' "$T/last.out" || fail "$(cat "$T/last.out")"
	expect_refused 10 "revoked" 2 "$T/alice.pem" "$T/alice.csr.key"
	grep -q 'revoked' "$T/client.out" || fail "$(cat "$T/client.out")"
	wait_log 'session alice from .*: refused: REVOKED: certificate revoked'
	openssl crl -in "$D/crl.pem" -noout -text | grep -qi "Serial Number: $serial" ||
		fail "revoked serial $serial not in crl.pem"
	check

	# Every enrolment is in the audit table too.
	if command -v sqlite3 >/dev/null; then
		sqlite3 "$D/ferry.db" "SELECT user, ok, detail FROM audit WHERE event = 'enrol'" >"$T/audit"
		grep -q "^alice|1|serial $serial" "$T/audit" || fail "audit: $(cat "$T/audit")"
		grep -q '^alice|0|AUTH (wrong password)' "$T/audit" || fail "audit: $(cat "$T/audit")"
		grep -q '^nobody|0|AUTH (unknown user)' "$T/audit" || fail "audit: $(cat "$T/audit")"
		grep -q '^carol|0|DISABLED' "$T/audit" || fail "audit: $(cat "$T/audit")"
		grep -q '^bob|0|RATE_LIMITED' "$T/audit" || fail "audit: $(cat "$T/audit")"
		grep -q '^bob|0|BAD_CSR' "$T/audit" || fail "audit: $(cat "$T/audit")"
		grep -aq 'alice password' "$D/ferry.db" "$LOG" && fail "a password was stored or logged"
		check
	fi
else
	note "python3 not installed: enrolment and sessions not driven from here"
fi

stop_server

# ---- a full server answers BUSY ----------------------------------------------------------------
cp "$D/ferryd.conf" "$T/busy.conf"
{ echo "max_sessions = 1"; echo "idle_timeout = 1"; } >>"$T/busy.conf"
sed -i 's/^handshake_timeout = 1$/handshake_timeout = 4/' "$T/busy.conf"
start_server "$T/busy.log" --config "$T/busy.conf"
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "cannot connect to $PORT"
sleep 0.3
tls_send '' 1 >"$T/busy.out"
grep -aq ERRR "$T/busy.out" || fail "no ERRR BUSY from a full server"
wait_log 'refused: server busy \(1 sessions\)'
exec 3>&-
# idle_timeout = 1: a session that sends nothing is closed with ERRR TIMEOUT.
if [ -f "$T/alice.pem" ]; then
	expect_ok "$FERRYD" user add dora --data "$D" --password-file "$T/pw"
	mkcsr "$p384" "/CN=dora" "$T/dora.csr"
	SRC=127.0.0.5 expect_ok client 1 dora 'alice password' "$T/dora.csr" "$T/dora.der"
	openssl x509 -inform DER -in "$T/dora.der" -out "$T/dora.pem" || fail "dora's CERT"
	HOLD=5 expect_refused 11 "idle timeout" 2 "$T/dora.pem" "$T/dora.csr.key"
	wait_log 'session dora from .*: idle for 1 s, closed'
fi
stop_server

# ---- the listen address ------------------------------------------------------------------------
expect_exit 2 "$FERRYD" serve --data "$D" --listen 127.0.0.1:99999
expect_err "port 99999"
expect_exit 2 "$FERRYD" serve --data "$D" --listen nonsense
expect_err "HOST:PORT"
# A port in use is an error naming it.
start_server "$T/third.log"
expect_exit 1 "$FERRYD" serve --data "$D" --listen "127.0.0.1:$PORT"
expect_err "listen 127.0.0.1:$PORT: Address already in use"
stop_server

pass
