#include "store/objects.h"
#include "store/sql.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "crypto/random.h"
#include "net/proto.h"
#include "store/account.h"
#include "util/err.h"

bool
store_name_valid(const char *name, const char **reason)
{
	const char *why = NULL;
	size_t n;

	if (name == NULL || name[0] == '\0') {
		why = "is empty";
		goto out;
	}
	n = strnlen(name, FERRY_MAX_OBJECT_NAME + 1);
	if (n > FERRY_MAX_OBJECT_NAME)
		why = "is longer than 255 bytes";
	else if (!proto_text_utf8((const uint8_t *)name, n))
		why = "is not UTF-8 text without control characters";
	else if (memchr(name, '/', n) != NULL)
		why = "contains '/'";
	else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		why = "is \".\" or \"..\"";
	else if (name[0] == ' ' || name[n - 1] == ' ')
		why = "begins or ends with a space";
out:
	if (reason != NULL)
		*reason = why;
	return why == NULL;
}

bool
objects_id_valid(const char *s)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; i < OBJECTS_ID_HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[OBJECTS_ID_HEX_LEN] == '\0';
}

int
objects_new_id(char out[OBJECTS_ID_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t id[FERRY_OBJECT_ID_LEN];
	int r;

	if ((r = crypto_random(id, sizeof(id))) != 0)
		return r;
	for (size_t i = 0; i < sizeof(id); i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[OBJECTS_ID_HEX_LEN] = '\0';
	return 0;
}

/* ---- SQL helpers (same rules as db.c) ----------------------------------------------- */

/* Bind the user's name as parameter idx after checking it is a valid account name. */
static int
bind_user(sqlite3 *h, sqlite3_stmt *st, int idx, const char *user)
{
	if (user == NULL || !account_name_valid(user))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	return sql_bind_text(h, st, idx, user, FERRY_MAX_USER_NAME);
}

static int
check_name(const char *name)
{
	const char *why;

	if (!store_name_valid(name, &why))
		return ferry_fail(FERRY_ERR_USAGE, "object name %s", why);
	return 0;
}

/* Columns: name, object, size, sha256, stored. */
#define OBJECT_COLUMNS "o.name, o.object, o.size, o.sha256, o.stored"

static int
read_object(sqlite3_stmt *st, struct db_object *o)
{
	int64_t size;
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = sql_column_text(st, 0, o->name, sizeof(o->name), "objects.name")) != 0 ||
	    (r = sql_column_text(st, 1, o->object, sizeof(o->object), "objects.object")) != 0)
		return r;
	if (!objects_id_valid(o->object))
		return ferry_fail(FERRY_ERR_DB, "database: objects.object: not an object id");
	if (sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 4) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 3) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, 3) != OBJECTS_SHA256_LEN)
		return ferry_fail(FERRY_ERR_DB, "database: objects: unexpected value");
	size = sqlite3_column_int64(st, 2);
	if (size < 0)
		return ferry_fail(FERRY_ERR_DB, "database: objects.size: negative");
	o->size = (uint64_t)size;
	memcpy(o->sha256, sqlite3_column_blob(st, 3), OBJECTS_SHA256_LEN);
	o->stored = sqlite3_column_int64(st, 4);
	return 0;
}

/* The user's id into *id; FERRY_ERR_NOT_FOUND if there is no such user. */
static int
user_id(sqlite3 *h, const char *user, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if ((r = sql_prepare(h, "SELECT id FROM users WHERE name = ?1", &st)) != 0 ||
	    (r = bind_user(h, st, 1, user)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", user);
	else
		r = sql_fail(h, "find user");
out:
	sqlite3_finalize(st);
	return r;
}

/* The object id of (uid, name) into id, or id[0] = '\0' when there is none. */
static int
find_object(sqlite3 *h, int64_t uid, const char *name, char id[OBJECTS_ID_HEX_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	id[0] = '\0';
	if ((r = sql_prepare(h, "SELECT object FROM objects WHERE user_id = ?1 AND name = ?2",
	    &st)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, uid) != SQLITE_OK) {
		r = sql_fail(h, "bind");
		goto out;
	}
	if ((r = sql_bind_text(h, st, 2, name, FERRY_MAX_OBJECT_NAME)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((r = sql_column_text(st, 0, id, OBJECTS_ID_HEX_LEN + 1, "objects.object")) != 0)
			goto out;
	} else if (rc != SQLITE_DONE) {
		r = sql_fail(h, "find object");
	}
out:
	sqlite3_finalize(st);
	return r;
}

int
objects_put(struct db *db, const char *user, const struct db_object *o,
    char replaced[OBJECTS_ID_HEX_LEN + 1])
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int64_t uid;
	int r;

	replaced[0] = '\0';
	if ((r = check_name(o->name)) != 0)
		return r;
	if (!objects_id_valid(o->object))
		return ferry_fail(FERRY_ERR_USAGE, "object id: not %u hex digits",
		    OBJECTS_ID_HEX_LEN);
	if (o->size > INT64_MAX)
		return ferry_fail(FERRY_ERR_USAGE, "object size too large");
	if ((r = sql_exec(h, "BEGIN IMMEDIATE", "begin transaction")) != 0)
		return r;
	if ((r = user_id(h, user, &uid)) != 0 ||
	    (r = find_object(h, uid, o->name, replaced)) != 0)
		goto out;
	if ((r = sql_prepare(h, "INSERT INTO objects (user_id, name, object, size, sha256, stored) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (user_id, name) DO UPDATE SET "
	    "object = excluded.object, size = excluded.size, sha256 = excluded.sha256, "
	    "stored = excluded.stored", &st)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, uid) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, o->name, (int)strlen(o->name), SQLITE_TRANSIENT) !=
	    SQLITE_OK ||
	    sqlite3_bind_text(st, 3, o->object, OBJECTS_ID_HEX_LEN, SQLITE_TRANSIENT) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, (int64_t)o->size) != SQLITE_OK ||
	    sqlite3_bind_blob(st, 5, o->sha256, OBJECTS_SHA256_LEN, SQLITE_TRANSIENT) !=
	    SQLITE_OK ||
	    sqlite3_bind_int64(st, 6, o->stored) != SQLITE_OK) {
		r = sql_fail(h, "bind");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(h, "store object");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sql_exec(h, "COMMIT", "commit");
out:
	sqlite3_finalize(st);
	if (r != 0) {
		sql_rollback(h);
		replaced[0] = '\0';
	}
	return r;
}

int
objects_get(struct db *db, const char *user, const char *name, struct db_object *out)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = check_name(name)) != 0)
		return r;
	if ((r = sql_prepare(h, "SELECT " OBJECT_COLUMNS " FROM objects o JOIN users u ON "
	    "o.user_id = u.id WHERE u.name = ?1 AND o.name = ?2", &st)) != 0 ||
	    (r = bind_user(h, st, 1, user)) != 0 ||
	    (r = sql_bind_text(h, st, 2, name, FERRY_MAX_OBJECT_NAME)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_object(st, out);
	else if (rc == SQLITE_DONE)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no object called \"%s\"", name);
	else
		r = sql_fail(h, "get object");
out:
	sqlite3_finalize(st);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int
objects_list(struct db *db, const char *user,
    int (*cb)(void *arg, const struct db_object *o), void *arg)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct db_object o;
	int r, rc;

	if ((r = sql_prepare(h, "SELECT " OBJECT_COLUMNS " FROM objects o JOIN users u ON "
	    "o.user_id = u.id WHERE u.name = ?1 ORDER BY o.name", &st)) != 0 ||
	    (r = bind_user(h, st, 1, user)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = read_object(st, &o)) != 0 || (r = cb(arg, &o)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = sql_fail(h, "list objects");
out:
	sqlite3_finalize(st);
	return r;
}

int
objects_delete(struct db *db, const char *user, const char *name,
    char removed[OBJECTS_ID_HEX_LEN + 1])
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int64_t uid;
	int r;

	removed[0] = '\0';
	if ((r = check_name(name)) != 0)
		return r;
	if ((r = sql_exec(h, "BEGIN IMMEDIATE", "begin transaction")) != 0)
		return r;
	if ((r = user_id(h, user, &uid)) != 0 ||
	    (r = find_object(h, uid, name, removed)) != 0)
		goto out;
	if (removed[0] == '\0') {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no object called \"%s\"", name);
		goto out;
	}
	if ((r = sql_prepare(h, "DELETE FROM objects WHERE user_id = ?1 AND name = ?2", &st)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, uid) != SQLITE_OK) {
		r = sql_fail(h, "bind");
		goto out;
	}
	if ((r = sql_bind_text(h, st, 2, name, FERRY_MAX_OBJECT_NAME)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(h, "delete object");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sql_exec(h, "COMMIT", "commit");
out:
	sqlite3_finalize(st);
	if (r != 0) {
		sql_rollback(h);
		removed[0] = '\0';
	}
	return r;
}

int
objects_usage(struct db *db, const char *user, uint64_t *bytes)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int64_t sum = 0;
	int r, rc;

	*bytes = 0;
	/* One statement, so one snapshot; no transaction of its own, so callers may hold
	 * one. SUM over integers is an integer, and an error (not a wrap) on overflow. */
	if ((r = sql_prepare(h, "SELECT (SELECT id FROM users WHERE name = ?1), "
	    "(SELECT COALESCE(SUM(o.size), 0) FROM objects o JOIN users u ON o.user_id = u.id "
	    "WHERE u.name = ?1)", &st)) != 0 ||
	    (r = bind_user(h, st, 1, user)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		r = sql_fail(h, "sum object sizes");
		goto out;
	}
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", user);
		goto out;
	}
	if ((r = sql_column_int(st, 1, &sum, "sum of objects.size")) != 0)
		goto out;
	if (sum < 0) {
		r = ferry_fail(FERRY_ERR_DB, "database: sum of objects.size: negative");
		goto out;
	}
	*bytes = (uint64_t)sum;
out:
	sqlite3_finalize(st);
	return r;
}

int
objects_referenced(struct db *db, const char *object, bool *out)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = false;
	if (!objects_id_valid(object))
		return 0;
	if ((r = sql_prepare(h, "SELECT 1 FROM objects WHERE object = ?1", &st)) != 0 ||
	    (r = sql_bind_text(h, st, 1, object, OBJECTS_ID_HEX_LEN)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = true;
	else if (rc != SQLITE_DONE)
		r = sql_fail(h, "find object");
out:
	sqlite3_finalize(st);
	return r;
}
