/*
 * CRLs: a v2 CRL signed by the root listing exactly the revoked serials, readable by
 * `openssl crl`, and making `openssl verify -crl_check` reject a revoked certificate
 * while still accepting the others.
 */
#include "pki_test.h"

#include <ctype.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "crypto/keys.h"
#include "util/limits.h"

#define NCERTS 3

static EVP_PKEY *ca_key;
static X509 *ca_cert;
static X509 *certs[NCERTS];
static char serials[NCERTS][PKI_SERIAL_HEX_LEN + 1];

static int
setup(void **state)
{
	X509_REQ *req = NULL;
	EVP_PKEY *k = NULL;
	uint8_t *der = NULL;
	size_t len;
	char *p;
	int r = -1;

	(void)state;
	pt_dir = test_tmpdir();
	if (pki_ca_create("Acme", &ca_key, &ca_cert) != 0 || key_generate(KEY_P384, &k) != 0 ||
	    pki_csr_create(k, "alice", &der, &len) != 0 || pki_csr_parse(der, len, &req) != 0)
		goto out;
	for (int i = 0; i < NCERTS; i++) {
		if (pki_client_cert_issue(ca_key, ca_cert, req, "alice", "Acme", 90, &certs[i],
		    serials[i]) != 0)
			goto out;
	}
	p = pt_path("ca.pem");
	r = pki_cert_save(ca_cert, p, true) == 0 ? 0 : -1;
	free(p);
out:
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	OPENSSL_free(der);
	return r;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NCERTS; i++)
		X509_free(certs[i]);
	EVP_PKEY_free(ca_key);
	X509_free(ca_cert);
	rm_rf(pt_dir);
	free(pt_dir);
	return 0;
}

/* ASN1_TIME as Unix seconds. */
static int
asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void
upper(char *dst, const char *src)
{
	while (*src != '\0')
		*dst++ = (char)toupper((unsigned char)*src++);
	*dst = '\0';
}

static void
save_crl(X509_CRL *crl)
{
	char *p = pt_path("crl.pem");

	assert_int_equal(pki_crl_save(crl, p), 0);
	free(p);
}

static void
test_crl_fields(void **state)
{
	const char *revoked[2] = { serials[0], serials[2] };
	int64_t when[2] = { 1700000000, 1750000000 };
	X509_CRL *crl = NULL;
	X509_REVOKED *rv;
	int64_t last = 0, next = 0, t = 0;
	char *p;
	struct stat st;

	(void)state;
	assert_int_equal(pki_crl_build(ca_key, ca_cert, revoked, when, 2, &crl), 0);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(ca_cert)), 0);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca_cert)), 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, certs[0]), 1);
	assert_int_equal(asn1_unix(X509_REVOKED_get0_revocationDate(rv), &t), 0);
	assert_int_equal(t, when[0]);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, certs[1]), 0);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, certs[2]), 1);
	assert_int_equal(asn1_unix(X509_REVOKED_get0_revocationDate(rv), &t), 0);
	assert_int_equal(t, when[1]);
	assert_int_equal(asn1_unix(X509_CRL_get0_lastUpdate(crl), &last), 0);
	assert_int_equal(asn1_unix(X509_CRL_get0_nextUpdate(crl), &next), 0);
	assert_int_equal(next - last, (int64_t)FERRY_CRL_DAYS * 86400);
	assert_true(last <= (int64_t)time(NULL) && last >= (int64_t)time(NULL) - 5);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier, -1) >= 0);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_crl_number, -1) >= 0);

	save_crl(crl);
	p = pt_path("crl.pem");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* Saving again replaces it atomically. */
	assert_int_equal(pki_crl_save(crl, p), 0);
	X509_CRL_free(crl);
	assert_int_equal(pki_crl_load(p, &crl), 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	X509_CRL_free(crl);
	free(p);
	assert_int_equal(pki_crl_load("/nonexistent/crl.pem", &crl), FERRY_ERR_IO);
	p = pt_path("ca.pem");
	assert_int_equal(pki_crl_load(p, &crl), FERRY_ERR_FORMAT);
	assert_null(crl);
	free(p);
}

static void
test_crl_openssl(void **state)
{
	const char *revoked[1] = { serials[1] };
	char up[NCERTS][PKI_SERIAL_HEX_LEN + 1], *out;
	X509_CRL *crl = NULL;

	(void)state;
	for (int i = 0; i < NCERTS; i++) {
		char name[32];

		upper(up[i], serials[i]);
		snprintf(name, sizeof(name), "c%d.pem", i);
		pt_save_cert(certs[i], name);
	}
	assert_int_equal(pki_crl_build(ca_key, ca_cert, revoked, NULL, 1, &crl), 0);
	save_crl(crl);
	X509_CRL_free(crl);

	assert_int_equal(pt_run(&out, "openssl crl -in crl.pem -noout -text"), 0);
	assert_non_null(strstr(out, "Certificate Revocation List (CRL)"));
	assert_non_null(strstr(out, "Version 2"));
	assert_non_null(strstr(out, "CN = Acme ferry root CA"));
	assert_non_null(strstr(out, up[1]));
	assert_null(strstr(out, up[0]));
	assert_null(strstr(out, up[2]));
	free(out);
	assert_int_equal(pt_run(NULL, "openssl crl -in crl.pem -noout -CAfile ca.pem"), 0);

	/* The revoked certificate is refused, the others accepted. */
	assert_int_not_equal(pt_run(&out, "openssl verify -crl_check -CRLfile crl.pem "
	    "-CAfile ca.pem c1.pem"), 0);
	assert_non_null(strstr(out, "revoked"));
	free(out);
	assert_int_equal(pt_run(NULL, "openssl verify -crl_check -CRLfile crl.pem "
	    "-CAfile ca.pem c0.pem"), 0);
	assert_int_equal(pt_run(NULL, "openssl verify -crl_check -CRLfile crl.pem "
	    "-CAfile ca.pem -purpose sslclient c2.pem"), 0);
}

static void
test_crl_empty(void **state)
{
	X509_CRL *crl = NULL;
	char *out;

	(void)state;
	assert_int_equal(pki_crl_build(ca_key, ca_cert, NULL, NULL, 0, &crl), 0);
	/* No entries: the optional list is absent (OpenSSL reports -1). */
	assert_true(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);
	save_crl(crl);
	X509_CRL_free(crl);
	assert_int_equal(pt_run(&out, "openssl crl -in crl.pem -noout -text"), 0);
	assert_non_null(strstr(out, "No Revoked Certificates"));
	free(out);
	assert_int_equal(pt_run(NULL, "openssl verify -crl_check -CRLfile crl.pem "
	    "-CAfile ca.pem c1.pem"), 0);
}

static void
test_crl_bad_serials(void **state)
{
	static const char *const bad[] = {
		"", "xyz", "12 34", "-1", "0x12", "12345678901234567890123456789012345678901",
	};
	X509_CRL *crl = (X509_CRL *)1;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *one[1] = { bad[i] };

		if (pki_crl_build(ca_key, ca_cert, one, NULL, 1, &crl) != FERRY_ERR_FORMAT)
			fail_msg("serial \"%s\" accepted", bad[i]);
		assert_null(crl);
	}
	/* Upper case and 40 digits are fine. */
	{
		const char *ok[2] = {
			"ABCDEF0123", "1234567890123456789012345678901234567890",
		};

		assert_int_equal(pki_crl_build(ca_key, ca_cert, ok, NULL, 2, &crl), 0);
		assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
		X509_CRL_free(crl);
	}
}

/* Many entries, built and read back. */
static void
test_crl_many(void **state)
{
	enum { N = 500 };
	static char hex[N][PKI_SERIAL_HEX_LEN + 1];
	const char *list[N];
	X509_CRL *crl = NULL;
	char *out;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(hex[i], sizeof(hex[i]), "7f%030x", i + 1);
		list[i] = hex[i];
	}
	list[N - 1] = serials[2];
	assert_int_equal(pki_crl_build(ca_key, ca_cert, list, NULL, N, &crl), 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), N);
	save_crl(crl);
	X509_CRL_free(crl);
	assert_int_not_equal(pt_run(&out, "openssl verify -crl_check -CRLfile crl.pem "
	    "-CAfile ca.pem c2.pem"), 0);
	assert_non_null(strstr(out, "revoked"));
	free(out);
	assert_int_equal(pt_run(NULL, "openssl verify -crl_check -CRLfile crl.pem "
	    "-CAfile ca.pem c0.pem"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crl_fields),
		cmocka_unit_test(test_crl_openssl),
		cmocka_unit_test(test_crl_empty),
		cmocka_unit_test(test_crl_bad_serials),
		cmocka_unit_test(test_crl_many),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
