/*
 * A one-line progress display on stderr for long transfers: bytes done (of the total when
 * known), percent, rate and time left, redrawn in place with \r at most ten times a
 * second. Purely cosmetic: nothing here can fail in a way the caller must handle.
 */
#ifndef FERRY_UTIL_PROGRESS_H
#define FERRY_UTIL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress;

/*
 * Start a display for label (e.g. a file name; shortened to fit). total is the expected
 * number of bytes, or 0 when unknown (then no percent or time left is shown). Returns
 * NULL when !enabled or out of memory; every function below accepts NULL and then does
 * nothing. Caller frees with progress_free().
 */
struct progress *progress_new(const char *label, uint64_t total, bool enabled);

/* Record that done bytes are finished; redraws if the last drawing is old enough. */
void progress_update(struct progress *p, uint64_t done);

/* Draw the final line (total size, average rate, elapsed time) and end it with a newline. */
void progress_finish(struct progress *p);

/* Release p. If a line is on screen unfinished, end it first so that a following message
 * starts on its own line. Accepts NULL. */
void progress_free(struct progress *p);

#endif
