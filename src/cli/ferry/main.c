/* ferry: the user's command-line program. One table of subcommands, one file each. */
#include "cli/common/dispatch.h"
#include "cli/ferry/ferry.h"

static const struct cli_command commands[] = {
	{ "keygen", cmd_keygen, "generate a key pair (private key and KEY.pub)" },
	{ "encrypt", cmd_encrypt, "encrypt a file to public keys or with a passphrase" },
	{ "decrypt", cmd_decrypt, "decrypt a file with private keys or a passphrase" },
	{ "enroll", cmd_enroll, "get a certificate from a ferry server for a new key pair" },
	{ "whoami", cmd_whoami, "show the profile's identity; --check asks the server" },
	{ "put", cmd_put, "store files on the server" },
	{ "get", cmd_get, "fetch files from the server" },
	{ "ls", cmd_ls, "list the files stored on the server" },
	{ "rm", cmd_rm, "delete files stored on the server" },
};

static const struct cli_program program = {
	"ferry", commands, sizeof(commands) / sizeof(commands[0]),
	"Run 'ferry <command> --help' for a command's options; see ferry(1).\n",
};

int
main(int argc, char **argv)
{
	return cli_dispatch(&program, argc, argv);
}
