/*
 * The at-rest key hierarchy of a data directory (docs/SECURITY.md):
 *
 *   master key   32 random bytes in DIR/master.key (mode 0600). Never leaves the
 *                server; wraps the user keys. Its key check value
 *                    check = HMAC-SHA256(master, "ferry/1 master check")[0..16)
 *                is kept in the database (table master), so a wrong, swapped or damaged
 *                master.key is reported as such instead of producing garbage.
 *   user keys    one random 32-byte key per user, known by a random 16-byte key id. The
 *                key wraps the file keys of the user's objects in key-id stanzas
 *                (docs/FORMAT.md, type 0x05). Stored in table user_keys as
 *                    wrapped = wnonce (12) || AES-256-GCM(master, wnonce,
 *                              aad = "ferry/1 user-key" || key_id || user name, key)
 *                with a random wnonce per wrapping. The AAD binds a wrapped key to its
 *                key id and its user: a row copied to another user does not unwrap.
 *   file keys    one per object, in the object's sealed header (format/sealed.h).
 *
 * Rotating the master key re-wraps every user key and no object. Deleting a user's key
 * crypto-erases the user's objects: their file keys can no longer be unwrapped.
 *
 * Crash safety of rotation. The steps are
 *   1. (holding the database write lock) write the new key to DIR/master.key.new,
 *      fsync it and the directory;
 *   2. in ONE SQLite transaction: re-wrap every user key under the new key and store the
 *      new check value; commit;
 *   3. rename master.key.new over master.key, fsync the directory.
 * Whenever master.key.new is present, vault_open() (and the next rotation) resolve it,
 * with the write lock held so a rotation in progress in another process is never
 * disturbed: if master.key matches the stored check value, step 2 never committed and
 * master.key.new is removed; if master.key.new matches it, step 2 committed and the
 * rename of step 3 is completed. So a crash at any point leaves the old master key with
 * the old wrappings, or the new key with the new wrappings; never a mix.
 *
 * A struct vault belongs to one process and must not cross fork() (nor does the struct
 * db it borrows). Several processes may hold vaults of the same directory: when another
 * process has rotated the master key, the next call notices the changed check value and
 * reloads the key from disk.
 *
 * Errors: FERRY_ERR_IO (files; the detail names the path), FERRY_ERR_KEY (master.key
 * wrong, missing, malformed or readable by others), FERRY_ERR_AUTH (a stored user key
 * does not unwrap), FERRY_ERR_DB, FERRY_ERR_NOT_FOUND (no such user), FERRY_ERR_CRYPTO,
 * FERRY_ERR_NOMEM.
 */
#ifndef FERRY_STORE_VAULT_H
#define FERRY_STORE_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/sealed.h"
#include "store/db.h"

#define VAULT_MASTER_FILE      "master.key"
#define VAULT_MASTER_NEW_FILE  "master.key.new"
#define VAULT_MASTER_KEY_LEN   32
#define VAULT_CHECK_LEN        16
#define VAULT_USER_KEY_LEN     32
#define VAULT_KEY_ID_LEN       SEALED_KEY_ID_LEN   /* 16 */
#define VAULT_WNONCE_LEN       12
/* A stored wrapping: wnonce || AES-256-GCM ciphertext of the key || tag. */
#define VAULT_WRAPPED_LEN      (VAULT_WNONCE_LEN + VAULT_USER_KEY_LEN + 16)

struct vault;

/* A user's key; wiped by vault_user_key_free(). */
struct vault_user_key {
	uint8_t key_id[VAULT_KEY_ID_LEN];
	uint8_t key[VAULT_USER_KEY_LEN];
};

/*
 * Open the master key of data directory dir, whose database db is already open (schema
 * version 2 or later); the vault borrows db, which must outlive it.
 *
 * When the database holds no check value yet (a new data directory), a master key is
 * created: 32 random bytes written atomically to DIR/master.key, mode 0600, never
 * replacing a file that exists (an existing one is adopted instead), and its check value
 * is stored. Otherwise master.key must exist and match the stored check value; a
 * leftover master.key.new is resolved as described above. master.key is read without
 * following a symlink, must be a regular file of exactly 32 bytes and not accessible to
 * group or others. *out is set only on success; free it with vault_free().
 */
int vault_open(const char *dir, struct db *db, struct vault **out);

/* Wipe the master key and free. Accepts NULL. */
void vault_free(struct vault *v);

/*
 * The key of user (an existing account) into a new *out, which the caller frees with
 * vault_user_key_free(). When the user has no key yet: with create, a fresh key and key
 * id are made and stored (atomically with respect to other processes: two callers get
 * the same key); without create, FERRY_ERR_NOT_FOUND. A stored key that does not unwrap
 * (damaged, or moved from another user's row) is FERRY_ERR_AUTH and is never replaced.
 */
int vault_user_key(struct vault *v, const char *user, bool create,
    struct vault_user_key **out);

/* Wipe and free. Accepts NULL. */
void vault_user_key_free(struct vault_user_key *k);

/*
 * Describe k as a key-id recipient (for wrapping a file key at rest) or identity (for
 * unwrapping one). The structs borrow k: keep k until they are no longer used.
 */
void vault_user_key_recipient(const struct vault_user_key *k, struct sealed_recipient *r);
void vault_user_key_identity(const struct vault_user_key *k, struct sealed_identity *id);

/*
 * Replace the master key with a fresh one and re-wrap every user key under it, crash-
 * safely as described above. *count (may be NULL) receives the number of user keys
 * re-wrapped. Objects are not touched: user keys and key ids are unchanged. On failure
 * before the commit the old key stays in force; after it, the new one is (and a failure
 * to complete the rename is repaired by the next vault_open()).
 */
int vault_rotate_master(struct vault *v, size_t *count);

/*
 * Crypto-erase: delete user's key, so that every file key wrapped by it can never be
 * unwrapped again. The database runs with PRAGMA secure_delete = ON, so the freed
 * record is overwritten in the database file; a WAL checkpoint (TRUNCATE) is then
 * attempted so no copy of the old page stays in the write-ahead log either (if another
 * connection is reading, SQLite completes it at a later checkpoint). Deleting the user's
 * account deletes the key too (ON DELETE CASCADE). FERRY_ERR_NOT_FOUND if the user does
 * not exist or has no key.
 */
int vault_user_key_delete(struct vault *v, const char *user);

#endif
