#include "server/settings.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/atomic_file.h"
#include "util/config.h"
#include "util/err.h"
#include "util/io.h"

enum key_kind { KIND_UINT, KIND_LISTEN, KIND_ORG, KIND_LOG_LEVEL, KIND_SIZE, KIND_DURATION };

struct key_def {
	const char *name;
	enum key_kind kind;
	size_t offset;          /* of the field: unsigned (KIND_UINT, KIND_DURATION) or
	                         * uint64_t (KIND_SIZE) */
	unsigned min, max, def;
	const char *help;       /* one line for the default file */
};

#define UINT_KEY(f, lo, hi, d, h) \
	{ #f, KIND_UINT, offsetof(struct ferryd_settings, f), lo, hi, d, h }

/* A size in bytes (uint64_t field), 0..SETTINGS_MAX_SIZE, default 0. */
#define SIZE_KEY(f, h) \
	{ #f, KIND_SIZE, offsetof(struct ferryd_settings, f), 0, 0, 0, h }

/* A duration in seconds (unsigned field). */
#define DURATION_KEY(f, lo, hi, d, h) \
	{ #f, KIND_DURATION, offsetof(struct ferryd_settings, f), lo, hi, d, h }

#define DEFAULT_LISTEN "127.0.0.1:4433"
#define DEFAULT_ORG "ferry"

static const struct key_def keys[] = {
	{ "listen", KIND_LISTEN, 0, 0, 0, 0,
	    "Address to accept connections on: HOST:PORT or [IPV6]:PORT." },
	UINT_KEY(cert_validity_days, 1, 825, 90,
	    "Days an issued client certificate stays valid (1..825)."),
	UINT_KEY(handshake_timeout, 1, 300, 10,
	    "Seconds allowed for the TLS handshake and the first frame (1..300)."),
	UINT_KEY(idle_timeout, 1, 86400, 60,
	    "Seconds a connection may stay silent before it is closed (1..86400)."),
	UINT_KEY(max_sessions, 1, 4096, 64,
	    "Most connections served at once; more are refused as busy (1..4096)."),
	UINT_KEY(max_sessions_per_user, 1, 4096, 8,
	    "Most sessions one user may hold at once (1..4096)."),
	UINT_KEY(auth_max_failures, 1, 1000, 5,
	    "Failed password attempts, per user and per address, that lock it (1..1000)."),
	UINT_KEY(auth_window, 1, 604800, 900,
	    "Seconds over which failed attempts are counted (1..604800)."),
	UINT_KEY(auth_lockout, 1, 604800, 900,
	    "Seconds a locked user or address must wait (1..604800)."),
	{ "org", KIND_ORG, 0, 0, 0, 0,
	    "Organisation name put in issued certificates (O=...); set by ferryd init." },
	{ "log_level", KIND_LOG_LEVEL, 0, 0, 0, 0,
	    "How much ferryd logs to stderr: error, warn, info or debug." },
	SIZE_KEY(quota,
	    "Bytes each user may store (stored files and partial uploads, counted as\n"
	    "# plaintext), a number with an optional K, M, G or T suffix (powers of 1024);\n"
	    "# 0 means no limit."),
	SIZE_KEY(max_file_size,
	    "Largest file a user may put, in bytes (K, M, G or T suffix allowed); 0 means\n"
	    "# no limit."),
	DURATION_KEY(partial_expiry, SETTINGS_MIN_PARTIAL_EXPIRY, SETTINGS_MAX_PARTIAL_EXPIRY,
	    86400, "How long an interrupted upload is kept for `ferry put` to resume it, after\n"
	    "# its last data arrived: seconds, or a number with an s, m, h or d suffix (60s..365d)."),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const level_names[] = { "error", "warn", "info", "debug" };

const char *
settings_log_level_name(enum ferryd_log_level level)
{
	if ((unsigned)level < sizeof(level_names) / sizeof(level_names[0]))
		return level_names[level];
	return "info";
}

static unsigned *
uint_field(struct ferryd_settings *s, const struct key_def *k)
{
	return (unsigned *)(void *)((char *)s + k->offset);
}

static uint64_t *
size_field(struct ferryd_settings *s, const struct key_def *k)
{
	return (uint64_t *)(void *)((char *)s + k->offset);
}

/* Seconds written the shortest exact way: "24h", "15m", "90s". */
static void
format_duration(unsigned v, char *buf, size_t len)
{
	if (v != 0 && v % 3600 == 0)
		snprintf(buf, len, "%uh", v / 3600);
	else if (v != 0 && v % 60 == 0)
		snprintf(buf, len, "%um", v / 60);
	else
		snprintf(buf, len, "%us", v);
}

/* NULL if org is acceptable, else why not. */
static const char *
org_problem(const char *org)
{
	size_t n;

	if (org == NULL || org[0] == '\0')
		return "must not be empty";
	n = strnlen(org, SETTINGS_MAX_ORG + 1);
	if (n > SETTINGS_MAX_ORG)
		return "longer than 48 characters";
	for (size_t i = 0; i < n; i++) {
		if (org[i] < 0x20 || org[i] > 0x7e)
			return "may contain only printable ASCII characters";
	}
	if (org[0] == ' ' || org[n - 1] == ' ')
		return "must not start or end with a space";
	return NULL;
}

void
settings_defaults(struct ferryd_settings *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->listen, sizeof(s->listen), "%s", DEFAULT_LISTEN);
	snprintf(s->listen_host, sizeof(s->listen_host), "127.0.0.1");
	s->listen_port = 4433;
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].kind == KIND_UINT || keys[i].kind == KIND_DURATION)
			*uint_field(s, &keys[i]) = keys[i].def;
		else if (keys[i].kind == KIND_SIZE)
			*size_field(s, &keys[i]) = keys[i].def;
	}
	snprintf(s->org, sizeof(s->org), "%s", DEFAULT_ORG);
	s->log_level = FERRYD_LOG_INFO;
}

void
settings_auth_policy(const struct ferryd_settings *s, struct auth_policy *p)
{
	p->max_failures = s->auth_max_failures;
	p->window = s->auth_window;
	p->lockout = s->auth_lockout;
}

struct parse_state {
	struct ferryd_settings *s;
	unsigned seen[NKEYS];   /* line where each key was set, 0 if not yet */
};

static int
set_key(void *arg, const char *key, const char *value, unsigned line)
{
	struct parse_state *ps = arg;
	struct ferryd_settings *s = ps->s;
	const struct key_def *k = NULL;
	const char *why;
	uint64_t v;
	size_t i;
	int r;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].name, key) == 0) {
			k = &keys[i];
			break;
		}
	}
	if (k == NULL)
		return ferry_fail(FERRY_ERR_FORMAT, "unknown key \"%.64s\"", key);
	if (ps->seen[i] != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "%s: set twice (first on line %u)", key,
		    ps->seen[i]);
	ps->seen[i] = line;
	switch (k->kind) {
	case KIND_UINT:
		if ((r = config_parse_uint(value, k->min, k->max, &v)) != 0)
			return ferry_error_prefix(r, "%s", key);
		*uint_field(s, k) = (unsigned)v;
		return 0;
	case KIND_SIZE:
		if ((r = config_parse_size(value, SETTINGS_MAX_SIZE, &v)) != 0)
			return ferry_error_prefix(r, "%s", key);
		*size_field(s, k) = v;
		return 0;
	case KIND_DURATION:
		if ((r = config_parse_duration(value, k->min, k->max, &v)) != 0)
			return ferry_error_prefix(r, "%s", key);
		*uint_field(s, k) = (unsigned)v;
		return 0;
	case KIND_LISTEN:
		if (strlen(value) > FERRY_MAX_HOST_PORT)
			return ferry_fail(FERRY_ERR_FORMAT, "%s: longer than %u characters", key,
			    FERRY_MAX_HOST_PORT);
		if ((r = config_parse_hostport(value, s->listen_host, sizeof(s->listen_host),
		    &s->listen_port)) != 0)
			return ferry_error_prefix(r, "%s", key);
		snprintf(s->listen, sizeof(s->listen), "%s", value);
		return 0;
	case KIND_ORG:
		if ((why = org_problem(value)) != NULL)
			return ferry_fail(FERRY_ERR_FORMAT, "%s: %s", key, why);
		snprintf(s->org, sizeof(s->org), "%s", value);
		return 0;
	case KIND_LOG_LEVEL:
		for (size_t j = 0; j < sizeof(level_names) / sizeof(level_names[0]); j++) {
			if (strcmp(value, level_names[j]) == 0) {
				s->log_level = (enum ferryd_log_level)j;
				return 0;
			}
		}
		return ferry_fail(FERRY_ERR_FORMAT,
		    "%s: \"%.40s\" is not one of error, warn, info, debug", key, value);
	}
	return ferry_fail(FERRY_ERR_INTERNAL, "%s: no parser", key);
}

int
settings_parse(const char *text, size_t len, const char *source_name,
    struct ferryd_settings *s)
{
	struct parse_state ps;

	settings_defaults(s);
	memset(&ps, 0, sizeof(ps));
	ps.s = s;
	return config_parse(text, len, source_name, set_key, &ps);
}

int
settings_load(const char *path, struct ferryd_settings *s)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	settings_defaults(s);
	if ((r = io_read_file(path, FERRY_MAX_CONFIG_FILE, &text, &len)) != 0)
		return r;
	r = settings_parse(text, len, path, s);
	OPENSSL_clear_free(text, len + 1);
	return r;
}

/* Append formatted text to the file being written. */
static int
put(struct atomic_file *af, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
put(struct atomic_file *af, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return ferry_fail(FERRY_ERR_INTERNAL, "config line too long");
	return io_write_full(af->fd, line, (size_t)n);
}

int
settings_write_default(const char *path, const char *org, bool force)
{
	struct atomic_file af;
	struct ferryd_settings d;
	const char *why;
	int r;

	memset(&af, 0, sizeof(af));
	af.fd = -1;
	if ((why = org_problem(org)) != NULL)
		return ferry_fail(FERRY_ERR_USAGE, "organisation name %s", why);
	settings_defaults(&d);
	if ((r = atomic_file_open(&af, path, 0600, !force)) != 0)
		return r;
	if ((r = put(&af, "# ferryd configuration. Lines are \"key = value\"; '#' starts a "
	    "comment line.\n# Every key is optional; a commented-out line shows the default.\n"
	    "# Unknown keys and out-of-range values are errors.\n")) != 0)
		goto out;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key_def *k = &keys[i];
		char dur[24];

		if ((r = put(&af, "\n# %s\n", k->help)) != 0)
			goto out;
		switch (k->kind) {
		case KIND_UINT:
			r = put(&af, "#%s = %u\n", k->name, *uint_field(&d, k));
			break;
		case KIND_LISTEN:
			r = put(&af, "#%s = %s\n", k->name, d.listen);
			break;
		case KIND_ORG:
			r = put(&af, "%s = %s\n", k->name, org);
			break;
		case KIND_LOG_LEVEL:
			r = put(&af, "#%s = %s\n", k->name, settings_log_level_name(d.log_level));
			break;
		case KIND_SIZE:
			r = put(&af, "#%s = %llu\n", k->name,
			    (unsigned long long)*size_field(&d, k));
			break;
		case KIND_DURATION:
			format_duration(*uint_field(&d, k), dur, sizeof(dur));
			r = put(&af, "#%s = %s\n", k->name, dur);
			break;
		}
		if (r != 0)
			goto out;
	}
	/* The commit names the path in its own errors. */
	r = atomic_file_commit(&af);
	goto done;
out:
	ferry_error_prefix(r, "%s", path);
done:
	atomic_file_abort(&af);
	return r;
}
