/*
 * AES-256-GCM with 96-bit nonces and 128-bit tags, the one AEAD ferry uses.
 * Ciphertexts carry the tag appended: ct_len = pt_len + CRYPTO_AEAD_TAG_LEN.
 * On open, no plaintext is released unless the tag verifies (the output is wiped on
 * failure).
 */
#ifndef FERRY_CRYPTO_AEAD_H
#define FERRY_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_AEAD_KEY_LEN   32
#define CRYPTO_AEAD_NONCE_LEN 12
#define CRYPTO_AEAD_TAG_LEN   16

/* One-shot seal: ct receives pt_len + 16 bytes. In-place (ct == pt) is allowed. */
int crypto_aead_seal(const uint8_t key[CRYPTO_AEAD_KEY_LEN],
    const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *ct);

/* One-shot open: ct_len >= 16, pt receives ct_len - 16 bytes. FERRY_ERR_AUTH on a bad
 * tag (records no detail: the caller names what failed). In-place is allowed. */
int crypto_aead_open(const uint8_t key[CRYPTO_AEAD_KEY_LEN],
    const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN], const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* A keyed context reused across many messages (the payload stream), so the key schedule
 * runs once; seal and open only set the nonce, and may alternate on one context.
 * crypto_aead_new returns NULL on failure (detail recorded). Caller frees with
 * crypto_aead_free(), which wipes the key and accepts NULL. The ctx_ calls behave as
 * the one-shot ones (in-place allowed, FERRY_ERR_AUTH without detail, output wiped). */
struct crypto_aead;
struct crypto_aead *crypto_aead_new(const uint8_t key[CRYPTO_AEAD_KEY_LEN]);
void crypto_aead_free(struct crypto_aead *a);
int crypto_aead_ctx_seal(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *pt, size_t pt_len, uint8_t *ct);
int crypto_aead_ctx_open(struct crypto_aead *a, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

#endif
