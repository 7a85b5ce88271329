#include "store/vault.h"
#include "store/sql.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "store/account.h"
#include "util/atomic_file.h"
#include "util/err.h"
#include "util/io.h"

/* Domain-separation strings (store/vault.h). */
#define LABEL_CHECK   "ferry/1 master check"
#define AAD_USER_KEY  "ferry/1 user-key"
#define AAD_MAX       (sizeof(AAD_USER_KEY) - 1 + VAULT_KEY_ID_LEN + FERRY_MAX_USER_NAME)

_Static_assert(VAULT_MASTER_KEY_LEN == CRYPTO_AEAD_KEY_LEN, "the master key is an AES key");
_Static_assert(VAULT_USER_KEY_LEN == CRYPTO_AEAD_KEY_LEN, "a user key is an AES key");
_Static_assert(VAULT_WNONCE_LEN == CRYPTO_AEAD_NONCE_LEN, "wrapping nonce");
_Static_assert(VAULT_WRAPPED_LEN == VAULT_WNONCE_LEN + VAULT_USER_KEY_LEN +
    CRYPTO_AEAD_TAG_LEN, "wrapped user key layout");

struct vault {
	struct db *db;          /* borrowed */
	sqlite3 *h;             /* db's connection */
	char *path;             /* DIR/master.key */
	char *new_path;         /* DIR/master.key.new */
	char *dir;
	uint8_t master[VAULT_MASTER_KEY_LEN];
	uint8_t check[VAULT_CHECK_LEN];
};

/* ---- database helpers ------------------------------------------------------------ */

/* The stored check value into check; *present false when the row is absent. */
static int
check_get(struct vault *v, uint8_t check[VAULT_CHECK_LEN], bool *present)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	*present = false;
	if ((r = sql_prepare(v->h, "SELECT key_check FROM master WHERE id = 1", &st)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((r = sql_column_blob(st, 0, check, VAULT_CHECK_LEN, "master.key_check")) != 0)
			goto out;
		*present = true;
	} else if (rc != SQLITE_DONE) {
		r = sql_fail(v->h, "read master key check");
	}
out:
	sqlite3_finalize(st);
	return r;
}

static int
check_put(struct vault *v, const uint8_t check[VAULT_CHECK_LEN])
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sql_prepare(v->h, "INSERT INTO master (id, key_check) VALUES (1, ?1) "
	    "ON CONFLICT (id) DO UPDATE SET key_check = excluded.key_check", &st)) != 0 ||
	    (r = sql_bind_blob(v->h, st, 1, check, VAULT_CHECK_LEN)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(v->h, "store master key check");
out:
	sqlite3_finalize(st);
	return r;
}

/* The number of stored user keys into *n. */
static int
user_key_count(struct vault *v, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r;

	*n = 0;
	if ((r = sql_prepare(v->h, "SELECT count(*) FROM user_keys", &st)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = sql_fail(v->h, "count user keys");
		goto out;
	}
	*n = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	return r;
}

/* ---- key files ------------------------------------------------------------------- */

/*
 * Read a key file: a regular file (no symlink) of exactly VAULT_MASTER_KEY_LEN bytes,
 * not accessible to group or others. *present false (and 0) when it does not exist.
 */
static int
key_read(const char *path, uint8_t key[VAULT_MASTER_KEY_LEN], bool *present)
{
	uint8_t buf[VAULT_MASTER_KEY_LEN + 1];
	struct stat st;
	size_t got = 0;
	int fd, r;

	*present = false;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return ferry_fail(FERRY_ERR_KEY, "%s: is a symbolic link (refused)", path);
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: mode %04o is too open: the master key must be "
		    "readable by its owner only (chmod 600)", path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != VAULT_MASTER_KEY_LEN) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: %lld bytes, a master key is exactly %d", path,
		    (long long)st.st_size, VAULT_MASTER_KEY_LEN);
		goto out;
	}
	if ((r = io_read_full(fd, buf, sizeof(buf), &got)) != 0) {
		ferry_error_prefix(r, "%s", path);
		goto out;
	}
	if (got != VAULT_MASTER_KEY_LEN) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: %zu bytes, a master key is exactly %d", path,
		    got, VAULT_MASTER_KEY_LEN);
		goto out;
	}
	memcpy(key, buf, VAULT_MASTER_KEY_LEN);
	*present = true;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return r;
}

/* Create path holding key, mode 0600, atomically; FERRY_ERR_EXISTS if it exists. */
static int
key_create(const char *path, const uint8_t key[VAULT_MASTER_KEY_LEN])
{
	struct atomic_file af;
	int r;

	if ((r = atomic_file_open(&af, path, 0600, true)) != 0)
		return r;
	if ((r = io_write_full(af.fd, key, VAULT_MASTER_KEY_LEN)) != 0) {
		ferry_error_prefix(r, "%s", path);
		atomic_file_abort(&af);
		return r;
	}
	return atomic_file_commit(&af);
}

/*
 * Write the staged key of a rotation: path must not exist (resolve() removed any
 * leftover); the file and its directory are fsynced before returning. On failure the
 * file is removed.
 */
static int
key_write_new(const char *path, const char *dir, const uint8_t key[VAULT_MASTER_KEY_LEN])
{
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	if (fchmod(fd, 0600) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}
	if ((r = io_write_full(fd, key, VAULT_MASTER_KEY_LEN)) != 0) {
		ferry_error_prefix(r, "%s", path);
		goto out;
	}
	if (fsync(fd) != 0 && errno != EINVAL) {
		r = ferry_fail(FERRY_ERR_IO, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
out:
	if (close(fd) != 0 && r == 0)
		r = ferry_fail(FERRY_ERR_IO, "%s: close: %s", path, strerror(errno));
	if (r == 0)
		r = io_fsync_dir(dir);
	if (r != 0)
		(void)unlink(path);
	return r;
}

/* Remove path if it exists and make that durable. */
static int
key_remove(const char *path, const char *dir)
{
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return 0;
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return io_fsync_dir(dir);
}

/* check = HMAC-SHA256(master, "ferry/1 master check"), first 16 bytes. */
static int
master_check(const uint8_t master[VAULT_MASTER_KEY_LEN], uint8_t check[VAULT_CHECK_LEN])
{
	uint8_t mac[32];
	int r;

	r = crypto_hmac(CRYPTO_SHA256, master, VAULT_MASTER_KEY_LEN,
	    (const uint8_t *)LABEL_CHECK, sizeof(LABEL_CHECK) - 1, mac);
	if (r == 0)
		memcpy(check, mac, VAULT_CHECK_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return r;
}

/* 1 if master's check value is check, 0 if not, < 0 on error. */
static int
master_matches(const uint8_t master[VAULT_MASTER_KEY_LEN],
    const uint8_t check[VAULT_CHECK_LEN])
{
	uint8_t c[VAULT_CHECK_LEN];
	int r;

	if ((r = master_check(master, c)) != 0)
		return r;
	return CRYPTO_memcmp(c, check, VAULT_CHECK_LEN) == 0 ? 1 : 0;
}

/* Make key the vault's master key (copying it); the caller wipes its copy. */
static int
vault_set_master(struct vault *v, const uint8_t key[VAULT_MASTER_KEY_LEN])
{
	memcpy(v->master, key, VAULT_MASTER_KEY_LEN);
	return master_check(v->master, v->check);
}

/*
 * Bring the key files and the database into agreement and load the master key into v.
 * Must run inside a BEGIN IMMEDIATE transaction: holding the write lock means no
 * rotation is between writing master.key.new and committing (vault_rotate_master()
 * holds the lock across both), so master.key.new is a leftover whose fate the stored
 * check value decides. See store/vault.h.
 */
static int
resolve_locked(struct vault *v)
{
	uint8_t stored[VAULT_CHECK_LEN], cur[VAULT_MASTER_KEY_LEN], next[VAULT_MASTER_KEY_LEN];
	bool have_check, have_cur = false, have_next = false;
	int64_t nkeys;
	int r, m;

	if ((r = check_get(v, stored, &have_check)) != 0)
		goto out;
	if ((r = key_read(v->path, cur, &have_cur)) != 0)
		goto out;
	/* A damaged master.key.new (a crash while writing it) is never the key in force:
	 * the rotation writes it completely and fsyncs it before committing. */
	if (key_read(v->new_path, next, &have_next) != 0)
		have_next = false;
	ferry_error_clear();

	if (!have_check) {
		/* A new data directory (or one whose key was never recorded). */
		if ((r = user_key_count(v, &nkeys)) != 0)
			goto out;
		if (nkeys != 0) {
			r = ferry_fail(FERRY_ERR_DB, "database: %lld user keys but no master key "
			    "check value (the master table was altered)", (long long)nkeys);
			goto out;
		}
		if ((r = key_remove(v->new_path, v->dir)) != 0)
			goto out;
		if (!have_cur) {
			if ((r = crypto_random(cur, sizeof(cur))) != 0)
				goto out;
			r = key_create(v->path, cur);
			if (r == FERRY_ERR_EXISTS) {
				/* Made meanwhile by someone not holding the lock: adopt it. */
				ferry_error_clear();
				if ((r = key_read(v->path, cur, &have_cur)) == 0 && !have_cur)
					r = ferry_fail(FERRY_ERR_KEY, "%s: vanished while being "
					    "created", v->path);
			}
			if (r != 0)
				goto out;
		}
		if ((r = vault_set_master(v, cur)) != 0 || (r = check_put(v, v->check)) != 0)
			goto out;
		goto out;
	}
	if (have_cur) {
		if ((m = master_matches(cur, stored)) < 0) {
			r = m;
			goto out;
		}
		if (m == 1) {
			/* A rotation that never committed: its staged key is void. */
			if ((r = key_remove(v->new_path, v->dir)) != 0)
				goto out;
			r = vault_set_master(v, cur);
			goto out;
		}
	}
	if (have_next) {
		if ((m = master_matches(next, stored)) < 0) {
			r = m;
			goto out;
		}
		if (m == 1) {
			/* A rotation committed; complete its rename. */
			if (rename(v->new_path, v->path) != 0) {
				r = ferry_fail(FERRY_ERR_IO, "%s: rename to %s: %s", v->new_path,
				    v->path, strerror(errno));
				goto out;
			}
			if ((r = io_fsync_dir(v->dir)) != 0)
				goto out;
			r = vault_set_master(v, next);
			goto out;
		}
	}
	if (!have_cur)
		r = ferry_fail(FERRY_ERR_KEY, "%s: missing; the user keys in the database are "
		    "wrapped by a master key (restore master.key from a backup)", v->path);
	else
		r = ferry_fail(FERRY_ERR_KEY, "%s: does not match the key check value in the "
		    "database (wrong, swapped or damaged master key)", v->path);
out:
	OPENSSL_cleanse(cur, sizeof(cur));
	OPENSSL_cleanse(next, sizeof(next));
	return r;
}

/* Run resolve_locked() in a transaction of its own. */
static int
resolve(struct vault *v)
{
	int r;

	if ((r = sql_begin(v->h, true)) != 0)
		return r;
	if ((r = resolve_locked(v)) == 0)
		r = sql_commit(v->h);
	if (r != 0)
		sql_rollback(v->h);
	return r;
}

/*
 * Begin a transaction (immediate: with the write lock) in which the stored check value
 * is v's. When another process has rotated the master key since v loaded it, reload it
 * first. On success the transaction is open; on failure it is not.
 */
static int
begin_current(struct vault *v, bool immediate)
{
	uint8_t stored[VAULT_CHECK_LEN];
	bool have;
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((r = sql_begin(v->h, immediate)) != 0)
			return r;
		if ((r = check_get(v, stored, &have)) != 0)
			goto fail;
		if (have && CRYPTO_memcmp(stored, v->check, VAULT_CHECK_LEN) == 0)
			return 0;
		if (immediate) {
			if ((r = resolve_locked(v)) != 0)
				goto fail;
			return 0;
		}
		sql_rollback(v->h);
		if ((r = resolve(v)) != 0)
			return r;
	}
	r = ferry_fail(FERRY_ERR_KEY, "the master key changed repeatedly while in use; retry");
fail:
	sql_rollback(v->h);
	return r;
}

/* ---- user keys ------------------------------------------------------------------- */

/* "ferry/1 user-key" || key_id || user name into aad (AAD_MAX bytes); its length. */
static size_t
user_aad(const uint8_t key_id[VAULT_KEY_ID_LEN], const char *user, uint8_t aad[AAD_MAX])
{
	size_t n = strnlen(user, FERRY_MAX_USER_NAME), off = 0;

	memcpy(aad, AAD_USER_KEY, sizeof(AAD_USER_KEY) - 1);
	off += sizeof(AAD_USER_KEY) - 1;
	memcpy(aad + off, key_id, VAULT_KEY_ID_LEN);
	off += VAULT_KEY_ID_LEN;
	memcpy(aad + off, user, n);
	return off + n;
}

static int
user_key_wrap(const uint8_t master[VAULT_MASTER_KEY_LEN], const char *user,
    const uint8_t key_id[VAULT_KEY_ID_LEN], const uint8_t key[VAULT_USER_KEY_LEN],
    uint8_t wrapped[VAULT_WRAPPED_LEN])
{
	uint8_t aad[AAD_MAX];
	size_t aad_len;
	int r;

	if ((r = crypto_random(wrapped, VAULT_WNONCE_LEN)) != 0)
		return r;
	aad_len = user_aad(key_id, user, aad);
	return crypto_aead_seal(master, wrapped, aad, aad_len, key, VAULT_USER_KEY_LEN,
	    wrapped + VAULT_WNONCE_LEN);
}

static int
user_key_unwrap(const uint8_t master[VAULT_MASTER_KEY_LEN], const char *user,
    const uint8_t key_id[VAULT_KEY_ID_LEN], const uint8_t wrapped[VAULT_WRAPPED_LEN],
    uint8_t key[VAULT_USER_KEY_LEN])
{
	uint8_t aad[AAD_MAX];
	size_t aad_len;

	aad_len = user_aad(key_id, user, aad);
	if (crypto_aead_open(master, wrapped, aad, aad_len, wrapped + VAULT_WNONCE_LEN,
	    VAULT_WRAPPED_LEN - VAULT_WNONCE_LEN, key) != 0)
		return ferry_fail(FERRY_ERR_AUTH, "the stored key of user %s does not unwrap "
		    "under the master key (damaged, or moved from another user)", user);
	return 0;
}

/*
 * Look up user's key inside a transaction whose master key is current. No such user:
 * FERRY_ERR_NOT_FOUND. Otherwise 0 with *user_id set, and *found telling whether the
 * user has a key (then unwrapped into k).
 */
static int
user_key_load(struct vault *v, const char *user, struct vault_user_key *k,
    int64_t *user_id, bool *found)
{
	uint8_t wrapped[VAULT_WRAPPED_LEN];
	sqlite3_stmt *st = NULL;
	int r, rc;

	*user_id = 0;
	*found = false;
	if ((r = sql_prepare(v->h, "SELECT u.id, k.key_id, k.wrapped FROM users u "
	    "LEFT JOIN user_keys k ON k.user_id = u.id WHERE u.name = ?1", &st)) != 0)
		goto out;
	if (sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = sql_fail(v->h, "bind");
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", user);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = sql_fail(v->h, "read user key");
		goto out;
	}
	if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
		r = ferry_fail(FERRY_ERR_DB, "database: users.id: not an integer");
		goto out;
	}
	*user_id = sqlite3_column_int64(st, 0);
	if (sqlite3_column_type(st, 1) == SQLITE_NULL)
		goto out;
	if ((r = sql_column_blob(st, 1, k->key_id, VAULT_KEY_ID_LEN, "user_keys.key_id")) != 0 ||
	    (r = sql_column_blob(st, 2, wrapped, VAULT_WRAPPED_LEN, "user_keys.wrapped")) != 0)
		goto out;
	if ((r = user_key_unwrap(v->master, user, k->key_id, wrapped, k->key)) != 0)
		goto out;
	*found = true;
out:
	if (r != 0 || !*found)
		OPENSSL_cleanse(k, sizeof(*k));
	sqlite3_finalize(st);
	return r;
}

/* Make, wrap and store a fresh key for user (inside a write transaction). */
static int
user_key_create(struct vault *v, int64_t user_id, const char *user, struct vault_user_key *k)
{
	uint8_t wrapped[VAULT_WRAPPED_LEN];
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = crypto_random(k->key_id, sizeof(k->key_id))) != 0 ||
	    (r = crypto_random(k->key, sizeof(k->key))) != 0 ||
	    (r = user_key_wrap(v->master, user, k->key_id, k->key, wrapped)) != 0)
		goto out;
	if ((r = sql_prepare(v->h, "INSERT INTO user_keys (user_id, key_id, wrapped) "
	    "VALUES (?1, ?2, ?3)", &st)) != 0)
		goto out;
	if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK) {
		r = sql_fail(v->h, "bind");
		goto out;
	}
	if ((r = sql_bind_blob(v->h, st, 2, k->key_id, VAULT_KEY_ID_LEN)) != 0 ||
	    (r = sql_bind_blob(v->h, st, 3, wrapped, VAULT_WRAPPED_LEN)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(v->h, "store user key");
out:
	if (r != 0)
		OPENSSL_cleanse(k, sizeof(*k));
	sqlite3_finalize(st);
	return r;
}

int
vault_user_key(struct vault *v, const char *user, bool create, struct vault_user_key **out)
{
	struct vault_user_key *k = NULL;
	int64_t user_id;
	bool found = false;
	int r;

	*out = NULL;
	if (!account_name_valid(user))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	if ((k = OPENSSL_zalloc(sizeof(*k))) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	/* Most calls only read: do that without the write lock. */
	if ((r = begin_current(v, false)) != 0)
		goto out;
	if ((r = user_key_load(v, user, k, &user_id, &found)) != 0 || found)
		goto out;
	if (!create) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "user %s has no key", user);
		goto out;
	}
	/* Create under the write lock, looking again: another process may have won. */
	sql_rollback(v->h);
	if ((r = begin_current(v, true)) != 0)
		goto out;
	if ((r = user_key_load(v, user, k, &user_id, &found)) != 0)
		goto out;
	if (!found)
		r = user_key_create(v, user_id, user, k);
out:
	if (r == 0)
		r = sql_commit(v->h);
	sql_rollback(v->h);
	if (r == 0) {
		*out = k;
		k = NULL;	/* transferred */
	}
	vault_user_key_free(k);
	return r;
}

void
vault_user_key_free(struct vault_user_key *k)
{
	OPENSSL_clear_free(k, sizeof(*k));
}

void
vault_user_key_recipient(const struct vault_user_key *k, struct sealed_recipient *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = SEALED_SYMMETRIC;
	r->key_id = k->key_id;
	r->secret = k->key;
	r->secret_len = sizeof(k->key);
}

void
vault_user_key_identity(const struct vault_user_key *k, struct sealed_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->kind = SEALED_SYMMETRIC;
	id->key_id = k->key_id;
	id->secret = k->key;
	id->secret_len = sizeof(k->key);
}

int
vault_user_key_delete(struct vault *v, const char *user)
{
	sqlite3_stmt *st = NULL;
	int r, rc;

	if (!account_name_valid(user))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	/* db_open() sets it; the erasure depends on it, so say it here as well. */
	if ((r = sql_exec(v->h, "PRAGMA secure_delete = ON", "secure_delete")) != 0)
		return r;
	if ((r = sql_begin(v->h, true)) != 0)
		return r;
	if ((r = sql_prepare(v->h, "DELETE FROM user_keys WHERE user_id = "
	    "(SELECT id FROM users WHERE name = ?1)", &st)) != 0)
		goto out;
	if (sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = sql_fail(v->h, "bind");
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		r = sql_fail(v->h, "delete user key");
		goto out;
	}
	if (sqlite3_changes(v->h) == 0) {
		sqlite3_finalize(st);
		st = NULL;
		if ((r = sql_prepare(v->h, "SELECT 1 FROM users WHERE name = ?1", &st)) != 0)
			goto out;
		if (sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
			r = sql_fail(v->h, "bind");
			goto out;
		}
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			r = ferry_fail(FERRY_ERR_NOT_FOUND, "user %s has no key", user);
		else if (rc == SQLITE_DONE)
			r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", user);
		else
			r = sql_fail(v->h, "look up user");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	r = sql_commit(v->h);
out:
	sqlite3_finalize(st);
	if (r != 0)
		sql_rollback(v->h);
	else	/* best effort: move the zeroed pages out of the WAL into the file */
		(void)sqlite3_exec(v->h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	return r;
}

/* ---- rotation -------------------------------------------------------------------- */

struct rewrap_row {
	int64_t user_id;
	char user[FERRY_MAX_USER_NAME + 1];
	uint8_t key_id[VAULT_KEY_ID_LEN];
	uint8_t wrapped[VAULT_WRAPPED_LEN];
};

/* Every stored user key, read into a new array before any is updated. */
static int
rewrap_rows_load(struct vault *v, struct rewrap_row **rows, size_t *n)
{
	struct rewrap_row *a = NULL, *grown, *row;
	sqlite3_stmt *st = NULL;
	size_t cap = 0, len = 0, nlen;
	const unsigned char *name;
	int r, rc, nbytes;

	*rows = NULL;
	*n = 0;
	if ((r = sql_prepare(v->h, "SELECT k.user_id, u.name, k.key_id, k.wrapped FROM user_keys k "
	    "JOIN users u ON u.id = k.user_id ORDER BY k.user_id", &st)) != 0)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((grown = reallocarray(a, cap, sizeof(*a))) == NULL) {
				r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
				goto out;
			}
			a = grown;
		}
		row = &a[len];
		memset(row, 0, sizeof(*row));
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
		    sqlite3_column_type(st, 1) != SQLITE_TEXT) {
			r = ferry_fail(FERRY_ERR_DB, "database: user_keys: unexpected row");
			goto out;
		}
		name = sqlite3_column_text(st, 1);
		nbytes = sqlite3_column_bytes(st, 1);
		if (name == NULL || nbytes <= 0 || (size_t)nbytes > FERRY_MAX_USER_NAME ||
		    memchr(name, '\0', (size_t)nbytes) != NULL) {
			r = ferry_fail(FERRY_ERR_DB, "database: user_keys: unexpected row");
			goto out;
		}
		nlen = (size_t)nbytes;
		memcpy(row->user, name, nlen);
		row->user[nlen] = '\0';
		row->user_id = sqlite3_column_int64(st, 0);
		if ((r = sql_column_blob(st, 2, row->key_id, VAULT_KEY_ID_LEN,
		    "user_keys.key_id")) != 0 ||
		    (r = sql_column_blob(st, 3, row->wrapped, VAULT_WRAPPED_LEN,
		    "user_keys.wrapped")) != 0)
			goto out;
		len++;
	}
	if (rc != SQLITE_DONE) {
		r = sql_fail(v->h, "read user keys");
		goto out;
	}
	*rows = a;
	*n = len;
	a = NULL;	/* transferred */
out:
	free(a);
	sqlite3_finalize(st);
	return r;
}

/* Re-wrap every user key from v's master key to next (inside the write transaction). */
static int
rewrap_all(struct vault *v, const uint8_t next[VAULT_MASTER_KEY_LEN], size_t *count)
{
	struct rewrap_row *rows = NULL;
	uint8_t key[VAULT_USER_KEY_LEN], wrapped[VAULT_WRAPPED_LEN];
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r;

	*count = 0;
	if ((r = rewrap_rows_load(v, &rows, &n)) != 0)
		goto out;
	if ((r = sql_prepare(v->h, "UPDATE user_keys SET wrapped = ?1 WHERE user_id = ?2",
	    &st)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((r = user_key_unwrap(v->master, rows[i].user, rows[i].key_id,
		    rows[i].wrapped, key)) != 0 ||
		    (r = user_key_wrap(next, rows[i].user, rows[i].key_id, key, wrapped)) != 0)
			goto out;
		OPENSSL_cleanse(key, sizeof(key));
		if ((r = sql_bind_blob(v->h, st, 1, wrapped, sizeof(wrapped))) != 0)
			goto out;
		if (sqlite3_bind_int64(st, 2, rows[i].user_id) != SQLITE_OK) {
			r = sql_fail(v->h, "bind");
			goto out;
		}
		if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(v->h) != 1) {
			r = sql_fail(v->h, "re-wrap user key");
			goto out;
		}
		if (sqlite3_reset(st) != SQLITE_OK) {
			r = sql_fail(v->h, "re-wrap user key");
			goto out;
		}
	}
	*count = n;
out:
	OPENSSL_cleanse(key, sizeof(key));
	sqlite3_finalize(st);
	free(rows);
	return r;
}

int
vault_rotate_master(struct vault *v, size_t *count)
{
	uint8_t next[VAULT_MASTER_KEY_LEN], next_check[VAULT_CHECK_LEN];
	char detail[512];
	bool staged = false;
	size_t n = 0;
	int r;

	if (count != NULL)
		*count = 0;
	/* Step 1, under the write lock: any leftover resolved, the current key loaded. */
	if ((r = sql_begin(v->h, true)) != 0)
		return r;
	if ((r = resolve_locked(v)) != 0)
		goto out;
	if ((r = crypto_random(next, sizeof(next))) != 0 ||
	    (r = master_check(next, next_check)) != 0)
		goto out;
	if ((r = key_write_new(v->new_path, v->dir, next)) != 0)
		goto out;
	staged = true;
	/* Step 2: every user key and the check value, in this one transaction. */
	if ((r = rewrap_all(v, next, &n)) != 0 || (r = check_put(v, next_check)) != 0)
		goto out;
	if ((r = sql_commit(v->h)) != 0)
		goto out;
	/* Step 3: the rename, by the same code that repairs a crash (the new key is
	 * adopted from the file, which also proves it was written correctly). */
	r = resolve(v);
	if (r == 0 && CRYPTO_memcmp(v->check, next_check, VAULT_CHECK_LEN) != 0)
		r = ferry_fail(FERRY_ERR_INTERNAL, "master key rotation: the key in force is "
		    "not the new one");
	if (r != 0)
		ferry_error_prefix(r, "master key rotation committed; the next open completes "
		    "it");
	staged = false;
	(void)sqlite3_exec(v->h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
out:
	sql_rollback(v->h);
	if (r != 0 && staged) {
		/* Not committed (or not known to be): let the check value decide, keeping the
		 * detail of the original failure. */
		snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
		(void)resolve(v);
		ferry_fail(r, "%s", detail);
	}
	OPENSSL_cleanse(next, sizeof(next));
	if (r == 0 && count != NULL)
		*count = n;
	return r;
}

/* ---- open ------------------------------------------------------------------------ */

/* dir + "/" + name into a new string. */
static char *
path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int
vault_open(const char *dir, struct db *db, struct vault **out)
{
	struct vault *v = NULL;
	uint8_t stored[VAULT_CHECK_LEN], cur[VAULT_MASTER_KEY_LEN];
	struct stat st;
	bool have_check = false, have_cur = false;
	int r;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	v->db = db;
	v->h = db_sqlite(db);
	if ((v->dir = strdup(dir)) == NULL ||
	    (v->path = path_join(dir, VAULT_MASTER_FILE)) == NULL ||
	    (v->new_path = path_join(dir, VAULT_MASTER_NEW_FILE)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* The usual case, without the write lock: the key matches and nothing is staged. */
	if ((r = check_get(v, stored, &have_check)) != 0)
		goto out;
	if (have_check && lstat(v->new_path, &st) != 0 && errno == ENOENT &&
	    (r = key_read(v->path, cur, &have_cur)) == 0 && have_cur &&
	    (r = master_matches(cur, stored)) == 1) {
		r = vault_set_master(v, cur);
		goto out;
	}
	if (r < 0)
		goto out;
	/* Anything else (new directory, leftover of a rotation, wrong key) under the lock. */
	ferry_error_clear();
	r = resolve(v);
out:
	OPENSSL_cleanse(cur, sizeof(cur));
	if (r == 0) {
		*out = v;
		v = NULL;	/* transferred */
	}
	vault_free(v);
	return r;
}

void
vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	OPENSSL_cleanse(v->master, sizeof(v->master));
	OPENSSL_cleanse(v->check, sizeof(v->check));
	free(v->path);
	free(v->new_path);
	free(v->dir);
	free(v);
}
