#include "crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "util/err.h"

/* Algorithms are fetched once: an implicit fetch on every call costs a store lookup. */
static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_MD *md_sha256, *md_sha384, *md_sha512;
static EVP_KDF *kdf_hkdf;
static EVP_MAC *mac_hmac;

static void
fetch_algorithms(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	md_sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL);
	kdf_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int
fetched(void)
{
	if (!CRYPTO_THREAD_run_once(&fetch_once, fetch_algorithms) ||
	    md_sha256 == NULL || md_sha384 == NULL || md_sha512 == NULL ||
	    kdf_hkdf == NULL || mac_hmac == NULL)
		return ferry_fail_crypto("kdf: fetching SHA-2/HKDF/HMAC");
	return 0;
}

static const char *
hash_name(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_SHA256: return "SHA2-256";
	case CRYPTO_SHA384: return "SHA2-384";
	case CRYPTO_SHA512: return "SHA2-512";
	}
	return NULL;
}

static const EVP_MD *
hash_md(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_SHA256: return md_sha256;
	case CRYPTO_SHA384: return md_sha384;
	case CRYPTO_SHA512: return md_sha512;
	}
	return NULL;
}

size_t
crypto_hash_len(enum crypto_hash h)
{
	switch (h) {
	case CRYPTO_SHA256: return 32;
	case CRYPTO_SHA384: return 48;
	case CRYPTO_SHA512: return 64;
	}
	return 0;
}

/*
 * One HKDF derivation in the given mode. An empty key is passed as a valid pointer of
 * length 0: OpenSSL treats a missing key as an error, an empty one as the empty string.
 */
static int
hkdf_derive(enum crypto_hash h, int mode, const uint8_t *salt, size_t salt_len,
    const uint8_t *key, size_t key_len, const uint8_t *info, size_t info_len,
    uint8_t *out, size_t out_len)
{
	static const uint8_t empty[1];
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[6], *p = params;
	int r;

	if ((r = fetched()) != 0)
		goto out;
	if (hash_name(h) == NULL) {
		r = ferry_fail(FERRY_ERR_INTERNAL, "hkdf: unknown hash %d", (int)h);
		goto out;
	}
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)hash_name(h), 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(key_len > 0 ? key : empty), key_len);
	if (salt_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, salt_len);
	if (info_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();

	if ((kctx = EVP_KDF_CTX_new(kdf_hkdf)) == NULL) {
		r = ferry_fail_crypto("hkdf: EVP_KDF_CTX_new");
		goto out;
	}
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1) {
		r = ferry_fail_crypto("hkdf: derive (mode %d, %zu bytes)", mode, out_len);
		goto out;
	}
	r = 0;
 out:
	/* The context holds copies of the key and the result; free wipes them. */
	EVP_KDF_CTX_free(kctx);
	return r;
}

int
crypto_hkdf_extract(enum crypto_hash h, const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, uint8_t *prk)
{
	return hkdf_derive(h, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, salt_len,
	    ikm, ikm_len, NULL, 0, prk, crypto_hash_len(h));
}

int
crypto_hkdf_expand(enum crypto_hash h, const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len)
{
	if (okm_len == 0 || okm_len > 255 * crypto_hash_len(h))
		return ferry_fail(FERRY_ERR_LIMIT,
		    "hkdf: output of %zu bytes (1 to %zu allowed)", okm_len,
		    255 * crypto_hash_len(h));
	return hkdf_derive(h, EVP_KDF_HKDF_MODE_EXPAND_ONLY, NULL, 0,
	    prk, prk_len, info, info_len, okm, okm_len);
}

int
crypto_hkdf(enum crypto_hash h, const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len,
    uint8_t *okm, size_t okm_len)
{
	uint8_t prk[CRYPTO_HASH_MAX_LEN];
	int r;

	if ((r = crypto_hkdf_extract(h, salt, salt_len, ikm, ikm_len, prk)) != 0)
		goto out;
	r = crypto_hkdf_expand(h, prk, crypto_hash_len(h), info, info_len, okm, okm_len);
 out:
	OPENSSL_cleanse(prk, sizeof(prk));
	return r;
}

int
crypto_hmac(enum crypto_hash h, const uint8_t *key, size_t key_len,
    const uint8_t *data, size_t data_len, uint8_t *mac)
{
	static const uint8_t empty[1];
	EVP_MAC_CTX *mctx = NULL;
	OSSL_PARAM params[2];
	size_t mac_len = 0;
	int r;

	if ((r = fetched()) != 0)
		goto out;
	if (hash_name(h) == NULL) {
		r = ferry_fail(FERRY_ERR_INTERNAL, "hmac: unknown hash %d", (int)h);
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)hash_name(h), 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mctx = EVP_MAC_CTX_new(mac_hmac)) == NULL) {
		r = ferry_fail_crypto("hmac: EVP_MAC_CTX_new");
		goto out;
	}
	if (EVP_MAC_init(mctx, key_len > 0 ? key : empty, key_len, params) != 1 ||
	    (data_len > 0 && EVP_MAC_update(mctx, data, data_len) != 1) ||
	    EVP_MAC_final(mctx, mac, &mac_len, crypto_hash_len(h)) != 1) {
		r = ferry_fail_crypto("hmac: computing %s", hash_name(h));
		goto out;
	}
	if (mac_len != crypto_hash_len(h)) {
		r = ferry_fail(FERRY_ERR_INTERNAL, "hmac: %zu-byte result", mac_len);
		goto out;
	}
	r = 0;
 out:
	EVP_MAC_CTX_free(mctx);
	return r;
}

int
crypto_hash(enum crypto_hash h, const uint8_t *data, size_t len, uint8_t *out)
{
	static const uint8_t empty[1];
	const EVP_MD *md;
	unsigned int out_len = 0;
	int r;

	if ((r = fetched()) != 0)
		return r;
	if ((md = hash_md(h)) == NULL)
		return ferry_fail(FERRY_ERR_INTERNAL, "hash: unknown hash %d", (int)h);
	if (EVP_Digest(len > 0 ? data : empty, len, out, &out_len, md, NULL) != 1)
		return ferry_fail_crypto("hash: %s of %zu bytes", hash_name(h), len);
	if (out_len != crypto_hash_len(h))
		return ferry_fail(FERRY_ERR_INTERNAL, "hash: %u-byte digest", out_len);
	return 0;
}
