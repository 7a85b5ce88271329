/*
 * HPKE (RFC 9180), base mode, single-shot and context APIs, built on OpenSSL 3 primitives.
 * DHKEM is generic over X25519 and the NIST curves P-256, P-384, P-521 with their HKDF;
 * the KDF is HKDF-SHA256/384/512; the AEAD is AES-256-GCM only.
 * Public keys are serialized as in RFC 9180 (X25519: 32 raw bytes; NIST: uncompressed
 * 0x04||X||Y). Deserialization rejects compressed and off-curve points; X25519 rejects
 * all-zero shared secrets.
 */
#ifndef FERRY_CRYPTO_HPKE_H
#define FERRY_CRYPTO_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define HPKE_KEM_P256_SHA256   0x0010
#define HPKE_KEM_P384_SHA384   0x0011
#define HPKE_KEM_P521_SHA512   0x0012
#define HPKE_KEM_X25519_SHA256 0x0020
#define HPKE_KDF_SHA256        0x0001
#define HPKE_KDF_SHA384        0x0002
#define HPKE_KDF_SHA512        0x0003
#define HPKE_AEAD_AES256GCM    0x0002

#define HPKE_MAX_ENC_LEN       133  /* P-521 uncompressed point */

struct hpke_suite {
	uint16_t kem;
	uint16_t kdf;
	uint16_t aead;
};

/* The serialized length of an encapsulated key / public key for kem; 0 if unknown. */
size_t hpke_enc_len(uint16_t kem);

/* The KEM matching a key (X25519 or a supported NIST curve), or FERRY_ERR_KEY. */
int hpke_kem_for_key(const EVP_PKEY *key, uint16_t *kem);

/*
 * Single-shot base-mode seal to pkR: writes enc (hpke_enc_len(kem) bytes) and
 * ct (pt_len + 16 bytes).
 */
int hpke_seal_base(const struct hpke_suite *s, EVP_PKEY *pkR,
    const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *enc, uint8_t *ct);

/*
 * Single-shot base-mode open with skR: pt receives ct_len - 16 bytes. Returns
 * FERRY_ERR_AUTH when the ciphertext does not open (wrong key or tampering) and
 * FERRY_ERR_FORMAT for an invalid enc; records no detail for FERRY_ERR_AUTH.
 */
int hpke_open_base(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* ---- lower-level interface (also what the RFC 9180 vector tests drive) ------------- */

struct hpke_ctx {
	struct hpke_suite suite;
	uint8_t key[32];
	uint8_t base_nonce[12];
	uint64_t seq;
	uint8_t exporter_secret[64];
	size_t exporter_secret_len;
};

/* SetupBaseS. skE NULL means a fresh random ephemeral key; tests pass a fixed one. */
int hpke_setup_base_s(const struct hpke_suite *s, EVP_PKEY *pkR, EVP_PKEY *skE,
    const uint8_t *info, size_t info_len, uint8_t *enc, size_t *enc_len, struct hpke_ctx *ctx);
/* SetupBaseR. */
int hpke_setup_base_r(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    struct hpke_ctx *ctx);
/* ContextS.Seal / ContextR.Open with the context's sequence number (then incremented). */
int hpke_ctx_seal(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *ct);
int hpke_ctx_open(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *pt);
/* Context.Export. */
int hpke_ctx_export(const struct hpke_ctx *ctx, const uint8_t *exporter_context,
    size_t exporter_context_len, uint8_t *out, size_t out_len);
/* Wipe a context. */
void hpke_ctx_cleanse(struct hpke_ctx *ctx);

/* DeriveKeyPair(ikm) for kem. Caller frees *out with EVP_PKEY_free. */
int hpke_derive_keypair(uint16_t kem, const uint8_t *ikm, size_t ikm_len, EVP_PKEY **out);
/* SerializePublicKey / DeserializePublicKey (validates the point). */
int hpke_serialize_public(uint16_t kem, EVP_PKEY *key, uint8_t *out, size_t *out_len);
int hpke_deserialize_public(uint16_t kem, const uint8_t *in, size_t len, EVP_PKEY **out);
/* SerializePrivateKey / DeserializePrivateKey (big-endian scalar, or X25519 raw). */
int hpke_serialize_private(uint16_t kem, EVP_PKEY *key, uint8_t *out, size_t *out_len);
int hpke_deserialize_private(uint16_t kem, const uint8_t *in, size_t len, EVP_PKEY **out);

#endif
