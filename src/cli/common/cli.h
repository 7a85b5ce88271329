/*
 * What the ferry and ferryd programs share: exit codes, one-line error messages, option
 * parsing helpers, signal handling that never leaves a temporary file behind, and the
 * input/output plumbing of the file commands (stdin/stdout, "-", atomic output files).
 */
#ifndef FERRY_CLI_COMMON_CLI_H
#define FERRY_CLI_COMMON_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/atomic_file.h"
#include "util/progress.h"

/* FERRY_VERSION comes from project(ferry VERSION ...) in CMakeLists.txt. */

#define CLI_EXIT_OK     0
#define CLI_EXIT_FAIL   1	/* the operation failed */
#define CLI_EXIT_USAGE  2	/* bad arguments; nothing was attempted */

/*
 * Set the program name used in messages ("ferry", "ferryd") and install handlers for
 * SIGINT, SIGTERM and SIGHUP that remove the pending atomic_file temporary, restore the
 * terminal and exit with 128 + the signal number. A signal ignored on entry stays so.
 */
void cli_init(const char *progname);

/* The name given to cli_init(). */
const char *cli_progname(void);

/*
 * Print "<prog>: <ferry_error_detail(err)>" to stderr on one line (control characters
 * shown as '?') and return the exit code for err: CLI_EXIT_USAGE for FERRY_ERR_USAGE,
 * CLI_EXIT_FAIL otherwise.
 */
int cli_error(int err);

/*
 * Print "<prog>: <cmd>: <message> (try '<prog> <cmd> --help')" to stderr and return
 * CLI_EXIT_USAGE. cmd may be NULL for the program itself.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Report the getopt_long() failure that returned c ('?' or ':', with an optstring
 * starting with ':') for the option at argv[optind - 1]; returns CLI_EXIT_USAGE.
 */
int cli_getopt_error(const char *cmd, int c, char **argv);

/*
 * Parse a byte count: decimal digits with an optional suffix K, M or G (also k, m, g,
 * KiB, MiB, GiB; powers of 1024). Must lie in [min, max]. FERRY_ERR_USAGE with a detail
 * naming opt otherwise.
 */
int cli_parse_size(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Parse a plain decimal number in [min, max]; FERRY_ERR_USAGE naming opt otherwise. */
int cli_parse_uint(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* 0666 & ~umask: the mode an ordinary new output file gets. */
mode_t cli_output_mode(void);

/* ---- the file commands' input and output --------------------------------------------- */

struct cli_input {
	int fd;
	const char *name;	/* the path as given, or "stdin" */
	uint64_t size;		/* bytes left to read, when is_regular */
	uint64_t base;		/* offset reading started from, when is_regular */
	bool is_regular;	/* a regular file: size known, offset tells progress */
	bool owned;		/* fd is ours to close */
};

/* Open path for reading; NULL or "-" means standard input. Errors name the file. */
int cli_input_open(struct cli_input *in, const char *path);
void cli_input_close(struct cli_input *in);

struct cli_output {
	int fd;
	const char *name;	/* the path as given, or "stdout" */
	bool is_stdout;
	bool staged;		/* going through af; nothing at the path until commit */
	bool owned;		/* fd is ours to close (a device or FIFO opened directly) */
	struct atomic_file af;
};

/*
 * Prepare path for writing; NULL or "-" means standard output. A regular file (new or
 * existing) is staged in a temporary beside it with mode 0666 & ~umask and appears only
 * at cli_output_commit(). An existing device or FIFO (e.g. /dev/null) is written
 * directly. A directory is refused. Errors name the file.
 */
int cli_output_open(struct cli_output *out, const char *path);

/*
 * Like cli_output_open(), but a regular file is staged in path.ferry-part, a partial that
 * survives a failure (util/atomic_file.h atomic_file_open_partial): with resume its
 * bytes are kept and counted in *have, else it starts empty. Standard output and devices
 * are opened as by cli_output_open() with *have 0. cli_output_abort() keeps the partial
 * unless out->af.keep is cleared first.
 */
int cli_output_open_partial(struct cli_output *out, const char *path, bool resume,
    uint64_t *have);

/* Finish: rename a staged file into place, or close what was opened. */
int cli_output_commit(struct cli_output *out);

/* Give up: remove the staged temporary. Safe after commit and on a zeroed struct. */
void cli_output_abort(struct cli_output *out);

/*
 * Name the file a failed sealed_*_fd() call was about: the output for a failed write
 * (FERRY_ERR_WRITE), the input for everything else. Returns r.
 */
int cli_stream_error(int r, const struct cli_input *in, const struct cli_output *out);

/* ---- progress ------------------------------------------------------------------------ */

enum cli_progress_mode {
	CLI_PROGRESS_AUTO,	/* when stderr is a terminal and the input size is known */
	CLI_PROGRESS_ON,
	CLI_PROGRESS_OFF,
};

/* The display for in (NULL when off); pass it to progress_update via cli_progress_hook. */
struct progress *cli_progress_new(const struct cli_input *in, enum cli_progress_mode mode);

/*
 * The state behind a struct sealed_progress: counts bytes of input consumed (the offset
 * of a regular file, so decryption shows progress against the ciphertext size).
 */
struct cli_progress_hook {
	struct progress *p;
	const struct cli_input *in;
	uint64_t done;		/* the last count reported */
};

/* Callback for struct sealed_progress.update, arg being a struct cli_progress_hook. */
void cli_progress_update(void *arg, uint64_t done);

/* Draw the final line (after success only). */
void cli_progress_finish(struct cli_progress_hook *h);

#endif
