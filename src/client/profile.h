/*
 * The client profile: the directory holding one enrolled identity.
 *
 *   $FERRY_HOME (default ~/.config/ferry), mode 0700:
 *     key.pem       the private key, PEM PKCS#8, mode 0600, never leaves the machine
 *     cert.pem      the client certificate the server issued for it
 *     root.pem      the organisation's root certificate, trusted for the server
 *     profile.conf  "server = HOST:PORT", the server the identity was enrolled with
 *
 * profile.conf holds `key = value` lines, `#` comments and blank lines; the only key is
 * `server`. Every file is written atomically (util/atomic_file.h).
 */
#ifndef FERRY_CLIENT_PROFILE_H
#define FERRY_CLIENT_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/limits.h"

struct profile {
	char *dir;          /* the profile directory */
	char *key_path;     /* dir/key.pem */
	char *cert_path;    /* dir/cert.pem */
	char *root_path;    /* dir/root.pem */
	char *conf_path;    /* dir/profile.conf */
	char *server;       /* from profile.conf after profile_load_conf(); NULL if none */
};

/*
 * Fill p with the paths of the profile at dir, or when dir is NULL at $FERRY_HOME, or
 * else at $HOME/.config/ferry. Touches nothing on disk. Returns 0, FERRY_ERR_USAGE (an
 * empty directory name, or neither FERRY_HOME nor HOME set) or FERRY_ERR_NOMEM.
 * Free with profile_free().
 */
int profile_resolve(const char *dir, struct profile *p);

/* Release everything profile_resolve()/profile_load_conf() allocated. Accepts a zeroed
 * struct. */
void profile_free(struct profile *p);

/*
 * Create the profile directory (and missing parents, mode 0700) if needed and make sure
 * it is a directory of mode 0700 (a wider mode is narrowed). Errors name the directory:
 * FERRY_ERR_IO.
 */
int profile_ensure_dir(const struct profile *p);

/* True if the profile already holds an identity (key.pem or cert.pem exists). */
bool profile_has_identity(const struct profile *p);

/*
 * 0 if none of the profile's four files exists, else FERRY_ERR_EXISTS naming the first
 * one found and suggesting --force.
 */
int profile_check_absent(const struct profile *p);

/*
 * Read profile.conf into p->server. A missing file leaves p->server NULL and returns 0.
 * Parsed with util/config.h: unknown keys, malformed lines, lines over
 * FERRY_MAX_CONFIG_LINE or a file over FERRY_MAX_PROFILE_CONF: an error naming the file
 * and line.
 */
int profile_load_conf(struct profile *p);

/*
 * Check the syntax of a server address "HOST:PORT" (HOST a name, an IPv4 address or an
 * IPv6 address in brackets; PORT 1..65535). Returns 0 or FERRY_ERR_USAGE naming the
 * address.
 */
int profile_check_server(const char *addr);

/*
 * Store a freshly enrolled identity: key.pem (0600), cert.pem (0644), root.pem (0644) and
 * profile.conf ("server = <server>", 0644), each atomically, the key first. Without
 * force, FERRY_ERR_EXISTS if any of them exists (nothing is written); with force they are
 * replaced. Calls profile_ensure_dir() first. Errors name the file.
 */
int profile_save(const struct profile *p, EVP_PKEY *key, X509 *cert, X509 *root,
    const char *server, bool force);

/*
 * Load cert.pem and key.pem. *cert and *key (either pointer may be NULL to skip that
 * file) are new references the caller frees. A missing file: FERRY_ERR_IO with a detail
 * suggesting `ferry enroll`.
 */
int profile_load_identity(const struct profile *p, X509 **cert, EVP_PKEY **key);

#endif
