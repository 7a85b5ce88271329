/*
 * Helpers shared by the files of src/pki; not for use outside this directory.
 */
#ifndef FERRY_PKI_INTERNAL_H
#define FERRY_PKI_INTERNAL_H

#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The digest to sign with for key: SHA-384, or NULL for keys that take none (EdDSA). */
const EVP_MD *pki_sign_md(const EVP_PKEY *key);

/*
 * A fresh certificate serial: 16 random bytes, first byte in 1..0x7f (so the value is
 * positive and always 16 bytes long). Caller frees *out with ASN1_INTEGER_free.
 */
int pki_new_serial(ASN1_INTEGER **out);

/*
 * Set notBefore = now - FERRY_CERT_BACKDATE and notAfter = now + days, the latter
 * clamped to issuer's notAfter (issuer NULL: no clamp). FERRY_ERR_KEY if the issuer has
 * already expired.
 */
int pki_set_validity(X509 *cert, const X509 *issuer, unsigned days);

/*
 * Add one extension given in OpenSSL's configuration syntax ("critical,CA:FALSE"), with
 * issuer and subject for SKI/AKI. FERRY_ERR_CRYPTO on failure.
 */
int pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);

/* Append an entry to name; value is UTF-8. FERRY_ERR_CRYPTO on failure (e.g. too long). */
int pki_name_add(X509_NAME *name, int nid, const char *value);

/* An organisation name: 1..FERRY_MAX_ORG bytes, no control characters.
 * FERRY_ERR_USAGE with why. */
int pki_org_check(const char *org);

/* ASN1_TIME to Unix seconds. FERRY_ERR_FORMAT if unreadable. */
int pki_time_to_unix(const ASN1_TIME *t, int64_t *out);

#endif
