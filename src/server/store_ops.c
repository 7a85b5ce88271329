/*
 * ferryd serve, a child: the store operations of an accepted session (docs/PROTOCOL.md,
 * "Store operations"): PUTF, GETF, LIST, DELE, one after another until the client leaves.
 *
 * Uploads are never re-encrypted: the DATA frames carry a sealed stream whose file key is
 * wrapped for the server's certificate key; a thread runs sealed_rewrap_fd(verify) from a
 * pipe the frames are written into to a temporary file in DIR/objects/tmp/, so every chunk
 * is authenticated on arrival and stored as it came, only the header re-wrapped for the
 * owner's user key. The temporary is fsynced, renamed to DIR/objects/<id>, the directory
 * fsynced, and only then is the metadata row committed (store/objects.h); a replaced
 * object's file is unlinked after the commit. Downloads run sealed_rewrap_fd without
 * verification from the object file into a pipe, re-wrapping the header for the client
 * certificate's key; the main thread sends what comes out as DATA frames.
 */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "format/sealed.h"
#include "net/proto.h"
#include "server/log.h"
#include "store/objects.h"
#include "store/vault.h"
#include "util/err.h"
#include "util/io.h"

/* What one session of one user needs. */
struct store_session {
	struct conn *c;
	const char *user;
	struct vault *vault;               /* opened at the first PUTF/GETF */
};

/* The session ends after this request (connection unusable or protocol violated). */
#define OP_CLOSE 1

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "12.3 MiB in 1.2 s (10.2 MiB/s)" for the log. */
static void
rate_text(uint64_t bytes, int64_t ms, char *buf, size_t n)
{
	double s = ms > 0 ? (double)ms / 1000.0 : 0.001;

	snprintf(buf, n, "%llu bytes in %.3f s (%.1f MiB/s)", (unsigned long long)bytes, s,
	    (double)bytes / (1024.0 * 1024.0) / s);
}

/* Audit (best effort) and log one operation. */
static void
op_record(struct store_session *s, const char *event, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
op_record(struct store_session *s, const char *event, bool ok, const char *fmt, ...)
{
	char detail[FERRY_MAX_AUDIT_FIELD];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	srv_log(ok ? SRV_LOG_INFO : SRV_LOG_WARN, "%s %s from %s: %s: %s", event, s->user,
	    s->c->peer, ok ? "ok" : "failed", detail);
	(void)db_audit(s->c->db, event, s->user, s->c->peer, ok, detail);
}

static int
idle_ms(struct store_session *s)
{
	return conn_idle_ms(s->c);
}

/* Send ERRR; a failure to send ends the session. */
static int
op_error(struct store_session *s, enum proto_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
op_error(struct store_session *s, enum proto_error_code code, const char *fmt, ...)
{
	char msg[FERRY_MAX_MSG_ERROR + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (proto_send_error(&s->c->t, idle_ms(s), code, "%s", msg) != 0)
		return OP_CLOSE;
	return code == PROTO_ERR_PROTOCOL ? OP_CLOSE : 0;
}

/* Check a requested name; on refusal answer ERRR NAME (the name itself is not echoed: it
 * may hold anything). */
static int
check_name(struct store_session *s, const char *event, const char *name, bool *ok)
{
	const char *why;

	*ok = store_name_valid(name, &why);
	if (*ok)
		return 0;
	op_record(s, event, false, "refused: invalid name (%s)", why);
	return op_error(s, PROTO_ERR_NAME, "invalid name: it %s", why);
}

static int
open_vault(struct store_session *s)
{
	int r;

	if (s->vault != NULL)
		return 0;
	if ((r = vault_open(s->c->srv->paths.dir, s->c->db, &s->vault)) != 0)
		srv_log(SRV_LOG_ERROR, "vault: %s", ferry_error_detail(r));
	return r;
}

/* Path of object id under DIR/objects (tmp: under DIR/objects/tmp). */
static void
object_path(struct store_session *s, const char *id, bool tmp, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmp ? s->c->srv->paths.objects_tmp : s->c->srv->paths.objects,
	    id);
}

static int
fsync_dir(const char *dir)
{
	int fd, r = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", dir, strerror(errno));
	if (fsync(fd) != 0)
		r = ferry_fail(FERRY_ERR_IO, "%s: fsync: %s", dir, strerror(errno));
	close(fd);
	return r;
}

/* Unlink a committed-away object's file (best effort: a leftover is swept at start). */
static void
unlink_object(struct store_session *s, const char *id)
{
	char path[4096];

	if (id[0] == '\0' || !objects_id_valid(id))
		return;
	object_path(s, id, false, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		srv_log(SRV_LOG_WARN, "%s: cannot remove: %s", path, strerror(errno));
	else
		(void)fsync_dir(s->c->srv->paths.objects);
}

/* Whether a rewrap failure is the stream's fault (INTEGRITY) rather than the server's. */
static bool
stream_fault(int r)
{
	return r == FERRY_ERR_AUTH || r == FERRY_ERR_FORMAT || r == FERRY_ERR_TRUNCATED ||
	    r == FERRY_ERR_NO_IDENTITY || r == FERRY_ERR_UNSUPPORTED || r == FERRY_ERR_LIMIT ||
	    r == FERRY_ERR_KEY;
}

/* ---- the rewrap thread ------------------------------------------------------------- */

struct rewrap_job {
	int in_fd, out_fd;                 /* closed by the thread: close_in / close_out */
	bool close_in, close_out;
	const struct sealed_identity *id;
	const struct sealed_recipient *rcpt;
	bool verify;
	uint64_t plaintext_len;
	int result;
	char detail[512];
};

static void *
rewrap_thread(void *arg)
{
	struct rewrap_job *j = arg;

	ferry_error_clear();
	j->result = sealed_rewrap_fd(j->in_fd, j->out_fd, j->id, 1, j->rcpt, 1, j->verify,
	    &j->plaintext_len);
	if (j->result != 0)
		snprintf(j->detail, sizeof(j->detail), "%s", ferry_error_detail(j->result));
	/* Closing our end tells the other side at once: EOF for a reader, EPIPE for a
	 * writer (SIGPIPE is ignored in ferryd). */
	if (j->close_in)
		close(j->in_fd);
	if (j->close_out)
		close(j->out_fd);
	return NULL;
}

/* ---- PUTF -------------------------------------------------------------------------- */

/* The exact size of a sealed payload of n plaintext bytes in chunks of chunk bytes. */
static uint64_t
sealed_payload_size(uint64_t n, uint32_t chunk)
{
	uint64_t chunks = n == 0 ? 1 : n / chunk + (n % chunk != 0);

	if (chunks > (UINT64_MAX - n) / SEALED_TAG_LEN)
		return UINT64_MAX;
	return n + chunks * SEALED_TAG_LEN;
}

/* Reading the client's stream: the bytes seen so far and the bound they must keep. */
struct upload_count {
	uint64_t size;                     /* announced plaintext size or PROTO_SIZE_UNKNOWN */
	uint64_t received;                 /* sealed bytes so far */
	uint64_t limit;                    /* UINT64_MAX until the header is known */
	struct fbuf *head;                 /* the first bytes, until the header parses */
};

/* Account for n more bytes at p; false when they go past what the announced size allows. */
static bool
upload_count_add(struct upload_count *u, const uint8_t *p, size_t n)
{
	struct sealed_header h;
	size_t need, room;
	uint64_t payload;

	u->received += n;
	if (u->head != NULL && u->size != PROTO_SIZE_UNKNOWN) {
		room = FERRY_MAX_HEADER - fbuf_len(u->head);
		(void)fbuf_put(u->head, p, n < room ? n : room);
		if (sealed_header_parse(fbuf_ptr(u->head), fbuf_len(u->head), &h, &need) == 0) {
			payload = sealed_payload_size(u->size, h.chunk_size);
			u->limit = payload > UINT64_MAX - h.len ? UINT64_MAX : h.len + payload;
			fbuf_free(u->head);
			u->head = NULL;
		} else if (fbuf_len(u->head) == FERRY_MAX_HEADER || need > FERRY_MAX_HEADER) {
			/* Not a header we can read: the verifier says why. */
			fbuf_free(u->head);
			u->head = NULL;
		}
	}
	return u->received <= u->limit;
}

/* How many more bytes to read and discard after a refusal mid-upload: what the client
 * announced is still to come, plus FERRY_MAX_DRAIN. */
static uint64_t
drain_budget(const struct upload_count *u)
{
	uint64_t rest = 0;

	if (u->limit != UINT64_MAX && u->limit > u->received)
		rest = u->limit - u->received;
	else if (u->limit == UINT64_MAX && u->size != PROTO_SIZE_UNKNOWN &&
	    u->size < UINT64_MAX / 2)
		rest = u->size + u->size / 32 + FERRY_MAX_HEADER;
	return rest + FERRY_MAX_DRAIN;
}

/* After a refusal mid-upload: discard the client's DATA frames up to its DONE, so that it
 * reads our ERRR and the session can go on. Returns 0 or OP_CLOSE. */
static int
drain_upload(struct store_session *s, uint64_t budget)
{
	struct frame f = { 0 };
	uint64_t seen = 0;
	int r;

	for (;;) {
		if ((r = frame_read(&s->c->t, FERRY_MAX_FRAME, idle_ms(s), &f)) != 0)
			return OP_CLOSE;
		if (frame_is(&f, PROTO_DONE)) {
			frame_clear(&f);
			return 0;
		}
		seen += f.len;
		if (!frame_is(&f, PROTO_DATA) || seen > budget) {
			frame_clear(&f);
			return OP_CLOSE;
		}
		frame_clear(&f);
	}
}

static int
op_put(struct store_session *s, const struct frame *req)
{
	struct conn *c = s->c;
	struct proto_put m;
	struct proto_ofst ofst = { 0 };
	struct proto_stor stor;
	struct proto_done done = { 0 };
	struct vault_user_key *uk = NULL;
	struct sealed_identity sid;
	struct sealed_recipient urc;
	struct rewrap_job job;
	struct upload_count cnt = { 0 };
	struct db_object o;
	struct frame f = { 0 };
	char id[OBJECTS_ID_HEX_LEN + 1], replaced[OBJECTS_ID_HEX_LEN + 1];
	char tmp[4096], final[4096], rate[96];
	pthread_t th;
	bool thread_running = false, name_ok, ended = false;
	int pipefd[2] = { -1, -1 }, fd = -1, r, ret = 0;
	int64_t start = mono_ms();

	memset(&job, 0, sizeof(job));
	tmp[0] = '\0';
	if ((r = proto_put_decode(req->payload, req->len, &m)) != 0) {
		srv_log(SRV_LOG_INFO, "put %s from %s: %s", s->user, c->peer,
		    ferry_error_detail(r));
		return op_error(s, PROTO_ERR_PROTOCOL, "%s", ferry_error_detail(r));
	}
	if ((ret = check_name(s, "put", m.name, &name_ok)) != 0 || !name_ok)
		return ret;

	/* Everything that can fail on our side before the client sends a byte. */
	if ((r = open_vault(s)) != 0 || (r = vault_user_key(s->vault, s->user, true, &uk)) != 0 ||
	    (r = objects_new_id(id)) != 0) {
		op_record(s, "put", false, "\"%s\": %s", m.name, ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server key store unavailable");
		goto out;
	}
	object_path(s, id, true, tmp, sizeof(tmp));
	object_path(s, id, false, final, sizeof(final));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		op_record(s, "put", false, "\"%s\": %s: %s", m.name, tmp, strerror(errno));
		tmp[0] = '\0';
		ret = op_error(s, PROTO_ERR_INTERNAL, "server storage unavailable");
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		op_record(s, "put", false, "\"%s\": pipe: %s", m.name, strerror(errno));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server error");
		goto out;
	}
	(void)fcntl(pipefd[1], F_SETPIPE_SZ, (int)FERRY_MAX_DATA_PAYLOAD);

	memset(&sid, 0, sizeof(sid));
	sid.kind = SEALED_PUBLIC_KEY;
	sid.key = c->srv->server_key;
	vault_user_key_recipient(uk, &urc);
	job.in_fd = pipefd[0];
	job.close_in = true;
	job.out_fd = fd;
	job.id = &sid;
	job.rcpt = &urc;
	job.verify = true;
	if (pthread_create(&th, NULL, rewrap_thread, &job) != 0) {
		op_record(s, "put", false, "\"%s\": cannot start a thread", m.name);
		ret = op_error(s, PROTO_ERR_INTERNAL, "server error");
		goto out;
	}
	pipefd[0] = -1;                    /* the thread's now */
	thread_running = true;

	cnt.size = m.size;
	cnt.limit = UINT64_MAX;
	if (m.size != PROTO_SIZE_UNKNOWN && (cnt.head = fbuf_new(FERRY_MAX_HEADER)) == NULL) {
		ret = op_error(s, PROTO_ERR_INTERNAL, "server out of memory");
		goto out;
	}
	if (proto_send_ofst(&c->t, &ofst, idle_ms(s)) != 0) {
		ret = OP_CLOSE;
		goto out;
	}

	/* DATA frames into the pipe until DONE. */
	for (;;) {
		if ((r = frame_read(&c->t, FERRY_MAX_FRAME, idle_ms(s), &f)) != 0) {
			op_record(s, "put", false, "\"%s\": upload cut off after %llu bytes: %s",
			    m.name, (unsigned long long)cnt.received, ferry_error_detail(r));
			ret = OP_CLOSE;
			goto out;
		}
		if (frame_is(&f, PROTO_DONE))
			break;
		if (!frame_is(&f, PROTO_DATA) || proto_data_check(f.len) != 0) {
			op_record(s, "put", false, "\"%s\": unexpected %s frame (%u bytes) in an "
			    "upload", m.name, f.type, f.len);
			ret = op_error(s, PROTO_ERR_PROTOCOL, "expected DATA or DONE, got %s "
			    "of %u bytes", f.type, f.len);
			goto out;
		}
		if (!upload_count_add(&cnt, f.payload, f.len)) {
			op_record(s, "put", false, "\"%s\": DATA beyond the announced size of "
			    "%llu bytes; discarded", m.name, (unsigned long long)m.size);
			ret = op_error(s, PROTO_ERR_INTEGRITY, "upload longer than the announced "
			    "%llu bytes; discarded", (unsigned long long)m.size);
			if (ret == 0)
				ret = drain_upload(s, FERRY_MAX_DRAIN);
			goto out;
		}
		if (io_write_full(pipefd[1], f.payload, f.len) != 0) {
			/* The verifier stopped: the stream is bad (or we failed). */
			close(pipefd[1]);
			pipefd[1] = -1;
			pthread_join(th, NULL);
			thread_running = false;
			break;
		}
		frame_clear(&f);
	}
	ended = frame_is(&f, PROTO_DONE);
	if (ended) {
		r = proto_done_decode(f.payload, f.len, &done);
		if (r == 0 && !done.has_sha256)
			r = ferry_fail(FERRY_ERR_FORMAT, "DONE: SHA-256 missing");
		if (r != 0) {
			op_record(s, "put", false, "\"%s\": %s", m.name, ferry_error_detail(r));
			ret = op_error(s, PROTO_ERR_PROTOCOL, "%s", ferry_error_detail(r));
			goto out;
		}
	}
	frame_clear(&f);
	if (pipefd[1] >= 0) {
		close(pipefd[1]);
		pipefd[1] = -1;
	}
	if (thread_running) {
		pthread_join(th, NULL);
		thread_running = false;
	}
	if (job.result == 0 && !ended) {
		job.result = FERRY_ERR_INTERNAL;
		snprintf(job.detail, sizeof(job.detail), "verifier stopped early");
	}
	if (job.result == 0 && m.size != PROTO_SIZE_UNKNOWN && job.plaintext_len != m.size) {
		job.result = FERRY_ERR_FORMAT;
		snprintf(job.detail, sizeof(job.detail), "%llu plaintext bytes, %llu announced",
		    (unsigned long long)job.plaintext_len, (unsigned long long)m.size);
	}
	if (job.result != 0) {
		if (stream_fault(job.result)) {
			op_record(s, "put", false, "\"%s\": integrity: %s; discarded", m.name,
			    job.detail);
			ret = op_error(s, PROTO_ERR_INTEGRITY, "upload of \"%s\" failed "
			    "verification: %s; discarded", m.name, job.detail);
		} else {
			op_record(s, "put", false, "\"%s\": %s", m.name, job.detail);
			ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot store \"%s\": %s",
			    m.name, strstr(job.detail, "No space left") != NULL ?
			    "storage full" : "storage error");
		}
		if (ret == 0 && !ended)
			ret = drain_upload(s, drain_budget(&cnt));
		goto out;
	}

	/* Durable file, then the row. */
	r = fsync(fd) != 0 ? errno : 0;
	if (close(fd) != 0 && r == 0)
		r = errno;
	fd = -1;
	if (r != 0) {
		op_record(s, "put", false, "\"%s\": fsync: %s", m.name, strerror(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot store \"%s\": %s", m.name,
		    r == ENOSPC ? "storage full" : "storage error");
		goto out;
	}
	if (rename(tmp, final) != 0 || fsync_dir(c->srv->paths.objects) != 0) {
		op_record(s, "put", false, "\"%s\": rename: %s", m.name, strerror(errno));
		(void)unlink(final);
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot store \"%s\"", m.name);
		goto out;
	}
	tmp[0] = '\0';
	memset(&o, 0, sizeof(o));
	snprintf(o.name, sizeof(o.name), "%s", m.name);
	memcpy(o.object, id, sizeof(o.object));
	o.size = job.plaintext_len;
	memcpy(o.sha256, done.sha256, sizeof(o.sha256));
	o.stored = (int64_t)time(NULL);
	if ((r = objects_put(c->db, s->user, &o, replaced)) != 0) {
		op_record(s, "put", false, "\"%s\": %s", m.name, ferry_error_detail(r));
		unlink_object(s, id);
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot record \"%s\"", m.name);
		goto out;
	}
	unlink_object(s, replaced);
	rate_text(o.size, mono_ms() - start, rate, sizeof(rate));
	op_record(s, "put", true, "\"%s\" object %s, %s%s", m.name, id, rate,
	    replaced[0] != '\0' ? ", replaced the previous one" : "");
	memset(&stor, 0, sizeof(stor));
	stor.size = o.size;
	memcpy(stor.sha256, o.sha256, sizeof(stor.sha256));
	stor.stored = (uint64_t)o.stored;
	if (proto_send_stor(&c->t, &stor, idle_ms(s)) != 0)
		ret = OP_CLOSE;
out:
	frame_clear(&f);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (thread_running)
		pthread_join(th, NULL);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (fd >= 0)
		close(fd);
	if (tmp[0] != '\0')
		(void)unlink(tmp);
	fbuf_free(cnt.head);
	vault_user_key_free(uk);
	return ret;
}

/* ---- GETF -------------------------------------------------------------------------- */

static int
op_get(struct store_session *s, const struct frame *req)
{
	struct conn *c = s->c;
	struct proto_name m;
	struct proto_file file;
	struct proto_done done = { 0 };
	struct db_object o;
	struct vault_user_key *uk = NULL;
	struct sealed_identity uid;
	struct sealed_recipient crc;
	struct rewrap_job job;
	char path[4096], rate[96];
	X509 *peer;
	uint8_t *buf = NULL;
	size_t got;
	pthread_t th;
	bool thread_running = false, name_ok;
	int pipefd[2] = { -1, -1 }, fd = -1, r, ret = 0;
	int64_t start = mono_ms();
	uint64_t sent = 0;

	memset(&job, 0, sizeof(job));
	if ((r = proto_name_decode(req->payload, req->len, PROTO_GET, &m)) != 0) {
		srv_log(SRV_LOG_INFO, "get %s from %s: %s", s->user, c->peer,
		    ferry_error_detail(r));
		return op_error(s, PROTO_ERR_PROTOCOL, "%s", ferry_error_detail(r));
	}
	if ((ret = check_name(s, "get", m.name, &name_ok)) != 0 || !name_ok)
		return ret;
	/* A concurrent put of the same name may unlink the file between lookup and open:
	 * look up again then. */
	for (int tries = 0; tries < 3; tries++) {
		if ((r = objects_get(c->db, s->user, m.name, &o)) != 0)
			break;
		object_path(s, o.object, false, path, sizeof(path));
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0 || errno != ENOENT)
			break;
	}
	if (r == FERRY_ERR_NOT_FOUND) {
		op_record(s, "get", false, "\"%s\": not found", m.name);
		return op_error(s, PROTO_ERR_NOT_FOUND, "no file called \"%s\"", m.name);
	}
	if (r != 0 || fd < 0) {
		op_record(s, "get", false, "\"%s\": %s", m.name,
		    r != 0 ? ferry_error_detail(r) : strerror(errno));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot read \"%s\"", m.name);
		goto out;
	}
	if ((peer = tls_peer_cert(c->tls)) == NULL || X509_get0_pubkey(peer) == NULL) {
		ret = op_error(s, PROTO_ERR_CERT_REQUIRED, "no client certificate key");
		goto out;
	}
	if ((r = open_vault(s)) != 0 || (r = vault_user_key(s->vault, s->user, false, &uk)) != 0) {
		op_record(s, "get", false, "\"%s\": user key: %s", m.name,
		    ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server key store unavailable");
		goto out;
	}
	if ((buf = io_buffer_new(FERRY_MAX_DATA_PAYLOAD)) == NULL ||
	    pipe2(pipefd, O_CLOEXEC) != 0) {
		op_record(s, "get", false, "\"%s\": out of resources", m.name);
		ret = op_error(s, PROTO_ERR_INTERNAL, "server error");
		goto out;
	}
	(void)fcntl(pipefd[1], F_SETPIPE_SZ, (int)FERRY_MAX_DATA_PAYLOAD);

	memset(&file, 0, sizeof(file));
	file.size = o.size;
	memcpy(file.sha256, o.sha256, sizeof(file.sha256));
	if (proto_send_file(&c->t, &file, idle_ms(s)) != 0) {
		ret = OP_CLOSE;
		goto out;
	}
	vault_user_key_identity(uk, &uid);
	memset(&crc, 0, sizeof(crc));
	crc.kind = SEALED_PUBLIC_KEY;
	crc.key = X509_get0_pubkey(peer);
	job.in_fd = fd;
	job.close_in = true;
	job.out_fd = pipefd[1];
	job.close_out = true;
	job.id = &uid;
	job.rcpt = &crc;
	job.verify = false;
	if (pthread_create(&th, NULL, rewrap_thread, &job) != 0) {
		op_record(s, "get", false, "\"%s\": cannot start a thread", m.name);
		ret = op_error(s, PROTO_ERR_INTERNAL, "server error");
		goto out;
	}
	fd = -1;
	pipefd[1] = -1;
	thread_running = true;
	for (;;) {
		if (io_read_full(pipefd[0], buf, FERRY_MAX_DATA_PAYLOAD, &got) != 0)
			got = 0;
		if (got == 0)
			break;
		if (proto_send_data(&c->t, buf, got, idle_ms(s)) != 0) {
			op_record(s, "get", false, "\"%s\": download cut off after %llu bytes",
			    m.name, (unsigned long long)sent);
			ret = OP_CLOSE;
			goto out;
		}
		sent += got;
	}
	pthread_join(th, NULL);
	thread_running = false;
	if (job.result != 0) {
		if (stream_fault(job.result)) {
			op_record(s, "get", false, "\"%s\" (object %s): stored object damaged: %s",
			    m.name, o.object, job.detail);
			ret = op_error(s, PROTO_ERR_INTEGRITY, "stored copy of \"%s\" is damaged",
			    m.name);
		} else {
			op_record(s, "get", false, "\"%s\": %s", m.name, job.detail);
			ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot read \"%s\"", m.name);
		}
		goto out;
	}
	if (proto_send_done(&c->t, &done, idle_ms(s)) != 0) {
		ret = OP_CLOSE;
		goto out;
	}
	rate_text(o.size, mono_ms() - start, rate, sizeof(rate));
	op_record(s, "get", true, "\"%s\" object %s, %s", m.name, o.object, rate);
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);  /* a still-running thread then fails with EPIPE */
	if (thread_running)
		pthread_join(th, NULL);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (fd >= 0)
		close(fd);
	io_buffer_free(buf, FERRY_MAX_DATA_PAYLOAD);
	vault_user_key_free(uk);
	return ret;
}

/* ---- LIST -------------------------------------------------------------------------- */

struct list_acc {
	struct proto_entry *e;
	size_t n, cap;
	size_t bytes;                      /* encoded ENTS size so far */
};

static int
list_add(void *arg, const struct db_object *o)
{
	struct list_acc *a = arg;
	struct proto_entry *ne;
	size_t len = strlen(o->name);

	a->bytes += PROTO_ENTRY_LEN(len);
	if (a->bytes > FERRY_MAX_FRAME)
		return ferry_fail(FERRY_ERR_LIMIT, "more objects than one ENTS frame holds");
	if (a->n == a->cap) {
		size_t cap = a->cap == 0 ? 64 : a->cap * 2;

		if ((ne = realloc(a->e, cap * sizeof(*ne))) == NULL)
			return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		a->e = ne;
		a->cap = cap;
	}
	memset(&a->e[a->n], 0, sizeof(a->e[a->n]));
	memcpy(a->e[a->n].name, o->name, len + 1);
	a->e[a->n].size = o->size;
	a->e[a->n].stored = (uint64_t)o->stored;
	memcpy(a->e[a->n].sha256, o->sha256, sizeof(o->sha256));
	a->n++;
	return 0;
}

static int
op_list(struct store_session *s, const struct frame *req)
{
	struct list_acc a = { .bytes = 4 };
	int r, ret = 0;

	if ((r = proto_empty_decode(req->len, PROTO_LIST)) != 0)
		return op_error(s, PROTO_ERR_PROTOCOL, "%s", ferry_error_detail(r));
	if ((r = objects_list(s->c->db, s->user, list_add, &a)) != 0) {
		op_record(s, "list", false, "%s", ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "%s", r == FERRY_ERR_LIMIT ?
		    "too many files to list in one reply" : "server database error");
		goto out;
	}
	if (proto_send_ents(&s->c->t, a.e, a.n, idle_ms(s)) != 0) {
		ret = OP_CLOSE;
		goto out;
	}
	op_record(s, "list", true, "%zu files", a.n);
out:
	free(a.e);
	return ret;
}

/* ---- DELE -------------------------------------------------------------------------- */

static int
op_delete(struct store_session *s, const struct frame *req)
{
	char removed[OBJECTS_ID_HEX_LEN + 1];
	struct proto_name m;
	bool name_ok;
	int r, ret;

	if ((r = proto_name_decode(req->payload, req->len, PROTO_DELE, &m)) != 0)
		return op_error(s, PROTO_ERR_PROTOCOL, "%s", ferry_error_detail(r));
	if ((ret = check_name(s, "delete", m.name, &name_ok)) != 0 || !name_ok)
		return ret;
	if ((r = objects_delete(s->c->db, s->user, m.name, removed)) != 0) {
		if (r == FERRY_ERR_NOT_FOUND) {
			op_record(s, "delete", false, "\"%s\": not found", m.name);
			return op_error(s, PROTO_ERR_NOT_FOUND, "no file called \"%s\"", m.name);
		}
		op_record(s, "delete", false, "\"%s\": %s", m.name, ferry_error_detail(r));
		return op_error(s, PROTO_ERR_INTERNAL, "server database error");
	}
	unlink_object(s, removed);
	op_record(s, "delete", true, "\"%s\" object %s", m.name, removed);
	if (proto_send_okay(&s->c->t, idle_ms(s)) != 0)
		return OP_CLOSE;
	return 0;
}

/* ---- the session loop -------------------------------------------------------------- */

void
store_session_run(struct conn *c, const char *user)
{
	struct store_session s = { .c = c, .user = user };
	struct frame f = { 0 };
	int r, ret;

	for (;;) {
		ferry_error_clear();
		r = frame_read(&c->t, FERRY_MAX_FRAME, conn_idle_ms(c), &f);
		if (r != 0) {
			if (tls_conn_timed_out(c->tls)) {
				srv_log(SRV_LOG_INFO, "session %s from %s: idle for %u s, closed",
				    user, c->peer, c->srv->settings.idle_timeout);
				(void)proto_send_error(&c->t, 1000, PROTO_ERR_TIMEOUT,
				    "idle for %u seconds", c->srv->settings.idle_timeout);
			} else if (r == FERRY_ERR_TRUNCATED) {
				srv_log(SRV_LOG_INFO, "session %s from %s: closed by the client",
				    user, c->peer);
			} else {
				srv_log(SRV_LOG_INFO, "session %s from %s: %s", user, c->peer,
				    ferry_error_detail(r));
				if (r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT)
					(void)proto_send_error(&c->t, 1000, PROTO_ERR_PROTOCOL,
					    "%s", ferry_error_detail(r));
			}
			break;
		}
		if (frame_is(&f, PROTO_PUT)) {
			ret = op_put(&s, &f);
		} else if (frame_is(&f, PROTO_GET)) {
			ret = op_get(&s, &f);
		} else if (frame_is(&f, PROTO_LIST)) {
			ret = op_list(&s, &f);
		} else if (frame_is(&f, PROTO_DELE)) {
			ret = op_delete(&s, &f);
		} else {
			srv_log(SRV_LOG_INFO, "session %s from %s: unexpected %s frame", user,
			    c->peer, f.type);
			(void)proto_send_error(&c->t, conn_idle_ms(c), PROTO_ERR_PROTOCOL,
			    "unexpected %s frame in a session", f.type);
			ret = OP_CLOSE;
		}
		frame_clear(&f);
		if (ret != 0)
			break;
	}
	frame_clear(&f);
	vault_free(s.vault);
}
