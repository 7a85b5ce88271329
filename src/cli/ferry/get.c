/* ferry get: fetch files from the server, verified before they appear. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/common/cli.h"
#include "cli/ferry/ferry.h"
#include "client/profile.h"
#include "client/transfer.h"
#include "store/objects.h"
#include "util/err.h"

enum {
	OPT_PROFILE = 256,
	OPT_PROGRESS,
};

static const struct option long_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "continue", no_argument, NULL, 'c' },
	{ "directory", required_argument, NULL, 'O' },
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
	printf("Usage: ferry get [options] NAME...\n"
	    "       ferry get [options] -o OUT NAME\n\n"
	    "Fetch each stored NAME into a file of that name in the current directory (or\n"
	    "DIR). A file appears only after every byte was decrypted, authenticated and\n"
	    "its SHA-256 matched the one recorded when it was stored; an existing file of\n"
	    "that name is then replaced. Exit status 0 only when every file was fetched and\n"
	    "verified.\n\n"
	    "Until then the file is written as OUT.ferry-part. A download cut off (network,\n"
	    "server) keeps that partial file; --continue goes on from it, fetching only the\n"
	    "rest, and the SHA-256 check still covers the whole file.\n\n"
	    "  -o, --output OUT         write to OUT ('-' for standard output; one NAME only)\n"
	    "  -c, --continue           resume from OUT.ferry-part left by a download cut off\n"
	    "  -O, --directory DIR      write the files into DIR\n"
	    "  -s, --server HOST:PORT   the server (default: the profile's)\n"
	    "      --profile DIR        the profile directory (default $FERRY_HOME, else\n"
	    "                           ~/.config/ferry)\n"
	    "  -q, --quiet              no progress display and no summary\n"
	    "      --progress           a progress display even when stderr is not a terminal\n"
	    "  -h, --help               show this help\n");
}

/* Failures after which the partial file is worth keeping for --continue: the network or
 * the server went away, not a refusal or an integrity failure. */
static bool
worth_resuming(int r)
{
	return r == FERRY_ERR_IO || r == FERRY_ERR_TRUNCATED || r == FERRY_ERR_TIMEOUT;
}

static int
get_one(struct transfer_session *s, const char *name, const char *path, bool resume,
    enum cli_progress_mode pmode, bool quiet)
{
	struct cli_output out = { .fd = -1, .af = { .fd = -1 } };
	struct store_progress sp;
	struct transfer_info info;
	char detail[1024];
	uint64_t have = 0;
	double t0;
	int r;

	ferry_error_clear();
	if ((r = cli_output_open_partial(&out, path, resume, &have)) != 0)
		return r;
	store_progress_init(&sp, name, pmode);
	t0 = store_clock();
	if ((r = transfer_get(s, name, out.fd, have, &sp.obs, &info)) != 0) {
		/* A failed write names the output file. */
		if (r == FERRY_ERR_WRITE)
			r = ferry_error_prefix(r, "%s", out.name);
		goto fail;
	}
	if ((r = cli_output_commit(&out)) != 0)
		goto fail;
	store_progress_end(&sp, true);
	if (!quiet && info.resumed_from > 0)
		fprintf(out.is_stdout ? stderr : stdout, "%s: resumed: the first %llu bytes "
		    "were already there\n", name, (unsigned long long)info.resumed_from);
	if (!quiet && !sp.enabled)
		store_summary(out.is_stdout ? stderr : stdout, "fetched", name,
		    info.size - info.resumed_from, store_clock() - t0);
	return 0;
fail:
	store_progress_end(&sp, false);
	if (out.staged && worth_resuming(r)) {
		snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
		r = ferry_fail(r, "%s (partial file kept: run again with --continue to resume)",
		    detail);
	} else {
		out.af.keep = false;
	}
	cli_output_abort(&out);
	return r;
}

int
cmd_get(int argc, char **argv)
{
	const char *cmd = "get", *out_path = NULL, *dir = NULL, *server = NULL;
	const char *profile_dir = NULL, *why = NULL;
	enum cli_progress_mode pmode = CLI_PROGRESS_AUTO;
	struct profile prof = { 0 };
	struct transfer_session *s = NULL;
	struct stat st;
	char *path = NULL;
	bool quiet = false, resume = false;
	size_t n;
	int c, r, ret = CLI_EXIT_OK;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:O:cs:qh", long_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_path = optarg;
			break;
		case 'c':
			resume = true;
			break;
		case 'O':
			dir = optarg;
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
		return cli_usage_error(cmd, "no name given");
	if (out_path != NULL && dir != NULL)
		return cli_usage_error(cmd, "-o and -O exclude each other");
	if (resume && out_path != NULL && strcmp(out_path, "-") == 0)
		return cli_usage_error(cmd, "--continue needs an output file, not standard output");
	if (out_path != NULL && argc - optind > 1)
		return cli_usage_error(cmd, "-o names one output, %d names given", argc - optind);
	/* A name becomes a file name here: the store's rules keep it one path component. */
	for (int i = optind; i < argc; i++)
		if (!store_name_valid(argv[i], &why))
			return cli_usage_error(cmd, "'%s' is not a valid name: %s", argv[i], why);
	if (dir != NULL && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		return cli_usage_error(cmd, "%s is not a directory", dir);

	if ((ret = store_session_open(cmd, profile_dir, server, &prof, &s)) != CLI_EXIT_OK)
		goto out;
	for (int i = optind; i < argc; i++) {
		const char *dest = out_path;

		if (dest == NULL) {
			free(path);
			n = (dir != NULL ? strlen(dir) : 1) + 1 + strlen(argv[i]) + 1;
			if ((path = malloc(n)) == NULL) {
				ret = cli_error(ferry_fail(FERRY_ERR_NOMEM, "out of memory"));
				goto out;
			}
			if (dir != NULL)
				snprintf(path, n, "%s/%s", dir, argv[i]);
			else if (strcmp(argv[i], "-") == 0)
				snprintf(path, n, "./%s", argv[i]);  /* a file, not stdout */
			else
				snprintf(path, n, "%s", argv[i]);
			dest = path;
		}
		if ((r = get_one(s, argv[i], dest, resume, pmode, quiet)) != 0) {
			cli_error(r);
			ret = CLI_EXIT_FAIL;
		}
	}
out:
	free(path);
	transfer_close(s);
	profile_free(&prof);
	return ret;
}
