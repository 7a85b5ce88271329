/*
 * store/account: user-name rules and scrypt password records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/pwhash.h"
#include "store/account.h"
#include "testutil.h"
#include "util/err.h"

#define PW ((const uint8_t *)"correct horse battery staple")
#define PW_LEN (sizeof("correct horse battery staple") - 1)

static void
test_name_rules(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{ "alice", true },
		{ "a", true },
		{ "0", true },
		{ "bob.smith", true },
		{ "bob_smith-2", true },
		{ "9lives", true },
		{ "a..b", true },
		{ "abcdefghijklmnopqrstuvwxyz012345", true },   /* 32 */
		{ "abcdefghijklmnopqrstuvwxyz0123456", false }, /* 33 */
		{ "", false },
		{ ".", false },
		{ "..", false },
		{ ".hidden", false },
		{ "-rf", false },
		{ "_x", false },
		{ "a/b", false },
		{ "/", false },
		{ "../etc", false },
		{ "Alice", false },
		{ "aLice", false },
		{ "al ice", false },
		{ "alice\n", false },
		{ "al\tice", false },
		{ "al\x01ice", false },
		{ "al\x7fice", false },
		{ "al:ice", false },
		{ "al@ice", false },
		{ "caf\xc3\xa9", false },
		{ "al%sice", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = account_name_valid(cases[i].name);
		const char *why = account_name_reason(cases[i].name);

		if (got != cases[i].ok)
			fail_msg("case %zu (\"%s\"): got %d", i, cases[i].name, got);
		if (cases[i].ok)
			assert_null(why);
		else
			assert_non_null(why);
	}
	assert_false(account_name_valid(NULL));
	assert_string_equal(account_name_reason(""), "empty");
	assert_string_equal(account_name_reason("abcdefghijklmnopqrstuvwxyz0123456"),
	    "longer than 32 characters");
	assert_string_equal(account_name_reason(".x"),
	    "must start with a lower-case letter or digit");
	assert_string_equal(account_name_reason("a/b"),
	    "may contain only a-z, 0-9, '.', '_' and '-'");
}

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

static void
test_record_format(void **state)
{
	char rec[ACCOUNT_RECORD_SIZE];

	(void)state;
	assert_int_equal(account_password_hash(PW, PW_LEN, rec, sizeof(rec)), 0);
	/* scrypt$15$8$1$<32 hex>$<64 hex> */
	assert_int_equal(strlen(rec), 111);
	assert_memory_equal(rec, "scrypt$15$8$1$", 14);
	assert_true(all_hex(rec + 14, 32));
	assert_int_equal(rec[46], '$');
	assert_true(all_hex(rec + 47, 64));
}

static void
test_round_trip(void **state)
{
	char rec[ACCOUNT_RECORD_SIZE], rec2[ACCOUNT_RECORD_SIZE];
	static const uint8_t one[1] = { 'x' };

	(void)state;
	assert_int_equal(account_password_hash(PW, PW_LEN, rec, sizeof(rec)), 0);
	assert_int_equal(account_password_verify(PW, PW_LEN, rec), 0);
	/* Wrong passwords: different, a prefix, one byte longer, empty. */
	assert_int_equal(account_password_verify((const uint8_t *)"wrong", 5, rec),
	    FERRY_ERR_AUTH);
	assert_int_equal(account_password_verify(PW, PW_LEN - 1, rec), FERRY_ERR_AUTH);
	assert_int_equal(account_password_verify((const uint8_t *)
	    "correct horse battery staple!", PW_LEN + 1, rec), FERRY_ERR_AUTH);
	assert_int_equal(account_password_verify(PW, 0, rec), FERRY_ERR_AUTH);
	/* Salted: the same password hashes differently each time, and both verify. */
	assert_int_equal(account_password_hash(PW, PW_LEN, rec2, sizeof(rec2)), 0);
	assert_string_not_equal(rec, rec2);
	assert_memory_not_equal(rec + 14, rec2 + 14, 32);
	assert_int_equal(account_password_verify(PW, PW_LEN, rec2), 0);
	/* A one-byte password works; bounds are enforced. */
	assert_int_equal(account_password_hash(one, 1, rec, sizeof(rec)), 0);
	assert_int_equal(account_password_verify(one, 1, rec), 0);
	assert_int_equal(account_password_hash(PW, 0, rec, sizeof(rec)), FERRY_ERR_LIMIT);
	assert_int_equal(account_password_hash(PW, FERRY_MAX_PASSWORD + 1, rec, sizeof(rec)),
	    FERRY_ERR_LIMIT);
	assert_int_equal(account_password_hash(PW, PW_LEN, rec, ACCOUNT_RECORD_SIZE - 1),
	    FERRY_ERR_LIMIT);
}

/* A record made by hand with the crypto layer matches what verify expects. */
static void
test_known_record(void **state)
{
	static const uint8_t salt[17] = "0123456789abcdef";
	uint8_t hash[32];
	char rec[ACCOUNT_RECORD_SIZE];
	int n;

	(void)state;
	assert_int_equal(crypto_scrypt(PW, PW_LEN, salt, 16, 10, 8, 1, hash,
	    sizeof(hash)), 0);
	n = snprintf(rec, sizeof(rec), "scrypt$10$8$1$");
	for (size_t i = 0; i < 16; i++)
		n += snprintf(rec + n, sizeof(rec) - (size_t)n, "%02x", salt[i]);
	n += snprintf(rec + n, sizeof(rec) - (size_t)n, "$");
	for (size_t i = 0; i < 32; i++)
		n += snprintf(rec + n, sizeof(rec) - (size_t)n, "%02x", hash[i]);
	assert_int_equal(account_password_verify(PW, PW_LEN, rec), 0);
	assert_int_equal(account_password_verify((const uint8_t *)"nope", 4, rec),
	    FERRY_ERR_AUTH);
}

static void
test_tampered(void **state)
{
	char rec[ACCOUNT_RECORD_SIZE], bad[ACCOUNT_RECORD_SIZE + 8];
	/* Positions inside the salt and the hash. */
	static const size_t flip[] = { 14, 30, 45, 47, 80, 110 };

	(void)state;
	assert_int_equal(account_password_hash(PW, PW_LEN, rec, sizeof(rec)), 0);
	for (size_t i = 0; i < sizeof(flip) / sizeof(flip[0]); i++) {
		memcpy(bad, rec, sizeof(rec));
		bad[flip[i]] = bad[flip[i]] == '0' ? '1' : '0';
		assert_int_equal(account_password_verify(PW, PW_LEN, bad), FERRY_ERR_AUTH);
	}
	/* A different (valid) cost changes the hash. */
	memcpy(bad, rec, sizeof(rec));
	bad[8] = '4';
	assert_int_equal(account_password_verify(PW, PW_LEN, bad), FERRY_ERR_AUTH);
}

static void
test_malformed(void **state)
{
	char rec[ACCOUNT_RECORD_SIZE], bad[256];
	const char *tail;
	struct {
		const char *fmt;
	} cases[] = {
		{ "" },
		{ "scrypt" },
		{ "bcrypt$15$8$1$%s" },
		{ "SCRYPT$15$8$1$%s" },
		{ "scrypt$015$8$1$%s" },       /* leading zero */
		{ "scrypt$15$08$1$%s" },
		{ "scrypt$15$8$01$%s" },
		{ "scrypt$9$8$1$%s" },         /* below the minimum cost */
		{ "scrypt$21$8$1$%s" },        /* above the maximum cost */
		{ "scrypt$150$8$1$%s" },
		{ "scrypt$$8$1$%s" },
		{ "scrypt$15$0$1$%s" },
		{ "scrypt$15$33$1$%s" },
		{ "scrypt$15$8$0$%s" },
		{ "scrypt$15$8$17$%s" },
		{ "scrypt$15$8$-1$%s" },
		{ "scrypt$15$8$1$%s$" },        /* trailing byte */
		{ "scrypt$15$8$1$%s0" },
		{ "scrypt$15$8$1$0%s" },        /* salt one digit longer */
		{ "scrypt$15$8$1$%s " },
		{ "scrypt$15$8$1$ %s" },
		{ "scrypt$15 $8$1$%s" },
	};

	(void)state;
	assert_int_equal(account_password_hash(PW, PW_LEN, rec, sizeof(rec)), 0);
	tail = rec + 14;	/* "<salt>$<hash>" */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		if (strstr(cases[i].fmt, "%s") != NULL) {
			const char *pct = strstr(cases[i].fmt, "%s");

			snprintf(bad, sizeof(bad), "%.*s%s%s", (int)(pct - cases[i].fmt), cases[i].fmt,
			    tail, pct + 2);
		} else {
			snprintf(bad, sizeof(bad), "%s", cases[i].fmt);
		}
		r = account_password_verify(PW, PW_LEN, bad);
		if (r != FERRY_ERR_FORMAT)
			fail_msg("case %zu (\"%s\"): got %d", i, bad, r);
	}
	/* Short salt or hash, upper-case hex, missing separator. */
	memcpy(bad, rec, sizeof(rec));
	bad[14] = 'A';
	assert_int_equal(account_password_verify(PW, PW_LEN, bad), FERRY_ERR_FORMAT);
	memcpy(bad, rec, sizeof(rec));
	bad[46] = 'a';
	assert_int_equal(account_password_verify(PW, PW_LEN, bad), FERRY_ERR_FORMAT);
	memcpy(bad, rec, sizeof(rec));
	bad[110] = '\0';
	assert_int_equal(account_password_verify(PW, PW_LEN, bad), FERRY_ERR_FORMAT);
	memcpy(bad, rec, sizeof(rec));
	bad[100] = 'g';
	assert_int_equal(account_password_verify(PW, PW_LEN, bad), FERRY_ERR_FORMAT);
	assert_int_equal(account_password_verify(PW, PW_LEN, NULL), FERRY_ERR_FORMAT);
	/* Longer than the record bound. */
	memset(bad, 'a', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	assert_int_equal(account_password_verify(PW, PW_LEN, bad), FERRY_ERR_FORMAT);
}

static void
test_dummy(void **state)
{
	(void)state;
	/* It must not crash on any input; its work is discarded. */
	account_password_verify_dummy(PW, PW_LEN);
	account_password_verify_dummy(NULL, 0);
	account_password_verify_dummy(PW, FERRY_MAX_PASSWORD + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_record_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_known_record),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_dummy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
