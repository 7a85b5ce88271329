#include <string.h>

#include <openssl/crypto.h>

#include "crypto/kdf.h"
#include "format/sealed.h"
#include "format/stanza.h"
#include "util/err.h"
#include "util/io.h"

#define INFO_HEADER "ferry/1 header"

/* The header MAC key: HKDF-SHA256(ikm = file key, salt = empty, info = "ferry/1 header"). */
static int
header_mac(const uint8_t file_key[SEALED_FILE_KEY_LEN], const uint8_t *p, size_t len,
    uint8_t mac[SEALED_MAC_LEN])
{
	uint8_t key[32];
	int r;

	r = crypto_hkdf(CRYPTO_SHA256, NULL, 0, file_key, SEALED_FILE_KEY_LEN,
	    (const uint8_t *)INFO_HEADER, sizeof(INFO_HEADER) - 1, key, sizeof(key));
	if (r == 0)
		r = crypto_hmac(CRYPTO_SHA256, key, sizeof(key), p, len, mac);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

int
sealed_header_build(const uint8_t file_key[SEALED_FILE_KEY_LEN],
    const uint8_t nonce[SEALED_NONCE_LEN], uint32_t chunk_size,
    const struct sealed_recipient *rcpts, size_t nrcpts, struct fbuf *out)
{
	uint8_t mac[SEALED_MAC_LEN];
	size_t start = fbuf_len(out);
	int r;

	if (chunk_size < FERRY_MIN_CHUNK || chunk_size > FERRY_MAX_CHUNK)
		return ferry_fail(FERRY_ERR_USAGE, "chunk size %u outside %u..%u", chunk_size,
		    FERRY_MIN_CHUNK, FERRY_MAX_CHUNK);
	if (nrcpts == 0 || nrcpts > FERRY_MAX_STANZAS)
		return ferry_fail(FERRY_ERR_USAGE, "need 1 to %u recipients, got %zu",
		    FERRY_MAX_STANZAS, nrcpts);
	for (size_t i = 0; i < nrcpts; i++) {
		if (rcpts[i].kind == SEALED_PASSPHRASE && nrcpts != 1)
			return ferry_fail(FERRY_ERR_USAGE,
			    "a passphrase cannot be combined with other recipients");
	}
	if ((r = fbuf_put(out, SEALED_MAGIC, SEALED_MAGIC_LEN)) != 0 ||
	    (r = fbuf_put_u16(out, SEALED_VERSION)) != 0 ||
	    (r = fbuf_put_u32(out, chunk_size)) != 0 ||
	    (r = fbuf_put(out, nonce, SEALED_NONCE_LEN)) != 0 ||
	    (r = fbuf_put_u16(out, (uint16_t)nrcpts)) != 0)
		return ferry_fail(r, "header: too large to encode");
	for (size_t i = 0; i < nrcpts; i++) {
		if ((r = stanza_wrap(&rcpts[i], file_key, out)) != 0)
			return r;
	}
	if (fbuf_len(out) - start + SEALED_MAC_LEN > FERRY_MAX_HEADER)
		return ferry_fail(FERRY_ERR_LIMIT, "header: larger than %u bytes", FERRY_MAX_HEADER);
	if ((r = header_mac(file_key, fbuf_ptr(out) + start, fbuf_len(out) - start, mac)) != 0)
		return r;
	if ((r = fbuf_put(out, mac, sizeof(mac))) != 0)
		return ferry_fail(r, "header: too large to encode");
	return 0;
}

/* Report that more input is needed: *need is the total length to have before retrying. */
static int
need_more(size_t *need, size_t total)
{
	if (total > FERRY_MAX_HEADER)
		return ferry_fail(FERRY_ERR_LIMIT, "header: longer than the %u-byte limit",
		    FERRY_MAX_HEADER);
	*need = total;
	return ferry_fail(FERRY_ERR_TRUNCATED, "header: truncated (%zu bytes needed)", total);
}

int
sealed_header_parse(const uint8_t *p, size_t len, struct sealed_header *h, size_t *need)
{
	struct freader rd;
	struct sealed_stanza *s;
	const uint8_t *magic;
	uint16_t version, count;
	bool has_scrypt = false;
	size_t off;
	int r;

	memset(h, 0, sizeof(*h));
	*need = 0;
	freader_init(&rd, p, len);
	if (len < SEALED_FIXED_LEN) {
		/* Say early when the bytes we do have are not ours at all. */
		if (len > 0 && memcmp(p, SEALED_MAGIC, len < SEALED_MAGIC_LEN ? len : SEALED_MAGIC_LEN) != 0)
			return ferry_fail(FERRY_ERR_FORMAT, "not a ferry sealed file (bad magic at offset 0)");
		return need_more(need, SEALED_FIXED_LEN);
	}
	(void)freader_get_view(&rd, SEALED_MAGIC_LEN, &magic);
	if (memcmp(magic, SEALED_MAGIC, SEALED_MAGIC_LEN) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "not a ferry sealed file (bad magic at offset 0)");
	(void)freader_get_u16(&rd, &version);
	if (version != SEALED_VERSION)
		return ferry_fail(FERRY_ERR_UNSUPPORTED, "header: version %u at offset 6 is not "
		    "supported (this ferry reads version %u)", version, SEALED_VERSION);
	(void)freader_get_u32(&rd, &h->chunk_size);
	if (h->chunk_size < FERRY_MIN_CHUNK || h->chunk_size > FERRY_MAX_CHUNK)
		return ferry_fail(FERRY_ERR_LIMIT, "header: chunk size %u at offset 8 is outside "
		    "the allowed %u..%u", h->chunk_size, FERRY_MIN_CHUNK, FERRY_MAX_CHUNK);
	(void)freader_get_bytes(&rd, h->nonce, SEALED_NONCE_LEN);
	(void)freader_get_u16(&rd, &count);
	if (count == 0 || count > FERRY_MAX_STANZAS)
		return ferry_fail(FERRY_ERR_LIMIT, "header: stanza count %u at offset 28 is outside "
		    "1..%u", count, FERRY_MAX_STANZAS);
	for (uint16_t i = 0; i < count; i++) {
		s = &h->stanzas[i];
		s->offset = off = freader_offset(&rd);
		if ((r = freader_get_u8(&rd, &s->type)) != 0 || (r = freader_get_u16(&rd, &s->len)) != 0)
			return need_more(need, off + 3);
		if (s->len == 0 || s->len > FERRY_MAX_STANZA_BODY)
			return ferry_fail(FERRY_ERR_LIMIT, "header: stanza %u at offset %zu: body length "
			    "%u is outside 1..%u", i, off, s->len, FERRY_MAX_STANZA_BODY);
		if (freader_get_view(&rd, s->len, &s->body) != 0)
			return need_more(need, off + 3 + s->len);
		if ((r = stanza_check(s)) != 0)
			return r;
		if (s->type == SEALED_STANZA_SCRYPT)
			has_scrypt = true;
	}
	h->nstanzas = count;
	/* Like age: a passphrase file has exactly one stanza, so no other key holder could
	 * have produced or be able to alter a file its author believes is passphrase-only. */
	if (has_scrypt && count != 1)
		return ferry_fail(FERRY_ERR_FORMAT, "header: a scrypt stanza must be the only stanza "
		    "(found %u)", count);
	h->mac_offset = freader_offset(&rd);
	if (freader_remaining(&rd) < SEALED_MAC_LEN)
		return need_more(need, h->mac_offset + SEALED_MAC_LEN);
	h->len = h->mac_offset + SEALED_MAC_LEN;
	h->bytes = p;
	return 0;
}

int
sealed_header_read_fd(int fd, struct fbuf *raw, struct sealed_header *h)
{
	size_t need = SEALED_MAGIC_LEN, have, got;
	uint8_t *dst;
	int r;

	fbuf_reset(raw);
	/* Grow exactly to what the parser asks for, so no payload byte is consumed. */
	for (;;) {
		have = fbuf_len(raw);
		if (need > have) {
			if ((r = fbuf_reserve(raw, need - have, &dst)) != 0)
				return ferry_fail(r, "header: longer than %zu bytes", have);
			if ((r = io_read_full(fd, dst, need - have, &got)) != 0)
				return r;
			if (got < need - have) {
				if (have + got == 0)
					return ferry_fail(FERRY_ERR_TRUNCATED,
					    "empty input (not a ferry sealed file)");
				r = sealed_header_parse(fbuf_ptr(raw), have + got, h, &need);
				if (r != FERRY_ERR_TRUNCATED)
					return r != 0 ? r : FERRY_ERR_INTERNAL;
				return ferry_fail(FERRY_ERR_TRUNCATED, "header: truncated at offset %zu "
				    "(input ends inside the header)", have + got);
			}
		}
		r = sealed_header_parse(fbuf_ptr(raw), fbuf_len(raw), h, &need);
		if (r != FERRY_ERR_TRUNCATED)
			return r;
	}
}

int
sealed_header_unwrap(const struct sealed_header *h, const struct sealed_identity *ids,
    size_t nids, uint8_t file_key[SEALED_FILE_KEY_LEN])
{
	uint8_t mac[SEALED_MAC_LEN];
	bool passphrase_file, have_passphrase = false, wrong_passphrase = false;
	int r = FERRY_ERR_NO_IDENTITY;

	passphrase_file = h->nstanzas == 1 && h->stanzas[0].type == SEALED_STANZA_SCRYPT;
	for (size_t i = 0; i < nids && r != 0; i++) {
		if (ids[i].kind == SEALED_PASSPHRASE)
			have_passphrase = true;
		for (size_t j = 0; j < h->nstanzas && r != 0; j++) {
			r = stanza_unwrap(&h->stanzas[j], &ids[i], file_key);
			if (r == FERRY_ERR_PASSPHRASE)
				wrong_passphrase = true;
			else if (r != 0 && r != FERRY_ERR_NO_IDENTITY)
				return r;
		}
	}
	if (r != 0) {
		if (wrong_passphrase)
			return ferry_fail(FERRY_ERR_PASSPHRASE, "wrong passphrase (or the header "
			    "was modified)");
		if (passphrase_file && !have_passphrase)
			return ferry_fail(FERRY_ERR_NO_IDENTITY, "the file is encrypted with a "
			    "passphrase; decrypt it with a passphrase, not a key");
		if (!passphrase_file && have_passphrase)
			return ferry_fail(FERRY_ERR_NO_IDENTITY, "the file is encrypted to keys, "
			    "not a passphrase; decrypt it with -i KEY");
		return ferry_fail(FERRY_ERR_NO_IDENTITY, "no identity opens any of the %zu "
		    "recipient stanzas (wrong key, or the header was modified)", h->nstanzas);
	}
	if ((r = header_mac(file_key, h->bytes, h->mac_offset, mac)) != 0)
		goto fail;
	if (CRYPTO_memcmp(mac, h->bytes + h->mac_offset, SEALED_MAC_LEN) != 0) {
		r = ferry_fail(FERRY_ERR_AUTH, "header: MAC at offset %zu does not verify "
		    "(the header was modified)", h->mac_offset);
		goto fail;
	}
	return 0;
fail:
	OPENSSL_cleanse(file_key, SEALED_FILE_KEY_LEN);
	return r;
}

int
sealed_header_open(const struct sealed_header *h, const struct sealed_identity *ids,
    size_t nids, struct sealed_stream **out)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN];
	int r;

	*out = NULL;
	if ((r = sealed_header_unwrap(h, ids, nids, file_key)) != 0)
		return r;
	r = sealed_stream_new(file_key, h->nonce, out);
	OPENSSL_cleanse(file_key, sizeof(file_key));
	return r;
}
