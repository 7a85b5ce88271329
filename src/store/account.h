/*
 * User accounts: the name rules and password records.
 *
 * Names: 1..FERRY_MAX_USER_NAME (32) characters from [a-z0-9._-], the first one a
 * lower-case letter or digit. So a name is never empty, never "." or "..", holds no
 * '/', upper case, space or control character, and is safe in a file name, a log line
 * and a certificate subject.
 *
 * Password records (stored in the database, never the password itself):
 *   scrypt$<log2n>$<r>$<p>$<salt hex>$<hash hex>
 * written as log2n 15, r 8, p 1, a 16-byte random salt and a 32-byte hash, hex in
 * lower case, e.g. "scrypt$15$8$1$<32 hex>$<64 hex>" (111 characters).
 */
#ifndef FERRY_STORE_ACCOUNT_H
#define FERRY_STORE_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "util/limits.h"

#define ACCOUNT_SCRYPT_LOG2N  15u
#define ACCOUNT_SCRYPT_R      8u
#define ACCOUNT_SCRYPT_P      1u
#define ACCOUNT_SALT_LEN      16u
#define ACCOUNT_HASH_LEN      32u
/* A buffer that holds any record account_password_hash() writes, with its NUL. */
#define ACCOUNT_RECORD_SIZE   (FERRY_MAX_PW_HASH + 1)

/* True if name (NUL-terminated, may be NULL) follows the rules above. */
bool account_name_valid(const char *name);

/* NULL if the name is valid, else a static one-line reason ("longer than 32 characters",
 * "must start with a lower-case letter or digit", ...). */
const char *account_name_reason(const char *name);

/*
 * Hash a password (1..FERRY_MAX_PASSWORD bytes, FERRY_ERR_LIMIT otherwise) with a fresh
 * random salt into out as a NUL-terminated record. out_len must be at least
 * ACCOUNT_RECORD_SIZE (FERRY_ERR_LIMIT). Errors: FERRY_ERR_CRYPTO, FERRY_ERR_NOMEM.
 * Intermediate secrets are wiped.
 */
int account_password_hash(const uint8_t *pw, size_t len, char *out, size_t out_len);

/*
 * Check a password against a stored record. 0 on a match, FERRY_ERR_AUTH on a mismatch
 * (also for an empty or overlong password), FERRY_ERR_FORMAT for a malformed record
 * (parsed strictly: the exact layout above, decimal fields without leading zeros,
 * log2n FERRY_SCRYPT_MIN_LOG2N..FERRY_SCRYPT_MAX_LOG2N, r 1..32, p 1..16, lower-case
 * hex of exactly the salt and hash lengths). The hashes are compared in constant time
 * and the derived one is wiped.
 */
int account_password_verify(const uint8_t *pw, size_t len, const char *stored);

/*
 * Do the same work as verifying a password against a real record, and discard it. Call
 * it for an unknown user so that the reply takes as long as for a wrong password.
 */
void account_password_verify_dummy(const uint8_t *pw, size_t len);

/*
 * The last step of `ferryd user delete`: delete the account row of name, in one
 * transaction that holds the database write lock throughout:
 *   - refuse with FERRY_ERR_EXISTS ("user NAME still has N stored files and M partial
 *     uploads") while any object or partial-upload row of the user is left, so that no
 *     row whose file still exists is ever dropped by the ON DELETE CASCADE (the caller
 *     removes them, files first, and calls again);
 *   - move every certificate of the user to table retired_certs (serial, user name,
 *     not_after, revoked_at; an unrevoked one is revoked at now), where
 *     db_cert_revoked_list() still finds it for the CRL while no session can ever find
 *     it again (db_cert_lookup: not issued by this server), even if the name is reused;
 *   - delete the account; its user key goes with it (ON DELETE CASCADE, overwritten:
 *     PRAGMA secure_delete).
 * *revoked (may be NULL) receives the number of certificates that were still unrevoked.
 * FERRY_ERR_NOT_FOUND if there is no such user; FERRY_ERR_DB.
 */
int account_delete(struct db *db, const char *name, int64_t now, size_t *revoked);

#endif
