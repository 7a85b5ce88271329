/*
 * Enrolment (purpose 1): check the user's password, rate-limited per user and per source
 * address, and issue a client certificate for the key in the CSR. Every outcome is one
 * audit row ("enrol") and one log line with the reason; the client learns only the
 * protocol error code, and unknown users and wrong passwords look the same to it.
 */
#include "server/server.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "net/proto.h"
#include "server/log.h"
#include "store/account.h"
#include "util/err.h"

/* What the client is told for an unknown user or a wrong password (no enumeration). */
static const char auth_message[] = "unknown user or wrong password";

/* Log and audit one enrolment outcome; user may be a name that failed validation. */
static void
enrol_record(struct conn *c, const char *user, bool ok, const char *detail)
{
	srv_log(SRV_LOG_INFO, "enrol %s from %s: %s%s", user[0] != '\0' ? user : "-", c->peer,
	    ok ? "ok, " : "refused: ", detail);
	if (c->db != NULL)
		(void)db_audit(c->db, "enrol", user, c->peer, ok, detail);
}

/* Refuse: record why (detail, for the log and audit) and send ERRR code message. */
static void
enrol_refuse(struct conn *c, const char *user, enum proto_error_code code,
    const char *detail, const char *message)
{
	char d[512], msg[FERRY_MAX_MSG_ERROR + 1];

	/* Copy first: detail and message may be the error detail, which the audit write
	 * could replace. */
	snprintf(msg, sizeof(msg), "%s", message);
	snprintf(d, sizeof(d), "%s (%s)", proto_error_name(code), detail);
	enrol_record(c, user, false, d);
	(void)proto_send_error(&c->t, conn_handshake_ms(c), code, "%s", msg);
}

/* Count a failed password attempt against both scopes. */
static void
count_failure(struct conn *c, const char *user_scope, const char *addr_scope, int64_t now)
{
	int r;

	if (user_scope != NULL &&
	    (r = db_auth_failed(c->db, user_scope, now, &c->srv->policy)) != 0)
		srv_log(SRV_LOG_ERROR, "rate limit %s: %s", user_scope, ferry_error_detail(r));
	if ((r = db_auth_failed(c->db, addr_scope, now, &c->srv->policy)) != 0)
		srv_log(SRV_LOG_ERROR, "rate limit %s: %s", addr_scope, ferry_error_detail(r));
}

/* Check the ENRL request; on success the certificate has been sent. */
static void
enrol(struct conn *c, const struct proto_enrl *m)
{
	char user_scope[FERRY_MAX_AUTH_SCOPE + 1], addr_scope[FERRY_MAX_AUTH_SCOPE + 1];
	char serial[PKI_SERIAL_HEX_LEN + 1], detail[256], expiry[32];
	const char *why;
	bool name_ok = account_name_valid(m->user);
	struct db_user u;
	struct proto_cert pc;
	X509_REQ *csr = NULL;
	X509 *cert = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	int64_t now = (int64_t)time(NULL), nb = 0, na = 0;
	struct tm tm;
	time_t t;
	int r;

	memset(&u, 0, sizeof(u));
	snprintf(user_scope, sizeof(user_scope), "user:%s", m->user);
	snprintf(addr_scope, sizeof(addr_scope), "addr:%s", c->ip);

	if ((r = db_auth_check(c->db, addr_scope, now, &c->srv->policy)) != 0 ||
	    (name_ok && (r = db_auth_check(c->db, user_scope, now, &c->srv->policy)) != 0)) {
		if (r == FERRY_ERR_RATE_LIMITED) {
			enrol_refuse(c, m->user, PROTO_ERR_RATE_LIMITED, ferry_error_detail(r),
			    "too many failed attempts; try again later");
		} else {
			enrol_refuse(c, m->user, PROTO_ERR_INTERNAL, ferry_error_detail(r),
			    "server error");
		}
		goto out;
	}

	/* An invalid name cannot exist; treat it like an unknown user, at the same cost. */
	r = name_ok ? db_user_get(c->db, m->user, &u) : FERRY_ERR_NOT_FOUND;
	if (r == FERRY_ERR_NOT_FOUND) {
		account_password_verify_dummy(m->password, m->password_len);
		count_failure(c, name_ok ? user_scope : NULL, addr_scope, now);
		why = name_ok ? "unknown user" : account_name_reason(m->user);
		snprintf(detail, sizeof(detail), "%s%s", name_ok ? "" : "invalid user name: ",
		    why != NULL ? why : "unknown user");
		enrol_refuse(c, m->user, PROTO_ERR_AUTH, detail, auth_message);
		goto out;
	}
	if (r != 0) {
		enrol_refuse(c, m->user, PROTO_ERR_INTERNAL, ferry_error_detail(r),
		    "server error");
		goto out;
	}
	r = account_password_verify(m->password, m->password_len, u.pw_hash);
	if (r == FERRY_ERR_AUTH) {
		count_failure(c, user_scope, addr_scope, now);
		enrol_refuse(c, m->user, PROTO_ERR_AUTH, "wrong password", auth_message);
		goto out;
	}
	if (r != 0) {
		enrol_refuse(c, m->user, PROTO_ERR_INTERNAL, ferry_error_detail(r),
		    "server error");
		goto out;
	}
	(void)db_auth_succeeded(c->db, user_scope);
	if (u.disabled) {
		enrol_refuse(c, m->user, PROTO_ERR_DISABLED, "account disabled",
		    "this account is disabled");
		goto out;
	}

	ferry_error_clear();
	if ((r = pki_csr_parse(m->csr, m->csr_len, &csr)) != 0) {
		snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
		enrol_refuse(c, m->user, PROTO_ERR_BAD_CSR, detail, detail);
		goto out;
	}
	r = pki_client_cert_issue(c->srv->ca_key, c->srv->ca_cert, csr, m->user,
	    c->srv->settings.org, c->srv->settings.cert_validity_days, &cert, serial);
	if (r == FERRY_ERR_KEY) {
		snprintf(detail, sizeof(detail), "%s", ferry_error_detail(r));
		enrol_refuse(c, m->user, PROTO_ERR_BAD_CSR, detail, detail);
		goto out;
	}
	if (r != 0 ||
	    (r = pki_cert_not_before(cert, &nb)) != 0 ||
	    (r = pki_cert_not_after(cert, &na)) != 0 ||
	    (r = db_cert_add(c->db, serial, m->user, nb, na)) != 0 ||
	    (r = pki_cert_to_der(cert, &der, &der_len)) != 0) {
		enrol_refuse(c, m->user, PROTO_ERR_INTERNAL, ferry_error_detail(r),
		    "server error while issuing the certificate");
		goto out;
	}
	pc.cert = der;
	pc.cert_len = der_len;
	if ((r = proto_send_cert(&c->t, &pc, conn_handshake_ms(c))) != 0) {
		snprintf(detail, sizeof(detail), "serial %s issued but not delivered: %s",
		    serial, ferry_error_detail(r));
		enrol_record(c, m->user, false, detail);
		goto out;
	}
	t = (time_t)na;
	gmtime_r(&t, &tm);
	strftime(expiry, sizeof(expiry), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(detail, sizeof(detail), "serial %s, expires %s", serial, expiry);
	enrol_record(c, m->user, true, detail);
out:
	OPENSSL_cleanse(&u, sizeof(u));
	OPENSSL_free(der);
	X509_free(cert);
	X509_REQ_free(csr);
}

void
enroll_run(struct conn *c, uint16_t version, uint8_t purpose)
{
	struct proto_helo_rep rep;
	struct proto_enrl m;
	struct frame f = { 0 };
	int r;

	memset(&rep, 0, sizeof(rep));
	rep.version = version;
	rep.purpose = purpose;
	snprintf(rep.software, sizeof(rep.software), "%s", SERVER_SOFTWARE);
	if ((r = proto_send_helo_rep(&c->t, &rep, conn_handshake_ms(c))) != 0) {
		srv_log(SRV_LOG_INFO, "enrol from %s: %s", c->peer, ferry_error_detail(r));
		return;
	}
	r = frame_read(&c->t, FERRY_MAX_FRAME_PREAUTH, conn_handshake_ms(c), &f);
	if (conn_db(c) != 0) {
		(void)proto_send_error(&c->t, 1000, PROTO_ERR_INTERNAL,
		    "server database unavailable");
		goto out;
	}
	if (r != 0) {
		if (tls_conn_timed_out(c->tls)) {
			enrol_record(c, "", false, "TIMEOUT (no ENRL within the handshake "
			    "timeout)");
			(void)proto_send_error(&c->t, 1000, PROTO_ERR_TIMEOUT,
			    "no ENRL within %u seconds", c->srv->settings.handshake_timeout);
		} else if (r == FERRY_ERR_TRUNCATED) {
			enrol_record(c, "", false, "closed by the client before ENRL");
		} else {
			enrol_refuse(c, "", PROTO_ERR_PROTOCOL, ferry_error_detail(r),
			    ferry_error_detail(r));
		}
		goto out;
	}
	if (!frame_is(&f, PROTO_ENRL)) {
		char detail[64];

		snprintf(detail, sizeof(detail), "expected ENRL, got %s", f.type);
		enrol_refuse(c, "", PROTO_ERR_PROTOCOL, detail, detail);
		goto out;
	}
	if ((r = proto_enrl_decode(f.payload, f.len, &m)) != 0) {
		enrol_refuse(c, "", PROTO_ERR_PROTOCOL, ferry_error_detail(r),
		    ferry_error_detail(r));
		goto out;
	}
	enrol(c, &m);
	OPENSSL_cleanse(&m, sizeof(m));
out:
	frame_clear(&f);
}
