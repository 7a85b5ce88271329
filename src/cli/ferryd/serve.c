/* ferryd serve: run the server in the foreground (see server/server.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/common/cli.h"
#include "cli/ferryd/ferryd.h"
#include "server/datadir.h"
#include "server/log.h"
#include "server/server.h"
#include "server/settings.h"
#include "util/err.h"

enum {
	OPT_DATA = 256,
	OPT_CONFIG,
};

static const struct option long_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "listen", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferryd serve [--listen HOST:PORT] [--data DIR] [--config FILE]\n\n"
	    "Accept TLS 1.3 connections in the foreground until SIGTERM or SIGINT: enrolment\n"
	    "(user name, password and a certificate request; answered with a certificate)\n"
	    "and sessions (a client certificate issued here, unrevoked, of an enabled user).\n"
	    "One process per connection; one log line per event on standard error.\n\n"
	    "  -l, --listen HOST:PORT  address to listen on (default: the config's listen,\n"
	    "                          127.0.0.1:4433); port 0 picks a free port, named in\n"
	    "                          the \"listening on\" log line; [::1]:PORT for IPv6\n"
	    "      --data DIR          the data directory (default $FERRY_DATA, else %s)\n"
	    "      --config FILE       the config file (default DIR/ferryd.conf)\n"
	    "  -h, --help              show this help\n", FERRYD_DEFAULT_DATA);
}

int
cmd_serve(int argc, char **argv)
{
	const char *cmd = "serve", *listen_addr = NULL;
	struct ferryd_paths paths = { 0 };
	struct ferryd_settings s;
	struct server srv;
	struct datadir d = { 0 };
	bool opened = false;
	int c, r, ret = CLI_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			paths.data = optarg;
			break;
		case OPT_CONFIG:
			paths.config = optarg;
			break;
		case 'l':
			listen_addr = optarg;
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
	    (r = server_open(&srv, d.dir, &s)) != 0)
		goto out;
	opened = true;
	if (listen_addr == NULL)
		listen_addr = s.listen;
	if ((r = server_run(&srv, listen_addr)) != 0)
		goto out;
	ret = CLI_EXIT_OK;
out:
	if (r != 0)
		ret = cli_error(r);
	if (opened)
		server_close(&srv);
	datadir_free(&d);
	ferryd_paths_free(&paths);
	return ret;
}
