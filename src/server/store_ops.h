/*
 * Internal to the store operations of a session (store_ops.c: the request loop, LIST,
 * DELE and the helpers below; store_put.c: PUTF; store_get.c: GETF).
 */
#ifndef FERRY_SERVER_STORE_OPS_H
#define FERRY_SERVER_STORE_OPS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/sealed.h"
#include "net/proto.h"
#include "server/server.h"
#include "store/meta.h"
#include "store/objects.h"
#include "store/vault.h"

/* What one session of one user needs. */
struct store_session {
	struct conn *c;
	const char *user;
	struct vault *vault;               /* these three: by session_keys(), once */
	struct vault_user_key *uk;         /* the user's key (created at first need) */
	struct meta_key meta;              /* the user's metadata keys (store/meta.h) */
};

/* An operation's return: 0, the session goes on; OP_CLOSE, it ends (connection unusable
 * or protocol violated). */
#define OP_CLOSE 1

int op_put(struct store_session *s, const struct frame *req);
int op_get(struct store_session *s, const struct frame *req);

/* Milliseconds of a monotonic clock. */
int64_t mono_ms(void);

/*
 * Log one operation, about the file called name (may be NULL), and audit it (best
 * effort). The audit row, in the data directory, gets the detail only: file names stay
 * out of it (they are sealed in the database, store/meta.h); the log line, which goes to
 * ferryd's standard error, names the file.
 */
void op_record(struct store_session *s, const char *event, const char *name, bool ok,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Log and audit a transfer that succeeded: the log line names the file and gives where it
 * resumed, the bytes moved, time and rate; the audit row only the object id and extra
 * (sizes stay out of the data directory as names do).
 */
void op_done(struct store_session *s, const char *event, const char *name, const char *object,
    uint64_t resumed_at, uint64_t bytes, int64_t start_ms, const char *extra);

/* Send ERRR code; returns OP_CLOSE when that fails or code is PROTOCOL, else 0. */
int op_error(struct store_session *s, enum proto_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The session's idle timeout in milliseconds. */
int idle_ms(struct store_session *s);

/* Check a requested name; on refusal *ok is false and ERRR NAME was answered. */
int check_name(struct store_session *s, const char *event, const char *name, bool *ok);

/* Open the vault and load the user's keys, once per session. On failure the error is
 * logged; the caller answers INTERNAL. */
int session_keys(struct store_session *s);

/* Path of object id under DIR/objects (tmp: under DIR/objects/tmp). */
void object_path(struct store_session *s, const char *id, bool tmp, char *buf, size_t n);

/* Unlink a committed-away object's file (best effort: a leftover is swept at start). */
void unlink_object(struct store_session *s, const char *id);

/* Whether a format failure is the stream's fault (INTEGRITY) rather than the server's. */
bool stream_fault(int r);

/* A sealed_*() call on its own thread between a descriptor and a pipe. */
enum stream_job_kind {
	JOB_VERIFY_NEW,      /* upload: sealed_rewrap_fd(verify) from the client's stream */
	JOB_VERIFY_RESUMED,  /* resumed upload: sealed_verify_from() */
	JOB_SEND,            /* download: sealed_rewrap_from() */
};

struct stream_job {
	enum stream_job_kind kind;
	int in_fd, out_fd;                 /* closed by the thread: close_in / close_out */
	bool close_in, close_out;
	const struct sealed_identity *id;
	const struct sealed_recipient *rcpt;
	struct sealed_stream *stream;      /* JOB_VERIFY_RESUMED */
	uint32_t chunk_size;               /* JOB_VERIFY_RESUMED */
	uint64_t first_chunk;              /* JOB_VERIFY_RESUMED, JOB_SEND */
	uint64_t plaintext_len;            /* verified bytes (JOB_VERIFY_*) */
	int result;
	char detail[512];
};

/* Start j on a new thread. */
int stream_job_start(struct stream_job *j, pthread_t *th);

#endif
