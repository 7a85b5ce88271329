/* scrypt (RFC 7914) password-based key derivation. */
#ifndef FERRY_CRYPTO_PWHASH_H
#define FERRY_CRYPTO_PWHASH_H

#include <stddef.h>
#include <stdint.h>

/* Largest scrypt buffer (V is 128 * r * N bytes, B is 128 * r * p) crypto_scrypt()
 * will allocate: 1 GiB, which is V at N = 2^FERRY_SCRYPT_MAX_LOG2N with r = 8. */
#define CRYPTO_SCRYPT_MAX_MEM ((uint64_t)1 << 30)

/*
 * out_len bytes from scrypt(pass, salt, N = 2^log2n, r, p). log2n must be 1 to
 * FERRY_SCRYPT_MAX_LOG2N (FERRY_ERR_LIMIT otherwise; the format enforces the stricter
 * minimum FERRY_SCRYPT_MIN_LOG2N itself, so the RFC 7914 vectors can be checked here),
 * and the memory bound given to OpenSSL follows from log2n and r.
 * Also FERRY_ERR_LIMIT: r or p zero, N >= 2^(16 * r) (RFC 7914), 128 * r * N or
 * 128 * r * p above CRYPTO_SCRYPT_MAX_MEM (stricter than RFC 7914's r * p < 2^30),
 * out_len zero. On failure out is zeroed.
 * Empty pass and salt are allowed.
 */
int crypto_scrypt(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
    unsigned log2n, unsigned r, unsigned p, uint8_t *out, size_t out_len);

#endif
