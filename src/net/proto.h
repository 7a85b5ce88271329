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

#include <stdbool.h>
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
/* Store operations (docs/PROTOCOL.md, "Store operations"), only in an accepted session. */
#define PROTO_PUT  "PUTF"  /* C->S: start an upload */
#define PROTO_OFST "OFST"  /* S->C: upload accepted, send from this offset */
#define PROTO_DATA "DATA"  /* either way: the next bytes of a sealed stream */
#define PROTO_DONE "DONE"  /* end of a stream: C->S with the plaintext SHA-256, S->C empty */
#define PROTO_STOR "STOR"  /* S->C: upload committed */
#define PROTO_GET  "GETF"  /* C->S: fetch an object */
#define PROTO_FILE "FILE"  /* S->C: the object follows */
#define PROTO_LIST "LIST"  /* C->S: list my objects (empty payload) */
#define PROTO_ENTS "ENTS"  /* S->C: the list */
#define PROTO_DELE "DELE"  /* C->S: delete an object */
#define PROTO_OKAY "OKAY"  /* S->C: done (empty payload) */

/* PUTF size when the client does not know the plaintext size in advance (stdin). */
#define PROTO_SIZE_UNKNOWN UINT64_MAX
#define PROTO_SHA256_LEN 32

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
	PROTO_ERR_INTEGRITY = 12,    /* uploaded stream or digest did not verify; discarded */
	PROTO_ERR_NOT_FOUND = 13,    /* no object of that name (for this user) */
	PROTO_ERR_NAME = 14,         /* object name refused (store_name_valid() says why) */
	PROTO_ERR_QUOTA = 15,        /* over the user's quota or the maximum file size */
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
 * An object name on the wire (PUTF, GETF, DELE): str16 of 0..FERRY_MAX_OBJECT_NAME bytes
 * without a NUL byte. The codec checks only that; the server applies the full rules of
 * store_name_valid() (store/objects.h) and answers ERRR NAME with the reason, so that a
 * bad name is a refused request, not a protocol error. Clients check with
 * store_name_valid() before sending.
 */
struct proto_name {
	char name[FERRY_MAX_OBJECT_NAME + 1];
};

/* PUTF flags. */
#define PROTO_PUT_RESUME 0x01  /* continue a partial upload of this name and size if any */

/* PUTF, client to server. */
struct proto_put {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	uint64_t size;         /* plaintext bytes, or PROTO_SIZE_UNKNOWN */
	uint8_t flags;         /* PROTO_PUT_*; unknown bits are malformed */
};

/* The longest header OFST carries (one recipient needs well under 1 KiB). */
#define PROTO_MAX_OFST_HEADER (16u * 1024u)

/*
 * OFST, server to client: where the client's stream starts. offset 0: a whole sealed
 * stream from its header (header_len 0). offset > 0: a resumed upload; the client sends
 * chunks offset / chunk_size onwards of the stream whose header (re-wrapped for the client
 * certificate's key) is header, after checking its file against tags_digest.
 */
struct proto_ofst {
	uint64_t offset;                   /* plaintext bytes already stored */
	const uint8_t *header;             /* borrowed; header_len bytes */
	size_t header_len;                 /* 0, or 1..PROTO_MAX_OFST_HEADER when offset > 0 */
	uint8_t tags_digest[PROTO_SHA256_LEN]; /* zero when offset is 0 */
};

/* GETF, client to server. */
struct proto_get {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	uint64_t offset;       /* plaintext bytes the client already holds (get --continue) */
};

/*
 * DONE. Client to server after an upload's DATA frames: has_sha256 = true with the
 * SHA-256 of the plaintext (32-byte payload). Server to client after a download's DATA
 * frames: has_sha256 = false (empty payload). The decoder accepts either length and sets
 * has_sha256; the receiver refuses the one it does not expect.
 */
struct proto_done {
	bool has_sha256;
	uint8_t sha256[PROTO_SHA256_LEN];
};

/* STOR, server to client: the committed object. */
struct proto_stor {
	uint64_t size;                     /* plaintext bytes */
	uint8_t sha256[PROTO_SHA256_LEN];  /* of the plaintext, as the client sent in DONE */
	uint64_t stored;                   /* commit time, seconds since the epoch */
};

/* FILE, server to client, before the DATA frames of a download. */
struct proto_file {
	uint64_t size;                     /* plaintext bytes */
	uint8_t sha256[PROTO_SHA256_LEN];  /* recorded at upload */
	uint64_t start;                    /* plaintext offset the stream resumes at (0: all) */
};

/* One entry of ENTS. On decode the name is valid UTF-8 without control characters. */
struct proto_entry {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	uint64_t size;
	uint64_t stored;
	uint8_t sha256[PROTO_SHA256_LEN];
};

/* Encoded size of one ENTS entry with a name of name_len bytes (for filling a frame). */
#define PROTO_ENTRY_LEN(name_len) (2u + (name_len) + 8u + 8u + PROTO_SHA256_LEN)

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
int proto_put_encode(const struct proto_put *m, struct fbuf *out);
int proto_ofst_encode(const struct proto_ofst *m, struct fbuf *out);
int proto_done_encode(const struct proto_done *m, struct fbuf *out);
int proto_stor_encode(const struct proto_stor *m, struct fbuf *out);
int proto_get_encode(const struct proto_get *m, struct fbuf *out);
int proto_name_encode(const struct proto_name *m, struct fbuf *out); /* DELE */
int proto_file_encode(const struct proto_file *m, struct fbuf *out);
/* ENTS: u32 count, then the entries; fails with FERRY_ERR_LIMIT when out is too small. */
int proto_ents_encode(const struct proto_entry *e, size_t count, struct fbuf *out);

/*
 * Decoders: parse a whole payload p/len (borrowed) into *m. Return 0 or FERRY_ERR_FORMAT
 * (detail names message and field). On failure *m is zeroed.
 */
int proto_helo_req_decode(const uint8_t *p, size_t len, struct proto_helo_req *m);
int proto_helo_rep_decode(const uint8_t *p, size_t len, struct proto_helo_rep *m);
int proto_enrl_decode(const uint8_t *p, size_t len, struct proto_enrl *m);
int proto_cert_decode(const uint8_t *p, size_t len, struct proto_cert *m);
int proto_error_decode(const uint8_t *p, size_t len, struct proto_error *m);
int proto_put_decode(const uint8_t *p, size_t len, struct proto_put *m);
int proto_ofst_decode(const uint8_t *p, size_t len, struct proto_ofst *m);
int proto_done_decode(const uint8_t *p, size_t len, struct proto_done *m);
int proto_stor_decode(const uint8_t *p, size_t len, struct proto_stor *m);
int proto_get_decode(const uint8_t *p, size_t len, struct proto_get *m);
/* DELE; msg ("DELE") names the message in the detail. */
int proto_name_decode(const uint8_t *p, size_t len, const char *msg, struct proto_name *m);
int proto_file_decode(const uint8_t *p, size_t len, struct proto_file *m);
/* LIST, OKAY and other empty payloads: 0 when len is 0, else FERRY_ERR_FORMAT. */
int proto_empty_decode(size_t len, const char *msg);

/*
 * ENTS: decode into a new array *out of *count entries (caller frees with free(); NULL
 * when count is 0). The count is checked against the payload length before anything is
 * allocated. Errors: FERRY_ERR_FORMAT, FERRY_ERR_NOMEM.
 */
int proto_ents_decode(const uint8_t *p, size_t len, struct proto_entry **out,
    size_t *count);

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
int proto_send_put(const struct frame_transport *t, const struct proto_put *m,
    int timeout_ms);
int proto_send_ofst(const struct frame_transport *t, const struct proto_ofst *m,
    int timeout_ms);
int proto_send_done(const struct frame_transport *t, const struct proto_done *m,
    int timeout_ms);
int proto_send_stor(const struct frame_transport *t, const struct proto_stor *m,
    int timeout_ms);
int proto_send_get(const struct frame_transport *t, const struct proto_get *m,
    int timeout_ms);
int proto_send_dele(const struct frame_transport *t, const struct proto_name *m,
    int timeout_ms);
int proto_send_file(const struct frame_transport *t, const struct proto_file *m,
    int timeout_ms);
int proto_send_ents(const struct frame_transport *t, const struct proto_entry *e,
    size_t count, int timeout_ms);
/* LIST and OKAY: empty payloads. */
int proto_send_list(const struct frame_transport *t, int timeout_ms);
int proto_send_okay(const struct frame_transport *t, int timeout_ms);

/*
 * One DATA frame of 1..FERRY_MAX_DATA_PAYLOAD bytes (FERRY_ERR_USAGE otherwise). A DATA
 * payload is raw bytes, no decoder: the receiver takes frame.payload/frame.len as they
 * are, after checking 1 <= len <= FERRY_MAX_DATA_PAYLOAD (proto_data_check()).
 */
int proto_send_data(const struct frame_transport *t, const void *p, size_t n,
    int timeout_ms);

/* 0 if a received DATA payload length is within 1..FERRY_MAX_DATA_PAYLOAD, else
 * FERRY_ERR_FORMAT. */
int proto_data_check(size_t len);

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
 * FERRY_ERR_FORMAT; INTEGRITY -> FERRY_ERR_AUTH; NOT_FOUND -> FERRY_ERR_NOT_FOUND;
 * NAME -> FERRY_ERR_USAGE; INTERNAL and unknown codes -> FERRY_ERR_IO.
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
