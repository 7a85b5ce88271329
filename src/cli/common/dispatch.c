#include "cli/common/dispatch.h"

#include <stdio.h>
#include <string.h>

#include "cli/common/cli.h"

static void
usage(const struct cli_program *prog, FILE *f)
{
	size_t width = 0;

	for (size_t i = 0; i < prog->ncommands; i++)
		if (strlen(prog->commands[i].name) > width)
			width = strlen(prog->commands[i].name);
	fprintf(f, "Usage: %s <command> [options] [arguments]\n"
	    "       %s help <command>\n"
	    "       %s --version\n\n"
	    "Commands:\n", prog->name, prog->name, prog->name);
	for (size_t i = 0; i < prog->ncommands; i++)
		fprintf(f, "  %-*s  %s\n", (int)width, prog->commands[i].name,
		    prog->commands[i].summary);
	fprintf(f, "\n%s", prog->footer);
}

static const struct cli_command *
find_command(const struct cli_program *prog, const char *name)
{
	for (size_t i = 0; i < prog->ncommands; i++)
		if (strcmp(prog->commands[i].name, name) == 0)
			return &prog->commands[i];
	return NULL;
}

int
cli_dispatch(const struct cli_program *prog, int argc, char **argv)
{
	const struct cli_command *cmd;
	char *help_argv[3];

	cli_init(prog->name);
	if (argc < 2) {
		usage(prog, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		if (argc > 2)
			return cli_usage_error(NULL, "unexpected argument '%s'", argv[2]);
		usage(prog, stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("%s %s\n", prog->name, FERRY_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc > 3)
			return cli_usage_error(NULL, "help takes one command name");
		if ((cmd = find_command(prog, argv[2])) == NULL)
			return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
		help_argv[0] = argv[2];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		return cmd->fn(2, help_argv);
	}
	if (argv[1][0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", argv[1]);
	if ((cmd = find_command(prog, argv[1])) == NULL)
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	return cmd->fn(argc - 1, argv + 1);
}
