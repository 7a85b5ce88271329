/*
 * Every size bound in ferry, in one place. Each buffer, parser and allocation that takes
 * untrusted input is limited by one of these.
 */
#ifndef FERRY_UTIL_LIMITS_H
#define FERRY_UTIL_LIMITS_H

/* Largest growable buffer anybody may create. */
#define FERRY_MAX_BUF            (64u * 1024u * 1024u)

/* Sealed-file format (docs/FORMAT.md). */
#define FERRY_MAX_HEADER         (64u * 1024u)   /* whole header, MAC included */
#define FERRY_MAX_STANZAS        64u             /* recipient stanzas per file */
#define FERRY_MAX_STANZA_BODY    4096u           /* one stanza's body */
#define FERRY_MIN_CHUNK          1024u           /* smallest allowed chunk size */
#define FERRY_MAX_CHUNK          (8u * 1024u * 1024u) /* largest allowed chunk size */
#define FERRY_DEFAULT_CHUNK      (1024u * 1024u)

/* scrypt work factor (log2 N) bounds; r and p are fixed by the format. */
#define FERRY_SCRYPT_DEFAULT_LOG2N 18u
#define FERRY_SCRYPT_MIN_LOG2N     10u
#define FERRY_SCRYPT_MAX_LOG2N     20u

/* Passphrases and key files read from disk or a terminal. */
#define FERRY_MAX_PASSPHRASE     1024u
#define FERRY_MAX_KEY_FILE       (64u * 1024u)

#endif
