/*
 * Bounded byte buffers: every parse of untrusted bytes goes through a struct freader,
 * every encode through a struct fbuf. Neither can overrun: a getter either consumes
 * exactly what it returns or fails and consumes nothing; a writer refuses to grow past
 * the maximum it was created with. Fields named PRIVATE_* are not to be touched.
 */
#ifndef FERRY_UTIL_BUF_H
#define FERRY_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

/* ---- writer ---------------------------------------------------------------------- */

struct fbuf;

/* A new empty buffer that never grows past max bytes (max <= FERRY_MAX_BUF).
 * Returns NULL on allocation failure. Caller frees with fbuf_free(). */
struct fbuf *fbuf_new(size_t max);

/* Zero the contents and free. Accepts NULL. */
void fbuf_free(struct fbuf *b);

/* Zero the contents and set the length to 0; keeps the allocation. */
void fbuf_reset(struct fbuf *b);

size_t fbuf_len(const struct fbuf *b);

/* The contents; valid until the next put/reserve/reset/free. Caller does not free. */
const uint8_t *fbuf_ptr(const struct fbuf *b);

/* Append; 0 or FERRY_ERR_LIMIT (would exceed max) / FERRY_ERR_NOMEM. */
int fbuf_put(struct fbuf *b, const void *p, size_t n);
int fbuf_put_u8(struct fbuf *b, uint8_t v);
int fbuf_put_u16(struct fbuf *b, uint16_t v); /* big-endian */
int fbuf_put_u32(struct fbuf *b, uint32_t v); /* big-endian */
int fbuf_put_u64(struct fbuf *b, uint64_t v); /* big-endian */

/* Append n bytes for the caller to fill through *dst (valid until the next call). */
int fbuf_reserve(struct fbuf *b, size_t n, uint8_t **dst);

/* ---- reader ---------------------------------------------------------------------- */

/* A cursor over bytes the caller owns. Does not allocate; nothing to free. */
struct freader {
	const uint8_t *PRIVATE_p;
	size_t PRIVATE_len;
	size_t PRIVATE_off;
};

void freader_init(struct freader *r, const void *p, size_t len);

/* Bytes not yet consumed, and the offset of the next one from the start. */
size_t freader_remaining(const struct freader *r);
size_t freader_offset(const struct freader *r);

/* Each returns 0, or FERRY_ERR_TRUNCATED (nothing consumed) when too few bytes remain.
 * They record no error detail: the caller names the field. */
int freader_get_u8(struct freader *r, uint8_t *v);
int freader_get_u16(struct freader *r, uint16_t *v); /* big-endian */
int freader_get_u32(struct freader *r, uint32_t *v); /* big-endian */
int freader_get_u64(struct freader *r, uint64_t *v); /* big-endian */
int freader_get_bytes(struct freader *r, void *dst, size_t n);

/* Borrow the next n bytes without copying: *p points into the reader's memory. */
int freader_get_view(struct freader *r, size_t n, const uint8_t **p);

/* Consume the next n bytes as a child reader whose offsets start at 0. */
int freader_get_sub(struct freader *r, size_t n, struct freader *child);

#endif
