#include "crypto/rsa_oaep.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "util/err.h"

#define OAEP_HASH_LEN 32 /* SHA-256 */

/* Configure ctx (already initialised for encrypt or decrypt) for OAEP, SHA-256, MGF1
 * SHA-256 and the label. Returns 1 or 0, like OpenSSL. */
static int
set_oaep(EVP_PKEY_CTX *ctx, const uint8_t *label, size_t label_len)
{
	unsigned char *copy;

	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0)
		return 0;
	if (label_len == 0)
		return 1; /* the default label is empty */
	if (label_len > INT_MAX)
		return 0;
	/* OpenSSL takes ownership of the label on success only. */
	if ((copy = OPENSSL_memdup(label, label_len)) == NULL)
		return 0;
	if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy, (int)label_len) <= 0) {
		OPENSSL_free(copy);
		return 0;
	}
	return 1;
}

int
crypto_rsa_oaep_encrypt(EVP_PKEY *pub, unsigned min_bits, const uint8_t *label,
    size_t label_len, const uint8_t *pt, size_t pt_len, uint8_t *ct, size_t *ct_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	size_t k, outlen;
	int bits, ret;

	if (pub == NULL || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA) {
		ret = ferry_fail(FERRY_ERR_KEY, "RSA-OAEP: recipient key is not an RSA key");
		goto out;
	}
	bits = EVP_PKEY_get_bits(pub);
	if (bits <= 0 || (unsigned)bits < min_bits) {
		ret = ferry_fail(FERRY_ERR_KEY, "RSA-OAEP: %d-bit RSA key is too small "
		    "(at least %u bits required)", bits, min_bits);
		goto out;
	}
	k = (size_t)EVP_PKEY_get_size(pub);
	if (k > CRYPTO_RSA_MAX_BYTES) {
		ret = ferry_fail(FERRY_ERR_KEY, "RSA-OAEP: %d-bit RSA key is too large "
		    "(at most %d bits)", bits, CRYPTO_RSA_MAX_BYTES * 8);
		goto out;
	}
	if (pt_len > k - 2 * OAEP_HASH_LEN - 2) {
		ret = ferry_fail(FERRY_ERR_LIMIT, "RSA-OAEP: %zu-byte message too long for a "
		    "%d-bit key", pt_len, bits);
		goto out;
	}
	if (*ct_len < k) {
		ret = ferry_fail(FERRY_ERR_INTERNAL, "RSA-OAEP: output buffer of %zu bytes, "
		    "need %zu", *ct_len, k);
		goto out;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL ||
	    EVP_PKEY_encrypt_init(ctx) <= 0 || set_oaep(ctx, label, label_len) != 1) {
		ret = ferry_fail_crypto("RSA-OAEP: setting up encryption");
		goto out;
	}
	outlen = *ct_len;
	if (EVP_PKEY_encrypt(ctx, ct, &outlen, pt, pt_len) <= 0 || outlen != k) {
		ret = ferry_fail_crypto("RSA-OAEP: encryption failed");
		goto out;
	}
	*ct_len = outlen;
	ret = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

int
crypto_rsa_oaep_decrypt(EVP_PKEY *priv, const uint8_t *label, size_t label_len,
    const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t *pt_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t tmp[CRYPTO_RSA_MAX_BYTES];
	size_t outlen = 0;
	int ret = FERRY_ERR_AUTH;

	/*
	 * Every failure, whatever its cause, is the same FERRY_ERR_AUTH with no recorded
	 * detail and an empty OpenSSL error queue, so nothing distinguishes a bad padding
	 * from any other rejection.
	 */
	if (priv == NULL || EVP_PKEY_get_base_id(priv) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_size(priv) <= 0 ||
	    (size_t)EVP_PKEY_get_size(priv) > sizeof(tmp) ||
	    ct_len != (size_t)EVP_PKEY_get_size(priv))
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL ||
	    EVP_PKEY_decrypt_init(ctx) <= 0 || set_oaep(ctx, label, label_len) != 1)
		goto out;
	/* Decrypt into a buffer of the modulus size, so the caller's capacity plays no
	 * part in what OpenSSL sees. */
	outlen = sizeof(tmp);
	if (EVP_PKEY_decrypt(ctx, tmp, &outlen, ct, ct_len) <= 0 || outlen > *pt_len)
		goto out;
	memcpy(pt, tmp, outlen);
	*pt_len = outlen;
	ret = 0;
out:
	OPENSSL_cleanse(tmp, sizeof(tmp));
	EVP_PKEY_CTX_free(ctx);
	if (ret != 0) {
		ERR_clear_error();
		ferry_error_clear();
	}
	return ret;
}
