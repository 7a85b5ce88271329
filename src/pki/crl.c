/*
 * Certificate revocation lists: a v2 CRL of every revoked serial, signed by the root.
 */
#include "pki/pki.h"

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki/pki_internal.h"
#include "util/err.h"
#include "util/limits.h"

#define SERIAL_HEX_MAX (PKI_SERIAL_HEX_MAX - 1)

/* Parse 1..40 hex digits into a positive ASN1_INTEGER. */
static int
serial_from_hex(const char *hex, ASN1_INTEGER **out)
{
	BIGNUM *bn = NULL;
	size_t n;
	int r;

	*out = NULL;
	n = hex == NULL ? 0 : strlen(hex);
	if (n == 0 || n > SERIAL_HEX_MAX) {
		r = ferry_fail(FERRY_ERR_FORMAT, "CRL: serial \"%.48s\" must have 1 to %d hex "
		    "digits", hex == NULL ? "" : hex, SERIAL_HEX_MAX);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F'))) {
			r = ferry_fail(FERRY_ERR_FORMAT, "CRL: serial \"%s\" is not hex", hex);
			goto out;
		}
	}
	if (BN_hex2bn(&bn, hex) != (int)n || (*out = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
		r = ferry_fail_crypto("CRL: serial \"%s\"", hex);
		goto out;
	}
	r = 0;
out:
	BN_free(bn);
	return r;
}

/* One revoked entry. */
static int
add_revoked(X509_CRL *crl, const char *hex, int64_t when)
{
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *t = NULL;
	X509_REVOKED *rv = NULL;
	int r;

	if ((r = serial_from_hex(hex, &serial)) != 0)
		goto out;
	if ((rv = X509_REVOKED_new()) == NULL ||
	    (t = ASN1_TIME_set(NULL, (time_t)when)) == NULL ||
	    X509_REVOKED_set_serialNumber(rv, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rv, t) != 1 ||
	    X509_CRL_add0_revoked(crl, rv) != 1) {
		r = ferry_fail_crypto("CRL: adding serial %s", hex);
		goto out;
	}
	rv = NULL;      /* transferred */
	r = 0;
out:
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(t);
	X509_REVOKED_free(rv);
	return r;
}

int
pki_crl_build(EVP_PKEY *ca_key, X509 *ca_cert, const char *const *serials_hex,
    const int64_t *revoked_at, size_t n, X509_CRL **out)
{
	time_t now = time(NULL);
	ASN1_INTEGER *number = NULL;
	ASN1_TIME *last = NULL, *next = NULL;
	X509_EXTENSION *ext = NULL;
	X509_CRL *crl = NULL;
	X509V3_CTX ctx;
	int r;

	*out = NULL;
	if ((crl = X509_CRL_new()) == NULL ||
	    X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_cert)) != 1 ||
	    (last = ASN1_TIME_set(NULL, now)) == NULL ||
	    (next = X509_time_adj_ex(NULL, (int)FERRY_CRL_DAYS, 0, &now)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1) {
		r = ferry_fail_crypto("CRL: building");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = add_revoked(crl, serials_hex[i],
		    revoked_at != NULL ? revoked_at[i] : (int64_t)now)) != 0)
			goto out;
	}
	if (X509_CRL_sort(crl) != 1) {
		r = ferry_fail_crypto("CRL: sorting");
		goto out;
	}
	X509V3_set_ctx(&ctx, ca_cert, NULL, NULL, crl, 0);
	if (X509_get0_subject_key_id(ca_cert) != NULL &&
	    ((ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid")) == NULL || X509_CRL_add_ext(crl, ext, -1) != 1)) {
		r = ferry_fail_crypto("CRL: authority key identifier");
		goto out;
	}
	if ((number = ASN1_INTEGER_new()) == NULL ||
	    ASN1_INTEGER_set_int64(number, (int64_t)now) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) != 1) {
		r = ferry_fail_crypto("CRL: CRL number");
		goto out;
	}
	if (X509_CRL_sign(crl, ca_key, pki_sign_md(ca_key)) <= 0) {
		r = ferry_fail_crypto("CRL: signing");
		goto out;
	}
	*out = crl;
	crl = NULL;     /* transferred */
	r = 0;
out:
	ASN1_INTEGER_free(number);
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_EXTENSION_free(ext);
	X509_CRL_free(crl);
	return r;
}
