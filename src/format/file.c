#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/random.h"
#include "format/sealed.h"
#include "util/err.h"
#include "util/io.h"

/*
 * Fill buf with up to want bytes, starting with a byte held back from the last call.
 * Then look one byte ahead to learn whether this is the last chunk: a chunk is final
 * exactly when no byte follows it. The look-ahead byte is kept in *carry for next time.
 */
static int
read_chunk(int fd, uint8_t *buf, size_t want, int *carry, size_t *got, bool *last)
{
	size_t n, off = 0, more;
	uint8_t next;
	int r;

	if (*carry >= 0) {
		buf[0] = (uint8_t)*carry;
		off = 1;
		*carry = -1;
	}
	if ((r = io_read_full(fd, buf + off, want - off, &n)) != 0)
		return r;
	*got = off + n;
	*last = true;
	if (*got == want) {
		if ((r = io_read_full(fd, &next, 1, &more)) != 0)
			return r;
		if (more == 1) {
			*carry = next;
			*last = false;
		}
	}
	return 0;
}

static void
report(const struct sealed_progress *progress, uint64_t done)
{
	if (progress != NULL && progress->update != NULL)
		progress->update(progress->arg, done);
}

int
sealed_encrypt_fd(int in_fd, int out_fd, const struct sealed_recipient *rcpts,
    size_t nrcpts, uint32_t chunk_size, const struct sealed_progress *progress)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN], nonce[SEALED_NONCE_LEN];
	struct sealed_stream *stream = NULL;
	struct fbuf *header = NULL;
	uint8_t *buf = NULL;
	uint64_t index = 0, done = 0;
	int carry = -1, r;
	size_t got;
	bool last = false;

	if ((r = crypto_random(file_key, sizeof(file_key))) != 0 ||
	    (r = crypto_random(nonce, sizeof(nonce))) != 0)
		goto out;
	if ((header = fbuf_new(FERRY_MAX_HEADER)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = sealed_header_build(file_key, nonce, chunk_size, rcpts, nrcpts, header)) != 0)
		goto out;
	if ((r = sealed_stream_new(file_key, nonce, &stream)) != 0)
		goto out;
	OPENSSL_cleanse(file_key, sizeof(file_key));
	if ((buf = malloc((size_t)chunk_size + SEALED_TAG_LEN)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = io_write_full(out_fd, fbuf_ptr(header), fbuf_len(header))) != 0)
		goto out;
	while (!last) {
		if ((r = read_chunk(in_fd, buf, chunk_size, &carry, &got, &last)) != 0)
			goto out;
		if ((r = sealed_stream_seal(stream, index, last, buf, got, buf)) != 0)
			goto out;
		if ((r = io_write_full(out_fd, buf, got + SEALED_TAG_LEN)) != 0)
			goto out;
		done += got;
		index++;
		report(progress, done);
	}
out:
	OPENSSL_cleanse(file_key, sizeof(file_key));
	if (buf != NULL)
		OPENSSL_clear_free(buf, (size_t)chunk_size + SEALED_TAG_LEN);
	sealed_stream_free(stream);
	fbuf_free(header);
	return r;
}

/*
 * A chunk failed to open. Try it once more with the other last-chunk flag to tell the
 * user what happened: a stream cut at a chunk boundary, data appended after the end, or
 * a chunk modified, reordered or taken from another file.
 */
static int
explain_chunk_failure(struct sealed_stream *stream, uint64_t index, bool last,
    const uint8_t *ct, size_t len, uint8_t *scratch, uint64_t offset)
{
	if (len < SEALED_TAG_LEN)
		return ferry_fail(FERRY_ERR_TRUNCATED, "chunk %llu at offset %llu: truncated "
		    "(%zu bytes, shorter than its tag)", (unsigned long long)index,
		    (unsigned long long)offset, len);
	if (sealed_stream_open(stream, index, !last, ct, len, scratch) == 0) {
		if (last)
			return ferry_fail(FERRY_ERR_TRUNCATED, "truncated: input ends after chunk %llu "
			    "at offset %llu, which is not the final chunk",
			    (unsigned long long)index, (unsigned long long)(offset + len));
		return ferry_fail(FERRY_ERR_FORMAT, "trailing data after the final chunk "
		    "(chunk %llu ends at offset %llu)", (unsigned long long)index,
		    (unsigned long long)(offset + len));
	}
	return ferry_fail(FERRY_ERR_AUTH, "chunk %llu at offset %llu does not verify "
	    "(modified, truncated, reordered or from another file)", (unsigned long long)index,
	    (unsigned long long)offset);
}

int
sealed_decrypt_fd(int in_fd, int out_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_progress *progress)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN];
	struct sealed_stream *stream = NULL;
	struct sealed_header h;
	struct fbuf *raw = NULL;
	uint8_t *ct = NULL, *pt = NULL;
	uint64_t index = 0, offset, done = 0;
	size_t got, cap = 0;
	int carry = -1, r;
	bool last = false;

	if ((raw = fbuf_new(FERRY_MAX_HEADER)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = sealed_header_read_fd(in_fd, raw, &h)) != 0)
		goto out;
	if ((r = sealed_header_unwrap(&h, ids, nids, file_key)) != 0)
		goto out;
	r = sealed_stream_new(file_key, h.nonce, &stream);
	OPENSSL_cleanse(file_key, sizeof(file_key));
	if (r != 0)
		goto out;
	/* Separate buffers, so a chunk that fails can be examined again for the message. */
	cap = (size_t)h.chunk_size + SEALED_TAG_LEN;
	if ((ct = malloc(cap)) == NULL || (pt = malloc(cap)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	offset = h.len;
	while (!last) {
		if ((r = read_chunk(in_fd, ct, cap, &carry, &got, &last)) != 0)
			goto out;
		if (got == 0) {
			r = ferry_fail(FERRY_ERR_TRUNCATED, "truncated: no payload after the header "
			    "(offset %llu)", (unsigned long long)offset);
			goto out;
		}
		if (sealed_stream_open(stream, index, last, ct, got, pt) != 0) {
			r = explain_chunk_failure(stream, index, last, ct, got, pt, offset);
			goto out;
		}
		/* The writer emits an empty chunk only for an empty file; anything else was forged
		 * by someone holding the key, or by a broken writer. */
		if (last && got == SEALED_TAG_LEN && index > 0) {
			r = ferry_fail(FERRY_ERR_FORMAT, "chunk %llu at offset %llu: empty final chunk",
			    (unsigned long long)index, (unsigned long long)offset);
			goto out;
		}
		if ((r = io_write_full(out_fd, pt, got - SEALED_TAG_LEN)) != 0)
			goto out;
		done += got - SEALED_TAG_LEN;
		offset += got;
		index++;
		report(progress, done);
	}
	r = 0;
out:
	if (pt != NULL)
		OPENSSL_clear_free(pt, cap);
	free(ct);
	sealed_stream_free(stream);
	fbuf_free(raw);
	return r;
}
