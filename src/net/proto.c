#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "net/proto.h"
#include "util/err.h"

static const char *const error_names[] = {
	[PROTO_ERR_PROTOCOL] = "PROTOCOL",
	[PROTO_ERR_VERSION] = "VERSION",
	[PROTO_ERR_AUTH] = "AUTH",
	[PROTO_ERR_RATE_LIMITED] = "RATE_LIMITED",
	[PROTO_ERR_BAD_CSR] = "BAD_CSR",
	[PROTO_ERR_DISABLED] = "DISABLED",
	[PROTO_ERR_BUSY] = "BUSY",
	[PROTO_ERR_INTERNAL] = "INTERNAL",
	[PROTO_ERR_CERT_REQUIRED] = "CERT_REQUIRED",
	[PROTO_ERR_REVOKED] = "REVOKED",
	[PROTO_ERR_TIMEOUT] = "TIMEOUT",
	[PROTO_ERR_INTEGRITY] = "INTEGRITY",
	[PROTO_ERR_NOT_FOUND] = "NOT_FOUND",
	[PROTO_ERR_NAME] = "NAME",
	[PROTO_ERR_QUOTA] = "QUOTA",
};

const char *
proto_error_name(unsigned code)
{
	if (code < sizeof(error_names) / sizeof(error_names[0]) && error_names[code] != NULL)
		return error_names[code];
	return "UNKNOWN";
}

int
proto_text_printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* Length of the valid, non-control UTF-8 character at p (n bytes left), or 0. */
static size_t
utf8_char(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len;

	if (p[0] < 0x80)
		return (p[0] >= 0x20 && p[0] != 0x7f) ? 1 : 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

int
proto_text_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_char(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

/* ---- field helpers ----------------------------------------------------------------- */

/* A text field copied into dst (dst_size > max); printable ASCII, min..max bytes. */
static int
get_text(struct freader *r, size_t lenlen, size_t min, size_t max, char *dst,
    const char *msg, const char *field)
{
	const uint8_t *v;
	uint16_t n16;
	uint8_t n8;
	size_t n;

	if (lenlen == 1) {
		if (freader_get_u8(r, &n8) != 0)
			goto truncated;
		n = n8;
	} else {
		if (freader_get_u16(r, &n16) != 0)
			goto truncated;
		n = n16;
	}
	if (n < min || n > max)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: %s: %zu bytes, must be %zu to %zu", msg,
		    field, n, min, max);
	if (freader_get_view(r, n, &v) != 0)
		goto truncated;
	if (!proto_text_printable(v, n))
		return ferry_fail(FERRY_ERR_FORMAT, "%s: %s: not printable ASCII", msg, field);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
truncated:
	return ferry_fail(FERRY_ERR_FORMAT, "%s: %s: truncated", msg, field);
}

/* A bytes16 field as a borrowed view, min..max bytes. */
static int
get_bytes16(struct freader *r, size_t min, size_t max, const uint8_t **v, size_t *len,
    const char *msg, const char *field)
{
	uint16_t n;

	if (freader_get_u16(r, &n) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: %s: truncated", msg, field);
	if (n < min || n > max)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: %s: %u bytes, must be %zu to %zu", msg,
		    field, n, min, max);
	if (freader_get_view(r, n, v) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: %s: truncated", msg, field);
	*len = n;
	return 0;
}

static int
get_end(const struct freader *r, const char *msg)
{
	if (freader_remaining(r) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: %zu trailing bytes after the last field",
		    msg, freader_remaining(r));
	return 0;
}

/* Check a NUL-terminated text field for encoding: printable ASCII, min..max bytes. */
static int
check_text(const char *s, size_t min, size_t max, const char *msg, const char *field,
    size_t *len)
{
	size_t n;

	if (s == NULL)
		return ferry_fail(FERRY_ERR_USAGE, "%s: %s: missing", msg, field);
	n = strnlen(s, max + 1);
	if (n < min || n > max)
		return ferry_fail(FERRY_ERR_USAGE, "%s: %s: must be %zu to %zu bytes", msg, field,
		    min, max);
	if (!proto_text_printable((const uint8_t *)s, n))
		return ferry_fail(FERRY_ERR_USAGE, "%s: %s: not printable ASCII", msg, field);
	*len = n;
	return 0;
}

static int
put_str8(struct fbuf *out, const char *s, size_t n)
{
	int r;

	if ((r = fbuf_put_u8(out, (uint8_t)n)) == 0)
		r = fbuf_put(out, s, n);
	return r;
}

static int
put_bytes16(struct fbuf *out, const void *p, size_t n)
{
	int r;

	if ((r = fbuf_put_u16(out, (uint16_t)n)) == 0)
		r = fbuf_put(out, p, n);
	return r;
}

static int
encoded(int r, const char *msg)
{
	if (r != 0)
		return ferry_fail(r, "%s: cannot encode: %s", msg, ferry_strerror(r));
	return 0;
}

static int
valid_purpose(uint8_t p)
{
	return p == PROTO_PURPOSE_ENROL || p == PROTO_PURPOSE_SESSION;
}

/* ---- HELO -------------------------------------------------------------------------- */

int
proto_helo_req_encode(const struct proto_helo_req *m, struct fbuf *out)
{
	size_t n;
	int r;

	if (m->min_version < 1 || m->min_version > m->max_version)
		return ferry_fail(FERRY_ERR_USAGE, "HELO: bad version range %u..%u",
		    m->min_version, m->max_version);
	if (!valid_purpose(m->purpose))
		return ferry_fail(FERRY_ERR_USAGE, "HELO: bad purpose %u", m->purpose);
	if ((r = check_text(m->software, 0, FERRY_MAX_MSG_SOFTWARE, "HELO", "software", &n)))
		return r;
	if ((r = fbuf_put_u16(out, m->min_version)) == 0 &&
	    (r = fbuf_put_u16(out, m->max_version)) == 0 &&
	    (r = fbuf_put_u8(out, m->purpose)) == 0)
		r = put_str8(out, m->software, n);
	return encoded(r, "HELO");
}

int
proto_helo_req_decode(const uint8_t *p, size_t len, struct proto_helo_req *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if (freader_get_u16(&r, &m->min_version) != 0 ||
	    freader_get_u16(&r, &m->max_version) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "HELO: versions: truncated");
		goto out;
	}
	if (m->min_version < 1 || m->min_version > m->max_version) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "HELO: bad version range %u..%u",
		    m->min_version, m->max_version);
		goto out;
	}
	if (freader_get_u8(&r, &m->purpose) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "HELO: purpose: truncated");
		goto out;
	}
	if (!valid_purpose(m->purpose)) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "HELO: unknown purpose %u", m->purpose);
		goto out;
	}
	if ((ret = get_text(&r, 1, 0, FERRY_MAX_MSG_SOFTWARE, m->software, "HELO",
	    "software")) != 0)
		goto out;
	ret = get_end(&r, "HELO");
out:
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int
proto_helo_rep_encode(const struct proto_helo_rep *m, struct fbuf *out)
{
	size_t ns, ni;
	int r;

	if (m->version < 1)
		return ferry_fail(FERRY_ERR_USAGE, "HELO reply: version 0");
	if (!valid_purpose(m->purpose))
		return ferry_fail(FERRY_ERR_USAGE, "HELO reply: bad purpose %u", m->purpose);
	if ((r = check_text(m->software, 0, FERRY_MAX_MSG_SOFTWARE, "HELO reply", "software",
	    &ns)) != 0 ||
	    (r = check_text(m->identity, 0, FERRY_MAX_MSG_USER, "HELO reply", "identity",
	    &ni)) != 0)
		return r;
	if ((r = fbuf_put_u16(out, m->version)) == 0 &&
	    (r = fbuf_put_u8(out, m->purpose)) == 0 &&
	    (r = put_str8(out, m->software, ns)) == 0)
		r = put_str8(out, m->identity, ni);
	return encoded(r, "HELO reply");
}

int
proto_helo_rep_decode(const uint8_t *p, size_t len, struct proto_helo_rep *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if (freader_get_u16(&r, &m->version) != 0 || freader_get_u8(&r, &m->purpose) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "HELO reply: truncated");
		goto out;
	}
	if (m->version < 1) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "HELO reply: version 0");
		goto out;
	}
	if (!valid_purpose(m->purpose)) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "HELO reply: unknown purpose %u", m->purpose);
		goto out;
	}
	if ((ret = get_text(&r, 1, 0, FERRY_MAX_MSG_SOFTWARE, m->software, "HELO reply",
	    "software")) != 0 ||
	    (ret = get_text(&r, 1, 0, FERRY_MAX_MSG_USER, m->identity, "HELO reply",
	    "identity")) != 0)
		goto out;
	ret = get_end(&r, "HELO reply");
out:
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

/* ---- ENRL -------------------------------------------------------------------------- */

int
proto_enrl_encode(const struct proto_enrl *m, struct fbuf *out)
{
	size_t nu;
	int r;

	if ((r = check_text(m->user, 1, FERRY_MAX_MSG_USER, "ENRL", "user name", &nu)) != 0)
		return r;
	if (m->password == NULL || m->password_len < 1 ||
	    m->password_len > FERRY_MAX_MSG_PASSWORD)
		return ferry_fail(FERRY_ERR_USAGE, "ENRL: password must be 1 to %u bytes",
		    FERRY_MAX_MSG_PASSWORD);
	if (memchr(m->password, 0, m->password_len) != NULL)
		return ferry_fail(FERRY_ERR_USAGE, "ENRL: password contains a NUL byte");
	if (m->csr == NULL || m->csr_len < 1 || m->csr_len > FERRY_MAX_MSG_CSR)
		return ferry_fail(FERRY_ERR_USAGE, "ENRL: CSR must be 1 to %u bytes",
		    FERRY_MAX_MSG_CSR);
	if ((r = put_str8(out, m->user, nu)) == 0 &&
	    (r = put_bytes16(out, m->password, m->password_len)) == 0)
		r = put_bytes16(out, m->csr, m->csr_len);
	return encoded(r, "ENRL");
}

int
proto_enrl_decode(const uint8_t *p, size_t len, struct proto_enrl *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if ((ret = get_text(&r, 1, 1, FERRY_MAX_MSG_USER, m->user, "ENRL", "user name")) != 0 ||
	    (ret = get_bytes16(&r, 1, FERRY_MAX_MSG_PASSWORD, &m->password, &m->password_len,
	    "ENRL", "password")) != 0)
		goto out;
	if (memchr(m->password, 0, m->password_len) != NULL) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "ENRL: password: contains a NUL byte");
		goto out;
	}
	if ((ret = get_bytes16(&r, 1, FERRY_MAX_MSG_CSR, &m->csr, &m->csr_len, "ENRL",
	    "CSR")) != 0)
		goto out;
	ret = get_end(&r, "ENRL");
out:
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

/* ---- CERT -------------------------------------------------------------------------- */

int
proto_cert_encode(const struct proto_cert *m, struct fbuf *out)
{
	if (m->cert == NULL || m->cert_len < 1 || m->cert_len > FERRY_MAX_MSG_CERT)
		return ferry_fail(FERRY_ERR_USAGE, "CERT: certificate must be 1 to %u bytes",
		    FERRY_MAX_MSG_CERT);
	return encoded(put_bytes16(out, m->cert, m->cert_len), "CERT");
}

int
proto_cert_decode(const uint8_t *p, size_t len, struct proto_cert *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if ((ret = get_bytes16(&r, 1, FERRY_MAX_MSG_CERT, &m->cert, &m->cert_len, "CERT",
	    "certificate")) == 0)
		ret = get_end(&r, "CERT");
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

/* ---- ERRR -------------------------------------------------------------------------- */

int
proto_error_encode(const struct proto_error *m, struct fbuf *out)
{
	size_t n = strnlen(m->message, sizeof(m->message));
	int r;

	if (n > FERRY_MAX_MSG_ERROR)
		return ferry_fail(FERRY_ERR_USAGE, "ERRR: message longer than %u bytes",
		    FERRY_MAX_MSG_ERROR);
	if (!proto_text_utf8((const uint8_t *)m->message, n))
		return ferry_fail(FERRY_ERR_USAGE,
		    "ERRR: message is not UTF-8 text without control characters");
	if ((r = fbuf_put_u16(out, m->code)) == 0)
		r = put_bytes16(out, m->message, n);
	return encoded(r, "ERRR");
}

int
proto_error_decode(const uint8_t *p, size_t len, struct proto_error *m)
{
	struct freader r;
	const uint8_t *v;
	size_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if (freader_get_u16(&r, &m->code) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "ERRR: code: truncated");
		goto out;
	}
	if ((ret = get_bytes16(&r, 0, FERRY_MAX_MSG_ERROR, &v, &n, "ERRR", "message")) != 0)
		goto out;
	if (!proto_text_utf8(v, n)) {
		ret = ferry_fail(FERRY_ERR_FORMAT,
		    "ERRR: message: not UTF-8 text without control characters");
		goto out;
	}
	memcpy(m->message, v, n);
	m->message[n] = '\0';
	ret = get_end(&r, "ERRR");
out:
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

/* ---- negotiation and sending -------------------------------------------------------- */

int
proto_choose_version(uint16_t peer_min, uint16_t peer_max, uint16_t *chosen)
{
	uint16_t lo = peer_min > PROTO_VERSION_MIN ? peer_min : PROTO_VERSION_MIN;
	uint16_t hi = peer_max < PROTO_VERSION_MAX ? peer_max : PROTO_VERSION_MAX;

	if (peer_min < 1 || peer_min > peer_max || lo > hi)
		return ferry_fail(FERRY_ERR_UNSUPPORTED,
		    "no common protocol version: peer speaks %u..%u, we speak %u..%u", peer_min,
		    peer_max, PROTO_VERSION_MIN, PROTO_VERSION_MAX);
	*chosen = hi;
	return 0;
}

/* A payload buffer for one message; NULL (detail recorded) when out of memory. */
static struct fbuf *
payload_new(const char *type)
{
	struct fbuf *b = fbuf_new(FERRY_MAX_FRAME_PREAUTH);

	if (b == NULL)
		ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", type);
	return b;
}

/* Send b as one frame if encoding succeeded (r == 0); frees b either way. */
static int
payload_send(const struct frame_transport *t, const char *type, struct fbuf *b, int r,
    int timeout_ms)
{
	if (r == 0)
		r = frame_write(t, type, fbuf_ptr(b), fbuf_len(b), timeout_ms);
	fbuf_free(b);
	return r;
}

int
proto_send_helo_req(const struct frame_transport *t, const struct proto_helo_req *m,
    int timeout_ms)
{
	struct fbuf *b;

	if ((b = payload_new(PROTO_HELO)) == NULL)
		return FERRY_ERR_NOMEM;
	return payload_send(t, PROTO_HELO, b, proto_helo_req_encode(m, b), timeout_ms);
}

int
proto_send_helo_rep(const struct frame_transport *t, const struct proto_helo_rep *m,
    int timeout_ms)
{
	struct fbuf *b;

	if ((b = payload_new(PROTO_HELO)) == NULL)
		return FERRY_ERR_NOMEM;
	return payload_send(t, PROTO_HELO, b, proto_helo_rep_encode(m, b), timeout_ms);
}

int
proto_send_enrl(const struct frame_transport *t, const struct proto_enrl *m, int timeout_ms)
{
	struct fbuf *b;

	if ((b = payload_new(PROTO_ENRL)) == NULL)
		return FERRY_ERR_NOMEM;
	return payload_send(t, PROTO_ENRL, b, proto_enrl_encode(m, b), timeout_ms);
}

int
proto_send_cert(const struct frame_transport *t, const struct proto_cert *m, int timeout_ms)
{
	struct fbuf *b;

	if ((b = payload_new(PROTO_CERT)) == NULL)
		return FERRY_ERR_NOMEM;
	return payload_send(t, PROTO_CERT, b, proto_cert_encode(m, b), timeout_ms);
}

/* Copy src into dst (dst_size > FERRY_MAX_MSG_ERROR), replacing what is not valid text by
 * '?' and stopping at a character boundary within FERRY_MAX_MSG_ERROR bytes. */
static void
sanitize_message(const char *src, char *dst)
{
	const uint8_t *p = (const uint8_t *)src;
	size_t n = strlen(src), i = 0, o = 0, k;

	while (i < n) {
		k = utf8_char(p + i, n - i);
		if (k == 0) {
			if (o + 1 > FERRY_MAX_MSG_ERROR)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + k > FERRY_MAX_MSG_ERROR)
			break;
		memcpy(dst + o, p + i, k);
		o += k;
		i += k;
	}
	dst[o] = '\0';
}

int
proto_send_error(const struct frame_transport *t, int timeout_ms, enum proto_error_code code,
    const char *fmt, ...)
{
	char raw[FERRY_MAX_MSG_ERROR * 2];
	struct proto_error m;
	struct fbuf *b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	memset(&m, 0, sizeof(m));
	m.code = (uint16_t)code;
	sanitize_message(raw, m.message);
	if ((b = payload_new(PROTO_ERRR)) == NULL)
		return FERRY_ERR_NOMEM;
	return payload_send(t, PROTO_ERRR, b, proto_error_encode(&m, b), timeout_ms);
}

int
proto_error_frame_fail(const struct frame *f, int from_server, uint16_t *code)
{
	const char *who = from_server ? "server refused" : "peer refused";
	struct proto_error m;
	int ret;

	if (code != NULL)
		*code = 0;
	if (!frame_is(f, PROTO_ERRR))
		return ferry_fail(FERRY_ERR_FORMAT, "unexpected %s frame", f->type);
	if ((ret = proto_error_decode(f->payload, f->len, &m)) != 0)
		return ret;
	if (code != NULL)
		*code = m.code;
	switch (m.code) {
	case PROTO_ERR_AUTH:
	case PROTO_ERR_CERT_REQUIRED:
		ret = FERRY_ERR_AUTH;
		break;
	case PROTO_ERR_DISABLED:
		ret = FERRY_ERR_DISABLED;
		break;
	case PROTO_ERR_REVOKED:
		ret = FERRY_ERR_REVOKED;
		break;
	case PROTO_ERR_RATE_LIMITED:
		ret = FERRY_ERR_RATE_LIMITED;
		break;
	case PROTO_ERR_TIMEOUT:
		ret = FERRY_ERR_TIMEOUT;
		break;
	case PROTO_ERR_VERSION:
		ret = FERRY_ERR_UNSUPPORTED;
		break;
	case PROTO_ERR_BUSY:
		ret = FERRY_ERR_LIMIT;
		break;
	case PROTO_ERR_BAD_CSR:
	case PROTO_ERR_PROTOCOL:
		ret = FERRY_ERR_FORMAT;
		break;
	case PROTO_ERR_INTEGRITY:
		ret = FERRY_ERR_AUTH;
		break;
	case PROTO_ERR_NOT_FOUND:
		ret = FERRY_ERR_NOT_FOUND;
		break;
	case PROTO_ERR_NAME:
		ret = FERRY_ERR_USAGE;
		break;
	case PROTO_ERR_QUOTA:
		ret = FERRY_ERR_LIMIT;
		break;
	case PROTO_ERR_INTERNAL:
		ret = FERRY_ERR_REMOTE;
		break;
	default:
		ret = FERRY_ERR_IO;
		break;
	}
	if (m.message[0] != '\0')
		return ferry_fail(ret, "%s: %s: %s", who, proto_error_name(m.code), m.message);
	return ferry_fail(ret, "%s: %s", who, proto_error_name(m.code));
}

/* ---- store operations --------------------------------------------------------------- */

/* An object name field: str16, 0..FERRY_MAX_OBJECT_NAME bytes (with utf8: at least 1),
 * no NUL; with utf8 also valid UTF-8 without control characters. Copied into dst. A
 * request's name may be empty here so that the server refuses it as NAME, not PROTOCOL. */
static int
get_name(struct freader *r, char *dst, bool utf8, const char *msg)
{
	const uint8_t *v;
	uint16_t n;
	unsigned min = utf8 ? 1 : 0;

	if (freader_get_u16(r, &n) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: name: truncated", msg);
	if (n < min || n > FERRY_MAX_OBJECT_NAME)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: name: %u bytes, must be %u to %u", msg,
		    n, min, FERRY_MAX_OBJECT_NAME);
	if (freader_get_view(r, n, &v) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: name: truncated", msg);
	if (memchr(v, 0, n) != NULL)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: name: contains a NUL byte", msg);
	if (utf8 && !proto_text_utf8(v, n))
		return ferry_fail(FERRY_ERR_FORMAT,
		    "%s: name: not UTF-8 text without control characters", msg);
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Check a name to encode (min..FERRY_MAX_OBJECT_NAME bytes) and append it as str16. */
static int
put_name(struct fbuf *out, const char *name, size_t min, const char *msg)
{
	size_t n = strnlen(name, FERRY_MAX_OBJECT_NAME + 1);

	if (n < min || n > FERRY_MAX_OBJECT_NAME)
		return ferry_fail(FERRY_ERR_USAGE, "%s: name must be %zu to %u bytes", msg, min,
		    FERRY_MAX_OBJECT_NAME);
	return encoded(put_bytes16(out, name, n), msg);
}

int
proto_put_encode(const struct proto_put *m, struct fbuf *out)
{
	int r;

	if ((m->flags & ~PROTO_PUT_RESUME) != 0)
		return ferry_fail(FERRY_ERR_USAGE, "PUTF: unknown flags 0x%02x", m->flags);
	if ((r = put_name(out, m->name, 0, "PUTF")) != 0)
		return r;
	if ((r = fbuf_put_u64(out, m->size)) == 0)
		r = fbuf_put_u8(out, m->flags);
	return encoded(r, "PUTF");
}

int
proto_put_decode(const uint8_t *p, size_t len, struct proto_put *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if ((ret = get_name(&r, m->name, false, "PUTF")) != 0)
		goto out;
	if (freader_get_u64(&r, &m->size) != 0 || freader_get_u8(&r, &m->flags) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "PUTF: truncated");
		goto out;
	}
	if ((m->flags & ~PROTO_PUT_RESUME) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "PUTF: flags: unknown bits 0x%02x", m->flags);
		goto out;
	}
	ret = get_end(&r, "PUTF");
out:
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

/* The OFST rule: a header exactly when the offset is not 0. */
static bool
ofst_consistent(uint64_t offset, size_t header_len)
{
	if (offset == 0)
		return header_len == 0;
	return header_len >= 1 && header_len <= PROTO_MAX_OFST_HEADER;
}

int
proto_ofst_encode(const struct proto_ofst *m, struct fbuf *out)
{
	int r;

	if (!ofst_consistent(m->offset, m->header_len))
		return ferry_fail(FERRY_ERR_USAGE, "OFST: header of %zu bytes with offset %llu",
		    m->header_len, (unsigned long long)m->offset);
	if ((r = fbuf_put_u64(out, m->offset)) == 0 &&
	    (r = put_bytes16(out, m->header, m->header_len)) == 0)
		r = fbuf_put(out, m->tags_digest, PROTO_SHA256_LEN);
	return encoded(r, "OFST");
}

int
proto_ofst_decode(const uint8_t *p, size_t len, struct proto_ofst *m)
{
	struct freader r;
	uint16_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if (freader_get_u64(&r, &m->offset) != 0 || freader_get_u16(&r, &n) != 0 ||
	    freader_get_view(&r, n, &m->header) != 0 ||
	    freader_get_bytes(&r, m->tags_digest, PROTO_SHA256_LEN) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "OFST: truncated");
		goto out;
	}
	m->header_len = n;
	if (!ofst_consistent(m->offset, m->header_len)) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "OFST: header: %u bytes with offset %llu (must "
		    "be 0 exactly when the offset is 0, at most %u)", n,
		    (unsigned long long)m->offset, PROTO_MAX_OFST_HEADER);
		goto out;
	}
	ret = get_end(&r, "OFST");
out:
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int
proto_done_encode(const struct proto_done *m, struct fbuf *out)
{
	if (!m->has_sha256)
		return 0;
	return encoded(fbuf_put(out, m->sha256, PROTO_SHA256_LEN), "DONE");
}

int
proto_done_decode(const uint8_t *p, size_t len, struct proto_done *m)
{
	memset(m, 0, sizeof(*m));
	if (len == 0)
		return 0;
	if (len != PROTO_SHA256_LEN)
		return ferry_fail(FERRY_ERR_FORMAT, "DONE: %zu bytes, must be 0 or %u", len,
		    PROTO_SHA256_LEN);
	m->has_sha256 = true;
	memcpy(m->sha256, p, PROTO_SHA256_LEN);
	return 0;
}

int
proto_stor_encode(const struct proto_stor *m, struct fbuf *out)
{
	int r;

	if ((r = fbuf_put_u64(out, m->size)) == 0 &&
	    (r = fbuf_put(out, m->sha256, PROTO_SHA256_LEN)) == 0)
		r = fbuf_put_u64(out, m->stored);
	return encoded(r, "STOR");
}

int
proto_stor_decode(const uint8_t *p, size_t len, struct proto_stor *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if (freader_get_u64(&r, &m->size) != 0 ||
	    freader_get_bytes(&r, m->sha256, PROTO_SHA256_LEN) != 0 ||
	    freader_get_u64(&r, &m->stored) != 0)
		ret = ferry_fail(FERRY_ERR_FORMAT, "STOR: truncated");
	else
		ret = get_end(&r, "STOR");
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int
proto_get_encode(const struct proto_get *m, struct fbuf *out)
{
	int r;

	if ((r = put_name(out, m->name, 0, "GETF")) != 0)
		return r;
	return encoded(fbuf_put_u64(out, m->offset), "GETF");
}

int
proto_get_decode(const uint8_t *p, size_t len, struct proto_get *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if ((ret = get_name(&r, m->name, false, "GETF")) != 0)
		goto out;
	if (freader_get_u64(&r, &m->offset) != 0) {
		ret = ferry_fail(FERRY_ERR_FORMAT, "GETF: offset: truncated");
		goto out;
	}
	ret = get_end(&r, "GETF");
out:
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int
proto_name_encode(const struct proto_name *m, struct fbuf *out)
{
	return put_name(out, m->name, 0, "name request");
}

int
proto_name_decode(const uint8_t *p, size_t len, const char *msg, struct proto_name *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if ((ret = get_name(&r, m->name, false, msg)) == 0)
		ret = get_end(&r, msg);
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int
proto_file_encode(const struct proto_file *m, struct fbuf *out)
{
	int r;

	if (m->start > m->size)
		return ferry_fail(FERRY_ERR_USAGE, "FILE: start beyond the size");
	if ((r = fbuf_put_u64(out, m->size)) == 0 &&
	    (r = fbuf_put(out, m->sha256, PROTO_SHA256_LEN)) == 0)
		r = fbuf_put_u64(out, m->start);
	return encoded(r, "FILE");
}

int
proto_file_decode(const uint8_t *p, size_t len, struct proto_file *m)
{
	struct freader r;
	int ret;

	memset(m, 0, sizeof(*m));
	freader_init(&r, p, len);
	if (freader_get_u64(&r, &m->size) != 0 ||
	    freader_get_bytes(&r, m->sha256, PROTO_SHA256_LEN) != 0 ||
	    freader_get_u64(&r, &m->start) != 0)
		ret = ferry_fail(FERRY_ERR_FORMAT, "FILE: truncated");
	else if (m->start > m->size)
		ret = ferry_fail(FERRY_ERR_FORMAT, "FILE: start %llu beyond the size %llu",
		    (unsigned long long)m->start, (unsigned long long)m->size);
	else
		ret = get_end(&r, "FILE");
	if (ret != 0)
		memset(m, 0, sizeof(*m));
	return ret;
}

int
proto_empty_decode(size_t len, const char *msg)
{
	if (len != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: %zu payload bytes, must be empty", msg,
		    len);
	return 0;
}

int
proto_ents_encode(const struct proto_entry *e, size_t count, struct fbuf *out)
{
	int r;

	if (count > UINT32_MAX)
		return ferry_fail(FERRY_ERR_USAGE, "ENTS: too many entries");
	if ((r = fbuf_put_u32(out, (uint32_t)count)) != 0)
		return encoded(r, "ENTS");
	for (size_t i = 0; i < count; i++) {
		if ((r = put_name(out, e[i].name, 1, "ENTS")) != 0)
			return r;
		if ((r = fbuf_put_u64(out, e[i].size)) != 0 ||
		    (r = fbuf_put_u64(out, e[i].stored)) != 0 ||
		    (r = fbuf_put(out, e[i].sha256, PROTO_SHA256_LEN)) != 0)
			return encoded(r, "ENTS");
	}
	return 0;
}

int
proto_ents_decode(const uint8_t *p, size_t len, struct proto_entry **out, size_t *count)
{
	struct proto_entry *e = NULL;
	struct freader r;
	uint32_t n;
	int ret = 0;

	*out = NULL;
	*count = 0;
	freader_init(&r, p, len);
	if (freader_get_u32(&r, &n) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "ENTS: count: truncated");
	if (n > freader_remaining(&r) / PROTO_ENTRY_LEN(1))
		return ferry_fail(FERRY_ERR_FORMAT, "ENTS: %u entries cannot fit in %zu bytes", n,
		    freader_remaining(&r));
	if (n > 0 && (e = calloc(n, sizeof(*e))) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "ENTS: out of memory");
	for (uint32_t i = 0; i < n; i++) {
		if ((ret = get_name(&r, e[i].name, true, "ENTS")) != 0)
			goto out;
		if (freader_get_u64(&r, &e[i].size) != 0 ||
		    freader_get_u64(&r, &e[i].stored) != 0 ||
		    freader_get_bytes(&r, e[i].sha256, PROTO_SHA256_LEN) != 0) {
			ret = ferry_fail(FERRY_ERR_FORMAT, "ENTS: entry %u: truncated", i + 1);
			goto out;
		}
	}
	ret = get_end(&r, "ENTS");
out:
	if (ret != 0) {
		free(e);
		return ret;
	}
	*out = e;
	*count = n;
	return 0;
}

int
proto_data_check(size_t len)
{
	if (len < 1 || len > FERRY_MAX_DATA_PAYLOAD)
		return ferry_fail(FERRY_ERR_FORMAT, "DATA: %zu payload bytes, must be 1 to %u",
		    len, FERRY_MAX_DATA_PAYLOAD);
	return 0;
}

/* Encode with enc into a buffer of max bytes and send as one frame of type. */
#define SEND_WITH(type, max, call)                                                      \
	do {                                                                            \
		struct fbuf *b_ = fbuf_new(max);                                        \
		if (b_ == NULL)                                                         \
			return ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", type);  \
		return payload_send(t, type, b_, (call), timeout_ms);                   \
	} while (0)

int
proto_send_put(const struct frame_transport *t, const struct proto_put *m, int timeout_ms)
{
	SEND_WITH(PROTO_PUT, FERRY_MAX_FRAME_PREAUTH, proto_put_encode(m, b_));
}

int
proto_send_ofst(const struct frame_transport *t, const struct proto_ofst *m, int timeout_ms)
{
	SEND_WITH(PROTO_OFST, FERRY_MAX_FRAME, proto_ofst_encode(m, b_));
}

int
proto_send_done(const struct frame_transport *t, const struct proto_done *m, int timeout_ms)
{
	SEND_WITH(PROTO_DONE, FERRY_MAX_FRAME_PREAUTH, proto_done_encode(m, b_));
}

int
proto_send_stor(const struct frame_transport *t, const struct proto_stor *m, int timeout_ms)
{
	SEND_WITH(PROTO_STOR, FERRY_MAX_FRAME_PREAUTH, proto_stor_encode(m, b_));
}

int
proto_send_get(const struct frame_transport *t, const struct proto_get *m, int timeout_ms)
{
	SEND_WITH(PROTO_GET, FERRY_MAX_FRAME_PREAUTH, proto_get_encode(m, b_));
}

int
proto_send_dele(const struct frame_transport *t, const struct proto_name *m, int timeout_ms)
{
	SEND_WITH(PROTO_DELE, FERRY_MAX_FRAME_PREAUTH, proto_name_encode(m, b_));
}

int
proto_send_file(const struct frame_transport *t, const struct proto_file *m, int timeout_ms)
{
	SEND_WITH(PROTO_FILE, FERRY_MAX_FRAME_PREAUTH, proto_file_encode(m, b_));
}

int
proto_send_ents(const struct frame_transport *t, const struct proto_entry *e, size_t count,
    int timeout_ms)
{
	SEND_WITH(PROTO_ENTS, FERRY_MAX_FRAME, proto_ents_encode(e, count, b_));
}

int
proto_send_list(const struct frame_transport *t, int timeout_ms)
{
	return frame_write(t, PROTO_LIST, NULL, 0, timeout_ms);
}

int
proto_send_okay(const struct frame_transport *t, int timeout_ms)
{
	return frame_write(t, PROTO_OKAY, NULL, 0, timeout_ms);
}

int
proto_send_data(const struct frame_transport *t, const void *p, size_t n, int timeout_ms)
{
	if (n < 1 || n > FERRY_MAX_DATA_PAYLOAD)
		return ferry_fail(FERRY_ERR_USAGE, "DATA: %zu bytes, must be 1 to %u", n,
		    FERRY_MAX_DATA_PAYLOAD);
	return frame_write(t, PROTO_DATA, p, n, timeout_ms);
}
