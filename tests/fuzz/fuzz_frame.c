/*
 * Fuzz the wire protocol codec: the frame reader over a memory transport and the
 * version-1 message decoders, the first code to see bytes from the network.
 *
 * The first input byte picks the frame limit (before or after authentication); the rest
 * is the byte stream. Frames are read until the stream fails. Beyond not crashing, it
 * checks the codec's contract: a frame that is read has a valid type and a length within
 * the limit; every failure is one of the documented codes and says why; a payload that a
 * decoder accepts encodes back to exactly the same bytes (the encoding is canonical).
 * The whole stream is also fed to every decoder directly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "net/frame.h"
#include "net/proto.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void
check_failed(int r)
{
	CHECK(r < 0);
	CHECK(strcmp(ferry_error_detail(r), ferry_strerror(r)) != 0);
}

/* Encoding the decoded message must give back the payload byte for byte. */
static void
check_same(struct fbuf *b, const uint8_t *p, size_t len)
{
	CHECK(fbuf_len(b) == len);
	CHECK(len == 0 || memcmp(fbuf_ptr(b), p, len) == 0);
	fbuf_reset(b);
}

/* A decoder/encoder pair of the store messages: decoded bytes must encode back. */
#define ROUND_TRIP(type, p, len, b) do {						\
	struct type m_;									\
	int r_;										\
											\
	if ((r_ = type##_decode((p), (len), &m_)) == 0) {				\
		CHECK(type##_encode(&m_, (b)) == 0);					\
		check_same((b), (p), (len));						\
	} else {									\
		CHECK(r_ == FERRY_ERR_FORMAT);						\
		check_failed(r_);							\
	}										\
} while (0)

static void
decode_store(const uint8_t *p, size_t len, struct fbuf *b)
{
	struct proto_entry *ents = NULL;
	struct proto_name nm;
	size_t count = 0;
	int r;

	ROUND_TRIP(proto_put, p, len, b);
	ROUND_TRIP(proto_ofst, p, len, b);
	ROUND_TRIP(proto_done, p, len, b);
	ROUND_TRIP(proto_stor, p, len, b);
	ROUND_TRIP(proto_file, p, len, b);
	ROUND_TRIP(proto_get, p, len, b);
	if ((r = proto_name_decode(p, len, "DELE", &nm)) == 0) {
		CHECK(proto_name_encode(&nm, b) == 0);
		check_same(b, p, len);
	} else {
		CHECK(r == FERRY_ERR_FORMAT);
		check_failed(r);
	}
	if ((r = proto_ents_decode(p, len, &ents, &count)) == 0) {
		CHECK(proto_ents_encode(ents, count, b) == 0);
		check_same(b, p, len);
	} else {
		CHECK(r == FERRY_ERR_FORMAT || r == FERRY_ERR_NOMEM);
	}
	free(ents);
}

static void
decode_all(const uint8_t *p, size_t len, struct fbuf *b)
{
	struct proto_helo_req hq;
	struct proto_helo_rep hr;
	struct proto_enrl en;
	struct proto_cert ce;
	struct proto_error er;
	int r;

	if ((r = proto_helo_req_decode(p, len, &hq)) == 0) {
		CHECK(proto_helo_req_encode(&hq, b) == 0);
		check_same(b, p, len);
	} else {
		CHECK(r == FERRY_ERR_FORMAT);
		check_failed(r);
	}
	if ((r = proto_helo_rep_decode(p, len, &hr)) == 0) {
		CHECK(proto_helo_rep_encode(&hr, b) == 0);
		check_same(b, p, len);
	} else {
		CHECK(r == FERRY_ERR_FORMAT);
		check_failed(r);
	}
	if ((r = proto_enrl_decode(p, len, &en)) == 0) {
		CHECK(en.password >= p && en.password + en.password_len <= p + len);
		CHECK(en.csr >= p && en.csr + en.csr_len <= p + len);
		CHECK(proto_enrl_encode(&en, b) == 0);
		check_same(b, p, len);
	} else {
		CHECK(r == FERRY_ERR_FORMAT);
		check_failed(r);
	}
	if ((r = proto_cert_decode(p, len, &ce)) == 0) {
		CHECK(ce.cert >= p && ce.cert + ce.cert_len <= p + len);
		CHECK(proto_cert_encode(&ce, b) == 0);
		check_same(b, p, len);
	} else {
		CHECK(r == FERRY_ERR_FORMAT);
		check_failed(r);
	}
	if ((r = proto_error_decode(p, len, &er)) == 0) {
		CHECK(strlen(er.message) <= FERRY_MAX_MSG_ERROR);
		CHECK(proto_error_encode(&er, b) == 0);
		check_same(b, p, len);
	} else {
		CHECK(r == FERRY_ERR_FORMAT);
		check_failed(r);
	}
	decode_store(p, len, b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_transport t;
	struct frame_mem m;
	struct frame f;
	struct fbuf *b;
	uint32_t max;
	int r;

	if (size < 1)
		return 0;
	max = (data[0] & 1) ? FERRY_MAX_FRAME : FERRY_MAX_FRAME_PREAUTH;
	if ((b = fbuf_new(FERRY_MAX_FRAME)) == NULL)
		return 0;
	frame_mem_init(&m, data + 1, size - 1, NULL, &t);
	for (;;) {
		r = frame_read(&t, max, 1000, &f);
		if (r != 0) {
			CHECK(r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT ||
			    r == FERRY_ERR_TRUNCATED || r == FERRY_ERR_NOMEM);
			CHECK(f.payload == NULL && f.len == 0);
			check_failed(r);
			break;
		}
		CHECK(frame_type_valid(f.type));
		CHECK(f.len <= max);
		CHECK((f.len == 0) == (f.payload == NULL));
		decode_all(f.payload, f.len, b);
		frame_clear(&f);
	}
	decode_all(data + 1, size - 1, b);
	fbuf_free(b);
	ferry_error_clear();
	ERR_clear_error();
	return 0;
}
