/*
 * Stored objects: the metadata of every user's files (table objects of DIR/ferry.db) and
 * the rules for object names. A row holds the object id, the time it was stored, and the
 * name, size and SHA-256 sealed under the owner's metadata key (store/meta.h) with the
 * name's keyed tag for lookups: the database alone shows none of them. The bytes of an object live in DIR/objects/<id>, a sealed
 * file whose name is the object's random id (32 lower-case hex digits); this module only
 * records which id holds which (user, name) and never touches those files.
 *
 * Every function takes the owning user's name and only ever reads or changes that user's
 * rows: one user can never see or touch another's objects through this API.
 *
 * Names (store_name_valid()): 1..FERRY_MAX_OBJECT_NAME (255) bytes of valid UTF-8 with no
 * control characters (C0, DEL, C1), no '/', not "." or "..", and no leading or trailing
 * space. Names are stored as given (no normalisation): "a" and "A" are different objects.
 *
 * Errors: FERRY_ERR_DB (SQLite; the detail carries its message), FERRY_ERR_USAGE (bad
 * name or argument, detail says why), FERRY_ERR_NOT_FOUND (no such user or object).
 */
#ifndef FERRY_STORE_OBJECTS_H
#define FERRY_STORE_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/meta.h"
#include "util/limits.h"

#define OBJECTS_ID_HEX_LEN (FERRY_OBJECT_ID_LEN * 2)  /* 32 */
#define OBJECTS_SHA256_LEN 32

/* One object's metadata. */
struct db_object {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	char object[OBJECTS_ID_HEX_LEN + 1];   /* file name under DIR/objects/ */
	uint64_t size;                         /* plaintext bytes */
	uint8_t sha256[OBJECTS_SHA256_LEN];    /* of the plaintext */
	int64_t stored;                        /* commit time, seconds since the epoch */
};

/*
 * True when name (NUL-terminated) is an acceptable object name (rules above). Otherwise
 * false and, if reason is not NULL, *reason points to a static English phrase such as
 * "contains '/'" or "longer than 255 bytes".
 */
bool store_name_valid(const char *name, const char **reason);

/* True when s is exactly OBJECTS_ID_HEX_LEN lower-case hex digits. */
bool objects_id_valid(const char *s);

/* A fresh random object id (OBJECTS_ID_HEX_LEN hex digits and a NUL) into out. */
int objects_new_id(char out[OBJECTS_ID_HEX_LEN + 1]);

/*
 * Record o (name, object, size, sha256, stored) for user, sealed under k, replacing the
 * user's object of the same name if there is one, in one transaction. When one was
 * replaced, its object id is copied to replaced (else replaced[0] = '\0'): the caller
 * unlinks that file AFTER this returned 0. The name must pass store_name_valid() and the
 * id objects_id_valid().
 */
int objects_put(struct db *db, const char *user, const struct meta_key *k,
    const struct db_object *o, char replaced[OBJECTS_ID_HEX_LEN + 1]);

/* The user's object called name into *out. FERRY_ERR_NOT_FOUND if absent. */
int objects_get(struct db *db, const char *user, const struct meta_key *k, const char *name,
    struct db_object *out);

/*
 * Call cb(arg, o) for each of the user's objects, in name order (bytewise). With k NULL
 * (the key is gone) only object and stored are filled, in no particular order. A
 * non-zero return from cb stops the walk and is returned. *o is valid only during the
 * call.
 */
int objects_list(struct db *db, const char *user, const struct meta_key *k,
    int (*cb)(void *arg, const struct db_object *o), void *arg);

/*
 * Delete the user's object called name; its object id is copied to removed so that the
 * caller unlinks the file after this returned 0. FERRY_ERR_NOT_FOUND if absent.
 */
int objects_delete(struct db *db, const char *user, const struct meta_key *k, const char *name,
    char removed[OBJECTS_ID_HEX_LEN + 1]);

/* Delete the user's row of object id object (no key needed: ferryd user delete).
 * FERRY_ERR_NOT_FOUND if there is none. */
int objects_delete_object(struct db *db, const char *user, const char *object);

/* *bytes = the sum of the plaintext sizes of the user's objects (all opened with k).
 * FERRY_ERR_NOT_FOUND for an unknown user. */
int objects_usage(struct db *db, const char *user, const struct meta_key *k, uint64_t *bytes);

/*
 * Seal the rows stored before schema 5 (table objects_clear, names in clear) with their
 * users' metadata keys from v, then drop that table; *count receives the number sealed.
 * For ferryd serve at start. Nothing to do (0) when the table is gone.
 */
int objects_seal_legacy(struct db *db, struct vault *v, size_t *count);

/* *out = whether any row (of any user) refers to object id (for sweeping orphans). */
int objects_referenced(struct db *db, const char *object, bool *out);

#endif
