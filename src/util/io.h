/* Whole reads and writes on file descriptors, retrying on EINTR and short counts. */
#ifndef FERRY_UTIL_IO_H
#define FERRY_UTIL_IO_H

#include <stddef.h>

/* Read up to n bytes into p, stopping early only at end of input; *got is the count
 * (< n means end of input was reached). Returns 0 or FERRY_ERR_IO (detail records errno). */
int io_read_full(int fd, void *p, size_t n, size_t *got);

/* Write all n bytes. Returns 0 or FERRY_ERR_WRITE, detail "write: <errno text>" (callers
 * tell an output-side failure from an input-side one by the code). */
int io_write_full(int fd, const void *p, size_t n);

/*
 * Make the entries of directory dir durable (fsync of the directory, after a create,
 * rename or unlink in it). A file system that cannot sync directories (EINVAL) counts as
 * done. Returns 0 or FERRY_ERR_IO naming dir.
 */
int io_fsync_dir(const char *dir);

/*
 * Read a whole small file (at most max bytes) into a new buffer, NUL-terminated.
 * "-" is not special here. Caller frees *out with OPENSSL_clear_free(*out, *len + 1).
 * Errors name the file: FERRY_ERR_IO, FERRY_ERR_LIMIT (larger than max).
 */
int io_read_file(const char *path, size_t max, char **out, size_t *len);

/*
 * A page-aligned buffer for bulk reads and writes: the kernel copies to and from aligned
 * user memory several times faster than to malloc's 16-byte-aligned blocks. NULL on
 * failure. Free with io_buffer_free(p, n), which wipes it first; accepts NULL.
 */
void *io_buffer_new(size_t n);
void io_buffer_free(void *p, size_t n);

#endif
