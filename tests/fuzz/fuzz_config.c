/*
 * Fuzz the config-file parser and ferryd's settings on top of it: arbitrary bytes come in
 * as a config file. Beyond not crashing, it checks the parser's contract: every setting
 * handed out has a key of [a-z0-9_]+ and a trimmed, printable, non-empty value no longer
 * than a line, on increasing line numbers within the input; every failure says why, with
 * the source name and a line number; and settings that parse are within their ranges.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/settings.h"
#include "util/config.h"
#include "util/err.h"
#include "util/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

struct walk {
	size_t size;
	unsigned last_line;
	unsigned newlines;
};

static int
check_setting(void *arg, const char *key, const char *value, unsigned line)
{
	struct walk *w = arg;
	size_t kn = strlen(key), vn = strlen(value);

	CHECK(kn >= 1 && vn >= 1 && kn + vn <= FERRY_MAX_CONFIG_LINE);
	for (size_t i = 0; i < kn; i++)
		CHECK((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
		    key[i] == '_');
	for (size_t i = 0; i < vn; i++)
		CHECK(value[i] >= 0x20 && value[i] <= 0x7e);
	CHECK(value[0] != ' ' && value[vn - 1] != ' ');
	CHECK(line > w->last_line && line <= w->newlines + 1);
	w->last_line = line;
	/* Exercise the helpers on whatever values arrive. */
	{
		uint64_t v;
		char host[FERRY_MAX_HOST_PORT + 1];
		uint16_t port;

		if (config_parse_uint(value, 1, 4096, &v) == 0)
			CHECK(v >= 1 && v <= 4096);
		if (config_parse_hostport(value, host, sizeof(host), &port) == 0)
			CHECK(port >= 1 && host[0] != '\0' && strlen(host) < vn);
	}
	/* Stop now and then, to test that a callback's error is passed up. */
	if (vn == 7 && value[0] == 'S')
		return ferry_fail(FERRY_ERR_FORMAT, "%s: stop", key);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct ferryd_settings s;
	struct walk w = { size, 0, 0 };
	int r;

	for (size_t i = 0; i < size; i++)
		w.newlines += data[i] == '\n';

	ferry_error_clear();
	r = config_parse(text, size, "fuzz.conf", check_setting, &w);
	if (r != 0) {
		CHECK(r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT);
		CHECK(strncmp(ferry_error_detail(r), "fuzz.conf:", 10) == 0);
	}

	ferry_error_clear();
	r = settings_parse(text, size, "fuzz.conf", &s);
	if (r == 0) {
		CHECK(s.listen_port >= 1 && s.listen_host[0] != '\0');
		CHECK(s.cert_validity_days >= 1 && s.cert_validity_days <= 825);
		CHECK(s.handshake_timeout >= 1 && s.handshake_timeout <= 300);
		CHECK(s.idle_timeout >= 1 && s.idle_timeout <= 86400);
		CHECK(s.max_sessions >= 1 && s.max_sessions <= 4096);
		CHECK(s.max_sessions_per_user >= 1 && s.max_sessions_per_user <= 4096);
		CHECK(s.auth_max_failures >= 1 && s.auth_max_failures <= 1000);
		CHECK(s.auth_window >= 1 && s.auth_window <= 604800);
		CHECK(s.auth_lockout >= 1 && s.auth_lockout <= 604800);
		CHECK(s.org[0] != '\0' && strlen(s.org) <= SETTINGS_MAX_ORG);
		CHECK(s.log_level >= FERRYD_LOG_ERROR && s.log_level <= FERRYD_LOG_DEBUG);
	} else {
		CHECK(r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT);
		CHECK(strncmp(ferry_error_detail(r), "fuzz.conf:", 10) == 0);
	}
	ferry_error_clear();
	return 0;
}
