/*
 * Test helpers: a strict JSON reader for the vector files, hex decoding, temporary
 * directories. The parser is recursive descent over a NUL-terminated text; it accepts
 * exactly RFC 8259 JSON (no comments, no trailing commas) and bounds nesting depth.
 */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/err.h"
#include "util/io.h"

#include <openssl/crypto.h>

/* Deeper than anything in tests/vectors; keeps the recursion bounded. */
#define JSON_MAX_DEPTH 64
/* The largest vector file is under 1 MiB. */
#define JSON_MAX_FILE  (16u * 1024u * 1024u)

struct json {
	enum json_kind kind;
	bool b;
	long long num;          /* integer value (truncated for non-integers) */
	char *str;              /* decoded string, NUL-terminated */
	size_t len;             /* elements of an array or members of an object */
	size_t cap;
	struct json *items;     /* values */
	char **keys;            /* object member names, parallel to items */
};

struct json_parser {
	const char *p;
	int depth;
};

static int parse_value(struct json_parser *ps, struct json *out);

static void
free_contents(struct json *j)
{
	free(j->str);
	for (size_t i = 0; i < j->len; i++) {
		free_contents(&j->items[i]);
		if (j->keys != NULL)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	memset(j, 0, sizeof(*j));
}

void
json_free(struct json *j)
{
	if (j == NULL)
		return;
	free_contents(j);
	free(j);
}

static void
skip_ws(struct json_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static int
hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u"; -1 if malformed. */
static long
parse_u4(const char *p)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int n = hex_nibble((unsigned char)p[i]);

		if (n < 0)
			return -1;
		v = (v << 4) | n;
	}
	return v;
}

static size_t
put_utf8(char *dst, unsigned long cp)
{
	if (cp < 0x80) {
		dst[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		dst[0] = (char)(0xc0 | (cp >> 6));
		dst[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		dst[0] = (char)(0xe0 | (cp >> 12));
		dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		dst[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | (cp >> 18));
	dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	dst[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Parse a string starting at the opening quote into a new NUL-terminated buffer.
 * The decoded form is never longer than the escaped one, so one allocation suffices.
 */
static int
parse_string(struct json_parser *ps, char **out)
{
	const char *p = ps->p + 1, *end;
	char *s = NULL, *d;
	long cp, lo;

	*out = NULL;
	/* Find the closing quote first to size the buffer. */
	for (end = p; *end != '"'; end++) {
		if (*end == '\0')
			return -1;
		if (*end == '\\' && *++end == '\0')
			return -1;
	}
	if ((s = malloc((size_t)(end - p) + 1)) == NULL)
		return -1;
	d = s;
	while (p < end) {
		unsigned char c = (unsigned char)*p++;

		if (c < 0x20)
			goto fail;
		if (c != '\\') {
			*d++ = (char)c;
			continue;
		}
		switch (*p++) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '/': *d++ = '/'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'u':
			if (end - p < 4 || (cp = parse_u4(p)) < 0)
				goto fail;
			p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto fail; /* a low surrogate on its own */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				/* A high surrogate must be followed by an escaped low one. */
				if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				    (lo = parse_u4(p + 2)) < 0xdc00 || lo > 0xdfff)
					goto fail;
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			/* Up to 4 output bytes for 6 or 12 input bytes. */
			d += put_utf8(d, (unsigned long)cp);
			break;
		default:
			goto fail;
		}
	}
	*d = '\0';
	ps->p = end + 1;
	*out = s;
	return 0;
fail:
	free(s);
	return -1;
}

static int
parse_number(struct json_parser *ps, struct json *out)
{
	const char *p = ps->p, *start = ps->p;
	bool integral = true;
	char *endp;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return -1;
	if (*p == '.') {
		integral = false;
		if (!(*++p >= '0' && *p <= '9'))
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		integral = false;
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	out->kind = JSON_NUMBER;
	if (integral) {
		/* Out of range values clamp (ERANGE); none of the vector files has one. */
		out->num = strtoll(start, &endp, 10);
		if (endp != p)
			return -1;
	} else {
		double v = strtod(start, &endp);

		if (endp != p)
			return -1;
		out->num = v >= (double)LLONG_MAX ? LLONG_MAX :
		    v <= (double)LLONG_MIN ? LLONG_MIN : (long long)v;
	}
	ps->p = p;
	return 0;
}

static int
parse_literal(struct json_parser *ps, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(ps->p, word, n) != 0)
		return -1;
	ps->p += n;
	return 0;
}

/* Append a zeroed slot to a container, returning it (NULL on allocation failure). */
static struct json *
add_item(struct json *c, bool with_key)
{
	if (c->len == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct json *items;
		char **keys;

		if ((items = realloc(c->items, cap * sizeof(*items))) == NULL)
			return NULL;
		c->items = items;
		if (with_key) {
			if ((keys = realloc(c->keys, cap * sizeof(*keys))) == NULL)
				return NULL;
			c->keys = keys;
		}
		c->cap = cap;
	}
	memset(&c->items[c->len], 0, sizeof(c->items[0]));
	if (with_key)
		c->keys[c->len] = NULL;
	return &c->items[c->len++];
}

static int
parse_container(struct json_parser *ps, struct json *out, bool object)
{
	const char close = object ? '}' : ']';
	struct json *v;
	char *key;

	out->kind = object ? JSON_OBJECT : JSON_ARRAY;
	if (++ps->depth > JSON_MAX_DEPTH)
		return -1;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if ((v = add_item(out, object)) == NULL)
			return -1;
		if (object) {
			if (*ps->p != '"' || parse_string(ps, &key) != 0)
				return -1;
			out->keys[out->len - 1] = key;
			skip_ws(ps);
			if (*ps->p != ':')
				return -1;
			ps->p++;
			skip_ws(ps);
		}
		if (parse_value(ps, v) != 0)
			return -1;
		skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p != close)
			return -1;
		ps->p++;
		ps->depth--;
		return 0;
	}
}

/* On failure *out may hold partial contents; the caller frees the whole tree. */
static int
parse_value(struct json_parser *ps, struct json *out)
{
	skip_ws(ps);
	switch (*ps->p) {
	case '{':
		return parse_container(ps, out, true);
	case '[':
		return parse_container(ps, out, false);
	case '"':
		out->kind = JSON_STRING;
		return parse_string(ps, &out->str);
	case 't':
		out->kind = JSON_BOOL;
		out->b = true;
		return parse_literal(ps, "true");
	case 'f':
		out->kind = JSON_BOOL;
		return parse_literal(ps, "false");
	case 'n':
		out->kind = JSON_NULL;
		return parse_literal(ps, "null");
	default:
		return parse_number(ps, out);
	}
}

struct json *
json_parse(const char *text)
{
	struct json_parser ps = { text, 0 };
	struct json *j;

	if (text == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	if (parse_value(&ps, j) != 0)
		goto fail;
	skip_ws(&ps);
	if (*ps.p != '\0')
		goto fail;
	return j;
fail:
	json_free(j);
	return NULL;
}

struct json *
json_load_vector(const char *name)
{
	const char *dir = getenv("FERRY_VECTORS");
	char path[PATH_MAX];
	struct json *j;
	size_t len;
	char *text;
	int r;

	if (dir == NULL || *dir == '\0')
		fail_msg("FERRY_VECTORS is not set (run the tests through ctest)");
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		fail_msg("vector path too long: %s/%s", dir, name);
	if ((r = io_read_file(path, JSON_MAX_FILE, &text, &len)) != 0)
		fail_msg("%s", ferry_error_detail(r));
	if (strlen(text) != len) {
		OPENSSL_clear_free(text, len + 1);
		fail_msg("%s: contains a NUL byte", path);
	}
	j = json_parse(text);
	OPENSSL_clear_free(text, len + 1);
	if (j == NULL)
		fail_msg("%s: malformed JSON", path);
	return j;
}

enum json_kind
json_kind(const struct json *j)
{
	return j != NULL ? j->kind : JSON_NULL;
}

const struct json *
json_get(const struct json *j, const char *key)
{
	if (j == NULL || j->kind != JSON_OBJECT)
		return NULL;
	for (size_t i = 0; i < j->len; i++)
		if (strcmp(j->keys[i], key) == 0)
			return &j->items[i];
	return NULL;
}

size_t
json_len(const struct json *j)
{
	if (j == NULL || (j->kind != JSON_ARRAY && j->kind != JSON_OBJECT))
		return 0;
	return j->len;
}

const struct json *
json_at(const struct json *j, size_t i)
{
	if (i >= json_len(j))
		return NULL;
	return &j->items[i];
}

const char *
json_str(const struct json *j)
{
	return j != NULL && j->kind == JSON_STRING ? j->str : NULL;
}

long long
json_int(const struct json *j)
{
	return j != NULL && j->kind == JSON_NUMBER ? j->num : 0;
}

bool
json_bool(const struct json *j)
{
	return j != NULL && j->kind == JSON_BOOL && j->b;
}

const char *
json_get_str(const struct json *j, const char *key)
{
	const char *s = json_str(json_get(j, key));

	if (s == NULL)
		fail_msg("vector: member \"%s\" missing or not a string", key);
	return s;
}

long long
json_get_int(const struct json *j, const char *key)
{
	const struct json *v = json_get(j, key);

	if (v == NULL || v->kind != JSON_NUMBER)
		fail_msg("vector: member \"%s\" missing or not a number", key);
	return v->num;
}

bool
json_has_flag(const struct json *j, const char *flag)
{
	const struct json *flags = json_get(j, "flags");

	for (size_t i = 0; i < json_len(flags); i++) {
		const char *s = json_str(json_at(flags, i));

		if (s != NULL && strcmp(s, flag) == 0)
			return true;
	}
	return false;
}

uint8_t *
hex_decode(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	uint8_t *out;

	if (n % 2 != 0)
		fail_msg("hex: odd length %zu", n);
	/* One spare byte so that "" still yields a non-NULL pointer. */
	if ((out = malloc(n / 2 + 1)) == NULL)
		fail_msg("hex: out of memory");
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_nibble((unsigned char)hex[2 * i]);
		int lo = hex_nibble((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			fail_msg("hex: bad digit at offset %zu", 2 * i);
		}
		out[i] = (uint8_t)((hi << 4) | lo);
	}
	*len = n / 2;
	return out;
}

uint8_t *
json_get_hex(const struct json *j, const char *key, size_t *len)
{
	return hex_decode(json_get_str(j, key), len);
}

char *
test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (asprintf(&path, "%s/ferry-test-XXXXXX", base) < 0)
		fail_msg("tmpdir: out of memory");
	if (mkdtemp(path) == NULL) {
		int e = errno;

		free(path);
		fail_msg("mkdtemp under %s: %s", base, strerror(e));
	}
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	/* Best effort: keep going so as much as possible is removed. */
	remove(path);
	return 0;
}

void
rm_rf(const char *path)
{
	if (path == NULL || *path == '\0')
		return;
	/* Depth first, and never follow symbolic links out of the tree. */
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
