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
 * ct (pt_len + 16 bytes). Returns 0, FERRY_ERR_UNSUPPORTED for a suite other than
 * the ones above, FERRY_ERR_KEY when pkR is not a valid key of the suite's KEM (X25519:
 * also a low-order point), FERRY_ERR_CRYPTO.
 */
int hpke_seal_base(const struct hpke_suite *s, EVP_PKEY *pkR,
    const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *enc, uint8_t *ct);

/*
 * Single-shot base-mode open with skR: pt receives ct_len - 16 bytes. Returns
 * FERRY_ERR_AUTH when the ciphertext does not open (wrong key or tampering) and
 * FERRY_ERR_FORMAT for an invalid enc; records no detail for FERRY_ERR_AUTH.
 * FERRY_ERR_KEY when skR is not a private key of the suite's KEM. pt is wiped on failure.
 */
int hpke_open_base(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t ct_len, uint8_t *pt);

/* ---- lower-level interface (also what the RFC 9180 vector tests drive) ------------- */

/* Holds the AEAD key, base nonce and exporter secret: wipe with hpke_ctx_cleanse(). */
struct hpke_ctx {
	struct hpke_suite suite;
	uint8_t key[32];
	uint8_t base_nonce[12];
	uint64_t seq;
	uint8_t exporter_secret[64];
	size_t exporter_secret_len;
};

/*
 * SetupBaseS. skE NULL means a fresh random ephemeral key; tests pass a fixed one (it
 * must belong to the suite's KEM). enc needs room for hpke_enc_len(s->kem) bytes;
 * *enc_len receives the length written. Errors as hpke_seal_base(); on failure ctx is
 * wiped.
 */
int hpke_setup_base_s(const struct hpke_suite *s, EVP_PKEY *pkR, EVP_PKEY *skE,
    const uint8_t *info, size_t info_len, uint8_t *enc, size_t *enc_len, struct hpke_ctx *ctx);
/*
 * SetupBaseR. FERRY_ERR_FORMAT when enc is not a valid public key of the KEM (wrong
 * length, compressed or off-curve point, X25519 low-order point), FERRY_ERR_KEY when skR
 * does not fit the suite. On failure ctx is wiped.
 */
int hpke_setup_base_r(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    struct hpke_ctx *ctx);
/*
 * ContextS.Seal / ContextR.Open with the context's sequence number (then incremented;
 * by open only on success). ct is pt_len + 16 bytes; open returns FERRY_ERR_AUTH without
 * detail when the tag does not verify (pt wiped). FERRY_ERR_LIMIT once the sequence
 * number is exhausted.
 */
int hpke_ctx_seal(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *pt, size_t pt_len, uint8_t *ct);
int hpke_ctx_open(struct hpke_ctx *ctx, const uint8_t *aad, size_t aad_len,
    const uint8_t *ct, size_t ct_len, uint8_t *pt);
/* Context.Export: out_len from 1 to 255 * Nh (FERRY_ERR_LIMIT otherwise). */
int hpke_ctx_export(const struct hpke_ctx *ctx, const uint8_t *exporter_context,
    size_t exporter_context_len, uint8_t *out, size_t out_len);
/* Wipe a context. */
void hpke_ctx_cleanse(struct hpke_ctx *ctx);

/*
 * DeriveKeyPair(ikm) for kem (RFC 9180 section 7.1.3). Caller frees *out with
 * EVP_PKEY_free. FERRY_ERR_UNSUPPORTED for an unknown kem.
 */
int hpke_derive_keypair(uint16_t kem, const uint8_t *ikm, size_t ikm_len, EVP_PKEY **out);
/*
 * SerializePublicKey / DeserializePublicKey. For serialize, *out_len is in: capacity
 * (hpke_enc_len(kem) suffices), out: length; key may be a private key. Deserialize
 * validates the point: FERRY_ERR_FORMAT for a wrong length, a compressed point, the
 * point at infinity or a point not on the curve. Caller frees *out with EVP_PKEY_free.
 */
int hpke_serialize_public(uint16_t kem, EVP_PKEY *key, uint8_t *out, size_t *out_len);
int hpke_deserialize_public(uint16_t kem, const uint8_t *in, size_t len, EVP_PKEY **out);
/*
 * SerializePrivateKey / DeserializePrivateKey (big-endian scalar of the curve's field
 * size, or X25519 raw). *out_len as above (HPKE_MAX_SK_LEN suffices). Deserialize
 * requires exactly that length and, for NIST curves, a scalar in [1, order - 1]
 * (FERRY_ERR_KEY otherwise); it computes the public key.
 */
#define HPKE_MAX_SK_LEN 66
int hpke_serialize_private(uint16_t kem, EVP_PKEY *key, uint8_t *out, size_t *out_len);
int hpke_deserialize_private(uint16_t kem, const uint8_t *in, size_t len, EVP_PKEY **out);

/* ---- intermediate values, for the RFC 9180 known-answer tests only ----------------- */

#define HPKE_MAX_SECRET_LEN 64
#define HPKE_MAX_KSC_LEN    (1 + 2 * 64)

/* Holds secrets: wipe with OPENSSL_cleanse() after use. */
struct hpke_trace {
	uint8_t shared_secret[HPKE_MAX_SECRET_LEN];
	size_t shared_secret_len;
	uint8_t key_schedule_context[HPKE_MAX_KSC_LEN];
	size_t key_schedule_context_len;
	uint8_t secret[HPKE_MAX_SECRET_LEN];
	size_t secret_len;
};

/* hpke_setup_base_s() / hpke_setup_base_r(), also filling *trace (which may be NULL). */
int hpke_setup_base_s_trace(const struct hpke_suite *s, EVP_PKEY *pkR, EVP_PKEY *skE,
    const uint8_t *info, size_t info_len, uint8_t *enc, size_t *enc_len, struct hpke_ctx *ctx,
    struct hpke_trace *trace);
int hpke_setup_base_r_trace(const struct hpke_suite *s, EVP_PKEY *skR,
    const uint8_t *enc, size_t enc_len, const uint8_t *info, size_t info_len,
    struct hpke_ctx *ctx, struct hpke_trace *trace);

#endif
