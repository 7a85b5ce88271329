# Front end to the CMake build. Each target installs what it needs first (Debian 12,
# through apt; see scripts/install-deps.sh), so a fresh clone needs only `make test`.
#
#   make            build into build/ (RelWithDebInfo)
#   make test       build and run every unit and end-to-end test
#   make asan       the whole test suite again under AddressSanitizer + UBSan, built with
#                   clang (build-asan/), so CI covers both compilers
#   make fuzz       build the libFuzzer targets with clang and run each FUZZ_SECONDS (build-fuzz/)
#   make bench      encryption and transfer throughput and memory next to age, gpg, openssl,
#                   scp, sftp and FTPS
#   make run        initialise a data directory once (.ferry-run/data), print the commands
#                   to add a user and enrol, and run ferryd serve on 127.0.0.1:4433
#   make clean      remove the build directories and the demo's scratch directory

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2
FUZZ_SECONDS ?= 30
ASAN_CC ?= clang
FUZZ_CC ?= clang

CMAKE_FLAGS ?=
DEPS = scripts/install-deps.sh

.PHONY: all build test asan fuzz bench run clean

all: build

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)
	cmake --build build -j $(JOBS)

test:
	$(DEPS) test
	$(MAKE) build
	ctest --test-dir build --output-on-failure -j $(CTEST_JOBS)

# Sanitizer reports abort the test that triggered them; FERRY_SANITIZED=1 (set by CMake)
# makes the end-to-end tests use smaller files.
asan:
	$(DEPS) asan
	CC=$(ASAN_CC) cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DFERRY_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --test-dir build-asan --output-on-failure -j $(CTEST_JOBS)

fuzz:
	$(DEPS) fuzz
	CC=$(FUZZ_CC) cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DFERRY_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build build-fuzz -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh build-fuzz

bench:
	$(DEPS) bench
	$(MAKE) build
	bench/encrypt.sh build/ferry
	bench/transfer.sh build/ferry

run:
	$(DEPS) build
	$(MAKE) build
	scripts/demo.sh build/ferryd build/ferry

clean:
	rm -rf build build-asan build-fuzz .ferry-run
