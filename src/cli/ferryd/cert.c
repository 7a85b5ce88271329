/* ferryd cert revoke: revoke a user's certificates or one serial, and republish the CRL. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/common/cli.h"
#include "cli/ferryd/ferryd.h"
#include "server/datadir.h"
#include "server/settings.h"
#include "store/db.h"
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
	printf("Usage: ferryd cert revoke NAME|SERIAL [--data DIR] [--config FILE]\n\n"
	    "Revoke every certificate of user NAME, or the one certificate with serial number\n"
	    "SERIAL (hex). The server refuses a revoked certificate from the next connection\n"
	    "on; DIR/crl.pem is rewritten with every revoked serial.\n\n"
	    "      --data DIR     the data directory (default $FERRY_DATA, else %s)\n"
	    "      --config FILE  the config file (default DIR/ferryd.conf)\n"
	    "  -h, --help         show this help\n", FERRYD_DEFAULT_DATA);
}

int
cmd_cert(int argc, char **argv)
{
	const char *cmd = "cert revoke", *what;
	struct ferryd_paths paths = { 0 };
	struct ferryd_settings s;
	struct datadir d = { 0 };
	struct db_user u;
	struct db_cert dc;
	struct db *db = NULL;
	size_t count = 0, total = 0;
	bool is_user;
	int c, r, ret = CLI_EXIT_FAIL;

	if (argc < 2)
		return cli_usage_error("cert", "which one: revoke?");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage();
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "revoke") != 0)
		return cli_usage_error("cert", "unknown subcommand '%s' (revoke)", argv[1]);
	argc--;
	argv++;
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
	if (optind >= argc)
		return cli_usage_error(cmd, "no user name or serial given");
	what = argv[optind++];
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (*what == '\0')
		return cli_usage_error(cmd, "empty user name or serial");

	ferry_error_clear();
	if ((r = ferryd_open(&paths, &d, &s)) != 0 || (r = db_open(d.db, &db)) != 0)
		goto out;
	memset(&u, 0, sizeof(u));
	memset(&dc, 0, sizeof(dc));
	is_user = db_user_get(db, what, &u) == 0;
	if (!is_user && db_cert_lookup(db, what, &dc) != 0) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user or certificate serial '%s'", what);
		goto out;
	}
	if ((r = db_cert_revoke(db, what, (int64_t)time(NULL), &count)) != 0) {
		if (r == FERRY_ERR_NOT_FOUND)
			r = ferry_fail(r, "no user or certificate serial '%s'", what);
		goto out;
	}
	if ((r = datadir_crl_rebuild(&d, db, &total)) != 0)
		goto out;
	if (is_user)
		printf("revoked %zu certificate%s of user %s\n", count, count == 1 ? "" : "s",
		    u.name);
	else if (count == 0)
		printf("certificate %s (user %s) was already revoked\n", dc.serial_hex, dc.user);
	else
		printf("revoked certificate %s (user %s)\n", dc.serial_hex, dc.user);
	printf("%s now lists %zu revoked certificate%s\n", d.crl, total,
	    total == 1 ? "" : "s");
	ret = CLI_EXIT_OK;
out:
	if (r != 0)
		ret = cli_error(r);
	db_close(db);
	datadir_free(&d);
	ferryd_paths_free(&paths);
	return ret;
}
