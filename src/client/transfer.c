#include "client/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "format/sealed.h"
#include "net/tls.h"
#include "store/objects.h"
#include "util/err.h"
#include "util/io.h"

/* The server answers DONE after its last fsync and commit: allow more than one step. */
#define COMMIT_TIMEOUT_MS  (5 * 60 * 1000)
/* After a failed send, how long to wait for the ERRR that explains it. */
#define REASON_TIMEOUT_MS  2000
#define DETAIL_LEN         512

struct transfer_session {
	const struct profile *prof;
	char server[FERRY_MAX_HOST_PORT + 1];
	X509 *cert;
	EVP_PKEY *key;
	struct client_conn *conn;      /* NULL after a failure: reconnect before the next use */
	char identity[FERRY_MAX_MSG_USER + 1];
};

/* ---- the session ------------------------------------------------------------------- */

static int
session_connect(struct transfer_session *s)
{
	int r;

	if (s->conn != NULL)
		return 0;
	if ((r = client_connect(s->server, s->prof->root_path, s->cert, s->key,
	    PROTO_PURPOSE_SESSION, &s->conn, NULL)) != 0)
		return r;
	if (s->conn->helo.identity[0] == '\0') {
		client_conn_free(s->conn);
		s->conn = NULL;
		return ferry_fail(FERRY_ERR_AUTH, "server %s named no identity for this "
		    "certificate", s->server);
	}
	snprintf(s->identity, sizeof(s->identity), "%s", s->conn->helo.identity);
	return 0;
}

/* Forget the connection: after an error its state is unknown. */
static void
session_drop(struct transfer_session *s)
{
	client_conn_free(s->conn);
	s->conn = NULL;
}

int
transfer_open(const struct profile *p, const char *server, struct transfer_session **out)
{
	struct transfer_session *s;
	struct sigaction sa;
	int r;

	*out = NULL;
	/* A write to a closed pipe or socket must fail with EPIPE, not end the process. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);

	if (strlen(server) > FERRY_MAX_HOST_PORT)
		return ferry_fail(FERRY_ERR_USAGE, "server address too long");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	s->prof = p;
	snprintf(s->server, sizeof(s->server), "%s", server);
	if ((r = profile_load_identity(p, &s->cert, &s->key)) != 0 ||
	    (r = session_connect(s)) != 0) {
		transfer_close(s);
		return r;
	}
	*out = s;
	return 0;
}

const char *
transfer_identity(const struct transfer_session *s)
{
	return s->identity;
}

void
transfer_close(struct transfer_session *s)
{
	if (s == NULL)
		return;
	client_conn_free(s->conn);
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	free(s);
}

void
transfer_sha256_hex(const uint8_t sha256[TRANSFER_SHA256_LEN], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < TRANSFER_SHA256_LEN; i++) {
		out[2 * i] = hex[sha256[i] >> 4];
		out[2 * i + 1] = hex[sha256[i] & 15];
	}
	out[64] = '\0';
}

/* The store's rules for a name, checked before anything is sent. */
static int
check_name(const char *name)
{
	const char *why = NULL;

	if (!store_name_valid(name, &why))
		return ferry_fail(FERRY_ERR_USAGE, "'%s' is not a valid name: %s", name,
		    why != NULL ? why : "refused");
	return 0;
}

/* Make sure a failure's detail starts with "<name>: ". Returns r. */
static int
name_error(int r, const char *name)
{
	const char *d;
	size_t n = strlen(name);

	if (r == 0)
		return 0;
	d = ferry_error_detail(r);
	if (strncmp(d, name, n) == 0 && d[n] == ':')
		return r;
	return ferry_error_prefix(r, "%s", name);
}

/* Tell the server we hang up because of err (best effort), keeping err's detail. */
static int
protocol_error(struct transfer_session *s, int err)
{
	char detail[FERRY_MAX_MSG_ERROR + 1];

	snprintf(detail, sizeof(detail), "%s", ferry_error_detail(err));
	if (s->conn != NULL)
		(void)proto_send_error(&s->conn->t, 1000, PROTO_ERR_PROTOCOL, "%s", detail);
	session_drop(s);
	return ferry_fail(err, "%s", detail);
}

/*
 * Read the server's next frame (up to FERRY_MAX_FRAME). An ERRR becomes its mapped error
 * "<what>: <server message>" (*code, may be NULL, gets its code) and the session is
 * dropped; so is it after any other failure. Frame free with frame_clear().
 */
static int
read_frame(struct transfer_session *s, const char *what, int timeout_ms, struct frame *f,
    uint16_t *code)
{
	struct proto_error e;
	int r;

	memset(f, 0, sizeof(*f));
	if (code != NULL)
		*code = 0;
	if ((r = frame_read(&s->conn->t, FERRY_MAX_FRAME, timeout_ms, f)) != 0) {
		if (r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT)
			return protocol_error(s, ferry_error_prefix(r, "server %s", s->server));
		session_drop(s);
		return ferry_error_prefix(r, "%s", what);
	}
	if (!frame_is(f, PROTO_ERRR))
		return 0;
	r = proto_error_frame_fail(f, 1, NULL);
	if (proto_error_decode(f->payload, f->len, &e) == 0) {
		if (code != NULL)
			*code = e.code;
		r = ferry_fail(r, "%s: %s", what, e.message);
	} else
		r = ferry_error_prefix(r, "%s", what);
	frame_clear(f);
	session_drop(s);
	return r;
}

/* A frame of the wrong type: a protocol error. f is cleared. */
static int
unexpected(struct transfer_session *s, struct frame *f, const char *after)
{
	int r;

	r = ferry_fail(FERRY_ERR_FORMAT, "server %s answered %s with a %s frame", s->server,
	    after, f->type);
	frame_clear(f);
	return protocol_error(s, r);
}

/* Read the reply to a request; it must be of type want (or ERRR). */
static int
read_reply(struct transfer_session *s, const char *what, const char *request,
    const char *want, int timeout_ms, struct frame *f)
{
	int r;

	if ((r = read_frame(s, what, timeout_ms, f, NULL)) != 0)
		return r;
	if (!frame_is(f, want))
		return unexpected(s, f, request);
	return 0;
}

/*
 * A send failed: the server may have said why before closing. Take its ERRR if one
 * arrives soon, else keep the send error. The session is dropped either way.
 */
static int
send_failed(struct transfer_session *s, const char *what, int err)
{
	struct frame f = { 0 };
	char detail[DETAIL_LEN];
	int r;

	snprintf(detail, sizeof(detail), "%s", ferry_error_detail(err));
	if (s->conn != NULL &&
	    frame_read(&s->conn->t, FERRY_MAX_FRAME, REASON_TIMEOUT_MS, &f) == 0 &&
	    frame_is(&f, PROTO_ERRR)) {
		struct proto_error e;

		r = proto_error_frame_fail(&f, 1, NULL);
		if (proto_error_decode(f.payload, f.len, &e) == 0) {
			r = ferry_fail(r, "%s: %s", what, e.message);
			frame_clear(&f);
			session_drop(s);
			return r;
		}
	}
	frame_clear(&f);
	session_drop(s);
	return ferry_fail(err, "%s: %s", what, detail);
}

/* ---- the worker thread --------------------------------------------------------------- */

/* A sealed_*_fd() call on its own thread, hashing the plaintext as it goes. */
struct worker {
	pthread_t thread;
	bool started;
	bool decrypt;
	int in_fd, out_fd;
	int close_fd;                    /* closed when the stream ends (pipe end), or -1 */
	const struct sealed_recipient *rcpt;
	const struct sealed_identity *id;
	struct sealed_stream *stream;    /* a resumed put: the stream to go on with */
	uint32_t chunk_size;             /* a resumed put: its chunk size */
	uint64_t first;                  /* a resumed put: first chunk; get: plaintext start */
	const struct transfer_observer *obs;
	EVP_MD_CTX *md;
	bool md_failed;
	uint64_t done;                   /* plaintext bytes */
	int r;
	char detail[DETAIL_LEN];
};

static void
worker_plaintext(void *arg, const uint8_t *p, size_t len)
{
	struct worker *w = arg;

	if (len > 0 && EVP_DigestUpdate(w->md, p, len) != 1)
		w->md_failed = true;
}

static void
worker_update(void *arg, uint64_t done)
{
	struct worker *w = arg;

	w->done = done;
	if (w->obs != NULL && w->obs->update != NULL)
		w->obs->update(w->obs->arg, done);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct sealed_progress sp = { worker_update, worker_plaintext, w };

	ferry_error_clear();
	if (w->decrypt)
		w->r = sealed_decrypt_from(w->in_fd, w->out_fd, w->id, 1, w->first, &sp);
	else if (w->stream != NULL)
		w->r = sealed_encrypt_from(w->in_fd, w->out_fd, w->stream, w->chunk_size,
		    w->first, &sp);
	else
		w->r = sealed_encrypt_fd(w->in_fd, w->out_fd, w->rcpt, 1, FERRY_DEFAULT_CHUNK,
		    &sp);
	if (w->r == 0 && w->md_failed)
		w->r = ferry_fail_crypto("SHA-256");
	if (w->r != 0)
		snprintf(w->detail, sizeof(w->detail), "%s", ferry_error_detail(w->r));
	/* The end of the stream for the other side of the pipe. */
	if (w->close_fd >= 0) {
		close(w->close_fd);
		w->close_fd = -1;
	}
	return NULL;
}

/* The plaintext digest, before anything is hashed into it. */
static int
worker_init(struct worker *w)
{
	if (w->md == NULL && (w->md = EVP_MD_CTX_new()) == NULL)
		return ferry_fail_crypto("SHA-256");
	if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
		return ferry_fail_crypto("SHA-256");
	w->md_failed = false;
	return 0;
}

/* Start w (worker_init() done) on its own thread, with every signal blocked there (the
 * main thread takes them, and a write to a closed pipe then fails with EPIPE). */
static int
worker_start(struct worker *w)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return ferry_fail(FERRY_ERR_INTERNAL, "cannot start a thread: %s", strerror(e));
	w->started = true;
	return 0;
}

/* Wait for w; returns its result with its detail recorded on this thread. */
static int
worker_join(struct worker *w)
{
	if (!w->started)
		return 0;
	pthread_join(w->thread, NULL);
	w->started = false;
	if (w->r != 0)
		return ferry_fail(w->r, "%s", w->detail);
	return 0;
}

/* The SHA-256 of everything w saw. */
static int
worker_digest(struct worker *w, uint8_t out[TRANSFER_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(w->md, out, &n) != 1 || n != TRANSFER_SHA256_LEN)
		return ferry_fail_crypto("SHA-256");
	return 0;
}

/* Wait for w without looking at its result (cleanup after another failure). */
static void
worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	pthread_join(w->thread, NULL);
	w->started = false;
}

static void
worker_free(struct worker *w)
{
	worker_stop(w);
	if (w->close_fd >= 0)
		close(w->close_fd);
	w->close_fd = -1;
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
	sealed_stream_free(w->stream);
	w->stream = NULL;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- put ------------------------------------------------------------------------------- */

/*
 * The server offered to resume at ofst: open its header with the profile's key and check
 * that chunks 0..k-1 of in_fd are what it stored (hashing their plaintext into w's
 * digest). *mismatch when the file differs; w then holds the stream to go on with.
 */
static int
resume_prepare(struct transfer_session *s, int in_fd, uint64_t size,
    const struct proto_ofst *ofst, struct worker *w, bool *mismatch)
{
	struct sealed_progress sp = { NULL, worker_plaintext, w };
	struct sealed_identity id;
	struct sealed_header h;
	size_t need;
	int r;

	*mismatch = false;
	if ((r = sealed_header_parse(ofst->header, ofst->header_len, &h, &need)) != 0 ||
	    h.len != ofst->header_len || ofst->offset % h.chunk_size != 0 ||
	    ofst->offset >= size)
		return protocol_error(s, ferry_fail(FERRY_ERR_FORMAT, "server %s: OFST: offset "
		    "%llu or its header does not fit a resumed upload of %llu bytes", s->server,
		    (unsigned long long)ofst->offset, (unsigned long long)size));
	memset(&id, 0, sizeof(id));
	id.kind = SEALED_PUBLIC_KEY;
	id.key = s->key;
	if ((r = sealed_header_open(&h, &id, 1, &w->stream)) != 0)
		return protocol_error(s, ferry_error_prefix(r, "server %s: OFST header",
		    s->server));
	w->chunk_size = h.chunk_size;
	w->first = ofst->offset / h.chunk_size;
	r = sealed_resume_check(in_fd, w->stream, h.chunk_size, w->first, ofst->tags_digest,
	    &sp);
	if (r == FERRY_ERR_AUTH) {
		ferry_error_clear();
		*mismatch = true;
		return 0;
	}
	if (r == 0 && w->md_failed)
		r = ferry_fail_crypto("SHA-256");
	return r;
}

/* One attempt at a put; *restart when the server offered a resume that does not match
 * the file (the caller starts again from byte 0 without the resume flag). */
static int
put_attempt(struct transfer_session *s, int in_fd, const char *name, uint64_t size,
    bool resume, const struct transfer_observer *obs, struct transfer_info *info,
    bool *restart)
{
	struct sealed_recipient rcpt;
	struct worker w;
	struct proto_put put;
	struct proto_ofst ofst;
	struct proto_done done;
	struct proto_stor stor;
	struct frame f = { 0 };
	char what[FERRY_MAX_OBJECT_NAME + 32];
	uint8_t sha[TRANSFER_SHA256_LEN];
	uint8_t *buf = NULL;
	X509 *peer;
	size_t got;
	int fds[2] = { -1, -1 };
	int r;

	*restart = false;
	memset(&w, 0, sizeof(w));
	w.close_fd = -1;
	snprintf(what, sizeof(what), "%s", name);
	if ((r = session_connect(s)) != 0)
		return r;

	/* The file key is wrapped for the server certificate verified in the handshake. */
	if ((peer = tls_peer_cert(s->conn->tls)) == NULL || X509_get0_pubkey(peer) == NULL) {
		r = ferry_fail(FERRY_ERR_KEY, "server %s: no verified certificate key",
		    s->server);
		goto out;
	}
	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.kind = SEALED_PUBLIC_KEY;
	rcpt.key = X509_get0_pubkey(peer);

	memset(&put, 0, sizeof(put));
	snprintf(put.name, sizeof(put.name), "%s", name);
	put.size = size == TRANSFER_SIZE_UNKNOWN ? PROTO_SIZE_UNKNOWN : size;
	put.flags = resume && size != TRANSFER_SIZE_UNKNOWN ? PROTO_PUT_RESUME : 0;
	if ((r = proto_send_put(&s->conn->t, &put, CLIENT_TIMEOUT_MS)) != 0) {
		r = send_failed(s, what, r);
		goto out;
	}
	if ((r = read_reply(s, what, PROTO_PUT, PROTO_OFST, CLIENT_TIMEOUT_MS, &f)) != 0)
		goto out;
	if ((r = proto_ofst_decode(f.payload, f.len, &ofst)) != 0) {
		r = protocol_error(s, r);
		goto out;
	}
	if ((r = worker_init(&w)) != 0) {
		session_drop(s);
		goto out;
	}
	if (ofst.offset != 0) {
		bool mismatch;

		if (put.flags == 0) {
			r = protocol_error(s, ferry_fail(FERRY_ERR_FORMAT, "server %s offered to "
			    "resume an upload that was not asked to", s->server));
			goto out;
		}
		if ((r = resume_prepare(s, in_fd, size, &ofst, &w, &mismatch)) != 0)
			goto out;
		if (mismatch) {
			/* Hanging up keeps the server's partial; the next PUTF without the
			 * resume flag replaces it. */
			session_drop(s);
			*restart = true;
			goto out;
		}
		info->resumed_from = ofst.offset;
	}
	frame_clear(&f);

	if ((buf = io_buffer_new(TRANSFER_DATA_MAX)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		session_drop(s);
		goto out;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "pipe: %s", strerror(errno));
		session_drop(s);
		goto out;
	}
	/* Room for a whole DATA frame, as on the server: 1 pipe transfer per MiB instead of
	 * 16 (best effort: the default 64 KiB still works). */
	(void)fcntl(fds[1], F_SETPIPE_SZ, (int)TRANSFER_DATA_MAX);
	w.in_fd = in_fd;
	w.out_fd = fds[1];
	w.close_fd = fds[1];
	fds[1] = -1;
	w.rcpt = &rcpt;
	w.obs = obs;
	if (obs != NULL && obs->start != NULL)
		obs->start(obs->arg, size == TRANSFER_SIZE_UNKNOWN ? 0 : size);
	if ((r = worker_start(&w)) != 0) {
		session_drop(s);
		goto out;
	}

	/* The sealed stream, in DATA frames of up to TRANSFER_DATA_MAX bytes. */
	do {
		if ((r = io_read_full(fds[0], buf, TRANSFER_DATA_MAX, &got)) != 0) {
			session_drop(s);
			goto out;
		}
		if (got > 0 &&
		    (r = proto_send_data(&s->conn->t, buf, got, CLIENT_TIMEOUT_MS)) != 0) {
			/* Stop the worker (its next write fails) and learn why from the server. */
			close_fd(&fds[0]);
			worker_stop(&w);
			r = send_failed(s, what, r);
			goto out;
		}
	} while (got == TRANSFER_DATA_MAX);
	close_fd(&fds[0]);
	if ((r = worker_join(&w)) != 0) {
		/* Hanging up without DONE makes the server discard the upload. */
		session_drop(s);
		goto out;
	}
	if ((r = worker_digest(&w, sha)) != 0) {
		session_drop(s);
		goto out;
	}
	if (size != TRANSFER_SIZE_UNKNOWN && w.done != size) {
		r = ferry_fail(FERRY_ERR_IO, "%s: the input changed while it was read (%llu "
		    "bytes, expected %llu)", name, (unsigned long long)w.done,
		    (unsigned long long)size);
		session_drop(s);
		goto out;
	}

	memset(&done, 0, sizeof(done));
	done.has_sha256 = true;
	memcpy(done.sha256, sha, sizeof(sha));
	if ((r = proto_send_done(&s->conn->t, &done, CLIENT_TIMEOUT_MS)) != 0) {
		r = send_failed(s, what, r);
		goto out;
	}
	if ((r = read_reply(s, what, "DONE", PROTO_STOR, COMMIT_TIMEOUT_MS, &f)) != 0)
		goto out;
	r = proto_stor_decode(f.payload, f.len, &stor);
	frame_clear(&f);
	if (r != 0) {
		r = protocol_error(s, r);
		goto out;
	}
	if (stor.size != w.done || CRYPTO_memcmp(stor.sha256, sha, sizeof(sha)) != 0) {
		r = protocol_error(s, ferry_fail(FERRY_ERR_AUTH, "%s: server %s recorded %llu "
		    "bytes with another SHA-256 than the %llu bytes sent", name, s->server,
		    (unsigned long long)stor.size, (unsigned long long)w.done));
		goto out;
	}
	info->size = stor.size;
	memcpy(info->sha256, stor.sha256, sizeof(info->sha256));
	info->stored = (int64_t)stor.stored;
	r = 0;
out:
	/* After a failure the worker may still run: closing the pipe lets it finish. */
	close_fd(&fds[0]);
	close_fd(&fds[1]);
	worker_free(&w);
	frame_clear(&f);
	io_buffer_free(buf, TRANSFER_DATA_MAX);
	return r;
}

int
transfer_put(struct transfer_session *s, int in_fd, const char *name, uint64_t size,
    bool resume, const struct transfer_observer *obs, struct transfer_info *info)
{
	bool restart;
	int r;

	memset(info, 0, sizeof(*info));
	if ((r = check_name(name)) != 0)
		return r;
	r = put_attempt(s, in_fd, name, size, resume, obs, info, &restart);
	if (r == 0 && restart) {
		memset(info, 0, sizeof(*info));
		info->restarted = true;
		if (lseek(in_fd, 0, SEEK_SET) != 0)
			r = ferry_fail(FERRY_ERR_IO, "%s: cannot read it again from the start: %s",
			    name, strerror(errno));
		else
			r = put_attempt(s, in_fd, name, size, false, obs, info, &restart);
		info->restarted = true;
	}
	return name_error(r, name);
}

/* ---- get ------------------------------------------------------------------------------- */

/* Turn a failed decryption into an integrity error naming the object. */
static int
integrity_error(const char *name, int r)
{
	char detail[DETAIL_LEN];

	snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
	switch (r) {
	case FERRY_ERR_AUTH:
	case FERRY_ERR_TRUNCATED:
	case FERRY_ERR_FORMAT:
	case FERRY_ERR_LIMIT:
	case FERRY_ERR_UNSUPPORTED:
		return ferry_fail(FERRY_ERR_AUTH, "%s: integrity check failed: %s", name,
		    detail);
	case FERRY_ERR_NO_IDENTITY:
		return ferry_fail(r, "%s: the server sent a file this profile's key cannot "
		    "open: %s", name, detail);
	default:
		return ferry_fail(r, "%s: %s", name, detail);
	}
}

/*
 * A download goes on at start: hash the first start bytes already in out_fd into w's
 * digest, then cut out_fd there and position it at its end.
 */
static int
keep_prefix(int out_fd, uint64_t start, struct worker *w)
{
	uint8_t *buf;
	uint64_t pos = 0;
	ssize_t n;
	int r = 0;

	if ((buf = io_buffer_new(TRANSFER_DATA_MAX)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	while (pos < start) {
		size_t want = start - pos < TRANSFER_DATA_MAX ? (size_t)(start - pos) :
		    TRANSFER_DATA_MAX;

		if ((n = pread(out_fd, buf, want, (off_t)pos)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			r = ferry_fail(FERRY_ERR_IO, "partial output: read: %s",
			    n == 0 ? "shorter than expected" : strerror(errno));
			goto out;
		}
		worker_plaintext(w, buf, (size_t)n);
		pos += (uint64_t)n;
	}
	if (w->md_failed) {
		r = ferry_fail_crypto("SHA-256");
		goto out;
	}
	if (ftruncate(out_fd, (off_t)start) != 0 || lseek(out_fd, (off_t)start, SEEK_SET) < 0)
		r = ferry_fail(FERRY_ERR_WRITE, "write: partial output: %s", strerror(errno));
out:
	io_buffer_free(buf, TRANSFER_DATA_MAX);
	return r;
}

int
transfer_get(struct transfer_session *s, const char *name, int out_fd, uint64_t have,
    const struct transfer_observer *obs, struct transfer_info *info)
{
	struct sealed_identity id;
	struct worker w;
	struct proto_get req;
	struct proto_file file;
	struct proto_done done;
	struct frame f = { 0 };
	char what[FERRY_MAX_OBJECT_NAME + 32];
	char want_hex[65], got_hex[65];
	uint8_t sha[TRANSFER_SHA256_LEN];
	bool ended = false, pipe_broken = false;
	uint16_t code = 0;
	int fds[2] = { -1, -1 };
	int r, wr;

	memset(&w, 0, sizeof(w));
	w.close_fd = -1;
	memset(info, 0, sizeof(*info));
	snprintf(what, sizeof(what), "%s", name);
	if ((r = check_name(name)) != 0)
		return r;
	if ((r = session_connect(s)) != 0)
		return r;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", name);
	req.offset = have;
	if ((r = proto_send_get(&s->conn->t, &req, CLIENT_TIMEOUT_MS)) != 0) {
		r = send_failed(s, what, r);
		goto out;
	}
	if ((r = read_frame(s, what, CLIENT_TIMEOUT_MS, &f, &code)) != 0) {
		if (code == PROTO_ERR_NOT_FOUND)
			r = ferry_fail(FERRY_ERR_NOT_FOUND, "%s: no such file on server %s", name,
			    s->server);
		goto out;
	}
	if (!frame_is(&f, PROTO_FILE)) {
		r = unexpected(s, &f, PROTO_GET);
		goto out;
	}
	r = proto_file_decode(f.payload, f.len, &file);
	frame_clear(&f);
	if (r != 0) {
		r = protocol_error(s, r);
		goto out;
	}
	info->size = file.size;
	memcpy(info->sha256, file.sha256, sizeof(info->sha256));
	if (file.start > have) {
		r = protocol_error(s, ferry_fail(FERRY_ERR_FORMAT, "server %s: FILE: resumes at "
		    "%llu, beyond the %llu bytes held", s->server,
		    (unsigned long long)file.start, (unsigned long long)have));
		goto out;
	}
	if ((r = worker_init(&w)) != 0 ||
	    (have > 0 && (r = keep_prefix(out_fd, file.start, &w)) != 0)) {
		session_drop(s);
		goto out;
	}
	info->resumed_from = file.start;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "pipe: %s", strerror(errno));
		session_drop(s);
		goto out;
	}
	/* Room for a whole DATA frame, as on the server: 1 pipe transfer per MiB instead of
	 * 16 (best effort: the default 64 KiB still works). */
	(void)fcntl(fds[1], F_SETPIPE_SZ, (int)TRANSFER_DATA_MAX);
	memset(&id, 0, sizeof(id));
	id.kind = SEALED_PUBLIC_KEY;
	id.key = s->key;
	w.decrypt = true;
	w.in_fd = fds[0];
	w.close_fd = fds[0];
	fds[0] = -1;
	w.out_fd = out_fd;
	w.id = &id;
	w.first = file.start;
	w.obs = obs;
	if (obs != NULL && obs->start != NULL)
		obs->start(obs->arg, file.size);
	if ((r = worker_start(&w)) != 0) {
		session_drop(s);
		goto out;
	}

	/* DATA frames into the pipe until DONE; the worker decrypts from the other end. */
	while (!ended) {
		if ((r = read_frame(s, what, CLIENT_TIMEOUT_MS, &f, NULL)) != 0)
			break;
		if (frame_is(&f, PROTO_DATA)) {
			if ((r = proto_data_check(f.len)) != 0) {
				frame_clear(&f);
				r = protocol_error(s, r);
				break;
			}
			if (!pipe_broken && io_write_full(fds[1], f.payload, f.len) != 0) {
				/* The worker stopped: its error says why. Drain to DONE so the
				 * session stays usable. */
				pipe_broken = true;
				close_fd(&fds[1]);
			}
			frame_clear(&f);
		} else if (frame_is(&f, PROTO_DONE)) {
			r = proto_done_decode(f.payload, f.len, &done);
			frame_clear(&f);
			if (r == 0 && done.has_sha256)
				r = ferry_fail(FERRY_ERR_FORMAT, "server %s: DONE of a download "
				    "carries a digest", s->server);
			if (r != 0) {
				r = protocol_error(s, r);
				break;
			}
			ended = true;
		} else {
			r = unexpected(s, &f, "GETF with data");
			break;
		}
	}
	close_fd(&fds[1]);
	if (r != 0) {
		/* The network or the server failed first: that is the error to report, not
		 * the worker's view of a stream cut short. */
		char detail[DETAIL_LEN];

		snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
		worker_stop(&w);
		r = ferry_fail(r, "%s", detail);
		goto out;
	}
	if ((wr = worker_join(&w)) != 0) {
		r = integrity_error(name, wr);
		goto out;
	}
	if ((r = worker_digest(&w, sha)) != 0)
		goto out;
	if (w.done != file.size) {
		r = ferry_fail(FERRY_ERR_AUTH, "%s: integrity check failed: %llu bytes received, "
		    "%llu recorded", name, (unsigned long long)w.done,
		    (unsigned long long)file.size);
		goto out;
	}
	if (CRYPTO_memcmp(sha, file.sha256, sizeof(sha)) != 0) {
		transfer_sha256_hex(file.sha256, want_hex);
		transfer_sha256_hex(sha, got_hex);
		r = ferry_fail(FERRY_ERR_AUTH, "%s: integrity check failed: SHA-256 %s, "
		    "recorded %s", name, got_hex, want_hex);
		goto out;
	}
	r = 0;
out:
	close_fd(&fds[0]);
	close_fd(&fds[1]);
	worker_free(&w);
	frame_clear(&f);
	return name_error(r, name);
}

/* ---- list and delete --------------------------------------------------------------------- */

int
transfer_list(struct transfer_session *s, struct transfer_entry **entries, size_t *n)
{
	struct proto_entry *pe = NULL;
	struct transfer_entry *te = NULL;
	struct frame f = { 0 };
	size_t count = 0;
	int r;

	*entries = NULL;
	*n = 0;
	if ((r = session_connect(s)) != 0)
		return r;
	if ((r = proto_send_list(&s->conn->t, CLIENT_TIMEOUT_MS)) != 0)
		return send_failed(s, "list", r);
	if ((r = read_reply(s, "list", "LIST", PROTO_ENTS, CLIENT_TIMEOUT_MS, &f)) != 0)
		return r;
	r = proto_ents_decode(f.payload, f.len, &pe, &count);
	frame_clear(&f);
	if (r != 0)
		return protocol_error(s, r);
	if (count > 0 && (te = calloc(count, sizeof(*te))) == NULL) {
		free(pe);
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < count; i++) {
		snprintf(te[i].name, sizeof(te[i].name), "%s", pe[i].name);
		te[i].info.size = pe[i].size;
		te[i].info.stored = (int64_t)pe[i].stored;
		memcpy(te[i].info.sha256, pe[i].sha256, sizeof(te[i].info.sha256));
	}
	free(pe);
	*entries = te;
	*n = count;
	return 0;
}

int
transfer_delete(struct transfer_session *s, const char *name)
{
	struct proto_name req;
	struct frame f = { 0 };
	uint16_t code = 0;
	int r;

	if ((r = check_name(name)) != 0)
		return r;
	if ((r = session_connect(s)) != 0)
		return r;
	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", name);
	if ((r = proto_send_dele(&s->conn->t, &req, CLIENT_TIMEOUT_MS)) != 0)
		return send_failed(s, name, r);
	if ((r = read_frame(s, name, CLIENT_TIMEOUT_MS, &f, &code)) != 0) {
		if (code == PROTO_ERR_NOT_FOUND)
			r = ferry_fail(FERRY_ERR_NOT_FOUND, "%s: no such file on server %s", name,
			    s->server);
		return r;
	}
	if (!frame_is(&f, PROTO_OKAY))
		return unexpected(s, &f, "DELE");
	r = proto_empty_decode(f.len, "OKAY");
	frame_clear(&f);
	if (r != 0)
		return protocol_error(s, r);
	return 0;
}
