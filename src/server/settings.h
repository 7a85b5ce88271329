/*
 * ferryd's settings: DIR/ferryd.conf, read with the generic parser in util/config.h.
 *
 * Keys (default; range):
 *   listen                 127.0.0.1:4433   HOST:PORT or [IPV6]:PORT to accept on
 *   cert_validity_days     90               1..825, client certificate lifetime
 *   handshake_timeout      10               1..300 s, TLS handshake + first frame
 *   idle_timeout           60               1..86400 s, a session with no frame
 *   max_sessions           64               1..4096 concurrent connections
 *   max_sessions_per_user  8                1..4096 concurrent sessions of one user
 *   auth_max_failures      5                1..1000 failures that lock a user / address
 *   auth_window            900              1..604800 s in which failures are counted
 *   auth_lockout           900              1..604800 s a locked user / address waits
 *   org                    ferry            1..SETTINGS_MAX_ORG printable characters
 *   log_level              info             error, warn, info or debug
 *   quota                  0                bytes of stored plaintext per user (stored
 *                                           files and partial uploads); 0 = unlimited
 *   max_file_size          0                plaintext bytes of one file; 0 = unlimited
 *   partial_expiry         24h              60 s..365 d, a partial upload not added to
 *                                           for this long is discarded
 * Sizes are a number with an optional K, M, G or T suffix (powers of 1024, at most
 * SETTINGS_MAX_SIZE bytes); durations a number of seconds with an optional s, m, h or d
 * suffix (util/config.h).
 * An unknown key, a key given twice or a bad value is an error naming file:line and key.
 */
#ifndef FERRY_SERVER_SETTINGS_H
#define FERRY_SERVER_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "util/limits.h"

/* Longest organisation name: "<org> ferry root CA" must fit the 64-character CN bound. */
#define SETTINGS_MAX_ORG 48u

/* Largest quota or max_file_size (the database stores sizes as signed 64-bit). */
#define SETTINGS_MAX_SIZE ((uint64_t)INT64_MAX)
#define SETTINGS_MIN_PARTIAL_EXPIRY 60u
#define SETTINGS_MAX_PARTIAL_EXPIRY (365u * 86400u)

enum ferryd_log_level {
	FERRYD_LOG_ERROR = 0,
	FERRYD_LOG_WARN = 1,
	FERRYD_LOG_INFO = 2,
	FERRYD_LOG_DEBUG = 3,
};

struct ferryd_settings {
	char listen[FERRY_MAX_HOST_PORT + 1];      /* as written, e.g. "127.0.0.1:4433" */
	char listen_host[FERRY_MAX_HOST_PORT + 1]; /* parsed host, IPv6 without brackets */
	uint16_t listen_port;
	unsigned cert_validity_days;
	unsigned handshake_timeout;                /* seconds */
	unsigned idle_timeout;                     /* seconds */
	unsigned max_sessions;
	unsigned max_sessions_per_user;
	unsigned auth_max_failures;
	unsigned auth_window;                      /* seconds */
	unsigned auth_lockout;                     /* seconds */
	char org[SETTINGS_MAX_ORG + 1];
	enum ferryd_log_level log_level;
	uint64_t quota;                            /* bytes per user, 0 = unlimited */
	uint64_t max_file_size;                    /* bytes per file, 0 = unlimited */
	unsigned partial_expiry;                   /* seconds */
};

/* Fill s with the defaults listed above. */
void settings_defaults(struct ferryd_settings *s);

/*
 * Defaults, then the settings in text (len bytes) named source_name in errors. Returns 0
 * or FERRY_ERR_FORMAT / FERRY_ERR_LIMIT with "<source>:<line>: <key>: <why>" (or the
 * parser's own syntax error). On failure s holds defaults plus the lines before the bad
 * one; do not use it.
 */
int settings_parse(const char *text, size_t len, const char *source_name,
    struct ferryd_settings *s);

/*
 * settings_parse() on the file at path (read whole, at most FERRY_MAX_CONFIG_FILE bytes).
 * Errors also FERRY_ERR_IO (missing or unreadable file, detail names the path).
 */
int settings_load(const char *path, struct ferryd_settings *s);

/*
 * Write a commented config file listing every key with its default and meaning, with
 * org set to the given organisation (validated as for the org key: FERRY_ERR_USAGE),
 * atomically with mode 0600. Without force an existing file is left alone
 * (FERRY_ERR_EXISTS); with force it is replaced. Errors also FERRY_ERR_IO.
 */
int settings_write_default(const char *path, const char *org, bool force);

/* The rate-limit policy the settings describe. */
void settings_auth_policy(const struct ferryd_settings *s, struct auth_policy *p);

/* "error", "warn", "info" or "debug". */
const char *settings_log_level_name(enum ferryd_log_level level);

#endif
