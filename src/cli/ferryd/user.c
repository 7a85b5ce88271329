/* ferryd user: add, list, disable, enable and set the password of user accounts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cli/common/cli.h"
#include "cli/common/prompt.h"
#include "cli/ferryd/ferryd.h"
#include "server/datadir.h"
#include "server/settings.h"
#include "store/account.h"
#include "store/db.h"
#include "util/err.h"

enum {
	OPT_DATA = 256,
	OPT_CONFIG,
	OPT_PASSWORD_FILE,
};

static const struct option long_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage(void)
{
	printf("Usage: ferryd user add NAME [--password-file FILE] [--data DIR] [--config FILE]\n"
	    "       ferryd user list [--data DIR] [--config FILE]\n"
	    "       ferryd user disable NAME [--data DIR] [--config FILE]\n"
	    "       ferryd user enable NAME [--data DIR] [--config FILE]\n"
	    "       ferryd user passwd NAME [--password-file FILE] [--data DIR] [--config FILE]\n\n"
	    "Manage the accounts that may enrol. A name is 1 to 32 characters of a-z, 0-9,\n"
	    "'.', '_' and '-', starting with a letter or digit. Passwords are stored only as\n"
	    "salted scrypt hashes. A disabled user can neither enrol nor open sessions.\n\n"
	    "      --password-file FILE  read the password from the first line of FILE instead\n"
	    "                            of asking twice on the terminal\n"
	    "      --data DIR            the data directory (default $FERRY_DATA, else %s)\n"
	    "      --config FILE         the config file (default DIR/ferryd.conf)\n"
	    "  -h, --help                show this help\n", FERRYD_DEFAULT_DATA);
}

/* The parsed command line of one user subcommand. */
struct user_args {
	const char *cmd;		/* "user add", ... */
	const char *name;		/* NULL for list */
	const char *password_file;
	struct ferryd_paths paths;
};

/* Parse argv (argv[0] the subcommand); returns -1 to go on, else an exit status. */
static int
parse(int argc, char **argv, bool takes_name, bool takes_password, struct user_args *a)
{
	const char *why;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			a->paths.data = optarg;
			break;
		case OPT_CONFIG:
			a->paths.config = optarg;
			break;
		case OPT_PASSWORD_FILE:
			if (!takes_password)
				return cli_usage_error(a->cmd, "unknown option '--password-file'");
			a->password_file = optarg;
			break;
		case 'h':
			usage();
			return CLI_EXIT_OK;
		default:
			return cli_getopt_error(a->cmd, c, argv);
		}
	}
	if (takes_name) {
		if (optind >= argc)
			return cli_usage_error(a->cmd, "no user name given");
		a->name = argv[optind++];
		if ((why = account_name_reason(a->name)) != NULL)
			return cli_usage_error(a->cmd, "invalid user name '%s': %s", a->name, why);
	}
	if (optind < argc)
		return cli_usage_error(a->cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* The new password: from the file, or typed twice on the terminal. */
static int
get_password(const struct user_args *a, char **pw, size_t *len)
{
	char prompt[80];
	int r;

	if (a->password_file != NULL)
		return passphrase_read_file(a->password_file, pw, len);
	snprintf(prompt, sizeof(prompt), "Password for %s: ", a->name);
	r = prompt_passphrase(prompt, true, pw, len);
	if (r == FERRY_ERR_NEED_PASSPHRASE)
		r = ferry_fail(r, "no terminal to ask for the password on; give "
		    "--password-file FILE");
	else if (r == FERRY_ERR_PASSPHRASE)
		r = ferry_fail(r, "the passwords did not match (or were empty)");
	return r;
}

static int
set_password(int argc, char **argv, bool add)
{
	struct user_args a = { .cmd = add ? "user add" : "user passwd" };
	struct ferryd_settings s;
	struct datadir d = { 0 };
	struct db_user u;
	struct db *db = NULL;
	char *pw = NULL, rec[ACCOUNT_RECORD_SIZE];
	size_t pw_len = 0;
	int r, ret;

	if ((ret = parse(argc, argv, true, true, &a)) >= 0)
		return ret;
	ret = CLI_EXIT_FAIL;
	ferry_error_clear();
	if ((r = ferryd_open(&a.paths, &d, &s)) != 0 || (r = db_open(d.db, &db)) != 0)
		goto out;
	/* Say so before asking for a password that would be thrown away. */
	r = db_user_get(db, a.name, &u);
	OPENSSL_cleanse(&u, sizeof(u));
	if (add && r == 0) {
		r = ferry_fail(FERRY_ERR_EXISTS, "user %s already exists (change the password "
		    "with 'ferryd user passwd %s')", a.name, a.name);
		goto out;
	}
	if (!add && r == FERRY_ERR_NOT_FOUND) {
		r = ferry_fail(r, "no user %s", a.name);
		goto out;
	}
	if (r != 0 && r != FERRY_ERR_NOT_FOUND)
		goto out;
	if ((r = get_password(&a, &pw, &pw_len)) != 0 ||
	    (r = account_password_hash((const uint8_t *)pw, pw_len, rec, sizeof(rec))) != 0)
		goto out;
	if (add)
		r = db_user_add(db, a.name, rec);
	else
		r = db_user_set_password(db, a.name, rec);
	if (r != 0)
		goto out;
	printf(add ? "added user %s\n" : "changed the password of %s\n", a.name);
	ret = CLI_EXIT_OK;
out:
	if (r != 0)
		ret = cli_error(r);
	OPENSSL_cleanse(rec, sizeof(rec));
	passphrase_free(pw);
	db_close(db);
	datadir_free(&d);
	ferryd_paths_free(&a.paths);
	return ret;
}

static int
set_disabled(int argc, char **argv, bool disabled)
{
	struct user_args a = { .cmd = disabled ? "user disable" : "user enable" };
	struct ferryd_settings s;
	struct datadir d = { 0 };
	struct db_user u;
	struct db *db = NULL;
	int r, ret;

	if ((ret = parse(argc, argv, true, false, &a)) >= 0)
		return ret;
	ret = CLI_EXIT_FAIL;
	ferry_error_clear();
	if ((r = ferryd_open(&a.paths, &d, &s)) != 0 || (r = db_open(d.db, &db)) != 0)
		goto out;
	if ((r = db_user_get(db, a.name, &u)) != 0) {
		if (r == FERRY_ERR_NOT_FOUND)
			r = ferry_fail(r, "no user %s", a.name);
		goto out;
	}
	if ((r = db_user_set_disabled(db, a.name, disabled)) != 0)
		goto out;
	if (u.disabled == disabled)
		printf("user %s was already %s\n", a.name, disabled ? "disabled" : "enabled");
	else if (disabled)
		printf("disabled user %s: no more enrolments, and sessions with its "
		    "certificates are refused\n", a.name);
	else
		printf("enabled user %s\n", a.name);
	ret = CLI_EXIT_OK;
out:
	if (r != 0)
		ret = cli_error(r);
	OPENSSL_cleanse(&u, sizeof(u));
	db_close(db);
	datadir_free(&d);
	ferryd_paths_free(&a.paths);
	return ret;
}

struct list_state {
	struct db *db;
	int64_t now;
	size_t n;
};

static int
list_one(void *arg, const struct db_user *u)
{
	struct list_state *st = arg;
	char created[32];
	time_t t = (time_t)u->created;
	unsigned n = 0;
	struct tm tm;
	int r;

	if ((r = db_cert_count_valid(st->db, u->name, st->now, &n)) != 0)
		return r;
	gmtime_r(&t, &tm);
	strftime(created, sizeof(created), "%Y-%m-%d %H:%M:%S", &tm);
	if (st->n++ == 0)
		printf("%-32s  %-8s  %-19s  %s\n", "NAME", "STATUS", "CREATED (UTC)",
		    "VALID CERTS");
	printf("%-32s  %-8s  %-19s  %u\n", u->name, u->disabled ? "disabled" : "enabled",
	    created, n);
	return 0;
}

static int
list(int argc, char **argv)
{
	struct user_args a = { .cmd = "user list" };
	struct list_state st = { 0 };
	struct ferryd_settings s;
	struct datadir d = { 0 };
	struct db *db = NULL;
	int r, ret;

	if ((ret = parse(argc, argv, false, false, &a)) >= 0)
		return ret;
	ret = CLI_EXIT_FAIL;
	ferry_error_clear();
	if ((r = ferryd_open(&a.paths, &d, &s)) != 0 || (r = db_open(d.db, &db)) != 0)
		goto out;
	st.db = db;
	st.now = (int64_t)time(NULL);
	if ((r = db_user_list(db, list_one, &st)) != 0)
		goto out;
	if (st.n == 0)
		fprintf(stderr, "ferryd: no users yet (add one with 'ferryd user add NAME')\n");
	ret = CLI_EXIT_OK;
out:
	if (r != 0)
		ret = cli_error(r);
	db_close(db);
	datadir_free(&d);
	ferryd_paths_free(&a.paths);
	return ret;
}

int
cmd_user(int argc, char **argv)
{
	const char *sub;

	if (argc < 2)
		return cli_usage_error("user", "which one: add, list, disable, enable, passwd?");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		usage();
		return CLI_EXIT_OK;
	}
	if (strcmp(sub, "add") == 0)
		return set_password(argc - 1, argv + 1, true);
	if (strcmp(sub, "passwd") == 0)
		return set_password(argc - 1, argv + 1, false);
	if (strcmp(sub, "list") == 0)
		return list(argc - 1, argv + 1);
	if (strcmp(sub, "disable") == 0)
		return set_disabled(argc - 1, argv + 1, true);
	if (strcmp(sub, "enable") == 0)
		return set_disabled(argc - 1, argv + 1, false);
	return cli_usage_error("user", "unknown subcommand '%s' (add, list, disable, enable, "
	    "passwd)", sub);
}
