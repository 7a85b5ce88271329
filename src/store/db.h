/*
 * The server's SQLite database (DIR/ferry.db): user accounts, issued certificates, the
 * audit log and the failed-authentication counters behind rate limiting.
 *
 * One struct db is one connection; it must not cross fork(): each forked child opens
 * its own (the file is in WAL mode with a busy timeout, so processes share it). The
 * schema is versioned with PRAGMA user_version and migrated when the file is opened.
 * All SQL uses prepared statements with bound parameters.
 *
 * Text arguments are NUL-terminated and bounded: names FERRY_MAX_USER_NAME, password
 * records FERRY_MAX_PW_HASH, serials FERRY_MAX_SERIAL_HEX, scopes FERRY_MAX_AUTH_SCOPE,
 * audit fields FERRY_MAX_AUDIT_FIELD (longer audit text is truncated, never refused).
 * Errors: FERRY_ERR_DB (SQLite failed; the detail carries its message) unless stated.
 */
#ifndef FERRY_STORE_DB_H
#define FERRY_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

/* The schema version this code writes; a file with a larger user_version is refused. */
#define DB_SCHEMA_VERSION 5

struct db;

struct db_user {
	int64_t id;
	char name[FERRY_MAX_USER_NAME + 1];
	char pw_hash[FERRY_MAX_PW_HASH + 1];  /* "scrypt$..." record (account.h) */
	bool disabled;
	int64_t created;                      /* seconds since the epoch */
};

struct db_cert {
	char serial_hex[FERRY_MAX_SERIAL_HEX + 1]; /* normalised, see db_cert_add() */
	char user[FERRY_MAX_USER_NAME + 1];
	int64_t not_before, not_after;        /* seconds since the epoch */
	bool revoked;
	int64_t revoked_at;                   /* 0 when not revoked */
	bool user_disabled;                   /* the owning account is disabled */
};

/* Rate-limit policy (ferryd.conf auth_max_failures, auth_window, auth_lockout). */
struct auth_policy {
	unsigned max_failures;  /* failures within the window that lock the scope, >= 1 */
	int64_t window;         /* seconds */
	int64_t lockout;        /* seconds the scope stays locked */
};

/* One audit row; the strings are valid only during the callback. */
struct db_audit_entry {
	int64_t id;
	int64_t time;
	const char *event, *user, *addr, *detail; /* never NULL; "" when absent */
	bool ok;
};

/*
 * Open (creating it with mode 0600 if absent; symlinks are refused) the database at
 * path, enable WAL and a 5 s busy timeout, and bring the schema up to
 * DB_SCHEMA_VERSION in one transaction. *out is set only on success; close it with
 * db_close(). Errors: FERRY_ERR_IO (cannot create the file), FERRY_ERR_UNSUPPORTED
 * (the file's schema is newer than this code), FERRY_ERR_DB.
 */
int db_open(const char *path, struct db **out);

/* Finalise everything and close. Accepts NULL. */
void db_close(struct db *db);

/* The file's schema version (PRAGMA user_version) into *out. */
int db_schema_version(struct db *db, int *out);

/* ---- users ------------------------------------------------------------------------ */

/*
 * Add an enabled user. The name must satisfy account_name_valid() (FERRY_ERR_USAGE with
 * the reason otherwise); pw_hash is stored as given (1..FERRY_MAX_PW_HASH characters).
 * FERRY_ERR_EXISTS if the name is taken.
 */
int db_user_add(struct db *db, const char *name, const char *pw_hash);

/* Fill *out for name. FERRY_ERR_NOT_FOUND if there is no such user. */
int db_user_get(struct db *db, const char *name, struct db_user *out);

/*
 * Call cb(arg, user) for every user in name order. A non-zero return from cb stops the
 * walk and is returned. The struct is valid only during the call.
 */
int db_user_list(struct db *db, int (*cb)(void *arg, const struct db_user *user), void *arg);

/* Set or clear the disabled flag. FERRY_ERR_NOT_FOUND if there is no such user. */
int db_user_set_disabled(struct db *db, const char *name, bool disabled);

/* Replace the password record. FERRY_ERR_NOT_FOUND if there is no such user. */
int db_user_set_password(struct db *db, const char *name, const char *pw_hash);

/* ---- certificates ----------------------------------------------------------------- */

/*
 * Record an issued certificate. serial_hex is 1..FERRY_MAX_SERIAL_HEX hex digits in
 * either case (FERRY_ERR_USAGE otherwise); it is stored normalised: lower case, leading
 * zeros removed ("0" for zero). Every function taking a serial normalises it the same
 * way, so "00AB12" and "ab12" name the same certificate (BN_bn2hex output works as is).
 * FERRY_ERR_NOT_FOUND if the user does not exist, FERRY_ERR_EXISTS if the serial does.
 */
int db_cert_add(struct db *db, const char *serial_hex, const char *user, int64_t not_before,
    int64_t not_after);

/* Fill *out for a serial. FERRY_ERR_NOT_FOUND if unknown (or not a hex serial). */
int db_cert_lookup(struct db *db, const char *serial_hex, struct db_cert *out);

/*
 * Revoke at time now. If name_or_serial names an existing user, every unrevoked
 * certificate of that user is revoked (possibly none); otherwise, if it is a hex serial
 * of a recorded certificate, that one is (unless already revoked). *count (may be NULL)
 * receives the number newly revoked. FERRY_ERR_NOT_FOUND if it is neither.
 */
int db_cert_revoke(struct db *db, const char *name_or_serial, int64_t now, size_t *count);

/*
 * Call cb(arg, serial_hex, revoked_at) for every revoked certificate, those of deleted
 * accounts included (table retired_certs, store/account.h account_delete), oldest
 * revocation first (serial_hex normalised, valid only during the call). A non-zero return
 * from cb stops the walk and is returned.
 */
int db_cert_revoked_list(struct db *db,
    int (*cb)(void *arg, const char *serial_hex, int64_t revoked_at), void *arg);

/*
 * The number of the user's certificates that are unrevoked and unexpired at now
 * (not_after > now) into *out, e.g. for `ferryd user list`. FERRY_ERR_NOT_FOUND if
 * there is no such user.
 */
int db_cert_count_valid(struct db *db, const char *user, int64_t now, unsigned *out);

/* ---- audit ------------------------------------------------------------------------ */

/*
 * Append an audit row stamped with the current time. event is required; user, addr and
 * detail may be NULL (stored as ""). Text longer than FERRY_MAX_AUDIT_FIELD is truncated.
 */
int db_audit(struct db *db, const char *event, const char *user, const char *addr, bool ok,
    const char *detail);

/*
 * Call cb(arg, entry) for the audit rows with id > after_id, oldest first, at most limit
 * rows (0 = all). A non-zero return from cb stops the walk and is returned.
 */
int db_audit_list(struct db *db, int64_t after_id, size_t limit,
    int (*cb)(void *arg, const struct db_audit_entry *entry), void *arg);

/* ---- rate limiting ---------------------------------------------------------------- */
/*
 * A scope is a short string such as "user:alice" or "addr:127.0.0.1" (1..
 * FERRY_MAX_AUTH_SCOPE bytes). After p->max_failures failures within p->window seconds
 * (counted from the first failure of the window) the scope is locked for p->lockout
 * seconds; when the lockout or the window has passed the count starts afresh.
 */

/* 0 if an attempt is allowed at time now; FERRY_ERR_RATE_LIMITED (detail names the
 * scope and the seconds left) while it is locked. */
int db_auth_check(struct db *db, const char *scope, int64_t now, const struct auth_policy *p);

/* Count a failed attempt at time now (atomic across processes). */
int db_auth_failed(struct db *db, const char *scope, int64_t now, const struct auth_policy *p);

/* Forget the scope's failures (after a successful attempt). */
int db_auth_succeeded(struct db *db, const char *scope);

/* ---- for other store modules ------------------------------------------------------ */

/*
 * The connection itself, for modules of src/store that keep their own tables (the
 * vault, store/vault.h). They follow this file's rules: prepared statements, bound
 * parameters, BEGIN IMMEDIATE for read-modify-write. Not for use outside src/store.
 */
struct sqlite3 *db_sqlite(struct db *db);

#endif
