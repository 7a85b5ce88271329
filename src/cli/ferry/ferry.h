/*
 * The ferry subcommands. Each takes the arguments after the program name (argv[0] is the
 * subcommand's own name), parses them with getopt_long, and returns the process exit
 * status (CLI_EXIT_*), having printed any error itself.
 */
#ifndef FERRY_CLI_FERRY_H
#define FERRY_CLI_FERRY_H

int cmd_keygen(int argc, char **argv);
int cmd_encrypt(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_enroll(int argc, char **argv);
int cmd_whoami(int argc, char **argv);

#endif
