/* Raw Diffie-Hellman (X25519, or ECDH on a NIST curve) between two EVP_PKEYs. */
#ifndef FERRY_CRYPTO_ECDH_H
#define FERRY_CRYPTO_ECDH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* Largest shared secret: the P-521 x-coordinate. */
#define CRYPTO_ECDH_MAX_LEN 66

/*
 * The shared secret of priv (a private key) and peer (a public key of the same type and
 * curve): the 32-byte X25519 output, or the x-coordinate padded to the field size (32,
 * 48, 66 bytes). *out_len is in: the capacity of out (CRYPTO_ECDH_MAX_LEN is always
 * enough), out: the length written. The peer is validated: on the curve, on a named
 * curve (explicit parameters are refused), and for X25519 an all-zero result, from a
 * low-order point, is refused. Returns 0, FERRY_ERR_KEY for a peer that is invalid or
 * does not match priv, or a priv that is not a private key, FERRY_ERR_LIMIT if out is
 * too small, or FERRY_ERR_CRYPTO. On failure out is zeroed.
 */
int crypto_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *out, size_t *out_len);

#endif
