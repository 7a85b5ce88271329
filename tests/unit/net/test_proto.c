/*
 * net/proto: the version-1 messages. Round trips, every truncation and trailing bytes
 * rejected, every bound enforced, text checks, bit flips handled, and the HELO example of
 * docs/PROTOCOL.md reproduced byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/frame.h"
#include "net/proto.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

#define CSR_BYTES "\x30\x82\x01\x0a\x02\x01\x00"

static struct fbuf *
newbuf(void)
{
	struct fbuf *b = fbuf_new(FERRY_MAX_FRAME_PREAUTH);

	assert_non_null(b);
	return b;
}

/* One decoder, driven through a common signature. */
typedef int (*decode_fn)(const uint8_t *p, size_t len);

static int
dec_helo_req(const uint8_t *p, size_t len)
{
	struct proto_helo_req m;

	return proto_helo_req_decode(p, len, &m);
}

static int
dec_helo_rep(const uint8_t *p, size_t len)
{
	struct proto_helo_rep m;

	return proto_helo_rep_decode(p, len, &m);
}

static int
dec_enrl(const uint8_t *p, size_t len)
{
	struct proto_enrl m;

	return proto_enrl_decode(p, len, &m);
}

static int
dec_cert(const uint8_t *p, size_t len)
{
	struct proto_cert m;

	return proto_cert_decode(p, len, &m);
}

static int
dec_error(const uint8_t *p, size_t len)
{
	struct proto_error m;

	return proto_error_decode(p, len, &m);
}

/*
 * A valid encoding must decode; every proper prefix and every one-byte extension must
 * fail with FERRY_ERR_FORMAT; every single bit flip must decode or fail cleanly.
 */
static void
check_strict(const struct fbuf *b, decode_fn dec)
{
	size_t n = fbuf_len(b);
	uint8_t *copy = malloc(n + 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, fbuf_ptr(b), n);
	assert_int_equal(dec(copy, n), 0);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(dec(copy, k), FERRY_ERR_FORMAT);
	copy[n] = 0;
	assert_int_equal(dec(copy, n + 1), FERRY_ERR_FORMAT);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "trailing"));
	for (size_t i = 0; i < n * 8; i++) {
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = dec(copy, n);
		assert_true(r == 0 || r == FERRY_ERR_FORMAT);
		copy[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	free(copy);
}

static void
test_helo_req(void **state)
{
	struct proto_helo_req m = { .min_version = 1, .max_version = 3, .purpose = 2 }, d;
	struct fbuf *b = newbuf();

	(void)state;
	snprintf(m.software, sizeof(m.software), "%s", "ferry 0.1.0 (test)");
	assert_int_equal(proto_helo_req_encode(&m, b), 0);
	assert_int_equal(fbuf_len(b), 2 + 2 + 1 + 1 + strlen(m.software));
	assert_int_equal(proto_helo_req_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_int_equal(d.min_version, 1);
	assert_int_equal(d.max_version, 3);
	assert_int_equal(d.purpose, PROTO_PURPOSE_SESSION);
	assert_string_equal(d.software, m.software);
	check_strict(b, dec_helo_req);

	/* An empty software string is allowed. */
	fbuf_reset(b);
	m.software[0] = '\0';
	assert_int_equal(proto_helo_req_encode(&m, b), 0);
	check_strict(b, dec_helo_req);
	fbuf_free(b);
}

static void
test_helo_req_bad(void **state)
{
	struct proto_helo_req m = { .min_version = 1, .max_version = 1, .purpose = 1 }, d;
	struct fbuf *b = newbuf();
	uint8_t p[80];

	(void)state;
	/* Encoder refuses what the decoder would refuse. */
	m.min_version = 0;
	assert_int_equal(proto_helo_req_encode(&m, b), FERRY_ERR_USAGE);
	m.min_version = 2;
	assert_int_equal(proto_helo_req_encode(&m, b), FERRY_ERR_USAGE);
	m.min_version = 1;
	m.purpose = 3;
	assert_int_equal(proto_helo_req_encode(&m, b), FERRY_ERR_USAGE);
	m.purpose = 1;
	memset(m.software, 'a', FERRY_MAX_MSG_SOFTWARE);
	m.software[FERRY_MAX_MSG_SOFTWARE] = '\0';
	assert_int_equal(proto_helo_req_encode(&m, b), 0); /* exactly 64 is fine */
	snprintf(m.software, sizeof(m.software), "%s", "bad\nname");
	assert_int_equal(proto_helo_req_encode(&m, b), FERRY_ERR_USAGE);

	/* Decoder: versions 0, inverted ranges, unknown purposes, long or bad software. */
	memcpy(p, "\x00\x00\x00\x01\x01\x00", 6);
	assert_int_equal(proto_helo_req_decode(p, 6, &d), FERRY_ERR_FORMAT);
	memcpy(p, "\x00\x02\x00\x01\x01\x00", 6);
	assert_int_equal(proto_helo_req_decode(p, 6, &d), FERRY_ERR_FORMAT);
	memcpy(p, "\x00\x01\x00\x01\x00\x00", 6);
	assert_int_equal(proto_helo_req_decode(p, 6, &d), FERRY_ERR_FORMAT);
	memcpy(p, "\x00\x01\x00\x01\x03\x00", 6);
	assert_int_equal(proto_helo_req_decode(p, 6, &d), FERRY_ERR_FORMAT);
	memcpy(p, "\x00\x01\x00\x01\x01\x41", 6);
	memset(p + 6, 'x', 65);
	assert_int_equal(proto_helo_req_decode(p, 6 + 65, &d), FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "HELO: software: 65 bytes, must be 0 to 64");
	memcpy(p, "\x00\x01\x00\x01\x01\x02" "a\x7f", 8);
	assert_int_equal(proto_helo_req_decode(p, 8, &d), FERRY_ERR_FORMAT);
	memcpy(p, "\x00\x01\x00\x01\x01\x02" "a\xc3", 8);
	assert_int_equal(proto_helo_req_decode(p, 8, &d), FERRY_ERR_FORMAT);
	/* On failure the struct is zeroed. */
	assert_int_equal(d.min_version, 0);
	assert_string_equal(d.software, "");
	fbuf_free(b);
}

static void
test_helo_rep(void **state)
{
	struct proto_helo_rep m = { .version = 1, .purpose = 2 }, d;
	struct fbuf *b = newbuf();

	(void)state;
	snprintf(m.software, sizeof(m.software), "%s", "ferryd 0.1.0");
	snprintf(m.identity, sizeof(m.identity), "%s", "alice");
	assert_int_equal(proto_helo_rep_encode(&m, b), 0);
	assert_int_equal(proto_helo_rep_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.purpose, 2);
	assert_string_equal(d.software, "ferryd 0.1.0");
	assert_string_equal(d.identity, "alice");
	check_strict(b, dec_helo_rep);

	fbuf_reset(b);
	m.identity[0] = '\0';
	m.purpose = 1;
	assert_int_equal(proto_helo_rep_encode(&m, b), 0);
	assert_int_equal(proto_helo_rep_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_string_equal(d.identity, "");
	check_strict(b, dec_helo_rep);

	m.version = 0;
	assert_int_equal(proto_helo_rep_encode(&m, b), FERRY_ERR_USAGE);
	m.version = 1;
	memset(m.identity, 'u', FERRY_MAX_MSG_USER + 1);
	m.identity[FERRY_MAX_MSG_USER] = '\0';
	assert_int_equal(proto_helo_rep_encode(&m, b), 0);
	assert_int_equal(proto_helo_rep_decode((const uint8_t *)"\x00\x00\x01\x00\x00", 5, &d),
	    FERRY_ERR_FORMAT);
	assert_int_equal(proto_helo_rep_decode((const uint8_t *)"\x00\x01\x09\x00\x00", 5, &d),
	    FERRY_ERR_FORMAT);
	assert_int_equal(proto_helo_rep_decode((const uint8_t *)"\x00\x01\x01\x00\x00", 5, &d),
	    0);
	fbuf_free(b);
}

static void
test_enrl(void **state)
{
	static const uint8_t pw[] = "correct horse battery staple";
	struct proto_enrl m = { 0 }, d;
	struct fbuf *b = newbuf();

	(void)state;
	snprintf(m.user, sizeof(m.user), "%s", "alice");
	m.password = pw;
	m.password_len = sizeof(pw) - 1;
	m.csr = (const uint8_t *)CSR_BYTES;
	m.csr_len = sizeof(CSR_BYTES) - 1;
	assert_int_equal(proto_enrl_encode(&m, b), 0);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_string_equal(d.user, "alice");
	assert_int_equal(d.password_len, m.password_len);
	assert_memory_equal(d.password, pw, m.password_len);
	assert_int_equal(d.csr_len, m.csr_len);
	assert_memory_equal(d.csr, CSR_BYTES, m.csr_len);
	/* Borrowed views point into the payload. */
	assert_ptr_equal(d.password, fbuf_ptr(b) + 1 + 5 + 2);
	assert_ptr_equal(d.csr, fbuf_ptr(b) + fbuf_len(b) - m.csr_len);
	check_strict(b, dec_enrl);
	fbuf_free(b);
}

static void
test_enrl_bounds(void **state)
{
	struct proto_enrl m = { 0 }, d;
	struct fbuf *b = fbuf_new(32768);
	uint8_t *big = calloc(1, 16384);

	(void)state;
	assert_non_null(big);
	memset(big, 'p', 16384);
	snprintf(m.user, sizeof(m.user), "%s", "bob");
	m.password = big;
	m.csr = big;
	m.csr_len = 1;

	/* Password 1..1024, CSR 1..8192: both ends, both ways. */
	m.password_len = 1;
	assert_int_equal(proto_enrl_encode(&m, b), 0);
	m.password_len = FERRY_MAX_MSG_PASSWORD;
	m.csr_len = FERRY_MAX_MSG_CSR;
	assert_int_equal(proto_enrl_encode(&m, b), 0);
	m.password_len = 0;
	assert_int_equal(proto_enrl_encode(&m, b), FERRY_ERR_USAGE);
	m.password_len = FERRY_MAX_MSG_PASSWORD + 1;
	assert_int_equal(proto_enrl_encode(&m, b), FERRY_ERR_USAGE);
	m.password_len = 8;
	m.csr_len = 0;
	assert_int_equal(proto_enrl_encode(&m, b), FERRY_ERR_USAGE);
	m.csr_len = FERRY_MAX_MSG_CSR + 1;
	assert_int_equal(proto_enrl_encode(&m, b), FERRY_ERR_USAGE);
	m.csr_len = 1;
	m.user[0] = '\0';
	assert_int_equal(proto_enrl_encode(&m, b), FERRY_ERR_USAGE);
	snprintf(m.user, sizeof(m.user), "%s", "bob");
	big[3] = 0;
	assert_int_equal(proto_enrl_encode(&m, b), FERRY_ERR_USAGE);
	big[3] = 'p';

	/* Hand-made payloads the decoder must refuse. */
	fbuf_reset(b);
	fbuf_put_u8(b, 0); /* empty user */
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 'x');
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 0x30);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	fbuf_reset(b);
	fbuf_put_u8(b, FERRY_MAX_MSG_USER + 1);
	fbuf_put(b, big, FERRY_MAX_MSG_USER + 1);
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 'x');
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 0x30);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	fbuf_reset(b);
	fbuf_put_u8(b, 1); fbuf_put_u8(b, 'a');
	fbuf_put_u16(b, 0);
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 0x30);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	fbuf_reset(b);
	fbuf_put_u8(b, 1); fbuf_put_u8(b, 'a');
	fbuf_put_u16(b, FERRY_MAX_MSG_PASSWORD + 1); fbuf_put(b, big, FERRY_MAX_MSG_PASSWORD + 1);
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 0x30);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "ENRL: password: 1025 bytes, must be 1 to 1024");
	fbuf_reset(b);
	fbuf_put_u8(b, 1); fbuf_put_u8(b, 'a');
	fbuf_put_u16(b, 3); fbuf_put(b, "a\0b", 3);
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 0x30);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	fbuf_reset(b);
	fbuf_put_u8(b, 1); fbuf_put_u8(b, 'a');
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 'x');
	fbuf_put_u16(b, FERRY_MAX_MSG_CSR + 1); fbuf_put(b, big, FERRY_MAX_MSG_CSR + 1);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	fbuf_reset(b);
	fbuf_put_u8(b, 1); fbuf_put_u8(b, 'a');
	fbuf_put_u16(b, 1); fbuf_put_u8(b, 'x');
	fbuf_put_u16(b, 0);
	assert_int_equal(proto_enrl_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	assert_null(d.password);
	assert_null(d.csr);
	free(big);
	fbuf_free(b);
}

static void
test_cert(void **state)
{
	static const uint8_t der[] = { 0x30, 0x82, 0x00, 0x03, 0x01, 0x02, 0x03 };
	struct proto_cert m = { der, sizeof(der) }, d;
	struct fbuf *b = fbuf_new(32768);
	uint8_t *big = calloc(1, FERRY_MAX_MSG_CERT + 1);

	(void)state;
	assert_non_null(big);
	assert_int_equal(proto_cert_encode(&m, b), 0);
	assert_int_equal(proto_cert_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_int_equal(d.cert_len, sizeof(der));
	assert_memory_equal(d.cert, der, sizeof(der));
	check_strict(b, dec_cert);

	m.cert_len = 0;
	assert_int_equal(proto_cert_encode(&m, b), FERRY_ERR_USAGE);
	m.cert = big;
	m.cert_len = FERRY_MAX_MSG_CERT;
	fbuf_reset(b);
	assert_int_equal(proto_cert_encode(&m, b), 0);
	assert_int_equal(proto_cert_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	m.cert_len = FERRY_MAX_MSG_CERT + 1;
	assert_int_equal(proto_cert_encode(&m, b), FERRY_ERR_USAGE);
	fbuf_reset(b);
	fbuf_put_u16(b, FERRY_MAX_MSG_CERT + 1);
	fbuf_put(b, big, FERRY_MAX_MSG_CERT + 1);
	assert_int_equal(proto_cert_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	assert_int_equal(proto_cert_decode((const uint8_t *)"\x00\x00", 2, &d), FERRY_ERR_FORMAT);
	free(big);
	fbuf_free(b);
}

static void
test_error(void **state)
{
	struct proto_error m = { .code = PROTO_ERR_AUTH }, d;
	struct fbuf *b = newbuf();

	(void)state;
	snprintf(m.message, sizeof(m.message), "%s",
	    "unknown user or wrong password \xc3\xa9\xe2\x82\xac\xf0\x9f\x94\x91");
	assert_int_equal(proto_error_encode(&m, b), 0);
	assert_int_equal(proto_error_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_int_equal(d.code, PROTO_ERR_AUTH);
	assert_string_equal(d.message, m.message);
	check_strict(b, dec_error);

	/* Empty message and unknown codes are fine. */
	fbuf_reset(b);
	m.code = 999;
	m.message[0] = '\0';
	assert_int_equal(proto_error_encode(&m, b), 0);
	assert_int_equal(proto_error_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_int_equal(d.code, 999);
	check_strict(b, dec_error);

	/* Exactly 1024 bytes pass; 1025 do not. */
	fbuf_reset(b);
	memset(m.message, 'e', FERRY_MAX_MSG_ERROR);
	m.message[FERRY_MAX_MSG_ERROR] = '\0';
	assert_int_equal(proto_error_encode(&m, b), 0);
	assert_int_equal(proto_error_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	fbuf_reset(b);
	fbuf_put_u16(b, 1);
	fbuf_put_u16(b, FERRY_MAX_MSG_ERROR + 1);
	for (unsigned i = 0; i < FERRY_MAX_MSG_ERROR + 1; i++)
		fbuf_put_u8(b, 'e');
	assert_int_equal(proto_error_decode(fbuf_ptr(b), fbuf_len(b), &d), FERRY_ERR_FORMAT);
	fbuf_free(b);
}

static void
test_text_checks(void **state)
{
	static const struct {
		const char *s;
		int utf8;
	} cases[] = {
		{ "plain", 1 },
		{ "caf\xc3\xa9", 1 },
		{ "\xe2\x82\xac", 1 },
		{ "\xf0\x9f\x94\x91", 1 },
		{ "\xf4\x8f\xbf\xbf", 1 },      /* U+10FFFF */
		{ "tab\there", 0 },
		{ "nl\n", 0 },
		{ "del\x7f", 0 },
		{ "esc\x1b[2J", 0 },
		{ "\xc2\x85", 0 },              /* C1 control NEL */
		{ "\xc0\x80", 0 },              /* overlong NUL */
		{ "\xe0\x80\xaf", 0 },          /* overlong '/' */
		{ "\xed\xa0\x80", 0 },          /* surrogate */
		{ "\xf4\x90\x80\x80", 0 },      /* above U+10FFFF */
		{ "\xf5\x80\x80\x80", 0 },
		{ "\xc3", 0 },                  /* cut short */
		{ "\xe2\x82", 0 },
		{ "\x80", 0 },                  /* lone continuation */
		{ "\xff", 0 },
	};
	uint8_t nul[3] = { 'a', 0, 'b' };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(proto_text_utf8((const uint8_t *)cases[i].s, strlen(cases[i].s)),
		    cases[i].utf8);
	assert_false(proto_text_utf8(nul, sizeof(nul)));
	assert_true(proto_text_utf8(nul, 0));
	assert_true(proto_text_printable((const uint8_t *)" ~azAZ09", 8));
	assert_false(proto_text_printable((const uint8_t *)"\x1f", 1));
	assert_false(proto_text_printable((const uint8_t *)"\xc3\xa9", 2));
}

static void
test_error_names(void **state)
{
	static const char *const names[] = { NULL, "PROTOCOL", "VERSION", "AUTH",
		"RATE_LIMITED", "BAD_CSR", "DISABLED", "BUSY", "INTERNAL", "CERT_REQUIRED",
		"REVOKED", "TIMEOUT", "INTEGRITY", "NOT_FOUND", "NAME", "QUOTA" };

	(void)state;
	for (unsigned i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(proto_error_name(i), names[i]);
	assert_string_equal(proto_error_name(0), "UNKNOWN");
	assert_string_equal(proto_error_name(16), "UNKNOWN");
	assert_string_equal(proto_error_name(65535), "UNKNOWN");
	assert_int_equal(PROTO_ERR_TIMEOUT, 11);
	assert_int_equal(PROTO_ERR_INTEGRITY, 12);
	assert_int_equal(PROTO_ERR_NOT_FOUND, 13);
	assert_int_equal(PROTO_ERR_NAME, 14);
	assert_int_equal(PROTO_ERR_QUOTA, 15);
}

static void
test_choose_version(void **state)
{
	uint16_t v = 0;

	(void)state;
	assert_int_equal(proto_choose_version(1, 1, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(proto_choose_version(1, 9, &v), 0);
	assert_int_equal(v, PROTO_VERSION_MAX);
	assert_int_equal(proto_choose_version(2, 3, &v), FERRY_ERR_UNSUPPORTED);
	assert_string_equal(ferry_error_detail(FERRY_ERR_UNSUPPORTED),
	    "no common protocol version: peer speaks 2..3, we speak 1..1");
	assert_int_equal(proto_choose_version(0, 0, &v), FERRY_ERR_UNSUPPORTED);
	assert_int_equal(proto_choose_version(3, 1, &v), FERRY_ERR_UNSUPPORTED);
}

/* Read one frame back from out and decode it as ERRR. */
static void
read_error(struct fbuf *out, struct frame *f, struct proto_error *e)
{
	struct frame_transport t;
	struct frame_mem m;

	frame_mem_init(&m, fbuf_ptr(out), fbuf_len(out), NULL, &t);
	assert_int_equal(frame_read(&t, FERRY_MAX_FRAME_PREAUTH, 100, f), 0);
	assert_string_equal(f->type, "ERRR");
	assert_int_equal(proto_error_decode(f->payload, f->len, e), 0);
}

static void
test_send_error(void **state)
{
	struct fbuf *out = newbuf();
	struct frame_transport t;
	struct frame_mem m;
	struct proto_error e;
	struct frame f;
	char *big;
	uint16_t code;

	(void)state;
	frame_mem_init(&m, NULL, 0, out, &t);
	assert_int_equal(proto_send_error(&t, 100, PROTO_ERR_PROTOCOL, "unexpected %s frame",
	    "DATA"), 0);
	read_error(out, &f, &e);
	assert_int_equal(e.code, PROTO_ERR_PROTOCOL);
	assert_string_equal(e.message, "unexpected DATA frame");
	assert_int_equal(proto_error_frame_fail(&f, 1, &code), FERRY_ERR_FORMAT);
	assert_int_equal(code, PROTO_ERR_PROTOCOL);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "server refused: PROTOCOL: unexpected DATA frame");
	frame_clear(&f);

	/* Control characters and broken UTF-8 are replaced; valid UTF-8 kept. */
	fbuf_reset(out);
	frame_mem_init(&m, NULL, 0, out, &t);
	assert_int_equal(proto_send_error(&t, 100, PROTO_ERR_AUTH, "a\nb\x1b\xc3 caf\xc3\xa9"),
	    0);
	read_error(out, &f, &e);
	assert_string_equal(e.message, "a?b?? caf\xc3\xa9");
	assert_int_equal(proto_error_frame_fail(&f, 0, NULL), FERRY_ERR_AUTH);
	assert_string_equal(ferry_error_detail(FERRY_ERR_AUTH), "peer refused: AUTH: a?b?? caf\xc3\xa9");
	frame_clear(&f);

	/* Long messages are cut at a character boundary within 1024 bytes. */
	big = malloc(2000);
	assert_non_null(big);
	big[0] = 'x';
	for (size_t i = 1; i + 2 < 2000; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[1999] = '\0';
	fbuf_reset(out);
	frame_mem_init(&m, NULL, 0, out, &t);
	assert_int_equal(proto_send_error(&t, 100, PROTO_ERR_INTERNAL, "%s", big), 0);
	read_error(out, &f, &e);
	assert_int_equal(strlen(e.message), FERRY_MAX_MSG_ERROR - 1);
	assert_true(proto_text_utf8((const uint8_t *)e.message, strlen(e.message)));
	frame_clear(&f);
	free(big);

	/* Code mapping. */
	{
		static const struct { uint16_t code; int err; } map[] = {
			{ PROTO_ERR_PROTOCOL, FERRY_ERR_FORMAT },
			{ PROTO_ERR_VERSION, FERRY_ERR_UNSUPPORTED },
			{ PROTO_ERR_AUTH, FERRY_ERR_AUTH },
			{ PROTO_ERR_RATE_LIMITED, FERRY_ERR_RATE_LIMITED },
			{ PROTO_ERR_BAD_CSR, FERRY_ERR_FORMAT },
			{ PROTO_ERR_DISABLED, FERRY_ERR_DISABLED },
			{ PROTO_ERR_BUSY, FERRY_ERR_LIMIT },
			{ PROTO_ERR_INTERNAL, FERRY_ERR_REMOTE },
			{ PROTO_ERR_CERT_REQUIRED, FERRY_ERR_AUTH },
			{ PROTO_ERR_REVOKED, FERRY_ERR_REVOKED },
			{ PROTO_ERR_TIMEOUT, FERRY_ERR_TIMEOUT },
			{ 77, FERRY_ERR_IO },
		};

		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			fbuf_reset(out);
			frame_mem_init(&m, NULL, 0, out, &t);
			assert_int_equal(proto_send_error(&t, 100, map[i].code, "x"), 0);
			read_error(out, &f, &e);
			assert_int_equal(proto_error_frame_fail(&f, 1, &code), map[i].err);
			assert_int_equal(code, map[i].code);
			frame_clear(&f);
		}
	}

	/* Not an ERRR frame. */
	memset(&f, 0, sizeof(f));
	memcpy(f.type, "CERT", 5);
	assert_int_equal(proto_error_frame_fail(&f, 1, &code), FERRY_ERR_FORMAT);
	assert_int_equal(code, 0);
	fbuf_free(out);
}

/* The example frames of docs/PROTOCOL.md, section 10. */
static void
test_protocol_md_example(void **state)
{
	static const uint8_t expect[] = {
		0x48, 0x45, 0x4c, 0x4f, 0x00, 0x00, 0x00, 0x11,
		0x00, 0x01, 0x00, 0x01, 0x01, 0x0b,
		0x66, 0x65, 0x72, 0x72, 0x79, 0x20, 0x30, 0x2e, 0x31, 0x2e, 0x30,
	};
	static const char errr[] = "ERRR\x00\x00\x00\x22\x00\x03\x00\x1e"
	    "unknown user or wrong password";
	struct proto_helo_req m = { .min_version = 1, .max_version = 1, .purpose = 1 };
	struct fbuf *out = newbuf();
	struct frame_transport t;
	struct frame_mem mem;

	(void)state;
	snprintf(m.software, sizeof(m.software), "%s", "ferry 0.1.0");
	frame_mem_init(&mem, NULL, 0, out, &t);
	assert_int_equal(proto_send_helo_req(&t, &m, 100), 0);
	assert_int_equal(fbuf_len(out), sizeof(expect));
	assert_memory_equal(fbuf_ptr(out), expect, sizeof(expect));

	/* And the ERRR example. */
	fbuf_reset(out);
	frame_mem_init(&mem, NULL, 0, out, &t);
	assert_int_equal(proto_send_error(&t, 100, PROTO_ERR_AUTH,
	    "unknown user or wrong password"), 0);
	assert_int_equal(fbuf_len(out), sizeof(errr) - 1);
	assert_memory_equal(fbuf_ptr(out), errr, sizeof(errr) - 1);
	fbuf_free(out);
}

static void
test_send_helpers(void **state)
{
	struct proto_helo_rep rep = { .version = 1, .purpose = 1 };
	struct proto_enrl enrl = { .password = (const uint8_t *)"pw", .password_len = 2,
		.csr = (const uint8_t *)CSR_BYTES, .csr_len = sizeof(CSR_BYTES) - 1 };
	struct proto_cert cert = { (const uint8_t *)"\x30\x00", 2 };
	struct fbuf *out = newbuf();
	struct frame_transport t, rt;
	struct frame_mem m, rm;
	struct proto_enrl e;
	struct frame f;

	(void)state;
	snprintf(enrl.user, sizeof(enrl.user), "%s", "carol");
	frame_mem_init(&m, NULL, 0, out, &t);
	assert_int_equal(proto_send_helo_rep(&t, &rep, 100), 0);
	assert_int_equal(proto_send_enrl(&t, &enrl, 100), 0);
	assert_int_equal(proto_send_cert(&t, &cert, 100), 0);
	enrl.password_len = 0;
	assert_int_equal(proto_send_enrl(&t, &enrl, 100), FERRY_ERR_USAGE);

	frame_mem_init(&rm, fbuf_ptr(out), fbuf_len(out), NULL, &rt);
	assert_int_equal(frame_read(&rt, FERRY_MAX_FRAME_PREAUTH, 100, &f), 0);
	assert_true(frame_is(&f, PROTO_HELO));
	frame_clear(&f);
	assert_int_equal(frame_read(&rt, FERRY_MAX_FRAME_PREAUTH, 100, &f), 0);
	assert_true(frame_is(&f, PROTO_ENRL));
	assert_int_equal(proto_enrl_decode(f.payload, f.len, &e), 0);
	assert_string_equal(e.user, "carol");
	frame_clear(&f);
	assert_int_equal(frame_read(&rt, FERRY_MAX_FRAME_PREAUTH, 100, &f), 0);
	assert_true(frame_is(&f, PROTO_CERT));
	frame_clear(&f);
	assert_int_equal(frame_read(&rt, FERRY_MAX_FRAME_PREAUTH, 100, &f), FERRY_ERR_TRUNCATED);
	fbuf_free(out);
}

/* Random payloads through every decoder: no crash, only clean results. */
static void
test_random_payloads(void **state)
{
	static const decode_fn decs[] = { dec_helo_req, dec_helo_rep, dec_enrl, dec_cert,
		dec_error };
	uint8_t buf[64];
	uint32_t x = 0x12345678;
	int r;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(iter % (int)sizeof(buf));

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* Small values make plausible lengths more likely. */
			buf[i] = (uint8_t)((x & 0x100) ? (x & 0x7) : x);
		}
		for (size_t d = 0; d < sizeof(decs) / sizeof(decs[0]); d++) {
			r = decs[d](buf, n);
			assert_true(r == 0 || r == FERRY_ERR_FORMAT);
		}
	}
}

/* ---- store operations ---------------------------------------------------------------- */

static int
dec_put(const uint8_t *p, size_t len)
{
	struct proto_put m;

	return proto_put_decode(p, len, &m);
}

static int
dec_ofst(const uint8_t *p, size_t len)
{
	struct proto_ofst m;

	return proto_ofst_decode(p, len, &m);
}

static int
dec_stor(const uint8_t *p, size_t len)
{
	struct proto_stor m;

	return proto_stor_decode(p, len, &m);
}

static int
dec_file(const uint8_t *p, size_t len)
{
	struct proto_file m;

	return proto_file_decode(p, len, &m);
}

static int
dec_get(const uint8_t *p, size_t len)
{
	struct proto_get m;

	return proto_get_decode(p, len, &m);
}

static int
dec_dele(const uint8_t *p, size_t len)
{
	struct proto_name m;

	return proto_name_decode(p, len, PROTO_DELE, &m);
}

static int
dec_ents(const uint8_t *p, size_t len)
{
	struct proto_entry *e = NULL;
	size_t n = 0;
	int r;

	r = proto_ents_decode(p, len, &e, &n);
	if (r != 0) {
		assert_null(e);
		assert_int_equal(n, 0);
	}
	free(e);
	return r;
}

static void
fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void
test_put(void **state)
{
	struct proto_put m = { .size = 0x0102030405060708ull }, d;
	struct fbuf *b = newbuf();
	static const uint8_t expect[] = { 0x00, 0x05, 'a', '.', 't', 'x', 't',
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00 };

	(void)state;
	snprintf(m.name, sizeof(m.name), "%s", "a.txt");
	assert_int_equal(proto_put_encode(&m, b), 0);
	assert_int_equal(fbuf_len(b), sizeof(expect));
	assert_memory_equal(fbuf_ptr(b), expect, sizeof(expect));
	assert_int_equal(proto_put_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_string_equal(d.name, "a.txt");
	assert_true(d.size == m.size);
	assert_int_equal(d.flags, 0);
	check_strict(b, dec_put);

	/* The resume flag; unknown flag bits are malformed. */
	fbuf_reset(b);
	m.flags = PROTO_PUT_RESUME;
	assert_int_equal(proto_put_encode(&m, b), 0);
	assert_int_equal(proto_put_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_int_equal(d.flags, PROTO_PUT_RESUME);
	{
		uint8_t bad[2 + 5 + 8 + 1];

		assert_int_equal(fbuf_len(b), sizeof(bad));
		memcpy(bad, fbuf_ptr(b), sizeof(bad));
		bad[sizeof(bad) - 1] = 0x03;
		assert_int_equal(proto_put_decode(bad, sizeof(bad), &d), FERRY_ERR_FORMAT);
	}
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "flags"));
	m.flags = 0x80;
	assert_int_equal(proto_put_encode(&m, b), FERRY_ERR_USAGE);
	m.flags = 0;

	/* Unknown size; a UTF-8 name of the maximum length. */
	fbuf_reset(b);
	m.size = PROTO_SIZE_UNKNOWN;
	memset(m.name, 'x', FERRY_MAX_OBJECT_NAME);
	m.name[FERRY_MAX_OBJECT_NAME] = '\0';
	memcpy(m.name, "\xc3\xa9", 2);
	assert_int_equal(proto_put_encode(&m, b), 0);
	assert_int_equal(proto_put_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_true(d.size == PROTO_SIZE_UNKNOWN);
	assert_string_equal(d.name, m.name);

	/* The codec leaves the name rules to the server: "../x" and an empty name pass
	 * (refused later as NAME), a NUL byte or 256 bytes do not. */
	fbuf_reset(b);
	snprintf(m.name, sizeof(m.name), "%s", "../x");
	assert_int_equal(proto_put_encode(&m, b), 0);
	assert_int_equal(proto_put_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_string_equal(d.name, "../x");
	fbuf_reset(b);
	m.name[0] = '\0';
	assert_int_equal(proto_put_encode(&m, b), 0);
	assert_int_equal(proto_put_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_string_equal(d.name, "");
	{
		static const uint8_t nul[] = { 0x00, 0x03, 'a', 0x00, 'b', 0, 0, 0, 0, 0, 0, 0, 1,
			0 };
		uint8_t big[2 + 256 + 8 + 1];

		assert_int_equal(proto_put_decode(nul, sizeof(nul), &d), FERRY_ERR_FORMAT);
		assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "NUL"));
		memset(big, 'y', sizeof(big));
		big[0] = 0x01;
		big[1] = 0x00;
		assert_int_equal(proto_put_decode(big, sizeof(big), &d), FERRY_ERR_FORMAT);
		assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "256 bytes"));
	}
	fbuf_free(b);
}

static void
test_small_replies(void **state)
{
	static const uint8_t hdr[] = { 'F', 'E', 'R', 'R', 'Y', 0 };
	struct proto_ofst o = { .offset = 0 }, od;
	struct proto_stor st = { .size = 7, .stored = 1700000000 }, sd;
	struct proto_file fl = { .size = 99, .start = 0 }, fd;
	struct proto_get g = { .offset = 5 }, gd;
	struct proto_name nm, nd;
	struct fbuf *b = newbuf();

	(void)state;
	/* OFST: a fresh upload (no header), then a resumed one. */
	assert_int_equal(proto_ofst_encode(&o, b), 0);
	assert_int_equal(fbuf_len(b), 8 + 2 + 32);
	assert_int_equal(proto_ofst_decode(fbuf_ptr(b), fbuf_len(b), &od), 0);
	assert_true(od.offset == 0 && od.header_len == 0);
	check_strict(b, dec_ofst);
	fbuf_reset(b);
	o.offset = 42;
	assert_int_equal(proto_ofst_encode(&o, b), FERRY_ERR_USAGE);
	o.header = hdr;
	o.header_len = sizeof(hdr);
	fill(o.tags_digest, sizeof(o.tags_digest), 5);
	fbuf_reset(b);
	assert_int_equal(proto_ofst_encode(&o, b), 0);
	assert_int_equal(fbuf_len(b), 8 + 2 + sizeof(hdr) + 32);
	assert_int_equal(proto_ofst_decode(fbuf_ptr(b), fbuf_len(b), &od), 0);
	assert_true(od.offset == 42 && od.header_len == sizeof(hdr));
	assert_memory_equal(od.header, hdr, sizeof(hdr));
	assert_memory_equal(od.tags_digest, o.tags_digest, 32);
	check_strict(b, dec_ofst);
	/* A header with offset 0 is malformed. */
	{
		uint8_t bad[8 + 2 + sizeof(hdr) + 32];

		memcpy(bad, fbuf_ptr(b), sizeof(bad));
		memset(bad, 0, 8);
		assert_int_equal(proto_ofst_decode(bad, sizeof(bad), &od), FERRY_ERR_FORMAT);
	}
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "OFST: header"));

	fbuf_reset(b);
	fill(st.sha256, sizeof(st.sha256), 3);
	assert_int_equal(proto_stor_encode(&st, b), 0);
	assert_int_equal(fbuf_len(b), 8 + 32 + 8);
	assert_int_equal(proto_stor_decode(fbuf_ptr(b), fbuf_len(b), &sd), 0);
	assert_true(sd.size == 7 && sd.stored == 1700000000);
	assert_memory_equal(sd.sha256, st.sha256, 32);
	check_strict(b, dec_stor);

	fbuf_reset(b);
	fill(fl.sha256, sizeof(fl.sha256), 9);
	fl.start = 64;
	assert_int_equal(proto_file_encode(&fl, b), 0);
	assert_int_equal(fbuf_len(b), 8 + 32 + 8);
	assert_int_equal(proto_file_decode(fbuf_ptr(b), fbuf_len(b), &fd), 0);
	assert_true(fd.size == 99 && fd.start == 64);
	assert_memory_equal(fd.sha256, fl.sha256, 32);
	check_strict(b, dec_file);
	/* start beyond the size */
	{
		uint8_t bad[8 + 32 + 8];

		memcpy(bad, fbuf_ptr(b), sizeof(bad));
		bad[47] = 100;
		assert_int_equal(proto_file_decode(bad, sizeof(bad), &fd), FERRY_ERR_FORMAT);
	}
	fl.start = 100;
	assert_int_equal(proto_file_encode(&fl, b), FERRY_ERR_USAGE);

	fbuf_reset(b);
	snprintf(g.name, sizeof(g.name), "%s", "report 2026.pdf");
	assert_int_equal(proto_get_encode(&g, b), 0);
	assert_int_equal(fbuf_len(b), 2 + strlen(g.name) + 8);
	assert_int_equal(proto_get_decode(fbuf_ptr(b), fbuf_len(b), &gd), 0);
	assert_string_equal(gd.name, g.name);
	assert_true(gd.offset == 5);
	check_strict(b, dec_get);

	fbuf_reset(b);
	snprintf(nm.name, sizeof(nm.name), "%s", "report 2026.pdf");
	assert_int_equal(proto_name_encode(&nm, b), 0);
	assert_int_equal(fbuf_len(b), 2 + strlen(nm.name));
	assert_int_equal(proto_name_decode(fbuf_ptr(b), fbuf_len(b), PROTO_DELE, &nd), 0);
	assert_string_equal(nd.name, nm.name);
	check_strict(b, dec_dele);
	assert_int_equal(proto_name_decode(fbuf_ptr(b), 1, PROTO_DELE, &nd), FERRY_ERR_FORMAT);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "DELE"));

	/* Empty payloads. */
	assert_int_equal(proto_empty_decode(0, PROTO_LIST), 0);
	assert_int_equal(proto_empty_decode(1, PROTO_LIST), FERRY_ERR_FORMAT);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "LIST"));
	fbuf_free(b);
}

static void
test_done(void **state)
{
	struct proto_done m = { .has_sha256 = true }, d;
	struct fbuf *b = newbuf();
	uint8_t x[33] = { 0 };

	(void)state;
	fill(m.sha256, sizeof(m.sha256), 1);
	assert_int_equal(proto_done_encode(&m, b), 0);
	assert_int_equal(fbuf_len(b), 32);
	assert_int_equal(proto_done_decode(fbuf_ptr(b), fbuf_len(b), &d), 0);
	assert_true(d.has_sha256);
	assert_memory_equal(d.sha256, m.sha256, 32);
	fbuf_reset(b);
	m.has_sha256 = false;
	assert_int_equal(proto_done_encode(&m, b), 0);
	assert_int_equal(fbuf_len(b), 0);
	assert_int_equal(proto_done_decode(NULL, 0, &d), 0);
	assert_false(d.has_sha256);
	for (size_t n = 1; n <= sizeof(x); n++) {
		if (n == 32)
			continue;
		assert_int_equal(proto_done_decode(x, n, &d), FERRY_ERR_FORMAT);
	}
	fbuf_free(b);
}

static void
test_ents(void **state)
{
	struct proto_entry e[3], *d = NULL;
	struct fbuf *b = fbuf_new(FERRY_MAX_FRAME);
	size_t n = 99, expect_len = 4;

	(void)state;
	assert_non_null(b);
	/* An empty list. */
	assert_int_equal(proto_ents_encode(NULL, 0, b), 0);
	assert_int_equal(fbuf_len(b), 4);
	assert_int_equal(proto_ents_decode(fbuf_ptr(b), fbuf_len(b), &d, &n), 0);
	assert_null(d);
	assert_int_equal(n, 0);
	check_strict(b, dec_ents);

	memset(e, 0, sizeof(e));
	snprintf(e[0].name, sizeof(e[0].name), "%s", "a");
	snprintf(e[1].name, sizeof(e[1].name), "%s", "caf\xc3\xa9 menu.txt");
	snprintf(e[2].name, sizeof(e[2].name), "%s", "zz");
	for (size_t i = 0; i < 3; i++) {
		e[i].size = i * 1000;
		e[i].stored = 1700000000 + i;
		fill(e[i].sha256, 32, (uint8_t)i);
		expect_len += PROTO_ENTRY_LEN(strlen(e[i].name));
	}
	fbuf_reset(b);
	assert_int_equal(proto_ents_encode(e, 3, b), 0);
	assert_int_equal(fbuf_len(b), expect_len);
	assert_int_equal(proto_ents_decode(fbuf_ptr(b), fbuf_len(b), &d, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(d[i].name, e[i].name);
		assert_true(d[i].size == e[i].size && d[i].stored == e[i].stored);
		assert_memory_equal(d[i].sha256, e[i].sha256, 32);
	}
	free(d);
	check_strict(b, dec_ents);

	/* An entry name must be text: a control character is refused. */
	fbuf_reset(b);
	snprintf(e[0].name, sizeof(e[0].name), "%s", "bad\x01name");
	assert_int_equal(proto_ents_encode(e, 1, b), 0);
	assert_int_equal(proto_ents_decode(fbuf_ptr(b), fbuf_len(b), &d, &n), FERRY_ERR_FORMAT);
	assert_null(d);
	/* A huge count is refused before anything is allocated. */
	{
		static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 'a' };

		assert_int_equal(proto_ents_decode(huge, sizeof(huge), &d, &n), FERRY_ERR_FORMAT);
		assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "cannot fit"));
	}
	/* An empty entry name cannot be encoded. */
	fbuf_reset(b);
	e[0].name[0] = '\0';
	assert_int_equal(proto_ents_encode(e, 1, b), FERRY_ERR_USAGE);
	fbuf_free(b);
}

static void
test_store_send_helpers(void **state)
{
	struct fbuf *out = fbuf_new(4u * 1024u * 1024u);
	struct proto_put put = { .size = 5 };
	struct proto_name nm;
	struct proto_get get = { .offset = 0 };
	struct proto_ofst ofst = { 0 };
	struct proto_done done = { .has_sha256 = true };
	struct proto_stor stor = { .size = 5 };
	struct proto_file file = { .size = 5 };
	struct proto_entry ent = { .size = 5 };
	static const char *const types[] = { PROTO_PUT, PROTO_OFST, PROTO_DATA, PROTO_DATA,
		PROTO_DONE, PROTO_STOR, PROTO_GET, PROTO_FILE, PROTO_LIST, PROTO_ENTS, PROTO_DELE,
		PROTO_OKAY };
	struct frame_transport t, rt;
	struct frame_mem m, rm;
	uint8_t *big;
	struct frame f;

	(void)state;
	assert_non_null(out);
	assert_non_null(big = calloc(1, FERRY_MAX_DATA_PAYLOAD + 1));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_true(frame_type_valid(types[i]));
	snprintf(put.name, sizeof(put.name), "%s", "x");
	snprintf(nm.name, sizeof(nm.name), "%s", "x");
	snprintf(get.name, sizeof(get.name), "%s", "x");
	snprintf(ent.name, sizeof(ent.name), "%s", "x");
	frame_mem_init(&m, NULL, 0, out, &t);
	assert_int_equal(proto_send_put(&t, &put, 100), 0);
	assert_int_equal(proto_send_ofst(&t, &ofst, 100), 0);
	assert_int_equal(proto_send_data(&t, "hello", 5, 100), 0);
	assert_int_equal(proto_send_data(&t, big, FERRY_MAX_DATA_PAYLOAD, 100), 0);
	assert_int_equal(proto_send_data(&t, big, FERRY_MAX_DATA_PAYLOAD + 1, 100),
	    FERRY_ERR_USAGE);
	assert_int_equal(proto_send_data(&t, big, 0, 100), FERRY_ERR_USAGE);
	assert_int_equal(proto_send_done(&t, &done, 100), 0);
	assert_int_equal(proto_send_stor(&t, &stor, 100), 0);
	assert_int_equal(proto_send_get(&t, &get, 100), 0);
	assert_int_equal(proto_send_file(&t, &file, 100), 0);
	assert_int_equal(proto_send_list(&t, 100), 0);
	assert_int_equal(proto_send_ents(&t, &ent, 1, 100), 0);
	assert_int_equal(proto_send_dele(&t, &nm, 100), 0);
	assert_int_equal(proto_send_okay(&t, 100), 0);

	frame_mem_init(&rm, fbuf_ptr(out), fbuf_len(out), NULL, &rt);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(frame_read(&rt, FERRY_MAX_FRAME, 100, &f), 0);
		assert_string_equal(f.type, types[i]);
		if (frame_is(&f, PROTO_DATA))
			assert_int_equal(proto_data_check(f.len), 0);
		if (frame_is(&f, PROTO_LIST) || frame_is(&f, PROTO_OKAY))
			assert_int_equal(proto_empty_decode(f.len, f.type), 0);
		frame_clear(&f);
	}
	assert_int_equal(frame_read(&rt, FERRY_MAX_FRAME, 100, &f), FERRY_ERR_TRUNCATED);
	assert_int_equal(proto_data_check(0), FERRY_ERR_FORMAT);
	assert_int_equal(proto_data_check(FERRY_MAX_DATA_PAYLOAD + 1), FERRY_ERR_FORMAT);
	free(big);
	fbuf_free(out);
}

/* The PUTF example of docs/PROTOCOL.md, section 12.6, byte for byte. */
static void
test_protocol_md_putf_example(void **state)
{
	static const uint8_t expect[] = {
		0x50, 0x55, 0x54, 0x46, 0x00, 0x00, 0x00, 0x10,
		0x00, 0x05, 0x61, 0x2e, 0x74, 0x78, 0x74,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
		0x01,
	};
	struct proto_put m = { .size = 5, .flags = PROTO_PUT_RESUME };
	struct fbuf *out = newbuf();
	struct frame_transport t;
	struct frame_mem mem;

	(void)state;
	snprintf(m.name, sizeof(m.name), "%s", "a.txt");
	frame_mem_init(&mem, NULL, 0, out, &t);
	assert_int_equal(proto_send_put(&t, &m, 100), 0);
	assert_int_equal(fbuf_len(out), sizeof(expect));
	assert_memory_equal(fbuf_ptr(out), expect, sizeof(expect));
	fbuf_free(out);
}

/* The new ERRR codes map to distinct local errors. */
static void
test_store_error_codes(void **state)
{
	static const struct {
		uint16_t code;
		int ret;
	} map[] = {
		{ PROTO_ERR_INTEGRITY, FERRY_ERR_AUTH },
		{ PROTO_ERR_NOT_FOUND, FERRY_ERR_NOT_FOUND },
		{ PROTO_ERR_NAME, FERRY_ERR_USAGE },
		{ PROTO_ERR_QUOTA, FERRY_ERR_LIMIT },
	};
	struct fbuf *out = newbuf();
	struct frame_transport t, rt;
	struct frame_mem m, rm;
	struct frame f;
	uint16_t code;

	(void)state;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		fbuf_reset(out);
		frame_mem_init(&m, NULL, 0, out, &t);
		assert_int_equal(proto_send_error(&t, 100, map[i].code, "no file called \"%s\"",
		    "x"), 0);
		frame_mem_init(&rm, fbuf_ptr(out), fbuf_len(out), NULL, &rt);
		assert_int_equal(frame_read(&rt, FERRY_MAX_FRAME, 100, &f), 0);
		assert_int_equal(proto_error_frame_fail(&f, 1, &code), map[i].ret);
		assert_int_equal(code, map[i].code);
		assert_non_null(strstr(ferry_error_detail(map[i].ret), proto_error_name(code)));
		frame_clear(&f);
	}
	fbuf_free(out);
}

/* Random payloads through the store decoders: no crash, only clean results. */
static void
test_store_random_payloads(void **state)
{
	static const decode_fn decs[] = { dec_put, dec_ofst, dec_stor, dec_file, dec_get,
		dec_ents };
	uint8_t buf[96];
	uint32_t x = 0x9e3779b9;
	int r;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(iter % (int)sizeof(buf));

		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)((x & 0x100) ? (x & 0x7) : x);
		}
		for (size_t d = 0; d < sizeof(decs) / sizeof(decs[0]); d++) {
			r = decs[d](buf, n);
			assert_true(r == 0 || r == FERRY_ERR_FORMAT);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_helo_req),
		cmocka_unit_test(test_helo_req_bad),
		cmocka_unit_test(test_helo_rep),
		cmocka_unit_test(test_enrl),
		cmocka_unit_test(test_enrl_bounds),
		cmocka_unit_test(test_cert),
		cmocka_unit_test(test_error),
		cmocka_unit_test(test_text_checks),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_choose_version),
		cmocka_unit_test(test_send_error),
		cmocka_unit_test(test_protocol_md_example),
		cmocka_unit_test(test_send_helpers),
		cmocka_unit_test(test_random_payloads),
		cmocka_unit_test(test_put),
		cmocka_unit_test(test_small_replies),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_ents),
		cmocka_unit_test(test_store_send_helpers),
		cmocka_unit_test(test_store_error_codes),
		cmocka_unit_test(test_protocol_md_putf_example),
		cmocka_unit_test(test_store_random_payloads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
