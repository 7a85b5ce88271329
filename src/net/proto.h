/*
 * The version-1 messages of the wire protocol (docs/PROTOCOL.md, "Messages"): encoders
 * that append a payload to an fbuf and strict decoders over a payload. A decoder accepts
 * a payload only if every field is present, within its bound and of the right character
 * set, and nothing follows the last field; it fails with FERRY_ERR_FORMAT naming the
 * message and field ("ENRL: user name: 70 bytes, limit 64") and fills nothing useful.
 *
 * Text fields are copied into NUL-terminated arrays in the message structs. Fields typed
 * `const uint8_t *` (ENRL password and CSR, CERT certificate) are BORROWED views into the
 * payload passed to the decoder: they stay valid only while that payload does (for a
 * struct frame: until frame_clear()). The password view points at secret bytes: the
 * payload must be wiped when done, which frame_clear() does.
 */
#ifndef FERRY_NET_PROTO_H
#define FERRY_NET_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "net/frame.h"
#include "util/buf.h"
#include "util/limits.h"

/* Protocol versions this implementation speaks. */
#define PROTO_VERSION_MIN 1
#define PROTO_VERSION_MAX 1

/* Frame types. */
#define PROTO_HELO "HELO"
#define PROTO_ENRL "ENRL"
#define PROTO_CERT "CERT"
#define PROTO_ERRR "ERRR"

enum proto_purpose {
	PROTO_PURPOSE_ENROL = 1,   /* enrolment: server authentication only */
	PROTO_PURPOSE_SESSION = 2, /* session: client certificate required */
};

/* ERRR codes; values are on the wire and never change. */
enum proto_error_code {
	PROTO_ERR_PROTOCOL = 1,      /* unknown type, oversize, malformed or out-of-order frame */
	PROTO_ERR_VERSION = 2,       /* no common protocol version */
	PROTO_ERR_AUTH = 3,          /* unknown user or wrong password (indistinguishable) */
	PROTO_ERR_RATE_LIMITED = 4,  /* too many failed attempts for this user or address */
	PROTO_ERR_BAD_CSR = 5,       /* CSR unparsable, bad signature or unacceptable key */
	PROTO_ERR_DISABLED = 6,      /* password right but the account is disabled */
	PROTO_ERR_BUSY = 7,          /* server at its session limit */
	PROTO_ERR_INTERNAL = 8,      /* server-side failure */
	PROTO_ERR_CERT_REQUIRED = 9, /* no client certificate where one is needed */
	PROTO_ERR_REVOKED = 10,      /* certificate revoked, expired, or its user disabled */
	PROTO_ERR_TIMEOUT = 11,      /* handshake or idle timeout expired */
};

/* "PROTOCOL", "VERSION", ... for the codes above; "UNKNOWN" for any other value. */
const char *proto_error_name(unsigned code);

/* HELO, client to server. */
struct proto_helo_req {
	uint16_t min_version;  /* 1 <= min_version <= max_version */
	uint16_t max_version;
	uint8_t purpose;       /* enum proto_purpose */
	char software[FERRY_MAX_MSG_SOFTWARE + 1]; /* 0..64 printable ASCII, e.g. "ferry 0.1.0" */
};

/* HELO, server to client. */
struct proto_helo_rep {
	uint16_t version;      /* chosen, >= 1 */
	uint8_t purpose;       /* echo of the request */
	char software[FERRY_MAX_MSG_SOFTWARE + 1];
	char identity[FERRY_MAX_MSG_USER + 1]; /* user name for an accepted session, else "" */
};

/* ENRL, client to server. password and csr are borrowed views (see above). */
struct proto_enrl {
	char user[FERRY_MAX_MSG_USER + 1]; /* 1..64 printable ASCII; the server checks more */
	const uint8_t *password;           /* 1..1024 bytes, no NUL byte */
	size_t password_len;
	const uint8_t *csr;                /* DER PKCS#10, 1..8192 bytes */
	size_t csr_len;
};

/* CERT, server to client. cert is a borrowed view. */
struct proto_cert {
	const uint8_t *cert;               /* DER X.509, 1..8192 bytes */
	size_t cert_len;
};

/* ERRR, either direction. */
struct proto_error {
	uint16_t code;                     /* enum proto_error_code, or a newer peer's code */
	char message[FERRY_MAX_MSG_ERROR + 1]; /* valid UTF-8 without control characters */
};

/*
 * Encoders: append the payload (not the frame header) to out. They check the same rules as
 * the decoders and return 0, FERRY_ERR_USAGE naming the offending field, or out's
 * FERRY_ERR_LIMIT/NOMEM.
 */
int proto_helo_req_encode(const struct proto_helo_req *m, struct fbuf *out);
int proto_helo_rep_encode(const struct proto_helo_rep *m, struct fbuf *out);
int proto_enrl_encode(const struct proto_enrl *m, struct fbuf *out);
int proto_cert_encode(const struct proto_cert *m, struct fbuf *out);
int proto_error_encode(const struct proto_error *m, struct fbuf *out);

/*
 * Decoders: parse a whole payload p/len (borrowed) into *m. Return 0 or FERRY_ERR_FORMAT
 * (detail names message and field). On failure *m is zeroed.
 */
int proto_helo_req_decode(const uint8_t *p, size_t len, struct proto_helo_req *m);
int proto_helo_rep_decode(const uint8_t *p, size_t len, struct proto_helo_rep *m);
int proto_enrl_decode(const uint8_t *p, size_t len, struct proto_enrl *m);
int proto_cert_decode(const uint8_t *p, size_t len, struct proto_cert *m);
int proto_error_decode(const uint8_t *p, size_t len, struct proto_error *m);

/*
 * Version negotiation: the highest version in both [peer_min, peer_max] and
 * [PROTO_VERSION_MIN, PROTO_VERSION_MAX]. Returns 0 and *chosen, or FERRY_ERR_UNSUPPORTED
 * ("no common protocol version: peer speaks 2..3, we speak 1..1").
 */
int proto_choose_version(uint16_t peer_min, uint16_t peer_max, uint16_t *chosen);

/*
 * Encode m and send it as one frame of the given type (PROTO_HELO, ...). Returns 0 or the
 * error of the encoder / frame_write.
 */
int proto_send_helo_req(const struct frame_transport *t, const struct proto_helo_req *m,
    int timeout_ms);
int proto_send_helo_rep(const struct frame_transport *t, const struct proto_helo_rep *m,
    int timeout_ms);
int proto_send_enrl(const struct frame_transport *t, const struct proto_enrl *m,
    int timeout_ms);
int proto_send_cert(const struct frame_transport *t, const struct proto_cert *m,
    int timeout_ms);

/*
 * Send ERRR(code, message) where message is printf-formatted. The message is made safe
 * before sending: bytes that are not valid UTF-8 or are control characters become '?',
 * and it is cut (at a character boundary) to FERRY_MAX_MSG_ERROR bytes. Returns 0 or the
 * error of frame_write; it does not replace an earlier error detail unless it fails.
 * Callers usually close the connection afterwards.
 */
int proto_send_error(const struct frame_transport *t, int timeout_ms,
    enum proto_error_code code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * For a received ERRR frame: decode it and return a negative FERRY_ERR_* with the detail
 * "server refused: AUTH: <message>" (prefix "peer refused" when from_server is 0), the
 * code in *code (may be NULL). If f is not an ERRR frame, or its payload is malformed,
 * returns FERRY_ERR_FORMAT describing that (code 0). Mapping of codes to return values:
 * AUTH, CERT_REQUIRED -> FERRY_ERR_AUTH; DISABLED -> FERRY_ERR_DISABLED; REVOKED ->
 * FERRY_ERR_REVOKED; RATE_LIMITED -> FERRY_ERR_RATE_LIMITED; TIMEOUT -> FERRY_ERR_TIMEOUT;
 * VERSION -> FERRY_ERR_UNSUPPORTED; BUSY -> FERRY_ERR_LIMIT; BAD_CSR, PROTOCOL ->
 * FERRY_ERR_FORMAT; INTERNAL and unknown codes -> FERRY_ERR_IO.
 */
int proto_error_frame_fail(const struct frame *f, int from_server, uint16_t *code);

/*
 * True when the n bytes at p are printable ASCII (0x20..0x7e). Used for the software,
 * user and identity fields.
 */
int proto_text_printable(const uint8_t *p, size_t n);

/* True when the n bytes at p are valid UTF-8 (RFC 3629) with no C0/C1 control or DEL. */
int proto_text_utf8(const uint8_t *p, size_t n);

#endif
