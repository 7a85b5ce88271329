/* Hash-based key derivation and MACs: HKDF (RFC 5869) and HMAC over SHA-2. */
#ifndef FERRY_CRYPTO_KDF_H
#define FERRY_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

enum crypto_hash {
	CRYPTO_SHA256,
	CRYPTO_SHA384,
	CRYPTO_SHA512,
};

#define CRYPTO_HASH_MAX_LEN 64

/* Output length in bytes (32, 48, 64). */
size_t crypto_hash_len(enum crypto_hash h);

/* HKDF-Extract: prk (crypto_hash_len(h) bytes) = HMAC(salt, ikm). salt may be empty. */
int crypto_hkdf_extract(enum crypto_hash h, const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, uint8_t *prk);

/* HKDF-Expand: okm_len bytes (1 to 255 * hash length, else FERRY_ERR_LIMIT). */
int crypto_hkdf_expand(enum crypto_hash h, const uint8_t *prk, size_t prk_len,
    const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len);

/* Extract then expand; okm_len bounded as for crypto_hkdf_expand(). All return 0,
 * FERRY_ERR_LIMIT or FERRY_ERR_CRYPTO; empty salt, ikm and info are allowed. */
int crypto_hkdf(enum crypto_hash h, const uint8_t *salt, size_t salt_len,
    const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len,
    uint8_t *okm, size_t okm_len);

/* HMAC(key, data) into mac (crypto_hash_len(h) bytes). */
int crypto_hmac(enum crypto_hash h, const uint8_t *key, size_t key_len,
    const uint8_t *data, size_t data_len, uint8_t *mac);

/* SHA-2 digest of data into out (crypto_hash_len(h) bytes). */
int crypto_hash(enum crypto_hash h, const uint8_t *data, size_t len, uint8_t *out);

#endif
