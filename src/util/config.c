#include "util/config.h"

#include <stdbool.h>
#include <string.h>

#include "util/err.h"
#include "util/limits.h"

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool
is_value_char(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* One line without its end: validate, split and hand to cb. */
static int
parse_line(const char *p, size_t n, const char *src, unsigned line,
    int (*cb)(void *, const char *, const char *, unsigned), void *arg)
{
	char key[FERRY_MAX_CONFIG_LINE + 1], value[FERRY_MAX_CONFIG_LINE + 1];
	size_t i = 0, kstart, kend, vstart, vend;
	int r;

	/* Every byte must be printable or a tab, wherever it is. */
	for (size_t j = 0; j < n; j++) {
		if (!is_value_char(p[j]) && p[j] != '\t')
			return ferry_fail(FERRY_ERR_FORMAT, "%s:%u: bad character 0x%02x at column %zu",
			    src, line, (unsigned)(unsigned char)p[j], j + 1);
	}
	while (i < n && is_blank(p[i]))
		i++;
	if (i == n || p[i] == '#')
		return 0;
	kstart = i;
	while (i < n && is_key_char(p[i]))
		i++;
	kend = i;
	while (i < n && is_blank(p[i]))
		i++;
	if (kend == kstart) {
		if (i < n && p[i] == '=')
			return ferry_fail(FERRY_ERR_FORMAT, "%s:%u: missing key before '='", src, line);
		return ferry_fail(FERRY_ERR_FORMAT,
		    "%s:%u: a key must be lower-case letters, digits and '_'", src, line);
	}
	if (i == n)
		return ferry_fail(FERRY_ERR_FORMAT, "%s:%u: missing '=' after the key", src, line);
	if (p[i] != '=') {
		if (i == kend)
			return ferry_fail(FERRY_ERR_FORMAT,
			    "%s:%u: a key must be lower-case letters, digits and '_'", src, line);
		return ferry_fail(FERRY_ERR_FORMAT, "%s:%u: missing '=' after the key", src, line);
	}
	i++;
	while (i < n && is_blank(p[i]))
		i++;
	vstart = i;
	vend = n;
	while (vend > vstart && is_blank(p[vend - 1]))
		vend--;
	if (vend == vstart)
		return ferry_fail(FERRY_ERR_FORMAT, "%s:%u: missing value after '='", src, line);
	for (size_t j = vstart; j < vend; j++) {
		if (p[j] == '\t')
			return ferry_fail(FERRY_ERR_FORMAT, "%s:%u: tab inside the value", src, line);
	}
	memcpy(key, p + kstart, kend - kstart);
	key[kend - kstart] = '\0';
	memcpy(value, p + vstart, vend - vstart);
	value[vend - vstart] = '\0';
	ferry_error_clear();
	r = cb(arg, key, value, line);
	if (r != 0)
		return ferry_error_prefix(r, "%s:%u", src, line);
	return 0;
}

int
config_parse(const char *text, size_t len, const char *source_name,
    int (*cb)(void *arg, const char *key, const char *value, unsigned line), void *arg)
{
	const char *src = source_name != NULL ? source_name : "config";
	size_t off = 0;
	unsigned line = 0;
	int r;

	if (len > FERRY_MAX_CONFIG_FILE)
		return ferry_fail(FERRY_ERR_LIMIT, "%s: larger than %u bytes", src,
		    FERRY_MAX_CONFIG_FILE);
	if (len > 0 && text == NULL)
		return ferry_fail(FERRY_ERR_INTERNAL, "%s: no text", src);
	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		size_t next = off + n + (nl != NULL ? 1 : 0);

		line++;
		if (n > 0 && text[off + n - 1] == '\r')
			n--;
		if (n > FERRY_MAX_CONFIG_LINE)
			return ferry_fail(FERRY_ERR_LIMIT, "%s:%u: line longer than %u bytes", src, line,
			    FERRY_MAX_CONFIG_LINE);
		if ((r = parse_line(text + off, n, src, line, cb, arg)) != 0)
			return r;
		off = next;
	}
	return 0;
}

int
config_parse_uint(const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t n;

	if (value == NULL || value[0] == '\0')
		return ferry_fail(FERRY_ERR_FORMAT, "missing number");
	n = strlen(value);
	for (size_t i = 0; i < n; i++) {
		if (value[i] < '0' || value[i] > '9')
			return ferry_fail(FERRY_ERR_FORMAT, "\"%.40s\" is not a number", value);
	}
	if (n > 1 && value[0] == '0')
		return ferry_fail(FERRY_ERR_FORMAT, "\"%.40s\" has a leading zero", value);
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(value[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return ferry_fail(FERRY_ERR_FORMAT, "%.40s is outside %llu..%llu", value,
			    (unsigned long long)min, (unsigned long long)max);
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return ferry_fail(FERRY_ERR_FORMAT, "%.40s is outside %llu..%llu", value,
		    (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

/*
 * Split value into its number (at most 20 digits, copied to digits) and an optional
 * one-character suffix from suffixes (*suffix, '\0' for none). False when value is not
 * that shape.
 */
static bool
split_suffix(const char *value, const char *suffixes, char digits[21], char *suffix)
{
	size_t n, d;

	if (value == NULL)
		return false;
	n = strnlen(value, 22);
	d = 0;
	while (d < n && value[d] >= '0' && value[d] <= '9')
		d++;
	if (d == 0 || d > 20 || n - d > 1)
		return false;
	*suffix = '\0';
	if (n - d == 1) {
		if (strchr(suffixes, value[d]) == NULL)
			return false;
		*suffix = value[d];
	}
	memcpy(digits, value, d);
	digits[d] = '\0';
	return true;
}

int
config_parse_size(const char *value, uint64_t max, uint64_t *out)
{
	char digits[21], suffix;
	unsigned shift = 0;
	uint64_t v;

	if (value == NULL || value[0] == '\0')
		return ferry_fail(FERRY_ERR_FORMAT, "missing size");
	if (!split_suffix(value, "KMGTkmgt", digits, &suffix))
		return ferry_fail(FERRY_ERR_FORMAT, "\"%.40s\" is not a size (a number with an "
		    "optional K, M, G or T suffix)", value);
	if (config_parse_uint(digits, 0, UINT64_MAX, &v) != 0)
		return ferry_error_prefix(FERRY_ERR_FORMAT, "\"%.40s\"", value);
	switch (suffix) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	case 'T': case 't': shift = 40; break;
	default: break;
	}
	if (v > (max >> shift))
		return ferry_fail(FERRY_ERR_FORMAT, "\"%.40s\" is more than %llu bytes", value,
		    (unsigned long long)max);
	*out = v << shift;
	return 0;
}

int
config_parse_duration(const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
	char digits[21], suffix;
	uint64_t v, unit = 1;

	if (value == NULL || value[0] == '\0')
		return ferry_fail(FERRY_ERR_FORMAT, "missing duration");
	if (!split_suffix(value, "smhd", digits, &suffix))
		return ferry_fail(FERRY_ERR_FORMAT, "\"%.40s\" is not a duration (a number with "
		    "an optional s, m, h or d suffix)", value);
	if (config_parse_uint(digits, 0, UINT64_MAX, &v) != 0)
		return ferry_error_prefix(FERRY_ERR_FORMAT, "\"%.40s\"", value);
	switch (suffix) {
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: break;
	}
	if (v > UINT64_MAX / unit || v * unit < min || v * unit > max)
		return ferry_fail(FERRY_ERR_FORMAT, "\"%.40s\" is outside %llu..%llu seconds",
		    value, (unsigned long long)min, (unsigned long long)max);
	*out = v * unit;
	return 0;
}

static bool
is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '-';
}

static bool
is_v6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
	    c == ':' || c == '.';
}

int
config_parse_hostport(const char *value, char *host, size_t host_len, uint16_t *port)
{
	const char *h, *colon;
	size_t hn;
	uint64_t v;
	bool v6;
	int r;

	if (value == NULL || host == NULL || host_len == 0)
		return ferry_fail(FERRY_ERR_INTERNAL, "config_parse_hostport: bad arguments");
	v6 = value[0] == '[';
	if (v6) {
		const char *close = strchr(value, ']');

		if (close == NULL)
			return ferry_fail(FERRY_ERR_FORMAT, "\"%.80s\": missing ']'", value);
		h = value + 1;
		hn = (size_t)(close - h);
		if (close[1] != ':')
			return ferry_fail(FERRY_ERR_FORMAT, "\"%.80s\": missing ':PORT' after ']'",
			    value);
		colon = close + 1;
	} else {
		colon = strrchr(value, ':');
		if (colon == NULL)
			return ferry_fail(FERRY_ERR_FORMAT, "\"%.80s\" is not HOST:PORT", value);
		h = value;
		hn = (size_t)(colon - h);
	}
	if (hn == 0)
		return ferry_fail(FERRY_ERR_FORMAT, "\"%.80s\": missing host", value);
	if (hn >= host_len)
		return ferry_fail(FERRY_ERR_FORMAT, "\"%.80s\": host longer than %zu characters",
		    value, host_len - 1);
	for (size_t i = 0; i < hn; i++) {
		if (v6 ? !is_v6_char(h[i]) : !is_host_char(h[i]))
			return ferry_fail(FERRY_ERR_FORMAT, "\"%.80s\": bad character in host", value);
	}
	if ((r = config_parse_uint(colon + 1, 1, 65535, &v)) != 0)
		return ferry_error_prefix(r, "\"%.80s\": port", value);
	memcpy(host, h, hn);
	host[hn] = '\0';
	*port = (uint16_t)v;
	return 0;
}
