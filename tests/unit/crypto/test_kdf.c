/*
 * crypto/kdf: HKDF against the Wycheproof SHA-256 and SHA-384 vectors (exact output for
 * valid cases, FERRY_ERR_LIMIT for sizes over 255 * HashLen), plus HMAC and SHA-2
 * known answers and extract/expand agreeing with the one-shot call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/kdf.h"
#include "testutil.h"
#include "util/err.h"

static void
run_hkdf_file(const char *file, enum crypto_hash h, size_t expect_tests)
{
	struct json *doc = json_load_vector(file);
	const struct json *groups = json_get(doc, "testGroups");
	size_t g, t, nvalid = 0, ninvalid = 0;

	assert_non_null(groups);
	for (g = 0; g < json_len(groups); g++) {
		const struct json *tests = json_get(json_at(groups, g), "tests");

		for (t = 0; t < json_len(tests); t++) {
			const struct json *tc = json_at(tests, t);
			const char *result = json_get_str(tc, "result");
			long long tcid = json_get_int(tc, "tcId");
			size_t ikm_len, salt_len, info_len, okm_len;
			uint8_t *ikm = json_get_hex(tc, "ikm", &ikm_len);
			uint8_t *salt = json_get_hex(tc, "salt", &salt_len);
			uint8_t *info = json_get_hex(tc, "info", &info_len);
			uint8_t *want = json_get_hex(tc, "okm", &okm_len);
			size_t size = (size_t)json_get_int(tc, "size");
			uint8_t *okm = calloc(1, size + 1);
			int r;

			assert_non_null(okm);
			r = crypto_hkdf(h, salt, salt_len, ikm, ikm_len, info, info_len,
			    okm, size);
			if (strcmp(result, "valid") == 0) {
				if (r != 0 || okm_len != size || memcmp(okm, want, size) != 0)
					fail_msg("%s tcId %lld: r=%d (%s)", file, tcid, r,
					    ferry_error_detail(r));
				nvalid++;
			} else {
				assert_string_equal(result, "invalid");
				if (r != FERRY_ERR_LIMIT)
					fail_msg("%s tcId %lld: invalid case gave %d", file,
					    tcid, r);
				ninvalid++;
			}
			free(ikm);
			free(salt);
			free(info);
			free(want);
			free(okm);
		}
	}
	printf("kdf: %s: %zu valid, %zu invalid\n", file, nvalid, ninvalid);
	assert_int_equal(nvalid + ninvalid, expect_tests);
	assert_true(ninvalid > 0);
	json_free(doc);
}

static void
test_hkdf_sha256_wycheproof(void **state)
{
	(void)state;
	run_hkdf_file("wycheproof/hkdf_sha256_test.json", CRYPTO_SHA256, 86);
}

static void
test_hkdf_sha384_wycheproof(void **state)
{
	(void)state;
	run_hkdf_file("wycheproof/hkdf_sha384_test.json", CRYPTO_SHA384, 83);
}

/* RFC 5869 A.1: extract and expand separately give PRK and OKM. */
static void
test_hkdf_rfc5869_steps(void **state)
{
	size_t ikm_len, salt_len, info_len, prk_len, okm_len;
	uint8_t *ikm = hex_decode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", &ikm_len);
	uint8_t *salt = hex_decode("000102030405060708090a0b0c", &salt_len);
	uint8_t *info = hex_decode("f0f1f2f3f4f5f6f7f8f9", &info_len);
	uint8_t *want_prk = hex_decode("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec"
	    "844ad7c2b3e5", &prk_len);
	uint8_t *want_okm = hex_decode("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
	    "2d56ecc4c5bf34007208d5b887185865", &okm_len);
	uint8_t prk[CRYPTO_HASH_MAX_LEN], okm[42];

	(void)state;
	assert_int_equal(crypto_hkdf_extract(CRYPTO_SHA256, salt, salt_len, ikm, ikm_len,
	    prk), 0);
	assert_memory_equal(prk, want_prk, prk_len);
	assert_int_equal(crypto_hkdf_expand(CRYPTO_SHA256, prk, prk_len, info, info_len,
	    okm, sizeof(okm)), 0);
	assert_memory_equal(okm, want_okm, okm_len);
	free(ikm);
	free(salt);
	free(info);
	free(want_prk);
	free(want_okm);
}

static void
test_hkdf_expand_limits(void **state)
{
	uint8_t prk[64] = { 1 }, okm[255 * 64 + 1];

	(void)state;
	assert_int_equal(crypto_hkdf_expand(CRYPTO_SHA512, prk, 64, NULL, 0, okm,
	    255 * 64), 0);
	assert_int_equal(crypto_hkdf_expand(CRYPTO_SHA512, prk, 64, NULL, 0, okm,
	    255 * 64 + 1), FERRY_ERR_LIMIT);
	assert_int_equal(crypto_hkdf_expand(CRYPTO_SHA256, prk, 32, NULL, 0, okm,
	    255 * 32 + 1), FERRY_ERR_LIMIT);
	assert_int_equal(crypto_hkdf_expand(CRYPTO_SHA256, prk, 32, NULL, 0, okm, 0),
	    FERRY_ERR_LIMIT);
}

/* RFC 4231 test case 2 ("Jefe") for all three hashes. */
static void
test_hmac_rfc4231(void **state)
{
	static const struct {
		enum crypto_hash h;
		const char *mac;
	} cases[] = {
		{ CRYPTO_SHA256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ CRYPTO_SHA384, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
		    "8e2240ca5e69e2c78b3239ecfab21649" },
		{ CRYPTO_SHA512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		    "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
	};
	const char *data = "what do ya want for nothing?";
	uint8_t mac[CRYPTO_HASH_MAX_LEN];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *want = hex_decode(cases[i].mac, &len);

		assert_int_equal(len, crypto_hash_len(cases[i].h));
		assert_int_equal(crypto_hmac(cases[i].h, (const uint8_t *)"Jefe", 4,
		    (const uint8_t *)data, strlen(data), mac), 0);
		assert_memory_equal(mac, want, len);
		free(want);
	}
	/* An empty key is HMAC with an all-zero block; it must still work. */
	assert_int_equal(crypto_hmac(CRYPTO_SHA256, NULL, 0, NULL, 0, mac), 0);
}

/* FIPS 180-2 "abc". */
static void
test_hash_abc(void **state)
{
	static const struct {
		enum crypto_hash h;
		const char *digest;
	} cases[] = {
		{ CRYPTO_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ CRYPTO_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
		    "8086072ba1e7cc2358baeca134c825a7" },
		{ CRYPTO_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
	};
	uint8_t out[CRYPTO_HASH_MAX_LEN];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *want = hex_decode(cases[i].digest, &len);

		assert_int_equal(crypto_hash(cases[i].h, (const uint8_t *)"abc", 3, out), 0);
		assert_memory_equal(out, want, len);
		free(want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hkdf_sha256_wycheproof),
		cmocka_unit_test(test_hkdf_sha384_wycheproof),
		cmocka_unit_test(test_hkdf_rfc5869_steps),
		cmocka_unit_test(test_hkdf_expand_limits),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hash_abc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
