#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/proto.h"
#include "net/tls.h"
#include "util/err.h"
#include "util/limits.h"

/* "[" + host + "]:" + port + NUL, with room to spare. */
#define ADDR_MAX (FERRY_MAX_HOST_PORT + 16)
#define LISTEN_BACKLOG 128
/* How long a closing side keeps discarding what the peer still sends (see linger_close). */
#define LINGER_MS 250

struct tls_conn {
	SSL *ssl;
	int fd;
	int timed_out;
	int established;
	int broken;             /* a fatal error happened: no close_notify, no more I/O */
	int linger;             /* the peer spoke TLS: close gracefully */
	struct sock_bio *sock;  /* the data of ssl's BIO (owned by it) */
	char addr[ADDR_MAX];
};

/* ---- small helpers ----------------------------------------------------------------- */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline for a timeout (-1: none). */
static long long
deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/*
 * Wait until fd is ready for events or the deadline passes. Returns 0 when ready,
 * 1 on timeout, -1 on a poll failure (errno set).
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int r;

	for (;;) {
		left = -1;
		if (deadline >= 0) {
			left = deadline - now_ms();
			if (left <= 0)
				return 1;
			if (left > 60 * 60 * 1000)
				left = 60 * 60 * 1000;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0) {
			if (deadline >= 0 && now_ms() >= deadline)
				return 1;
			continue;
		}
		if (errno != EINTR)
			return -1;
	}
}

/* The reason text of OpenSSL's most relevant queued error (or a fallback); clears it. */
static const char *
ssl_reason(unsigned long *code_out)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = NULL;

	if (e != 0)
		s = ERR_reason_error_string(e);
	if (code_out != NULL)
		*code_out = e;
	ERR_clear_error();
	return s != NULL ? s : "TLS failure";
}

/* The libssl reason code of a queued error, 0 for errors of other libraries. */
static int
ssl_rc(unsigned long e)
{
	return ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
}

/* ---- the socket BIO ------------------------------------------------------------------
 *
 * OpenSSL's own socket BIO writes every TLS record (at most 16 KiB of payload in TLS 1.3)
 * with its own send(2), and raises SIGPIPE when the peer has gone. Ours
 *  - collects the records of one tls_write() in a buffer and sends them in large pieces
 *    (a 1 MiB DATA frame: 4 sends instead of 64), and tls_write() flushes the buffer
 *    before it returns, so nothing written ever waits in it;
 *  - sends with MSG_NOSIGNAL, so no call here can raise SIGPIPE, without blocking and
 *    restoring the signal around each OpenSSL call (four system calls each time);
 *  - otherwise behaves like the socket BIO: non-blocking reads with the retry flag on
 *    EAGAIN, BIO_eof() after the peer closed, BIO_flush() sends what is buffered.
 * Together with OpenSSL's read-ahead (ctx_common) a bulk transfer costs a few system calls
 * per megabyte instead of three per 16 KiB record. The socket stays owned by tls_conn.
 */
#define SOCK_WBUF_LEN (256u * 1024u)
/* Read-ahead buffer: how much OpenSSL may take from the socket in one recv(2). */
#define TLS_READ_BUFFER_LEN (128u * 1024u)

struct sock_bio {
	int fd;
	uint8_t *buf;           /* SOCK_WBUF_LEN bytes, allocated at the first write */
	size_t off, len;        /* pending output: buf[off .. off + len) */
};

/* Send what is buffered. 1: all sent; 0: the socket is full; -1: failed (errno). */
static int
sock_drain(struct sock_bio *s)
{
	ssize_t n;

	while (s->len > 0) {
		n = send(s->fd, s->buf + s->off, s->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		s->off += (size_t)n;
		s->len -= (size_t)n;
	}
	s->off = 0;
	return 1;
}

static int
sock_bio_write(BIO *b, const char *in, int inl)
{
	struct sock_bio *s = BIO_get_data(b);
	size_t room, k;
	int d;

	BIO_clear_retry_flags(b);
	if (s == NULL || inl < 0)
		return -1;
	if (inl == 0)
		return 0;
	if (s->buf == NULL && (s->buf = malloc(SOCK_WBUF_LEN)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (s->off + s->len + (size_t)inl > SOCK_WBUF_LEN) {
		if ((d = sock_drain(s)) < 0)
			return -1;
		if (d == 0 && s->off > 0) {
			memmove(s->buf, s->buf + s->off, s->len);
			s->off = 0;
		}
	}
	room = SOCK_WBUF_LEN - s->off - s->len;
	if (room == 0) {
		BIO_set_retry_write(b);
		errno = EAGAIN;
		return -1;
	}
	k = (size_t)inl < room ? (size_t)inl : room;
	memcpy(s->buf + s->off + s->len, in, k);
	s->len += k;
	return (int)k;
}

static int
sock_bio_read(BIO *b, char *out, int outl)
{
	struct sock_bio *s = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	if (s == NULL || out == NULL || outl <= 0)
		return 0;
	do {
		errno = 0;
		n = recv(s->fd, out, (size_t)outl, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	else if (n == 0)
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
	return n < 0 ? -1 : (int)n;
}

static long
sock_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct sock_bio *s = BIO_get_data(b);
	int d;

	(void)num;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		BIO_clear_retry_flags(b);
		if (s == NULL || (d = sock_drain(s)) > 0)
			return 1;
		if (d == 0)
			BIO_set_retry_write(b);
		return 0;
	case BIO_CTRL_WPENDING:
		return s != NULL ? (long)s->len : 0;
	case BIO_CTRL_PENDING:
		return 0;
	case BIO_CTRL_EOF:
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
	case BIO_C_GET_FD:
		if (s == NULL)
			return -1;
		if (ptr != NULL)
			*(int *)ptr = s->fd;
		return s->fd;
	case BIO_CTRL_DUP:
		return 1;
	default:
		return 0;
	}
}

static int
sock_bio_destroy(BIO *b)
{
	struct sock_bio *s = BIO_get_data(b);

	if (s != NULL) {
		free(s->buf);   /* TLS records: ciphertext only */
		free(s);
	}
	BIO_set_data(b, NULL);
	BIO_set_init(b, 0);
	return 1;
}

static BIO_METHOD *sock_bio_method;
static pthread_once_t sock_bio_once = PTHREAD_ONCE_INIT;

static void
sock_bio_init(void)
{
	BIO_METHOD *m;
	int idx = BIO_get_new_index();

	if (idx < 0 || (m = BIO_meth_new(idx | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
	    "ferry socket")) == NULL)
		return;
	if (BIO_meth_set_write(m, sock_bio_write) != 1 ||
	    BIO_meth_set_read(m, sock_bio_read) != 1 ||
	    BIO_meth_set_ctrl(m, sock_bio_ctrl) != 1 ||
	    BIO_meth_set_destroy(m, sock_bio_destroy) != 1) {
		BIO_meth_free(m);
		return;
	}
	sock_bio_method = m;
}

/* A BIO on fd (not closed by it), or NULL. */
static BIO *
sock_bio_new(int fd)
{
	struct sock_bio *s;
	BIO *b;

	pthread_once(&sock_bio_once, sock_bio_init);
	if (sock_bio_method == NULL || (s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->fd = fd;
	if ((b = BIO_new(sock_bio_method)) == NULL) {
		free(s);
		return NULL;
	}
	BIO_set_data(b, s);
	BIO_set_init(b, 1);
	return b;
}

static int
set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/*
 * Send each tls_write() at once. The socket BIO already gathers a write's records into
 * large sends, so Nagle's algorithm only delays the small frame that follows a large one
 * (DONE after the last DATA) until the peer's delayed ACK, some 40 ms per request. Best
 * effort: a socket that refuses (not TCP) is used as it is.
 */
static void
set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* "1.2.3.4:5" or "[::1]:5" for a socket address. */
static void
format_addr(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		if (inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)) != NULL) {
			snprintf(buf, size, "%s:%u", host, ntohs(in->sin_port));
			return;
		}
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		if (inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)) != NULL) {
			snprintf(buf, size, "[%s]:%u", host, ntohs(in6->sin6_port));
			return;
		}
	}
	snprintf(buf, size, "unknown address");
}

/* ---- the CA file name, remembered on client contexts for error details -------------- */

static int ca_name_index = -1;
static pthread_once_t ca_name_once = PTHREAD_ONCE_INIT;

static void
ca_name_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void
ca_name_init(void)
{
	ca_name_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ca_name_free);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL && s[1] != '\0' ? s + 1 : path;
}

static void
remember_ca_name(SSL_CTX *ctx, const char *path)
{
	char *copy;

	pthread_once(&ca_name_once, ca_name_init);
	if (ca_name_index < 0 || (copy = strdup(base_name(path))) == NULL)
		return;
	if (SSL_CTX_set_ex_data(ctx, ca_name_index, copy) != 1)
		free(copy);
}

static const char *
ca_name(SSL_CTX *ctx)
{
	const char *s = NULL;

	pthread_once(&ca_name_once, ca_name_init);
	if (ca_name_index >= 0)
		s = SSL_CTX_get_ex_data(ctx, ca_name_index);
	return s != NULL ? s : "the trusted CA file";
}

/* ---- contexts ---------------------------------------------------------------------- */

static int
check_readable(const char *path, const char *what)
{
	FILE *f;

	if (path == NULL)
		return ferry_fail(FERRY_ERR_USAGE, "tls: no %s file given", what);
	if ((f = fopen(path, "r")) == NULL)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	fclose(f);
	return 0;
}

static int
load_cert_key(SSL_CTX *ctx, const char *cert_pem, const char *key_pem)
{
	int r;

	if ((r = check_readable(cert_pem, "certificate")) != 0 ||
	    (r = check_readable(key_pem, "private key")) != 0)
		return r;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_pem) != 1)
		return ferry_fail(FERRY_ERR_CRYPTO, "%s: cannot load certificate: %s", cert_pem,
		    ssl_reason(NULL));
	if (SSL_CTX_use_PrivateKey_file(ctx, key_pem, SSL_FILETYPE_PEM) != 1)
		return ferry_fail(FERRY_ERR_KEY, "%s: cannot load private key: %s", key_pem,
		    ssl_reason(NULL));
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ferry_fail(FERRY_ERR_KEY, "%s: private key does not match %s", key_pem,
		    cert_pem);
	return 0;
}

static int
load_ca(SSL_CTX *ctx, const char *ca_pem)
{
	int r;

	if ((r = check_readable(ca_pem, "CA certificate")) != 0)
		return r;
	if (SSL_CTX_load_verify_locations(ctx, ca_pem, NULL) != 1)
		return ferry_fail(FERRY_ERR_CRYPTO, "%s: cannot load CA certificate: %s", ca_pem,
		    ssl_reason(NULL));
	return 0;
}

static int
ctx_common(SSL_CTX *ctx)
{
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
		return ferry_fail(FERRY_ERR_CRYPTO, "tls: cannot require TLS 1.3: %s",
		    ssl_reason(NULL));
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* Take as much as the socket has (up to TLS_READ_BUFFER_LEN) per recv(2), not a
	 * record header and then its body. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER_LEN);
	return 0;
}

int
tls_server_ctx_new(const char *cert_pem, const char *key_pem, const char *ca_pem,
    SSL_CTX **out)
{
	STACK_OF(X509_NAME) *names = NULL;
	SSL_CTX *ctx;
	int r;

	*out = NULL;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return ferry_fail(FERRY_ERR_CRYPTO, "tls: cannot create a context: %s",
		    ssl_reason(NULL));
	if ((r = ctx_common(ctx)) != 0 || (r = load_cert_key(ctx, cert_pem, key_pem)) != 0 ||
	    (r = load_ca(ctx, ca_pem)) != 0)
		goto out;
	if ((names = SSL_load_client_CA_file(ca_pem)) == NULL) {
		r = ferry_fail(FERRY_ERR_CRYPTO, "%s: no CA certificate names: %s", ca_pem,
		    ssl_reason(NULL));
		goto out;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	/* Send exactly the chain in cert_pem, never the root from the trust store. */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	/* Request a certificate; one that is presented must verify, none is also fine. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		r = ferry_fail(FERRY_ERR_CRYPTO, "tls: cannot disable tickets");
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	SSL_CTX_free(ctx);
	return r;
}

int
tls_client_ctx_new(const char *ca_pem, const char *cert_pem, const char *key_pem,
    SSL_CTX **out)
{
	SSL_CTX *ctx;
	int r;

	*out = NULL;
	if ((cert_pem == NULL) != (key_pem == NULL))
		return ferry_fail(FERRY_ERR_USAGE,
		    "tls: a client certificate needs its key and the other way round");
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return ferry_fail(FERRY_ERR_CRYPTO, "tls: cannot create a context: %s",
		    ssl_reason(NULL));
	if ((r = ctx_common(ctx)) != 0 || (r = load_ca(ctx, ca_pem)) != 0)
		goto out;
	if (cert_pem != NULL && (r = load_cert_key(ctx, cert_pem, key_pem)) != 0)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	remember_ca_name(ctx, ca_pem);
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	SSL_CTX_free(ctx);
	return r;
}

int
tls_ctx_use_identity(SSL_CTX *ctx, X509 *cert, EVP_PKEY *key)
{
	if (SSL_CTX_use_certificate(ctx, cert) != 1)
		return ferry_fail(FERRY_ERR_CRYPTO, "tls: cannot use certificate: %s",
		    ssl_reason(NULL));
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1)
		return ferry_fail(FERRY_ERR_KEY, "tls: cannot use private key: %s",
		    ssl_reason(NULL));
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		return ferry_fail(FERRY_ERR_KEY, "tls: private key does not match the certificate");
	}
	return 0;
}

/* ---- addresses --------------------------------------------------------------------- */

int
tls_parse_host_port(const char *host_port, char *host, size_t host_size, unsigned *port)
{
	const char *h, *p, *colon;
	size_t hlen, plen;
	unsigned long v = 0;

	if (host_port == NULL || strnlen(host_port, FERRY_MAX_HOST_PORT + 1) > FERRY_MAX_HOST_PORT)
		return ferry_fail(FERRY_ERR_USAGE, "address: missing or longer than %u bytes",
		    FERRY_MAX_HOST_PORT);
	if (host_port[0] == '[') {
		const char *close = strchr(host_port, ']');

		if (close == NULL || close[1] != ':')
			return ferry_fail(FERRY_ERR_USAGE,
			    "address %s: expected [IPv6 address]:port", host_port);
		h = host_port + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(host_port, ':')) == NULL)
			return ferry_fail(FERRY_ERR_USAGE, "address %s: expected HOST:PORT",
			    host_port);
		h = host_port;
		hlen = (size_t)(colon - h);
		if (memchr(h, ':', hlen) != NULL)
			return ferry_fail(FERRY_ERR_USAGE,
			    "address %s: write IPv6 addresses in brackets, e.g. [::1]:4433",
			    host_port);
	}
	if (hlen == 0)
		return ferry_fail(FERRY_ERR_USAGE, "address %s: missing host", host_port);
	if (hlen + 1 > host_size)
		return ferry_fail(FERRY_ERR_USAGE, "address %s: host too long", host_port);
	p = colon + 1;
	plen = strlen(p);
	if (plen == 0 || plen > 5)
		return ferry_fail(FERRY_ERR_USAGE, "address %s: bad port", host_port);
	for (size_t i = 0; i < plen; i++) {
		if (p[i] < '0' || p[i] > '9')
			return ferry_fail(FERRY_ERR_USAGE, "address %s: bad port", host_port);
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v > 65535)
		return ferry_fail(FERRY_ERR_USAGE, "address %s: port %lu is above 65535",
		    host_port, v);
	for (size_t i = 0; i < hlen; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c <= 0x20 || c >= 0x7f || c == '[' || c == ']' || c == '/')
			return ferry_fail(FERRY_ERR_USAGE, "address %s: bad character in host",
			    host_port);
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)v;
	return 0;
}

static int
resolve(const char *host_port, int passive, char *host, struct addrinfo **res)
{
	struct addrinfo hints;
	char service[8];
	unsigned port;
	int r;

	if ((r = tls_parse_host_port(host_port, host, FERRY_MAX_HOST_PORT + 1, &port)) != 0)
		return r;
	if (port == 0 && !passive)
		return ferry_fail(FERRY_ERR_USAGE, "address %s: port must be 1 to 65535",
		    host_port);
	snprintf(service, sizeof(service), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	if ((r = getaddrinfo(host, service, &hints, res)) != 0)
		return ferry_fail(FERRY_ERR_IO, "%s: cannot resolve %s: %s", host_port, host,
		    gai_strerror(r));
	return 0;
}

int
tls_listen(const char *host_port, int *fd_out)
{
	char host[FERRY_MAX_HOST_PORT + 1];
	struct addrinfo *res = NULL, *ai;
	int fd = -1, one = 1, err = 0, r;

	*fd_out = -1;
	if ((r = resolve(host_port, 1, host, &res)) != 0)
		return r;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, LISTEN_BACKLOG) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return ferry_fail(FERRY_ERR_IO, "listen %s: %s", host_port,
		    strerror(err != 0 ? err : EADDRNOTAVAIL));
	*fd_out = fd;
	return 0;
}

/* ---- connections ------------------------------------------------------------------- */

static struct tls_conn *
conn_new(SSL_CTX *ctx, int fd)
{
	struct tls_conn *c;
	BIO *bio;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	snprintf(c->addr, sizeof(c->addr), "unknown address");
	if ((c->ssl = SSL_new(ctx)) == NULL || (bio = sock_bio_new(fd)) == NULL) {
		SSL_free(c->ssl);
		free(c);
		return NULL;
	}
	c->sock = BIO_get_data(bio);
	SSL_set_bio(c->ssl, bio, bio); /* one reference, taken by ssl */
	return c;
}

/*
 * One step of an OpenSSL call that returned ret: wait for the socket when it asks to,
 * else classify the failure. Returns 1 to retry, 0 on a clean close (SSL_ERROR_ZERO_RETURN),
 * or a negative error with *reason (from OpenSSL) and *lib_err set.
 */
/*
 * Send everything the socket BIO holds, waiting for room until the deadline. Returns 0, or
 * FERRY_ERR_TIMEOUT / FERRY_ERR_IO with *reason set; the connection is then broken (part
 * of a record may be out).
 */
static int
flush_pending(struct tls_conn *c, long long deadline, const char **reason)
{
	int d, w;

	while ((d = sock_drain(c->sock)) == 0) {
		if ((w = wait_fd(c->fd, POLLOUT, deadline)) != 0) {
			c->broken = 1;
			if (w > 0) {
				c->timed_out = 1;
				*reason = "timed out";
				return FERRY_ERR_TIMEOUT;
			}
			*reason = strerror(errno);
			return FERRY_ERR_IO;
		}
	}
	if (d < 0) {
		c->broken = 1;
		*reason = strerror(errno);
		return FERRY_ERR_IO;
	}
	return 0;
}

static int
ssl_step(struct tls_conn *c, int ret, long long deadline, const char **reason,
    unsigned long *lib_err)
{
	int e = SSL_get_error(c->ssl, ret), w, saved, r;

	*reason = NULL;
	*lib_err = 0;
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		/* What we still owe the peer may be what it waits for before it answers. */
		if (e == SSL_ERROR_WANT_READ && c->sock->len > 0 &&
		    (r = flush_pending(c, deadline, reason)) != 0)
			return r;
		w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w == 0)
			return 1;
		if (w > 0) {
			c->timed_out = 1;
			*reason = "timed out";
			return FERRY_ERR_TIMEOUT;
		}
		c->broken = 1;
		*reason = strerror(errno);
		return FERRY_ERR_IO;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return 0;
	case SSL_ERROR_SYSCALL:
		c->broken = 1;
		saved = errno;
		if (ERR_peek_last_error() != 0) {
			*reason = ssl_reason(lib_err);
			return FERRY_ERR_IO;
		}
		*reason = saved != 0 ? strerror(saved) : "connection closed without close_notify";
		if (saved == 0)
			return FERRY_ERR_TRUNCATED;
		return FERRY_ERR_IO;
	default:
		c->broken = 1;
		*reason = ssl_reason(lib_err);
		if (ssl_rc(*lib_err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			*reason = "connection closed without close_notify";
			return FERRY_ERR_TRUNCATED;
		}
		return FERRY_ERR_IO;
	}
}

/* Verify failure codes that mean "not issued by our CA". */
static int
wrong_issuer(long v)
{
	return v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	    v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	    v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	    v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    v == X509_V_ERR_CERT_SIGNATURE_FAILURE;
}

/* Alerts by which a peer says it refused our certificate. */
static int
cert_alert(unsigned long e)
{
	switch (ssl_rc(e)) {
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static int
version_alert(unsigned long e)
{
	switch (ssl_rc(e)) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
		return 1;
	default:
		return 0;
	}
}

static int
printable_text(const char *s)
{
	return proto_text_printable((const uint8_t *)s, strlen(s));
}

/* Append the certificate's subjectAltName entries (else its CN) to buf as "a, b". */
static void
cert_names(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *gens;
	size_t used = 0;
	int n;

	buf[0] = '\0';
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char text[INET6_ADDRSTRLEN + 1];
		const unsigned char *d;
		int len;

		text[0] = '\0';
		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			len = ASN1_STRING_length(g->d.dNSName);
			snprintf(text, sizeof(text), "%.*s", len, (const char *)d);
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			len = ASN1_STRING_length(g->d.iPAddress);
			if (len == 4)
				inet_ntop(AF_INET, d, text, sizeof(text));
			else if (len == 16)
				inet_ntop(AF_INET6, d, text, sizeof(text));
		}
		if (text[0] == '\0' || !printable_text(text))
			continue;
		n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", text);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	GENERAL_NAMES_free(gens);
	if (used == 0) {
		X509_NAME *subj = X509_get_subject_name(x);

		if (X509_NAME_get_text_by_NID(subj, NID_commonName, buf, (int)size) <= 0 ||
		    !printable_text(buf))
			snprintf(buf, size, "no usable names");
	}
}

/* The detail for a failed client handshake. */
static int
connect_failure(struct tls_conn *c, SSL_CTX *ctx, const char *host, int r,
    const char *reason, unsigned long lib_err)
{
	long v = SSL_get_verify_result(c->ssl);
	STACK_OF(X509) *chain;
	char names[512];

	if (c->timed_out)
		return ferry_fail(FERRY_ERR_TIMEOUT, "tls: handshake with %s timed out", c->addr);
	if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		chain = SSL_get_peer_cert_chain(c->ssl);
		if (chain != NULL && sk_X509_num(chain) > 0) {
			cert_names(sk_X509_value(chain, 0), names, sizeof(names));
			return ferry_fail(FERRY_ERR_AUTH, "server certificate is for %s, not %s",
			    names, host);
		}
		return ferry_fail(FERRY_ERR_AUTH, "server certificate is not for %s", host);
	}
	if (v != X509_V_OK)
		return ferry_fail(FERRY_ERR_AUTH, "server certificate: %s%s%s%s",
		    X509_verify_cert_error_string(v),
		    wrong_issuer(v) ? " (not issued by the CA in " : "",
		    wrong_issuer(v) ? ca_name(ctx) : "", wrong_issuer(v) ? ")" : "");
	if (version_alert(lib_err))
		return ferry_fail(FERRY_ERR_UNSUPPORTED,
		    "tls: %s does not speak TLS 1.3 (%s)", c->addr, reason);
	if (cert_alert(lib_err))
		return ferry_fail(FERRY_ERR_AUTH, "tls: %s refused our certificate (%s)", c->addr,
		    reason);
	if (r == 0 || r == FERRY_ERR_TRUNCATED)
		return ferry_fail(FERRY_ERR_IO,
		    "tls: %s closed the connection during the handshake", c->addr);
	return ferry_fail(FERRY_ERR_IO, "tls: handshake with %s failed: %s", c->addr,
	    reason != NULL ? reason : "unknown error");
}

/* Connect a non-blocking socket to one of the addresses within the deadline. */
static int
dial(const char *host_port, struct addrinfo *res, long long deadline, int *fd_out,
    char *addr, size_t addr_size)
{
	const char *why = "no addresses";
	int fd, w, soerr;
	socklen_t len;

	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd < 0) {
			why = strerror(errno);
			continue;
		}
		format_addr(ai->ai_addr, addr, addr_size);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			*fd_out = fd;
			return 0;
		}
		if (errno != EINPROGRESS) {
			why = strerror(errno);
			close(fd);
			continue;
		}
		w = wait_fd(fd, POLLOUT, deadline);
		soerr = 0;
		len = sizeof(soerr);
		if (w == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
		    soerr == 0) {
			*fd_out = fd;
			return 0;
		}
		close(fd);
		if (w > 0)
			return ferry_fail(FERRY_ERR_TIMEOUT, "connect %s: timed out", host_port);
		why = strerror(w < 0 ? errno : soerr);
	}
	return ferry_fail(FERRY_ERR_IO, "connect %s: %s", host_port, why);
}

int
tls_connect(SSL_CTX *ctx, const char *host_port, int timeout_ms, struct tls_conn **out)
{
	char host[FERRY_MAX_HOST_PORT + 1], addr[ADDR_MAX];
	unsigned char ipbuf[sizeof(struct in6_addr)];
	long long deadline = deadline_of(timeout_ms);
	struct addrinfo *res = NULL;
	struct tls_conn *c = NULL;
	const char *reason = NULL;
	unsigned long lib_err = 0;
	X509_VERIFY_PARAM *param;
	int fd = -1, r, ret;

	*out = NULL;
	if ((r = resolve(host_port, 0, host, &res)) != 0)
		return r;
	r = dial(host_port, res, deadline, &fd, addr, sizeof(addr));
	freeaddrinfo(res);
	if (r != 0)
		return r;
	set_nodelay(fd);
	if ((c = conn_new(ctx, fd)) == NULL) {
		close(fd);
		return ferry_fail(FERRY_ERR_NOMEM, "tls: cannot create a connection");
	}
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->linger = 1;
	param = SSL_get0_param(c->ssl);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, host, ipbuf) == 1 || inet_pton(AF_INET6, host, ipbuf) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1) {
			r = ferry_fail(FERRY_ERR_CRYPTO, "tls: cannot check IP address %s", host);
			goto out;
		}
	} else if (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, host) != 1) {
		r = ferry_fail(FERRY_ERR_CRYPTO, "tls: cannot check host name %s", host);
		goto out;
	}
	for (;;) {
		ERR_clear_error();
		ret = SSL_connect(c->ssl);
		if (ret == 1)
			break;
		if ((r = ssl_step(c, ret, deadline, &reason, &lib_err)) == 1)
			continue;
		r = connect_failure(c, ctx, host, r, reason, lib_err);
		goto out;
	}
	c->established = 1;
	*out = c;
	c = NULL;
	r = 0;
out:
	tls_conn_free(c);
	return r;
}

/* The detail for a failed server handshake. */
static int
accept_failure(struct tls_conn *c, int timeout_ms, int r, const char *reason,
    unsigned long lib_err)
{
	long v = SSL_get_verify_result(c->ssl);

	if (c->timed_out) {
		c->linger = 0;
		return ferry_fail(FERRY_ERR_TIMEOUT,
		    "tls: handshake with %s timed out after %d ms", c->addr, timeout_ms);
	}
	if (v != X509_V_OK)
		return ferry_fail(FERRY_ERR_AUTH, "tls: %s: client certificate: %s", c->addr,
		    X509_verify_cert_error_string(v));
	if (version_alert(lib_err))
		return ferry_fail(FERRY_ERR_UNSUPPORTED,
		    "tls: %s offered only TLS 1.2 or lower (TLS 1.3 is required)", c->addr);
	if (cert_alert(lib_err))
		return ferry_fail(FERRY_ERR_IO,
		    "tls: %s refused the server certificate (%s)", c->addr, reason);
	switch (ssl_rc(lib_err)) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_UNEXPECTED_MESSAGE:
	case SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
		return ferry_fail(FERRY_ERR_FORMAT, "tls: %s is not a TLS client (%s)", c->addr,
		    reason);
	default:
		break;
	}
	if (r == 0 || r == FERRY_ERR_TRUNCATED)
		return ferry_fail(FERRY_ERR_IO,
		    "tls: %s closed the connection during the handshake", c->addr);
	return ferry_fail(FERRY_ERR_IO, "tls: handshake with %s failed: %s", c->addr,
	    reason != NULL ? reason : "unknown error");
}

/*
 * Before OpenSSL sees the client's bytes, make sure they start like a TLS handshake
 * record (0x16 0x03), so plain text or HTTP gets a clear refusal.
 */
static int
precheck_client(struct tls_conn *c, int timeout_ms, long long deadline)
{
	uint8_t b[4];
	ssize_t n;
	int w;

	w = wait_fd(c->fd, POLLIN, deadline);
	if (w > 0) {
		c->timed_out = 1;
		return ferry_fail(FERRY_ERR_TIMEOUT,
		    "tls: handshake with %s timed out after %d ms (the client sent nothing)",
		    c->addr, timeout_ms);
	}
	if (w < 0)
		return ferry_fail(FERRY_ERR_IO, "tls: %s: %s", c->addr, strerror(errno));
	do {
		n = recv(c->fd, b, sizeof(b), MSG_PEEK);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return ferry_fail(FERRY_ERR_IO, "tls: %s: %s", c->addr, strerror(errno));
	if (n == 0)
		return ferry_fail(FERRY_ERR_IO,
		    "tls: %s closed the connection before the handshake", c->addr);
	if (b[0] != 0x16 || (n >= 2 && b[1] != 0x03)) {
		char hex[32];
		size_t used = 0;

		for (ssize_t i = 0; i < n; i++)
			used += (size_t)snprintf(hex + used, sizeof(hex) - used, "%s0x%02x",
			    i ? " " : "", b[i]);
		return ferry_fail(FERRY_ERR_FORMAT,
		    "tls: %s is not a TLS client (first bytes %s)", c->addr, hex);
	}
	return 0;
}

int
tls_accept(SSL_CTX *ctx, int fd, int timeout_ms, struct tls_conn **out)
{
	long long deadline = deadline_of(timeout_ms);
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct tls_conn *c = NULL;
	const char *reason = NULL;
	unsigned long lib_err = 0;
	int r, ret;

	*out = NULL;
	if (set_nonblocking(fd) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "tls: socket: %s", strerror(errno));
		close(fd);
		return r;
	}
	set_nodelay(fd);
	if ((c = conn_new(ctx, fd)) == NULL) {
		close(fd);
		return ferry_fail(FERRY_ERR_NOMEM, "tls: cannot create a connection");
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0)
		format_addr((struct sockaddr *)&ss, c->addr, sizeof(c->addr));
	if ((r = precheck_client(c, timeout_ms, deadline)) != 0)
		goto out;
	c->linger = 1;
	for (;;) {
		ERR_clear_error();
		ret = SSL_accept(c->ssl);
		if (ret == 1)
			break;
		if ((r = ssl_step(c, ret, deadline, &reason, &lib_err)) == 1)
			continue;
		r = accept_failure(c, timeout_ms, r, reason, lib_err);
		goto out;
	}
	c->established = 1;
	*out = c;
	c = NULL;
	r = 0;
out:
	tls_conn_free(c);
	return r;
}

int
tls_read(struct tls_conn *c, void *p, size_t n, int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	const char *reason;
	unsigned long lib_err;
	size_t got = 0, k;
	int ret, r;

	c->timed_out = 0;
	if (c->broken)
		return ferry_fail(FERRY_ERR_IO, "tls: read from %s: the connection has failed",
		    c->addr);
	while (got < n) {
		k = 0;
		ERR_clear_error();
		ret = SSL_read_ex(c->ssl, (uint8_t *)p + got, n - got, &k);
		if (ret == 1) {
			got += k;
			continue;
		}
		if ((r = ssl_step(c, ret, deadline, &reason, &lib_err)) == 1)
			continue;
		if (r == 0 || r == FERRY_ERR_TRUNCATED) {
			if (got == 0)
				return ferry_fail(FERRY_ERR_TRUNCATED, "connection closed by %s%s",
				    c->addr, r == 0 ? "" : " (without close_notify)");
			return ferry_fail(FERRY_ERR_TRUNCATED,
			    "connection closed by %s after %zu of %zu bytes", c->addr, got, n);
		}
		if (cert_alert(lib_err))
			return ferry_fail(FERRY_ERR_AUTH, "tls: %s refused our certificate (%s)",
			    c->addr, reason);
		if (c->timed_out)
			return ferry_fail(FERRY_ERR_TIMEOUT, "tls: read from %s timed out",
			    c->addr);
		return ferry_fail(FERRY_ERR_IO, "tls: read from %s: %s", c->addr, reason);
	}
	return 0;
}

int
tls_write(struct tls_conn *c, const void *p, size_t n, int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	const char *reason;
	unsigned long lib_err;
	size_t done = 0, k;
	int ret, r;

	c->timed_out = 0;
	if (c->broken)
		return ferry_fail(FERRY_ERR_IO, "tls: write to %s: the connection has failed",
		    c->addr);
	while (done < n) {
		k = 0;
		ERR_clear_error();
		ret = SSL_write_ex(c->ssl, (const uint8_t *)p + done, n - done, &k);
		if (ret == 1) {
			done += k;
			continue;
		}
		if ((r = ssl_step(c, ret, deadline, &reason, &lib_err)) == 1)
			continue;
		if (r == 0 || r == FERRY_ERR_TRUNCATED)
			return ferry_fail(FERRY_ERR_IO, "tls: write to %s: connection closed",
			    c->addr);
		if (cert_alert(lib_err))
			return ferry_fail(FERRY_ERR_AUTH, "tls: %s refused our certificate (%s)",
			    c->addr, reason);
		if (c->timed_out) {
			/* Part of a record may be out: the stream cannot be resumed. */
			c->broken = 1;
			return ferry_fail(FERRY_ERR_TIMEOUT, "tls: write to %s timed out", c->addr);
		}
		return ferry_fail(FERRY_ERR_IO, "tls: write to %s: %s", c->addr, reason);
	}
	/* The records may still be in the socket BIO: send them before returning. */
	if ((r = flush_pending(c, deadline, &reason)) != 0) {
		if (r == FERRY_ERR_TIMEOUT)
			return ferry_fail(FERRY_ERR_TIMEOUT, "tls: write to %s timed out", c->addr);
		return ferry_fail(FERRY_ERR_IO, "tls: write to %s: %s", c->addr, reason);
	}
	return 0;
}

X509 *
tls_peer_cert(struct tls_conn *c)
{
	X509 *x;

	if (c == NULL || !c->established)
		return NULL;
	if ((x = SSL_get0_peer_certificate(c->ssl)) == NULL)
		return NULL;
	return SSL_get_verify_result(c->ssl) == X509_V_OK ? x : NULL;
}

const char *
tls_peer_addr(struct tls_conn *c)
{
	return c != NULL ? c->addr : "unknown address";
}

int
tls_conn_timed_out(const struct tls_conn *c)
{
	return c != NULL && c->timed_out;
}

const char *
tls_conn_protocol(const struct tls_conn *c)
{
	return c != NULL && c->ssl != NULL ? SSL_get_version(c->ssl) : "none";
}

int
tls_conn_fd(const struct tls_conn *c)
{
	return c != NULL ? c->fd : -1;
}

/*
 * Half-close, then discard what the peer still sends until it closes too or LINGER_MS
 * pass. Closing a socket with unread data makes the kernel send a TCP reset, which can
 * destroy our last frame or alert before the peer reads it.
 */
static void
linger_close(int fd)
{
	long long deadline = now_ms() + LINGER_MS;
	uint8_t scratch[4096];
	size_t total = 0;
	ssize_t n;

	if (shutdown(fd, SHUT_WR) != 0)
		return;
	while (total < 16 * sizeof(scratch) && wait_fd(fd, POLLIN, deadline) == 0) {
		n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

void
tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->established && !c->broken && c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		(void)sock_drain(c->sock); /* the close_notify, if the socket has room */
	}
	ERR_clear_error();
	SSL_free(c->ssl);
	if (c->fd >= 0) {
		if (c->linger && !c->timed_out)
			linger_close(c->fd);
		close(c->fd);
	}
	free(c);
}

static int
conn_read(void *arg, void *p, size_t n, int timeout_ms)
{
	return tls_read(arg, p, n, timeout_ms);
}

static int
conn_write(void *arg, const void *p, size_t n, int timeout_ms)
{
	return tls_write(arg, p, n, timeout_ms);
}

void
tls_conn_transport(struct tls_conn *c, struct frame_transport *t)
{
	t->read = conn_read;
	t->write = conn_write;
	t->arg = c;
}
