#include "store/meta.h"

#include <string.h>

#include <openssl/crypto.h>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "store/objects.h"
#include "util/buf.h"
#include "util/err.h"

#define META_AAD_LABEL "ferry meta v1"
#define META_FIXED (CRYPTO_AEAD_NONCE_LEN + 8 + META_SHA256_LEN + CRYPTO_AEAD_TAG_LEN)

int
meta_key_derive(const struct vault_user_key *uk, struct meta_key *out)
{
	static const char tag_info[] = "ferry meta tag key v1";
	static const char seal_info[] = "ferry meta seal key v1";
	int r;

	if ((r = crypto_hkdf(CRYPTO_SHA256, uk->key_id, sizeof(uk->key_id), uk->key,
	    sizeof(uk->key), (const uint8_t *)tag_info, sizeof(tag_info) - 1, out->tag_key,
	    sizeof(out->tag_key))) != 0 ||
	    (r = crypto_hkdf(CRYPTO_SHA256, uk->key_id, sizeof(uk->key_id), uk->key,
	    sizeof(uk->key), (const uint8_t *)seal_info, sizeof(seal_info) - 1, out->seal_key,
	    sizeof(out->seal_key))) != 0)
		meta_key_clear(out);
	return r;
}

void
meta_key_clear(struct meta_key *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

int
meta_tag(const struct meta_key *k, const char *name, uint8_t tag[META_TAG_LEN])
{
	return crypto_hmac(CRYPTO_SHA256, k->tag_key, sizeof(k->tag_key),
	    (const uint8_t *)name, strlen(name), tag);
}

/* The AAD binding a record to its user and object id. */
static int
meta_aad(const char *user, const char *object, uint8_t *buf, size_t cap, size_t *len)
{
	size_t lu = strlen(user), lo = strlen(object), n = sizeof(META_AAD_LABEL) + lu + 1 + lo;

	if (n > cap)
		return ferry_fail(FERRY_ERR_LIMIT, "metadata: user or object id too long");
	memcpy(buf, META_AAD_LABEL, sizeof(META_AAD_LABEL));      /* with its NUL */
	memcpy(buf + sizeof(META_AAD_LABEL), user, lu + 1);
	memcpy(buf + sizeof(META_AAD_LABEL) + lu + 1, object, lo);
	*len = n;
	return 0;
}

int
meta_seal(const struct meta_key *k, const char *user, const char *object,
    const struct meta_record *rec, uint8_t *out, size_t *len)
{
	uint8_t pt[8 + META_SHA256_LEN + FERRY_MAX_OBJECT_NAME], aad[160];
	size_t nlen = strlen(rec->name), aad_len;
	int r;

	*len = 0;
	if (nlen > FERRY_MAX_OBJECT_NAME)
		return ferry_fail(FERRY_ERR_USAGE, "metadata: name too long");
	if ((r = meta_aad(user, object, aad, sizeof(aad), &aad_len)) != 0 ||
	    (r = crypto_random(out, CRYPTO_AEAD_NONCE_LEN)) != 0)
		return r;
	for (int i = 0; i < 8; i++)
		pt[i] = (uint8_t)(rec->size >> (56 - 8 * i));
	memcpy(pt + 8, rec->sha256, META_SHA256_LEN);
	memcpy(pt + 8 + META_SHA256_LEN, rec->name, nlen);
	r = crypto_aead_seal(k->seal_key, out, aad, aad_len, pt, 8 + META_SHA256_LEN + nlen,
	    out + CRYPTO_AEAD_NONCE_LEN);
	OPENSSL_cleanse(pt, sizeof(pt));
	if (r == 0)
		*len = META_FIXED + nlen;
	return r;
}

int
meta_open(const struct meta_key *k, const char *user, const char *object,
    const uint8_t *in, size_t len, struct meta_record *rec, const char *what)
{
	uint8_t pt[8 + META_SHA256_LEN + FERRY_MAX_OBJECT_NAME], aad[160];
	size_t aad_len, nlen;
	int r;

	memset(rec, 0, sizeof(*rec));
	if (len < META_FIXED || len > META_SEALED_MAX)
		return ferry_fail(FERRY_ERR_DB, "database: %s: sealed metadata of %zu bytes", what,
		    len);
	if ((r = meta_aad(user, object, aad, sizeof(aad), &aad_len)) != 0)
		return r;
	if (crypto_aead_open(k->seal_key, in, aad, aad_len, in + CRYPTO_AEAD_NONCE_LEN,
	    len - CRYPTO_AEAD_NONCE_LEN, pt) != 0)
		return ferry_fail(FERRY_ERR_DB, "database: %s: sealed metadata does not open "
		    "(altered, moved or under another key)", what);
	nlen = len - META_FIXED;
	for (int i = 0; i < 8; i++)
		rec->size = rec->size << 8 | pt[i];
	memcpy(rec->sha256, pt + 8, META_SHA256_LEN);
	memcpy(rec->name, pt + 8 + META_SHA256_LEN, nlen);
	rec->name[nlen] = '\0';
	OPENSSL_cleanse(pt, sizeof(pt));
	if (strlen(rec->name) != nlen || !store_name_valid(rec->name, NULL)) {
		memset(rec, 0, sizeof(*rec));
		return ferry_fail(FERRY_ERR_DB, "database: %s: sealed name is not a valid name",
		    what);
	}
	return 0;
}
