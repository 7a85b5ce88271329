#include "store/sql.h"

#include <string.h>

#include "util/err.h"

int
sql_fail(sqlite3 *h, const char *what)
{
	return ferry_fail(FERRY_ERR_DB, "database: %s: %s", what, sqlite3_errmsg(h));
}

int
sql_prepare(sqlite3 *h, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	if (sqlite3_prepare_v2(h, sql, -1, st, NULL) != SQLITE_OK)
		return sql_fail(h, "prepare");
	return 0;
}

int
sql_exec(sqlite3 *h, const char *sql, const char *what)
{
	const char *tail = sql;
	sqlite3_stmt *st = NULL;
	int rc;

	while (tail != NULL && *tail != '\0') {
		if (sqlite3_prepare_v2(h, tail, -1, &st, &tail) != SQLITE_OK)
			return sql_fail(h, what);
		if (st == NULL)	/* whitespace or a comment */
			continue;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE)
			return sql_fail(h, what);
	}
	return 0;
}

int
sql_begin(sqlite3 *h, bool immediate)
{
	return sql_exec(h, immediate ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
}

int
sql_commit(sqlite3 *h)
{
	return sql_exec(h, "COMMIT", "commit");
}

void
sql_rollback(sqlite3 *h)
{
	if (!sqlite3_get_autocommit(h))
		(void)sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
}

int
sql_bind_text(sqlite3 *h, sqlite3_stmt *st, int idx, const char *s, size_t max)
{
	if (s == NULL)
		s = "";
	if (sqlite3_bind_text(st, idx, s, (int)strnlen(s, max), SQLITE_TRANSIENT) != SQLITE_OK)
		return sql_fail(h, "bind");
	return 0;
}

int
sql_bind_int64(sqlite3 *h, sqlite3_stmt *st, int idx, int64_t v)
{
	if (sqlite3_bind_int64(st, idx, v) != SQLITE_OK)
		return sql_fail(h, "bind");
	return 0;
}

int
sql_bind_blob(sqlite3 *h, sqlite3_stmt *st, int idx, const uint8_t *p, size_t len)
{
	if (sqlite3_bind_blob(st, idx, p, (int)len, SQLITE_TRANSIENT) != SQLITE_OK)
		return sql_fail(h, "bind");
	return 0;
}

int
sql_column_text(sqlite3_stmt *st, int col, char *buf, size_t cap, const char *what)
{
	const unsigned char *s;
	int n;

	if (sqlite3_column_type(st, col) != SQLITE_TEXT)
		return ferry_fail(FERRY_ERR_DB, "database: %s: not text", what);
	s = sqlite3_column_text(st, col);
	n = sqlite3_column_bytes(st, col);
	if (s == NULL || n < 0 || (size_t)n >= cap || memchr(s, '\0', (size_t)n) != NULL)
		return ferry_fail(FERRY_ERR_DB, "database: %s: unexpected value", what);
	memcpy(buf, s, (size_t)n);
	buf[n] = '\0';
	return 0;
}

int
sql_column_int(sqlite3_stmt *st, int col, int64_t *v, const char *what)
{
	*v = 0; /* defined on failure too, which lets optimised builds prove initialisation */
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
		return ferry_fail(FERRY_ERR_DB, "database: %s: not an integer", what);
	*v = sqlite3_column_int64(st, col);
	return 0;
}

int
sql_column_blob(sqlite3_stmt *st, int col, uint8_t *p, size_t len, const char *what)
{
	const void *b;

	if (sqlite3_column_type(st, col) != SQLITE_BLOB ||
	    (size_t)sqlite3_column_bytes(st, col) != len ||
	    (b = sqlite3_column_blob(st, col)) == NULL)
		return ferry_fail(FERRY_ERR_DB, "database: %s: not a %zu-byte value", what, len);
	memcpy(p, b, len);
	return 0;
}

int
sql_exists_text(sqlite3 *h, const char *sql, const char *text, size_t max, bool *out,
    const char *what)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*out = false;
	if ((r = sql_prepare(h, sql, &st)) != 0 ||
	    (r = sql_bind_text(h, st, 1, text, max)) != 0)
		goto out;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = true;
	else if (rc != SQLITE_DONE)
		r = sql_fail(h, what);
out:
	sqlite3_finalize(st);
	return r;
}
