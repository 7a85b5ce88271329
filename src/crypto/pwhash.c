#include "crypto/pwhash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "util/err.h"
#include "util/limits.h"

/* Slack above 128 * r * (N + p) for OpenSSL's own bookkeeping in its memory check. */
#define SCRYPT_MEM_MARGIN (64u * 1024u)

int
crypto_scrypt(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
    unsigned log2n, unsigned r, unsigned p, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[7], *q = params;
	uint64_t n, maxmem;
	uint32_t r32 = r, p32 = p;
	/* OpenSSL rejects NULL octet strings; give it a valid pointer for empty input. */
	static const uint8_t empty[1];
	int ret;

	if (log2n < 1 || log2n > FERRY_SCRYPT_MAX_LOG2N) {
		ret = ferry_fail(FERRY_ERR_LIMIT, "scrypt: log2(N) %u outside 1..%u", log2n,
		    FERRY_SCRYPT_MAX_LOG2N);
		goto out;
	}
	/* OpenSSL allocates 128 * r * p bytes besides V: bound that by the same limit. */
	if (r < 1 || p < 1 || (uint64_t)r * p > CRYPTO_SCRYPT_MAX_MEM / 128) {
		ret = ferry_fail(FERRY_ERR_LIMIT, "scrypt: r = %u, p = %u out of range", r, p);
		goto out;
	}
	/* RFC 7914 requires N < 2^(128 * r / 8). */
	if (log2n >= 16 * (uint64_t)r) {
		ret = ferry_fail(FERRY_ERR_LIMIT, "scrypt: N = 2^%u is too large for r = %u",
		    log2n, r);
		goto out;
	}
	n = (uint64_t)1 << log2n;
	if (r > CRYPTO_SCRYPT_MAX_MEM / 128 / n) {
		ret = ferry_fail(FERRY_ERR_LIMIT, "scrypt: N = 2^%u with r = %u needs more "
		    "than %llu bytes", log2n, r, (unsigned long long)CRYPTO_SCRYPT_MAX_MEM);
		goto out;
	}
	if (out_len == 0) {
		ret = ferry_fail(FERRY_ERR_LIMIT, "scrypt: empty output");
		goto out;
	}

	/* Our own bounds decide, not OpenSSL's default limit (32 MiB for the legacy
	 * interface, 1025 MiB for EVP_KDF), which legal parameters can exceed. OpenSSL
	 * counts 128 * r * (N + 2) for V plus 128 * r * p for B. Both terms are at most
	 * CRYPTO_SCRYPT_MAX_MEM here, so this cannot overflow. */
	maxmem = 128 * (uint64_t)r * (n + 2) + 128 * (uint64_t)r * p + SCRYPT_MEM_MARGIN;

	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(pass_len ? pass : empty), pass_len);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(salt_len ? salt : empty), salt_len);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r32);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p32);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	*q = OSSL_PARAM_construct_end();

	if ((kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL)) == NULL) {
		ret = ferry_fail_crypto("scrypt: not available");
		goto out;
	}
	if ((kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		ret = ferry_fail(FERRY_ERR_NOMEM, "scrypt: out of memory");
		goto out;
	}
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1) {
		ret = ferry_fail_crypto("scrypt: derivation failed (N = 2^%u, r = %u, p = %u)",
		    log2n, r, p);
		goto out;
	}
	ret = 0;
out:
	if (ret != 0)
		OPENSSL_cleanse(out, out_len);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return ret;
}
