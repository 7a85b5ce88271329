#include "crypto/aead.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/err.h"

/*
 * One EVP_CIPHER_CTX keyed once. GCM's key schedule is the same in both directions,
 * so each message only re-initialises the direction and the IV (key NULL keeps the
 * key already loaded).
 */
struct crypto_aead {
	EVP_CIPHER_CTX *ctx;
};

/* Largest piece handed to one EVP_CipherUpdate, whose length is an int. */
#define AEAD_STEP ((size_t)1 << 30)

static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_CIPHER *aes256gcm;

static void
fetch_cipher(void)
{
	aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

/* Key a new context; *out NULL on failure (detail recorded). */
static int
aead_create(const uint8_t key[CRYPTO_AEAD_KEY_LEN], struct crypto_aead **out)
{
	struct crypto_aead *a = NULL;
	int r;

	*out = NULL;
	if (!CRYPTO_THREAD_run_once(&fetch_once, fetch_cipher) || aes256gcm == NULL) {
		r = ferry_fail_crypto("aead: fetching AES-256-GCM");
		goto out;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "aead: context");
		goto out;
	}
	if ((a->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex2(a->ctx, aes256gcm, key, NULL, 1, NULL) != 1) {
		r = ferry_fail_crypto("aead: AES-256-GCM key setup");
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
 out:
	crypto_aead_free(a);
	return r;
}

struct crypto_aead *
crypto_aead_new(const uint8_t key[CRYPTO_AEAD_KEY_LEN])
{
	struct crypto_aead *a;

	(void)aead_create(key, &a);
	return a;
}

void
crypto_aead_free(struct crypto_aead *a)
{
	if (a == NULL)
		return;
	/* Frees (and wipes) the provider context holding the key schedule. */
	EVP_CIPHER_CTX_free(a->ctx);
	free(a);
}

/* Run in through the cipher into out (same length; out == in allowed). */
static int
aead_update(EVP_CIPHER_CTX *ctx, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t take;
	int n;

	while (len > 0) {
		take = len > AEAD_STEP ? AEAD_STEP : len;
		if (EVP_CipherUpdate(ctx, out, &n, in, (int)take) != 1 || (size_t)n != take)
			return 0;
		in += take;
		out += take;
		len -= take;
	}
	return 1;
}

static int
aead_aad(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t aad_len)
{
	size_t take;
	int n;

	while (aad_len > 0) {
		take = aad_len > AEAD_STEP ? AEAD_STEP : aad_len;
		if (EVP_CipherUpdate(ctx, NULL, &n, aad, (int)take) != 1)
			return 0;
		aad += take;
		aad_len -= take;
	}
	return 1;
}

int
crypto_aead_ctx_seal(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	uint8_t fin[CRYPTO_AEAD_TAG_LEN];
	OSSL_PARAM params[2];
	int n;

	if (pt_len > SIZE_MAX - CRYPTO_AEAD_TAG_LEN)
		return ferry_fail(FERRY_ERR_LIMIT, "aead: seal of %zu bytes", pt_len);
	if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, 1, NULL) != 1 ||
	    !aead_aad(a->ctx, aad, aad_len) ||
	    !aead_update(a->ctx, pt, pt_len, ct) ||
	    EVP_CipherFinal_ex(a->ctx, fin, &n) != 1)
		return ferry_fail_crypto("aead: seal");
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
	    ct + pt_len, CRYPTO_AEAD_TAG_LEN);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_CIPHER_CTX_get_params(a->ctx, params) != 1)
		return ferry_fail_crypto("aead: reading the tag");
	return 0;
}

int
crypto_aead_ctx_open(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	uint8_t tag[CRYPTO_AEAD_TAG_LEN], fin[CRYPTO_AEAD_TAG_LEN];
	OSSL_PARAM params[2];
	size_t pt_len = 0;
	int n, r;

	if (ct_len < CRYPTO_AEAD_TAG_LEN) {
		/* Too short to carry a tag is just a ciphertext that does not open. */
		r = FERRY_ERR_AUTH;
		goto out;
	}
	pt_len = ct_len - CRYPTO_AEAD_TAG_LEN;
	/* Copied first: with pt == ct the tag would be safe, but be independent of it. */
	memcpy(tag, ct + pt_len, sizeof(tag));
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
	    tag, sizeof(tag));
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, 0, NULL) != 1 ||
	    !aead_aad(a->ctx, aad, aad_len) ||
	    !aead_update(a->ctx, ct, pt_len, pt) ||
	    EVP_CIPHER_CTX_set_params(a->ctx, params) != 1) {
		r = ferry_fail_crypto("aead: open");
		goto out;
	}
	/* GCM's final step only compares the tag; it writes no output. */
	if (EVP_CipherFinal_ex(a->ctx, fin, &n) != 1) {
		ERR_clear_error();
		r = FERRY_ERR_AUTH;
		goto out;
	}
	r = 0;
 out:
	/* The plaintext was written before the tag could be checked: wipe it. */
	if (r != 0 && pt_len > 0)
		OPENSSL_cleanse(pt, pt_len);
	return r;
}

int
crypto_aead_seal(const uint8_t key[CRYPTO_AEAD_KEY_LEN],
    const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *ct)
{
	struct crypto_aead *a;
	int r;

	if ((r = aead_create(key, &a)) != 0)
		return r;
	r = crypto_aead_ctx_seal(a, nonce, aad, aad_len, pt, pt_len, ct);
	crypto_aead_free(a);
	return r;
}

int
crypto_aead_open(const uint8_t key[CRYPTO_AEAD_KEY_LEN],
    const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	struct crypto_aead *a;
	int r;

	if ((r = aead_create(key, &a)) != 0)
		return r;
	r = crypto_aead_ctx_open(a, nonce, aad, aad_len, ct, ct_len, pt);
	crypto_aead_free(a);
	return r;
}
