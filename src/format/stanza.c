#include "format/stanza.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "crypto/aead.h"
#include "crypto/hpke.h"
#include "crypto/pwhash.h"
#include "crypto/random.h"
#include "crypto/rsa_oaep.h"
#include "util/err.h"

/* Domain-separation strings: a wrapped file key is bound to its stanza kind. */
#define INFO_X25519   "ferry/1 x25519"
#define INFO_P384     "ferry/1 p384"
#define LABEL_RSA     "ferry/1 rsa-oaep"
#define SALT_SCRYPT   "ferry/1 scrypt"
#define AAD_KEY_ID    "ferry/1 key-id"
#define SCRYPT_R      8
#define SCRYPT_P      1

static const struct hpke_suite suite_x25519 = {
	HPKE_KEM_X25519_SHA256, HPKE_KDF_SHA256, HPKE_AEAD_AES256GCM
};
static const struct hpke_suite suite_p384 = {
	HPKE_KEM_P384_SHA384, HPKE_KDF_SHA384, HPKE_AEAD_AES256GCM
};

static const uint8_t zero_nonce[CRYPTO_AEAD_NONCE_LEN];

/* scrypt(passphrase, "ferry/1 scrypt" || salt) -> 32-byte wrapping key. */
static int
scrypt_wrap_key(const uint8_t *pass, size_t pass_len, const uint8_t salt[STANZA_SCRYPT_SALT_LEN],
    unsigned log2n, uint8_t key[CRYPTO_AEAD_KEY_LEN])
{
	uint8_t full_salt[sizeof(SALT_SCRYPT) - 1 + STANZA_SCRYPT_SALT_LEN];

	memcpy(full_salt, SALT_SCRYPT, sizeof(SALT_SCRYPT) - 1);
	memcpy(full_salt + sizeof(SALT_SCRYPT) - 1, salt, STANZA_SCRYPT_SALT_LEN);
	return crypto_scrypt(pass, pass_len, full_salt, sizeof(full_salt), log2n, SCRYPT_R,
	    SCRYPT_P, key, CRYPTO_AEAD_KEY_LEN);
}

/* The key-id stanza's AAD: label || key id, so a wrapped key cannot move between ids. */
static void
key_id_aad(const uint8_t key_id[SEALED_KEY_ID_LEN], uint8_t *aad)
{
	memcpy(aad, AAD_KEY_ID, sizeof(AAD_KEY_ID) - 1);
	memcpy(aad + sizeof(AAD_KEY_ID) - 1, key_id, SEALED_KEY_ID_LEN);
}

static int
put_stanza(struct fbuf *out, uint8_t type, const uint8_t *body, size_t len)
{
	int r;

	if ((r = fbuf_put_u8(out, type)) != 0 || (r = fbuf_put_u16(out, (uint16_t)len)) != 0 ||
	    (r = fbuf_put(out, body, len)) != 0)
		return ferry_fail(r, "header: too large to encode");
	return 0;
}

static int
wrap_public(EVP_PKEY *key, const uint8_t file_key[SEALED_FILE_KEY_LEN], struct fbuf *out)
{
	uint8_t body[STANZA_RSA_MAX_LEN];
	const struct hpke_suite *suite;
	const char *info;
	size_t enc_len, len;
	uint16_t kem;
	uint8_t type;
	int r;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
		len = sizeof(body);
		r = crypto_rsa_oaep_encrypt(key, CRYPTO_RSA_MIN_BITS, (const uint8_t *)LABEL_RSA,
		    sizeof(LABEL_RSA) - 1, file_key, SEALED_FILE_KEY_LEN, body, &len);
		if (r != 0)
			return r;
		return put_stanza(out, SEALED_STANZA_RSA_OAEP, body, len);
	}
	if (hpke_kem_for_key(key, &kem) != 0 ||
	    (kem != HPKE_KEM_X25519_SHA256 && kem != HPKE_KEM_P384_SHA384))
		return ferry_fail(FERRY_ERR_KEY, "unsupported recipient key type (use P-384, "
		    "X25519 or RSA of at least %d bits)", CRYPTO_RSA_MIN_BITS);
	if (kem == HPKE_KEM_X25519_SHA256) {
		suite = &suite_x25519;
		info = INFO_X25519;
		type = SEALED_STANZA_X25519;
		len = STANZA_X25519_LEN;
	} else {
		suite = &suite_p384;
		info = INFO_P384;
		type = SEALED_STANZA_P384;
		len = STANZA_P384_LEN;
	}
	enc_len = hpke_enc_len(kem);
	r = hpke_seal_base(suite, key, (const uint8_t *)info, strlen(info), NULL, 0,
	    file_key, SEALED_FILE_KEY_LEN, body, body + enc_len);
	if (r != 0)
		return r;
	return put_stanza(out, type, body, len);
}

int
stanza_wrap(const struct sealed_recipient *rcpt, const uint8_t file_key[SEALED_FILE_KEY_LEN],
    struct fbuf *out)
{
	uint8_t body[STANZA_KEY_ID_LEN > STANZA_SCRYPT_LEN ? STANZA_KEY_ID_LEN : STANZA_SCRYPT_LEN];
	uint8_t key[CRYPTO_AEAD_KEY_LEN];
	uint8_t aad[sizeof(AAD_KEY_ID) - 1 + SEALED_KEY_ID_LEN];
	int r;

	switch (rcpt->kind) {
	case SEALED_PUBLIC_KEY:
		return wrap_public(rcpt->key, file_key, out);
	case SEALED_PASSPHRASE:
		if (rcpt->log2n < FERRY_SCRYPT_MIN_LOG2N || rcpt->log2n > FERRY_SCRYPT_MAX_LOG2N)
			return ferry_fail(FERRY_ERR_USAGE, "scrypt work factor %u outside %u..%u",
			    rcpt->log2n, FERRY_SCRYPT_MIN_LOG2N, FERRY_SCRYPT_MAX_LOG2N);
		if ((r = crypto_random(body, STANZA_SCRYPT_SALT_LEN)) != 0)
			return r;
		body[STANZA_SCRYPT_LOG2N_OFFSET] = (uint8_t)rcpt->log2n;
		r = scrypt_wrap_key(rcpt->secret, rcpt->secret_len, body, rcpt->log2n, key);
		if (r == 0)
			r = crypto_aead_seal(key, zero_nonce, NULL, 0, file_key, SEALED_FILE_KEY_LEN,
			    body + STANZA_SCRYPT_SALT_LEN + 1);
		OPENSSL_cleanse(key, sizeof(key));
		if (r != 0)
			return r;
		return put_stanza(out, SEALED_STANZA_SCRYPT, body, STANZA_SCRYPT_LEN);
	case SEALED_SYMMETRIC:
		if (rcpt->secret_len != CRYPTO_AEAD_KEY_LEN)
			return ferry_fail(FERRY_ERR_KEY, "key-id recipient: key must be %d bytes",
			    CRYPTO_AEAD_KEY_LEN);
		memcpy(body, rcpt->key_id, SEALED_KEY_ID_LEN);
		if ((r = crypto_random(body + SEALED_KEY_ID_LEN, CRYPTO_AEAD_NONCE_LEN)) != 0)
			return r;
		key_id_aad(rcpt->key_id, aad);
		r = crypto_aead_seal(rcpt->secret, body + SEALED_KEY_ID_LEN, aad, sizeof(aad),
		    file_key, SEALED_FILE_KEY_LEN, body + SEALED_KEY_ID_LEN + CRYPTO_AEAD_NONCE_LEN);
		if (r != 0)
			return r;
		return put_stanza(out, SEALED_STANZA_KEY_ID, body, STANZA_KEY_ID_LEN);
	}
	return ferry_fail(FERRY_ERR_INTERNAL, "unknown recipient kind %d", (int)rcpt->kind);
}

int
stanza_check(const struct sealed_stanza *s)
{
	size_t want = 0;
	unsigned log2n;

	switch (s->type) {
	case SEALED_STANZA_X25519: want = STANZA_X25519_LEN; break;
	case SEALED_STANZA_P384:   want = STANZA_P384_LEN; break;
	case SEALED_STANZA_SCRYPT: want = STANZA_SCRYPT_LEN; break;
	case SEALED_STANZA_KEY_ID: want = STANZA_KEY_ID_LEN; break;
	case SEALED_STANZA_RSA_OAEP:
		if (s->len < STANZA_RSA_MIN_LEN || s->len > STANZA_RSA_MAX_LEN)
			return ferry_fail(FERRY_ERR_FORMAT, "header: rsa-oaep stanza at offset %zu: "
			    "length %u outside %u..%u", s->offset, s->len, STANZA_RSA_MIN_LEN,
			    STANZA_RSA_MAX_LEN);
		return 0;
	default:
		return 0; /* unknown kinds are skipped; the MAC still covers them */
	}
	if (s->len != want)
		return ferry_fail(FERRY_ERR_FORMAT, "header: stanza type %u at offset %zu: "
		    "length %u, expected %zu", s->type, s->offset, s->len, want);
	if (s->type == SEALED_STANZA_SCRYPT) {
		log2n = s->body[STANZA_SCRYPT_LOG2N_OFFSET];
		if (log2n < FERRY_SCRYPT_MIN_LOG2N || log2n > FERRY_SCRYPT_MAX_LOG2N)
			return ferry_fail(FERRY_ERR_LIMIT, "header: scrypt work factor 2^%u at offset "
			    "%zu is outside the allowed 2^%u..2^%u", log2n,
			    s->offset + 3 + STANZA_SCRYPT_LOG2N_OFFSET, FERRY_SCRYPT_MIN_LOG2N,
			    FERRY_SCRYPT_MAX_LOG2N);
	}
	return 0;
}

static int
unwrap_hpke(const struct sealed_stanza *s, EVP_PKEY *key, uint8_t file_key[SEALED_FILE_KEY_LEN])
{
	const struct hpke_suite *suite;
	const char *info;
	uint16_t kem, want;
	size_t enc_len;

	if (s->type == SEALED_STANZA_X25519) {
		suite = &suite_x25519;
		info = INFO_X25519;
		want = HPKE_KEM_X25519_SHA256;
	} else {
		suite = &suite_p384;
		info = INFO_P384;
		want = HPKE_KEM_P384_SHA384;
	}
	if (hpke_kem_for_key(key, &kem) != 0 || kem != want)
		return FERRY_ERR_NO_IDENTITY;
	enc_len = hpke_enc_len(kem);
	if (hpke_open_base(suite, key, s->body, enc_len, (const uint8_t *)info, strlen(info),
	    NULL, 0, s->body + enc_len, s->len - enc_len, file_key) != 0)
		return FERRY_ERR_NO_IDENTITY;
	return 0;
}

static int
unwrap_rsa(const struct sealed_stanza *s, EVP_PKEY *key, uint8_t file_key[SEALED_FILE_KEY_LEN])
{
	uint8_t pt[STANZA_RSA_MAX_LEN];
	size_t pt_len = sizeof(pt);
	int r = FERRY_ERR_NO_IDENTITY;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || (size_t)EVP_PKEY_get_size(key) != s->len)
		return FERRY_ERR_NO_IDENTITY;
	if (crypto_rsa_oaep_decrypt(key, (const uint8_t *)LABEL_RSA, sizeof(LABEL_RSA) - 1,
	    s->body, s->len, pt, &pt_len) == 0 && pt_len == SEALED_FILE_KEY_LEN) {
		memcpy(file_key, pt, SEALED_FILE_KEY_LEN);
		r = 0;
	}
	OPENSSL_cleanse(pt, sizeof(pt));
	return r;
}

int
stanza_unwrap(const struct sealed_stanza *s, const struct sealed_identity *id,
    uint8_t file_key[SEALED_FILE_KEY_LEN])
{
	uint8_t key[CRYPTO_AEAD_KEY_LEN];
	uint8_t aad[sizeof(AAD_KEY_ID) - 1 + SEALED_KEY_ID_LEN];
	int r = FERRY_ERR_NO_IDENTITY;

	switch (s->type) {
	case SEALED_STANZA_X25519:
	case SEALED_STANZA_P384:
		if (id->kind == SEALED_PUBLIC_KEY)
			r = unwrap_hpke(s, id->key, file_key);
		break;
	case SEALED_STANZA_RSA_OAEP:
		if (id->kind == SEALED_PUBLIC_KEY)
			r = unwrap_rsa(s, id->key, file_key);
		break;
	case SEALED_STANZA_SCRYPT:
		if (id->kind != SEALED_PASSPHRASE)
			break;
		r = scrypt_wrap_key(id->secret, id->secret_len, s->body,
		    s->body[STANZA_SCRYPT_LOG2N_OFFSET], key);
		if (r != 0)
			break;
		if (crypto_aead_open(key, zero_nonce, NULL, 0, s->body + STANZA_SCRYPT_SALT_LEN + 1,
		    SEALED_FILE_KEY_LEN + SEALED_TAG_LEN, file_key) != 0)
			r = FERRY_ERR_PASSPHRASE;
		OPENSSL_cleanse(key, sizeof(key));
		break;
	case SEALED_STANZA_KEY_ID:
		if (id->kind != SEALED_SYMMETRIC || id->secret_len != CRYPTO_AEAD_KEY_LEN ||
		    CRYPTO_memcmp(s->body, id->key_id, SEALED_KEY_ID_LEN) != 0)
			break;
		key_id_aad(id->key_id, aad);
		r = crypto_aead_open(id->secret, s->body + SEALED_KEY_ID_LEN, aad, sizeof(aad),
		    s->body + SEALED_KEY_ID_LEN + CRYPTO_AEAD_NONCE_LEN,
		    SEALED_FILE_KEY_LEN + SEALED_TAG_LEN, file_key) == 0 ? 0 : FERRY_ERR_NO_IDENTITY;
		break;
	}
	if (r != 0)
		OPENSSL_cleanse(file_key, SEALED_FILE_KEY_LEN);
	return r;
}
