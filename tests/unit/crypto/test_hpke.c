/*
 * crypto/hpke: the RFC 9180 base-mode vectors (DeriveKeyPair, every intermediate value,
 * all 257 sequence numbers, exports, both directions), round trips and tampering for
 * every supported suite with P-384/HKDF-SHA384/AES-256-GCM first (it has no official
 * vector), and refusal of bad encapsulated keys: compressed, off-curve and malformed
 * P-384 points from Wycheproof, and X25519 low-order points.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/ecdh.h"
#include "crypto/hpke.h"
#include "crypto/random.h"
#include "testutil.h"
#include "util/err.h"

/* Compare a buffer with member key of j (hex). */
static void
assert_member(const struct json *j, const char *key, const uint8_t *got, size_t got_len,
    const char *where)
{
	size_t len;
	uint8_t *want = json_get_hex(j, key, &len);

	if (len != got_len || memcmp(want, got, len) != 0)
		fail_msg("%s: %s differs", where, key);
	free(want);
}

/* DeriveKeyPair(ikm) reproduces the serialized pair; the private half round-trips. */
static EVP_PKEY *
derive_and_check(const struct json *v, uint16_t kem, const char *ikm_key,
    const char *sk_key, const char *pk_key, const char *where)
{
	uint8_t sk[HPKE_MAX_SK_LEN], pk[HPKE_MAX_ENC_LEN];
	size_t ikm_len, sk_len = sizeof(sk), pk_len = sizeof(pk);
	uint8_t *ikm = json_get_hex(v, ikm_key, &ikm_len);
	EVP_PKEY *key = NULL, *again = NULL;

	assert_int_equal(hpke_derive_keypair(kem, ikm, ikm_len, &key), 0);
	assert_int_equal(hpke_serialize_private(kem, key, sk, &sk_len), 0);
	assert_member(v, sk_key, sk, sk_len, where);
	assert_int_equal(hpke_serialize_public(kem, key, pk, &pk_len), 0);
	assert_int_equal(pk_len, hpke_enc_len(kem));
	assert_member(v, pk_key, pk, pk_len, where);

	/* DeserializePrivateKey(skXm) computes the same public key. */
	pk_len = sizeof(pk);
	assert_int_equal(hpke_deserialize_private(kem, sk, sk_len, &again), 0);
	assert_int_equal(hpke_serialize_public(kem, again, pk, &pk_len), 0);
	assert_member(v, pk_key, pk, pk_len, where);
	EVP_PKEY_free(again);
	OPENSSL_cleanse(sk, sizeof(sk));
	free(ikm);
	return key;
}

static void
check_context(const struct json *v, const struct hpke_ctx *ctx,
    const struct hpke_trace *trace, const char *where)
{
	assert_member(v, "shared_secret", trace->shared_secret, trace->shared_secret_len,
	    where);
	assert_member(v, "key_schedule_context", trace->key_schedule_context,
	    trace->key_schedule_context_len, where);
	assert_member(v, "secret", trace->secret, trace->secret_len, where);
	assert_member(v, "key", ctx->key, sizeof(ctx->key), where);
	assert_member(v, "base_nonce", ctx->base_nonce, sizeof(ctx->base_nonce), where);
	assert_member(v, "exporter_secret", ctx->exporter_secret, ctx->exporter_secret_len,
	    where);
}

static size_t
check_exports(const struct json *v, const struct hpke_ctx *ctx, const char *where)
{
	const struct json *exports = json_get(v, "exports");
	size_t i;

	assert_true(json_len(exports) > 0);
	for (i = 0; i < json_len(exports); i++) {
		const struct json *e = json_at(exports, i);
		size_t ctx_len, L = (size_t)json_get_int(e, "L");
		uint8_t *ectx = json_get_hex(e, "exporter_context", &ctx_len);
		uint8_t *out = malloc(L);

		assert_non_null(out);
		assert_int_equal(hpke_ctx_export(ctx, ectx, ctx_len, out, L), 0);
		assert_member(e, "exported_value", out, L, where);
		free(out);
		free(ectx);
	}
	return i;
}

static void
test_rfc9180_vectors(void **state)
{
	struct json *doc = json_load_vector("hpke-rfc9180.json");
	size_t n, i, nsuites = 0, nenc = 0, nopen = 0, nexp = 0;

	(void)state;
	for (n = 0; n < json_len(doc); n++) {
		const struct json *v = json_at(doc, n);
		const struct json *encs = json_get(v, "encryptions");
		struct hpke_suite s = {
			(uint16_t)json_get_int(v, "kem_id"), (uint16_t)json_get_int(v, "kdf_id"),
			(uint16_t)json_get_int(v, "aead_id"),
		};
		struct hpke_ctx cs, cr;
		struct hpke_trace ts, tr;
		uint8_t enc[HPKE_MAX_ENC_LEN];
		size_t info_len, enc_len = 0;
		uint8_t *info = json_get_hex(v, "info", &info_len);
		EVP_PKEY *skE, *skR;
		char where[64];

		snprintf(where, sizeof(where), "vector %zu (kem 0x%04x kdf 0x%04x)", n,
		    s.kem, s.kdf);
		assert_int_equal(json_get_int(v, "mode"), 0);
		skE = derive_and_check(v, s.kem, "ikmE", "skEm", "pkEm", where);
		skR = derive_and_check(v, s.kem, "ikmR", "skRm", "pkRm", where);

		/* SetupBaseS with the vector's ephemeral key, SetupBaseR from its enc. */
		assert_int_equal(hpke_setup_base_s_trace(&s, skR, skE, info, info_len,
		    enc, &enc_len, &cs, &ts), 0);
		assert_member(v, "enc", enc, enc_len, where);
		check_context(v, &cs, &ts, where);
		assert_int_equal(hpke_setup_base_r_trace(&s, skR, enc, enc_len, info,
		    info_len, &cr, &tr), 0);
		check_context(v, &cr, &tr, where);

		assert_int_equal(json_len(encs), 257);
		for (i = 0; i < json_len(encs); i++) {
			const struct json *e = json_at(encs, i);
			size_t aad_len, pt_len, ct_len;
			uint8_t *aad = json_get_hex(e, "aad", &aad_len);
			uint8_t *pt = json_get_hex(e, "pt", &pt_len);
			uint8_t *ct = json_get_hex(e, "ct", &ct_len);
			uint8_t *out = malloc(ct_len);
			uint8_t nonce[12];
			int k;

			assert_non_null(out);
			assert_int_equal(ct_len, pt_len + 16);
			/* The vector's nonce is base_nonce XOR seq, as the context uses. */
			memcpy(nonce, cs.base_nonce, sizeof(nonce));
			for (k = 0; k < 8; k++)
				nonce[11 - k] ^= (uint8_t)((uint64_t)i >> (8 * k));
			assert_member(e, "nonce", nonce, sizeof(nonce), where);

			assert_int_equal(cs.seq, i);
			assert_int_equal(hpke_ctx_seal(&cs, aad, aad_len, pt, pt_len, out), 0);
			if (memcmp(out, ct, ct_len) != 0)
				fail_msg("%s: encryption %zu differs", where, i);
			nenc++;
			assert_int_equal(hpke_ctx_open(&cr, aad, aad_len, ct, ct_len, out), 0);
			if (memcmp(out, pt, pt_len) != 0)
				fail_msg("%s: decryption %zu differs", where, i);
			nopen++;
			/* Single-shot Open is sequence number 0 only. */
			if (i == 0) {
				assert_int_equal(hpke_open_base(&s, skR, enc, enc_len, info,
				    info_len, aad, aad_len, ct, ct_len, out), 0);
				assert_memory_equal(out, pt, pt_len);
			}
			free(aad);
			free(pt);
			free(ct);
			free(out);
		}
		nexp += check_exports(v, &cs, where);
		check_exports(v, &cr, where);

		hpke_ctx_cleanse(&cs);
		hpke_ctx_cleanse(&cr);
		OPENSSL_cleanse(&ts, sizeof(ts));
		OPENSSL_cleanse(&tr, sizeof(tr));
		EVP_PKEY_free(skE);
		EVP_PKEY_free(skR);
		free(info);
		nsuites++;
	}
	printf("hpke: %zu suites, %zu encryptions, %zu decryptions, %zu exports\n",
	    nsuites, nenc, nopen, nexp);
	assert_int_equal(nsuites, 4);
	assert_int_equal(nenc, 4 * 257);
	json_free(doc);
}

/* A fresh recipient key pair for kem, from random ikm through DeriveKeyPair. */
static EVP_PKEY *
fresh_key(uint16_t kem)
{
	uint8_t ikm[64];
	EVP_PKEY *key = NULL;

	assert_int_equal(crypto_random(ikm, sizeof(ikm)), 0);
	assert_int_equal(hpke_derive_keypair(kem, ikm, sizeof(ikm), &key), 0);
	return key;
}

static const uint8_t msg[] = "attack at dawn, bring the good biscuits";
static const uint8_t info_str[] = "ferry test info";
static const uint8_t aad_str[] = "header";

/*
 * Seal to a fresh key and open; then each way of getting it wrong must fail: another
 * recipient key, other info or aad, a flipped bit anywhere in enc or ct.
 */
static void
round_trip(const struct hpke_suite *s, size_t *ntamper)
{
	EVP_PKEY *skR = fresh_key(s->kem), *other = fresh_key(s->kem);
	size_t enc_len = hpke_enc_len(s->kem), ct_len = sizeof(msg) + 16, i;
	uint8_t enc[HPKE_MAX_ENC_LEN], ct[sizeof(msg) + 16], pt[sizeof(msg)];
	int r;

	assert_int_equal(hpke_seal_base(s, skR, info_str, sizeof(info_str), aad_str,
	    sizeof(aad_str), msg, sizeof(msg), enc, ct), 0);
	assert_int_equal(hpke_open_base(s, skR, enc, enc_len, info_str, sizeof(info_str),
	    aad_str, sizeof(aad_str), ct, ct_len, pt), 0);
	assert_memory_equal(pt, msg, sizeof(msg));

	/* Wrong key: FERRY_ERR_AUTH and no detail recorded. */
	ferry_error_clear();
	assert_int_equal(hpke_open_base(s, other, enc, enc_len, info_str, sizeof(info_str),
	    aad_str, sizeof(aad_str), ct, ct_len, pt), FERRY_ERR_AUTH);
	assert_string_equal(ferry_error_detail(FERRY_ERR_AUTH),
	    ferry_strerror(FERRY_ERR_AUTH));
	assert_int_equal(hpke_open_base(s, skR, enc, enc_len, info_str,
	    sizeof(info_str) - 1, aad_str, sizeof(aad_str), ct, ct_len, pt), FERRY_ERR_AUTH);
	assert_int_equal(hpke_open_base(s, skR, enc, enc_len, info_str, sizeof(info_str),
	    aad_str, sizeof(aad_str) - 1, ct, ct_len, pt), FERRY_ERR_AUTH);

	/* One flipped bit in each byte of enc: a bad point or a different secret. */
	for (i = 0; i < enc_len; i++) {
		enc[i] ^= (uint8_t)(1u << (i % 8));
		r = hpke_open_base(s, skR, enc, enc_len, info_str, sizeof(info_str),
		    aad_str, sizeof(aad_str), ct, ct_len, pt);
		if (r != FERRY_ERR_FORMAT && r != FERRY_ERR_AUTH)
			fail_msg("suite 0x%04x: enc bit flip at %zu gave %d", s->kem, i, r);
		enc[i] ^= (uint8_t)(1u << (i % 8));
		(*ntamper)++;
	}
	/* Truncated and extended enc. */
	assert_int_equal(hpke_open_base(s, skR, enc, enc_len - 1, info_str,
	    sizeof(info_str), aad_str, sizeof(aad_str), ct, ct_len, pt), FERRY_ERR_FORMAT);
	assert_int_equal(hpke_open_base(s, skR, enc, enc_len + 1, info_str,
	    sizeof(info_str), aad_str, sizeof(aad_str), ct, ct_len, pt), FERRY_ERR_FORMAT);
	for (i = 0; i < ct_len; i++) {
		ct[i] ^= (uint8_t)(0x80u >> (i % 8));
		memset(pt, 0x55, sizeof(pt));
		assert_int_equal(hpke_open_base(s, skR, enc, enc_len, info_str,
		    sizeof(info_str), aad_str, sizeof(aad_str), ct, ct_len, pt), FERRY_ERR_AUTH);
		ct[i] ^= (uint8_t)(0x80u >> (i % 8));
		(*ntamper)++;
	}
	/* Untouched again, it still opens. */
	assert_int_equal(hpke_open_base(s, skR, enc, enc_len, info_str, sizeof(info_str),
	    aad_str, sizeof(aad_str), ct, ct_len, pt), 0);
	EVP_PKEY_free(skR);
	EVP_PKEY_free(other);
}

/* Contexts: several messages in order, exports agree, order matters. */
static void
context_round_trip(const struct hpke_suite *s)
{
	EVP_PKEY *skR = fresh_key(s->kem);
	struct hpke_ctx cs, cr;
	uint8_t enc[HPKE_MAX_ENC_LEN], ct[3][sizeof(msg) + 16], pt[sizeof(msg)];
	uint8_t xs[100], xr[100];
	size_t enc_len = 0, i;

	assert_int_equal(hpke_setup_base_s(s, skR, NULL, NULL, 0, enc, &enc_len, &cs), 0);
	assert_int_equal(enc_len, hpke_enc_len(s->kem));
	assert_int_equal(hpke_setup_base_r(s, skR, enc, enc_len, NULL, 0, &cr), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(hpke_ctx_seal(&cs, NULL, 0, msg, sizeof(msg), ct[i]), 0);
	/* Out of order fails and does not advance the receiver. */
	assert_int_equal(hpke_ctx_open(&cr, NULL, 0, ct[1], sizeof(ct[1]), pt),
	    FERRY_ERR_AUTH);
	assert_int_equal(cr.seq, 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(hpke_ctx_open(&cr, NULL, 0, ct[i], sizeof(ct[i]), pt), 0);
		assert_memory_equal(pt, msg, sizeof(msg));
	}
	assert_int_equal(hpke_ctx_export(&cs, (const uint8_t *)"x", 1, xs, sizeof(xs)), 0);
	assert_int_equal(hpke_ctx_export(&cr, (const uint8_t *)"x", 1, xr, sizeof(xr)), 0);
	assert_memory_equal(xs, xr, sizeof(xs));
	assert_int_equal(hpke_ctx_export(&cs, NULL, 0, xs, 255 * cs.exporter_secret_len + 1),
	    FERRY_ERR_LIMIT);
	/* The sequence number never wraps. */
	cs.seq = UINT64_MAX;
	assert_int_equal(hpke_ctx_seal(&cs, NULL, 0, msg, sizeof(msg), ct[0]),
	    FERRY_ERR_LIMIT);
	hpke_ctx_cleanse(&cs);
	hpke_ctx_cleanse(&cr);
	EVP_PKEY_free(skR);
}

static void
test_p384_round_trip(void **state)
{
	const struct hpke_suite s = {
		HPKE_KEM_P384_SHA384, HPKE_KDF_SHA384, HPKE_AEAD_AES256GCM
	};
	size_t ntamper = 0;

	(void)state;
	round_trip(&s, &ntamper);
	context_round_trip(&s);
	printf("hpke: P-384/HKDF-SHA384/AES-256-GCM round trip, %zu tampered inputs "
	    "refused\n", ntamper);
}

static void
test_all_suites_round_trip(void **state)
{
	static const uint16_t kem_ids[] = {
		HPKE_KEM_P256_SHA256, HPKE_KEM_P384_SHA384, HPKE_KEM_P521_SHA512,
		HPKE_KEM_X25519_SHA256,
	};
	static const uint16_t kdf_ids[] = { HPKE_KDF_SHA256, HPKE_KDF_SHA384, HPKE_KDF_SHA512 };
	size_t i, j, n = 0, ntamper = 0;

	(void)state;
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 3; j++) {
			struct hpke_suite s = { kem_ids[i], kdf_ids[j], HPKE_AEAD_AES256GCM };

			round_trip(&s, &ntamper);
			context_round_trip(&s);
			n++;
		}
	}
	printf("hpke: %zu suites round trip, %zu tampered inputs refused\n", n, ntamper);
}

/*
 * Wycheproof's P-384 points: valid ones decode and agree with the listed shared
 * secret; the invalid ones (off the curve, coordinates out of range, bad encoding) and
 * the compressed ones that Wycheproof only calls acceptable are refused, also as enc.
 */
static void
test_p384_points(void **state)
{
	const struct hpke_suite s = {
		HPKE_KEM_P384_SHA384, HPKE_KDF_SHA384, HPKE_AEAD_AES256GCM
	};
	struct json *doc = json_load_vector("wycheproof/ecdh_secp384r1_ecpoint_test.json");
	const struct json *groups = json_get(doc, "testGroups");
	EVP_PKEY *skR = fresh_key(s.kem);
	uint8_t ct[32] = { 0 }, pt[16];
	size_t g, t, nvalid = 0, nrefused = 0, ncompressed = 0;

	(void)state;
	for (g = 0; g < json_len(groups); g++) {
		const struct json *tests = json_get(json_at(groups, g), "tests");

		for (t = 0; t < json_len(tests); t++) {
			const struct json *tc = json_at(tests, t);
			long long tcid = json_get_int(tc, "tcId");
			const char *result = json_get_str(tc, "result");
			size_t pub_len, priv_len, want_len, out_len = CRYPTO_ECDH_MAX_LEN;
			uint8_t *pub = json_get_hex(tc, "public", &pub_len);
			uint8_t *priv = json_get_hex(tc, "private", &priv_len);
			uint8_t *want = json_get_hex(tc, "shared", &want_len);
			uint8_t sk[48] = { 0 }, out[CRYPTO_ECDH_MAX_LEN];
			EVP_PKEY *peer = NULL, *key = NULL;
			const uint8_t *d = priv;
			size_t dl = priv_len;
			int r;

			r = hpke_deserialize_public(s.kem, pub, pub_len, &peer);
			if (strcmp(result, "valid") == 0) {
				if (r != 0)
					fail_msg("tcId %lld: valid point refused (%s)", tcid,
					    ferry_error_detail(r));
				while (dl > 0 && d[0] == 0) {
					d++;
					dl--;
				}
				assert_true(dl <= sizeof(sk));
				memcpy(sk + sizeof(sk) - dl, d, dl);
				assert_int_equal(hpke_deserialize_private(s.kem, sk,
				    sizeof(sk), &key), 0);
				assert_int_equal(crypto_ecdh(key, peer, out, &out_len), 0);
				assert_int_equal(out_len, want_len);
				assert_memory_equal(out, want, want_len);
				nvalid++;
			} else {
				if (r != FERRY_ERR_FORMAT || peer != NULL)
					fail_msg("tcId %lld (%s): point not refused (r=%d)",
					    tcid, result, r);
				r = hpke_open_base(&s, skR, pub, pub_len, NULL, 0, NULL, 0,
				    ct, sizeof(ct), pt);
				if (r != FERRY_ERR_FORMAT)
					fail_msg("tcId %lld: as enc gave %d", tcid, r);
				if (json_has_flag(tc, "CompressedPoint"))
					ncompressed++;
				nrefused++;
			}
			EVP_PKEY_free(peer);
			EVP_PKEY_free(key);
			free(pub);
			free(priv);
			free(want);
		}
	}
	printf("hpke: P-384 points: %zu valid decoded with the right secret, %zu refused "
	    "(%zu compressed)\n", nvalid, nrefused, ncompressed);
	assert_int_equal(nvalid, 771);
	assert_int_equal(nrefused, 19);
	assert_int_equal(ncompressed, 2);
	EVP_PKEY_free(skR);
	json_free(doc);
}

/* Hand-made malformed P-384 encodings: infinity, compressed and hybrid prefixes. */
static void
test_p384_malformed(void **state)
{
	EVP_PKEY *key = fresh_key(HPKE_KEM_P384_SHA384), *peer = NULL;
	uint8_t pub[HPKE_MAX_ENC_LEN + 1], bad[HPKE_MAX_ENC_LEN + 1];
	size_t pub_len = sizeof(pub);
	static const uint8_t prefixes[] = { 0x00, 0x02, 0x03, 0x05, 0x06, 0x07 };
	size_t i;

	(void)state;
	assert_int_equal(hpke_serialize_public(HPKE_KEM_P384_SHA384, key, pub, &pub_len), 0);
	assert_int_equal(pub_len, 97);
	assert_int_equal(pub[0], 0x04);
	assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, pub, 97, &peer), 0);
	EVP_PKEY_free(peer);
	peer = NULL;

	/* the point at infinity, as one zero byte and as 97 */
	memset(bad, 0, sizeof(bad));
	assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, bad, 1, &peer),
	    FERRY_ERR_FORMAT);
	assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, bad, 97, &peer),
	    FERRY_ERR_FORMAT);
	bad[0] = 0x04;
	assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, bad, 97, &peer),
	    FERRY_ERR_FORMAT);
	/* a valid point under any other prefix, and its compressed form */
	for (i = 0; i < sizeof(prefixes); i++) {
		memcpy(bad, pub, 97);
		bad[0] = prefixes[i];
		assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, bad, 97,
		    &peer), FERRY_ERR_FORMAT);
		assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, bad, 49,
		    &peer), FERRY_ERR_FORMAT);
	}
	assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, pub, 96, &peer),
	    FERRY_ERR_FORMAT);
	assert_int_equal(hpke_deserialize_public(HPKE_KEM_P384_SHA384, pub, 98, &peer),
	    FERRY_ERR_FORMAT);
	assert_null(peer);
	EVP_PKEY_free(key);
}

/*
 * X25519 public keys that give an all-zero shared secret: refused as enc
 * (FERRY_ERR_FORMAT) and as a recipient key (FERRY_ERR_KEY).
 */
static void
test_x25519_low_order(void **state)
{
	const struct hpke_suite s = {
		HPKE_KEM_X25519_SHA256, HPKE_KDF_SHA256, HPKE_AEAD_AES256GCM
	};
	struct json *doc = json_load_vector("wycheproof/x25519_test.json");
	const struct json *groups = json_get(doc, "testGroups");
	EVP_PKEY *skR = fresh_key(s.kem);
	struct hpke_ctx ctx;
	uint8_t enc[HPKE_MAX_ENC_LEN], ct[sizeof(msg) + 16];
	size_t g, t, enc_len, n = 0;

	(void)state;
	for (g = 0; g < json_len(groups); g++) {
		const struct json *tests = json_get(json_at(groups, g), "tests");

		for (t = 0; t < json_len(tests); t++) {
			const struct json *tc = json_at(tests, t);
			long long tcid = json_get_int(tc, "tcId");
			size_t pub_len;
			uint8_t *pub;
			EVP_PKEY *pk = NULL;
			int r;

			if (!json_has_flag(tc, "ZeroSharedSecret"))
				continue;
			pub = json_get_hex(tc, "public", &pub_len);
			r = hpke_setup_base_r(&s, skR, pub, pub_len, NULL, 0, &ctx);
			if (r != FERRY_ERR_FORMAT)
				fail_msg("tcId %lld: low-order enc gave %d", tcid, r);
			assert_int_equal(hpke_deserialize_public(s.kem, pub, pub_len, &pk), 0);
			r = hpke_seal_base(&s, pk, NULL, 0, NULL, 0, msg, sizeof(msg), enc, ct);
			if (r != FERRY_ERR_KEY)
				fail_msg("tcId %lld: low-order recipient gave %d", tcid, r);
			enc_len = 0;
			r = hpke_setup_base_s(&s, pk, NULL, NULL, 0, enc, &enc_len, &ctx);
			assert_int_equal(r, FERRY_ERR_KEY);
			assert_int_equal(enc_len, 0);
			EVP_PKEY_free(pk);
			free(pub);
			n++;
		}
	}
	printf("hpke: %zu X25519 low-order public keys refused\n", n);
	assert_int_equal(n, 31);
	EVP_PKEY_free(skR);
	json_free(doc);
}

/* Unsupported algorithms, keys that do not fit the suite, sizes. */
static void
test_suite_and_key_checks(void **state)
{
	struct hpke_suite s = { HPKE_KEM_P384_SHA384, HPKE_KDF_SHA384, HPKE_AEAD_AES256GCM };
	EVP_PKEY *p384 = fresh_key(HPKE_KEM_P384_SHA384);
	EVP_PKEY *x25519 = fresh_key(HPKE_KEM_X25519_SHA256);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *k256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	EVP_PKEY *tmp = NULL;
	uint8_t enc[HPKE_MAX_ENC_LEN], ct[sizeof(msg) + 16], sk[HPKE_MAX_SK_LEN];
	uint16_t kem = 0;
	size_t sk_len;

	(void)state;
	assert_true(ed != NULL && k256 != NULL);
	assert_int_equal(hpke_enc_len(HPKE_KEM_P256_SHA256), 65);
	assert_int_equal(hpke_enc_len(HPKE_KEM_P384_SHA384), 97);
	assert_int_equal(hpke_enc_len(HPKE_KEM_P521_SHA512), 133);
	assert_int_equal(hpke_enc_len(HPKE_KEM_X25519_SHA256), 32);
	assert_int_equal(hpke_enc_len(0x0021), 0);

	assert_int_equal(hpke_kem_for_key(p384, &kem), 0);
	assert_int_equal(kem, HPKE_KEM_P384_SHA384);
	assert_int_equal(hpke_kem_for_key(x25519, &kem), 0);
	assert_int_equal(kem, HPKE_KEM_X25519_SHA256);
	assert_int_equal(hpke_kem_for_key(ed, &kem), FERRY_ERR_KEY);
	assert_int_equal(hpke_kem_for_key(k256, &kem), FERRY_ERR_KEY);

	/* A key of another KEM than the suite's. */
	assert_int_equal(hpke_seal_base(&s, x25519, NULL, 0, NULL, 0, msg, sizeof(msg),
	    enc, ct), FERRY_ERR_KEY);
	assert_int_equal(hpke_open_base(&s, x25519, enc, 97, NULL, 0, NULL, 0, ct,
	    sizeof(ct), ct), FERRY_ERR_KEY);
	s.kem = 0x0021;
	assert_int_equal(hpke_seal_base(&s, p384, NULL, 0, NULL, 0, msg, sizeof(msg),
	    enc, ct), FERRY_ERR_UNSUPPORTED);
	s.kem = HPKE_KEM_P384_SHA384;
	s.kdf = 0x0004;
	assert_int_equal(hpke_seal_base(&s, p384, NULL, 0, NULL, 0, msg, sizeof(msg),
	    enc, ct), FERRY_ERR_UNSUPPORTED);
	s.kdf = HPKE_KDF_SHA384;
	s.aead = 0x0001;
	assert_int_equal(hpke_seal_base(&s, p384, NULL, 0, NULL, 0, msg, sizeof(msg),
	    enc, ct), FERRY_ERR_UNSUPPORTED);

	/* Private scalars: out of range or the wrong length. */
	memset(sk, 0, sizeof(sk));
	assert_int_equal(hpke_deserialize_private(HPKE_KEM_P384_SHA384, sk, 48, &tmp),
	    FERRY_ERR_KEY);
	assert_null(tmp);
	memset(sk, 0xff, sizeof(sk));
	assert_int_equal(hpke_deserialize_private(HPKE_KEM_P384_SHA384, sk, 48, &tmp),
	    FERRY_ERR_KEY);
	assert_int_equal(hpke_deserialize_private(HPKE_KEM_P384_SHA384, sk, 47, &tmp),
	    FERRY_ERR_KEY);
	sk_len = 47;
	assert_int_equal(hpke_serialize_private(HPKE_KEM_P384_SHA384, p384, sk, &sk_len),
	    FERRY_ERR_LIMIT);

	EVP_PKEY_free(p384);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(k256);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9180_vectors),
		cmocka_unit_test(test_p384_round_trip),
		cmocka_unit_test(test_all_suites_round_trip),
		cmocka_unit_test(test_p384_points),
		cmocka_unit_test(test_p384_malformed),
		cmocka_unit_test(test_x25519_low_order),
		cmocka_unit_test(test_suite_and_key_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
