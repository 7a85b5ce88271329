/*
 * ferryd serve, a child: the store operations of an accepted session (docs/PROTOCOL.md,
 * "Store operations"): PUTF (store_put.c), GETF (store_get.c), LIST, DELE, one after
 * another until the client leaves; and the helpers they share.
 *
 * The format work of an upload or a download runs on a second thread between a pipe and
 * the object file (struct stream_job), while the main thread moves DATA frames between
 * the pipe and TLS.
 */
#include "server/store_ops.h"

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


int64_t
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

void
op_record(struct store_session *s, const char *event, const char *name, bool ok,
    const char *fmt, ...)
{
	char detail[FERRY_MAX_AUDIT_FIELD];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (name != NULL)
		srv_log(ok ? SRV_LOG_INFO : SRV_LOG_WARN, "%s %s from %s: %s: \"%s\": %s", event,
		    s->user, s->c->peer, ok ? "ok" : "failed", name, detail);
	else
		srv_log(ok ? SRV_LOG_INFO : SRV_LOG_WARN, "%s %s from %s: %s: %s", event, s->user,
		    s->c->peer, ok ? "ok" : "failed", detail);
	(void)db_audit(s->c->db, event, s->user, s->c->peer, ok, detail);
}

void
op_done(struct store_session *s, const char *event, const char *name, const char *object,
    uint64_t resumed_at, uint64_t bytes, int64_t start_ms, const char *extra)
{
	char rate[96], at[48] = "", detail[FERRY_MAX_AUDIT_FIELD];

	rate_text(bytes, mono_ms() - start_ms, rate, sizeof(rate));
	if (resumed_at > 0)
		snprintf(at, sizeof(at), "resumed at %llu, ", (unsigned long long)resumed_at);
	srv_log(SRV_LOG_INFO, "%s %s from %s: ok: \"%s\": object %s, %s%s%s", event, s->user,
	    s->c->peer, name, object, at, rate, extra);
	snprintf(detail, sizeof(detail), "object %s%s", object, extra);
	(void)db_audit(s->c->db, event, s->user, s->c->peer, true, detail);
}

int
idle_ms(struct store_session *s)
{
	return conn_idle_ms(s->c);
}

int
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
int
check_name(struct store_session *s, const char *event, const char *name, bool *ok)
{
	const char *why;

	*ok = store_name_valid(name, &why);
	if (*ok)
		return 0;
	op_record(s, event, NULL, false, "refused: invalid name (%s)", why);
	return op_error(s, PROTO_ERR_NAME, "invalid name: it %s", why);
}

int
session_keys(struct store_session *s)
{
	int r;

	if (s->uk != NULL)
		return 0;
	if ((s->vault == NULL &&
	    (r = vault_open(s->c->srv->paths.dir, s->c->db, &s->vault)) != 0) ||
	    (r = vault_user_key(s->vault, s->user, true, &s->uk)) != 0 ||
	    (r = meta_key_derive(s->uk, &s->meta)) != 0) {
		srv_log(SRV_LOG_ERROR, "keys of %s: %s", s->user, ferry_error_detail(r));
		vault_user_key_free(s->uk);
		s->uk = NULL;
	}
	return r;
}

/* Path of object id under DIR/objects (tmp: under DIR/objects/tmp). */
void
object_path(struct store_session *s, const char *id, bool tmp, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", tmp ? s->c->srv->paths.objects_tmp : s->c->srv->paths.objects,
	    id);
}

/* Unlink a committed-away object's file (best effort: a leftover is swept at start). */
void
unlink_object(struct store_session *s, const char *id)
{
	char path[4096];

	if (id[0] == '\0' || !objects_id_valid(id))
		return;
	object_path(s, id, false, path, sizeof(path));
	if (unlink(path) != 0 && errno != ENOENT)
		srv_log(SRV_LOG_WARN, "%s: cannot remove: %s", path, strerror(errno));
	else
		(void)io_fsync_dir(s->c->srv->paths.objects);
}

/* Whether a rewrap failure is the stream's fault (INTEGRITY) rather than the server's. */
bool
stream_fault(int r)
{
	return r == FERRY_ERR_AUTH || r == FERRY_ERR_FORMAT || r == FERRY_ERR_TRUNCATED ||
	    r == FERRY_ERR_NO_IDENTITY || r == FERRY_ERR_UNSUPPORTED || r == FERRY_ERR_LIMIT ||
	    r == FERRY_ERR_KEY;
}

/* ---- the stream thread ------------------------------------------------------------- */

static void *
stream_job_main(void *arg)
{
	struct stream_job *j = arg;

	ferry_error_clear();
	switch (j->kind) {
	case JOB_VERIFY_NEW:
		j->result = sealed_rewrap_fd(j->in_fd, j->out_fd, j->id, 1, j->rcpt, 1, true,
		    &j->plaintext_len);
		break;
	case JOB_VERIFY_RESUMED:
		j->result = sealed_verify_from(j->in_fd, j->out_fd, j->stream, j->chunk_size,
		    j->first_chunk, &j->plaintext_len);
		break;
	case JOB_SEND:
		j->result = sealed_rewrap_from(j->in_fd, j->out_fd, j->id, 1, j->rcpt, 1,
		    j->first_chunk);
		break;
	}
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

int
stream_job_start(struct stream_job *j, pthread_t *th)
{
	int e;

	if ((e = pthread_create(th, NULL, stream_job_main, j)) != 0)
		return ferry_fail(FERRY_ERR_INTERNAL, "cannot start a thread: %s", strerror(e));
	return 0;
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
	if ((r = session_keys(s)) != 0) {
		op_record(s, "list", NULL, false, "%s", ferry_error_detail(r));
		return op_error(s, PROTO_ERR_INTERNAL, "server key store unavailable");
	}
	if ((r = objects_list(s->c->db, s->user, &s->meta, list_add, &a)) != 0) {
		op_record(s, "list", NULL, false, "%s", ferry_error_detail(r));
		ret = op_error(s, PROTO_ERR_INTERNAL, "%s", r == FERRY_ERR_LIMIT ?
		    "too many files to list in one reply" : "server database error");
		goto out;
	}
	if (proto_send_ents(&s->c->t, a.e, a.n, idle_ms(s)) != 0) {
		ret = OP_CLOSE;
		goto out;
	}
	op_record(s, "list", NULL, true, "%zu files", a.n);
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
	if ((r = session_keys(s)) != 0) {
		op_record(s, "delete", m.name, false, "%s", ferry_error_detail(r));
		return op_error(s, PROTO_ERR_INTERNAL, "server key store unavailable");
	}
	if ((r = objects_delete(s->c->db, s->user, &s->meta, m.name, removed)) != 0) {
		if (r == FERRY_ERR_NOT_FOUND) {
			op_record(s, "delete", m.name, false, "not found");
			return op_error(s, PROTO_ERR_NOT_FOUND, "no file called \"%s\"", m.name);
		}
		op_record(s, "delete", m.name, false, "%s", ferry_error_detail(r));
		return op_error(s, PROTO_ERR_INTERNAL, "server database error");
	}
	unlink_object(s, removed);
	op_record(s, "delete", m.name, true, "object %s", removed);
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
	vault_user_key_free(s.uk);
	meta_key_clear(&s.meta);
	vault_free(s.vault);
}
