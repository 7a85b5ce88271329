/*
 * Certificate helpers: files, encodings, fields, chain verification, and the building
 * blocks the issuing code shares (serials, validity, extensions).
 */
#include "pki/pki.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "crypto/random.h"
#include "pki/pki_internal.h"
#include "util/atomic_file.h"
#include "util/err.h"
#include "util/io.h"
#include "util/limits.h"

#define SERIAL_LEN      16
#define SERIAL_MAX_LEN  20      /* RFC 5280 section 4.1.2.2 */

const EVP_MD *
pki_sign_md(const EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return NULL;
	return EVP_sha384();
}

int
pki_new_serial(ASN1_INTEGER **out)
{
	unsigned char b[SERIAL_LEN];
	BIGNUM *bn = NULL;
	int r;

	*out = NULL;
	if ((r = crypto_random(b, sizeof(b))) != 0)
		goto out;
	/* Positive, and a first hex digit of 1..7: always PKI_SERIAL_HEX_LEN digits. */
	b[0] &= 0x7f;
	if (b[0] < 0x10)
		b[0] |= 0x10;
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL ||
	    (*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		r = ferry_fail_crypto("pki: making a serial number");
		goto out;
	}
	r = 0;
out:
	BN_free(bn);
	OPENSSL_cleanse(b, sizeof(b));
	return r;
}

int
pki_time_to_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	time_t v;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return ferry_fail(FERRY_ERR_FORMAT, "certificate: unreadable time");
	}
	v = timegm(&tm);
	if (v == (time_t)-1 && !(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31))
		return ferry_fail(FERRY_ERR_FORMAT, "certificate: time out of range");
	*out = (int64_t)v;
	return 0;
}

int
pki_set_validity(X509 *cert, const X509 *issuer, unsigned days)
{
	int64_t now = (int64_t)time(NULL), end, ca_end;
	int r;

	end = now + (int64_t)days * 86400;
	if (issuer != NULL) {
		if ((r = pki_time_to_unix(X509_get0_notAfter(issuer), &ca_end)) != 0)
			return ferry_error_prefix(r, "CA certificate");
		if (ca_end <= now)
			return ferry_fail(FERRY_ERR_KEY, "the CA certificate has expired");
		if (end > ca_end)
			end = ca_end;
	}
	if (ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)(now - FERRY_CERT_BACKDATE)) ==
	    NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)end) == NULL)
		return ferry_fail_crypto("pki: setting the validity");
	return 0;
}

int
pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return ferry_fail_crypto("pki: extension %s \"%s\"", OBJ_nid2sn(nid), value);
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	if (ok != 1)
		return ferry_fail_crypto("pki: adding extension %s", OBJ_nid2sn(nid));
	return 0;
}

int
pki_name_add(X509_NAME *name, int nid, const char *value)
{
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value,
	    -1, -1, 0) != 1)
		return ferry_fail_crypto("pki: name field %s \"%s\"", OBJ_nid2sn(nid), value);
	return 0;
}

/* ---- files and encodings ---- */

/* Write the PEM in bio to path through an atomic file. */
static int
save_bio(BIO *bio, const char *path, bool force)
{
	struct atomic_file af = { .fd = -1 };
	char *data;
	long len;
	int r;

	if ((len = BIO_get_mem_data(bio, &data)) <= 0) {
		r = ferry_fail(FERRY_ERR_INTERNAL, "%s: nothing to write", path);
		goto out;
	}
	if ((r = atomic_file_open(&af, path, 0644, !force)) != 0)
		goto out;
	if ((r = io_write_full(af.fd, data, (size_t)len)) != 0) {
		ferry_error_prefix(r, "%s", path);
		goto out;
	}
	r = atomic_file_commit(&af);
out:
	atomic_file_abort(&af);
	return r;
}

/*
 * Read the PEM file at path (at most FERRY_MAX_CERT_FILE bytes) and decode its first
 * object with read (PEM_read_bio_X509 or PEM_read_bio_X509_CRL); what names it in the
 * error. Returns the object or NULL with the error recorded in *r.
 */
static void *
load_pem(const char *path, void *(*read)(BIO *), const char *what, int *r)
{
	char *text = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	void *obj = NULL;

	if ((*r = io_read_file(path, FERRY_MAX_CERT_FILE, &text, &len)) != 0)
		goto out;
	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL) {
		*r = ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((obj = read(bio)) == NULL) {
		ERR_clear_error();
		*r = ferry_fail(FERRY_ERR_FORMAT, "%s: no PEM %s found", path, what);
	}
out:
	BIO_free(bio);
	if (text != NULL)
		OPENSSL_clear_free(text, len + 1);
	return obj;
}

static void *
read_x509(BIO *bio)
{
	return PEM_read_bio_X509(bio, NULL, NULL, NULL);
}

static void *
read_crl(BIO *bio)
{
	return PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
}

int
pki_cert_load(const char *path, X509 **out)
{
	int r;

	*out = load_pem(path, read_x509, "certificate", &r);
	return r;
}

int
pki_cert_save(X509 *cert, const char *path, bool force)
{
	BIO *bio;
	int r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
	if (PEM_write_bio_X509(bio, cert) != 1)
		r = ferry_fail_crypto("%s: encoding the certificate", path);
	else
		r = save_bio(bio, path, force);
	BIO_free(bio);
	return r;
}

int
pki_cert_write_fd(X509 *cert, int fd)
{
	BIO *bio;
	char *data;
	long len;
	int r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "pki: out of memory");
	if (PEM_write_bio_X509(bio, cert) != 1 || (len = BIO_get_mem_data(bio, &data)) <= 0)
		r = ferry_fail_crypto("pki: encoding the certificate");
	else
		r = io_write_full(fd, data, (size_t)len);
	BIO_free(bio);
	return r;
}

int
pki_crl_save(X509_CRL *crl, const char *path)
{
	BIO *bio;
	int r;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "%s: out of memory", path);
	if (PEM_write_bio_X509_CRL(bio, crl) != 1)
		r = ferry_fail_crypto("%s: encoding the CRL", path);
	else
		r = save_bio(bio, path, true);
	BIO_free(bio);
	return r;
}

int
pki_crl_load(const char *path, X509_CRL **out)
{
	int r;

	*out = load_pem(path, read_crl, "CRL", &r);
	return r;
}

int
pki_cert_to_der(X509 *cert, uint8_t **der, size_t *len)
{
	unsigned char *p = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if ((n = i2d_X509(cert, &p)) <= 0)
		return ferry_fail_crypto("pki: encoding the certificate");
	*der = p;
	*len = (size_t)n;
	return 0;
}

int
pki_cert_from_der(const uint8_t *der, size_t len, X509 **out)
{
	const unsigned char *p = der;
	X509 *x = NULL;
	int r;

	*out = NULL;
	if (len > FERRY_MAX_CERT) {
		r = ferry_fail(FERRY_ERR_LIMIT, "certificate: %zu bytes, more than %u", len,
		    FERRY_MAX_CERT);
		goto out;
	}
	if (len == 0 || (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_FORMAT, "certificate: not a DER X.509 certificate");
		goto out;
	}
	if (p != der + len) {
		r = ferry_fail(FERRY_ERR_FORMAT, "certificate: %zu trailing bytes",
		    (size_t)(der + len - p));
		goto out;
	}
	*out = x;
	x = NULL;       /* transferred */
	r = 0;
out:
	X509_free(x);
	return r;
}

/* ---- fields ---- */

int
pki_cert_serial_hex(const X509 *cert, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	const ASN1_INTEGER *s = X509_get0_serialNumber(cert);
	const unsigned char *p;
	char *o = out;
	size_t skip;
	int n;

	if (outlen > 0)
		out[0] = '\0';
	if (s == NULL || ASN1_STRING_type(s) == V_ASN1_NEG_INTEGER)
		return ferry_fail(FERRY_ERR_FORMAT, "certificate: negative serial number");
	p = ASN1_STRING_get0_data(s);
	n = ASN1_STRING_length(s);
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	if (n == 0)
		return ferry_fail(FERRY_ERR_FORMAT, "certificate: zero serial number");
	if (n > SERIAL_MAX_LEN)
		return ferry_fail(FERRY_ERR_LIMIT, "certificate: serial number of %d bytes, "
		    "more than %d", n, SERIAL_MAX_LEN);
	/* Two digits a byte, less a leading zero digit. */
	skip = (p[0] >> 4) == 0;
	if (outlen < (size_t)n * 2 + 1 - skip)
		return ferry_fail(FERRY_ERR_LIMIT, "certificate: serial number does not fit");
	for (int i = 0; i < n; i++) {
		if (i > 0 || !skip)
			*o++ = digits[p[i] >> 4];
		*o++ = digits[p[i] & 0x0f];
	}
	*o = '\0';
	return 0;
}

int
pki_cert_user(const X509 *cert, char *out, size_t outlen)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	const ASN1_STRING *d;
	const unsigned char *p;
	int idx, n;

	if (outlen > 0)
		out[0] = '\0';
	if (name == NULL || (idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0)
		return ferry_fail(FERRY_ERR_FORMAT, "certificate: subject has no common name");
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return ferry_fail(FERRY_ERR_FORMAT, "certificate: subject has more than one "
		    "common name");
	d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	p = ASN1_STRING_get0_data(d);
	n = ASN1_STRING_length(d);
	if (n <= 0)
		return ferry_fail(FERRY_ERR_FORMAT, "certificate: empty common name");
	for (int i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return ferry_fail(FERRY_ERR_FORMAT, "certificate: common name is not "
			    "printable ASCII");
	}
	if ((size_t)n >= outlen)
		return ferry_fail(FERRY_ERR_LIMIT, "certificate: common name longer than %zu "
		    "bytes", outlen == 0 ? (size_t)0 : outlen - 1);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	return 0;
}

int
pki_cert_not_before(const X509 *cert, int64_t *t)
{
	return pki_time_to_unix(X509_get0_notBefore(cert), t);
}

int
pki_cert_not_after(const X509 *cert, int64_t *t)
{
	return pki_time_to_unix(X509_get0_notAfter(cert), t);
}

int
pki_cert_check_key(X509 *cert, EVP_PKEY *key)
{
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return ferry_fail(FERRY_ERR_KEY, "the private key does not match the "
		    "certificate");
	}
	return 0;
}

int
pki_verify_chain(X509 *ca, X509 *cert, int purpose_client, char *why, size_t whylen)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	const char *reason;
	int r, rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((store = X509_STORE_new()) == NULL || (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_add_cert(store, ca) != 1 ||
	    X509_STORE_CTX_init(ctx, store, cert, NULL) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, purpose_client ? X509_PURPOSE_SSL_CLIENT :
	    X509_PURPOSE_SSL_SERVER) != 1) {
		r = ferry_fail_crypto("pki: setting up certificate verification");
		goto out;
	}
	rc = X509_verify_cert(ctx);
	if (rc != 1) {
		reason = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
		ERR_clear_error();
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "%s", reason);
		r = ferry_fail(FERRY_ERR_AUTH, "certificate verification failed: %s", reason);
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}
