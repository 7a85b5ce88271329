/* ferryd ca export: the root certificate (PEM) on standard output, for clients. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/common/cli.h"
#include "cli/ferryd/ferryd.h"
#include "pki/pki.h"
#include "server/datadir.h"
#include "server/settings.h"
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
	printf("Usage: ferryd ca export [--data DIR] [--config FILE]\n\n"
	    "Write the root CA certificate (PEM) to standard output. Clients enrol with it:\n"
	    "  ferryd ca export > root.pem\n"
	    "  ferry enroll --server HOST:PORT --ca root.pem --user NAME\n\n"
	    "      --data DIR     the data directory (default $FERRY_DATA, else %s)\n"
	    "      --config FILE  the config file (default DIR/ferryd.conf)\n"
	    "  -h, --help         show this help\n", FERRYD_DEFAULT_DATA);
}

int
cmd_ca(int argc, char **argv)
{
	const char *cmd = "ca export";
	struct ferryd_paths paths = { 0 };
	struct ferryd_settings s;
	struct datadir d = { 0 };
	X509 *cert = NULL;
	int c, r, ret = CLI_EXIT_FAIL;

	if (argc < 2)
		return cli_usage_error("ca", "which one: export?");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage();
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "export") != 0)
		return cli_usage_error("ca", "unknown subcommand '%s' (export)", argv[1]);
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
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

	ferry_error_clear();
	if ((r = ferryd_open(&paths, &d, &s)) != 0 ||
	    (r = pki_cert_load(d.ca_cert, &cert)) != 0 ||
	    (r = pki_cert_write_fd(cert, STDOUT_FILENO)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	X509_free(cert);
	datadir_free(&d);
	ferryd_paths_free(&paths);
	return ret;
}
