/*
 * ferry enroll: a new key pair, certified by the organisation's ferry server, stored in
 * the client profile.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/common/cli.h"
#include "cli/common/prompt.h"
#include "cli/ferry/ferry.h"
#include "client/enroll.h"
#include "client/profile.h"
#include "crypto/keys.h"
#include "pki/pki.h"
#include "util/err.h"

enum {
	OPT_PASSWORD_FILE = 256,
	OPT_KEY_TYPE,
	OPT_CA,
	OPT_PROFILE,
};

static const struct option long_options[] = {
	{ "server", required_argument, NULL, 's' },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "user", required_argument, NULL, 'u' },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "key-type", required_argument, NULL, OPT_KEY_TYPE },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "force", no_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferry enroll --server HOST:PORT --ca ROOT.pem --user NAME\n"
	    "                    [--password-file FILE] [--key-type p384|rsa3072]\n"
	    "                    [--profile DIR] [--force]\n\n"
	    "Generate a key pair here, have the ferry server at HOST:PORT certify it for the\n"
	    "account NAME (the password is typed without echo, or read from FILE), and store\n"
	    "key.pem, cert.pem, root.pem and profile.conf in the profile directory. The\n"
	    "server's certificate must be issued by the CA in ROOT.pem for HOST.\n\n"
	    "  -s, --server HOST:PORT     the server to enrol with (default: the profile's)\n"
	    "      --ca ROOT.pem          the organisation's root certificate, from\n"
	    "                             'ferryd ca export' (default: the profile's root.pem)\n"
	    "  -u, --user NAME            the account name\n"
	    "      --password-file FILE   read the password from the first line of FILE\n"
	    "      --key-type TYPE        p384 (default) or rsa3072\n"
	    "      --profile DIR          the profile directory (default $FERRY_HOME, else\n"
	    "                             ~/.config/ferry)\n"
	    "  -f, --force                replace an identity the profile already holds\n"
	    "  -h, --help                 show this help\n");
}

/* "2027-02-25 17:55:08 UTC" */
static void
format_time(int64_t t, char *out, size_t outlen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "@%lld", (long long)t);
}

static int
report(const struct enroll_result *res, const char *user, const char *server,
    const struct profile *p)
{
	char serial[PKI_SERIAL_HEX_MAX], when[64];
	int64_t not_after;
	int r;

	if ((r = pki_cert_serial_hex(res->cert, serial, sizeof(serial))) != 0 ||
	    (r = pki_cert_not_after(res->cert, &not_after)) != 0)
		return r;
	format_time(not_after, when, sizeof(when));
	printf("enrolled as %s with server %s\n", user, server);
	printf("  key:      %s, in %s\n", key_describe(res->key), p->key_path);
	printf("  serial:   %s\n", serial);
	printf("  expires:  %s (%lld days)\n", when,
	    (long long)((not_after - (int64_t)time(NULL) + 43200) / 86400));
	return 0;
}

int
cmd_enroll(int argc, char **argv)
{
	const char *cmd = "enroll", *server = NULL, *ca = NULL, *user = NULL;
	const char *pass_file = NULL, *type_name = "p384", *profile_dir = NULL;
	struct profile prof = { 0 };
	struct enroll_request req;
	struct enroll_result res = { 0 };
	char *pass = NULL, prompt[FERRY_MAX_HOST_PORT + 64];
	size_t pass_len = 0;
	bool force = false;
	enum key_type type;
	int c, r, ret = CLI_EXIT_FAIL;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:u:fh", long_options, NULL)) != -1) {
		switch (c) {
		case 's':
			server = optarg;
			break;
		case OPT_CA:
			ca = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			pass_file = optarg;
			break;
		case OPT_KEY_TYPE:
			type_name = optarg;
			break;
		case OPT_PROFILE:
			profile_dir = optarg;
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
	if (user == NULL)
		return cli_usage_error(cmd, "no account name given (--user NAME)");
	if (key_type_parse(type_name, &type) != 0 || (type != KEY_P384 && type != KEY_RSA3072))
		return cli_usage_error(cmd, "key type '%s' cannot be enrolled (p384, rsa3072)",
		    type_name);
	if (!pki_user_name_ok(user))
		return cli_usage_error(cmd, "'%s' is not a valid user name (1 to %u of a-z 0-9 . _ -,"
		    " starting with a letter or digit)", user, FERRY_MAX_USER_NAME);
	ferry_error_clear();
	if ((r = profile_resolve(profile_dir, &prof)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	/* Defaults from an existing profile, for renewing with --force. */
	if ((server == NULL || ca == NULL) && (r = profile_load_conf(&prof)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	if (server == NULL && (server = prof.server) == NULL) {
		ret = cli_usage_error(cmd, "no server given (--server HOST:PORT)");
		goto out;
	}
	if (ca == NULL) {
		if (!profile_has_identity(&prof)) {
			ret = cli_usage_error(cmd, "no root certificate given (--ca ROOT.pem)");
			goto out;
		}
		ca = prof.root_path;
	}
	if ((r = profile_check_server(server)) != 0) {
		ret = cli_usage_error(cmd, "%s", ferry_error_detail(r));
		goto out;
	}
	/* Refuse before a password is asked for or spent. */
	if (!force && (r = profile_check_absent(&prof)) != 0) {
		ret = cli_error(r);
		goto out;
	}

	if (pass_file != NULL) {
		r = passphrase_read_file(pass_file, &pass, &pass_len);
	} else {
		snprintf(prompt, sizeof(prompt), "Password for %s at %s: ", user, server);
		r = prompt_passphrase(prompt, false, &pass, &pass_len);
		if (r == FERRY_ERR_NEED_PASSPHRASE)
			r = ferry_fail(r, "no terminal to ask for the password on; "
			    "give --password-file FILE instead");
	}
	if (r != 0) {
		ret = cli_error(r);
		goto out;
	}

	memset(&req, 0, sizeof(req));
	req.server = server;
	req.root_path = ca;
	req.user = user;
	req.password = pass;
	req.password_len = pass_len;
	req.key_type = type;
	ferry_error_clear();
	r = client_enroll(&req, &res);
	passphrase_free(pass);
	pass = NULL;
	if (r != 0) {
		ret = cli_error(r);
		goto out;
	}
	if ((r = profile_save(&prof, res.key, res.cert, res.root, server, force)) != 0 ||
	    (r = report(&res, user, server, &prof)) != 0) {
		ret = cli_error(r);
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	passphrase_free(pass);
	enroll_result_free(&res);
	profile_free(&prof);
	return ret;
}
