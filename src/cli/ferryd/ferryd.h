/*
 * The ferryd subcommands. Each takes the arguments after the program name (argv[0] is the
 * subcommand's own name), parses them with getopt_long, and returns the process exit
 * status (CLI_EXIT_*), having printed any error itself.
 *
 * Every subcommand takes --data DIR (default $FERRY_DATA, else FERRYD_DEFAULT_DATA) and
 * --config FILE (default DIR/ferryd.conf); ferryd_paths_resolve() applies those defaults.
 */
#ifndef FERRY_CLI_FERRYD_H
#define FERRY_CLI_FERRYD_H


#define FERRYD_DEFAULT_DATA "/var/lib/ferry"

int cmd_init(int argc, char **argv);
int cmd_ca(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_rotate(int argc, char **argv);

/* Where a subcommand finds its data directory and configuration file. */
struct ferryd_paths {
	const char *data;	/* --data, or NULL until resolved */
	const char *config;	/* --config, or NULL until resolved */
	char *owned_config;	/* DIR/ferryd.conf when config was defaulted */
	char *owned_data;	/* a copy of $FERRY_DATA */
};

/*
 * Fill in the defaults: data from $FERRY_DATA, else FERRYD_DEFAULT_DATA; config
 * DIR/ferryd.conf. Returns 0 or FERRY_ERR_NOMEM / FERRY_ERR_USAGE (empty values).
 * Free with ferryd_paths_free().
 */
int ferryd_paths_resolve(struct ferryd_paths *p);
void ferryd_paths_free(struct ferryd_paths *p);

/*
 * A new string "<dir>/<name>", or NULL when out of memory (the detail is recorded).
 * Caller frees.
 */
char *ferryd_path_join(const char *dir, const char *name);

/*
 * The prologue of every command but init: resolve p's defaults, check that p->data is an
 * initialised data directory (filling d, free with datadir_free) and load the settings
 * from p->config into s. An explicitly given --config must exist; a missing default one
 * leaves the defaults. Errors name the file (and line). Returns 0 or the error.
 */
struct datadir;
struct ferryd_settings;
int ferryd_open(struct ferryd_paths *p, struct datadir *d, struct ferryd_settings *s);

#endif
