/* RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017). */
#ifndef FERRY_CRYPTO_RSA_OAEP_H
#define FERRY_CRYPTO_RSA_OAEP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define CRYPTO_RSA_MIN_BITS 3072  /* ferry refuses smaller keys for wrapping */
#define CRYPTO_RSA_MAX_BYTES 1024 /* 8192-bit modulus */

/* Encrypt pt for pub with the given OAEP label. *ct_len: in, capacity; out, length
 * (the modulus size). FERRY_ERR_KEY if pub is not RSA or smaller than min_bits. */
int crypto_rsa_oaep_encrypt(EVP_PKEY *pub, unsigned min_bits, const uint8_t *label,
    size_t label_len, const uint8_t *pt, size_t pt_len, uint8_t *ct, size_t *ct_len);

/* Decrypt; *pt_len: in, capacity; out, length. FERRY_ERR_AUTH on any decryption
 * failure (one code for all, records no detail: no padding oracle). */
int crypto_rsa_oaep_decrypt(EVP_PKEY *priv, const uint8_t *label, size_t label_len,
    const uint8_t *ct, size_t ct_len, uint8_t *pt, size_t *pt_len);

#endif
