/*
 * Enrolment, the client side (docs/PROTOCOL.md, "Enrolment"): generate a key pair here,
 * send a CSR for it with the user's password over TLS to a server whose certificate
 * chains to the organisation's root, and check what comes back before keeping it.
 * The private key never leaves this process except into the profile's key.pem.
 */
#ifndef FERRY_CLIENT_ENROLL_H
#define FERRY_CLIENT_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/keys.h"

struct enroll_request {
	const char *server;     /* "HOST:PORT" */
	const char *root_path;  /* PEM root certificate the server must chain to */
	const char *user;       /* account name */
	const char *password;   /* borrowed; 1..FERRY_MAX_MSG_PASSWORD bytes */
	size_t password_len;
	enum key_type key_type; /* KEY_P384 or KEY_RSA3072 */
};

struct enroll_result {
	EVP_PKEY *key;          /* the new key pair */
	X509 *cert;             /* the issued certificate: matches key, chains to root */
	X509 *root;             /* the root certificate from root_path */
	uint16_t refused;       /* the server's ERRR code when it refused, else 0 */
};

/*
 * Run one enrolment. On success res holds key, cert and root (free with
 * enroll_result_free). Failures (res then holds nothing but refused):
 *   FERRY_ERR_USAGE        key type not allowed for enrolment, bad server address,
 *                          password empty or too long
 *   FERRY_ERR_IO / FERRY_ERR_FORMAT / FERRY_ERR_LIMIT / FERRY_ERR_AUTH (server
 *                          certificate) / FERRY_ERR_UNSUPPORTED: from client_connect
 *   the server's refusal   res->refused != 0, detail "enrolment refused: <message>"
 *   FERRY_ERR_AUTH         the certificate returned is not for the generated key, not
 *                          issued by the root, not for clientAuth or not for user
 * Nothing is written to disk here.
 */
int client_enroll(const struct enroll_request *req, struct enroll_result *res);

/* Free what a successful client_enroll() returned. Accepts a zeroed struct. */
void enroll_result_free(struct enroll_result *res);

#endif
