#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

/* Chunk size and first chunk of a continuation: the chunk size within the format's
 * bounds, and first * chunk_size representable (progress counts plaintext bytes). */
static int
check_from(uint32_t chunk_size, uint64_t first)
{
	if (chunk_size < FERRY_MIN_CHUNK || chunk_size > FERRY_MAX_CHUNK)
		return ferry_fail(FERRY_ERR_USAGE, "chunk size %u outside %u..%u", chunk_size,
		    FERRY_MIN_CHUNK, FERRY_MAX_CHUNK);
	if (first > UINT64_MAX / ((uint64_t)chunk_size + SEALED_TAG_LEN))
		return ferry_fail(FERRY_ERR_LIMIT, "chunk %llu: beyond the largest stream",
		    (unsigned long long)first);
	return 0;
}

int
sealed_encrypt_from(int in_fd, int out_fd, struct sealed_stream *stream,
    uint32_t chunk_size, uint64_t first, const struct sealed_progress *progress)
{
	struct chunk_reader cr = { .buf = { NULL, NULL } };
	uint64_t index = first, done;
	uint8_t *buf;
	size_t got;
	bool last = false;
	int r;

	if ((r = check_from(chunk_size, first)) != 0)
		return r;
	done = first * chunk_size;
	r = chunk_reader_init(&cr, in_fd, chunk_size, (size_t)chunk_size + SEALED_TAG_LEN);
	if (r != 0)
		goto out;
	while (!last) {
		if ((r = chunk_reader_next(&cr, &buf, &got, &last)) != 0)
			goto out;
		/* Only an empty plaintext has an empty (final) chunk, and it is chunk 0. */
		if (got == 0 && index > 0) {
			r = ferry_fail(FERRY_ERR_IO, "input ended at a chunk boundary it did not end "
			    "at before (plaintext offset %llu, chunk %llu)",
			    (unsigned long long)done, (unsigned long long)index);
			goto out;
		}
		done += got;
		report(progress, buf, got, done);
		if ((r = sealed_stream_seal(stream, index, last, buf, got, buf)) != 0)
			goto out;
		if ((r = io_write_full(out_fd, buf, got + SEALED_TAG_LEN)) != 0)
			goto out;
		index++;
	}
out:
	chunk_reader_free(&cr);
	return r;
}

int
sealed_encrypt_fd(int in_fd, int out_fd, const struct sealed_recipient *rcpts,
    size_t nrcpts, uint32_t chunk_size, const struct sealed_progress *progress)
{
	uint8_t file_key[SEALED_FILE_KEY_LEN], nonce[SEALED_NONCE_LEN];
	struct sealed_stream *stream = NULL;
	struct fbuf *header = NULL;
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
	if ((r = io_write_full(out_fd, fbuf_ptr(header), fbuf_len(header))) != 0)
		goto out;
	r = sealed_encrypt_from(in_fd, out_fd, stream, chunk_size, 0, progress);
out:
	OPENSSL_cleanse(file_key, sizeof(file_key));
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
 * Authenticate chunks first.. of a stream read from in_fd, in order, handing each verified
 * chunk (its ciphertext and its plaintext) to sink. offset is where chunk first starts in
 * the input (for messages), after_header whether a header precedes it there.
 * *plaintext_len receives the plaintext size of the chunks read.
 */
static int
payload_open(int in_fd, struct sealed_stream *stream, uint32_t chunk_size, uint64_t first,
    uint64_t offset, bool after_header,
    int (*sink)(void *arg, const uint8_t *ct, size_t ct_len, const uint8_t *pt, size_t pt_len),
    void *arg, uint64_t *plaintext_len)
{
	struct chunk_reader cr = { .buf = { NULL, NULL } };
	uint8_t *ct, *pt = NULL;
	uint64_t index = first, done = 0;
	size_t got, cap;
	bool last = false;
	int r;

	if ((r = check_from(chunk_size, first)) != 0)
		return r;
	/* Plaintext goes to its own buffer, so a chunk that fails can be examined again for
	 * the message. */
	cap = (size_t)chunk_size + SEALED_TAG_LEN;
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
			if (index == 0 && after_header)
				r = ferry_fail(FERRY_ERR_TRUNCATED, "truncated: no payload after the "
				    "header (offset %llu)", (unsigned long long)offset);
			else
				r = ferry_fail(FERRY_ERR_TRUNCATED, "truncated: input ends before "
				    "chunk %llu at offset %llu", (unsigned long long)index,
				    (unsigned long long)offset);
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
	int r;

	if ((*raw = fbuf_new(FERRY_MAX_HEADER)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	if ((r = sealed_header_read_fd(in_fd, *raw, h)) != 0)
		return r;
	return sealed_header_open(h, ids, nids, stream);
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
sealed_decrypt_from(int in_fd, int out_fd, const struct sealed_identity *ids,
    size_t nids, uint64_t start, const struct sealed_progress *progress)
{
	struct decrypt_sink ds = { out_fd, 0, progress };
	struct sealed_stream *stream = NULL;
	struct sealed_header h;
	struct fbuf *raw = NULL;
	uint64_t len, first = 0;
	int r;

	if ((r = header_open(in_fd, ids, nids, &raw, &h, &stream)) != 0)
		goto out;
	/* The reader learns the chunk size only now, from the header. */
	if (start % h.chunk_size != 0) {
		r = ferry_fail(FERRY_ERR_FORMAT, "stream said to start at plaintext offset %llu, "
		    "which is not a multiple of its chunk size %u", (unsigned long long)start,
		    h.chunk_size);
		goto out;
	}
	first = start / h.chunk_size;
	if ((r = check_from(h.chunk_size, first)) != 0)
		goto out;
	ds.done = start;
	r = payload_open(in_fd, stream, h.chunk_size, first, h.len, true, decrypt_chunk, &ds,
	    &len);
out:
	sealed_stream_free(stream);
	fbuf_free(raw);
	return r;
}

int
sealed_decrypt_fd(int in_fd, int out_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_progress *progress)
{
	return sealed_decrypt_from(in_fd, out_fd, ids, nids, 0, progress);
}

static int
copy_chunk(void *arg, const uint8_t *ct, size_t ct_len, const uint8_t *pt, size_t pt_len)
{
	(void)pt;
	(void)pt_len;
	return io_write_full(*(int *)arg, ct, ct_len);
}

int
sealed_verify_from(int in_fd, int out_fd, struct sealed_stream *stream,
    uint32_t chunk_size, uint64_t first, uint64_t *plaintext_len)
{
	uint64_t len;
	int r;

	r = payload_open(in_fd, stream, chunk_size, first, 0, false, copy_chunk, &out_fd, &len);
	if (r == 0 && plaintext_len != NULL)
		*plaintext_len = len;
	return r;
}

/*
 * Read and open the header on in_fd and append it, re-wrapped for rcpts, to *header
 * (allocated here). The caller frees *raw, *header and *stream whatever the result.
 */
static int
rewrap_header(int in_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_recipient *rcpts, size_t nrcpts, struct fbuf **raw,
    struct sealed_header *h, struct sealed_stream **stream, struct fbuf **header)
{
	int r;

	if ((r = header_open(in_fd, ids, nids, raw, h, stream)) != 0)
		return r;
	if ((*header = fbuf_new(FERRY_MAX_HEADER)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	return sealed_header_rewrap(h, ids, nids, rcpts, nrcpts, *header);
}

/* Skip chunks 0..first-1 of the stream whose header (h) was just read from in_fd, a
 * regular file; FERRY_ERR_USAGE when there is no chunk first. */
static int
skip_chunks(int in_fd, const struct sealed_header *h, uint64_t first)
{
	uint64_t size = (uint64_t)h->chunk_size + SEALED_TAG_LEN, payload, nchunks;
	struct stat st;
	off_t pos;

	if (fstat(in_fd, &st) != 0)
		return ferry_fail(FERRY_ERR_IO, "stored stream: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ferry_fail(FERRY_ERR_USAGE, "stored stream: not a regular file, cannot "
		    "start at chunk %llu", (unsigned long long)first);
	if ((pos = lseek(in_fd, 0, SEEK_CUR)) < 0)
		return ferry_fail(FERRY_ERR_IO, "stored stream: %s", strerror(errno));
	payload = st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
	nchunks = payload / size + (payload % size != 0);
	if (first >= nchunks)
		return ferry_fail(FERRY_ERR_USAGE, "chunk %llu is past the last chunk of the "
		    "stored stream (it has %llu)", (unsigned long long)first,
		    (unsigned long long)nchunks);
	if (lseek(in_fd, pos + (off_t)(first * size), SEEK_SET) < 0)
		return ferry_fail(FERRY_ERR_IO, "stored stream: seek to chunk %llu: %s",
		    (unsigned long long)first, strerror(errno));
	return 0;
}

int
sealed_rewrap_from(int in_fd, int out_fd, const struct sealed_identity *ids,
    size_t nids, const struct sealed_recipient *rcpts, size_t nrcpts, uint64_t first)
{
	struct sealed_stream *stream = NULL;
	struct sealed_header h;
	struct fbuf *raw = NULL, *header = NULL;
	uint8_t *buf = NULL;
	size_t got;
	int r;

	if ((r = rewrap_header(in_fd, ids, nids, rcpts, nrcpts, &raw, &h, &stream,
	    &header)) != 0)
		goto out;
	if (first > 0 && (r = skip_chunks(in_fd, &h, first)) != 0)
		goto out;
	if ((r = io_write_full(out_fd, fbuf_ptr(header), fbuf_len(header))) != 0)
		goto out;
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
	io_buffer_free(buf, FERRY_DEFAULT_CHUNK);
	sealed_stream_free(stream);
	fbuf_free(header);
	fbuf_free(raw);
	return r;
}

int
sealed_rewrap_fd(int in_fd, int out_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_recipient *rcpts, size_t nrcpts, bool verify,
    uint64_t *plaintext_len)
{
	struct sealed_stream *stream = NULL;
	struct sealed_header h;
	struct fbuf *raw = NULL, *header = NULL;
	uint64_t len = 0;
	int r;

	if (!verify) {
		r = sealed_rewrap_from(in_fd, out_fd, ids, nids, rcpts, nrcpts, 0);
		goto out;
	}
	if ((r = rewrap_header(in_fd, ids, nids, rcpts, nrcpts, &raw, &h, &stream,
	    &header)) != 0 ||
	    (r = io_write_full(out_fd, fbuf_ptr(header), fbuf_len(header))) != 0)
		goto out;
	/* sealed_verify_from() with first = 0, offsets counted after the header. */
	r = payload_open(in_fd, stream, h.chunk_size, 0, h.len, true, copy_chunk, &out_fd, &len);
out:
	if (r == 0 && plaintext_len != NULL)
		*plaintext_len = len;
	sealed_stream_free(stream);
	fbuf_free(header);
	fbuf_free(raw);
	return r;
}

/* ---- resuming ------------------------------------------------------------------------ */

int
sealed_partial_scan(int fd, const struct sealed_identity *ids, size_t nids,
    struct fbuf *raw, struct sealed_header *h, struct sealed_partial *out)
{
	struct sealed_stream *stream = NULL;
	uint8_t *ct = NULL, *pt = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned int mdlen;
	size_t cap = 0, got;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = sealed_header_read_fd(fd, raw, h)) != 0 ||
	    (r = sealed_header_open(h, ids, nids, &stream)) != 0)
		goto out;
	out->durable_len = h->len;
	cap = (size_t)h->chunk_size + SEALED_TAG_LEN;
	if ((ct = io_buffer_new(cap)) == NULL || (pt = io_buffer_new(cap)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = ferry_fail_crypto("SHA-256");
		goto out;
	}
	/* A chunk counts when it is complete and opens as chunk i, not final: then every
	 * byte of it is what the writer sealed, and more must follow it. */
	for (;;) {
		if ((r = io_read_full(fd, ct, cap, &got)) != 0)
			goto out;
		if (got < cap || sealed_stream_open(stream, out->chunks, false, ct, cap, pt) != 0)
			break;
		if (EVP_DigestUpdate(md, ct + h->chunk_size, SEALED_TAG_LEN) != 1) {
			r = ferry_fail_crypto("SHA-256");
			goto out;
		}
		out->chunks++;
		out->durable_len += cap;
	}
	/* What ended the run: a final chunk that arrived whole? (An empty one only at 0.) */
	out->final_chunk = got >= SEALED_TAG_LEN &&
	    (got > SEALED_TAG_LEN || out->chunks == 0) &&
	    sealed_stream_open(stream, out->chunks, true, ct, got, pt) == 0;
	if (EVP_DigestFinal_ex(md, out->tags_digest, &mdlen) != 1 ||
	    mdlen != SEALED_TAGS_DIGEST_LEN) {
		r = ferry_fail_crypto("SHA-256");
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	io_buffer_free(ct, cap);
	io_buffer_free(pt, cap);
	sealed_stream_free(stream);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
sealed_resume_check(int in_fd, struct sealed_stream *stream, uint32_t chunk_size,
    uint64_t chunks, const uint8_t want[SEALED_TAGS_DIGEST_LEN],
    const struct sealed_progress *progress)
{
	uint8_t digest[SEALED_TAGS_DIGEST_LEN], *buf = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned int mdlen;
	size_t cap = 0, got;
	uint64_t done = 0;
	int r;

	if ((r = check_from(chunk_size, chunks)) != 0)
		return r;
	cap = (size_t)chunk_size + SEALED_TAG_LEN;
	if ((buf = io_buffer_new(cap)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = ferry_fail_crypto("SHA-256");
		goto out;
	}
	/* Exactly chunk_size bytes per chunk, no read-ahead: in_fd must be left at the first
	 * byte of chunk `chunks` for sealed_encrypt_from(). */
	for (uint64_t i = 0; i < chunks; i++) {
		if ((r = io_read_full(in_fd, buf, chunk_size, &got)) != 0)
			goto out;
		if (got < chunk_size) {
			r = ferry_fail(FERRY_ERR_AUTH, "the local file differs from the partial "
			    "upload (it ends at plaintext offset %llu, inside chunk %llu of the "
			    "%llu uploaded)", (unsigned long long)(done + got),
			    (unsigned long long)i, (unsigned long long)chunks);
			goto out;
		}
		done += got;
		report(progress, buf, got, done);
		/* Same payload key, same index, not final: the same nonce as the first time,
		 * hence the same tag exactly when the plaintext is the same. */
		if ((r = sealed_stream_seal(stream, i, false, buf, got, buf)) != 0)
			goto out;
		if (EVP_DigestUpdate(md, buf + chunk_size, SEALED_TAG_LEN) != 1) {
			r = ferry_fail_crypto("SHA-256");
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(md, digest, &mdlen) != 1 || mdlen != sizeof(digest)) {
		r = ferry_fail_crypto("SHA-256");
		goto out;
	}
	if (CRYPTO_memcmp(digest, want, sizeof(digest)) != 0) {
		r = ferry_fail(FERRY_ERR_AUTH, "the local file differs from the partial upload "
		    "(tags digest of chunks 0..%llu does not match)",
		    (unsigned long long)(chunks > 0 ? chunks - 1 : 0));
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(md);
	io_buffer_free(buf, cap);
	return r;
}
