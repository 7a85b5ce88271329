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

/* ---- net: framing and version-1 messages (src/net, docs/PROTOCOL.md) ---- */
#define FERRY_FRAME_HEADER_LEN   8u              /* type (4) + length (4) */
#define FERRY_MAX_FRAME          (1024u * 1024u + 64u * 1024u) /* payload, authenticated peer */
#define FERRY_MAX_FRAME_PREAUTH  (16u * 1024u)   /* payload, before the peer is authenticated */
#define FERRY_MAX_MSG_SOFTWARE   64u             /* HELO software name (printable ASCII) */
#define FERRY_MAX_MSG_USER       64u             /* ENRL user name / HELO identity on the wire */
#define FERRY_MAX_MSG_PASSWORD   1024u           /* ENRL password (at least 1 byte) */
#define FERRY_MAX_MSG_CSR        8192u           /* ENRL CSR, DER */
#define FERRY_MAX_MSG_CERT       8192u           /* CERT certificate, DER */
#define FERRY_MAX_MSG_ERROR      1024u           /* ERRR message (UTF-8) */
#define FERRY_MAX_HOST_PORT      300u            /* "host:port" / "[v6]:port" text */

/* ---- store/config: accounts, database, config files (src/store, src/util/config) ---- */
#define FERRY_MAX_USER_NAME      32u             /* account name, [a-z0-9._-], docs in account.h */
#define FERRY_MAX_PASSWORD       1024u           /* account password bytes */
#define FERRY_MAX_PW_HASH        127u            /* stored "scrypt$..." record, characters */
#define FERRY_MAX_SERIAL_HEX     40u             /* certificate serial, hex digits (20 bytes) */
#define FERRY_MAX_AUTH_SCOPE     320u            /* rate-limit scope, e.g. "addr:<ip>" */
#define FERRY_MAX_AUDIT_FIELD    1024u           /* one audit text field, bytes */
#define FERRY_MAX_CONFIG_LINE    1024u           /* one config line, without its newline */
#define FERRY_MAX_CONFIG_FILE    (64u * 1024u)   /* whole config file */

/* PKI (src/pki). */
#define FERRY_MAX_CSR            8192u           /* DER PKCS#10 request */
#define FERRY_MAX_CERT           8192u           /* DER certificate on the wire */
#define FERRY_MAX_CERT_FILE      (64u * 1024u)   /* PEM certificate or CRL file on disk */
#define FERRY_MAX_HOSTS          16u             /* --host entries in the server certificate */
#define FERRY_MAX_HOST_LEN       253u            /* one DNS name */
#define FERRY_MAX_ORG            50u             /* organisation name, bytes ("<ORG> ferry root CA" <= 64) */
#define FERRY_MIN_RSA_BITS       3072u           /* smallest RSA key accepted in a CSR */
#define FERRY_MAX_RSA_BITS       8192u           /* largest (bounds the verification cost) */
#define FERRY_CA_DAYS            3650u           /* root CA validity */
#define FERRY_SERVER_CERT_DAYS   825u            /* server certificate validity */
#define FERRY_MIN_CLIENT_CERT_DAYS 1u            /* cert_validity_days bounds */
#define FERRY_MAX_CLIENT_CERT_DAYS 825u
#define FERRY_DEFAULT_CLIENT_CERT_DAYS 90u
#define FERRY_CRL_DAYS           7u              /* CRL nextUpdate - lastUpdate */
#define FERRY_CERT_BACKDATE      300             /* notBefore = now - this (seconds), clock skew */

/* Client profile (src/client). */
#define FERRY_MAX_PROFILE_CONF   4096u        /* profile.conf, the whole file */

/* ---- store operations: object names and transfer frames (src/store/objects.h, src/net) ---- */
#define FERRY_MAX_OBJECT_NAME    255u            /* object name, bytes of UTF-8 (objects.h) */
#define FERRY_MAX_DATA_PAYLOAD   (1024u * 1024u) /* one DATA frame's payload */
#define FERRY_OBJECT_ID_LEN      16u             /* random object id, bytes (32 hex digits) */
#define FERRY_MAX_DRAIN          (64u * 1024u * 1024u) /* DATA discarded after a refused upload,
                                                    beyond what was announced */

#endif
