/*
 * Never leave partial output at a destination path: write to a temporary file in the
 * same directory, then fsync, rename over the destination and fsync the directory.
 * Until atomic_file_commit() succeeds the destination is untouched.
 */
#ifndef FERRY_UTIL_ATOMIC_FILE_H
#define FERRY_UTIL_ATOMIC_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct atomic_file {
	int fd;           /* write here */
	char *path;       /* destination */
	char *tmp_path;   /* the temporary, NULL once committed or aborted */
	bool no_clobber;  /* commit by link(), which never replaces */
	bool keep;        /* a partial (atomic_file_open_partial): abort leaves it */
	mode_t mode;      /* a partial's mode once committed */
};

/*
 * Create a temporary beside path (O_EXCL, given mode). With no_clobber, fail with
 * FERRY_ERR_EXISTS if path already exists (checked now and again at commit, where the
 * final link is made without replacing). Errors name the path.
 */
int atomic_file_open(struct atomic_file *af, const char *path, mode_t mode, bool no_clobber);

/*
 * Like atomic_file_open(), but the temporary has the fixed name path.ferry-part, so that
 * a run cut off can be resumed by the next: created if absent (0600 while partial, mode at
 * commit), locked against a second writer (FERRY_ERR_LIMIT when another process holds
 * it). With resume its bytes are kept, *len receives their count and the descriptor is
 * positioned at its end; without, it is emptied. atomic_file_abort() leaves the partial
 * in place unless af->keep is cleared first; a signal handler never removes it.
 */
int atomic_file_open_partial(struct atomic_file *af, const char *path, mode_t mode,
    bool resume, uint64_t *len);

/* fsync, rename into place, fsync the directory; closes the descriptor. On failure the
 * temporary is removed. Returns 0 or FERRY_ERR_IO / FERRY_ERR_EXISTS. */
int atomic_file_commit(struct atomic_file *af);

/* Remove the temporary and release everything. Safe after commit and on a zeroed struct. */
void atomic_file_abort(struct atomic_file *af);

/* The temporary path currently open, for a signal handler to unlink; NULL if none. */
const char *atomic_file_pending(void);

#endif
