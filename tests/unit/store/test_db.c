/*
 * store/db: schema and migrations, users, certificates, revocation, audit and the
 * failed-authentication counters. Time is simulated by passing `now`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/db.h"
#include "testutil.h"
#include "util/err.h"

#define HASH_A "scrypt$15$8$1$00000000000000000000000000000000$" \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define HASH_B "scrypt$15$8$1$22222222222222222222222222222222$" \
	"3333333333333333333333333333333333333333333333333333333333333333"

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
	if (db_open(f->path, &f->db) != 0) {
		fprintf(stderr, "db_open: %s\n", ferry_error_detail(FERRY_ERR_DB));
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

/* Run one statement on the file directly, behind the module's back. */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

static int
raw_count(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int n;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* ---- schema ----------------------------------------------------------------------- */

static void
test_schema_created(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int v = -1;

	assert_int_equal(db_schema_version(f->db, &v), 0);
	assert_int_equal(v, DB_SCHEMA_VERSION);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM sqlite_master WHERE type = "
	    "'table' AND name IN ('users', 'certs', 'audit', 'auth_failures')"), 4);
	assert_int_equal(raw_count(f->path, "SELECT user_version FROM pragma_user_version"),
	    DB_SCHEMA_VERSION);
	/* The WAL and shared-memory files get the same private mode. */
	assert_int_equal(db_user_add(f->db, "walcheck", HASH_A), 0);
	{
		char side[600];

		snprintf(side, sizeof(side), "%s-wal", f->path);
		assert_int_equal(stat(side, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		snprintf(side, sizeof(side), "%s-shm", f->path);
		assert_int_equal(stat(side, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* WAL mode, so forked children can read while another writes. */
	{
		sqlite3 *h = NULL;
		sqlite3_stmt *s = NULL;

		assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
		sqlite3_close(h);
	}
}

static void
test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct db_user u;
	int v = -1;

	assert_int_equal(db_user_add(f->db, "alice", HASH_A), 0);
	assert_int_equal(db_cert_add(f->db, "0abc", "alice", 100, 200), 0);
	db_close(f->db);
	f->db = NULL;
	assert_int_equal(db_open(f->path, &f->db), 0);
	assert_int_equal(db_schema_version(f->db, &v), 0);
	assert_int_equal(v, DB_SCHEMA_VERSION);
	assert_int_equal(db_user_get(f->db, "alice", &u), 0);
	assert_string_equal(u.pw_hash, HASH_A);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM certs"), 1);
}

static void
test_migration_from_empty(void **state)
{
	struct fixture *f = *state;
	char path[600];
	struct db *db = NULL;
	int v = -1;

	/* An existing SQLite file at version 0 (e.g. created empty) is migrated on open. */
	snprintf(path, sizeof(path), "%s/old.db", f->dir);
	raw_exec(path, "CREATE TABLE unrelated (x INTEGER)");
	assert_int_equal(raw_count(path, "SELECT user_version FROM pragma_user_version"), 0);
	assert_int_equal(db_open(path, &db), 0);
	assert_int_equal(db_schema_version(db, &v), 0);
	assert_int_equal(v, DB_SCHEMA_VERSION);
	assert_int_equal(db_user_add(db, "bob", HASH_B), 0);
	db_close(db);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM users"), 1);
	assert_int_equal(raw_count(path, "SELECT count(*) FROM unrelated"), 0);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct db *db = (struct db *)&db;
	int r;

	db_close(f->db);
	f->db = NULL;
	raw_exec(f->path, "PRAGMA user_version = 99");
	r = db_open(f->path, &db);
	assert_int_equal(r, FERRY_ERR_UNSUPPORTED);
	assert_null(db);
	assert_non_null(strstr(ferry_error_detail(r), "schema version 99 is newer"));
	/* Refusing must not have changed the file. */
	assert_int_equal(raw_count(f->path, "SELECT user_version FROM pragma_user_version"), 99);
}

static void
test_open_errors(void **state)
{
	struct fixture *f = *state;
	char path[600], link[600];
	struct db *db = NULL;
	FILE *fp;

	/* An existing file with a loose mode is tightened to 0600. */
	snprintf(path, sizeof(path), "%s/loose.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(db_open(path, &db), 0);
	db_close(db);
	db = NULL;
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* Not a database. */
	snprintf(path, sizeof(path), "%s/junk.db", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not an SQLite database, not even close; it is just text.\n", fp);
	fclose(fp);
	assert_int_equal(db_open(path, &db), FERRY_ERR_DB);
	assert_null(db);
	/* A symlink is refused. */
	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->path, link), 0);
	assert_int_equal(db_open(link, &db), FERRY_ERR_IO);
	assert_null(db);
	/* A missing directory. */
	snprintf(path, sizeof(path), "%s/nope/ferry.db", f->dir);
	assert_int_equal(db_open(path, &db), FERRY_ERR_IO);
	db_close(NULL);
}

/* ---- users ------------------------------------------------------------------------ */

struct names {
	unsigned n;
	char name[8][40];
	bool disabled[8];
	int stop_after;
};

static int
collect_user(void *arg, const struct db_user *u)
{
	struct names *c = arg;

	if (c->n < 8) {
		snprintf(c->name[c->n], sizeof(c->name[0]), "%s", u->name);
		c->disabled[c->n] = u->disabled;
	}
	c->n++;
	if (c->stop_after != 0 && c->n == (unsigned)c->stop_after)
		return 42;
	return 0;
}

static void
test_users(void **state)
{
	struct fixture *f = *state;
	struct db_user u;
	struct names c;

	assert_int_equal(db_user_add(f->db, "carol", HASH_A), 0);
	assert_int_equal(db_user_add(f->db, "alice", HASH_A), 0);
	assert_int_equal(db_user_add(f->db, "bob", HASH_B), 0);
	assert_int_equal(db_user_add(f->db, "alice", HASH_B), FERRY_ERR_EXISTS);
	assert_int_equal(db_user_add(f->db, "Alice", HASH_B), FERRY_ERR_USAGE);
	assert_int_equal(db_user_add(f->db, "../x", HASH_B), FERRY_ERR_USAGE);
	assert_int_equal(db_user_add(f->db, "dave", ""), FERRY_ERR_USAGE);

	assert_int_equal(db_user_get(f->db, "alice", &u), 0);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.pw_hash, HASH_A);
	assert_false(u.disabled);
	assert_true(u.id > 0);
	assert_true(u.created > 1600000000);
	assert_int_equal(db_user_get(f->db, "zed", &u), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_user_get(f->db, "Alice", &u), FERRY_ERR_NOT_FOUND);

	assert_int_equal(db_user_set_disabled(f->db, "bob", true), 0);
	assert_int_equal(db_user_get(f->db, "bob", &u), 0);
	assert_true(u.disabled);
	assert_int_equal(db_user_set_disabled(f->db, "zed", true), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_user_set_password(f->db, "alice", HASH_B), 0);
	assert_int_equal(db_user_get(f->db, "alice", &u), 0);
	assert_string_equal(u.pw_hash, HASH_B);
	assert_int_equal(db_user_set_password(f->db, "zed", HASH_B), FERRY_ERR_NOT_FOUND);

	memset(&c, 0, sizeof(c));
	assert_int_equal(db_user_list(f->db, collect_user, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.name[0], "alice");
	assert_string_equal(c.name[1], "bob");
	assert_string_equal(c.name[2], "carol");
	assert_false(c.disabled[0]);
	assert_true(c.disabled[1]);
	/* A callback's non-zero return stops the walk and comes back. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(db_user_list(f->db, collect_user, &c), 42);
	assert_int_equal(c.n, 2);

	assert_int_equal(db_user_set_disabled(f->db, "bob", false), 0);
	assert_int_equal(db_user_get(f->db, "bob", &u), 0);
	assert_false(u.disabled);
}

static void
test_hostile_values_are_data(void **state)
{
	struct fixture *f = *state;
	struct db_user u;
	const char *evil = "x'); DROP TABLE users; --";

	/* Bound parameters: quotes in values are stored verbatim, never run. */
	assert_int_equal(db_user_add(f->db, "mallory", evil), 0);
	assert_int_equal(db_user_get(f->db, "mallory", &u), 0);
	assert_string_equal(u.pw_hash, evil);
	assert_int_equal(db_audit(f->db, "enrol", "' OR 1=1 --", "\"; DELETE FROM audit",
	    false, evil), 0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM users"), 1);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM audit"), 1);
}

/* ---- certificates ----------------------------------------------------------------- */

struct revoked {
	unsigned n;
	char serial[8][48];
	int64_t at[8];
};

static int
collect_revoked(void *arg, const char *serial, int64_t at)
{
	struct revoked *c = arg;

	if (c->n < 8) {
		snprintf(c->serial[c->n], sizeof(c->serial[0]), "%s", serial);
		c->at[c->n] = at;
	}
	c->n++;
	return 0;
}

static void
test_certs(void **state)
{
	struct fixture *f = *state;
	struct db_cert c;
	struct revoked rl;
	size_t n = 99;

	assert_int_equal(db_user_add(f->db, "alice", HASH_A), 0);
	assert_int_equal(db_user_add(f->db, "bob", HASH_B), 0);
	assert_int_equal(db_cert_add(f->db, "00A1B2C3D4E5F60718293a4b5c6d7e8f", "alice", 1000,
	    9000), 0);
	assert_int_equal(db_cert_add(f->db, "a2", "alice", 1000, 9000), 0);
	assert_int_equal(db_cert_add(f->db, "b1", "bob", 1000, 9000), 0);
	/* Duplicates (after normalising), unknown users and junk are refused. */
	assert_int_equal(db_cert_add(f->db, "0B1", "alice", 1000, 9000), FERRY_ERR_EXISTS);
	assert_int_equal(db_cert_add(f->db, "c1", "zed", 1000, 9000), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_cert_add(f->db, "xyz", "alice", 1000, 9000), FERRY_ERR_USAGE);
	assert_int_equal(db_cert_add(f->db, "", "alice", 1000, 9000), FERRY_ERR_USAGE);
	assert_int_equal(db_cert_add(f->db,
	    "0123456789abcdef0123456789abcdef012345678", "alice", 1000, 9000), FERRY_ERR_USAGE);
	assert_int_equal(db_cert_add(f->db, "c2", "alice", 9000, 1000), FERRY_ERR_USAGE);

	/* Lookup normalises the same way. */
	assert_int_equal(db_cert_lookup(f->db, "a1b2c3d4e5f60718293A4B5C6D7E8F", &c), 0);
	assert_string_equal(c.serial_hex, "a1b2c3d4e5f60718293a4b5c6d7e8f");
	assert_string_equal(c.user, "alice");
	assert_true(c.not_before == 1000 && c.not_after == 9000);
	assert_false(c.revoked);
	assert_true(c.revoked_at == 0);
	assert_false(c.user_disabled);
	assert_int_equal(db_cert_lookup(f->db, "ffff", &c), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_cert_lookup(f->db, "not hex", &c), FERRY_ERR_NOT_FOUND);

	/* Valid-certificate counts: unrevoked and not expired at now. */
	{
		unsigned cnt = 99;

		assert_int_equal(db_cert_count_valid(f->db, "alice", 5000, &cnt), 0);
		assert_int_equal(cnt, 2);
		assert_int_equal(db_cert_count_valid(f->db, "alice", 9000, &cnt), 0);
		assert_int_equal(cnt, 0);
		assert_int_equal(db_cert_count_valid(f->db, "bob", 5000, &cnt), 0);
		assert_int_equal(cnt, 1);
		assert_int_equal(db_cert_count_valid(f->db, "zed", 5000, &cnt),
		    FERRY_ERR_NOT_FOUND);
	}
	/* The owner's disabled flag shows through. */
	assert_int_equal(db_user_set_disabled(f->db, "bob", true), 0);
	assert_int_equal(db_cert_lookup(f->db, "B1", &c), 0);
	assert_true(c.user_disabled);
	assert_false(c.revoked);

	/* Revoke by serial. */
	assert_int_equal(db_cert_revoke(f->db, "00b1", 5000, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_cert_lookup(f->db, "b1", &c), 0);
	assert_true(c.revoked);
	assert_true(c.revoked_at == 5000);
	/* Again: already revoked, nothing new, the first time stays. */
	assert_int_equal(db_cert_revoke(f->db, "b1", 6000, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_cert_lookup(f->db, "b1", &c), 0);
	assert_true(c.revoked_at == 5000);

	/* Revoke by user name: all of alice's. */
	assert_int_equal(db_cert_revoke(f->db, "alice", 7000, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(db_cert_lookup(f->db, "a2", &c), 0);
	assert_true(c.revoked && c.revoked_at == 7000);
	assert_int_equal(db_cert_revoke(f->db, "alice", 8000, &n), 0);
	assert_int_equal(n, 0);
	/* A user with no certificates is fine (0 revoked); neither user nor serial is not. */
	assert_int_equal(db_user_add(f->db, "carol", HASH_A), 0);
	assert_int_equal(db_cert_revoke(f->db, "carol", 8000, &n), 0);
	assert_int_equal(n, 0);
	n = 99;
	assert_int_equal(db_cert_revoke(f->db, "zed", 8000, &n), FERRY_ERR_NOT_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(db_cert_revoke(f->db, "dead", 8000, NULL), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_cert_revoke(f->db, "../x", 8000, NULL), FERRY_ERR_NOT_FOUND);
	assert_int_equal(db_cert_revoke(f->db, "", 8000, NULL), FERRY_ERR_NOT_FOUND);

	memset(&rl, 0, sizeof(rl));
	assert_int_equal(db_cert_revoked_list(f->db, collect_revoked, &rl), 0);
	assert_int_equal(rl.n, 3);
	assert_string_equal(rl.serial[0], "b1");
	assert_true(rl.at[0] == 5000);
	assert_string_equal(rl.serial[1], "a1b2c3d4e5f60718293a4b5c6d7e8f");
	assert_string_equal(rl.serial[2], "a2");
	assert_true(rl.at[1] == 7000 && rl.at[2] == 7000);
	{
		unsigned cnt = 99;

		assert_int_equal(db_cert_count_valid(f->db, "alice", 5000, &cnt), 0);
		assert_int_equal(cnt, 0);
		assert_int_equal(db_cert_count_valid(f->db, "carol", 5000, &cnt), 0);
		assert_int_equal(cnt, 0);
	}
}

/* ---- audit ------------------------------------------------------------------------ */

struct audit_rows {
	unsigned n;
	int64_t last_id;
	char text[8][200];
};

static int
collect_audit(void *arg, const struct db_audit_entry *e)
{
	struct audit_rows *c = arg;

	if (c->n < 8)
		snprintf(c->text[c->n], sizeof(c->text[0]), "%s|%s|%s|%d|%s", e->event, e->user,
		    e->addr, e->ok, e->detail);
	c->last_id = e->id;
	c->n++;
	return 0;
}

static void
test_audit(void **state)
{
	struct fixture *f = *state;
	struct audit_rows c;
	char *big;

	assert_int_equal(db_audit(f->db, "enrol", "alice", "127.0.0.1:5555", true,
	    "serial 3f"), 0);
	assert_int_equal(db_audit(f->db, "enrol", "bob", "127.0.0.1:5556", false,
	    "wrong password"), 0);
	assert_int_equal(db_audit(f->db, "revoke", NULL, NULL, true, NULL), 0);
	assert_int_equal(db_audit(f->db, "", "x", "y", true, "z"), FERRY_ERR_USAGE);
	assert_int_equal(db_audit(f->db, NULL, "x", "y", true, "z"), FERRY_ERR_USAGE);

	memset(&c, 0, sizeof(c));
	assert_int_equal(db_audit_list(f->db, 0, 0, collect_audit, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.text[0], "enrol|alice|127.0.0.1:5555|1|serial 3f");
	assert_string_equal(c.text[1], "enrol|bob|127.0.0.1:5556|0|wrong password");
	assert_string_equal(c.text[2], "revoke|||1|");
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM audit WHERE time > 1600000000"),
	    3);

	/* Paging: after an id, at most limit rows. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(db_audit_list(f->db, 1, 1, collect_audit, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.text[0], "enrol|bob|127.0.0.1:5556|0|wrong password");

	/* Overlong text is cut, not refused. */
	big = malloc(5000);
	assert_non_null(big);
	memset(big, 'd', 4999);
	big[4999] = '\0';
	assert_int_equal(db_audit(f->db, "enrol", "x", "y", false, big), 0);
	assert_int_equal(raw_count(f->path, "SELECT max(length(detail)) FROM audit"),
	    FERRY_MAX_AUDIT_FIELD);
	free(big);
}

/* ---- rate limiting ---------------------------------------------------------------- */

static const struct auth_policy policy = { 5, 900, 600 };

static void
test_rate_lockout(void **state)
{
	struct fixture *f = *state;
	int64_t t = 1000000;
	int r;

	for (int i = 0; i < 4; i++) {
		assert_int_equal(db_auth_check(f->db, "user:alice", t + i, &policy), 0);
		assert_int_equal(db_auth_failed(f->db, "user:alice", t + i, &policy), 0);
	}
	/* Four failures: still allowed. The fifth locks. */
	assert_int_equal(db_auth_check(f->db, "user:alice", t + 4, &policy), 0);
	assert_int_equal(db_auth_failed(f->db, "user:alice", t + 4, &policy), 0);
	r = db_auth_check(f->db, "user:alice", t + 5, &policy);
	assert_int_equal(r, FERRY_ERR_RATE_LIMITED);
	assert_string_equal(ferry_error_detail(r),
	    "too many failed attempts for user:alice; try again in 599 s");
	/* Other scopes are independent. */
	assert_int_equal(db_auth_check(f->db, "user:bob", t + 5, &policy), 0);
	assert_int_equal(db_auth_check(f->db, "addr:127.0.0.1", t + 5, &policy), 0);
	/* Still locked just before the lockout ends, free at its end. */
	assert_int_equal(db_auth_check(f->db, "user:alice", t + 4 + 599, &policy),
	    FERRY_ERR_RATE_LIMITED);
	assert_int_equal(db_auth_check(f->db, "user:alice", t + 4 + 600, &policy), 0);
	/* After the lockout the count starts afresh: one failure does not relock. */
	assert_int_equal(db_auth_failed(f->db, "user:alice", t + 700, &policy), 0);
	assert_int_equal(db_auth_check(f->db, "user:alice", t + 701, &policy), 0);
}

static void
test_rate_window(void **state)
{
	struct fixture *f = *state;
	int64_t t = 2000000;

	/* Four failures, then the window passes: the next four do not lock. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(db_auth_failed(f->db, "addr:10.0.0.1", t + i, &policy), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(db_auth_failed(f->db, "addr:10.0.0.1", t + 900 + i, &policy), 0);
	assert_int_equal(db_auth_check(f->db, "addr:10.0.0.1", t + 904, &policy), 0);
	/* The fifth within the new window does. */
	assert_int_equal(db_auth_failed(f->db, "addr:10.0.0.1", t + 905, &policy), 0);
	assert_int_equal(db_auth_check(f->db, "addr:10.0.0.1", t + 906, &policy),
	    FERRY_ERR_RATE_LIMITED);
}

static void
test_rate_long_lockout(void **state)
{
	struct fixture *f = *state;
	static const struct auth_policy p = { 2, 60, 3600 };
	int64_t t = 3000000;

	/* A lockout longer than the window is not cut short when the window passes. */
	assert_int_equal(db_auth_failed(f->db, "user:x", t, &p), 0);
	assert_int_equal(db_auth_failed(f->db, "user:x", t + 1, &p), 0);
	assert_int_equal(db_auth_check(f->db, "user:x", t + 100, &p), FERRY_ERR_RATE_LIMITED);
	assert_int_equal(db_auth_failed(f->db, "user:x", t + 100, &p), 0);
	assert_int_equal(db_auth_check(f->db, "user:x", t + 1000, &p), FERRY_ERR_RATE_LIMITED);
	assert_int_equal(db_auth_check(f->db, "user:x", t + 3601, &p), 0);
}

static void
test_rate_success_resets(void **state)
{
	struct fixture *f = *state;
	int64_t t = 4000000;

	for (int i = 0; i < 4; i++)
		assert_int_equal(db_auth_failed(f->db, "user:carol", t + i, &policy), 0);
	assert_int_equal(db_auth_succeeded(f->db, "user:carol"), 0);
	/* Four more after the reset: still not locked (it would be without the reset). */
	for (int i = 0; i < 4; i++)
		assert_int_equal(db_auth_failed(f->db, "user:carol", t + 10 + i, &policy), 0);
	assert_int_equal(db_auth_check(f->db, "user:carol", t + 20, &policy), 0);
	/* A success also lifts a lock. */
	assert_int_equal(db_auth_failed(f->db, "user:carol", t + 21, &policy), 0);
	assert_int_equal(db_auth_check(f->db, "user:carol", t + 22, &policy),
	    FERRY_ERR_RATE_LIMITED);
	assert_int_equal(db_auth_succeeded(f->db, "user:carol"), 0);
	assert_int_equal(db_auth_check(f->db, "user:carol", t + 22, &policy), 0);
	/* Resetting an unknown scope is harmless. */
	assert_int_equal(db_auth_succeeded(f->db, "user:nobody"), 0);
}

static void
test_rate_bad_args(void **state)
{
	struct fixture *f = *state;
	static const struct auth_policy zero = { 0, 900, 900 };
	char long_scope[FERRY_MAX_AUTH_SCOPE + 2];

	memset(long_scope, 's', sizeof(long_scope) - 1);
	long_scope[sizeof(long_scope) - 1] = '\0';
	assert_int_equal(db_auth_check(f->db, "", 1, &policy), FERRY_ERR_USAGE);
	assert_int_equal(db_auth_check(f->db, long_scope, 1, &policy), FERRY_ERR_USAGE);
	assert_int_equal(db_auth_failed(f->db, "user:a", 1, &zero), FERRY_ERR_USAGE);
	assert_int_equal(db_auth_failed(f->db, "user:a", 1, NULL), FERRY_ERR_USAGE);
	assert_int_equal(db_auth_succeeded(f->db, NULL), FERRY_ERR_USAGE);
}

static void
test_rate_table_pruned(void **state)
{
	struct fixture *f = *state;
	char scope[32];

	/* Stale scopes are removed as new failures come in. */
	for (int i = 0; i < 20; i++) {
		snprintf(scope, sizeof(scope), "addr:10.0.0.%d", i);
		assert_int_equal(db_auth_failed(f->db, scope, 1000 + i, &policy), 0);
	}
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM auth_failures"), 20);
	assert_int_equal(db_auth_failed(f->db, "addr:10.9.9.9", 100000, &policy), 0);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM auth_failures"), 1);
}

/* Two connections, as two forked children would have, see each other's writes. */
static void
test_two_connections(void **state)
{
	struct fixture *f = *state;
	struct db *other = NULL;
	struct db_cert c;
	size_t n;

	assert_int_equal(db_open(f->path, &other), 0);
	assert_int_equal(db_user_add(f->db, "alice", HASH_A), 0);
	assert_int_equal(db_cert_add(f->db, "ab", "alice", 1, 2), 0);
	assert_int_equal(db_cert_lookup(other, "ab", &c), 0);
	assert_false(c.revoked);
	assert_int_equal(db_cert_revoke(other, "ab", 5, &n), 0);
	assert_int_equal(db_cert_lookup(f->db, "ab", &c), 0);
	assert_true(c.revoked);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(db_auth_failed(f->db, "user:alice", 10, &policy), 0);
		assert_int_equal(db_auth_failed(other, "user:alice", 10, &policy), 0);
	}
	assert_int_equal(db_auth_check(f->db, "user:alice", 11, &policy), FERRY_ERR_RATE_LIMITED);
	db_close(other);
}

/* Forked children, each with its own connection, update the same rows at once. */
static void
test_forked_writers(void **state)
{
	struct fixture *f = *state;
	static const struct auth_policy p = { 1000, 100000, 10 };
	enum { CHILDREN = 8, EACH = 10 };
	pid_t pids[CHILDREN];

	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct db *db = NULL;
			int bad = 0;

			if (db_open(f->path, &db) != 0)
				_exit(2);
			for (int j = 0; j < EACH; j++) {
				bad |= db_auth_failed(db, "addr:192.0.2.1", 500, &p) != 0;
				bad |= db_audit(db, "enrol", "x", "192.0.2.1", false, "w") != 0;
			}
			db_close(db);
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < CHILDREN; i++) {
		int status = -1;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(raw_count(f->path,
	    "SELECT failures FROM auth_failures WHERE scope = 'addr:192.0.2.1'"), CHILDREN * EACH);
	assert_int_equal(raw_count(f->path, "SELECT count(*) FROM audit"), CHILDREN * EACH);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_schema_created),
		T(test_reopen_keeps_data),
		T(test_migration_from_empty),
		T(test_newer_schema_refused),
		T(test_open_errors),
		T(test_users),
		T(test_hostile_values_are_data),
		T(test_certs),
		T(test_audit),
		T(test_rate_lockout),
		T(test_rate_window),
		T(test_rate_long_lockout),
		T(test_rate_success_resets),
		T(test_rate_bad_args),
		T(test_rate_table_pruned),
		T(test_two_connections),
		T(test_forked_writers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
