#include "util/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/err.h"

int
io_fsync_dir(const char *dir)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0 && errno != EINVAL)
		r = ferry_fail(FERRY_ERR_IO, "%s: fsync: %s", dir, strerror(errno));
	close(fd);
	return r;
}

int
io_read_full(int fd, void *p, size_t n, size_t *got)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = read(fd, (char *)p + off, n - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			*got = off;
			return ferry_fail(FERRY_ERR_IO, "read: %s", strerror(errno));
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	*got = off;
	return 0;
}

int
io_write_full(int fd, const void *p, size_t n)
{
	size_t off = 0;
	ssize_t r;

	while (off < n) {
		r = write(fd, (const char *)p + off, n - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ferry_fail(FERRY_ERR_WRITE, "write: %s", strerror(errno));
		}
		off += (size_t)r;
	}
	return 0;
}

int
io_read_file(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	size_t got = 0;
	int fd = -1, r;
	char extra;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((buf = OPENSSL_malloc(max + 1)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((r = io_read_full(fd, buf, max, &got)) != 0) {
		ferry_error_prefix(r, "%s", path);
		goto out;
	}
	if (got == max) {
		size_t more;

		if ((r = io_read_full(fd, &extra, 1, &more)) != 0)
			goto out;
		if (more != 0) {
			r = ferry_fail(FERRY_ERR_LIMIT, "%s: larger than %zu bytes", path, max);
			goto out;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL; /* transferred */
	r = 0;
out:
	if (buf != NULL)
		OPENSSL_clear_free(buf, max + 1);
	if (fd >= 0)
		close(fd);
	return r;
}

#define IO_BUFFER_ALIGN 4096

void *
io_buffer_new(size_t n)
{
	void *p;

	if (n == 0 || posix_memalign(&p, IO_BUFFER_ALIGN, n) != 0)
		return NULL;
	return p;
}

void
io_buffer_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}
