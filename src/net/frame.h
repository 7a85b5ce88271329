/*
 * The frame codec of the wire protocol (docs/PROTOCOL.md, "Framing").
 *
 * A frame is an 8-byte header -- a 4-byte type of ASCII [A-Z0-9] and a big-endian u32
 * payload length -- followed by that many payload bytes. The codec knows nothing about
 * TLS: it reads and writes through a struct frame_transport, so the same code runs over
 * a TLS connection (tls_conn_transport() in net/tls.h) and over memory (struct frame_mem,
 * for the tests and the fuzz target).
 *
 * Every length is checked against the caller's maximum before anything is allocated:
 * FERRY_MAX_FRAME_PREAUTH until the peer is authenticated, FERRY_MAX_FRAME afterwards.
 */
#ifndef FERRY_NET_FRAME_H
#define FERRY_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/limits.h"

#define FRAME_TYPE_LEN 4
#define FRAME_HEADER_LEN FERRY_FRAME_HEADER_LEN

/*
 * A byte stream. read() delivers exactly n bytes or fails; write() sends all n bytes or
 * fails. Both return 0 or a negative FERRY_ERR_* with a detail recorded; timeout_ms bounds
 * the one call (-1 waits indefinitely). A read that finds the stream closed returns
 * FERRY_ERR_TRUNCATED. arg is passed through unchanged.
 */
struct frame_transport {
	int (*read)(void *arg, void *p, size_t n, int timeout_ms);
	int (*write)(void *arg, const void *p, size_t n, int timeout_ms);
	void *arg;
};

/* A received frame. payload is owned by the frame (NULL when len is 0). */
struct frame {
	char type[FRAME_TYPE_LEN + 1]; /* NUL-terminated, 4 chars of [A-Z0-9] */
	uint8_t *payload;
	uint32_t len;
};

/* Wipe and free the payload and reset *f to an empty frame. Accepts NULL and empty frames. */
void frame_clear(struct frame *f);

/* True when s is exactly 4 chars of [A-Z0-9] (a valid frame type). */
int frame_type_valid(const char *s);

/* True when f has type `type` (a 4-char string). */
int frame_is(const struct frame *f, const char *type);

/*
 * Parse a frame header. Writes the NUL-terminated type and the payload length.
 * Returns 0, or FERRY_ERR_FORMAT (type bytes outside [A-Z0-9]: "frame: bad type bytes 0x16
 * 0x03 0x01 0x00 (not a ferry frame)") or FERRY_ERR_LIMIT (length > max_len: "frame: length
 * N exceeds the M-byte limit", with " before authentication" appended when max_len is
 * FERRY_MAX_FRAME_PREAUTH). max_len must be <= FERRY_MAX_FRAME.
 */
int frame_header_parse(const uint8_t hdr[FRAME_HEADER_LEN], uint32_t max_len,
    char type[FRAME_TYPE_LEN + 1], uint32_t *len);

/*
 * Append one frame (header + payload) to out. type must be valid; len <= FERRY_MAX_FRAME.
 * Returns 0, FERRY_ERR_USAGE (bad type or length), or out's FERRY_ERR_LIMIT/NOMEM.
 */
int frame_encode(struct fbuf *out, const char *type, const void *payload, size_t len);

/*
 * Read one frame whose payload is at most max_len bytes (<= FERRY_MAX_FRAME).
 * timeout_ms bounds the whole frame (header and payload; -1 = no bound), so a peer that
 * drips bytes cannot hold the reader longer than that. On success *f holds the frame
 * (free with frame_clear()); on failure *f is empty. Errors: those of frame_header_parse,
 * the transport's (FERRY_ERR_TRUNCATED when the stream ends, also mid-frame; the detail
 * says whether the stream ended cleanly between frames), FERRY_ERR_NOMEM.
 */
int frame_read(const struct frame_transport *t, uint32_t max_len, int timeout_ms,
    struct frame *f);

/*
 * Write one frame: the header with the first 16 KiB of the payload in one transport write,
 * the rest (if any) straight from payload in a second one, with no copy of it; timeout_ms
 * bounds both together. Returns 0, FERRY_ERR_USAGE (as frame_encode) or the transport's
 * error.
 */
int frame_write(const struct frame_transport *t, const char *type, const void *payload,
    size_t len, int timeout_ms);

/*
 * An in-memory transport: reads consume `in` (borrowed, must outlive the transport), writes
 * append to `out` (may be NULL: writes then fail with FERRY_ERR_IO). Reading past the end of
 * `in` fails with FERRY_ERR_TRUNCATED and consumes nothing. Timeouts are ignored.
 */
struct frame_mem {
	struct freader in;
	struct fbuf *out;
};

/* Point m at in/in_len and out, and t at m. */
void frame_mem_init(struct frame_mem *m, const void *in, size_t in_len, struct fbuf *out,
    struct frame_transport *t);

#endif
