/*
 * The sealed-file format: round trips for every recipient kind and edge size, the
 * header parser's bounds, and mutation tests (every bit flip, truncation, extension,
 * reordering and splice of a valid file must fail).
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
#include "testutil.h"

#define SMALL_CHUNK FERRY_MIN_CHUNK

static EVP_PKEY *key_x25519, *key_p384, *key_rsa;

static int
setup(void **state)
{
	(void)state;
	key_x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	key_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	key_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	return key_x25519 && key_p384 && key_rsa ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_x25519);
	EVP_PKEY_free(key_p384);
	EVP_PKEY_free(key_rsa);
	return 0;
}

/* A memory file holding len bytes, positioned at 0. */
static int
memfile(const uint8_t *p, size_t len)
{
	int fd = memfd_create("sealed-test", 0);

	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Read a whole memory file back. */
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
encrypt_buf(const uint8_t *pt, size_t len, const struct sealed_recipient *r, size_t n,
    uint32_t chunk, size_t *ct_len)
{
	int in = memfile(pt, len), out = memfile(NULL, 0);
	uint8_t *ct;

	assert_int_equal(sealed_encrypt_fd(in, out, r, n, chunk, NULL), 0);
	ct = slurp(out, ct_len);
	close(in);
	close(out);
	return ct;
}

/* Decrypt; returns the ferry error and the plaintext (NULL on error). */
static int
decrypt_buf(const uint8_t *ct, size_t len, const struct sealed_identity *ids, size_t n,
    uint8_t **pt, size_t *pt_len)
{
	int in = memfile(ct, len), out = memfile(NULL, 0), r;

	ferry_error_clear();
	r = sealed_decrypt_fd(in, out, ids, n, NULL);
	*pt = NULL;
	if (r == 0)
		*pt = slurp(out, pt_len);
	close(in);
	close(out);
	return r;
}

static uint8_t *
pattern(size_t len)
{
	uint8_t *p = malloc(len + 1);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8));
	return p;
}

static void
roundtrip(const struct sealed_recipient *r, size_t nr, const struct sealed_identity *id,
    uint32_t chunk, size_t len)
{
	uint8_t *pt = pattern(len), *ct, *back;
	size_t ct_len, back_len;
	size_t chunks = len == 0 ? 1 : (len + chunk - 1) / chunk;

	ct = encrypt_buf(pt, len, r, nr, chunk, &ct_len);
	assert_int_equal(decrypt_buf(ct, ct_len, id, 1, &back, &back_len), 0);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, pt, len);
	/* Exact expansion: header, then one tag per chunk. */
	{
		struct sealed_header h;
		size_t need;

		assert_int_equal(sealed_header_parse(ct, ct_len, &h, &need), 0);
		assert_int_equal(ct_len, h.len + len + chunks * SEALED_TAG_LEN);
	}
	free(pt);
	free(ct);
	free(back);
}

static void
test_roundtrip_sizes(void **state)
{
	struct sealed_recipient r = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_identity id = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	size_t sizes[] = { 0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1,
	    3 * SMALL_CHUNK, 3 * SMALL_CHUNK + 17 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		roundtrip(&r, 1, &id, SMALL_CHUNK, sizes[i]);
	roundtrip(&r, 1, &id, FERRY_DEFAULT_CHUNK, FERRY_DEFAULT_CHUNK + 5);
}

static void
test_roundtrip_kinds(void **state)
{
	EVP_PKEY *keys[] = { key_x25519, key_p384, key_rsa };
	uint8_t sym[32] = { 7 }, key_id[SEALED_KEY_ID_LEN] = { 9 };
	struct sealed_recipient pr = { .kind = SEALED_PASSPHRASE,
	    .secret = (const uint8_t *)"correct horse", .secret_len = 13, .log2n = 10 };
	struct sealed_identity pi = { .kind = SEALED_PASSPHRASE,
	    .secret = (const uint8_t *)"correct horse", .secret_len = 13 };
	struct sealed_recipient sr = { .kind = SEALED_SYMMETRIC, .secret = sym,
	    .secret_len = sizeof(sym), .key_id = key_id };
	struct sealed_identity si = { .kind = SEALED_SYMMETRIC, .secret = sym,
	    .secret_len = sizeof(sym), .key_id = key_id };
	struct sealed_recipient all[3];
	struct sealed_identity id;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		all[i] = (struct sealed_recipient){ .kind = SEALED_PUBLIC_KEY, .key = keys[i] };
		id = (struct sealed_identity){ .kind = SEALED_PUBLIC_KEY, .key = keys[i] };
		roundtrip(&all[i], 1, &id, SMALL_CHUNK, 2 * SMALL_CHUNK + 3);
	}
	/* Several recipients: each one alone opens the file. */
	for (size_t i = 0; i < 3; i++) {
		id = (struct sealed_identity){ .kind = SEALED_PUBLIC_KEY, .key = keys[i] };
		roundtrip(all, 3, &id, SMALL_CHUNK, 100);
	}
	roundtrip(&pr, 1, &pi, SMALL_CHUNK, SMALL_CHUNK);
	roundtrip(&sr, 1, &si, SMALL_CHUNK, 5);
}

static void
test_wrong_identity(void **state)
{
	struct sealed_recipient r = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_identity wrong[] = {
		{ .kind = SEALED_PUBLIC_KEY, .key = key_p384 },
		{ .kind = SEALED_PUBLIC_KEY, .key = key_rsa },
	};
	struct sealed_recipient pr = { .kind = SEALED_PASSPHRASE,
	    .secret = (const uint8_t *)"right", .secret_len = 5, .log2n = 10 };
	struct sealed_identity pi = { .kind = SEALED_PASSPHRASE,
	    .secret = (const uint8_t *)"wrong", .secret_len = 5 };
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	struct sealed_identity same_kind = { .kind = SEALED_PUBLIC_KEY, .key = other };
	uint8_t *ct, *pt;
	size_t ct_len, pt_len;

	(void)state;
	ct = encrypt_buf((const uint8_t *)"x", 1, &r, 1, SMALL_CHUNK, &ct_len);
	assert_int_equal(decrypt_buf(ct, ct_len, wrong, 2, &pt, &pt_len), FERRY_ERR_NO_IDENTITY);
	assert_int_equal(decrypt_buf(ct, ct_len, &same_kind, 1, &pt, &pt_len), FERRY_ERR_NO_IDENTITY);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_NO_IDENTITY), "no identity"));
	/* A key-encrypted file given a passphrase says so. */
	assert_int_equal(decrypt_buf(ct, ct_len, &pi, 1, &pt, &pt_len), FERRY_ERR_NO_IDENTITY);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_NO_IDENTITY), "-i KEY"));
	free(ct);
	ct = encrypt_buf((const uint8_t *)"x", 1, &pr, 1, SMALL_CHUNK, &ct_len);
	assert_int_equal(decrypt_buf(ct, ct_len, &pi, 1, &pt, &pt_len), FERRY_ERR_PASSPHRASE);
	assert_int_equal(decrypt_buf(ct, ct_len, wrong, 1, &pt, &pt_len), FERRY_ERR_NO_IDENTITY);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_NO_IDENTITY), "passphrase"));
	free(ct);
	EVP_PKEY_free(other);
}

static void
test_build_refuses(void **state)
{
	struct sealed_recipient two[] = {
		{ .kind = SEALED_PASSPHRASE, .secret = (const uint8_t *)"p", .secret_len = 1,
		  .log2n = 10 },
		{ .kind = SEALED_PUBLIC_KEY, .key = key_x25519 },
	};
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct sealed_recipient weak[] = {
		{ .kind = SEALED_PUBLIC_KEY, .key = p256 },
		{ .kind = SEALED_PUBLIC_KEY, .key = rsa2048 },
	};
	uint8_t fk[SEALED_FILE_KEY_LEN] = { 0 }, nonce[SEALED_NONCE_LEN] = { 0 };
	struct fbuf *b = fbuf_new(FERRY_MAX_HEADER);

	(void)state;
	assert_int_equal(sealed_header_build(fk, nonce, SMALL_CHUNK, two, 2, b), FERRY_ERR_USAGE);
	assert_int_equal(sealed_header_build(fk, nonce, SMALL_CHUNK - 1, &two[1], 1, b),
	    FERRY_ERR_USAGE);
	assert_int_equal(sealed_header_build(fk, nonce, FERRY_MAX_CHUNK + 1, &two[1], 1, b),
	    FERRY_ERR_USAGE);
	assert_int_equal(sealed_header_build(fk, nonce, SMALL_CHUNK, &weak[0], 1, b), FERRY_ERR_KEY);
	fbuf_reset(b);
	assert_int_equal(sealed_header_build(fk, nonce, SMALL_CHUNK, &weak[1], 1, b), FERRY_ERR_KEY);
	fbuf_free(b);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(rsa2048);
}

/* Every prefix of a valid header asks for more, and the length it asks for is exact. */
static void
test_header_incremental(void **state)
{
	struct sealed_recipient r[] = {
		{ .kind = SEALED_PUBLIC_KEY, .key = key_x25519 },
		{ .kind = SEALED_PUBLIC_KEY, .key = key_p384 },
		{ .kind = SEALED_PUBLIC_KEY, .key = key_rsa },
	};
	struct sealed_header h;
	uint8_t *ct;
	size_t ct_len, need, len, steps = 0;

	(void)state;
	ct = encrypt_buf((const uint8_t *)"abc", 3, r, 3, SMALL_CHUNK, &ct_len);
	assert_int_equal(sealed_header_parse(ct, ct_len, &h, &need), 0);
	assert_int_equal(h.nstanzas, 3);
	for (len = 0; len < h.len; len++)
		assert_int_equal(sealed_header_parse(ct, len, &h, &need), FERRY_ERR_TRUNCATED);
	/* Following the parser's own requests reaches the full header in few steps. */
	for (len = 0;; steps++) {
		int e = sealed_header_parse(ct, len, &h, &need);

		if (e == 0)
			break;
		assert_int_equal(e, FERRY_ERR_TRUNCATED);
		assert_true(need > len);
		len = need;
	}
	assert_true(steps <= 2 + 2 * 3 + 1);
	free(ct);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
test_header_bounds(void **state)
{
	struct sealed_recipient pr = { .kind = SEALED_PASSPHRASE,
	    .secret = (const uint8_t *)"pw", .secret_len = 2, .log2n = 10 };
	struct sealed_header h;
	uint8_t *ct, *copy;
	size_t ct_len, need;

	(void)state;
	ct = encrypt_buf((const uint8_t *)"abc", 3, &pr, 1, SMALL_CHUNK, &ct_len);
	copy = malloc(ct_len);
	/* Absurd chunk sizes. */
	memcpy(copy, ct, ct_len);
	put_be32(copy + 8, 0xffffffffu);
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_LIMIT);
	assert_non_null(strstr(ferry_error_detail(0), "chunk size 4294967295 at offset 8"));
	put_be32(copy + 8, 0);
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_LIMIT);
	/* Absurd scrypt work factor: the byte after the stanza's 16-byte salt. */
	memcpy(copy, ct, ct_len);
	assert_int_equal(copy[SEALED_FIXED_LEN], SEALED_STANZA_SCRYPT);
	copy[SEALED_FIXED_LEN + 3 + 16] = 64;
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_LIMIT);
	assert_non_null(strstr(ferry_error_detail(0), "scrypt work factor 2^64 at offset 49"));
	/* Bad magic, unknown version, zero and too many stanzas, oversize stanza body. */
	memcpy(copy, ct, ct_len);
	copy[0] = 'X';
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_FORMAT);
	memcpy(copy, ct, ct_len);
	copy[7] = 2;
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_UNSUPPORTED);
	memcpy(copy, ct, ct_len);
	copy[28] = 0;
	copy[29] = 0;
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_LIMIT);
	copy[29] = FERRY_MAX_STANZAS + 1;
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_LIMIT);
	memcpy(copy, ct, ct_len);
	copy[SEALED_FIXED_LEN + 1] = 0xff;
	copy[SEALED_FIXED_LEN + 2] = 0xff;
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_LIMIT);
	memcpy(copy, ct, ct_len);
	copy[SEALED_FIXED_LEN + 2] = 64; /* scrypt body must be exactly 65 bytes */
	assert_int_equal(sealed_header_parse(copy, ct_len, &h, &need), FERRY_ERR_FORMAT);
	free(copy);
	free(ct);
}

/* Flip every bit of the header and a sample of payload bits: each must fail to decrypt. */
static void
test_mutation_bitflips(void **state)
{
	struct sealed_recipient r[] = {
		{ .kind = SEALED_PUBLIC_KEY, .key = key_x25519 },
		{ .kind = SEALED_PUBLIC_KEY, .key = key_p384 },
	};
	struct sealed_identity id = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	uint8_t *pt = pattern(2 * SMALL_CHUNK + 10), *ct, *out;
	size_t ct_len, out_len, need, flips = 0;
	struct sealed_header h;

	(void)state;
	ct = encrypt_buf(pt, 2 * SMALL_CHUNK + 10, r, 2, SMALL_CHUNK, &ct_len);
	assert_int_equal(sealed_header_parse(ct, ct_len, &h, &need), 0);
	for (size_t i = 0; i < ct_len; i++) {
		/* Every header byte; in the payload, bytes near chunk edges and a stride. */
		size_t p = i >= h.len ? (i - h.len) % (SMALL_CHUNK + SEALED_TAG_LEN) : 0;

		if (i >= h.len && p > 20 && p < SMALL_CHUNK - 4 && i % 97 != 0)
			continue;
		for (int bit = 0; bit < 8; bit++) {
			ct[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(decrypt_buf(ct, ct_len, &id, 1, &out, &out_len), 0);
			assert_null(out);
			ct[i] ^= (uint8_t)(1u << bit);
			flips++;
		}
	}
	print_message("bit flips rejected: %zu\n", flips);
	assert_int_equal(decrypt_buf(ct, ct_len, &id, 1, &out, &out_len), 0);
	free(out);
	free(pt);
	free(ct);
}

/* Truncation at every length, extension, reordering and splicing. */
static void
test_mutation_structure(void **state)
{
	struct sealed_recipient r = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_identity id = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	const size_t len = 3 * SMALL_CHUNK + 100, cl = SMALL_CHUNK + SEALED_TAG_LEN;
	uint8_t *pt = pattern(len), *ct, *ct2, *buf, *out;
	size_t ct_len, ct2_len, out_len, need, hl;
	struct sealed_header h;

	(void)state;
	ct = encrypt_buf(pt, len, &r, 1, SMALL_CHUNK, &ct_len);
	ct2 = encrypt_buf(pt, len, &r, 1, SMALL_CHUNK, &ct2_len);
	assert_int_equal(sealed_header_parse(ct, ct_len, &h, &need), 0);
	hl = h.len;
	buf = malloc(ct_len + cl);

	for (size_t n = 0; n < ct_len; n++)
		assert_int_not_equal(decrypt_buf(ct, n, &id, 1, &out, &out_len), 0);
	/* At a chunk boundary the message says where the stream was cut. */
	assert_int_equal(decrypt_buf(ct, hl + 2 * cl, &id, 1, &out, &out_len), FERRY_ERR_TRUNCATED);
	assert_non_null(strstr(ferry_error_detail(0), "not the final chunk"));
	assert_int_equal(decrypt_buf(ct, hl, &id, 1, &out, &out_len), FERRY_ERR_TRUNCATED);
	assert_int_equal(decrypt_buf(ct, 0, &id, 1, &out, &out_len), FERRY_ERR_TRUNCATED);
	assert_non_null(strstr(ferry_error_detail(0), "empty input"));

	/* A chunk appended after a short final chunk merges with it: that chunk fails. */
	memcpy(buf, ct, ct_len);
	memcpy(buf + ct_len, ct + hl, cl);
	assert_int_equal(decrypt_buf(buf, ct_len + cl, &id, 1, &out, &out_len), FERRY_ERR_AUTH);
	assert_int_equal(decrypt_buf(buf, ct_len + 1, &id, 1, &out, &out_len), FERRY_ERR_AUTH);
	/* After a full final chunk, the extra data is named as such. */
	{
		size_t full_len;
		uint8_t *full = encrypt_buf(pt, 3 * SMALL_CHUNK, &r, 1, SMALL_CHUNK, &full_len);
		uint8_t *ext = malloc(full_len + cl);

		memcpy(ext, full, full_len);
		memcpy(ext + full_len, full + hl, cl);
		assert_int_equal(decrypt_buf(ext, full_len + cl, &id, 1, &out, &out_len),
		    FERRY_ERR_FORMAT);
		assert_non_null(strstr(ferry_error_detail(0), "trailing data"));
		assert_int_equal(decrypt_buf(ext, full_len + 1, &id, 1, &out, &out_len),
		    FERRY_ERR_FORMAT);
		assert_int_equal(decrypt_buf(ext, full_len, &id, 1, &out, &out_len), 0);
		free(out);
		free(ext);
		free(full);
	}

	/* Chunks 0 and 1 swapped. */
	memcpy(buf, ct, ct_len);
	memcpy(buf + hl, ct + hl + cl, cl);
	memcpy(buf + hl + cl, ct + hl, cl);
	assert_int_equal(decrypt_buf(buf, ct_len, &id, 1, &out, &out_len), FERRY_ERR_AUTH);
	assert_non_null(strstr(ferry_error_detail(0), "chunk 0 at offset"));

	/* Chunk 1 taken from another encryption of the same plaintext to the same key. */
	memcpy(buf, ct, ct_len);
	memcpy(buf + hl + cl, ct2 + hl + cl, cl);
	assert_int_equal(decrypt_buf(buf, ct_len, &id, 1, &out, &out_len), FERRY_ERR_AUTH);
	assert_non_null(strstr(ferry_error_detail(0), "chunk 1 at offset"));

	/* The other file's header with this file's payload. */
	memcpy(buf, ct2, hl);
	memcpy(buf + hl, ct + hl, ct_len - hl);
	assert_int_equal(decrypt_buf(buf, ct_len, &id, 1, &out, &out_len), FERRY_ERR_AUTH);

	free(buf);
	free(pt);
	free(ct);
	free(ct2);
}

/* Run sealed_rewrap_fd over ct; returns its result, the output and the plaintext size. */
static int
rewrap_buf(const uint8_t *ct, size_t len, const struct sealed_identity *id,
    const struct sealed_recipient *r, bool verify, uint8_t **out, size_t *out_len,
    uint64_t *pt_len)
{
	int in = memfile(ct, len), o = memfile(NULL, 0), e;

	*out = NULL;
	e = sealed_rewrap_fd(in, o, id, 1, r, 1, verify, pt_len);
	if (e == 0)
		*out = slurp(o, out_len);
	close(in);
	close(o);
	return e;
}

static void
hash_plaintext(void *arg, const uint8_t *p, size_t len)
{
	uint64_t *sum = arg;

	for (size_t i = 0; i < len; i++)
		*sum = *sum * 31 + p[i];
}

/* Re-wrapping a stream changes only the header; verification catches damaged chunks. */
static void
test_rewrap_fd(void **state)
{
	struct sealed_recipient rx = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_recipient rp = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	struct sealed_identity ix = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_identity ip = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	const size_t len = 2 * SMALL_CHUNK + 7;
	uint8_t *pt = pattern(len), *ct, *re, *back;
	size_t ct_len, re_len, back_len, need;
	struct sealed_header h1, h2;
	uint64_t pt_len = 0, sum_in = 0, sum_out = 0;
	struct sealed_progress obs = { .plaintext = hash_plaintext, .arg = &sum_in };
	int in, out;

	(void)state;
	in = memfile(pt, len);
	out = memfile(NULL, 0);
	assert_int_equal(sealed_encrypt_fd(in, out, &rx, 1, SMALL_CHUNK, &obs), 0);
	ct = slurp(out, &ct_len);
	close(in);
	close(out);

	assert_int_equal(rewrap_buf(ct, ct_len, &ix, &rp, true, &re, &re_len, &pt_len), 0);
	assert_int_equal(pt_len, len);
	assert_int_equal(sealed_header_parse(ct, ct_len, &h1, &need), 0);
	assert_int_equal(sealed_header_parse(re, re_len, &h2, &need), 0);
	assert_int_equal(re_len - h2.len, ct_len - h1.len);
	assert_memory_equal(re + h2.len, ct + h1.len, ct_len - h1.len);
	assert_int_equal(decrypt_buf(re, re_len, &ix, 1, &back, &back_len), FERRY_ERR_NO_IDENTITY);
	in = memfile(re, re_len);
	out = memfile(NULL, 0);
	obs.arg = &sum_out;
	assert_int_equal(sealed_decrypt_fd(in, out, &ip, 1, &obs), 0);
	back = slurp(out, &back_len);
	close(in);
	close(out);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, pt, len);
	assert_true(sum_in == sum_out && sum_in != 0);
	free(back);
	free(re);

	/* A damaged chunk: refused when verifying, passed through (for the reader to catch)
	 * when not. */
	ct[ct_len - 3] ^= 1;
	assert_int_equal(rewrap_buf(ct, ct_len, &ix, &rp, true, &re, &re_len, &pt_len),
	    FERRY_ERR_AUTH);
	assert_null(re);
	assert_int_equal(rewrap_buf(ct, ct_len, &ix, &rp, false, &re, &re_len, &pt_len), 0);
	assert_int_equal(decrypt_buf(re, re_len, &ip, 1, &back, &back_len), FERRY_ERR_AUTH);
	/* The wrong identity cannot re-wrap. */
	assert_int_equal(rewrap_buf(ct, ct_len, &ip, &rp, true, &back, &back_len, &pt_len),
	    FERRY_ERR_NO_IDENTITY);
	free(re);
	free(ct);
	free(pt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_sizes),
		cmocka_unit_test(test_roundtrip_kinds),
		cmocka_unit_test(test_wrong_identity),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_header_incremental),
		cmocka_unit_test(test_header_bounds),
		cmocka_unit_test(test_mutation_bitflips),
		cmocka_unit_test(test_mutation_structure),
		cmocka_unit_test(test_rewrap_fd),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
