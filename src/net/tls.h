/*
 * TLS 1.3-only connections over TCP (docs/PROTOCOL.md, "Transport").
 *
 * Contexts refuse every protocol version below TLS 1.3. The server context requests a
 * client certificate without requiring one; a certificate that is presented must chain
 * to the configured CA (and carry clientAuth), or the handshake fails. The client context
 * trusts only the given CA file and tls_connect() checks the server certificate's host
 * name or IP address against the host it dialled.
 *
 * All I/O uses non-blocking sockets and poll(): each call takes timeout_ms, which bounds
 * the whole call (-1 waits indefinitely). For bulk transfers, reads take whatever the
 * socket holds (OpenSSL read-ahead) and the records of one tls_write() are sent in large
 * pieces; tls_write() returns only once all of them are handed to the kernel. Sockets have
 * TCP_NODELAY: a small frame after a large one goes out at once. A timed-out call fails with FERRY_ERR_TIMEOUT
 * (tls_conn_timed_out() also says so afterwards). SIGPIPE is never raised by these
 * functions. Every failure records a detail naming the peer and the reason.
 */
#ifndef FERRY_NET_TLS_H
#define FERRY_NET_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/frame.h"

struct tls_conn;

/*
 * A server context: certificate chain and private key from PEM files cert_pem / key_pem
 * (the key unencrypted), client certificates verified against the CA certificate(s) in
 * ca_pem, TLS 1.3 only, no session resumption. Returns 0 and *out (free with
 * SSL_CTX_free), or FERRY_ERR_IO / FERRY_ERR_KEY (key does not match the certificate) /
 * FERRY_ERR_CRYPTO, naming the file.
 */
int tls_server_ctx_new(const char *cert_pem, const char *key_pem, const char *ca_pem,
    SSL_CTX **out);

/*
 * A client context trusting only the CA certificate(s) in the PEM file ca_pem (the file
 * name is remembered for error details). cert_pem and key_pem are both NULL (no client
 * certificate) or both PEM file paths (the key unencrypted; for an encrypted key load it
 * yourself and use tls_ctx_use_identity()). TLS 1.3 only. Returns 0 and *out (free with
 * SSL_CTX_free), or FERRY_ERR_IO / FERRY_ERR_KEY / FERRY_ERR_USAGE / FERRY_ERR_CRYPTO.
 */
int tls_client_ctx_new(const char *ca_pem, const char *cert_pem, const char *key_pem,
    SSL_CTX **out);

/*
 * Install a certificate and its private key on a context (either side). Both are
 * borrowed (the context takes its own references). Returns 0, FERRY_ERR_KEY (the key does
 * not match the certificate) or FERRY_ERR_CRYPTO.
 */
int tls_ctx_use_identity(SSL_CTX *ctx, X509 *cert, EVP_PKEY *key);

/*
 * Split "host:port", "[v6addr]:port" (brackets required for IPv6) into host (NUL-terminated,
 * without brackets) and a port 0..65535 (decimal digits only; 0 is accepted here and by
 * tls_listen, which then picks a free port, but refused by tls_connect). host_size of
 * FERRY_MAX_HOST_PORT + 1 always suffices. Returns 0 or FERRY_ERR_USAGE naming what is
 * wrong.
 */
int tls_parse_host_port(const char *host_port, char *host, size_t host_size,
    unsigned *port);

/*
 * Listen on host_port (see tls_parse_host_port; the host may be a name, an IPv4 or an IPv6
 * address; port 0 picks a free port, see getsockname(2)) with SO_REUSEADDR and
 * close-on-exec. The first address that binds is used. The listening socket is blocking:
 * accept connections with accept(2) and hand them to tls_accept(). Returns 0 and *fd_out, or
 * FERRY_ERR_USAGE / FERRY_ERR_IO ("listen 127.0.0.1:4433: Address already in use").
 */
int tls_listen(const char *host_port, int *fd_out);

/*
 * Run the server side of the handshake on fd, a connected socket from accept(2).
 * Takes ownership of fd in every case: on success it belongs to *out, on failure it is
 * closed. timeout_ms bounds the handshake: a client that connects and sends nothing
 * fails with FERRY_ERR_TIMEOUT ("... timed out after N ms"). A client that does not speak
 * TLS fails with FERRY_ERR_FORMAT ("... not a TLS client (first bytes 0x47 0x45 0x54
 * 0x20)"), one that offers only TLS 1.2 or lower with FERRY_ERR_UNSUPPORTED, one whose
 * certificate does not verify with FERRY_ERR_AUTH ("... client certificate: <reason>"),
 * one that refuses the server's certificate or closes or breaks the handshake otherwise
 * with FERRY_ERR_IO. Free *out with tls_conn_free().
 */
int tls_accept(SSL_CTX *ctx, int fd, int timeout_ms, struct tls_conn **out);

/*
 * Resolve host_port, connect (trying each address) and run the client handshake, all
 * within timeout_ms. The server certificate must chain to the context's CA and be for the
 * host dialled (DNS name, or IP address when host is an address literal). Failures:
 * FERRY_ERR_USAGE (bad host_port), FERRY_ERR_IO (resolve/connect), FERRY_ERR_TIMEOUT,
 * FERRY_ERR_UNSUPPORTED (the server does not do TLS 1.3), FERRY_ERR_AUTH with the reason,
 * e.g. "server certificate: unable to get local issuer certificate (not issued by the CA
 * in root.pem)" or "server certificate is for localhost, 127.0.0.1, not 127.0.0.2".
 */
int tls_connect(SSL_CTX *ctx, const char *host_port, int timeout_ms,
    struct tls_conn **out);

/*
 * Read exactly n bytes within timeout_ms. Returns 0, or FERRY_ERR_TRUNCATED when the peer
 * closed the connection first (the detail says "connection closed by <peer>" when no byte
 * of this call had arrived, "... after k of n bytes" otherwise; " (without close_notify)"
 * is added when the peer did not end TLS properly), FERRY_ERR_TIMEOUT, FERRY_ERR_AUTH (the
 * peer refused our certificate with a TLS alert: in TLS 1.3 a client learns this on its
 * first read), FERRY_ERR_IO (reset, TLS failure). After a timeout the connection may still
 * be written to (e.g. to send ERRR(TIMEOUT)); after other failures it is unusable except
 * for tls_conn_free().
 */
int tls_read(struct tls_conn *c, void *p, size_t n, int timeout_ms);

/* Write all n bytes within timeout_ms. Returns 0, FERRY_ERR_TIMEOUT, FERRY_ERR_AUTH (as for
 * tls_read) or FERRY_ERR_IO. After any failure only tls_conn_free() is useful. */
int tls_write(struct tls_conn *c, const void *p, size_t n, int timeout_ms);

/*
 * The peer's certificate if it presented one and it verified, else NULL. Borrowed: valid
 * until tls_conn_free(); do not free. (On the server, a presented certificate that does
 * not verify already failed tls_accept.)
 */
X509 *tls_peer_cert(struct tls_conn *c);

/* The peer's address as "127.0.0.1:5555" or "[::1]:5555". Borrowed, never NULL. */
const char *tls_peer_addr(struct tls_conn *c);

/* True when the last failed call on c failed because its timeout expired. */
int tls_conn_timed_out(const struct tls_conn *c);

/* The negotiated protocol, "TLSv1.3" (for logs). Static string, never NULL. */
const char *tls_conn_protocol(const struct tls_conn *c);

/* The socket (for poll() by callers that multiplex); still owned by c. */
int tls_conn_fd(const struct tls_conn *c);

/*
 * Send close_notify (best effort, never blocks) unless the connection failed, then
 * half-close the socket and discard what the peer still sends until it closes or 250 ms
 * pass (so that unread input does not turn our close into a TCP reset that would destroy
 * the last frame before the peer reads it), close and free. Accepts NULL.
 */
void tls_conn_free(struct tls_conn *c);

/* Point t at c, so the frame codec reads and writes through it. c must outlive t. */
void tls_conn_transport(struct tls_conn *c, struct frame_transport *t);

#endif
