/* ferryd init: create a data directory (root CA, server certificate, database, config). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/common/cli.h"
#include "cli/ferryd/ferryd.h"
#include "pki/pki.h"
#include "server/datadir.h"
#include "util/err.h"
#include "util/limits.h"

enum {
	OPT_DATA = 256,
	OPT_CONFIG,
	OPT_CA_CERT,
	OPT_CA_KEY,
};

static const struct option long_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "name", required_argument, NULL, 'n' },
	{ "host", required_argument, NULL, 'H' },
	{ "ca-cert", required_argument, NULL, OPT_CA_CERT },
	{ "ca-key", required_argument, NULL, OPT_CA_KEY },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferryd init [--data DIR] [--config FILE] [--name ORG] [--host NAME]...\n"
	    "                   [--ca-cert FILE --ca-key FILE] [--force]\n\n"
	    "Create the server's data directory (mode 0700): a root CA (P-384, self-signed),\n"
	    "a server certificate signed by it, the user database, a commented config file,\n"
	    "an empty certificate revocation list, the master key that protects stored\n"
	    "files at rest (master.key) and the directory that holds them (objects/).\n\n"
	    "      --data DIR        the data directory (default $FERRY_DATA, else %s)\n"
	    "      --config FILE     where to write the config (default DIR/ferryd.conf)\n"
	    "  -n, --name ORG        organisation name for the root CA (default ferry)\n"
	    "  -H, --host NAME       a DNS name or IP address the server certificate is for;\n"
	    "                        repeat for several (default localhost and 127.0.0.1)\n"
	    "      --ca-cert FILE    import this CA certificate (PEM) instead of creating one\n"
	    "      --ca-key FILE     ... and its private key (PEM, unencrypted)\n"
	    "  -f, --force           replace an initialised directory: new CA and keys, and an\n"
	    "                        empty database (every user, certificate and stored file\n"
	    "                        is lost)\n"
	    "  -h, --help            show this help\n", FERRYD_DEFAULT_DATA);
}

static void
print_date(const char *label, int64_t when)
{
	char buf[32];
	time_t t = (time_t)when;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
	printf("%s%s\n", label, buf);
}

int
cmd_init(int argc, char **argv)
{
	static const char *const default_hosts[] = { "localhost", "127.0.0.1" };
	const char *cmd = "init", *org = NULL, *ca_cert = NULL, *ca_key = NULL;
	const char *hosts[FERRY_MAX_HOSTS];
	struct ferryd_paths paths = { 0 };
	struct datadir_init_opts opts;
	struct datadir_init_result res;
	struct datadir d = { 0 };
	bool force = false;
	size_t nhosts = 0;
	int c, r, ret = CLI_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:H:fh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			paths.data = optarg;
			break;
		case OPT_CONFIG:
			paths.config = optarg;
			break;
		case 'n':
			org = optarg;
			break;
		case 'H':
			if (nhosts == FERRY_MAX_HOSTS)
				return cli_usage_error(cmd, "at most %u --host names",
				    FERRY_MAX_HOSTS);
			hosts[nhosts++] = optarg;
			break;
		case OPT_CA_CERT:
			ca_cert = optarg;
			break;
		case OPT_CA_KEY:
			ca_key = optarg;
			break;
		case 'f':
			force = true;
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
	if ((ca_cert == NULL) != (ca_key == NULL))
		return cli_usage_error(cmd, "--ca-cert and --ca-key go together");
	if (nhosts == 0) {
		hosts[0] = default_hosts[0];
		hosts[1] = default_hosts[1];
		nhosts = 2;
	}

	for (size_t i = 0; i < nhosts; i++)
		if ((r = pki_host_check(hosts[i], NULL)) != 0)
			return cli_error(ferry_error_prefix(r, "--host"));

	/* Nothing in the data directory is for anybody else. */
	umask(077);
	if ((r = ferryd_paths_resolve(&paths)) != 0 ||
	    (r = datadir_paths(paths.data, &d)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	memset(&opts, 0, sizeof(opts));
	opts.org = org;
	opts.hosts = hosts;
	opts.nhosts = nhosts;
	opts.import_cert = ca_cert;
	opts.import_key = ca_key;
	opts.config = paths.config;
	opts.force = force;
	ferry_error_clear();
	if ((r = datadir_init(&d, &opts, &res)) != 0) {
		ret = cli_error(r);
		goto out;
	}

	printf("Initialised %s for organisation \"%s\":\n", d.dir, res.org);
	printf("  %-12s root CA %s, %s, serial %s\n", "ca.pem", res.ca_subject,
	    res.imported ? "imported" : "new P-384 key", res.ca_serial);
	print_date("               valid until ", res.ca_not_after);
	printf("  %-12s its private key (mode 0600)\n", "ca.key");
	printf("  %-12s server certificate for", "server.pem");
	for (size_t i = 0; i < nhosts; i++)
		printf(" %s", hosts[i]);
	printf(", serial %s\n", res.server_serial);
	print_date("               valid until ", res.server_not_after);
	printf("  %-12s its private key (mode 0600)\n", "server.key");
	printf("  %-12s users, certificates, audit log (no users yet)\n", "ferry.db");
	printf("  %-12s settings with their defaults%s%s\n", "ferryd.conf",
	    strcmp(paths.config, d.config) != 0 ? ", written to " : "",
	    strcmp(paths.config, d.config) != 0 ? paths.config : "");
	printf("  %-12s certificate revocation list (empty)\n", "crl.pem");
	printf("  %-12s master key of the stored files (mode 0600; back it up with ferry.db)\n",
	    "master.key");
	printf("  %-12s the stored files, encrypted (none yet)\n", "objects/");
	printf("\nNext:\n"
	    "  ferryd user add NAME --data %s           add a user (asks for a password)\n"
	    "  ferryd ca export --data %s > root.pem    the root certificate for clients\n"
	    "  ferryd serve --data %s                   accept enrolments on %s\n"
	    "  ferry enroll --server HOST:PORT --ca root.pem --user NAME   on a client\n",
	    d.dir, d.dir, d.dir, "127.0.0.1:4433");
	ret = CLI_EXIT_OK;
out:
	datadir_free(&d);
	ferryd_paths_free(&paths);
	return ret;
}
