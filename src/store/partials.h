/*
 * Partial uploads: uploads cut off before their end (client killed, network dropped,
 * server restarted), kept so that the same `ferry put` can resume them (docs/PROTOCOL.md
 * 12.1). A row of table partials names the temporary file DIR/objects/tmp/<object> that
 * holds the verified part of the stream; the file itself is the only record of how far
 * the upload got (the server scans it before resuming, format/sealed.h
 * sealed_partial_scan). A user has at most one partial upload per name. This module only
 * keeps the rows; the caller creates and unlinks the files.
 *
 * Every function takes the owning user's name and touches only that user's rows, except
 * the sweeping helpers, which are for ferryd's start-up and expiry.
 * Errors: FERRY_ERR_DB, FERRY_ERR_USAGE (bad name or id), FERRY_ERR_NOT_FOUND.
 */
#ifndef FERRY_STORE_PARTIALS_H
#define FERRY_STORE_PARTIALS_H

#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "store/meta.h"
#include "store/objects.h"

/* name and size are sealed in the database like those of objects (store/meta.h): they
 * are filled only where a metadata key was given. */
struct db_partial {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	char object[OBJECTS_ID_HEX_LEN + 1];   /* DIR/objects/tmp/<object> */
	uint64_t size;                         /* announced plaintext size */
	int64_t started;                       /* seconds since the epoch */
	int64_t updated;                       /* last time bytes arrived */
};

/*
 * Record p as the user's partial upload of p->name, replacing an older one of that name;
 * its object id is copied to replaced (else replaced[0] = '\0') so that the caller
 * unlinks that temporary file after this returned 0.
 */
int partials_start(struct db *db, const char *user, const struct meta_key *k,
    const struct db_partial *p, char replaced[OBJECTS_ID_HEX_LEN + 1]);

/* The user's partial upload of name into *out; FERRY_ERR_NOT_FOUND if there is none. */
int partials_get(struct db *db, const char *user, const struct meta_key *k, const char *name,
    struct db_partial *out);

/* Set the updated time of the partial upload held in object (0 when it is gone). */
int partials_touch(struct db *db, const char *object, int64_t now);

/* Forget the partial upload held in object, if it is still recorded (0 when not). */
int partials_remove(struct db *db, const char *object);

/* Call cb(arg, p) for each of the user's partial uploads (k NULL: object ids and times
 * only); a non-zero return stops. */
int partials_list_user(struct db *db, const char *user, const struct meta_key *k,
    int (*cb)(void *arg, const struct db_partial *p), void *arg);

/*
 * Forget every partial upload (of any user) not updated since before, calling cb(arg, p)
 * (may be NULL; object id and times only) for each, so that the caller unlinks its
 * file. The count goes to *n.
 */
int partials_expire(struct db *db, int64_t before,
    void (*cb)(void *arg, const struct db_partial *p), void *arg, unsigned *n);

/* *out = whether a partial upload (of any user) is held in object. */
int partials_referenced(struct db *db, const char *object, bool *out);

#endif
