/*
 * Root CA: creation with exactly the planned subject and extensions (checked directly
 * and through `openssl x509` / `openssl verify`), import of an existing CA with its
 * refusals, and the certificate file and DER helpers.
 */
#include "pki_test.h"

#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "crypto/keys.h"
#include "util/limits.h"

static EVP_PKEY *ca_key;
static X509 *ca_cert;

static int
setup(void **state)
{
	(void)state;
	pt_dir = test_tmpdir();
	if (pki_ca_create("Acme Corp", &ca_key, &ca_cert) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ca_key);
	X509_free(ca_cert);
	rm_rf(pt_dir);
	free(pt_dir);
	return 0;
}

static void
test_ca_fields(void **state)
{
	char serial[PKI_SERIAL_HEX_MAX], *subject;
	BASIC_CONSTRAINTS *bc;
	int64_t nb, na, now = (int64_t)time(NULL);
	uint32_t ku;

	(void)state;
	assert_int_equal(X509_get_version(ca_cert), X509_VERSION_3);
	subject = pt_subject(ca_cert);
	assert_string_equal(subject, "O=Acme Corp,CN=Acme Corp ferry root CA");
	free(subject);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(ca_cert),
	    X509_get_issuer_name(ca_cert)), 0);
	assert_string_equal(key_describe(X509_get0_pubkey(ca_cert)), "P-384");
	assert_int_equal(X509_get_signature_nid(ca_cert), NID_ecdsa_with_SHA384);

	/* Serial: 16 bytes, positive. */
	assert_int_equal(pki_cert_serial_hex(ca_cert, serial, sizeof(serial)), 0);
	assert_int_equal(strlen(serial), PKI_SERIAL_HEX_LEN);
	assert_true(serial[0] >= '1' && serial[0] <= '7');

	/* Exactly basicConstraints, keyUsage, SKI. */
	assert_int_equal(X509_get_ext_count(ca_cert), 3);
	assert_int_equal(pt_ext_critical(ca_cert, NID_basic_constraints), 1);
	assert_int_equal(pt_ext_critical(ca_cert, NID_key_usage), 1);
	assert_int_equal(pt_ext_critical(ca_cert, NID_subject_key_identifier), 0);
	assert_non_null(bc = X509_get_ext_d2i(ca_cert, NID_basic_constraints, NULL, NULL));
	assert_true(bc->ca);
	assert_non_null(bc->pathlen);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_key_usage(ca_cert);
	assert_int_equal(ku, KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(X509_check_ca(ca_cert), 1);
	assert_int_equal(X509_self_signed(ca_cert, 1), 1);

	/* Ten years. */
	assert_int_equal(pki_cert_not_before(ca_cert, &nb), 0);
	assert_int_equal(pki_cert_not_after(ca_cert, &na), 0);
	assert_true(nb <= now && nb >= now - FERRY_CERT_BACKDATE - 5);
	assert_true(na >= now + (int64_t)FERRY_CA_DAYS * 86400 - 5);
	assert_true(na <= now + (int64_t)FERRY_CA_DAYS * 86400 + 5);

	assert_int_equal(pki_cert_check_key(ca_cert, ca_key), 0);
}

static void
test_ca_openssl(void **state)
{
	char *out;

	(void)state;
	pt_save_cert(ca_cert, "ca.pem");
	assert_int_equal(pt_run(&out, "openssl x509 -in ca.pem -noout -text"), 0);
	assert_non_null(strstr(out, "Subject: CN = Acme Corp ferry root CA, O = Acme Corp"));
	assert_non_null(strstr(out, "X509v3 Basic Constraints: critical"));
	assert_non_null(strstr(out, "CA:TRUE, pathlen:0"));
	assert_non_null(strstr(out, "X509v3 Key Usage: critical"));
	assert_non_null(strstr(out, "Certificate Sign, CRL Sign"));
	assert_non_null(strstr(out, "X509v3 Subject Key Identifier"));
	assert_non_null(strstr(out, "NIST CURVE: P-384"));
	assert_null(strstr(out, "Extended Key Usage"));
	free(out);
	assert_int_equal(pt_run(&out, "openssl verify -CAfile ca.pem ca.pem"), 0);
	assert_non_null(strstr(out, "ca.pem: OK"));
	free(out);
}

static void
test_ca_bad_org(void **state)
{
	char longorg[FERRY_MAX_ORG + 2];
	EVP_PKEY *k = (EVP_PKEY *)1;
	X509 *c = (X509 *)1;

	(void)state;
	assert_int_equal(pki_ca_create("", &k, &c), FERRY_ERR_USAGE);
	assert_null(k);
	assert_null(c);
	assert_int_equal(pki_ca_create("a\nb", &k, &c), FERRY_ERR_USAGE);
	memset(longorg, 'x', sizeof(longorg) - 1);
	longorg[sizeof(longorg) - 1] = '\0';
	assert_int_equal(pki_ca_create(longorg, &k, &c), FERRY_ERR_USAGE);
	longorg[FERRY_MAX_ORG] = '\0';
	assert_int_equal(pki_ca_create(longorg, &k, &c), 0);
	EVP_PKEY_free(k);
	X509_free(c);
	/* UTF-8 is fine. */
	assert_int_equal(pki_ca_create("Caf\xc3\xa9 M\xc3\xbcller", &k, &c), 0);
	EVP_PKEY_free(k);
	X509_free(c);
}

static void
test_ca_import(void **state)
{
	char *cpath = pt_path("imp-ca.pem"), *kpath = pt_path("imp-ca.key");
	char *other = pt_path("other.key"), *enc = pt_path("enc.key");
	EVP_PKEY *k = NULL, *k2 = NULL;
	X509 *c = NULL;

	(void)state;
	assert_int_equal(pki_cert_save(ca_cert, cpath, true), 0);
	assert_int_equal(key_save_private(ca_key, kpath, NULL, 0, true), 0);
	assert_int_equal(pki_ca_import(cpath, kpath, &k, &c), 0);
	assert_int_equal(X509_cmp(c, ca_cert), 0);
	assert_int_equal(EVP_PKEY_eq(k, ca_key), 1);
	EVP_PKEY_free(k);
	X509_free(c);

	/* A key that does not match. */
	assert_int_equal(key_generate(KEY_P384, &k2), 0);
	assert_int_equal(key_save_private(k2, other, NULL, 0, true), 0);
	assert_int_equal(pki_ca_import(cpath, other, &k, &c), FERRY_ERR_KEY);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_KEY), "does not match"));
	assert_null(k);
	assert_null(c);

	/* An encrypted key asks for a passphrase. */
	assert_int_equal(key_save_private(ca_key, enc, "pw", 2, true), 0);
	assert_int_equal(pki_ca_import(cpath, enc, &k, &c), FERRY_ERR_NEED_PASSPHRASE);

	/* Missing files. */
	assert_int_equal(pki_ca_import("/nonexistent/ca.pem", kpath, &k, &c), FERRY_ERR_IO);
	assert_int_equal(pki_ca_import(cpath, "/nonexistent/ca.key", &k, &c), FERRY_ERR_IO);
	/* A key file is not a certificate. */
	assert_int_equal(pki_ca_import(kpath, kpath, &k, &c), FERRY_ERR_FORMAT);

	EVP_PKEY_free(k2);
	free(cpath);
	free(kpath);
	free(other);
	free(enc);
}

/* Make a CA-ish certificate with the openssl tool and try to import it. */
static int
import_openssl(const char *newkey, const char *ext, const char *what)
{
	char *c = pt_path("x.pem"), *k = pt_path("x.key");
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int r;

	assert_int_equal(pt_run(NULL, "openssl req -x509 -newkey %s -nodes -keyout x.key "
	    "-out x.pem -subj /CN=Imported -days 30 %s", newkey, ext), 0);
	r = pki_ca_import(c, k, &key, &cert);
	if (what != NULL) {
		assert_int_not_equal(r, 0);
		if (strstr(ferry_error_detail(r), what) == NULL)
			fail_msg("detail \"%s\" lacks \"%s\"", ferry_error_detail(r), what);
	}
	EVP_PKEY_free(key);
	X509_free(cert);
	free(c);
	free(k);
	return r;
}

static void
test_ca_import_refusals(void **state)
{
	(void)state;
	/* A proper external CA is accepted. */
	assert_int_equal(import_openssl("ec -pkeyopt ec_paramgen_curve:P-384",
	    "-addext basicConstraints=critical,CA:TRUE "
	    "-addext keyUsage=critical,keyCertSign,cRLSign", NULL), 0);
	assert_int_equal(import_openssl("ec -pkeyopt ec_paramgen_curve:P-521",
	    "-addext basicConstraints=critical,CA:TRUE", NULL), 0);
	/* Not a CA. */
	assert_int_equal(import_openssl("ec -pkeyopt ec_paramgen_curve:P-384",
	    "-addext basicConstraints=critical,CA:FALSE", "not a CA"), FERRY_ERR_KEY);
	/* Cannot sign CRLs. */
	assert_int_equal(import_openssl("ec -pkeyopt ec_paramgen_curve:P-384",
	    "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
	    "cRLSign"), FERRY_ERR_KEY);
	/* Weak keys. */
	assert_int_equal(import_openssl("rsa:2048",
	    "-addext basicConstraints=critical,CA:TRUE", "RSA-2048"), FERRY_ERR_KEY);
	assert_int_equal(import_openssl("ec -pkeyopt ec_paramgen_curve:P-256",
	    "-addext basicConstraints=critical,CA:TRUE", "P-256"), FERRY_ERR_KEY);
}

static void
test_ca_import_not_self_signed(void **state)
{
	char *c = pt_path("sub.pem"), *k = pt_path("sub.key");
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;

	(void)state;
	pt_save_cert(ca_cert, "ca.pem");
	{
		char *kp = pt_path("ca.key");

		assert_int_equal(key_save_private(ca_key, kp, NULL, 0, true), 0);
		free(kp);
	}
	/* A subordinate CA signed by our root: a CA, but not a root. */
	assert_int_equal(pt_run(NULL, "openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-384 -nodes -keyout sub.key -out sub.csr -subj /CN=Sub && "
	    "printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=keyCertSign,cRLSign\\n' "
	    ">sub.ext && openssl x509 -req -in sub.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -days 30 -extfile sub.ext -out sub.pem"), 0);
	assert_int_equal(pki_ca_import(c, k, &key, &cert), FERRY_ERR_KEY);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_KEY), "self-signed"));
	free(c);
	free(k);
}

static void
test_cert_files(void **state)
{
	char *p = pt_path("c.pem"), *g = pt_path("garbage.pem");
	struct stat st;
	X509 *c = NULL;
	uint8_t *der = NULL, *buf;
	size_t len = 0, flen;
	char *out;

	(void)state;
	unlink(p);
	assert_int_equal(pki_cert_save(ca_cert, p, false), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(pki_cert_save(ca_cert, p, false), FERRY_ERR_EXISTS);
	assert_int_equal(pki_cert_save(ca_cert, p, true), 0);
	assert_int_equal(pki_cert_load(p, &c), 0);
	assert_int_equal(X509_cmp(c, ca_cert), 0);
	X509_free(c);

	pt_write("garbage.pem", "hello\n", 6);
	assert_int_equal(pki_cert_load(g, &c), FERRY_ERR_FORMAT);
	assert_null(c);
	assert_int_equal(pki_cert_load("/nonexistent/x.pem", &c), FERRY_ERR_IO);

	/* write_fd produces the same PEM that openssl reads. */
	{
		char *w = pt_path("fd.pem");
		FILE *f = fopen(w, "wb");

		assert_non_null(f);
		assert_int_equal(pki_cert_write_fd(ca_cert, fileno(f)), 0);
		fclose(f);
		free(w);
	}
	assert_int_equal(pt_run(&out, "openssl x509 -in fd.pem -noout -subject"), 0);
	assert_non_null(strstr(out, "Acme Corp ferry root CA"));
	free(out);

	/* DER round trip and its refusals. */
	assert_int_equal(pki_cert_to_der(ca_cert, &der, &len), 0);
	assert_int_equal(pki_cert_from_der(der, len, &c), 0);
	assert_int_equal(X509_cmp(c, ca_cert), 0);
	X509_free(c);
	for (size_t n = 0; n < len; n += (n < 16 ? 1 : 37)) {
		assert_int_equal(pki_cert_from_der(der, n, &c), FERRY_ERR_FORMAT);
		assert_null(c);
	}
	assert_non_null(buf = malloc(FERRY_MAX_CERT + 1));
	memcpy(buf, der, len);
	buf[len] = 0;
	assert_int_equal(pki_cert_from_der(buf, len + 1, &c), FERRY_ERR_FORMAT);
	memset(buf, 0x30, FERRY_MAX_CERT + 1);
	assert_int_equal(pki_cert_from_der(buf, FERRY_MAX_CERT + 1, &c), FERRY_ERR_LIMIT);
	free(buf);
	/* The DER matches what openssl writes. */
	pt_save_cert(ca_cert, "ca.pem");
	assert_int_equal(pt_run(NULL, "openssl x509 -in ca.pem -outform DER -out ca.der"), 0);
	buf = pt_read("ca.der", &flen);
	assert_int_equal(flen, len);
	assert_memory_equal(buf, der, len);
	free(buf);
	OPENSSL_free(der);
	free(p);
	free(g);
}

static void
test_cert_user(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(pki_cert_user(ca_cert, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Acme Corp ferry root CA");
	assert_int_equal(pki_cert_user(ca_cert, buf, 10), FERRY_ERR_LIMIT);
	assert_int_equal(pki_cert_serial_hex(ca_cert, buf, 10), FERRY_ERR_LIMIT);
}

/* Set cert's serial from hex (a leading '-' makes it negative). */
static void
set_serial(X509 *x, const char *hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;

	assert_true(BN_hex2bn(&bn, hex) > 0);
	assert_non_null(ai = BN_to_ASN1_INTEGER(bn, NULL));
	assert_int_equal(X509_set_serialNumber(x, ai), 1);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
}

static void
test_serial_hex(void **state)
{
	char buf[PKI_SERIAL_HEX_MAX];
	X509 *x = X509_new();

	(void)state;
	assert_non_null(x);
	set_serial(x, "0A0B");
	assert_int_equal(pki_cert_serial_hex(x, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a0b");
	assert_int_equal(pki_cert_serial_hex(x, buf, 4), 0);
	assert_int_equal(pki_cert_serial_hex(x, buf, 3), FERRY_ERR_LIMIT);
	set_serial(x, "1");
	assert_int_equal(pki_cert_serial_hex(x, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
	set_serial(x, "FFEEDDCCBBAA99887766554433221100FFEEDDCC");
	assert_int_equal(pki_cert_serial_hex(x, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ffeeddccbbaa99887766554433221100ffeeddcc");
	set_serial(x, "01FFEEDDCCBBAA99887766554433221100FFEEDDCC");
	assert_int_equal(pki_cert_serial_hex(x, buf, sizeof(buf)), FERRY_ERR_LIMIT);
	set_serial(x, "0");
	assert_int_equal(pki_cert_serial_hex(x, buf, sizeof(buf)), FERRY_ERR_FORMAT);
	set_serial(x, "-5");
	assert_int_equal(pki_cert_serial_hex(x, buf, sizeof(buf)), FERRY_ERR_FORMAT);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_fields),
		cmocka_unit_test(test_ca_openssl),
		cmocka_unit_test(test_ca_bad_org),
		cmocka_unit_test(test_ca_import),
		cmocka_unit_test(test_ca_import_refusals),
		cmocka_unit_test(test_ca_import_not_self_signed),
		cmocka_unit_test(test_cert_files),
		cmocka_unit_test(test_cert_user),
		cmocka_unit_test(test_serial_hex),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
