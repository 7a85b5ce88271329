/*
 * util/io: whole reads and writes, and io_read_file's size limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/crypto.h>

#include "testutil.h"
#include "util/err.h"
#include "util/io.h"

static char *tmpdir;

static int
setup(void **state)
{
	(void)state;
	tmpdir = test_tmpdir();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_rf(tmpdir);
	free(tmpdir);
	return 0;
}

/* A file of n bytes with a known pattern; returns its path (caller frees). */
static char *
make_file(const char *name, size_t n)
{
	char *path;
	FILE *fp;

	assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
	assert_non_null(fp = fopen(path, "w"));
	for (size_t i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), fp);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static void
test_read_file_limit(void **state)
{
	char *path, *out;
	size_t len;

	(void)state;
	path = make_file("ten", 10);
	/* Exactly the limit is fine, and the result is NUL-terminated. */
	assert_int_equal(io_read_file(path, 10, &out, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(out, "abcdefghij");
	OPENSSL_clear_free(out, len + 1);
	assert_int_equal(io_read_file(path, 4096, &out, &len), 0);
	assert_int_equal(len, 10);
	OPENSSL_clear_free(out, len + 1);
	/* One byte over is refused, naming the file, and nothing is returned. */
	out = (char *)1;
	assert_int_equal(io_read_file(path, 9, &out, &len), FERRY_ERR_LIMIT);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_LIMIT), path));
	assert_int_equal(io_read_file(path, 1, &out, &len), FERRY_ERR_LIMIT);
	free(path);
}

static void
test_read_file_large(void **state)
{
	char *path, *out;
	size_t len;

	(void)state;
	/* Larger than any single read() might return at once. */
	path = make_file("big", 300000);
	assert_int_equal(io_read_file(path, 300000, &out, &len), 0);
	assert_int_equal(len, 300000);
	assert_int_equal(out[299999], 'a' + 299999 % 26);
	assert_int_equal(out[300000], '\0');
	OPENSSL_clear_free(out, len + 1);
	assert_int_equal(io_read_file(path, 299999, &out, &len), FERRY_ERR_LIMIT);
	free(path);
}

static void
test_read_file_empty(void **state)
{
	char *path, *out;
	size_t len;

	(void)state;
	path = make_file("empty", 0);
	assert_int_equal(io_read_file(path, 100, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	OPENSSL_clear_free(out, len + 1);
	free(path);
}

static void
test_read_file_errors(void **state)
{
	char *path, *out;
	size_t len;

	(void)state;
	assert_true(asprintf(&path, "%s/does-not-exist", tmpdir) > 0);
	assert_int_equal(io_read_file(path, 100, &out, &len), FERRY_ERR_IO);
	assert_null(out);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_IO), path));
	free(path);
	/* A directory opens but cannot be read. */
	assert_int_equal(io_read_file(tmpdir, 100, &out, &len), FERRY_ERR_IO);
	assert_null(out);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_IO), tmpdir));
}

static void *
slow_writer(void *arg)
{
	int fd = *(int *)arg;

	/* Dribble the bytes so the reader sees short reads. */
	for (int i = 0; i < 10; i++) {
		if (write(fd, "0123456789", 10) != 10)
			break;
		usleep(1000);
	}
	close(fd);
	return NULL;
}

static void
test_read_full_short_reads(void **state)
{
	char buf[200];
	pthread_t t;
	size_t got;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pthread_create(&t, NULL, slow_writer, &p[1]), 0);
	/* 50 bytes arrive in pieces but come back whole. */
	assert_int_equal(io_read_full(p[0], buf, 50, &got), 0);
	assert_int_equal(got, 50);
	/* Then end of input stops the read early with the count. */
	assert_int_equal(io_read_full(p[0], buf, sizeof(buf), &got), 0);
	assert_int_equal(got, 50);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(io_read_full(p[0], buf, sizeof(buf), &got), 0);
	assert_int_equal(got, 0);
	pthread_join(t, NULL);
	close(p[0]);

	assert_int_equal(io_read_full(-1, buf, 1, &got), FERRY_ERR_IO);
	assert_int_equal(got, 0);
}

static void *
drain(void *arg)
{
	int fd = *(int *)arg;
	size_t *total = malloc(sizeof(*total));
	char buf[4096];
	ssize_t n;

	*total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*total += (size_t)n;
	return total;
}

static void
test_write_full(void **state)
{
	size_t n = 1u << 20, *total;
	uint8_t *big;
	pthread_t t;
	int p[2];

	(void)state;
	/* More than a pipe holds, so write() returns short counts. */
	assert_non_null(big = calloc(1, n));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pthread_create(&t, NULL, drain, &p[0]), 0);
	assert_int_equal(io_write_full(p[1], big, n), 0);
	close(p[1]);
	assert_int_equal(pthread_join(t, (void **)&total), 0);
	assert_int_equal(*total, n);
	free(total);
	close(p[0]);

	/* A reader that went away is an I/O error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(io_write_full(p[1], big, 10), FERRY_ERR_WRITE);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_IO), strerror(EPIPE)));
	close(p[1]);
	assert_int_equal(io_write_full(-1, big, 10), FERRY_ERR_WRITE);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_file_limit),
		cmocka_unit_test(test_read_file_large),
		cmocka_unit_test(test_read_file_empty),
		cmocka_unit_test(test_read_file_errors),
		cmocka_unit_test(test_read_full_short_reads),
		cmocka_unit_test(test_write_full),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
