/*
 * SQLite helpers shared by the modules of src/store (db.c, objects.c, vault.c): one way to
 * prepare, run, bind and read, with errors as FERRY_ERR_DB "database: WHAT: <sqlite's
 * message>". Values read back are checked for type and size, never trusted. Internal to
 * src/store.
 */
#ifndef FERRY_STORE_SQL_H
#define FERRY_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Record "database: what: <sqlite3_errmsg>" and return FERRY_ERR_DB. */
int sql_fail(sqlite3 *h, const char *what);

/* Prepare one statement; *st is NULL on failure. Caller finalizes. */
int sql_prepare(sqlite3 *h, const char *sql, sqlite3_stmt **st);

/* Run a constant script (no parameters), one statement at a time, discarding rows. */
int sql_exec(sqlite3 *h, const char *sql, const char *what);

/* BEGIN IMMEDIATE takes the write lock at once (read-modify-write); a deferred BEGIN
 * gives a consistent read snapshot from the first read on. */
int sql_begin(sqlite3 *h, bool immediate);
int sql_commit(sqlite3 *h);
/* Roll back the open transaction, if any. */
void sql_rollback(sqlite3 *h);

/* Bind a NUL-terminated string of at most max bytes (longer ones are cut; NULL binds ""). */
int sql_bind_text(sqlite3 *h, sqlite3_stmt *st, int idx, const char *s, size_t max);
int sql_bind_int64(sqlite3 *h, sqlite3_stmt *st, int idx, int64_t v);
int sql_bind_blob(sqlite3 *h, sqlite3_stmt *st, int idx, const uint8_t *p, size_t len);

/* *out = whether sql, with text as parameter 1 (at most max bytes), returns a row. */
int sql_exists_text(sqlite3 *h, const char *sql, const char *text, size_t max, bool *out,
    const char *what);

/* Copy a TEXT column into buf (cap bytes with the NUL); refuse other types, embedded
 * NULs and values that do not fit. */
int sql_column_text(sqlite3_stmt *st, int col, char *buf, size_t cap, const char *what);
/* An INTEGER column into *v (0 on failure); refuse other types. */
int sql_column_int(sqlite3_stmt *st, int col, int64_t *v, const char *what);
/* A BLOB column of exactly len bytes into p; refuse anything else. */
int sql_column_blob(sqlite3_stmt *st, int col, uint8_t *p, size_t len, const char *what);

#endif
