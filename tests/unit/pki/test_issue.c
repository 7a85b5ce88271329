/*
 * Issuing: the server certificate (SANs, serverAuth, host syntax), CSR parsing (key
 * policy, signature, DER only, bounds) and client certificates whose subject and
 * extensions come from the server alone, whatever the CSR asked for.
 */
#include "pki_test.h"

#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "crypto/keys.h"
#include "util/limits.h"

static EVP_PKEY *ca_key, *p384, *rsa3072;
static X509 *ca_cert;

static int
setup(void **state)
{
	char *p;
	int r;

	(void)state;
	pt_dir = test_tmpdir();
	if (pki_ca_create("Acme", &ca_key, &ca_cert) != 0 ||
	    key_generate(KEY_P384, &p384) != 0 || key_generate(KEY_RSA3072, &rsa3072) != 0)
		return -1;
	p = pt_path("ca.pem");
	r = pki_cert_save(ca_cert, p, true);
	free(p);
	return r == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa3072);
	X509_free(ca_cert);
	rm_rf(pt_dir);
	free(pt_dir);
	return 0;
}

/* ---- server certificate ---- */

static void
test_host_check(void **state)
{
	static const char *const good[] = {
		"localhost", "127.0.0.1", "::1", "fe80::1", "ferry.example.com", "a", "x-1.y2",
		"ferry.example.com.a1", "0.0.0.0", "2001:db8::42", "EXAMPLE.org", "1a.2b",
	};
	static const char *const bad[] = {
		"", ".", "a..b", ".a", "a.", "-a", "a-", "a_b", "*.example.com", "a b",
		"1.2.3", "256.1.1.1", "1.2.3.4.5", "[::1]", "::g", "a.b.123", "host:443",
		"caf\xc3\xa9.example", "a/b", "a\nb",
	};
	char label64[80], longname[300];
	bool ip;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (pki_host_check(good[i], NULL) != 0)
			fail_msg("\"%s\" refused: %s", good[i], ferry_error_detail(-1));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pki_host_check(bad[i], NULL) != FERRY_ERR_USAGE)
			fail_msg("\"%s\" accepted", bad[i]);
	}
	assert_int_equal(pki_host_check("::1", &ip), 0);
	assert_true(ip);
	assert_int_equal(pki_host_check("localhost", &ip), 0);
	assert_false(ip);
	memset(label64, 'a', 64);
	label64[64] = '\0';
	assert_int_equal(pki_host_check(label64, NULL), FERRY_ERR_USAGE);
	label64[63] = '\0';
	assert_int_equal(pki_host_check(label64, NULL), 0);
	/* 254 bytes in labels of 9. */
	for (size_t i = 0; i < 254; i++)
		longname[i] = (i % 10 == 9) ? '.' : 'a';
	longname[254] = '\0';
	assert_int_equal(pki_host_check(longname, NULL), FERRY_ERR_USAGE);
	longname[253] = '\0';
	assert_int_equal(pki_host_check(longname, NULL), 0);
}

static void
test_server_cert(void **state)
{
	static const char *const hosts[] = {
		"localhost", "127.0.0.1", "::1", "ferry.example.com",
	};
	char *s, *out;
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	int64_t nb, na, now = (int64_t)time(NULL);

	(void)state;
	assert_int_equal(pki_server_cert_issue(ca_key, ca_cert, hosts, 4, &k, &c), 0);
	assert_string_equal(key_describe(k), "P-384");
	assert_int_equal(pki_cert_check_key(c, k), 0);
	s = pt_subject(c);
	assert_string_equal(s, "O=Acme,CN=localhost");
	free(s);
	s = pt_san(c);
	assert_string_equal(s, "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:ferry.example.com");
	free(s);
	assert_int_equal(X509_get_ext_count(c), 6);
	assert_int_equal(pt_ext_critical(c, NID_basic_constraints), 1);
	assert_int_equal(pt_ext_critical(c, NID_key_usage), 1);
	assert_int_equal(pt_ext_critical(c, NID_ext_key_usage), 0);
	assert_int_equal(pt_ext_critical(c, NID_subject_key_identifier), 0);
	assert_int_equal(pt_ext_critical(c, NID_authority_key_identifier), 0);
	assert_int_equal(pt_ext_critical(c, NID_subject_alt_name), 0);
	assert_int_equal(X509_get_key_usage(c), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(c), XKU_SSL_SERVER);
	assert_int_equal(X509_check_ca(c), 0);
	assert_int_equal(X509_check_host(c, "ferry.example.com", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(c, "other.example.com", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(c, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(c, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(c, "127.0.0.2", 0), 0);
	assert_int_equal(pki_cert_not_before(c, &nb), 0);
	assert_int_equal(pki_cert_not_after(c, &na), 0);
	assert_true(nb <= now && nb >= now - FERRY_CERT_BACKDATE - 5);
	assert_true(na >= now + (int64_t)FERRY_SERVER_CERT_DAYS * 86400 - 5 &&
	    na <= now + (int64_t)FERRY_SERVER_CERT_DAYS * 86400 + 5);

	assert_int_equal(pki_verify_chain(ca_cert, c, 0, NULL, 0), 0);
	{
		char why[128];

		assert_int_equal(pki_verify_chain(ca_cert, c, 1, why, sizeof(why)),
		    FERRY_ERR_AUTH);
		assert_true(why[0] != '\0');
	}

	pt_save_cert(c, "server.pem");
	assert_int_equal(pt_run(&out, "openssl verify -CAfile ca.pem server.pem"), 0);
	assert_non_null(strstr(out, "server.pem: OK"));
	free(out);
	assert_int_equal(pt_run(NULL, "openssl verify -CAfile ca.pem -purpose sslserver "
	    "server.pem"), 0);
	assert_int_not_equal(pt_run(NULL, "openssl verify -CAfile ca.pem -purpose sslclient "
	    "server.pem"), 0);
	assert_int_equal(pt_run(NULL, "openssl verify -CAfile ca.pem -verify_hostname "
	    "ferry.example.com server.pem"), 0);
	assert_int_not_equal(pt_run(NULL, "openssl verify -CAfile ca.pem -verify_hostname "
	    "evil.example.com server.pem"), 0);
	assert_int_equal(pt_run(&out, "openssl x509 -in server.pem -noout -text"), 0);
	assert_non_null(strstr(out, "DNS:localhost, IP Address:127.0.0.1, "
	    "IP Address:0:0:0:0:0:0:0:1, DNS:ferry.example.com"));
	assert_non_null(strstr(out, "TLS Web Server Authentication"));
	assert_non_null(strstr(out, "CA:FALSE"));
	free(out);
	EVP_PKEY_free(k);
	X509_free(c);
}

static void
test_server_cert_refusals(void **state)
{
	const char *hosts[FERRY_MAX_HOSTS + 1];
	char longhost[80];
	EVP_PKEY *k = (EVP_PKEY *)1;
	X509 *c = (X509 *)1;

	(void)state;
	for (size_t i = 0; i <= FERRY_MAX_HOSTS; i++)
		hosts[i] = "localhost";
	assert_int_equal(pki_server_cert_issue(ca_key, ca_cert, hosts, 0, &k, &c),
	    FERRY_ERR_USAGE);
	assert_null(k);
	assert_null(c);
	assert_int_equal(pki_server_cert_issue(ca_key, ca_cert, hosts, FERRY_MAX_HOSTS + 1,
	    &k, &c), FERRY_ERR_USAGE);
	assert_int_equal(pki_server_cert_issue(ca_key, ca_cert, hosts, FERRY_MAX_HOSTS,
	    &k, &c), 0);
	EVP_PKEY_free(k);
	X509_free(c);
	hosts[3] = "bad_host";
	assert_int_equal(pki_server_cert_issue(ca_key, ca_cert, hosts, 4, &k, &c),
	    FERRY_ERR_USAGE);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_USAGE), "bad_host"));
	/* The first host becomes the CN: at most 64 bytes. */
	memset(longhost, 'a', 70);
	longhost[70] = '\0';
	longhost[30] = '.';
	hosts[0] = longhost;
	assert_int_equal(pki_server_cert_issue(ca_key, ca_cert, hosts, 1, &k, &c),
	    FERRY_ERR_USAGE);
	hosts[0] = "localhost";
	hosts[1] = longhost;
	assert_int_equal(pki_server_cert_issue(ca_key, ca_cert, hosts, 2, &k, &c), 0);
	EVP_PKEY_free(k);
	X509_free(c);
}

/* ---- CSRs ---- */

static uint8_t *
make_csr(EVP_PKEY *key, const char *user, size_t *len)
{
	uint8_t *der = NULL;

	assert_int_equal(pki_csr_create(key, user, &der, len), 0);
	return der;
}

/* Issue for user "alice" from a DER CSR and return the certificate. */
static X509 *
issue(const uint8_t *der, size_t len, char serial[PKI_SERIAL_HEX_LEN + 1])
{
	X509_REQ *req = NULL;
	X509 *c = NULL;

	if (pki_csr_parse(der, len, &req) != 0)
		fail_msg("CSR refused: %s", ferry_error_detail(-1));
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "alice", "Acme", 90, &c,
	    serial), 0);
	X509_REQ_free(req);
	return c;
}

static void
check_client_cert(X509 *c, bool rsa)
{
	char *s, user[64];

	s = pt_subject(c);
	assert_string_equal(s, "O=Acme,CN=alice");
	free(s);
	assert_int_equal(pki_cert_user(c, user, sizeof(user)), 0);
	assert_string_equal(user, "alice");
	assert_int_equal(X509_get_version(c), X509_VERSION_3);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(c),
	    X509_get_subject_name(ca_cert)), 0);
	/* Exactly these five extensions. */
	assert_int_equal(X509_get_ext_count(c), 5);
	assert_int_equal(pt_ext_critical(c, NID_basic_constraints), 1);
	assert_int_equal(pt_ext_critical(c, NID_key_usage), 1);
	assert_int_equal(pt_ext_critical(c, NID_ext_key_usage), 0);
	assert_int_equal(pt_ext_critical(c, NID_subject_key_identifier), 0);
	assert_int_equal(pt_ext_critical(c, NID_authority_key_identifier), 0);
	assert_int_equal(pt_ext_critical(c, NID_subject_alt_name), -1);
	assert_int_equal(X509_get_key_usage(c), rsa ?
	    (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) :
	    (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT));
	assert_int_equal(X509_get_extended_key_usage(c), XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(c), 0);
	assert_true(X509_get_extension_flags(c) & EXFLAG_BCONS);
	assert_false(X509_get_extension_flags(c) & EXFLAG_CA);
	assert_int_equal(pki_verify_chain(ca_cert, c, 1, NULL, 0), 0);
	assert_int_equal(pki_verify_chain(ca_cert, c, 0, NULL, 0), FERRY_ERR_AUTH);
}

static void
test_client_cert(void **state)
{
	char serial[PKI_SERIAL_HEX_LEN + 1], s2[PKI_SERIAL_HEX_MAX], *out;
	uint8_t *der;
	size_t len;
	X509 *c;
	int64_t nb, na;

	(void)state;
	der = make_csr(p384, "alice", &len);
	c = issue(der, len, serial);
	check_client_cert(c, false);
	assert_int_equal(strlen(serial), PKI_SERIAL_HEX_LEN);
	assert_int_equal(pki_cert_serial_hex(c, s2, sizeof(s2)), 0);
	assert_string_equal(serial, s2);
	assert_int_equal(pki_cert_check_key(c, p384), 0);
	assert_int_equal(pki_cert_check_key(c, rsa3072), FERRY_ERR_KEY);
	assert_int_equal(pki_cert_not_before(c, &nb), 0);
	assert_int_equal(pki_cert_not_after(c, &na), 0);
	assert_int_equal(na - nb, 90 * 86400 + FERRY_CERT_BACKDATE);

	pt_save_cert(c, "client.pem");
	assert_int_equal(pt_run(&out, "openssl verify -CAfile ca.pem -purpose sslclient "
	    "client.pem"), 0);
	assert_non_null(strstr(out, "client.pem: OK"));
	free(out);
	assert_int_equal(pt_run(NULL, "openssl verify -CAfile ca.pem client.pem"), 0);
	assert_int_not_equal(pt_run(NULL, "openssl verify -CAfile ca.pem -purpose sslserver "
	    "client.pem"), 0);
	/* The serial openssl prints is ours. */
	assert_int_equal(pt_run(&out, "openssl x509 -in client.pem -noout -serial"), 0);
	for (char *p = out; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
	assert_non_null(strstr(out, serial));
	free(out);
	X509_free(c);
	OPENSSL_free(der);

	/* RSA-3072: keyEncipherment instead of keyAgreement. */
	der = make_csr(rsa3072, "alice", &len);
	c = issue(der, len, serial);
	check_client_cert(c, true);
	pt_save_cert(c, "client-rsa.pem");
	assert_int_equal(pt_run(NULL, "openssl verify -CAfile ca.pem -purpose sslclient "
	    "client-rsa.pem"), 0);
	X509_free(c);
	OPENSSL_free(der);
}

/* A CSR asking for another name, CA rights, SANs and other EKUs, made by openssl. */
static void
test_hostile_csr(void **state)
{
	char serial[PKI_SERIAL_HEX_LEN + 1], *out;
	uint8_t *der;
	size_t len;
	X509 *c;

	(void)state;
	assert_int_equal(pt_run(NULL, "openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-384 -nodes -keyout evil.key "
	    "-subj '/CN=root/O=Evil Corp/OU=admins' "
	    "-addext 'basicConstraints=critical,CA:TRUE' "
	    "-addext 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature' "
	    "-addext 'extendedKeyUsage=serverAuth,codeSigning,clientAuth' "
	    "-addext 'subjectAltName=DNS:evil.example,email:root@example.com' "
	    "-outform DER -out evil.der"), 0);
	der = pt_read("evil.der", &len);
	c = issue(der, len, serial);
	check_client_cert(c, false);
	pt_save_cert(c, "evil.pem");
	assert_int_equal(pt_run(&out, "openssl x509 -in evil.pem -noout -text"), 0);
	assert_null(strstr(out, "CN = root"));
	assert_null(strstr(out, "root@"));
	assert_null(strstr(out, "Evil"));
	assert_null(strstr(out, "evil.example"));
	assert_null(strstr(out, "CA:TRUE"));
	assert_null(strstr(out, "Code Signing"));
	assert_null(strstr(out, "Server Authentication"));
	assert_null(strstr(out, "Certificate Sign"));
	assert_non_null(strstr(out, "Subject: CN = alice, O = Acme"));
	free(out);
	/* It cannot sign other certificates. */
	assert_int_not_equal(pt_run(NULL, "openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-384 -nodes -keyout leaf.key -subj /CN=leaf -out leaf.csr && "
	    "openssl x509 -req -in leaf.csr -CA evil.pem -CAkey evil.key -CAcreateserial "
	    "-days 1 -out leaf.pem && cat evil.pem >chain.pem && "
	    "openssl verify -CAfile ca.pem -untrusted chain.pem leaf.pem"), 0);
	X509_free(c);
	free(der);
}

/* Make a CSR with openssl from a key spec and expect pki_csr_parse to refuse it. */
static void
expect_refused(const char *keygen, const char *req_opts, int code, const char *why)
{
	X509_REQ *req = NULL;
	uint8_t *der;
	size_t len;
	int r;

	assert_int_equal(pt_run(NULL, "%s && openssl req -new -key k.pem -subj /CN=alice %s "
	    "-outform DER -out k.der", keygen, req_opts), 0);
	der = pt_read("k.der", &len);
	r = pki_csr_parse(der, len, &req);
	if (r != code)
		fail_msg("%s: got %d (%s), wanted %d", keygen, r, ferry_error_detail(r), code);
	assert_null(req);
	if (strstr(ferry_error_detail(r), why) == NULL)
		fail_msg("detail \"%s\" lacks \"%s\"", ferry_error_detail(r), why);
	free(der);
}

static void
test_weak_keys(void **state)
{
	(void)state;
	expect_refused("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
	    "-out k.pem", "", FERRY_ERR_KEY,
	    "CSR key is RSA-2048; at least 3072 bits required");
	expect_refused("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
	    "-out k.pem", "", FERRY_ERR_KEY, "CSR key curve P-256 not allowed");
	expect_refused("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 "
	    "-out k.pem", "", FERRY_ERR_KEY, "CSR key curve P-521 not allowed");
	expect_refused("openssl genpkey -algorithm ED25519 -out k.pem", "", FERRY_ERR_KEY,
	    "CSR key type ED25519 not allowed");
	expect_refused("openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:3072 "
	    "-out k.pem", "", FERRY_ERR_KEY, "RSA-PSS");
	/* P-384 with explicit curve parameters instead of the named curve. */
	expect_refused("openssl ecparam -name secp384r1 -param_enc explicit -genkey "
	    "-noout -out k.pem", "", FERRY_ERR_KEY, "explicit EC parameters");
	/* A SHA-1 signature. */
	expect_refused("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 "
	    "-out k.pem", "-sha1", FERRY_ERR_FORMAT, "SHA-256 or stronger");
}

static void
test_bad_signature(void **state)
{
	X509_REQ *req = NULL;
	uint8_t *der;
	size_t len;
	uint8_t *p;

	(void)state;
	der = make_csr(p384, "alice", &len);
	assert_int_equal(pki_csr_parse(der, len, &req), 0);
	X509_REQ_free(req);
	req = NULL;
	/* Change the subject: the signature no longer covers it. */
	assert_non_null(p = memmem(der, len, "alice", 5));
	p[4] = 'f';
	assert_int_equal(pki_csr_parse(der, len, &req), FERRY_ERR_FORMAT);
	assert_string_equal(ferry_error_detail(FERRY_ERR_FORMAT),
	    "CSR signature does not verify");
	assert_null(req);
	p[4] = 'e';
	/* Change the last byte of the signature. */
	der[len - 1] ^= 0x01;
	assert_int_equal(pki_csr_parse(der, len, &req), FERRY_ERR_FORMAT);
	assert_null(req);
	OPENSSL_free(der);

	/* A CSR signed by a different key than the one it carries. */
	{
		X509_REQ *forged = X509_REQ_new();
		unsigned char *fder = NULL;
		int n;

		assert_non_null(forged);
		assert_int_equal(X509_REQ_set_version(forged, X509_REQ_VERSION_1), 1);
		assert_int_equal(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(forged),
		    "CN", MBSTRING_ASC, (const unsigned char *)"alice", -1, -1, 0), 1);
		assert_int_equal(X509_REQ_set_pubkey(forged, ca_key), 1);
		assert_true(X509_REQ_sign(forged, p384, EVP_sha384()) > 0);
		assert_true((n = i2d_X509_REQ(forged, &fder)) > 0);
		assert_int_equal(pki_csr_parse(fder, (size_t)n, &req), FERRY_ERR_FORMAT);
		assert_null(req);
		OPENSSL_free(fder);
		X509_REQ_free(forged);
	}
}

/* An RSA-3072 public key with exponent 1 (anyone could "sign" for it). */
static void
test_invalid_key(void **state)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pub = NULL;
	BIGNUM *n = NULL, *e;
	X509_REQ *req, *out = NULL;
	unsigned char *der = NULL;
	int len;

	(void)state;
	assert_int_equal(EVP_PKEY_get_bn_param(rsa3072, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_non_null(e = BN_new());
	assert_int_equal(BN_set_word(e, 1), 1);
	assert_non_null(bld = OSSL_PARAM_BLD_new());
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
	assert_non_null(params = OSSL_PARAM_BLD_to_param(bld));
	assert_non_null(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL));
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params), 1);

	assert_non_null(req = X509_REQ_new());
	assert_int_equal(X509_REQ_set_pubkey(req, pub), 1);
	assert_true(X509_REQ_sign(req, p384, EVP_sha384()) > 0);
	assert_true((len = i2d_X509_REQ(req, &der)) > 0);
	assert_int_equal(pki_csr_parse(der, (size_t)len, &out), FERRY_ERR_KEY);
	assert_string_equal(ferry_error_detail(FERRY_ERR_KEY),
	    "CSR key is not a valid public key");
	assert_null(out);

	OPENSSL_free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
}

static void
test_garbage(void **state)
{
	X509_REQ *req = NULL;
	uint8_t *der, *buf;
	size_t len;
	int r;

	(void)state;
	der = make_csr(p384, "alice", &len);
	/* Every truncation. */
	for (size_t n = 0; n < len; n++) {
		r = pki_csr_parse(der, n, &req);
		if (r != FERRY_ERR_FORMAT)
			fail_msg("prefix %zu: %d", n, r);
		assert_null(req);
	}
	/* Trailing bytes. */
	assert_non_null(buf = malloc(FERRY_MAX_CSR + 1));
	memcpy(buf, der, len);
	buf[len] = 0;
	assert_int_equal(pki_csr_parse(buf, len + 1, &req), FERRY_ERR_FORMAT);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_FORMAT), "trailing"));
	/* Non-minimal length encoding of the outer SEQUENCE (BER, not DER). */
	assert_int_equal(der[0], 0x30);
	if (der[1] == 0x81) {
		buf[0] = 0x30;
		buf[1] = 0x82;
		buf[2] = 0x00;
		memcpy(buf + 3, der + 2, len - 2);
		assert_int_equal(pki_csr_parse(buf, len + 1, &req), FERRY_ERR_FORMAT);
		assert_null(req);
	}
	/* Random bytes. */
	for (int i = 0; i < 200; i++) {
		size_t n = (size_t)(rand() % 600);

		for (size_t j = 0; j < n; j++)
			buf[j] = (uint8_t)rand();
		if (i % 2 == 0 && n > 0)
			buf[0] = 0x30;
		r = pki_csr_parse(buf, n, &req);
		assert_true(r == FERRY_ERR_FORMAT || r == FERRY_ERR_KEY);
		assert_null(req);
	}
	/* Too long. */
	memset(buf, 0x30, FERRY_MAX_CSR + 1);
	assert_int_equal(pki_csr_parse(buf, FERRY_MAX_CSR + 1, &req), FERRY_ERR_LIMIT);
	/* A certificate is not a CSR. */
	{
		uint8_t *cder = NULL;
		size_t clen = 0;

		assert_int_equal(pki_cert_to_der(ca_cert, &cder, &clen), 0);
		assert_int_equal(pki_csr_parse(cder, clen, &req), FERRY_ERR_FORMAT);
		OPENSSL_free(cder);
	}
	free(buf);
	OPENSSL_free(der);
}

static void
test_pem_csr(void **state)
{
	X509_REQ *req = NULL;
	uint8_t *pem;
	size_t len;

	(void)state;
	assert_int_equal(pt_run(NULL, "openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-384 -nodes -keyout p.key -subj /CN=bob -out p.csr"), 0);
	pem = pt_read("p.csr", &len);
	assert_int_equal(pki_csr_parse_pem((const char *)pem, len, &req), 0);
	assert_non_null(req);
	X509_REQ_free(req);
	req = NULL;
	free(pem);
	pem = pt_read("ca.pem", &len);
	assert_int_equal(pki_csr_parse_pem((const char *)pem, len, &req), FERRY_ERR_FORMAT);
	assert_null(req);
	assert_int_equal(pki_csr_parse_pem("junk", 4, &req), FERRY_ERR_FORMAT);
	free(pem);
}

static void
test_issue_refusals(void **state)
{
	char serial[PKI_SERIAL_HEX_LEN + 1];
	X509_REQ *req = NULL;
	uint8_t *der;
	size_t len;
	X509 *c = (X509 *)1;

	(void)state;
	der = make_csr(p384, "alice", &len);
	assert_int_equal(pki_csr_parse(der, len, &req), 0);
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "alice", "Acme", 0, &c,
	    serial), FERRY_ERR_USAGE);
	assert_null(c);
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "alice", "Acme",
	    FERRY_MAX_CLIENT_CERT_DAYS + 1, &c, serial), FERRY_ERR_USAGE);
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "Alice", "Acme", 90, &c,
	    serial), FERRY_ERR_USAGE);
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "../x", "Acme", 90, &c,
	    serial), FERRY_ERR_USAGE);
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "", "Acme", 90, &c,
	    serial), FERRY_ERR_USAGE);
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req,
	    "a234567890123456789012345678901x3", "Acme", 90, &c, serial), FERRY_ERR_USAGE);
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "a.b_c-1", "Acme",
	    FERRY_MAX_CLIENT_CERT_DAYS, &c, serial), 0);
	X509_free(c);
	/* Without an organisation the subject is the CN alone. */
	assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "bob", NULL, 1, &c,
	    serial), 0);
	{
		char *s = pt_subject(c);

		assert_string_equal(s, "CN=bob");
		free(s);
	}
	X509_free(c);
	X509_REQ_free(req);
	OPENSSL_free(der);
	assert_false(pki_user_name_ok("-a"));
	assert_false(pki_user_name_ok(".a"));
	assert_true(pki_user_name_ok("0a"));
	assert_false(pki_user_name_ok("a b"));
	assert_false(pki_user_name_ok(NULL));
}

#define NSERIALS 300

static int
cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void
test_serials_unique(void **state)
{
	static char serials[NSERIALS][PKI_SERIAL_HEX_LEN + 1];
	X509_REQ *req = NULL;
	uint8_t *der;
	size_t len;
	X509 *c;

	(void)state;
	der = make_csr(p384, "alice", &len);
	assert_int_equal(pki_csr_parse(der, len, &req), 0);
	for (int i = 0; i < NSERIALS; i++) {
		assert_int_equal(pki_client_cert_issue(ca_key, ca_cert, req, "alice", "Acme",
		    90, &c, serials[i]), 0);
		assert_int_equal(strlen(serials[i]), PKI_SERIAL_HEX_LEN);
		assert_true(serials[i][0] >= '1' && serials[i][0] <= '7');
		assert_true(ASN1_STRING_type(X509_get0_serialNumber(c)) == V_ASN1_INTEGER);
		X509_free(c);
	}
	qsort(serials, NSERIALS, sizeof(serials[0]), cmp_str);
	for (int i = 1; i < NSERIALS; i++)
		assert_string_not_equal(serials[i - 1], serials[i]);
	X509_REQ_free(req);
	OPENSSL_free(der);
}

/* A certificate from another CA does not verify against ours. */
static void
test_other_ca(void **state)
{
	EVP_PKEY *k2 = NULL, *sk = NULL;
	X509 *c2 = NULL, *sc = NULL;
	const char *hosts[] = { "localhost" };
	char why[256];

	(void)state;
	assert_int_equal(pki_ca_create("Acme", &k2, &c2), 0);
	assert_int_equal(pki_server_cert_issue(k2, c2, hosts, 1, &sk, &sc), 0);
	assert_int_equal(pki_verify_chain(ca_cert, sc, 0, why, sizeof(why)), FERRY_ERR_AUTH);
	assert_non_null(strstr(why, "issuer"));
	assert_int_equal(pki_verify_chain(c2, sc, 0, why, sizeof(why)), 0);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(sk);
	X509_free(c2);
	X509_free(sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_check),
		cmocka_unit_test(test_server_cert),
		cmocka_unit_test(test_server_cert_refusals),
		cmocka_unit_test(test_client_cert),
		cmocka_unit_test(test_hostile_csr),
		cmocka_unit_test(test_weak_keys),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_invalid_key),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_pem_csr),
		cmocka_unit_test(test_issue_refusals),
		cmocka_unit_test(test_serials_unique),
		cmocka_unit_test(test_other_ca),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
