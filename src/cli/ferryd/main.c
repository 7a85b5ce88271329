/* ferryd: the ferry server and its administration. One table of subcommands, one file each. */
#include "cli/common/dispatch.h"
#include "cli/ferryd/ferryd.h"

static const struct cli_command commands[] = {
	{ "init", cmd_init, "create a data directory: root CA, server certificate, database" },
	{ "ca", cmd_ca, "ca export: print the root certificate for clients" },
	{ "user", cmd_user, "user add | list | disable | enable | passwd" },
	{ "cert", cmd_cert, "cert revoke: revoke a user's certificates or one serial" },
	{ "serve", cmd_serve, "accept TLS 1.3 connections: enrolment and sessions" },
	{ "rotate-master-key", cmd_rotate, "re-wrap every user key under a new master key" },
};

static const struct cli_program program = {
	"ferryd", commands, sizeof(commands) / sizeof(commands[0]),
	"Every command takes --data DIR (default $FERRY_DATA, else " FERRYD_DEFAULT_DATA ") and\n"
	"--config FILE (default DIR/ferryd.conf). Run 'ferryd <command> --help' for a\n"
	"command's options; see ferryd(8).\n",
};

int
main(int argc, char **argv)
{
	return cli_dispatch(&program, argc, argv);
}
