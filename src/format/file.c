#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/random.h"
#include "format/sealed.h"
#include "util/err.h"
#include "util/io.h"

/*
 * Reads a stream in pieces of a fixed size, one piece ahead, so that it knows whether the
 * piece it hands out is the last: a piece is last exactly when nothing follows it.
 * Whole pieces land at the start of page-aligned buffers, which keeps the kernel's copies
 * fast.
 */
struct chunk_reader {
	int fd;
	size_t want;        /* bytes per piece */
	size_t cap;         /* bytes allocated per buffer, >= want */
	uint8_t *buf[2];
	size_t len[2];
	int cur;            /* buffer handed out next */
	bool primed;
};

/* Pieces of want bytes in buffers of cap bytes (room to seal in place). */
static int
chunk_reader_init(struct chunk_reader *cr, int fd, size_t want, size_t cap)
{
	memset(cr, 0, sizeof(*cr));
	cr->fd = fd;
	cr->want = want;
	cr->cap = cap;
	if ((cr->buf[0] = io_buffer_new(cap)) == NULL || (cr->buf[1] = io_buffer_new(cap)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	return 0;
}

static void
chunk_reader_free(struct chunk_reader *cr)
{
	for (int i = 0; i < 2; i++) {
		io_buffer_free(cr->buf[i], cr->cap);
		cr->buf[i] = NULL;
	}
}

/* The next piece: *p (valid until the call after next), its length and whether it is the
 * last. A piece shorter than want is always the last. */
static int
chunk_reader_next(struct chunk_reader *cr, uint8_t **p, size_t *len, bool *last)
{
	int r, next = 1 - cr->cur;

	if (!cr->primed) {
		if ((r = io_read_full(cr->fd, cr->buf[cr->cur], cr->want, &cr->len[cr->cur])) != 0)
			return r;
		cr->primed = true;
	}
	cr->len[next] = 0;
	if (cr->len[cr->cur] == cr->want &&
	    (r = io_read_full(cr->fd, cr->buf[next], cr->want, &cr->len[next])) != 0)
		return r;
	*p = cr->buf[cr->cur];
	*len = cr->len[cr->cur];
	*last = cr->len[next] == 0;
	cr->cur = next;
	return 0;
}

static void
report(const struct sealed_progress *progress, const uint8_t *pt, size_t len, uint64_t done)
{
	if (progress == NULL)
		return;
	if (progress->plaintext != NULL)
		progress->plaintext(progress->arg, pt, len);
	if (progress->update != NULL)
		progress->update(progress->arg, done);
}

int
sealed_encrypt_fd(int in_fd, int out_fd, const struct sealed_recipient *rcpts,
    size_t nrcpts, uint32_t chunk_size, const struct sealed_progress *progress)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN], nonce[SEALED_NONCE_LEN];
	struct sealed_stream *stream = NULL;
	struct chunk_reader cr = { .buf = { NULL, NULL } };
	struct fbuf *header = NULL;
	uint64_t index = 0, done = 0;
	uint8_t *buf;
	size_t got;
	bool last = false;
	int r;

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
	r = chunk_reader_init(&cr, in_fd, chunk_size, (size_t)chunk_size + SEALED_TAG_LEN);
	if (r != 0)
		goto out;
	if ((r = io_write_full(out_fd, fbuf_ptr(header), fbuf_len(header))) != 0)
		goto out;
	while (!last) {
		if ((r = chunk_reader_next(&cr, &buf, &got, &last)) != 0)
			goto out;
		done += got;
		report(progress, buf, got, done);
		if ((r = sealed_stream_seal(stream, index, last, buf, got, buf)) != 0)
			goto out;
		if ((r = io_write_full(out_fd, buf, got + SEALED_TAG_LEN)) != 0)
			goto out;
		index++;
	}
out:
	OPENSSL_cleanse(file_key, sizeof(file_key));
	chunk_reader_free(&cr);
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

/*
 * Authenticate the payload that follows header h on in_fd, chunk by chunk, handing each
 * verified chunk (its ciphertext and its plaintext) to sink. *plaintext_len receives the
 * total plaintext size.
 */
static int
payload_open(int in_fd, const struct sealed_header *h, struct sealed_stream *stream,
    int (*sink)(void *arg, const uint8_t *ct, size_t ct_len, const uint8_t *pt, size_t pt_len),
    void *arg, uint64_t *plaintext_len)
{
	struct chunk_reader cr = { .buf = { NULL, NULL } };
	uint8_t *ct, *pt = NULL;
	uint64_t index = 0, offset = h->len, done = 0;
	size_t got, cap;
	bool last = false;
	int r;

	/* Plaintext goes to its own buffer, so a chunk that fails can be examined again for
	 * the message. */
	cap = (size_t)h->chunk_size + SEALED_TAG_LEN;
	if ((r = chunk_reader_init(&cr, in_fd, cap, cap)) != 0)
		goto out;
	if ((pt = io_buffer_new(cap)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (!last) {
		if ((r = chunk_reader_next(&cr, &ct, &got, &last)) != 0)
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
		if ((r = sink(arg, ct, got, pt, got - SEALED_TAG_LEN)) != 0)
			goto out;
		done += got - SEALED_TAG_LEN;
		offset += got;
		index++;
	}
	*plaintext_len = done;
	r = 0;
out:
	io_buffer_free(pt, cap);
	chunk_reader_free(&cr);
	return r;
}

/* Read and parse the header on in_fd into raw/h and derive the payload stream. */
static int
header_open(int in_fd, const struct sealed_identity *ids, size_t nids, struct fbuf **raw,
    struct sealed_header *h, struct sealed_stream **stream)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN];
	int r;

	if ((*raw = fbuf_new(FERRY_MAX_HEADER)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	if ((r = sealed_header_read_fd(in_fd, *raw, h)) != 0)
		return r;
	if ((r = sealed_header_unwrap(h, ids, nids, file_key)) != 0)
		return r;
	r = sealed_stream_new(file_key, h->nonce, stream);
	OPENSSL_cleanse(file_key, sizeof(file_key));
	return r;
}

struct decrypt_sink {
	int out_fd;
	uint64_t done;
	const struct sealed_progress *progress;
};

static int
decrypt_chunk(void *arg, const uint8_t *ct, size_t ct_len, const uint8_t *pt, size_t pt_len)
{
	struct decrypt_sink *ds = arg;
	int r;

	(void)ct;
	(void)ct_len;
	if ((r = io_write_full(ds->out_fd, pt, pt_len)) != 0)
		return r;
	ds->done += pt_len;
	report(ds->progress, pt, pt_len, ds->done);
	return 0;
}

int
sealed_decrypt_fd(int in_fd, int out_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_progress *progress)
{
	struct decrypt_sink ds = { out_fd, 0, progress };
	struct sealed_stream *stream = NULL;
	struct sealed_header h;
	struct fbuf *raw = NULL;
	uint64_t len;
	int r;

	if ((r = header_open(in_fd, ids, nids, &raw, &h, &stream)) == 0)
		r = payload_open(in_fd, &h, stream, decrypt_chunk, &ds, &len);
	sealed_stream_free(stream);
	fbuf_free(raw);
	return r;
}

static int
copy_chunk(void *arg, const uint8_t *ct, size_t ct_len, const uint8_t *pt, size_t pt_len)
{
	(void)pt;
	(void)pt_len;
	return io_write_full(*(int *)arg, ct, ct_len);
}

int
sealed_rewrap_fd(int in_fd, int out_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_recipient *rcpts, size_t nrcpts, bool verify,
    uint64_t *plaintext_len)
{
	struct sealed_stream *stream = NULL;
	struct sealed_header h;
	struct fbuf *raw = NULL, *header = NULL;
	uint8_t *buf = NULL;
	uint64_t len = 0;
	size_t got;
	int r;

	if ((r = header_open(in_fd, ids, nids, &raw, &h, &stream)) != 0)
		goto out;
	if ((header = fbuf_new(FERRY_MAX_HEADER)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = sealed_header_rewrap(&h, ids, nids, rcpts, nrcpts, header)) != 0 ||
	    (r = io_write_full(out_fd, fbuf_ptr(header), fbuf_len(header))) != 0)
		goto out;
	if (verify) {
		r = payload_open(in_fd, &h, stream, copy_chunk, &out_fd, &len);
		goto out;
	}
	/* Unverified: the reader of out_fd authenticates every chunk itself. */
	if ((buf = io_buffer_new(FERRY_DEFAULT_CHUNK)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	do {
		if ((r = io_read_full(in_fd, buf, FERRY_DEFAULT_CHUNK, &got)) != 0 ||
		    (r = io_write_full(out_fd, buf, got)) != 0)
			goto out;
	} while (got == FERRY_DEFAULT_CHUNK);
out:
	if (r == 0 && plaintext_len != NULL)
		*plaintext_len = len;
	io_buffer_free(buf, FERRY_DEFAULT_CHUNK);
	sealed_stream_free(stream);
	fbuf_free(header);
	fbuf_free(raw);
	return r;
}
