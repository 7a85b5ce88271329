/*
 * The sealed-file format (docs/FORMAT.md): a header of recipient stanzas wrapping a random
 * 32-byte file key, authenticated by HMAC-SHA256, followed by the payload in AES-256-GCM
 * chunks under the STREAM construction. Used for files in transit, between peers and at
 * rest.
 *
 * Layers of this API, lowest first:
 *  - sealed_header_*: build, parse (pure, bounded, fuzzed) and unwrap a header;
 *  - sealed_stream_*: seal/open one payload chunk by index;
 *  - sealed_encrypt_fd / sealed_decrypt_fd: whole streams between file descriptors in
 *    constant memory;
 *  - sealed_*_from, sealed_partial_scan, sealed_resume_check: the same from chunk k on,
 *    to resume a cut-off transfer (docs/FORMAT.md, "Resuming a stream"). The whole-stream
 *    functions are these with k = 0.
 */
#ifndef FERRY_FORMAT_SEALED_H
#define FERRY_FORMAT_SEALED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "util/buf.h"
#include "util/limits.h"

#define SEALED_MAGIC            "FERRY\0"
#define SEALED_MAGIC_LEN        6
#define SEALED_VERSION          1
#define SEALED_FILE_KEY_LEN     32
#define SEALED_NONCE_LEN        16
#define SEALED_MAC_LEN          32
#define SEALED_KEY_ID_LEN       16
#define SEALED_FIXED_LEN        30   /* magic, version, chunk size, nonce, stanza count */
#define SEALED_TAG_LEN          16
#define SEALED_TAGS_DIGEST_LEN  32   /* SHA-256 over the tags of chunks 0..k-1 */

/* Stanza types (one byte on the wire). */
#define SEALED_STANZA_X25519    0x01
#define SEALED_STANZA_P384      0x02
#define SEALED_STANZA_RSA_OAEP  0x03
#define SEALED_STANZA_SCRYPT    0x04
#define SEALED_STANZA_KEY_ID    0x05

/* Someone a file is encrypted to. */
enum sealed_party_kind {
	SEALED_PUBLIC_KEY,  /* key: X25519, P-384 or RSA (>= 3072 bits) */
	SEALED_PASSPHRASE,  /* secret/secret_len: the passphrase; log2n for encryption */
	SEALED_SYMMETRIC,   /* key_id (16 bytes) and secret (32 bytes): at-rest wrapping */
};

struct sealed_recipient {
	enum sealed_party_kind kind;
	EVP_PKEY *key;              /* public key (SEALED_PUBLIC_KEY) */
	const uint8_t *secret;      /* passphrase or symmetric key */
	size_t secret_len;
	const uint8_t *key_id;      /* SEALED_SYMMETRIC */
	unsigned log2n;             /* SEALED_PASSPHRASE: scrypt work factor */
};

/* Someone trying to open a file: same fields, key being a private key. */
struct sealed_identity {
	enum sealed_party_kind kind;
	EVP_PKEY *key;
	const uint8_t *secret;
	size_t secret_len;
	const uint8_t *key_id;
};

struct sealed_stanza {
	uint8_t type;
	uint16_t len;
	const uint8_t *body;        /* points into the parsed bytes */
	size_t offset;              /* of the stanza's type byte, for messages */
};

/* A parsed header; its pointers borrow the bytes given to sealed_header_parse(). */
struct sealed_header {
	uint32_t chunk_size;
	uint8_t nonce[SEALED_NONCE_LEN];
	size_t nstanzas;
	struct sealed_stanza stanzas[FERRY_MAX_STANZAS];
	const uint8_t *bytes;       /* the header as parsed, MAC included */
	size_t mac_offset;          /* bytes covered by the MAC */
	size_t len;                 /* total header length, MAC included */
};

/*
 * Encode a header wrapping file_key for every recipient, appending it to out.
 * A passphrase recipient must be the only one (FERRY_ERR_USAGE otherwise).
 */
int sealed_header_build(const uint8_t file_key[SEALED_FILE_KEY_LEN],
    const uint8_t nonce[SEALED_NONCE_LEN], uint32_t chunk_size,
    const struct sealed_recipient *rcpts, size_t nrcpts, struct fbuf *out);

/*
 * Parse len bytes as a header, checking every field against its bound. Returns 0 with *h
 * filled; FERRY_ERR_TRUNCATED with *need set to the total number of bytes needed to go on
 * (so a caller reading a stream can fetch exactly that many and call again); or
 * FERRY_ERR_FORMAT / FERRY_ERR_LIMIT / FERRY_ERR_UNSUPPORTED with a detail naming the
 * field and its offset. Does not verify the MAC (that needs the file key).
 */
int sealed_header_parse(const uint8_t *p, size_t len, struct sealed_header *h, size_t *need);

/*
 * Read exactly one header from fd into raw (created by the caller with max
 * FERRY_MAX_HEADER) and parse it into *h (whose pointers then borrow raw).
 */
int sealed_header_read_fd(int fd, struct fbuf *raw, struct sealed_header *h);

/*
 * Find the file key: try each identity on each stanza it can open, then verify the header
 * MAC under the key found. FERRY_ERR_NO_IDENTITY when nothing opened, FERRY_ERR_AUTH when
 * a key was found but the MAC does not verify, FERRY_ERR_PASSPHRASE for a wrong
 * passphrase. The key is wiped on failure.
 */
int sealed_header_unwrap(const struct sealed_header *h, const struct sealed_identity *ids,
    size_t nids, uint8_t file_key[SEALED_FILE_KEY_LEN]);

struct sealed_stream;

/* Unwrap h with ids (sealed_header_unwrap(), with its errors) and derive the payload
 * stream of its file into *out (free with sealed_stream_free()). The file key is wiped. */
int sealed_header_open(const struct sealed_header *h, const struct sealed_identity *ids,
    size_t nids, struct sealed_stream **out);

/* ---- payload chunks ---------------------------------------------------------------- */

/* Derive the payload key from file_key and nonce. Caller frees with sealed_stream_free(),
 * which wipes it. */
int sealed_stream_new(const uint8_t file_key[SEALED_FILE_KEY_LEN],
    const uint8_t nonce[SEALED_NONCE_LEN], struct sealed_stream **out);
void sealed_stream_free(struct sealed_stream *s);

/* Seal chunk number index (len plaintext bytes into len + 16). In-place allowed. */
int sealed_stream_seal(struct sealed_stream *s, uint64_t index, bool last,
    const uint8_t *pt, size_t len, uint8_t *ct);
/* Open chunk number index (len >= 16 ciphertext bytes into len - 16). FERRY_ERR_AUTH,
 * without detail, when it does not verify; the output is wiped then. */
int sealed_stream_open(struct sealed_stream *s, uint64_t index, bool last,
    const uint8_t *ct, size_t len, uint8_t *pt);

/* ---- whole files --------------------------------------------------------------------- */

/*
 * Callbacks while a whole file is processed; either may be NULL. update gets the running
 * count of plaintext bytes after each chunk; plaintext sees each chunk's plaintext in
 * order (on decryption only once it has been authenticated), e.g. to hash it.
 */
struct sealed_progress {
	void (*update)(void *arg, uint64_t done);
	void (*plaintext)(void *arg, const uint8_t *p, size_t len);
	void *arg;
};

/* Encrypt everything readable from in_fd to out_fd. progress may be NULL. */
int sealed_encrypt_fd(int in_fd, int out_fd, const struct sealed_recipient *rcpts,
    size_t nrcpts, uint32_t chunk_size, const struct sealed_progress *progress);

/*
 * Decrypt in_fd to out_fd. Each chunk is written only after it verified; a stream that
 * ends early, carries extra data, or was reordered fails with a detail naming the chunk
 * and its offset. The caller writing to a file must stage it (util/atomic_file.h) and
 * commit only on success.
 */
int sealed_decrypt_fd(int in_fd, int out_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_progress *progress);

/* ---- re-wrapping ------------------------------------------------------------------ */

/*
 * Re-wrap a parsed header for other recipients (docs/FORMAT.md, "Re-wrapping a header"):
 * unwrap the file key with ids and verify the MAC (as sealed_header_unwrap(), with its
 * errors), then append to out a new header with the same chunk size and nonce, the file
 * key wrapped only for rcpts (as sealed_header_build(), with its rules) and a new MAC.
 * The payload that followed h stays valid unchanged after the new header, since the
 * payload key depends only on the file key and the nonce. Stanzas of h (unknown types
 * included) are not carried over. The file key is wiped; on failure out is left as it
 * was.
 */
int sealed_header_rewrap(const struct sealed_header *h, const struct sealed_identity *ids,
    size_t nids, const struct sealed_recipient *rcpts, size_t nrcpts, struct fbuf *out);

/*
 * Read one sealed stream from in_fd and write it to out_fd with its header re-wrapped
 * (sealed_header_rewrap) and its payload bytes unchanged: no chunk is re-encrypted. With
 * verify, every chunk is authenticated before it is written (with sealed_decrypt_fd's
 * errors for damaged, reordered, truncated or extended streams) and *plaintext_len (may be
 * NULL) receives the plaintext size; without, the payload is copied as it comes.
 */
int sealed_rewrap_fd(int in_fd, int out_fd, const struct sealed_identity *ids, size_t nids,
    const struct sealed_recipient *rcpts, size_t nrcpts, bool verify,
    uint64_t *plaintext_len);

/* ---- resuming a stream (docs/FORMAT.md, "Resuming a stream") ----------------------- */

/*
 * Every function below handles chunks first.. of a stream whose chunks 0..first-1 were
 * handled earlier, with the same payload key and chunk size. Chunk numbers in messages
 * are absolute; offsets count bytes of the function's own input (so the first chunk read
 * by sealed_verify_from() is at offset 0). The "tags digest" of chunks 0..k-1 is SHA-256
 * over their 16-byte GCM tags, in chunk order (SHA-256 of nothing when k = 0).
 */

/* What a stored, possibly cut-off stream holds (server, before resuming an upload). */
struct sealed_partial {
	uint64_t chunks;        /* leading complete chunks that verify as NOT final */
	uint64_t durable_len;   /* header length + chunks * (chunk_size + 16): truncate here */
	uint8_t tags_digest[SEALED_TAGS_DIGEST_LEN]; /* SHA-256 of their tags, in order */
	bool final_chunk;       /* the bytes after them (up to chunk_size + 16 of them) are
	                         * a final chunk that verifies: the stream arrived complete.
	                         * Do not offer a resume then (docs/FORMAT.md, section 8:
	                         * re-sealing it could re-use its nonce for other plaintext). */
};

/*
 * Read a header from fd into raw (created by the caller with max FERRY_MAX_HEADER) and *h
 * (whose pointers then borrow raw), open it with ids, then authenticate the chunks that
 * follow in order until the first that is incomplete, does not verify, or verifies only
 * as the final chunk; that one and what follows are not counted. Never fails because of
 * the payload (a damaged tail just ends the count; out->final_chunk tells whether it ended
 * with a whole, verified final chunk): errors only when the header cannot be
 * read or opened (sealed_header_read_fd(), sealed_header_open()), or on a read error or
 * lack of memory. fd is read from its current position, which must be the stream's start.
 */
int sealed_partial_scan(int fd, const struct sealed_identity *ids, size_t nids,
    struct fbuf *raw, struct sealed_header *h, struct sealed_partial *out);

/*
 * Client, before resuming an upload: read exactly chunks * chunk_size bytes from in_fd
 * (nothing more, so in_fd is left at the first byte of chunk `chunks`), seal each
 * chunk_size piece as chunk i (not final) with stream, and compare the tags digest of
 * chunks 0..chunks-1 with want in constant time. progress->plaintext sees the prefix (so
 * the caller's hash covers it) and progress->update the running count. FERRY_ERR_AUTH
 * "the local file differs from the partial upload" on a mismatch or a short input.
 */
int sealed_resume_check(int in_fd, struct sealed_stream *stream, uint32_t chunk_size,
    uint64_t chunks, const uint8_t want[SEALED_TAGS_DIGEST_LEN],
    const struct sealed_progress *progress);

/*
 * Encrypt the rest of in_fd as chunks first.. (no header) to out_fd. progress->update
 * counts from first * chunk_size. With first > 0, an input that is already at its end is
 * FERRY_ERR_IO "input ended at a chunk boundary it did not end at before" (chunk first
 * would be an empty final chunk, which only chunk 0 may be). sealed_encrypt_fd() is a
 * new header followed by this with first = 0.
 */
int sealed_encrypt_from(int in_fd, int out_fd, struct sealed_stream *stream,
    uint32_t chunk_size, uint64_t first, const struct sealed_progress *progress);

/*
 * Server, resumed upload: authenticate chunks first.. read from in_fd (no header), writing
 * each verified chunk's ciphertext unchanged to out_fd; requires a final chunk and nothing
 * after it, with sealed_decrypt_fd()'s errors. *plaintext_len (may be NULL): the plaintext
 * bytes of this part only.
 */
int sealed_verify_from(int in_fd, int out_fd, struct sealed_stream *stream,
    uint32_t chunk_size, uint64_t first, uint64_t *plaintext_len);

/*
 * Client download: a header, then the chunks from plaintext offset start on (start a
 * multiple of the header's chunk size, else FERRY_ERR_FORMAT: the reader of a resumed
 * download knows the offset, not the chunk size); the plaintext of those chunks to out_fd,
 * with sealed_decrypt_fd()'s rules and errors (which this is with start = 0).
 * progress->update counts from start.
 */
int sealed_decrypt_from(int in_fd, int out_fd, const struct sealed_identity *ids,
    size_t nids, uint64_t start, const struct sealed_progress *progress);

/*
 * Server download: re-wrap the header of the stored stream on in_fd for rcpts
 * (sealed_header_rewrap()) and copy chunks first.. unchanged, unverified (the reader
 * authenticates them). With first > 0 in_fd must be a regular file positioned at the
 * stream's start; the chunks before first are skipped with lseek. FERRY_ERR_USAGE if
 * first is past the last chunk. sealed_rewrap_fd(verify = false) is this with first = 0,
 * which also reads pipes.
 */
int sealed_rewrap_from(int in_fd, int out_fd, const struct sealed_identity *ids,
    size_t nids, const struct sealed_recipient *rcpts, size_t nrcpts, uint64_t first);

#endif
