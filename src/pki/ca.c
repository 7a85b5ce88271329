/*
 * The root CA: creation (P-384, self-signed) and import of an existing CA.
 */
#include "pki/pki.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/keys.h"
#include "pki/pki_internal.h"
#include "util/err.h"
#include "util/limits.h"

int
pki_org_check(const char *org)
{
	size_t n;

	if (org == NULL || (n = strlen(org)) == 0)
		return ferry_fail(FERRY_ERR_USAGE, "organisation name is empty");
	if (n > FERRY_MAX_ORG)
		return ferry_fail(FERRY_ERR_USAGE, "organisation name longer than %u bytes",
		    FERRY_MAX_ORG);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)org[i];

		if (c < 0x20 || c == 0x7f)
			return ferry_fail(FERRY_ERR_USAGE, "organisation name contains a "
			    "control character");
	}
	return 0;
}

int
pki_ca_create(const char *org, EVP_PKEY **key, X509 **cert)
{
	char cn[FERRY_MAX_ORG + 32];
	ASN1_INTEGER *serial = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	int r;

	*key = NULL;
	*cert = NULL;
	if ((r = pki_org_check(org)) != 0)
		goto out;
	snprintf(cn, sizeof(cn), "%s ferry root CA", org);
	if ((r = key_generate(KEY_P384, &k)) != 0)
		goto out;
	if ((r = pki_new_serial(&serial)) != 0)
		goto out;
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 || X509_set_pubkey(x, k) != 1) {
		r = ferry_fail_crypto("CA: building the certificate");
		goto out;
	}
	name = X509_get_subject_name(x);
	if ((r = pki_name_add(name, NID_commonName, cn)) != 0 ||
	    (r = pki_name_add(name, NID_organizationName, org)) != 0)
		goto out;
	if (X509_set_issuer_name(x, name) != 1) {
		r = ferry_fail_crypto("CA: setting the issuer");
		goto out;
	}
	if ((r = pki_set_validity(x, NULL, FERRY_CA_DAYS)) != 0)
		goto out;
	if ((r = pki_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) != 0 ||
	    (r = pki_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) != 0 ||
	    (r = pki_add_ext(x, x, NID_subject_key_identifier, "hash")) != 0)
		goto out;
	if (X509_sign(x, k, pki_sign_md(k)) <= 0) {
		r = ferry_fail_crypto("CA: signing the certificate");
		goto out;
	}
	*key = k;
	*cert = x;
	k = NULL;       /* transferred */
	x = NULL;       /* transferred */
	r = 0;
out:
	ASN1_INTEGER_free(serial);
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

/* A CA key: P-384, P-521, or RSA with at least FERRY_MIN_RSA_BITS bits. */
static int
check_ca_key(const EVP_PKEY *key, const char *path)
{
	char group[64];
	size_t glen = 0;
	int bits;

	if (key == NULL) {
		ERR_clear_error();
		return ferry_fail(FERRY_ERR_KEY, "%s: the CA public key cannot be decoded",
		    path);
	}
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) == 1 &&
		    (strcmp(group, "secp384r1") == 0 || strcmp(group, "secp521r1") == 0))
			return 0;
		ERR_clear_error();
		return ferry_fail(FERRY_ERR_KEY, "%s: CA key is %s; P-384, P-521 or RSA-%u "
		    "or larger required", path, key_describe(key), FERRY_MIN_RSA_BITS);
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(key);
		if (bits >= (int)FERRY_MIN_RSA_BITS)
			return 0;
		return ferry_fail(FERRY_ERR_KEY, "%s: CA key is RSA-%d; at least %u bits "
		    "required", path, bits, FERRY_MIN_RSA_BITS);
	default:
		return ferry_fail(FERRY_ERR_KEY, "%s: CA key is %s; P-384, P-521 or RSA-%u or "
		    "larger required", path, key_describe(key), FERRY_MIN_RSA_BITS);
	}
}

int
pki_ca_import(const char *cert_path, const char *key_path, EVP_PKEY **key, X509 **cert)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	uint32_t flags;
	int r;

	*key = NULL;
	*cert = NULL;
	if ((r = pki_cert_load(cert_path, &x)) != 0)
		goto out;
	flags = X509_get_extension_flags(x);
	if (flags & EXFLAG_INVALID) {
		r = ferry_fail(FERRY_ERR_FORMAT, "%s: the certificate has invalid extensions",
		    cert_path);
		goto out;
	}
	if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA)) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: not a CA certificate (basicConstraints "
		    "CA:TRUE missing)", cert_path);
		goto out;
	}
	if ((flags & EXFLAG_KUSAGE) && (X509_get_key_usage(x) & (KU_KEY_CERT_SIGN |
	    KU_CRL_SIGN)) != (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: CA keyUsage must include keyCertSign and "
		    "cRLSign", cert_path);
		goto out;
	}
	if (X509_self_signed(x, 1) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_KEY, "%s: not a self-signed root certificate (or its "
		    "signature does not verify)", cert_path);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: the CA certificate is not valid yet",
		    cert_path);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		r = ferry_fail(FERRY_ERR_KEY, "%s: the CA certificate has expired", cert_path);
		goto out;
	}
	if ((r = check_ca_key(X509_get0_pubkey(x), cert_path)) != 0)
		goto out;
	if ((r = key_load_private(key_path, NULL, 0, &k)) != 0)
		goto out;
	if (X509_check_private_key(x, k) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_KEY, "%s: the key does not match the CA certificate "
		    "%s", key_path, cert_path);
		goto out;
	}
	*key = k;
	*cert = x;
	k = NULL;       /* transferred */
	x = NULL;       /* transferred */
	r = 0;
out:
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}
