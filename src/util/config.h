/*
 * A small, bounded parser for line-based configuration files (ferryd.conf, a client's
 * profile.conf):
 *
 *   # a comment: the first non-blank character of the line is '#'
 *   key = value
 *
 * Lines end with "\n" (a "\r" before it is dropped). Blank lines and comment lines are
 * skipped. Spaces and tabs around the key and the value are trimmed. A key is 1 or more
 * of [a-z0-9_]; a value is 1 or more printable ASCII characters (0x20..0x7e; inner
 * spaces kept, no tabs). There are no inline comments: '#' after '=' is part of the
 * value. A line may be at most FERRY_MAX_CONFIG_LINE bytes without its end, and the
 * whole text at most FERRY_MAX_CONFIG_FILE bytes.
 *
 * Every error detail begins with "<source>:<line>: ", e.g.
 *   "ferryd.conf:3: missing '=' after the key"
 */
#ifndef FERRY_UTIL_CONFIG_H
#define FERRY_UTIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse text (len bytes, need not be NUL-terminated; a NUL byte is a bad character) and
 * call cb(arg, key, value, line) for each setting in order. The key and value strings
 * are valid only during the call. source_name names the input in error details.
 * Returns 0, FERRY_ERR_FORMAT (syntax, bad character), FERRY_ERR_LIMIT (line or file too
 * long), or the first non-zero value cb returns; in that case the detail cb recorded is
 * prefixed with "<source>:<line>: " (cb should name the key itself).
 */
int config_parse(const char *text, size_t len, const char *source_name,
    int (*cb)(void *arg, const char *key, const char *value, unsigned line), void *arg);

/*
 * Parse a decimal unsigned integer (digits only, no sign, no leading zeros except "0")
 * in min..max into *out. FERRY_ERR_FORMAT with a detail such as
 * "\"12x\" is not a number" or "0 is outside 1..4096"; *out is untouched on failure.
 */
int config_parse_uint(const char *value, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Parse a size in bytes: a decimal number as for config_parse_uint(), optionally followed
 * at once by one of the suffixes K, M, G, T (or k, m, g, t), powers of 1024: "0", "4096",
 * "512K", "10G". The result must be at most max. FERRY_ERR_FORMAT with a detail such as
 * "\"10X\" is not a size (a number with an optional K, M, G or T suffix)" or
 * "\"9000000T\" is more than 9223372036854775807 bytes"; *out is untouched on failure.
 */
int config_parse_size(const char *value, uint64_t max, uint64_t *out);

/*
 * Parse a duration in seconds: a decimal number as for config_parse_uint(), optionally
 * followed at once by one of the suffixes s, m, h, d (seconds, minutes, hours, days):
 * "90", "90s", "15m", "24h", "7d". The result must be in min..max seconds.
 * FERRY_ERR_FORMAT with a detail such as "\"3w\" is not a duration (a number with an
 * optional s, m, h or d suffix)" or "\"30s\" is outside 60..31536000 seconds"; *out is
 * untouched on failure.
 */
int config_parse_duration(const char *value, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Parse "HOST:PORT" or "[IPV6]:PORT" (port 1..65535). HOST is a DNS name or IPv4 address
 * of [A-Za-z0-9.-] (an IPv6 address of [0-9A-Fa-f:.] inside the brackets, written to
 * host without them), 1..host_len-1 characters. FERRY_ERR_FORMAT with the reason.
 */
int config_parse_hostport(const char *value, char *host, size_t host_len, uint16_t *port);

#endif
