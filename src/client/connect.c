#include "client/connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

/* Tell the server why we hang up (best effort), keeping our own error detail. */
static int
protocol_error(struct client_conn *c, int err)
{
	char detail[FERRY_MAX_MSG_ERROR + 1];

	snprintf(detail, sizeof(detail), "%s", ferry_error_detail(err));
	(void)proto_send_error(&c->t, 1000, PROTO_ERR_PROTOCOL, "%s", detail);
	return ferry_fail(err, "%s", detail);
}

int
client_read_frame(struct client_conn *c, const char *what, struct frame *f, uint16_t *refused)
{
	struct proto_error e;
	int r;

	memset(f, 0, sizeof(*f));
	if (refused != NULL)
		*refused = 0;
	if ((r = frame_read(&c->t, FERRY_MAX_FRAME_PREAUTH, CLIENT_TIMEOUT_MS, f)) != 0) {
		if (r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT)
			return protocol_error(c, r);
		return r;
	}
	if (!frame_is(f, PROTO_ERRR))
		return 0;
	/* The mapping of codes to return values lives in proto; the wording is ours. */
	r = proto_error_frame_fail(f, 1, NULL);
	if (proto_error_decode(f->payload, f->len, &e) == 0) {
		if (refused != NULL)
			*refused = e.code;
		r = ferry_fail(r, "%s: %s", what, e.message);
	}
	frame_clear(f);
	return r;
}

int
client_connect(const char *server, const char *root_path, X509 *cert, EVP_PKEY *key,
    enum proto_purpose purpose, struct client_conn **out, uint16_t *refused)
{
	struct client_conn *c = NULL;
	struct proto_helo_req req;
	struct frame f = { 0 };
	char what[FERRY_MAX_HOST_PORT + 32];
	int r;

	*out = NULL;
	if (refused != NULL)
		*refused = 0;
	if (strlen(server) > FERRY_MAX_HOST_PORT)
		return ferry_fail(FERRY_ERR_USAGE, "server address too long");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	snprintf(c->server, sizeof(c->server), "%s", server);
	snprintf(what, sizeof(what), "server %s refused %s", server,
	    purpose == PROTO_PURPOSE_SESSION ? "this certificate" : "the connection");

	if ((r = tls_client_ctx_new(root_path, NULL, NULL, &c->ctx)) != 0)
		goto fail;
	if (cert != NULL && key != NULL && (r = tls_ctx_use_identity(c->ctx, cert, key)) != 0)
		goto fail;
	if ((r = tls_connect(c->ctx, server, CLIENT_TIMEOUT_MS, &c->tls)) != 0) {
		/* "server certificate is for localhost, not 127.0.0.2": say which server. */
		if (r == FERRY_ERR_AUTH)
			r = ferry_error_prefix(r, "%s", server);
		goto fail;
	}
	tls_conn_transport(c->tls, &c->t);

	memset(&req, 0, sizeof(req));
	req.min_version = PROTO_VERSION_MIN;
	req.max_version = PROTO_VERSION_MAX;
	req.purpose = (uint8_t)purpose;
	snprintf(req.software, sizeof(req.software), "ferry %s", FERRY_VERSION);
	if ((r = proto_send_helo_req(&c->t, &req, CLIENT_TIMEOUT_MS)) != 0)
		goto fail;
	if ((r = client_read_frame(c, what, &f, refused)) != 0)
		goto fail;
	if (!frame_is(&f, PROTO_HELO)) {
		r = protocol_error(c, ferry_fail(FERRY_ERR_FORMAT,
		    "server %s answered HELO with a %s frame", server, f.type));
		goto fail;
	}
	if ((r = proto_helo_rep_decode(f.payload, f.len, &c->helo)) != 0) {
		r = protocol_error(c, r);
		goto fail;
	}
	if (c->helo.version < PROTO_VERSION_MIN || c->helo.version > PROTO_VERSION_MAX ||
	    c->helo.purpose != (uint8_t)purpose) {
		r = protocol_error(c, ferry_fail(FERRY_ERR_FORMAT,
		    "server %s: HELO reply with version %u, purpose %u (asked %u..%u, purpose %u)",
		    server, c->helo.version, c->helo.purpose, PROTO_VERSION_MIN,
		    PROTO_VERSION_MAX, (unsigned)purpose));
		goto fail;
	}
	frame_clear(&f);
	*out = c;
	return 0;
fail:
	frame_clear(&f);
	client_conn_free(c);
	return r;
}

void
client_conn_free(struct client_conn *c)
{
	if (c == NULL)
		return;
	tls_conn_free(c->tls);
	SSL_CTX_free(c->ctx);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}
