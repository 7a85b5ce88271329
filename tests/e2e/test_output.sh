#!/bin/bash
# Where output goes and what is left when it cannot be finished: destinations that cannot
# be written (tests run as root, so each one is something root cannot write either), a
# disk filling up mid-file, devices, and signals arriving mid-stream.
. "$(dirname "$0")/lib.sh"

make_key x25519 "$T/k"
gen_file "$T/pt" 300000 4
"$FERRY" encrypt -r "$T/k.pub" --chunk-size 1K -o "$T/ct" "$T/pt" 2>"$T/last.err" || fail "encrypt"

# both_fail DEST REGEX: encrypt and decrypt to DEST both fail with exit 1, naming DEST.
both_fail() {
	expect_exit 1 "$FERRY" encrypt -r "$T/k.pub" -o "$1" "$T/pt"
	expect_err "$2"
	expect_exit 1 "$FERRY" decrypt -i "$T/k" -o "$1" "$T/ct"
	expect_err "$2"
}

# A directory that does not exist, and a "directory" that is a file.
both_fail "$T/no/such/dir/out" "$T/no/such/dir/out: .*No such file"
[ ! -e "$T/no" ] || fail "a directory was created"
both_fail "$T/pt/out" "$T/pt/out: .*Not a directory"
expect_same "$T/pt" <(gen_data 300000 4)
# A directory as the destination is refused, not written into.
mkdir "$T/adir"
both_fail "$T/adir" "$T/adir: is a directory"
expect_dir_empty "$T/adir"

# A read-only file system and an immutable directory, where this machine allows them.
mkdir "$T/ro"
if mount -t tmpfs -o ro,size=1m tmpfs "$T/ro" 2>/dev/null; then
	on_exit "umount '$T/ro'"
	both_fail "$T/ro/out" "$T/ro/out: .*Read-only file system"
	expect_dir_empty "$T/ro"
else
	note "cannot mount a read-only tmpfs here: case skipped"
fi
mkdir "$T/immutable"
if chattr +i "$T/immutable" 2>/dev/null; then
	on_exit "chattr -i '$T/immutable'"
	both_fail "$T/immutable/out" "$T/immutable/out: .*Operation not permitted"
	chattr -i "$T/immutable"
	expect_dir_empty "$T/immutable"
else
	note "chattr +i not permitted here: case skipped"
fi

# The disk fills up in the middle of the file: exit 1 and no temporary left behind.
mkdir "$T/small"
if mount -t tmpfs -o size=64k tmpfs "$T/small" 2>/dev/null; then
	on_exit "umount '$T/small'"
	both_fail "$T/small/out" "No space left on device"
	expect_dir_empty "$T/small"
	# And a file that fits still works there.
	head -c 1000 "$T/pt" >"$T/pt1k"
	expect_ok "$FERRY" encrypt -r "$T/k.pub" -o "$T/small/ct" "$T/pt1k"
	expect_ok "$FERRY" decrypt -i "$T/k" -o "$T/small/out" "$T/small/ct"
	expect_same "$T/pt1k" "$T/small/out"
else
	note "cannot mount a small tmpfs here: case skipped"
fi

# Devices are written in place, never replaced by a file.
both_fail /dev/full "/dev/full: .*No space left"
"$FERRY" decrypt -i "$T/k" "$T/ct" >/dev/full 2>"$T/last.err"
[ $? -eq 1 ] || fail "decrypt to a full stdout did not fail"
expect_err 'stdout: write: No space left'
expect_ok "$FERRY" encrypt -r "$T/k.pub" -o /dev/null "$T/pt"
expect_ok "$FERRY" decrypt -i "$T/k" -o /dev/null "$T/ct"
[ -c /dev/null ] || fail "/dev/null is no longer a device"
compgen -G "/dev/null.ferry-tmp-*" >/dev/null && fail "temporary left in /dev"
# A FIFO is written in place too.
mkfifo "$T/fifo"
cat "$T/fifo" >"$T/from-fifo" &
expect_ok "$FERRY" decrypt -i "$T/k" -o "$T/fifo" "$T/ct"
wait $! || fail "reader of the FIFO failed"
[ -p "$T/fifo" ] || fail "the FIFO was replaced"
expect_same "$T/pt" "$T/from-fifo"
rm "$T/fifo"

# A failed decryption leaves an existing output exactly as it was.
printf 'precious\n' >"$T/existing"
cp "$T/ct" "$T/ct-bad"
flip_bit "$T/ct-bad" $(($(file_size "$T/ct-bad") - 100))
expect_exit 1 "$FERRY" decrypt -i "$T/k" -o "$T/existing" "$T/ct-bad"
expect_err 'does not verify'
[ "$(cat "$T/existing")" = precious ] || fail "failed decryption changed the existing output"
compgen -G "$T/*.ferry-tmp-*" >/dev/null && fail "temporary left behind"
check

# ---- signals: the temporary is removed and the exit status is 128 + the signal ------------

# interrupt SIGNAL STATUS COMMAND...: start COMMAND (reading the FIFO $T/sigfifo), feed it
# part of $T/feed, wait until its temporary exists in $T/sig, signal it, and check.
interrupt() {
	local sig=$1 want=$2 pid status i
	shift 2
	rm -rf "$T/sig"
	mkdir "$T/sig"
	mkfifo "$T/sigfifo"
	"$@" <"$T/sigfifo" 2>"$T/last.err" &
	pid=$!
	exec 3>"$T/sigfifo"
	head -c 20000 "$T/feed" >&3
	for i in $(seq 1 100); do
		compgen -G "$T/sig/*.ferry-tmp-*" >/dev/null && break
		sleep 0.1
	done
	compgen -G "$T/sig/*.ferry-tmp-*" >/dev/null || { exec 3>&-; fail "no temporary appeared"; }
	sleep 0.2
	kill -s "$sig" "$pid"
	wait "$pid"
	status=$?
	exec 3>&-
	rm -f "$T/sigfifo"
	[ "$status" -eq "$want" ] || fail "SIG$sig: exit $status, expected $want"
	expect_dir_empty "$T/sig"
}

cp "$T/ct" "$T/feed"
interrupt TERM 143 "$FERRY" decrypt -i "$T/k" -o "$T/sig/out"
interrupt HUP 129 "$FERRY" decrypt -i "$T/k" -o "$T/sig/out" -
cp "$T/pt" "$T/feed"
interrupt TERM 143 "$FERRY" encrypt -r "$T/k.pub" -o "$T/sig/out"
# A non-interactive shell starts background jobs with SIGINT ignored; job control gives
# this one its own process group, where SIGINT is delivered as from a terminal.
set -m
interrupt INT 130 "$FERRY" encrypt -r "$T/k.pub" --chunk-size 1K -o "$T/sig/out"
set +m
# An ignored SIGHUP stays ignored (nohup): the command finishes.
cp "$T/ct" "$T/feed"
rm -rf "$T/sig"; mkdir "$T/sig"
mkfifo "$T/sigfifo"
(trap '' HUP; exec "$FERRY" decrypt -i "$T/k" -o "$T/sig/out" <"$T/sigfifo" 2>"$T/last.err") &
pid=$!
exec 3>"$T/sigfifo"
head -c 20000 "$T/feed" >&3
sleep 0.3
kill -s HUP "$pid"
tail -c +20001 "$T/feed" >&3
exec 3>&-
wait "$pid" || fail "ignored SIGHUP: decrypt failed with $?"
expect_same "$T/pt" "$T/sig/out"
rm -f "$T/sigfifo"
note "signals: temporaries removed"

pass
