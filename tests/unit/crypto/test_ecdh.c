/*
 * crypto/ecdh: P-384 ECDH against Wycheproof's SubjectPublicKeyInfo vectors and X25519
 * against its XDH vectors, plus the wrapper's own argument checks.
 *
 * Policy for Wycheproof results:
 * - valid: must succeed with exactly `shared`.
 * - invalid: must be refused, by the SPKI decoder or by crypto_ecdh().
 * - P-384 UnnamedCurve (explicit curve parameters, whatever the result and the other
 *   flags: ModifiedCofactor/Generator/CurveParameter, NoCofactor, WrongOrder,
 *   UnusedParam): must be refused. RFC 5480 forbids explicit parameters and OpenSSL
 *   takes some modified ones as the named curve, so crypto_ecdh() refuses them all.
 * - P-384 other acceptable (CompressedPoint/CompressedPublic, InvalidAsn): questions of
 *   how lenient the SPKI decoder is. Either outcome is allowed, but a key that is
 *   accepted must give exactly `shared`; both outcomes are counted. (HPKE's encapsulated
 *   keys never go through SPKI: hpke_deserialize_public refuses compressed points; see
 *   test_hpke.)
 * - X25519 acceptable with ZeroSharedSecret (every LowOrderPublic case here has it, and
 *   so does every all-zero `shared`): must be refused with FERRY_ERR_KEY, as RFC 9180
 *   section 7.1.4 requires.
 * - X25519 other acceptable (Twist, NonCanonicalPublic, EdgeCaseMultiplication, ...):
 *   RFC 7748 defines these outputs, so they must succeed with exactly `shared`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/ecdh.h"
#include "crypto/hpke.h"
#include "testutil.h"
#include "util/err.h"

/* A P-384 private key from Wycheproof's big-endian hex (leading zeros vary). */
static EVP_PKEY *
p384_private(const uint8_t *d, size_t len)
{
	uint8_t sk[48] = { 0 };
	EVP_PKEY *key = NULL;

	while (len > 0 && d[0] == 0) {
		d++;
		len--;
	}
	assert_true(len <= sizeof(sk));
	memcpy(sk + sizeof(sk) - len, d, len);
	assert_int_equal(hpke_deserialize_private(HPKE_KEM_P384_SHA384, sk, sizeof(sk),
	    &key), 0);
	return key;
}

static void
test_p384_wycheproof(void **state)
{
	struct json *doc = json_load_vector("wycheproof/ecdh_secp384r1_test.json");
	const struct json *groups = json_get(doc, "testGroups");
	size_t g, t, nvalid = 0, ninvalid = 0, acc_ok = 0, acc_refused = 0;

	(void)state;
	for (g = 0; g < json_len(groups); g++) {
		const struct json *grp = json_at(groups, g);
		const struct json *tests = json_get(grp, "tests");

		assert_string_equal(json_get_str(grp, "curve"), "secp384r1");
		assert_string_equal(json_get_str(grp, "encoding"), "asn");
		for (t = 0; t < json_len(tests); t++) {
			const struct json *tc = json_at(tests, t);
			long long tcid = json_get_int(tc, "tcId");
			const char *result = json_get_str(tc, "result");
			size_t pub_len, priv_len, want_len, out_len = CRYPTO_ECDH_MAX_LEN;
			uint8_t *pub = json_get_hex(tc, "public", &pub_len);
			uint8_t *priv = json_get_hex(tc, "private", &priv_len);
			uint8_t *want = json_get_hex(tc, "shared", &want_len);
			uint8_t out[CRYPTO_ECDH_MAX_LEN];
			const unsigned char *p = pub;
			EVP_PKEY *sk = p384_private(priv, priv_len), *peer;
			int r = FERRY_ERR_KEY, same;

			peer = d2i_PUBKEY(NULL, &p, (long)pub_len);
			/* Trailing bytes after the SPKI are a refusal too. */
			if (peer != NULL && p != pub + pub_len) {
				EVP_PKEY_free(peer);
				peer = NULL;
			}
			if (peer != NULL)
				r = crypto_ecdh(sk, peer, out, &out_len);
			ERR_clear_error();
			same = r == 0 && out_len == want_len && memcmp(out, want, want_len) == 0;
			if (strcmp(result, "valid") == 0) {
				if (!same)
					fail_msg("tcId %lld: valid case r=%d (%s)", tcid, r,
					    ferry_error_detail(r));
				nvalid++;
			} else if (strcmp(result, "invalid") == 0 ||
			    json_has_flag(tc, "UnnamedCurve")) {
				if (r == 0)
					fail_msg("tcId %lld: %s case accepted", tcid, result);
				if (strcmp(result, "invalid") == 0)
					ninvalid++;
				else
					acc_refused++;
			} else {
				assert_string_equal(result, "acceptable");
				if (r == 0 && !same)
					fail_msg("tcId %lld: acceptable case gave a wrong "
					    "secret", tcid);
				if (r == 0)
					acc_ok++;
				else
					acc_refused++;
			}
			EVP_PKEY_free(peer);
			EVP_PKEY_free(sk);
			free(pub);
			free(priv);
			free(want);
		}
	}
	printf("ecdh: P-384 SPKI: %zu valid, %zu invalid refused, acceptable: %zu accepted "
	    "with the right secret, %zu refused\n", nvalid, ninvalid, acc_ok, acc_refused);
	assert_int_equal(nvalid, 771);
	assert_int_equal(ninvalid, 46);
	assert_int_equal(acc_ok + acc_refused, 230);
	json_free(doc);
}

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n-- > 0)
		acc |= *p++;
	return acc == 0;
}

static void
test_x25519_wycheproof(void **state)
{
	struct json *doc = json_load_vector("wycheproof/x25519_test.json");
	const struct json *groups = json_get(doc, "testGroups");
	size_t g, t, nvalid = 0, nzero = 0, nacc = 0;

	(void)state;
	for (g = 0; g < json_len(groups); g++) {
		const struct json *grp = json_at(groups, g);
		const struct json *tests = json_get(grp, "tests");

		assert_string_equal(json_get_str(grp, "curve"), "curve25519");
		for (t = 0; t < json_len(tests); t++) {
			const struct json *tc = json_at(tests, t);
			long long tcid = json_get_int(tc, "tcId");
			const char *result = json_get_str(tc, "result");
			size_t pub_len, priv_len, want_len, out_len = CRYPTO_ECDH_MAX_LEN;
			uint8_t *pub = json_get_hex(tc, "public", &pub_len);
			uint8_t *priv = json_get_hex(tc, "private", &priv_len);
			uint8_t *want = json_get_hex(tc, "shared", &want_len);
			uint8_t out[CRYPTO_ECDH_MAX_LEN];
			EVP_PKEY *sk, *peer;
			int r, zero;

			assert_int_equal(pub_len, 32);
			assert_int_equal(priv_len, 32);
			assert_non_null(sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,
			    NULL, priv, priv_len));
			assert_non_null(peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,
			    NULL, pub, pub_len));
			memset(out, 0xaa, sizeof(out));
			r = crypto_ecdh(sk, peer, out, &out_len);
			zero = json_has_flag(tc, "ZeroSharedSecret") || all_zero(want, want_len);
			if (zero) {
				assert_string_equal(result, "acceptable");
				if (r != FERRY_ERR_KEY)
					fail_msg("tcId %lld: zero shared secret not refused "
					    "(r=%d)", tcid, r);
				assert_true(all_zero(out, sizeof(out)));
				nzero++;
			} else {
				if (r != 0 || out_len != 32 || memcmp(out, want, 32) != 0)
					fail_msg("tcId %lld (%s): r=%d (%s)", tcid, result, r,
					    ferry_error_detail(r));
				if (strcmp(result, "valid") == 0)
					nvalid++;
				else
					nacc++;
			}
			EVP_PKEY_free(sk);
			EVP_PKEY_free(peer);
			free(pub);
			free(priv);
			free(want);
		}
	}
	printf("ecdh: X25519: %zu valid, %zu acceptable with exact output, %zu zero "
	    "shared secrets refused\n", nvalid, nacc, nzero);
	assert_int_equal(nvalid, 264);
	assert_int_equal(nacc, 223);
	assert_int_equal(nzero, 31);
	json_free(doc);
}

/* Mismatched keys, a public key as the private one, and too small an output. */
static void
test_argument_checks(void **state)
{
	EVP_PKEY *p384a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *p384b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *pub_only = NULL;
	uint8_t a[CRYPTO_ECDH_MAX_LEN], b[CRYPTO_ECDH_MAX_LEN], pub[HPKE_MAX_ENC_LEN];
	size_t alen = sizeof(a), blen = sizeof(b), plen = sizeof(pub);

	(void)state;
	assert_true(p384a != NULL && p384b != NULL && p256 != NULL && x != NULL);
	/* agreement, and the padded field-size length */
	assert_int_equal(crypto_ecdh(p384a, p384b, a, &alen), 0);
	assert_int_equal(crypto_ecdh(p384b, p384a, b, &blen), 0);
	assert_int_equal(alen, 48);
	assert_int_equal(blen, 48);
	assert_memory_equal(a, b, 48);

	alen = sizeof(a);
	assert_int_equal(crypto_ecdh(p384a, p256, a, &alen), FERRY_ERR_KEY);
	alen = sizeof(a);
	assert_int_equal(crypto_ecdh(p384a, x, a, &alen), FERRY_ERR_KEY);
	alen = sizeof(a);
	assert_int_equal(crypto_ecdh(x, p384a, a, &alen), FERRY_ERR_KEY);
	alen = 47;
	assert_int_equal(crypto_ecdh(p384a, p384b, a, &alen), FERRY_ERR_LIMIT);
	assert_int_equal(alen, 0);

	assert_int_equal(hpke_serialize_public(HPKE_KEM_P384_SHA384, p384b, pub, &plen), 0);
	assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, pub, plen,
	    &pub_only), 0);
	alen = sizeof(a);
	assert_int_equal(crypto_ecdh(pub_only, p384a, a, &alen), FERRY_ERR_KEY);
	alen = sizeof(a);
	assert_int_equal(crypto_ecdh(p384a, pub_only, a, &alen), 0);
	assert_memory_equal(a, b, 48);

	EVP_PKEY_free(p384a);
	EVP_PKEY_free(p384b);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(x);
	EVP_PKEY_free(pub_only);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p384_wycheproof),
		cmocka_unit_test(test_x25519_wycheproof),
		cmocka_unit_test(test_argument_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
