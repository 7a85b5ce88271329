/*
 * The ferry subcommands. Each takes the arguments after the program name (argv[0] is the
 * subcommand's own name), parses them with getopt_long, and returns the process exit
 * status (CLI_EXIT_*), having printed any error itself.
 */
#ifndef FERRY_CLI_FERRY_H
#define FERRY_CLI_FERRY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/common/cli.h"
#include "client/transfer.h"

int cmd_keygen(int argc, char **argv);
int cmd_encrypt(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);

/* ---- shared by the store commands put, get, ls and rm (put.c) ---- */

/*
 * Resolve the profile (profile_dir, or $FERRY_HOME, or ~/.config/ferry) and the server
 * (server, else the profile's) and open a session. Returns CLI_EXIT_OK with *prof (free
 * with profile_free) and *s (free with transfer_close), or the exit status after printing
 * the error.
 */
int store_session_open(const char *cmd, const char *profile_dir, const char *server,
    struct profile *prof, struct transfer_session **s);

/* Seconds on a monotonic clock. */
double store_clock(void);

/* "<verb> <name>: 1.0 MiB in 0.25 s (4.0 MiB/s)" on fp. */
void store_summary(FILE *fp, const char *verb, const char *name, uint64_t bytes, double secs);

/* A progress display for one transfer, created when the server announces the size. */
struct store_progress {
	struct transfer_observer obs;  /* pass &obs to transfer_put/transfer_get */
	struct progress *p;
	const char *label;
	bool enabled;
	uint64_t done;
};

void store_progress_init(struct store_progress *sp, const char *label,
    enum cli_progress_mode mode);
/* Draw the final line when ok, and release the display. */
void store_progress_end(struct store_progress *sp, bool ok);

#endif
