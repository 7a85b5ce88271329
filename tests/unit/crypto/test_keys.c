/*
 * Key files: generation, PEM PKCS#8 / SubjectPublicKeyInfo writing with exact modes and
 * no-clobber, passphrase handling, certificates as public keys, and the refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/keys.h"
#include "testutil.h"
#include "util/err.h"
#include "util/io.h"
#include "util/limits.h"

#define NTYPES 4
#define PASS "correct horse battery staple"

static const enum key_type types[NTYPES] = { KEY_P384, KEY_X25519, KEY_RSA3072, KEY_RSA4096 };
static const char *const descs[NTYPES] = { "P-384", "X25519", "RSA-3072", "RSA-4096" };

/* One key per type for the whole run (RSA-4096 generation is slow), plus a spare P-384
 * key for overwrite checks and certificate signing. */
static EVP_PKEY *keys[NTYPES];
static EVP_PKEY *spare;
static char *dir;

static char *
tmp_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		fail_msg("out of memory");
	return p;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The whole file as a NUL-terminated string; caller frees. */
static char *
read_text(const char *path)
{
	char *buf, *copy;
	size_t len;
	int r;

	if ((r = io_read_file(path, 1024 * 1024, &buf, &len)) != 0)
		fail_msg("%s", ferry_error_detail(r));
	copy = strdup(buf);
	OPENSSL_clear_free(buf, len + 1);
	assert_non_null(copy);
	return copy;
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Does `openssl pkey` accept the file? pass may be NULL. */
static int
openssl_accepts(const char *path, bool pub, const char *pass)
{
	char cmd[1024];
	int n;

	if (pass != NULL)
		assert_int_equal(setenv("FERRY_TEST_PASS", pass, 1), 0);
	n = snprintf(cmd, sizeof(cmd), "openssl pkey %s -in '%s' -noout %s </dev/null "
	    ">/dev/null 2>&1", pub ? "-pubin" : "", path,
	    pass != NULL ? "-passin env:FERRY_TEST_PASS" : "");
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	return system(cmd) == 0;
}

/* The encrypted PKCS#8 must be PBES2 with scrypt (N = 2^14, r = 8, p = 1) and
 * AES-256-CBC. */
static void
check_pbes2_scrypt(const char *path)
{
	const X509_ALGOR *alg;
	const ASN1_OBJECT *obj;
	const void *pval;
	PBE2PARAM *pbe2;
	SCRYPT_PARAMS *sp;
	X509_SIG *p8;
	FILE *f;
	int ptype;

	assert_non_null(f = fopen(path, "r"));
	p8 = PEM_read_PKCS8(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(p8);
	X509_SIG_get0(p8, &alg, NULL);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	assert_int_equal(OBJ_obj2nid(obj), NID_pbes2);
	assert_int_equal(ptype, V_ASN1_SEQUENCE);
	pbe2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
	assert_non_null(pbe2);
	X509_ALGOR_get0(&obj, &ptype, &pval, pbe2->keyfunc);
	assert_int_equal(OBJ_obj2nid(obj), NID_id_scrypt);
	sp = ASN1_item_unpack(pval, ASN1_ITEM_rptr(SCRYPT_PARAMS));
	assert_non_null(sp);
	assert_int_equal(ASN1_INTEGER_get(sp->costParameter), 16384);
	assert_int_equal(ASN1_INTEGER_get(sp->blockSize), 8);
	assert_int_equal(ASN1_INTEGER_get(sp->parallelizationParameter), 1);
	assert_int_equal(ASN1_STRING_length(sp->salt), 16);
	X509_ALGOR_get0(&obj, NULL, NULL, pbe2->encryption);
	assert_int_equal(OBJ_obj2nid(obj), NID_aes_256_cbc);
	SCRYPT_PARAMS_free(sp);
	PBE2PARAM_free(pbe2);
	X509_SIG_free(p8);
}

static void
test_type_names(void **state)
{
	enum key_type t;

	(void)state;
	for (size_t i = 0; i < NTYPES; i++) {
		assert_int_equal(key_type_parse(key_type_name(types[i]), &t), 0);
		assert_int_equal(t, types[i]);
	}
	assert_int_equal(key_type_parse("p384", &t), 0);
	assert_int_equal(t, KEY_P384);
	assert_int_equal(key_type_parse("rsa2048", &t), FERRY_ERR_USAGE);
	assert_int_equal(key_type_parse("", &t), FERRY_ERR_USAGE);
	assert_int_equal(key_type_parse("P384", &t), FERRY_ERR_USAGE);
}

static void
test_describe(void **state)
{
	EVP_PKEY *k;

	(void)state;
	for (size_t i = 0; i < NTYPES; i++)
		assert_string_equal(key_describe(keys[i]), descs[i]);
	assert_string_equal(key_describe(spare), "P-384");
	assert_string_equal(key_describe(NULL), "no key");
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	assert_string_equal(key_describe(k), "P-256");
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	assert_string_equal(key_describe(k), "ED25519");
	EVP_PKEY_free(k);
	assert_non_null(k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
	assert_string_equal(key_describe(k), "RSA-1024");
	EVP_PKEY_free(k);
}

/* Save private, encrypted private and public for every type; check modes, reload,
 * and that openssl accepts each file. */
static void
test_save_load_all_types(void **state)
{
	mode_t old_umask;

	(void)state;
	/* The modes must not depend on the umask. */
	old_umask = umask(0077);
	for (size_t i = 0; i < NTYPES; i++) {
		const char *name = key_type_name(types[i]);
		char *priv_path, *enc_path, *pub_path, fname[64];
		EVP_PKEY *k;

		snprintf(fname, sizeof(fname), "%s.key", name);
		priv_path = tmp_path(fname);
		snprintf(fname, sizeof(fname), "%s-enc.key", name);
		enc_path = tmp_path(fname);
		snprintf(fname, sizeof(fname), "%s.pub", name);
		pub_path = tmp_path(fname);

		assert_int_equal(key_save_private(keys[i], priv_path, NULL, 0, false), 0);
		assert_int_equal(key_save_private(keys[i], enc_path, PASS, strlen(PASS), false),
		    0);
		assert_int_equal(key_save_public(keys[i], pub_path, false), 0);
		assert_int_equal(file_mode(priv_path), 0600);
		assert_int_equal(file_mode(enc_path), 0600);
		assert_int_equal(file_mode(pub_path), 0644);

		assert_int_equal(key_load_private(priv_path, NULL, 0, &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, keys[i]), 1);
		assert_string_equal(key_describe(k), descs[i]);
		EVP_PKEY_free(k);
		/* A passphrase given for an unencrypted key is ignored. */
		assert_int_equal(key_load_private(priv_path, "x", 1, &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, keys[i]), 1);
		EVP_PKEY_free(k);

		assert_int_equal(key_load_private(enc_path, PASS, strlen(PASS), &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, keys[i]), 1);
		EVP_PKEY_free(k);
		check_pbes2_scrypt(enc_path);

		assert_int_equal(key_load_public(pub_path, &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, keys[i]), 1);
		assert_string_equal(key_describe(k), descs[i]);
		EVP_PKEY_free(k);

		assert_true(openssl_accepts(priv_path, false, NULL));
		assert_true(openssl_accepts(enc_path, false, PASS));
		assert_false(openssl_accepts(enc_path, false, "wrong"));
		assert_true(openssl_accepts(pub_path, true, NULL));

		free(priv_path);
		free(enc_path);
		free(pub_path);
	}
	umask(0);
	{
		char *p = tmp_path("umask0.key"), *q = tmp_path("umask0.pub");

		assert_int_equal(key_save_private(spare, p, NULL, 0, false), 0);
		assert_int_equal(key_save_public(spare, q, false), 0);
		assert_int_equal(file_mode(p), 0600);
		assert_int_equal(file_mode(q), 0644);
		free(p);
		free(q);
	}
	umask(old_umask);
}

/* The private file holds the private key in PKCS#8, not just something loadable. */
static void
test_pem_labels(void **state)
{
	char *p = tmp_path("label.key"), *e = tmp_path("label-enc.key"), *q = tmp_path("label.pub");
	char *text;

	(void)state;
	assert_int_equal(key_save_private(keys[0], p, NULL, 0, false), 0);
	assert_int_equal(key_save_private(keys[0], e, PASS, strlen(PASS), false), 0);
	assert_int_equal(key_save_public(keys[0], q, false), 0);
	text = read_text(p);
	assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----"));
	free(text);
	text = read_text(e);
	assert_non_null(strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
	free(text);
	text = read_text(q);
	assert_non_null(strstr(text, "-----BEGIN PUBLIC KEY-----"));
	assert_null(strstr(text, "PRIVATE"));
	free(text);
	free(p);
	free(e);
	free(q);
}

static void
test_no_clobber(void **state)
{
	char *p = tmp_path("clobber.key"), *q = tmp_path("clobber.pub");
	EVP_PKEY *k;

	(void)state;
	assert_int_equal(key_save_private(keys[0], p, NULL, 0, false), 0);
	assert_int_equal(key_save_public(keys[0], q, false), 0);

	/* Without force: refused, and the file still holds the first key. */
	assert_int_equal(key_save_private(spare, p, NULL, 0, false), FERRY_ERR_EXISTS);
	assert_non_null(strstr(ferry_error_detail(FERRY_ERR_EXISTS), p));
	assert_int_equal(key_save_private(spare, p, PASS, strlen(PASS), false),
	    FERRY_ERR_EXISTS);
	assert_int_equal(key_save_public(spare, q, false), FERRY_ERR_EXISTS);
	assert_int_equal(key_load_private(p, NULL, 0, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, keys[0]), 1);
	EVP_PKEY_free(k);
	assert_int_equal(key_load_public(q, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, keys[0]), 1);
	EVP_PKEY_free(k);

	/* With force: replaced, mode still exact. */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(key_save_private(spare, p, NULL, 0, true), 0);
	assert_int_equal(key_save_public(spare, q, true), 0);
	assert_int_equal(file_mode(p), 0600);
	assert_int_equal(file_mode(q), 0644);
	assert_int_equal(key_load_private(p, NULL, 0, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, spare), 1);
	EVP_PKEY_free(k);
	assert_int_equal(key_load_public(q, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, spare), 1);
	EVP_PKEY_free(k);
	free(p);
	free(q);
}

static void
test_passphrases(void **state)
{
	char *p = tmp_path("pass.key");
	EVP_PKEY *k = NULL;
	int r;

	(void)state;
	assert_int_equal(key_save_private(keys[1], p, PASS, strlen(PASS), false), 0);

	r = key_load_private(p, NULL, 0, &k);
	assert_int_equal(r, FERRY_ERR_NEED_PASSPHRASE);
	assert_null(k);
	assert_non_null(strstr(ferry_error_detail(r), p));

	r = key_load_private(p, "wrong", 5, &k);
	assert_int_equal(r, FERRY_ERR_PASSPHRASE);
	assert_null(k);
	{
		char want[1024];

		snprintf(want, sizeof(want), "%s: wrong passphrase", p);
		assert_string_equal(ferry_error_detail(r), want);
	}
	/* A prefix of the right passphrase is still wrong. */
	assert_int_equal(key_load_private(p, PASS, strlen(PASS) - 1, &k), FERRY_ERR_PASSPHRASE);
	assert_int_equal(ERR_peek_error(), 0);

	assert_int_equal(key_load_private(p, PASS, strlen(PASS), &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, keys[1]), 1);
	EVP_PKEY_free(k);

	/* Empty and oversized passphrases are refused when writing. */
	{
		char *q = tmp_path("pass2.key");
		char *big = calloc(1, FERRY_MAX_PASSPHRASE + 1);

		assert_non_null(big);
		memset(big, 'a', FERRY_MAX_PASSPHRASE + 1);
		assert_int_equal(key_save_private(keys[1], q, "", 0, false), FERRY_ERR_USAGE);
		assert_int_equal(key_save_private(keys[1], q, big, FERRY_MAX_PASSPHRASE + 1,
		    false), FERRY_ERR_LIMIT);
		assert_int_not_equal(access(q, F_OK), 0);
		/* The longest allowed passphrase works both ways. */
		assert_int_equal(key_save_private(keys[1], q, big, FERRY_MAX_PASSPHRASE, false),
		    0);
		assert_int_equal(key_load_private(q, big, FERRY_MAX_PASSPHRASE, &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, keys[1]), 1);
		EVP_PKEY_free(k);
		free(big);
		free(q);
	}
	free(p);
}

/* Build a certificate for subject_key, signed by spare, and write it as PEM with some
 * text before it (as `openssl x509 -text` prints). */
static void
write_cert(EVP_PKEY *subject_key, const char *path)
{
	X509 *cert;
	X509_NAME *name;
	FILE *f;

	assert_non_null(cert = X509_new());
	assert_int_equal(X509_set_version(cert, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), 1), 1);
	assert_non_null(name = X509_get_subject_name(cert));
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ferry test", -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(cert, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 86400));
	assert_int_equal(X509_set_pubkey(cert, subject_key), 1);
	assert_true(X509_sign(cert, spare, EVP_sha384()) > 0);
	assert_non_null(f = fopen(path, "w"));
	fputs("Certificate:\n    Subject: CN = ferry test\n", f);
	assert_int_equal(PEM_write_X509(f, cert), 1);
	assert_int_equal(fclose(f), 0);
	X509_free(cert);
}

static void
test_certificate_as_public_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTYPES; i++) {
		char fname[64], *path;
		EVP_PKEY *k;

		snprintf(fname, sizeof(fname), "%s.crt", key_type_name(types[i]));
		path = tmp_path(fname);
		write_cert(keys[i], path);
		assert_int_equal(key_load_public(path, &k), 0);
		assert_int_equal(EVP_PKEY_eq(k, keys[i]), 1);
		assert_string_equal(key_describe(k), descs[i]);
		EVP_PKEY_free(k);
		/* A certificate is not a private key. */
		assert_int_equal(key_load_private(path, NULL, 0, &k), FERRY_ERR_KEY);
		free(path);
	}
}

static void
expect_not_public(const char *path, const char *what)
{
	EVP_PKEY *k = NULL;
	int r;

	r = key_load_public(path, &k);
	assert_int_equal(r, FERRY_ERR_KEY);
	assert_null(k);
	assert_non_null(strstr(ferry_error_detail(r), path));
	assert_non_null(strstr(ferry_error_detail(r), what));
	assert_int_equal(ERR_peek_error(), 0);
}

static void
expect_not_private(const char *path)
{
	char want[1024];
	EVP_PKEY *k = NULL;
	int r;

	r = key_load_private(path, NULL, 0, &k);
	assert_int_equal(r, FERRY_ERR_KEY);
	assert_null(k);
	snprintf(want, sizeof(want), "%s: not a PEM private key", path);
	assert_string_equal(ferry_error_detail(r), want);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_refusals(void **state)
{
	static const char not_pub[] = "not a public key or certificate (expected PEM "
	    "SubjectPublicKeyInfo or X.509)";
	static const char bad_der[] = "-----BEGIN PUBLIC KEY-----\nMAMCAQA=\n"
	    "-----END PUBLIC KEY-----\n";
	static const char bad_cert[] = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n"
	    "-----END CERTIFICATE-----\n";
	static const char pkcs1[] = "-----BEGIN RSA PUBLIC KEY-----\nMAMCAQA=\n"
	    "-----END RSA PUBLIC KEY-----\n";
	char *empty = tmp_path("empty"), *garbage = tmp_path("garbage");
	char *baddir = tmp_path("bad-der.pub"), *badcert = tmp_path("bad.crt");
	char *p1 = tmp_path("pkcs1.pub"), *priv = tmp_path("refuse.key");
	char *enc = tmp_path("refuse-enc.key"), *pub = tmp_path("refuse.pub");
	char *big = tmp_path("big.pub"), *missing = tmp_path("missing.pub");
	char *trailing = tmp_path("trailing.pub");
	uint8_t junk[4096];
	EVP_PKEY *k = NULL;
	int r;

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	write_file(empty, "", 0);
	write_file(garbage, junk, sizeof(junk));
	write_file(baddir, bad_der, sizeof(bad_der) - 1);
	write_file(badcert, bad_cert, sizeof(bad_cert) - 1);
	write_file(p1, pkcs1, sizeof(pkcs1) - 1);
	assert_int_equal(key_save_private(keys[0], priv, NULL, 0, false), 0);
	assert_int_equal(key_save_private(keys[0], enc, PASS, strlen(PASS), false), 0);
	assert_int_equal(key_save_public(keys[0], pub, false), 0);

	expect_not_public(empty, not_pub);
	expect_not_public(garbage, not_pub);
	expect_not_public(baddir, not_pub);
	expect_not_public(badcert, not_pub);
	expect_not_public(p1, not_pub);
	/* A private key given as a recipient gets its own message. */
	expect_not_public(priv, "private key");
	expect_not_public(enc, "private key");

	expect_not_private(empty);
	expect_not_private(garbage);
	expect_not_private(baddir);
	expect_not_private(pub);

	/* A valid public key with bytes appended inside the base64 is refused. */
	{
		unsigned char *der = NULL, *der2;
		int n;
		FILE *f;

		n = i2d_PUBKEY(keys[0], &der);
		assert_true(n > 0);
		assert_non_null(der2 = malloc((size_t)n + 3));
		memcpy(der2, der, (size_t)n);
		memcpy(der2 + n, "\0\0\0", 3);
		assert_non_null(f = fopen(trailing, "w"));
		assert_true(PEM_write(f, "PUBLIC KEY", "", der2, n + 3) > 0);
		fclose(f);
		OPENSSL_free(der);
		free(der2);
		expect_not_public(trailing, not_pub);

		/* The same key with PEM encryption headers is not a plain public key. */
		der = NULL;
		n = i2d_PUBKEY(keys[0], &der);
		assert_true(n > 0);
		assert_non_null(f = fopen(trailing, "w"));
		assert_true(PEM_write(f, "PUBLIC KEY", "Proc-Type: 4,ENCRYPTED\nDEK-Info: "
		    "AES-256-CBC,00000000000000000000000000000000\n", der, n) > 0);
		fclose(f);
		OPENSSL_free(der);
		expect_not_public(trailing, not_pub);
	}

	/* Files over the bound are refused before parsing; missing files are I/O errors. */
	{
		static const char line[] = "# padding padding padding padding padding\n";
		char *text = read_text(pub);
		FILE *f;

		assert_non_null(f = fopen(big, "w"));
		/* Leading text is legal in PEM files; only the size is wrong here. */
		for (size_t n = 0; n <= FERRY_MAX_KEY_FILE; n += sizeof(line) - 1)
			fputs(line, f);
		fputs(text, f);
		fclose(f);
		free(text);
		assert_int_equal(key_load_public(big, &k), FERRY_ERR_LIMIT);
		assert_int_equal(key_load_private(big, NULL, 0, &k), FERRY_ERR_LIMIT);
	}
	r = key_load_public(missing, &k);
	assert_int_equal(r, FERRY_ERR_IO);
	assert_non_null(strstr(ferry_error_detail(r), missing));
	assert_int_equal(key_load_private(missing, NULL, 0, &k), FERRY_ERR_IO);
	assert_null(k);

	free(empty);
	free(garbage);
	free(baddir);
	free(badcert);
	free(p1);
	free(priv);
	free(enc);
	free(pub);
	free(big);
	free(missing);
	free(trailing);
}

/* The first key-bearing block decides; leading parameter blocks are skipped. */
static void
test_skips_other_blocks(void **state)
{
	char *p = tmp_path("params.pub");
	EVP_PKEY *k;
	FILE *f;

	(void)state;
	assert_non_null(f = fopen(p, "w"));
	assert_true(PEM_write(f, "EC PARAMETERS", "", (const unsigned char *)"\x06\x05"
	    "\x2b\x81\x04\x00\x22", 7) > 0);
	assert_int_equal(PEM_write_PUBKEY(f, keys[0]), 1);
	assert_int_equal(PEM_write_PUBKEY(f, spare), 1);
	fclose(f);
	assert_int_equal(key_load_public(p, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, keys[0]), 1);
	EVP_PKEY_free(k);
	free(p);
}

static int
setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTYPES; i++) {
		if (key_generate(types[i], &keys[i]) != 0) {
			fprintf(stderr, "key_generate(%s): %s\n", key_type_name(types[i]),
			    ferry_error_detail(FERRY_ERR_CRYPTO));
			return -1;
		}
	}
	if (key_generate(KEY_P384, &spare) != 0)
		return -1;
	dir = test_tmpdir();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < NTYPES; i++)
		EVP_PKEY_free(keys[i]);
	EVP_PKEY_free(spare);
	if (dir != NULL) {
		rm_rf(dir);
		free(dir);
	}
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_save_load_all_types),
		cmocka_unit_test(test_pem_labels),
		cmocka_unit_test(test_no_clobber),
		cmocka_unit_test(test_passphrases),
		cmocka_unit_test(test_certificate_as_public_key),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_skips_other_blocks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
