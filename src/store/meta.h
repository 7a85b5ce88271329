/*
 * Sealed metadata of stored files: what the database keeps of a user's file (its name,
 * plaintext size and SHA-256) is encrypted under a key derived from the user's key, so
 * that a copy of ferry.db without master.key shows neither names nor sizes nor digests
 * (docs/SECURITY.md, "What is in the data directory").
 *
 * Two keys come from the user key by HKDF-SHA256 (salt: the user key id): a tag key, with
 * which the name's HMAC-SHA256 becomes the row's lookup tag (equal names, equal tags:
 * SQLite finds and keeps unique a (user, name) without seeing the name), and a seal key
 * for AES-256-GCM over the record, bound to the user and the object id so that a row
 * moved to another user or object does not open. Sealed record:
 *
 *   nonce (12) || AES-256-GCM( u64 size || sha256 (32) || name ) || tag (16)
 *   AAD = "ferry meta v1" || 0x00 || user || 0x00 || object id
 */
#ifndef FERRY_STORE_META_H
#define FERRY_STORE_META_H

#include <stddef.h>
#include <stdint.h>

#include "store/vault.h"
#include "util/limits.h"

#define META_TAG_LEN    32
#define META_SHA256_LEN 32
/* The longest sealed record: nonce, size, digest, name, GCM tag. */
#define META_SEALED_MAX (12 + 8 + META_SHA256_LEN + FERRY_MAX_OBJECT_NAME + 16)

/* A user's metadata keys; wipe with meta_key_clear(). */
struct meta_key {
	uint8_t tag_key[32];
	uint8_t seal_key[32];
};

/* What is sealed of a file. */
struct meta_record {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	uint64_t size;
	uint8_t sha256[META_SHA256_LEN];
};

int meta_key_derive(const struct vault_user_key *uk, struct meta_key *out);
void meta_key_clear(struct meta_key *k);

/* The lookup tag of name (NUL-terminated). */
int meta_tag(const struct meta_key *k, const char *name, uint8_t tag[META_TAG_LEN]);

/* Seal rec for (user, object) into out (META_SEALED_MAX bytes), *len its length. */
int meta_seal(const struct meta_key *k, const char *user, const char *object,
    const struct meta_record *rec, uint8_t *out, size_t *len);

/* Open a sealed record; FERRY_ERR_DB "database: <what>: sealed metadata does not open"
 * when it was altered, moved or sealed under another key. */
int meta_open(const struct meta_key *k, const char *user, const char *object,
    const uint8_t *in, size_t len, struct meta_record *rec, const char *what);

#endif
