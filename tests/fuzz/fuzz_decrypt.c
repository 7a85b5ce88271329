/*
 * Fuzz whole-file decryption: header, unwrap and the chunked payload, through the same
 * entry point `ferry decrypt` uses; then the scan ferryd runs over a partial upload before
 * resuming it (sealed_partial_scan), on the same bytes. The input goes into a memory file and is decrypted to
 * /dev/null with the fixed identities, so mutations of the seeds (valid files sealed to
 * those identities) reach the chunk code.
 *
 * The invariants beyond memory safety: a failure is one of the documented codes, with a
 * detail; a scan never counts more than the input holds.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/err.h>

#include "format/sealed.h"
#include "identity.h"
#include "util/err.h"
#include "util/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static int in_fd = -1, null_fd = -1;

static void
open_fds(void)
{
	if (in_fd >= 0)
		return;
	/* One memory file reused for every input: no disk, no per-run descriptor churn. */
	in_fd = memfd_create("fuzz-input", MFD_CLOEXEC);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (in_fd < 0 || null_fd < 0) {
		perror("fuzz_decrypt: setup");
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sealed_partial part;
	struct sealed_header h;
	struct fbuf *raw;
	int r;

	open_fds();
	CHECK(ftruncate(in_fd, 0) == 0);
	CHECK(lseek(in_fd, 0, SEEK_SET) == 0);
	CHECK(io_write_full(in_fd, data, size) == 0);
	CHECK(lseek(in_fd, 0, SEEK_SET) == 0);

	r = sealed_decrypt_fd(in_fd, null_fd, fuzz_identities(), FUZZ_NIDS, NULL);
	if (r != 0) {
		CHECK(r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT || r == FERRY_ERR_UNSUPPORTED ||
		    r == FERRY_ERR_TRUNCATED || r == FERRY_ERR_AUTH || r == FERRY_ERR_NO_IDENTITY);
		CHECK(strcmp(ferry_error_detail(r), ferry_strerror(r)) != 0);
	}
	ferry_error_clear();
	ERR_clear_error();

	CHECK(lseek(in_fd, 0, SEEK_SET) == 0);
	if ((raw = fbuf_new(FERRY_MAX_HEADER)) == NULL)
		abort();
	r = sealed_partial_scan(in_fd, fuzz_identities(), FUZZ_NIDS, raw, &h, &part);
	if (r == 0)
		CHECK(part.durable_len <= size && part.durable_len >= h.len);
	else
		CHECK(strcmp(ferry_error_detail(r), ferry_strerror(r)) != 0);
	fbuf_free(raw);
	ferry_error_clear();
	ERR_clear_error();
	return 0;
}
