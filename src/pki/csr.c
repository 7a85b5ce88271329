/*
 * PKCS#10 certificate signing requests: parsing untrusted requests (bounded, DER only,
 * signature and key policy checked), and building the client's own request.
 */
#include "pki/pki.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "pki/pki_internal.h"
#include "util/err.h"
#include "util/limits.h"

#define USER_MAX 32

bool
pki_user_name_ok(const char *user)
{
	size_t n;

	if (user == NULL || (n = strlen(user)) == 0 || n > USER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = user[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* "P-256" for "prime256v1" and so on; the OpenSSL name when there is no NIST name. */
static const char *
curve_display(const char *group)
{
	const char *nist = NULL;
	int nid = OBJ_sn2nid(group);

	if (nid != NID_undef)
		nist = EC_curve_nid2nist(nid);
	return nist != NULL ? nist : group;
}

int
pki_key_check(const EVP_PKEY *key, const char *what)
{
	char group[64], enc[32];
	size_t glen = 0, elen = 0;
	int bits;

	if (key == NULL)
		return ferry_fail(FERRY_ERR_KEY, "%s: no public key", what);
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_EC_ENCODING, enc,
		    sizeof(enc), &elen) != 1 || strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0 ||
		    EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1) {
			ERR_clear_error();
			return ferry_fail(FERRY_ERR_KEY, "%s has explicit EC parameters; only "
			    "the named curve P-384 is allowed", what);
		}
		if (strcmp(group, "secp384r1") != 0)
			return ferry_fail(FERRY_ERR_KEY, "%s curve %s not allowed (use P-384)",
			    what, curve_display(group));
		return 0;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(key);
		if (bits < (int)FERRY_MIN_RSA_BITS)
			return ferry_fail(FERRY_ERR_KEY, "%s is RSA-%d; at least %u bits "
			    "required", what, bits, FERRY_MIN_RSA_BITS);
		if (bits > (int)FERRY_MAX_RSA_BITS)
			return ferry_fail(FERRY_ERR_KEY, "%s is RSA-%d; at most %u bits "
			    "allowed", what, bits, FERRY_MAX_RSA_BITS);
		return 0;
	default:
		break;
	}
	return ferry_fail(FERRY_ERR_KEY, "%s type %s not allowed (use P-384, or RSA with at "
	    "least %u bits)", what, EVP_PKEY_get0_type_name(key) != NULL ?
	    EVP_PKEY_get0_type_name(key) : "unknown", FERRY_MIN_RSA_BITS);
}

/* Refuse signatures over broken digests (MD5, SHA-1 and older). */
static int
check_sig_alg(const X509_REQ *req)
{
	int md_nid = NID_undef, pk_nid = NID_undef;
	int sig_nid = X509_REQ_get_signature_nid(req);

	if (!OBJ_find_sigid_algs(sig_nid, &md_nid, &pk_nid))
		return 0;       /* e.g. RSA-PSS: parameters decide; verification checks them */
	switch (md_nid) {
	case NID_md2:
	case NID_md4:
	case NID_md5:
	case NID_sha1:
	case NID_md5_sha1:
		return ferry_fail(FERRY_ERR_FORMAT, "CSR signed with %s; SHA-256 or stronger "
		    "required", OBJ_nid2sn(md_nid));
	default:
		return 0;
	}
}

int
pki_csr_parse(const uint8_t *der, size_t len, X509_REQ **out)
{
	const unsigned char *p = der;
	unsigned char *enc = NULL;
	X509_REQ *req = NULL;
	EVP_PKEY_CTX *kctx = NULL;
	EVP_PKEY *pub;
	int r, n;

	*out = NULL;
	if (len > FERRY_MAX_CSR) {
		r = ferry_fail(FERRY_ERR_LIMIT, "CSR of %zu bytes; at most %u allowed", len,
		    FERRY_MAX_CSR);
		goto out;
	}
	if (len == 0 || (req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_FORMAT, "CSR is not a DER PKCS#10 request");
		goto out;
	}
	if (p != der + len) {
		r = ferry_fail(FERRY_ERR_FORMAT, "CSR has %zu trailing bytes",
		    (size_t)(der + len - p));
		goto out;
	}
	/* DER only: the request must re-encode to exactly the bytes received. */
	if ((n = i2d_X509_REQ(req, &enc)) <= 0 || (size_t)n != len ||
	    memcmp(enc, der, len) != 0) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_FORMAT, "CSR is not DER encoded");
		goto out;
	}
	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		r = ferry_fail(FERRY_ERR_FORMAT, "CSR version %ld not supported",
		    X509_REQ_get_version(req) + 1);
		goto out;
	}
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_FORMAT, "CSR public key cannot be decoded");
		goto out;
	}
	if ((r = pki_key_check(pub, "CSR key")) != 0)
		goto out;
	/* The key itself: an RSA exponent that is even or 1, an EC point off the curve. */
	if ((kctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL) {
		r = ferry_fail_crypto("CSR: checking the key");
		goto out;
	}
	if (EVP_PKEY_public_check(kctx) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_KEY, "CSR key is not a valid public key");
		goto out;
	}
	if ((r = check_sig_alg(req)) != 0)
		goto out;
	if (X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_FORMAT, "CSR signature does not verify");
		goto out;
	}
	*out = req;
	req = NULL;     /* transferred */
	r = 0;
out:
	EVP_PKEY_CTX_free(kctx);
	OPENSSL_free(enc);
	X509_REQ_free(req);
	return r;
}

int
pki_csr_parse_pem(const char *pem, size_t len, X509_REQ **out)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	BIO *bio = NULL;
	int r;

	*out = NULL;
	if (len > 2 * (size_t)FERRY_MAX_CSR) {
		r = ferry_fail(FERRY_ERR_LIMIT, "PEM CSR of %zu bytes; at most %u allowed", len,
		    2 * FERRY_MAX_CSR);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		r = ferry_fail(FERRY_ERR_NOMEM, "CSR: out of memory");
		goto out;
	}
	if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
		ERR_clear_error();
		r = ferry_fail(FERRY_ERR_FORMAT, "CSR is not PEM");
		goto out;
	}
	if (strcmp(name, PEM_STRING_X509_REQ) != 0 &&
	    strcmp(name, PEM_STRING_X509_REQ_OLD) != 0) {
		r = ferry_fail(FERRY_ERR_FORMAT, "PEM block is \"%.40s\", not a certificate "
		    "request", name);
		goto out;
	}
	r = pki_csr_parse(data, (size_t)dlen, out);
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return r;
}

int
pki_csr_create(EVP_PKEY *key, const char *user, uint8_t **der, size_t *len)
{
	X509_REQ *req = NULL;
	unsigned char *p = NULL;
	int r, n;

	*der = NULL;
	*len = 0;
	if (!pki_user_name_ok(user)) {
		r = ferry_fail(FERRY_ERR_USAGE, "invalid user name");
		goto out;
	}
	if ((req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1) {
		r = ferry_fail_crypto("CSR: allocating");
		goto out;
	}
	if ((r = pki_name_add(X509_REQ_get_subject_name(req), NID_commonName, user)) != 0)
		goto out;
	if (X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, pki_sign_md(key)) <= 0 ||
	    (n = i2d_X509_REQ(req, &p)) <= 0) {
		r = ferry_fail_crypto("CSR: signing");
		goto out;
	}
	*der = p;
	*len = (size_t)n;
	r = 0;
out:
	X509_REQ_free(req);
	return r;
}
