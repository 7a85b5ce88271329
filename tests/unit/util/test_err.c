/*
 * util/err: the message table, recorded details, prefixes and truncation.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/err.h"

#define LONG_LEN 4000

static void
test_strerror_table(void **state)
{
	(void)state;
	/* Every code has its own text; none is the fallback. */
	for (int a = FERRY_ERR_WRITE; a <= FERRY_OK; a++) {
		const char *sa = ferry_strerror(a);

		assert_non_null(sa);
		assert_true(strlen(sa) > 0);
		assert_string_not_equal(sa, "unknown error");
		for (int b = a + 1; b <= FERRY_OK; b++)
			assert_string_not_equal(sa, ferry_strerror(b));
	}
	assert_string_equal(ferry_strerror(FERRY_OK), "success");
	assert_string_equal(ferry_strerror(FERRY_ERR_TRUNCATED), "input truncated");
	assert_string_equal(ferry_strerror(FERRY_ERR_EXISTS), "file exists");
	/* Codes are never renumbered: spot-check the contract. */
	assert_int_equal(FERRY_ERR_IO, -3);
	assert_int_equal(FERRY_ERR_AUTH, -6);
	assert_int_equal(FERRY_ERR_NEED_PASSPHRASE, -15);
	/* Unknown codes get a fallback, never NULL. */
	assert_string_equal(ferry_strerror(1), "unknown error");
	assert_string_equal(ferry_strerror(-1000), "unknown error");
	assert_string_equal(ferry_strerror(FERRY_ERR_WRITE - 1), "unknown error");
}

static void
test_fail_and_detail(void **state)
{
	(void)state;
	ferry_error_clear();
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT), "malformed input");
	assert_int_equal(ferry_fail(FERRY_ERR_FORMAT, "header: stanza %u: length %u", 3u, 9000u),
	    FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT), "header: stanza 3: length 9000");
	/* The detail does not depend on the code asked with. */
	assert_string_equal(ferry_error_detail(FERRY_ERR_IO), "header: stanza 3: length 9000");
	/* A later failure replaces the earlier detail. */
	assert_int_equal(ferry_fail(FERRY_ERR_IO, "%s: %s", "f.txt", "gone"), FERRY_ERR_IO);
	assert_string_equal(ferry_error_detail(FERRY_ERR_IO), "f.txt: gone");
	ferry_error_clear();
	assert_string_equal(ferry_error_detail(FERRY_ERR_IO), "input/output error");
}

static void
test_prefix(void **state)
{
	(void)state;
	ferry_error_clear();
	assert_int_equal(ferry_error_prefix(FERRY_ERR_AUTH, "%s", "a.sealed"), FERRY_ERR_AUTH);
	assert_string_equal(ferry_error_detail(FERRY_ERR_AUTH), "a.sealed: authentication failed");

	ferry_fail(FERRY_ERR_FORMAT, "chunk %d: bad tag", 7);
	assert_int_equal(ferry_error_prefix(FERRY_ERR_FORMAT, "decrypt %s", "b.sealed"),
	    FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "decrypt b.sealed: chunk 7: bad tag");
	/* Prefixes stack outermost first. */
	ferry_error_prefix(FERRY_ERR_FORMAT, "get");
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "get: decrypt b.sealed: chunk 7: bad tag");
	ferry_error_clear();
}

static void
test_truncation(void **state)
{
	static char longmsg[LONG_LEN + 1];
	const char *d;
	size_t n;

	(void)state;
	memset(longmsg, 'a', LONG_LEN);
	longmsg[LONG_LEN] = '\0';
	for (size_t i = 0; i < LONG_LEN; i += 100)
		longmsg[i] = (char)('0' + (i / 100) % 10);

	/* A long detail is cut, NUL-terminated, and is a prefix of what was asked. */
	assert_int_equal(ferry_fail(FERRY_ERR_LIMIT, "%s", longmsg), FERRY_ERR_LIMIT);
	d = ferry_error_detail(FERRY_ERR_LIMIT);
	n = strlen(d);
	assert_true(n >= 200 && n < LONG_LEN);
	assert_memory_equal(d, longmsg, n);

	/* A long prefix on top of it, and a short prefix on a full detail. */
	ferry_error_prefix(FERRY_ERR_LIMIT, "ctx");
	d = ferry_error_detail(FERRY_ERR_LIMIT);
	assert_true(strlen(d) <= n);
	assert_memory_equal(d, "ctx: ", 5);
	assert_memory_equal(d + 5, longmsg, strlen(d) - 5);

	ferry_error_clear();
	ferry_error_prefix(FERRY_ERR_LIMIT, "%s", longmsg);
	d = ferry_error_detail(FERRY_ERR_LIMIT);
	assert_true(strlen(d) <= n);
	assert_memory_equal(d, longmsg, strlen(d));

	/* And crypto details, whose OpenSSL reason is appended. */
	ERR_clear_error();
	assert_int_equal(ferry_fail_crypto("%s", longmsg), FERRY_ERR_CRYPTO);
	d = ferry_error_detail(FERRY_ERR_CRYPTO);
	assert_true(strlen(d) <= n);
	assert_memory_equal(d, longmsg, strlen(d));
	ferry_error_clear();
}

static void
test_fail_crypto(void **state)
{
	EVP_CIPHER_CTX *ctx;
	const char *d;

	(void)state;
	/* With an empty queue the reason says so. */
	ERR_clear_error();
	assert_int_equal(ferry_fail_crypto("aead: %s", "init"), FERRY_ERR_CRYPTO);
	assert_string_equal(ferry_error_detail(FERRY_ERR_CRYPTO), "aead: init: unknown reason");

	/* Provoke a real OpenSSL error: a cipher operation without a cipher. */
	assert_non_null(ctx = EVP_CIPHER_CTX_new());
	assert_int_equal(EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, NULL), 0);
	EVP_CIPHER_CTX_free(ctx);
	assert_true(ERR_peek_error() != 0);
	assert_int_equal(ferry_fail_crypto("aead"), FERRY_ERR_CRYPTO);
	d = ferry_error_detail(FERRY_ERR_CRYPTO);
	assert_memory_equal(d, "aead: ", 6);
	assert_string_not_equal(d + 6, "unknown reason");
	assert_non_null(strstr(d, "error:"));
	/* The queue is consumed so a later failure does not report a stale reason. */
	assert_true(ERR_peek_error() == 0);
	ferry_error_clear();
}

static void *
thread_fail(void *arg)
{
	(void)arg;
	ferry_fail(FERRY_ERR_IO, "other thread");
	return (void *)(uintptr_t)(strcmp(ferry_error_detail(FERRY_ERR_IO), "other thread") == 0);
}

static void
test_thread_local(void **state)
{
	pthread_t t;
	void *ok;

	(void)state;
	ferry_fail(FERRY_ERR_AUTH, "this thread");
	assert_int_equal(pthread_create(&t, NULL, thread_fail, NULL), 0);
	assert_int_equal(pthread_join(t, &ok), 0);
	assert_true(ok != NULL);
	/* Each thread has its own detail. */
	assert_string_equal(ferry_error_detail(FERRY_ERR_AUTH), "this thread");
	ferry_error_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_table),
		cmocka_unit_test(test_fail_and_detail),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_fail_crypto),
		cmocka_unit_test(test_thread_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
