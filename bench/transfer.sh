#!/usr/bin/env bash
# Transfer throughput and memory of ferry's store (ferry put / get against ferryd) next to
# the usual ways of moving a file to a server and back, all on 127.0.0.1.
#
#   bench/transfer.sh [path/to/ferry]         (default build/ferry; ferryd beside it)
#
# What runs, each server private to this script (own port on 127.0.0.1, own config and
# keys in the work directory, nothing of the system's configuration touched):
#   ferry   `ferryd serve` on a fresh data directory (init, user add, one enrolment);
#           `ferry put` and `ferry get`: TLS 1.3 plus the sealed stream (AES-256-GCM)
#   scp     a private `sshd -D` (own host key, one authorized key, key login as the user
#           running the script); `scp -c CIPHER` (OpenSSH 9 scp speaks SFTP underneath)
#   sftp    the same sshd, `sftp -b` with put / get
#   ftps    a private vsftpd, explicit FTPS for login and data (anonymous account with a
#           writable upload directory), `curl --ssl-reqd`
# A tool whose programs are missing is skipped with a note (scripts/install-deps.sh bench
# installs them).
#
# Each run: put the test file (the server stores it), get it back into a file, check the
# bytes, delete it on the server (not timed). For every run the server is started afresh
# under GNU time and stopped once its sessions have ended, so one server's figures cover
# exactly one transfer.
#
# Figures, median over RUNS:
#   MB/s          10^6 bytes of file per second of wall clock around the client command
#   client RSS    peak resident memory of the client command (GNU time %M)
#   server RSS    peak resident memory of the largest server process: the daemon and the
#                 per-session processes it forked (GNU time on the daemon; Linux reports
#                 the maximum over the reaped process tree)
#   server CPU    user + system seconds of the daemon and its session processes, per GB
#   client CPU    the same for the client command
#   ferry/tool    ferry's figure divided by the tool's (throughput: above 1 = ferry faster;
#                 CPU: below 1 = ferry cheaper)
#
# Environment:
#   SIZE        size of the test file in MiB (default 1024)
#   RUNS        runs per tool; the median is reported (default 3)
#   TOOLS       which tools to run, in order (default "ferry scp sftp ftps")
#   SSH_CIPHER  cipher for scp and sftp; default: the faster of aes128-gcm@openssh.com
#               and chacha20-poly1305@openssh.com, measured here first on a short get
#   BENCH_DIR   work directory (default: a new directory under /dev/shm when it has room
#               for 3 x SIZE, else under ${TMPDIR:-/tmp}); removed afterwards. On tmpfs
#               the disk does not blur the comparison; elsewhere ferry's fsyncs (which
#               the others do not do) count against it.
#   KEEP=1      keep the work directory (logs, configurations) for a look afterwards
#
# Only public tools are used: bash, GNU time, ps/pgrep, awk, cmp, openssl, ssh-keygen and
# the peers' own programs. Every process started here is stopped on exit (trap).
set -euo pipefail

cd "$(dirname "$0")/.."
ferry="$(realpath "${1:-build/ferry}")"
ferryd="${FERRYD:-$(dirname "$ferry")/ferryd}"
size_mib="${SIZE:-1024}"
runs="${RUNS:-3}"
tools="${TOOLS:-ferry scp sftp ftps}"
gnu_time=/usr/bin/time

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[ -x "$ferry" ] || die "$ferry not found; run 'make build' first"
[ -x "$ferryd" ] || die "$ferryd not found (set FERRYD)"
[ -x "$gnu_time" ] || die "$gnu_time not found (Debian package 'time')"
case "$size_mib" in '' | *[!0-9]*) die "SIZE must be a number of MiB" ;; esac
case "$runs" in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac
bytes=$((size_mib * 1024 * 1024))

if [ -z "${BENCH_DIR:-}" ]; then
	base="${TMPDIR:-/tmp}"
	shm_free=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print int($4 / 1024) }')
	if [ -n "$shm_free" ] && [ "$shm_free" -gt $((3 * size_mib + 256)) ]; then
		base=/dev/shm
	fi
	dir=$(mktemp -d "$base/ferry-bench.XXXXXX")
else
	dir=$BENCH_DIR
	mkdir -p "$dir"
fi
chmod 755 "$dir"

# ---- processes: every server runs under GNU time; remember them for the trap ---------------

declare -a started=()     # PIDs of the GNU time processes wrapping our servers
made_privsep=0

# The daemon under GNU time process $1 (its only child).
daemon_of() { pgrep -P "$1" | head -n 1; }

# stop_server TIME_PID: wait (up to 30 s) until the daemon's session processes have ended,
# then SIGTERM the daemon and wait for GNU time to write its figures.
stop_server() {
	local tpid=$1 d i
	d=$(daemon_of "$tpid" || true)
	if [ -n "$d" ]; then
		for ((i = 0; i < 300; i++)); do
			pgrep -P "$d" >/dev/null || break
			sleep 0.1
		done
		kill -TERM "$d" 2>/dev/null || true
	fi
	wait "$tpid" 2>/dev/null || true
}

cleanup() {
	local tpid d
	for tpid in "${started[@]}"; do
		kill -0 "$tpid" 2>/dev/null || continue
		d=$(daemon_of "$tpid" || true)
		if [ -n "$d" ]; then
			# its session processes first, by their process IDs
			kill -TERM $(pgrep -P "$d") 2>/dev/null || true
			kill -TERM "$d" 2>/dev/null || true
		fi
		wait "$tpid" 2>/dev/null || true
	done
	if [ "$made_privsep" = 1 ]; then
		rmdir /run/sshd 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "bench: kept $dir" >&2
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A high port nothing listens on (the daemon may still lose a race for it: callers retry).
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# wait_port PORT TIME_PID: until something accepts on PORT (5 s), or the server died.
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

input=$dir/input
output=$dir/output
results=$dir/results
: >"$results"

# ---- ferry -------------------------------------------------------------------------------

ferry_data=$dir/ferry/data
ferry_prof=$dir/ferry/profile
ferry_addr=

# Start ferryd (port 0: it names the port in its log) under GNU time; sets srv_pid and
# ferry_addr. $1: the file GNU time writes to ("" for an untimed helper start).
ferry_start() {
	local tfile=${1:-/dev/null} log=$dir/ferry/serve.log port="" i
	: >"$log"
	"$gnu_time" -f '%M %U %S' -o "$tfile" \
	    "$ferryd" serve --data "$ferry_data" --listen 127.0.0.1:0 </dev/null >"$log" 2>&1 &
	srv_pid=$!
	started+=("$srv_pid")
	for ((i = 0; i < 100; i++)); do
		port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
		[ -n "$port" ] && break
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$port" ] || { cat "$log" >&2; die "ferryd serve did not start"; }
	ferry_addr=127.0.0.1:$port
}

ferry_setup() {
	mkdir -p "$dir/ferry"
	"$ferryd" init --data "$ferry_data" --name "ferry bench" >"$dir/ferry/init.log" 2>&1 ||
	    { cat "$dir/ferry/init.log" >&2; die "ferryd init failed"; }
	printf 'bench password\n' >"$dir/ferry/password"
	"$ferryd" user add --data "$ferry_data" --password-file "$dir/ferry/password" bench \
	    >"$dir/ferry/user.log" 2>&1 || { cat "$dir/ferry/user.log" >&2; die "ferryd user add failed"; }
	ferry_start ""
	"$ferry" enroll --profile "$ferry_prof" --server "$ferry_addr" --ca "$ferry_data/ca.pem" \
	    --user bench --password-file "$dir/ferry/password" >"$dir/ferry/enroll.log" 2>&1 ||
	    { cat "$dir/ferry/enroll.log" >&2; die "ferry enroll failed"; }
	stop_server "$srv_pid"
}

# ---- ssh (scp, sftp) ---------------------------------------------------------------------

ssh_dir=$dir/ssh
ssh_port=
ssh_cipher="${SSH_CIPHER:-}"

ssh_setup() {
	local user
	user=$(id -un)
	mkdir -p "$ssh_dir"
	chmod 700 "$ssh_dir"
	ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$ssh_dir/host_key"
	ssh-keygen -q -t ed25519 -N '' -C bench-user -f "$ssh_dir/user_key"
	cp "$ssh_dir/user_key.pub" "$ssh_dir/authorized_keys"
	# As root, sshd insists on its privilege separation directory; the Debian service makes
	# it when it starts, and so do we (and remove it again if we made it).
	if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd
		made_privsep=1
	fi
	ssh_port=$(free_port)
	cat >"$ssh_dir/sshd_config" <<-EOF
	ListenAddress 127.0.0.1
	Port $ssh_port
	HostKey $ssh_dir/host_key
	PidFile none
	AuthorizedKeysFile $ssh_dir/authorized_keys
	AuthenticationMethods publickey
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PermitRootLogin prohibit-password
	AllowUsers $user
	UsePAM no
	StrictModes no
	Subsystem sftp internal-sftp
	LogLevel ERROR
	EOF
	cat >"$ssh_dir/ssh_config" <<-EOF
	Host bench
	  HostName 127.0.0.1
	  Port $ssh_port
	  User $user
	  IdentityFile $ssh_dir/user_key
	  IdentitiesOnly yes
	  UserKnownHostsFile /dev/null
	  StrictHostKeyChecking no
	  BatchMode yes
	  LogLevel ERROR
	EOF
	# A login proves the setup (a locked account or a missing privsep user ends here).
	ssh_start ""
	if ! ssh -F "$ssh_dir/ssh_config" bench true 2>"$ssh_dir/login.err"; then
		stop_server "$srv_pid"
		note "no ssh login to the private sshd ($(head -c 300 "$ssh_dir/login.err")); skipping scp and sftp"
		return 1
	fi
	stop_server "$srv_pid"
}

ssh_start() {
	local tfile=${1:-/dev/null}
	"$gnu_time" -f '%M %U %S' -o "$tfile" \
	    /usr/sbin/sshd -D -e -f "$ssh_dir/sshd_config" </dev/null >>"$ssh_dir/sshd.log" 2>&1 &
	srv_pid=$!
	started+=("$srv_pid")
	wait_port "$ssh_port" "$srv_pid" || { cat "$ssh_dir/sshd.log" >&2; die "sshd did not start"; }
}

# The faster cipher for scp/sftp on this machine: one get of up to 256 MiB with each.
ssh_pick_cipher() {
	local c best="" best_t="" t0 t1 n
	n=$((size_mib < 256 ? size_mib : 256))
	head -c $((n * 1024 * 1024)) "$input" >"$dir/calibrate"
	ssh_start ""
	for c in aes128-gcm@openssh.com chacha20-poly1305@openssh.com; do
		ssh -Q cipher | grep -qx "$c" || continue
		t0=$EPOCHREALTIME
		scp -q -F "$ssh_dir/ssh_config" -c "$c" "bench:$dir/calibrate" "$output" || continue
		t1=$EPOCHREALTIME
		if [ -z "$best" ] || awk -v a="$t1" -v b="$t0" -v c="$best_t" 'BEGIN { exit !(a - b < c) }'; then
			best=$c
			best_t=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
		fi
		note "  $c: $n MiB in $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.2f", a - b }') s"
	done
	stop_server "$srv_pid"
	rm -f "$dir/calibrate" "$output"
	[ -n "$best" ] || die "scp works with neither aes128-gcm nor chacha20-poly1305"
	ssh_cipher=$best
}

# ---- ftps (vsftpd + curl) ----------------------------------------------------------------

ftp_dir=$dir/ftp
ftp_port=
ftp_user=

ftp_setup() {
	local p
	# Anonymous uploads belong to vsftpd's ftp user; Debian's package creates "ftp".
	for ftp_user in ftp nobody; do
		id "$ftp_user" >/dev/null 2>&1 && break
	done
	mkdir -p "$ftp_dir/root/up" "$ftp_dir/empty"
	chmod 555 "$ftp_dir/root"          # vsftpd refuses a writable chroot
	chown "$ftp_user" "$ftp_dir/root/up"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	    -subj /CN=127.0.0.1 -keyout "$ftp_dir/key.pem" -out "$ftp_dir/cert.pem" 2>/dev/null
	ftp_port=$(free_port)
	p=$((20000 + RANDOM % 40000))
	cat >"$ftp_dir/vsftpd.conf" <<-EOF
	listen=YES
	listen_ipv6=NO
	listen_address=127.0.0.1
	listen_port=$ftp_port
	background=NO
	anonymous_enable=YES
	no_anon_password=YES
	ftp_username=$ftp_user
	anon_root=$ftp_dir/root
	anon_upload_enable=YES
	anon_other_write_enable=YES
	anon_umask=022
	local_enable=NO
	write_enable=YES
	secure_chroot_dir=$ftp_dir/empty
	ssl_enable=YES
	allow_anon_ssl=YES
	force_anon_logins_ssl=YES
	force_anon_data_ssl=YES
	require_ssl_reuse=NO
	rsa_cert_file=$ftp_dir/cert.pem
	rsa_private_key_file=$ftp_dir/key.pem
	pasv_enable=YES
	pasv_address=127.0.0.1
	pasv_min_port=$p
	pasv_max_port=$((p + 50))
	xferlog_enable=NO
	seccomp_sandbox=NO
	EOF
	ftp_start ""
	if ! curl -sS --ssl-reqd -k -o /dev/null "ftp://127.0.0.1:$ftp_port/up/" 2>"$ftp_dir/login.err"; then
		stop_server "$srv_pid"
		note "no FTPS login to the private vsftpd ($(head -c 300 "$ftp_dir/login.err")); skipping ftps"
		return 1
	fi
	stop_server "$srv_pid"
}

ftp_start() {
	local tfile=${1:-/dev/null}
	"$gnu_time" -f '%M %U %S' -o "$tfile" \
	    vsftpd "$ftp_dir/vsftpd.conf" </dev/null >>"$ftp_dir/vsftpd.log" 2>&1 &
	srv_pid=$!
	started+=("$srv_pid")
	wait_port "$ftp_port" "$srv_pid" || { cat "$ftp_dir/vsftpd.log" >&2; die "vsftpd did not start"; }
}

# ---- one transfer ------------------------------------------------------------------------

# The client command of TOOL and OP into the array cmd.
set_cmd() {
	case "$1:$2" in
	ferry:put) cmd=("$ferry" put -q --profile "$ferry_prof" --server "$ferry_addr"
	    --as bench.bin "$input") ;;
	ferry:get) cmd=("$ferry" get -q --profile "$ferry_prof" --server "$ferry_addr"
	    -o "$output" bench.bin) ;;
	scp:put) cmd=(scp -q -F "$ssh_dir/ssh_config" -c "$ssh_cipher" "$input"
	    "bench:$dir/stored") ;;
	scp:get) cmd=(scp -q -F "$ssh_dir/ssh_config" -c "$ssh_cipher" "bench:$dir/stored"
	    "$output") ;;
	sftp:put) printf 'put %s %s\n' "$input" "$dir/stored" >"$dir/sftp.batch"
	    cmd=(sftp -q -F "$ssh_dir/ssh_config" -c "$ssh_cipher" -b "$dir/sftp.batch" bench) ;;
	sftp:get) printf 'get %s %s\n' "$dir/stored" "$output" >"$dir/sftp.batch"
	    cmd=(sftp -q -F "$ssh_dir/ssh_config" -c "$ssh_cipher" -b "$dir/sftp.batch" bench) ;;
	ftps:put) cmd=(curl -sS --ssl-reqd -k -T "$input" "ftp://127.0.0.1:$ftp_port/up/stored") ;;
	ftps:get) cmd=(curl -sS --ssl-reqd -k -o "$output" "ftp://127.0.0.1:$ftp_port/up/stored") ;;
	esac
}

start_for() {
	case "$1" in
	ferry) ferry_start "$2" ;;
	scp | sftp) ssh_start "$2" ;;
	ftps) ftp_start "$2" ;;
	esac
}

# Where a put leaves the file on the server side, for the checks and the clean-up.
stored_path() {
	case "$1" in
	scp | sftp) echo "$dir/stored" ;;
	ftps) echo "$ftp_dir/root/up/stored" ;;
	esac
}

# run_once TOOL OP: one timed transfer with its own server; appends a line to $results:
# "TOOL OP seconds client_rss_kib client_cpu_s server_rss_kib server_cpu_s".
run_once() {
	local tool=$1 op=$2 start end c s
	local -a cmd
	rm -f "$output"
	sync
	start_for "$tool" "$dir/server.time"
	set_cmd "$tool" "$op"
	start=$EPOCHREALTIME
	"$gnu_time" -f '%M %U %S' -o "$dir/client.time" "${cmd[@]}" </dev/null >/dev/null ||
	    die "$tool $op failed: ${cmd[*]}"
	end=$EPOCHREALTIME
	stop_server "$srv_pid"
	c=$(tail -n 1 "$dir/client.time")
	s=$(tail -n 1 "$dir/server.time")
	awk -v t="$tool" -v o="$op" -v a="$start" -v b="$end" -v c="$c" -v s="$s" 'BEGIN {
		split(c, cc, " "); split(s, ss, " ")
		printf "%s %s %.4f %d %.2f %d %.2f\n", t, o, b - a, cc[1], cc[2] + cc[3], ss[1], ss[2] + ss[3]
	}' >>"$results"
	tail -n 1 "$results" | awk '{ printf "  %-5s %-3s %7.2f s\n", $1, $2, $3 }' >&2
}

# Remove what the put stored (untimed; ferry needs its server for that).
remove_stored() {
	case "$1" in
	ferry) ferry_start ""
	    "$ferry" rm --profile "$ferry_prof" --server "$ferry_addr" bench.bin >/dev/null ||
	    die "ferry rm failed"
	    stop_server "$srv_pid" ;;
	*) rm -f "$(stored_path "$1")" ;;
	esac
}

bench_tool() {
	local tool=$1 i
	for ((i = 1; i <= runs; i++)); do
		run_once "$tool" put
		if [ "$i" -eq 1 ] && [ "$tool" != ferry ] && ! cmp -s "$input" "$(stored_path "$tool")"; then
			die "$tool put stored different bytes"
		fi
		run_once "$tool" get
		cmp -s "$input" "$output" || die "$tool get produced different bytes"
		remove_stored "$tool"
	done
	rm -f "$output"
}

# ---- run ---------------------------------------------------------------------------------

have() { command -v "$1" >/dev/null 2>&1; }

echo "bench: ${size_mib} MiB, $runs runs per tool, in $dir" >&2
head -c "$bytes" /dev/urandom >"$input"
chmod 644 "$input"

selected=()
for tool in $tools; do
	case "$tool" in
	ferry) ferry_setup; selected+=(ferry) ;;
	scp | sftp)
		if ! have ssh || ! have scp || ! have sftp || [ ! -x /usr/sbin/sshd ]; then
			note "openssh-server/openssh-client missing: skipping $tool"
			continue
		fi
		if [ -z "$ssh_port" ]; then
			ssh_setup || { ssh_port=none; continue; }
		fi
		[ "$ssh_port" != none ] || continue
		if [ -z "$ssh_cipher" ]; then
			note "choosing the scp/sftp cipher:"
			ssh_pick_cipher
		fi
		selected+=("$tool") ;;
	ftps)
		if ! have vsftpd || ! have curl; then
			note "vsftpd or curl missing: skipping ftps"
			continue
		fi
		if [ "$(id -u)" -ne 0 ]; then
			note "vsftpd needs root (it changes to its ftp user): skipping ftps"
			continue
		fi
		ftp_setup || continue
		selected+=(ftps) ;;
	*) die "unknown tool '$tool' (ferry, scp, sftp, ftps)" ;;
	esac
done

cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
echo "bench: $cpu_model, $(nproc) cores, $(uname -sr)"
echo "bench: $("$ferry" --version), $(ssh -V 2>&1 | cut -d, -f1), vsftpd $(vsftpd -v 0>&1 2>&1 |
    sed -n 's/.*version //p'), $(curl --version | head -n 1 | cut -d' ' -f1-2)," \
    "$(openssl version | cut -d' ' -f1-2)"
[ -z "$ssh_cipher" ] || echo "bench: scp/sftp cipher $ssh_cipher"
for tool in "${selected[@]}"; do
	echo "bench: $tool" >&2
	bench_tool "$tool"
done

# ---- report ------------------------------------------------------------------------------
# One row per tool and direction: medians of each column over the runs.
summary=$dir/summary
: >"$summary"
for tool in "${selected[@]}"; do
	for op in put get; do
		line="$tool $op"
		for col in 3 4 5 6 7; do
			line="$line $(awk -v t="$tool" -v o="$op" -v c="$col" '$1 == t && $2 == o { print $c }' \
			    "$results" | median)"
		done
		echo "$line" >>"$summary"
	done
done

echo
awk -v bytes="$bytes" '
	{ mbs = bytes / $3 / 1e6; gb = bytes / 1e9
	  t[NR] = $1; o[NR] = $2; m[NR] = mbs; crss[NR] = $4 / 1024; ccpu[NR] = $5 / gb
	  srss[NR] = $6 / 1024; scpu[NR] = $7 / gb
	  if ($1 == "ferry") { fm[$2] = mbs; fs[$2] = $7 / gb } }
	function ratio(a, b) { return (a == "" || b <= 0) ? "-" : sprintf("%.2f", a / b) }
	END {
		printf "| %-5s | %-3s | %7s | %11s | %10s | %10s | %11s | %11s | %11s |\n", "tool", "op",
		    "MB/s", "ferry/tool", "client RSS", "server RSS", "server CPU", "ferry/tool", "client CPU"
		printf "| %-5s | %-3s | %7s | %11s | %10s | %10s | %11s | %11s | %11s |\n", "", "",
		    "", "(MB/s)", "MiB", "MiB", "s/GB", "(srv CPU)", "s/GB"
		printf "|-------|-----|---------|-------------|------------|------------|-------------|-------------|-------------|\n"
		for (i = 1; i <= NR; i++)
			printf "| %-5s | %-3s | %7.0f | %11s | %10.1f | %10.1f | %11.2f | %11s | %11.2f |\n",
			    t[i], o[i], m[i], ratio(fm[o[i]], m[i]), crss[i], srss[i], scpu[i],
			    ratio(fs[o[i]], scpu[i]), ccpu[i]
	}' "$summary"
