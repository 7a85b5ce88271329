/* The top level of both programs: one table of subcommands, help, version, dispatch. */
#ifndef FERRY_CLI_DISPATCH_H
#define FERRY_CLI_DISPATCH_H

#include <stddef.h>

struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);   /* argv[0] is the command name */
	const char *summary;
};

struct cli_program {
	const char *name;                    /* "ferry", "ferryd" */
	const struct cli_command *commands;
	size_t ncommands;
	const char *footer;                  /* printed after the command list */
};

/*
 * Run the subcommand argv[1] names, or answer --help / -h / help [CMD] / --version / -V.
 * Returns the process exit status: the command's, 0 for help and version, 2 (with a
 * one-line error) for a missing, unknown or malformed command.
 */
int cli_dispatch(const struct cli_program *prog, int argc, char **argv);

#endif
