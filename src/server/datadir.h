/*
 * The server's data directory (docs/ferryd.8, "FILES"): its layout, its creation by
 * `ferryd init`, and the CRL that `ferryd cert revoke` republishes.
 *
 *   DIR/            0700
 *     ca.pem        root CA certificate (the trust anchor clients get)
 *     ca.key        root CA private key, 0600
 *     server.pem    the server's TLS certificate, issued by the root
 *     server.key    its private key, 0600
 *     ferry.db      SQLite: users, certificates, audit log, rate-limit counters (0600)
 *     ferryd.conf   settings, with every key commented (0600)
 *     crl.pem       the revoked serials, signed by the root (0644)
 *     master.key    the at-rest master key, 32 random bytes, 0600 (store/vault.h)
 *     objects/      0700: the stored files, each a sealed file named by a random id
 *                   (32 hex digits) whose file key is wrapped by its owner's user key
 *       tmp/        0700: uploads in progress; what is left here at start is removed
 *     sessions/     lock files behind max_sessions_per_user (server/slots.h), made by serve
 */
#ifndef FERRY_SERVER_DATADIR_H
#define FERRY_SERVER_DATADIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pki/pki.h"
#include "store/db.h"

#define DATADIR_CA_CERT     "ca.pem"
#define DATADIR_CA_KEY      "ca.key"
#define DATADIR_SERVER_CERT "server.pem"
#define DATADIR_SERVER_KEY  "server.key"
#define DATADIR_DB          "ferry.db"
#define DATADIR_CONFIG      "ferryd.conf"
#define DATADIR_CRL         "crl.pem"
#define DATADIR_OBJECTS     "objects"
#define DATADIR_OBJECTS_TMP "objects/tmp"

/* The full paths of one data directory's files; every member owned (free with
 * datadir_free). */
struct datadir {
	char *dir;
	char *ca_cert, *ca_key, *server_cert, *server_key, *db, *config, *crl;
	char *objects, *objects_tmp;
};

/* Fill d for directory dir. Returns 0 or FERRY_ERR_NOMEM (d is then freed). */
int datadir_paths(const char *dir, struct datadir *d);

/* Free the paths. Accepts a zeroed struct. */
void datadir_free(struct datadir *d);

/*
 * True when d->dir looks initialised: any of ca.pem, ca.key, ferry.db is present.
 */
bool datadir_initialised(const struct datadir *d);

/*
 * 0 when d->dir is an initialised data directory (ca.pem, ca.key and ferry.db present);
 * otherwise FERRY_ERR_NOT_FOUND with a detail naming the directory, what is missing and
 * the `ferryd init` command to run.
 */
int datadir_require(const struct datadir *d);

/* What `ferryd init` is asked to do. */
struct datadir_init_opts {
	const char *org;               /* organisation; NULL: the imported CA's O, else "ferry" */
	const char *const *hosts;      /* server certificate names/IPs (>= 1) */
	size_t nhosts;
	const char *import_cert;       /* both NULL: create a root CA; both set: import */
	const char *import_key;
	const char *config;            /* where to write the config (NULL: DIR/ferryd.conf) */
	bool force;                    /* replace an initialised directory */
};

/* What it made, for the report. */
struct datadir_init_result {
	char org[FERRY_MAX_ORG + 1];
	char ca_subject[256];
	char ca_serial[PKI_SERIAL_HEX_MAX];
	int64_t ca_not_after;
	char server_serial[PKI_SERIAL_HEX_MAX];
	int64_t server_not_after;
	bool imported;
};

/*
 * Create (or with force, recreate) the data directory d->dir: the directory with mode
 * 0700 (an existing one is tightened to 0700), a new or imported root CA, a server key
 * and certificate for opts->hosts, a fresh database (with force an existing one and its
 * users are replaced), a new master key (store/vault.h), the empty objects/ and
 * objects/tmp/ directories (with force, the objects of the replaced database are
 * deleted), the default config with org, and an empty CRL. Without force an
 * initialised directory is refused with FERRY_ERR_EXISTS ("... use --force"). Keys are
 * written mode 0600. Returns 0 or the first failure, its detail naming the file.
 */
int datadir_init(const struct datadir *d, const struct datadir_init_opts *opts,
    struct datadir_init_result *res);

/*
 * For `ferryd serve` at start, with no session running: create objects/ and objects/tmp/
 * (0700) if missing; forget the partial uploads not updated since expire_before; remove
 * every file of objects/tmp/ that is not a recorded partial upload (uploads interrupted
 * by a crash before they were recorded, expired ones), and each object file of objects/
 * that no row of db refers to (a crash between the rename of an upload and its commit, or
 * between a commit and the unlink of the object it replaced). *swept (may be NULL)
 * receives the number of files removed.
 */
int datadir_objects_prepare(const struct datadir *d, struct db *db, int64_t expire_before,
    size_t *swept);

/*
 * Rebuild DIR/crl.pem from the revoked certificates in db (atomically replacing it),
 * signed with the root CA key. *count (may be NULL) receives the number of entries.
 */
int datadir_crl_rebuild(const struct datadir *d, struct db *db, size_t *count);

#endif
