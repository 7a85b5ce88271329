#!/usr/bin/env bash
# ferry enroll on a terminal (a pseudo-terminal made by script(1)): the password is asked
# for without echo, and enrolment works with what was typed; with no terminal and no
# --password-file it fails saying which option to use.
. "$(dirname "$0")/lib.sh"

[ -n "$FERRYD" ] && [ -x "$FERRYD" ] || skip "FERRYD is not set"
command -v script >/dev/null || skip "script(1) is not installed"
script -qec true /dev/null </dev/null >/dev/null 2>&1 || skip "script(1) cannot make a terminal here"
export SHELL=/bin/bash

# tty_start CMD...: run CMD on a new terminal; its screen output accumulates in $T/screen.
tty_start() {
	local cmd
	cmd=$(printf '%q ' "$@")
	: >"$T/screen"
	coproc TTY { script -qfec "$cmd" /dev/null 2>&1; }
	TTY_PID_SAVED=$TTY_PID
	exec {TTY_IN}<&"${TTY[0]}" {TTY_OUT}>&"${TTY[1]}"
}

# tty_expect TEXT: read the screen until TEXT shows up (20 s at most).
tty_expect() {
	local buf='' c
	while IFS= read -r -d '' -n 1 -t 20 c <&"$TTY_IN"; do
		buf+=$c
		if [[ $buf == *"$1"* ]]; then
			printf '%s' "$buf" >>"$T/screen"
			return 0
		fi
	done
	printf '%s' "$buf" >>"$T/screen"
	fail "terminal never showed '$1'; screen: $(tr '\r' ' ' <"$T/screen")"
}

# tty_type LINE: type LINE and Enter.
tty_type() { printf '%s\r' "$1" >&"$TTY_OUT"; }

# tty_wait STATUS: read the rest of the screen and check the exit status.
tty_wait() {
	local status
	cat <&"$TTY_IN" >>"$T/screen"
	wait "$TTY_PID_SAVED"
	status=$?
	exec {TTY_IN}<&- {TTY_OUT}>&-
	[ "$status" -eq "$1" ] || fail "exit $status, expected $1; screen: $(tr '\r' ' ' <"$T/screen")"
	check
}

# no_echo: the passphrase typed never appeared on the screen.
no_echo() {
	grep -Fq "$PW" "$T/screen" && fail "the passphrase was echoed: $(cat -A "$T/screen")"
	check
}

PW='typed on a terminal 7'
DATA=$T/data
server_init "$DATA" --name "Acme Test"
server_add_user "$DATA" alice "$PW"
server_start "$DATA"

tty_start "$FERRY" enroll --profile "$T/home" --server "$SERVER_ADDR" --ca "$DATA/ca.pem" \
	--user alice
tty_expect "Password for alice at $SERVER_ADDR: "
tty_type "$PW"
tty_expect "enrolled as alice"
tty_wait 0
no_echo
expect_ok openssl verify -CAfile "$DATA/ca.pem" -purpose sslclient "$T/home/cert.pem"

# a wrong password typed: refused, nothing stored
tty_start "$FERRY" enroll --profile "$T/home2" --server "$SERVER_ADDR" --ca "$DATA/ca.pem" \
	--user alice
tty_expect "Password for alice"
tty_type "not $PW"
tty_expect "enrolment refused"
tty_wait 1
expect_no_output "$T/home2/key.pem"

# no terminal at all
expect_exit 1 "$FERRY" enroll --profile "$T/home3" --server "$SERVER_ADDR" \
	--ca "$DATA/ca.pem" --user alice </dev/null
expect_err 'no terminal.*--password-file'
expect_no_output "$T/home3/key.pem"

pass
