/*
 * The client's side of a connection to ferryd: TLS 1.3 to HOST:PORT, the server
 * certificate verified against the organisation's root and the host dialled, optionally
 * the profile's client certificate, then the HELO exchange (docs/PROTOCOL.md).
 */
#ifndef FERRY_CLIENT_CONNECT_H
#define FERRY_CLIENT_CONNECT_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "net/frame.h"
#include "net/proto.h"
#include "net/tls.h"
#include "util/limits.h"

/* How long one network step (connect + handshake, one frame each way) may take. */
#define CLIENT_TIMEOUT_MS 30000

struct client_conn {
	SSL_CTX *ctx;
	struct tls_conn *tls;
	struct frame_transport t;        /* frames over tls */
	struct proto_helo_rep helo;      /* the server's HELO reply */
	char server[FERRY_MAX_HOST_PORT + 1];
};

/*
 * Connect to server ("HOST:PORT") trusting only the root certificate(s) in the PEM file
 * root_path, present cert/key as the client certificate when both are non-NULL (both
 * borrowed), send HELO with purpose and read the server's HELO reply into (*out)->helo.
 *
 * Returns 0 and *out (free with client_conn_free), or:
 *   FERRY_ERR_USAGE        bad server address
 *   FERRY_ERR_IO           cannot resolve / connect / timed out, or an I/O failure
 *   FERRY_ERR_AUTH         the server certificate does not verify: the detail says why,
 *                          e.g. "server certificate is not from the CA in root.pem" or
 *                          "server certificate is for localhost, not 127.0.0.2"
 *   FERRY_ERR_UNSUPPORTED  the server does not speak TLS 1.3 or a common protocol version
 *   FERRY_ERR_FORMAT       the server's reply is malformed
 *   any code of proto_error_frame_fail() when the server answers HELO with ERRR; then
 *   *refused holds the ERRR code (it is 0 otherwise; refused may be NULL) and the detail
 *   is "server HOST:PORT refused this certificate: <message>" (purpose session) or
 *   "server HOST:PORT refused the connection: <message>".
 */
int client_connect(const char *server, const char *root_path, X509 *cert, EVP_PKEY *key,
    enum proto_purpose purpose, struct client_conn **out, uint16_t *refused);

/*
 * Read the server's next frame (at most FERRY_MAX_FRAME_PREAUTH bytes) within
 * CLIENT_TIMEOUT_MS. If it is an ERRR frame, returns its mapped error (see
 * proto_error_frame_fail) with the detail "<what>: <server message>" and the code in
 * *refused (may be NULL); the frame is cleared. Otherwise returns 0 with *f to free with
 * frame_clear(). A connection the server closes without a frame: FERRY_ERR_TRUNCATED.
 */
int client_read_frame(struct client_conn *c, const char *what, struct frame *f,
    uint16_t *refused);

/* Close the connection (close_notify, best effort) and free. Accepts NULL. */
void client_conn_free(struct client_conn *c);

#endif
