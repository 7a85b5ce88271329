#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "format/sealed.h"
#include "util/err.h"

#define INFO_PAYLOAD "ferry/1 payload"

struct sealed_stream {
	struct crypto_aead *aead;
};

int
sealed_stream_new(const uint8_t file_key[SEALED_FILE_KEY_LEN],
    const uint8_t nonce[SEALED_NONCE_LEN], struct sealed_stream **out)
{
	struct sealed_stream *s = NULL;
	uint8_t key[CRYPTO_AEAD_KEY_LEN];
	int r;

	*out = NULL;
	/* payload key = HKDF-SHA256(ikm = file key, salt = header nonce, info = "ferry/1 payload") */
	r = crypto_hkdf(CRYPTO_SHA256, nonce, SEALED_NONCE_LEN, file_key, SEALED_FILE_KEY_LEN,
	    (const uint8_t *)INFO_PAYLOAD, sizeof(INFO_PAYLOAD) - 1, key, sizeof(key));
	if (r != 0)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((s->aead = crypto_aead_new(key)) == NULL) {
		r = ferry_fail_crypto("payload cipher");
		goto out;
	}
	*out = s;
	s = NULL; /* transferred */
out:
	OPENSSL_cleanse(key, sizeof(key));
	sealed_stream_free(s);
	return r;
}

void
sealed_stream_free(struct sealed_stream *s)
{
	if (s == NULL)
		return;
	crypto_aead_free(s->aead);
	free(s);
}

/* STREAM nonce: 11-byte big-endian chunk counter || 1-byte last-chunk flag. */
static void
chunk_nonce(uint64_t index, bool last, uint8_t nonce[CRYPTO_AEAD_NONCE_LEN])
{
	memset(nonce, 0, CRYPTO_AEAD_NONCE_LEN);
	for (int i = 0; i < 8; i++)
		nonce[10 - i] = (uint8_t)(index >> (8 * i));
	nonce[11] = last ? 0x01 : 0x00;
}

int
sealed_stream_seal(struct sealed_stream *s, uint64_t index, bool last,
    const uint8_t *pt, size_t len, uint8_t *ct)
{
	uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];

	chunk_nonce(index, last, nonce);
	return crypto_aead_ctx_seal(s->aead, nonce, NULL, 0, pt, len, ct);
}

int
sealed_stream_open(struct sealed_stream *s, uint64_t index, bool last,
    const uint8_t *ct, size_t len, uint8_t *pt)
{
	uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];

	if (len < SEALED_TAG_LEN)
		return FERRY_ERR_AUTH;
	chunk_nonce(index, last, nonce);
	return crypto_aead_ctx_open(s->aead, nonce, NULL, 0, ct, len, pt);
}
