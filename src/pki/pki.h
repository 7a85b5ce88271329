/*
 * The organisation's PKI: root CA, server certificate, client certificates issued from
 * PKCS#10 requests, CRLs, and the certificate file helpers around them.
 *
 * Policy (docs/ARCHITECTURE.md, issue 3):
 * - Root CA: P-384, self-signed, CN "<ORG> ferry root CA", O <ORG>; basicConstraints
 *   CA:TRUE, pathlen:0 (critical); keyUsage keyCertSign, cRLSign (critical); SKI;
 *   FERRY_CA_DAYS days; random 16-byte serial.
 * - Server certificate: P-384, CN = first host, O copied from the CA's subject; SAN
 *   DNS/IP for every host; basicConstraints CA:FALSE (critical); keyUsage
 *   digitalSignature (critical); EKU serverAuth; SKI/AKI; FERRY_SERVER_CERT_DAYS days.
 * - Client certificate: the key comes from a CSR whose signature verifies and whose key
 *   is P-384 or RSA FERRY_MIN_RSA_BITS..FERRY_MAX_RSA_BITS. Subject and every extension
 *   are set here, never copied from the CSR: CN=<user>, O=<org>; CA:FALSE (critical);
 *   keyUsage digitalSignature + keyEncipherment (RSA) or digitalSignature + keyAgreement
 *   (EC) (critical); EKU clientAuth; SKI/AKI.
 * - Every certificate's validity is clamped to the CA's notAfter; notBefore is backdated
 *   by FERRY_CERT_BACKDATE seconds for clock skew.
 * - Serials we issue are 16 random bytes, positive, first byte 0x10..0x7f: always 32
 *   lowercase hex digits (PKI_SERIAL_HEX_LEN), the first 1..7, in the canonical form
 *   below.
 *
 * Canonical serial hex: the serial's magnitude, big-endian, lowercase, no leading
 * zeros (so an odd number of digits is possible for serials issued elsewhere). This is
 * the form pki_cert_serial_hex() returns, and the one the store normalises to.
 *
 * All objects are OpenSSL's (EVP_PKEY, X509, X509_REQ, X509_CRL); the caller frees what
 * it is handed with EVP_PKEY_free / X509_free / X509_REQ_free / X509_CRL_free. On failure
 * the out parameters are NULL. Keys on disk use src/crypto/keys.h: key_save_private()
 * (0600) and key_load_private(); this module has no key file functions of its own.
 */
#ifndef FERRY_PKI_PKI_H
#define FERRY_PKI_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util/limits.h"

/* Hex digits of a serial we issue; buffers for it are PKI_SERIAL_HEX_LEN + 1 bytes. */
#define PKI_SERIAL_HEX_LEN 32
/* Largest serial accepted anywhere (RFC 5280: 20 octets), as hex, plus the NUL. */
#define PKI_SERIAL_HEX_MAX 41

/* ---- Root CA ---- */

/*
 * Create a root CA for org (1..FERRY_MAX_ORG bytes, no control characters; UTF-8).
 * Returns 0, FERRY_ERR_USAGE (bad org, with why) or FERRY_ERR_CRYPTO.
 */
int pki_ca_create(const char *org, EVP_PKEY **key, X509 **cert);

/*
 * Import an existing CA: cert_path holds a PEM certificate, key_path a PEM private key
 * (unencrypted; an encrypted one gives FERRY_ERR_NEED_PASSPHRASE from key_load_private).
 * Checks: the certificate is self-signed (the signature verifies), basicConstraints
 * CA:TRUE, keyUsage (when present) has keyCertSign and cRLSign, it is currently valid,
 * its key is P-384, P-521 or RSA >= FERRY_MIN_RSA_BITS, and the private key matches it.
 * Failures: FERRY_ERR_KEY / FERRY_ERR_FORMAT / FERRY_ERR_IO / FERRY_ERR_LIMIT, the
 * detail naming the file and the reason.
 */
int pki_ca_import(const char *cert_path, const char *key_path, EVP_PKEY **key, X509 **cert);

/* ---- Server certificate ---- */

/*
 * Check one --host value: an IPv4 literal (dotted quad), an IPv6 literal (no brackets),
 * or a DNS name (labels of [A-Za-z0-9-], 1..63 bytes, no leading/trailing '-', at most
 * FERRY_MAX_HOST_LEN bytes, no trailing dot, no wildcard, last label not all digits).
 * Returns 0 or FERRY_ERR_USAGE naming the host and why. *is_ip (may be NULL) tells which.
 */
int pki_host_check(const char *host, bool *is_ip);

/*
 * Issue a fresh P-384 server key and certificate for hosts[0..nhosts) (1..FERRY_MAX_HOSTS
 * entries, each checked by pki_host_check; hosts[0], which must be at most 64 bytes,
 * becomes the CN). The caller supplies the default list (localhost, 127.0.0.1).
 * Returns 0, FERRY_ERR_USAGE (bad host or count), FERRY_ERR_CRYPTO.
 */
int pki_server_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, const char *const *hosts,
    size_t nhosts, EVP_PKEY **key, X509 **cert);

/* ---- Certificate signing requests ---- */

/*
 * Parse an untrusted DER PKCS#10 request of len bytes (at most FERRY_MAX_CSR; no
 * trailing bytes; must be DER, i.e. re-encode to the same bytes; version 1). Verifies the
 * self-signature and the key policy. Subject, attributes and requested extensions are
 * ignored (never used by pki_client_cert_issue).
 * Returns 0 or:
 *   FERRY_ERR_LIMIT   longer than FERRY_MAX_CSR
 *   FERRY_ERR_FORMAT  not a DER CSR, trailing bytes, signed with MD5/SHA-1, or its
 *                     signature does not verify ("CSR signature does not verify")
 *   FERRY_ERR_KEY     key not allowed; the detail says why, e.g. "CSR key is RSA-2048;
 *                     at least 3072 bits required", "CSR key curve P-256 not allowed
 *                     (use P-384)", "CSR key type ED25519 not allowed (use P-384, or
 *                     RSA with at least 3072 bits)", "CSR key has explicit EC
 *                     parameters; ...", "CSR key is not a valid public key" (e.g. RSA
 *                     exponent 1 or even)
 * The detail is suitable to send to the client as the BAD_CSR message (no secrets).
 */
int pki_csr_parse(const uint8_t *der, size_t len, X509_REQ **out);

/* As pki_csr_parse() for a PEM "CERTIFICATE REQUEST" of len bytes (at most
 * 2 * FERRY_MAX_CSR). */
int pki_csr_parse_pem(const char *pem, size_t len, X509_REQ **out);

/*
 * Build a DER CSR for key with subject CN=<user>, signed with key (SHA-384). For the
 * client side of enrolment. *der is allocated with OPENSSL_malloc; free it with
 * OPENSSL_free. Returns 0, FERRY_ERR_USAGE (bad user name), FERRY_ERR_CRYPTO.
 */
int pki_csr_create(EVP_PKEY *key, const char *user, uint8_t **der, size_t *len);

/* ---- Client certificates ---- */

/*
 * Issue a client certificate for the key in csr (which must come from pki_csr_parse;
 * the key policy is checked again). Subject CN=<user>, O=<org> (org NULL or "": no O);
 * extensions as described at the top of this file; validity days
 * (FERRY_MIN_CLIENT_CERT_DAYS..FERRY_MAX_CLIENT_CERT_DAYS). user must be a valid user
 * name (1..32 of [a-z0-9._-], first [a-z0-9]). serial_hex receives the new serial
 * (PKI_SERIAL_HEX_LEN digits + NUL); use pki_cert_not_before/after for the dates.
 * Returns 0, FERRY_ERR_USAGE (bad user/org/days), FERRY_ERR_KEY, FERRY_ERR_CRYPTO.
 */
int pki_client_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, X509_REQ *csr, const char *user,
    const char *org, unsigned days, X509 **out, char serial_hex[PKI_SERIAL_HEX_LEN + 1]);

/* ---- Revocation ---- */

/*
 * Build a v2 CRL signed by the CA: issuer = CA subject, lastUpdate now, nextUpdate now +
 * FERRY_CRL_DAYS, AKI, crlNumber = current Unix time; one entry per serials_hex[i]
 * (hex, 1..40 digits, either case) revoked at revoked_at[i] (Unix seconds; revoked_at
 * may be NULL: all "now"). n may be 0. Returns 0, FERRY_ERR_FORMAT (bad serial, naming
 * it), FERRY_ERR_CRYPTO.
 */
int pki_crl_build(EVP_PKEY *ca_key, X509 *ca_cert, const char *const *serials_hex,
    const int64_t *revoked_at, size_t n, X509_CRL **out);

/* Write crl as PEM to path (mode 0644), atomically, replacing any existing file. */
int pki_crl_save(X509_CRL *crl, const char *path);

/* Load a PEM CRL (at most FERRY_MAX_CERT_FILE bytes). Errors name the file. */
int pki_crl_load(const char *path, X509_CRL **out);

/* ---- Certificate files and encodings ---- */

/*
 * Load the first PEM CERTIFICATE in path (at most FERRY_MAX_CERT_FILE bytes).
 * FERRY_ERR_IO / FERRY_ERR_LIMIT / FERRY_ERR_FORMAT, naming the file.
 */
int pki_cert_load(const char *path, X509 **out);

/* Write cert as PEM to path, mode 0644, atomically. Without force FERRY_ERR_EXISTS if
 * path exists; with force it is replaced. */
int pki_cert_save(X509 *cert, const char *path, bool force);

/* Write cert as PEM to a file descriptor (e.g. 1 for `ferryd ca export`). */
int pki_cert_write_fd(X509 *cert, int fd);

/* DER encoding of cert; *der from OPENSSL_malloc, free with OPENSSL_free. */
int pki_cert_to_der(X509 *cert, uint8_t **der, size_t *len);

/* Parse untrusted DER (at most FERRY_MAX_CERT bytes, no trailing bytes).
 * FERRY_ERR_LIMIT / FERRY_ERR_FORMAT. Nothing is verified: see pki_verify_chain. */
int pki_cert_from_der(const uint8_t *der, size_t len, X509 **out);

/* ---- Certificate fields ---- */

/* Canonical serial hex (see top) into out (outlen >= PKI_SERIAL_HEX_MAX always
 * suffices). FERRY_ERR_LIMIT if the serial is longer than 20 bytes or does not fit;
 * FERRY_ERR_FORMAT for a zero or negative serial. */
int pki_cert_serial_hex(const X509 *cert, char *out, size_t outlen);

/*
 * The subject's single commonName into out (NUL-terminated). FERRY_ERR_FORMAT if there
 * is no CN, more than one, or it contains anything but printable ASCII; FERRY_ERR_LIMIT
 * if it does not fit in outlen. (Only checks characters; the server looks the user up
 * by serial.)
 */
int pki_cert_user(const X509 *cert, char *out, size_t outlen);

/* notBefore / notAfter as Unix seconds. FERRY_ERR_FORMAT if unreadable. */
int pki_cert_not_before(const X509 *cert, int64_t *t);
int pki_cert_not_after(const X509 *cert, int64_t *t);

/* 0 if key is the private key for cert's public key, else FERRY_ERR_KEY. */
int pki_cert_check_key(X509 *cert, EVP_PKEY *key);

/*
 * Verify cert against the single trusted root ca at the current time, for TLS client
 * use (purpose_client != 0: EKU clientAuth) or TLS server use (0: serverAuth). No CRL
 * check: revocation is the caller's business (the database). Returns 0, or
 * FERRY_ERR_AUTH with OpenSSL's reason in why (why may be NULL; whylen bytes) and in the
 * error detail.
 */
int pki_verify_chain(X509 *ca, X509 *cert, int purpose_client, char *why, size_t whylen);

/*
 * Check key against the CSR/client key policy: EC P-384, or RSA (rsaEncryption) with
 * FERRY_MIN_RSA_BITS..FERRY_MAX_RSA_BITS. what prefixes the message ("CSR key").
 * Returns 0 or FERRY_ERR_KEY with the reason.
 */
int pki_key_check(const EVP_PKEY *key, const char *what);

/* A valid user name: 1..32 bytes of [a-z0-9._-], first [a-z0-9]. (The store layer has
 * the authoritative check; this one guards what goes into certificates.) */
bool pki_user_name_ok(const char *user);

#endif
