/* What the ferryd subcommands share: the data directory and configuration file. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/ferryd/ferryd.h"
#include "server/datadir.h"
#include "server/settings.h"
#include "util/err.h"

char *
ferryd_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + 1 + strlen(name) + 1;
	char *p;

	if ((p = malloc(n)) == NULL) {
		ferry_fail(FERRY_ERR_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int
ferryd_paths_resolve(struct ferryd_paths *p)
{
	const char *env;

	if (p->data == NULL) {
		env = getenv("FERRY_DATA");
		if (env != NULL && *env != '\0') {
			if ((p->owned_data = strdup(env)) == NULL)
				return ferry_fail(FERRY_ERR_NOMEM, "out of memory");
			p->data = p->owned_data;
		} else {
			p->data = FERRYD_DEFAULT_DATA;
		}
	}
	if (*p->data == '\0')
		return ferry_fail(FERRY_ERR_USAGE, "--data: empty directory name");
	if (p->config == NULL) {
		if ((p->owned_config = ferryd_path_join(p->data, "ferryd.conf")) == NULL)
			return FERRY_ERR_NOMEM;
		p->config = p->owned_config;
	}
	if (*p->config == '\0')
		return ferry_fail(FERRY_ERR_USAGE, "--config: empty file name");
	return 0;
}

void
ferryd_paths_free(struct ferryd_paths *p)
{
	free(p->owned_config);
	free(p->owned_data);
	p->owned_config = NULL;
	p->owned_data = NULL;
}

int
ferryd_open(struct ferryd_paths *p, struct datadir *d, struct ferryd_settings *s)
{
	bool explicit_config = p->config != NULL;
	struct stat st;
	int r;

	if ((r = ferryd_paths_resolve(p)) != 0 ||
	    (r = datadir_paths(p->data, d)) != 0 ||
	    (r = datadir_require(d)) != 0)
		return r;
	if (!explicit_config && stat(p->config, &st) != 0) {
		settings_defaults(s);
		return 0;
	}
	return settings_load(p->config, s);
}
