/*
 * The test helper library itself: the JSON reader accepts every vector file in the tree
 * (and their shapes are what the crypto tests expect), decodes escapes correctly, and
 * rejects malformed text. Also hex decoding and the temporary directory helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

static const char *wycheproof_files[] = {
	"wycheproof/aes_gcm_test.json",
	"wycheproof/ecdh_secp384r1_ecpoint_test.json",
	"wycheproof/ecdh_secp384r1_test.json",
	"wycheproof/hkdf_sha256_test.json",
	"wycheproof/hkdf_sha384_test.json",
	"wycheproof/rsa_oaep_2048_sha256_mgf1sha256_test.json",
	"wycheproof/rsa_oaep_3072_sha256_mgf1sha256_test.json",
	"wycheproof/x25519_test.json",
};

/* Every Wycheproof file: testGroups[].tests[] add up to numberOfTests, and every case
 * has an integer tcId and a result that is valid, invalid or acceptable. */
static void
test_wycheproof_files(void **state)
{
	(void)state;
	for (size_t f = 0; f < sizeof(wycheproof_files) / sizeof(wycheproof_files[0]); f++) {
		struct json *j = json_load_vector(wycheproof_files[f]);
		const struct json *groups = json_get(j, "testGroups");
		long long total = 0;

		assert_int_equal(json_kind(j), JSON_OBJECT);
		assert_int_equal(json_kind(groups), JSON_ARRAY);
		for (size_t g = 0; g < json_len(groups); g++) {
			const struct json *tests = json_get(json_at(groups, g), "tests");

			assert_int_equal(json_kind(tests), JSON_ARRAY);
			for (size_t t = 0; t < json_len(tests); t++) {
				const struct json *tc = json_at(tests, t);
				const char *result = json_get_str(tc, "result");

				assert_true(json_get_int(tc, "tcId") > 0);
				assert_true(strcmp(result, "valid") == 0 ||
				    strcmp(result, "invalid") == 0 ||
				    strcmp(result, "acceptable") == 0);
				assert_int_equal(json_kind(json_get(tc, "flags")), JSON_ARRAY);
			}
			total += (long long)json_len(tests);
		}
		if (total != json_get_int(j, "numberOfTests"))
			fail_msg("%s: %lld tests, numberOfTests says %lld", wycheproof_files[f],
			    total, json_get_int(j, "numberOfTests"));
		json_free(j);
	}
}

/* RFC 9180 vectors: an array of suites, each with hex fields and encryptions. */
static void
test_hpke_file(void **state)
{
	struct json *j = json_load_vector("hpke-rfc9180.json");
	uint8_t *b;
	size_t len;

	(void)state;
	assert_int_equal(json_kind(j), JSON_ARRAY);
	assert_true(json_len(j) > 0);
	for (size_t i = 0; i < json_len(j); i++) {
		const struct json *s = json_at(j, i);
		const struct json *enc = json_get(s, "encryptions");

		assert_true(json_get_int(s, "kem_id") > 0);
		b = json_get_hex(s, "pkRm", &len);
		assert_true(len > 0);
		free(b);
		assert_true(json_len(enc) > 0);
		for (size_t k = 0; k < json_len(enc); k++) {
			b = json_get_hex(json_at(enc, k), "ct", &len);
			assert_true(len >= 16);
			free(b);
		}
	}
	json_free(j);
}

static void
test_wycheproof_first_case(void **state)
{
	struct json *j = json_load_vector("wycheproof/aes_gcm_test.json");
	const struct json *g0 = json_at(json_get(j, "testGroups"), 0);
	const struct json *tc = json_at(json_get(g0, "tests"), 0);
	uint8_t *key;
	size_t len;

	(void)state;
	assert_string_equal(json_get_str(j, "algorithm"), "AES-GCM");
	assert_int_equal(json_get_int(tc, "tcId"), 1);
	key = json_get_hex(tc, "key", &len);
	assert_int_equal(len * 8, json_get_int(g0, "keySize"));
	free(key);
	json_free(j);
}

static void
test_parse_values(void **state)
{
	struct json *j;
	const struct json *v;

	(void)state;
	j = json_parse(" { \"a\" : [1, -2, 3.75, 1e3, -0, true, false, null, \"x\"],"
	    " \"b\": {}, \"c\": [], \"\": 7 } ");
	assert_non_null(j);
	assert_int_equal(json_kind(j), JSON_OBJECT);
	assert_int_equal(json_len(j), 4);
	v = json_get(j, "a");
	assert_int_equal(json_len(v), 9);
	assert_int_equal(json_int(json_at(v, 0)), 1);
	assert_int_equal(json_int(json_at(v, 1)), -2);
	assert_int_equal(json_kind(json_at(v, 2)), JSON_NUMBER);
	assert_int_equal(json_int(json_at(v, 2)), 3);
	assert_int_equal(json_int(json_at(v, 3)), 1000);
	assert_int_equal(json_int(json_at(v, 4)), 0);
	assert_true(json_bool(json_at(v, 5)));
	assert_false(json_bool(json_at(v, 6)));
	assert_int_equal(json_kind(json_at(v, 6)), JSON_BOOL);
	assert_int_equal(json_kind(json_at(v, 7)), JSON_NULL);
	assert_string_equal(json_str(json_at(v, 8)), "x");
	assert_null(json_at(v, 9));
	assert_int_equal(json_kind(json_get(j, "b")), JSON_OBJECT);
	assert_int_equal(json_len(json_get(j, "b")), 0);
	assert_int_equal(json_kind(json_get(j, "c")), JSON_ARRAY);
	assert_int_equal(json_int(json_get(j, "")), 7);
	assert_null(json_get(j, "missing"));
	assert_null(json_get(v, "a"));          /* not an object */
	assert_null(json_str(json_get(j, "a"))); /* not a string */
	assert_int_equal(json_int(json_at(j, 3)), 7);
	json_free(j);

	j = json_parse("[9223372036854775807, -9223372036854775808]");
	assert_non_null(j);
	assert_true(json_int(json_at(j, 0)) == 9223372036854775807LL);
	assert_true(json_int(json_at(j, 1)) == -9223372036854775807LL - 1);
	json_free(j);
}

static void
test_parse_escapes(void **state)
{
	struct json *j;

	(void)state;
	j = json_parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"");
	assert_non_null(j);
	assert_string_equal(json_str(j), "q\" b\\ s/ \b\f\n\r\t");
	json_free(j);

	/* One-, two- and three-byte UTF-8, and a surrogate pair to four bytes. */
	j = json_parse("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
	assert_non_null(j);
	assert_string_equal(json_str(j), "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_free(j);

	/* Raw UTF-8 passes through unchanged. */
	j = json_parse("\"\xc3\xa9\"");
	assert_non_null(j);
	assert_string_equal(json_str(j), "\xc3\xa9");
	json_free(j);
}

static void
test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"", " ", "{", "}", "[", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\" 1}",
		"{a:1}", "{\"a\":1,}", "[1 2]", "\"abc", "\"a\\\"", "\"\\x\"", "\"\\u12\"",
		"\"\\u12g4\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"",
		"\"tab\there\"", "01", "-", "+1", "1.", ".5", "1e", "1e+", "tru", "nul",
		"falsey", "[1] x", "{\"a\":1}}", "[\"a\":1]", "NaN", "Infinity",
		"\"a\\", "{\"a\"", "{\"a\":", "[1,",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct json *j = json_parse(bad[i]);

		if (j != NULL) {
			json_free(j);
			fail_msg("accepted malformed JSON: %s", bad[i]);
		}
	}
	assert_null(json_parse(NULL));
}

static void
test_parse_depth(void **state)
{
	char deep[2 * 1000 + 1];
	struct json *j;

	(void)state;
	/* Nesting is bounded rather than recursing without limit. */
	memset(deep, '[', 1000);
	memset(deep + 1000, ']', 1000);
	deep[2000] = '\0';
	assert_null(json_parse(deep));
	/* But ordinary depth is fine. */
	j = json_parse("[[[[[[[[[[{\"a\":[[[[1]]]]}]]]]]]]]]]");
	assert_non_null(j);
	json_free(j);
}

static void
test_hex(void **state)
{
	uint8_t *b;
	size_t len;

	(void)state;
	b = hex_decode("", &len);
	assert_non_null(b);
	assert_int_equal(len, 0);
	free(b);
	b = hex_decode("00ff7Fa0", &len);
	assert_int_equal(len, 4);
	assert_memory_equal(b, "\x00\xff\x7f\xa0", 4);
	free(b);
}

static void
test_tmpdir_and_rm_rf(void **state)
{
	char *dir = test_tmpdir(), *sub, *file, *link_path;
	struct stat st;
	FILE *f;

	(void)state;
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(asprintf(&sub, "%s/a", dir) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	assert_true(asprintf(&sub, "%s/a/b", dir) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_true(asprintf(&file, "%s/a/b/f", dir) > 0);
	assert_true(asprintf(&link_path, "%s/a/up", dir) > 0);
	assert_non_null(f = fopen(file, "w"));
	fputs("x\n", f);
	fclose(f);
	/* A link pointing out of the tree must be removed, not followed. */
	assert_int_equal(symlink("/", link_path), 0);
	rm_rf(dir);
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(stat("/", &st), 0);
	free(sub);
	free(file);
	free(link_path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wycheproof_files),
		cmocka_unit_test(test_hpke_file),
		cmocka_unit_test(test_wycheproof_first_case),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_escapes),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_tmpdir_and_rm_rf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
