/*
 * Resuming a sealed stream (docs/FORMAT.md, "Resuming a stream"): scanning a cut-off
 * stream for its durable prefix and tags digest, checking a local file against it,
 * continuing the encryption from chunk k (byte for byte what a whole run writes),
 * verifying, decrypting and re-wrapping from chunk k, and refusing what does not fit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "format/sealed.h"
#include "util/err.h"

#define C       FERRY_MIN_CHUNK                 /* plaintext bytes per chunk */
#define CT_C    ((size_t)C + SEALED_TAG_LEN)    /* bytes per full chunk on disk */

static EVP_PKEY *key_x25519, *key_p384;
static const uint8_t user_key[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f,
};
static const uint8_t user_key_id[SEALED_KEY_ID_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
	0xae, 0xaf,
};

/* The stored stream is wrapped for a user key (as at rest); downloads go to P-384. */
static const struct sealed_recipient r_user = {
	.kind = SEALED_SYMMETRIC, .secret = user_key, .secret_len = sizeof(user_key),
	.key_id = user_key_id,
};
static const struct sealed_identity i_user = {
	.kind = SEALED_SYMMETRIC, .secret = user_key, .secret_len = sizeof(user_key),
	.key_id = user_key_id,
};
static struct sealed_recipient r_p384;
static struct sealed_identity i_p384, i_x25519;

/* Plaintext sizes: empty, inside one chunk, exact multiples, a short last chunk. */
static const size_t sizes[] = { 0, 1, C - 1, C, C + 1, 2 * C, 3 * C + 100, 5 * C };

static int
setup(void **state)
{
	(void)state;
	key_x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	key_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	r_p384 = (struct sealed_recipient){ .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	i_p384 = (struct sealed_identity){ .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	i_x25519 = (struct sealed_identity){ .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	return key_x25519 && key_p384 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_x25519);
	EVP_PKEY_free(key_p384);
	return 0;
}

/* A memory file holding len bytes, positioned at 0. */
static int
memfile(const uint8_t *p, size_t len)
{
	int fd = memfd_create("resume-test", 0);

	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* A whole memory file. */
static uint8_t *
slurp(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *p;

	assert_true(end >= 0);
	p = malloc((size_t)end + 1);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, (size_t)end, 0), end);
	*len = (size_t)end;
	return p;
}

static uint8_t *
pattern(size_t len)
{
	uint8_t *p = malloc(len + 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + i / 251);
	return p;
}

static size_t
nchunks_of(size_t len)
{
	return len == 0 ? 1 : (len + C - 1) / C;
}

/* The tags digest by its definition: SHA-256 over the 16-byte tags of chunks 0..k-1. */
static void
tags_digest(const uint8_t *ct, size_t hdr_len, uint64_t k, uint8_t out[SEALED_TAGS_DIGEST_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n;

	assert_non_null(md);
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	for (uint64_t i = 0; i < k; i++)
		assert_int_equal(EVP_DigestUpdate(md, ct + hdr_len + i * CT_C + C, SEALED_TAG_LEN), 1);
	assert_int_equal(EVP_DigestFinal_ex(md, out, &n), 1);
	assert_int_equal(n, SEALED_TAGS_DIGEST_LEN);
	EVP_MD_CTX_free(md);
}

/* Encrypt pt for the user key; *hdr_len gets the header length. */
static uint8_t *
encrypt_buf(const uint8_t *pt, size_t len, size_t *ct_len, size_t *hdr_len)
{
	int in = memfile(pt, len), out = memfile(NULL, 0);
	struct sealed_header h;
	uint8_t *ct;
	size_t need;

	assert_int_equal(sealed_encrypt_fd(in, out, &r_user, 1, C, NULL), 0);
	ct = slurp(out, ct_len);
	close(in);
	close(out);
	assert_int_equal(sealed_header_parse(ct, *ct_len, &h, &need), 0);
	*hdr_len = h.len;
	assert_int_equal(*ct_len, h.len + len + SEALED_TAG_LEN * nchunks_of(len));
	return ct;
}

/* Scan the first cut bytes of ct. */
static int
scan_buf(const uint8_t *ct, size_t cut, const struct sealed_identity *id,
    struct sealed_partial *part)
{
	struct fbuf *raw = fbuf_new(FERRY_MAX_HEADER);
	struct sealed_header h;
	int fd = memfile(ct, cut), r;

	assert_non_null(raw);
	ferry_error_clear();
	r = sealed_partial_scan(fd, id, 1, raw, &h, part);
	if (r == 0)
		assert_int_equal(h.len, part->durable_len - part->chunks * CT_C);
	close(fd);
	fbuf_free(raw);
	return r;
}

/* The payload stream of the header at the start of ct. */
static struct sealed_stream *
open_stream(const uint8_t *ct, size_t ct_len)
{
	struct sealed_stream *s = NULL;
	struct sealed_header h;
	size_t need;

	assert_int_equal(sealed_header_parse(ct, ct_len, &h, &need), 0);
	assert_int_equal(sealed_header_open(&h, &i_user, 1, &s), 0);
	assert_non_null(s);
	return s;
}

/* What the progress callbacks saw: the plaintext, and the lowest and highest count. */
struct seen {
	uint8_t *pt;
	size_t len, cap;
	uint64_t lo, hi;
	unsigned updates;
};

static void
seen_plaintext(void *arg, const uint8_t *p, size_t len)
{
	struct seen *s = arg;

	assert_true(s->len + len <= s->cap);
	memcpy(s->pt + s->len, p, len);
	s->len += len;
}

static void
seen_update(void *arg, uint64_t done)
{
	struct seen *s = arg;

	if (s->updates++ == 0 || done < s->lo)
		s->lo = done;
	if (done > s->hi)
		s->hi = done;
}

static void
seen_reset(struct seen *s)
{
	s->len = 0;
	s->lo = s->hi = 0;
	s->updates = 0;
}

/* Every cut of every size: the scan counts the complete non-final chunks before the cut,
 * never the final one, and fails only inside the header. */
static void
test_scan_cuts(void **state)
{
	uint8_t want[SEALED_TAGS_DIGEST_LEN];
	struct sealed_partial part;
	size_t ct_len, hdr, n, full, k;
	uint8_t *pt, *ct, *ext;

	(void)state;
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		pt = pattern(sizes[si]);
		ct = encrypt_buf(pt, sizes[si], &ct_len, &hdr);
		n = nchunks_of(sizes[si]);
		for (size_t cut = 0; cut < hdr; cut++)
			assert_true(scan_buf(ct, cut, &i_user, &part) < 0);
		for (size_t cut = hdr; cut <= ct_len; cut++) {
			full = (cut - hdr) / CT_C;
			k = full < n - 1 ? full : n - 1;
			assert_int_equal(scan_buf(ct, cut, &i_user, &part), 0);
			assert_int_equal(part.chunks, k);
			assert_int_equal(part.durable_len, hdr + k * CT_C);
			tags_digest(ct, hdr, k, want);
			assert_memory_equal(part.tags_digest, want, sizeof(want));
			/* The whole stream is there exactly when the final chunk is. */
			assert_int_equal(part.final_chunk, cut == ct_len);
		}
		/* Bytes after the final chunk do not make it count (and hide a short one). */
		ext = malloc(ct_len + CT_C);
		assert_non_null(ext);
		memcpy(ext, ct, ct_len);
		memset(ext + ct_len, 0xa5, CT_C);
		assert_int_equal(scan_buf(ext, ct_len + CT_C, &i_user, &part), 0);
		assert_int_equal(part.chunks, n - 1);
		assert_int_equal(part.final_chunk, sizes[si] > 0 && sizes[si] % C == 0);
		free(ext);
		free(ct);
		free(pt);
	}
}

/* A damaged, reordered or foreign chunk ends the count there; a header that does not
 * open is an error. */
static void
test_scan_damage(void **state)
{
	const size_t len = 5 * C + 10;
	uint8_t *pt = pattern(len), *ct, *other, tmp[CT_C];
	size_t ct_len, other_len, hdr, other_hdr;
	struct sealed_partial part;

	(void)state;
	ct = encrypt_buf(pt, len, &ct_len, &hdr);
	for (size_t j = 0; j < 5; j++) {
		ct[hdr + j * CT_C + 100] ^= 0x40;
		assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), 0);
		assert_int_equal(part.chunks, j);
		assert_int_equal(part.durable_len, hdr + j * CT_C);
		ct[hdr + j * CT_C + 100] ^= 0x40;
		/* The tag too. */
		ct[hdr + j * CT_C + C + 3] ^= 0x01;
		assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), 0);
		assert_int_equal(part.chunks, j);
		ct[hdr + j * CT_C + C + 3] ^= 0x01;
	}
	/* A damaged final chunk does not count as received. */
	ct[ct_len - 1] ^= 0x02;
	assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), 0);
	assert_int_equal(part.chunks, 5);
	assert_false(part.final_chunk);
	ct[ct_len - 1] ^= 0x02;
	assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), 0);
	assert_true(part.final_chunk);
	/* Chunks 1 and 2 swapped. */
	memcpy(tmp, ct + hdr + CT_C, CT_C);
	memcpy(ct + hdr + CT_C, ct + hdr + 2 * CT_C, CT_C);
	memcpy(ct + hdr + 2 * CT_C, tmp, CT_C);
	assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), 0);
	assert_int_equal(part.chunks, 1);
	memcpy(ct + hdr + 2 * CT_C, ct + hdr + CT_C, CT_C);
	memcpy(ct + hdr + CT_C, tmp, CT_C);
	assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), 0);
	assert_int_equal(part.chunks, 5);
	/* Chunk 3 from another file of the same key. */
	other = encrypt_buf(pt, len, &other_len, &other_hdr);
	memcpy(tmp, ct + hdr + 3 * CT_C, CT_C);
	memcpy(ct + hdr + 3 * CT_C, other + other_hdr + 3 * CT_C, CT_C);
	assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), 0);
	assert_int_equal(part.chunks, 3);
	memcpy(ct + hdr + 3 * CT_C, tmp, CT_C);
	/* Header errors. */
	assert_int_equal(scan_buf(ct, ct_len, &i_x25519, &part), FERRY_ERR_NO_IDENTITY);
	assert_int_equal(part.chunks, 0);
	ct[hdr - 1] ^= 1;
	assert_int_equal(scan_buf(ct, ct_len, &i_user, &part), FERRY_ERR_AUTH);
	ct[hdr - 1] ^= 1;
	assert_int_equal(scan_buf(ct, 0, &i_user, &part), FERRY_ERR_TRUNCATED);
	assert_int_equal(scan_buf(ct, hdr - 1, &i_user, &part), FERRY_ERR_TRUNCATED);
	free(other);
	free(ct);
	free(pt);
}

/* For every size and every resume point k: the check passes on the same plaintext and
 * fails on a changed or shorter one; the continuation completes the durable prefix into
 * exactly the original stream; it verifies, decrypts and re-wraps from chunk k. */
static void
test_resume_points(void **state)
{
	struct seen seen = { 0 };
	struct sealed_progress prog = { seen_update, seen_plaintext, &seen };
	struct sealed_partial part;
	struct sealed_stream *stream;
	size_t ct_len, hdr, n, len, cont_len, out_len, cut;
	uint8_t *pt, *ct, *cont, *out, *bad;
	uint64_t pt_len;
	int in, o, fd;

	(void)state;
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		len = sizes[si];
		pt = pattern(len);
		ct = encrypt_buf(pt, len, &ct_len, &hdr);
		n = nchunks_of(len);
		seen.cap = len + 1;
		seen.pt = malloc(seen.cap);
		assert_non_null(seen.pt);
		for (uint64_t k = 0; k < n; k++) {
			/* What the server would find after a cut somewhere inside chunk k. */
			cut = hdr + k * CT_C + (k + 1 < n ? CT_C / 2 : 0);
			assert_int_equal(scan_buf(ct, cut, &i_user, &part), 0);
			assert_int_equal(part.chunks, k);

			/* Client: check the prefix, then continue on the same descriptor. */
			stream = open_stream(ct, part.durable_len);
			in = memfile(pt, len);
			seen_reset(&seen);
			ferry_error_clear();
			assert_int_equal(sealed_resume_check(in, stream, C, k, part.tags_digest,
			    &prog), 0);
			assert_int_equal(lseek(in, 0, SEEK_CUR), (off_t)(k * C));
			assert_int_equal(seen.len, k * C);
			if (k > 0)
				assert_int_equal(seen.hi, k * C);
			o = memfile(NULL, 0);
			seen.lo = seen.hi = 0;
			seen.updates = 0;
			assert_int_equal(sealed_encrypt_from(in, o, stream, C, k, &prog), 0);
			assert_int_equal(seen.len, len);
			assert_memory_equal(seen.pt, pt, len);
			assert_true(seen.lo > k * C || (len == 0 && seen.lo == 0));
			assert_int_equal(seen.hi, len);
			cont = slurp(o, &cont_len);
			close(o);
			close(in);
			/* Same key, same nonces: the very same bytes. */
			assert_int_equal(part.durable_len + cont_len, ct_len);
			assert_memory_equal(cont, ct + part.durable_len, cont_len);

			/* Server: verify the continuation. */
			in = memfile(cont, cont_len);
			o = memfile(NULL, 0);
			pt_len = 12345;
			assert_int_equal(sealed_verify_from(in, o, stream, C, k, &pt_len), 0);
			assert_int_equal(pt_len, len - k * C);
			out = slurp(o, &out_len);
			assert_int_equal(out_len, cont_len);
			assert_memory_equal(out, cont, cont_len);
			free(out);
			close(in);
			close(o);

			/* Client download from chunk k: header, then chunks k.. */
			bad = malloc(hdr + cont_len + 1);
			assert_non_null(bad);
			memcpy(bad, ct, hdr);
			memcpy(bad + hdr, cont, cont_len);
			in = memfile(bad, hdr + cont_len);
			o = memfile(NULL, 0);
			seen_reset(&seen);
			assert_int_equal(sealed_decrypt_from(in, o, &i_user, 1, k * C, &prog), 0);
			out = slurp(o, &out_len);
			assert_int_equal(out_len, len - k * C);
			assert_memory_equal(out, pt + k * C, out_len);
			assert_int_equal(seen.hi, len);
			assert_true(seen.lo > k * C || (len == 0 && seen.lo == 0));
			free(out);
			close(in);
			close(o);
			/* ... which must be the chunks the caller asked for. */
			if (n > 1) {
				in = memfile(bad, hdr + cont_len);
				o = memfile(NULL, 0);
				ferry_error_clear();
				assert_int_equal(sealed_decrypt_from(in, o, &i_user, 1,
				    (k + 1 < n ? k + 1 : k - 1) * C, NULL), FERRY_ERR_AUTH);
				assert_non_null(strstr(ferry_error_detail(0), " at offset "));
				close(in);
				close(o);
				/* ... and an offset inside a chunk is refused. */
				in = memfile(bad, hdr + cont_len);
				o = memfile(NULL, 0);
				assert_int_equal(sealed_decrypt_from(in, o, &i_user, 1, k * C + 1,
				    NULL), FERRY_ERR_FORMAT);
				assert_non_null(strstr(ferry_error_detail(0), "multiple of"));
				close(in);
				close(o);
			}
			free(bad);

			/* Server download from chunk k, re-wrapped for P-384. */
			fd = memfile(ct, ct_len);
			o = memfile(NULL, 0);
			assert_int_equal(sealed_rewrap_from(fd, o, &i_user, 1, &r_p384, 1, k), 0);
			close(fd);
			assert_int_equal(lseek(o, 0, SEEK_SET), 0);
			fd = memfile(NULL, 0);
			assert_int_equal(sealed_decrypt_from(o, fd, &i_p384, 1, k * C, NULL), 0);
			out = slurp(fd, &out_len);
			assert_int_equal(out_len, len - k * C);
			assert_memory_equal(out, pt + k * C, out_len);
			free(out);
			close(fd);
			out = slurp(o, &out_len);
			assert_true(out_len >= cont_len);
			assert_memory_equal(out + out_len - cont_len, cont, cont_len);
			free(out);
			close(o);

			/* A changed byte in the prefix, or a shorter file, does not match. */
			if (k > 0) {
				bad = pattern(len);
				bad[(k * C) / 3] ^= 0x80;
				in = memfile(bad, len);
				ferry_error_clear();
				assert_int_equal(sealed_resume_check(in, stream, C, k,
				    part.tags_digest, NULL), FERRY_ERR_AUTH);
				assert_non_null(strstr(ferry_error_detail(0),
				    "the local file differs from the partial upload"));
				close(in);
				in = memfile(pt, k * C - 1);
				assert_int_equal(sealed_resume_check(in, stream, C, k,
				    part.tags_digest, NULL), FERRY_ERR_AUTH);
				assert_non_null(strstr(ferry_error_detail(0),
				    "the local file differs from the partial upload"));
				close(in);
				/* A file that now ends right at the resume point cannot go on. */
				in = memfile(pt, k * C);
				assert_int_equal(sealed_resume_check(in, stream, C, k,
				    part.tags_digest, NULL), 0);
				o = memfile(NULL, 0);
				ferry_error_clear();
				assert_int_equal(sealed_encrypt_from(in, o, stream, C, k, NULL),
				    FERRY_ERR_IO);
				assert_non_null(strstr(ferry_error_detail(0), "chunk boundary"));
				close(o);
				close(in);
				free(bad);
			}
			sealed_stream_free(stream);
			free(cont);
		}
		/* No chunk n to start a download at. */
		fd = memfile(ct, ct_len);
		o = memfile(NULL, 0);
		ferry_error_clear();
		assert_int_equal(sealed_rewrap_from(fd, o, &i_user, 1, &r_p384, 1, n),
		    FERRY_ERR_USAGE);
		assert_non_null(strstr(ferry_error_detail(0), "past the last chunk"));
		assert_int_equal(lseek(o, 0, SEEK_END), 0);
		close(o);
		close(fd);
		free(seen.pt);
		free(ct);
		free(pt);
	}
}

/* Run sealed_verify_from over p; the error code. */
static int
verify_buf(const uint8_t *p, size_t len, struct sealed_stream *stream, uint64_t first)
{
	int in = memfile(p, len), o = memfile(NULL, 0), r;
	uint64_t pt_len;

	ferry_error_clear();
	r = sealed_verify_from(in, o, stream, C, first, &pt_len);
	close(in);
	close(o);
	return r;
}

/* The verifier of a continuation refuses every bit flip, truncation and extension. */
static void
test_verify_mutations(void **state)
{
	const size_t len = 4 * C + 33;
	const uint64_t k = 2;
	uint8_t *pt = pattern(len), *ct, *cont, *ext;
	size_t ct_len, hdr, cont_len;
	struct sealed_stream *stream;
	int r;

	(void)state;
	ct = encrypt_buf(pt, len, &ct_len, &hdr);
	stream = open_stream(ct, ct_len);
	cont = ct + hdr + k * CT_C;
	cont_len = ct_len - hdr - k * CT_C;
	assert_int_equal(verify_buf(cont, cont_len, stream, k), 0);
	/* Every bit of a sample of bytes, and every byte once. */
	for (size_t i = 0; i < cont_len; i++) {
		for (int b = 0; b < 8; b += (i % 97 == 0 ? 1 : 8)) {
			cont[i] ^= (uint8_t)(1u << b);
			r = verify_buf(cont, cont_len, stream, k);
			cont[i] ^= (uint8_t)(1u << b);
			assert_int_equal(r, FERRY_ERR_AUTH);
		}
	}
	assert_non_null(strstr(ferry_error_detail(0), "chunk 4 at offset 2080"));
	/* Truncation anywhere, including at chunk boundaries. */
	for (size_t cut = 0; cut < cont_len; cut++)
		assert_true(verify_buf(cont, cut, stream, k) < 0);
	assert_int_equal(verify_buf(cont, 0, stream, k), FERRY_ERR_TRUNCATED);
	assert_non_null(strstr(ferry_error_detail(0), "before chunk 2 at offset 0"));
	assert_int_equal(verify_buf(cont, CT_C, stream, k), FERRY_ERR_TRUNCATED);
	assert_non_null(strstr(ferry_error_detail(0), "not the final chunk"));
	/* Extension. */
	ext = malloc(cont_len + CT_C);
	assert_non_null(ext);
	memcpy(ext, cont, cont_len);
	memset(ext + cont_len, 0, CT_C);
	for (size_t extra = 1; extra <= CT_C; extra += 131)
		assert_true(verify_buf(ext, cont_len + extra, stream, k) < 0);
	/* Wrong starting chunk: reordered. */
	assert_int_equal(verify_buf(cont, cont_len, stream, k - 1), FERRY_ERR_AUTH);
	assert_int_equal(verify_buf(cont, cont_len, stream, k + 1), FERRY_ERR_AUTH);
	assert_non_null(strstr(ferry_error_detail(0), "chunk 3 at offset 0"));
	/* A whole stream from chunk 0 still verifies through the same function. */
	assert_int_equal(verify_buf(ct + hdr, ct_len - hdr, stream, 0), 0);
	free(ext);
	sealed_stream_free(stream);
	free(ct);
	free(pt);
}

/* The whole-stream functions are the k = 0 cases: a pipe can still be re-wrapped
 * unverified, and a resumed writer cannot start past an empty file's only chunk. */
static void
test_edges(void **state)
{
	uint8_t *pt = pattern(2 * C), *ct, *out, d[SEALED_TAGS_DIGEST_LEN] = { 0 };
	size_t ct_len, hdr, out_len;
	struct sealed_stream *stream;
	int p[2], o, in;

	(void)state;
	ct = encrypt_buf(pt, 2 * C, &ct_len, &hdr);
	stream = open_stream(ct, ct_len);
	/* rewrap_from(0) on a pipe. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], ct, ct_len), (ssize_t)ct_len);
	close(p[1]);
	o = memfile(NULL, 0);
	assert_int_equal(sealed_rewrap_from(p[0], o, &i_user, 1, &r_p384, 1, 0), 0);
	close(p[0]);
	out = slurp(o, &out_len);
	assert_memory_equal(out + out_len - (ct_len - hdr), ct + hdr, ct_len - hdr);
	free(out);
	close(o);
	/* rewrap_from(1) needs a regular file. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], ct, ct_len), (ssize_t)ct_len);
	close(p[1]);
	o = memfile(NULL, 0);
	assert_int_equal(sealed_rewrap_from(p[0], o, &i_user, 1, &r_p384, 1, 1),
	    FERRY_ERR_USAGE);
	close(p[0]);
	close(o);
	/* Bad chunk sizes are refused before anything is read. */
	in = memfile(pt, 2 * C);
	o = memfile(NULL, 0);
	assert_int_equal(sealed_encrypt_from(in, o, stream, 0, 0, NULL), FERRY_ERR_USAGE);
	assert_int_equal(sealed_resume_check(in, stream, FERRY_MAX_CHUNK + 1, 1, d, NULL),
	    FERRY_ERR_USAGE);
	assert_int_equal(sealed_verify_from(in, o, stream, 7, 0, NULL), FERRY_ERR_USAGE);
	assert_int_equal(sealed_encrypt_from(in, o, stream, C, UINT64_MAX, NULL),
	    FERRY_ERR_LIMIT);
	assert_int_equal(lseek(in, 0, SEEK_CUR), 0);
	assert_int_equal(lseek(o, 0, SEEK_END), 0);
	/* Zero chunks to check: the digest of nothing. */
	assert_int_equal(sealed_resume_check(in, stream, C, 0, d, NULL), FERRY_ERR_AUTH);
	tags_digest(ct, hdr, 0, d);
	assert_int_equal(sealed_resume_check(in, stream, C, 0, d, NULL), 0);
	assert_int_equal(lseek(in, 0, SEEK_CUR), 0);
	close(in);
	close(o);
	sealed_stream_free(stream);
	free(ct);
	free(pt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_cuts),
		cmocka_unit_test(test_scan_damage),
		cmocka_unit_test(test_resume_points),
		cmocka_unit_test(test_verify_mutations),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
