/* ferry: the user's command-line program. One table of subcommands, one file each. */
#include <stdio.h>
#include <string.h>

#include "cli/common/cli.h"
#include "cli/ferry/ferry.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "keygen", cmd_keygen, "generate a key pair (private key and KEY.pub)" },
	{ "encrypt", cmd_encrypt, "encrypt a file to public keys or with a passphrase" },
	{ "decrypt", cmd_decrypt, "decrypt a file with private keys or a passphrase" },
};

static void
usage(FILE *f)
{
	fprintf(f, "Usage: ferry <command> [options] [arguments]\n"
	    "       ferry help <command>\n"
	    "       ferry --version\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'ferry <command> --help' for a command's options; see ferry(1).\n");
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	char *help_argv[3];

	cli_init("ferry");
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("ferry %s\n", FERRY_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc == 2) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		if (argc > 3)
			return cli_usage_error(NULL, "help takes one command name");
		if ((cmd = find_command(argv[2])) == NULL)
			return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
		help_argv[0] = argv[2];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		return cmd->fn(2, help_argv);
	}
	if (argv[1][0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", argv[1]);
	if ((cmd = find_command(argv[1])) == NULL)
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	return cmd->fn(argc - 1, argv + 1);
}
