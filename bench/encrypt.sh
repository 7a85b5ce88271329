#!/usr/bin/env bash
# Encryption throughput and peak memory of ferry next to the tools people would otherwise
# use, on one large file, in both directions, to /dev/null and to a file.
#
#   bench/encrypt.sh [path/to/ferry]            (default build/ferry)
#
# Environment:
#   BENCH_MIB   size of the test file in MiB (default 1024)
#   RUNS        timed runs per case; the median is reported (default 3)
#   BENCH_DIR   where to put the files (default: a new directory under ${TMPDIR:-/tmp});
#               needs about 3 x BENCH_MIB of free space
#
# The peers, each with its usual public-key setup:
#   ferry    P-384 recipient (HPKE), AES-256-GCM chunks
#   age      X25519 recipient, ChaCha20-Poly1305 chunks
#   gpg      Curve25519 key, AES-256, no compression (temporary GNUPGHOME, batch mode)
#   openssl  `openssl enc -aes-256-ctr` with a raw key: no authentication at all, the
#            speed of the bare cipher through a command-line tool
#
# Wall time comes from bash's clock around each run and peak RSS from GNU time (%M).
# Before each run dirty pages are flushed (sync), so writeback of the previous run's
# output is not charged to the next one; the input stays in the page cache.
set -euo pipefail

cd "$(dirname "$0")/.."
ferry="$(realpath "${1:-build/ferry}")"
size_mib="${BENCH_MIB:-1024}"
runs="${RUNS:-3}"
gnu_time=/usr/bin/time

[ -x "$ferry" ] || { echo "bench: $ferry not found; run 'make build' first" >&2; exit 1; }
for tool in "$gnu_time" age age-keygen gpg gpgconf openssl; do
	command -v "$tool" >/dev/null || {
		echo "bench: $tool not found (scripts/install-deps.sh bench installs the peers)" >&2
		exit 1
	}
done

dir="${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench.XXXXXX")}"
mkdir -p "$dir"
export GNUPGHOME="$dir/gnupg"
cleanup() {
	gpgconf --kill gpg-agent 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

input="$dir/input"
bytes=$((size_mib * 1024 * 1024))
results="$dir/results"
: >"$results"

# ---- setup: input and keys ------------------------------------------------------------

echo "bench: ${size_mib} MiB of random data, $runs runs per case, in $dir"
head -c "$bytes" /dev/urandom >"$input"

# The key generators chat on stderr; keep it for when one fails.
quietly() { "$@" 2>"$dir/setup.err" || { cat "$dir/setup.err" >&2; exit 1; }; }
quietly "$ferry" keygen -t p384 -o "$dir/ferry.pem"
quietly age-keygen -o "$dir/age.key"
age_pub=$(age-keygen -y "$dir/age.key")
mkdir -m 700 "$GNUPGHOME"
quietly gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-gen-key 'ferry bench <bench@ferry.invalid>' future-default default never
ossl_key=$(openssl rand -hex 32)
ossl_iv=$(openssl rand -hex 16)

# The command for one tool and direction, into the array cmd. OUT "-" is standard output,
# which the runner sends to /dev/null.
set_cmd() {
	local tool=$1 dirn=$2 in=$3 out=$4
	case "$tool:$dirn" in
	ferry:encrypt) cmd=("$ferry" encrypt -q -r "$dir/ferry.pem.pub" -o "$out" "$in") ;;
	ferry:decrypt) cmd=("$ferry" decrypt -q -i "$dir/ferry.pem" -o "$out" "$in") ;;
	age:encrypt) cmd=(age -r "$age_pub" -o "$out" "$in") ;;
	age:decrypt) cmd=(age -d -i "$dir/age.key" -o "$out" "$in") ;;
	gpg:encrypt) cmd=(gpg --batch --yes --quiet --trust-model always --compress-algo none
	    --cipher-algo AES256 -r bench@ferry.invalid -o "$out" -e "$in") ;;
	gpg:decrypt) cmd=(gpg --batch --yes --quiet --pinentry-mode loopback --passphrase ''
	    -o "$out" -d "$in") ;;
	openssl:encrypt) cmd=(openssl enc -aes-256-ctr -K "$ossl_key" -iv "$ossl_iv"
	    -in "$in" -out "$out") ;;
	openssl:decrypt) cmd=(openssl enc -d -aes-256-ctr -K "$ossl_key" -iv "$ossl_iv"
	    -in "$in" -out "$out") ;;
	esac
}

# Run one case once; prints "seconds peak_rss_kib".
run_once() {
	local tool=$1 dirn=$2 in=$3 sink=$4 start end
	local -a cmd
	if [ "$sink" = null ]; then
		set_cmd "$tool" "$dirn" "$in" -
	else
		set_cmd "$tool" "$dirn" "$in" "$dir/out"
	fi
	rm -f "$dir/out"
	sync
	start=$EPOCHREALTIME
	"$gnu_time" -f %M -o "$dir/rss" "${cmd[@]}" >/dev/null
	end=$EPOCHREALTIME
	awk -v s="$start" -v e="$end" -v rss="$(tail -n 1 "$dir/rss")" \
	    'BEGIN { printf "%.4f %s\n", e - s, rss }'
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Measure every case of one tool; the encrypted file for the decrypt runs is made once.
bench_tool() {
	local tool=$1 dirn sink in
	local -a cmd
	set_cmd "$tool" encrypt "$input" "$dir/$tool.enc"
	"${cmd[@]}"
	for dirn in encrypt decrypt; do
		in=$([ "$dirn" = encrypt ] && echo "$input" || echo "$dir/$tool.enc")
		for sink in null file; do
			local secs=() rsss=() i line
			for ((i = 0; i < runs; i++)); do
				line=$(run_once "$tool" "$dirn" "$in" "$sink")
				secs+=("${line% *}")
				rsss+=("${line#* }")
			done
			if [ "$dirn" = decrypt ] && [ "$sink" = file ] && ! cmp -s "$dir/out" "$input"; then
				echo "bench: $tool decrypt produced different bytes" >&2
				exit 1
			fi
			printf '%s %s %s %s %s\n' "$tool" "$dirn" "$sink" \
			    "$(printf '%s\n' "${secs[@]}" | median)" \
			    "$(printf '%s\n' "${rsss[@]}" | median)" >>"$results"
			printf '  %-8s %-8s %-5s %s s\n' "$tool" "$dirn" "$sink" "${secs[*]}"
		done
	done
	rm -f "$dir/$tool.enc" "$dir/out"
}

echo "bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "bench: $("$ferry" --version), age $(age --version), $(gpg --version | head -n 1)," \
    "$(openssl version | cut -d' ' -f1-2)"
for tool in ferry age gpg openssl; do
	bench_tool "$tool"
done

# ---- report ---------------------------------------------------------------------------
# GB/s is 10^9 bytes per second; "x ferry" is the tool's throughput over ferry's in the
# same case, so below 1 means slower than ferry.
echo
awk -v bytes="$bytes" '
	{ key = $2 " " $3; gbps = bytes / $4 / 1e9; rss = $5 / 1024
	  if ($1 == "ferry") base[key] = gbps
	  row[NR] = sprintf("%s|%s|%s|%.2f|%.1f", $1, $2, $3 == "null" ? "/dev/null" : "file", gbps, rss)
	  k[NR] = key; g[NR] = gbps }
	END {
		printf "| %-8s | %-8s | %-9s | %6s | %13s | %7s |\n", "tool", "op", "output", "GB/s", "peak RSS MiB", "x ferry"
		printf "|----------|----------|-----------|--------|---------------|---------|\n"
		for (i = 1; i <= NR; i++) {
			split(row[i], f, "|")
			printf "| %-8s | %-8s | %-9s | %6s | %13s | %7.2f |\n", f[1], f[2], f[3], f[4], f[5], g[i] / base[k[i]]
		}
	}' <(sort -s -k2,2r -k3,3r "$results")
