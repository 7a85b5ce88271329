/* ferryd rotate-master-key: re-wrap every user key under a new master key. */
#include <getopt.h>
#include <stdio.h>

#include "cli/common/cli.h"
#include "cli/ferryd/ferryd.h"
#include "server/datadir.h"
#include "server/settings.h"
#include "store/db.h"
#include "store/vault.h"
#include "util/err.h"

enum {
	OPT_DATA = 256,
	OPT_CONFIG,
};

static const struct option long_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferryd rotate-master-key [--data DIR] [--config FILE]\n\n"
	    "Replace DIR/master.key with a new random key and re-wrap every user key under it,\n"
	    "in one database transaction. Stored files are not touched and stay readable. A\n"
	    "crash at any point leaves either the old or the new master key in force. Safe\n"
	    "while ferryd serve runs.\n\n"
	    "      --data DIR     the data directory (default $FERRY_DATA, else %s)\n"
	    "      --config FILE  the config file (default DIR/ferryd.conf)\n"
	    "  -h, --help         show this help\n", FERRYD_DEFAULT_DATA);
}

int
cmd_rotate(int argc, char **argv)
{
	const char *cmd = "rotate-master-key";
	struct ferryd_paths paths = { 0 };
	struct ferryd_settings s;
	struct datadir d = { 0 };
	struct vault *v = NULL;
	struct db *db = NULL;
	size_t count = 0;
	int c, r, ret = CLI_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			paths.data = optarg;
			break;
		case OPT_CONFIG:
			paths.config = optarg;
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

	ferry_error_clear();
	if ((r = ferryd_open(&paths, &d, &s)) != 0 || (r = db_open(d.db, &db)) != 0 ||
	    (r = vault_open(d.dir, db, &v)) != 0 || (r = vault_rotate_master(v, &count)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	printf("ferryd: new master key in %s/master.key; %zu user key%s re-wrapped\n", d.dir,
	    count, count == 1 ? "" : "s");
	ret = CLI_EXIT_OK;
out:
	vault_free(v);
	db_close(db);
	datadir_free(&d);
	ferryd_paths_free(&paths);
	return ret;
}
