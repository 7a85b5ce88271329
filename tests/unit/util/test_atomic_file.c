/*
 * util/atomic_file: the destination appears only on commit, with the mode asked for, and
 * nothing is left behind on abort or failure.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "util/atomic_file.h"
#include "util/err.h"

struct fixture {
	char *dir;
	char *dest;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->dir = test_tmpdir();
	if (asprintf(&f->dest, "%s/out.bin", f->dir) < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->dir);
	free(f->dir);
	free(f->dest);
	free(f);
	return 0;
}

/* Number of entries in dir other than . and .., and whether any is a temporary. */
static size_t
count_entries(const char *dir, bool *has_tmp)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	*has_tmp = false;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strstr(e->d_name, ".ferry-tmp-") != NULL)
			*has_tmp = true;
		n++;
	}
	closedir(d);
	return n;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
assert_file_is(const char *path, const char *text)
{
	char buf[256];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

/* Plain checks (no cmocka), so they can run in a child process too. */
static bool
open_refused(const char *path)
{
	struct atomic_file af;

	if (atomic_file_open(&af, path, 0600, false) != FERRY_ERR_IO) {
		atomic_file_abort(&af);
		return false;
	}
	return strstr(ferry_error_detail(FERRY_ERR_IO), path) != NULL &&
	    atomic_file_pending() == NULL;
}

static void
test_commit(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af;
	struct stat st;
	bool tmp;
	mode_t old;

	/* fchmod after open: the mode is exact even under a restrictive umask. */
	old = umask(077);
	assert_int_equal(atomic_file_open(&af, f->dest, 0644, false), 0);
	umask(old);
	assert_true(af.fd >= 0);
	assert_non_null(af.tmp_path);
	assert_string_equal(atomic_file_pending(), af.tmp_path);
	/* Until commit the destination does not exist; the temporary sits beside it. */
	assert_int_equal(access(f->dest, F_OK), -1);
	assert_int_equal(count_entries(f->dir, &tmp), 1);
	assert_true(tmp);
	assert_int_equal(write(af.fd, "payload", 7), 7);

	assert_int_equal(atomic_file_commit(&af), 0);
	assert_null(atomic_file_pending());
	assert_null(af.tmp_path);
	assert_file_is(f->dest, "payload");
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(count_entries(f->dir, &tmp), 1);
	assert_false(tmp);
	/* Abort after commit is harmless and keeps the file. */
	atomic_file_abort(&af);
	assert_file_is(f->dest, "payload");
}

static void
test_commit_mode_0600(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af;
	struct stat st;

	assert_int_equal(atomic_file_open(&af, f->dest, 0600, true), 0);
	assert_int_equal(write(af.fd, "k", 1), 1);
	assert_int_equal(atomic_file_commit(&af), 0);
	assert_int_equal(stat(f->dest, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_file_is(f->dest, "k");
}

static void
test_commit_replaces(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af;
	bool tmp;

	write_file(f->dest, "old");
	assert_int_equal(atomic_file_open(&af, f->dest, 0600, false), 0);
	/* The old contents stay visible until the commit. */
	assert_file_is(f->dest, "old");
	assert_int_equal(write(af.fd, "new", 3), 3);
	assert_int_equal(atomic_file_commit(&af), 0);
	assert_file_is(f->dest, "new");
	assert_int_equal(count_entries(f->dir, &tmp), 1);
	assert_false(tmp);
}

static void
test_abort(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af, zero;
	bool tmp;

	assert_int_equal(atomic_file_open(&af, f->dest, 0600, false), 0);
	assert_int_equal(write(af.fd, "partial", 7), 7);
	atomic_file_abort(&af);
	assert_null(atomic_file_pending());
	assert_int_equal(af.fd, -1);
	assert_int_equal(count_entries(f->dir, &tmp), 0);
	/* Twice, and on a zeroed struct, is safe. */
	atomic_file_abort(&af);
	memset(&zero, 0, sizeof(zero));
	zero.fd = -1;
	atomic_file_abort(&zero);

	/* Abort keeps an existing destination as it was. */
	write_file(f->dest, "keep");
	assert_int_equal(atomic_file_open(&af, f->dest, 0600, false), 0);
	assert_int_equal(write(af.fd, "xx", 2), 2);
	atomic_file_abort(&af);
	assert_file_is(f->dest, "keep");
	assert_int_equal(count_entries(f->dir, &tmp), 1);
	assert_false(tmp);
}

static void
test_no_clobber_at_open(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af;
	bool tmp;

	write_file(f->dest, "existing");
	assert_int_equal(atomic_file_open(&af, f->dest, 0600, true), FERRY_ERR_EXISTS);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_EXISTS), f->dest));
	assert_int_equal(af.fd, -1);
	assert_null(af.tmp_path);
	assert_file_is(f->dest, "existing");
	assert_int_equal(count_entries(f->dir, &tmp), 1);
	assert_false(tmp);
	atomic_file_abort(&af);
}

static void
test_no_clobber_at_commit(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af;
	bool tmp;

	assert_int_equal(atomic_file_open(&af, f->dest, 0600, true), 0);
	assert_int_equal(write(af.fd, "mine", 4), 4);
	/* Somebody else creates the destination meanwhile: it must survive. */
	write_file(f->dest, "theirs");
	assert_int_equal(atomic_file_commit(&af), FERRY_ERR_EXISTS);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_EXISTS), f->dest));
	assert_file_is(f->dest, "theirs");
	assert_null(atomic_file_pending());
	assert_int_equal(count_entries(f->dir, &tmp), 1);
	assert_false(tmp);
	atomic_file_abort(&af);
}

static void
test_unwritable(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af;
	char *path, *ro;
	bool tmp;

	/* A directory that does not exist. */
	assert_true(asprintf(&path, "%s/missing/out", f->dir) > 0);
	assert_int_equal(atomic_file_open(&af, path, 0600, false), FERRY_ERR_IO);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_IO), path));
	assert_null(atomic_file_pending());
	free(path);

	/* A path through a regular file. */
	write_file(f->dest, "x");
	assert_true(asprintf(&path, "%s/sub", f->dest) > 0);
	assert_int_equal(atomic_file_open(&af, path, 0600, false), FERRY_ERR_IO);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_IO), path));
	free(path);

	/* A directory without write permission. Root ignores the mode bits, so as root
	 * the check runs in a child that has given up root. */
	assert_true(asprintf(&ro, "%s/ro", f->dir) > 0);
	assert_int_equal(mkdir(ro, 0755), 0);
	assert_int_equal(chmod(ro, 0555), 0);
	assert_true(asprintf(&path, "%s/out", ro) > 0);
	if (geteuid() != 0) {
		assert_true(open_refused(path));
	} else {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			/* The tree is root's and mode 0700 at the top: let nobody in. */
			if (chmod(f->dir, 0755) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
			_exit(open_refused(path) ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(count_entries(ro, &tmp), 0);
	chmod(ro, 0700);
	free(path);
	free(ro);
}

static void
test_commit_failure_cleans_up(void **state)
{
	struct fixture *f = *state;
	struct atomic_file af;
	char *sub;
	bool tmp;

	/* rename() of a file over a directory fails: an I/O error, and no temporary left. */
	assert_true(asprintf(&sub, "%s/a-directory", f->dir) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(atomic_file_open(&af, sub, 0600, false), 0);
	assert_int_equal(write(af.fd, "x", 1), 1);
	assert_int_equal(atomic_file_commit(&af), FERRY_ERR_IO);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_IO), sub));
	assert_null(atomic_file_pending());
	assert_int_equal(count_entries(f->dir, &tmp), 1);
	assert_false(tmp);
	atomic_file_abort(&af);
	free(sub);

	/* Commit without a successful open. */
	memset(&af, 0, sizeof(af));
	af.fd = -1;
	assert_int_equal(atomic_file_commit(&af), FERRY_ERR_INTERNAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_mode_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_clobber_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_clobber_at_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure_cleans_up, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
