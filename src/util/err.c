#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#define DETAIL_MAX 512

static _Thread_local char detail[DETAIL_MAX];

const char *
ferry_strerror(int err)
{
	switch (err) {
	case FERRY_OK: return "success";
	case FERRY_ERR_INTERNAL: return "internal error";
	case FERRY_ERR_NOMEM: return "out of memory";
	case FERRY_ERR_IO: return "input/output error";
	case FERRY_ERR_USAGE: return "usage error";
	case FERRY_ERR_FORMAT: return "malformed input";
	case FERRY_ERR_AUTH: return "authentication failed";
	case FERRY_ERR_NO_IDENTITY: return "no identity matched any recipient";
	case FERRY_ERR_KEY: return "unusable key";
	case FERRY_ERR_UNSUPPORTED: return "unsupported";
	case FERRY_ERR_LIMIT: return "limit exceeded";
	case FERRY_ERR_TRUNCATED: return "input truncated";
	case FERRY_ERR_CRYPTO: return "cryptographic library error";
	case FERRY_ERR_EXISTS: return "file exists";
	case FERRY_ERR_PASSPHRASE: return "wrong passphrase";
	case FERRY_ERR_NEED_PASSPHRASE: return "passphrase required";
	case FERRY_ERR_NOT_FOUND: return "not found";
	case FERRY_ERR_RATE_LIMITED: return "too many failed attempts";
	case FERRY_ERR_DISABLED: return "account disabled";
	case FERRY_ERR_DB: return "database error";
	case FERRY_ERR_REVOKED: return "certificate revoked or expired";
	case FERRY_ERR_TIMEOUT: return "timed out";
	case FERRY_ERR_REMOTE: return "server failure";
	case FERRY_ERR_WRITE: return "write failed";
	}
	return "unknown error";
}

int
ferry_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return err;
}

int
ferry_fail_crypto(const char *fmt, ...)
{
	va_list ap;
	char reason[256] = "unknown reason";
	unsigned long e;
	size_t n;

	e = ERR_peek_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	n = strlen(detail);
	snprintf(detail + n, sizeof(detail) - n, ": %s", reason);
	return FERRY_ERR_CRYPTO;
}

static void
append_truncated(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	size_t off = 0;

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(parts[i]);

		if (n > cap - 1 - off)
			n = cap - 1 - off;
		memcpy(dst + off, parts[i], n);
		off += n;
	}
	dst[off] = '\0';
}

int
ferry_error_prefix(int err, const char *fmt, ...)
{
	char prefix[DETAIL_MAX], old[DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (detail[0] != '\0')
		memcpy(old, detail, sizeof(old));
	else
		snprintf(old, sizeof(old), "%s", ferry_strerror(err));
	/* Built by hand: snprintf would warn (rightly) that the two may not fit. */
	append_truncated(detail, sizeof(detail), prefix, ": ", old);
	return err;
}

const char *
ferry_error_detail(int err)
{
	if (detail[0] == '\0')
		return ferry_strerror(err);
	return detail;
}

void
ferry_error_clear(void)
{
	detail[0] = '\0';
}
