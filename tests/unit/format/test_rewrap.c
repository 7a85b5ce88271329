/*
 * Re-wrapping a sealed header (sealed_header_rewrap): the new header keeps the chunk
 * size and nonce, wraps the file key only for the new recipients, and the old payload
 * bytes decrypt unchanged behind it; a modified header or a wrong identity is refused.
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

#define PT_LEN (3 * FERRY_MIN_CHUNK + 100)   /* four chunks, the last one short */

static EVP_PKEY *key_p384, *key_x25519, *key_other;
static const uint8_t user_key[32] = {
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
	0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f,
};
static const uint8_t user_key_id[SEALED_KEY_ID_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad,
	0xae, 0xaf,
};

static int
setup(void **state)
{
	(void)state;
	key_p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	key_x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	key_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	return key_p384 && key_x25519 && key_other ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_p384);
	EVP_PKEY_free(key_x25519);
	EVP_PKEY_free(key_other);
	return 0;
}

static int
memfile(const uint8_t *p, size_t len)
{
	int fd = memfd_create("rewrap-test", 0);

	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

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
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + (i >> 9));
	return p;
}

static uint8_t *
encrypt_buf(const uint8_t *pt, size_t len, const struct sealed_recipient *r, size_t n,
    size_t *ct_len)
{
	int in = memfile(pt, len), out = memfile(NULL, 0);
	uint8_t *ct;

	assert_int_equal(sealed_encrypt_fd(in, out, r, n, FERRY_MIN_CHUNK, NULL), 0);
	ct = slurp(out, ct_len);
	close(in);
	close(out);
	return ct;
}

/* Decrypt with one identity; the ferry error, and the plaintext on success. */
static int
decrypt_buf(const uint8_t *ct, size_t len, const struct sealed_identity *id, uint8_t **pt,
    size_t *pt_len)
{
	int in = memfile(ct, len), out = memfile(NULL, 0), r;

	ferry_error_clear();
	r = sealed_decrypt_fd(in, out, id, 1, NULL);
	*pt = NULL;
	*pt_len = 0;
	if (r == 0)
		*pt = slurp(out, pt_len);
	close(in);
	close(out);
	return r;
}

static void
parse(const uint8_t *file, size_t len, struct sealed_header *h)
{
	size_t need;

	assert_int_equal(sealed_header_parse(file, len, h, &need), 0);
}

/*
 * Re-wrap file (whose header opens with id) for rcpt and return the new file: the new
 * header followed by the original payload bytes, untouched.
 */
static uint8_t *
rewrap_file(const uint8_t *file, size_t len, const struct sealed_identity *id,
    const struct sealed_recipient *rcpt, size_t *new_len)
{
	struct sealed_header h, nh;
	struct fbuf *out = fbuf_new(FERRY_MAX_HEADER + len);
	size_t hlen, payload;
	uint8_t *nf;

	assert_non_null(out);
	parse(file, len, &h);
	payload = len - h.len;
	ferry_error_clear();
	if (sealed_header_rewrap(&h, id, 1, rcpt, 1, out) != 0)
		fail_msg("rewrap: %s", ferry_error_detail(FERRY_ERR_INTERNAL));
	hlen = fbuf_len(out);
	/* A header only, exactly one, with the original chunk size and nonce. */
	parse(fbuf_ptr(out), hlen, &nh);
	assert_int_equal(nh.len, hlen);
	assert_int_equal(nh.chunk_size, h.chunk_size);
	assert_memory_equal(nh.nonce, h.nonce, SEALED_NONCE_LEN);
	assert_int_equal(nh.nstanzas, 1);
	nf = malloc(hlen + payload);
	assert_non_null(nf);
	memcpy(nf, fbuf_ptr(out), hlen);
	memcpy(nf + hlen, file + h.len, payload);
	*new_len = hlen + payload;
	fbuf_free(out);
	return nf;
}

static void
test_p384_to_key_id_and_back_to_x25519(void **state)
{
	struct sealed_recipient to_p384 = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	struct sealed_identity id_p384 = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	struct sealed_recipient to_kid = { .kind = SEALED_SYMMETRIC, .secret = user_key,
	    .secret_len = sizeof(user_key), .key_id = user_key_id };
	struct sealed_identity id_kid = { .kind = SEALED_SYMMETRIC, .secret = user_key,
	    .secret_len = sizeof(user_key), .key_id = user_key_id };
	struct sealed_recipient to_x = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_identity id_x = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_header h0, h1, h2;
	uint8_t *pt = pattern(PT_LEN), *f0, *f1, *f2, *back;
	size_t l0, l1, l2, back_len;

	(void)state;
	f0 = encrypt_buf(pt, PT_LEN, &to_p384, 1, &l0);
	parse(f0, l0, &h0);
	assert_int_equal(h0.stanzas[0].type, SEALED_STANZA_P384);

	/* Server key -> user key: the payload bytes are the very same. */
	f1 = rewrap_file(f0, l0, &id_p384, &to_kid, &l1);
	parse(f1, l1, &h1);
	assert_int_equal(h1.stanzas[0].type, SEALED_STANZA_KEY_ID);
	assert_memory_equal(h1.stanzas[0].body, user_key_id, SEALED_KEY_ID_LEN);
	assert_int_equal(l1 - h1.len, l0 - h0.len);
	assert_memory_equal(f1 + h1.len, f0 + h0.len, l0 - h0.len);
	assert_int_equal(decrypt_buf(f1, l1, &id_kid, &back, &back_len), 0);
	assert_int_equal(back_len, PT_LEN);
	assert_memory_equal(back, pt, PT_LEN);
	free(back);
	/* ... and the old key no longer opens it. */
	assert_int_equal(decrypt_buf(f1, l1, &id_p384, &back, &back_len), FERRY_ERR_NO_IDENTITY);
	assert_null(back);

	/* User key -> a client's X25519 key, again over the same payload. */
	f2 = rewrap_file(f1, l1, &id_kid, &to_x, &l2);
	parse(f2, l2, &h2);
	assert_int_equal(h2.stanzas[0].type, SEALED_STANZA_X25519);
	assert_memory_equal(f2 + h2.len, f0 + h0.len, l0 - h0.len);
	assert_int_equal(decrypt_buf(f2, l2, &id_x, &back, &back_len), 0);
	assert_int_equal(back_len, PT_LEN);
	assert_memory_equal(back, pt, PT_LEN);
	free(back);
	assert_int_equal(decrypt_buf(f2, l2, &id_kid, &back, &back_len), FERRY_ERR_NO_IDENTITY);
	assert_int_equal(decrypt_buf(f2, l2, &id_p384, &back, &back_len), FERRY_ERR_NO_IDENTITY);

	free(pt);
	free(f0);
	free(f1);
	free(f2);
}

/* Several new recipients; each one opens the result. The empty plaintext too. */
static void
test_several_recipients_empty_file(void **state)
{
	struct sealed_recipient to_p384 = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	struct sealed_identity id_p384 = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	struct sealed_recipient rc[2] = {
		{ .kind = SEALED_SYMMETRIC, .secret = user_key, .secret_len = sizeof(user_key),
		    .key_id = user_key_id },
		{ .kind = SEALED_PUBLIC_KEY, .key = key_x25519 },
	};
	struct sealed_identity ids[2] = {
		{ .kind = SEALED_SYMMETRIC, .secret = user_key, .secret_len = sizeof(user_key),
		    .key_id = user_key_id },
		{ .kind = SEALED_PUBLIC_KEY, .key = key_x25519 },
	};
	struct sealed_header h;
	struct fbuf *out = fbuf_new(FERRY_MAX_HEADER * 2);
	uint8_t *f0, *nf, *back;
	size_t l0, nl, back_len;

	(void)state;
	assert_non_null(out);
	f0 = encrypt_buf((const uint8_t *)"", 0, &to_p384, 1, &l0);
	parse(f0, l0, &h);
	/* Appends after what out already holds. */
	assert_int_equal(fbuf_put(out, "xy", 2), 0);
	assert_int_equal(sealed_header_rewrap(&h, &id_p384, 1, rc, 2, out), 0);
	assert_memory_equal(fbuf_ptr(out), "xy", 2);
	nl = fbuf_len(out) - 2 + (l0 - h.len);
	nf = malloc(nl);
	assert_non_null(nf);
	memcpy(nf, fbuf_ptr(out) + 2, fbuf_len(out) - 2);
	memcpy(nf + fbuf_len(out) - 2, f0 + h.len, l0 - h.len);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(decrypt_buf(nf, nl, &ids[i], &back, &back_len), 0);
		assert_int_equal(back_len, 0);
		free(back);
	}
	fbuf_free(out);
	free(f0);
	free(nf);
}

/* A header whose MAC does not verify is refused, and out stays as it was. */
static void
test_tampered_header_refused(void **state)
{
	struct sealed_recipient to_p384 = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	struct sealed_identity id_p384 = { .kind = SEALED_PUBLIC_KEY, .key = key_p384 };
	struct sealed_recipient to_kid = { .kind = SEALED_SYMMETRIC, .secret = user_key,
	    .secret_len = sizeof(user_key), .key_id = user_key_id };
	struct sealed_header h;
	struct fbuf *out = fbuf_new(FERRY_MAX_HEADER);
	uint8_t *pt = pattern(100), *f0;
	size_t l0;
	/* The nonce, the chunk size and the MAC itself: none is in a stanza, so the file
	 * key still unwraps and only the MAC can notice. */
	const size_t offsets[] = { 12, 20, 27, 9 };

	(void)state;
	assert_non_null(out);
	f0 = encrypt_buf(pt, 100, &to_p384, 1, &l0);
	parse(f0, l0, &h);
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]) + 1; i++) {
		size_t off = i < sizeof(offsets) / sizeof(offsets[0]) ? offsets[i] :
		    h.mac_offset + 5;

		f0[off] ^= 0x01;
		parse(f0, l0, &h);
		ferry_error_clear();
		assert_int_equal(sealed_header_rewrap(&h, &id_p384, 1, &to_kid, 1, out),
		    FERRY_ERR_AUTH);
		assert_non_null(strstr(ferry_error_detail(FERRY_ERR_AUTH), "MAC"));
		assert_int_equal(fbuf_len(out), 0);
		f0[off] ^= 0x01;
	}
	/* Unmodified, it goes through (so the refusals above were the MAC's doing). */
	parse(f0, l0, &h);
	assert_int_equal(sealed_header_rewrap(&h, &id_p384, 1, &to_kid, 1, out), 0);
	assert_true(fbuf_len(out) > 0);
	fbuf_free(out);
	free(pt);
	free(f0);
}

/* An identity that opens no stanza is refused; so is a wrong key id or user key. */
static void
test_wrong_identity_refused(void **state)
{
	struct sealed_recipient to_kid = { .kind = SEALED_SYMMETRIC, .secret = user_key,
	    .secret_len = sizeof(user_key), .key_id = user_key_id };
	struct sealed_recipient to_x = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	struct sealed_identity wrong_p384 = { .kind = SEALED_PUBLIC_KEY, .key = key_other };
	struct sealed_identity x_as_id = { .kind = SEALED_PUBLIC_KEY, .key = key_x25519 };
	uint8_t other_key[32], other_id[SEALED_KEY_ID_LEN];
	struct sealed_identity wrong_key = { .kind = SEALED_SYMMETRIC, .secret = other_key,
	    .secret_len = sizeof(other_key), .key_id = user_key_id };
	struct sealed_identity wrong_id = { .kind = SEALED_SYMMETRIC, .secret = user_key,
	    .secret_len = sizeof(user_key), .key_id = other_id };
	struct sealed_identity right = { .kind = SEALED_SYMMETRIC, .secret = user_key,
	    .secret_len = sizeof(user_key), .key_id = user_key_id };
	const struct sealed_identity *wrong[] = { &wrong_p384, &x_as_id, &wrong_key, &wrong_id };
	struct sealed_header h;
	struct fbuf *out = fbuf_new(FERRY_MAX_HEADER);
	uint8_t *pt = pattern(10), *f0;
	size_t l0;

	(void)state;
	assert_non_null(out);
	memcpy(other_key, user_key, sizeof(other_key));
	other_key[31] ^= 0x80;
	memcpy(other_id, user_key_id, sizeof(other_id));
	other_id[0] ^= 0x01;
	f0 = encrypt_buf(pt, 10, &to_kid, 1, &l0);
	parse(f0, l0, &h);
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		assert_int_equal(sealed_header_rewrap(&h, wrong[i], 1, &to_x, 1, out),
		    FERRY_ERR_NO_IDENTITY);
		assert_int_equal(fbuf_len(out), 0);
	}
	/* The right identity, but a recipient the writer refuses: out untouched too. */
	{
		struct sealed_recipient bad = { .kind = SEALED_SYMMETRIC, .secret = user_key,
		    .secret_len = 16, .key_id = user_key_id };

		assert_int_equal(sealed_header_rewrap(&h, &right, 1, &bad, 1, out), FERRY_ERR_KEY);
		assert_int_equal(fbuf_len(out), 0);
		assert_int_equal(sealed_header_rewrap(&h, &right, 1, &to_x, 0, out),
		    FERRY_ERR_USAGE);
		assert_int_equal(fbuf_len(out), 0);
	}
	assert_int_equal(sealed_header_rewrap(&h, &right, 1, &to_x, 1, out), 0);
	fbuf_free(out);
	free(pt);
	free(f0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p384_to_key_id_and_back_to_x25519),
		cmocka_unit_test(test_several_recipients_empty_file),
		cmocka_unit_test(test_tampered_header_refused),
		cmocka_unit_test(test_wrong_identity_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
