/*
 * The client's side of the store operations (docs/PROTOCOL.md, "Store operations"):
 * put, get, list and delete over one authenticated session with ferryd.
 *
 * A put sends the file in the sealed format (format/sealed.h) with its file key wrapped
 * for the public key of the server certificate verified in the TLS handshake; the
 * plaintext SHA-256 is computed while streaming and sent in DONE, and the server verifies
 * every chunk before it stores anything. A get receives the stored object re-wrapped for
 * the profile's key, decrypts it (which authenticates every chunk) and checks the
 * plaintext SHA-256 against the one recorded at put time.
 *
 * Each transfer runs the sealed_*_fd() stream on a worker thread joined to the frames
 * by a pipe; SIGPIPE is ignored process-wide from transfer_open() on (a failed write to
 * a pipe or socket must be an error, not a signal). Every error detail names the object.
 * After a failed operation the session may be unusable: transfer_*() then reconnect by
 * themselves for the next operation.
 */
#ifndef FERRY_CLIENT_TRANSFER_H
#define FERRY_CLIENT_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "client/connect.h"
#include "client/profile.h"

#define TRANSFER_SHA256_LEN   32
#define TRANSFER_SIZE_UNKNOWN UINT64_MAX

/* The DATA frames of a put carry at most this many bytes of the sealed stream. */
#define TRANSFER_DATA_MAX     (1024u * 1024u)

struct transfer_session;

/*
 * Progress of one transfer; the pointer and either callback may be NULL. start is called
 * on the calling thread once the server accepted the request, with the plaintext size
 * (0 when unknown); update on the worker thread with the plaintext bytes done so far
 * (the calling thread prints nothing meanwhile).
 */
struct transfer_observer {
	void (*start)(void *arg, uint64_t total);
	void (*update)(void *arg, uint64_t done);
	void *arg;
};

/* What the server recorded for an object. */
struct transfer_info {
	uint64_t size;                       /* plaintext bytes */
	uint8_t sha256[TRANSFER_SHA256_LEN]; /* of the plaintext */
	int64_t stored;                      /* Unix time (seconds); 0 when not known */
	uint64_t resumed_from;               /* bytes that were already there (resumed) */
	bool restarted;                      /* put: a resume was offered but the file had
	                                      * changed, so it was sent whole */
};

/* One entry of a listing; name is NUL-terminated and valid UTF-8. */
struct transfer_entry {
	char name[FERRY_MAX_OBJECT_NAME + 1];
	struct transfer_info info;
};

/*
 * Connect to server ("HOST:PORT") with the identity of profile p (its cert.pem and
 * key.pem; p is borrowed and must outlive the session) for a session. Returns 0 and *out
 * (free with transfer_close), or the errors of profile_load_identity() and
 * client_connect() (a refused certificate: FERRY_ERR_REVOKED / FERRY_ERR_AUTH with the
 * server's reason).
 */
int transfer_open(const struct profile *p, const char *server, struct transfer_session **out);

/* The user name the server accepted the certificate as. Borrowed. */
const char *transfer_identity(const struct transfer_session *s);

/* Close the session (best effort) and free. Accepts NULL. */
void transfer_close(struct transfer_session *s);

/*
 * Store everything readable from in_fd under name (1..255 bytes, the store's name rules;
 * the server has the last word). size is the plaintext size when known, else
 * TRANSFER_SIZE_UNKNOWN; the server refuses a stream longer than announced. On success
 * *info holds what the server recorded (checked to match what was sent). Errors:
 * FERRY_ERR_USAGE (bad name, the detail names the rule), FERRY_ERR_AUTH (the server found
 * the upload damaged: INTEGRITY), FERRY_ERR_LIMIT (QUOTA, BUSY), FERRY_ERR_IO reading
 * in_fd, the network's and the server's refusals; the detail starts with the name.
 *
 * With resume (in_fd a regular file read from its start, size known), a partial upload
 * the server kept from an earlier attempt cut off is continued: the client checks that
 * its file's first chunks are those stored (same key and nonce give the same tags) and
 * sends only the rest (info->resumed_from); if they differ it sends the whole file again
 * (info->restarted).
 */
int transfer_put(struct transfer_session *s, int in_fd, const char *name, uint64_t size,
    bool resume, const struct transfer_observer *obs, struct transfer_info *info);

/*
 * Fetch name and write its plaintext to out_fd. Returns 0 only when every chunk
 * authenticated and size and SHA-256 match those recorded at put time (*info); anything
 * already written to out_fd must then be discarded by the caller (stage it with
 * util/atomic_file.h). have > 0 continues a download: out_fd (readable, positioned at
 * its end) already holds the first have bytes; the server resumes at the start of their
 * last chunk, out_fd is cut there (info->resumed_from) and the kept bytes count in the
 * SHA-256 check, so a partial file that is not a prefix of the object fails it. Errors: FERRY_ERR_NOT_FOUND (no such object), FERRY_ERR_AUTH
 * (integrity: a chunk did not authenticate, or the size or SHA-256 differs), FERRY_ERR_IO
 * reading the partial output, FERRY_ERR_WRITE writing out_fd, the network's and the
 * server's.
 */
int transfer_get(struct transfer_session *s, const char *name, int out_fd, uint64_t have,
    const struct transfer_observer *obs, struct transfer_info *info);

/*
 * The caller's objects, sorted by name as the server sends them. *entries (free with
 * free()) holds *n entries (NULL when there are none).
 */
int transfer_list(struct transfer_session *s, struct transfer_entry **entries, size_t *n);

/* Delete name. FERRY_ERR_NOT_FOUND when there is no such object. */
int transfer_delete(struct transfer_session *s, const char *name);

/* Lower-case hex of a SHA-256 into out (65 bytes). */
void transfer_sha256_hex(const uint8_t sha256[TRANSFER_SHA256_LEN], char out[65]);

#endif
