/*
 * Fuzz the CSR parser, which sees the untrusted bytes of every enrolment request.
 *
 * Beyond not crashing, it checks the parser's contract: a failure is one of the
 * documented codes and says why; an accepted request carries an allowed key and its
 * signature verifies; and a certificate issued from it has the server's subject and
 * extensions only, whatever the request asked for. The same bytes also go through the
 * PEM entry point.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* One CA for the whole run: creating it per input would dominate the time. */
static EVP_PKEY *ca_key;
static X509 *ca_cert;

static void
check_failure(int r)
{
	CHECK(r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT || r == FERRY_ERR_KEY);
	/* Every failure must have said why. */
	CHECK(strcmp(ferry_error_detail(r), ferry_strerror(r)) != 0);
}

static void
check_issue(X509_REQ *req)
{
	char serial[PKI_SERIAL_HEX_LEN + 1], user[64];
	X509 *cert = NULL;

	if (ca_cert == NULL)
		CHECK(pki_ca_create("Fuzz", &ca_key, &ca_cert) == 0);
	CHECK(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1);
	CHECK(pki_key_check(X509_REQ_get0_pubkey(req), "CSR key") == 0);
	CHECK(pki_client_cert_issue(ca_key, ca_cert, req, "alice", "Fuzz", 90, &cert,
	    serial) == 0);
	CHECK(strlen(serial) == PKI_SERIAL_HEX_LEN);
	CHECK(pki_cert_user(cert, user, sizeof(user)) == 0 && strcmp(user, "alice") == 0);
	CHECK(X509_get_ext_count(cert) == 5);
	CHECK(X509_check_ca(cert) == 0);
	CHECK(X509_get_extended_key_usage(cert) == XKU_SSL_CLIENT);
	CHECK(X509_get_ext_by_NID(cert, NID_subject_alt_name, -1) < 0);
	CHECK(pki_verify_chain(ca_cert, cert, 1, NULL, 0) == 0);
	X509_free(cert);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ *req = NULL;
	int r;

	r = pki_csr_parse(data, size, &req);
	if (r == 0) {
		CHECK(req != NULL);
		check_issue(req);
	} else {
		CHECK(req == NULL);
		check_failure(r);
	}
	X509_REQ_free(req);
	req = NULL;

	r = pki_csr_parse_pem((const char *)data, size, &req);
	if (r == 0) {
		CHECK(req != NULL);
		check_issue(req);
	} else {
		CHECK(req == NULL);
		check_failure(r);
	}
	X509_REQ_free(req);

	ferry_error_clear();
	ERR_clear_error();
	return 0;
}
