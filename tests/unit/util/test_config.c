/*
 * util/config: the line parser, its numeric and address helpers, and ferryd's settings
 * on top of it (src/server/settings.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "server/settings.h"
#include "testutil.h"
#include "util/config.h"
#include "util/err.h"
#include "util/limits.h"

struct collected {
	unsigned n;
	char keys[8][64];
	char values[8][128];
	unsigned lines[8];
	int fail_on;   /* line on which the callback fails, 0 for never */
};

static int
collect(void *arg, const char *key, const char *value, unsigned line)
{
	struct collected *c = arg;

	if (c->fail_on != 0 && (unsigned)c->fail_on == line)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: rejected", key);
	if (c->n < 8) {
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
		snprintf(c->values[c->n], sizeof(c->values[0]), "%s", value);
		c->lines[c->n] = line;
	}
	c->n++;
	return 0;
}

static int
parse(const char *text, struct collected *c)
{
	memset(c, 0, sizeof(*c));
	ferry_error_clear();
	return config_parse(text, strlen(text), "test.conf", collect, c);
}

static void
test_good_file(void **state)
{
	struct collected c;
	const char *text =
	    "# comment\n"
	    "\n"
	    "   \t\n"
	    "alpha = 1\n"
	    "  beta_2\t=\tsome value with spaces  \r\n"
	    "\t# indented comment\n"
	    "gamma=x=y#z\n"
	    "last = end";	/* no final newline */

	(void)state;
	assert_int_equal(parse(text, &c), 0);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.keys[0], "alpha");
	assert_string_equal(c.values[0], "1");
	assert_int_equal(c.lines[0], 4);
	assert_string_equal(c.keys[1], "beta_2");
	assert_string_equal(c.values[1], "some value with spaces");
	assert_int_equal(c.lines[1], 5);
	assert_string_equal(c.keys[2], "gamma");
	assert_string_equal(c.values[2], "x=y#z");
	assert_int_equal(c.lines[2], 7);
	assert_string_equal(c.keys[3], "last");
	assert_string_equal(c.values[3], "end");
	assert_int_equal(c.lines[3], 8);
	/* Empty text is a valid, empty file. */
	assert_int_equal(parse("", &c), 0);
	assert_int_equal(c.n, 0);
}

struct bad_case {
	const char *text;
	int err;
	const char *detail;
};

static void
test_bad_inputs(void **state)
{
	static const struct bad_case cases[] = {
		{ "a = 1\nnovalue\n", FERRY_ERR_FORMAT, "test.conf:2: missing '=' after the key" },
		{ "a = 1\nkey value\n", FERRY_ERR_FORMAT, "test.conf:2: missing '=' after the key" },
		{ "= 1\n", FERRY_ERR_FORMAT, "test.conf:1: missing key before '='" },
		{ "\n\nkey =\n", FERRY_ERR_FORMAT, "test.conf:3: missing value after '='" },
		{ "key =   \n", FERRY_ERR_FORMAT, "test.conf:1: missing value after '='" },
		{ "Key = 1\n", FERRY_ERR_FORMAT,
		    "test.conf:1: a key must be lower-case letters, digits and '_'" },
		{ "my-key = 1\n", FERRY_ERR_FORMAT,
		    "test.conf:1: a key must be lower-case letters, digits and '_'" },
		{ "a = 1\nb = x\x01y\n", FERRY_ERR_FORMAT,
		    "test.conf:2: bad character 0x01 at column 6" },
		{ "a = caf\xc3\xa9\n", FERRY_ERR_FORMAT,
		    "test.conf:1: bad character 0xc3 at column 8" },
		{ "a = x\ty\n", FERRY_ERR_FORMAT, "test.conf:1: tab inside the value" },
		{ "a = 1\rb = 2\n", FERRY_ERR_FORMAT,
		    "test.conf:1: bad character 0x0d at column 6" },
		{ "# comment with \x7f\n", FERRY_ERR_FORMAT,
		    "test.conf:1: bad character 0x7f at column 16" },
	};
	struct collected c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = parse(cases[i].text, &c);

		if (r != cases[i].err || strcmp(ferry_error_detail(r), cases[i].detail) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, r,
			    ferry_error_detail(r), cases[i].err, cases[i].detail);
	}
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "a = 1\nb = x\0y\n";
	struct collected c;
	int r;

	(void)state;
	memset(&c, 0, sizeof(c));
	r = config_parse(text, sizeof(text) - 1, "nul.conf", collect, &c);
	assert_int_equal(r, FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(r), "nul.conf:2: bad character 0x00 at column 6");
	assert_int_equal(c.n, 1);
}

static void
test_line_length(void **state)
{
	char *text = malloc(FERRY_MAX_CONFIG_LINE + 64);
	struct collected c;
	size_t n;

	(void)state;
	assert_non_null(text);
	/* Exactly the limit is fine ("a = " + value). */
	memcpy(text, "a = ", 4);
	memset(text + 4, 'v', FERRY_MAX_CONFIG_LINE - 4);
	n = FERRY_MAX_CONFIG_LINE;
	memcpy(text + n, "\n", 2);
	assert_int_equal(parse(text, &c), 0);
	assert_int_equal(c.n, 1);
	/* One more byte is not, and the error names the line. */
	memcpy(text, "x = 1\na = ", 10);
	memset(text + 10, 'v', FERRY_MAX_CONFIG_LINE - 3);
	text[FERRY_MAX_CONFIG_LINE + 7] = '\0';
	assert_int_equal(parse(text, &c), FERRY_ERR_LIMIT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_LIMIT),
	    "test.conf:2: line longer than 1024 bytes");
	free(text);
}

static void
test_file_length(void **state)
{
	size_t n = FERRY_MAX_CONFIG_FILE + 1;
	char *text = malloc(n);
	struct collected c;
	int r;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', n);
	memset(&c, 0, sizeof(c));
	r = config_parse(text, n, "big.conf", collect, &c);
	assert_int_equal(r, FERRY_ERR_LIMIT);
	assert_string_equal(ferry_error_detail(r), "big.conf: larger than 65536 bytes");
	assert_int_equal(config_parse(text, n - 1, "big.conf", collect, &c), 0);
	free(text);
}

static void
test_callback_error_prefixed(void **state)
{
	struct collected c;
	int r;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.fail_on = 3;
	r = config_parse("a = 1\n\nb = 2\nc = 3\n", 19, "cb.conf", collect, &c);
	assert_int_equal(r, FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(r), "cb.conf:3: b: rejected");
	assert_int_equal(c.n, 1);
}

static void
test_parse_uint(void **state)
{
	uint64_t v = 77;

	(void)state;
	assert_int_equal(config_parse_uint("0", 0, 10, &v), 0);
	assert_true(v == 0);
	assert_int_equal(config_parse_uint("4096", 1, 4096, &v), 0);
	assert_true(v == 4096);
	assert_int_equal(config_parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 77;
	assert_int_equal(config_parse_uint("4097", 1, 4096, &v), FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT), "4097 is outside 1..4096");
	assert_int_equal(config_parse_uint("0", 1, 4096, &v), FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_uint("18446744073709551616", 0, UINT64_MAX, &v),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_uint("12x", 0, 100, &v), FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT), "\"12x\" is not a number");
	assert_int_equal(config_parse_uint("-1", 0, 100, &v), FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_uint("+1", 0, 100, &v), FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_uint(" 1", 0, 100, &v), FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_uint("", 0, 100, &v), FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_uint("010", 0, 100, &v), FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT), "\"010\" has a leading zero");
	assert_true(v == 77);
}

static void
test_parse_hostport(void **state)
{
	char host[64];
	uint16_t port = 0;

	(void)state;
	assert_int_equal(config_parse_hostport("127.0.0.1:4433", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 4433);
	assert_int_equal(config_parse_hostport("files.example-corp.com:1", host, sizeof(host),
	    &port), 0);
	assert_string_equal(host, "files.example-corp.com");
	assert_int_equal(port, 1);
	assert_int_equal(config_parse_hostport("[::1]:65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 65535);

	assert_int_equal(config_parse_hostport("localhost", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "\"localhost\" is not HOST:PORT");
	assert_int_equal(config_parse_hostport(":4433", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("host:0", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "\"host:0\": port: 0 is outside 1..65535");
	assert_int_equal(config_parse_hostport("host:65536", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("host:", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("ho st:1", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("h/x:1", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("::1:80", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("[::1]80", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("[::1:80", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("[]:80", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("[g::1]:80", host, sizeof(host), &port),
	    FERRY_ERR_FORMAT);
	/* The host must fit the buffer with its NUL. */
	assert_int_equal(config_parse_hostport("abcd:1", host, 4, &port), FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_hostport("abc:1", host, 4, &port), 0);
	assert_string_equal(host, "abc");
}

/* want_fail(r, detail): r is FERRY_ERR_FORMAT with exactly that detail. */
static void
want_format(int r, const char *detail)
{
	assert_int_equal(r, FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT), detail);
}

static void
test_parse_size(void **state)
{
	static const struct {
		const char *text;
		uint64_t want;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "4096", 4096 }, { "1K", 1024 }, { "1k", 1024 },
		{ "512K", 512u * 1024 }, { "10M", 10u * 1024 * 1024 },
		{ "3m", 3u * 1024 * 1024 }, { "2G", 2ull << 30 }, { "7g", 7ull << 30 },
		{ "1T", 1ull << 40 }, { "5t", 5ull << 40 }, { "0T", 0 },
		{ "8388607T", 8388607ull << 40 },
		{ "9223372036854775807", 9223372036854775807ull },
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 12345;
		if (config_parse_size(good[i].text, INT64_MAX, &v) != 0 || v != good[i].want)
			fail_msg("\"%s\": got %llu (%s)", good[i].text, (unsigned long long)v,
			    ferry_error_detail(FERRY_ERR_FORMAT));
	}
	v = 77;
	want_format(config_parse_size("", INT64_MAX, &v), "missing size");
	want_format(config_parse_size("10X", INT64_MAX, &v),
	    "\"10X\" is not a size (a number with an optional K, M, G or T suffix)");
	want_format(config_parse_size("10KB", INT64_MAX, &v),
	    "\"10KB\" is not a size (a number with an optional K, M, G or T suffix)");
	want_format(config_parse_size("K", INT64_MAX, &v),
	    "\"K\" is not a size (a number with an optional K, M, G or T suffix)");
	want_format(config_parse_size("1 K", INT64_MAX, &v),
	    "\"1 K\" is not a size (a number with an optional K, M, G or T suffix)");
	want_format(config_parse_size("-1", INT64_MAX, &v),
	    "\"-1\" is not a size (a number with an optional K, M, G or T suffix)");
	want_format(config_parse_size("1.5G", INT64_MAX, &v),
	    "\"1.5G\" is not a size (a number with an optional K, M, G or T suffix)");
	want_format(config_parse_size("010M", INT64_MAX, &v),
	    "\"010M\": \"010\" has a leading zero");
	want_format(config_parse_size("8388608T", INT64_MAX, &v),
	    "\"8388608T\" is more than 9223372036854775807 bytes");
	want_format(config_parse_size("9223372036854775808", INT64_MAX, &v),
	    "\"9223372036854775808\" is more than 9223372036854775807 bytes");
	/* More digits than any uint64_t, and values whose shift would wrap. */
	assert_int_equal(config_parse_size("99999999999999999999", INT64_MAX, &v),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_size("123456789012345678901", INT64_MAX, &v),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_size("18446744073709551615K", UINT64_MAX, &v),
	    FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_size("16777216T", UINT64_MAX, &v), FERRY_ERR_FORMAT);
	assert_int_equal(config_parse_size("16777215T", UINT64_MAX, &v), 0);
	assert_true(v == 16777215ull << 40);
	v = 77;
	assert_int_equal(config_parse_size("2K", 2047, &v), FERRY_ERR_FORMAT);
	assert_int_equal(v, 77);	/* untouched on failure */
}

static void
test_parse_duration(void **state)
{
	static const struct {
		const char *text;
		uint64_t want;
	} good[] = {
		{ "60", 60 }, { "60s", 60 }, { "90s", 90 }, { "1m", 60 }, { "15m", 900 },
		{ "1h", 3600 }, { "24h", 86400 }, { "1d", 86400 }, { "7d", 604800 },
		{ "365d", 31536000 },
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		if (config_parse_duration(good[i].text, 60, 31536000, &v) != 0 ||
		    v != good[i].want)
			fail_msg("\"%s\": got %llu (%s)", good[i].text, (unsigned long long)v,
			    ferry_error_detail(FERRY_ERR_FORMAT));
	}
	v = 5;
	want_format(config_parse_duration("", 60, 100, &v), "missing duration");
	want_format(config_parse_duration("3w", 60, 31536000, &v),
	    "\"3w\" is not a duration (a number with an optional s, m, h or d suffix)");
	want_format(config_parse_duration("1H", 60, 31536000, &v),
	    "\"1H\" is not a duration (a number with an optional s, m, h or d suffix)");
	want_format(config_parse_duration("h", 60, 31536000, &v),
	    "\"h\" is not a duration (a number with an optional s, m, h or d suffix)");
	want_format(config_parse_duration("1hm", 60, 31536000, &v),
	    "\"1hm\" is not a duration (a number with an optional s, m, h or d suffix)");
	want_format(config_parse_duration("59", 60, 31536000, &v),
	    "\"59\" is outside 60..31536000 seconds");
	want_format(config_parse_duration("30s", 60, 31536000, &v),
	    "\"30s\" is outside 60..31536000 seconds");
	want_format(config_parse_duration("366d", 60, 31536000, &v),
	    "\"366d\" is outside 60..31536000 seconds");
	want_format(config_parse_duration("0m", 60, 31536000, &v),
	    "\"0m\" is outside 60..31536000 seconds");
	/* A multiplication that would wrap is out of range, not a small number. */
	want_format(config_parse_duration("213503982334602d", 60, UINT64_MAX, &v),
	    "\"213503982334602d\" is outside 60..18446744073709551615 seconds");
	assert_int_equal(v, 5);
}

/* ---- settings --------------------------------------------------------------------- */

static void
test_settings_defaults(void **state)
{
	struct ferryd_settings s;
	struct auth_policy p;

	(void)state;
	memset(&s, 0xff, sizeof(s));
	settings_defaults(&s);
	assert_string_equal(s.listen, "127.0.0.1:4433");
	assert_string_equal(s.listen_host, "127.0.0.1");
	assert_int_equal(s.listen_port, 4433);
	assert_int_equal(s.cert_validity_days, 90);
	assert_int_equal(s.handshake_timeout, 10);
	assert_int_equal(s.idle_timeout, 60);
	assert_int_equal(s.max_sessions, 64);
	assert_int_equal(s.max_sessions_per_user, 8);
	assert_int_equal(s.auth_max_failures, 5);
	assert_int_equal(s.auth_window, 900);
	assert_int_equal(s.auth_lockout, 900);
	assert_string_equal(s.org, "ferry");
	assert_int_equal(s.log_level, FERRYD_LOG_INFO);
	assert_true(s.quota == 0);
	assert_true(s.max_file_size == 0);
	assert_int_equal(s.partial_expiry, 86400);
	settings_auth_policy(&s, &p);
	assert_int_equal(p.max_failures, 5);
	assert_true(p.window == 900 && p.lockout == 900);
	assert_string_equal(settings_log_level_name(FERRYD_LOG_DEBUG), "debug");
}

static void
test_settings_parse_all(void **state)
{
	static const char text[] =
	    "listen = [::1]:9000\n"
	    "cert_validity_days = 30\n"
	    "handshake_timeout = 5\n"
	    "idle_timeout = 120\n"
	    "max_sessions = 100\n"
	    "max_sessions_per_user = 2\n"
	    "auth_max_failures = 3\n"
	    "auth_window = 60\n"
	    "auth_lockout = 300\n"
	    "org = Example Corp\n"
	    "log_level = debug\n"
	    "quota = 10G\n"
	    "max_file_size = 512M\n"
	    "partial_expiry = 2h\n";
	struct ferryd_settings s;
	const char *t;

	(void)state;
	assert_int_equal(settings_parse(text, sizeof(text) - 1, "ferryd.conf", &s), 0);
	assert_string_equal(s.listen, "[::1]:9000");
	assert_string_equal(s.listen_host, "::1");
	assert_int_equal(s.listen_port, 9000);
	assert_int_equal(s.cert_validity_days, 30);
	assert_int_equal(s.handshake_timeout, 5);
	assert_int_equal(s.idle_timeout, 120);
	assert_int_equal(s.max_sessions, 100);
	assert_int_equal(s.max_sessions_per_user, 2);
	assert_int_equal(s.auth_max_failures, 3);
	assert_int_equal(s.auth_window, 60);
	assert_int_equal(s.auth_lockout, 300);
	assert_string_equal(s.org, "Example Corp");
	assert_int_equal(s.log_level, FERRYD_LOG_DEBUG);
	assert_true(s.quota == 10ull << 30);
	assert_true(s.max_file_size == 512ull << 20);
	assert_int_equal(s.partial_expiry, 7200);

	/* Plain numbers, the smallest expiry and the largest size. */
	t = "quota = 1000\nmax_file_size = 9223372036854775807\npartial_expiry = 60\n";
	assert_int_equal(settings_parse(t, strlen(t), "ferryd.conf", &s), 0);
	assert_true(s.quota == 1000);
	assert_true(s.max_file_size == 9223372036854775807ull);
	assert_int_equal(s.partial_expiry, 60);
	t = "partial_expiry = 365d\nquota = 0\n";
	assert_int_equal(settings_parse(t, strlen(t), "c", &s), 0);
	assert_int_equal(s.partial_expiry, 31536000);
	assert_true(s.quota == 0);
}

static void
test_settings_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "# x\nlisten_port = 1\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:2: unknown key \"listen_port\"" },
		{ "max_sessions = 0\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:1: max_sessions: 0 is outside 1..4096" },
		{ "\nidle_timeout = 86401\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:2: idle_timeout: 86401 is outside 1..86400" },
		{ "auth_window = ten\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:1: auth_window: \"ten\" is not a number" },
		{ "cert_validity_days = 826\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:1: cert_validity_days: 826 is outside 1..825" },
		{ "org = a\norg = b\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:2: org: set twice (first on line 1)" },
		{ "log_level = loud\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:1: log_level: \"loud\" is not one of error, warn, info, debug" },
		{ "listen = 4433\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:1: listen: \"4433\" is not HOST:PORT" },
		{ "org = 0123456789012345678901234567890123456789012345678\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:1: org: longer than 48 characters" },
		{ "listen\n", FERRY_ERR_FORMAT, "ferryd.conf:1: missing '=' after the key" },
		{ "# q\nquota = 10GB\n", FERRY_ERR_FORMAT, "ferryd.conf:2: quota: \"10GB\" is not "
		    "a size (a number with an optional K, M, G or T suffix)" },
		{ "quota = -1\n", FERRY_ERR_FORMAT, "ferryd.conf:1: quota: \"-1\" is not a size "
		    "(a number with an optional K, M, G or T suffix)" },
		{ "max_file_size = 8388608T\n", FERRY_ERR_FORMAT, "ferryd.conf:1: max_file_size: "
		    "\"8388608T\" is more than 9223372036854775807 bytes" },
		{ "quota = 1G\nquota = 2G\n", FERRY_ERR_FORMAT,
		    "ferryd.conf:2: quota: set twice (first on line 1)" },
		{ "\n\npartial_expiry = 59s\n", FERRY_ERR_FORMAT, "ferryd.conf:3: partial_expiry: "
		    "\"59s\" is outside 60..31536000 seconds" },
		{ "partial_expiry = 1w\n", FERRY_ERR_FORMAT, "ferryd.conf:1: partial_expiry: \"1w\" "
		    "is not a duration (a number with an optional s, m, h or d suffix)" },
		{ "partial_expiry = 366d\n", FERRY_ERR_FORMAT, "ferryd.conf:1: partial_expiry: "
		    "\"366d\" is outside 60..31536000 seconds" },
	};
	struct ferryd_settings s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		ferry_error_clear();
		r = settings_parse(cases[i].text, strlen(cases[i].text), "ferryd.conf", &s);
		if (r != cases[i].err || strcmp(ferry_error_detail(r), cases[i].detail) != 0)
			fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, r,
			    ferry_error_detail(r), cases[i].err, cases[i].detail);
	}
}

static void
test_settings_write_and_load(void **state)
{
	char *dir = test_tmpdir(), path[512], *text = NULL;
	struct ferryd_settings s, d;
	struct stat st;
	FILE *f;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/ferryd.conf", dir);
	/* A missing file is an I/O error naming it. */
	assert_int_equal(settings_load(path, &s), FERRY_ERR_IO);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_IO), path));

	assert_int_equal(settings_write_default(path, "Example Corp", false), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(settings_load(path, &s), 0);
	settings_defaults(&d);
	assert_string_equal(s.org, "Example Corp");
	snprintf(d.org, sizeof(d.org), "Example Corp");
	assert_memory_equal(&s, &d, sizeof(s));

	/* Every key appears, commented out with its default (org set). */
	f = fopen(path, "r");
	assert_non_null(f);
	text = calloc(1, 8192);
	assert_non_null(text);
	len = fread(text, 1, 8191, f);
	fclose(f);
	assert_true(len > 0);
	assert_non_null(strstr(text, "\n#listen = 127.0.0.1:4433\n"));
	assert_non_null(strstr(text, "\n#cert_validity_days = 90\n"));
	assert_non_null(strstr(text, "\n#handshake_timeout = 10\n"));
	assert_non_null(strstr(text, "\n#idle_timeout = 60\n"));
	assert_non_null(strstr(text, "\n#max_sessions = 64\n"));
	assert_non_null(strstr(text, "\n#max_sessions_per_user = 8\n"));
	assert_non_null(strstr(text, "\n#auth_max_failures = 5\n"));
	assert_non_null(strstr(text, "\n#auth_window = 900\n"));
	assert_non_null(strstr(text, "\n#auth_lockout = 900\n"));
	assert_non_null(strstr(text, "\norg = Example Corp\n"));
	assert_non_null(strstr(text, "\n#log_level = info\n"));
	assert_non_null(strstr(text, "\n#quota = 0\n"));
	assert_non_null(strstr(text, "\n#max_file_size = 0\n"));
	assert_non_null(strstr(text, "\n#partial_expiry = 24h\n"));
	/* Every line of the help is a comment (a multi-line help keeps its '#'). */
	for (const char *l = text; *l != '\0'; l = strchr(l, '\n') + 1) {
		assert_true(*l == '#' || *l == '\n' || strncmp(l, "org = ", 6) == 0);
		if (strchr(l, '\n') == NULL)
			break;
	}
	free(text);

	/* No overwrite without force; with force the file is replaced. */
	assert_int_equal(settings_write_default(path, "Other", false), FERRY_ERR_EXISTS);
	assert_int_equal(settings_load(path, &s), 0);
	assert_string_equal(s.org, "Example Corp");
	assert_int_equal(settings_write_default(path, "Other", true), 0);
	assert_int_equal(settings_load(path, &s), 0);
	assert_string_equal(s.org, "Other");

	/* A bad organisation name is refused before anything is written. */
	assert_int_equal(settings_write_default(path, "", true), FERRY_ERR_USAGE);
	assert_int_equal(settings_write_default(path, "bad\norg", true), FERRY_ERR_USAGE);
	assert_int_equal(settings_write_default(path, " padded", true), FERRY_ERR_USAGE);
	assert_int_equal(settings_load(path, &s), 0);
	assert_string_equal(s.org, "Other");

	/* A load error names the file and line. */
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("bogus = 1\n", f);
	fclose(f);
	assert_int_equal(settings_load(path, &s), FERRY_ERR_FORMAT);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ":");
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), path));
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "unknown key \"bogus\""));

	rm_rf(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_file_length),
		cmocka_unit_test(test_callback_error_prefixed),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_parse_hostport),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_settings_defaults),
		cmocka_unit_test(test_settings_parse_all),
		cmocka_unit_test(test_settings_errors),
		cmocka_unit_test(test_settings_write_and_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
