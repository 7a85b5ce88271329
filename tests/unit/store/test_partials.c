/*
 * store/partials: partial uploads kept for a resume: start (insert, replace of the same
 * name returning the old id), get, touch, remove by object id, listing per user,
 * isolation between users, expiry with its callback, and referenced() for the sweep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/db.h"
#include "store/meta.h"
#include "store/partials.h"
#include "testutil.h"
#include "util/err.h"

/* The metadata key every test row is sealed under. */
static struct meta_key K = { { 1, 2, 3 }, { 4, 5, 6 } };

#define HASH "scrypt$15$8$1$00000000000000000000000000000000$" \
	"1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
	char *dir;
	struct db *db;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[512];

	if (f == NULL)
		return -1;
	f->dir = test_tmpdir();
	snprintf(path, sizeof(path), "%s/ferry.db", f->dir);
	if (db_open(path, &f->db) != 0 || db_user_add(f->db, "alice", HASH) != 0 ||
	    db_user_add(f->db, "bob", HASH) != 0)
		return -1;
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

static void
make(struct db_partial *p, const char *name, char digit, uint64_t size, int64_t when)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	memset(p->object, digit, OBJECTS_ID_HEX_LEN);
	p->object[OBJECTS_ID_HEX_LEN] = '\0';
	p->size = size;
	p->started = when;
}

struct names {
	char buf[256];
	unsigned n;
};

static int
collect(void *arg, const struct db_partial *p)
{
	struct names *c = arg;

	size_t len = strlen(c->buf);

	snprintf(c->buf + len, sizeof(c->buf) - len, "%s,", p->name);
	c->n++;
	return 0;
}

/* Expiry has no key: it sees object ids, not names. */
static void
count_expired(void *arg, const struct db_partial *p)
{
	struct names *c = arg;
	size_t len = strlen(c->buf);

	assert_string_equal(p->name, "");
	snprintf(c->buf + len, sizeof(c->buf) - len, "%c,", p->object[0]);
	c->n++;
}

static void
test_start_get_remove(void **state)
{
	struct fixture *f = *state;
	struct db_partial p, got;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	bool used;

	make(&p, "big.iso", 'a', 5000000, 1000);
	assert_int_equal(partials_start(f->db, "alice", &K, &p, replaced), 0);
	assert_string_equal(replaced, "");
	assert_int_equal(partials_get(f->db, "alice", &K, "big.iso", &got), 0);
	assert_string_equal(got.object, p.object);
	assert_true(got.size == 5000000 && got.started == 1000 && got.updated == 1000);
	/* Bob does not see it; another name is not there. */
	assert_int_equal(partials_get(f->db, "bob", &K, "big.iso", &got), FERRY_ERR_NOT_FOUND);
	assert_int_equal(partials_get(f->db, "alice", &K, "other", &got), FERRY_ERR_NOT_FOUND);
	assert_int_equal(partials_referenced(f->db, p.object, &used), 0);
	assert_true(used);

	/* touch */
	assert_int_equal(partials_touch(f->db, p.object, 2000), 0);
	assert_int_equal(partials_get(f->db, "alice", &K, "big.iso", &got), 0);
	assert_true(got.updated == 2000 && got.started == 1000);

	/* A new start of the same name replaces it and names the old file. */
	make(&p, "big.iso", 'b', 6000000, 3000);
	assert_int_equal(partials_start(f->db, "alice", &K, &p, replaced), 0);
	memset(got.object, 'a', OBJECTS_ID_HEX_LEN);
	assert_memory_equal(replaced, got.object, OBJECTS_ID_HEX_LEN);
	assert_int_equal(partials_get(f->db, "alice", &K, "big.iso", &got), 0);
	assert_string_equal(got.object, p.object);
	assert_true(got.size == 6000000);
	assert_int_equal(partials_referenced(f->db, replaced, &used), 0);
	assert_false(used);

	/* remove by object id; removing again or a stranger's id is fine */
	assert_int_equal(partials_remove(f->db, p.object), 0);
	assert_int_equal(partials_remove(f->db, p.object), 0);
	assert_int_equal(partials_get(f->db, "alice", &K, "big.iso", &got), FERRY_ERR_NOT_FOUND);
	assert_int_equal(partials_remove(f->db, "not an id"), FERRY_ERR_USAGE);
}

static void
test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct db_partial p;
	char replaced[OBJECTS_ID_HEX_LEN + 1];

	make(&p, "x", 'c', 1, 1);
	assert_int_equal(partials_start(f->db, "nobody", &K, &p, replaced), FERRY_ERR_NOT_FOUND);
	assert_int_equal(partials_start(f->db, "../etc", &K, &p, replaced), FERRY_ERR_NOT_FOUND);
	make(&p, "a/b", 'c', 1, 1);
	assert_int_equal(partials_start(f->db, "alice", &K, &p, replaced), FERRY_ERR_USAGE);
	make(&p, "x", 'c', 1, 1);
	p.object[3] = 'G';
	assert_int_equal(partials_start(f->db, "alice", &K, &p, replaced), FERRY_ERR_USAGE);
}

static void
test_list_expire(void **state)
{
	struct fixture *f = *state;
	struct db_partial p;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	struct names c = { "", 0 };
	unsigned n;

	make(&p, "b", '1', 10, 100);
	assert_int_equal(partials_start(f->db, "alice", &K, &p, replaced), 0);
	make(&p, "a", '2', 20, 500);
	assert_int_equal(partials_start(f->db, "alice", &K, &p, replaced), 0);
	make(&p, "c", '3', 30, 50);
	assert_int_equal(partials_start(f->db, "bob", &K, &p, replaced), 0);
	assert_int_equal(partials_list_user(f->db, "alice", &K, collect, &c), 0);
	assert_true(strcmp(c.buf, "a,b,") == 0 || strcmp(c.buf, "b,a,") == 0);
	/* An unknown user has none; an invalid name is refused. */
	assert_int_equal(partials_list_user(f->db, "nobody", &K, collect, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(partials_list_user(f->db, "../x", &K, collect, &c), FERRY_ERR_NOT_FOUND);

	/* Not updated since before 200: "b" (alice) and "c" (bob). */
	memset(&c, 0, sizeof(c));
	assert_int_equal(partials_expire(f->db, 200, count_expired, &c, &n), 0);
	assert_int_equal(n, 2);
	/* "b" is in object 111..., "c" in 333... */
	assert_true(strstr(c.buf, "1,") != NULL && strstr(c.buf, "3,") != NULL);
	memset(&c, 0, sizeof(c));
	assert_int_equal(partials_list_user(f->db, "alice", &K, collect, &c), 0);
	assert_string_equal(c.buf, "a,");
	assert_int_equal(partials_expire(f->db, 200, NULL, NULL, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(partials_expire(f->db, INT64_MAX, NULL, NULL, &n), 0);
	assert_int_equal(n, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_get_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_expire, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
