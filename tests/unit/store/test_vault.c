/*
 * store/vault: the master key file and its check value, user keys wrapped under it
 * (bound to their user), master key rotation and its crash points, crypto-erase.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "format/sealed.h"
#include "store/db.h"
#include "store/vault.h"
#include "testutil.h"
#include "util/err.h"

#define HASH "scrypt$15$8$1$00000000000000000000000000000000$" \
	"1111111111111111111111111111111111111111111111111111111111111111"

struct fixture {
	char *dir;
	char db_path[512], key_path[512], new_path[512];
	struct db *db;
	struct vault *v;
};

static void
open_all(struct fixture *f)
{
	ferry_error_clear();
	if (db_open(f->db_path, &f->db) != 0)
		fail_msg("db_open: %s", ferry_error_detail(FERRY_ERR_DB));
	if (vault_open(f->dir, f->db, &f->v) != 0)
		fail_msg("vault_open: %s", ferry_error_detail(FERRY_ERR_KEY));
}

static void
close_all(struct fixture *f)
{
	vault_free(f->v);
	f->v = NULL;
	db_close(f->db);
	f->db = NULL;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *users[] = { "alice", "bob", "carol" };

	if (f == NULL)
		return -1;
	f->dir = test_tmpdir();
	snprintf(f->db_path, sizeof(f->db_path), "%s/ferry.db", f->dir);
	snprintf(f->key_path, sizeof(f->key_path), "%s/" VAULT_MASTER_FILE, f->dir);
	snprintf(f->new_path, sizeof(f->new_path), "%s/" VAULT_MASTER_NEW_FILE, f->dir);
	if (db_open(f->db_path, &f->db) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (db_user_add(f->db, users[i], HASH) != 0)
			return -1;
	}
	if (vault_open(f->dir, f->db, &f->v) != 0) {
		fprintf(stderr, "vault_open: %s\n", ferry_error_detail(FERRY_ERR_KEY));
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	close_all(f);
	rm_rf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ----------------------------------------------------------------------- */

static uint8_t *
read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *p;
	long n;

	*len = 0;
	if (fp == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return p;
}

static void
write_key_file(const char *path, const uint8_t *p, size_t len, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	if (len > 0)
		assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static void
read_key_file(const char *path, uint8_t key[VAULT_MASTER_KEY_LEN])
{
	size_t len;
	uint8_t *p = read_all(path, &len);

	assert_non_null(p);
	assert_int_equal(len, VAULT_MASTER_KEY_LEN);
	memcpy(key, p, VAULT_MASTER_KEY_LEN);
	free(p);
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
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

/* The first column of the first row of sql (with ?1 = text arg when given) as a blob. */
static void
raw_blob(const char *path, const char *sql, const char *arg, uint8_t *out, size_t len)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (arg != NULL)
		assert_int_equal(sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_BLOB);
	assert_int_equal(sqlite3_column_bytes(st, 0), (int)len);
	memcpy(out, sqlite3_column_blob(st, 0), len);
	sqlite3_finalize(st);
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

#define WRAPPED_OF "SELECT k.wrapped FROM user_keys k JOIN users u ON u.id = k.user_id " \
	"WHERE u.name = ?1"
#define KEY_ID_OF "SELECT k.key_id FROM user_keys k JOIN users u ON u.id = k.user_id " \
	"WHERE u.name = ?1"

/* The check value the database should hold for master. */
static void
expected_check(const uint8_t master[VAULT_MASTER_KEY_LEN], uint8_t check[VAULT_CHECK_LEN])
{
	uint8_t mac[32];
	unsigned int mac_len = sizeof(mac);

	assert_non_null(HMAC(EVP_sha256(), master, VAULT_MASTER_KEY_LEN,
	    (const unsigned char *)"ferry/1 master check", 20, mac, &mac_len));
	memcpy(check, mac, VAULT_CHECK_LEN);
}

static void
assert_check_matches_file(struct fixture *f)
{
	uint8_t master[VAULT_MASTER_KEY_LEN], want[VAULT_CHECK_LEN], got[VAULT_CHECK_LEN];

	read_key_file(f->key_path, master);
	expected_check(master, want);
	raw_blob(f->db_path, "SELECT key_check FROM master", NULL, got, sizeof(got));
	assert_memory_equal(got, want, VAULT_CHECK_LEN);
}

static struct vault_user_key *
user_key(struct fixture *f, const char *user, bool create)
{
	struct vault_user_key *k = NULL;

	ferry_error_clear();
	if (vault_user_key(f->v, user, create, &k) != 0)
		fail_msg("vault_user_key(%s): %s", user, ferry_error_detail(FERRY_ERR_INTERNAL));
	assert_non_null(k);
	return k;
}

static void
assert_same_key(const struct vault_user_key *a, const struct vault_user_key *b)
{
	assert_memory_equal(a->key_id, b->key_id, VAULT_KEY_ID_LEN);
	assert_memory_equal(a->key, b->key, VAULT_USER_KEY_LEN);
}

static int
memfile(const uint8_t *p, size_t len)
{
	int fd = memfd_create("vault-test", 0);

	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

#define MESSAGE "a small file at rest, wrapped for its owner's user key"

/* A sealed file holding MESSAGE for k's key-id recipient, in a memory file. */
static int
seal_for(const struct vault_user_key *k)
{
	struct sealed_recipient r;
	int in = memfile((const uint8_t *)MESSAGE, sizeof(MESSAGE) - 1);
	int out = memfile(NULL, 0);

	vault_user_key_recipient(k, &r);
	assert_int_equal(r.kind, SEALED_SYMMETRIC);
	assert_int_equal(sealed_encrypt_fd(in, out, &r, 1, FERRY_MIN_CHUNK, NULL), 0);
	close(in);
	return out;
}

/* Decrypt the sealed memory file with k: the ferry error; on success it is MESSAGE. */
static int
open_with(int sealed, const struct vault_user_key *k)
{
	struct sealed_identity id;
	char buf[sizeof(MESSAGE)];
	int out = memfile(NULL, 0), r;

	vault_user_key_identity(k, &id);
	assert_int_equal(lseek(sealed, 0, SEEK_SET), 0);
	ferry_error_clear();
	r = sealed_decrypt_fd(sealed, out, &id, 1, NULL);
	if (r == 0) {
		assert_int_equal(lseek(out, 0, SEEK_END), (off_t)sizeof(MESSAGE) - 1);
		assert_int_equal(pread(out, buf, sizeof(buf), 0), (ssize_t)sizeof(MESSAGE) - 1);
		assert_memory_equal(buf, MESSAGE, sizeof(MESSAGE) - 1);
	}
	close(out);
	return r;
}

static int
reopen_fails(struct fixture *f, const char *detail_part)
{
	struct vault *v = NULL;
	int r;

	ferry_error_clear();
	r = vault_open(f->dir, f->db, &v);
	assert_null(v);
	assert_true(r < 0);
	if (strstr(ferry_error_detail(r), detail_part) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", ferry_error_detail(r), detail_part);
	return r;
}

/* ---- the master key ------------------------------------------------------------------ */

static void
test_master_created(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(lstat(f->key_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, VAULT_MASTER_KEY_LEN);
	assert_false(exists(f->new_path));
	assert_int_equal(raw_count(f->db_path, "SELECT count(*) FROM master"), 1);
	assert_check_matches_file(f);
	/* Schema 2 and later hold the tables. */
	assert_true(raw_count(f->db_path, "SELECT user_version FROM pragma_user_version") >=
	    2);
}

/* Two fresh directories get different master keys (they are random). */
static void
test_master_random(void **state)
{
	struct fixture *f = *state, g = { 0 };
	uint8_t a[VAULT_MASTER_KEY_LEN], b[VAULT_MASTER_KEY_LEN];

	g.dir = test_tmpdir();
	snprintf(g.db_path, sizeof(g.db_path), "%s/ferry.db", g.dir);
	snprintf(g.key_path, sizeof(g.key_path), "%s/master.key", g.dir);
	open_all(&g);
	read_key_file(f->key_path, a);
	read_key_file(g.key_path, b);
	assert_memory_not_equal(a, b, sizeof(a));
	close_all(&g);
	rm_rf(g.dir);
	free(g.dir);
}

static void
test_reopen_same_user_keys(void **state)
{
	struct fixture *f = *state;
	struct vault_user_key *a, *b, *a2, *b2, *a3, *none = NULL;
	uint8_t master[VAULT_MASTER_KEY_LEN], master2[VAULT_MASTER_KEY_LEN];

	a = user_key(f, "alice", true);
	b = user_key(f, "bob", true);
	assert_memory_not_equal(a->key, b->key, VAULT_USER_KEY_LEN);
	assert_memory_not_equal(a->key_id, b->key_id, VAULT_KEY_ID_LEN);
	/* get-or-create returns the stored key the second time. */
	a3 = user_key(f, "alice", true);
	assert_same_key(a, a3);
	vault_user_key_free(a3);
	/* Stored wrapped, never in the clear. */
	{
		uint8_t wrapped[VAULT_WRAPPED_LEN];
		size_t len;
		uint8_t *db = read_all(f->db_path, &len);

		raw_blob(f->db_path, WRAPPED_OF, "alice", wrapped, sizeof(wrapped));
		assert_memory_not_equal(wrapped + VAULT_WNONCE_LEN, a->key, VAULT_USER_KEY_LEN);
		assert_null(memmem(db, len, a->key, VAULT_USER_KEY_LEN));
		free(db);
	}
	read_key_file(f->key_path, master);
	close_all(f);
	open_all(f);
	read_key_file(f->key_path, master2);
	assert_memory_equal(master, master2, sizeof(master));
	a2 = user_key(f, "alice", false);
	b2 = user_key(f, "bob", false);
	assert_same_key(a, a2);
	assert_same_key(b, b2);
	/* No key yet and no creation: not found. No such user: not found either way. */
	assert_int_equal(vault_user_key(f->v, "carol", false, &none), FERRY_ERR_NOT_FOUND);
	assert_null(none);
	assert_int_equal(vault_user_key(f->v, "mallory", true, &none), FERRY_ERR_NOT_FOUND);
	assert_int_equal(vault_user_key(f->v, "../alice", true, &none), FERRY_ERR_NOT_FOUND);
	assert_null(none);
	assert_int_equal(raw_count(f->db_path, "SELECT count(*) FROM user_keys"), 2);
	vault_user_key_free(a);
	vault_user_key_free(b);
	vault_user_key_free(a2);
	vault_user_key_free(b2);
	vault_user_key_free(NULL);
}

static void
test_wrong_master_detected(void **state)
{
	struct fixture *f = *state;
	struct vault_user_key *a = user_key(f, "alice", true), *a2;
	uint8_t master[VAULT_MASTER_KEY_LEN], other[VAULT_MASTER_KEY_LEN];

	read_key_file(f->key_path, master);
	memcpy(other, master, sizeof(other));
	other[7] ^= 0x40;
	vault_free(f->v);
	f->v = NULL;

	/* Another key of the right shape: the check value tells. */
	write_key_file(f->key_path, other, sizeof(other), 0600);
	assert_int_equal(reopen_fails(f, "does not match the key check value"), FERRY_ERR_KEY);
	/* Gone: an error, and no new key is made in its place. */
	assert_int_equal(unlink(f->key_path), 0);
	assert_int_equal(reopen_fails(f, "missing"), FERRY_ERR_KEY);
	assert_false(exists(f->key_path));
	/* Malformed: too short, too long, readable by others, a symlink. */
	write_key_file(f->key_path, master, sizeof(master) - 1, 0600);
	assert_int_equal(reopen_fails(f, "exactly 32"), FERRY_ERR_KEY);
	{
		uint8_t longer[VAULT_MASTER_KEY_LEN + 1] = { 0 };

		memcpy(longer, master, sizeof(master));
		write_key_file(f->key_path, longer, sizeof(longer), 0600);
		assert_int_equal(reopen_fails(f, "exactly 32"), FERRY_ERR_KEY);
	}
	write_key_file(f->key_path, master, sizeof(master), 0640);
	assert_int_equal(reopen_fails(f, "too open"), FERRY_ERR_KEY);
	{
		char target[600];

		snprintf(target, sizeof(target), "%s/elsewhere.key", f->dir);
		write_key_file(target, master, sizeof(master), 0600);
		assert_int_equal(unlink(f->key_path), 0);
		assert_int_equal(symlink(target, f->key_path), 0);
		assert_int_equal(reopen_fails(f, "symbolic link"), FERRY_ERR_KEY);
		assert_int_equal(unlink(f->key_path), 0);
	}
	/* The right key again: everything is back. */
	write_key_file(f->key_path, master, sizeof(master), 0600);
	ferry_error_clear();
	assert_int_equal(vault_open(f->dir, f->db, &f->v), 0);
	a2 = user_key(f, "alice", false);
	assert_same_key(a, a2);
	vault_user_key_free(a);
	vault_user_key_free(a2);
}

/* The user name is in the AAD: a wrapped key moved to another user does not unwrap. */
static void
test_user_key_bound_to_user(void **state)
{
	struct fixture *f = *state;
	struct vault_user_key *a = user_key(f, "alice", true), *b = user_key(f, "bob", true);
	struct vault_user_key *k = NULL, *a2;
	uint8_t wrapped[VAULT_WRAPPED_LEN], bob_wrapped[VAULT_WRAPPED_LEN];
	uint8_t key_id[VAULT_KEY_ID_LEN];
	char sql[512];
	char hex_id[2 * VAULT_KEY_ID_LEN + 1], hex_w[2 * VAULT_WRAPPED_LEN + 1];

	raw_blob(f->db_path, WRAPPED_OF, "alice", wrapped, sizeof(wrapped));
	raw_blob(f->db_path, KEY_ID_OF, "alice", key_id, sizeof(key_id));
	raw_blob(f->db_path, WRAPPED_OF, "bob", bob_wrapped, sizeof(bob_wrapped));
	for (size_t i = 0; i < sizeof(key_id); i++)
		snprintf(hex_id + 2 * i, 3, "%02x", key_id[i]);
	for (size_t i = 0; i < sizeof(wrapped); i++)
		snprintf(hex_w + 2 * i, 3, "%02x", wrapped[i]);
	/* Alice's row, byte for byte (key id and wrapping), becomes Bob's. */
	snprintf(sql, sizeof(sql), "DELETE FROM user_keys WHERE user_id = (SELECT id FROM users "
	    "WHERE name = 'alice'); UPDATE user_keys SET key_id = x'%s', wrapped = x'%s' "
	    "WHERE user_id = (SELECT id FROM users WHERE name = 'bob')", hex_id, hex_w);
	raw_exec(f->db_path, sql);
	ferry_error_clear();
	assert_int_equal(vault_user_key(f->v, "bob", false, &k), FERRY_ERR_AUTH);
	assert_null(k);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_AUTH), "does not unwrap"));
	/* get-or-create does not paper over it with a fresh key. */
	assert_int_equal(vault_user_key(f->v, "bob", true, &k), FERRY_ERR_AUTH);
	assert_null(k);
	{
		uint8_t still[VAULT_WRAPPED_LEN];

		raw_blob(f->db_path, WRAPPED_OF, "bob", still, sizeof(still));
		assert_memory_equal(still, wrapped, sizeof(wrapped));
	}
	/* Moved back to Alice, the same bytes unwrap to her key. */
	snprintf(sql, sizeof(sql), "DELETE FROM user_keys WHERE user_id = (SELECT id FROM users "
	    "WHERE name = 'bob'); INSERT INTO user_keys (user_id, key_id, wrapped) SELECT id, "
	    "x'%s', x'%s' FROM users WHERE name = 'alice'", hex_id, hex_w);
	raw_exec(f->db_path, sql);
	a2 = user_key(f, "alice", false);
	assert_same_key(a, a2);
	vault_user_key_free(a2);
	/* Bob's own row, put back, is Bob's key again. */
	for (size_t i = 0; i < sizeof(key_id); i++)
		snprintf(hex_id + 2 * i, 3, "%02x", b->key_id[i]);
	for (size_t i = 0; i < sizeof(bob_wrapped); i++)
		snprintf(hex_w + 2 * i, 3, "%02x", bob_wrapped[i]);
	snprintf(sql, sizeof(sql), "INSERT INTO user_keys (user_id, key_id, wrapped) SELECT id, "
	    "x'%s', x'%s' FROM users WHERE name = 'bob'", hex_id, hex_w);
	raw_exec(f->db_path, sql);
	a2 = user_key(f, "bob", false);
	assert_same_key(b, a2);
	/* A damaged wrapping is refused the same way. */
	wrapped[20] ^= 0x01;
	for (size_t i = 0; i < sizeof(wrapped); i++)
		snprintf(hex_w + 2 * i, 3, "%02x", wrapped[i]);
	snprintf(sql, sizeof(sql), "UPDATE user_keys SET wrapped = x'%s' WHERE user_id = "
	    "(SELECT id FROM users WHERE name = 'alice')", hex_w);
	raw_exec(f->db_path, sql);
	assert_int_equal(vault_user_key(f->v, "alice", false, &k), FERRY_ERR_AUTH);
	assert_null(k);
	vault_user_key_free(a);
	vault_user_key_free(a2);
	vault_user_key_free(b);
}

/* Processes creating the same user's key at once all end up with one and the same key. */
static void
test_concurrent_create(void **state)
{
	struct fixture *f = *state;
	enum { NPROC = 8 };
	struct vault_user_key got[NPROC], *mine;
	int go[2], res[2], status;
	pid_t pids[NPROC];

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(res), 0);
	for (int i = 0; i < NPROC; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct fixture g = *f;
			struct vault_user_key *k = NULL;
			struct vault_user_key zero = { 0 };
			char b;

			/* The parent's connection and vault are not used across fork(). */
			g.db = NULL;
			g.v = NULL;
			close(go[1]);
			if (db_open(g.db_path, &g.db) != 0 || vault_open(g.dir, g.db, &g.v) != 0 ||
			    read(go[0], &b, 1) != 0 || vault_user_key(g.v, "carol", true, &k) != 0)
				k = &zero;
			if (write(res[1], k, sizeof(*k)) != (ssize_t)sizeof(*k))
				_exit(2);
			_exit(k == &zero ? 1 : 0);
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]);	/* start them all at once */
	for (int i = 0; i < NPROC; i++) {
		size_t off = 0;
		ssize_t n;

		while (off < sizeof(got[i]) &&
		    (n = read(res[0], (uint8_t *)&got[i] + off, sizeof(got[i]) - off)) > 0)
			off += (size_t)n;
		assert_int_equal(off, sizeof(got[i]));
	}
	for (int i = 0; i < NPROC; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	close(res[0]);
	mine = user_key(f, "carol", false);
	for (int i = 0; i < NPROC; i++)
		assert_same_key(mine, &got[i]);
	assert_int_equal(raw_count(f->db_path, "SELECT count(*) FROM user_keys"), 1);
	vault_user_key_free(mine);
}

/* ---- rotation ------------------------------------------------------------------------ */

static void
test_rotation(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "alice", "bob", "carol" };
	struct vault_user_key *before[3], *after;
	uint8_t old_master[VAULT_MASTER_KEY_LEN], new_master[VAULT_MASTER_KEY_LEN];
	uint8_t w_before[3][VAULT_WRAPPED_LEN], w_after[VAULT_WRAPPED_LEN];
	uint8_t id_after[VAULT_KEY_ID_LEN];
	struct stat st;
	size_t count = 99;
	int sealed;

	for (size_t i = 0; i < 3; i++) {
		before[i] = user_key(f, names[i], true);
		raw_blob(f->db_path, WRAPPED_OF, names[i], w_before[i], VAULT_WRAPPED_LEN);
	}
	sealed = seal_for(before[0]);
	read_key_file(f->key_path, old_master);

	ferry_error_clear();
	if (vault_rotate_master(f->v, &count) != 0)
		fail_msg("rotate: %s", ferry_error_detail(FERRY_ERR_INTERNAL));
	assert_int_equal(count, 3);
	read_key_file(f->key_path, new_master);
	assert_memory_not_equal(old_master, new_master, sizeof(old_master));
	assert_int_equal(lstat(f->key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_false(exists(f->new_path));
	assert_check_matches_file(f);
	/* Every wrapping is new; ids and keys are not. The same vault goes on working. */
	for (size_t i = 0; i < 3; i++) {
		raw_blob(f->db_path, WRAPPED_OF, names[i], w_after, sizeof(w_after));
		raw_blob(f->db_path, KEY_ID_OF, names[i], id_after, sizeof(id_after));
		assert_memory_not_equal(w_after, w_before[i], VAULT_WRAPPED_LEN);
		assert_memory_equal(id_after, before[i]->key_id, VAULT_KEY_ID_LEN);
		after = user_key(f, names[i], false);
		assert_same_key(before[i], after);
		vault_user_key_free(after);
	}
	/* Reopened from disk: the same keys, and the file sealed before still opens. */
	close_all(f);
	open_all(f);
	for (size_t i = 0; i < 3; i++) {
		after = user_key(f, names[i], false);
		assert_same_key(before[i], after);
		if (i == 0)
			assert_int_equal(open_with(sealed, after), 0);
		vault_user_key_free(after);
	}
	/* The old master key is no longer accepted. */
	vault_free(f->v);
	f->v = NULL;
	write_key_file(f->key_path, old_master, sizeof(old_master), 0600);
	assert_int_equal(reopen_fails(f, "does not match"), FERRY_ERR_KEY);
	write_key_file(f->key_path, new_master, sizeof(new_master), 0600);
	ferry_error_clear();
	assert_int_equal(vault_open(f->dir, f->db, &f->v), 0);
	/* Twice more in a row. */
	assert_int_equal(vault_rotate_master(f->v, NULL), 0);
	assert_int_equal(vault_rotate_master(f->v, &count), 0);
	assert_int_equal(count, 3);
	assert_check_matches_file(f);
	after = user_key(f, "bob", false);
	assert_same_key(before[1], after);
	vault_user_key_free(after);
	close(sealed);
	for (size_t i = 0; i < 3; i++)
		vault_user_key_free(before[i]);
}

static void
test_rotation_without_user_keys(void **state)
{
	struct fixture *f = *state;
	size_t count = 7;

	assert_int_equal(vault_rotate_master(f->v, &count), 0);
	assert_int_equal(count, 0);
	assert_check_matches_file(f);
	assert_false(exists(f->new_path));
}

/* A crash before the commit: master.key.new is a staged key the database never saw. */
static void
test_crash_before_commit(void **state)
{
	struct fixture *f = *state;
	struct vault_user_key *a = user_key(f, "alice", true), *a2;
	uint8_t master[VAULT_MASTER_KEY_LEN], staged[VAULT_MASTER_KEY_LEN];
	uint8_t now[VAULT_MASTER_KEY_LEN];
	int sealed = seal_for(a);

	read_key_file(f->key_path, master);
	memset(staged, 0x5a, sizeof(staged));
	close_all(f);
	/* Whole (crash after its fsync), then torn (crash while writing it). */
	for (size_t len = sizeof(staged); ; len = 5) {
		write_key_file(f->new_path, staged, len, 0600);
		open_all(f);
		assert_false(exists(f->new_path));
		read_key_file(f->key_path, now);
		assert_memory_equal(now, master, sizeof(master));
		a2 = user_key(f, "alice", false);
		assert_same_key(a, a2);
		assert_int_equal(open_with(sealed, a2), 0);
		vault_user_key_free(a2);
		close_all(f);
		if (len == 5)
			break;
	}
	/* A rotation finds one too and goes ahead. */
	open_all(f);
	write_key_file(f->new_path, staged, sizeof(staged), 0600);
	assert_int_equal(vault_rotate_master(f->v, NULL), 0);
	assert_false(exists(f->new_path));
	read_key_file(f->key_path, now);
	assert_memory_not_equal(now, master, sizeof(master));
	assert_memory_not_equal(now, staged, sizeof(staged));
	assert_check_matches_file(f);
	a2 = user_key(f, "alice", false);
	assert_int_equal(open_with(sealed, a2), 0);
	vault_user_key_free(a2);
	vault_user_key_free(a);
	close(sealed);
}

/* A crash after the commit, before the rename: the database is ahead of master.key. */
static void
test_crash_after_commit(void **state)
{
	struct fixture *f = *state;
	struct vault_user_key *a = user_key(f, "alice", true), *b = user_key(f, "bob", true);
	struct vault_user_key *a2, *b2;
	uint8_t old_master[VAULT_MASTER_KEY_LEN], new_master[VAULT_MASTER_KEY_LEN];
	uint8_t now[VAULT_MASTER_KEY_LEN];
	int sealed = seal_for(b);

	read_key_file(f->key_path, old_master);
	assert_int_equal(vault_rotate_master(f->v, NULL), 0);
	read_key_file(f->key_path, new_master);
	close_all(f);
	/* Put the files back as they were between the commit and the rename. */
	assert_int_equal(rename(f->key_path, f->new_path), 0);
	write_key_file(f->key_path, old_master, sizeof(old_master), 0600);

	open_all(f);
	assert_false(exists(f->new_path));
	read_key_file(f->key_path, now);
	assert_memory_equal(now, new_master, sizeof(now));
	assert_check_matches_file(f);
	a2 = user_key(f, "alice", false);
	b2 = user_key(f, "bob", false);
	assert_same_key(a, a2);
	assert_same_key(b, b2);
	assert_int_equal(open_with(sealed, b2), 0);
	vault_user_key_free(a2);
	vault_user_key_free(b2);

	/* Same state, but master.key was lost as well: master.key.new alone suffices. */
	close_all(f);
	assert_int_equal(rename(f->key_path, f->new_path), 0);
	open_all(f);
	read_key_file(f->key_path, now);
	assert_memory_equal(now, new_master, sizeof(now));
	assert_false(exists(f->new_path));

	/* Neither file matches: refused, and neither is touched. */
	vault_free(f->v);
	f->v = NULL;
	write_key_file(f->key_path, old_master, sizeof(old_master), 0600);
	old_master[0] ^= 1;
	write_key_file(f->new_path, old_master, sizeof(old_master), 0600);
	assert_int_equal(reopen_fails(f, "does not match"), FERRY_ERR_KEY);
	assert_true(exists(f->new_path));
	vault_user_key_free(a);
	vault_user_key_free(b);
	close(sealed);
}

/* A vault opened before another process rotated reloads the new key by itself. */
static void
test_other_vault_rotates(void **state)
{
	struct fixture *f = *state, g = { 0 };
	struct vault_user_key *a = user_key(f, "alice", true), *a2, *c;

	g.dir = f->dir;
	snprintf(g.db_path, sizeof(g.db_path), "%s", f->db_path);
	open_all(&g);
	assert_int_equal(vault_rotate_master(g.v, NULL), 0);
	a2 = user_key(f, "alice", false);
	assert_same_key(a, a2);
	/* Creating under the stale vault wraps with the new key, so g can read it. */
	c = user_key(f, "carol", true);
	vault_user_key_free(a2);
	ferry_error_clear();
	assert_int_equal(vault_user_key(g.v, "carol", false, &a2), 0);
	assert_same_key(c, a2);
	assert_int_equal(vault_rotate_master(f->v, NULL), 0);
	vault_user_key_free(a2);
	assert_int_equal(vault_user_key(g.v, "alice", false, &a2), 0);
	assert_same_key(a, a2);
	close_all(&g);
	vault_user_key_free(a);
	vault_user_key_free(a2);
	vault_user_key_free(c);
}

/* ---- crypto-erase -------------------------------------------------------------------- */

static void
test_delete_erases(void **state)
{
	struct fixture *f = *state;
	struct vault_user_key *a = user_key(f, "alice", true), *b = user_key(f, "bob", true);
	struct vault_user_key *k = NULL, *fresh, *b2;
	uint8_t wrapped[VAULT_WRAPPED_LEN];
	int sealed = seal_for(a);
	char wal[600];
	const char *files[2];

	raw_blob(f->db_path, WRAPPED_OF, "alice", wrapped, sizeof(wrapped));
	assert_int_equal(open_with(sealed, a), 0);

	assert_int_equal(vault_user_key_delete(f->v, "alice"), 0);
	assert_int_equal(vault_user_key(f->v, "alice", false, &k), FERRY_ERR_NOT_FOUND);
	assert_null(k);
	assert_int_equal(vault_user_key_delete(f->v, "alice"), FERRY_ERR_NOT_FOUND);
	assert_int_equal(vault_user_key_delete(f->v, "mallory"), FERRY_ERR_NOT_FOUND);
	/* Neither the wrapping nor the key id is left in the database or its log. */
	snprintf(wal, sizeof(wal), "%s-wal", f->db_path);
	files[0] = f->db_path;
	files[1] = wal;
	for (size_t i = 0; i < 2; i++) {
		size_t len;
		uint8_t *p = read_all(files[i], &len);

		if (p == NULL)
			continue;
		assert_null(memmem(p, len, wrapped, sizeof(wrapped)));
		assert_null(memmem(p, len, wrapped + VAULT_WNONCE_LEN, 16));
		assert_null(memmem(p, len, a->key_id, VAULT_KEY_ID_LEN));
		free(p);
	}
	/* A new key for the same user is a different key: the old file stays sealed. */
	fresh = user_key(f, "alice", true);
	assert_memory_not_equal(fresh->key_id, a->key_id, VAULT_KEY_ID_LEN);
	assert_memory_not_equal(fresh->key, a->key, VAULT_USER_KEY_LEN);
	assert_int_equal(open_with(sealed, fresh), FERRY_ERR_NO_IDENTITY);
	/* Others are untouched. */
	b2 = user_key(f, "bob", false);
	assert_same_key(b, b2);
	/* Deleting the account deletes its key with it. */
	raw_exec(f->db_path, "PRAGMA foreign_keys = ON; DELETE FROM users WHERE name = 'bob'");
	assert_int_equal(raw_count(f->db_path, "SELECT count(*) FROM user_keys"), 1);
	assert_int_equal(vault_user_key(f->v, "bob", true, &k), FERRY_ERR_NOT_FOUND);
	vault_user_key_free(a);
	vault_user_key_free(b);
	vault_user_key_free(b2);
	vault_user_key_free(fresh);
	close(sealed);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_master_created),
		T(test_master_random),
		T(test_reopen_same_user_keys),
		T(test_wrong_master_detected),
		T(test_user_key_bound_to_user),
		T(test_concurrent_create),
		T(test_rotation),
		T(test_rotation_without_user_keys),
		T(test_crash_before_commit),
		T(test_crash_after_commit),
		T(test_other_vault_rotates),
		T(test_delete_erases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
