/* RSA-OAEP (SHA-256, MGF1-SHA-256): Wycheproof decryption vectors, round trips, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/rsa_oaep.h"
#include "testutil.h"
#include "util/err.h"

static EVP_PKEY *rsa3072; /* generated once for the round-trip tests */

static EVP_PKEY *
load_pkcs8_hex(const struct json *group)
{
	const unsigned char *p;
	uint8_t *der;
	size_t len;
	EVP_PKEY *key;

	der = json_get_hex(group, "privateKeyPkcs8", &len);
	p = der;
	key = d2i_AutoPrivateKey(NULL, &p, (long)len);
	assert_non_null(key);
	assert_ptr_equal(p, der + len);
	free(der);
	return key;
}

/* A public-only copy of key, as a recipient would have it. */
static EVP_PKEY *
public_only(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;
	int len;

	len = i2d_PUBKEY(key, &der);
	assert_true(len > 0);
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	assert_non_null(pub);
	OPENSSL_free(der);
	return pub;
}

/* Run every case of one Wycheproof file; valid ones must decrypt to msg exactly,
 * invalid ones must fail with FERRY_ERR_AUTH, no detail and no OpenSSL error left. */
static void
run_wycheproof(const char *name, unsigned key_bits, size_t want_valid, size_t want_invalid)
{
	struct json *doc;
	const struct json *groups;
	size_t n_valid = 0, n_invalid = 0;

	doc = json_load_vector(name);
	groups = json_get(doc, "testGroups");
	assert_non_null(groups);
	for (size_t g = 0; g < json_len(groups); g++) {
		const struct json *group = json_at(groups, g), *tests;
		EVP_PKEY *priv;

		assert_string_equal(json_get_str(group, "sha"), "SHA-256");
		assert_string_equal(json_get_str(group, "mgfSha"), "SHA-256");
		assert_int_equal(json_get_int(group, "keySize"), key_bits);
		priv = load_pkcs8_hex(group);
		assert_int_equal(EVP_PKEY_get_bits(priv), (int)key_bits);
		tests = json_get(group, "tests");
		for (size_t i = 0; i < json_len(tests); i++) {
			const struct json *t = json_at(tests, i);
			const char *result = json_get_str(t, "result");
			uint8_t *msg, *ct, *label, pt[CRYPTO_RSA_MAX_BYTES];
			size_t msg_len, ct_len, label_len, pt_len = sizeof(pt);
			int ret;

			msg = json_get_hex(t, "msg", &msg_len);
			ct = json_get_hex(t, "ct", &ct_len);
			label = json_get_hex(t, "label", &label_len);
			ferry_fail(FERRY_ERR_IO, "stale detail");
			ret = crypto_rsa_oaep_decrypt(priv, label, label_len, ct, ct_len, pt,
			    &pt_len);
			if (strcmp(result, "valid") == 0) {
				if (ret != 0)
					fail_msg("%s tcId %lld: valid case failed: %d", name,
					    json_get_int(t, "tcId"), ret);
				assert_int_equal(pt_len, msg_len);
				assert_memory_equal(pt, msg, msg_len);
				n_valid++;
			} else {
				/* This family has no "acceptable" cases. */
				assert_string_equal(result, "invalid");
				if (ret != FERRY_ERR_AUTH)
					fail_msg("%s tcId %lld: invalid case gave %d", name,
					    json_get_int(t, "tcId"), ret);
				assert_string_equal(ferry_error_detail(ret),
				    ferry_strerror(FERRY_ERR_AUTH));
				assert_int_equal(ERR_peek_error(), 0);
				n_invalid++;
			}
			free(msg);
			free(ct);
			free(label);
		}
		EVP_PKEY_free(priv);
	}
	json_free(doc);
	printf("%s: %zu valid decrypted, %zu invalid rejected\n", name, n_valid, n_invalid);
	assert_int_equal(n_valid, want_valid);
	assert_int_equal(n_invalid, want_invalid);
}

static void
test_wycheproof_2048(void **state)
{
	(void)state;
	/* Decryption has no size floor: old 2048-bit identities can still open files. */
	run_wycheproof("wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json", 2048, 18, 19);
}

static void
test_wycheproof_3072(void **state)
{
	(void)state;
	run_wycheproof("wycheproof/rsa_oaep_3072_sha256_mgf1sha256_test.json", 3072, 18, 19);
}

static void
test_round_trip(void **state)
{
	static const uint8_t label[] = "ferry test label";
	uint8_t msg[3072 / 8 - 2 * 32 - 2], ct[CRYPTO_RSA_MAX_BYTES], pt[CRYPTO_RSA_MAX_BYTES];
	size_t ct_len, pt_len;
	EVP_PKEY *pub;

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	pub = public_only(rsa3072);

	/* 32-byte key with a label, through a public-only key. */
	ct_len = sizeof(ct);
	assert_int_equal(crypto_rsa_oaep_encrypt(pub, CRYPTO_RSA_MIN_BITS, label,
	    sizeof(label), msg, 32, ct, &ct_len), 0);
	assert_int_equal(ct_len, 384);
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, label, sizeof(label), ct, ct_len,
	    pt, &pt_len), 0);
	assert_int_equal(pt_len, 32);
	assert_memory_equal(pt, msg, 32);

	/* The label is bound: a different or missing one fails. */
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, label, sizeof(label) - 1, ct,
	    ct_len, pt, &pt_len), FERRY_ERR_AUTH);
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, NULL, 0, ct, ct_len, pt, &pt_len),
	    FERRY_ERR_AUTH);

	/* A flipped bit fails; so does a truncated ciphertext. */
	ct[100] ^= 0x01;
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, label, sizeof(label), ct, ct_len,
	    pt, &pt_len), FERRY_ERR_AUTH);
	ct[100] ^= 0x01;
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, label, sizeof(label), ct,
	    ct_len - 1, pt, &pt_len), FERRY_ERR_AUTH);

	/* Too small an output buffer is a failure, not an overflow. */
	pt_len = 31;
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, label, sizeof(label), ct, ct_len,
	    pt, &pt_len), FERRY_ERR_AUTH);

	/* Longest message the key allows, empty label, empty message. */
	ct_len = sizeof(ct);
	assert_int_equal(crypto_rsa_oaep_encrypt(pub, CRYPTO_RSA_MIN_BITS, NULL, 0, msg,
	    sizeof(msg), ct, &ct_len), 0);
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, NULL, 0, ct, ct_len, pt, &pt_len),
	    0);
	assert_int_equal(pt_len, sizeof(msg));
	assert_memory_equal(pt, msg, sizeof(msg));
	ct_len = sizeof(ct);
	assert_int_equal(crypto_rsa_oaep_encrypt(pub, CRYPTO_RSA_MIN_BITS, NULL, 0, msg, 0,
	    ct, &ct_len), 0);
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, NULL, 0, ct, ct_len, pt, &pt_len),
	    0);
	assert_int_equal(pt_len, 0);

	/* One byte more than fits; an output buffer smaller than the modulus. */
	ct_len = sizeof(ct);
	assert_int_equal(crypto_rsa_oaep_encrypt(pub, CRYPTO_RSA_MIN_BITS, NULL, 0, msg,
	    sizeof(msg) + 1, ct, &ct_len), FERRY_ERR_LIMIT);
	ct_len = 383;
	assert_int_not_equal(crypto_rsa_oaep_encrypt(pub, CRYPTO_RSA_MIN_BITS, NULL, 0, msg,
	    32, ct, &ct_len), 0);

	/* Encryption is randomised. */
	{
		uint8_t ct2[CRYPTO_RSA_MAX_BYTES];
		size_t ct2_len = sizeof(ct2);

		ct_len = sizeof(ct);
		assert_int_equal(crypto_rsa_oaep_encrypt(pub, CRYPTO_RSA_MIN_BITS, NULL, 0,
		    msg, 32, ct, &ct_len), 0);
		assert_int_equal(crypto_rsa_oaep_encrypt(pub, CRYPTO_RSA_MIN_BITS, NULL, 0,
		    msg, 32, ct2, &ct2_len), 0);
		assert_memory_not_equal(ct, ct2, ct_len);
	}
	EVP_PKEY_free(pub);
}

/* Encryption refuses small RSA keys (naming the size) and keys that are not RSA. */
static void
test_refusals(void **state)
{
	struct json *doc;
	EVP_PKEY *rsa2048, *ec;
	uint8_t ct[CRYPTO_RSA_MAX_BYTES], pt[CRYPTO_RSA_MAX_BYTES], msg[32] = { 1 };
	size_t ct_len, pt_len;
	int ret;

	(void)state;
	doc = json_load_vector("wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json");
	rsa2048 = load_pkcs8_hex(json_at(json_get(doc, "testGroups"), 0));
	json_free(doc);

	ct_len = sizeof(ct);
	ret = crypto_rsa_oaep_encrypt(rsa2048, CRYPTO_RSA_MIN_BITS, NULL, 0, msg,
	    sizeof(msg), ct, &ct_len);
	assert_int_equal(ret, FERRY_ERR_KEY);
	assert_non_null(strstr(ferry_error_detail(ret), "2048"));
	/* With the floor lowered it works, so the refusal above was the size check. */
	ct_len = sizeof(ct);
	assert_int_equal(crypto_rsa_oaep_encrypt(rsa2048, 2048, NULL, 0, msg, sizeof(msg), ct,
	    &ct_len), 0);
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa2048, NULL, 0, ct, ct_len, pt, &pt_len), 0);
	assert_memory_equal(pt, msg, sizeof(msg));
	/* The wrong private key cannot open it. */
	pt_len = sizeof(pt);
	assert_int_equal(crypto_rsa_oaep_decrypt(rsa3072, NULL, 0, ct, ct_len, pt, &pt_len),
	    FERRY_ERR_AUTH);

	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(ec);
	ct_len = sizeof(ct);
	ret = crypto_rsa_oaep_encrypt(ec, CRYPTO_RSA_MIN_BITS, NULL, 0, msg, sizeof(msg), ct,
	    &ct_len);
	assert_int_equal(ret, FERRY_ERR_KEY);
	assert_non_null(strstr(ferry_error_detail(ret), "not an RSA key"));
	pt_len = sizeof(pt);
	memset(ct, 0, 384);
	assert_int_equal(crypto_rsa_oaep_decrypt(ec, NULL, 0, ct, 384, pt, &pt_len),
	    FERRY_ERR_AUTH);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa2048);
}

static int
setup(void **state)
{
	(void)state;
	rsa3072 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	return rsa3072 == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa3072);
	rsa3072 = NULL;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wycheproof_2048),
		cmocka_unit_test(test_wycheproof_3072),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
