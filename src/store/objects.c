#include "store/objects.h"
#include "store/sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "crypto/random.h"
#include "net/proto.h"
#include "store/account.h"
#include "store/meta.h"
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

/* Columns: object, tag, meta, stored. */
#define OBJECT_COLUMNS "o.object, o.tag, o.meta, o.stored"

/*
 * A row into *o: the object id and time always; with k, the name, size and SHA-256 from
 * the sealed metadata (which must open for this user and object).
 */
static int
read_object(sqlite3_stmt *st, const char *user, const struct meta_key *k,
    struct db_object *o)
{
	struct meta_record rec;
	int r;

	memset(o, 0, sizeof(*o));
	if ((r = sql_column_text(st, 0, o->object, sizeof(o->object), "objects.object")) != 0)
		return r;
	if (!objects_id_valid(o->object))
		return ferry_fail(FERRY_ERR_DB, "database: objects.object: not an object id");
	if (sqlite3_column_type(st, 2) != SQLITE_BLOB ||
	    sqlite3_column_type(st, 3) != SQLITE_INTEGER)
		return ferry_fail(FERRY_ERR_DB, "database: objects: unexpected value");
	o->stored = sqlite3_column_int64(st, 3);
	if (k == NULL)
		return 0;
	if ((r = meta_open(k, user, o->object, sqlite3_column_blob(st, 2),
	    (size_t)sqlite3_column_bytes(st, 2), &rec, "objects.meta")) != 0)
		return r;
	memcpy(o->name, rec.name, sizeof(o->name));
	o->size = rec.size;
	memcpy(o->sha256, rec.sha256, sizeof(o->sha256));
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

/* The object id of (uid, tag) into id, or id[0] = '\0' when there is none. */
static int
find_object(sqlite3 *h, int64_t uid, const uint8_t tag[META_TAG_LEN],
    char id[OBJECTS_ID_HEX_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	id[0] = '\0';
	if ((r = sql_prepare(h, "SELECT object FROM objects WHERE user_id = ?1 AND tag = ?2",
	    &st)) != 0 ||
	    (r = sql_bind_int64(h, st, 1, uid)) != 0 ||
	    (r = sql_bind_blob(h, st, 2, tag, META_TAG_LEN)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = sql_column_text(st, 0, id, OBJECTS_ID_HEX_LEN + 1, "objects.object");
	else if (rc != SQLITE_DONE)
		r = sql_fail(h, "find object");
out:
	sqlite3_finalize(st);
	return r;
}

/* Run sql (?1 user id, ?2 one object id or tag) in a write transaction; removed gets the
 * object id of the row it will affect (found by tag or id), "" when none. */
static int
delete_where(struct db *db, const char *user, const char *sql, const uint8_t *tag,
    const char *object, char removed[OBJECTS_ID_HEX_LEN + 1])
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int64_t uid;
	int r;

	removed[0] = '\0';
	if ((r = sql_begin(h, true)) != 0)
		return r;
	if ((r = user_id(h, user, &uid)) != 0)
		goto out;
	if (tag != NULL && (r = find_object(h, uid, tag, removed)) != 0)
		goto out;
	if (tag == NULL)
		snprintf(removed, OBJECTS_ID_HEX_LEN + 1, "%s", object);
	if ((r = sql_prepare(h, sql, &st)) != 0 ||
	    (r = sql_bind_int64(h, st, 1, uid)) != 0 ||
	    (r = tag != NULL ? sql_bind_blob(h, st, 2, tag, META_TAG_LEN) :
	    sql_bind_text(h, st, 2, object, OBJECTS_ID_HEX_LEN)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(h, "delete object");
		goto out;
	}
	if (sqlite3_changes(h) == 0) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no such object");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sql_commit(h);
out:
	sqlite3_finalize(st);
	if (r != 0) {
		sql_rollback(h);
		removed[0] = '\0';
	}
	return r;
}

int
objects_put(struct db *db, const char *user, const struct meta_key *k,
    const struct db_object *o, char replaced[OBJECTS_ID_HEX_LEN + 1])
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct meta_record rec;
	uint8_t tag[META_TAG_LEN], meta[META_SEALED_MAX];
	size_t meta_len;
	int64_t uid;
	int r;

	replaced[0] = '\0';
	if ((r = check_name(o->name)) != 0)
		return r;
	if (!objects_id_valid(o->object))
		return ferry_fail(FERRY_ERR_USAGE, "object id: not %u hex digits",
		    OBJECTS_ID_HEX_LEN);
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.name, o->name, sizeof(rec.name));
	rec.size = o->size;
	memcpy(rec.sha256, o->sha256, sizeof(rec.sha256));
	if ((r = meta_tag(k, o->name, tag)) != 0 ||
	    (r = meta_seal(k, user, o->object, &rec, meta, &meta_len)) != 0)
		return r;
	if ((r = sql_begin(h, true)) != 0)
		return r;
	if ((r = user_id(h, user, &uid)) != 0 ||
	    (r = find_object(h, uid, tag, replaced)) != 0)
		goto out;
	if ((r = sql_prepare(h, "INSERT INTO objects (user_id, tag, object, meta, stored) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, tag) DO UPDATE SET "
	    "object = excluded.object, meta = excluded.meta, stored = excluded.stored",
	    &st)) != 0 ||
	    (r = sql_bind_int64(h, st, 1, uid)) != 0 ||
	    (r = sql_bind_blob(h, st, 2, tag, sizeof(tag))) != 0 ||
	    (r = sql_bind_text(h, st, 3, o->object, OBJECTS_ID_HEX_LEN)) != 0 ||
	    (r = sql_bind_blob(h, st, 4, meta, meta_len)) != 0 ||
	    (r = sql_bind_int64(h, st, 5, o->stored)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(h, "store object");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sql_commit(h);
out:
	sqlite3_finalize(st);
	if (r != 0) {
		sql_rollback(h);
		replaced[0] = '\0';
	}
	return r;
}

int
objects_get(struct db *db, const char *user, const struct meta_key *k, const char *name,
    struct db_object *out)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	uint8_t tag[META_TAG_LEN];
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = check_name(name)) != 0 || (r = meta_tag(k, name, tag)) != 0)
		return r;
	if ((r = sql_prepare(h, "SELECT " OBJECT_COLUMNS " FROM objects o JOIN users u ON "
	    "o.user_id = u.id WHERE u.name = ?1 AND o.tag = ?2", &st)) != 0 ||
	    (r = bind_user(h, st, 1, user)) != 0 ||
	    (r = sql_bind_blob(h, st, 2, tag, sizeof(tag))) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_object(st, user, k, out);
	else if (rc == SQLITE_DONE)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no object called \"%s\"", name);
	else
		r = sql_fail(h, "get object");
	/* A row whose sealed name is another than asked is not this name's. */
	if (r == 0 && strcmp(out->name, name) != 0)
		r = ferry_fail(FERRY_ERR_DB, "database: objects: sealed name does not match "
		    "its tag");
out:
	sqlite3_finalize(st);
	if (r != 0)
		memset(out, 0, sizeof(*out));
	return r;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct db_object *)a)->name, ((const struct db_object *)b)->name);
}

int
objects_list(struct db *db, const char *user, const struct meta_key *k,
    int (*cb)(void *arg, const struct db_object *o), void *arg)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct db_object *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int r, rc;

	/* The names are sealed: read them all, then sort. */
	if ((r = sql_prepare(h, "SELECT " OBJECT_COLUMNS " FROM objects o JOIN users u ON "
	    "o.user_id = u.id WHERE u.name = ?1", &st)) != 0 ||
	    (r = bind_user(h, st, 1, user)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		if ((r = read_object(st, user, k, &v[n])) != 0)
			goto out;
		n++;
	}
	if (rc != SQLITE_DONE) {
		r = sql_fail(h, "list objects");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (k != NULL && n > 1)
		qsort(v, n, sizeof(*v), by_name);
	for (size_t i = 0; i < n; i++)
		if ((r = cb(arg, &v[i])) != 0)
			goto out;
out:
	sqlite3_finalize(st);
	if (v != NULL)
		OPENSSL_clear_free(v, cap * sizeof(*v));
	return r;
}

int
objects_delete(struct db *db, const char *user, const struct meta_key *k, const char *name,
    char removed[OBJECTS_ID_HEX_LEN + 1])
{
	uint8_t tag[META_TAG_LEN];
	int r;

	removed[0] = '\0';
	if ((r = check_name(name)) != 0 || (r = meta_tag(k, name, tag)) != 0)
		return r;
	r = delete_where(db, user, "DELETE FROM objects WHERE user_id = ?1 AND tag = ?2", tag,
	    NULL, removed);
	if (r == FERRY_ERR_NOT_FOUND)
		r = ferry_fail(r, "no object called \"%s\"", name);
	return r;
}

int
objects_delete_object(struct db *db, const char *user, const char *object)
{
	char removed[OBJECTS_ID_HEX_LEN + 1];

	if (!objects_id_valid(object))
		return ferry_fail(FERRY_ERR_USAGE, "object id: not %u hex digits",
		    OBJECTS_ID_HEX_LEN);
	return delete_where(db, user, "DELETE FROM objects WHERE user_id = ?1 AND object = ?2",
	    NULL, object, removed);
}

static int
add_size(void *arg, const struct db_object *o)
{
	uint64_t *sum = arg;

	if (o->size > UINT64_MAX - *sum)
		return ferry_fail(FERRY_ERR_DB, "database: sum of object sizes overflows");
	*sum += o->size;
	return 0;
}

int
objects_usage(struct db *db, const char *user, const struct meta_key *k, uint64_t *bytes)
{
	int64_t uid;
	int r;

	*bytes = 0;
	if ((r = user_id(db_sqlite(db), user, &uid)) != 0)
		return r;
	r = objects_list(db, user, k, add_size, bytes);
	if (r != 0)
		*bytes = 0;
	return r;
}

int
objects_referenced(struct db *db, const char *object, bool *out)
{
	*out = false;
	if (!objects_id_valid(object))
		return 0;
	return sql_exists_text(db_sqlite(db), "SELECT 1 FROM objects WHERE object = ?1", object,
	    OBJECTS_ID_HEX_LEN, out, "find object");
}

/* ---- objects stored before schema 5 ------------------------------------------------- */

struct legacy_row {
	int64_t id;
	char user[FERRY_MAX_USER_NAME + 1];
	struct db_object o;
};

static int
legacy_rows(sqlite3 *h, struct legacy_row **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct legacy_row *v = NULL, *nv;
	size_t cap = 0;
	int64_t size;
	int r, rc;

	*n = 0;
	if ((r = sql_prepare(h, "SELECT c.id, u.name, c.name, c.object, c.size, c.sha256, "
	    "c.stored FROM objects_clear c JOIN users u ON c.user_id = u.id", &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
				goto out;
			}
			v = nv;
		}
		memset(&v[*n], 0, sizeof(v[*n]));
		if ((r = sql_column_int(st, 0, &v[*n].id, "objects_clear.id")) != 0 ||
		    (r = sql_column_text(st, 1, v[*n].user, sizeof(v[*n].user), "users.name")) ||
		    (r = sql_column_text(st, 2, v[*n].o.name, sizeof(v[*n].o.name),
		    "objects_clear.name")) != 0 ||
		    (r = sql_column_text(st, 3, v[*n].o.object, sizeof(v[*n].o.object),
		    "objects_clear.object")) != 0 ||
		    (r = sql_column_int(st, 4, &size, "objects_clear.size")) != 0 ||
		    (r = sql_column_blob(st, 5, v[*n].o.sha256, OBJECTS_SHA256_LEN,
		    "objects_clear.sha256")) != 0 ||
		    (r = sql_column_int(st, 6, &v[*n].o.stored, "objects_clear.stored")) != 0)
			goto out;
		v[*n].o.size = size < 0 ? 0 : (uint64_t)size;
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		r = sql_fail(h, "read objects_clear");
out:
	sqlite3_finalize(st);
	if (r != 0) {
		free(v);
		v = NULL;
		*n = 0;
	}
	*out = v;
	return r;
}

int
objects_seal_legacy(struct db *db, struct vault *v, size_t *count)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct legacy_row *rows = NULL;
	struct vault_user_key *uk = NULL;
	struct meta_key k;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	size_t n = 0;
	bool exists;
	int r;

	*count = 0;
	if ((r = sql_prepare(h, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
	    "name = 'objects_clear'", &st)) != 0)
		return r;
	exists = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	st = NULL;
	if (!exists)
		return 0;
	if ((r = legacy_rows(h, &rows, &n)) != 0)
		return r;
	/* Each row: sealed into objects (idempotent for the same object id), then dropped
	 * from objects_clear; a crash between the two is repaired by the next run. */
	for (size_t i = 0; i < n; i++) {
		if ((r = vault_user_key(v, rows[i].user, true, &uk)) != 0 ||
		    (r = meta_key_derive(uk, &k)) != 0)
			goto out;
		vault_user_key_free(uk);
		uk = NULL;
		r = objects_put(db, rows[i].user, &k, &rows[i].o, replaced);
		meta_key_clear(&k);
		if (r != 0)
			goto out;
		if ((r = sql_prepare(h, "DELETE FROM objects_clear WHERE id = ?1", &st)) != 0 ||
		    (r = sql_bind_int64(h, st, 1, rows[i].id)) != 0)
			goto out;
		if (sqlite3_step(st) != SQLITE_DONE) {
			r = sql_fail(h, "seal objects_clear");
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
		(*count)++;
	}
	/* Rows of users that no longer exist went with them (ON DELETE CASCADE). */
	r = sql_exec(h, "DROP TABLE objects_clear", "drop objects_clear");
out:
	sqlite3_finalize(st);
	vault_user_key_free(uk);
	if (rows != NULL)
		OPENSSL_clear_free(rows, n * sizeof(*rows));
	return r;
}
