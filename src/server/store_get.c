/*
 * GETF: a download (docs/PROTOCOL.md 12.3). A thread runs sealed_rewrap_from() from the
 * object file into a pipe: the stored header re-wrapped for the client certificate's key,
 * then the stored chunks unchanged (from chunk k when the client continues a partial
 * download); the main thread sends what comes out as DATA frames. The client
 * authenticates every chunk and checks the SHA-256 recorded at upload.
 */
#include "server/store_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/log.h"
#include "util/err.h"
#include "util/io.h"

/*
 * Where a download that the client holds offset bytes of goes on: the start of the chunk
 * holding byte offset (the last chunk's at most; 0 when the client holds more than there
 * is). Reads the stored header for the chunk size; fd is left at its start.
 */
static int
resume_point(int fd, const struct db_object *o, uint64_t offset, uint64_t *first,
    uint64_t *start)
{
	struct sealed_header h;
	struct fbuf *raw;
	uint64_t chunks;
	int r;

	*first = 0;
	*start = 0;
	if ((raw = fbuf_new(FERRY_MAX_HEADER)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	r = sealed_header_read_fd(fd, raw, &h);
	if (r == 0 && lseek(fd, 0, SEEK_SET) != 0)
		r = ferry_fail(FERRY_ERR_IO, "object %s: %s", o->object, strerror(errno));
	if (r == 0 && offset <= o->size) {
		chunks = o->size == 0 ? 1 : (o->size - 1) / h.chunk_size + 1;
		*first = offset / h.chunk_size;
		if (*first > chunks - 1)
			*first = chunks - 1;
		*start = *first * h.chunk_size;
	}
	fbuf_free(raw);
	return r;
}

int
op_get(struct store_session *s, const struct frame *req)
{
	struct conn *c = s->c;
	struct proto_get m;
	struct proto_file file;
	struct proto_done done = { 0 };
	struct db_object o;
	struct sealed_identity uid;
	struct sealed_recipient crc;
	struct stream_job job;
	char path[4096];
	X509 *peer;
	uint8_t *buf = NULL;
	size_t got;
	pthread_t th;
	bool thread_running = false, name_ok;
	int pipefd[2] = { -1, -1 }, fd = -1, r, ret = 0;
	int64_t start = mono_ms();
	uint64_t sent = 0, first = 0;

	memset(&job, 0, sizeof(job));
	if ((r = proto_get_decode(req->payload, req->len, &m)) != 0) {
		srv_log(SRV_LOG_INFO, "get %s from %s: %s", s->user, c->peer,
		    ferry_error_detail(r));
		return op_error(s, PROTO_ERR_PROTOCOL, "%s", ferry_error_detail(r));
	}
	if ((ret = check_name(s, "get", m.name, &name_ok)) != 0 || !name_ok)
		return ret;
	if ((r = session_keys(s)) != 0) {
		op_record(s, "get", m.name, false, "%s", ferry_error_detail(r));
		return op_error(s, PROTO_ERR_INTERNAL, "server key store unavailable");
	}
	/* A concurrent put of the same name may unlink the file between lookup and open:
	 * look up again then. */
	for (int tries = 0; tries < 3; tries++) {
		if ((r = objects_get(c->db, s->user, &s->meta, m.name, &o)) != 0)
			break;
		object_path(s, o.object, false, path, sizeof(path));
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0 || errno != ENOENT)
			break;
	}
	if (r == FERRY_ERR_NOT_FOUND) {
		op_record(s, "get", m.name, false, "not found");
		return op_error(s, PROTO_ERR_NOT_FOUND, "no file called \"%s\"", m.name);
	}
	if (r != 0 || fd < 0) {
		op_record(s, "get", m.name, false, "%s",
		    r != 0 ? ferry_error_detail(r) : strerror(errno));
		ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot read \"%s\"", m.name);
		goto out;
	}
	if ((peer = tls_peer_cert(c->tls)) == NULL || X509_get0_pubkey(peer) == NULL) {
		ret = op_error(s, PROTO_ERR_CERT_REQUIRED, "no client certificate key");
		goto out;
	}
	if ((buf = io_buffer_new(FERRY_MAX_DATA_PAYLOAD)) == NULL ||
	    pipe2(pipefd, O_CLOEXEC) != 0) {
		op_record(s, "get", m.name, false, "out of resources");
		ret = op_error(s, PROTO_ERR_INTERNAL, "server error");
		goto out;
	}
	(void)fcntl(pipefd[1], F_SETPIPE_SZ, (int)FERRY_MAX_DATA_PAYLOAD);

	memset(&file, 0, sizeof(file));
	file.size = o.size;
	memcpy(file.sha256, o.sha256, sizeof(file.sha256));
	if (m.offset > 0 && (r = resume_point(fd, &o, m.offset, &first, &file.start)) != 0) {
		op_record(s, "get", m.name, false, "(object %s): stored object damaged: %s",
		    o.object, ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTEGRITY, "stored copy of \"%s\" is damaged",
		    m.name);
		goto out;
	}
	if (proto_send_file(&c->t, &file, idle_ms(s)) != 0) {
		ret = OP_CLOSE;
		goto out;
	}
	vault_user_key_identity(s->uk, &uid);
	memset(&crc, 0, sizeof(crc));
	crc.kind = SEALED_PUBLIC_KEY;
	crc.key = X509_get0_pubkey(peer);
	job.kind = JOB_SEND;
	job.in_fd = fd;
	job.close_in = true;
	job.out_fd = pipefd[1];
	job.close_out = true;
	job.id = &uid;
	job.rcpt = &crc;
	job.first_chunk = first;
	if ((r = stream_job_start(&job, &th)) != 0) {
		op_record(s, "get", m.name, false, "%s", ferry_error_detail(r));
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
			op_record(s, "get", m.name, false, "download cut off after %llu bytes",
			    (unsigned long long)sent);
			ret = OP_CLOSE;
			goto out;
		}
		sent += got;
	}
	pthread_join(th, NULL);
	thread_running = false;
	if (job.result != 0) {
		if (stream_fault(job.result)) {
			op_record(s, "get", m.name, false, "(object %s): stored object damaged: %s",
			    o.object, job.detail);
			ret = op_error(s, PROTO_ERR_INTEGRITY, "stored copy of \"%s\" is damaged",
			    m.name);
		} else {
			op_record(s, "get", m.name, false, "%s", job.detail);
			ret = op_error(s, PROTO_ERR_INTERNAL, "server cannot read \"%s\"", m.name);
		}
		goto out;
	}
	if (proto_send_done(&c->t, &done, idle_ms(s)) != 0) {
		ret = OP_CLOSE;
		goto out;
	}
	op_done(s, "get", m.name, o.object, file.start, o.size - file.start, start, "");
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
	return ret;
}

