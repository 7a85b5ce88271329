#include <openssl/crypto.h>

#include "format/sealed.h"
#include "util/err.h"

int
sealed_header_rewrap(const struct sealed_header *h, const struct sealed_identity *ids,
    size_t nids, const struct sealed_recipient *rcpts, size_t nrcpts, struct fbuf *out)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN];
	struct fbuf *hdr = NULL;
	int r;

	/* Built aside, so that out is untouched unless the whole header was made. */
	if ((hdr = fbuf_new(FERRY_MAX_HEADER)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	if ((r = sealed_header_unwrap(h, ids, nids, file_key)) != 0)
		goto out;
	r = sealed_header_build(file_key, h->nonce, h->chunk_size, rcpts, nrcpts, hdr);
	OPENSSL_cleanse(file_key, sizeof(file_key));
	if (r != 0)
		goto out;
	if ((r = fbuf_put(out, fbuf_ptr(hdr), fbuf_len(hdr))) != 0)
		r = ferry_fail(r, "header: too large for the output buffer");
out:
	fbuf_free(hdr);
	return r;
}
