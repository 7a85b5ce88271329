#include "store/partials.h"

#include <string.h>

#include "store/account.h"
#include "store/meta.h"
#include "store/sql.h"
#include "util/err.h"

#define PARTIAL_COLUMNS "p.object, p.meta, p.started, p.updated"

/* A row into *p: object id and times always; with k, name and size from the sealed
 * metadata. */
static int
read_partial(sqlite3_stmt *st, const char *user, const struct meta_key *k,
    struct db_partial *p)
{
	struct meta_record rec;
	int r;

	memset(p, 0, sizeof(*p));
	if ((r = sql_column_text(st, 0, p->object, sizeof(p->object), "partials.object")) != 0 ||
	    (r = sql_column_int(st, 2, &p->started, "partials.started")) != 0 ||
	    (r = sql_column_int(st, 3, &p->updated, "partials.updated")) != 0)
		return r;
	if (!objects_id_valid(p->object) || sqlite3_column_type(st, 1) != SQLITE_BLOB)
		return ferry_fail(FERRY_ERR_DB, "database: partials: unexpected value");
	if (k == NULL)
		return 0;
	if ((r = meta_open(k, user, p->object, sqlite3_column_blob(st, 1),
	    (size_t)sqlite3_column_bytes(st, 1), &rec, "partials.meta")) != 0)
		return r;
	memcpy(p->name, rec.name, sizeof(p->name));
	p->size = rec.size;
	return 0;
}

static int
check_user(const char *user)
{
	if (user == NULL || !account_name_valid(user))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	return 0;
}

int
partials_start(struct db *db, const char *user, const struct meta_key *k,
    const struct db_partial *p, char replaced[OBJECTS_ID_HEX_LEN + 1])
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct meta_record rec;
	struct db_partial old;
	uint8_t tag[META_TAG_LEN], meta[META_SEALED_MAX];
	size_t meta_len;
	int r;

	replaced[0] = '\0';
	if ((r = check_user(user)) != 0)
		return r;
	if (!store_name_valid(p->name, NULL) || !objects_id_valid(p->object))
		return ferry_fail(FERRY_ERR_USAGE, "partial upload: bad name or id");
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.name, p->name, sizeof(rec.name));
	rec.size = p->size;
	if ((r = meta_tag(k, p->name, tag)) != 0 ||
	    (r = meta_seal(k, user, p->object, &rec, meta, &meta_len)) != 0)
		return r;
	if ((r = sql_begin(h, true)) != 0)
		return r;
	r = partials_get(db, user, k, p->name, &old);
	if (r == 0)
		memcpy(replaced, old.object, sizeof(old.object));
	else if (r != FERRY_ERR_NOT_FOUND)
		goto out;
	if ((r = sql_prepare(h, "INSERT INTO partials (user_id, tag, object, meta, started, "
	    "updated) SELECT id, ?2, ?3, ?4, ?5, ?5 FROM users WHERE name = ?1 "
	    "ON CONFLICT (user_id, tag) DO UPDATE SET object = excluded.object, "
	    "meta = excluded.meta, started = excluded.started, updated = excluded.updated",
	    &st)) != 0 ||
	    (r = sql_bind_text(h, st, 1, user, FERRY_MAX_USER_NAME)) != 0 ||
	    (r = sql_bind_blob(h, st, 2, tag, sizeof(tag))) != 0 ||
	    (r = sql_bind_text(h, st, 3, p->object, OBJECTS_ID_HEX_LEN)) != 0 ||
	    (r = sql_bind_blob(h, st, 4, meta, meta_len)) != 0 ||
	    (r = sql_bind_int64(h, st, 5, p->started)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(h, "record partial upload");
		goto out;
	}
	if (sqlite3_changes(h) == 0) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", user);
		goto out;
	}
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
partials_get(struct db *db, const char *user, const struct meta_key *k, const char *name,
    struct db_partial *out)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	uint8_t tag[META_TAG_LEN];
	int r, rc;

	memset(out, 0, sizeof(*out));
	if ((r = check_user(user)) != 0 || (r = meta_tag(k, name, tag)) != 0)
		return r;
	if ((r = sql_prepare(h, "SELECT " PARTIAL_COLUMNS " FROM partials p JOIN users u ON "
	    "p.user_id = u.id WHERE u.name = ?1 AND p.tag = ?2", &st)) != 0 ||
	    (r = sql_bind_text(h, st, 1, user, FERRY_MAX_USER_NAME)) != 0 ||
	    (r = sql_bind_blob(h, st, 2, tag, sizeof(tag))) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = read_partial(st, user, k, out);
	else if (rc == SQLITE_DONE)
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no partial upload of \"%s\"", name);
	else
		r = sql_fail(h, "find partial upload");
	if (r == 0 && strcmp(out->name, name) != 0)
		r = ferry_fail(FERRY_ERR_DB, "database: partials: sealed name does not match "
		    "its tag");
out:
	sqlite3_finalize(st);
	return r;
}

/* Run sql (parameter 1: object id, parameter 2: now if given) for one object id. */
static int
update_object(struct db *db, const char *sql, const char *object, const int64_t *now,
    const char *what)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int r;

	if (!objects_id_valid(object))
		return ferry_fail(FERRY_ERR_USAGE, "partial upload: bad object id");
	if ((r = sql_prepare(h, sql, &st)) != 0 ||
	    (r = sql_bind_text(h, st, 1, object, OBJECTS_ID_HEX_LEN)) != 0 ||
	    (now != NULL && (r = sql_bind_int64(h, st, 2, *now)) != 0))
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(h, what);
out:
	sqlite3_finalize(st);
	return r;
}

int
partials_touch(struct db *db, const char *object, int64_t now)
{
	return update_object(db, "UPDATE partials SET updated = ?2 WHERE object = ?1", object,
	    &now, "update partial upload");
}

int
partials_remove(struct db *db, const char *object)
{
	return update_object(db, "DELETE FROM partials WHERE object = ?1", object, NULL,
	    "remove partial upload");
}

int
partials_list_user(struct db *db, const char *user, const struct meta_key *k,
    int (*cb)(void *arg, const struct db_partial *p), void *arg)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct db_partial p;
	int r, rc;

	if ((r = check_user(user)) != 0)
		return r;
	if ((r = sql_prepare(h, "SELECT " PARTIAL_COLUMNS " FROM partials p JOIN users u ON "
	    "p.user_id = u.id WHERE u.name = ?1", &st)) != 0 ||
	    (r = sql_bind_text(h, st, 1, user, FERRY_MAX_USER_NAME)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = read_partial(st, user, k, &p)) != 0 || (r = cb(arg, &p)) != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = sql_fail(h, "list partial uploads");
out:
	sqlite3_finalize(st);
	return r;
}

int
partials_expire(struct db *db, int64_t before,
    void (*cb)(void *arg, const struct db_partial *p), void *arg, unsigned *n)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	struct db_partial p;
	int r, rc;

	*n = 0;
	if ((r = sql_begin(h, true)) != 0)
		return r;
	if ((r = sql_prepare(h, "DELETE FROM partials WHERE updated < ?1 RETURNING object, "
	    "meta, started, updated", &st)) != 0 ||
	    (r = sql_bind_int64(h, st, 1, before)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = read_partial(st, NULL, NULL, &p)) != 0)
			goto out;
		if (cb != NULL)
			cb(arg, &p);
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		r = sql_fail(h, "expire partial uploads");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sql_commit(h);
out:
	sqlite3_finalize(st);
	if (r != 0)
		sql_rollback(h);
	return r;
}

int
partials_referenced(struct db *db, const char *object, bool *out)
{
	*out = false;
	if (!objects_id_valid(object))
		return 0;
	return sql_exists_text(db_sqlite(db), "SELECT 1 FROM partials WHERE object = ?1", object,
	    OBJECTS_ID_HEX_LEN, out, "find partial upload");
}
