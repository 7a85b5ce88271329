/*
 * One error convention for all of ferry.
 *
 * Every fallible function returns int: 0 on success, or a negative FERRY_ERR_* code.
 * The site that detects a failure records a one-line detail naming what was wrong
 * (file, field, offset) with ferry_fail(), which returns the code so it can be used as
 * `return ferry_fail(FERRY_ERR_FORMAT, "header: stanza %u: length %u", i, n);`.
 * Callers higher up may prepend context with ferry_error_prefix(). The command-line
 * front end prints ferry_error_detail() once, on one line.
 *
 * Codes are appended, never renumbered.
 */
#ifndef FERRY_UTIL_ERR_H
#define FERRY_UTIL_ERR_H

enum ferry_err {
	FERRY_OK = 0,
	FERRY_ERR_INTERNAL = -1,    /* a bug or an impossible state */
	FERRY_ERR_NOMEM = -2,       /* allocation failed */
	FERRY_ERR_IO = -3,          /* a system call on a file or socket failed */
	FERRY_ERR_USAGE = -4,       /* bad command-line arguments */
	FERRY_ERR_FORMAT = -5,      /* malformed input bytes */
	FERRY_ERR_AUTH = -6,        /* a MAC or tag did not verify */
	FERRY_ERR_NO_IDENTITY = -7, /* no recipient stanza matched any identity */
	FERRY_ERR_KEY = -8,         /* not a usable key, or the wrong kind of key */
	FERRY_ERR_UNSUPPORTED = -9, /* well-formed but not supported (version, algorithm) */
	FERRY_ERR_LIMIT = -10,      /* a bound was exceeded */
	FERRY_ERR_TRUNCATED = -11,  /* input ended early */
	FERRY_ERR_CRYPTO = -12,     /* the crypto library failed */
	FERRY_ERR_EXISTS = -13,     /* refusing to overwrite */
	FERRY_ERR_PASSPHRASE = -14, /* wrong or missing passphrase */
	FERRY_ERR_NEED_PASSPHRASE = -15, /* a passphrase is required and none was given */
	FERRY_ERR_NOT_FOUND = -16,  /* no such user, certificate or record */
	FERRY_ERR_RATE_LIMITED = -17, /* too many failed attempts; try again later */
	FERRY_ERR_DISABLED = -18,   /* the account is disabled */
	FERRY_ERR_DB = -19,         /* the database failed or holds unexpected data */
	FERRY_ERR_REVOKED = -20,    /* certificate revoked, expired, or its user disabled */
	FERRY_ERR_TIMEOUT = -21,    /* a deadline passed */
	FERRY_ERR_REMOTE = -22,     /* the server reported a failure of its own (INTERNAL) */
	FERRY_ERR_WRITE = -23,      /* writing the output failed (disk full, closed pipe...) */
};

/* Static text for a code; never NULL. */
const char *ferry_strerror(int err);

/*
 * Record a detail message for the calling thread and return err. Replaces any
 * earlier detail. Messages longer than the internal buffer are truncated.
 */
int ferry_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As ferry_fail(), appending ": <OpenSSL's first queued error>" and clearing the queue. */
int ferry_fail_crypto(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prepend "<context>: " to the current detail (e.g. the file name); when no detail was
 * recorded, the detail becomes "<context>: <ferry_strerror(err)>". Returns err.
 */
int ferry_error_prefix(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current detail, or ferry_strerror(err) when none was recorded. Never NULL. */
const char *ferry_error_detail(int err);

/* Forget the recorded detail. */
void ferry_error_clear(void);

#endif
