/*
 * net/frame: header parsing, encoding, reading and writing over the memory transport.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/frame.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

/* Encode one frame into a new buffer; caller frees. */
static struct fbuf *
encode(const char *type, const void *p, size_t n)
{
	struct fbuf *b = fbuf_new(FRAME_HEADER_LEN + FERRY_MAX_FRAME);

	assert_non_null(b);
	assert_int_equal(frame_encode(b, type, p, n), 0);
	return b;
}

static void
test_header_parse(void **state)
{
	const uint8_t ok[8] = { 'H', 'E', 'L', 'O', 0, 0, 0, 17 };
	const uint8_t tls[8] = { 0x16, 0x03, 0x01, 0x00, 0xf4, 0x01, 0x00, 0x00 };
	const uint8_t big[8] = { 'D', 'A', 'T', 'A', 0xff, 0xff, 0xff, 0xff };
	uint8_t h[8];
	char type[5];
	uint32_t len;

	(void)state;
	assert_int_equal(frame_header_parse(ok, FERRY_MAX_FRAME_PREAUTH, type, &len), 0);
	assert_string_equal(type, "HELO");
	assert_int_equal(len, 17);

	assert_int_equal(frame_header_parse(tls, FERRY_MAX_FRAME_PREAUTH, type, &len),
	    FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "frame: bad type bytes 0x16 0x03 0x01 0x00 (not a ferry frame)");

	assert_int_equal(frame_header_parse(big, FERRY_MAX_FRAME_PREAUTH, type, &len),
	    FERRY_ERR_LIMIT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_LIMIT),
	    "frame: length 4294967295 exceeds the 16384-byte limit before authentication");
	assert_int_equal(frame_header_parse(big, FERRY_MAX_FRAME, type, &len), FERRY_ERR_LIMIT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_LIMIT),
	    "frame: length 4294967295 exceeds the 1114112-byte limit");

	/* Exactly at the limit passes, one more fails. */
	memcpy(h, "DATA", 4);
	h[4] = 0; h[5] = 0; h[6] = 0x40; h[7] = 0x00;
	assert_int_equal(frame_header_parse(h, FERRY_MAX_FRAME_PREAUTH, type, &len), 0);
	assert_int_equal(len, FERRY_MAX_FRAME_PREAUTH);
	h[7] = 0x01;
	assert_int_equal(frame_header_parse(h, FERRY_MAX_FRAME_PREAUTH, type, &len),
	    FERRY_ERR_LIMIT);
	/* A maximum above FERRY_MAX_FRAME is clamped. */
	h[4] = 0; h[5] = 0x11; h[6] = 0x00; h[7] = 0x01;
	assert_int_equal(frame_header_parse(h, UINT32_MAX, type, &len), FERRY_ERR_LIMIT);

	/* Every position rejects every byte outside [A-Z0-9]. */
	for (int pos = 0; pos < 4; pos++) {
		for (int c = 0; c < 256; c++) {
			int valid = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

			memcpy(h, ok, sizeof(h));
			h[pos] = (uint8_t)c;
			assert_int_equal(frame_header_parse(h, 64, type, &len),
			    valid ? 0 : FERRY_ERR_FORMAT);
		}
	}
}

static void
test_type_valid(void **state)
{
	(void)state;
	assert_true(frame_type_valid("HELO"));
	assert_true(frame_type_valid("A1Z9"));
	assert_false(frame_type_valid("helo"));
	assert_false(frame_type_valid("HEL"));
	assert_false(frame_type_valid("HELOO"));
	assert_false(frame_type_valid("HE O"));
	assert_false(frame_type_valid(NULL));
}

static void
test_encode_errors(void **state)
{
	struct fbuf *b = fbuf_new(64), *small = fbuf_new(10);
	uint8_t x[16] = { 0 };

	(void)state;
	assert_int_equal(frame_encode(b, "helo", NULL, 0), FERRY_ERR_USAGE);
	assert_int_equal(frame_encode(b, "HELLO", NULL, 0), FERRY_ERR_USAGE);
	assert_int_equal(frame_encode(b, "HELO", NULL, 3), FERRY_ERR_USAGE);
	assert_int_equal(frame_encode(b, "HELO", x, (size_t)FERRY_MAX_FRAME + 1),
	    FERRY_ERR_USAGE);
	assert_int_equal(fbuf_len(b), 0);
	assert_int_equal(frame_encode(small, "HELO", x, sizeof(x)), FERRY_ERR_LIMIT);
	fbuf_free(b);
	fbuf_free(small);
}

static void
test_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 255, 4096, FERRY_MAX_FRAME_PREAUTH };
	struct frame_transport t;
	struct frame_mem m;
	struct frame f;
	uint8_t *p;

	(void)state;
	p = malloc(FERRY_MAX_FRAME_PREAUTH);
	assert_non_null(p);
	for (size_t i = 0; i < FERRY_MAX_FRAME_PREAUTH; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fbuf *b = encode("T3ST", p, sizes[i]);

		assert_int_equal(fbuf_len(b), FRAME_HEADER_LEN + sizes[i]);
		assert_memory_equal(fbuf_ptr(b), "T3ST", 4);
		frame_mem_init(&m, fbuf_ptr(b), fbuf_len(b), NULL, &t);
		assert_int_equal(frame_read(&t, FERRY_MAX_FRAME_PREAUTH, 1000, &f), 0);
		assert_string_equal(f.type, "T3ST");
		assert_true(frame_is(&f, "T3ST"));
		assert_false(frame_is(&f, "T3SX"));
		assert_int_equal(f.len, sizes[i]);
		if (sizes[i] == 0)
			assert_null(f.payload);
		else
			assert_memory_equal(f.payload, p, sizes[i]);
		frame_clear(&f);
		assert_null(f.payload);
		assert_int_equal(f.len, 0);
		/* The stream is now at its end: a further read says the peer closed. */
		assert_int_equal(frame_read(&t, FERRY_MAX_FRAME_PREAUTH, 1000, &f),
		    FERRY_ERR_TRUNCATED);
		assert_string_equal(ferry_error_detail(FERRY_ERR_TRUNCATED),
		    "connection closed by peer");
		fbuf_free(b);
	}
	free(p);
	frame_clear(NULL);
}

static void
test_write_matches_encode(void **state)
{
	struct fbuf *out = fbuf_new(1024), *ref = encode("ERRR", "abc", 3);
	struct frame_transport t;
	struct frame_mem m;
	struct frame f;

	(void)state;
	frame_mem_init(&m, NULL, 0, out, &t);
	assert_int_equal(frame_write(&t, "ERRR", "abc", 3, 100), 0);
	assert_int_equal(frame_write(&t, "PING", NULL, 0, 100), 0);
	assert_int_equal(fbuf_len(out), fbuf_len(ref) + 8);
	assert_memory_equal(fbuf_ptr(out), fbuf_ptr(ref), fbuf_len(ref));
	assert_int_equal(frame_write(&t, "bad!", NULL, 0, 100), FERRY_ERR_USAGE);

	/* Two frames back to back come out one after the other. */
	frame_mem_init(&m, fbuf_ptr(out), fbuf_len(out), NULL, &t);
	assert_int_equal(frame_read(&t, 16, -1, &f), 0);
	assert_string_equal(f.type, "ERRR");
	assert_int_equal(f.len, 3);
	frame_clear(&f);
	assert_int_equal(frame_read(&t, 16, -1, &f), 0);
	assert_string_equal(f.type, "PING");
	assert_int_equal(f.len, 0);
	frame_clear(&f);

	/* No output buffer: writes fail cleanly. */
	assert_int_equal(frame_write(&t, "PING", NULL, 0, 100), FERRY_ERR_IO);
	fbuf_free(out);
	fbuf_free(ref);
}

static void
test_truncations(void **state)
{
	struct fbuf *b = encode("ENRL", "0123456789abcdef", 16);
	struct frame_transport t;
	struct frame_mem m;
	struct frame f;

	(void)state;
	for (size_t n = 0; n < fbuf_len(b); n++) {
		frame_mem_init(&m, fbuf_ptr(b), n, NULL, &t);
		memset(&f, 0x5a, sizeof(f));
		assert_int_equal(frame_read(&t, 1024, 100, &f), FERRY_ERR_TRUNCATED);
		assert_null(f.payload);
		assert_int_equal(f.len, 0);
		assert_string_equal(f.type, "");
	}
	fbuf_free(b);
}

static void
test_oversize_not_allocated(void **state)
{
	/* A header announcing 1 GiB with nothing behind it fails on the length, not on I/O. */
	const uint8_t h[8] = { 'D', 'A', 'T', 'A', 0x40, 0, 0, 0 };
	struct frame_transport t;
	struct frame_mem m;
	struct frame f;

	(void)state;
	frame_mem_init(&m, h, sizeof(h), NULL, &t);
	assert_int_equal(frame_read(&t, FERRY_MAX_FRAME, 100, &f), FERRY_ERR_LIMIT);
	assert_null(f.payload);
	frame_mem_init(&m, h, sizeof(h), NULL, &t);
	assert_int_equal(frame_read(&t, 0, 100, &f), FERRY_ERR_LIMIT);
}

/* Flip every bit of an encoded frame: each read succeeds or fails with a clean code. */
static void
test_bit_flips(void **state)
{
	struct fbuf *b = encode("HELO", "\x00\x01\x00\x01\x01\x05" "ferry", 11);
	struct frame_transport t;
	struct frame_mem m;
	struct frame f;
	uint8_t buf[64];
	size_t n = fbuf_len(b);
	int r;

	(void)state;
	for (size_t i = 0; i < n * 8; i++) {
		memcpy(buf, fbuf_ptr(b), n);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		frame_mem_init(&m, buf, n, NULL, &t);
		r = frame_read(&t, FERRY_MAX_FRAME_PREAUTH, 100, &f);
		assert_true(r == 0 || r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT ||
		    r == FERRY_ERR_TRUNCATED);
		if (r == 0) {
			assert_true(frame_type_valid(f.type));
			assert_true(f.len <= n - FRAME_HEADER_LEN);
		} else {
			assert_null(f.payload);
		}
		frame_clear(&f);
	}
	fbuf_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_parse),
		cmocka_unit_test(test_type_valid),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_write_matches_encode),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_oversize_not_allocated),
		cmocka_unit_test(test_bit_flips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
