#include "server/datadir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "crypto/keys.h"
#include "server/settings.h"
#include "store/objects.h"
#include "store/partials.h"
#include "store/vault.h"
#include "util/err.h"

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *p;

	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int
datadir_paths(const char *dir, struct datadir *d)
{
	memset(d, 0, sizeof(*d));
	if ((d->dir = strdup(dir)) == NULL ||
	    (d->ca_cert = join(dir, DATADIR_CA_CERT)) == NULL ||
	    (d->ca_key = join(dir, DATADIR_CA_KEY)) == NULL ||
	    (d->server_cert = join(dir, DATADIR_SERVER_CERT)) == NULL ||
	    (d->server_key = join(dir, DATADIR_SERVER_KEY)) == NULL ||
	    (d->db = join(dir, DATADIR_DB)) == NULL ||
	    (d->config = join(dir, DATADIR_CONFIG)) == NULL ||
	    (d->crl = join(dir, DATADIR_CRL)) == NULL ||
	    (d->objects = join(dir, DATADIR_OBJECTS)) == NULL ||
	    (d->objects_tmp = join(dir, DATADIR_OBJECTS_TMP)) == NULL) {
		datadir_free(d);
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	}
	return 0;
}

void
datadir_free(struct datadir *d)
{
	free(d->dir);
	free(d->ca_cert);
	free(d->ca_key);
	free(d->server_cert);
	free(d->server_key);
	free(d->db);
	free(d->config);
	free(d->crl);
	free(d->objects);
	free(d->objects_tmp);
	memset(d, 0, sizeof(*d));
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool
datadir_initialised(const struct datadir *d)
{
	return exists(d->ca_cert) || exists(d->ca_key) || exists(d->db);
}

int
datadir_require(const struct datadir *d)
{
	const char *missing = NULL;
	struct stat st;

	if (stat(d->dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "%s: no data directory here (create one "
		    "with 'ferryd init --data %s')", d->dir, d->dir);
	if (!exists(d->ca_cert))
		missing = DATADIR_CA_CERT;
	else if (!exists(d->ca_key))
		missing = DATADIR_CA_KEY;
	else if (!exists(d->db))
		missing = DATADIR_DB;
	if (missing != NULL)
		return ferry_fail(FERRY_ERR_NOT_FOUND, "%s: not an initialised data directory "
		    "(%s is missing; run 'ferryd init --data %s')", d->dir, missing, d->dir);
	return 0;
}

/* Create dir with mode 0700, or tighten an existing directory to 0700. */
static int
make_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return ferry_fail(FERRY_ERR_IO, "%s: cannot create the directory: %s", dir,
		    strerror(errno));
	if (lstat(dir, &st) != 0)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ferry_fail(FERRY_ERR_IO, "%s: exists and is not a directory", dir);
	if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) != 0)
		return ferry_fail(FERRY_ERR_IO, "%s: cannot set mode 0700: %s", dir,
		    strerror(errno));
	return 0;
}

/* Remove a database and its WAL companions so that --force starts afresh. */
static int
remove_db(const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char buf[4096];
	int r = 0;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if ((size_t)snprintf(buf, sizeof(buf), "%s%s", path, suffixes[i]) >= sizeof(buf))
			return ferry_fail(FERRY_ERR_LIMIT, "%s: path too long", path);
		if (unlink(buf) != 0 && errno != ENOENT && r == 0)
			r = ferry_fail(FERRY_ERR_IO, "%s: cannot remove: %s", buf, strerror(errno));
	}
	return r;
}

/* Remove the files of directory dir for which keep(name) is false (NULL: all); *count
 * (may be NULL) is increased by the number removed. A missing dir is fine. */
static int
sweep_dir(const char *dir, bool (*keep)(void *arg, const char *name), void *arg,
    size_t *count)
{
	struct dirent *e;
	struct stat st;
	DIR *dp;
	int dfd, r = 0;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return ferry_fail(FERRY_ERR_IO, "%s: %s", dir, strerror(errno));
	}
	if ((dp = fdopendir(dfd)) == NULL) {
		close(dfd);
		return ferry_fail(FERRY_ERR_IO, "%s: %s", dir, strerror(errno));
	}
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode))
			continue;
		if (keep != NULL && keep(arg, e->d_name))
			continue;
		if (unlinkat(dfd, e->d_name, 0) != 0) {
			if (r == 0)
				r = ferry_fail(FERRY_ERR_IO, "%s/%s: cannot remove: %s", dir,
				    e->d_name, strerror(errno));
			continue;
		}
		if (count != NULL)
			(*count)++;
	}
	if (fsync(dfd) != 0 && r == 0)
		r = ferry_fail(FERRY_ERR_IO, "%s: fsync: %s", dir, strerror(errno));
	closedir(dp);
	return r;
}

/* With --force: the master key and every object file of the replaced store. */
static int
remove_store(const struct datadir *d)
{
	static const char *const keys[] = { VAULT_MASTER_FILE, VAULT_MASTER_NEW_FILE };
	char *path;
	int r;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((path = join(d->dir, keys[i])) == NULL)
			return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		r = unlink(path) != 0 && errno != ENOENT ?
		    ferry_fail(FERRY_ERR_IO, "%s: cannot remove: %s", path, strerror(errno)) : 0;
		free(path);
		if (r != 0)
			return r;
	}
	if ((r = sweep_dir(d->objects_tmp, NULL, NULL, NULL)) != 0)
		return r;
	return sweep_dir(d->objects, NULL, NULL, NULL);
}

/* keep() for the objects directory: an object id the database refers to. Anything else
 * (a leftover, or a name that is not an object id) is removed; on a database error the
 * file is kept. */
static bool
keep_object(void *arg, const char *name)
{
	bool used = true;

	if (!objects_id_valid(name))
		return false;
	if (objects_referenced(arg, name, &used) != 0)
		return true;
	return used;
}

/* keep() for objects/tmp: the file of a partial upload still recorded. */
static bool
keep_partial(void *arg, const char *name)
{
	bool used = true;

	if (!objects_id_valid(name))
		return false;
	if (partials_referenced(arg, name, &used) != 0)
		return true;
	return used;
}

int
datadir_objects_prepare(const struct datadir *d, struct db *db, int64_t expire_before,
    size_t *swept)
{
	unsigned expired;
	int r;

	if (swept != NULL)
		*swept = 0;
	if ((r = make_dir(d->objects)) != 0 || (r = make_dir(d->objects_tmp)) != 0)
		return r;
	/* Forget expired partial uploads; the sweep below removes their files. */
	if ((r = partials_expire(db, expire_before, NULL, NULL, &expired)) != 0)
		return r;
	if ((r = sweep_dir(d->objects_tmp, keep_partial, db, swept)) != 0)
		return r;
	return sweep_dir(d->objects, keep_object, db, swept);
}

/* The O of a certificate's subject, if any and short enough, else "". */
static void
subject_org(X509 *cert, char *out, size_t outlen)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int n;

	out[0] = '\0';
	if (name == NULL)
		return;
	n = X509_NAME_get_text_by_NID(name, NID_organizationName, out, (int)outlen);
	if (n <= 0 || (size_t)n >= outlen)
		out[0] = '\0';
}

int
datadir_init(const struct datadir *d, const struct datadir_init_opts *opts,
    struct datadir_init_result *res)
{
	const char *config = opts->config != NULL ? opts->config : d->config;
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	X509 *ca_cert = NULL, *srv_cert = NULL;
	struct vault *vault = NULL;
	struct db *db = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if ((r = make_dir(d->dir)) != 0)
		goto out;
	if (!opts->force && (datadir_initialised(d) || exists(config))) {
		r = ferry_fail(FERRY_ERR_EXISTS, "%s: already initialised (use --force to "
		    "replace its CA, keys, database and config)", d->dir);
		goto out;
	}

	if (opts->import_cert != NULL) {
		if ((r = pki_ca_import(opts->import_cert, opts->import_key, &ca_key,
		    &ca_cert)) != 0)
			goto out;
		res->imported = true;
		if (opts->org != NULL)
			snprintf(res->org, sizeof(res->org), "%s", opts->org);
		else
			subject_org(ca_cert, res->org, sizeof(res->org));
		if (res->org[0] == '\0')
			snprintf(res->org, sizeof(res->org), "ferry");
	} else {
		snprintf(res->org, sizeof(res->org), "%s", opts->org != NULL ? opts->org :
		    "ferry");
		if ((r = pki_ca_create(res->org, &ca_key, &ca_cert)) != 0)
			goto out;
	}
	if ((r = pki_server_cert_issue(ca_key, ca_cert, opts->hosts, opts->nhosts, &srv_key,
	    &srv_cert)) != 0)
		goto out;

	/* Keys first: a certificate on disk without its key would be useless. */
	if ((r = key_save_private(ca_key, d->ca_key, NULL, 0, true)) != 0 ||
	    (r = pki_cert_save(ca_cert, d->ca_cert, true)) != 0 ||
	    (r = key_save_private(srv_key, d->server_key, NULL, 0, true)) != 0 ||
	    (r = pki_cert_save(srv_cert, d->server_cert, true)) != 0)
		goto out;
	/* The old database held the user keys: without it the old master key and objects
	 * are useless, so --force starts the at-rest store afresh too. */
	if ((r = remove_db(d->db)) != 0 || (r = remove_store(d)) != 0 ||
	    (r = db_open(d->db, &db)) != 0)
		goto out;
	if ((r = make_dir(d->objects)) != 0 || (r = make_dir(d->objects_tmp)) != 0 ||
	    (r = vault_open(d->dir, db, &vault)) != 0)
		goto out;
	if ((r = settings_write_default(config, res->org, true)) != 0)
		goto out;
	if ((r = datadir_crl_rebuild(d, db, NULL)) != 0)
		goto out;

	X509_NAME_oneline(X509_get_subject_name(ca_cert), res->ca_subject,
	    (int)sizeof(res->ca_subject));
	if ((r = pki_cert_serial_hex(ca_cert, res->ca_serial, sizeof(res->ca_serial))) != 0 ||
	    (r = pki_cert_not_after(ca_cert, &res->ca_not_after)) != 0 ||
	    (r = pki_cert_serial_hex(srv_cert, res->server_serial,
	    sizeof(res->server_serial))) != 0 ||
	    (r = pki_cert_not_after(srv_cert, &res->server_not_after)) != 0)
		goto out;
	r = 0;
out:
	vault_free(vault);
	db_close(db);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	X509_free(ca_cert);
	X509_free(srv_cert);
	return r;
}

/* The revoked serials collected from the database for the CRL. */
struct revoked_set {
	char **serials;
	int64_t *when;
	size_t n, cap;
};

static int
collect_revoked(void *arg, const char *serial_hex, int64_t revoked_at)
{
	struct revoked_set *s = arg;
	char **ns;
	int64_t *nw;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap == 0 ? 16 : s->cap * 2;
		if ((ns = realloc(s->serials, cap * sizeof(*ns))) == NULL)
			return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		s->serials = ns;
		if ((nw = realloc(s->when, cap * sizeof(*nw))) == NULL)
			return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		s->when = nw;
		s->cap = cap;
	}
	if ((s->serials[s->n] = strdup(serial_hex)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	s->when[s->n++] = revoked_at;
	return 0;
}

int
datadir_crl_rebuild(const struct datadir *d, struct db *db, size_t *count)
{
	struct revoked_set set = { 0 };
	EVP_PKEY *ca_key = NULL;
	X509 *ca_cert = NULL;
	X509_CRL *crl = NULL;
	int r;

	if ((r = db_cert_revoked_list(db, collect_revoked, &set)) != 0)
		goto out;
	if ((r = key_load_private(d->ca_key, NULL, 0, &ca_key)) != 0 ||
	    (r = pki_cert_load(d->ca_cert, &ca_cert)) != 0)
		goto out;
	if ((r = pki_crl_build(ca_key, ca_cert, (const char *const *)set.serials, set.when,
	    set.n, &crl)) != 0)
		goto out;
	if ((r = pki_crl_save(crl, d->crl)) != 0)
		goto out;
	if (count != NULL)
		*count = set.n;
out:
	for (size_t i = 0; i < set.n; i++)
		free(set.serials[i]);
	free(set.serials);
	free(set.when);
	X509_CRL_free(crl);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	return r;
}
