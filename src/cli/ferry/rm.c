/* ferry rm: delete files stored on the server. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli/common/cli.h"
#include "cli/ferry/ferry.h"
#include "client/profile.h"
#include "client/transfer.h"
#include "store/objects.h"
#include "util/err.h"

enum {
	OPT_PROFILE = 256,
};

static const struct option long_options[] = {
	{ "server", required_argument, NULL, 's' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry rm [--server HOST:PORT] [--profile DIR] NAME...\n\n"
	    "Delete each stored NAME from the server. Exit status 0 only when every one\n"
	    "was deleted.\n\n"
	    "  -s, --server HOST:PORT   the server (default: the profile's)\n"
	    "      --profile DIR        the profile directory (default $FERRY_HOME, else\n"
	    "                           ~/.config/ferry)\n"
	    "  -h, --help               show this help\n");
}

int
cmd_rm(int argc, char **argv)
{
	const char *cmd = "rm", *server = NULL, *profile_dir = NULL, *why = NULL;
	struct profile prof = { 0 };
	struct transfer_session *s = NULL;
	int c, r, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", long_options, NULL)) != -1) {
		switch (c) {
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
	if (optind == argc)
		return cli_usage_error(cmd, "no name given");
	for (int i = optind; i < argc; i++)
		if (!store_name_valid(argv[i], &why))
			return cli_usage_error(cmd, "'%s' is not a valid name: %s", argv[i], why);

	if ((ret = store_session_open(cmd, profile_dir, server, &prof, &s)) != CLI_EXIT_OK)
		goto out;
	for (int i = optind; i < argc; i++) {
		ferry_error_clear();
		if ((r = transfer_delete(s, argv[i])) != 0) {
			cli_error(r);
			ret = CLI_EXIT_FAIL;
		}
	}
out:
	transfer_close(s);
	profile_free(&prof);
	return ret;
}
