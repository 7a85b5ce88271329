#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/err.h"
#include "util/limits.h"

struct fbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
};

struct fbuf *
fbuf_new(size_t max)
{
	struct fbuf *b;

	if (max == 0 || max > FERRY_MAX_BUF)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max;
	return b;
}

void
fbuf_free(struct fbuf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL)
		OPENSSL_clear_free(b->data, b->cap);
	free(b);
}

void
fbuf_reset(struct fbuf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	b->len = 0;
}

size_t
fbuf_len(const struct fbuf *b)
{
	return b->len;
}

const uint8_t *
fbuf_ptr(const struct fbuf *b)
{
	return b->data;
}

int
fbuf_reserve(struct fbuf *b, size_t n, uint8_t **dst)
{
	size_t need, cap;
	uint8_t *p;

	if (n > b->max - b->len)
		return FERRY_ERR_LIMIT;
	need = b->len + n;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < need)
			cap = cap > b->max / 2 ? b->max : cap * 2;
		/* Grow by copy, not realloc, so the old contents can be wiped. */
		if ((p = malloc(cap)) == NULL)
			return FERRY_ERR_NOMEM;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			OPENSSL_clear_free(b->data, b->cap);
		}
		b->data = p;
		b->cap = cap;
	}
	*dst = b->data + b->len;
	b->len = need;
	return 0;
}

int
fbuf_put(struct fbuf *b, const void *p, size_t n)
{
	uint8_t *dst;
	int r;

	if (n == 0)
		return 0;
	if ((r = fbuf_reserve(b, n, &dst)) != 0)
		return r;
	memcpy(dst, p, n);
	return 0;
}

int
fbuf_put_u8(struct fbuf *b, uint8_t v)
{
	return fbuf_put(b, &v, 1);
}

int
fbuf_put_u16(struct fbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	return fbuf_put(b, x, sizeof(x));
}

int
fbuf_put_u32(struct fbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return fbuf_put(b, x, sizeof(x));
}

int
fbuf_put_u64(struct fbuf *b, uint64_t v)
{
	int r;

	if ((r = fbuf_put_u32(b, (uint32_t)(v >> 32))) != 0)
		return r;
	return fbuf_put_u32(b, (uint32_t)v);
}

void
freader_init(struct freader *r, const void *p, size_t len)
{
	r->PRIVATE_p = p;
	r->PRIVATE_len = p != NULL ? len : 0;
	r->PRIVATE_off = 0;
}

size_t
freader_remaining(const struct freader *r)
{
	return r->PRIVATE_len - r->PRIVATE_off;
}

size_t
freader_offset(const struct freader *r)
{
	return r->PRIVATE_off;
}

int
freader_get_view(struct freader *r, size_t n, const uint8_t **p)
{
	/* Do not go on with a cursor that somehow ran past its end. */
	if (r->PRIVATE_off > r->PRIVATE_len)
		return FERRY_ERR_INTERNAL;
	if (n > freader_remaining(r))
		return FERRY_ERR_TRUNCATED;
	*p = r->PRIVATE_p + r->PRIVATE_off;
	r->PRIVATE_off += n;
	return 0;
}

int
freader_get_bytes(struct freader *r, void *dst, size_t n)
{
	const uint8_t *p;
	int e;

	if ((e = freader_get_view(r, n, &p)) != 0)
		return e;
	if (n > 0)
		memcpy(dst, p, n);
	return 0;
}

int
freader_get_sub(struct freader *r, size_t n, struct freader *child)
{
	const uint8_t *p;
	int e;

	if ((e = freader_get_view(r, n, &p)) != 0)
		return e;
	freader_init(child, p, n);
	return 0;
}

int
freader_get_u8(struct freader *r, uint8_t *v)
{
	const uint8_t *p;
	int e;

	if ((e = freader_get_view(r, 1, &p)) != 0)
		return e;
	*v = p[0];
	return 0;
}

int
freader_get_u16(struct freader *r, uint16_t *v)
{
	const uint8_t *p;
	int e;

	if ((e = freader_get_view(r, 2, &p)) != 0)
		return e;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	return 0;
}

int
freader_get_u32(struct freader *r, uint32_t *v)
{
	const uint8_t *p;
	int e;

	if ((e = freader_get_view(r, 4, &p)) != 0)
		return e;
	*v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
	return 0;
}

int
freader_get_u64(struct freader *r, uint64_t *v)
{
	const uint8_t *p;
	int e;

	if ((e = freader_get_view(r, 8, &p)) != 0)
		return e;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v = (*v << 8) | p[i];
	return 0;
}
