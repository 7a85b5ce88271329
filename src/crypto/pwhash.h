/* scrypt (RFC 7914) password-based key derivation. */
#ifndef FERRY_CRYPTO_PWHASH_H
#define FERRY_CRYPTO_PWHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * out_len bytes from scrypt(pass, salt, N = 2^log2n, r, p). log2n must be 1 to
 * FERRY_SCRYPT_MAX_LOG2N (FERRY_ERR_LIMIT otherwise; the format enforces the stricter
 * minimum FERRY_SCRYPT_MIN_LOG2N itself, so the RFC 7914 vectors can be checked here),
 * and the memory bound given to OpenSSL follows from log2n and r.
 */
int crypto_scrypt(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
    unsigned log2n, unsigned r, unsigned p, uint8_t *out, size_t out_len);

#endif
