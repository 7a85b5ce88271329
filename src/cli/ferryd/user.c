/* ferryd user: add, list, disable, enable, delete and set the password of user accounts. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/common/cli.h"
#include "cli/common/prompt.h"
#include "cli/ferryd/ferryd.h"
#include "server/datadir.h"
#include "server/settings.h"
#include "store/account.h"
#include "store/db.h"
#include "store/meta.h"
#include "store/objects.h"
#include "store/partials.h"
#include "store/vault.h"
#include "util/err.h"
#include "util/io.h"

enum {
	OPT_DATA = 256,
	OPT_CONFIG,
	OPT_PASSWORD_FILE,
	OPT_YES,
};

static const struct option long_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "yes", no_argument, NULL, OPT_YES },
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
	    "       ferryd user passwd NAME [--password-file FILE] [--data DIR] [--config FILE]\n"
	    "       ferryd user delete NAME [--yes] [--data DIR] [--config FILE]\n\n"
	    "Manage the accounts that may enrol. A name is 1 to 32 characters of a-z, 0-9,\n"
	    "'.', '_' and '-', starting with a letter or digit. Passwords are stored only as\n"
	    "salted scrypt hashes. A disabled user can neither enrol nor open sessions.\n"
	    "delete revokes the user's certificates, removes the stored files and partial\n"
	    "uploads, erases the user's key and deletes the account; it cannot be undone.\n\n"
	    "      --password-file FILE  read the password from the first line of FILE instead\n"
	    "                            of asking twice on the terminal\n"
	    "      --yes                 delete without asking (required when standard input\n"
	    "                            is not a terminal)\n"
	    "      --data DIR            the data directory (default $FERRY_DATA, else %s)\n"
	    "      --config FILE         the config file (default DIR/ferryd.conf)\n"
	    "  -h, --help                show this help\n", FERRYD_DEFAULT_DATA);
}

/* The parsed command line of one user subcommand. */
struct user_args {
	const char *cmd;		/* "user add", ... */
	const char *name;		/* NULL for list */
	const char *password_file;
	bool yes;			/* --yes (delete) */
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
		case OPT_YES:
			if (strcmp(a->cmd, "user delete") != 0)
				return cli_usage_error(a->cmd, "unknown option '--yes'");
			a->yes = true;
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

/* ---- user delete ------------------------------------------------------------------------ */

/* One stored object or partial upload to remove. */
struct del_item {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	char object[OBJECTS_ID_HEX_LEN + 1];
	uint64_t size;
};

struct del_list {
	struct del_item *v;
	size_t n, cap;
};

static int
del_list_add(struct del_list *l, const char *name, const char *object, uint64_t size)
{
	struct del_item *nv;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap == 0 ? 64 : l->cap * 2;
		if ((nv = realloc(l->v, cap * sizeof(*nv))) == NULL)
			return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		l->v = nv;
		l->cap = cap;
	}
	snprintf(l->v[l->n].name, sizeof(l->v[0].name), "%s", name);
	snprintf(l->v[l->n].object, sizeof(l->v[0].object), "%s", object);
	l->v[l->n].size = size;
	l->n++;
	return 0;
}

static int
collect_object(void *arg, const struct db_object *o)
{
	return del_list_add(arg, o->name, o->object, o->size);
}

static int
collect_partial(void *arg, const struct db_partial *p)
{
	return del_list_add(arg, p->name, p->object, p->size);
}

/* Unlink dir/object; a file already gone is fine (a previous run removed it). */
static int
unlink_object(const char *dir, const char *object)
{
	char path[4096];

	if (!objects_id_valid(object))
		return ferry_fail(FERRY_ERR_DB, "database: \"%.40s\" is not an object id", object);
	snprintf(path, sizeof(path), "%s/%s", dir, object);
	if (unlink(path) != 0 && errno != ENOENT)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	return 0;
}

/* What a deletion removed, for the report. */
struct del_counts {
	size_t certs;           /* certificates revoked (by this run) */
	size_t crl_total;       /* entries of the rebuilt CRL */
	size_t objects;         /* stored files removed */
	uint64_t bytes;         /* their plaintext size */
	size_t partials;        /* partial uploads removed */
	bool key_erased;        /* the user key was deleted by this run */
};

/*
 * Remove the user's stored files: each file is unlinked first and its row deleted only
 * after the directory is synced, so after a crash every file still on disk has its row
 * and the next run finds it.
 */
static int
delete_objects(struct db *db, const struct datadir *d, const char *user,
    const struct meta_key *k, struct del_counts *c)
{
	struct del_list l = { 0 };
	int r;

	if ((r = objects_list(db, user, k, collect_object, &l)) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		if ((r = unlink_object(d->objects, l.v[i].object)) != 0)
			goto out;
	/* The unlinks durable before the rows that name the files go. */
	if (l.n > 0 && (r = io_fsync_dir(d->objects)) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		r = objects_delete_object(db, user, l.v[i].object);
		if (r == FERRY_ERR_NOT_FOUND) {	/* removed or replaced meanwhile by a session */
			r = 0;
			continue;
		}
		if (r != 0)
			goto out;
		c->objects++;
		c->bytes += l.v[i].size;
	}
out:
	free(l.v);
	return r;
}

/* The same for the user's partial uploads and their files in objects/tmp/. */
static int
delete_partials(struct db *db, const struct datadir *d, const char *user,
    struct del_counts *c)
{
	struct del_list l = { 0 };
	int r;

	if ((r = partials_list_user(db, user, NULL, collect_partial, &l)) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++)
		if ((r = unlink_object(d->objects_tmp, l.v[i].object)) != 0)
			goto out;
	if (l.n > 0 && (r = io_fsync_dir(d->objects_tmp)) != 0)
		goto out;
	for (size_t i = 0; i < l.n; i++) {
		if ((r = partials_remove(db, l.v[i].object)) != 0)
			goto out;
		c->partials++;
	}
out:
	free(l.v);
	return r;
}

/* Crypto-erase the user's key; none (a previous run erased it) is fine. */
static int
delete_key(struct vault *v, const char *user, struct del_counts *c)
{
	int r;

	r = vault_user_key_delete(v, user);
	if (r == 0)
		c->key_erased = true;
	else if (r == FERRY_ERR_NOT_FOUND)
		r = 0;
	return r;
}

/* The user's metadata key into *k if the user key still exists (*have). */
static int
user_meta_key(struct vault *v, const char *user, struct meta_key *k, bool *have)
{
	struct vault_user_key *uk = NULL;
	int r;

	*have = false;
	if ((r = vault_user_key(v, user, false, &uk)) == FERRY_ERR_NOT_FOUND)
		return 0;
	if (r == 0 && (r = meta_key_derive(uk, k)) == 0)
		*have = true;
	vault_user_key_free(uk);
	return r;
}

/*
 * Ask on the terminal (standard input) unless --yes. 0 to go on, 1 when the answer was not
 * "yes", FERRY_ERR_USAGE without a terminal, or another error.
 */
static int
confirm_delete(const struct user_args *a, struct db *db, const struct meta_key *k)
{
	struct del_list objs = { 0 }, parts = { 0 };
	uint64_t bytes = 0;
	unsigned certs = 0;
	char line[64];
	int r;

	if (a->yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return ferry_fail(FERRY_ERR_USAGE, "user delete: standard input is not a terminal "
		    "to confirm on; give --yes to delete user %s", a->name);
	if ((r = objects_list(db, a->name, k, collect_object, &objs)) != 0 ||
	    (r = partials_list_user(db, a->name, NULL, collect_partial, &parts)) != 0 ||
	    (r = db_cert_count_valid(db, a->name, (int64_t)time(NULL), &certs)) != 0)
		goto out;
	for (size_t i = 0; i < objs.n; i++)
		bytes += objs.v[i].size;
	fprintf(stderr, "Delete user %s: revoke %u valid certificate%s, remove %zu stored "
	    "file%s (%llu bytes) and %zu partial upload%s, erase the user's key.\n"
	    "This cannot be undone. Type \"yes\" to go on: ", a->name, certs,
	    certs == 1 ? "" : "s", objs.n, objs.n == 1 ? "" : "s", (unsigned long long)bytes,
	    parts.n, parts.n == 1 ? "" : "s");
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes") != 0)
		r = 1;
out:
	free(objs.v);
	free(parts.v);
	return r;
}

/* Rounds of "remove the files, then the account" before giving up on a user whose
 * session keeps adding files. */
#define DELETE_ROUNDS 5

static int
delete_user(int argc, char **argv)
{
	struct user_args a = { .cmd = "user delete" };
	struct del_counts c = { 0 };
	struct ferryd_settings s;
	struct datadir d = { 0 };
	struct db_user u;
	struct db *db = NULL;
	struct vault *v = NULL;
	struct meta_key k = { { 0 }, { 0 } };
	char detail[200];
	size_t late = 0, sealed;
	bool have_key = false;
	int64_t now;
	int r, ret;

	if ((ret = parse(argc, argv, true, false, &a)) >= 0)
		return ret;
	ret = CLI_EXIT_FAIL;
	ferry_error_clear();
	memset(&u, 0, sizeof(u));
	if ((r = ferryd_open(&a.paths, &d, &s)) != 0 || (r = db_open(d.db, &db)) != 0)
		goto out;
	if ((r = db_user_get(db, a.name, &u)) != 0) {
		if (r == FERRY_ERR_NOT_FOUND)
			r = ferry_fail(r, "no user %s", a.name);
		goto out;
	}
	/* Files stored before schema 5 are sealed first, so that they are found below. */
	if ((r = vault_open(d.dir, db, &v)) != 0 ||
	    (r = objects_seal_legacy(db, v, &sealed)) != 0 ||
	    (r = user_meta_key(v, a.name, &k, &have_key)) != 0)
		goto out;
	if ((r = confirm_delete(&a, db, have_key ? &k : NULL)) > 0) {
		fprintf(stderr, "%s: user %s not deleted (the answer was not \"yes\")\n",
		    cli_progname(), a.name);
		r = 0;
		goto out;
	}
	if (r != 0)
		goto out;
	now = (int64_t)time(NULL);
	/* No enrolment from now on, then no session with a certificate issued before. */
	if ((r = db_user_set_disabled(db, a.name, true)) != 0 ||
	    (r = db_cert_revoke(db, a.name, now, &c.certs)) != 0 ||
	    (r = datadir_crl_rebuild(&d, db, &c.crl_total)) != 0)
		goto out;
	for (int round = 0;; round++) {
		if ((r = delete_objects(db, &d, a.name, have_key ? &k : NULL, &c)) != 0 ||
		    (r = delete_partials(db, &d, a.name, &c)) != 0 ||
		    (r = delete_key(v, a.name, &c)) != 0)
			goto out;
		r = account_delete(db, a.name, (int64_t)time(NULL), &late);
		if (r != FERRY_ERR_EXISTS || round + 1 == DELETE_ROUNDS)
			break;
	}
	if (r != 0)
		goto out;
	/* Again, from the retired certificates now: it also lists any enrolled between the
	 * revocation and the disabling. */
	c.certs += late;
	if ((r = datadir_crl_rebuild(&d, db, &c.crl_total)) != 0)
		goto out;
	snprintf(detail, sizeof(detail), "%zu certificates revoked, %zu files (%llu bytes) and "
	    "%zu partial uploads removed, key %s", c.certs, c.objects,
	    (unsigned long long)c.bytes, c.partials, c.key_erased ? "erased" : "already gone");
	/* The account is gone: what follows only tidies up, and cannot undo it. */
	{
		char scope[FERRY_MAX_AUTH_SCOPE + 1];

		snprintf(scope, sizeof(scope), "user:%s", a.name);
		(void)db_auth_succeeded(db, scope);
	}
	(void)db_audit(db, "user delete", a.name, "", true, detail);
	printf("deleted user %s:\n", a.name);
	printf("  revoked %zu certificate%s (%s now lists %zu)\n", c.certs,
	    c.certs == 1 ? "" : "s", d.crl, c.crl_total);
	printf("  removed %zu stored file%s (%llu bytes)\n", c.objects, c.objects == 1 ? "" : "s",
	    (unsigned long long)c.bytes);
	printf("  removed %zu partial upload%s\n", c.partials, c.partials == 1 ? "" : "s");
	printf("  %s\n", c.key_erased ? "erased the user's key" : "no user key left to erase");
	printf("  deleted the account\n");
	ret = CLI_EXIT_OK;
out:
	if (r != 0)
		ret = cli_error(r);
	OPENSSL_cleanse(&u, sizeof(u));
	meta_key_clear(&k);
	vault_free(v);
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
		return cli_usage_error("user", "which one: add, list, disable, enable, passwd, "
		    "delete?");
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
	if (strcmp(sub, "delete") == 0)
		return delete_user(argc - 1, argv + 1);
	return cli_usage_error("user", "unknown subcommand '%s' (add, list, disable, enable, "
	    "passwd, delete)", sub);
}
