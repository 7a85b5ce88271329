/*
 * Helpers shared by the PKI unit tests: a scratch directory, running the openssl
 * command-line tool on files there, and reading certificate fields.
 * Included by each test program; every helper is static.
 */
#ifndef FERRY_TESTS_PKI_TEST_H
#define FERRY_TESTS_PKI_TEST_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "testutil.h"
#include "util/err.h"

#define PKI_TEST_UNUSED __attribute__((unused))

static char *pt_dir;

/* dir/name; caller frees. */
static PKI_TEST_UNUSED char *
pt_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", pt_dir, name) < 0)
		fail_msg("out of memory");
	return p;
}

/*
 * Run a shell command (built with printf syntax) in the scratch directory; its output
 * goes to dir/out.txt. Returns the exit status (or -1 if it did not exit normally).
 * *out, when not NULL, receives the output (caller frees).
 */
static PKI_TEST_UNUSED int __attribute__((format(printf, 2, 3)))
pt_run(char **out, const char *fmt, ...)
{
	char *cmd = NULL, *full = NULL, *text = NULL;
	va_list ap;
	FILE *f;
	long n;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		fail_msg("out of memory");
	va_end(ap);
	if (asprintf(&full, "cd '%s' && (%s) >out.txt 2>&1", pt_dir, cmd) < 0)
		fail_msg("out of memory");
	st = system(full);
	free(full);
	if (out != NULL) {
		char *p = pt_path("out.txt");

		assert_non_null(f = fopen(p, "rb"));
		free(p);
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		assert_true((n = ftell(f)) >= 0);
		rewind(f);
		assert_non_null(text = calloc(1, (size_t)n + 1));
		assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
		fclose(f);
		*out = text;
	}
	free(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Write bytes to dir/name. */
static PKI_TEST_UNUSED void
pt_write(const char *name, const void *data, size_t len)
{
	char *p = pt_path(name);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(p);
}

/* Read dir/name whole; caller frees. */
static PKI_TEST_UNUSED uint8_t *
pt_read(const char *name, size_t *len)
{
	char *p = pt_path(name);
	uint8_t *buf;
	FILE *f;
	long n;

	assert_non_null(f = fopen(p, "rb"));
	free(p);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((n = ftell(f)) >= 0);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Save cert as PEM to dir/name (replacing). */
static PKI_TEST_UNUSED void
pt_save_cert(X509 *cert, const char *name)
{
	char *p = pt_path(name);

	assert_int_equal(pki_cert_save(cert, p, true), 0);
	free(p);
}

/* The subject as one RFC 2253 line ("CN=alice,O=Acme"); caller frees. */
static PKI_TEST_UNUSED char *
pt_subject(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *s;
	long n;

	assert_non_null(bio);
	assert_true(X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0);
	n = BIO_get_mem_data(bio, &data);
	if (n < 0)
		n = 0;
	/* Copied by length: the BIO's data is not NUL-terminated. */
	assert_non_null(s = malloc((size_t)n + 1));
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	BIO_free(bio);
	return s;
}

/* Whether the extension nid is present and critical: -1 absent, 0 / 1. */
static PKI_TEST_UNUSED int
pt_ext_critical(X509 *cert, int nid)
{
	int idx = X509_get_ext_by_NID(cert, nid, -1);

	if (idx < 0)
		return -1;
	/* never twice */
	assert_true(X509_get_ext_by_NID(cert, nid, idx) < 0);
	return X509_EXTENSION_get_critical(X509_get_ext(cert, idx));
}

/* The SAN as "DNS:a,IP:1.2.3.4,..." (IP printed by OpenSSL); caller frees. */
static PKI_TEST_UNUSED char *
pt_san(X509 *cert)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	char *s = calloc(1, 2048);

	assert_non_null(s);
	if (gens == NULL)
		return s;
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		size_t off = strlen(s);

		if (g->type == GEN_DNS) {
			snprintf(s + off, 2048 - off, "%sDNS:%s", i ? "," : "",
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			char ip[64] = "?";
			int alen = ASN1_STRING_length(g->d.iPAddress);

			if (alen == 4 || alen == 16)
				inet_ntop(alen == 4 ? AF_INET : AF_INET6,
				    ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip));
			snprintf(s + off, 2048 - off, "%sIP:%s", i ? "," : "", ip);
		} else {
			snprintf(s + off, 2048 - off, "%sOTHER", i ? "," : "");
		}
	}
	GENERAL_NAMES_free(gens);
	return s;
}

#endif
