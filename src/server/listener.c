/* ferryd serve, the parent: listen, accept, fork a child per connection, reap, stop. */
#include "server/server.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto/keys.h"
#include "server/log.h"
#include "server/slots.h"
#include "store/objects.h"
#include "store/vault.h"
#include "util/err.h"

static volatile sig_atomic_t stop_signal;

static void
on_stop(int sig)
{
	stop_signal = sig;
}

static void
on_child(int sig)
{
	(void)sig;	/* only interrupts ppoll(); the loop reaps */
}

int
server_open(struct server *srv, const char *dir, const struct ferryd_settings *s)
{
	struct vault *vault = NULL;
	struct db *db = NULL;
	size_t swept = 0, sealed = 0;
	int r;

	memset(srv, 0, sizeof(*srv));
	srv->settings = *s;
	settings_auth_policy(s, &srv->policy);
	srv_log_set_level((enum srv_log_level)s->log_level);
	if ((r = datadir_paths(dir, &srv->paths)) != 0 ||
	    (r = datadir_require(&srv->paths)) != 0)
		goto out;
	if ((r = slots_prepare(dir)) != 0)
		goto out;
	if ((r = tls_server_ctx_new(srv->paths.server_cert, srv->paths.server_key,
	    srv->paths.ca_cert, &srv->ctx)) != 0)
		goto out;
	if ((r = key_load_private(srv->paths.ca_key, NULL, 0, &srv->ca_key)) != 0 ||
	    (r = pki_cert_load(srv->paths.ca_cert, &srv->ca_cert)) != 0 ||
	    (r = key_load_private(srv->paths.server_key, NULL, 0, &srv->server_key)) != 0)
		goto out;
	/* Migrate the schema now, once, rather than racing in the first children; check the
	 * master key the same way (or create it for a directory older than the store). */
	if ((r = db_open(srv->paths.db, &db)) != 0 ||
	    (r = vault_open(srv->paths.dir, db, &vault)) != 0)
		goto out;
	/* Before the sweep, which keeps only the files that table objects names. */
	if ((r = objects_seal_legacy(db, vault, &sealed)) != 0)
		goto out;
	if (sealed > 0)
		srv_log(SRV_LOG_INFO, "sealed the names of %zu file(s) stored before", sealed);
	if ((r = datadir_objects_prepare(&srv->paths, db,
	    (int64_t)time(NULL) - (int64_t)srv->settings.partial_expiry, &swept)) != 0)
		goto out;
	if (swept > 0)
		srv_log(SRV_LOG_INFO, "removed %zu leftover file(s) of interrupted uploads from "
		    "%s", swept, srv->paths.objects);
out:
	vault_free(vault);
	db_close(db);
	if (r != 0)
		server_close(srv);
	return r;
}

void
server_close(struct server *srv)
{
	SSL_CTX_free(srv->ctx);
	EVP_PKEY_free(srv->ca_key);
	EVP_PKEY_free(srv->server_key);
	X509_free(srv->ca_cert);
	datadir_free(&srv->paths);
	memset(srv, 0, sizeof(*srv));
}

/* A blocking, close-on-exec listening socket on listen_addr; the bound address in bound. */
static int
listen_on(const char *listen_addr, int *fd_out, char *bound, size_t bound_size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int r;

	if ((r = tls_listen(listen_addr, fd_out)) != 0)
		return r;
	/* With port 0 the kernel chose: say which, so tests and scripts can connect. */
	if (getsockname(*fd_out, (struct sockaddr *)&ss, &len) == 0)
		srv_addr_format((struct sockaddr *)&ss, len, bound, bound_size, NULL, 0);
	else
		snprintf(bound, bound_size, "%s", listen_addr);
	return 0;
}

struct child {
	pid_t pid;	/* 0: free slot */
	bool busy;	/* only says ERRR BUSY */
};

struct children {
	struct child *slots;
	size_t nslots;
	unsigned serving, busy;
};

static void
children_reap(struct children *ch)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < ch->nslots; i++) {
			if (ch->slots[i].pid != pid)
				continue;
			if (ch->slots[i].busy)
				ch->busy--;
			else
				ch->serving--;
			ch->slots[i].pid = 0;
			break;
		}
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			srv_log(SRV_LOG_WARN, "connection process %ld died of signal %d",
			    (long)pid, WTERMSIG(status));
	}
}

static void
children_add(struct children *ch, pid_t pid, bool busy)
{
	for (size_t i = 0; i < ch->nslots; i++) {
		if (ch->slots[i].pid == 0) {
			ch->slots[i].pid = pid;
			ch->slots[i].busy = busy;
			if (busy)
				ch->busy++;
			else
				ch->serving++;
			return;
		}
	}
}

/* Pass the stop signal on and wait for every child. */
static void
children_stop(struct children *ch, int sig)
{
	for (size_t i = 0; i < ch->nslots; i++)
		if (ch->slots[i].pid > 0)
			kill(ch->slots[i].pid, sig);
	while (ch->serving + ch->busy > 0) {
		pid_t pid = waitpid(-1, NULL, 0);

		if (pid < 0 && errno == ECHILD)
			break;
		if (pid < 0)
			continue;
		for (size_t i = 0; i < ch->nslots; i++) {
			if (ch->slots[i].pid == pid) {
				if (ch->slots[i].busy)
					ch->busy--;
				else
					ch->serving--;
				ch->slots[i].pid = 0;
			}
		}
	}
}

static void
child_signals(const sigset_t *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigprocmask(SIG_SETMASK, old, NULL);
}

int
server_run(struct server *srv, const char *listen_addr)
{
	static const int stop_sigs[] = { SIGTERM, SIGINT, SIGHUP };
	char bound[SRV_ADDR_MAX], peer[SRV_ADDR_MAX], ip[SRV_ADDR_MAX];
	struct children ch = { 0 };
	struct sockaddr_storage ss;
	struct sigaction sa;
	sigset_t block, old, waitmask;
	struct pollfd pfd;
	socklen_t len;
	int lfd = -1, fd, r;
	bool busy;
	pid_t pid;

	ch.nslots = (size_t)srv->settings.max_sessions + SERVER_BUSY_SLOTS;
	if ((ch.slots = calloc(ch.nslots, sizeof(*ch.slots))) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++)
		sigaddset(&block, stop_sigs[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	waitmask = old;
	sigdelset(&waitmask, SIGCHLD);
	memset(&sa, 0, sizeof(sa));
	sigfillset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	for (size_t i = 0; i < sizeof(stop_sigs) / sizeof(stop_sigs[0]); i++) {
		sigaction(stop_sigs[i], &sa, NULL);
		sigdelset(&waitmask, stop_sigs[i]);
	}
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	stop_signal = 0;

	if ((r = listen_on(listen_addr, &lfd, bound, sizeof(bound))) != 0)
		goto out;
	srv_log(SRV_LOG_INFO, "listening on %s (TLS 1.3; at most %u sessions, handshake "
	    "timeout %u s, idle timeout %u s)", bound, srv->settings.max_sessions,
	    srv->settings.handshake_timeout, srv->settings.idle_timeout);

	while (stop_signal == 0) {
		children_reap(&ch);
		pfd.fd = lfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (ppoll(&pfd, 1, NULL, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			r = ferry_fail(FERRY_ERR_IO, "poll: %s", strerror(errno));
			goto out;
		}
		if ((pfd.revents & POLLIN) == 0)
			continue;
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			srv_log(SRV_LOG_ERROR, "accept: %s", strerror(errno));
			/* Out of descriptors or memory: give the children time to finish. */
			nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
			continue;
		}
		srv_addr_format((struct sockaddr *)&ss, len, peer, sizeof(peer), ip, sizeof(ip));
		children_reap(&ch);
		if (ch.serving < srv->settings.max_sessions) {
			busy = false;
		} else if (ch.busy < SERVER_BUSY_SLOTS) {
			busy = true;
		} else {
			srv_log(SRV_LOG_WARN, "%s: refused: %u sessions open and %u busy replies "
			    "pending; closed without a reply", peer, ch.serving, ch.busy);
			close(fd);
			continue;
		}
		srv_log(SRV_LOG_DEBUG, "%s: connected", peer);
		if ((pid = fork()) < 0) {
			srv_log(SRV_LOG_ERROR, "%s: fork: %s", peer, strerror(errno));
			close(fd);
			continue;
		}
		if (pid == 0) {
			close(lfd);
			child_signals(&old);
			session_child(srv, fd, peer, ip, busy);
		}
		close(fd);
		children_add(&ch, pid, busy);
	}
	srv_log(SRV_LOG_INFO, "stopping on signal %d; waiting for %u connection(s)",
	    (int)stop_signal, ch.serving + ch.busy);
	close(lfd);
	lfd = -1;
	children_stop(&ch, SIGTERM);
	srv_log(SRV_LOG_INFO, "stopped");
	r = 0;
out:
	if (lfd >= 0)
		close(lfd);
	free(ch.slots);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
