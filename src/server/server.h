/*
 * ferryd serve: the listening parent and the per-connection children.
 *
 * The parent (listener.c) listens, accepts, and forks one child per connection; it never
 * touches a connection's bytes, so a hostile client can cost it no more than an accept
 * and a fork. It keeps at most max_sessions children serving plus a few short-lived ones
 * that only tell a client the server is busy (ERRR BUSY) and exit; beyond that a
 * connection is closed at once. SIGCHLD reaps children; SIGTERM and SIGINT close the
 * listening socket, pass the signal on to the children, wait for them and return.
 *
 * A child (session.c) runs the TLS handshake and reads HELO within handshake_timeout,
 * negotiates the version, then either enrols (enroll.c) or serves a session; it opens the
 * database itself. Every refusal and every enrolment is one log line (server/log.h) and,
 * for enrolments and session refusals, one audit row.
 */
#ifndef FERRY_SERVER_SERVER_H
#define FERRY_SERVER_SERVER_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/frame.h"
#include "net/tls.h"
#include "server/datadir.h"
#include "server/settings.h"

/* Children that only send ERRR BUSY, on top of max_sessions. */
#define SERVER_BUSY_SLOTS 8u

/* The software name a server sends in HELO. */
#define SERVER_SOFTWARE "ferryd " FERRY_VERSION

/* Everything a connection needs, loaded by the parent before it forks. */
struct server {
	struct datadir paths;              /* owned */
	struct ferryd_settings settings;
	struct auth_policy policy;
	SSL_CTX *ctx;                      /* TLS 1.3 server context */
	EVP_PKEY *ca_key;                  /* to issue client certificates */
	EVP_PKEY *server_key;              /* opens uploads (wrapped for server.pem's key) */
	X509 *ca_cert;
};

/*
 * Load the data directory dir with settings s (copied): paths, TLS context (server.pem,
 * server.key, client certificates checked against ca.pem), CA key and certificate; the
 * database is opened once to bring its schema up to date and closed again, and so is the
 * vault (master.key checked, or created for a directory made before it existed);
 * DIR/objects and DIR/objects/tmp are created if missing, stale temporaries of
 * interrupted uploads removed and object files no database row refers to deleted.
 * Returns 0 or the first failure (detail names the file). Free with server_close().
 */
int server_open(struct server *srv, const char *dir, const struct ferryd_settings *s);
void server_close(struct server *srv);

/*
 * Listen on listen (HOST:PORT; port 0 picks a free one) and serve until SIGTERM or SIGINT.
 * Logs "listening on HOST:PORT" once bound. Returns 0 after a clean stop, or the error
 * that prevented listening.
 */
int server_run(struct server *srv, const char *listen);

/* ---- inside a child ----------------------------------------------------------------- */

/* One accepted connection. */
struct conn {
	struct server *srv;
	struct tls_conn *tls;
	struct frame_transport t;
	const char *peer;                  /* "IP:PORT" */
	char ip[64];                       /* the IP alone, for rate limiting */
	struct db *db;                     /* opened by the child when needed */
};

/*
 * Serve one accepted socket fd (owned) from peer (for logs); busy: the server is full,
 * so only send ERRR BUSY. Never returns: the child exits.
 */
void session_child(struct server *srv, int fd, const char *peer, const char *ip, bool busy)
    __attribute__((noreturn));

/*
 * After an accepted session HELO (c->db open): serve the store operations of user
 * (store_ops.c; docs/PROTOCOL.md, "Store operations") until the client leaves, goes idle,
 * or breaks the protocol. Every operation is logged and audited.
 */
void store_session_run(struct conn *c, const char *user);

/* After HELO with purpose enrol: reply HELO, read ENRL, issue or refuse. */
void enroll_run(struct conn *c, uint16_t version, uint8_t purpose);

/* Open c->db if not yet open; on failure log it and return the error. */
int conn_db(struct conn *c);

/* Timeouts in milliseconds. */
int conn_handshake_ms(const struct conn *c);
int conn_idle_ms(const struct conn *c);

#endif
