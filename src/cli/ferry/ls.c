/* ferry ls: the files stored on the server under the profile's identity. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/common/cli.h"
#include "cli/ferry/ferry.h"
#include "client/profile.h"
#include "client/transfer.h"
#include "util/err.h"

enum {
	OPT_PROFILE = 256,
};

static const struct option long_options[] = {
	{ "long", no_argument, NULL, 'l' },
	{ "server", required_argument, NULL, 's' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry ls [--long] [--server HOST:PORT] [--profile DIR]\n\n"
	    "List the files stored on the server, one name per line in byte order.\n\n"
	    "  -l, --long               one line per file: SHA-256 of the content (compare\n"
	    "                           with sha256sum), size in bytes, time stored (UTC),\n"
	    "                           name\n"
	    "  -s, --server HOST:PORT   the server (default: the profile's)\n"
	    "      --profile DIR        the profile directory (default $FERRY_HOME, else\n"
	    "                           ~/.config/ferry)\n"
	    "  -h, --help               show this help\n");
}

static void
format_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "@%lld", (long long)t);
}

int
cmd_ls(int argc, char **argv)
{
	const char *cmd = "ls", *server = NULL, *profile_dir = NULL;
	struct profile prof = { 0 };
	struct transfer_session *s = NULL;
	struct transfer_entry *e = NULL;
	char hex[65], when[64];
	bool longfmt = false;
	size_t n = 0;
	int c, r, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ls:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'l':
			longfmt = true;
			break;
		case 's':
			server = optarg;
			break;
		case OPT_PROFILE:
			profile_dir = optarg;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(cmd, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

	if ((ret = store_session_open(cmd, profile_dir, server, &prof, &s)) != CLI_EXIT_OK)
		goto out;
	ferry_error_clear();
	if ((r = transfer_list(s, &e, &n)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	/* Names were checked on receipt: valid UTF-8 without control characters. */
	for (size_t i = 0; i < n; i++) {
		if (longfmt) {
			transfer_sha256_hex(e[i].info.sha256, hex);
			format_time(e[i].info.stored, when, sizeof(when));
			printf("%s  %12llu  %s  %s\n", hex, (unsigned long long)e[i].info.size,
			    when, e[i].name);
		} else
			printf("%s\n", e[i].name);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ret = cli_error(ferry_fail(FERRY_ERR_IO, "stdout: write error"));
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	free(e);
	transfer_close(s);
	profile_free(&prof);
	return ret;
}
