#include "store/account.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "crypto/pwhash.h"
#include "crypto/random.h"
#include "store/sql.h"
#include "util/buf.h"
#include "util/err.h"

#define RECORD_PREFIX "scrypt$"

static const char hexdigits[] = "0123456789abcdef";

const char *
account_name_reason(const char *name)
{
	size_t n;

	if (name == NULL || name[0] == '\0')
		return "empty";
	n = strnlen(name, FERRY_MAX_USER_NAME + 1);
	if (n > FERRY_MAX_USER_NAME)
		return "longer than 32 characters";
	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
		return "must start with a lower-case letter or digit";
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return "may contain only a-z, 0-9, '.', '_' and '-'";
	}
	return NULL;
}

bool
account_name_valid(const char *name)
{
	return account_name_reason(name) == NULL;
}

static void
hex_encode(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[p[i] >> 4];
		out[2 * i + 1] = hexdigits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int
hex_nibble(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n lower-case hex digits from r into out. */
static int
read_hex(struct freader *r, uint8_t *out, size_t n, const char *what)
{
	const uint8_t *p;

	if (freader_get_view(r, 2 * n, &p) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "password record: %s too short", what);
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(p[2 * i]), lo = hex_nibble(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return ferry_fail(FERRY_ERR_FORMAT, "password record: %s is not lower-case hex",
			    what);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* A decimal field of at most 2 digits without a leading zero, then '$'. */
static int
read_dec(struct freader *r, unsigned min, unsigned max, unsigned *out, const char *what)
{
	unsigned v = 0, digits = 0;
	uint8_t c;

	for (;;) {
		if (freader_get_u8(r, &c) != 0)
			return ferry_fail(FERRY_ERR_FORMAT, "password record: %s truncated", what);
		if (c == '$')
			break;
		if (c < '0' || c > '9' || digits == 2 || (digits == 1 && v == 0))
			return ferry_fail(FERRY_ERR_FORMAT, "password record: bad %s", what);
		v = v * 10 + (unsigned)(c - '0');
		digits++;
	}
	if (digits == 0 || v < min || v > max)
		return ferry_fail(FERRY_ERR_FORMAT, "password record: %s outside %u..%u", what, min,
		    max);
	*out = v;
	return 0;
}

struct record {
	unsigned log2n, r, p;
	uint8_t salt[ACCOUNT_SALT_LEN];
	uint8_t hash[ACCOUNT_HASH_LEN];
};

static int
parse_record(const char *stored, struct record *rec)
{
	struct freader r;
	const uint8_t *prefix;
	uint8_t c;
	size_t n;
	int e;

	if (stored == NULL)
		return ferry_fail(FERRY_ERR_FORMAT, "password record: missing");
	n = strnlen(stored, FERRY_MAX_PW_HASH + 1);
	if (n > FERRY_MAX_PW_HASH)
		return ferry_fail(FERRY_ERR_FORMAT, "password record: longer than %u characters",
		    FERRY_MAX_PW_HASH);
	freader_init(&r, stored, n);
	if (freader_get_view(&r, sizeof(RECORD_PREFIX) - 1, &prefix) != 0 ||
	    memcmp(prefix, RECORD_PREFIX, sizeof(RECORD_PREFIX) - 1) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "password record: not \"scrypt$...\"");
	if ((e = read_dec(&r, FERRY_SCRYPT_MIN_LOG2N, FERRY_SCRYPT_MAX_LOG2N, &rec->log2n,
	    "log2n")) != 0 ||
	    (e = read_dec(&r, 1, 32, &rec->r, "r")) != 0 ||
	    (e = read_dec(&r, 1, 16, &rec->p, "p")) != 0 ||
	    (e = read_hex(&r, rec->salt, sizeof(rec->salt), "salt")) != 0)
		return e;
	if (freader_get_u8(&r, &c) != 0 || c != '$')
		return ferry_fail(FERRY_ERR_FORMAT, "password record: bad salt length");
	if ((e = read_hex(&r, rec->hash, sizeof(rec->hash), "hash")) != 0)
		return e;
	if (freader_remaining(&r) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "password record: bad hash length");
	return 0;
}

int
account_password_hash(const uint8_t *pw, size_t len, char *out, size_t out_len)
{
	uint8_t salt[ACCOUNT_SALT_LEN], hash[ACCOUNT_HASH_LEN];
	char salt_hex[2 * ACCOUNT_SALT_LEN + 1], hash_hex[2 * ACCOUNT_HASH_LEN + 1];
	int r, n;

	if (out == NULL || out_len < ACCOUNT_RECORD_SIZE)
		return ferry_fail(FERRY_ERR_LIMIT, "password record buffer too small");
	out[0] = '\0';
	if (pw == NULL || len == 0 || len > FERRY_MAX_PASSWORD)
		return ferry_fail(FERRY_ERR_LIMIT, "a password must be 1 to %u bytes",
		    FERRY_MAX_PASSWORD);
	if ((r = crypto_random(salt, sizeof(salt))) != 0)
		goto out;
	if ((r = crypto_scrypt(pw, len, salt, sizeof(salt), ACCOUNT_SCRYPT_LOG2N,
	    ACCOUNT_SCRYPT_R, ACCOUNT_SCRYPT_P, hash, sizeof(hash))) != 0)
		goto out;
	hex_encode(salt, sizeof(salt), salt_hex);
	hex_encode(hash, sizeof(hash), hash_hex);
	n = snprintf(out, out_len, RECORD_PREFIX "%u$%u$%u$%s$%s", ACCOUNT_SCRYPT_LOG2N,
	    ACCOUNT_SCRYPT_R, ACCOUNT_SCRYPT_P, salt_hex, hash_hex);
	if (n < 0 || (size_t)n >= out_len) {
		OPENSSL_cleanse(out, out_len);
		r = ferry_fail(FERRY_ERR_INTERNAL, "password record does not fit");
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(hash_hex, sizeof(hash_hex));
	OPENSSL_cleanse(salt, sizeof(salt));
	OPENSSL_cleanse(salt_hex, sizeof(salt_hex));
	return r;
}

int
account_password_verify(const uint8_t *pw, size_t len, const char *stored)
{
	struct record rec;
	uint8_t got[ACCOUNT_HASH_LEN];
	int r;

	if ((r = parse_record(stored, &rec)) != 0)
		goto out;
	if (pw == NULL || len == 0 || len > FERRY_MAX_PASSWORD) {
		account_password_verify_dummy(NULL, 0);
		r = ferry_fail(FERRY_ERR_AUTH, "wrong password");
		goto out;
	}
	if ((r = crypto_scrypt(pw, len, rec.salt, sizeof(rec.salt), rec.log2n, rec.r, rec.p,
	    got, sizeof(got))) != 0)
		goto out;
	if (CRYPTO_memcmp(got, rec.hash, sizeof(got)) != 0) {
		r = ferry_fail(FERRY_ERR_AUTH, "wrong password");
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(&rec, sizeof(rec));
	return r;
}

void
account_password_verify_dummy(const uint8_t *pw, size_t len)
{
	static const char salt[ACCOUNT_SALT_LEN + 1] = "ferry dummy salt";
	static const uint8_t fallback[1] = { 0 };
	uint8_t got[ACCOUNT_HASH_LEN];

	if (pw == NULL || len == 0 || len > FERRY_MAX_PASSWORD) {
		pw = fallback;
		len = sizeof(fallback);
	}
	(void)crypto_scrypt(pw, len, (const uint8_t *)salt, ACCOUNT_SALT_LEN,
	    ACCOUNT_SCRYPT_LOG2N, ACCOUNT_SCRYPT_R, ACCOUNT_SCRYPT_P, got, sizeof(got));
	OPENSSL_cleanse(got, sizeof(got));
}

/* ---- deleting an account -------------------------------------------------------------- */

/* Run sql with ?1 = uid (and ?2 = name, ?3 = now when the statement uses them). */
static int
run_for_user(sqlite3 *h, const char *sql, int64_t uid, const char *name, int64_t now,
    const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sql_prepare(h, sql, &st)) != 0)
		return r;
	if ((r = sql_bind_int64(h, st, 1, uid)) != 0 ||
	    (sqlite3_bind_parameter_count(st) >= 2 &&
	    (r = sql_bind_text(h, st, 2, name, FERRY_MAX_USER_NAME)) != 0) ||
	    (sqlite3_bind_parameter_count(st) >= 3 && (r = sql_bind_int64(h, st, 3, now)) != 0))
		goto out;
	if (sqlite3_step(st) != SQLITE_DONE)
		r = sql_fail(h, what);
out:
	sqlite3_finalize(st);
	return r;
}

/* One integer that sql computes for ?1 = uid into *n. */
static int
count_for_user(sqlite3 *h, const char *sql, int64_t uid, int64_t *n, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = sql_prepare(h, sql, &st)) != 0 || (r = sql_bind_int64(h, st, 1, uid)) != 0)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		r = sql_fail(h, what);
	else
		r = sql_column_int(st, 0, n, what);
out:
	sqlite3_finalize(st);
	return r;
}

int
account_delete(struct db *db, const char *name, int64_t now, size_t *revoked)
{
	sqlite3 *h = db_sqlite(db);
	sqlite3_stmt *st = NULL;
	int64_t uid = 0, nobj = 0, npart = 0, nrev = 0;
	int r, rc;

	if (revoked != NULL)
		*revoked = 0;
	if (!account_name_valid(name))
		return ferry_fail(FERRY_ERR_NOT_FOUND, "no such user");
	if ((r = sql_begin(h, true)) != 0)
		return r;
	if ((r = sql_prepare(h, "SELECT id FROM users WHERE name = ?1", &st)) != 0 ||
	    (r = sql_bind_text(h, st, 1, name, FERRY_MAX_USER_NAME)) != 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = ferry_fail(FERRY_ERR_NOT_FOUND, "no user %s", name);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = sql_fail(h, "find user");
		goto out;
	}
	if ((r = sql_column_int(st, 0, &uid, "users.id")) != 0)
		goto out;
	sqlite3_finalize(st);
	st = NULL;

	if ((r = count_for_user(h, "SELECT count(*) FROM objects WHERE user_id = ?1", uid,
	    &nobj, "count objects")) != 0 ||
	    (r = count_for_user(h, "SELECT count(*) FROM partials WHERE user_id = ?1", uid,
	    &npart, "count partial uploads")) != 0)
		goto out;
	if (nobj != 0 || npart != 0) {
		r = ferry_fail(FERRY_ERR_EXISTS, "user %s still has %lld stored file%s and %lld "
		    "partial upload%s", name, (long long)nobj, nobj == 1 ? "" : "s",
		    (long long)npart, npart == 1 ? "" : "s");
		goto out;
	}
	if ((r = count_for_user(h, "SELECT count(*) FROM certs WHERE user_id = ?1 AND "
	    "revoked_at IS NULL", uid, &nrev, "count certificates")) != 0 ||
	    (r = run_for_user(h, "INSERT INTO retired_certs (serial, user, not_after, revoked_at) "
	    "SELECT serial, ?2, not_after, COALESCE(revoked_at, ?3) FROM certs WHERE user_id = ?1",
	    uid, name, now, "retire certificates")) != 0 ||
	    (r = run_for_user(h, "DELETE FROM certs WHERE user_id = ?1", uid, NULL, 0,
	    "delete certificates")) != 0 ||
	    (r = run_for_user(h, "DELETE FROM users WHERE id = ?1", uid, NULL, 0,
	    "delete user")) != 0)
		goto out;
	if ((r = sql_commit(h)) != 0)
		goto out;
	if (revoked != NULL)
		*revoked = (size_t)nrev;
	/* Best effort, as for vault_user_key_delete(): no copy of the key's page in the WAL. */
	(void)sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
out:
	sqlite3_finalize(st);
	if (r != 0)
		sql_rollback(h);
	return r;
}
