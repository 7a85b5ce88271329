/* ferryd serve, a child: TLS handshake, HELO, then enrolment or a session. */
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/proto.h"
#include "server/log.h"
#include "server/slots.h"
#include "util/err.h"

int
conn_handshake_ms(const struct conn *c)
{
	return (int)c->srv->settings.handshake_timeout * 1000;
}

int
conn_idle_ms(const struct conn *c)
{
	return (int)c->srv->settings.idle_timeout * 1000;
}

int
conn_db(struct conn *c)
{
	int r;

	if (c->db != NULL)
		return 0;
	if ((r = db_open(c->srv->paths.db, &c->db)) != 0)
		srv_log(SRV_LOG_ERROR, "%s: database: %s", c->peer, ferry_error_detail(r));
	return r;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The time left of a budget of budget_ms that began at start (at least 1 ms). */
static int
remaining_ms(int64_t start, int budget_ms)
{
	int64_t left = (int64_t)budget_ms - (now_ms() - start);

	return left < 1 ? 1 : (int)left;
}

/* Record a session refusal in the audit table (best effort) and the log. */
static void
session_refused(struct conn *c, const char *user, enum proto_error_code code,
    const char *reason)
{
	char detail[320], msg[256];

	/* Copy first: reason may be the error detail, which the audit write could replace. */
	snprintf(msg, sizeof(msg), "%s", reason);
	snprintf(detail, sizeof(detail), "%s: %s", proto_error_name(code), msg);
	srv_log(SRV_LOG_INFO, "session %s from %s: refused: %s", user[0] != '\0' ? user : "-",
	    c->peer, detail);
	if (conn_db(c) == 0)
		(void)db_audit(c->db, "session", user, c->peer, false, detail);
	(void)proto_send_error(&c->t, conn_handshake_ms(c), code, "%s", msg);
}

/*
 * Purpose 2: the client certificate (verified against the root by the TLS layer) must be
 * one this server issued, unrevoked and unexpired, of an enabled user: looked up by serial
 * on every connection, so revocation and disabling take effect at once.
 */
static void
session_run(struct conn *c, uint16_t version, uint8_t purpose)
{
	struct proto_helo_rep rep;
	char serial[PKI_SERIAL_HEX_MAX];
	struct db_cert dc;
	X509 *peer;
	int64_t now = (int64_t)time(NULL);
	int r, slot = -1;

	if ((peer = tls_peer_cert(c->tls)) == NULL) {
		session_refused(c, "", PROTO_ERR_CERT_REQUIRED,
		    "a session needs a client certificate (enrol first: ferry enroll)");
		return;
	}
	if ((r = pki_cert_serial_hex(peer, serial, sizeof(serial))) != 0) {
		session_refused(c, "", PROTO_ERR_REVOKED, "certificate serial unreadable");
		return;
	}
	if (conn_db(c) != 0) {
		(void)proto_send_error(&c->t, conn_handshake_ms(c), PROTO_ERR_INTERNAL,
		    "server database unavailable");
		return;
	}
	if ((r = db_cert_lookup(c->db, serial, &dc)) != 0) {
		if (r == FERRY_ERR_NOT_FOUND) {
			session_refused(c, "", PROTO_ERR_REVOKED,
			    "certificate not issued by this server");
		} else {
			srv_log(SRV_LOG_ERROR, "session from %s: %s", c->peer,
			    ferry_error_detail(r));
			(void)proto_send_error(&c->t, conn_handshake_ms(c),
			    PROTO_ERR_INTERNAL, "server database error");
		}
		return;
	}
	if (dc.revoked) {
		session_refused(c, dc.user, PROTO_ERR_REVOKED, "certificate revoked");
		return;
	}
	if (now >= dc.not_after || now < dc.not_before) {
		session_refused(c, dc.user, PROTO_ERR_REVOKED,
		    now >= dc.not_after ? "certificate expired" : "certificate not yet valid");
		return;
	}
	if (dc.user_disabled) {
		session_refused(c, dc.user, PROTO_ERR_REVOKED, "account disabled");
		return;
	}

	/* The slot is held until this process exits, whatever ends the session. */
	if ((r = slots_take(c->srv->paths.dir, dc.user,
	    c->srv->settings.max_sessions_per_user, &slot)) != 0) {
		if (r == FERRY_ERR_LIMIT) {
			session_refused(c, dc.user, PROTO_ERR_BUSY, ferry_error_detail(r));
		} else {
			srv_log(SRV_LOG_ERROR, "session %s from %s: %s", dc.user, c->peer,
			    ferry_error_detail(r));
			(void)proto_send_error(&c->t, conn_handshake_ms(c),
			    PROTO_ERR_INTERNAL, "server error");
		}
		return;
	}

	memset(&rep, 0, sizeof(rep));
	rep.version = version;
	rep.purpose = purpose;
	snprintf(rep.software, sizeof(rep.software), "%s", SERVER_SOFTWARE);
	snprintf(rep.identity, sizeof(rep.identity), "%s", dc.user);
	if ((r = proto_send_helo_rep(&c->t, &rep, conn_idle_ms(c))) != 0) {
		srv_log(SRV_LOG_INFO, "session %s from %s: %s", dc.user, c->peer,
		    ferry_error_detail(r));
		return;
	}
	srv_log(SRV_LOG_INFO, "session %s from %s: accepted (serial %s)", dc.user, c->peer,
	    serial);
	(void)db_audit(c->db, "session", dc.user, c->peer, true, serial);
	/* The store operations, until the client leaves (c->db stays open for them). */
	store_session_run(c, dc.user);
}

/* Read and check the first frame, HELO, within what is left of the handshake timeout. */
static int
read_helo(struct conn *c, int64_t start, struct proto_helo_req *req)
{
	struct frame f = { 0 };
	int r;

	r = frame_read(&c->t, FERRY_MAX_FRAME_PREAUTH,
	    remaining_ms(start, conn_handshake_ms(c)), &f);
	if (r != 0) {
		if (tls_conn_timed_out(c->tls)) {
			srv_log(SRV_LOG_INFO, "%s: no HELO within the %u s handshake timeout; "
			    "closed", c->peer, c->srv->settings.handshake_timeout);
			(void)proto_send_error(&c->t, 1000, PROTO_ERR_TIMEOUT,
			    "no HELO within %u seconds", c->srv->settings.handshake_timeout);
		} else if (r == FERRY_ERR_TRUNCATED) {
			srv_log(SRV_LOG_INFO, "%s: closed before HELO", c->peer);
		} else {
			srv_log(SRV_LOG_INFO, "%s: bad first frame: %s", c->peer,
			    ferry_error_detail(r));
			if (r == FERRY_ERR_FORMAT || r == FERRY_ERR_LIMIT)
				(void)proto_send_error(&c->t, 1000, PROTO_ERR_PROTOCOL, "%s",
				    ferry_error_detail(r));
		}
		return r;
	}
	if (!frame_is(&f, PROTO_HELO)) {
		srv_log(SRV_LOG_INFO, "%s: first frame is %s, not HELO", c->peer, f.type);
		(void)proto_send_error(&c->t, 1000, PROTO_ERR_PROTOCOL,
		    "expected HELO, got %s", f.type);
		r = ferry_fail(FERRY_ERR_FORMAT, "out of order");
		goto out;
	}
	if ((r = proto_helo_req_decode(f.payload, f.len, req)) != 0) {
		srv_log(SRV_LOG_INFO, "%s: %s", c->peer, ferry_error_detail(r));
		(void)proto_send_error(&c->t, 1000, PROTO_ERR_PROTOCOL, "%s",
		    ferry_error_detail(r));
		goto out;
	}
out:
	frame_clear(&f);
	return r;
}

void
session_child(struct server *srv, int fd, const char *peer, const char *ip, bool busy)
{
	struct proto_helo_req req;
	struct conn c;
	uint16_t version;
	int64_t start = now_ms();
	int r;

	memset(&c, 0, sizeof(c));
	c.srv = srv;
	c.peer = peer;
	snprintf(c.ip, sizeof(c.ip), "%s", ip);
	ferry_error_clear();
	if ((r = tls_accept(srv->ctx, fd, conn_handshake_ms(&c), &c.tls)) != 0) {
		srv_log(SRV_LOG_INFO, "%s: TLS handshake failed: %s", peer,
		    ferry_error_detail(r));
		goto out;
	}
	tls_conn_transport(c.tls, &c.t);
	if (busy) {
		srv_log(SRV_LOG_WARN, "%s: refused: server busy (%u sessions)", peer,
		    srv->settings.max_sessions);
		(void)proto_send_error(&c.t, 1000, PROTO_ERR_BUSY,
		    "server busy: %u sessions open, try again later",
		    srv->settings.max_sessions);
		goto out;
	}
	if (read_helo(&c, start, &req) != 0)
		goto out;
	if ((r = proto_choose_version(req.min_version, req.max_version, &version)) != 0) {
		srv_log(SRV_LOG_INFO, "%s (%s): %s", peer, req.software, ferry_error_detail(r));
		(void)proto_send_error(&c.t, 1000, PROTO_ERR_VERSION, "%s",
		    ferry_error_detail(r));
		goto out;
	}
	switch (req.purpose) {
	case PROTO_PURPOSE_ENROL:
		enroll_run(&c, version, req.purpose);
		break;
	case PROTO_PURPOSE_SESSION:
		session_run(&c, version, req.purpose);
		break;
	default:
		srv_log(SRV_LOG_INFO, "%s: HELO with unknown purpose %u", peer, req.purpose);
		(void)proto_send_error(&c.t, 1000, PROTO_ERR_PROTOCOL,
		    "HELO: unknown purpose %u", req.purpose);
		break;
	}
out:
	db_close(c.db);
	tls_conn_free(c.tls);
	_exit(0);
}
