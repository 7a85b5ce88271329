/* ferry whoami: the identity in the client profile, and whether the server accepts it. */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/common/cli.h"
#include "cli/ferry/ferry.h"
#include "client/connect.h"
#include "client/profile.h"
#include "crypto/keys.h"
#include "pki/pki.h"
#include "util/err.h"

enum {
	OPT_PROFILE = 256,
};

static const struct option long_options[] = {
	{ "check", no_argument, NULL, 'c' },
	{ "server", required_argument, NULL, 's' },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry whoami [--check] [--server HOST:PORT] [--profile DIR]\n\n"
	    "Show the identity in the client profile: the name it was issued for, the\n"
	    "certificate's serial and expiry, the key type and the server.\n\n"
	    "  -c, --check              also connect with the certificate and ask the server\n"
	    "                           whether it accepts it (exit 1 if not)\n"
	    "  -s, --server HOST:PORT   the server to ask (default: the profile's)\n"
	    "      --profile DIR        the profile directory (default $FERRY_HOME, else\n"
	    "                           ~/.config/ferry)\n"
	    "  -h, --help               show this help\n");
}

static void
format_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "@%lld", (long long)t);
}

/* Ask the server whether it accepts the profile's certificate. */
static int
check(const struct profile *p, const char *server, X509 *cert, EVP_PKEY *key)
{
	struct client_conn *c = NULL;
	char what[FERRY_MAX_HOST_PORT + 64];
	int r;

	snprintf(what, sizeof(what), "server %s refused this certificate", server);
	r = client_connect(server, p->root_path, cert, key, PROTO_PURPOSE_SESSION, &c, NULL);
	if (r != 0) {
		/* client_connect words a refusal as "server S refused this certificate: ..." */
		goto out;
	}
	if (c->helo.identity[0] == '\0') {
		r = ferry_fail(FERRY_ERR_AUTH, "%s: it named no identity", what);
		goto out;
	}
	printf("server %s accepts this certificate as %s\n", server, c->helo.identity);
	r = 0;
out:
	client_conn_free(c);
	return r;
}

int
cmd_whoami(int argc, char **argv)
{
	const char *cmd = "whoami", *server = NULL, *profile_dir = NULL;
	struct profile prof = { 0 };
	char cn[FERRY_MAX_MSG_USER + 1], serial[PKI_SERIAL_HEX_MAX], when[64];
	bool do_check = false;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int64_t not_after, now, days;
	int c, r, ret = CLI_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":cs:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'c':
			do_check = true;
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
	if (server != NULL && profile_check_server(server) != 0)
		return cli_usage_error(cmd, "'%s' is not a server address (HOST:PORT)", server);

	ferry_error_clear();
	if ((r = profile_resolve(profile_dir, &prof)) != 0 ||
	    (r = profile_load_conf(&prof)) != 0 ||
	    (r = profile_load_identity(&prof, &cert, &key)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	if (server == NULL)
		server = prof.server;
	if ((r = pki_cert_user(cert, cn, sizeof(cn))) != 0 ||
	    (r = pki_cert_serial_hex(cert, serial, sizeof(serial))) != 0 ||
	    (r = pki_cert_not_after(cert, &not_after)) != 0) {
		ret = cli_error(ferry_error_prefix(r, "%s", prof.cert_path));
		goto out;
	}
	format_time(not_after, when, sizeof(when));
	now = (int64_t)time(NULL);
	printf("identity: %s\n", cn);
	printf("serial:   %s\n", serial);
	if (not_after >= now) {
		days = (not_after - now) / 86400;
		printf("expires:  %s (%lld day%s left)\n", when, (long long)days,
		    days == 1 ? "" : "s");
	} else {
		days = (now - not_after) / 86400;
		printf("expires:  %s (EXPIRED %lld day%s ago)\n", when, (long long)days,
		    days == 1 ? "" : "s");
	}
	printf("key:      %s\n", key_describe(key));
	printf("server:   %s\n", server != NULL ? server : "(none)");
	printf("profile:  %s\n", prof.dir);
	fflush(stdout);
	if (pki_cert_check_key(cert, key) != 0)
		fprintf(stderr, "ferry: warning: %s does not match %s\n", prof.key_path,
		    prof.cert_path);
	if (not_after < now)
		fprintf(stderr, "ferry: warning: the certificate expired on %s; "
		    "run 'ferry enroll --force' for a new one\n", when);

	if (do_check) {
		if (server == NULL) {
			ret = cli_usage_error(cmd, "the profile names no server (--server HOST:PORT)");
			goto out;
		}
		ferry_error_clear();
		if ((r = check(&prof, server, cert, key)) != 0) {
			ret = cli_error(r);
			goto out;
		}
	}
	ret = CLI_EXIT_OK;
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	profile_free(&prof);
	return ret;
}
