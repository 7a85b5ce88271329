#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "net/frame.h"
#include "util/err.h"

void
frame_clear(struct frame *f)
{
	if (f == NULL)
		return;
	if (f->payload != NULL)
		OPENSSL_clear_free(f->payload, f->len);
	memset(f, 0, sizeof(*f));
}

static int
type_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int
frame_type_valid(const char *s)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < FRAME_TYPE_LEN; i++) {
		if (!type_char((uint8_t)s[i]))
			return 0;
	}
	return s[FRAME_TYPE_LEN] == '\0';
}

int
frame_is(const struct frame *f, const char *type)
{
	return f != NULL && type != NULL && memcmp(f->type, type, FRAME_TYPE_LEN + 1) == 0;
}

int
frame_header_parse(const uint8_t hdr[FRAME_HEADER_LEN], uint32_t max_len,
    char type[FRAME_TYPE_LEN + 1], uint32_t *len)
{
	struct freader r;
	uint32_t n;

	for (size_t i = 0; i < FRAME_TYPE_LEN; i++) {
		if (!type_char(hdr[i]))
			return ferry_fail(FERRY_ERR_FORMAT,
			    "frame: bad type bytes 0x%02x 0x%02x 0x%02x 0x%02x (not a ferry frame)",
			    hdr[0], hdr[1], hdr[2], hdr[3]);
	}
	freader_init(&r, hdr + FRAME_TYPE_LEN, FRAME_HEADER_LEN - FRAME_TYPE_LEN);
	if (freader_get_u32(&r, &n) != 0)
		return ferry_fail(FERRY_ERR_INTERNAL, "frame: header reader");
	if (max_len > FERRY_MAX_FRAME)
		max_len = FERRY_MAX_FRAME;
	if (n > max_len)
		return ferry_fail(FERRY_ERR_LIMIT, "frame: length %u exceeds the %u-byte limit%s",
		    n, max_len, max_len == FERRY_MAX_FRAME_PREAUTH ? " before authentication" : "");
	memcpy(type, hdr, FRAME_TYPE_LEN);
	type[FRAME_TYPE_LEN] = '\0';
	*len = n;
	return 0;
}

int
frame_encode(struct fbuf *out, const char *type, const void *payload, size_t len)
{
	int r;

	if (!frame_type_valid(type))
		return ferry_fail(FERRY_ERR_USAGE, "frame: invalid type");
	if (len > FERRY_MAX_FRAME)
		return ferry_fail(FERRY_ERR_USAGE, "frame: %s: payload of %zu bytes exceeds %u",
		    type, len, FERRY_MAX_FRAME);
	if (len > 0 && payload == NULL)
		return ferry_fail(FERRY_ERR_USAGE, "frame: %s: no payload", type);
	if ((r = fbuf_put(out, type, FRAME_TYPE_LEN)) != 0 ||
	    (r = fbuf_put_u32(out, (uint32_t)len)) != 0 ||
	    (len > 0 && (r = fbuf_put(out, payload, len)) != 0))
		return ferry_fail(r, "frame: %s: cannot encode %zu bytes", type, len);
	return 0;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of a budget that started at start; -1 stays -1, never below 0. */
static int
remaining_ms(int timeout_ms, long long start)
{
	long long left;

	if (timeout_ms < 0)
		return -1;
	left = (long long)timeout_ms - (now_ms() - start);
	return left > 0 ? (int)left : 0;
}

int
frame_read(const struct frame_transport *t, uint32_t max_len, int timeout_ms,
    struct frame *f)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	long long start = now_ms();
	uint32_t len;
	int r;

	memset(f, 0, sizeof(*f));
	if ((r = t->read(t->arg, hdr, sizeof(hdr), timeout_ms)) != 0)
		return r;
	if ((r = frame_header_parse(hdr, max_len, f->type, &len)) != 0) {
		memset(f, 0, sizeof(*f));
		return r;
	}
	if (len > 0) {
		if ((f->payload = malloc(len)) == NULL) {
			memset(f, 0, sizeof(*f));
			return ferry_fail(FERRY_ERR_NOMEM, "frame: %u bytes", len);
		}
		f->len = len;
		if ((r = t->read(t->arg, f->payload, len, remaining_ms(timeout_ms, start))) != 0) {
			ferry_error_prefix(r, "frame %s (%u bytes)", f->type, len);
			frame_clear(f);
			return r;
		}
	}
	return 0;
}

/*
 * The header and the start of the payload go out together from the stack, so that a
 * large frame costs no allocation and no copy of the whole payload (a DATA frame is
 * 1 MiB), and TLS still fills its first record: FRAME_WRITE_HEAD is one TLS record.
 */
#define FRAME_WRITE_HEAD (16u * 1024u)

int
frame_write(const struct frame_transport *t, const char *type, const void *payload,
    size_t len, int timeout_ms)
{
	uint8_t head[FRAME_WRITE_HEAD];
	long long start = now_ms();
	size_t first;
	int r;

	if (!frame_type_valid(type))
		return ferry_fail(FERRY_ERR_USAGE, "frame: invalid type");
	if (len > FERRY_MAX_FRAME)
		return ferry_fail(FERRY_ERR_USAGE, "frame: %s: payload of %zu bytes exceeds %u",
		    type, len, FERRY_MAX_FRAME);
	if (len > 0 && payload == NULL)
		return ferry_fail(FERRY_ERR_USAGE, "frame: %s: no payload", type);
	first = len < sizeof(head) - FRAME_HEADER_LEN ? len : sizeof(head) - FRAME_HEADER_LEN;
	memcpy(head, type, FRAME_TYPE_LEN);
	head[4] = (uint8_t)(len >> 24);
	head[5] = (uint8_t)(len >> 16);
	head[6] = (uint8_t)(len >> 8);
	head[7] = (uint8_t)len;
	if (first > 0)
		memcpy(head + FRAME_HEADER_LEN, payload, first);
	r = t->write(t->arg, head, FRAME_HEADER_LEN + first, timeout_ms);
	OPENSSL_cleanse(head, FRAME_HEADER_LEN + first);
	if (r == 0 && first < len)
		r = t->write(t->arg, (const uint8_t *)payload + first, len - first,
		    remaining_ms(timeout_ms, start));
	return r;
}

static int
mem_read(void *arg, void *p, size_t n, int timeout_ms)
{
	struct frame_mem *m = arg;
	size_t have = freader_remaining(&m->in);

	(void)timeout_ms;
	if (have == 0 && n > 0)
		return ferry_fail(FERRY_ERR_TRUNCATED, "connection closed by peer");
	if (freader_get_bytes(&m->in, p, n) != 0)
		return ferry_fail(FERRY_ERR_TRUNCATED,
		    "connection closed by peer after %zu of %zu bytes", have, n);
	return 0;
}

static int
mem_write(void *arg, const void *p, size_t n, int timeout_ms)
{
	struct frame_mem *m = arg;
	int r;

	(void)timeout_ms;
	if (m->out == NULL)
		return ferry_fail(FERRY_ERR_IO, "memory transport: not writable");
	if ((r = fbuf_put(m->out, p, n)) != 0)
		return ferry_fail(r, "memory transport: %zu bytes", n);
	return 0;
}

void
frame_mem_init(struct frame_mem *m, const void *in, size_t in_len, struct fbuf *out,
    struct frame_transport *t)
{
	freader_init(&m->in, in, in_len);
	m->out = out;
	t->read = mem_read;
	t->write = mem_write;
	t->arg = m;
}
