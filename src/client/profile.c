#include "client/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/keys.h"
#include "net/tls.h"
#include "pki/pki.h"
#include "util/atomic_file.h"
#include "util/config.h"
#include "util/err.h"
#include "util/io.h"

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s;

	if ((s = malloc(n)) == NULL)
		return NULL;
	snprintf(s, n, "%s/%s", dir, name);
	return s;
}

int
profile_resolve(const char *dir, struct profile *p)
{
	const char *home;
	int r;

	memset(p, 0, sizeof(*p));
	if (dir != NULL) {
		if (*dir == '\0')
			return ferry_fail(FERRY_ERR_USAGE, "--profile: empty directory name");
		p->dir = strdup(dir);
	} else if ((home = getenv("FERRY_HOME")) != NULL && *home != '\0') {
		p->dir = strdup(home);
	} else if ((home = getenv("HOME")) != NULL && *home != '\0') {
		p->dir = join(home, ".config/ferry");
	} else {
		return ferry_fail(FERRY_ERR_USAGE,
		    "no profile directory: set FERRY_HOME or HOME, or give --profile DIR");
	}
	if (p->dir == NULL)
		goto nomem;
	/* A trailing slash would only make the messages uglier. */
	for (size_t n = strlen(p->dir); n > 1 && p->dir[n - 1] == '/'; n--)
		p->dir[n - 1] = '\0';
	if ((p->key_path = join(p->dir, "key.pem")) == NULL ||
	    (p->cert_path = join(p->dir, "cert.pem")) == NULL ||
	    (p->root_path = join(p->dir, "root.pem")) == NULL ||
	    (p->conf_path = join(p->dir, "profile.conf")) == NULL)
		goto nomem;
	return 0;
nomem:
	r = ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	profile_free(p);
	return r;
}

void
profile_free(struct profile *p)
{
	free(p->dir);
	free(p->key_path);
	free(p->cert_path);
	free(p->root_path);
	free(p->conf_path);
	free(p->server);
	memset(p, 0, sizeof(*p));
}

/* mkdir -p, each new component mode 0700. */
static int
make_dirs(const char *dir)
{
	struct stat st;
	char *copy, *s;
	int r = 0;

	if ((copy = strdup(dir)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	for (s = copy + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			r = ferry_fail(FERRY_ERR_IO, "%s: cannot create directory: %s", copy,
			    strerror(errno));
			goto out;
		}
		*s = saved;
		if (saved == '\0')
			break;
	}
	if (stat(dir, &st) != 0) {
		r = ferry_fail(FERRY_ERR_IO, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode))
		r = ferry_fail(FERRY_ERR_IO, "%s: not a directory", dir);
out:
	free(copy);
	return r;
}

int
profile_ensure_dir(const struct profile *p)
{
	struct stat st;
	int r;

	if ((r = make_dirs(p->dir)) != 0)
		return r;
	if (stat(p->dir, &st) != 0)
		return ferry_fail(FERRY_ERR_IO, "%s: %s", p->dir, strerror(errno));
	if ((st.st_mode & 07777) != 0700 && chmod(p->dir, 0700) != 0)
		return ferry_fail(FERRY_ERR_IO, "%s: chmod 0700: %s", p->dir, strerror(errno));
	return 0;
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool
profile_has_identity(const struct profile *p)
{
	return exists(p->key_path) || exists(p->cert_path);
}

int
profile_check_absent(const struct profile *p)
{
	const char *paths[] = { p->key_path, p->cert_path, p->root_path, p->conf_path };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (exists(paths[i]))
			return ferry_fail(FERRY_ERR_EXISTS, "%s: the profile already holds %s "
			    "(use --force to replace its identity)", p->dir,
			    strrchr(paths[i], '/') + 1);
	return 0;
}

int
profile_check_server(const char *addr)
{
	char host[FERRY_MAX_HOST_PORT + 1];
	unsigned port;

	return tls_parse_host_port(addr, host, sizeof(host), &port);
}

/* One key of profile.conf; config_parse prefixes errors with "FILE:LINE: ". */
static int
conf_key(void *arg, const char *key, const char *value, unsigned line)
{
	struct profile *p = arg;

	(void)line;
	if (strcmp(key, "server") != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "unknown key '%.64s'", key);
	if (profile_check_server(value) != 0)
		return ferry_fail(FERRY_ERR_FORMAT, "'%.300s' is not HOST:PORT", value);
	free(p->server);
	if ((p->server = strdup(value)) == NULL)
		return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
	return 0;
}

int
profile_load_conf(struct profile *p)
{
	char *data = NULL;
	size_t len = 0;
	int r;

	free(p->server);
	p->server = NULL;
	if (!exists(p->conf_path))
		return 0;
	if ((r = io_read_file(p->conf_path, FERRY_MAX_PROFILE_CONF, &data, &len)) != 0)
		goto out;
	r = config_parse(data, len, p->conf_path, conf_key, p);
out:
	if (data != NULL)
		OPENSSL_clear_free(data, len + 1);
	return r;
}

/* Write the len bytes at data to path atomically with the given mode. */
static int
write_file(const char *path, const void *data, size_t len, mode_t mode, bool force)
{
	struct atomic_file af;
	int r;

	if ((r = atomic_file_open(&af, path, mode, !force)) != 0)
		return r;
	if ((r = io_write_full(af.fd, data, len)) != 0) {
		r = ferry_error_prefix(r, "%s", path);
		atomic_file_abort(&af);
		return r;
	}
	return atomic_file_commit(&af);
}

int
profile_save(const struct profile *p, EVP_PKEY *key, X509 *cert, X509 *root,
    const char *server, bool force)
{
	char conf[FERRY_MAX_HOST_PORT + 64];
	int r, n;

	if ((r = profile_ensure_dir(p)) != 0)
		return r;
	if (!force && (r = profile_check_absent(p)) != 0)
		return r;
	n = snprintf(conf, sizeof(conf), "# ferry client profile\nserver = %s\n", server);
	if (n < 0 || (size_t)n >= sizeof(conf))
		return ferry_fail(FERRY_ERR_USAGE, "server address too long");
	if ((r = key_save_private(key, p->key_path, NULL, 0, force)) != 0 ||
	    (r = pki_cert_save(cert, p->cert_path, force)) != 0 ||
	    (r = pki_cert_save(root, p->root_path, force)) != 0 ||
	    (r = write_file(p->conf_path, conf, (size_t)n, 0644, force)) != 0)
		return r;
	return 0;
}

int
profile_load_identity(const struct profile *p, X509 **cert, EVP_PKEY **key)
{
	int r;

	if (cert != NULL)
		*cert = NULL;
	if (key != NULL)
		*key = NULL;
	if ((cert != NULL && !exists(p->cert_path)) || (key != NULL && !exists(p->key_path)))
		return ferry_fail(FERRY_ERR_IO,
		    "%s: no identity in this profile (run 'ferry enroll' first)", p->dir);
	if (cert != NULL && (r = pki_cert_load(p->cert_path, cert)) != 0)
		goto fail;
	if (key != NULL && (r = key_load_private(p->key_path, NULL, 0, key)) != 0)
		goto fail;
	return 0;
fail:
	if (cert != NULL) {
		X509_free(*cert);
		*cert = NULL;
	}
	return r;
}
