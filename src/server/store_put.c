/*
 * PUTF: an upload (docs/PROTOCOL.md 12.1, 12.2). Uploads are never re-encrypted: the DATA
 * frames carry a sealed stream whose file key is wrapped for the server's certificate key;
 * a thread authenticates every chunk as it arrives (sealed_rewrap_fd(verify)) and writes
 * it, unchanged, to a temporary file in DIR/objects/tmp/, only the header re-wrapped for
 * the owner's user key. The temporary is fsynced, renamed to DIR/objects/<id>, the
 * directory fsynced, and only then is the metadata row committed (store/objects.h).
 *
 * An upload of known size is recorded as a partial upload (store/partials.h) from its
 * start. When it is cut off, the temporary stays; a later PUTF with the resume flag scans
 * it (sealed_partial_scan), truncates it after its last verified chunk, and tells the
 * client where to go on (OFST with the header re-wrapped for the client certificate and
 * the digest of the stored tags); the rest is verified as chunks k.. of the same stream
 * (sealed_verify_from). The temporary is locked (flock) while a session writes it.
 */
#include "server/store_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "server/log.h"
#include "store/partials.h"
#include "util/err.h"
#include "util/io.h"

/* How often a running upload refreshes its partial record, so that it never expires
 * under a session still writing it. */
#define TOUCH_INTERVAL_MS (60 * 1000)

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
	uint64_t size;                     /* plaintext bound, or PROTO_SIZE_UNKNOWN */
	uint64_t received;                 /* sealed bytes so far */
	uint64_t limit;                    /* UINT64_MAX until the header is known */
	struct fbuf *head;                 /* the first bytes, until the header parses */
};

/* Account for n more bytes at p; false when they go past what the size bound allows. */
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

	for (;;) {
		if (frame_read(&s->c->t, FERRY_MAX_FRAME, idle_ms(s), &f) != 0)
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

/* ---- quota ----------------------------------------------------------------------------- */

struct usage_acc {
	const char *name;                  /* the upload's own partial is not counted */
	uint64_t bytes;
};

static int
add_partial(void *arg, const struct db_partial *p)
{
	struct usage_acc *a = arg;

	if (strcmp(p->name, a->name) != 0)
		a->bytes += p->size;
	return 0;
}

/*
 * The most plaintext bytes an upload of name may hold under max_file_size and the quota
 * (stored objects and other partial uploads count; the object it replaces does not), into
 * *cap (UINT64_MAX: no bound) with *why naming the bound that applies.
 */
static int
upload_cap(struct store_session *s, const char *name, uint64_t *cap, const char **why)
{
	const struct ferryd_settings *cfg = &s->c->srv->settings;
	struct usage_acc acc = { name, 0 };
	struct db_object old;
	uint64_t used, left;
	int r;

	*cap = cfg->max_file_size != 0 ? cfg->max_file_size : UINT64_MAX;
	*why = "the maximum file size";
	if (cfg->quota == 0)
		return 0;
	if ((r = objects_usage(s->c->db, s->user, &s->meta, &used)) != 0 ||
	    (r = partials_list_user(s->c->db, s->user, &s->meta, add_partial, &acc)) != 0)
		return r;
	r = objects_get(s->c->db, s->user, &s->meta, name, &old);
	if (r == 0 && old.size <= used)
		used -= old.size;
	else if (r != FERRY_ERR_NOT_FOUND && r != 0)
		return r;
	used += acc.bytes;
	left = used < cfg->quota ? cfg->quota - used : 0;
	if (left < *cap) {
		*cap = left;
		*why = "the quota";
	}
	return 0;
}

/* ---- the temporary file ----------------------------------------------------------------- */

/* Where an upload writes, and from where it goes on. */
struct upload {
	char id[OBJECTS_ID_HEX_LEN + 1];
	char tmp[4096];
	int fd;                            /* the temporary, locked */
	bool recorded;                     /* a partial upload row exists (resumable) */
	bool keep;                         /* cut off: leave the temporary for a resume */
	uint64_t offset;                   /* plaintext bytes already stored */
	uint64_t first_chunk;              /* the chunk the client sends first */
	uint32_t chunk_size;               /* resumed: of the stored stream */
	struct sealed_stream *stream;      /* resumed: its payload key */
	struct fbuf *client_header;        /* resumed: the header for the client */
	uint8_t tags_digest[SEALED_TAGS_DIGEST_LEN];
};

/* Remove the temporary DIR/objects/tmp/<object> (best effort: a leftover that no row
 * names is swept at start). */
static void
unlink_tmp(struct store_session *s, const char *object)
{
	char path[4096];

	object_path(s, object, true, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		srv_log(SRV_LOG_WARN, "%s: cannot remove: %s", path, strerror(errno));
}

/* Forget a partial upload: its file, then its row (on a full disk the file's room lets
 * the database write; a row without its file is harmless). */
static void
discard_partial(struct store_session *s, const char *object)
{
	unlink_tmp(s, object);
	(void)partials_remove(s->c->db, object);
}

/* partials_expire's callback: the file of an expired partial upload goes. */
static void
unlink_expired(void *arg, const struct db_partial *p)
{
	struct store_session *s = arg;

	unlink_tmp(s, p->object);
	srv_log(SRV_LOG_INFO, "partial upload %s expired", p->object);
}

/* How long a PUTF waits for the session that last wrote a partial upload to let go of it
 * (a client that hung up to start again reconnects faster than that session ends). */
#define LOCK_WAIT_MS 3000

/* Open and lock a partial upload's temporary; *busy when another session still holds it
 * after LOCK_WAIT_MS. */
static int
open_locked(const char *path, int *fd, bool *busy)
{
	int64_t until = mono_ms() + LOCK_WAIT_MS;

	*busy = false;
	if ((*fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", path, strerror(errno));
	for (;;) {
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK || mono_ms() >= until)
			break;
		(void)usleep(20 * 1000);
	}
	*busy = errno == EWOULDBLOCK;
	close(*fd);
	*fd = -1;
	return ferry_fail(FERRY_ERR_LIMIT, "%s: locked", path);
}

/*
 * The partial upload of m->name, if there is one: with the resume flag, the same size
 * and at least one verified chunk, fill u to go on from it; otherwise discard it.
 * *busy when a session is still writing it. Returns 0 (u->offset 0: start afresh) or an
 * error of the server's own.
 */
static int
upload_resume(struct store_session *s, const struct proto_put *m,
    const struct sealed_identity *uid, struct upload *u, bool *busy)
{
	struct sealed_recipient crc = { 0 };
	struct sealed_partial part;
	struct sealed_header h;
	struct db_partial p;
	struct fbuf *raw = NULL;
	X509 *peer;
	int fd = -1, r;

	*busy = false;
	if ((r = partials_get(s->c->db, s->user, &s->meta, m->name, &p)) != 0)
		return r == FERRY_ERR_NOT_FOUND ? 0 : r;
	object_path(s, p.object, true, u->tmp, sizeof(u->tmp));
	if (open_locked(u->tmp, &fd, busy) != 0) {
		if (*busy)
			return 0;
		discard_partial(s, p.object);
		return 0;
	}
	if ((m->flags & PROTO_PUT_RESUME) == 0 || p.size != m->size ||
	    (peer = tls_peer_cert(s->c->tls)) == NULL)
		goto discard;
	if ((raw = fbuf_new(FERRY_MAX_HEADER)) == NULL ||
	    (u->client_header = fbuf_new(PROTO_MAX_OFST_HEADER)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* A stream that arrived whole but was never committed is not resumed: its final
	 * chunk would be sealed again, perhaps over other plaintext (FORMAT.md 8). */
	if (sealed_partial_scan(fd, uid, 1, raw, &h, &part) != 0 || part.chunks == 0 ||
	    part.final_chunk) {
		ferry_error_clear();
		goto discard;
	}
	crc.kind = SEALED_PUBLIC_KEY;
	crc.key = X509_get0_pubkey(peer);
	if ((r = sealed_header_open(&h, uid, 1, &u->stream)) != 0 ||
	    (r = sealed_header_rewrap(&h, uid, 1, &crc, 1, u->client_header)) != 0)
		goto out;
	if (ftruncate(fd, (off_t)part.durable_len) != 0 ||
	    lseek(fd, (off_t)part.durable_len, SEEK_SET) < 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", u->tmp, strerror(errno));
		goto out;
	}
	(void)partials_touch(s->c->db, p.object, (int64_t)time(NULL));
	memcpy(u->id, p.object, sizeof(u->id));
	memcpy(u->tags_digest, part.tags_digest, sizeof(u->tags_digest));
	u->chunk_size = h.chunk_size;
	u->first_chunk = part.chunks;
	u->offset = part.chunks * h.chunk_size;
	u->recorded = true;
	u->fd = fd;
	fd = -1;
	r = 0;
	goto out;
discard:
	close(fd);
	fd = -1;
	discard_partial(s, p.object);
	u->tmp[0] = '\0';
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	fbuf_free(raw);
	return r;
}

/* A new temporary for an upload; recorded as a partial upload when the size is known. */
static int
upload_create(struct store_session *s, const struct proto_put *m, struct upload *u)
{
	struct db_partial p;
	char replaced[OBJECTS_ID_HEX_LEN + 1];
	int r;

	if ((r = objects_new_id(u->id)) != 0)
		return r;
	object_path(s, u->id, true, u->tmp, sizeof(u->tmp));
	if ((u->fd = open(u->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", u->tmp, strerror(errno));
		u->tmp[0] = '\0';
		return r;
	}
	if (flock(u->fd, LOCK_EX | LOCK_NB) != 0)
		return ferry_fail(FERRY_ERR_IO, "%s: lock: %s", u->tmp, strerror(errno));
	if (m->size == PROTO_SIZE_UNKNOWN)
		return 0;
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "%s", m->name);
	memcpy(p.object, u->id, sizeof(p.object));
	p.size = m->size;
	p.started = (int64_t)time(NULL);
	if ((r = partials_start(s->c->db, s->user, &s->meta, &p, replaced)) != 0)
		return r;
	u->recorded = true;
	if (replaced[0] != '\0' && strcmp(replaced, u->id) != 0)
		unlink_tmp(s, replaced);
	return 0;
}

/* After the upload: keep the temporary of a cut-off resumable upload, else remove it. */
static void
upload_close(struct store_session *s, struct upload *u)
{
	if (u->fd >= 0) {
		if (u->keep && u->recorded) {
			(void)fsync(u->fd);
			(void)partials_touch(s->c->db, u->id, (int64_t)time(NULL));
		}
		close(u->fd);
		u->fd = -1;
	}
	/* The file first: on a full disk its room lets the database write the removal. A
	 * row without its file is harmless (a resume finds nothing and starts afresh). */
	if (u->tmp[0] != '\0' && !(u->keep && u->recorded))
		(void)unlink(u->tmp);
	if (u->recorded && !u->keep)
		(void)partials_remove(s->c->db, u->id);
	sealed_stream_free(u->stream);
	fbuf_free(u->client_header);
	u->stream = NULL;
	u->client_header = NULL;
}

/* ---- PUTF ---------------------------------------------------------------------------- */

int
op_put(struct store_session *s, const struct frame *req)
{
	struct conn *c = s->c;
	struct proto_put m;
	struct proto_ofst ofst;
	struct proto_stor stor;
	struct proto_done done = { 0 };
	struct sealed_identity sid, uid;
	struct sealed_recipient urc;
	struct stream_job job;
	struct upload_count cnt = { 0 };
	struct upload u;
	struct db_object o;
	struct frame f = { 0 };
	char replaced[OBJECTS_ID_HEX_LEN + 1], final[4096];
	const char *bound_why = NULL;
	pthread_t th;
	bool thread_running = false, name_ok, ended = false, busy, capped = false;
	int pipefd[2] = { -1, -1 }, r, ret = 0;
	int64_t start = mono_ms(), touched = start;
	uint64_t cap, total;
	unsigned expired;

	memset(&job, 0, sizeof(job));
	memset(&u, 0, sizeof(u));
	u.fd = -1;
	if ((r = proto_put_decode(req->payload, req->len, &m)) != 0) {
		srv_log(SRV_LOG_INFO, "put %s from %s: %s", s->user, c->peer,
		    ferry_error_detail(r));
		return op_error(s, PROTO_ERR_PROTOCOL, "%s", ferry_error_detail(r));
	}
	if ((ret = check_name(s, "put", m.name, &name_ok)) != 0 || !name_ok)
		return ret;

	if ((r = session_keys(s)) != 0) {
		op_record(s, "put", m.name, false, "%s", ferry_error_detail(r));
		return op_error(s, PROTO_ERR_INTERNAL, "server key store unavailable");
	}
	/* Limits first: nothing is created for an upload that cannot fit. */
	if ((r = upload_cap(s, m.name, &cap, &bound_why)) != 0) {
		op_record(s, "put", m.name, false, "%s", ferry_error_detail(r));
		return op_error(s, PROTO_ERR_INTERNAL, "server database error");
	}
	if (m.size != PROTO_SIZE_UNKNOWN && m.size > cap) {
		op_record(s, "put", m.name, false, "%llu bytes refused: over %s (%llu bytes "
		    "allowed)", (unsigned long long)m.size, bound_why,
		    (unsigned long long)cap);
		return op_error(s, PROTO_ERR_QUOTA, "over %s: %llu bytes, %llu allowed",
		    bound_why, (unsigned long long)m.size, (unsigned long long)cap);
	}

	/* Everything that can fail on our side before the client sends a byte. */
	(void)partials_expire(c->db, (int64_t)time(NULL) - (int64_t)c->srv->settings.partial_expiry,
	    unlink_expired, s, &expired);
	vault_user_key_identity(s->uk, &uid);
	vault_user_key_recipient(s->uk, &urc);
	if ((r = upload_resume(s, &m, &uid, &u, &busy)) != 0) {
		op_record(s, "put", m.name, false, "resume: %s", ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server storage unavailable");
		goto out;
	}
	if (busy) {
		op_record(s, "put", m.name, false, "refused: an upload of it is in progress");
		ret = op_error(s, PROTO_ERR_BUSY, "an upload of \"%s\" is already in progress; "
		    "try again when it ended", m.name);
		goto out;
	}
	if (u.offset == 0 && (r = upload_create(s, &m, &u)) != 0) {
		op_record(s, "put", m.name, false, "%s", ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server storage unavailable");
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		op_record(s, "put", m.name, false, "pipe: %s", strerror(errno));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server error");
		goto out;
	}
	(void)fcntl(pipefd[1], F_SETPIPE_SZ, (int)FERRY_MAX_DATA_PAYLOAD);

	memset(&sid, 0, sizeof(sid));
	sid.kind = SEALED_PUBLIC_KEY;
	sid.key = c->srv->server_key;
	job.in_fd = pipefd[0];
	job.close_in = true;
	job.out_fd = u.fd;
	if (u.offset == 0) {
		job.kind = JOB_VERIFY_NEW;
		job.id = &sid;
		job.rcpt = &urc;
	} else {
		job.kind = JOB_VERIFY_RESUMED;
		job.stream = u.stream;
		job.chunk_size = u.chunk_size;
		job.first_chunk = u.first_chunk;
	}

	/* The bound the stream must keep: the announced size, else the cap. */
	cnt.size = m.size;
	if (m.size == PROTO_SIZE_UNKNOWN && cap != UINT64_MAX) {
		cnt.size = cap;
		capped = true;
	}
	cnt.limit = UINT64_MAX;
	if (u.offset > 0)
		cnt.limit = sealed_payload_size(m.size - u.offset, u.chunk_size);
	else if (cnt.size != PROTO_SIZE_UNKNOWN &&
	    (cnt.head = fbuf_new(FERRY_MAX_HEADER)) == NULL) {
		ret = op_error(s, PROTO_ERR_INTERNAL, "server out of memory");
		goto out;
	}
	if ((r = stream_job_start(&job, &th)) != 0) {
		op_record(s, "put", m.name, false, "%s", ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server error");
		goto out;
	}
	pipefd[0] = -1;                    /* the thread's now */
	thread_running = true;

	memset(&ofst, 0, sizeof(ofst));
	ofst.offset = u.offset;
	if (u.offset > 0) {
		ofst.header = fbuf_ptr(u.client_header);
		ofst.header_len = fbuf_len(u.client_header);
		memcpy(ofst.tags_digest, u.tags_digest, sizeof(ofst.tags_digest));
	}
	if (proto_send_ofst(&c->t, &ofst, idle_ms(s)) != 0) {
		u.keep = true;
		ret = OP_CLOSE;
		goto out;
	}

	/* DATA frames into the pipe until DONE. */
	for (;;) {
		if ((r = frame_read(&c->t, FERRY_MAX_FRAME, idle_ms(s), &f)) != 0) {
			op_record(s, "put", m.name, false, "upload cut off after %llu bytes: %s%s",
			    (unsigned long long)cnt.received, ferry_error_detail(r),
			    u.recorded ? "; kept for a resume" : "");
			u.keep = true;
			ret = OP_CLOSE;
			goto out;
		}
		if (frame_is(&f, PROTO_DONE))
			break;
		if (!frame_is(&f, PROTO_DATA) || proto_data_check(f.len) != 0) {
			op_record(s, "put", m.name, false, "unexpected %s frame (%u bytes) in an "
			    "upload", f.type, f.len);
			ret = op_error(s, PROTO_ERR_PROTOCOL, "expected DATA or DONE, got %s "
			    "of %u bytes", f.type, f.len);
			goto out;
		}
		if (!upload_count_add(&cnt, f.payload, f.len)) {
			if (capped) {
				op_record(s, "put", m.name, false, "over %s (%llu bytes allowed); "
				    "discarded", bound_why, (unsigned long long)cap);
				ret = op_error(s, PROTO_ERR_QUOTA, "over %s: more than the %llu "
				    "bytes allowed; discarded", bound_why,
				    (unsigned long long)cap);
			} else {
				op_record(s, "put", m.name, false, "DATA beyond the announced size "
				    "of %llu bytes; discarded", (unsigned long long)m.size);
				ret = op_error(s, PROTO_ERR_INTEGRITY, "upload longer than the "
				    "announced %llu bytes; discarded", (unsigned long long)m.size);
			}
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
		if (u.recorded && mono_ms() - touched > TOUCH_INTERVAL_MS) {
			touched = mono_ms();
			(void)partials_touch(c->db, u.id, (int64_t)time(NULL));
		}
	}
	ended = frame_is(&f, PROTO_DONE);
	if (ended) {
		r = proto_done_decode(f.payload, f.len, &done);
		if (r == 0 && !done.has_sha256)
			r = ferry_fail(FERRY_ERR_FORMAT, "DONE: SHA-256 missing");
		if (r != 0) {
			op_record(s, "put", m.name, false, "%s", ferry_error_detail(r));
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
	total = u.offset + job.plaintext_len;
	if (job.result == 0 && !ended) {
		job.result = FERRY_ERR_INTERNAL;
		snprintf(job.detail, sizeof(job.detail), "verifier stopped early");
	}
	if (job.result == 0 && m.size != PROTO_SIZE_UNKNOWN && total != m.size) {
		job.result = FERRY_ERR_FORMAT;
		snprintf(job.detail, sizeof(job.detail), "%llu plaintext bytes, %llu announced",
		    (unsigned long long)total, (unsigned long long)m.size);
	}
	if (job.result != 0) {
		if (stream_fault(job.result)) {
			op_record(s, "put", m.name, false, "integrity: %s; discarded",
			    job.detail);
			ret = op_error(s, PROTO_ERR_INTEGRITY, "upload of \"%s\" failed "
			    "verification: %s; discarded", m.name, job.detail);
		} else {
			op_record(s, "put", m.name, false, "%s", job.detail);
			ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot store \"%s\": %s",
			    m.name, strstr(job.detail, "No space left") != NULL ?
			    "storage full" : "storage error");
		}
		if (ret == 0 && !ended)
			ret = drain_upload(s, drain_budget(&cnt));
		goto out;
	}

	/* Durable file, then the row. */
	if (fsync(u.fd) != 0) {
		r = errno;
		op_record(s, "put", m.name, false, "fsync: %s", strerror(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot store \"%s\": %s", m.name,
		    r == ENOSPC ? "storage full" : "storage error");
		goto out;
	}
	object_path(s, u.id, false, final, sizeof(final));
	if (rename(u.tmp, final) != 0 || io_fsync_dir(c->srv->paths.objects) != 0) {
		op_record(s, "put", m.name, false, "rename: %s", strerror(errno));
		(void)unlink(final);
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot store \"%s\"", m.name);
		goto out;
	}
	u.tmp[0] = '\0';
	memset(&o, 0, sizeof(o));
	snprintf(o.name, sizeof(o.name), "%s", m.name);
	memcpy(o.object, u.id, sizeof(o.object));
	o.size = total;
	memcpy(o.sha256, done.sha256, sizeof(o.sha256));
	o.stored = (int64_t)time(NULL);
	if ((r = objects_put(c->db, s->user, &s->meta, &o, replaced)) != 0) {
		op_record(s, "put", m.name, false, "%s", ferry_error_detail(r));
		unlink_object(s, u.id);
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot record \"%s\"", m.name);
		goto out;
	}
	/* A crash before this leaves a partial row whose file is gone: resuming it then
	 * finds nothing and starts afresh. */
	if (u.recorded)
		(void)partials_remove(c->db, u.id);
	u.recorded = false;
	unlink_object(s, replaced);
	op_done(s, "put", m.name, u.id, u.offset, o.size - u.offset, start,
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
	upload_close(s, &u);
	fbuf_free(cnt.head);
	return ret;
}
