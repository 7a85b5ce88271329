/*
 * Recipient stanzas of the sealed-file header (internal to src/format): each kind wraps
 * the file key for one recipient and unwraps it for a matching identity.
 */
#ifndef FERRY_FORMAT_STANZA_H
#define FERRY_FORMAT_STANZA_H

#include <stdint.h>

#include "format/sealed.h"
#include "util/buf.h"

/* Body lengths of the fixed-size stanza kinds. */
#define STANZA_X25519_LEN   (32 + SEALED_FILE_KEY_LEN + SEALED_TAG_LEN)        /* 80 */
#define STANZA_P384_LEN     (97 + SEALED_FILE_KEY_LEN + SEALED_TAG_LEN)        /* 145 */
#define STANZA_SCRYPT_LEN   (16 + 1 + SEALED_FILE_KEY_LEN + SEALED_TAG_LEN)    /* 65 */
#define STANZA_KEY_ID_LEN   (SEALED_KEY_ID_LEN + 12 + SEALED_FILE_KEY_LEN + SEALED_TAG_LEN) /* 76 */
#define STANZA_RSA_MIN_LEN  384   /* 3072-bit modulus */
#define STANZA_RSA_MAX_LEN  1024  /* 8192-bit modulus */
#define STANZA_SCRYPT_SALT_LEN 16
#define STANZA_SCRYPT_LOG2N_OFFSET 16 /* within the body */

/*
 * Append one stanza (type, length, body) wrapping file_key for rcpt to out.
 * FERRY_ERR_KEY for an unsupported recipient key (detail says which).
 */
int stanza_wrap(const struct sealed_recipient *rcpt, const uint8_t file_key[SEALED_FILE_KEY_LEN],
    struct fbuf *out);

/*
 * Check a parsed stanza body's length and fields against the format's bounds;
 * FERRY_ERR_FORMAT / FERRY_ERR_LIMIT with a detail naming the offset. Unknown types pass.
 */
int stanza_check(const struct sealed_stanza *s);

/*
 * Try to unwrap file_key from stanza s with identity id. Returns 0 on success;
 * FERRY_ERR_NO_IDENTITY when the stanza is not for this identity (other kind, other key,
 * or damaged), FERRY_ERR_PASSPHRASE when a passphrase does not open a scrypt stanza.
 * Records no detail; file_key is wiped on failure.
 */
int stanza_unwrap(const struct sealed_stanza *s, const struct sealed_identity *id,
    uint8_t file_key[SEALED_FILE_KEY_LEN]);

#endif
