/*
 * util/buf: the bounded writer and the reader that consumes exactly what it returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

/* 1 + 2 + 4 + 8 + 5 bytes, every field with a distinct pattern. */
static const uint8_t sample[] = {
	0xa1,
	0x12, 0x34,
	0xde, 0xad, 0xbe, 0xef,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	'h', 'e', 'l', 'l', 'o',
};

enum getter { GET_U8, GET_U16, GET_U32, GET_U64, GET_BYTES, GET_VIEW, GET_SUB, NGETTERS };
static const size_t getter_size[NGETTERS] = { 1, 2, 4, 8, 5, 5, 5 };

static int
call_getter(enum getter g, struct freader *r)
{
	uint8_t u8, bytes[5];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const uint8_t *view;
	struct freader child;

	switch (g) {
	case GET_U8: return freader_get_u8(r, &u8);
	case GET_U16: return freader_get_u16(r, &u16);
	case GET_U32: return freader_get_u32(r, &u32);
	case GET_U64: return freader_get_u64(r, &u64);
	case GET_BYTES: return freader_get_bytes(r, bytes, sizeof(bytes));
	case GET_VIEW: return freader_get_view(r, 5, &view);
	case GET_SUB: return freader_get_sub(r, 5, &child);
	default: fail_msg("no getter %d", (int)g);
	}
	return FERRY_ERR_INTERNAL;
}

static void
test_reader_values(void **state)
{
	struct freader r;
	uint8_t u8, bytes[5];
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	freader_init(&r, sample, sizeof(sample));
	assert_int_equal(freader_remaining(&r), sizeof(sample));
	assert_int_equal(freader_offset(&r), 0);
	assert_int_equal(freader_get_u8(&r, &u8), 0);
	assert_int_equal(u8, 0xa1);
	assert_int_equal(freader_get_u16(&r, &u16), 0);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(freader_get_u32(&r, &u32), 0);
	assert_true(u32 == 0xdeadbeefu);
	assert_int_equal(freader_offset(&r), 7);
	assert_int_equal(freader_get_u64(&r, &u64), 0);
	assert_true(u64 == 0x0123456789abcdefull);
	assert_int_equal(freader_get_bytes(&r, bytes, 5), 0);
	assert_memory_equal(bytes, "hello", 5);
	assert_int_equal(freader_remaining(&r), 0);
	assert_int_equal(freader_offset(&r), sizeof(sample));
	/* Zero-length reads succeed even at the end. */
	assert_int_equal(freader_get_bytes(&r, bytes, 0), 0);
	assert_int_equal(freader_get_u8(&r, &u8), FERRY_ERR_TRUNCATED);
}

/* Every getter, at every length short of what it needs, fails and consumes nothing. */
static void
test_reader_truncation(void **state)
{
	uint8_t data[16];

	(void)state;
	memset(data, 0x5a, sizeof(data));
	for (int g = 0; g < NGETTERS; g++) {
		for (size_t avail = 0; avail < getter_size[g]; avail++) {
			/* Also from a non-zero offset: the check is on what remains. */
			for (size_t skip = 0; skip < 3; skip++) {
				struct freader r;
				uint8_t pad[3];

				freader_init(&r, data, skip + avail);
				assert_int_equal(freader_get_bytes(&r, pad, skip), 0);
				if (call_getter((enum getter)g, &r) != FERRY_ERR_TRUNCATED)
					fail_msg("getter %d with %zu of %zu bytes did not fail",
					    g, avail, getter_size[g]);
				assert_int_equal(freader_offset(&r), skip);
				assert_int_equal(freader_remaining(&r), avail);
			}
		}
		/* Exactly enough succeeds and consumes exactly that. */
		{
			struct freader r;

			freader_init(&r, data, getter_size[g] + 1);
			assert_int_equal(call_getter((enum getter)g, &r), 0);
			assert_int_equal(freader_offset(&r), getter_size[g]);
			assert_int_equal(freader_remaining(&r), 1);
		}
	}
}

static void
test_reader_huge_length(void **state)
{
	struct freader r;
	const uint8_t *p = NULL;
	struct freader child;

	(void)state;
	/* Lengths that would wrap an offset + n addition must not pass. */
	freader_init(&r, sample, sizeof(sample));
	assert_int_equal(freader_get_u8(&r, &(uint8_t){ 0 }), 0);
	assert_int_equal(freader_get_view(&r, SIZE_MAX, &p), FERRY_ERR_TRUNCATED);
	assert_int_equal(freader_get_view(&r, SIZE_MAX - 1, &p), FERRY_ERR_TRUNCATED);
	assert_int_equal(freader_get_sub(&r, SIZE_MAX, &child), FERRY_ERR_TRUNCATED);
	assert_null(p);
	assert_int_equal(freader_offset(&r), 1);
}

static void
test_reader_null(void **state)
{
	struct freader r;
	uint8_t u8;

	(void)state;
	/* A NULL pointer is an empty reader whatever the length said. */
	freader_init(&r, NULL, 100);
	assert_int_equal(freader_remaining(&r), 0);
	assert_int_equal(freader_get_u8(&r, &u8), FERRY_ERR_TRUNCATED);
}

static void
test_reader_view(void **state)
{
	struct freader r;
	const uint8_t *p;

	(void)state;
	freader_init(&r, sample, sizeof(sample));
	assert_int_equal(freader_get_view(&r, 3, &p), 0);
	/* A view borrows: it points into the original bytes. */
	assert_ptr_equal(p, sample);
	assert_int_equal(freader_get_view(&r, 4, &p), 0);
	assert_ptr_equal(p, sample + 3);
	assert_int_equal(freader_get_view(&r, 0, &p), 0);
	assert_ptr_equal(p, sample + 7);
}

static void
test_reader_sub(void **state)
{
	struct freader r, child, grandchild;
	uint16_t u16;
	uint32_t u32;
	uint8_t u8;

	(void)state;
	freader_init(&r, sample, sizeof(sample));
	assert_int_equal(freader_get_u8(&r, &u8), 0);
	assert_int_equal(freader_get_sub(&r, 6, &child), 0);
	/* The parent moved past the child's bytes; the child starts at offset 0. */
	assert_int_equal(freader_offset(&r), 7);
	assert_int_equal(freader_offset(&child), 0);
	assert_int_equal(freader_remaining(&child), 6);
	assert_int_equal(freader_get_u16(&child, &u16), 0);
	assert_int_equal(u16, 0x1234);
	/* The child cannot read past its end into the parent's bytes. */
	assert_int_equal(freader_get_sub(&child, 4, &grandchild), 0);
	assert_int_equal(freader_get_u32(&grandchild, &u32), 0);
	assert_true(u32 == 0xdeadbeefu);
	assert_int_equal(freader_get_u8(&child, &u8), FERRY_ERR_TRUNCATED);
	assert_int_equal(freader_get_u8(&grandchild, &u8), FERRY_ERR_TRUNCATED);
	/* A failed sub leaves both untouched. */
	assert_int_equal(freader_get_sub(&r, 14, &child), FERRY_ERR_TRUNCATED);
	assert_int_equal(freader_offset(&r), 7);
	assert_int_equal(freader_get_sub(&r, 13, &child), 0);
	assert_int_equal(freader_remaining(&r), 0);
}

static void
test_writer_encodings(void **state)
{
	struct fbuf *b;

	(void)state;
	assert_non_null(b = fbuf_new(64));
	assert_int_equal(fbuf_len(b), 0);
	assert_int_equal(fbuf_put_u8(b, 0xa1), 0);
	assert_int_equal(fbuf_put_u16(b, 0x1234), 0);
	assert_int_equal(fbuf_put_u32(b, 0xdeadbeefu), 0);
	assert_int_equal(fbuf_put_u64(b, 0x0123456789abcdefull), 0);
	assert_int_equal(fbuf_put(b, "hello", 5), 0);
	assert_int_equal(fbuf_put(b, NULL, 0), 0);
	assert_int_equal(fbuf_len(b), sizeof(sample));
	assert_memory_equal(fbuf_ptr(b), sample, sizeof(sample));
	fbuf_free(b);
}

static void
test_writer_roundtrip(void **state)
{
	struct fbuf *b;
	struct freader r;
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;

	(void)state;
	assert_non_null(b = fbuf_new(1024));
	assert_int_equal(fbuf_put_u64(b, UINT64_MAX), 0);
	assert_int_equal(fbuf_put_u64(b, 0x8000000000000001ull), 0);
	assert_int_equal(fbuf_put_u32(b, 0x80000001u), 0);
	assert_int_equal(fbuf_put_u16(b, 0x8001), 0);
	freader_init(&r, fbuf_ptr(b), fbuf_len(b));
	assert_int_equal(freader_get_u64(&r, &v64), 0);
	assert_true(v64 == UINT64_MAX);
	assert_int_equal(freader_get_u64(&r, &v64), 0);
	assert_true(v64 == 0x8000000000000001ull);
	assert_int_equal(freader_get_u32(&r, &v32), 0);
	assert_true(v32 == 0x80000001u);
	assert_int_equal(freader_get_u16(&r, &v16), 0);
	assert_int_equal(v16, 0x8001);
	assert_int_equal(freader_remaining(&r), 0);
	fbuf_free(b);
}

static void
test_writer_max(void **state)
{
	struct fbuf *b;
	uint8_t *dst;
	uint8_t big[300];

	(void)state;
	assert_null(fbuf_new(0));
	assert_null(fbuf_new(FERRY_MAX_BUF + 1));
	assert_non_null(b = fbuf_new(FERRY_MAX_BUF));
	fbuf_free(b);

	assert_non_null(b = fbuf_new(10));
	assert_int_equal(fbuf_put(b, "12345678", 8), 0);
	/* Each writer refuses to pass the maximum and leaves the contents alone. */
	assert_int_equal(fbuf_put_u32(b, 1), FERRY_ERR_LIMIT);
	assert_int_equal(fbuf_put_u64(b, 1), FERRY_ERR_LIMIT);
	assert_int_equal(fbuf_put(b, "abc", 3), FERRY_ERR_LIMIT);
	assert_int_equal(fbuf_reserve(b, 3, &dst), FERRY_ERR_LIMIT);
	assert_int_equal(fbuf_reserve(b, SIZE_MAX, &dst), FERRY_ERR_LIMIT);
	assert_int_equal(fbuf_len(b), 8);
	assert_memory_equal(fbuf_ptr(b), "12345678", 8);
	assert_int_equal(fbuf_put_u16(b, 0x3930), 0);
	assert_int_equal(fbuf_len(b), 10);
	assert_int_equal(fbuf_put_u8(b, 0), FERRY_ERR_LIMIT);
	assert_memory_equal(fbuf_ptr(b), "1234567890", 10);
	fbuf_free(b);

	/* Growth past the first allocation, up to a maximum that is not a power of two. */
	memset(big, 'x', sizeof(big));
	assert_non_null(b = fbuf_new(1000));
	for (int i = 0; i < 3; i++)
		assert_int_equal(fbuf_put(b, big, sizeof(big)), 0);
	assert_int_equal(fbuf_put(b, big, 101), FERRY_ERR_LIMIT);
	assert_int_equal(fbuf_put(b, big, 100), 0);
	assert_int_equal(fbuf_len(b), 1000);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(fbuf_ptr(b)[i], 'x');
	fbuf_free(b);
}

static void
test_writer_reserve(void **state)
{
	struct fbuf *b;
	uint8_t *dst;

	(void)state;
	assert_non_null(b = fbuf_new(100));
	assert_int_equal(fbuf_put(b, "ab", 2), 0);
	assert_int_equal(fbuf_reserve(b, 3, &dst), 0);
	memcpy(dst, "cde", 3);
	assert_int_equal(fbuf_len(b), 5);
	assert_memory_equal(fbuf_ptr(b), "abcde", 5);
	assert_int_equal(fbuf_reserve(b, 0, &dst), 0);
	assert_int_equal(fbuf_len(b), 5);
	fbuf_free(b);
}

static void
test_writer_reset_free(void **state)
{
	struct fbuf *b;
	const uint8_t *p;

	(void)state;
	assert_non_null(b = fbuf_new(64));
	assert_int_equal(fbuf_put(b, "secret", 6), 0);
	p = fbuf_ptr(b);
	fbuf_reset(b);
	assert_int_equal(fbuf_len(b), 0);
	/* The allocation is kept but its contents are wiped. */
	assert_ptr_equal(fbuf_ptr(b), p);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(fbuf_put(b, "xy", 2), 0);
	assert_memory_equal(fbuf_ptr(b), "xy", 2);
	/* The maximum still counts from zero after a reset. */
	fbuf_reset(b);
	assert_int_equal(fbuf_put(b, "0123456789012345678901234567890123456789012345678901234567890123", 64), 0);
	fbuf_free(b);
	fbuf_free(NULL);

	/* Reset of a buffer that never allocated. */
	assert_non_null(b = fbuf_new(8));
	fbuf_reset(b);
	assert_int_equal(fbuf_len(b), 0);
	fbuf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_values),
		cmocka_unit_test(test_reader_truncation),
		cmocka_unit_test(test_reader_huge_length),
		cmocka_unit_test(test_reader_null),
		cmocka_unit_test(test_reader_view),
		cmocka_unit_test(test_reader_sub),
		cmocka_unit_test(test_writer_encodings),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_writer_max),
		cmocka_unit_test(test_writer_reserve),
		cmocka_unit_test(test_writer_reset_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
