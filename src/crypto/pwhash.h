/* scrypt (RFC 7914) password-based key derivation. */
#ifndef FERRY_CRYPTO_PWHASH_H
#define FERRY_CRYPTO_PWHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * out_len bytes from scrypt(pass, salt, N = 2^log2n, r, p). log2n is checked against
 * FERRY_SCRYPT_MIN_LOG2N..FERRY_SCRYPT_MAX_LOG2N (FERRY_ERR_LIMIT otherwise), and the
 * memory bound given to OpenSSL follows from it.
 */
int crypto_scrypt(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
    unsigned log2n, unsigned r, unsigned p, uint8_t *out, size_t out_len);

#endif
