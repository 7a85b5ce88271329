#include "client/enroll.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "client/connect.h"
#include "net/proto.h"
#include "pki/pki.h"
#include "util/err.h"
#include "util/limits.h"

/* Check what the server sent back before anything is kept. */
static int
check_issued(const struct enroll_request *req, X509 *root, X509 *cert, EVP_PKEY *key)
{
	char why[256], cn[FERRY_MAX_MSG_USER + 1];
	int r;

	if (pki_cert_check_key(cert, key) != 0)
		return ferry_fail(FERRY_ERR_AUTH,
		    "server %s returned a certificate for another key", req->server);
	if (pki_verify_chain(root, cert, 1, why, sizeof(why)) != 0)
		return ferry_fail(FERRY_ERR_AUTH,
		    "the certificate from server %s does not verify against %s: %s",
		    req->server, req->root_path, why);
	if ((r = pki_cert_user(cert, cn, sizeof(cn))) != 0)
		return ferry_error_prefix(FERRY_ERR_AUTH, "the certificate from server %s",
		    req->server);
	if (strcmp(cn, req->user) != 0)
		return ferry_fail(FERRY_ERR_AUTH,
		    "server %s issued a certificate for '%s', not '%s'", req->server, cn,
		    req->user);
	return 0;
}

int
client_enroll(const struct enroll_request *req, struct enroll_result *res)
{
	struct client_conn *c = NULL;
	struct proto_enrl m;
	struct proto_cert pc;
	struct frame f = { 0 };
	uint8_t *csr = NULL;
	size_t csr_len = 0;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL, *root = NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if (req->key_type != KEY_P384 && req->key_type != KEY_RSA3072)
		return ferry_fail(FERRY_ERR_USAGE, "key type %s cannot be enrolled (p384, rsa3072)",
		    key_type_name(req->key_type));
	if (req->password_len == 0 || req->password_len > FERRY_MAX_MSG_PASSWORD)
		return ferry_fail(FERRY_ERR_USAGE, "the password must be 1 to %u bytes",
		    FERRY_MAX_MSG_PASSWORD);
	if (!pki_user_name_ok(req->user))
		return ferry_fail(FERRY_ERR_USAGE, "'%s' is not a valid user name (1 to %u of "
		    "a-z 0-9 . _ -, starting with a letter or digit)", req->user,
		    FERRY_MAX_USER_NAME);
	if ((r = pki_cert_load(req->root_path, &root)) != 0)
		goto out;

	/* The key and CSR first: a failure here should not cost a password attempt. */
	if ((r = key_generate(req->key_type, &key)) != 0 ||
	    (r = pki_csr_create(key, req->user, &csr, &csr_len)) != 0)
		goto out;

	if ((r = client_connect(req->server, req->root_path, NULL, NULL,
	    PROTO_PURPOSE_ENROL, &c, &res->refused)) != 0)
		goto out;

	memset(&m, 0, sizeof(m));
	snprintf(m.user, sizeof(m.user), "%s", req->user);
	m.password = (const uint8_t *)req->password;
	m.password_len = req->password_len;
	m.csr = csr;
	m.csr_len = csr_len;
	r = proto_send_enrl(&c->t, &m, CLIENT_TIMEOUT_MS);
	OPENSSL_cleanse(&m, sizeof(m));
	if (r != 0)
		goto out;

	if ((r = client_read_frame(c, "enrolment refused", &f, &res->refused)) != 0)
		goto out;
	if (!frame_is(&f, PROTO_CERT)) {
		r = ferry_fail(FERRY_ERR_FORMAT, "server %s answered ENRL with a %s frame",
		    req->server, f.type);
		goto out;
	}
	if ((r = proto_cert_decode(f.payload, f.len, &pc)) != 0 ||
	    (r = pki_cert_from_der(pc.cert, pc.cert_len, &cert)) != 0) {
		r = ferry_error_prefix(r, "server %s", req->server);
		goto out;
	}
	if ((r = check_issued(req, root, cert, key)) != 0)
		goto out;

	res->key = key;
	res->cert = cert;
	res->root = root;
	key = NULL;	/* transferred */
	cert = NULL;
	root = NULL;
	r = 0;
out:
	frame_clear(&f);
	client_conn_free(c);
	if (csr != NULL)
		OPENSSL_free(csr);
	EVP_PKEY_free(key);
	X509_free(cert);
	X509_free(root);
	return r;
}

void
enroll_result_free(struct enroll_result *res)
{
	EVP_PKEY_free(res->key);
	X509_free(res->cert);
	X509_free(res->root);
	memset(res, 0, sizeof(*res));
}
