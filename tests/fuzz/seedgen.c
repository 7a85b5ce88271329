/*
 * Write a starting corpus for the fuzz targets: valid sealed files for the fixed fuzz
 * identities (identity.h), so mutations start past the header and reach the payload.
 *
 *   seedgen DIR     creates DIR/fuzz_decrypt/ (whole files) and DIR/fuzz_header/
 *                   (their headers, plus a passphrase header the targets cannot open)
 *
 * Small chunks keep multi-chunk files small; the sizes sit on the chunk boundaries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "format/sealed.h"
#include "identity.h"
#include "util/err.h"
#include "util/io.h"

static const size_t sizes[] = { 0, 1, 100, 1023, 1024, 1025, 2048, 3000 };
static int null_fd = -1;

static void __attribute__((noreturn))
die(const char *what, int r)
{
	fprintf(stderr, "seedgen: %s: %s\n", what, ferry_error_detail(r));
	exit(1);
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void
write_seed(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(p, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* Encrypt size pattern bytes to rcpts; returns the sealed bytes (caller frees). */
static uint8_t *
seal(const struct sealed_recipient *rcpts, size_t nrcpts, size_t size, uint32_t chunk,
    size_t *out_len)
{
	int in = memfd_create("seed-in", MFD_CLOEXEC), out = memfd_create("seed-out", MFD_CLOEXEC);
	uint8_t *pt, *ct;
	size_t got;
	off_t end;
	int r;

	if (in < 0 || out < 0 || (pt = malloc(size + 1)) == NULL)
		die("setup", FERRY_ERR_IO);
	for (size_t i = 0; i < size; i++)
		pt[i] = (uint8_t)(i * 7 + 1);
	if ((r = io_write_full(in, pt, size)) != 0)
		die("write", r);
	free(pt);
	lseek(in, 0, SEEK_SET);
	if ((r = sealed_encrypt_fd(in, out, rcpts, nrcpts, chunk, NULL)) != 0)
		die("encrypt", r);
	if ((end = lseek(out, 0, SEEK_END)) < 0 || (ct = malloc((size_t)end)) == NULL)
		die("read back", FERRY_ERR_IO);
	lseek(out, 0, SEEK_SET);
	if ((r = io_read_full(out, ct, (size_t)end, &got)) != 0 || got != (size_t)end)
		die("read back", r);
	/* A seed the targets cannot open would only exercise the header. */
	lseek(out, 0, SEEK_SET);
	if (rcpts[0].kind != SEALED_PASSPHRASE &&
	    (r = sealed_decrypt_fd(out, null_fd, fuzz_identities(), FUZZ_NIDS, NULL)) != 0)
		die("decrypt check", r);
	close(in);
	close(out);
	*out_len = got;
	return ct;
}

static size_t
header_len(const uint8_t *p, size_t len)
{
	struct sealed_header h;
	size_t need;
	int r;

	if ((r = sealed_header_parse(p, len, &h, &need)) != 0)
		die("parse", r);
	return h.len;
}

int
main(int argc, char **argv)
{
	const struct sealed_recipient *all = fuzz_recipients();
	struct sealed_recipient pass = { 0 };
	char dec_dir[4096], hdr_dir[4096], name[64];
	const char *set_names[] = { "x25519", "p384", "keyid", "all" };
	uint8_t *ct;
	size_t len;
	int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: seedgen DIR\n");
		return 2;
	}
	if ((null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		die("/dev/null", FERRY_ERR_IO);
	make_dir(argv[1]);
	snprintf(dec_dir, sizeof(dec_dir), "%s/fuzz_decrypt", argv[1]);
	snprintf(hdr_dir, sizeof(hdr_dir), "%s/fuzz_header", argv[1]);
	make_dir(dec_dir);
	make_dir(hdr_dir);

	for (size_t set = 0; set < 4; set++) {
		/* Sets 0..2 are one recipient each; set 3 is all of them in one header. */
		const struct sealed_recipient *rcpts = set < 3 ? &all[set] : all;
		size_t nrcpts = set < 3 ? 1 : FUZZ_NIDS;

		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			ct = seal(rcpts, nrcpts, sizes[i], FERRY_MIN_CHUNK, &len);
			snprintf(name, sizeof(name), "%s-%zu.sealed", set_names[set], sizes[i]);
			write_seed(dec_dir, name, ct, len);
			if (i == 0) {
				snprintf(name, sizeof(name), "%s.header", set_names[set]);
				write_seed(hdr_dir, name, ct, header_len(ct, len));
			}
			free(ct);
			n++;
		}
	}
	/* The default chunk size once, so the larger buffers are exercised too. */
	ct = seal(all, 1, 5000, FERRY_DEFAULT_CHUNK, &len);
	write_seed(dec_dir, "x25519-5000-default-chunk.sealed", ct, len);
	free(ct);

	/* A passphrase header (smallest work factor) for the parser only: no target holds
	 * a passphrase, so nothing runs scrypt while fuzzing. */
	pass.kind = SEALED_PASSPHRASE;
	pass.secret = (const uint8_t *)"fuzz";
	pass.secret_len = 4;
	pass.log2n = FERRY_SCRYPT_MIN_LOG2N;
	ct = seal(&pass, 1, 10, FERRY_MIN_CHUNK, &len);
	write_seed(hdr_dir, "scrypt.header", ct, header_len(ct, len));
	free(ct);

	printf("seedgen: %d sealed files and 5 headers in %s\n", n + 1, argv[1]);
	return 0;
}
