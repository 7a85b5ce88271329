/*
 * crypto/aead: AES-256-GCM against the Wycheproof groups that match ferry's parameters
 * (256-bit key, 96-bit IV, 128-bit tag), and the keyed context and in-place operation
 * agreeing with the one-shot calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/aead.h"
#include "testutil.h"
#include "util/err.h"

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n-- > 0)
		acc |= *p++;
	return acc == 0;
}

static void
test_wycheproof(void **state)
{
	struct json *doc = json_load_vector("wycheproof/aes_gcm_test.json");
	const struct json *groups = json_get(doc, "testGroups");
	size_t g, t, nvalid = 0, ninvalid = 0;

	(void)state;
	for (g = 0; g < json_len(groups); g++) {
		const struct json *grp = json_at(groups, g);
		const struct json *tests = json_get(grp, "tests");

		if (json_get_int(grp, "keySize") != 256 || json_get_int(grp, "ivSize") != 96 ||
		    json_get_int(grp, "tagSize") != 128)
			continue;
		for (t = 0; t < json_len(tests); t++) {
			const struct json *tc = json_at(tests, t);
			long long tcid = json_get_int(tc, "tcId");
			const char *result = json_get_str(tc, "result");
			size_t key_len, iv_len, aad_len, msg_len, ct_len, tag_len;
			uint8_t *key = json_get_hex(tc, "key", &key_len);
			uint8_t *iv = json_get_hex(tc, "iv", &iv_len);
			uint8_t *aad = json_get_hex(tc, "aad", &aad_len);
			uint8_t *msg = json_get_hex(tc, "msg", &msg_len);
			uint8_t *ct = json_get_hex(tc, "ct", &ct_len);
			uint8_t *tag = json_get_hex(tc, "tag", &tag_len);
			uint8_t *full, *out;
			int r;

			assert_int_equal(key_len, CRYPTO_AEAD_KEY_LEN);
			assert_int_equal(iv_len, CRYPTO_AEAD_NONCE_LEN);
			assert_int_equal(tag_len, CRYPTO_AEAD_TAG_LEN);
			assert_int_equal(ct_len, msg_len);
			/* ct || tag, the layout ferry uses */
			full = malloc(ct_len + tag_len);
			out = malloc(ct_len + tag_len);
			assert_non_null(full);
			assert_non_null(out);
			memcpy(full, ct, ct_len);
			memcpy(full + ct_len, tag, tag_len);

			if (strcmp(result, "valid") == 0) {
				r = crypto_aead_seal(key, iv, aad, aad_len, msg, msg_len, out);
				if (r != 0 || memcmp(out, full, ct_len + tag_len) != 0)
					fail_msg("tcId %lld: seal r=%d", tcid, r);
				memset(out, 0xaa, ct_len + tag_len);
				r = crypto_aead_open(key, iv, aad, aad_len, full,
				    ct_len + tag_len, out);
				if (r != 0 || memcmp(out, msg, msg_len) != 0)
					fail_msg("tcId %lld: open r=%d", tcid, r);
				nvalid++;
			} else {
				assert_string_equal(result, "invalid");
				memset(out, 0xaa, ct_len + tag_len);
				r = crypto_aead_open(key, iv, aad, aad_len, full,
				    ct_len + tag_len, out);
				if (r != FERRY_ERR_AUTH)
					fail_msg("tcId %lld: invalid case opened (r=%d)", tcid, r);
				/* No unauthenticated plaintext is left behind. */
				assert_true(all_zero(out, ct_len));
				ninvalid++;
			}
			free(key);
			free(iv);
			free(aad);
			free(msg);
			free(ct);
			free(tag);
			free(full);
			free(out);
		}
	}
	printf("aead: AES-256-GCM/96/128: %zu valid, %zu invalid\n", nvalid, ninvalid);
	assert_int_equal(nvalid + ninvalid, 66);
	assert_true(nvalid > 0 && ninvalid > 0);
	json_free(doc);
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 131 + (i >> 8));
}

/* In-place seal and open give the same bytes as the separate-buffer calls. */
static void
test_in_place(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 4096, 65537 };
	uint8_t key[CRYPTO_AEAD_KEY_LEN], nonce[CRYPTO_AEAD_NONCE_LEN], aad[20];
	size_t i, n;

	(void)state;
	fill(key, sizeof(key), 1);
	fill(nonce, sizeof(nonce), 2);
	fill(aad, sizeof(aad), 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *pt, *ct, *buf;

		n = sizes[i];
		pt = malloc(n + 1);
		ct = malloc(n + CRYPTO_AEAD_TAG_LEN);
		buf = malloc(n + CRYPTO_AEAD_TAG_LEN);
		assert_true(pt != NULL && ct != NULL && buf != NULL);
		fill(pt, n, (uint8_t)i);
		assert_int_equal(crypto_aead_seal(key, nonce, aad, sizeof(aad), pt, n, ct), 0);
		memcpy(buf, pt, n);
		assert_int_equal(crypto_aead_seal(key, nonce, aad, sizeof(aad), buf, n, buf), 0);
		assert_memory_equal(buf, ct, n + CRYPTO_AEAD_TAG_LEN);
		assert_int_equal(crypto_aead_open(key, nonce, aad, sizeof(aad), buf,
		    n + CRYPTO_AEAD_TAG_LEN, buf), 0);
		if (n > 0)
			assert_memory_equal(buf, pt, n);
		/* In-place open of a tampered message fails and wipes. */
		memcpy(buf, ct, n + CRYPTO_AEAD_TAG_LEN);
		buf[n] ^= 0x01;
		assert_int_equal(crypto_aead_open(key, nonce, aad, sizeof(aad), buf,
		    n + CRYPTO_AEAD_TAG_LEN, buf), FERRY_ERR_AUTH);
		assert_true(all_zero(buf, n));
		free(pt);
		free(ct);
		free(buf);
	}
}

/*
 * One keyed context sealing and opening many messages (the payload stream's usage,
 * with 1 MiB chunks) matches the one-shot calls message for message, in both
 * directions and in place.
 */
static void
test_ctx_matches_one_shot(void **state)
{
	const size_t chunk = 1024 * 1024;
	uint8_t key[CRYPTO_AEAD_KEY_LEN], nonce[CRYPTO_AEAD_NONCE_LEN];
	uint8_t *pt = malloc(chunk), *ct1 = malloc(chunk + 16), *ct2 = malloc(chunk + 16);
	struct crypto_aead *seal, *open;
	size_t i, n;

	(void)state;
	assert_true(pt != NULL && ct1 != NULL && ct2 != NULL);
	fill(key, sizeof(key), 9);
	assert_non_null(seal = crypto_aead_new(key));
	assert_non_null(open = crypto_aead_new(key));
	for (i = 0; i < 8; i++) {
		n = i == 7 ? 1234 : chunk;
		fill(pt, n, (uint8_t)(i * 7));
		memset(nonce, 0, sizeof(nonce));
		nonce[11] = (uint8_t)i;
		assert_int_equal(crypto_aead_seal(key, nonce, NULL, 0, pt, n, ct1), 0);
		assert_int_equal(crypto_aead_ctx_seal(seal, nonce, NULL, 0, pt, n, ct2), 0);
		assert_memory_equal(ct1, ct2, n + CRYPTO_AEAD_TAG_LEN);
		/* open in place with the context */
		assert_int_equal(crypto_aead_ctx_open(open, nonce, NULL, 0, ct2,
		    n + CRYPTO_AEAD_TAG_LEN, ct2), 0);
		assert_memory_equal(ct2, pt, n);
		/* a message under the wrong nonce fails and does not disturb the next */
		nonce[0] ^= 1;
		assert_int_equal(crypto_aead_ctx_open(open, nonce, NULL, 0, ct1,
		    n + CRYPTO_AEAD_TAG_LEN, ct2), FERRY_ERR_AUTH);
		assert_true(all_zero(ct2, n));
	}
	/* One context may alternate directions. */
	memset(nonce, 7, sizeof(nonce));
	fill(pt, 100, 5);
	assert_int_equal(crypto_aead_ctx_seal(open, nonce, pt, 3, pt, 100, ct1), 0);
	assert_int_equal(crypto_aead_ctx_open(open, nonce, pt, 3, ct1, 116, ct2), 0);
	assert_memory_equal(ct2, pt, 100);
	assert_int_equal(crypto_aead_ctx_open(open, nonce, pt, 2, ct1, 116, ct2),
	    FERRY_ERR_AUTH);
	/* Shorter than a tag never opens. */
	assert_int_equal(crypto_aead_ctx_open(open, nonce, NULL, 0, ct1, 15, ct2),
	    FERRY_ERR_AUTH);
	crypto_aead_free(seal);
	crypto_aead_free(open);
	crypto_aead_free(NULL);
	free(pt);
	free(ct1);
	free(ct2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wycheproof),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_ctx_matches_one_shot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
