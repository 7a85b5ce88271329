#!/bin/bash
# Behaviour on a terminal, driven through a pseudo-terminal made by script(1): passphrase
# prompts (without echo, twice when creating), the prompt for a protected private key,
# the progress display shown by default, and ciphertext refused on a terminal.
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || skip "script(1) is not installed"
script -qec true /dev/null </dev/null >/dev/null 2>&1 || skip "script(1) cannot make a terminal here"
export SHELL=/bin/bash

make_key x25519 "$T/k"
gen_file "$T/pt" 200000 13
PW='open sesame 42'

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

# ---- passphrase mode ---------------------------------------------------------------------
tty_start "$FERRY" encrypt --passphrase --work-factor 10 -o "$T/ct" "$T/pt"
tty_expect 'Passphrase: '
tty_type "$PW"
tty_expect 'Confirm Passphrase: '
tty_type "$PW"
tty_wait 0
no_echo
[ "$(byte_at "$T/ct" "$SEALED_FIXED_LEN")" = 4 ] || fail "not a passphrase file"

tty_start "$FERRY" decrypt --passphrase -o "$T/out" "$T/ct"
tty_expect 'Passphrase: '
tty_type "$PW"
tty_wait 0
no_echo
expect_same "$T/pt" "$T/out"
# Only -i given, but the file wants a passphrase: on a terminal it is asked for.
tty_start "$FERRY" decrypt -i "$T/k" -o "$T/out2" "$T/ct"
tty_expect 'Passphrase: '
tty_type "$PW"
tty_wait 0
expect_same "$T/pt" "$T/out2"
# The same passphrase file works for what was typed.
printf '%s\n' "$PW" >"$T/pwfile"
expect_ok "$FERRY" decrypt --passphrase-file "$T/pwfile" -o "$T/out3" "$T/ct"
expect_same "$T/pt" "$T/out3"

# Mismatched confirmation, and an empty passphrase: refused, nothing written.
tty_start "$FERRY" encrypt --passphrase --work-factor 10 -o "$T/bad" "$T/pt"
tty_expect 'Passphrase: '
tty_type "$PW"
tty_expect 'Confirm Passphrase: '
tty_type "$PW-typo"
tty_wait 1
grep -q 'ferry: the passphrases do not match' "$T/screen" || fail "mismatch not reported"
expect_no_output "$T/bad"
tty_start "$FERRY" encrypt --passphrase --work-factor 10 -o "$T/bad" "$T/pt"
tty_expect 'Passphrase: '
tty_type ''
tty_wait 1
grep -q 'empty passphrase' "$T/screen" || fail "empty passphrase not refused"
expect_no_output "$T/bad"
# Wrong passphrase at decryption.
tty_start "$FERRY" decrypt --passphrase -o "$T/bad" "$T/ct"
tty_expect 'Passphrase: '
tty_type "not $PW"
tty_wait 1
grep -q 'wrong passphrase' "$T/screen" || fail "wrong passphrase not reported"
expect_no_output "$T/bad"
note "passphrase prompts pass"

# ---- keygen --passphrase and the prompt for a protected key -----------------------------------
tty_start "$FERRY" keygen -t p384 --passphrase -o "$T/ek"
tty_expect 'Passphrase for the new key: '
tty_type "$PW"
tty_expect 'Confirm Passphrase for the new key: '
tty_type "$PW"
tty_wait 0
no_echo
openssl pkey -in "$T/ek" -passin "file:$T/pwfile" -noout 2>/dev/null ||
	fail "openssl cannot open the key with the passphrase typed"
expect_ok "$FERRY" encrypt -r "$T/ek.pub" -o "$T/cte" "$T/pt"
tty_start "$FERRY" decrypt -i "$T/ek" -o "$T/oute" "$T/cte"
tty_expect "Passphrase for $T/ek: "
tty_type "wrong"
tty_expect "Passphrase for $T/ek: "
tty_type "$PW"
tty_wait 0
no_echo
grep -q "$T/ek: wrong passphrase" "$T/screen" || fail "first wrong try not reported"
expect_same "$T/pt" "$T/oute"
# Three wrong tries: give up.
tty_start "$FERRY" decrypt -i "$T/ek" -o "$T/bad" "$T/cte"
for i in 1 2 3; do
	tty_expect "Passphrase for $T/ek: "
	tty_type "wrong $i"
done
tty_wait 1
expect_no_output "$T/bad"
note "key prompts pass"

# ---- output to a terminal, progress on a terminal ---------------------------------------------
tty_start "$FERRY" encrypt -r "$T/k.pub" "$T/pt"
tty_wait 2
grep -q "refusing to write ciphertext to a terminal" "$T/screen" || fail "ciphertext written to a terminal"
head -c 100 "$T/pt" >"$T/small"
tty_start "$FERRY" encrypt -r "$T/k.pub" -o - "$T/small"
tty_wait 0
tty_start "$FERRY" encrypt -r "$T/k.pub" -o "$T/ctp" "$T/pt"
tty_wait 0
grep -q '100%' "$T/screen" || fail "no progress on a terminal by default"
tty_start "$FERRY" decrypt -i "$T/k" -q -o "$T/outp" "$T/ctp"
tty_wait 0
grep -q '%' "$T/screen" && fail "--quiet still showed progress"
expect_same "$T/pt" "$T/outp"
# Plaintext may go to the terminal.
printf 'hello terminal\n' >"$T/hello"
expect_ok "$FERRY" encrypt -r "$T/k.pub" -o "$T/cth" "$T/hello"
tty_start "$FERRY" decrypt -i "$T/k" "$T/cth"
tty_expect 'hello terminal'
tty_wait 0

pass
