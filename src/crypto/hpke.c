#include "crypto/hpke.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "crypto/aead.h"
#include "crypto/ecdh.h"
#include "crypto/kdf.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

/* RFC 9180 section 7.1: the DHKEM parameters. */
struct kem_info {
	uint16_t id;
	int nid;                /* NID_X25519 or the curve's NID */
	const char *name;
	enum crypto_hash hash;  /* the KEM's own HKDF */
	size_t nsecret;
	size_t npk;             /* = Nenc */
	size_t nsk;             /* also the field size, = Ndh on NIST curves */
	uint8_t bitmask;        /* DeriveKeyPair candidate mask (NIST only) */
};

static const struct kem_info kems[] = {
	{ HPKE_KEM_P256_SHA256, NID_X9_62_prime256v1, "P-256", CRYPTO_SHA256, 32, 65, 32, 0xff },
	{ HPKE_KEM_P384_SHA384, NID_secp384r1, "P-384", CRYPTO_SHA384, 48, 97, 48, 0xff },
	{ HPKE_KEM_P521_SHA512, NID_secp521r1, "P-521", CRYPTO_SHA512, 64, 133, 66, 0x01 },
	{ HPKE_KEM_X25519_SHA256, NID_X25519, "X25519", CRYPTO_SHA256, 32, 32, 32, 0 },
};

#define MODE_BASE       0x00
#define KEM_SUITE_LEN   5   /* "KEM" || I2OSP(kem_id, 2) */
#define HPKE_SUITE_LEN  10  /* "HPKE" || kem || kdf || aead */
#define HPKE_NK         CRYPTO_AEAD_KEY_LEN
#define HPKE_NN         CRYPTO_AEAD_NONCE_LEN

static const struct kem_info *
kem_lookup(uint16_t kem)
{
	size_t i;

	for (i = 0; i < sizeof(kems) / sizeof(kems[0]); i++)
		if (kems[i].id == kem)
			return &kems[i];
	return NULL;
}

static int
kem_get(uint16_t kem, const struct kem_info **k)
{
	if ((*k = kem_lookup(kem)) == NULL)
		return ferry_fail(FERRY_ERR_UNSUPPORTED, "hpke: KEM 0x%04x", kem);
	return 0;
}

static int
is_x25519(const struct kem_info *k)
{
	return k->nid == NID_X25519;
}

/* Validate the suite; *k is its KEM and *h its KDF's hash. */
static int
suite_get(const struct hpke_suite *s, const struct kem_info **k, enum crypto_hash *h)
{
	int r;

	if ((r = kem_get(s->kem, k)) != 0)
		return r;
	switch (s->kdf) {
	case HPKE_KDF_SHA256: *h = CRYPTO_SHA256; break;
	case HPKE_KDF_SHA384: *h = CRYPTO_SHA384; break;
	case HPKE_KDF_SHA512: *h = CRYPTO_SHA512; break;
	default:
		return ferry_fail(FERRY_ERR_UNSUPPORTED, "hpke: KDF 0x%04x", s->kdf);
	}
	if (s->aead != HPKE_AEAD_AES256GCM)
		return ferry_fail(FERRY_ERR_UNSUPPORTED, "hpke: AEAD 0x%04x", s->aead);
	return 0;
}

static void
kem_suite_id(uint16_t kem, uint8_t sid[KEM_SUITE_LEN])
{
	memcpy(sid, "KEM", 3);
	sid[3] = (uint8_t)(kem >> 8);
	sid[4] = (uint8_t)kem;
}

static void
hpke_suite_id(const struct hpke_suite *s, uint8_t sid[HPKE_SUITE_LEN])
{
	memcpy(sid, "HPKE", 4);
	sid[4] = (uint8_t)(s->kem >> 8);
	sid[5] = (uint8_t)s->kem;
	sid[6] = (uint8_t)(s->kdf >> 8);
	sid[7] = (uint8_t)s->kdf;
	sid[8] = (uint8_t)(s->aead >> 8);
	sid[9] = (uint8_t)s->aead;
}

/* ---- labeled HKDF (RFC 9180 section 4) ---------------------------------------------- */

struct part {
	const void *p;
	size_t len;
};

/* Concatenate parts into a new buffer; fbuf_free() wipes it. */
static int
concat(const struct part *parts, size_t n, struct fbuf **out)
{
	struct fbuf *b = NULL;
	size_t total = 0, i;
	int r;

	*out = NULL;
	for (i = 0; i < n; i++) {
		if (parts[i].len > FERRY_MAX_BUF - total) {
			r = ferry_fail(FERRY_ERR_LIMIT, "hpke: KDF input over %u bytes",
			    FERRY_MAX_BUF);
			goto out;
		}
		total += parts[i].len;
	}
	if ((b = fbuf_new(total)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "hpke: KDF input of %zu bytes", total);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = fbuf_put(b, parts[i].p, parts[i].len)) != 0) {
			r = ferry_fail(r, "hpke: KDF input");
			goto out;
		}
	}
	*out = b;
	b = NULL;
	r = 0;
 out:
	fbuf_free(b);
	return r;
}

/* LabeledExtract(salt, label, ikm) into out (hash length). */
static int
labeled_extract(enum crypto_hash h, const uint8_t *sid, size_t sid_len,
    const uint8_t *salt, size_t salt_len, const char *label,
    const uint8_t *ikm, size_t ikm_len, uint8_t *out)
{
	struct fbuf *b = NULL;
	struct part parts[4] = {
		{ "HPKE-v1", 7 }, { sid, sid_len }, { label, strlen(label) }, { ikm, ikm_len },
	};
	int r;

	if ((r = concat(parts, 4, &b)) != 0)
		goto out;
	r = crypto_hkdf_extract(h, salt, salt_len, fbuf_ptr(b), fbuf_len(b), out);
 out:
	fbuf_free(b);
	return r;
}

/* LabeledExpand(prk, label, info, L) into out (L bytes). */
static int
labeled_expand(enum crypto_hash h, const uint8_t *sid, size_t sid_len,
    const uint8_t *prk, size_t prk_len, const char *label,
    const uint8_t *info, size_t info_len, uint8_t *out, size_t L)
{
	struct fbuf *b = NULL;
	uint8_t len2[2];
	struct part parts[5] = {
		{ len2, 2 }, { "HPKE-v1", 7 }, { sid, sid_len }, { label, strlen(label) },
		{ info, info_len },
	};
	int r;

	if (L > 0xffff) {
		r = ferry_fail(FERRY_ERR_LIMIT, "hpke: expand to %zu bytes", L);
		goto out;
	}
	len2[0] = (uint8_t)(L >> 8);
	len2[1] = (uint8_t)L;
	if ((r = concat(parts, 5, &b)) != 0)
		goto out;
	r = crypto_hkdf_expand(h, prk, prk_len, fbuf_ptr(b), fbuf_len(b), out, L);
 out:
	fbuf_free(b);
	return r;
}

/* ---- keys --------------------------------------------------------------------------- */

size_t
hpke_enc_len(uint16_t kem)
{
	const struct kem_info *k = kem_lookup(kem);

	return k != NULL ? k->npk : 0;
}

int
hpke_kem_for_key(const EVP_PKEY *key, uint16_t *kem)
{
	char group[64];
	size_t i, glen = 0;
	int nid;

	if (key == NULL)
		return ferry_fail(FERRY_ERR_KEY, "hpke: no key");
	if (EVP_PKEY_is_a(key, "X25519")) {
		*kem = HPKE_KEM_X25519_SHA256;
		return 0;
	}
	if (!EVP_PKEY_is_a(key, "EC"))
		return ferry_fail(FERRY_ERR_KEY, "hpke: %s keys cannot be used",
		    EVP_PKEY_get0_type_name(key));
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen) != 1) {
		ERR_clear_error();
		return ferry_fail(FERRY_ERR_KEY, "hpke: EC key without a named curve");
	}
	if ((nid = OBJ_sn2nid(group)) == NID_undef)
		nid = EC_curve_nist2nid(group);
	for (i = 0; i < sizeof(kems) / sizeof(kems[0]); i++) {
		if (kems[i].nid == nid) {
			*kem = kems[i].id;
			return 0;
		}
	}
	return ferry_fail(FERRY_ERR_KEY, "hpke: EC curve %s is not supported", group);
}

/* FERRY_ERR_KEY unless key belongs to k. */
static int
key_check(const struct kem_info *k, const EVP_PKEY *key, const char *what)
{
	uint16_t kem;
	int r;

	if ((r = hpke_kem_for_key(key, &kem)) != 0)
		return ferry_error_prefix(r, "%s", what);
	if (kem != k->id)
		return ferry_fail(FERRY_ERR_KEY, "%s: a %s key where %s is needed", what,
		    EVP_PKEY_get0_type_name(key), k->name);
	return 0;
}

/* An EVP_PKEY from an EC public point (uncompressed octets) and optionally the scalar. */
static int
ec_pkey_fromdata(const struct kem_info *k, const uint8_t *pub, size_t pub_len,
    const BIGNUM *d, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int r;

	*out = NULL;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    OBJ_nid2sn(k->nid), 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pub, pub_len) != 1 ||
	    (d != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
		r = ferry_fail_crypto("hpke: %s key parameters", k->name);
		goto out;
	}
	if ((pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, out, d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
	    params) != 1) {
		r = ferry_fail_crypto("hpke: building a %s key", k->name);
		goto out;
	}
	r = 0;
 out:
	EVP_PKEY_CTX_free(pctx);
	/* d was secure-allocated, so the builder put it in the block that free wipes. */
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/*
 * The key pair with scalar sk (nsk big-endian bytes). FERRY_ERR_KEY, with no detail,
 * when the scalar is 0 or not below the order: DeriveKeyPair retries then.
 */
static int
ec_key_from_scalar(const struct kem_info *k, const uint8_t *sk, EVP_PKEY **out)
{
	EC_GROUP *group = NULL;
	EC_POINT *pub = NULL;
	BIGNUM *d = NULL;
	BN_CTX *bnctx = NULL;
	uint8_t pub_oct[HPKE_MAX_ENC_LEN];
	size_t pub_len;
	int r;

	*out = NULL;
	if ((group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, k->nid)) == NULL ||
	    (bnctx = BN_CTX_secure_new()) == NULL || (d = BN_secure_new()) == NULL ||
	    (pub = EC_POINT_new(group)) == NULL) {
		r = ferry_fail_crypto("hpke: %s setup", k->name);
		goto out;
	}
	if (BN_bin2bn(sk, (int)k->nsk, d) == NULL) {
		r = ferry_fail_crypto("hpke: %s scalar", k->name);
		goto out;
	}
	if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(group)) >= 0) {
		r = FERRY_ERR_KEY;
		goto out;
	}
	if (EC_POINT_mul(group, pub, d, NULL, NULL, bnctx) != 1 ||
	    (pub_len = EC_POINT_point2oct(group, pub, POINT_CONVERSION_UNCOMPRESSED,
	    pub_oct, sizeof(pub_oct), bnctx)) != k->npk) {
		r = ferry_fail_crypto("hpke: %s public key", k->name);
		goto out;
	}
	r = ec_pkey_fromdata(k, pub_oct, pub_len, d, out);
 out:
	BN_clear_free(d);
	BN_CTX_free(bnctx);
	EC_POINT_free(pub);
	EC_GROUP_free(group);
	return r;
}

int
hpke_deserialize_private(uint16_t kem, const uint8_t *in, size_t len, EVP_PKEY **out)
{
	const struct kem_info *k;
	int r;

	*out = NULL;
	if ((r = kem_get(kem, &k)) != 0)
		return r;
	if (len != k->nsk)
		return ferry_fail(FERRY_ERR_KEY, "hpke: %s private key of %zu bytes, "
		    "expected %zu", k->name, len, k->nsk);
	if (is_x25519(k)) {
		if ((*out = EVP_PKEY_new_raw_private_key_ex(NULL, "X25519", NULL,
		    in, len)) == NULL)
			return ferry_fail_crypto("hpke: X25519 private key");
		return 0;
	}
	if ((r = ec_key_from_scalar(k, in, out)) == FERRY_ERR_KEY)
		return ferry_fail(r, "hpke: %s private scalar out of range", k->name);
	return r;
}

int
hpke_serialize_private(uint16_t kem, EVP_PKEY *key, uint8_t *out, size_t *out_len)
{
	const struct kem_info *k;
	BIGNUM *d = NULL;
	size_t len;
	int r;

	if ((r = kem_get(kem, &k)) != 0 || (r = key_check(k, key, "hpke: private key")) != 0)
		goto out;
	if (*out_len < k->nsk) {
		r = ferry_fail(FERRY_ERR_LIMIT, "hpke: room for %zu of %zu private key bytes",
		    *out_len, k->nsk);
		goto out;
	}
	if (is_x25519(k)) {
		len = *out_len;
		if (EVP_PKEY_get_raw_private_key(key, out, &len) != 1 || len != k->nsk) {
			r = ferry_fail_crypto("hpke: X25519 private key");
			goto out;
		}
	} else {
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
		    BN_bn2binpad(d, out, (int)k->nsk) != (int)k->nsk) {
			r = ferry_fail_crypto("hpke: %s private key", k->name);
			goto out;
		}
	}
	*out_len = k->nsk;
	r = 0;
 out:
	BN_clear_free(d);
	return r;
}

int
hpke_deserialize_public(uint16_t kem, const uint8_t *in, size_t len, EVP_PKEY **out)
{
	const struct kem_info *k;
	EC_GROUP *group = NULL;
	EC_POINT *pt = NULL;
	int r;

	*out = NULL;
	if ((r = kem_get(kem, &k)) != 0)
		goto out;
	if (len != k->npk) {
		r = ferry_fail(FERRY_ERR_FORMAT, "hpke: %s public key of %zu bytes, "
		    "expected %zu", k->name, len, k->npk);
		goto out;
	}
	if (is_x25519(k)) {
		if ((*out = EVP_PKEY_new_raw_public_key_ex(NULL, "X25519", NULL,
		    in, len)) == NULL)
			r = ferry_fail_crypto("hpke: X25519 public key");
		goto out;
	}
	/* Only 0x04||X||Y: compressed (0x02/0x03) and hybrid forms are refused. */
	if (in[0] != POINT_CONVERSION_UNCOMPRESSED) {
		r = ferry_fail(FERRY_ERR_FORMAT, "hpke: %s public key is not an uncompressed "
		    "point (first byte 0x%02x)", k->name, in[0]);
		goto out;
	}
	if ((group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, k->nid)) == NULL ||
	    (pt = EC_POINT_new(group)) == NULL) {
		r = ferry_fail_crypto("hpke: %s setup", k->name);
		goto out;
	}
	/* oct2point also refuses coordinates >= p; the explicit checks state the contract. */
	if (EC_POINT_oct2point(group, pt, in, len, NULL) != 1 ||
	    EC_POINT_is_at_infinity(group, pt) || EC_POINT_is_on_curve(group, pt, NULL) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_FORMAT, "hpke: %s public key is not a point on the "
		    "curve", k->name);
		goto out;
	}
	r = ec_pkey_fromdata(k, in, len, NULL, out);
 out:
	EC_POINT_free(pt);
	EC_GROUP_free(group);
	return r;
}

int
hpke_serialize_public(uint16_t kem, EVP_PKEY *key, uint8_t *out, size_t *out_len)
{
	const struct kem_info *k;
	BIGNUM *x = NULL, *y = NULL;
	size_t len;
	int r;

	if ((r = kem_get(kem, &k)) != 0 || (r = key_check(k, key, "hpke: public key")) != 0)
		goto out;
	if (*out_len < k->npk) {
		r = ferry_fail(FERRY_ERR_LIMIT, "hpke: room for %zu of %zu public key bytes",
		    *out_len, k->npk);
		goto out;
	}
	if (is_x25519(k)) {
		len = *out_len;
		if (EVP_PKEY_get_raw_public_key(key, out, &len) != 1 || len != k->npk) {
			r = ferry_fail_crypto("hpke: X25519 public key");
			goto out;
		}
	} else {
		/* From the coordinates: the key's own point format may be compressed. */
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 ||
		    BN_bn2binpad(x, out + 1, (int)k->nsk) != (int)k->nsk ||
		    BN_bn2binpad(y, out + 1 + k->nsk, (int)k->nsk) != (int)k->nsk) {
			r = ferry_fail_crypto("hpke: %s public key", k->name);
			goto out;
		}
		out[0] = POINT_CONVERSION_UNCOMPRESSED;
	}
	*out_len = k->npk;
	r = 0;
 out:
	BN_free(x);
	BN_free(y);
	return r;
}

int
hpke_derive_keypair(uint16_t kem, const uint8_t *ikm, size_t ikm_len, EVP_PKEY **out)
{
	const struct kem_info *k;
	uint8_t sid[KEM_SUITE_LEN], prk[CRYPTO_HASH_MAX_LEN], sk[HPKE_MAX_SK_LEN];
	uint8_t counter;
	unsigned int i;
	int r;

	*out = NULL;
	if ((r = kem_get(kem, &k)) != 0)
		goto out;
	kem_suite_id(kem, sid);
	if ((r = labeled_extract(k->hash, sid, sizeof(sid), NULL, 0, "dkp_prk",
	    ikm, ikm_len, prk)) != 0)
		goto out;
	if (is_x25519(k)) {
		if ((r = labeled_expand(k->hash, sid, sizeof(sid), prk,
		    crypto_hash_len(k->hash), "sk", NULL, 0, sk, k->nsk)) != 0)
			goto out;
		r = hpke_deserialize_private(kem, sk, k->nsk, out);
		goto out;
	}
	/* Rejection sampling (section 7.1.3): a candidate must be in [1, order - 1]. */
	for (i = 0; i <= 255; i++) {
		counter = (uint8_t)i;
		if ((r = labeled_expand(k->hash, sid, sizeof(sid), prk,
		    crypto_hash_len(k->hash), "candidate", &counter, 1, sk, k->nsk)) != 0)
			goto out;
		sk[0] &= k->bitmask;
		if ((r = ec_key_from_scalar(k, sk, out)) != FERRY_ERR_KEY)
			goto out;
	}
	r = ferry_fail(FERRY_ERR_KEY, "hpke: %s DeriveKeyPair found no valid scalar",
	    k->name);
 out:
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(sk, sizeof(sk));
	return r;
}

/* ---- DHKEM (section 4.1) and the key schedule (section 5.1) ------------------------- */

/* ExtractAndExpand(dh, kem_context) into shared_secret (k->nsecret bytes). */
static int
kem_extract_and_expand(const struct kem_info *k, const uint8_t *dh, size_t dh_len,
    const uint8_t *kem_context, size_t kem_context_len, uint8_t *shared_secret)
{
	uint8_t sid[KEM_SUITE_LEN], prk[CRYPTO_HASH_MAX_LEN];
	int r;

	kem_suite_id(k->id, sid);
	if ((r = labeled_extract(k->hash, sid, sizeof(sid), NULL, 0, "eae_prk",
	    dh, dh_len, prk)) != 0)
		goto out;
	r = labeled_expand(k->hash, sid, sizeof(sid), prk, crypto_hash_len(k->hash),
	    "shared_secret", kem_context, kem_context_len, shared_secret, k->nsecret);
 out:
	OPENSSL_cleanse(prk, sizeof(prk));
	return r;
}

/* KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "") into ctx. */
static int
key_schedule_base(const struct hpke_suite *s, enum crypto_hash h,
    const uint8_t *shared_secret, size_t shared_secret_len,
    const uint8_t *info, size_t info_len, struct hpke_ctx *ctx, struct hpke_trace *trace)
{
	uint8_t sid[HPKE_SUITE_LEN], ksc[HPKE_MAX_KSC_LEN], secret[CRYPTO_HASH_MAX_LEN];
	size_t nh = crypto_hash_len(h), ksc_len = 1 + 2 * nh;
	int r;

	hpke_suite_id(s, sid);
	ksc[0] = MODE_BASE;
	if ((r = labeled_extract(h, sid, sizeof(sid), NULL, 0, "psk_id_hash",
	    NULL, 0, ksc + 1)) != 0 ||
	    (r = labeled_extract(h, sid, sizeof(sid), NULL, 0, "info_hash",
	    info, info_len, ksc + 1 + nh)) != 0 ||
	    (r = labeled_extract(h, sid, sizeof(sid), shared_secret, shared_secret_len,
	    "secret", NULL, 0, secret)) != 0)
		goto out;
	if ((r = labeled_expand(h, sid, sizeof(sid), secret, nh, "key",
	    ksc, ksc_len, ctx->key, HPKE_NK)) != 0 ||
	    (r = labeled_expand(h, sid, sizeof(sid), secret, nh, "base_nonce",
	    ksc, ksc_len, ctx->base_nonce, HPKE_NN)) != 0 ||
	    (r = labeled_expand(h, sid, sizeof(sid), secret, nh, "exp",
	    ksc, ksc_len, ctx->exporter_secret, nh)) != 0)
		goto out;
	ctx->suite = *s;
	ctx->seq = 0;
	ctx->exporter_secret_len = nh;
	if (trace != NULL) {
		memcpy(trace->key_schedule_context, ksc, ksc_len);
		trace->key_schedule_context_len = ksc_len;
		memcpy(trace->secret, secret, nh);
		trace->secret_len = nh;
	}
 out:
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

int
hpke_setup_base_s_trace(const struct hpke_suite *s, EVP_PKEY *pkR, EVP_PKEY *skE,
    const uint8_t *info, size_t info_len, uint8_t *enc, size_t *enc_len, struct hpke_ctx *ctx,
    struct hpke_trace *trace)
{
	const struct kem_info *k;
	enum crypto_hash h = CRYPTO_SHA256;
	EVP_PKEY *fresh = NULL, *eph;
	uint8_t dh[CRYPTO_ECDH_MAX_LEN], ss[HPKE_MAX_SECRET_LEN];
	uint8_t kem_context[2 * HPKE_MAX_ENC_LEN];
	size_t dh_len = sizeof(dh), enc_n = HPKE_MAX_ENC_LEN, pkr_n = HPKE_MAX_ENC_LEN;
	int r;

	memset(ctx, 0, sizeof(*ctx));
	*enc_len = 0;
	if ((r = suite_get(s, &k, &h)) != 0 ||
	    (r = key_check(k, pkR, "hpke: recipient key")) != 0)
		goto out;
	if (skE == NULL) {
		fresh = is_x25519(k) ? EVP_PKEY_Q_keygen(NULL, NULL, "X25519") :
		    EVP_PKEY_Q_keygen(NULL, NULL, "EC", OBJ_nid2sn(k->nid));
		if (fresh == NULL) {
			r = ferry_fail_crypto("hpke: generating a %s ephemeral key", k->name);
			goto out;
		}
		eph = fresh;
	} else {
		if ((r = key_check(k, skE, "hpke: ephemeral key")) != 0)
			goto out;
		eph = skE;
	}
	if ((r = crypto_ecdh(eph, pkR, dh, &dh_len)) != 0) {
		ferry_error_prefix(r, "hpke: recipient key");
		goto out;
	}
	/* kem_context = enc || pkRm */
	if ((r = hpke_serialize_public(k->id, eph, kem_context, &enc_n)) != 0 ||
	    (r = hpke_serialize_public(k->id, pkR, kem_context + enc_n, &pkr_n)) != 0 ||
	    (r = kem_extract_and_expand(k, dh, dh_len, kem_context, enc_n + pkr_n, ss)) != 0)
		goto out;
	if ((r = key_schedule_base(s, h, ss, k->nsecret, info, info_len, ctx, trace)) != 0)
		goto out;
	if (trace != NULL) {
		memcpy(trace->shared_secret, ss, k->nsecret);
		trace->shared_secret_len = k->nsecret;
	}
	memcpy(enc, kem_context, enc_n);
	*enc_len = enc_n;
 out:
	OPENSSL_cleanse(dh, sizeof(dh));
	OPENSSL_cleanse(ss, sizeof(ss));
	EVP_PKEY_free(fresh);
	if (r != 0)
		hpke_ctx_cleanse(ctx);
	return r;
}

int
hpke_setup_base_s(const struct hpke_suite *s, EVP_PKEY *pkR, EVP_PKEY *skE,
    const uint8_t *info, size_t info_len, uint8_t *enc, size_t *enc_len, struct hpke_ctx *ctx)
{
	return hpke_setup_base_s_trace(s, pkR, skE, info, info_len, enc, enc_len, ctx, NULL);
}

int
hpke_setup_base_r_trace(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    struct hpke_ctx *ctx, struct hpke_trace *trace)
{
	const struct kem_info *k;
	enum crypto_hash h = CRYPTO_SHA256;
	EVP_PKEY *pkE = NULL;
	uint8_t dh[CRYPTO_ECDH_MAX_LEN], ss[HPKE_MAX_SECRET_LEN];
	uint8_t kem_context[2 * HPKE_MAX_ENC_LEN];
	size_t dh_len = sizeof(dh), pkr_n = HPKE_MAX_ENC_LEN;
	int r;

	memset(ctx, 0, sizeof(*ctx));
	if ((r = suite_get(s, &k, &h)) != 0 ||
	    (r = key_check(k, skR, "hpke: private key")) != 0)
		goto out;
	if ((r = hpke_deserialize_public(k->id, enc, enc_len, &pkE)) != 0) {
		ferry_error_prefix(r, "hpke: enc");
		goto out;
	}
	if ((r = crypto_ecdh(skR, pkE, dh, &dh_len)) != 0) {
		/* skR was checked: a refused peer is a bad enc (an X25519 low-order point). */
		if (r == FERRY_ERR_KEY)
			r = FERRY_ERR_FORMAT;
		ferry_error_prefix(r, "hpke: enc");
		goto out;
	}
	if (enc_len > HPKE_MAX_ENC_LEN) {
		r = ferry_fail(FERRY_ERR_INTERNAL, "hpke: enc of %zu bytes", enc_len);
		goto out;
	}
	memcpy(kem_context, enc, enc_len);
	if ((r = hpke_serialize_public(k->id, skR, kem_context + enc_len, &pkr_n)) != 0 ||
	    (r = kem_extract_and_expand(k, dh, dh_len, kem_context, enc_len + pkr_n, ss)) != 0)
		goto out;
	if ((r = key_schedule_base(s, h, ss, k->nsecret, info, info_len, ctx, trace)) != 0)
		goto out;
	if (trace != NULL) {
		memcpy(trace->shared_secret, ss, k->nsecret);
		trace->shared_secret_len = k->nsecret;
	}
 out:
	OPENSSL_cleanse(dh, sizeof(dh));
	OPENSSL_cleanse(ss, sizeof(ss));
	EVP_PKEY_free(pkE);
	if (r != 0)
		hpke_ctx_cleanse(ctx);
	return r;
}

int
hpke_setup_base_r(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    struct hpke_ctx *ctx)
{
	return hpke_setup_base_r_trace(s, skR, enc, enc_len, info, info_len, ctx, NULL);
}

/* ---- the encryption context (section 5.2, 5.3) -------------------------------------- */

/* base_nonce XOR I2OSP(seq, Nn) */
static void
ctx_nonce(const struct hpke_ctx *ctx, uint8_t nonce[HPKE_NN])
{
	int i;

	memcpy(nonce, ctx->base_nonce, HPKE_NN);
	for (i = 0; i < 8; i++)
		nonce[HPKE_NN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

int
hpke_ctx_seal(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	uint8_t nonce[HPKE_NN];
	int r;

	/* The nonce must never repeat: stop before the counter would wrap. */
	if (ctx->seq == UINT64_MAX) {
		r = ferry_fail(FERRY_ERR_LIMIT, "hpke: message limit reached");
		goto out;
	}
	ctx_nonce(ctx, nonce);
	if ((r = crypto_aead_seal(ctx->key, nonce, aad, aad_len, pt, pt_len, ct)) != 0)
		goto out;
	ctx->seq++;
 out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return r;
}

int
hpke_ctx_open(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	uint8_t nonce[HPKE_NN];
	int r;

	if (ctx->seq == UINT64_MAX) {
		r = ferry_fail(FERRY_ERR_LIMIT, "hpke: message limit reached");
		goto out;
	}
	ctx_nonce(ctx, nonce);
	if ((r = crypto_aead_open(ctx->key, nonce, aad, aad_len, ct, ct_len, pt)) != 0)
		goto out;
	ctx->seq++;
 out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return r;
}

int
hpke_ctx_export(const struct hpke_ctx *ctx, const uint8_t *exporter_context,
    size_t exporter_context_len, uint8_t *out, size_t out_len)
{
	const struct kem_info *k;
	enum crypto_hash h = CRYPTO_SHA256;
	uint8_t sid[HPKE_SUITE_LEN];
	int r;

	if ((r = suite_get(&ctx->suite, &k, &h)) != 0)
		return r;
	hpke_suite_id(&ctx->suite, sid);
	return labeled_expand(h, sid, sizeof(sid), ctx->exporter_secret,
	    ctx->exporter_secret_len, "sec", exporter_context, exporter_context_len,
	    out, out_len);
}

void
hpke_ctx_cleanse(struct hpke_ctx *ctx)
{
	OPENSSL_cleanse(ctx, sizeof(*ctx));
}

/* ---- single shot -------------------------------------------------------------------- */

int
hpke_seal_base(const struct hpke_suite *s, EVP_PKEY *pkR,
    const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *enc, uint8_t *ct)
{
	struct hpke_ctx ctx;
	size_t enc_len;
	int r;

	if ((r = hpke_setup_base_s(s, pkR, NULL, info, info_len, enc, &enc_len, &ctx)) != 0)
		goto out;
	r = hpke_ctx_seal(&ctx, aad, aad_len, pt, pt_len, ct);
 out:
	hpke_ctx_cleanse(&ctx);
	return r;
}

int
hpke_open_base(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	struct hpke_ctx ctx;
	int r;

	if ((r = hpke_setup_base_r(s, skR, enc, enc_len, info, info_len, &ctx)) != 0)
		goto out;
	r = hpke_ctx_open(&ctx, aad, aad_len, ct, ct_len, pt);
 out:
	hpke_ctx_cleanse(&ctx);
	return r;
}
