/*
 * ferry put: store files on the server. Also the plumbing the store commands (put, get,
 * ls, rm) share: the session from the profile, progress and the per-file summary.
 */
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/common/cli.h"
#include "cli/ferry/ferry.h"
#include "client/profile.h"
#include "client/transfer.h"
#include "store/objects.h"
#include "util/err.h"
#include "util/progress.h"

/* ---- shared by the store commands ------------------------------------------------------ */

int
store_session_open(const char *cmd, const char *profile_dir, const char *server,
    struct profile *prof, struct transfer_session **s)
{
	int r;

	*s = NULL;
	if (server != NULL && profile_check_server(server) != 0)
		return cli_usage_error(cmd, "'%s' is not a server address (HOST:PORT)", server);
	ferry_error_clear();
	if ((r = profile_resolve(profile_dir, prof)) != 0 ||
	    (r = profile_load_conf(prof)) != 0)
		return cli_error(r);
	if (server == NULL)
		server = prof->server;
	if (server == NULL)
		return cli_usage_error(cmd, "the profile %s names no server (enrol first with "
		    "'ferry enroll', or give --server HOST:PORT)", prof->dir);
	ferry_error_clear();
	if ((r = transfer_open(prof, server, s)) != 0)
		return cli_error(r);
	return CLI_EXIT_OK;
}

double
store_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
format_bytes(char *dst, size_t cap, double n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t u = 0;

	while (n >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		n /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(dst, cap, "%.0f %s", n, units[u]);
	else
		snprintf(dst, cap, "%.1f %s", n, units[u]);
}

void
store_summary(FILE *fp, const char *verb, const char *name, uint64_t bytes, double secs)
{
	char size[32], rate[32];

	format_bytes(size, sizeof(size), (double)bytes);
	if (secs < 0.001)
		secs = 0.001;
	format_bytes(rate, sizeof(rate), (double)bytes / secs);
	fprintf(fp, "%s %s: %s in %.2f s (%s/s)\n", verb, name, size, secs, rate);
	fflush(fp);
}

static void
observer_start(void *arg, uint64_t total)
{
	struct store_progress *sp = arg;

	progress_free(sp->p);
	sp->p = progress_new(sp->label, total, sp->enabled);
}

static void
observer_update(void *arg, uint64_t done)
{
	struct store_progress *sp = arg;

	sp->done = done;
	progress_update(sp->p, done);
}

void
store_progress_init(struct store_progress *sp, const char *label, enum cli_progress_mode mode)
{
	memset(sp, 0, sizeof(*sp));
	sp->label = label;
	sp->enabled = mode == CLI_PROGRESS_ON ||
	    (mode == CLI_PROGRESS_AUTO && isatty(STDERR_FILENO));
	sp->obs.start = observer_start;
	sp->obs.update = observer_update;
	sp->obs.arg = sp;
}

void
store_progress_end(struct store_progress *sp, bool ok)
{
	if (ok && sp->p != NULL) {
		progress_update(sp->p, sp->done);
		progress_finish(sp->p);
	}
	progress_free(sp->p);
	sp->p = NULL;
}

/* ---- ferry put ------------------------------------------------------------------------- */

enum {
	OPT_PROFILE = 256,
	OPT_PROGRESS,
};

static const struct option long_options[] = {
	{ "as", required_argument, NULL, 'a' },
	{ "server", required_argument, NULL, 's' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry put [options] FILE...\n"
	    "       ferry put [options] --as NAME -\n\n"
	    "Store each FILE on the server under its base name, encrypted end to end and\n"
	    "verified by the server before it is committed; a name that exists is replaced.\n"
	    "'-' reads standard input (with --as). Exit status 0 only when every file was\n"
	    "stored.\n\n"
	    "  -a, --as NAME            store under NAME (a single FILE only)\n"
	    "  -s, --server HOST:PORT   the server (default: the profile's)\n"
	    "      --profile DIR        the profile directory (default $FERRY_HOME, else\n"
	    "                           ~/.config/ferry)\n"
	    "  -q, --quiet              no progress display and no summary\n"
	    "      --progress           a progress display even when stderr is not a terminal\n"
	    "  -h, --help               show this help\n\n"
	    "Names: 1 to 255 bytes of UTF-8, no '/', no control characters, not '.' or\n"
	    "'..', no leading or trailing space.\n");
}

/* The name a FILE is stored under by default: its last path component. */
static const char *
default_name(const char *path, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", path);
	return basename(buf);
}

static int
put_one(struct transfer_session *s, const char *path, const char *name,
    enum cli_progress_mode pmode, bool quiet)
{
	struct cli_input in = { .fd = -1 };
	struct store_progress sp;
	struct transfer_info info;
	bool resumable;
	double t0;
	int r;

	ferry_error_clear();
	if ((r = cli_input_open(&in, path)) != 0)
		return r;
	/* Only a file read from its start can be read again to resume. */
	resumable = in.is_regular && in.owned && in.base == 0;
	store_progress_init(&sp, name, pmode);
	t0 = store_clock();
	r = transfer_put(s, in.fd, name, in.is_regular ? in.size : TRANSFER_SIZE_UNKNOWN,
	    resumable, &sp.obs, &info);
	store_progress_end(&sp, r == 0);
	if (r == 0 && !quiet) {
		if (info.resumed_from > 0)
			printf("%s: resumed an interrupted upload: the first %llu bytes were "
			    "already stored\n", name, (unsigned long long)info.resumed_from);
		else if (info.restarted)
			printf("%s: the file changed since an interrupted upload: sent it whole\n",
			    name);
		if (!sp.enabled)
			store_summary(stdout, "stored", name, info.size - info.resumed_from,
			    store_clock() - t0);
	}
	/* A failure to read the input names the file read, not only the name stored. */
	if (r == FERRY_ERR_IO && strstr(ferry_error_detail(r), "read") != NULL &&
	    strcmp(in.name, name) != 0)
		r = ferry_error_prefix(r, "%s", in.name);
	else if (resumable && (r == FERRY_ERR_IO || r == FERRY_ERR_TRUNCATED ||
	    r == FERRY_ERR_TIMEOUT)) {
		char detail[1024];

		snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
		r = ferry_fail(r, "%s (run the same command again to resume)", detail);
	}
	cli_input_close(&in);
	return r;
}

int
cmd_put(int argc, char **argv)
{
	const char *cmd = "put", *as = NULL, *server = NULL, *profile_dir = NULL, *why = NULL;
	enum cli_progress_mode pmode = CLI_PROGRESS_AUTO;
	struct profile prof = { 0 };
	struct transfer_session *s = NULL;
	char namebuf[4096];
	const char *name;
	bool quiet = false, stdin_used = false;
	int c, r, ret = CLI_EXIT_OK;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":a:s:qh", long_options, NULL)) != -1) {
		switch (c) {
		case 'a':
			as = optarg;
			break;
		case 's':
			server = optarg;
			break;
		case OPT_PROFILE:
			profile_dir = optarg;
			break;
		case 'q':
			/* The last of --quiet and --progress wins. */
			quiet = true;
			pmode = CLI_PROGRESS_OFF;
			break;
		case OPT_PROGRESS:
			quiet = false;
			pmode = CLI_PROGRESS_ON;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (optind == argc)
		return cli_usage_error(cmd, "no file given ('-' for standard input, with --as)");
	if (as != NULL && argc - optind > 1)
		return cli_usage_error(cmd, "--as names one file, %d given", argc - optind);
	/* Every name is checked before anything is sent. */
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			if (as == NULL)
				return cli_usage_error(cmd, "standard input needs a name: --as NAME");
			if (stdin_used)
				return cli_usage_error(cmd, "standard input given twice");
			stdin_used = true;
		}
		if (strlen(argv[i]) >= sizeof(namebuf))
			return cli_usage_error(cmd, "file name too long");
		name = as != NULL ? as : default_name(argv[i], namebuf, sizeof(namebuf));
		if (!store_name_valid(name, &why))
			return cli_usage_error(cmd, "'%s' is not a valid name: %s%s", name, why,
			    as != NULL ? "" : " (choose one with --as NAME)");
	}

	if ((ret = store_session_open(cmd, profile_dir, server, &prof, &s)) != CLI_EXIT_OK)
		goto out;
	for (int i = optind; i < argc; i++) {
		name = as != NULL ? as : default_name(argv[i], namebuf, sizeof(namebuf));
		if ((r = put_one(s, argv[i], name, pmode, quiet)) != 0) {
			cli_error(r);
			ret = CLI_EXIT_FAIL;
		}
	}
out:
	transfer_close(s);
	profile_free(&prof);
	return ret;
}
