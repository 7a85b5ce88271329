/*
 * store/objects: the name rules, object ids, and the objects table: put (insert and
 * replace in one transaction), get, list in name order, delete, isolation between users,
 * the sum of a user's sizes (objects_usage), cascade on user deletion, deleting an
 * account (store/account.h account_delete: refused while objects or partial uploads are
 * left; certificates retired for the CRL), the migration from schema 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/account.h"
#include "store/db.h"
#include "store/meta.h"
#include "store/objects.h"
#include "store/partials.h"
#include "store/vault.h"
#include "testutil.h"
#include "util/err.h"

/* The metadata key every test row is sealed under. */
static struct meta_key K = { { 1, 2, 3 }, { 4, 5, 6 } };

#define HASH "scrypt$15$8$1$00000000000000000000000000000000$" \
	"1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
	char *dir;
	char path[512];
	struct db *db;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->dir = test_tmpdir();
	snprintf(f->path, sizeof(f->path), "%s/ferry.db", f->dir);
	if (db_open(f->path, &f->db) != 0 || db_user_add(f->db, "alice", HASH) != 0 ||
	    db_user_add(f->db, "bob", HASH) != 0) {
		fprintf(stderr, "setup: %s\n", ferry_error_detail(FERRY_ERR_DB));
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	db_close(f->db);
	rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static int
raw_count(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

/* An object record for name with a fresh id, size and a digest derived from seed. */
static void
make_object(struct db_object *o, const char *name, uint64_t size, uint8_t seed)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->name, sizeof(o->name), "%s", name);
	assert_int_equal(objects_new_id(o->object), 0);
	o->size = size;
	for (size_t i = 0; i < sizeof(o->sha256); i++)
		o->sha256[i] = (uint8_t)(seed + i);
	o->stored = 1700000000 + seed;
}

static void
test_names(void **state)
{
	static const char *const good[] = { "a", "report.pdf", "..x", "x..", "...", ".hidden",
		"a b", "caf\xc3\xa9", "\xe2\x82\xac 100", "name with 'quotes' and \"more\"",
		"back\\slash", "-dash" };
	static const struct {
		const char *name, *why;
	} bad[] = {
		{ "", "empty" },
		{ ".", "\"..\"" },
		{ "..", "\"..\"" },
		{ "a/b", "'/'" },
		{ "/abs", "'/'" },
		{ "../x", "'/'" },
		{ "x/", "'/'" },
		{ " lead", "space" },
		{ "trail ", "space" },
		{ "tab\tx", "control" },
		{ "nl\nx", "control" },
		{ "del\x7fx", "control" },
		{ "c1\xc2\x85x", "control" },
		{ "bad\xffutf8", "UTF-8" },
		{ "\xc3", "UTF-8" },
		{ "\xed\xa0\x80", "UTF-8" },   /* a surrogate */
		{ "\xc0\xaf", "UTF-8" },       /* overlong '/' */
	};
	char name[FERRY_MAX_OBJECT_NAME + 2];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = "unset";
		if (!store_name_valid(good[i], &why))
			fail_msg("\"%s\" refused: %s", good[i], why);
		assert_null(why);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (store_name_valid(bad[i].name, &why))
			fail_msg("bad name %zu accepted", i);
		assert_non_null(why);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("name %zu: reason \"%s\" lacks \"%s\"", i, why, bad[i].why);
	}
	assert_false(store_name_valid(NULL, NULL));
	memset(name, 'n', FERRY_MAX_OBJECT_NAME);
	name[FERRY_MAX_OBJECT_NAME] = '\0';
	assert_true(store_name_valid(name, NULL));
	name[FERRY_MAX_OBJECT_NAME] = 'n';
	name[FERRY_MAX_OBJECT_NAME + 1] = '\0';
	assert_false(store_name_valid(name, &why));
	assert_non_null(strstr(why, "255"));
}

static void
test_ids(void **state)
{
	char a[OBJECTS_ID_HEX_LEN + 1], b[OBJECTS_ID_HEX_LEN + 1];

	(void)state;
	assert_int_equal(objects_new_id(a), 0);
	assert_int_equal(objects_new_id(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_true(objects_id_valid(a));
	assert_true(objects_id_valid(b));
	assert_string_not_equal(a, b);
	assert_true(objects_id_valid("0123456789abcdef0123456789abcdef"));
	assert_false(objects_id_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(objects_id_valid("0123456789abcdef0123456789abcde"));
	assert_false(objects_id_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(objects_id_valid("../3456789abcdef0123456789abcdef"));
	assert_false(objects_id_valid("tmp"));
	assert_false(objects_id_valid(NULL));
}

static void
test_put_get(void **state)
{
	struct fixture *f = *state;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	struct db_object o, g;

	make_object(&o, "report.pdf", 12345, 1);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
	assert_string_equal(replaced, "");
	assert_int_equal(objects_get(f->db, "alice", &K, "report.pdf", &g), 0);
	assert_string_equal(g.name, "report.pdf");
	assert_string_equal(g.object, o.object);
	assert_true(g.size == 12345);
	assert_memory_equal(g.sha256, o.sha256, 32);
	assert_int_equal(g.stored, o.stored);

	/* Not found: another name, another user, an unknown user. */
	assert_int_equal(objects_get(f->db, "alice", &K, "other", &g), FERRY_ERR_NOT_FOUND);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_NOT_FOUND), "other"));
	assert_int_equal(objects_get(f->db, "bob", &K, "report.pdf", &g), FERRY_ERR_NOT_FOUND);
	assert_int_equal(objects_get(f->db, "nobody", &K, "report.pdf", &g), FERRY_ERR_NOT_FOUND);
	assert_int_equal(objects_put(f->db, "nobody", &K, &o, replaced), FERRY_ERR_NOT_FOUND);
	assert_int_equal(objects_put(f->db, "../x", &K, &o, replaced), FERRY_ERR_NOT_FOUND);

	/* Bad names and ids are refused. */
	assert_int_equal(objects_get(f->db, "alice", &K, "a/b", &g), FERRY_ERR_USAGE);
	make_object(&o, "../etc", 1, 2);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), FERRY_ERR_USAGE);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_USAGE), "'/'"));
	make_object(&o, "fine", 1, 2);
	snprintf(o.object, sizeof(o.object), "%s", "../../etc/passwd");
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), FERRY_ERR_USAGE);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM objects"), 1);
}

static void
test_replace(void **state)
{
	struct fixture *f = *state;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	struct db_object o1, o2, b1, g;
	bool used;

	make_object(&o1, "notes", 10, 1);
	make_object(&o2, "notes", 20, 2);
	make_object(&b1, "notes", 30, 3);
	assert_int_equal(objects_put(f->db, "alice", &K, &o1, replaced), 0);
	assert_int_equal(objects_put(f->db, "bob", &K, &b1, replaced), 0);
	assert_string_equal(replaced, "");
	assert_int_equal(objects_put(f->db, "alice", &K, &o2, replaced), 0);
	assert_string_equal(replaced, o1.object);
	assert_int_equal(objects_get(f->db, "alice", &K, "notes", &g), 0);
	assert_string_equal(g.object, o2.object);
	assert_true(g.size == 20);
	/* bob's object of the same name is untouched. */
	assert_int_equal(objects_get(f->db, "bob", &K, "notes", &g), 0);
	assert_string_equal(g.object, b1.object);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM objects"), 2);

	assert_int_equal(objects_referenced(f->db, o1.object, &used), 0);
	assert_false(used);
	assert_int_equal(objects_referenced(f->db, o2.object, &used), 0);
	assert_true(used);
	assert_int_equal(objects_referenced(f->db, b1.object, &used), 0);
	assert_true(used);
	assert_int_equal(objects_referenced(f->db, "not an id", &used), 0);
	assert_false(used);

	/* The same object id cannot be recorded twice. */
	make_object(&o1, "other", 1, 4);
	memcpy(o1.object, o2.object, sizeof(o1.object));
	assert_int_equal(objects_put(f->db, "alice", &K, &o1, replaced), FERRY_ERR_DB);
	assert_string_equal(replaced, "");
	assert_int_equal(objects_get(f->db, "alice", &K, "other", &g), FERRY_ERR_NOT_FOUND);
	/* ... and the failed transaction left nothing open: the next put works. */
	make_object(&o1, "other", 1, 4);
	assert_int_equal(objects_put(f->db, "alice", &K, &o1, replaced), 0);
}

struct collected {
	char names[8][FERRY_MAX_OBJECT_NAME + 1];
	size_t n;
	int stop_after;
};

static int
collect(void *arg, const struct db_object *o)
{
	struct collected *c = arg;

	assert_true(c->n < 8);
	snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", o->name);
	if (c->stop_after > 0 && (int)c->n == c->stop_after)
		return 42;
	return 0;
}

static void
test_list_delete(void **state)
{
	static const char *const names[] = { "b", "a", "\xc3\xa9t\xc3\xa9", "B", "a b" };
	struct fixture *f = *state;
	char replaced[OBJECTS_ID_HEX_LEN + 1], removed[OBJECTS_ID_HEX_LEN + 1];
	struct collected c;
	struct db_object o, g;
	char a_id[OBJECTS_ID_HEX_LEN + 1] = "";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		make_object(&o, names[i], i, (uint8_t)i);
		assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
		if (strcmp(names[i], "a") == 0)
			memcpy(a_id, o.object, sizeof(a_id));
	}
	make_object(&o, "bob's", 1, 9);
	assert_int_equal(objects_put(f->db, "bob", &K, &o, replaced), 0);

	/* Bytewise name order, only alice's. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(objects_list(f->db, "alice", &K, collect, &c), 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.names[0], "B");
	assert_string_equal(c.names[1], "a");
	assert_string_equal(c.names[2], "a b");
	assert_string_equal(c.names[3], "b");
	assert_string_equal(c.names[4], "\xc3\xa9t\xc3\xa9");
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(objects_list(f->db, "alice", &K, collect, &c), 42);
	assert_int_equal(c.n, 2);
	memset(&c, 0, sizeof(c));
	assert_int_equal(objects_list(f->db, "bob", &K, collect, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.names[0], "bob's");
	memset(&c, 0, sizeof(c));
	assert_int_equal(objects_list(f->db, "nobody", &K, collect, &c), 0);
	assert_int_equal(c.n, 0);

	/* Delete: only the owner's, and the object id is handed back. */
	assert_int_equal(objects_delete(f->db, "bob", &K, "a", removed), FERRY_ERR_NOT_FOUND);
	assert_string_equal(removed, "");
	assert_int_equal(objects_delete(f->db, "alice", &K, "a", removed), 0);
	assert_string_equal(removed, a_id);
	assert_int_equal(objects_get(f->db, "alice", &K, "a", &g), FERRY_ERR_NOT_FOUND);
	assert_int_equal(objects_delete(f->db, "alice", &K, "a", removed), FERRY_ERR_NOT_FOUND);
	assert_int_equal(objects_delete(f->db, "alice", &K, "..", removed), FERRY_ERR_USAGE);
	memset(&c, 0, sizeof(c));
	assert_int_equal(objects_list(f->db, "alice", &K, collect, &c), 0);
	assert_int_equal(c.n, 4);
}

static void
test_usage(void **state)
{
	struct fixture *f = *state;
	char replaced[OBJECTS_ID_HEX_LEN + 1], removed[OBJECTS_ID_HEX_LEN + 1];
	struct db_object o;
	uint64_t n = 99;

	assert_int_equal(objects_usage(f->db, "alice", &K, &n), 0);
	assert_true(n == 0);
	make_object(&o, "a", 1000, 1);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
	make_object(&o, "b", 2500, 2);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
	make_object(&o, "c", 7, 3);
	assert_int_equal(objects_put(f->db, "bob", &K, &o, replaced), 0);
	make_object(&o, "empty", 0, 4);
	assert_int_equal(objects_put(f->db, "bob", &K, &o, replaced), 0);
	assert_int_equal(objects_usage(f->db, "alice", &K, &n), 0);
	assert_true(n == 3500);
	assert_int_equal(objects_usage(f->db, "bob", &K, &n), 0);
	assert_true(n == 7);
	/* A replaced object counts with its new size, a deleted one not at all. */
	make_object(&o, "a", 10, 5);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
	assert_int_equal(objects_usage(f->db, "alice", &K, &n), 0);
	assert_true(n == 2510);
	assert_int_equal(objects_delete(f->db, "alice", &K, "b", removed), 0);
	assert_int_equal(objects_usage(f->db, "alice", &K, &n), 0);
	assert_true(n == 10);
	/* Unknown or invalid users. */
	n = 99;
	assert_int_equal(objects_usage(f->db, "nobody", &K, &n), FERRY_ERR_NOT_FOUND);
	assert_true(n == 0);
	assert_int_equal(objects_usage(f->db, "../x", &K, &n), FERRY_ERR_NOT_FOUND);
	assert_int_equal(objects_usage(f->db, NULL, &K, &n), FERRY_ERR_NOT_FOUND);
	/* Sizes near the limit: the largest sum is exact, an overflowing one an error. */
	make_object(&o, "h1", UINT64_MAX - 7 - 100, 6);
	assert_int_equal(objects_put(f->db, "bob", &K, &o, replaced), 0);
	make_object(&o, "h2", 100, 7);
	assert_int_equal(objects_put(f->db, "bob", &K, &o, replaced), 0);
	assert_int_equal(objects_usage(f->db, "bob", &K, &n), 0);
	assert_true(n == UINT64_MAX);
	make_object(&o, "h3", 1, 8);
	assert_int_equal(objects_put(f->db, "bob", &K, &o, replaced), 0);
	assert_int_equal(objects_usage(f->db, "bob", &K, &n), FERRY_ERR_DB);
	assert_true(n == 0);
	/* Usable inside a caller's transaction (no BEGIN of its own). */
	assert_int_equal(sqlite3_exec(db_sqlite(f->db), "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(objects_usage(f->db, "alice", &K, &n), 0);
	assert_true(n == 10);
	assert_int_equal(sqlite3_exec(db_sqlite(f->db), "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
}

struct revoked {
	size_t n;
	char serial[4][40];
	int64_t at[4];
};

static int
collect_revoked(void *arg, const char *serial_hex, int64_t revoked_at)
{
	struct revoked *rv = arg;

	if (rv->n < 4) {
		snprintf(rv->serial[rv->n], sizeof(rv->serial[0]), "%s", serial_hex);
		rv->at[rv->n] = revoked_at;
	}
	rv->n++;
	return 0;
}

static int
count_listed(void *arg, const struct db_object *o)
{
	(void)o;
	(*(size_t *)arg)++;
	return 0;
}

/* account_delete: refused while files are left; certificates retired, key gone. */
static void
test_account_delete(void **state)
{
	struct fixture *f = *state;
	char replaced[OBJECTS_ID_HEX_LEN + 1], removed[OBJECTS_ID_HEX_LEN + 1];
	struct vault *v = NULL;
	struct vault_user_key *k = NULL;
	struct db_partial p;
	struct db_object o;
	struct db_cert dc;
	struct revoked rv;
	struct db_user u;
	size_t n = 99, listed = 0;
	uint64_t bytes = 1;
	unsigned valid = 9;

	assert_int_equal(db_cert_add(f->db, "aa01", "alice", 1000, 4000000000), 0);
	assert_int_equal(db_cert_add(f->db, "aa02", "alice", 1000, 4000000000), 0);
	assert_int_equal(db_cert_revoke(f->db, "aa02", 1500, NULL), 0);
	assert_int_equal(db_cert_add(f->db, "bb01", "bob", 1000, 4000000000), 0);
	assert_int_equal(vault_open(f->dir, f->db, &v), 0);
	assert_int_equal(vault_user_key(v, "alice", true, &k), 0);
	vault_user_key_free(k);
	assert_int_equal(vault_user_key(v, "bob", true, &k), 0);
	vault_user_key_free(k);
	k = NULL;
	make_object(&o, "x", 100, 1);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "half");
	assert_int_equal(objects_new_id(p.object), 0);
	p.size = 5000;
	p.started = p.updated = 1600;
	assert_int_equal(partials_start(f->db, "alice", &K, &p, replaced), 0);

	/* Refused, and nothing changed, while an object or a partial upload is left. */
	ferry_error_clear();
	assert_int_equal(account_delete(f->db, "alice", 2000, &n), FERRY_ERR_EXISTS);
	assert_string_equal(ferry_error_detail(FERRY_ERR_EXISTS),
	    "user alice still has 1 stored file and 1 partial upload");
	assert_true(n == 0);
	assert_int_equal(objects_delete(f->db, "alice", &K, "x", removed), 0);
	assert_int_equal(account_delete(f->db, "alice", 2000, &n), FERRY_ERR_EXISTS);
	assert_string_equal(ferry_error_detail(FERRY_ERR_EXISTS),
	    "user alice still has 0 stored files and 1 partial upload");
	assert_int_equal(db_user_get(f->db, "alice", &u), 0);
	assert_int_equal(db_cert_lookup(f->db, "aa01", &dc), 0);
	assert_false(dc.revoked);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM user_keys"), 2);
	assert_int_equal(partials_remove(f->db, p.object), 0);

	/* Now it goes: one certificate newly revoked. */
	assert_int_equal(account_delete(f->db, "alice", 2000, &n), 0);
	assert_true(n == 1);
	assert_int_equal(db_user_get(f->db, "alice", &u), FERRY_ERR_NOT_FOUND);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM user_keys"), 1);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM certs"), 1);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM retired_certs WHERE "
	    "user = 'alice'"), 2);
	/* Her certificates are no longer found (so a session is refused) ... */
	assert_int_equal(db_cert_lookup(f->db, "aa01", &dc), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_cert_lookup(f->db, "aa02", &dc), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_cert_lookup(f->db, "bb01", &dc), 0);
	/* ... but still listed as revoked, in revocation order, bob's not. */
	memset(&rv, 0, sizeof(rv));
	assert_int_equal(db_cert_revoked_list(f->db, collect_revoked, &rv), 0);
	assert_int_equal(rv.n, 2);
	assert_string_equal(rv.serial[0], "aa02");
	assert_int_equal(rv.at[0], 1500);
	assert_string_equal(rv.serial[1], "aa01");
	assert_int_equal(rv.at[1], 2000);
	/* Bob is untouched. */
	assert_int_equal(vault_user_key(v, "bob", false, &k), 0);
	vault_user_key_free(k);
	k = NULL;
	assert_int_equal(objects_usage(f->db, "bob", &K, &bytes), 0);

	/* Again: no such user. Invalid names likewise. */
	assert_int_equal(account_delete(f->db, "alice", 2100, &n), FERRY_ERR_NOT_FOUND);
	assert_true(n == 0);
	assert_int_equal(account_delete(f->db, "../alice", 2100, NULL), FERRY_ERR_NOT_FOUND);

	/* The name again: an empty account with no key and no certificates. */
	assert_int_equal(db_user_add(f->db, "alice", HASH), 0);
	assert_int_equal(objects_usage(f->db, "alice", &K, &bytes), 0);
	assert_true(bytes == 0);
	assert_int_equal(objects_list(f->db, "alice", &K, count_listed, &listed), 0);
	assert_int_equal(listed, 0);
	assert_int_equal(vault_user_key(v, "alice", false, &k), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_cert_count_valid(f->db, "alice", 2200, &valid), 0);
	assert_int_equal(valid, 0);
	memset(&rv, 0, sizeof(rv));
	assert_int_equal(db_cert_revoked_list(f->db, collect_revoked, &rv), 0);
	assert_int_equal(rv.n, 2);
	/* An account with nothing at all goes at once. */
	assert_int_equal(account_delete(f->db, "alice", 2300, &n), 0);
	assert_true(n == 0);
	vault_free(v);
}

/* Deleting a user deletes the user's rows (ON DELETE CASCADE). */
static void
test_cascade(void **state)
{
	struct fixture *f = *state;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	struct db_object o;

	make_object(&o, "x", 1, 1);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
	make_object(&o, "y", 1, 2);
	assert_int_equal(objects_put(f->db, "bob", &K, &o, replaced), 0);
	db_close(f->db);
	f->db = NULL;
	raw_exec(f->path, "PRAGMA foreign_keys = ON; DELETE FROM users WHERE name = 'alice'");
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM objects"), 1);
	assert_int_equal(db_open(f->path, &f->db), 0);
}

/* A schema-2 file (before the store) gains the objects table; a damaged row is refused
 * on read instead of trusted. */
static void
test_migration_and_damage(void **state)
{
	struct fixture *f = *state;
	char path[600];
	struct db *db = NULL;
	struct db_object g, o;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	int v = 0;

	/* Make a schema-2 file: a current one without the tables of versions 3 and up. */
	snprintf(path, sizeof(path), "%s/old.db", f->dir);
	assert_int_equal(db_open(path, &db), 0);
	db_close(db);
	raw_exec(path, "DROP TABLE objects; DROP TABLE IF EXISTS objects_clear; "
	    "DROP TABLE IF EXISTS partials; DROP TABLE IF EXISTS retired_certs; "
	    "PRAGMA user_version = 2;");
	assert_int_equal(raw_count(path,
	    "SELECT count(*) FROM sqlite_master WHERE name = 'objects'"), 0);
	assert_int_equal(db_open(path, &db), 0);
	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, DB_SCHEMA_VERSION);
	assert_true(v >= 5);
	db_close(db);
	assert_int_equal(raw_count(path,
	    "SELECT count(*) FROM sqlite_master WHERE name = 'objects'"), 1);

	/* Tampered rows are refused on read: an object id that is not one, a row moved to
	 * another object id (the sealed metadata is bound to it), an altered seal. */
	make_object(&o, "evil", 5, 9);
	assert_int_equal(objects_put(f->db, "alice", &K, &o, replaced), 0);
	raw_exec(f->path, "UPDATE objects SET object = '../../x'");
	assert_int_equal(objects_get(f->db, "alice", &K, "evil", &g), FERRY_ERR_DB);
	raw_exec(f->path, "UPDATE objects SET object = '0123456789abcdef0123456789abcdef'");
	assert_int_equal(objects_get(f->db, "alice", &K, "evil", &g), FERRY_ERR_DB);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_DB), "does not open"));
	raw_exec(f->path, "UPDATE objects SET object = '" "0909090909090909" "0909090909090909" "', "
	    "meta = zeroblob(length(meta))");
	assert_int_equal(objects_get(f->db, "alice", &K, "evil", &g), FERRY_ERR_DB);
	/* Another key finds nothing (the tag differs). */
	{
		struct meta_key other = { { 9 }, { 9 } };

		assert_int_equal(objects_get(f->db, "alice", &other, "evil", &g),
		    FERRY_ERR_NOT_FOUND);
	}
}

/* Rows stored before schema 5 (names in clear, table objects_clear) are sealed with the
 * users' keys by objects_seal_legacy, which then drops the table; nothing of the name is
 * left in the database file. */
static void
test_seal_legacy(void **state)
{
	struct fixture *f = *state;
	struct vault *v = NULL;
	struct vault_user_key *uk = NULL;
	struct meta_key k;
	struct db_object g;
	size_t n = 99;

	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM sqlite_master WHERE name = 'objects_clear'"), 1);
	raw_exec(f->path, "INSERT INTO objects_clear (user_id, name, object, size, sha256, "
	    "stored) SELECT id, 'legacy-secret-name.txt', '0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a', 77, "
	    "zeroblob(32), 1234 FROM users WHERE name = 'alice'");
	assert_int_equal(vault_open(f->dir, f->db, &v), 0);
	assert_int_equal(objects_seal_legacy(f->db, v, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(raw_count(f->path,
	    "SELECT count(*) FROM sqlite_master WHERE name = 'objects_clear'"), 0);
	assert_int_equal(vault_user_key(v, "alice", false, &uk), 0);
	assert_int_equal(meta_key_derive(uk, &k), 0);
	assert_int_equal(objects_get(f->db, "alice", &k, "legacy-secret-name.txt", &g), 0);
	assert_true(g.size == 77 && g.stored == 1234);
	assert_string_equal(g.object, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a");
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM objects WHERE "
	    "instr(CAST(meta AS TEXT), 'legacy') > 0"), 0);
	/* Nothing left to do the second time. */
	assert_int_equal(objects_seal_legacy(f->db, v, &n), 0);
	assert_int_equal(n, 0);
	meta_key_clear(&k);
	vault_user_key_free(uk);
	vault_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ids),
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_and_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seal_legacy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
