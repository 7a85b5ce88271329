#!/usr/bin/env bash
# Install the Debian 12 packages that one part of the work needs, and only those missing.
#
#   scripts/install-deps.sh [group...]      (default: build)
#
# Groups: build  compiler, CMake, OpenSSL and cmocka headers
#         test   build, plus the tools the end-to-end tests drive
#         asan   test, plus clang and its sanitizer runtimes (the sanitizer run also
#                proves the tree builds warning-free with clang)
#         fuzz   build, plus clang and its libFuzzer runtime
#         bench  build, plus the tools ferry is compared against
#         all    everything above
#
# Idempotent: packages already installed are left alone and apt is not touched when
# nothing is missing. Only apt is used; nothing is downloaded any other way.
set -euo pipefail

pkgs_build="build-essential cmake pkg-config libssl-dev libsqlite3-dev libcmocka-dev openssl time"
# tshark reads the captures that prove nothing crosses the wire in clear; dumpcap
# (wireshark-common) records them; sqlite3 lets tests look inside the database.
pkgs_test="$pkgs_build tshark sqlite3"
pkgs_asan="$pkgs_test clang libclang-rt-dev"
# clang does not pull in the compiler-rt archives (libFuzzer, ASan) without recommends.
pkgs_fuzz="$pkgs_build clang libclang-rt-dev llvm"
# bench/encrypt.sh compares with age and gpg; bench/transfer.sh with scp/sftp against a
# private sshd and with FTPS (curl) against a private vsftpd.
pkgs_bench="$pkgs_build age gnupg openssh-client openssh-server vsftpd curl"
# Packages whose installation starts a system service listening on every address. The
# benchmarks run private instances on 127.0.0.1 instead, so these are installed with a
# temporary policy-rc.d that keeps the service from being started (see invoke-rc.d(8)).
pkgs_with_service="openssh-server vsftpd"

usage() {
	echo "usage: $0 [build|test|asan|fuzz|bench|all]..." >&2
	exit 2
}

[ $# -gt 0 ] || set -- build
wanted=""
for group in "$@"; do
	case "$group" in
	build) wanted="$wanted $pkgs_build" ;;
	test) wanted="$wanted $pkgs_test" ;;
	asan) wanted="$wanted $pkgs_asan" ;;
	fuzz) wanted="$wanted $pkgs_fuzz" ;;
	bench) wanted="$wanted $pkgs_bench" ;;
	all) wanted="$wanted $pkgs_test $pkgs_asan $pkgs_fuzz $pkgs_bench" ;;
	-h | --help) usage ;;
	*) echo "$0: unknown group '$group'" >&2; usage ;;
	esac
done

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

read -r -a wanted_list <<<"$wanted"
missing=()
for pkg in $(printf '%s\n' "${wanted_list[@]}" | sort -u); do
	installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: missing: ${missing[*]}"
	if [ "$(id -u)" -eq 0 ]; then
		sudo=()
	elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
		sudo=(sudo)
	else
		echo "install-deps: not root and no usable sudo; run as root:" >&2
		echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	hold_services=0
	for pkg in "${missing[@]}"; do
		case " $pkgs_with_service " in *" $pkg "*) hold_services=1 ;; esac
	done
	if [ "$hold_services" = 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
		"${sudo[@]}" sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d &&
		    chmod 755 /usr/sbin/policy-rc.d'
		trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
		echo "install-deps: not starting the system services of: $pkgs_with_service"
	else
		hold_services=0
	fi
	"${sudo[@]}" apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -q --no-install-recommends "${missing[@]}"
	if [ "$hold_services" = 1 ]; then
		"${sudo[@]}" rm -f /usr/sbin/policy-rc.d
		trap - EXIT
	fi
fi

# The fuzz group is only useful if clang can actually link a libFuzzer target.
for group in "$@"; do
	case "$group" in
	fuzz | all)
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		    'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
		    >"$tmp/t.c"
		if ! clang -fsanitize=fuzzer,address -o "$tmp/t" "$tmp/t.c" 2>"$tmp/err"; then
			cat "$tmp/err" >&2
			echo "install-deps: clang -fsanitize=fuzzer does not link" >&2
			exit 1
		fi
		break
		;;
	esac
done
exit 0
