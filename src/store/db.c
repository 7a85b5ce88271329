#include "store/db.h"
#include "store/sql.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "store/account.h"
#include "util/err.h"

#define BUSY_TIMEOUT_MS 60000

struct db {
	sqlite3 *h;
};

/*
 * The schema, one entry per version: migrations[i] takes a file from user_version i to
 * i + 1 and sets user_version itself. Entries are only ever appended.
 */
static const char *const migrations[] = {
	/* 0 -> 1: users, certificates, audit log, failure counters. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  pw_hash TEXT NOT NULL,"
	"  disabled INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE certs ("
	"  serial TEXT PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  revoked_at INTEGER);"
	"CREATE INDEX certs_user ON certs(user_id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  user TEXT NOT NULL DEFAULT '',"
	"  addr TEXT NOT NULL DEFAULT '',"
	"  ok INTEGER NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE auth_failures ("
	"  scope TEXT PRIMARY KEY,"
	"  failures INTEGER NOT NULL,"
	"  window_start INTEGER NOT NULL,"
	"  locked_until INTEGER NOT NULL DEFAULT 0);"
	"PRAGMA user_version = 1;",
	/* 1 -> 2: the at-rest key hierarchy (store/vault.h): the master key's check value
	 * (one row) and each user's key, wrapped by the master key. */
	"CREATE TABLE master ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  key_check BLOB NOT NULL);"
	"CREATE TABLE user_keys ("
	"  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	"  key_id BLOB NOT NULL UNIQUE,"
	"  wrapped BLOB NOT NULL);"
	"PRAGMA user_version = 2;",
	/* 2 -> 3: stored objects (store/objects.h): one row per (user, name), naming the
	 * sealed file DIR/objects/<object> that holds it. */
	"CREATE TABLE objects ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  object TEXT NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL,"
	"  sha256 BLOB NOT NULL,"
	"  stored INTEGER NOT NULL,"
	"  UNIQUE (user_id, name));"
	"PRAGMA user_version = 3;",
	/* 3 -> 4: uploads cut off before their end (store/partials.h): the temporary file
	 * DIR/objects/tmp/<object> they resume into. */
	"CREATE TABLE partials ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  object TEXT NOT NULL UNIQUE,"
	"  size INTEGER NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (user_id, name));"
	/* ... and the certificates of deleted accounts (store/account.h account_delete):
	 * revoked, kept for the CRL, never found by db_cert_lookup() again. */
	"CREATE TABLE retired_certs ("
	"  serial TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  revoked_at INTEGER NOT NULL);"
	"PRAGMA user_version = 4;",
	/* 4 -> 5: the names, sizes and digests of stored files sealed under each user's
	 * metadata key, found by a keyed tag (store/meta.h). Rows stored before wait in
	 * objects_clear until ferryd serve seals them with the user keys
	 * (objects_seal_legacy); partial uploads are dropped (their files are swept at the
	 * next start). */
	"ALTER TABLE objects RENAME TO objects_clear;"
	"CREATE TABLE objects ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  tag BLOB NOT NULL,"
	"  object TEXT NOT NULL UNIQUE,"
	"  meta BLOB NOT NULL,"
	"  stored INTEGER NOT NULL,"
	"  UNIQUE (user_id, tag));"
	"DROP TABLE partials;"
	"CREATE TABLE partials ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  tag BLOB NOT NULL,"
	"  object TEXT NOT NULL UNIQUE,"
	"  meta BLOB NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  UNIQUE (user_id, tag));"
	"PRAGMA user_version = 5;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == DB_SCHEMA_VERSION,
    "one migration per schema version");

/* Create the file 0600 if absent without following a symlink; tighten a looser mode. */
static int
create_file(const char *path)
{
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ferry_fail(FERRY_ERR_IO, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}
out:
	close(fd);
	return r;
}

int
db_schema_version(struct db *db, int *out)
{
	sqlite3_stmt *st = NULL;
	int64_t v;
	int r;

	if ((r = sql_prepare(db->h, "PRAGMA user_version", &st)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = sql_fail(db->h, "user_version");
		goto out;
	}
	if ((r = sql_column_int(st, 0, &v, "user_version")) != 0)
		goto out;
	*out = (int)v;
out:
	sqlite3_finalize(st);
	return r;
}

static int
migrate(struct db *db)
{
	int version, r;

	/* Nothing to do (every open but the first): no write lock. */
	if (db_schema_version(db, &version) == 0 && version == DB_SCHEMA_VERSION)
		return 0;
	if ((r = sql_begin(db->h, true)) != 0)
		return r;
	if ((r = db_schema_version(db, &version)) != 0)
		goto out;
	if (version > DB_SCHEMA_VERSION) {
		r = ferry_fail(FERRY_ERR_UNSUPPORTED,
		    "database schema version %d is newer than this ferryd (%d)", version,
		    DB_SCHEMA_VERSION);
		goto out;
	}
	if (version < 0) {
		r = ferry_fail(FERRY_ERR_DB, "database schema version %d is invalid", version);
		goto out;
	}
	for (int v = version; v < DB_SCHEMA_VERSION; v++) {
		if ((r = sql_exec(db->h, migrations[v], "schema migration")) != 0)
			goto out;
	}
	r = sql_commit(db->h);
out:
	if (r != 0)
		sql_rollback(db->h);
	return r;
}

int
db_open(const char *path, struct db **out)
{
	struct db *db = NULL;
	int r;

	*out = NULL;
	if ((r = create_file(path)) != 0)
		return r;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "database: out of memory");
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK) {
		r = db->h != NULL ? sql_fail(db->h, path) :
		    ferry_fail(FERRY_ERR_NOMEM, "database: out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
	(void)sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_db_config(db->h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	(void)sqlite3_db_config(db->h, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	if ((r = sql_exec(db->h, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;", "settings")) != 0)
		goto out;
	if ((r = migrate(db)) != 0)
		goto out;
	*out = db;
	db = NULL;	/* transferred */
out:
	if (r != 0 && db != NULL)
		ferry_error_prefix(r, "%s", path);
	db_close(db);
	return r;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	sqlite3_close_v2(db->h);
	free(db);
}

/* ---- users ------------------------------------------------------------------------ */

static int
check_pw_hash(const char *pw_hash)
{
	size_t n;

	if (pw_hash == NULL || (n = strnlen(pw_hash, FERRY_MAX_PW_HASH + 1)) == 0 ||
	    n > FERRY_MAX_PW_HASH)
		return ferry_fail(FERRY_ERR_USAGE, "password record must be 1 to %u characters",
		    FERRY_MAX_PW_HASH);
	return 0;
}

int
db_user_add(struct db *db, const char *name, const char *pw_hash)
{
	sqlite3_stmt *st = NULL;
	const char *why;
	int r, rc;

	if ((why = account_name_reason(name)) != NULL)
		return ferry_fail(FERRY_ERR_USAGE, "bad user name: %s", why);
	if ((r = check_pw_hash(pw_hash)) != 0)
		return r;
	if ((r = sql_prepare(db->h, "INSERT INTO users (name, pw_hash, disabled, created) "
	    "VALUES (?1, ?2, 0, ?3)", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, name, FERRY_MAX_USER_NAME)) != 0 ||
	    (r = sql_bind_text(db->h, st, 2, pw_hash, FERRY_MAX_PW_HASH)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 3, (int64_t)time(NULL))) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		r = ferry_fail(FERRY_ERR_EXISTS, "user %s already exists", name);
	else if (rc != SQLITE_DONE)
		r = sql_fail(db->h, "add user");
out:
	sqlite3_finalize(st);
	return r;
}

static int
read_user(sqlite3_stmt *st, struct db_user *u)
{
	int64_t disabled;
	int r;

	memset(u, 0, sizeof(*u));
	if ((r = sql_column_int(st, 0, &u->id, "users.id")) != 0 ||
	    (r = sql_column_text(st, 1, u->name, sizeof(u->name), "users.name")) != 0 ||
	    (r = sql_column_text(st, 2, u->pw_hash, sizeof(u->pw_hash), "users.pw_hash")) != 0 ||
	    (r = sql_column_int(st, 3, &disabled, "users.disabled")) != 0 ||
	    (r = sql_column_int(st, 4, &u->created, "users.created")) != 0)
		return r;
	u->disabled = disabled != 0;
	return 0;
}

int
db_user_get(struct db *db, const char *name, struct db_user *out)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if (!account_name_valid(name))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	if ((r = sql_prepare(db->h, "SELECT id, name, pw_hash, disabled, created FROM users "
	    "WHERE name = ?1", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, name, FERRY_MAX_USER_NAME)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_user(st, out);
	else if (rc == SQLITE_DONE)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", name);
	else
		r = sql_fail(db->h, "get user");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_user_list(struct db *db, int (*cb)(void *arg, const struct db_user *user), void *arg)
{
	sqlite3_stmt *st = NULL;
	struct db_user u;
	int r, rc;

	if ((r = sql_prepare(db->h, "SELECT id, name, pw_hash, disabled, created FROM users "
	    "ORDER BY name", &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = read_user(st, &u)) != 0 || (r = cb(arg, &u)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = sql_fail(db->h, "list users");
out:
	OPENSSL_cleanse(&u, sizeof(u));
	sqlite3_finalize(st);
	return r;
}

/* Run an UPDATE whose ?1 is the value and ?2 the user name; NOT_FOUND if no row. */
static int
update_user(struct db *db, const char *sql, const char *name, int64_t ival, const char *sval,
    size_t smax)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (!account_name_valid(name))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	if ((r = sql_prepare(db->h, sql, &st)) != 0)
		goto out;
	r = sval != NULL ? sql_bind_text(db->h, st, 1, sval, smax) : sql_bind_int64(db->h, st, 1, ival);
	if (r != 0 || (r = sql_bind_text(db->h, st, 2, name, FERRY_MAX_USER_NAME)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(db->h, "update user");
	else if (sqlite3_changes(db->h) == 0)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", name);
out:
	sqlite3_finalize(st);
	return r;
}

int
db_user_set_disabled(struct db *db, const char *name, bool disabled)
{
	return update_user(db, "UPDATE users SET disabled = ?1 WHERE name = ?2", name,
	    disabled ? 1 : 0, NULL, 0);
}

int
db_user_set_password(struct db *db, const char *name, const char *pw_hash)
{
	int r;

	if ((r = check_pw_hash(pw_hash)) != 0)
		return r;
	return update_user(db, "UPDATE users SET pw_hash = ?1 WHERE name = ?2", name, 0,
	    pw_hash, FERRY_MAX_PW_HASH);
}

/* ---- certificates ----------------------------------------------------------------- */

/* Lower case, no leading zeros. -1 if s is not 1..FERRY_MAX_SERIAL_HEX hex digits. */
static int
normalise_serial(const char *s, char out[FERRY_MAX_SERIAL_HEX + 1])
{
	size_t n, i = 0, o = 0;

	if (s == NULL)
		return -1;
	n = strnlen(s, FERRY_MAX_SERIAL_HEX + 1);
	if (n == 0 || n > FERRY_MAX_SERIAL_HEX)
		return -1;
	for (size_t j = 0; j < n; j++) {
		char c = s[j];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return -1;
	}
	while (i + 1 < n && s[i] == '0')
		i++;
	for (; i < n; i++) {
		char c = s[i];

		out[o++] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
	}
	out[o] = '\0';
	return 0;
}

int
db_cert_add(struct db *db, const char *serial_hex, const char *user, int64_t not_before,
    int64_t not_after)
{
	char serial[FERRY_MAX_SERIAL_HEX + 1];
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (normalise_serial(serial_hex, serial) != 0)
		return ferry_fail(FERRY_ERR_USAGE, "serial must be 1 to %u hex digits",
		    FERRY_MAX_SERIAL_HEX);
	if (not_after < not_before)
		return ferry_fail(FERRY_ERR_USAGE, "certificate %s ends before it starts", serial);
	if (!account_name_valid(user))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	if ((r = sql_prepare(db->h, "INSERT INTO certs (serial, user_id, not_before, not_after) "
	    "SELECT ?1, id, ?2, ?3 FROM users WHERE name = ?4", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, serial, FERRY_MAX_SERIAL_HEX)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 2, not_before)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 3, not_after)) != 0 ||
	    (r = sql_bind_text(db->h, st, 4, user, FERRY_MAX_USER_NAME)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		r = ferry_fail(FERRY_ERR_EXISTS, "certificate serial %s already recorded", serial);
	else if (rc != SQLITE_DONE)
		r = sql_fail(db->h, "add certificate");
	else if (sqlite3_changes(db->h) == 0)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", user);
out:
	sqlite3_finalize(st);
	return r;
}

int
db_cert_lookup(struct db *db, const char *serial_hex, struct db_cert *out)
{
	char serial[FERRY_MAX_SERIAL_HEX + 1];
	sqlite3_stmt *st = NULL;
	int64_t disabled;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if (normalise_serial(serial_hex, serial) != 0)
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such certificate");
	if ((r = sql_prepare(db->h, "SELECT c.serial, u.name, c.not_before, c.not_after, "
	    "c.revoked_at, u.disabled FROM certs c JOIN users u ON u.id = c.user_id "
	    "WHERE c.serial = ?1", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, serial, FERRY_MAX_SERIAL_HEX)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no certificate with serial %s", serial);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = sql_fail(db->h, "look up certificate");
		goto out;
	}
	if ((r = sql_column_text(st, 0, out->serial_hex, sizeof(out->serial_hex),
	    "certs.serial")) != 0 ||
	    (r = sql_column_text(st, 1, out->user, sizeof(out->user), "users.name")) != 0 ||
	    (r = sql_column_int(st, 2, &out->not_before, "certs.not_before")) != 0 ||
	    (r = sql_column_int(st, 3, &out->not_after, "certs.not_after")) != 0 ||
	    (r = sql_column_int(st, 5, &disabled, "users.disabled")) != 0)
		goto out;
	out->user_disabled = disabled != 0;
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		if ((r = sql_column_int(st, 4, &out->revoked_at, "certs.revoked_at")) != 0)
			goto out;
		out->revoked = true;
	}
out:
	if (r != 0 && r != FERRY_ERR_NOT_FOUND)
		memset(out, 0, sizeof(*out));
	sqlite3_finalize(st);
	return r;
}

/* 1 if a row exists for the query with ?1 bound to key, 0 if not, <0 on error. */
static int
row_exists(struct db *db, const char *sql, const char *key, size_t max)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = sql_prepare(db->h, sql, &st)) != 0 || (r = sql_bind_text(db->h, st, 1, key, max)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = 1;
	else if (rc != SQLITE_DONE)
		r = sql_fail(db->h, "lookup");
out:
	sqlite3_finalize(st);
	return r;
}

static int
revoke_update(struct db *db, const char *sql, int64_t now, const char *key, size_t max,
    size_t *count)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sql_prepare(db->h, sql, &st)) != 0 || (r = sql_bind_int64(db->h, st, 1, now)) != 0 ||
	    (r = sql_bind_text(db->h, st, 2, key, max)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(db->h, "revoke");
	else
		*count = (size_t)sqlite3_changes(db->h);
out:
	sqlite3_finalize(st);
	return r;
}

int
db_cert_revoke(struct db *db, const char *name_or_serial, int64_t now, size_t *count)
{
	char serial[FERRY_MAX_SERIAL_HEX + 1];
	size_t n = 0;
	int r;

	if (count != NULL)
		*count = 0;
	if ((r = sql_begin(db->h, true)) != 0)
		return r;
	r = 0;
	if (account_name_valid(name_or_serial))
		r = row_exists(db, "SELECT 1 FROM users WHERE name = ?1", name_or_serial,
		    FERRY_MAX_USER_NAME);
	if (r < 0)
		goto out;
	if (r == 1) {
		r = revoke_update(db, "UPDATE certs SET revoked_at = ?1 WHERE revoked_at IS NULL "
		    "AND user_id = (SELECT id FROM users WHERE name = ?2)", now, name_or_serial,
		    FERRY_MAX_USER_NAME, &n);
	} else if (normalise_serial(name_or_serial, serial) == 0 &&
	    (r = row_exists(db, "SELECT 1 FROM certs WHERE serial = ?1", serial,
	    FERRY_MAX_SERIAL_HEX)) == 1) {
		r = revoke_update(db, "UPDATE certs SET revoked_at = ?1 WHERE revoked_at IS NULL "
		    "AND serial = ?2", now, serial, FERRY_MAX_SERIAL_HEX, &n);
	} else if (r >= 0) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user or certificate serial \"%.*s\"",
		    (int)FERRY_MAX_SERIAL_HEX, account_name_valid(name_or_serial) ||
		    normalise_serial(name_or_serial, serial) == 0 ? name_or_serial : "?");
	}
	if (r != 0)
		goto out;
	r = sql_commit(db->h);
out:
	if (r != 0)
		sql_rollback(db->h);
	else if (count != NULL)
		*count = n;
	return r;
}

int
db_cert_revoked_list(struct db *db,
    int (*cb)(void *arg, const char *serial_hex, int64_t revoked_at), void *arg)
{
	char serial[FERRY_MAX_SERIAL_HEX + 1];
	sqlite3_stmt *st = NULL;
	int64_t at;
	int r, rc;

	if ((r = sql_prepare(db->h, "SELECT serial, revoked_at FROM certs WHERE revoked_at IS NOT NULL "
	    "UNION ALL SELECT serial, revoked_at FROM retired_certs ORDER BY 2, 1", &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = sql_column_text(st, 0, serial, sizeof(serial), "certs.serial")) != 0 ||
		    (r = sql_column_int(st, 1, &at, "certs.revoked_at")) != 0 ||
		    (r = cb(arg, serial, at)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = sql_fail(db->h, "list revoked certificates");
out:
	sqlite3_finalize(st);
	return r;
}

int
db_cert_count_valid(struct db *db, const char *user, int64_t now, unsigned *out)
{
	sqlite3_stmt *st = NULL;
	int64_t n;
	int r, rc;

	*out = 0;
	if (!account_name_valid(user))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	if ((r = sql_prepare(db->h, "SELECT (SELECT count(*) FROM certs c WHERE c.user_id = u.id "
	    "AND c.revoked_at IS NULL AND c.not_after > ?2) FROM users u WHERE u.name = ?1",
	    &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, user, FERRY_MAX_USER_NAME)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 2, now)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", user);
	else if (rc != SQLITE_ROW)
		r = sql_fail(db->h, "count certificates");
	else if ((r = sql_column_int(st, 0, &n, "certificate count")) == 0)
		*out = n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- audit ------------------------------------------------------------------------ */

int
db_audit(struct db *db, const char *event, const char *user, const char *addr, bool ok,
    const char *detail)
{
	sqlite3_stmt *st = NULL;
	int r;

	if (event == NULL || event[0] == '\0')
		return ferry_fail(FERRY_ERR_USAGE, "audit: missing event");
	if ((r = sql_prepare(db->h, "INSERT INTO audit (time, event, user, addr, ok, detail) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 1, (int64_t)time(NULL))) != 0 ||
	    (r = sql_bind_text(db->h, st, 2, event, FERRY_MAX_AUDIT_FIELD)) != 0 ||
	    (r = sql_bind_text(db->h, st, 3, user, FERRY_MAX_AUDIT_FIELD)) != 0 ||
	    (r = sql_bind_text(db->h, st, 4, addr, FERRY_MAX_AUDIT_FIELD)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 5, ok ? 1 : 0)) != 0 ||
	    (r = sql_bind_text(db->h, st, 6, detail, FERRY_MAX_AUDIT_FIELD)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(db->h, "audit");
out:
	sqlite3_finalize(st);
	return r;
}

static const char *
column_string(sqlite3_stmt *st, int col)
{
	const unsigned char *s;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT ||
	    (s = sqlite3_column_text(st, col)) == NULL)
		return "";
	return (const char *)s;
}

int
db_audit_list(struct db *db, int64_t after_id, size_t limit,
    int (*cb)(void *arg, const struct db_audit_entry *entry), void *arg)
{
	struct db_audit_entry e;
	sqlite3_stmt *st = NULL;
	int64_t ok;
	int r, rc;

	if ((r = sql_prepare(db->h, "SELECT id, time, event, user, addr, ok, detail FROM audit "
	    "WHERE id > ?1 ORDER BY id LIMIT ?2", &st)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 1, after_id)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 2, limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		if ((r = sql_column_int(st, 0, &e.id, "audit.id")) != 0 ||
		    (r = sql_column_int(st, 1, &e.time, "audit.time")) != 0 ||
		    (r = sql_column_int(st, 5, &ok, "audit.ok")) != 0)
			goto out;
		e.event = column_string(st, 2);
		e.user = column_string(st, 3);
		e.addr = column_string(st, 4);
		e.detail = column_string(st, 6);
		e.ok = ok != 0;
		if ((r = cb(arg, &e)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = sql_fail(db->h, "list audit");
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- rate limiting ---------------------------------------------------------------- */

static int
check_auth_args(const char *scope, const struct auth_policy *p)
{
	size_t n;

	if (scope == NULL || (n = strnlen(scope, FERRY_MAX_AUTH_SCOPE + 1)) == 0 ||
	    n > FERRY_MAX_AUTH_SCOPE)
		return ferry_fail(FERRY_ERR_USAGE, "rate limit: scope must be 1 to %u bytes",
		    FERRY_MAX_AUTH_SCOPE);
	if (p != NULL && (p->max_failures == 0 || p->window <= 0 || p->lockout < 0))
		return ferry_fail(FERRY_ERR_USAGE, "rate limit: bad policy");
	return 0;
}

int
db_auth_check(struct db *db, const char *scope, int64_t now, const struct auth_policy *p)
{
	sqlite3_stmt *st = NULL;
	int64_t locked_until;
	int r, rc;

	if (p == NULL)
		return ferry_fail(FERRY_ERR_USAGE, "rate limit: no policy");
	if ((r = check_auth_args(scope, p)) != 0)
		return r;
	if ((r = sql_prepare(db->h, "SELECT locked_until FROM auth_failures WHERE scope = ?1",
	    &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, scope, FERRY_MAX_AUTH_SCOPE)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((r = sql_column_int(st, 0, &locked_until, "auth_failures.locked_until")) != 0)
			goto out;
		if (locked_until > now)
			r = ferry_fail(FERRY_ERR_RATE_LIMITED,
			    "too many failed attempts for %.80s; try again in %lld s", scope,
			    (long long)(locked_until - now));
	} else if (rc != SQLITE_DONE) {
		r = sql_fail(db->h, "rate limit check");
	}
out:
	sqlite3_finalize(st);
	return r;
}

int
db_auth_failed(struct db *db, const char *scope, int64_t now, const struct auth_policy *p)
{
	sqlite3_stmt *st = NULL;
	int64_t failures = 0, window_start = now, locked_until = 0;
	int r, rc;

	if (p == NULL)
		return ferry_fail(FERRY_ERR_USAGE, "rate limit: no policy");
	if ((r = check_auth_args(scope, p)) != 0)
		return r;
	if ((r = sql_begin(db->h, true)) != 0)
		return r;
	if ((r = sql_prepare(db->h, "SELECT failures, window_start, locked_until FROM auth_failures "
	    "WHERE scope = ?1", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, scope, FERRY_MAX_AUTH_SCOPE)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((r = sql_column_int(st, 0, &failures, "auth_failures.failures")) != 0 ||
		    (r = sql_column_int(st, 1, &window_start, "auth_failures.window_start")) != 0 ||
		    (r = sql_column_int(st, 2, &locked_until, "auth_failures.locked_until")) != 0)
			goto out;
	} else if (rc != SQLITE_DONE) {
		r = sql_fail(db->h, "rate limit read");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* Unless still locked: a lockout that has run out, or a window that has passed,
	 * starts afresh (so does a clock that went backwards). */
	if (locked_until <= now && (locked_until != 0 || now - window_start >= p->window ||
	    now < window_start)) {
		failures = 0;
		window_start = now;
		locked_until = 0;
	}
	if (failures < INT64_MAX)
		failures++;
	if (failures >= (int64_t)p->max_failures && locked_until <= now)
		locked_until = now + p->lockout;
	if ((r = sql_prepare(db->h, "INSERT INTO auth_failures (scope, failures, window_start, "
	    "locked_until) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope) DO UPDATE SET "
	    "failures = excluded.failures, window_start = excluded.window_start, "
	    "locked_until = excluded.locked_until", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, scope, FERRY_MAX_AUTH_SCOPE)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 2, failures)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 3, window_start)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 4, locked_until)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(db->h, "rate limit update");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* Drop other scopes whose window and lockout are both over, so the table stays small. */
	if ((r = sql_prepare(db->h, "DELETE FROM auth_failures WHERE scope <> ?1 AND "
	    "locked_until <= ?2 AND window_start <= ?2 - ?3", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, scope, FERRY_MAX_AUTH_SCOPE)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 2, now)) != 0 ||
	    (r = sql_bind_int64(db->h, st, 3, p->window)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(db->h, "rate limit cleanup");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sql_commit(db->h);
out:
	sqlite3_finalize(st);
	if (r != 0)
		sql_rollback(db->h);
	return r;
}

int
db_auth_succeeded(struct db *db, const char *scope)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = check_auth_args(scope, NULL)) != 0)
		return r;
	if ((r = sql_prepare(db->h, "DELETE FROM auth_failures WHERE scope = ?1", &st)) != 0 ||
	    (r = sql_bind_text(db->h, st, 1, scope, FERRY_MAX_AUTH_SCOPE)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(db->h, "rate limit reset");
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- for other store modules ------------------------------------------------------ */

struct sqlite3 *
db_sqlite(struct db *db)
{
	return db->h;
}
