/* ferryd: the ferry server. Serving is not implemented yet; this is its front door. */
#include <stdio.h>
#include <string.h>

#include "cli/common/cli.h"

static void
usage(FILE *f)
{
	fprintf(f, "ferryd: the ferry server \xe2\x80\x94 not yet serving; see ferry(1)\n\n"
	    "Usage: ferryd --help | --version\n");
}

int
main(int argc, char **argv)
{
	cli_init("ferryd");
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("ferryd %s\n", FERRY_VERSION);
		return CLI_EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "ferryd: unknown argument '%s' (try 'ferryd --help')\n", argv[1]);
		return CLI_EXIT_USAGE;
	}
	usage(stderr);
	return CLI_EXIT_USAGE;
}
