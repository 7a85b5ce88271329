#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "util/err.h"
#include "util/io.h"

/* The one temporary the process has open, so a signal handler can unlink it.
 * ferry writes one output at a time; a second open replaces the record. */
static char *volatile pending_tmp;

static int
fsync_parent_dir(const char *path)
{
	char *copy, *dir;
	int r;

	if ((copy = strdup(path)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	dir = dirname(copy);
	r = io_fsync_dir(dir);
	free(copy);
	return r;
}

int
atomic_file_open(struct atomic_file *af, const char *path, mode_t mode, bool no_clobber)
{
	unsigned char rnd[8];
	char suffix[17];
	size_t n;
	int r;

	memset(af, 0, sizeof(*af));
	af->fd = -1;
	af->no_clobber = no_clobber;
	if (no_clobber && access(path, F_OK) == 0)
		return ferry_fail(FERRY_ERR_EXISTS, "%s: already exists (use --force to replace it)", path);
	if ((af->path = strdup(path)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	n = strlen(path) + sizeof(".ferry-tmp-") + sizeof(suffix);
	if ((af->tmp_path = malloc(n)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (int tries = 0; tries < 8; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			r = ferry_fail(FERRY_ERR_CRYPTO, "random: generator failed");
			goto fail;
		}
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(suffix + 2 * i, 3, "%02x", rnd[i]);
		snprintf(af->tmp_path, n, "%s.ferry-tmp-%s", path, suffix);
		af->fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (af->fd >= 0 || errno != EEXIST)
			break;
	}
	if (af->fd < 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: cannot create output: %s", path, strerror(errno));
		goto fail;
	}
	/* umask may have narrowed the mode; key files must be exactly what was asked. */
	if (fchmod(af->fd, mode) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: chmod: %s", af->tmp_path, strerror(errno));
		goto fail;
	}
	pending_tmp = af->tmp_path;
	return 0;
fail:
	atomic_file_abort(af);
	return r;
}

int
atomic_file_open_partial(struct atomic_file *af, const char *path, mode_t mode,
    bool resume, uint64_t *len)
{
	struct stat st;
	size_t n;
	int r;

	memset(af, 0, sizeof(*af));
	af->fd = -1;
	*len = 0;
	if ((af->path = strdup(path)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	n = strlen(path) + sizeof(".ferry-part");
	if ((af->tmp_path = malloc(n)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto fail;
	}
	snprintf(af->tmp_path, n, "%s.ferry-part", path);
	af->keep = true;     /* from here on, a failure must not remove someone's partial */
	if ((af->fd = open(af->tmp_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", af->tmp_path, strerror(errno));
		goto fail;
	}
	if (flock(af->fd, LOCK_EX | LOCK_NB) != 0) {
		r = errno == EWOULDBLOCK ?
		    ferry_fail(FERRY_ERR_LIMIT, "%s: another process is writing it", af->tmp_path) :
		    ferry_fail(FERRY_ERR_IO, "%s: lock: %s", af->tmp_path, strerror(errno));
		goto fail;
	}
	if (fstat(af->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		r = ferry_fail(FERRY_ERR_IO, "%s: not a regular file of this user", af->tmp_path);
		goto fail;
	}
	if (!resume && ftruncate(af->fd, 0) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: truncate: %s", af->tmp_path, strerror(errno));
		goto fail;
	}
	if (fchmod(af->fd, 0600) != 0 || lseek(af->fd, 0, SEEK_END) < 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", af->tmp_path, strerror(errno));
		goto fail;
	}
	*len = resume ? (uint64_t)st.st_size : 0;
	af->mode = mode;
	return 0;
fail:
	atomic_file_abort(af);
	return r;
}

int
atomic_file_commit(struct atomic_file *af)
{
	int r;

	if (af->tmp_path == NULL || af->fd < 0)
		return ferry_fail(FERRY_ERR_INTERNAL, "atomic file: commit without open");
	if (af->keep && fchmod(af->fd, af->mode) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: chmod: %s", af->tmp_path, strerror(errno));
		goto fail;
	}
	if (fsync(af->fd) != 0 && errno != EINVAL) {
		r = ferry_fail(FERRY_ERR_IO, "%s: fsync: %s", af->path, strerror(errno));
		goto fail;
	}
	if (close(af->fd) != 0) {
		af->fd = -1;
		r = ferry_fail(FERRY_ERR_IO, "%s: close: %s", af->path, strerror(errno));
		goto fail;
	}
	af->fd = -1;
	if (af->no_clobber) {
		/* link() fails if the destination appeared meanwhile; never replace it. */
		if (link(af->tmp_path, af->path) != 0) {
			r = errno == EEXIST ?
			    ferry_fail(FERRY_ERR_EXISTS, "%s: already exists (use --force to replace it)", af->path) :
			    ferry_fail(FERRY_ERR_IO, "%s: %s", af->path, strerror(errno));
			goto fail;
		}
		unlink(af->tmp_path);
	} else if (rename(af->tmp_path, af->path) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: rename: %s", af->path, strerror(errno));
		goto fail;
	}
	pending_tmp = NULL;
	free(af->tmp_path);
	af->tmp_path = NULL;
	r = fsync_parent_dir(af->path);
	free(af->path);
	af->path = NULL;
	return r;
fail:
	atomic_file_abort(af);
	return r;
}

void
atomic_file_abort(struct atomic_file *af)
{
	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	if (af->tmp_path != NULL) {
		if (!af->keep) {
			pending_tmp = NULL;
			unlink(af->tmp_path);
		}
		free(af->tmp_path);
		af->tmp_path = NULL;
	}
	free(af->path);
	af->path = NULL;
}

const char *
atomic_file_pending(void)
{
	return pending_tmp;
}
